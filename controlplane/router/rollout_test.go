package router_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berthdev/terraform-provider-berth/controlplane/router"
)

// load loops requests through the router from clients goroutines until
// stop is closed and at least min requests completed.
type load struct {
	total atomic.Int64
	fails failures
	wg    sync.WaitGroup
	stop  chan struct{}
}

func startLoad(clients int, op func(worker, i int) error) *load {
	l := &load{stop: make(chan struct{})}
	for w := range clients {
		l.wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-l.stop:
					return
				default:
				}
				if err := op(w, i); err != nil {
					l.fails.add("worker %d request %d: %v", w, i, err)
				}
				l.total.Add(1)
			}
		})
	}
	return l
}

// progress waits until n more requests completed, so that each step of a
// scenario happens under traffic.
func (l *load) progress(t *testing.T, n int64) {
	t.Helper()
	from := l.total.Load()
	waitUntil(t, "requests to flow", 30*time.Second, func() bool { return l.total.Load() >= from+n })
}

func (l *load) finish(t *testing.T, atLeast int64) int64 {
	t.Helper()
	waitUntil(t, "the request count", 60*time.Second, func() bool { return l.total.Load() >= atLeast })
	close(l.stop)
	l.wg.Wait()
	return l.total.Load()
}

// expect checks that a reply is a 200 from app: expect(app)(c.get(...)).
func expect(app string) func(reply, error) error {
	return func(rep reply, err error) error {
		if err != nil {
			return err
		}
		if rep.status != http.StatusOK || appOf(rep.body) != app {
			return fmt.Errorf("%d %q (X-Berth-Router %q), want 200 from app %s", rep.status, strings.TrimSpace(rep.body), rep.header.Get("X-Berth-Router"), app)
		}
		return nil
	}
}

// TestRolloutScaleDownRestartUnderLoad: while clients loop over two apps'
// addresses, app a rolls onto a new release unit by unit, scales 3 -> 1
// and restarts; b is left alone. Each step is what the reconciler does:
// start the new unit, route to it, stop routing to the old one, wait for
// its requests to drain, stop it gracefully. No request may fail, and
// each answer must come from the app of its hostname. Requests mix plain
// GETs, slow ones (in flight while units leave) and POSTs with bodies.
func TestRolloutScaleDownRestartUnderLoad(t *testing.T) {
	checkLeaks(t)
	r, _, base := startRouter(t, router.Options{})
	a, b := newFleet(t, "a", 3), newFleet(t, "b", 2)
	update := func() { r.Update(mustTable(t, a.app(), b.app())) }
	update()
	c := newClient(t, base)
	payload := bodyOf(64 << 10)
	l := startLoad(6, func(w, i int) error {
		app := "a"
		if w >= 4 {
			app = "b"
		}
		host := app + ".localhost"
		switch i % 10 {
		case 3:
			return expect(app)(c.get(host, "/slow?ms=15"))
		case 7:
			rep, err := c.do(http.MethodPost, host, "/echo", bytes.NewReader(payload))
			if err != nil {
				return err
			}
			var got answer
			if rep.status != http.StatusOK || json.Unmarshal([]byte(rep.body), &got) != nil {
				return fmt.Errorf("POST: %d %q", rep.status, rep.body)
			}
			if got.App != app || got.BodySHA256 != sha(payload) {
				return fmt.Errorf("POST answered by app %s with a body of %d bytes, want app %s and %d bytes", got.App, got.BodyLen, app, len(payload))
			}
			return nil
		default:
			return expect(app)(c.get(host, "/"))
		}
	})
	retire := func(units ...*unit) {
		for _, u := range units {
			a.remove(u)
		}
		update()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		for _, u := range units {
			if err := r.WaitDrained(ctx, u.addr); err != nil {
				t.Error(err)
			}
			u.stop(t)
		}
	}
	replaceAll := func(release int) {
		for _, old := range append([]*unit(nil), a.units...) {
			a.add(release)
			update()
			l.progress(t, 30)
			retire(old)
			l.progress(t, 30)
		}
	}

	l.progress(t, 50)
	replaceAll(2) // the rollout
	retire(a.units[0], a.units[1])
	l.progress(t, 50)
	replaceAll(3) // the restart
	total := l.finish(t, 2000)
	l.fails.check(t, total)
	if len(a.units) != 1 || !strings.HasSuffix(a.units[0].id, "-r3") {
		t.Errorf("app a ends with units %v", a.units)
	}
	t.Logf("%d requests", total)
}

// TestUnitsStoppedRightAfterUpdate: a reconciler that does not wait for
// the drain (or a unit that stops on its own) still costs no GET: a GET
// caught by the unit's shutdown goes on to another unit.
func TestUnitsStoppedRightAfterUpdate(t *testing.T) {
	checkLeaks(t)
	r, _, base := startRouter(t, router.Options{})
	a := newFleet(t, "a", 3)
	update := func() { r.Update(mustTable(t, a.app())) }
	update()
	c := newClient(t, base)
	l := startLoad(4, func(w, i int) error { return expect("a")(c.get("a.localhost", "/")) })
	l.progress(t, 50)
	for round := range 3 {
		for _, old := range append([]*unit(nil), a.units...) {
			a.add(round + 2)
			a.remove(old)
			update()
			old.stop(t)
			l.progress(t, 20)
		}
	}
	total := l.finish(t, 1000)
	l.fails.check(t, total)
}

// TestSwapUnderLoad: swap is one Update exchanging two apps' hostnames.
// Requests that ended before it started are answered by a; requests that
// started after it returned, only by b; none fails.
func TestSwapUnderLoad(t *testing.T) {
	checkLeaks(t)
	r, _, base := startRouter(t, router.Options{})
	a, b := newFleet(t, "a", 2), newFleet(t, "b", 2)
	r.Update(mustTable(t, a.app("a.localhost"), b.app("b.localhost")))
	c := newClient(t, base)

	const (
		before = iota
		during
		after
	)
	var phase atomic.Int32
	var early, late atomic.Int64
	l := startLoad(6, func(w, i int) error {
		host, mine, theirs := "a.localhost", "a", "b"
		if w%2 == 1 {
			host, mine, theirs = "b.localhost", "b", "a"
		}
		started := phase.Load()
		rep, err := c.get(host, "/")
		ended := phase.Load()
		if err != nil {
			return err
		}
		if rep.status != http.StatusOK {
			return fmt.Errorf("%s: %d %q", host, rep.status, rep.body)
		}
		switch got := appOf(rep.body); {
		case ended == before && got != mine:
			return fmt.Errorf("%s answered by %s before the swap", host, got)
		case started == after && got != theirs:
			return fmt.Errorf("%s answered by %s after the swap returned", host, got)
		}
		if ended == before {
			early.Add(1)
		}
		if started == after {
			late.Add(1)
		}
		return nil
	})
	l.progress(t, 300)
	phase.Store(during)
	r.Update(mustTable(t, a.app("b.localhost"), b.app("a.localhost")))
	phase.Store(after)
	waitUntil(t, "requests after the swap", 30*time.Second, func() bool { return late.Load() >= 300 || l.fails.count() > 0 })
	total := l.finish(t, 600)
	l.fails.check(t, total)
	if early.Load() == 0 {
		t.Error("no request ended before the swap: the load did not straddle it")
	}
}
