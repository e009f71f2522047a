package core

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/persist"
)

// Two Cores over one store behave like one: what one writes, the other
// takes into account before it acts; they never hand out a stack twice;
// only one runs the background work at a time, and the other takes over
// when it stops. (Several berthd processes on one PostgreSQL database are
// the real case; test/replicas runs them as processes.)

func TestTwoCoresKeepTheStackSelectionRule(t *testing.T) {
	e := memEngine(t)
	clk := newClock()
	a, b := newCore(t, storeOn(t, e), clk), newCore(t, storeOn(t, e), clk)
	id := userIn(t, a, "ana@example.com", "devs")
	_, p, err := a.Stacks.CreateStackProject(ctx, id, NewStackProject{Name: "web"})
	if err != nil {
		t.Fatal(err)
	}
	lease := func(c *Core, branch string) string {
		t.Helper()
		clk.advance(time.Second)
		l, err := c.Stacks.RequestStack(ctx, p, LeaseRequest{Branch: branch})
		if err != nil {
			t.Fatal(err)
		}
		return l.Stack.Name
	}
	release := func(c *Core, name string) {
		t.Helper()
		clk.advance(time.Second)
		if _, err := c.Stacks.ReleaseStack(ctx, p, name, ""); err != nil {
			t.Fatal(err)
		}
	}
	// Each core has an index by now; from here on every step goes through
	// the core that did not make the last change.
	steps := []struct {
		name string
		do   func() string
		want string
	}{
		{"a new stack for main", func() string { return lease(a, "main") }, "test-1"},
		{"a new stack for feature, through the other core", func() string { return lease(b, "feature") }, "test-2"},
		{"a third", func() string { return lease(a, "other") }, "test-3"},
		{"release test-2 through b, then test-1 through a", func() string { release(b, "test-2"); release(a, "test-1"); return "" }, ""},
		{"feature gets its own stack back, through a", func() string { return lease(a, "feature") }, "test-2"},
		{"a new branch gets the stack released longest ago, through b", func() string { return lease(b, "new") }, "test-1"},
		{"none is free: the next number, through a", func() string { return lease(a, "newer") }, "test-4"},
		{"and through b right after", func() string { return lease(b, "newest") }, "test-5"},
	}
	for _, st := range steps {
		if got := st.do(); got != st.want {
			t.Fatalf("%s: got %q, want %q", st.name, got, st.want)
		}
	}

	// Many requests at once, spread over both cores: no stack twice.
	var mu sync.Mutex
	holders := map[string]string{}
	var wg sync.WaitGroup
	for i := range 64 {
		c := a
		if i%2 == 1 {
			c = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := c.Stacks.RequestStack(ctx, p, LeaseRequest{Branch: fmt.Sprint("burst-", i%40)})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if other, ok := holders[l.Stack.Name]; ok {
				t.Errorf("stack %s handed to two requests (%s and %s)", l.Stack.Name, other, l.Stack.Lease.ID)
			}
			holders[l.Stack.Name] = l.Stack.Lease.ID
		}()
	}
	wg.Wait()
	stacks := must[[]domain.Stack](t)(func() ([]domain.Stack, error) {
		s, _, err := b.Stacks.ListStacks(ctx, p, domain.Page{})
		return s, err
	}())
	if len(stacks) != 5+64 {
		t.Fatalf("%d stacks after 64 more leases with none free, want %d", len(stacks), 5+64)
	}
	for _, st := range stacks {
		if st.Number > 5 && (st.Lease == nil || holders[st.Name] != st.Lease.ID) {
			t.Fatalf("stack %s is not held by the request it was handed to: %+v", st.Name, st.Lease)
		}
	}
}

func TestTwoCoresRunPromotionsAndBackgroundWorkOnce(t *testing.T) {
	e := memEngine(t)
	clk := newClock()
	var mu sync.Mutex
	applied := map[string]int{}
	hook := WithPromotionStepHook(func(_ context.Context, promotionID, target string) {
		mu.Lock()
		applied[promotionID+"/"+target]++
		mu.Unlock()
	})
	a, b := newCore(t, storeOn(t, e), clk, hook), newCore(t, storeOn(t, e), clk, hook)
	runA, stopA := context.WithCancel(ctx)
	runB, stopB := context.WithCancel(ctx)
	defer stopA()
	defer stopB()
	a.Start(runA)
	b.Start(runB)
	t.Cleanup(func() { stopA(); stopB(); a.Wait(); b.Wait() })

	leaders := func() []string {
		var out []string
		if a.Leading() {
			out = append(out, "a")
		}
		if b.Leading() {
			out = append(out, "b")
		}
		return out
	}
	eventually(t, 15*time.Second, "one core leads", func() bool { return len(leaders()) == 1 })

	id := userIn(t, a, "ana@example.com", "devs")
	for _, n := range []string{"web-dev", "web-stg", "api-dev", "api-stg"} {
		must[*domain.App](t)(a.Apps.Create(ctx, id, NewApp{Name: n}))
	}
	must[*domain.Pipeline](t)(a.Pipelines.Create(ctx, id, "web", ""))
	for _, c := range []NewCoupling{
		{App: "web-dev", Pipeline: "web", Stage: domain.StageDevelopment},
		{App: "web-stg", Pipeline: "web", Stage: domain.StageStaging},
		{App: "api-dev", Pipeline: "web", Stage: domain.StageDevelopment},
		{App: "api-stg", Pipeline: "web", Stage: domain.StageStaging},
	} {
		must[*domain.Coupling](t)(b.Pipelines.CreateCoupling(ctx, id, c))
	}
	if _, _, err := a.Apps.CreateRelease(ctx, id, "web-dev", NewRelease{Image: "registry/web:1"}); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 10 {
		c := a
		if i%2 == 1 {
			c = b
		}
		p, err := c.Pipelines.CreatePromotion(ctx, id, NewPromotion{Pipeline: "web", Source: "web-dev", Targets: []string{"web-stg"}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, p.ID)
	}
	for _, pid := range ids {
		eventually(t, 15*time.Second, "promotion "+pid+" ends", func() bool {
			p, err := b.Pipelines.GetPromotion(ctx, id, pid)
			return err == nil && p.Status != domain.PromotionPending
		})
		p := must[*domain.Promotion](t)(a.Pipelines.GetPromotion(ctx, id, pid))
		if p.Status != domain.PromotionSuccessful {
			t.Fatalf("promotion %s ended %s: %+v", pid, p.Status, p.Targets)
		}
	}
	stg := must[*domain.App](t)(b.Apps.Get(ctx, id, "web-stg"))
	if stg.LastRelease != len(ids) {
		t.Fatalf("web-stg has %d releases after %d promotions: a target was promoted more or less than once", stg.LastRelease, len(ids))
	}
	mu.Lock()
	for k, n := range applied {
		if n != 1 {
			t.Errorf("target %s applied %d times", k, n)
		}
	}
	mu.Unlock()

	// The leader stops; the other takes the background work over and
	// releases a lease that ran out meanwhile.
	_, p, err := a.Stacks.CreateStackProject(ctx, id, NewStackProject{Name: "api"})
	if err != nil {
		t.Fatal(err)
	}
	l := must[*Lease](t)(a.Stacks.RequestStack(ctx, p, LeaseRequest{Branch: "main", TTL: time.Minute}))
	clk.advance(time.Hour)
	first := leaders()[0]
	if first == "a" {
		stopA()
		a.Wait()
	} else {
		stopB()
		b.Wait()
	}
	eventually(t, 15*time.Second, "the other core leads", func() bool {
		got := leaders()
		return len(got) == 1 && got[0] != first
	})
	eventually(t, 15*time.Second, "the expired lease is released in the store", func() bool {
		var st *domain.Stack
		err := storeOn(t, e).Persist().View(ctx, func(tx persist.Tx) (err error) {
			st, err = tx.StackByName(p.ID, l.Stack.Name)
			return err
		})
		return err == nil && st.Lease == nil
	})
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
