package core

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
)

// TestStackIndexAgreesWithAScan drives the index and a plain list of stacks
// through the same random leases, releases, commits and deletions, and
// checks after each step that the index picks what a scan of every stack
// picks.
func TestStackIndexAgreesWithAScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ix := newStackIndex()
	stacks := map[int]*domain.Stack{}
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	branches := []string{"main", "a", "b", "c"}
	count := 0
	for step := range 5000 {
		now := base.Add(time.Duration(step) * time.Second)
		// Few distinct times, so that ties on modified are common.
		at := base.Add(time.Duration(rng.IntN(50)) * time.Second)
		switch op := rng.IntN(10); {
		case op < 2 || count == 0:
			count++
			st := &domain.Stack{Number: count, Branch: branches[rng.IntN(len(branches))], Modified: at}
			if rng.IntN(2) == 0 {
				st.Lease = &domain.StackLease{ExpiresAt: now.Add(time.Duration(rng.IntN(100)) * time.Second)}
			}
			stacks[count] = st
			ix.set(st)
		case op < 3:
			ix.remove(count)
			delete(stacks, count)
			count--
		default:
			st := *stacks[1+rng.IntN(count)]
			if st.Lease == nil {
				st.Take("lease", branches[rng.IntN(len(branches))], at, now.Add(time.Duration(rng.IntN(100))*time.Second))
			} else {
				st.Release(at)
			}
			stacks[st.Number] = &st
			ix.set(&st)
		}
		for _, branch := range branches {
			if got, want := ix.pick(branch), scanPick(stacks, branch); got != want {
				t.Fatalf("step %d: index picks %d for %q, a scan %d", step, got, branch, want)
			}
		}
		gotN, gotOK := ix.firstExpired(now)
		wantN, wantOK := scanFirstExpired(stacks, now)
		if gotN != wantN || gotOK != wantOK {
			t.Fatalf("step %d: first expired %d,%v; a scan says %d,%v", step, gotN, gotOK, wantN, wantOK)
		}
		leased, available := ix.counts(now)
		if wantLeased, wantAvailable := scanCounts(stacks, now); leased != wantLeased || available != wantAvailable {
			t.Fatalf("step %d: index counts %d leased, %d available; a scan %d, %d", step, leased, available, wantLeased, wantAvailable)
		}
	}
	if len(ix.slots) != len(stacks) {
		t.Fatalf("index holds %d stacks, there are %d", len(ix.slots), len(stacks))
	}
}

func scanPick(stacks map[int]*domain.Stack, branch string) int {
	best := func(ok func(*domain.Stack) bool) int {
		var b *domain.Stack
		for _, st := range stacks {
			if !st.Available() || !ok(st) {
				continue
			}
			if b == nil || st.Modified.Before(b.Modified) || (st.Modified.Equal(b.Modified) && st.Number < b.Number) {
				b = st
			}
		}
		if b == nil {
			return 0
		}
		return b.Number
	}
	if n := best(func(st *domain.Stack) bool { return st.Branch == branch }); n != 0 {
		return n
	}
	return best(func(*domain.Stack) bool { return true })
}

func scanFirstExpired(stacks map[int]*domain.Stack, now time.Time) (int, bool) {
	var b *domain.Stack
	for _, st := range stacks {
		if st.Lease == nil || now.Before(st.Lease.ExpiresAt) {
			continue
		}
		if b == nil || st.Lease.ExpiresAt.Before(b.Lease.ExpiresAt) || (st.Lease.ExpiresAt.Equal(b.Lease.ExpiresAt) && st.Number < b.Number) {
			b = st
		}
	}
	if b == nil {
		return 0, false
	}
	return b.Number, true
}

func scanCounts(stacks map[int]*domain.Stack, now time.Time) (leased, available int) {
	for _, st := range stacks {
		if st.Lease != nil && now.Before(st.Lease.ExpiresAt) {
			leased++
		} else {
			available++
		}
	}
	return leased, available
}
