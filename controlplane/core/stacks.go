package core

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/store"
)

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

var (
	// errNoFreeStack ends a lease attempt that may not create a stack.
	errNoFreeStack = errors.New("no available stack")
	// errExpiredLeases ends a lease attempt that found leases to expire
	// first: they count as available.
	errExpiredLeases = errors.New("expired leases to release")
)

// stackLeasing spreads concurrent lease requests of one project over
// different stacks. Without it every request would pick the same oldest
// available stack, and all but one would lose the commit and start again.
// It is an in-process hint only: the transaction that takes a stack reads
// and writes its record, so two holders can never both commit.
type stackLeasing struct {
	mu      sync.Mutex
	claimed map[stackRef]*stackClaims
	// creating serialises the creation of stacks per project (striped by
	// project id): creations all write the project's stack counter, and
	// queueing them is cheaper than retrying conflicts.
	creating [16]sync.Mutex
}

type stackRef struct {
	project string
	number  int
}

// stackClaims are the stacks one request is trying to take.
type stackClaims struct{ refs []stackRef }

// claim marks a stack as being taken by c; false when another request is
// taking it.
func (l *stackLeasing) claim(c *stackClaims, ref stackRef) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if owner, ok := l.claimed[ref]; ok {
		return owner == c
	}
	if l.claimed == nil {
		l.claimed = map[stackRef]*stackClaims{}
	}
	l.claimed[ref] = c
	c.refs = append(c.refs, ref)
	return true
}

// unclaim drops one claim of c.
func (l *stackLeasing) unclaim(c *stackClaims, ref stackRef) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.claimed[ref] == c {
		delete(l.claimed, ref)
	}
}

// releaseAll drops every claim of c.
func (l *stackLeasing) releaseAll(c *stackClaims) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ref := range c.refs {
		if l.claimed[ref] == c {
			delete(l.claimed, ref)
		}
	}
	c.refs = nil
}

func (l *stackLeasing) creationLock(projectID string) *sync.Mutex {
	return &l.creating[crc32.ChecksumIEEE([]byte(projectID))%uint32(len(l.creating))]
}

// RequestStack leases a stack of p for a branch. It takes, in this order:
// an available stack last used by the branch, else the available stack
// modified longest ago, else a new stack named prefix + (count + 1). A lease
// past its expiry counts as available.
func (s *Service) RequestStack(ctx context.Context, p *domain.StackProject, r LeaseRequest) (*Lease, error) {
	if r.Branch == "" {
		r.Branch = domain.DefaultStackBranch
	} else if err := domain.ValidateBranch(r.Branch); err != nil {
		return nil, err
	}
	switch {
	case r.TTL == 0:
		r.TTL = s.cfg.StackLeaseTTL
	case r.TTL < time.Second || r.TTL > domain.MaxStackLeaseTTL:
		return nil, domain.Invalid("lease TTL %s is out of range: from 1s to %s", r.TTL, domain.MaxStackLeaseTTL)
	}
	if r.IdempotencyKey != "" {
		if err := domain.ValidateIdempotencyKey(r.IdempotencyKey); err != nil {
			return nil, err
		}
	}
	claims := &stackClaims{}
	defer s.leasing.releaseAll(claims)
	for expiries := 0; ; expiries++ {
		lease, err := s.lease(ctx, p, r, claims, false)
		if errors.Is(err, errNoFreeStack) {
			lease, err = s.leaseCreating(ctx, p, r, claims)
		}
		if !errors.Is(err, errExpiredLeases) {
			return lease, err
		}
		// Leases can run out while this request runs, but not over and
		// over: then the index disagrees with the stacks.
		if expiries == maxExpiryRounds {
			return nil, fmt.Errorf("project %s: leases still expired after %d rounds of release", p.Name, expiries)
		}
		if _, err := s.expireLeases(ctx, p.ID); err != nil {
			return nil, err
		}
	}
}

const maxExpiryRounds = 3

// leaseCreating is lease allowed to create a stack, one creator of the
// project at a time.
func (s *Service) leaseCreating(ctx context.Context, p *domain.StackProject, r LeaseRequest, claims *stackClaims) (*Lease, error) {
	mu := s.leasing.creationLock(p.ID)
	mu.Lock()
	defer mu.Unlock()
	return s.lease(ctx, p, r, claims, true)
}

// lease runs one lease transaction. Without mayCreate it ends with
// errNoFreeStack rather than create a stack.
func (s *Service) lease(ctx context.Context, p *domain.StackProject, r LeaseRequest, claims *stackClaims, mayCreate bool) (*Lease, error) {
	var out *Lease
	err := s.store.Update(ctx, func(tx *store.Tx) error {
		out = nil
		proj, err := currentProject(tx, p)
		if err != nil {
			return err
		}
		now := s.now().UTC()
		if r.IdempotencyKey != "" {
			replay, err := tx.LeaseReplay(p.ID, r.IdempotencyKey)
			switch {
			case err == nil && now.Sub(replay.CreatedAt) < domain.LeaseReplayWindow:
				if replay.Branch != r.Branch || replay.TTL != r.TTL {
					return domain.Unprocessable("Idempotency-Key %q was used for another request (branch %q, ttl %ds)", r.IdempotencyKey, replay.Branch, int(replay.TTL/time.Second))
				}
				out = &Lease{Stack: &replay.Stack, Replayed: true}
				return nil
			case err != nil && !isNotFound(err):
				return err
			}
		}
		st, err := s.takeFreeStack(ctx, tx, proj.ID, r.Branch, now, claims)
		if err != nil {
			return err
		}
		if st == nil {
			if !mayCreate {
				return errNoFreeStack
			}
			if st, err = newStackTx(tx, proj, now); err != nil {
				return err
			}
		}
		st.Take(uuid.NewString(), r.Branch, now, now.Add(r.TTL))
		if err := tx.PutStack(st); err != nil {
			return err
		}
		if r.IdempotencyKey != "" {
			replay := &domain.LeaseReplay{Branch: r.Branch, TTL: r.TTL, Stack: *st, CreatedAt: now}
			// Badger's TTL runs on the wall clock; the window is checked
			// against the service clock above.
			if err := tx.PutLeaseReplay(p.ID, r.IdempotencyKey, replay, domain.LeaseReplayWindow+time.Hour); err != nil {
				return err
			}
		}
		out = &Lease{Stack: st}
		return nil
	})
	return out, err
}

// takeFreeStack finds and loads an available stack for branch, by the
// selection rules, that no concurrent request of this process is taking.
// It returns nil when there is none.
//
// The candidates are found in a separate snapshot so that the index entries
// skipped on the way (stacks other requests are taking) do not join this
// transaction's reads, which would make it conflict with every one of them.
// Reading the chosen stack's record in tx is what makes taking it safe.
func (s *Service) takeFreeStack(ctx context.Context, tx *store.Tx, projectID, branch string, now time.Time, claims *stackClaims) (*domain.Stack, error) {
	tried := map[int]bool{}
	for {
		n, err := s.findFreeStack(ctx, projectID, branch, now, claims, tried)
		if err != nil || n == 0 {
			return nil, err
		}
		tried[n] = true
		st, err := tx.Stack(projectID, n)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if st.Available() {
			return st, nil
		}
		// Taken since the snapshot: look again.
		s.leasing.unclaim(claims, stackRef{projectID, n})
	}
}

// findFreeStack claims the first available stack of the branch, else the
// first available stack, in order of modification, skipping those in
// tried. It returns 0 when there is none and errExpiredLeases when some
// lease of the project has run out.
func (s *Service) findFreeStack(ctx context.Context, projectID, branch string, now time.Time, claims *stackClaims, tried map[int]bool) (int, error) {
	found := 0
	err := s.store.View(ctx, func(tx *store.Tx) error {
		expired, err := tx.ExpiredLeases(projectID, now, 1)
		if err != nil {
			return err
		}
		if len(expired) > 0 {
			return errExpiredLeases
		}
		pick := func(n int) bool {
			if !tried[n] && s.leasing.claim(claims, stackRef{projectID, n}) {
				found = n
				return false
			}
			return true
		}
		if err := tx.FreeStacks(projectID, branch, pick); err != nil || found != 0 {
			return err
		}
		return tx.FreeStacks(projectID, "", pick)
	})
	return found, err
}

// newStackTx adds the project's next stack.
func newStackTx(tx *store.Tx, p *domain.StackProject, now time.Time) (*domain.Stack, error) {
	count, err := tx.StackCount(p.ID)
	if err != nil {
		return nil, err
	}
	n := count + 1
	name := p.StackName(n)
	// UpdateStackProject refuses prefixes that could lead here; this keeps
	// names unique whatever happened before.
	if _, err := tx.StackByName(p.ID, name); err == nil {
		return nil, domain.Conflict("the next stack name %q is taken by an older stack: change the project's prefix", name)
	} else if !isNotFound(err) {
		return nil, err
	}
	if err := tx.SetStackCount(p.ID, n); err != nil {
		return nil, err
	}
	return &domain.Stack{
		ProjectID:          p.ID,
		Number:             n,
		Name:               name,
		LastDeployedCommit: p.InitialCommit,
		Created:            now,
		Modified:           now,
	}, nil
}

// SetLastDeployedCommit records what is deployed on a stack.
func (s *Service) SetLastDeployedCommit(ctx context.Context, p *domain.StackProject, stackName, commit string) (*domain.Stack, error) {
	if stackName == "" {
		return nil, domain.Invalid("stackName is required")
	}
	if err := domain.ValidateCommit("lastDeployedCommit", commit); err != nil {
		return nil, err
	}
	var st *domain.Stack
	err := s.store.Update(ctx, func(tx *store.Tx) (err error) {
		if _, err := currentProject(tx, p); err != nil {
			return err
		}
		if st, err = tx.StackByName(p.ID, stackName); err != nil {
			return err
		}
		now := s.now().UTC()
		st.ExpireLease(now)
		st.LastDeployedCommit = commit
		st.Modified = now
		return tx.PutStack(st)
	})
	return st, err
}

// ReleaseStack makes a stack available again. Releasing an available stack
// changes nothing. With a leaseID, the stack is released only if that is
// its current lease, so a late job cannot free a stack someone else holds.
func (s *Service) ReleaseStack(ctx context.Context, p *domain.StackProject, stackName, leaseID string) (*domain.Stack, error) {
	if stackName == "" {
		return nil, domain.Invalid("stackName is required")
	}
	var st *domain.Stack
	err := s.store.Update(ctx, func(tx *store.Tx) (err error) {
		if _, err := currentProject(tx, p); err != nil {
			return err
		}
		if st, err = tx.StackByName(p.ID, stackName); err != nil {
			return err
		}
		now := s.now().UTC()
		expired := st.ExpireLease(now)
		switch {
		case st.Available() && !expired:
			return nil
		case st.Available():
		case leaseID != "" && leaseID != st.Lease.ID:
			return domain.Conflict("stack %q is held by another lease than %q", stackName, leaseID)
		default:
			st.Release(now)
		}
		return tx.PutStack(st)
	})
	return st, err
}

// DeleteLastStack removes the project's highest-numbered stack, so that the
// next new stack takes its name again. A leased stack is removed only with
// force.
func (s *Service) DeleteLastStack(ctx context.Context, p *domain.StackProject, force bool) (*domain.Stack, error) {
	var st *domain.Stack
	err := s.store.Update(ctx, func(tx *store.Tx) error {
		if _, err := currentProject(tx, p); err != nil {
			return err
		}
		count, err := tx.StackCount(p.ID)
		if err != nil {
			return err
		}
		if count == 0 {
			return domain.NotFound("project %q has no stacks", p.Name)
		}
		if st, err = tx.Stack(p.ID, count); err != nil {
			return err
		}
		st.ExpireLease(s.now().UTC())
		if !st.Available() && !force {
			return domain.Conflict("stack %q is leased until %s: release it first, or delete with force", st.Name, st.Lease.ExpiresAt.Format(time.RFC3339))
		}
		if err := tx.DeleteStack(st); err != nil {
			return err
		}
		return tx.SetStackCount(p.ID, count-1)
	})
	return st, err
}

// ListStacks returns one page of the project's stacks ordered by number.
// Leases past their expiry show as released.
func (s *Service) ListStacks(ctx context.Context, p *domain.StackProject, page store.Page) ([]domain.Stack, string, error) {
	var out []domain.Stack
	var next string
	err := s.store.View(ctx, func(tx *store.Tx) (err error) {
		out, next, err = tx.ListStacks(p.ID, page)
		return err
	})
	now := s.now().UTC()
	for i := range out {
		out[i].ExpireLease(now)
	}
	return out, next, err
}

// expireBatch bounds the stacks one expiry transaction releases.
const expireBatch = 256

// expireLeases releases the stacks of a project whose lease ran out.
func (s *Service) expireLeases(ctx context.Context, projectID string) ([]domain.Stack, error) {
	var released []domain.Stack
	for {
		var batch []domain.Stack
		err := s.store.Update(ctx, func(tx *store.Tx) error {
			batch = batch[:0]
			now := s.now().UTC()
			numbers, err := tx.ExpiredLeases(projectID, now, expireBatch)
			if err != nil {
				return err
			}
			for _, n := range numbers {
				st, err := tx.Stack(projectID, n)
				if err != nil {
					return err
				}
				if st.ExpireLease(now) {
					if err := tx.PutStack(st); err != nil {
						return err
					}
					batch = append(batch, *st)
				}
			}
			return nil
		})
		if err != nil {
			return released, err
		}
		released = append(released, batch...)
		if len(batch) < expireBatch {
			return released, nil
		}
	}
}

// sweepStacks releases every expired lease and finishes removing the
// stacks of deleted projects. It is both the background sweep and the
// stack-leases healer.
func (s *Service) sweepStacks(ctx context.Context) (HealerReport, error) {
	var rep HealerReport
	var projects []domain.StackProject
	var purges []string
	err := s.store.View(ctx, func(tx *store.Tx) (err error) {
		if projects, _, err = tx.ListStackProjects(store.StackProjectFilter{All: true}, store.Page{}); err != nil {
			return err
		}
		purges, err = tx.StackPurges()
		return err
	})
	if err != nil {
		return rep, err
	}
	for _, p := range projects {
		released, err := s.expireLeases(ctx, p.ID)
		for _, st := range released {
			rep.Details = append(rep.Details, fmt.Sprintf("project %s: released stack %s (lease expired at %s)", p.Name, st.Name, st.Modified.Format(time.RFC3339)))
		}
		rep.Healed += len(released)
		if err != nil {
			return rep, err
		}
	}
	for _, id := range purges {
		if err := s.purgeStacks(ctx, id); err != nil {
			return rep, err
		}
		rep.Healed++
		rep.Details = append(rep.Details, fmt.Sprintf("removed the stacks of deleted project %s", id))
	}
	return rep, nil
}

// leaseSweepInterval is how often expired leases are released in the
// background. Requests do not wait for it: to them an expired lease is
// available already.
const leaseSweepInterval = 30 * time.Second

func init() {
	registerHealer(Healer{
		Name:        "stack-leases",
		Description: "Releases stacks whose lease expired and removes the stacks of deleted projects.",
		Run:         func(s *Service, ctx context.Context) (HealerReport, error) { return s.sweepStacks(ctx) },
	})
	backgroundTasks = append(backgroundTasks, func(s *Service, ctx context.Context) {
		t := time.NewTicker(leaseSweepInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if rep, err := s.sweepStacks(ctx); err != nil && ctx.Err() == nil {
					s.log.Warn("stack lease sweep failed", "err", err)
				} else if rep.Healed > 0 {
					s.log.Info("stack lease sweep", "healed", rep.Healed)
				}
			}
		}
	})
}
