package core

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/persist"
)

// Every change to stacks goes through the stack writer of its process,
// which applies the operations of all requests waiting at that moment one
// after the other in a single transaction (group commit):
//
//   - One durable commit serves many requests. Every commit waits for the
//     disk (Badger's fsync, PostgreSQL's WAL flush), which would otherwise
//     cap leases at the disk's sync rate whatever the number of clients.
//   - Within a process, operations never race: the selection rules hold
//     exactly (the oldest available stack is the oldest, not the oldest
//     nobody else is grabbing), names are allocated in order.
//   - Across processes on one store, the transactions do the same work:
//     each batch reads the project's stack generation, so two batches of
//     different processes on one project conflict, and the one that loses
//     runs again on fresh data. No stack is ever taken twice.
//   - The writer keeps each project's stackIndex, so selection is a heap
//     lookup, not a scan. An index is derived data: it records the stack
//     generation it reflects, and each batch first compares it with the
//     stored one and reads only the stacks written since (the change log),
//     so what another process wrote is seen before anything is chosen.

// maxStackBatch bounds the operations of one transaction, far below the
// engines' transaction size limits.
const maxStackBatch = 128

// stackWriter is the queue of stack operations and the writer's state.
// Whoever finds the queue without a leader leads: it commits one batch
// that contains its own operation, then hands the lead to the oldest
// waiting operation, so no goroutine runs the writer forever and none is
// needed when the queue is idle.
type stackWriter struct {
	mu      sync.Mutex
	queue   []*stackOp
	leading bool
	// indexes by project id; only the leader of the moment touches them.
	indexes map[string]*stackIndex
}

type stackOp struct {
	ctx   context.Context
	apply func(b *stackBatch) error
	err   error
	// signal tells a waiting operation that it is done (true) or that it
	// leads now (false).
	signal chan bool
}

// writeStacks runs apply in a transaction of the stack writer. apply may
// run more than once (when the transaction is retried) and must check
// everything before it writes: a domain error fails this operation alone,
// and it must leave nothing behind; any other error fails the whole batch.
func (s *Stacks) writeStacks(ctx context.Context, apply func(b *stackBatch) error) error {
	w := &s.writer
	op := &stackOp{ctx: ctx, apply: apply, signal: make(chan bool, 1)}
	w.mu.Lock()
	w.queue = append(w.queue, op)
	lead := !w.leading
	w.leading = true
	w.mu.Unlock()
	if !lead {
		if done := <-op.signal; done {
			return op.err
		}
	}
	// This goroutine leads. Its operation is the first in the queue.
	w.mu.Lock()
	n := min(len(w.queue), maxStackBatch)
	batch := w.queue[:n]
	w.queue = append([]*stackOp(nil), w.queue[n:]...)
	w.mu.Unlock()

	s.commitStackBatch(context.WithoutCancel(ctx), batch)
	for _, o := range batch[1:] {
		o.signal <- true
	}

	w.mu.Lock()
	if len(w.queue) > 0 {
		w.queue[0].signal <- false
	} else {
		w.leading = false
	}
	w.mu.Unlock()
	return op.err
}

// commitStackBatch applies ops in one transaction and sets each one's
// error.
func (s *Stacks) commitStackBatch(ctx context.Context, ops []*stackOp) {
	w := &s.writer
	if w.indexes == nil {
		w.indexes = map[string]*stackIndex{}
	}
	// Indexes the batch changed but did not commit are rebuilt from the
	// store on next use.
	var b *stackBatch
	forgetTouched := func() {
		if b == nil {
			return
		}
		for id := range b.gens {
			delete(w.indexes, id)
		}
	}
	// A panic must not leave the waiting requests without an answer and
	// the writer without a leader: it fails this batch only.
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("stack writer panicked", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			forgetTouched()
			for _, op := range ops {
				op.err = fmt.Errorf("stack writer: panic: %v", v)
			}
		}
	}()
	errs := make([]error, len(ops))
	err := s.store.Update(ctx, func(tx persist.Tx) error {
		forgetTouched()
		b = &stackBatch{s: s, tx: tx, projects: map[string]*domain.StackProject{}, gens: map[string]*batchGen{}}
		for i, op := range ops {
			if errs[i] = op.ctx.Err(); errs[i] != nil {
				continue
			}
			errs[i] = op.apply(b)
			if errs[i] != nil && domain.KindOf(errs[i]) == domain.KindInternal {
				return errs[i]
			}
		}
		return b.saveGens()
	})
	if err != nil {
		forgetTouched()
		for i := range errs {
			errs[i] = err
		}
	} else {
		b.committed()
	}
	for i, op := range ops {
		op.err = errs[i]
	}
}

// stackBatch is one transaction of the stack writer.
type stackBatch struct {
	s  *Stacks
	tx persist.Tx
	// projects read in this transaction, by id.
	projects map[string]*domain.StackProject
	// gens are the stack generations of the projects this batch touched.
	gens map[string]*batchGen
}

// batchGen is a project's stack generation as the batch found it and as
// its writes moved it.
type batchGen struct{ found, next int64 }

// gen reads the project's stack generation once per batch.
func (b *stackBatch) gen(projectID string) (*batchGen, error) {
	if g, ok := b.gens[projectID]; ok {
		return g, nil
	}
	found, err := b.tx.StackGen(projectID)
	if err != nil {
		return nil, err
	}
	g := &batchGen{found: found, next: found}
	b.gens[projectID] = g
	return g, nil
}

// nextGen is the generation of the batch's next write to the project.
func (b *stackBatch) nextGen(projectID string) (int64, error) {
	g, err := b.gen(projectID)
	if err != nil {
		return 0, err
	}
	g.next++
	return g.next, nil
}

// saveGens records the generations the batch's writes reached.
func (b *stackBatch) saveGens() error {
	for id, g := range b.gens {
		if g.next != g.found {
			if err := b.tx.SetStackGen(id, g.next); err != nil {
				return err
			}
		}
	}
	return nil
}

// committed marks the indexes the batch used as current at the
// generations it committed.
func (b *stackBatch) committed() {
	for id, g := range b.gens {
		if ix := b.s.writer.indexes[id]; ix != nil {
			ix.gen = g.next
		}
	}
}

// project is currentProject, read once per batch.
func (b *stackBatch) project(p *domain.StackProject) (*domain.StackProject, error) {
	if cur, ok := b.projects[p.ID]; ok {
		return cur, nil
	}
	cur, err := currentProject(b.tx, p)
	if err != nil {
		return nil, err
	}
	b.projects[p.ID] = cur
	return cur, nil
}

// deleteProject deletes a project; its stacks go with the purge.
func (b *stackBatch) deleteProject(p *domain.StackProject) error {
	if err := b.tx.DeleteStackProject(p); err != nil {
		return err
	}
	delete(b.projects, p.ID)
	delete(b.s.writer.indexes, p.ID)
	delete(b.gens, p.ID)
	return nil
}

// index returns the project's stack index, current as of this transaction:
// built from the stack records the first time, and brought up to date from
// the change log when another process wrote stacks since it was used.
func (b *stackBatch) index(projectID string) (*stackIndex, error) {
	_, used := b.gens[projectID]
	g, err := b.gen(projectID)
	if err != nil {
		return nil, err
	}
	w := &b.s.writer
	ix := w.indexes[projectID]
	if used && ix != nil {
		return ix, nil
	}
	switch {
	case ix != nil && ix.gen == g.found:
	case ix != nil && ix.gen < g.found:
		err := b.tx.StacksChangedSince(projectID, ix.gen, func(n int) error {
			st, err := b.tx.Stack(projectID, n)
			switch {
			case isNotFound(err):
				ix.remove(n)
			case err != nil:
				return err
			default:
				ix.set(st)
			}
			return nil
		})
		if err != nil {
			delete(w.indexes, projectID)
			return nil, err
		}
		ix.gen = g.found
	default:
		stacks, _, err := b.tx.ListStacks(projectID, domain.Page{})
		if err != nil {
			return nil, err
		}
		ix = newStackIndex()
		for i := range stacks {
			ix.set(&stacks[i])
		}
		ix.gen = g.found
		w.indexes[projectID] = ix
	}
	return ix, nil
}

// stack loads a stack the index names; a disagreement is a bug, and the
// batch fails so that the index is rebuilt.
func (b *stackBatch) stack(projectID string, n int) (*domain.Stack, error) {
	st, err := b.tx.Stack(projectID, n)
	if isNotFound(err) {
		return nil, fmt.Errorf("stack index of project %s names stack %d, which does not exist", projectID, n)
	}
	return st, err
}

func (b *stackBatch) put(ix *stackIndex, st *domain.Stack) error {
	gen, err := b.nextGen(st.ProjectID)
	if err != nil {
		return err
	}
	if err := b.tx.PutStack(st, gen); err != nil {
		return err
	}
	ix.set(st)
	return nil
}

// expireLeases releases up to limit stacks of the project whose lease ran
// out by now.
func (b *stackBatch) expireLeases(projectID string, now time.Time, limit int) ([]domain.Stack, error) {
	ix, err := b.index(projectID)
	if err != nil {
		return nil, err
	}
	var released []domain.Stack
	for len(released) < limit {
		n, ok := ix.firstExpired(now)
		if !ok {
			break
		}
		st, err := b.stack(projectID, n)
		if err != nil {
			return nil, err
		}
		if !st.ExpireLease(now) {
			return nil, fmt.Errorf("stack index of project %s says the lease of %s ran out, the record says %+v", projectID, st.Name, st.Lease)
		}
		if err := b.put(ix, st); err != nil {
			return nil, err
		}
		released = append(released, *st)
	}
	return released, nil
}

// expireBatch bounds the expired leases one operation releases. Beyond it
// (thousands of abandoned leases at once) the sweep releases the rest.
const expireBatch = 256

// LeaseRequest asks for a stack for a branch.
type LeaseRequest struct {
	// Branch defaults to domain.DefaultStackBranch.
	Branch string
	// TTL is how long the lease lasts; 0 means Config.StackLeaseTTL.
	TTL time.Duration
	// IdempotencyKey, when set, makes a retry within
	// domain.LeaseReplayWindow answer the lease the first attempt got.
	IdempotencyKey string
}

// Lease is the answer to a stack request.
type Lease struct {
	Stack *domain.Stack
	// Replayed is set when the answer is the one an earlier request with the
	// same idempotency key got.
	Replayed bool
}

// RequestStack leases a stack of p for a branch. It takes, in this order:
// an available stack of the branch (the one modified longest ago if there
// are several), else the available stack modified longest ago, else a new
// stack named prefix + (count + 1). A lease past its expiry counts as
// available.
func (s *Stacks) RequestStack(ctx context.Context, p *domain.StackProject, r LeaseRequest) (*Lease, error) {
	if r.Branch == "" {
		r.Branch = domain.DefaultStackBranch
	} else if err := domain.ValidateBranch(r.Branch); err != nil {
		return nil, err
	}
	if err := domain.ValidateLeaseTTL(r.TTL); err != nil {
		return nil, err
	}
	if r.TTL == 0 {
		r.TTL = s.cfg.StackLeaseTTL
	}
	if r.IdempotencyKey != "" {
		if err := domain.ValidateIdempotencyKey(r.IdempotencyKey); err != nil {
			return nil, err
		}
	}
	var lease *Lease
	err := s.writeStacks(ctx, func(b *stackBatch) (err error) {
		lease, err = b.lease(p, r)
		return err
	})
	return lease, err
}

func (b *stackBatch) lease(p *domain.StackProject, r LeaseRequest) (*Lease, error) {
	proj, err := b.project(p)
	if err != nil {
		return nil, err
	}
	now := b.s.now().UTC()
	if r.IdempotencyKey != "" {
		replay, err := b.tx.LeaseReplay(proj.ID, r.IdempotencyKey, now)
		switch {
		case err == nil && now.Sub(replay.CreatedAt) < domain.LeaseReplayWindow:
			if replay.Branch != r.Branch || replay.TTL != r.TTL {
				return nil, domain.Unprocessable("idempotency key %q was used for another request (branch %q, ttl %ds)", r.IdempotencyKey, replay.Branch, int(replay.TTL/time.Second))
			}
			switch ended, err := b.replayedLeaseEnded(proj.ID, &replay.Stack, now); {
			case err != nil:
				return nil, err
			case ended != "":
				return nil, domain.Conflict("the lease made under idempotency key %q has ended: %s; request a stack under a new key", r.IdempotencyKey, ended)
			}
			return &Lease{Stack: &replay.Stack, Replayed: true}, nil
		case err != nil && !isNotFound(err):
			return nil, err
		}
	}
	if _, err := b.expireLeases(proj.ID, now, expireBatch); err != nil {
		return nil, err
	}
	ix, err := b.index(proj.ID)
	if err != nil {
		return nil, err
	}
	var st *domain.Stack
	if n := ix.pick(r.Branch); n != 0 {
		if st, err = b.stack(proj.ID, n); err != nil {
			return nil, err
		}
		if !st.Available() {
			return nil, fmt.Errorf("stack index of project %s offers %s, which is leased", proj.ID, st.Name)
		}
		st.Take(uuid.NewString(), r.Branch, now, now.Add(r.TTL))
		err = b.put(ix, st)
	} else {
		st, err = b.createStack(proj, ix, r, now)
	}
	if err != nil {
		return nil, err
	}
	if r.IdempotencyKey != "" {
		replay := &domain.LeaseReplay{Branch: r.Branch, TTL: r.TTL, Stack: *st, CreatedAt: now}
		if err := b.tx.PutLeaseReplay(proj.ID, r.IdempotencyKey, replay, now.Add(domain.LeaseReplayWindow+time.Hour)); err != nil {
			return nil, err
		}
	}
	return &Lease{Stack: st}, nil
}

// replayedLeaseEnded says why the lease a replay answers with no longer
// holds its stack (it expired, or the stack was released or deleted), or
// "" while it does. A replay must never look like a held lease to a job
// whose stack another job may hold now.
func (b *stackBatch) replayedLeaseEnded(projectID string, leased *domain.Stack, now time.Time) (string, error) {
	if leased.Lease == nil {
		return fmt.Sprintf("stack %s was not leased", leased.Name), nil
	}
	if !now.Before(leased.Lease.ExpiresAt) {
		return "it expired at " + leased.Lease.ExpiresAt.UTC().Format(time.RFC3339), nil
	}
	st, err := b.tx.Stack(projectID, leased.Number)
	switch {
	case isNotFound(err):
		return fmt.Sprintf("stack %s was deleted", leased.Name), nil
	case err != nil:
		return "", err
	case st.Lease == nil || st.Lease.ID != leased.Lease.ID:
		return fmt.Sprintf("stack %s was released", leased.Name), nil
	}
	return "", nil
}

// createStack adds the project's next stack, leased for r.
func (b *stackBatch) createStack(p *domain.StackProject, ix *stackIndex, r LeaseRequest, now time.Time) (*domain.Stack, error) {
	count, err := b.tx.StackCount(p.ID)
	if err != nil {
		return nil, err
	}
	gen, err := b.nextGen(p.ID)
	if err != nil {
		return nil, err
	}
	st := &domain.Stack{
		ProjectID:          p.ID,
		Number:             count + 1,
		Name:               p.StackName(count + 1),
		LastDeployedCommit: p.InitialCommit,
		Created:            now,
	}
	st.Take(uuid.NewString(), r.Branch, now, now.Add(r.TTL))
	// UpdateStackProject refuses prefixes that could make a name come
	// round again; the store checks anyway.
	if err := b.tx.CreateStack(st, gen); err != nil {
		return nil, err
	}
	ix.set(st)
	return st, nil
}

// SetLastDeployedCommit records what is deployed on a stack.
func (s *Stacks) SetLastDeployedCommit(ctx context.Context, p *domain.StackProject, stackName, commit string) (*domain.Stack, error) {
	if stackName == "" {
		return nil, domain.Invalid("stackName is required")
	}
	if err := domain.ValidateCommit("lastDeployedCommit", commit); err != nil {
		return nil, err
	}
	var st *domain.Stack
	err := s.writeStacks(ctx, func(b *stackBatch) (err error) {
		st, err = b.modifyStack(p, stackName, func(st *domain.Stack, now time.Time) (bool, error) {
			st.LastDeployedCommit = commit
			st.Modified = now
			return true, nil
		})
		return err
	})
	return st, err
}

// ReleaseStack makes a stack available again. Releasing an available stack
// changes nothing. With a leaseID, the stack is released only if that is
// its current lease, so a late job cannot free a stack someone else holds.
func (s *Stacks) ReleaseStack(ctx context.Context, p *domain.StackProject, stackName, leaseID string) (*domain.Stack, error) {
	if stackName == "" {
		return nil, domain.Invalid("stackName is required")
	}
	var st *domain.Stack
	err := s.writeStacks(ctx, func(b *stackBatch) (err error) {
		st, err = b.modifyStack(p, stackName, func(st *domain.Stack, now time.Time) (bool, error) {
			switch {
			case st.Available():
				return false, nil
			case leaseID != "" && leaseID != st.Lease.ID:
				return false, domain.Conflict("stack %q is held by another lease than %q", stackName, leaseID)
			}
			st.Release(now)
			return true, nil
		})
		return err
	})
	return st, err
}

// modifyStack applies change to a stack of the project, after ending a
// lease that ran out, and saves it if that or change changed it.
func (b *stackBatch) modifyStack(p *domain.StackProject, name string, change func(st *domain.Stack, now time.Time) (bool, error)) (*domain.Stack, error) {
	proj, err := b.project(p)
	if err != nil {
		return nil, err
	}
	st, err := b.tx.StackByName(proj.ID, name)
	if err != nil {
		return nil, err
	}
	now := b.s.now().UTC()
	expired := st.ExpireLease(now)
	changed, err := change(st, now)
	if err != nil {
		return nil, err
	}
	if !expired && !changed {
		return st, nil
	}
	ix, err := b.index(proj.ID)
	if err != nil {
		return nil, err
	}
	return st, b.put(ix, st)
}

// DeleteLastStack removes the project's highest-numbered stack, so that the
// next new stack takes its name again. A leased stack is removed only with
// force.
func (s *Stacks) DeleteLastStack(ctx context.Context, p *domain.StackProject, force bool) (*domain.Stack, error) {
	var st *domain.Stack
	err := s.writeStacks(ctx, func(b *stackBatch) error {
		proj, err := b.project(p)
		if err != nil {
			return err
		}
		count, err := b.tx.StackCount(proj.ID)
		if err != nil {
			return err
		}
		if count == 0 {
			return domain.NotFound("project %q has no stacks", proj.Name)
		}
		if st, err = b.tx.Stack(proj.ID, count); err != nil {
			return err
		}
		st.ExpireLease(b.s.now().UTC())
		if !st.Available() && !force {
			return domain.Conflict("stack %q is leased until %s: release it first, or delete with force", st.Name, st.Lease.ExpiresAt.Format(time.RFC3339))
		}
		ix, err := b.index(proj.ID)
		if err != nil {
			return err
		}
		gen, err := b.nextGen(proj.ID)
		if err != nil {
			return err
		}
		if err := b.tx.DeleteLastStack(st, gen); err != nil {
			return err
		}
		ix.remove(st.Number)
		return nil
	})
	return st, err
}

// ListStacks returns one page of the project's stacks ordered by number.
// Leases past their expiry show as released.
func (s *Stacks) ListStacks(ctx context.Context, p *domain.StackProject, page domain.Page) ([]domain.Stack, string, error) {
	var out []domain.Stack
	var next string
	err := s.store.View(ctx, func(tx persist.Tx) (err error) {
		out, next, err = tx.ListStacks(p.ID, page)
		return err
	})
	now := s.now().UTC()
	for i := range out {
		out[i].ExpireLease(now)
	}
	return out, next, err
}

// Stack returns one stack of the project. A lease past its expiry shows
// as released.
func (s *Stacks) Stack(ctx context.Context, p *domain.StackProject, name string) (*domain.Stack, error) {
	var st *domain.Stack
	err := s.store.View(ctx, func(tx persist.Tx) (err error) {
		st, err = tx.StackByName(p.ID, name)
		return err
	})
	if err != nil {
		return nil, err
	}
	st.ExpireLease(s.now().UTC())
	return st, nil
}

// gauges counts leased and available stacks of every project from the
// writer's indexes, each first brought up to date with the store. It runs
// as an operation of the writer, the only one that may read them.
func (s *Stacks) gauges(ctx context.Context) ([]Gauge, error) {
	var leased, available int
	err := s.writeStacks(ctx, func(b *stackBatch) error {
		leased, available = 0, 0
		projects, _, err := b.tx.ListStackProjects(persist.StackProjectFilter{All: true}, domain.Page{})
		if err != nil {
			return err
		}
		now := b.s.now().UTC()
		for _, p := range projects {
			ix, err := b.index(p.ID)
			if err != nil {
				return err
			}
			l, a := ix.counts(now)
			leased, available = leased+l, available+a
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return []Gauge{
		{Kind: "stack", State: "leased", Value: float64(leased)},
		{Kind: "stack", State: "available", Value: float64(available)},
	}, nil
}

// sweep releases every expired lease and finishes removing the stacks of
// deleted projects. It is both the background job and the stack-leases
// healer.
func (s *Stacks) sweep(ctx context.Context, fence fence) (HealerReport, error) {
	var rep HealerReport
	var projects []domain.StackProject
	var purges []string
	err := s.store.View(ctx, func(tx persist.Tx) (err error) {
		if projects, _, err = tx.ListStackProjects(persist.StackProjectFilter{All: true}, domain.Page{}); err != nil {
			return err
		}
		purges, err = tx.StackPurges()
		return err
	})
	if err != nil {
		return rep, err
	}
	for _, p := range projects {
		for {
			var released []domain.Stack
			err := s.writeStacks(ctx, func(b *stackBatch) error {
				if err := fence.check(b.tx); err != nil {
					return err
				}
				proj, err := b.project(&p)
				if err != nil {
					return err
				}
				released, err = b.expireLeases(proj.ID, b.s.now().UTC(), expireBatch)
				return err
			})
			if errors.Is(err, errBadProjectKey) {
				break // deleted since it was listed
			}
			if err != nil {
				return rep, err
			}
			for _, st := range released {
				rep.add(fmt.Sprintf("project %s: released stack %s (lease expired at %s)", p.Name, st.Name, st.Modified.Format(time.RFC3339)))
			}
			if len(released) < expireBatch {
				break
			}
		}
	}
	for _, id := range purges {
		if err := s.purgeStacks(ctx, id); err != nil {
			return rep, err
		}
		rep.add(fmt.Sprintf("removed the stacks of deleted project %s", id))
	}
	return rep, nil
}

// leaseSweepInterval is how often expired leases are released in the
// background. Requests do not wait for it: to them an expired lease is
// available already.
const leaseSweepInterval = 30 * time.Second
