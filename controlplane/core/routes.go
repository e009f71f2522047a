package core

import (
	"context"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/persist"
)

// Routes, for the router of every berthd process: the store derives an
// app's route (its hostnames and the addresses of its started units) in
// the transaction of every write of the app, and keeps a generation with a
// change log, so that a router holds every route in memory and catches up
// on what changed.

// RouteChange is a route that changed: Gone when the app has no route any
// more.
type RouteChange struct {
	AppID string
	Route domain.Route
	Gone  bool
}

// Routes returns every route and the generation they are at.
func (c *Core) Routes(ctx context.Context) (int64, []domain.Route, error) {
	var gen int64
	var out []domain.Route
	err := c.store.View(ctx, func(tx persist.Tx) (err error) {
		out = out[:0]
		if gen, err = tx.RouteGen(); err != nil {
			return err
		}
		return tx.Routes(func(r domain.Route) error { out = append(out, r); return nil })
	})
	return gen, out, err
}

// RoutesSince returns the routes that changed after generation gen, and
// the generation they are at.
func (c *Core) RoutesSince(ctx context.Context, gen int64) (int64, []RouteChange, error) {
	var now int64
	var out []RouteChange
	err := c.store.View(ctx, func(tx persist.Tx) (err error) {
		out = out[:0]
		if now, err = tx.RouteGen(); err != nil || now == gen {
			return err
		}
		return tx.RoutesChangedSince(gen, func(appID string, r domain.Route, ok bool) error {
			out = append(out, RouteChange{AppID: appID, Route: r, Gone: !ok})
			return nil
		})
	})
	return now, out, err
}

// SubscribeRoutes wakes the returned channel when a route may have changed,
// in any berthd process on the store.
func (c *Core) SubscribeRoutes(ctx context.Context) (<-chan struct{}, error) {
	return c.store.Subscribe(ctx, persist.RoutesTopic)
}

// WithRoutesChanged makes core call sync after it changed routes itself (a
// swap, units the reconciler found started or stopping), and wait for it:
// the process's router then applies the change before the request that
// made it answers, or before a rollout stops the unit that lost its route.
func WithRoutesChanged(sync func(ctx context.Context)) Option {
	return func(o *options) { o.routesChanged = sync }
}

func (c *Core) routesChanged(ctx context.Context) {
	if c.onRoutesChanged != nil {
		c.onRoutesChanged(ctx)
	}
}

// UnitsChanged records what the runtime runs of an app now and brings this
// process's router up to date: the runtime's routing hook, called in a
// rollout after a new unit answers and before an old one is stopped.
func (c *Core) UnitsChanged(ctx context.Context, appID string) {
	if err := c.reconciler.observe(ctx, appID); err != nil && ctx.Err() == nil {
		c.log.Warn("could not record the units of an app for the router", "app_id", appID, "err", err)
	}
	c.routesChanged(ctx)
}
