package controlplane

import (
	"context"
	"testing"
	"time"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/engine/badger"
	"github.com/berthdev/terraform-provider-berth/controlplane/router"
	"github.com/berthdev/terraform-provider-berth/controlplane/store"
)

// TestEveryInstanceRoutesByTheStore: two berthd instances on one store
// (as replicas on one database are): what one writes of an app's units,
// the other's router serves, without either being told but through the
// store; and what goes from the store goes from both routers.
func TestEveryInstanceRoutesByTheStore(t *testing.T) {
	ctx := context.Background()
	e, err := badger.Open(badger.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	open := func() *Instance {
		i, err := Open(ctx, Config{Engine: e, Router: &router.Options{}, BootstrapToken: "berth_routing_test_admin_token_0123456789"})
		if err != nil {
			t.Fatal(err)
		}
		i.Start()
		t.Cleanup(func() { _ = i.Close() })
		return i
	}
	a, b := open(), open()

	app := &domain.App{ID: "0f0e0d0c-0000-4000-8000-000000000001", Name: "web", Type: domain.AppTypeApp, Teams: []string{"admin"},
		IP: "web.berth.local", Procs: []domain.Proc{{Name: "web", NumInstances: 2}},
		Units: []domain.Unit{
			{Name: "web/0", Proc: "web", State: domain.UnitStarted, Address: "127.0.0.1:20001"},
			{Name: "web/1", Proc: "web", State: domain.UnitStarted, Address: "127.0.0.1:20002"},
		}}
	write := func(i *Instance, f func(tx *store.Tx) error) {
		t.Helper()
		if err := i.Store.Update(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	backends := func(i *Instance) []string {
		r, ok := i.Router.Table().Lookup("web.berth.local")
		if !ok {
			return nil
		}
		var out []string
		for _, b := range r.Backends {
			out = append(out, b.Address)
		}
		return out
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 10s (a: %v, b: %v)", what, backends(a), backends(b))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	write(a, func(tx *store.Tx) error { return tx.PutApp(app) })
	waitFor("both routers serve the two units", func() bool { return len(backends(a)) == 2 && len(backends(b)) == 2 })

	app.Units[1].State = domain.UnitError
	write(b, func(tx *store.Tx) error { return tx.PutAppUnits(app) })
	waitFor("both routers drop the unit in error", func() bool { return len(backends(a)) == 1 && len(backends(b)) == 1 })

	write(a, func(tx *store.Tx) error { return tx.DeleteApp(app) })
	waitFor("both routers forget the deleted app", func() bool { return backends(a) == nil && backends(b) == nil })
}
