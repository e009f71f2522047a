package controlplane

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/berthdev/terraform-provider-berth/controlplane/core"
	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/router"
)

// routing keeps this process's router in step with the routes in the
// store: it loads them all once, then catches up on what changed whenever
// the store says routes changed (in this process or another on the same
// store), and when core asks it to before answering (a swap, a rollout
// step).
type routing struct {
	core   *core.Core
	router *router.Router
	log    *slog.Logger

	mu     sync.Mutex
	loaded bool
	gen    int64
	routes map[string]domain.Route // by app id
}

// routingSafetyNet is how often the routes are compared with the store
// even without a notification (one lost with a database connection).
const routingSafetyNet = 30 * time.Second

func newRouting(r *router.Router, log *slog.Logger) *routing {
	return &routing{router: r, log: log, routes: map[string]domain.Route{}}
}

// sync brings the router up to date with the store, then waits (a few
// seconds at most) until the requests in flight to units that lost their
// route are done: core calls it in a rollout before the old unit stops.
func (rt *routing) sync(ctx context.Context) {
	removed, err := rt.catchUp(ctx)
	if err != nil && ctx.Err() == nil {
		rt.log.Warn("router: could not read the routes; serving the ones it has", "err", err)
	}
	if len(removed) > 0 {
		wctx, cancel := context.WithTimeout(ctx, drainWait)
		defer cancel()
		_ = rt.router.WaitDrained(wctx, removed...)
	}
}

// drainWait bounds the wait for requests to a unit leaving the routes.
const drainWait = 5 * time.Second

// catchUp reads what changed and applies it; it returns the unit
// addresses that no route has any more.
func (rt *routing) catchUp(ctx context.Context) ([]string, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.router == nil || rt.core == nil {
		return nil, nil // not wired yet: berthd is starting
	}
	before := rt.backends()
	if !rt.loaded {
		gen, routes, err := rt.core.Routes(ctx)
		if err != nil {
			return nil, err
		}
		clear(rt.routes)
		for _, r := range routes {
			rt.routes[r.AppID] = r
		}
		rt.gen, rt.loaded = gen, true
		return nil, rt.apply()
	}
	gen, changes, err := rt.core.RoutesSince(ctx, rt.gen)
	if err != nil || gen == rt.gen {
		return nil, err
	}
	for _, c := range changes {
		if c.Gone {
			delete(rt.routes, c.AppID)
		} else {
			rt.routes[c.AppID] = c.Route
		}
	}
	rt.gen = gen
	if err := rt.apply(); err != nil {
		return nil, err
	}
	after := rt.backends()
	var removed []string
	for addr := range before {
		if !after[addr] {
			removed = append(removed, addr)
		}
	}
	return removed, nil
}

func (rt *routing) backends() map[string]bool {
	out := map[string]bool{}
	for _, r := range rt.routes {
		for _, b := range r.Backends {
			out[b] = true
		}
	}
	return out
}

// apply builds a table of the routes and hands it to the router. A
// hostname two apps claim (data from before a fix, say) goes to the app
// whose name sorts first, and the other is logged.
func (rt *routing) apply() error {
	apps := make([]router.App, 0, len(rt.routes))
	claimed := map[string]string{}
	for _, id := range slices.Sorted(maps.Keys(rt.routes)) {
		r := rt.routes[id]
		a := router.App{ID: r.AppID, Name: r.App}
		for _, b := range r.Backends {
			a.Backends = append(a.Backends, router.Backend{Address: b})
		}
		for _, h := range r.Hostnames {
			h = router.CanonicalHost(h)
			if other, ok := claimed[h]; ok {
				rt.log.Warn("router: two apps claim one hostname; the first keeps it", "hostname", h, "app", r.App, "kept_by", other)
				continue
			}
			claimed[h] = r.App
			a.Hostnames = append(a.Hostnames, h)
		}
		apps = append(apps, a)
	}
	t, err := router.NewTable(apps)
	if err != nil {
		return err
	}
	rt.router.Update(t)
	return nil
}

// run follows the store's notifications until ctx ends.
func (rt *routing) run(ctx context.Context) {
	wake, err := rt.core.SubscribeRoutes(ctx)
	if err != nil {
		rt.log.Warn("router: cannot subscribe to route changes; checking every 30s", "err", err)
	}
	safety := time.NewTicker(routingSafetyNet)
	defer safety.Stop()
	for {
		rt.sync(ctx)
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-safety.C:
		}
	}
}
