package runtime

import (
	"slices"
	"time"
)

// plan is the work that converges the units of one proc on a workload, in
// the order Rolling.Apply does it. It is computed from the units the driver
// reports and nothing else, so that a new process, after a crash in the
// middle of an Apply, plans the rest of the work from what it finds.
type plan struct {
	// remove: units that serve no one and are not wanted: exited, pending
	// or failed units of another revision, an exited new unit whose old
	// unit still serves (a rollout that failed), units being removed.
	// They go first, without draining.
	remove []Unit
	// restart: exited units at the workload's revision, the only ones at
	// their index: each is replaced by a fresh unit once its back-off is
	// over.
	restart []Unit
	// start: wanted indexes (Workload.UnitIndexes) that no unit serves,
	// lowest first. A
	// pending unit of the revision at such an index is the one Start
	// starts (Start is idempotent on the name).
	start []int
	// replace: indexes served by units of another revision, lowest first.
	replace []replacement
	// surplus: units at indexes that are not wanted (or without a valid
	// index), highest index first.
	surplus []Unit
}

// replacement is one step of a rolling replace: start the unit of the
// workload's revision at index (or find the one an earlier pass started),
// wait until it answers, then stop old.
type replacement struct {
	index int
	old   []Unit
}

func (p plan) empty() bool {
	return len(p.remove) == 0 && len(p.restart) == 0 && len(p.start) == 0 && len(p.replace) == 0 && len(p.surplus) == 0
}

// planFor plans the convergence of units (those of w's app and proc) on w.
func planFor(w Workload, units []Unit) plan {
	var p plan
	rev := w.Revision()
	wanted := w.UnitIndexes()
	byIndex := map[int][]Unit{}
	for _, u := range units {
		if u.AppID != w.AppID || u.Proc != w.Proc {
			continue
		}
		if _, ok := slices.BinarySearch(wanted, u.Index); !ok {
			p.surplus = append(p.surplus, u)
			continue
		}
		byIndex[u.Index] = append(byIndex[u.Index], u)
	}
	for _, i := range wanted {
		name := UnitName(w, i, rev)
		var cur *Unit
		var serving []Unit
		for _, u := range byIndex[i] {
			switch {
			case cur == nil && u.Revision == rev && u.Name == name:
				cur = &u
			case u.State == UnitRunning:
				serving = append(serving, u)
			default:
				p.remove = append(p.remove, u)
			}
		}
		switch {
		case cur == nil:
			if len(serving) > 0 {
				p.replace = append(p.replace, replacement{i, serving})
			} else {
				p.start = append(p.start, i)
			}
		case cur.State == UnitRunning || cur.State == UnitPending:
			// A running cur unit next to serving ones was started by a
			// pass that did not live to see it answer: the replace step
			// finds it, checks it, and only then stops the old ones.
			if len(serving) > 0 {
				p.replace = append(p.replace, replacement{i, serving})
			} else if cur.State == UnitPending {
				p.start = append(p.start, i)
			}
		case cur.State == UnitExited && len(serving) == 0:
			p.restart = append(p.restart, *cur)
		default:
			// Exited while old units serve (a failed rollout), failing or
			// going away: make a fresh one.
			p.remove = append(p.remove, *cur)
			if len(serving) > 0 {
				p.replace = append(p.replace, replacement{i, serving})
			} else {
				p.start = append(p.start, i)
			}
		}
	}
	slices.SortStableFunc(p.surplus, func(a, b Unit) int { return b.Index - a.Index })
	return p
}

// Backoff paces restarts. A unit that exits is restarted at once the first
// time; each further exit in a row waits twice as long as the one before,
// from Initial up to Max. A unit that stayed up ResetAfter or longer
// before it exited starts the count again.
type Backoff struct {
	Initial, Max, ResetAfter time.Duration
}

func (b Backoff) withDefaults() Backoff {
	if b.Initial <= 0 {
		b.Initial = time.Second
	}
	if b.Max <= 0 {
		b.Max = time.Minute
	}
	if b.Max < b.Initial {
		b.Max = b.Initial
	}
	if b.ResetAfter <= 0 {
		b.ResetAfter = time.Minute
	}
	return b
}

// delay is the wait before the attempt-th restart in a row (1: the first).
func (b Backoff) delay(attempt int) time.Duration {
	if attempt <= 1 {
		return 0
	}
	d := b.Initial
	for range attempt - 2 {
		d *= 2
		if d >= b.Max {
			return b.Max
		}
	}
	return min(d, b.Max)
}

// restartRecord is what Rolling remembers of the restarts at one index.
// It only paces restarts: a process that lost it restarts at once.
type restartRecord struct {
	unitID   string // the exit it was computed for
	revision string
	attempt  int
	until    time.Time
	reason   string
}

// next is the record after exited (a unit of revision that exited) was
// seen, given the one before (zero when none).
func (b Backoff) next(prev restartRecord, exited Unit, now time.Time) restartRecord {
	if prev.unitID == exited.ID {
		return prev // the same exit, seen again
	}
	attempt := prev.attempt + 1
	if prev.revision != exited.Revision {
		attempt = 1
	}
	if !exited.StartedAt.IsZero() && !exited.FinishedAt.IsZero() && exited.FinishedAt.Sub(exited.StartedAt) >= b.ResetAfter {
		attempt = 1
	}
	// Counted from the exit, not from when it was seen: a unit that
	// exited while berthd was down may be due already.
	from := exited.FinishedAt
	if from.IsZero() || from.After(now) {
		from = now
	}
	reason := exited.Message
	if reason == "" {
		reason = string(exited.State)
	}
	return restartRecord{unitID: exited.ID, revision: exited.Revision, attempt: attempt, until: from.Add(b.delay(attempt)), reason: reason}
}

// rolloutRecord is what Rolling remembers of the failed rollouts of one
// proc, so that a revision that cannot start is not retried in a loop.
type rolloutRecord struct {
	revision string
	attempt  int
	until    time.Time
	reason   string
}

func (b Backoff) nextRollout(prev rolloutRecord, revision, reason string, now time.Time) rolloutRecord {
	attempt := 1
	if prev.revision == revision {
		attempt = prev.attempt + 1
	}
	// The first retry of a failed rollout already waits: unlike a unit
	// that crashed after serving, the revision never ran.
	return rolloutRecord{revision: revision, attempt: attempt, until: now.Add(b.delay(attempt + 1)), reason: reason}
}
