package runtime

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

func testWorkload(instances int, image string) Workload {
	return Workload{AppID: "a1", App: "shop", Proc: "web", Release: 1, Image: image, Port: 8080, Instances: instances}
}

// unit is a unit of w at index in state st; its id tells all three.
func unit(w Workload, index int, st UnitState) Unit {
	rev := w.Revision()
	return Unit{
		ID: fmt.Sprintf("%s-%d-%s", rev[:4], index, st), Name: UnitName(w, index, rev),
		AppID: w.AppID, App: w.App, Proc: w.Proc, Index: index, Revision: rev, State: st,
	}
}

func withIndexes(w Workload, indexes ...int) Workload {
	w.Indexes, w.Instances = indexes, len(indexes)
	return w
}

func ids(units []Unit) string {
	var s []string
	for _, u := range units {
		s = append(s, u.ID)
	}
	return strings.Join(s, ",")
}

// describe renders a plan compactly for comparison.
func describe(p plan) string {
	var reps []string
	for _, r := range p.replace {
		reps = append(reps, fmt.Sprintf("%d<-[%s]", r.index, ids(r.old)))
	}
	return fmt.Sprintf("remove[%s] restart[%s] start%v replace[%s] surplus[%s]",
		ids(p.remove), ids(p.restart), p.start, strings.Join(reps, " "), ids(p.surplus))
}

func TestPlan(t *testing.T) {
	v1 := testWorkload(3, "img:1")
	v2 := testWorkload(3, "img:2")
	r1, r2 := v1.Revision()[:4], v2.Revision()[:4]
	scaled := func(w Workload, n int) Workload { w.Instances = n; return w }
	other := unit(testWorkload(1, "img:1"), 0, UnitRunning)
	other.AppID, other.ID = "a2", "theirs"

	for _, c := range []struct {
		name  string
		w     Workload
		units []Unit
		want  string
	}{
		{"nothing runs", v1, nil,
			"remove[] restart[] start[0 1 2] replace[] surplus[]"},
		{"named indexes: the proc's units are 1, 4 and 5 of the app", withIndexes(v1, 5, 1, 4), []Unit{unit(v1, 0, UnitRunning), unit(v1, 4, UnitRunning)},
			fmt.Sprintf("remove[] restart[] start[1 5] replace[] surplus[%[1]s-0-running]", r1)},
		{"converged", v1, []Unit{unit(v1, 0, UnitRunning), unit(v1, 1, UnitRunning), unit(v1, 2, UnitRunning)},
			"remove[] restart[] start[] replace[] surplus[]"},
		{"other apps are not ours", v1, []Unit{other, unit(v1, 0, UnitRunning), unit(v1, 1, UnitRunning), unit(v1, 2, UnitRunning)},
			"remove[] restart[] start[] replace[] surplus[]"},
		{"scale up starts the missing, lowest first", v1, []Unit{unit(v1, 1, UnitRunning)},
			"remove[] restart[] start[0 2] replace[] surplus[]"},
		{"scale down removes the highest first", scaled(v1, 1), []Unit{unit(v1, 0, UnitRunning), unit(v1, 1, UnitRunning), unit(v1, 2, UnitRunning)},
			fmt.Sprintf("remove[] restart[] start[] replace[] surplus[%[1]s-2-running,%[1]s-1-running]", r1)},
		{"to zero", scaled(v1, 0), []Unit{unit(v1, 0, UnitExited), unit(v1, 1, UnitRunning)},
			fmt.Sprintf("remove[] restart[] start[] replace[] surplus[%[1]s-1-running,%[1]s-0-exited]", r1)},
		{"new revision replaces each index", v2, []Unit{unit(v1, 0, UnitRunning), unit(v1, 1, UnitRunning), unit(v1, 2, UnitRunning)},
			fmt.Sprintf("remove[] restart[] start[] replace[0<-[%[1]s-0-running] 1<-[%[1]s-1-running] 2<-[%[1]s-2-running]] surplus[]", r1)},
		{"half-way through a rollout", v2, []Unit{unit(v2, 0, UnitRunning), unit(v1, 1, UnitRunning), unit(v1, 2, UnitRunning)},
			fmt.Sprintf("remove[] restart[] start[] replace[1<-[%[1]s-1-running] 2<-[%[1]s-2-running]] surplus[]", r1)},
		{"crashed before the new unit was checked: it is checked before the old stops", v2,
			[]Unit{unit(v1, 0, UnitRunning), unit(v2, 0, UnitRunning), unit(v1, 1, UnitRunning), unit(v1, 2, UnitRunning)},
			fmt.Sprintf("remove[] restart[] start[] replace[0<-[%[1]s-0-running] 1<-[%[1]s-1-running] 2<-[%[1]s-2-running]] surplus[]", r1)},
		{"crashed between create and start of the new unit", v2, []Unit{unit(v1, 0, UnitRunning), unit(v2, 0, UnitPending)},
			fmt.Sprintf("remove[] restart[] start[1 2] replace[0<-[%[1]s-0-running]] surplus[]", r1)},
		{"a failed new unit next to the old: removed, the replace retried", v2, []Unit{unit(v1, 0, UnitRunning), unit(v2, 0, UnitExited)},
			fmt.Sprintf("remove[%[2]s-0-exited] restart[] start[1 2] replace[0<-[%[1]s-0-running]] surplus[]", r1, r2)},
		{"old unit exited after the new one answered", v2, []Unit{unit(v1, 0, UnitExited), unit(v2, 0, UnitRunning)},
			fmt.Sprintf("remove[%[1]s-0-exited] restart[] start[1 2] replace[] surplus[]", r1)},
		{"exited unit of the revision is restarted", v1, []Unit{unit(v1, 0, UnitExited), unit(v1, 1, UnitRunning), unit(v1, 2, UnitRunning)},
			fmt.Sprintf("remove[] restart[%[1]s-0-exited] start[] replace[] surplus[]", r1)},
		{"exited unit of an old revision: a new one, no rollout needed", v2, []Unit{unit(v1, 0, UnitExited), unit(v2, 1, UnitRunning), unit(v2, 2, UnitRunning)},
			fmt.Sprintf("remove[%[1]s-0-exited] restart[] start[0] replace[] surplus[]", r1)},
		{"a pending unit of the revision is started", v1, []Unit{unit(v1, 0, UnitPending), unit(v1, 1, UnitRunning), unit(v1, 2, UnitRunning)},
			"remove[] restart[] start[0] replace[] surplus[]"},
		{"a failing unit is remade", v1, []Unit{unit(v1, 0, UnitError), unit(v1, 1, UnitRunning), unit(v1, 2, UnitRunning)},
			fmt.Sprintf("remove[%[1]s-0-error] restart[] start[0] replace[] surplus[]", r1)},
		{"two old revisions at one index are both replaced", v2,
			[]Unit{unit(v1, 0, UnitRunning), unit(testWorkload(3, "img:0"), 0, UnitRunning), unit(v2, 1, UnitRunning), unit(v2, 2, UnitRunning)},
			fmt.Sprintf("remove[] restart[] start[] replace[0<-[%[1]s-0-running,%[2]s-0-running]] surplus[]", r1, testWorkload(3, "img:0").Revision()[:4])},
		{"scale down and new revision together", scaled(v2, 1), []Unit{unit(v1, 0, UnitRunning), unit(v1, 1, UnitRunning), unit(v1, 2, UnitRunning)},
			fmt.Sprintf("remove[] restart[] start[] replace[0<-[%[1]s-0-running]] surplus[%[1]s-2-running,%[1]s-1-running]", r1)},
		{"scale up and new revision together", v2, []Unit{unit(v1, 0, UnitRunning)},
			fmt.Sprintf("remove[] restart[] start[1 2] replace[0<-[%[1]s-0-running]] surplus[]", r1)},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := describe(planFor(c.w, c.units)); got != c.want {
				t.Errorf("\n got %s\nwant %s", got, c.want)
			}
		})
	}
}

func TestPlanRenamedAppReplacesUnits(t *testing.T) {
	w := testWorkload(1, "img:1")
	old := unit(w, 0, UnitRunning)
	w.App = "shop2" // the revision does not change, the unit's name does
	if w.Revision() != old.Revision {
		t.Fatal("a rename changed the revision")
	}
	p := planFor(w, []Unit{old})
	if len(p.replace) != 1 || p.replace[0].old[0].ID != old.ID {
		t.Fatalf("plan = %s", describe(p))
	}
}

func TestPlanInvalidIndexIsSurplus(t *testing.T) {
	w := testWorkload(1, "img:1")
	bad := unit(w, 0, UnitRunning)
	bad.Index, bad.ID = -1, "bad"
	p := planFor(w, []Unit{bad})
	if describe(p) != "remove[] restart[] start[0] replace[] surplus[bad]" {
		t.Fatalf("plan = %s", describe(p))
	}
}

// Whatever a crash left, the units the plan keeps plus those it starts are
// exactly one per index, all at the revision.
func TestPlanAlwaysConvergesToOnePerIndex(t *testing.T) {
	v1, v2 := testWorkload(3, "img:1"), testWorkload(3, "img:2")
	states := []UnitState{UnitRunning, UnitPending, UnitExited, UnitError, UnitStopping}
	var pool []Unit
	for i := range 5 {
		for _, st := range states {
			pool = append(pool, unit(v1, i, st), unit(v2, i, st))
		}
	}
	// Random subsets, the same on every run.
	for seed := range uint64(4000) {
		rnd := rand.New(rand.NewPCG(seed, 42))
		var units []Unit
		names := map[string]bool{}
		for _, u := range pool {
			if rnd.IntN(4) == 0 && !names[u.Name] {
				names[u.Name] = true // the engine keeps names unique
				units = append(units, u)
			}
		}
		p := planFor(v2, units)
		final := map[int][]string{}
		gone := map[string]bool{}
		for _, u := range slices.Concat(p.remove, p.surplus) {
			gone[u.ID] = true
		}
		for _, rep := range p.replace {
			for _, o := range rep.old {
				gone[o.ID] = true
			}
			final[rep.index] = append(final[rep.index], "new")
		}
		for _, u := range p.restart {
			gone[u.ID] = true
			final[u.Index] = append(final[u.Index], "new")
		}
		for _, i := range p.start {
			final[i] = append(final[i], "new")
		}
		for _, u := range units {
			if gone[u.ID] {
				continue
			}
			if u.Revision != v2.Revision() || u.Index >= v2.Instances {
				t.Fatalf("seed %d: %s kept: %s", seed, u.ID, describe(p))
			}
			if u.State == UnitPending && slices.Contains(p.start, u.Index) {
				continue // Start starts it: counted above
			}
			if (u.State == UnitRunning || u.State == UnitPending) && slices.ContainsFunc(p.replace, func(r replacement) bool { return r.index == u.Index }) {
				continue // the replace step finds it: counted above
			}
			final[u.Index] = append(final[u.Index], u.ID)
		}
		for i := range v2.Instances {
			if len(final[i]) != 1 {
				t.Fatalf("seed %d: index %d ends with %v\nunits %s\nplan %s", seed, i, final[i], ids(units), describe(p))
			}
		}
	}
}

func TestBackoffDelays(t *testing.T) {
	b := Backoff{Initial: time.Second, Max: time.Minute}.withDefaults()
	var got []time.Duration
	for a := 1; a <= 10; a++ {
		got = append(got, b.delay(a))
	}
	want := []time.Duration{0, 1 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 32 * time.Second, time.Minute, time.Minute, time.Minute}
	if !slices.Equal(got, want) {
		t.Fatalf("delays %v, want %v", got, want)
	}
	if d := b.delay(1000); d != time.Minute {
		t.Fatalf("delay(1000) = %v", d)
	}
}

func TestBackoffNext(t *testing.T) {
	b := Backoff{Initial: time.Second, Max: time.Minute, ResetAfter: time.Minute}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	exit := func(id string, up time.Duration, at time.Time) Unit {
		return Unit{ID: id, Revision: "r1", State: UnitExited, Message: "exited with code 1", StartedAt: at.Add(-up), FinishedAt: at}
	}
	r := b.next(restartRecord{}, exit("c1", time.Second, t0), t0)
	if r.attempt != 1 || !r.until.Equal(t0) {
		t.Fatalf("first exit: %+v, want an immediate restart", r)
	}
	if again := b.next(r, exit("c1", time.Second, t0), t0.Add(time.Hour)); again != r {
		t.Fatalf("the same exit seen again changed the record: %+v", again)
	}
	r = b.next(r, exit("c2", time.Second, t0.Add(2*time.Second)), t0.Add(3*time.Second))
	if r.attempt != 2 || !r.until.Equal(t0.Add(3*time.Second)) {
		t.Fatalf("second exit: %+v, want 1s after the exit", r)
	}
	r = b.next(r, exit("c3", time.Second, t0.Add(10*time.Second)), t0.Add(10*time.Second))
	if r.attempt != 3 || !r.until.Equal(t0.Add(12*time.Second)) || r.reason != "exited with code 1" {
		t.Fatalf("third exit: %+v, want 2s after the exit", r)
	}
	r = b.next(r, exit("c4", 2*time.Minute, t0.Add(5*time.Minute)), t0.Add(5*time.Minute))
	if r.attempt != 1 || !r.until.Equal(t0.Add(5*time.Minute)) {
		t.Fatalf("exit after staying up: %+v, want the count reset", r)
	}
	other := exit("c5", time.Second, t0.Add(6*time.Minute))
	r.attempt = 7
	other.Revision = "r2"
	if r = b.next(r, other, t0.Add(6*time.Minute)); r.attempt != 1 {
		t.Fatalf("exit of a new revision: %+v, want the count reset", r)
	}
}

func TestBackoffRollout(t *testing.T) {
	b := Backoff{Initial: time.Second, Max: time.Minute}.withDefaults()
	now := time.Now()
	r := b.nextRollout(rolloutRecord{}, "r1", "boom", now)
	if r.attempt != 1 || r.until.Sub(now) != time.Second {
		t.Fatalf("first failure: %+v", r)
	}
	r = b.nextRollout(r, "r1", "boom", now)
	if r.attempt != 2 || r.until.Sub(now) != 2*time.Second {
		t.Fatalf("second failure: %+v", r)
	}
	if r = b.nextRollout(r, "r2", "boom", now); r.attempt != 1 {
		t.Fatalf("another revision: %+v", r)
	}
}
