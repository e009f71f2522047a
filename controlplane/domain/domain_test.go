package domain

import (
	"errors"
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
	if len(a.Units) != 4 || a.Units[1].State != UnitError || a.Units[2].Proc != "web" || a.Units[3].Proc != "worker" {
		t.Fatalf("units after scale: %+v", a.Units)
	}
}
