package core

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/persist"
)

// The scheduler runs berth's background work (lease expiry, promotions and
// their deadlines, clean-up) in one process at a time, however many berthd
// processes share the store: the one that holds a lease kept in the store.
// The holder renews it well before it expires; when the holder dies, the
// lease runs out and another process takes it within leaseTTL plus a retry
// period. Each takeover moves a fencing token, and the jobs' transactions
// check it (fence.check), so a process that lost the lease without knowing
// it (paused, cut off) cannot write as if it still held it.
//
// The lease's times are wall-clock times shared by the processes, so their
// clocks must agree to well within leaseTTL (NTP does that).

const (
	schedulerLease = "scheduler"
	leaseTTL       = 10 * time.Second
	leaseRenew     = leaseTTL / 3
	leaseRetry     = 2 * time.Second
)

var errLostLease = errors.New("this process no longer holds the scheduler's lease")

// fence is the proof a job carries that its process holds the lease. The
// zero fence (work an admin asked for, not the scheduler) checks nothing.
type fence struct {
	holder string
	token  int64
}

func (f fence) check(tx persist.Tx) error {
	if f.token == 0 {
		return nil
	}
	l, err := tx.SchedulerLease(schedulerLease)
	if err != nil {
		return err
	}
	if l == nil || l.Holder != f.holder || l.Token != f.token {
		return errLostLease
	}
	return nil
}

// job is one piece of background work. run returns when ctx ends.
type job struct {
	name string
	run  func(ctx context.Context, f fence)
}

// every makes a job of f that runs at once, then at each interval.
func every(log interface {
	Warn(msg string, args ...any)
}, name string, interval time.Duration, f func(ctx context.Context, fence fence) error) job {
	return job{name: name, run: func(ctx context.Context, fn fence) {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			if err := f(ctx, fn); err != nil && ctx.Err() == nil && !errors.Is(err, errLostLease) {
				log.Warn("background job failed; it runs again later", "job", name, "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}}
}

// Scheduler holds the lease and runs the jobs while it does.
type Scheduler struct {
	deps
	holder string
	jobs   []job
	once   sync.Once
	wg     sync.WaitGroup
	// leading reports whether this process holds the lease now (tests).
	mu      sync.Mutex
	leading bool
}

func newScheduler(d deps, holder string, jobs []job) *Scheduler {
	if holder == "" {
		holder = randomToken(12)
	}
	// A holder is named after the engine's incarnation, when the engine has
	// one, so that a lease left by a process that has exited is taken over
	// at once rather than when it runs out.
	if inc := d.store.Incarnation(); inc != "" {
		holder = inc + "/" + holder
	}
	return &Scheduler{deps: d, holder: holder, jobs: jobs}
}

// heldByExitedProcess reports whether l was taken under another incarnation
// of an engine that has one: by a process that has exited.
func (s *Scheduler) heldByExitedProcess(l *persist.SchedulerLease) bool {
	inc := s.store.Incarnation()
	return inc != "" && !strings.HasPrefix(l.Holder, inc+"/")
}

// Leading reports whether this process runs the background work now.
func (c *Core) Leading() bool {
	c.scheduler.mu.Lock()
	defer c.scheduler.mu.Unlock()
	return c.scheduler.leading
}

func (s *Scheduler) start(ctx context.Context) {
	s.once.Do(func() {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.loop(ctx)
		}()
	})
}

func (s *Scheduler) wait() { s.wg.Wait() }

func (s *Scheduler) loop(ctx context.Context) {
	defer s.resign()
	for ctx.Err() == nil {
		token, err := s.acquire(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("scheduler: cannot read or take the lease; trying again", "err", err)
		}
		if token != 0 {
			s.lead(ctx, fence{holder: s.holder, token: token})
		}
		select {
		case <-ctx.Done():
		case <-time.After(leaseRetry):
		}
	}
}

// acquire takes or renews the lease and returns its token, or 0 when
// another live process holds it.
func (s *Scheduler) acquire(ctx context.Context) (int64, error) {
	var token int64
	err := s.store.Update(ctx, func(tx persist.Tx) error {
		token = 0
		now := time.Now()
		l, err := tx.SchedulerLease(schedulerLease)
		if err != nil {
			return err
		}
		switch {
		case l == nil:
			l = &persist.SchedulerLease{Holder: s.holder, Token: 1}
		case l.Holder == s.holder && now.Before(l.ExpiresAt):
		case now.Before(l.ExpiresAt) && !s.heldByExitedProcess(l):
			return nil
		default:
			l = &persist.SchedulerLease{Holder: s.holder, Token: l.Token + 1}
		}
		l.ExpiresAt = now.Add(leaseTTL)
		token = l.Token
		return tx.PutSchedulerLease(schedulerLease, l)
	})
	return token, err
}

// lead runs the jobs while the lease with token is this process's, and
// stops them when it is not any more.
func (s *Scheduler) lead(ctx context.Context, f fence) {
	s.log.Info("scheduler: this process runs the background work", "holder", s.holder, "token", f.token)
	s.setLeading(true)
	defer s.setLeading(false)
	jobCtx, stop := context.WithCancel(ctx)
	var jobs sync.WaitGroup
	for _, j := range s.jobs {
		jobs.Add(1)
		go func() {
			defer jobs.Done()
			j.run(jobCtx, f)
		}()
	}
	defer func() {
		stop()
		jobs.Wait()
	}()
	t := time.NewTicker(leaseRenew)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		token, err := s.acquire(ctx)
		if err == nil && token == f.token {
			continue
		}
		if ctx.Err() == nil {
			s.log.Warn("scheduler: lost the lease; stopping the background work", "err", err)
		}
		return
	}
}

func (s *Scheduler) setLeading(v bool) {
	s.mu.Lock()
	s.leading = v
	s.mu.Unlock()
}

// resign gives the lease up at shutdown, so that another process takes
// over at once instead of when it runs out.
func (s *Scheduler) resign() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := s.store.Update(ctx, func(tx persist.Tx) error {
		l, err := tx.SchedulerLease(schedulerLease)
		if err != nil || l == nil || l.Holder != s.holder {
			return err
		}
		l.ExpiresAt = time.Time{}
		return tx.PutSchedulerLease(schedulerLease, l)
	})
	if err != nil && domain.KindOf(err) != domain.KindUnavailable {
		s.log.Warn("scheduler: could not give the lease up; it runs out by itself", "err", err)
	}
}

// jobs is the background work, in one list.
func (c *Core) jobs() []job {
	return []job{
		{name: "promotions", run: c.Pipelines.runPromotions},
		{name: "reconciler", run: c.reconciler.run},
		every(c.log, "stack-leases", leaseSweepInterval, func(ctx context.Context, f fence) error {
			_, err := c.Stacks.sweep(ctx, f)
			return err
		}),
		every(c.log, "promotion-deadlines", time.Minute, func(ctx context.Context, f fence) error {
			_, err := c.Pipelines.healPromotions(ctx, f)
			return err
		}),
		every(c.log, "expired-records", time.Minute, c.sweepExpired),
		every(c.log, "value-log-gc", c.cfg.GCInterval, func(context.Context, fence) error { return c.store.CollectGarbage() }),
	}
}

// sweepBatch bounds the expired records one transaction deletes.
const sweepBatch = 1000

// sweepExpired deletes records whose expiry passed (revoked sessions, lease
// replays, busy marks). Readers ignore them already; this reclaims space.
func (c *Core) sweepExpired(ctx context.Context, f fence) error {
	for {
		var n int
		err := c.store.Update(ctx, func(tx persist.Tx) (err error) {
			if err := f.check(tx); err != nil {
				return err
			}
			n, err = tx.SweepExpired(c.now(), sweepBatch)
			return err
		})
		if err != nil || n < sweepBatch {
			return err
		}
	}
}
