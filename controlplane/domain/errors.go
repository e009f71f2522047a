// Package domain holds berth's entities and the rules that keep them valid.
// It knows nothing of HTTP or storage: every API dialect and the store share it.
package domain

import (
	"errors"
	"fmt"
	"strings"
)

// Kind classifies a domain error. Each API dialect maps kinds to its own
// status codes; the mapping lives in one place in the api package.
type Kind int

const (
	KindInternal Kind = iota
	KindInvalid
	KindUnauthorized
	KindForbidden
	KindNotFound
	KindConflict
	KindPrecondition
	KindUnprocessable
	// KindUnavailable: a system berth depends on (a service broker, the
	// database) failed or did not answer; the request may succeed later.
	KindUnavailable
)

var kindNames = map[Kind]string{
	KindInternal:      "internal",
	KindInvalid:       "invalid",
	KindUnauthorized:  "unauthorized",
	KindForbidden:     "forbidden",
	KindNotFound:      "not_found",
	KindConflict:      "conflict",
	KindPrecondition:  "precondition_failed",
	KindUnprocessable: "unprocessable",
	KindUnavailable:   "unavailable",
}

func (k Kind) String() string { return kindNames[k] }

// Error is a failure the caller can act on: bad input, a missing entity, a
// state that refuses the request. Details carries one line per reason when
// there are several (a blocked promotion lists every failing check).
type Error struct {
	Kind    Kind
	Message string
	Details []string
}

func (e *Error) Error() string {
	if len(e.Details) == 0 {
		return e.Message
	}
	return e.Message + ": " + strings.Join(e.Details, "; ")
}

// Is makes errors.Is(err, domain.ErrNotFound) true for every not-found error,
// whatever its message.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Message == "" && t.Kind == e.Kind
}

// Sentinels for errors.Is; they carry no message.
var (
	ErrInvalid       = &Error{Kind: KindInvalid}
	ErrUnauthorized  = &Error{Kind: KindUnauthorized}
	ErrForbidden     = &Error{Kind: KindForbidden}
	ErrNotFound      = &Error{Kind: KindNotFound}
	ErrConflict      = &Error{Kind: KindConflict}
	ErrPrecondition  = &Error{Kind: KindPrecondition}
	ErrUnprocessable = &Error{Kind: KindUnprocessable}
	ErrUnavailable   = &Error{Kind: KindUnavailable}
)

// newErr builds a message from format and args; the values it repeats are
// bounded and escaped (see echoArgs).
func newErr(k Kind, format string, args ...any) error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, echoArgs(args)...)}
}

func Invalid(format string, args ...any) error      { return newErr(KindInvalid, format, args...) }
func Unauthorized(format string, args ...any) error { return newErr(KindUnauthorized, format, args...) }
func Forbidden(format string, args ...any) error    { return newErr(KindForbidden, format, args...) }
func NotFound(format string, args ...any) error     { return newErr(KindNotFound, format, args...) }
func Conflict(format string, args ...any) error     { return newErr(KindConflict, format, args...) }
func Precondition(format string, args ...any) error { return newErr(KindPrecondition, format, args...) }
func Unprocessable(format string, args ...any) error {
	return newErr(KindUnprocessable, format, args...)
}

func Unavailable(format string, args ...any) error { return newErr(KindUnavailable, format, args...) }

// WithDetails returns an error of kind k whose details list every reason.
func WithDetails(k Kind, message string, details []string) error {
	return &Error{Kind: k, Message: message, Details: details}
}

// KindOf reports the kind of err; anything that is not a domain error is
// internal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}
