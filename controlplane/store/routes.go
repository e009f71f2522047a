package store

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/persist"
)

// Routes are derived from apps, in the same transaction as every write of
// an app, so that the routers of every berthd process route by what the
// store says. Like stacks, they move a generation and keep a change log,
// so that a router catches up by reading what changed since its
// generation, not every route.
const (
	nsRoute       = "route"        // app id -> domain.Route
	nsRouteGen    = "routegen"     // -> generation
	nsRouteChange = "route-change" // generation -> app id
)

type routeRecord struct {
	domain.Route
	Gen int64 `json:"gen"`
}

// RouteGen is the generation of the routes: it moves with every change.
func (tx *Tx) RouteGen() (int64, error) {
	v, err := tx.getRaw(key(nsRouteGen))
	if errors.Is(err, errNoKey) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(string(v), 10, 64)
}

// Routes calls fn with every route.
func (tx *Tx) Routes(fn func(domain.Route) error) error {
	return tx.scan(prefix(nsRoute), "", 0, false, func(k, v []byte) error {
		var r routeRecord
		if err := decode(k, v, &r); err != nil {
			return err
		}
		return fn(r.Route)
	})
}

// RoutesChangedSince calls fn for each app whose route changed after
// generation gen, with its route, or with ok false when it has none any
// more.
func (tx *Tx) RoutesChangedSince(gen int64, fn func(appID string, r domain.Route, ok bool) error) error {
	return tx.scan(prefix(nsRouteChange), fmt.Sprintf(stackGenNumber, gen), 0, false, func(_, v []byte) error {
		appID := string(v)
		r, ok, err := tx.route(appID)
		if err != nil {
			return err
		}
		return fn(appID, r.Route, ok)
	})
}

func (tx *Tx) route(appID string) (routeRecord, bool, error) {
	var r routeRecord
	err := tx.get(key(nsRoute, appID), &r)
	if errors.Is(err, errNoKey) {
		return r, false, nil
	}
	return r, err == nil, err
}

// syncRoute writes the route a says it has, or removes the route when it
// has none, moving the generation only when the route changed.
func (tx *Tx) syncRoute(a *domain.App, deleted bool) error {
	old, had, err := tx.route(a.ID)
	if err != nil {
		return err
	}
	want, has := a.Route()
	if deleted {
		has = false
	}
	if !has && !had || has && had && want.Equal(old.Route) {
		return nil
	}
	gen, err := tx.RouteGen()
	if err != nil {
		return err
	}
	gen++
	if had {
		if err := tx.delete(key(nsRouteChange, fmt.Sprintf(stackGenNumber, old.Gen))); err != nil {
			return err
		}
	}
	if err := tx.putRaw(key(nsRouteChange, fmt.Sprintf(stackGenNumber, gen)), []byte(a.ID)); err != nil {
		return err
	}
	if err := tx.putRaw(key(nsRouteGen), []byte(strconv.FormatInt(gen, 10))); err != nil {
		return err
	}
	tx.Notify(persist.RoutesTopic)
	if !has {
		return tx.delete(key(nsRoute, a.ID))
	}
	return tx.put(key(nsRoute, a.ID), routeRecord{Route: want, Gen: gen})
}
