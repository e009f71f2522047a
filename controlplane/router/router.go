// Package router is berthd's HTTP router: the listener through which users
// reach an app at a stable address, <app>.<domain> or one of its cnames,
// while the units behind it come and go.
//
// A Table maps hostnames to routes (an app and its started units); a
// Router serves requests from the Table it was last given. Update installs
// a new Table atomically: a swap of two apps' addresses, a rollout step or
// a scale change is one Update, and every request that starts after
// Update returns uses the new Table. Requests already sent to a unit that
// the new Table leaves out finish there; WaitDrained tells when none is
// left, so that the unit can be stopped without cutting one.
//
// The Router is an httputil.ReverseProxy per route whose Transport spreads
// requests across the route's units (the less busy of two picked at
// random), goes on to another unit when one refuses the connection, and
// skips such a unit for Options.DownFor (passive health). When no unit
// answers it says so at once: 503 when the app has no started unit, 502
// when none accepted a connection or answered, 504 when one took longer
// than Options.ResponseHeaderTimeout, 404 for a hostname no app has.
//
// The package knows nothing of the store: whoever watches the apps and
// their units (the route source) builds Tables and calls Update.
package router

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Options tune a Router. Zero values take the defaults.
type Options struct {
	// Domain is the apps' domain, named in the 404 page as a hint.
	Domain string
	// DialTimeout bounds a connection attempt to a unit (default 2s).
	DialTimeout time.Duration
	// ResponseHeaderTimeout bounds the wait for a unit's response headers
	// once the request is sent (default 30s); then the client gets a 504.
	ResponseHeaderTimeout time.Duration
	// DownFor is how long a unit that refused a connection is skipped
	// (default 1s). The route source removes crashed units from the table;
	// this only covers the time until it does.
	DownFor time.Duration
	// MaxIdleConnsPerUnit is how many keep-alive connections to one unit
	// stay open between requests (default 256).
	MaxIdleConnsPerUnit int
	// IdleConnTimeout closes a keep-alive connection to a unit unused for
	// that long (default 30s).
	IdleConnTimeout time.Duration
	// Logger gets a line when a unit starts refusing connections; nothing
	// is logged per request. Nil discards.
	Logger *slog.Logger
}

func (o *Options) setDefaults() {
	if o.DialTimeout <= 0 {
		o.DialTimeout = 2 * time.Second
	}
	if o.ResponseHeaderTimeout <= 0 {
		o.ResponseHeaderTimeout = 30 * time.Second
	}
	if o.DownFor <= 0 {
		o.DownFor = time.Second
	}
	if o.MaxIdleConnsPerUnit <= 0 {
		o.MaxIdleConnsPerUnit = 256
	}
	if o.IdleConnTimeout <= 0 {
		o.IdleConnTimeout = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Router is an http.Handler that proxies each request to a unit of the
// app its Host names. It is safe for concurrent use.
type Router struct {
	opts     Options
	epoch    time.Time // origin of the monotonic clock backends' down marks use
	metrics  *metrics
	unknown  *appMetrics
	buffers  bufferPool
	proxyLog *log.Logger

	live atomic.Pointer[liveTable]

	mu       sync.Mutex // serializes Update; guards the maps below
	backends map[string]*backend
	retiring map[string][]*backend
	apps     map[string]*appMetrics
}

// New returns a Router with an empty table (every host answers 404) whose
// metrics register on reg (none when reg is nil).
func New(reg prometheus.Registerer, opts Options) (*Router, error) {
	opts.setDefaults()
	m, err := newMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("router: register metrics: %w", err)
	}
	r := &Router{
		opts:     opts,
		epoch:    time.Now(),
		metrics:  m,
		unknown:  m.forUnknownHosts(),
		proxyLog: slog.NewLogLogger(opts.Logger.Handler(), slog.LevelDebug),
		backends: make(map[string]*backend),
		retiring: make(map[string][]*backend),
		apps:     make(map[string]*appMetrics),
	}
	r.live.Store(&liveTable{table: &Table{byHost: map[string]int{}}})
	return r, nil
}

// liveTable is a Table bound to the router's backends and metrics.
type liveTable struct {
	table  *Table
	routes []*route // parallel to table.routes
}

func (lt *liveTable) lookup(host string) *route {
	i, ok := lt.table.byHost[host]
	if !ok {
		return nil
	}
	return lt.routes[i]
}

// Table returns the table in use.
func (r *Router) Table() *Table { return r.live.Load().table }

// Update makes t the table in use. When it returns, every new request is
// routed by t; requests in flight finish where they are. Units t leaves out
// get no new request; their idle connections are closed now and the
// others when their requests end.
func (r *Router) Update(t *Table) {
	if t == nil {
		t = &Table{byHost: map[string]int{}}
	}
	r.mu.Lock()
	defer r.mu.Unlock()

	lt := &liveTable{table: t, routes: make([]*route, len(t.routes))}
	backends := make(map[string]*backend, len(r.backends))
	apps := make(map[string]*appMetrics, len(t.routes))
	for i, tr := range t.routes {
		rt := &route{r: r, live: lt, appID: tr.AppID, app: tr.App, backends: make([]*backend, 0, len(tr.Backends))}
		for _, tb := range tr.Backends {
			b := backends[tb.Address]
			if b == nil {
				if b = r.backends[tb.Address]; b == nil {
					b = newBackend(tb.Address, &r.opts)
				}
				backends[tb.Address] = b
			}
			rt.backends = append(rt.backends, b)
		}
		am := apps[tr.App]
		if am == nil {
			if am = r.apps[tr.App]; am == nil {
				am = r.metrics.forApp(tr.App)
			}
			apps[tr.App] = am
		}
		rt.metrics = am
		rt.proxy = httputil.ReverseProxy{
			Rewrite:      rewrite,
			Transport:    rt,
			ErrorHandler: rt.serveError,
			BufferPool:   &r.buffers,
			ErrorLog:     r.proxyLog,
		}
		lt.routes[i] = rt
	}
	old, oldApps := r.backends, r.apps
	r.backends, r.apps = backends, apps
	r.live.Store(lt)

	// Retired only after the new table is in place: a request that still
	// picks a retired backend from the old table backs off and reloads.
	for addr, b := range old {
		if backends[addr] != b {
			b.retire()
			r.retiring[addr] = append(r.retiring[addr], b)
		}
	}
	r.pruneRetiring()
	for app := range oldApps {
		if apps[app] == nil {
			r.metrics.forget(app)
		}
	}
}

func (r *Router) pruneRetiring() {
	for addr, bs := range r.retiring {
		kept := bs[:0]
		for _, b := range bs {
			select {
			case <-b.drained:
			default:
				kept = append(kept, b)
			}
		}
		if len(kept) == 0 {
			delete(r.retiring, addr)
		} else {
			r.retiring[addr] = kept
		}
	}
}

// WaitDrained waits until no request is in flight through this router to
// the units at addresses, which an Update must have left out. A rollout
// step is: start the new unit, Update with it, Update without the old
// one, WaitDrained(old), stop the old one. Addresses the router never
// routed to, or that drained already, return at once. A streamed response
// counts until it ends, so bound ctx by the unit's stop grace; upgraded
// connections (websockets) do not count: they end when the unit stops.
// Only this process's router is waited for: other berthd replicas drain
// their own, so a unit must still finish its requests on SIGTERM.
func (r *Router) WaitDrained(ctx context.Context, addresses ...string) error {
	r.mu.Lock()
	var wait []*backend
	for _, addr := range addresses {
		if _, ok := r.backends[addr]; ok {
			r.mu.Unlock()
			return fmt.Errorf("router: %s is still routed: Update to a table without it first", addr)
		}
		wait = append(wait, r.retiring[addr]...)
	}
	r.mu.Unlock()
	for _, b := range wait {
		select {
		case <-b.drained:
		case <-ctx.Done():
			return fmt.Errorf("router: waiting for requests to %s to finish: %w", b.address, context.Cause(ctx))
		}
	}
	return nil
}

// CloseIdleConnections closes the router's keep-alive connections to units
// that no request uses (for a shutdown; the router still works after).
func (r *Router) CloseIdleConnections() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range r.backends {
		b.transport.CloseIdleConnections()
	}
	for _, bs := range r.retiring {
		for _, b := range bs {
			b.transport.CloseIdleConnections()
		}
	}
}

// ServeHTTP proxies req to a unit of the app its Host names.
func (r *Router) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	host := CanonicalHost(req.Host)
	rt := r.live.Load().lookup(host)
	switch {
	case rt == nil:
		r.unknownHost(w, host)
	case len(rt.backends) == 0:
		rt.fail(w, reasonNoUnit)
	default:
		rt.proxy.ServeHTTP(w, req)
	}
}

// nanotime is the router's monotonic clock.
func (r *Router) nanotime() int64 { return int64(time.Since(r.epoch)) }

// bufferPool lends ReverseProxy its 32 KiB copy buffers. It pools array
// pointers so that Put does not allocate a slice header each time.
type bufferPool struct{ pool sync.Pool }

const copyBufferSize = 32 << 10

func (p *bufferPool) Get() []byte {
	if b, ok := p.pool.Get().(*[copyBufferSize]byte); ok {
		return b[:]
	}
	return new([copyBufferSize]byte)[:]
}

func (p *bufferPool) Put(b []byte) {
	if cap(b) >= copyBufferSize {
		p.pool.Put((*[copyBufferSize]byte)(b[:copyBufferSize]))
	}
}
