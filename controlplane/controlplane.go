// Package controlplane wires berthd together: the storage engine, the typed
// store, the area services, the HTTP API and the web console. cmd/berthd and the test
// harness both start it from here, so tests run the same server users do.
package controlplane

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/berthdev/terraform-provider-berth/controlplane/api"
	"github.com/berthdev/terraform-provider-berth/controlplane/core"
	"github.com/berthdev/terraform-provider-berth/controlplane/engine"
	"github.com/berthdev/terraform-provider-berth/controlplane/engine/badger"
	"github.com/berthdev/terraform-provider-berth/controlplane/router"
	"github.com/berthdev/terraform-provider-berth/controlplane/runtime"
	"github.com/berthdev/terraform-provider-berth/controlplane/runtime/kubernetes"
	"github.com/berthdev/terraform-provider-berth/controlplane/store"
	"github.com/berthdev/terraform-provider-berth/controlplane/ui"
)

// Config configures an Instance.
type Config struct {
	// DataDir is Badger's directory; InMemory keeps Badger in memory.
	DataDir  string
	InMemory bool
	// Engine, when set, is used instead of opening Badger (tests run
	// several instances over one engine this way). The Instance does not
	// close it.
	Engine engine.Engine
	Core   core.Config
	Logger *slog.Logger
	// BootstrapToken, when set, is the admin token created on first start.
	BootstrapToken string
	// AuthLimits and TrustedProxies: see api.Options.
	AuthLimits     api.AuthLimits
	TrustedProxies []netip.Prefix
	// APIClock is the clock of the API's attempt budgets (tests move it).
	APIClock func() time.Time
	// GCInterval is how often Badger's value log is garbage collected.
	GCInterval time.Duration
	// CoreOptions are passed to core.New (a test clock, say).
	CoreOptions []core.Option
	// Runtime is what runs apps: RuntimeDocker or RuntimeNone (the
	// default). Rolling tunes the rollouts of a runtime of single units.
	Runtime    string
	Rolling    runtime.RollingOptions
	Kubernetes kubernetes.Options
	// Router, when set, gives each app an address: Instance.Router routes
	// requests for <app>.<domain> (Core.AppDomain) and its cnames to the
	// app's started units.
	Router *router.Options
	// ConsoleSecureCookies marks the web console's cookies Secure even on
	// plain http: berthd served over https by a TLS-terminating proxy.
	ConsoleSecureCookies bool
}

// Instance is a running control plane minus its listener.
type Instance struct {
	Store *store.Store
	Core  *core.Core
	API   *api.Server
	// Router serves apps at their addresses (nil without Config.Router).
	Router *router.Router
	// Console is the web console, which API serves under /ui/.
	Console *ui.Server
	// IssuedAdminToken is the admin token when this start created it, else "".
	IssuedAdminToken string

	ownsEngine  bool
	runtime     core.RuntimeConfig
	routing     *routing
	routingDone chan struct{}
	cancel      context.CancelFunc
}

// Open opens the store, bootstraps it on first start and builds the API.
func Open(ctx context.Context, cfg Config) (*Instance, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	eng, owns := cfg.Engine, false
	if eng == nil {
		b, err := badger.Open(badger.Options{Dir: cfg.DataDir, InMemory: cfg.InMemory, Logger: log})
		if err != nil {
			return nil, err
		}
		eng, owns = b, true
	}
	closeEngine := func(err error) error {
		if owns {
			return errors.Join(err, eng.Close())
		}
		return err
	}
	st, err := store.New(ctx, eng, store.Options{Logger: log})
	if err != nil {
		return nil, closeEngine(err)
	}
	coreCfg := cfg.Core
	if coreCfg.GCInterval == 0 {
		coreCfg.GCInterval = cfg.GCInterval
	}
	// The runtime's routing hook and core's are bound once both exist.
	var unitsChanged func(ctx context.Context, appID string)
	if cfg.Rolling.OnChange == nil {
		cfg.Rolling.OnChange = func(ctx context.Context, appID string) {
			if unitsChanged != nil {
				unitsChanged(ctx, appID)
			}
		}
		if cfg.Router != nil && cfg.Rolling.DrainDelay == 0 {
			// Other replicas' routers learn of the change through the
			// store; give them a moment before the old unit stops.
			cfg.Rolling.DrainDelay = time.Second
		}
	}
	rt, err := openRuntime(ctx, cfg, st, log)
	if err != nil {
		return nil, closeEngine(err)
	}
	closeAll := func(err error) error {
		if rt.Driver != nil {
			err = errors.Join(err, rt.Driver.Close())
		}
		return closeEngine(err)
	}
	coreOpts := []core.Option{core.WithLogger(log), core.WithRuntime(rt)}
	var routes *routing
	if cfg.Router != nil {
		routes = newRouting(nil, log.With("component", "router"))
		coreOpts = append(coreOpts, core.WithRoutesChanged(routes.sync))
	}
	c, err := core.New(ctx, st.Persist(), coreCfg, append(coreOpts, cfg.CoreOptions...)...)
	if err != nil {
		return nil, closeAll(err)
	}
	unitsChanged = c.UnitsChanged
	issued, err := c.Identity.Bootstrap(ctx, cfg.BootstrapToken)
	if err != nil {
		return nil, closeAll(err)
	}
	// The console's sign-in counts against the API's login budgets; the
	// API serves the console, so the hook reaches the API server once it
	// is made.
	var apiServer *api.Server
	console := ui.New(c, ui.Options{Logger: log, SecureCookies: cfg.ConsoleSecureCookies,
		SignInAttempt: func(r *http.Request, email string) (func(bool), error) {
			done, err := apiServer.CountAuthAttempt(r, email)
			if secs, ok := api.RetryAfter(err); ok {
				return nil, &ui.StatusError{Status: http.StatusTooManyRequests, Message: err.Error(), RetryAfter: secs}
			}
			return done, err
		}})
	apiServer = api.New(c, api.Options{Logger: log, Console: console, AuthLimits: cfg.AuthLimits, TrustedProxies: cfg.TrustedProxies, Now: cfg.APIClock})
	inst := &Instance{
		Store:            st,
		Core:             c,
		API:              apiServer,
		Console:          console,
		IssuedAdminToken: issued,
		ownsEngine:       owns,
		runtime:          rt,
	}
	if routes != nil {
		opts := *cfg.Router
		if opts.Domain == "" {
			opts.Domain = c.Config().AppDomain
		}
		if opts.Logger == nil {
			opts.Logger = log.With("component", "router")
		}
		r, err := router.New(inst.API.Registerer(), opts)
		if err != nil {
			return nil, closeAll(err)
		}
		routes.mu.Lock()
		routes.router, routes.core = r, c
		routes.mu.Unlock()
		routes.sync(ctx)
		inst.Router, inst.routing = r, routes
	}
	return inst, nil
}

// Start runs the background work (lease expiry, promotions, clean-up)
// until Close. Of several instances on one store, one at a time does it.
func (i *Instance) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	i.cancel = cancel
	i.Core.Start(ctx)
	if i.routing != nil {
		i.routingDone = make(chan struct{})
		go func() {
			defer close(i.routingDone)
			i.routing.run(ctx)
		}()
	}
}

// Close stops the background work and closes the store. Stop serving HTTP
// first.
func (i *Instance) Close() error {
	if i.cancel != nil {
		i.cancel()
		i.Core.Wait()
		if i.routingDone != nil {
			<-i.routingDone
		}
	}
	if i.Router != nil {
		i.Router.CloseIdleConnections()
	}
	var err error
	if i.runtime.Driver != nil {
		err = i.runtime.Driver.Close()
	}
	if !i.ownsEngine {
		return err
	}
	return errors.Join(err, i.Store.Close())
}
