package core

import (
	"container/heap"
	"time"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
)

// stackIndex mirrors one project's stacks in memory for the selection
// rules: available stacks by age (modification time), overall and per
// branch, and leased stacks by expiry. It is built from the stack records
// and changed only by the stack writer, next to every record it writes,
// and it records the stack generation it reflects, so that the writer
// brings it up to date with what other processes wrote before using it.
type stackIndex struct {
	// gen is the project's stack generation the index reflects.
	gen      int64
	slots    map[int]*stackSlot
	free     *slotHeap
	byBranch map[string]*slotHeap
	leased   *slotHeap
}

// stackSlot is a stack as the index sees it.
type stackSlot struct {
	number   int
	branch   string
	modified time.Time
	// expires is when the lease ends; zero for an available stack.
	expires time.Time
	// Positions in the heaps, -1 when absent.
	freePos, branchPos, leasedPos int
}

func newStackIndex() *stackIndex {
	return &stackIndex{
		slots:    map[int]*stackSlot{},
		free:     newSlotHeap(olderFirst, func(s *stackSlot) *int { return &s.freePos }),
		byBranch: map[string]*slotHeap{},
		leased:   newSlotHeap(expiresFirst, func(s *stackSlot) *int { return &s.leasedPos }),
	}
}

func olderFirst(a, b *stackSlot) bool {
	if !a.modified.Equal(b.modified) {
		return a.modified.Before(b.modified)
	}
	return a.number < b.number
}

func expiresFirst(a, b *stackSlot) bool {
	if !a.expires.Equal(b.expires) {
		return a.expires.Before(b.expires)
	}
	return a.number < b.number
}

// set records the state of a stack.
func (ix *stackIndex) set(st *domain.Stack) {
	ix.remove(st.Number)
	s := &stackSlot{number: st.Number, branch: st.Branch, modified: st.Modified, freePos: -1, branchPos: -1, leasedPos: -1}
	ix.slots[st.Number] = s
	if st.Lease != nil {
		s.expires = st.Lease.ExpiresAt
		heap.Push(ix.leased, s)
		return
	}
	heap.Push(ix.free, s)
	h := ix.byBranch[s.branch]
	if h == nil {
		h = newSlotHeap(olderFirst, func(s *stackSlot) *int { return &s.branchPos })
		ix.byBranch[s.branch] = h
	}
	heap.Push(h, s)
}

// remove forgets stack number n.
func (ix *stackIndex) remove(n int) {
	s := ix.slots[n]
	if s == nil {
		return
	}
	delete(ix.slots, n)
	ix.free.remove(s)
	ix.leased.remove(s)
	if h := ix.byBranch[s.branch]; h != nil {
		h.remove(s)
		if h.Len() == 0 {
			delete(ix.byBranch, s.branch)
		}
	}
}

// pick applies the selection rules: the available stack of branch modified
// longest ago, else the available stack modified longest ago. It returns 0
// when no stack is available.
func (ix *stackIndex) pick(branch string) int {
	if h := ix.byBranch[branch]; h != nil && h.Len() > 0 {
		return h.slots[0].number
	}
	if ix.free.Len() > 0 {
		return ix.free.slots[0].number
	}
	return 0
}

// firstExpired returns the leased stack whose lease ran out first, if it
// ran out by now.
func (ix *stackIndex) firstExpired(now time.Time) (int, bool) {
	if ix.leased.Len() == 0 || now.Before(ix.leased.slots[0].expires) {
		return 0, false
	}
	return ix.leased.slots[0].number, true
}

// counts returns how many of the project's stacks are leased and how many
// are available at now. A lease past its expiry counts as available, as
// requests see it; only those leases are visited, not every stack.
func (ix *stackIndex) counts(now time.Time) (leased, available int) {
	expired := ix.leased.countTop(func(s *stackSlot) bool { return !now.Before(s.expires) })
	return ix.leased.Len() - expired, ix.free.Len() + expired
}

// slotHeap is a binary heap of slots that keeps each slot's position, so
// that any slot can leave it in O(log n).
type slotHeap struct {
	slots []*stackSlot
	less  func(a, b *stackSlot) bool
	pos   func(s *stackSlot) *int
}

func newSlotHeap(less func(a, b *stackSlot) bool, pos func(s *stackSlot) *int) *slotHeap {
	return &slotHeap{less: less, pos: pos}
}

func (h *slotHeap) Len() int           { return len(h.slots) }
func (h *slotHeap) Less(i, j int) bool { return h.less(h.slots[i], h.slots[j]) }

func (h *slotHeap) Swap(i, j int) {
	h.slots[i], h.slots[j] = h.slots[j], h.slots[i]
	*h.pos(h.slots[i]) = i
	*h.pos(h.slots[j]) = j
}

func (h *slotHeap) Push(x any) {
	s := x.(*stackSlot)
	*h.pos(s) = len(h.slots)
	h.slots = append(h.slots, s)
}

func (h *slotHeap) Pop() any {
	last := len(h.slots) - 1
	s := h.slots[last]
	h.slots[last] = nil
	h.slots = h.slots[:last]
	*h.pos(s) = -1
	return s
}

// countTop counts the slots for which top holds, where top holding of a
// slot implies it holds of the slot's parent (as "comes before t" does in
// the heap's order). It visits only those slots and their children.
func (h *slotHeap) countTop(top func(*stackSlot) bool) int {
	n := 0
	pending := []int{0}
	for len(pending) > 0 {
		i := pending[len(pending)-1]
		pending = pending[:len(pending)-1]
		if i >= len(h.slots) || !top(h.slots[i]) {
			continue
		}
		n++
		pending = append(pending, 2*i+1, 2*i+2)
	}
	return n
}

func (h *slotHeap) remove(s *stackSlot) {
	if i := *h.pos(s); i >= 0 {
		heap.Remove(h, i)
	}
}
