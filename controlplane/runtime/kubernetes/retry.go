package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	utilnet "k8s.io/apimachinery/pkg/util/net"
)

// Back-off of one API call: 100ms doubling to 5s, seven tries (about 15s
// in all). Past that the error goes to the reconciler, which tries the
// whole pass again later: level-triggered, nothing is lost.
const (
	retryFirst = 100 * time.Millisecond
	retryMax   = 5 * time.Second
	retryTries = 7
)

// retry calls op until it succeeds, fails with an error that trying again
// cannot cure, or runs out of tries or ctx.
func (d *Driver) retry(ctx context.Context, what string, op func() error) error {
	wait := retryFirst
	for try := 1; ; try++ {
		err := op()
		if err == nil || !transient(err) || try == retryTries || ctx.Err() != nil {
			return err
		}
		d.log.LogAttrs(ctx, slog.LevelWarn, "kubernetes: retrying", slog.String("call", what), slog.Int("try", try), slog.String("error", logged(err)))
		// Full jitter between half and all of wait, so that callers who
		// failed together do not come back together.
		sleep := wait/2 + rand.N(wait/2+1)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(sleep):
		}
		wait = min(2*wait, retryMax)
	}
}

// transient tells errors worth another try: a write that lost a race
// (409 Conflict: another writer changed the object, or created it first),
// the API server busy, restarting or timing out, and broken connections.
func transient(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	switch {
	case apierrors.IsConflict(err),
		apierrors.IsServerTimeout(err), apierrors.IsTimeout(err),
		apierrors.IsTooManyRequests(err), apierrors.IsInternalError(err),
		apierrors.IsServiceUnavailable(err), apierrors.IsUnexpectedServerError(err):
		return true
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return status.Status().Code >= 500
	}
	return utilnet.IsConnectionRefused(err) || utilnet.IsConnectionReset(err) ||
		utilnet.IsProbableEOF(err) || utilnet.IsTimeout(err) || utilnet.IsHTTP2ConnectionLost(err) ||
		errors.Is(err, io.ErrUnexpectedEOF)
}

// logged is how err goes into a log line: an API error by its reason and
// code only, since its message may quote what was sent (a Secret's data).
func logged(err error) string {
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		s := status.Status()
		return fmt.Sprintf("%s (%d)", s.Reason, s.Code)
	}
	return err.Error()
}

// redacted is an error about a Secret with the API server's message left
// out: a validation message may quote what the Secret holds. The status
// reason, code and field names stay.
func redacted(err error, what string) error {
	if err == nil {
		return nil
	}
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return fmt.Errorf("%s: %w", what, err)
	}
	s := status.Status()
	msg := fmt.Sprintf("%s: %s (%d)", what, s.Reason, s.Code)
	if s.Details != nil {
		for _, c := range s.Details.Causes {
			msg += fmt.Sprintf("; %s: %s", c.Field, c.Type)
		}
	}
	return &redactedError{msg: msg, status: status}
}

// redactedError keeps the status for apierrors' Is* helpers while its text
// leaves the API server's message out.
type redactedError struct {
	msg    string
	status apierrors.APIStatus
}

func (e *redactedError) Error() string { return e.msg }

// Unwrap gives errors.As (and so apierrors.IsNotFound etc.) the status,
// stripped of its message.
func (e *redactedError) Unwrap() error {
	s := e.status.Status()
	s.Message = ""
	if s.Details != nil {
		d := *s.Details
		d.Causes = nil
		for _, c := range e.status.Status().Details.Causes {
			d.Causes = append(d.Causes, c)
			d.Causes[len(d.Causes)-1].Message = ""
		}
		s.Details = &d
	}
	return &apierrors.StatusError{ErrStatus: s}
}
