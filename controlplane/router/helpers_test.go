package router_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/berthdev/terraform-provider-berth/controlplane/router"
)

// checkLeaks fails the test when goroutines started during it are still
// running once every cleanup registered after it has run.
func checkLeaks(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(10 * time.Second)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("%d goroutines left behind (%d before):\n%s", runtime.NumGoroutine()-before, before, buf)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// unit is a real HTTP server standing for one unit of an app.
type unit struct {
	app, id string
	addr    string
	srv     *http.Server
	open    atomic.Int64 // connections open on the server side
	served  atomic.Int64
	slowed  atomic.Int64 // /slow requests answered
	stopped sync.Once
	done    chan error
}

// answer is what a unit's /echo answers.
type answer struct {
	App, Unit  string
	Method     string
	Host       string
	RawQuery   string
	XFF        string
	XFHost     string
	XFProto    string
	Hop        string
	BodyLen    int
	BodySHA256 string
}

func startUnit(t *testing.T, app, id string) *unit {
	t.Helper()
	return startUnitAt(t, "127.0.0.1:0", app, id)
}

func startUnitAt(t *testing.T, addr, app, id string) *unit {
	t.Helper()
	var ln net.Listener
	var err error
	// A port just closed may take a moment to be free again.
	for deadline := time.Now().Add(5 * time.Second); ; {
		if ln, err = net.Listen("tcp", addr); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	u := &unit{app: app, id: id, addr: ln.Addr().String(), done: make(chan error, 1)}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		u.served.Add(1)
		fmt.Fprintf(w, "app=%s unit=%s\n", app, id)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		u.served.Add(1)
		ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
		case <-r.Context().Done():
			return
		}
		fmt.Fprintf(w, "app=%s unit=%s\n", app, id)
		u.slowed.Add(1)
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		u.served.Add(1)
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		sum := sha256.Sum256(body)
		_ = json.NewEncoder(w).Encode(answer{
			App: app, Unit: id, Method: r.Method, Host: r.Host, RawQuery: r.URL.RawQuery,
			XFF: r.Header.Get("X-Forwarded-For"), XFHost: r.Header.Get("X-Forwarded-Host"),
			XFProto: r.Header.Get("X-Forwarded-Proto"), Hop: r.Header.Get("X-Hop"),
			BodyLen: len(body), BodySHA256: hex.EncodeToString(sum[:]),
		})
	})
	mux.HandleFunc("/status/{code}", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.PathValue("code"))
		w.WriteHeader(code)
	})
	mux.HandleFunc("/upgrade", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "echo" {
			http.Error(w, "want Upgrade: echo", http.StatusBadRequest)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		fmt.Fprintf(brw, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
		if brw.Flush() != nil {
			return
		}
		_, _ = io.Copy(conn, brw)
	})
	u.srv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ConnState: func(_ net.Conn, s http.ConnState) {
			switch s {
			case http.StateNew:
				u.open.Add(1)
			case http.StateClosed, http.StateHijacked:
				u.open.Add(-1)
			}
		},
	}
	go func() { u.done <- u.srv.Serve(ln) }()
	t.Cleanup(func() { u.stop(t) })
	return u
}

// stop shuts the unit down gracefully, as a unit given SIGTERM does: no
// new connection, requests in flight finish.
func (u *unit) stop(t *testing.T) {
	t.Helper()
	u.stopped.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := u.srv.Shutdown(ctx); err != nil {
			t.Errorf("unit %s: shutdown: %v", u.id, err)
		}
		if err := <-u.done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("unit %s: serve: %v", u.id, err)
		}
	})
}

func (u *unit) backend() router.Backend { return router.Backend{UnitID: u.id, Address: u.addr} }

// fleet is the units of one app, as the route source would see them.
type fleet struct {
	t     *testing.T
	name  string
	units []*unit
	n     int
}

func newFleet(t *testing.T, name string, units int) *fleet {
	f := &fleet{t: t, name: name}
	for range units {
		f.add(1)
	}
	return f
}

func (f *fleet) add(release int) *unit {
	f.n++
	u := startUnit(f.t, f.name, fmt.Sprintf("%s-%d-r%d", f.name, f.n, release))
	f.units = append(f.units, u)
	return u
}

func (f *fleet) remove(u *unit) {
	f.units = slices.DeleteFunc(f.units, func(x *unit) bool { return x == u })
}

func (f *fleet) app(hostnames ...string) router.App {
	a := router.App{ID: "id-" + f.name, Name: f.name, Hostnames: hostnames}
	if len(hostnames) == 0 {
		a.Hostnames = []string{router.Hostname(f.name, "localhost")}
	}
	for _, u := range f.units {
		a.Backends = append(a.Backends, u.backend())
	}
	return a
}

func mustTable(t *testing.T, apps ...router.App) *router.Table {
	t.Helper()
	tab, err := router.NewTable(apps)
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

// startRouter serves a Router on a loopback listener.
func startRouter(t *testing.T, opts router.Options) (*router.Router, *prometheus.Registry, string) {
	t.Helper()
	reg := prometheus.NewRegistry()
	if opts.Domain == "" {
		opts.Domain = "localhost"
	}
	r, err := router.New(reg, opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(r)
	t.Cleanup(func() {
		srv.Close()
		r.CloseIdleConnections()
	})
	return r, reg, srv.URL
}

// client makes keep-alive requests to the router with any Host.
type client struct {
	base string
	http *http.Client
}

func newClient(t *testing.T, base string) *client {
	tr := &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &client{base: base, http: &http.Client{Transport: tr, Timeout: 20 * time.Second}}
}

type reply struct {
	status int
	header http.Header
	body   string
}

func (c *client) do(method, host, path string, body io.Reader) (reply, error) {
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		return reply{}, err
	}
	req.Host = host
	resp, err := c.http.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, err
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: string(b)}, nil
}

func (c *client) get(host, path string) (reply, error) { return c.do(http.MethodGet, host, path, nil) }

// appOf returns the app a unit's plain answer names.
func appOf(body string) string {
	s, ok := strings.CutPrefix(body, "app=")
	if !ok {
		return ""
	}
	app, _, _ := strings.Cut(s, " ")
	return app
}

// failures collects what went wrong in load loops, keeping the first few.
type failures struct {
	mu    sync.Mutex
	n     int
	first []string
}

func (f *failures) add(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	if len(f.first) < 10 {
		f.first = append(f.first, fmt.Sprintf(format, args...))
	}
}

func (f *failures) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n
}

func (f *failures) check(t *testing.T, total int64) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n > 0 {
		t.Errorf("%d of %d requests failed; first ones:\n%s", f.n, total, strings.Join(f.first, "\n"))
	}
}

// waitUntil polls cond until it holds or the deadline passes.
func waitUntil(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// metric returns the value of the sample of family name whose labels
// include want (a counter's value, a histogram's count), or -1.
func metric(t *testing.T, reg *prometheus.Registry, name string, want map[string]string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if labels[k] != v {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				return m.GetCounter().GetValue()
			case m.Histogram != nil:
				return float64(m.GetHistogram().GetSampleCount())
			case m.Gauge != nil:
				return m.GetGauge().GetValue()
			}
		}
	}
	return -1
}

func bodyOf(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + i%26)
	}
	return b
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// onlyReader hides a reader's type so that net/http cannot tell its length
// and sends it chunked.
type onlyReader struct{ io.Reader }
