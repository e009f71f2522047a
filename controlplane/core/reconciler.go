package core

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/persist"
	"github.com/berthdev/terraform-provider-berth/controlplane/runtime"
)

// The reconciler makes the runtime run what the store describes. It is
// level-triggered, as Kubernetes controllers are: a change only queues the
// app (every write of an app marks it in the store, in the same
// transaction; see persist.RuntimeTx), and the reconciler reads the desired
// state and what runs afresh, then acts until they agree. A missed wake-up
// or a crash costs a pass, never correctness. It runs as a job of the
// scheduler, so of several berthd processes only one acts.
//
// Desired state of an app, per proc: the image of its current release
// (the newest release whose rollout did not fail; a lain meta_version
// names the image <registry>/<app>:release-<meta_version>, as lain did),
// the proc's instances (at the unit numbers berth gave them), cpu, memory,
// command and port, and the app's config (its env vars, those its service
// bindings export, and PORT). What the runtime reports comes back into the
// app's units: their state, address, start time and release.

// RuntimeConfig says what runs apps.
type RuntimeConfig struct {
	// Driver runs units; nil is the none runtime: units are records only
	// (for teams that deploy with their own tooling).
	Driver runtime.WorkloadDriver
	// Name is the runtime's name for logs and docs ("docker", "none").
	Name string
}

// WithRuntime makes the reconciler drive rt.
func WithRuntime(rt RuntimeConfig) Option { return func(o *options) { o.runtime = rt } }

const (
	// reconcilePass is how often every app is compared with what runs,
	// whether or not it was queued: the safety net for lost events.
	reconcilePass = time.Minute
	// reconcileWorkers is how many apps are reconciled at once.
	reconcileWorkers = 4
	// reconcileBatch bounds the queued apps one read takes.
	reconcileBatch = 100
	// maxReleaseLookback bounds how far back the reconciler looks for a
	// release that did not fail.
	maxReleaseLookback = 20
)

// Reconciler drives a runtime.
type Reconciler struct {
	deps
	rt RuntimeConfig
	// envKey keys the digests of units' environments.
	envKey []byte
	// routesChanged brings this process's router up to date.
	routesChanged func(ctx context.Context)

	mu sync.Mutex
	// queue of app ids to reconcile now (from events and back-off
	// timers), beside the marks in the store.
	queue map[string]bool
	kick  chan struct{}
}

func newReconciler(d deps, rt RuntimeConfig, envKey []byte) *Reconciler {
	if rt.Name == "" {
		rt.Name = "none"
		if rt.Driver != nil {
			rt.Name = "custom"
		}
	}
	return &Reconciler{deps: d, rt: rt, envKey: envKey, queue: map[string]bool{}, kick: make(chan struct{}, 1)}
}

// RuntimeName is the name of the runtime apps run on.
func (c *Core) RuntimeName() string { return c.reconciler.rt.Name }

// enqueue asks for a pass over one app soon, without a store write.
func (r *Reconciler) enqueue(appID string) {
	r.mu.Lock()
	r.queue[appID] = true
	r.mu.Unlock()
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

func (r *Reconciler) takeQueue() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := slices.Collect(maps.Keys(r.queue))
	clear(r.queue)
	return out
}

// run is the reconciler's job: it works through the queue whenever it is
// woken (a write, an event of the runtime, a back-off that ended) and
// makes a pass over every app each reconcilePass.
func (r *Reconciler) run(ctx context.Context, f fence) {
	wake, err := r.store.Subscribe(ctx, persist.ReconcileTopic)
	if err != nil {
		r.log.Warn("reconciler: cannot subscribe to app changes; passes only", "err", err)
	}
	var events <-chan runtime.Event
	if r.rt.Driver != nil {
		if events, err = r.rt.Driver.Watch(ctx); err != nil && !errors.Is(err, runtime.ErrNotSupported) {
			r.log.Warn("reconciler: cannot watch the runtime; passes only", "err", err)
		}
	}
	pass := time.NewTicker(reconcilePass)
	defer pass.Stop()
	full := true // the first pass adopts what runs after a restart
	for {
		if err := r.work(ctx, f, full); err != nil && ctx.Err() == nil && !errors.Is(err, errLostLease) {
			r.log.Warn("reconciler: pass failed; it runs again", "err", err)
		}
		full = false
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-r.kick:
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			if ev.AppID == "" {
				full = true // the runtime may have lost events: look at everything
			} else {
				r.enqueue(ev.AppID)
			}
		case <-pass.C:
			full = true
		}
	}
}

// work reconciles the queued apps and, on a full pass, every app the store
// has and every app the runtime runs.
func (r *Reconciler) work(ctx context.Context, f fence, full bool) error {
	ids := map[string]persist.AppChange{}
	for _, id := range r.takeQueue() {
		ids[id] = persist.AppChange{AppID: id, Changes: -1}
	}
	err := r.store.View(ctx, func(tx persist.Tx) error {
		marked, err := tx.AppsToReconcile(reconcileBatch)
		for _, c := range marked {
			ids[c.AppID] = c
		}
		return err
	})
	if err != nil {
		return err
	}
	if full {
		if err := r.addEverything(ctx, ids); err != nil {
			return err
		}
	}
	if len(ids) == 0 {
		return nil
	}
	work := make(chan persist.AppChange)
	var wg sync.WaitGroup
	for range reconcileWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range work {
				if err := r.reconcile(ctx, f, c); err != nil && ctx.Err() == nil && !errors.Is(err, errLostLease) {
					r.log.Warn("reconciler: app not reconciled; it is tried again", "app_id", c.AppID, "err", err)
				}
			}
		}()
	}
	for _, c := range ids {
		select {
		case work <- c:
		case <-ctx.Done():
		}
	}
	close(work)
	wg.Wait()
	// More may have been queued meanwhile; the store's marks say so.
	var more bool
	_ = r.store.View(ctx, func(tx persist.Tx) error {
		m, err := tx.AppsToReconcile(1)
		more = len(m) > 0
		return err
	})
	if more {
		select {
		case r.kick <- struct{}{}:
		default:
		}
	}
	return nil
}

// addEverything adds to ids every app with deployed procs and every app
// the runtime holds something for.
func (r *Reconciler) addEverything(ctx context.Context, ids map[string]persist.AppChange) error {
	if r.rt.Driver == nil {
		return nil
	}
	running, err := r.rt.Driver.AppIDs(ctx)
	if err != nil {
		return err
	}
	for _, id := range running {
		if _, ok := ids[id]; !ok {
			ids[id] = persist.AppChange{AppID: id, Changes: -1}
		}
	}
	after := ""
	for {
		var page []domain.App
		var next string
		err := r.store.View(ctx, func(tx persist.Tx) (err error) {
			page, next, err = tx.ListApps(persist.AppFilter{Scope: domain.AppScope{All: true}}, domain.Page{After: after, Limit: healerPageSize})
			return err
		})
		if err != nil {
			return err
		}
		for _, a := range page {
			if _, ok := ids[a.ID]; !ok && len(a.Procs) > 0 {
				ids[a.ID] = persist.AppChange{AppID: a.ID, Changes: -1}
			}
		}
		if next == "" {
			return nil
		}
		after = next
	}
}

// target is what one pass wants to run of an app.
type target struct {
	app     *domain.App
	release *domain.Release // nil: nothing to run yet
	why     string          // why nothing runs, for the units' message
}

// reconcile makes the runtime agree with one app, then records what runs.
func (r *Reconciler) reconcile(ctx context.Context, f fence, c persist.AppChange) error {
	if r.rt.Driver == nil {
		return r.recordOnly(ctx, f, c)
	}
	for attempt := 0; ; attempt++ {
		t, err := r.target(ctx, c.AppID)
		if err != nil {
			return err
		}
		if t.app == nil {
			if err := r.rt.Driver.Remove(ctx, c.AppID, ""); err != nil {
				return err
			}
			return r.clear(ctx, f, c)
		}
		applyErr := r.apply(ctx, t)
		units, err := r.rt.Driver.Units(ctx, c.AppID)
		if err != nil {
			return err
		}
		failedRelease, err := r.record(ctx, f, t, units, applyErr)
		if err != nil {
			return err
		}
		r.routesChanged(ctx)
		if failedRelease && attempt == 0 {
			continue // the release that failed no longer counts: roll back to the one before
		}
		var backoff *runtime.BackoffError
		if errors.As(applyErr, &backoff) {
			r.retryAt(c.AppID, backoff.Until)
		} else if applyErr != nil {
			r.retryAt(c.AppID, r.now().Add(5*time.Second))
		}
		if applyErr != nil {
			// Keep the mark: the app is not where it should be.
			return nil
		}
		return r.clear(ctx, f, c)
	}
}

// recordOnly is the none runtime's pass: nothing runs, so what is described
// is in effect at once: the app's queued releases succeed.
func (r *Reconciler) recordOnly(ctx context.Context, f fence, c persist.AppChange) error {
	return r.store.Update(ctx, func(tx persist.Tx) error {
		if err := f.check(tx); err != nil {
			return err
		}
		a, err := tx.AppByID(c.AppID)
		switch {
		case isNotFound(err):
		case err != nil:
			return err
		default:
			for v := a.LastRelease; v >= 1 && v > a.LastRelease-maxReleaseLookback; v-- {
				rel, err := tx.ReleaseByVersion(a.ID, v)
				if isNotFound(err) {
					continue
				}
				if err != nil {
					return err
				}
				if rel.Rollout != domain.RolloutQueued {
					break
				}
				rel.Rollout = domain.RolloutSucceeded
				if err := tx.PutRelease(rel); err != nil {
					return err
				}
			}
		}
		if c.Changes < 0 {
			return nil
		}
		return tx.Reconciled(c)
	})
}

func (r *Reconciler) clear(ctx context.Context, f fence, c persist.AppChange) error {
	if c.Changes < 0 {
		return nil
	}
	return r.store.Update(ctx, func(tx persist.Tx) error {
		if err := f.check(tx); err != nil {
			return err
		}
		return tx.Reconciled(c)
	})
}

// retryAt queues an app again once at has passed. The timer is only
// pacing: the store's mark and the passes keep the work from being lost.
func (r *Reconciler) retryAt(appID string, at time.Time) {
	d := time.Until(at)
	if d < 100*time.Millisecond {
		d = 100 * time.Millisecond
	}
	time.AfterFunc(d, func() { r.enqueue(appID) })
}

// target reads what should run of an app: the app, and its newest release
// whose rollout did not fail.
func (r *Reconciler) target(ctx context.Context, appID string) (target, error) {
	var t target
	err := r.store.View(ctx, func(tx persist.Tx) error {
		a, err := tx.AppByID(appID)
		if isNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		t.app = a
		for v := a.LastRelease; v >= 1 && v > a.LastRelease-maxReleaseLookback; v-- {
			rel, err := tx.ReleaseByVersion(a.ID, v)
			if isNotFound(err) {
				continue
			}
			if err != nil {
				return err
			}
			if rel.Rollout == domain.RolloutFailed {
				continue
			}
			if r.imageOf(a, rel) == "" {
				t.why = fmt.Sprintf("release v%d names no image", rel.Version)
				continue
			}
			t.release = rel
			return nil
		}
		if t.why == "" {
			t.why = "no release to run yet"
		}
		return nil
	})
	return t, err
}

// imageOf is the image a release runs: its own, or the lain image of its
// meta_version.
func (r *Reconciler) imageOf(a *domain.App, rel *domain.Release) string {
	if rel.Image != "" {
		return rel.Image
	}
	if rel.MetaVersion == "" {
		return ""
	}
	name := a.Name
	if a.Type == domain.AppTypeResourceInstance && a.Resource != "" {
		name = a.Resource
	}
	return fmt.Sprintf("%s/%s:release-%s", r.cfg.ImageRegistry, name, rel.MetaVersion)
}

// workloads are the desired workloads of t, one per deployed proc.
func (r *Reconciler) workloads(t target) ([]runtime.Workload, error) {
	a := t.app
	var env []runtime.EnvVar
	for _, name := range slices.Sorted(maps.Keys(a.Env)) {
		if name == "PORT" {
			continue
		}
		v := a.Env[name]
		env = append(env, runtime.EnvVar{Name: name, Value: v.Value, Private: !v.Public})
	}
	var out []runtime.Workload
	for _, p := range a.Procs {
		mem, err := domain.ParseMemory(p.Memory)
		if err != nil {
			return nil, err
		}
		var indexes []int
		for _, u := range a.Units {
			if u.Proc == p.Name {
				indexes = append(indexes, domain.UnitNumber(u.Name))
			}
		}
		w := runtime.Workload{
			AppID: a.ID, App: a.Name, Team: a.TeamOwner, Proc: p.Name,
			Command: p.Command, Port: p.ListenPort(), CPU: p.CPU, Memory: mem,
			Instances: len(indexes), Indexes: indexes,
			Env: append(slices.Clone(env), runtime.EnvVar{Name: "PORT", Value: strconv.Itoa(p.ListenPort())}),
		}
		if !a.RestartedAt.IsZero() {
			w.Restart = a.RestartedAt.UnixNano()
		}
		w.ConfigDigest = configDigest(r.envKey, w.Env)
		if t.release != nil {
			w.Release, w.Image = t.release.Version, r.imageOf(a, t.release)
		} else {
			w.Instances, w.Indexes = 0, nil
		}
		out = append(out, w)
	}
	return out, nil
}

// configDigest is a keyed digest of a unit's environment: it moves when
// any name or value does, and reveals nothing about the values.
func configDigest(key []byte, env []runtime.EnvVar) string {
	mac := hmac.New(sha256.New, key)
	for _, e := range env {
		// Names cannot contain NUL; values are length-prefixed.
		fmt.Fprintf(mac, "%s\x00%d:%s\x00", e.Name, len(e.Value), e.Value)
	}
	return hex.EncodeToString(mac.Sum(nil))
}

// apply runs the desired workloads and removes the procs that should not
// run any more. It goes on after a proc fails, so that one broken proc
// does not keep the others from converging, and returns the first error.
func (r *Reconciler) apply(ctx context.Context, t target) error {
	ws, err := r.workloads(t)
	if err != nil {
		return err
	}
	var first error
	keep := map[string]bool{}
	for _, w := range ws {
		keep[w.Proc] = true
		if err := r.rt.Driver.Apply(ctx, w); err != nil && first == nil {
			first = err
		}
	}
	units, err := r.rt.Driver.Units(ctx, t.app.ID)
	if err != nil {
		return errors.Join(first, err)
	}
	for _, proc := range slices.Compact(slices.Sorted(func(yield func(string) bool) {
		for _, u := range units {
			if !yield(u.Proc) {
				return
			}
		}
	})) {
		if !keep[proc] {
			if err := r.rt.Driver.Remove(ctx, t.app.ID, proc); err != nil && first == nil {
				first = err
			}
		}
	}
	return first
}

// observe records what the runtime runs of an app now, between the steps
// of a rollout. It writes observations only, so it needs no fence: a
// process that lost the lease writes what it saw, and the next pass of the
// one that holds it corrects anything stale.
func (r *Reconciler) observe(ctx context.Context, appID string) error {
	if r.rt.Driver == nil {
		return nil
	}
	t, err := r.target(ctx, appID)
	if err != nil || t.app == nil {
		return err
	}
	units, err := r.rt.Driver.Units(ctx, appID)
	if err != nil {
		return err
	}
	return r.store.Update(ctx, func(tx persist.Tx) error {
		a, err := tx.AppByID(appID)
		if isNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		observeUnits(a, units, t, nil)
		return tx.PutAppUnits(a)
	})
}

// record writes what runs back into the app's units and settles the
// rollout of the target release: succeeded once every proc runs it, failed
// when it could not start (the units of the release before keep serving).
// It reports whether it marked the release failed.
func (r *Reconciler) record(ctx context.Context, f fence, t target, units []runtime.Unit, applyErr error) (failed bool, err error) {
	rolloutFailed := errors.Is(applyErr, runtime.ErrRolloutFailed) && !errors.Is(applyErr, runtime.ErrBackoff)
	err = r.store.Update(ctx, func(tx persist.Tx) error {
		failed = false
		if err := f.check(tx); err != nil {
			return err
		}
		a, err := tx.AppByID(t.app.ID)
		if isNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		observeUnits(a, units, t, applyErr)
		if err := tx.PutAppUnits(a); err != nil {
			return err
		}
		if t.release == nil {
			return nil
		}
		rel, err := tx.ReleaseByVersion(a.ID, t.release.Version)
		if isNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		switch {
		case rolloutFailed && rel.Rollout != domain.RolloutSucceeded:
			rel.Rollout, rel.RolloutMessage, failed = domain.RolloutFailed, applyErr.Error(), true
		case applyErr == nil && runsRelease(a, rel.Version) && rel.Rollout != domain.RolloutSucceeded:
			rel.Rollout, rel.RolloutMessage = domain.RolloutSucceeded, ""
		default:
			return nil
		}
		rel.UpdatedAt = r.now().UTC()
		return tx.PutRelease(rel)
	})
	if failed {
		r.log.Warn("reconciler: a release failed to start; the app stays on the release before", "app", t.app.Name, "release", t.release.Version, "err", applyErr)
	}
	return failed, err
}

// runsRelease reports whether every unit of a runs release version.
func runsRelease(a *domain.App, version int) bool {
	for _, u := range a.Units {
		if u.State != domain.UnitStarted || u.Release != version {
			return false
		}
	}
	return true
}

// observeUnits sets the state of each of a's units from what the runtime
// reports at its number: a running unit is started (at whatever release it
// runs, during a rollout the old one), a pending one pending, one that
// exited or cannot run is in error with the reason.
//
// A runtime that keeps berth's unit numbers (Rolling) reports each unit at
// its number; one that does not (Kubernetes numbers a proc's pods from 0)
// has its units matched to the proc's remaining units in order.
func observeUnits(a *domain.App, units []runtime.Unit, t target, applyErr error) {
	type group struct {
		index int
		units []runtime.Unit
	}
	byProc := map[string][]*group{}
	for _, u := range units {
		gs := byProc[u.Proc]
		if n := len(gs); n > 0 && gs[n-1].index == u.Index {
			gs[n-1].units = append(gs[n-1].units, u)
			continue
		}
		i := slices.IndexFunc(gs, func(g *group) bool { return g.index == u.Index })
		if i >= 0 {
			gs[i].units = append(gs[i].units, u)
			continue
		}
		byProc[u.Proc] = append(gs, &group{index: u.Index, units: []runtime.Unit{u}})
	}
	for _, gs := range byProc {
		slices.SortFunc(gs, func(x, y *group) int { return x.index - y.index })
	}
	found := make([][]runtime.Unit, len(a.Units))
	taken := map[*group]bool{}
	for i, slot := range a.Units {
		for _, g := range byProc[slot.Proc] {
			if g.index == domain.UnitNumber(slot.Name) {
				found[i], taken[g] = g.units, true
			}
		}
	}
	for i, slot := range a.Units {
		if found[i] != nil {
			continue
		}
		for _, g := range byProc[slot.Proc] {
			if !taken[g] {
				found[i], taken[g] = g.units, true
				break
			}
		}
	}
	for i := range a.Units {
		slot := &a.Units[i]
		best := bestUnit(found[i])
		switch {
		case best == nil && t.release == nil:
			slot.State, slot.Message = domain.UnitPending, t.why
			slot.Address, slot.StartedAt, slot.Release = "", time.Time{}, 0
		case best == nil:
			slot.State, slot.Message = domain.UnitPending, "starting"
			if applyErr != nil {
				slot.State, slot.Message = domain.UnitError, applyErr.Error()
			}
			slot.Address, slot.StartedAt, slot.Release = "", time.Time{}, 0
		default:
			slot.Address, slot.StartedAt, slot.Release = best.Address, best.StartedAt, best.Release
			if host, _, err := net.SplitHostPort(best.Address); err == nil {
				slot.IP = host
			}
			switch best.State {
			case runtime.UnitRunning, runtime.UnitStopping:
				slot.State, slot.Message = domain.UnitStarted, ""
			case runtime.UnitPending:
				slot.State, slot.Message = domain.UnitPending, best.Message
			default:
				slot.State, slot.Message = domain.UnitError, best.Message
				if slot.Message == "" {
					slot.Message = string(best.State)
				}
			}
		}
	}
}

// bestUnit picks, of the units at one number, the one that tells most: a
// running one (the newest release first), then a pending one, then any.
func bestUnit(units []runtime.Unit) *runtime.Unit {
	rank := func(u runtime.Unit) int {
		switch u.State {
		case runtime.UnitRunning:
			return 3
		case runtime.UnitPending:
			return 2
		case runtime.UnitStopping:
			return 1
		}
		return 0
	}
	var best *runtime.Unit
	for i := range units {
		u := &units[i]
		if best == nil || rank(*u) > rank(*best) || (rank(*u) == rank(*best) && u.Release > best.Release) {
			best = u
		}
	}
	return best
}
