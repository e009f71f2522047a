// Package berthtest starts a real berthd for tests: the real router over a
// real Badger store (in memory, or on disk when a test restarts it), served
// on a loopback port. Every response it sends is checked against the
// OpenAPI document, so no test can pass on behaviour the description does
// not state.
package berthtest

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/berthdev/terraform-provider-berth/controlplane"
	"github.com/berthdev/terraform-provider-berth/controlplane/api"
	"github.com/berthdev/terraform-provider-berth/controlplane/core"
	"github.com/berthdev/terraform-provider-berth/controlplane/router"
	"github.com/berthdev/terraform-provider-berth/controlplane/runtime"
	"github.com/berthdev/terraform-provider-berth/controlplane/runtime/docker/dockertest"
	"github.com/berthdev/terraform-provider-berth/controlplane/runtime/kubernetes"
	"github.com/berthdev/terraform-provider-berth/controlplane/store"
	"github.com/berthdev/terraform-provider-berth/internal/testimage"
)

// AdminToken is the bootstrap admin token of every test server.
const AdminToken = "berth_test_admin_token_0123456789abcdef"

// Server is a running berthd.
type Server struct {
	URL string
	// RouterURL is where apps answer (with WithRouter).
	RouterURL  string
	AdminToken string
	Clock      *Clock

	t         testing.TB
	cfg       Options
	httpSrv   *httptest.Server
	routerSrv *httptest.Server
	handler   atomic.Pointer[http.Handler]
	mu        sync.Mutex
	inst      *controlplane.Instance
	validator *validator
	// cleanupRegistered is set once the runtime's containers are to be
	// removed at the end of the test.
	cleanupRegistered bool
}

// Options adjusts a test server.
type Options struct {
	// DataDir keeps the store on disk so that Restart finds it again; empty
	// means in memory.
	DataDir string
	// Core overrides the control plane's configuration.
	Core core.Config
	// Logger receives the server's logs (default: discarded, or the test log
	// when BERTH_TEST_LOG=1).
	Logger *slog.Logger
	// SkipValidation turns off OpenAPI response checks (load tests only).
	SkipValidation bool
	// CoreOptions are added to the control plane's options (test hooks).
	CoreOptions []core.Option
	// AuthLimits and TrustedProxies configure the API's attempt budgets;
	// their clock is the server's Clock. Zero: berthd's defaults, except
	// that refusals are answered at once rather than held (a test would
	// wait a second for each 429).
	AuthLimits     api.AuthLimits
	TrustedProxies []netip.Prefix
	// Runtime is what runs apps (controlplane.RuntimeDocker); none by
	// default. The containers a Docker runtime made are removed when the
	// test ends. Rolling tunes its rollouts.
	Runtime    string
	Rolling    runtime.RollingOptions
	Kubernetes kubernetes.Options
	// Router serves apps at their addresses on RouterURL.
	Router bool
}

// WithRouter serves apps at their addresses: requests to RouterURL with
// Host <app>.<Core.AppDomain> reach the app's started units.
func WithRouter() func(*Options) { return func(o *Options) { o.Router = true } }

// WithKubernetes runs apps on the Kubernetes cluster opts names.
func WithKubernetes(opts kubernetes.Options) func(*Options) {
	return func(o *Options) { o.Runtime, o.Kubernetes = controlplane.RuntimeKubernetes, opts }
}

// WithDocker runs apps on the Docker Engine, with rollouts tuned by
// rolling (zero values: the defaults).
func WithDocker(rolling runtime.RollingOptions) func(*Options) {
	return func(o *Options) { o.Runtime, o.Rolling = controlplane.RuntimeDocker, rolling }
}

// Start runs a berthd for the duration of the test.
func Start(t testing.TB, opts ...func(*Options)) *Server {
	t.Helper()
	var o Options
	for _, f := range opts {
		f(&o)
	}
	if o.Core.BcryptCost == 0 {
		o.Core.BcryptCost = bcrypt.MinCost
	}
	if o.AuthLimits == (api.AuthLimits{}) {
		o.AuthLimits.RefusalHold = -1
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
		if os.Getenv("BERTH_TEST_LOG") == "1" {
			o.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
		}
	}
	s := &Server{t: t, cfg: o, AdminToken: AdminToken, Clock: NewClock()}
	if !o.SkipValidation {
		s.validator = newValidator(t)
	}
	s.open()
	s.httpSrv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		(*s.handler.Load()).ServeHTTP(w, r)
	}))
	s.URL = s.httpSrv.URL
	if o.Router {
		s.routerSrv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.Instance().Router.ServeHTTP(w, r)
		}))
		s.RouterURL = s.routerSrv.URL
	}
	t.Cleanup(s.Close)
	return s
}

// OnDisk stores the data in dir, so the server can be restarted.
func OnDisk(dir string) func(*Options) { return func(o *Options) { o.DataDir = dir } }

// WithAuthLimits sets the API's attempt budgets and the proxies it trusts.
func WithAuthLimits(l api.AuthLimits, trustedProxies ...netip.Prefix) func(*Options) {
	return func(o *Options) { o.AuthLimits, o.TrustedProxies = l, trustedProxies }
}

// WithCoreOptions adds options to the control plane, on every start.
func WithCoreOptions(opts ...core.Option) func(*Options) {
	return func(o *Options) { o.CoreOptions = append(o.CoreOptions, opts...) }
}

// WithCore overrides the control plane configuration.
func WithCore(c core.Config) func(*Options) {
	return func(o *Options) {
		cost := o.Core.BcryptCost
		o.Core = c
		if c.BcryptCost == 0 {
			o.Core.BcryptCost = cost
		}
	}
}

func (s *Server) open() {
	s.t.Helper()
	inst, err := controlplane.Open(context.Background(), controlplane.Config{
		DataDir:        s.cfg.DataDir,
		InMemory:       s.cfg.DataDir == "",
		Core:           s.cfg.Core,
		Logger:         s.cfg.Logger,
		BootstrapToken: AdminToken,
		AuthLimits:     s.cfg.AuthLimits,
		TrustedProxies: s.cfg.TrustedProxies,
		APIClock:       s.Clock.Now,
		CoreOptions:    append([]core.Option{core.WithClock(s.Clock.Now)}, s.cfg.CoreOptions...),
		Runtime:        s.cfg.Runtime,
		Rolling:        s.cfg.Rolling,
		Kubernetes:     s.cfg.Kubernetes,
		Router:         s.routerOptions(),
	})
	if err != nil {
		s.t.Fatalf("start berthd: %v", err)
	}
	if s.cfg.Runtime == controlplane.RuntimeDocker && !s.cleanupRegistered {
		s.cleanupRegistered = true
		var id string
		_ = inst.Store.View(context.Background(), func(tx *store.Tx) (err error) { id, err = tx.InstallationID(); return err })
		cli := testimage.Docker(s.t)
		s.t.Cleanup(func() { dockertest.RemoveAll(s.t, cli, id) })
	}
	recordRoutes(inst.API)
	inst.API.Observe(observeCoverage)
	inst.Start()
	var h http.Handler = inst.API
	if s.validator != nil {
		h = s.validator.wrap(inst.API)
	}
	s.mu.Lock()
	s.inst = inst
	s.mu.Unlock()
	s.handler.Store(&h)
}

func (s *Server) routerOptions() *router.Options {
	if !s.cfg.Router {
		return nil
	}
	return &router.Options{}
}

// Instance returns the running control plane (its store, core and API).
func (s *Server) Instance() *controlplane.Instance {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inst
}

// Restart stops berthd and starts it again on the same data directory and
// the same URL, as an operator restarting the process would.
func (s *Server) Restart() {
	s.t.Helper()
	if s.cfg.DataDir == "" {
		s.t.Fatal("Restart needs a server started with OnDisk")
	}
	s.mu.Lock()
	inst := s.inst
	s.mu.Unlock()
	if err := inst.Close(); err != nil {
		s.t.Fatalf("stop berthd: %v", err)
	}
	s.open()
}

// Close stops the server; Start registers it as a cleanup.
func (s *Server) Close() {
	s.mu.Lock()
	inst := s.inst
	s.inst = nil
	s.mu.Unlock()
	if inst == nil {
		return
	}
	s.httpSrv.Close()
	if s.routerSrv != nil {
		s.routerSrv.Close()
	}
	if err := inst.Close(); err != nil {
		s.t.Errorf("close berthd: %v", err)
	}
	if s.validator != nil {
		s.validator.report()
	}
}

// Clock is the server's clock; tests move it forward to expire things.
type Clock struct {
	mu     sync.Mutex
	offset time.Duration
}

// NewClock returns a clock that follows real time.
func NewClock() *Clock { return &Clock{} }

// Now is the current time plus every Advance so far.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
