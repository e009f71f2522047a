package router

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// placeholderHost is the URL host of every outbound request. Each backend
// has its own Transport whose dialer ignores the URL and dials the
// backend's address, so each Transport holds one pool of connections, and
// retrying on another backend needs no change to the request.
const placeholderHost = "unit"

// backend is the router's state for one unit address: its connections,
// the requests in flight to it, whether it refused connections lately and
// whether an Update removed it.
type backend struct {
	address   string
	transport *http.Transport

	inflight atomic.Int64
	// downUntil is when a failed dial stops counting, in nanoseconds on
	// the router's monotonic clock; 0 when the backend is up.
	downUntil atomic.Int64
	// retired is set once an Update left this backend out. A request
	// raises inflight before it reads retired, and Update sets retired
	// before it reads inflight, so a request either sees retired and
	// backs off, or Update sees the request and waits for it.
	retired atomic.Bool

	drainOnce sync.Once
	drained   chan struct{} // closed when retired and no request is in flight
}

// dialError is the error of a connection attempt to a backend: the
// backend never saw the request, so another backend may get it.
type dialError struct {
	address string
	err     error
}

func (e *dialError) Error() string { return "connect to unit " + e.address + ": " + e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

func newBackend(address string, o *Options) *backend {
	b := &backend{address: address, drained: make(chan struct{})}
	dialer := &net.Dialer{Timeout: o.DialTimeout, KeepAlive: 30 * time.Second}
	b.transport = &http.Transport{
		// Never a proxy from the environment: units are reached directly.
		Proxy: nil,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, "tcp", address)
			if err != nil {
				return nil, &dialError{address: address, err: err}
			}
			return c, nil
		},
		MaxIdleConns:          0,
		MaxIdleConnsPerHost:   o.MaxIdleConnsPerUnit,
		IdleConnTimeout:       o.IdleConnTimeout,
		ResponseHeaderTimeout: o.ResponseHeaderTimeout,
		ExpectContinueTimeout: time.Second,
		// The client's Accept-Encoding goes to the unit as it is, and the
		// unit's encoding back to the client.
		DisableCompression: true,
	}
	return b
}

// up reports whether b may get a request: not retired and no failed dial
// within the last DownFor.
func (b *backend) up(now func() int64) bool {
	if b.retired.Load() {
		return false
	}
	until := b.downUntil.Load()
	if until == 0 {
		return true
	}
	if now() < until {
		return false
	}
	b.downUntil.CompareAndSwap(until, 0)
	return true
}

// acquire counts a request in flight to b, unless b has been retired.
func (b *backend) acquire() bool {
	b.inflight.Add(1)
	if b.retired.Load() {
		b.release()
		return false
	}
	return true
}

func (b *backend) release() {
	if b.inflight.Add(-1) == 0 && b.retired.Load() {
		b.finishDrain()
	}
}

// retire takes b out of service: new requests avoid it, idle connections
// close now and the others as their requests end.
func (b *backend) retire() {
	b.retired.Store(true)
	b.transport.CloseIdleConnections()
	if b.inflight.Load() == 0 {
		b.finishDrain()
	}
}

func (b *backend) finishDrain() {
	// Connections that went idle after retire are closed here (the
	// Transport also closes those that go idle after
	// CloseIdleConnections until it is asked for a new one).
	b.transport.CloseIdleConnections()
	b.drainOnce.Do(func() { close(b.drained) })
}

// markDown records a failed dial at now, for DownFor; it reports whether
// b was up before, so that the caller logs a transition, not every failure.
func (b *backend) markDown(now, downFor int64) bool {
	prev := b.downUntil.Swap(now + downFor)
	return prev == 0 || prev <= now
}

func isDialError(err error) bool {
	var de *dialError
	return errors.As(err, &de)
}
