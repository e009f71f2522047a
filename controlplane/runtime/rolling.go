package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"time"
)

// RollingOptions adjusts a Rolling. Zero values take the defaults.
type RollingOptions struct {
	// HealthTimeout bounds the wait for a new unit to accept connections
	// on its port (default 30s). A unit that exits meanwhile fails at once.
	HealthTimeout time.Duration
	// Settle is how long a unit without a port must stay running to count
	// as started (default 2s).
	Settle time.Duration
	// StopGrace is the time a stopped unit has between SIGTERM and SIGKILL
	// to finish the requests in flight (default 10s).
	StopGrace time.Duration

	// OnChange is the routing hook. Rolling calls it, with the app's id,
	// each time the set of units that should get traffic changed:
	//
	//   - after units it started answer;
	//   - in a rolling replace, after the new unit answers and the old one
	//     is reported UnitStopping by Units, and before the old one gets
	//     SIGTERM: the router re-reads Units, adds the new unit and drops
	//     the old one while both still run, so that no request reaches a
	//     unit that has stopped accepting;
	//   - after units were stopped and removed.
	//
	// Rolling then waits DrainDelay before it stops the old unit. The hook
	// should return once the router applied the change; it runs while
	// Apply holds the proc's lock, so it may call Units but not Apply or
	// Remove for the same proc. A router that missed a call loses nothing
	// but time: Units always tells the current state.
	OnChange func(ctx context.Context, appID string)
	// DrainDelay is the wait between OnChange and the stop of an old unit,
	// for routers that apply changes asynchronously (default 0: OnChange
	// returns once the change is applied). Requests already in flight on
	// the old unit are not cut by it: the unit's own SIGTERM handling and
	// StopGrace cover those.
	DrainDelay time.Duration

	// Backoff paces the restarts of units that exited, and the retries of
	// a rollout that failed (defaults: 1s doubling to 1m, reset after a
	// unit stayed up 1m).
	Backoff Backoff
	// LogLines is how many lines of a failed unit's log an error quotes,
	// when the driver is a UnitLogger (default 20).
	LogLines int
	// Logger receives what Rolling does (default: nothing).
	Logger *slog.Logger
}

func (o RollingOptions) withDefaults() RollingOptions {
	if o.HealthTimeout <= 0 {
		o.HealthTimeout = 30 * time.Second
	}
	if o.Settle <= 0 {
		o.Settle = 2 * time.Second
	}
	if o.StopGrace <= 0 {
		o.StopGrace = 10 * time.Second
	}
	if o.DrainDelay < 0 {
		o.DrainDelay = 0
	}
	if o.LogLines <= 0 {
		o.LogLines = 20
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.Backoff = o.Backoff.withDefaults()
	return o
}

// Rolling is a WorkloadDriver over a UnitDriver: it runs a proc as
// Instances units and replaces them one at a time when the revision
// changes.
//
// Apply is level-triggered: every call reads the units from the driver and
// plans from them alone (planFor), so that a Rolling that has just been
// made, after berthd died in the middle of an Apply, finishes the work
// without duplicates or orphans. What Rolling keeps in memory (back-off
// counts, which units drain) only paces restarts and informs Units, never
// decides what runs.
//
// Rolling is safe for concurrent use. Apply and Remove calls for the same
// app and proc are serialized; different procs proceed in parallel.
type Rolling struct {
	d   UnitDriver
	o   RollingOptions
	log *slog.Logger

	mu       sync.Mutex
	locks    map[procKey]chan struct{}
	restarts map[unitKey]restartRecord
	rollouts map[procKey]rolloutRecord
	draining map[string]bool // unit ids
}

type procKey struct{ appID, proc string }

type unitKey struct {
	procKey
	index int
}

var _ WorkloadDriver = (*Rolling)(nil)

// NewRolling returns a Rolling over d.
func NewRolling(d UnitDriver, o RollingOptions) *Rolling {
	o = o.withDefaults()
	return &Rolling{
		d: d, o: o, log: o.Logger,
		locks:    map[procKey]chan struct{}{},
		restarts: map[unitKey]restartRecord{},
		rollouts: map[procKey]rolloutRecord{},
		draining: map[string]bool{},
	}
}

// Name implements WorkloadDriver: the unit driver's name.
func (r *Rolling) Name() string { return r.d.Name() }

// Watch implements WorkloadDriver: the unit driver's events.
func (r *Rolling) Watch(ctx context.Context) (<-chan Event, error) { return r.d.Watch(ctx) }

// Close implements WorkloadDriver: it closes the unit driver.
func (r *Rolling) Close() error { return r.d.Close() }

// lock takes the lock of one proc, or gives up when ctx ends.
func (r *Rolling) lock(ctx context.Context, k procKey) (func(), error) {
	r.mu.Lock()
	l, ok := r.locks[k]
	if !ok {
		l = make(chan struct{}, 1)
		r.locks[k] = l
	}
	r.mu.Unlock()
	select {
	case l <- struct{}{}:
		return func() { <-l }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func validWorkload(w Workload) error {
	switch {
	case w.AppID == "" || w.App == "" || w.Proc == "":
		return errors.New("runtime: apply: a workload needs an app id, an app and a proc")
	case w.Instances < 0:
		return fmt.Errorf("runtime: apply %s/%s: %d instances", w.App, w.Proc, w.Instances)
	case len(w.Indexes) > 0 && len(w.Indexes) != w.Instances:
		return fmt.Errorf("runtime: apply %s/%s: %d instances but %d indexes", w.App, w.Proc, w.Instances, len(w.Indexes))
	case w.Instances > 0 && w.Image == "":
		return fmt.Errorf("runtime: apply %s/%s: no image", w.App, w.Proc)
	case w.Port < 0 || w.Port > 65535:
		return fmt.Errorf("runtime: apply %s/%s: invalid port %d", w.App, w.Proc, w.Port)
	}
	return nil
}

// Apply implements WorkloadDriver. It returns once the units of w run at
// w's revision and answer (nil), or on the first thing that went wrong:
//
//   - a unit it started exited or did not answer within HealthTimeout: an
//     error wrapping ErrRolloutFailed, saying which unit, why (exit code,
//     the tail of its log) — the units of the previous revision keep
//     serving, and a failed new unit that replaced nothing stays to be
//     restarted with back-off;
//   - units wait out a back-off: an error wrapping ErrBackoff (a
//     *BackoffError says until when), after everything else was done;
//   - the driver failed, or ctx ended: that error. The next Apply carries
//     on from what runs.
//
// The work is done in this order: remove units that serve no one and are
// not wanted; restart units that exited; start missing indexes, lowest
// first; replace out-of-date units one at a time (start the new unit, wait
// until it answers, OnChange, DrainDelay, stop the old one with
// StopGrace); remove surplus units, highest index first.
func (r *Rolling) Apply(ctx context.Context, w Workload) error {
	if err := validWorkload(w); err != nil {
		return err
	}
	key := procKey{w.AppID, w.Proc}
	unlock, err := r.lock(ctx, key)
	if err != nil {
		return err
	}
	defer unlock()

	units, err := r.procUnits(ctx, w.AppID, w.Proc)
	if err != nil {
		return err
	}
	p := planFor(w, units)
	if p.empty() {
		r.forgetRollout(key)
		return nil
	}
	rev := w.Revision()
	log := r.log.With("app", w.App, "proc", w.Proc, "revision", rev)

	for _, u := range p.remove {
		log.Info("rolling: removing unit", "unit", u.Name, "state", u.State)
		if err := r.d.Stop(ctx, u.ID, r.o.StopGrace); err != nil {
			return err
		}
	}

	// Restarts and missing indexes: started together, then checked.
	var fresh []Unit
	var waiting []restartRecord
	now := time.Now()
	for _, u := range p.restart {
		rec := r.restartDue(unitKey{key, u.Index}, u, now)
		if now.Before(rec.until) {
			waiting = append(waiting, rec)
			continue
		}
		log.Info("rolling: restarting unit", "unit", u.Name, "why", rec.reason, "attempt", rec.attempt)
		if err := r.d.Stop(ctx, u.ID, r.o.StopGrace); err != nil {
			return err
		}
		nu, err := r.start(ctx, w, u.Index)
		if err != nil {
			return err
		}
		fresh = append(fresh, nu)
	}
	for _, i := range p.start {
		log.Info("rolling: starting unit", "index", i)
		nu, err := r.start(ctx, w, i)
		if err != nil {
			return err
		}
		fresh = append(fresh, nu)
	}
	for _, u := range fresh {
		if err := r.waitReady(ctx, w, u); err != nil {
			r.changed(ctx, w.AppID)
			return err
		}
	}
	if len(fresh) > 0 {
		r.changed(ctx, w.AppID)
	}

	if len(p.replace) > 0 {
		if rec, ok := r.rolloutBackingOff(key, rev); ok {
			return fmt.Errorf("%w: %s; %w", ErrRolloutFailed, rec.reason,
				&BackoffError{Until: rec.until, Reason: fmt.Sprintf("%s/%s: the rollout to revision %s is not retried yet", w.App, w.Proc, rev)})
		}
	}
	for i, rep := range p.replace {
		began := time.Now()
		nu, err := r.start(ctx, w, rep.index)
		if err == nil {
			err = r.waitReady(ctx, w, nu)
		}
		if err != nil {
			if ctx.Err() == nil && errors.Is(err, ErrRolloutFailed) {
				r.failRollout(ctx, key, rev, nu, err)
			}
			return err
		}
		log.Info("rolling: new unit answers; stopping the old", "unit", nu.Name, "step", i+1, "of", len(p.replace), "took", time.Since(began).Round(time.Millisecond))
		if err := r.retire(ctx, w.AppID, rep.old); err != nil {
			return err
		}
	}
	r.forgetRollout(key)

	if len(p.surplus) > 0 {
		log.Info("rolling: removing surplus units", "count", len(p.surplus))
		if err := r.retire(ctx, w.AppID, p.surplus); err != nil {
			return err
		}
		r.mu.Lock()
		for _, u := range p.surplus {
			delete(r.restarts, unitKey{key, u.Index})
		}
		r.mu.Unlock()
	}

	if len(waiting) > 0 {
		first := slices.MinFunc(waiting, func(a, b restartRecord) int { return a.until.Compare(b.until) })
		return &BackoffError{Until: first.until, Reason: fmt.Sprintf("%s/%s: %d unit(s) waiting to restart (%s)", w.App, w.Proc, len(waiting), first.reason)}
	}
	return nil
}

// start starts unit index of w. A unit that cannot start for want of its
// image fails the rollout.
func (r *Rolling) start(ctx context.Context, w Workload, index int) (Unit, error) {
	u, err := r.d.Start(ctx, w.Spec(index))
	if errors.Is(err, ErrImageUnavailable) {
		return Unit{}, fmt.Errorf("%w: %s/%s/%d: %w", ErrRolloutFailed, w.App, w.Proc, index, err)
	}
	return u, err
}

// retire stops units that serve: they are reported stopping, the router
// is told, DrainDelay passes, then each is stopped (in order) with grace.
func (r *Rolling) retire(ctx context.Context, appID string, units []Unit) error {
	r.mu.Lock()
	for _, u := range units {
		r.draining[u.ID] = true
	}
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		for _, u := range units {
			delete(r.draining, u.ID)
		}
		r.mu.Unlock()
	}()
	r.changed(ctx, appID)
	if r.o.DrainDelay > 0 {
		if err := sleep(ctx, r.o.DrainDelay); err != nil {
			return err
		}
	}
	for _, u := range units {
		r.log.Info("rolling: stopping unit", "unit", u.Name, "grace", r.o.StopGrace)
		if err := r.d.Stop(ctx, u.ID, r.o.StopGrace); err != nil {
			return err
		}
	}
	r.changed(ctx, appID)
	return nil
}

func (r *Rolling) changed(ctx context.Context, appID string) {
	if r.o.OnChange != nil && ctx.Err() == nil {
		r.o.OnChange(ctx, appID)
	}
}

// failRollout removes the new unit of a failed replace, so that the old
// ones keep serving alone, and paces the next attempt.
func (r *Rolling) failRollout(ctx context.Context, key procKey, rev string, nu Unit, cause error) {
	if nu.ID != "" {
		if err := r.d.Stop(ctx, nu.ID, 0); err != nil {
			r.log.Warn("rolling: could not remove the failed unit; the next pass will", "unit", nu.Name, "err", err)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	reason := strings.TrimPrefix(cause.Error(), ErrRolloutFailed.Error()+": ")
	r.rollouts[key] = r.o.Backoff.nextRollout(r.rollouts[key], rev, reason, time.Now())
}

func (r *Rolling) rolloutBackingOff(key procKey, rev string) (rolloutRecord, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rec, ok := r.rollouts[key]
	return rec, ok && rec.revision == rev && time.Now().Before(rec.until)
}

func (r *Rolling) forgetRollout(key procKey) {
	r.mu.Lock()
	delete(r.rollouts, key)
	r.mu.Unlock()
}

func (r *Rolling) restartDue(k unitKey, exited Unit, now time.Time) restartRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	rec := r.o.Backoff.next(r.restarts[k], exited, now)
	r.restarts[k] = rec
	return rec
}

// waitReady waits until u answers: for a unit with a port, until its
// address accepts a connection that something holds open behind it; for
// one without, until it ran Settle. A unit that exits fails at once.
func (r *Rolling) waitReady(ctx context.Context, w Workload, u Unit) error {
	hctx, cancel := context.WithTimeout(ctx, r.o.HealthTimeout)
	defer cancel()
	fail := func(reason string) error {
		return fmt.Errorf("%w: %s/%s/%d (%s): %s", ErrRolloutFailed, w.App, w.Proc, u.Index, u.Name, reason)
	}
	interval := 25 * time.Millisecond
	answered := 0
	for {
		cur, err := r.d.Inspect(hctx, u.ID)
		switch {
		case errors.Is(err, ErrNotFound):
			return fail("the unit disappeared")
		case err != nil && ctx.Err() != nil:
			return ctx.Err()
		case err != nil && hctx.Err() != nil:
			return fail(fmt.Sprintf("did not answer within %v", r.o.HealthTimeout))
		case err != nil:
			return err
		}
		switch cur.State {
		case UnitExited, UnitError, UnitStopping:
			return fail(r.describe(ctx, cur))
		case UnitRunning:
			if w.Port == 0 {
				if !cur.StartedAt.IsZero() && time.Since(cur.StartedAt) >= r.o.Settle {
					return nil
				}
			} else if cur.Address != "" && probe(hctx, cur.Address) {
				// Twice in a row: a port proxy slow to notice that
				// nothing listens behind it passes one probe.
				if answered++; answered == 2 {
					return nil
				}
			} else {
				answered = 0
			}
		}
		if err := sleep(hctx, interval); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if w.Port == 0 {
				return fail(fmt.Sprintf("did not stay up %v within %v", r.o.Settle, r.o.HealthTimeout))
			}
			return fail(fmt.Sprintf("did not accept connections on port %d within %v", w.Port, r.o.HealthTimeout))
		}
		interval = min(2*interval, 250*time.Millisecond)
	}
}

// describe says why a unit is not running, with the end of its log when
// the driver can tell it.
func (r *Rolling) describe(ctx context.Context, u Unit) string {
	msg := u.Message
	if msg == "" {
		msg = string(u.State)
	}
	if l, ok := r.d.(UnitLogger); ok {
		lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if tail, err := l.LogTail(lctx, u.ID, r.o.LogLines); err == nil && strings.TrimSpace(tail) != "" {
			msg += "; last lines of its log:\n" + tail
		}
	}
	return msg
}

// probe tells whether something accepts connections at addr. Connecting
// is not enough: Docker's port proxy accepts on the host port whether or
// not the unit listens, and closes the connection at once when it does
// not. So a connection counts when it is still open a moment later (or
// the far end spoke first).
func probe(ctx context.Context, addr string) bool {
	dctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(dctx, "tcp", addr)
	if err != nil {
		return false
	}
	defer c.Close()
	if err := c.SetReadDeadline(time.Now().Add(200 * time.Millisecond)); err != nil {
		return false
	}
	_, err = c.Read(make([]byte, 1))
	var ne net.Error
	return err == nil || (errors.As(err, &ne) && ne.Timeout())
}

// Remove implements WorkloadDriver: it stops (with StopGrace, after
// OnChange and DrainDelay) and removes every unit of the app's proc, or of
// all its procs when proc is empty.
func (r *Rolling) Remove(ctx context.Context, appID, proc string) error {
	if appID == "" {
		return errors.New("runtime: remove: no app id")
	}
	units, err := r.list(ctx, appID)
	if err != nil {
		return err
	}
	var procs []string
	for _, u := range units {
		if (proc == "" || u.Proc == proc) && !slices.Contains(procs, u.Proc) {
			procs = append(procs, u.Proc)
		}
	}
	slices.Sort(procs)
	for _, p := range procs {
		if err := r.removeProc(ctx, procKey{appID, p}); err != nil {
			return err
		}
	}
	return nil
}

func (r *Rolling) removeProc(ctx context.Context, key procKey) error {
	unlock, err := r.lock(ctx, key)
	if err != nil {
		return err
	}
	defer unlock()
	units, err := r.procUnits(ctx, key.appID, key.proc)
	if err != nil {
		return err
	}
	if len(units) > 0 {
		slices.SortStableFunc(units, func(a, b Unit) int { return b.Index - a.Index })
		if err := r.retire(ctx, key.appID, units); err != nil {
			return err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.rollouts, key)
	for k := range r.restarts {
		if k.procKey == key {
			delete(r.restarts, k)
		}
	}
	return nil
}

// Units implements WorkloadDriver: the driver's units of the app (every
// app when appID is empty), ordered by app id, proc and index. A unit
// Rolling is retiring is reported UnitStopping; an exited unit waiting out
// its restart back-off, UnitError with a message saying so.
func (r *Rolling) Units(ctx context.Context, appID string) ([]Unit, error) {
	units, err := r.list(ctx, appID)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, u := range units {
		if r.draining[u.ID] && (u.State == UnitRunning || u.State == UnitPending) {
			units[i].State = UnitStopping
		}
		if u.State != UnitExited {
			continue
		}
		rec, ok := r.restarts[unitKey{procKey{u.AppID, u.Proc}, u.Index}]
		if ok && rec.unitID == u.ID && now.Before(rec.until) {
			units[i].State = UnitError
			units[i].Message = fmt.Sprintf("%s; restarting in %v (back-off)", rec.reason, rec.until.Sub(now).Round(time.Second))
		}
	}
	slices.SortFunc(units, compareUnits)
	return units, nil
}

// AppIDs implements WorkloadDriver.
func (r *Rolling) AppIDs(ctx context.Context) ([]string, error) {
	units, err := r.d.List(ctx)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, u := range units {
		ids = append(ids, u.AppID)
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

func (r *Rolling) list(ctx context.Context, appID string) ([]Unit, error) {
	if appID != "" {
		if l, ok := r.d.(AppLister); ok {
			return l.ListApp(ctx, appID)
		}
	}
	units, err := r.d.List(ctx)
	if err != nil {
		return nil, err
	}
	if appID != "" {
		units = slices.DeleteFunc(units, func(u Unit) bool { return u.AppID != appID })
	}
	return units, nil
}

func (r *Rolling) procUnits(ctx context.Context, appID, proc string) ([]Unit, error) {
	units, err := r.list(ctx, appID)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(units, func(u Unit) bool { return u.AppID != appID || u.Proc != proc }), nil
}

func compareUnits(a, b Unit) int {
	if c := strings.Compare(a.AppID, b.AppID); c != 0 {
		return c
	}
	if c := strings.Compare(a.Proc, b.Proc); c != 0 {
		return c
	}
	if a.Index != b.Index {
		return a.Index - b.Index
	}
	if c := strings.Compare(a.Name, b.Name); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
