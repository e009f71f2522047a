package client

import (
	"context"
	"crypto/tls"
	"errors"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// checkRetry retries only what is safe to send twice: idempotent methods and
// POSTs carrying an Idempotency-Key (do marks them in the context). It
// retries connection failures and the statuses that mean "try again":
// 429, 502, 503 and 504. Everything else is final.
func checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if safe, _ := ctx.Value(retryKey{}).(bool); !safe {
		return false, nil
	}
	if err != nil {
		var certErr *tls.CertificateVerificationError
		var urlErr *url.Error
		if errors.As(err, &certErr) || (errors.As(err, &urlErr) && urlErr.Op == "parse") {
			return false, nil
		}
		return true, nil
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true, nil
	}
	return false, nil
}

// backoff honours Retry-After on 429 and 503 (capped at max) and otherwise
// waits an exponentially growing, fully jittered time between min and max.
func backoff(min, max time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		if d, ok := retryAfter(resp.Header.Get("Retry-After")); ok {
			return minDur(d, max)
		}
	}
	ceiling := float64(min) * math.Pow(2, float64(attempt))
	if ceiling > float64(max) || math.IsInf(ceiling, 0) {
		ceiling = float64(max)
	}
	if ceiling <= float64(min) {
		return min
	}
	return min + time.Duration(rand.Int64N(int64(ceiling)-int64(min)+1))
}

func retryAfter(v string) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0), true
	}
	return 0, false
}

func minDur(a, b time.Duration) time.Duration {
	if a < b {
		return a
	}
	return b
}
