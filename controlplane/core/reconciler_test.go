package core

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/persist"
	"github.com/berthdev/terraform-provider-berth/controlplane/runtime"
)

// TestObserveUnits pins how what a runtime reports becomes the app's units.
func TestObserveUnits(t *testing.T) {
	started := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	slots := func() *domain.App {
		return &domain.App{Name: "shop", Units: []domain.Unit{
			{Name: "shop/0", Proc: "web"}, {Name: "shop/1", Proc: "worker"}, {Name: "shop/2", Proc: "web"},
		}}
	}
	u := func(proc string, index int, st runtime.UnitState, release int, addr string) runtime.Unit {
		return runtime.Unit{Proc: proc, Index: index, State: st, Release: release, Address: addr, StartedAt: started, Message: string(st) + " message"}
	}
	rel := &domain.Release{Version: 2}
	for _, c := range []struct {
		rule     string
		units    []runtime.Unit
		t        target
		applyErr error
		want     string
	}{
		{"a runtime keeping berth's numbers: each unit at its number",
			[]runtime.Unit{u("web", 0, runtime.UnitRunning, 2, "127.0.0.1:1"), u("worker", 1, runtime.UnitRunning, 2, "127.0.0.1:2"), u("web", 2, runtime.UnitRunning, 2, "127.0.0.1:3")},
			target{release: rel}, nil,
			"shop/0 started 127.0.0.1:1 r2; shop/1 started 127.0.0.1:2 r2; shop/2 started 127.0.0.1:3 r2"},
		{"a runtime numbering each proc's units from 0: matched in order",
			[]runtime.Unit{u("web", 0, runtime.UnitPending, 2, ""), u("web", 1, runtime.UnitRunning, 2, "10.0.0.2:8080"), u("worker", 0, runtime.UnitRunning, 2, "10.0.0.3:8080")},
			target{release: rel}, nil,
			"shop/0 pending  r2 (pending message); shop/1 started 10.0.0.3:8080 r2; shop/2 started 10.0.0.2:8080 r2"},
		{"during a rollout the running unit counts, the newer release first",
			[]runtime.Unit{u("web", 0, runtime.UnitStopping, 1, "127.0.0.1:1"), u("web", 0, runtime.UnitRunning, 2, "127.0.0.1:4"), u("worker", 1, runtime.UnitRunning, 1, "127.0.0.1:2"), u("web", 2, runtime.UnitExited, 2, "")},
			target{release: rel}, nil,
			"shop/0 started 127.0.0.1:4 r2; shop/1 started 127.0.0.1:2 r1; shop/2 error  r2 (exited message)"},
		{"nothing reported and nothing to run: pending with the reason",
			nil, target{why: "no release to run yet"}, nil,
			"shop/0 pending  r0 (no release to run yet); shop/1 pending  r0 (no release to run yet); shop/2 pending  r0 (no release to run yet)"},
		{"nothing reported after a failed apply: error with the reason",
			nil, target{release: rel}, errors.New("image unavailable"),
			"shop/0 error  r0 (image unavailable); shop/1 error  r0 (image unavailable); shop/2 error  r0 (image unavailable)"},
	} {
		a := slots()
		observeUnits(a, c.units, c.t, c.applyErr)
		var got []string
		for _, s := range a.Units {
			line := fmt.Sprintf("%s %s %s r%d", s.Name, s.State, s.Address, s.Release)
			if s.State != domain.UnitStarted {
				line += " (" + s.Message + ")"
			}
			got = append(got, line)
		}
		if g := strings.Join(got, "; "); g != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.rule, g, c.want)
		}
	}
}

// TestReconcilerTarget: what runs of an app is its newest release whose
// rollout did not fail, and a lain meta_version names the registry's
// image.
func TestReconcilerTarget(t *testing.T) {
	st := memStore(t)
	c := newCore(t, st, nil)
	id := userIn(t, c, "ana@example.com", "devs")
	must[*domain.App](t)(c.Apps.Create(ctx, id, NewApp{Name: "web"}))
	for _, img := range []string{"img:1", "img:2", "img:3"} {
		if _, _, err := c.Apps.CreateRelease(ctx, id, "web", NewRelease{Image: img}); err != nil {
			t.Fatal(err)
		}
	}
	a := must[*domain.App](t)(c.Apps.Get(ctx, id, "web"))
	r := c.reconciler
	tg := must[target](t)(r.target(ctx, a.ID))
	if tg.release == nil || tg.release.Version != 3 {
		t.Fatalf("target: %+v, want release 3", tg.release)
	}
	err := st.Persist().Update(ctx, func(tx persist.Tx) error {
		rel, err := tx.ReleaseByVersion(a.ID, 3)
		if err != nil {
			return err
		}
		rel.Rollout = domain.RolloutFailed
		return tx.PutRelease(rel)
	})
	if err != nil {
		t.Fatal(err)
	}
	if tg = must[target](t)(r.target(ctx, a.ID)); tg.release.Version != 2 {
		t.Fatalf("after release 3 failed the target is %d, want 2", tg.release.Version)
	}
	ws := must[[]runtime.Workload](t)(r.workloads(tg))
	if len(ws) != 1 || ws[0].Proc != "web" || ws[0].Image != "img:2" || ws[0].Instances != 1 || ws[0].Port != domain.DefaultProcPort || ws[0].ConfigDigest == "" {
		t.Fatalf("workloads: %+v", ws)
	}
	lain := &domain.App{Name: "hello"}
	if got := r.imageOf(lain, &domain.Release{MetaVersion: "1700000000-abc"}); got != "registry.berth.local/hello:release-1700000000-abc" {
		t.Fatalf("lain image: %q", got)
	}
	inst := &domain.App{Name: "resource.redis.web", Type: domain.AppTypeResourceInstance, Resource: "redis"}
	if got := r.imageOf(inst, &domain.Release{MetaVersion: "1-x"}); got != "registry.berth.local/redis:release-1-x" {
		t.Fatalf("a resource instance runs its resource's image: %q", got)
	}
	if _, err := c.Apps.Get(ctx, id, "nope"); !isNotFound(err) {
		t.Fatal(err)
	}
	if tg = must[target](t)(r.target(ctx, "no-such-id")); tg.app != nil {
		t.Fatal("a deleted app has a target")
	}
}

// TestConfigDigestIsKeyed: the digest that stands for a unit's environment
// moves with any value and depends on the server's key.
func TestConfigDigestIsKeyed(t *testing.T) {
	env := []runtime.EnvVar{{Name: "TOKEN", Value: "a"}}
	k1, k2 := []byte("key one"), []byte("key two")
	if configDigest(k1, env) == configDigest(k2, env) {
		t.Fatal("the digest does not depend on the key")
	}
	if configDigest(k1, env) == configDigest(k1, []runtime.EnvVar{{Name: "TOKEN", Value: "b"}}) {
		t.Fatal("the digest does not move with the value")
	}
	w := runtime.Workload{AppID: "a", Proc: "web", Env: env, ConfigDigest: configDigest(k1, env)}
	other := w
	other.Env = []runtime.EnvVar{{Name: "TOKEN", Value: "changed"}}
	if w.Revision() != other.Revision() {
		t.Fatal("with a digest, the revision still hashes the values")
	}
}
