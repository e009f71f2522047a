package domain

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestValidators(t *testing.T) {
	cases := []struct {
		name string
		err  error
		ok   bool
	}{
		{"app ok", ValidateAppName("my-app1"), true},
		{"app 40 chars", ValidateAppName("a" + strings.Repeat("b", 39)), true},
		{"app 41 chars", ValidateAppName("a" + strings.Repeat("b", 40)), false},
		{"app uppercase", ValidateAppName("MyApp"), false},
		{"app leading digit", ValidateAppName("1app"), false},
		{"app dotted", ValidateAppName("resource.redis.web"), false},
		{"env ok", ValidateEnvName("DATABASE_URL"), true},
		{"env underscore first", ValidateEnvName("_X1"), true},
		{"env digit first", ValidateEnvName("1X"), false},
		{"env dash", ValidateEnvName("A-B"), false},
		{"email ok", ValidateEmail("ana@example.com"), true},
		{"email no domain dot", ValidateEmail("ana@localhost"), false},
		{"email display name", ValidateEmail("Ana <ana@example.com>"), false},
		{"password 6", ValidatePassword("123456"), true},
		{"password 5", ValidatePassword("12345"), false},
		{"password 50 runes", ValidatePassword(strings.Repeat("é", 50)), true},
		{"password 51", ValidatePassword(strings.Repeat("x", 51)), false},
		{"team ok", ValidateTeamName("team_A-1"), true},
		{"team slash", ValidateTeamName("a/b"), false},
	}
	for _, c := range cases {
		if (c.err == nil) != c.ok {
			t.Errorf("%s: err = %v", c.name, c.err)
		}
		if c.err != nil && !errors.Is(c.err, ErrInvalid) {
			t.Errorf("%s: %v is not an invalid-input error", c.name, c.err)
		}
	}
}

func TestErrorKinds(t *testing.T) {
	err := NotFound("app %q not found", "x")
	if !errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) || KindOf(err) != KindNotFound {
		t.Fatal("kind matching broken")
	}
	if KindOf(errors.New("boom")) != KindInternal {
		t.Fatal("plain error is not internal")
	}
	d := WithDetails(KindConflict, "checks failing", []string{"ci/unit: failure", "ci/e2e: missing"})
	if !strings.Contains(d.Error(), "ci/e2e: missing") {
		t.Fatalf("details not in message: %v", d)
	}
}

func TestSyncUnitsKeepsStates(t *testing.T) {
	a := &App{Name: "web", IP: "web.berth.local", Procs: []Proc{{Name: "web", NumInstances: 2}, {Name: "worker", NumInstances: 1}}}
	a.SyncUnits()
	if len(a.Units) != 3 || a.Units[2].Name != "web/2" || a.Units[2].Proc != "worker" || a.Units[0].State != UnitStarted {
		t.Fatalf("units: %+v", a.Units)
	}
	a.Units[1].State = UnitError
	a.Procs[0].NumInstances = 3
	a.SyncUnits()
	if len(a.Units) != 4 || a.Units[1].State != UnitError || a.Units[2].Proc != "worker" || a.Units[3].Proc != "web" {
		t.Fatalf("units after scale: %+v", a.Units)
	}
}

// unitNames lists an app's units as "proc:name".
func unitNames(a *App) []string {
	var out []string
	for _, u := range a.Units {
		out = append(out, u.Proc+":"+u.Name+"@"+u.IP)
	}
	return out
}

// A unit's name (and address) does not change because another proc scaled
// or stopped: lain's worker hello/3 stays hello/3 when web grows.
func TestUnitNamesAreStablePerProc(t *testing.T) {
	a := &App{Name: "hello", IP: "10.0.0.1", Procs: []Proc{{Name: "web", NumInstances: 3}, {Name: "worker", NumInstances: 1}}}
	a.SyncUnits()
	want := []string{"web:hello/0@10.0.0.1#0", "web:hello/1@10.0.0.1#1", "web:hello/2@10.0.0.1#2", "worker:hello/3@10.0.0.1#3"}
	if got := unitNames(a); !slices.Equal(got, want) {
		t.Fatalf("units: %v, want %v", got, want)
	}
	steps := []struct {
		change func()
		want   []string
	}{
		// web grows: its new unit takes the lowest free number; the worker
		// keeps hello/3.
		{func() { a.Procs[0].NumInstances = 4 }, []string{"web:hello/0@10.0.0.1#0", "web:hello/1@10.0.0.1#1", "web:hello/2@10.0.0.1#2", "worker:hello/3@10.0.0.1#3", "web:hello/4@10.0.0.1#4"}},
		// web shrinks: its highest-numbered units go.
		{func() { a.Procs[0].NumInstances = 2 }, []string{"web:hello/0@10.0.0.1#0", "web:hello/1@10.0.0.1#1", "worker:hello/3@10.0.0.1#3"}},
		// the worker grows into the numbers web left.
		{func() { a.Procs[1].NumInstances = 3 }, []string{"web:hello/0@10.0.0.1#0", "web:hello/1@10.0.0.1#1", "worker:hello/2@10.0.0.1#2", "worker:hello/3@10.0.0.1#3", "worker:hello/4@10.0.0.1#4"}},
		// web stops: the worker's units keep their names.
		{func() { a.Procs = a.Procs[1:] }, []string{"worker:hello/2@10.0.0.1#2", "worker:hello/3@10.0.0.1#3", "worker:hello/4@10.0.0.1#4"}},
		// web starts again in the free numbers.
		{func() { a.Procs = append(a.Procs, Proc{Name: "web", NumInstances: 3}) }, []string{"web:hello/0@10.0.0.1#0", "web:hello/1@10.0.0.1#1", "worker:hello/2@10.0.0.1#2", "worker:hello/3@10.0.0.1#3", "worker:hello/4@10.0.0.1#4", "web:hello/5@10.0.0.1#5"}},
	}
	for i, s := range steps {
		s.change()
		a.SyncUnits()
		if got := unitNames(a); !slices.Equal(got, s.want) {
			t.Fatalf("step %d: units %v, want %v", i, got, s.want)
		}
	}
	// A new address (a swap) keeps each unit's number in its address.
	a.IP = "10.0.0.9"
	a.RefreshUnitIPs()
	if a.Units[2].Name != "hello/2" || a.Units[2].IP != "10.0.0.9#2" {
		t.Fatalf("after a new address: %v", unitNames(a))
	}
}
