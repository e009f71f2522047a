package router

import (
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"sync/atomic"
	"time"
)

// route is a Table route bound to the router: its backends' state, its
// app's metrics and the ReverseProxy whose Transport it is.
type route struct {
	r        *Router
	live     *liveTable // the table this route belongs to
	appID    string
	app      string
	backends []*backend
	metrics  *appMetrics
	proxy    httputil.ReverseProxy
}

// proxyError is why RoundTrip gave up on a request; reason is one of the
// berth_router_errors_total reasons.
type proxyError struct {
	reason string
	err    error // the last unit's error; nil when no unit could be tried
}

func (e *proxyError) Error() string {
	if e.err == nil {
		return "router: " + e.reason
	}
	return "router: " + e.reason + ": " + e.err.Error()
}

func (e *proxyError) Unwrap() error { return e.err }

var errClientGone = errors.New("client went away")

// RoundTrip sends req to one of the route's units. When a unit refuses the
// connection it marks it down and tries another, as long as untried units
// are left and the time spent on failed attempts stays within DialTimeout;
// requests without a body that are safe to repeat (GET, HEAD, OPTIONS,
// TRACE, or an Idempotency-Key) also go on after a unit connected but
// failed before answering, unless it timed out.
func (rt *route) RoundTrip(req *http.Request) (*http.Response, error) {
	r := rt.r
	body, _ := req.Body.(*requestBody)
	cur := rt
	var tried triedSet
	var lastErr error
	var failedSince time.Time
	reason := reasonUnreachable
	reloaded := false
	for {
		b, i := cur.pick(&tried)
		if b == nil {
			// Every backend of cur is down, tried or retired. If an Update
			// came in since this request read the table, it may route the
			// host elsewhere: look once more.
			if !reloaded {
				reloaded = true
				if next := r.live.Load().lookup(CanonicalHost(req.Host)); next != nil && next.live != cur.live {
					cur, tried = next, triedSet{}
					continue
				}
			}
			break
		}
		tried.add(i)
		start := time.Now()
		resp, err := b.transport.RoundTrip(req)
		if err == nil {
			cur.metrics.latency.Observe(time.Since(start).Seconds())
			cur.metrics.answered(resp.StatusCode)
			if resp.StatusCode == http.StatusSwitchingProtocols {
				// The exchange is over; the tunnel that follows is not a
				// request in flight, and its body must stay a ReadWriteCloser.
				b.release()
			} else {
				resp.Body = &responseBody{ReadCloser: resp.Body, b: b}
			}
			return resp, nil
		}
		b.release()
		lastErr = err
		if req.Context().Err() != nil {
			return nil, &proxyError{reason: reasonClientGone, err: errClientGone}
		}
		if isDialError(err) {
			cur.metrics.dialFailure.Inc()
			if b.markDown(r.nanotime(), int64(r.opts.DownFor)) {
				r.opts.Logger.Warn("router: unit refuses connections, skipping it", "app", cur.app, "address", b.address, "for", r.opts.DownFor, "err", err)
			}
			reason = reasonUnreachable
			if body != nil && body.read.Load() {
				// The Transport sent some of the body on a reused
				// connection that failed, then could not dial again:
				// what was read is gone, and a unit may have seen it.
				reason = reasonFailed
				break
			}
		} else {
			reason = reasonFailed
			if isTimeout(err) {
				reason = reasonTimeout
				break
			}
			if req.Body != nil || !repeatable(req) {
				break
			}
		}
		if failedSince.IsZero() {
			failedSince = start
		} else if time.Since(failedSince) > r.opts.DialTimeout {
			break
		}
	}
	return nil, &proxyError{reason: reason, err: lastErr}
}

// pick chooses an untried, up backend and counts a request in flight to
// it: of two picked at random, the one with fewer requests in flight (the
// "power of two choices"), which spreads load like round-robin when units
// are alike and away from a unit that slows down, without a shared
// counter every request writes. It returns nil when none is left.
func (rt *route) pick(tried *triedSet) (*backend, int) {
	bs := rt.backends
	n := len(bs)
	ok := func(k int) bool { return !tried.has(k) && bs[k].up(rt.r.nanotime) }
	for {
		c := -1
		switch n {
		case 0:
			return nil, -1
		case 1:
			if ok(0) {
				c = 0
			}
		default:
			i := rand.IntN(n)
			j := rand.IntN(n - 1)
			if j >= i {
				j++
			}
			switch oi, oj := ok(i), ok(j); {
			case oi && oj:
				c = i
				if bs[j].inflight.Load() < bs[i].inflight.Load() {
					c = j
				}
			case oi:
				c = i
			case oj:
				c = j
			default:
				for k := 1; k < n; k++ {
					if m := (i + k) % n; ok(m) {
						c = m
						break
					}
				}
			}
		}
		if c < 0 {
			return nil, -1
		}
		if bs[c].acquire() {
			return bs[c], c
		}
		tried.add(c) // retired since this request read the table
	}
}

// triedSet is the backends a request tried, by index in its route.
type triedSet struct {
	low  uint64
	more map[int]bool
}

func (s *triedSet) has(i int) bool {
	if i < 64 {
		return s.low&(1<<i) != 0
	}
	return s.more[i]
}

func (s *triedSet) add(i int) {
	if i < 64 {
		s.low |= 1 << i
		return
	}
	if s.more == nil {
		s.more = make(map[int]bool)
	}
	s.more[i] = true
}

// repeatable reports whether sending req twice is harmless, as
// net/http.Transport decides for its own retries.
func repeatable(req *http.Request) bool {
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return req.Header.Get("Idempotency-Key") != "" || req.Header.Get("X-Idempotency-Key") != ""
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// rewrite points the outbound request at the placeholder host (the
// backend's Transport dials the unit) and keeps what the client sent: the
// Host header, the raw query, X-Forwarded-For to which the client's
// address is appended.
func rewrite(pr *httputil.ProxyRequest) {
	out := pr.Out
	out.URL.Scheme = "http"
	out.URL.Host = placeholderHost
	out.URL.User = nil
	out.URL.RawQuery = pr.In.URL.RawQuery
	out.Host = pr.In.Host
	if prior := pr.In.Header["X-Forwarded-For"]; len(prior) > 0 {
		out.Header["X-Forwarded-For"] = prior
	}
	pr.SetXForwarded()
	if out.Body != nil {
		rb := &requestBody{body: out.Body}
		out.Body = rb
		out.GetBody = rb.rewind
	}
}

// requestBody carries the client's body to the unit. Close does nothing,
// so that a Transport that failed to connect (and closes the body it was
// given) leaves it readable for the next unit; it remembers whether any of
// it was read, since what was read cannot be sent again.
type requestBody struct {
	body io.ReadCloser
	read atomic.Bool
}

func (b *requestBody) Read(p []byte) (int, error) {
	if !b.read.Load() {
		b.read.Store(true)
	}
	return b.body.Read(p)
}

func (b *requestBody) Close() error { return nil }

var errBodySent = errors.New("router: request body partly sent to a unit that failed; it cannot be sent again")

// rewind is the request's GetBody: a Transport retrying on a fresh
// connection may start over only when nothing was read yet.
func (b *requestBody) rewind() (io.ReadCloser, error) {
	if b.read.Load() {
		return nil, errBodySent
	}
	return b, nil
}

// responseBody holds the backend's request in flight until ReverseProxy
// has copied the answer and closes it.
type responseBody struct {
	io.ReadCloser
	b *backend
}

func (rb *responseBody) Close() error {
	err := rb.ReadCloser.Close()
	if b := rb.b; b != nil {
		rb.b = nil
		b.release()
	}
	return err
}
