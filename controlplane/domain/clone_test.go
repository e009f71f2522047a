package domain

import (
	"reflect"
	"testing"
	"time"
)

// TestAppCloneIsDeep: every field of a clone equals the original's, and no
// change to the clone reaches the original. A field added to App that
// Clone forgets to copy deeply makes the second half fail.
func TestAppCloneIsDeep(t *testing.T) {
	a := &App{
		ID: "id", Name: "web", Teams: []string{"devs"}, CNames: []string{"www.example.com"},
		Meta:        &AppMeta{Type: AppTypeApp, Procs: []ProcSpec{{Name: "web", Command: []string{"./web"}}}, UseResources: []string{"redis"}},
		Procs:       []Proc{{Name: "web", Command: []string{"./web", "-v"}}},
		Units:       []Unit{{Name: "web/0", Proc: "web", StartedAt: time.Unix(1, 0)}},
		Env:         map[string]EnvVar{"A": {Name: "A", Value: "1"}},
		Maintainers: []Maintainer{{Username: "ana", Role: RoleOwner}},
		Bindings:    []Binding{{Instance: "db", Service: "pg"}},
	}
	c := a.Clone()
	if !reflect.DeepEqual(a, c) {
		t.Fatalf("clone differs:\n%+v\n%+v", a, c)
	}
	c.Teams[0], c.CNames[0] = "x", "x"
	c.Meta.Procs[0].Command[0], c.Meta.UseResources[0] = "x", "x"
	c.Procs[0].Command[1], c.Units[0].Name = "x", "x"
	c.Env["A"] = EnvVar{Name: "A", Value: "x"}
	c.Maintainers[0].Role, c.Bindings[0].Instance = "x", "x"
	want := &App{
		ID: "id", Name: "web", Teams: []string{"devs"}, CNames: []string{"www.example.com"},
		Meta:        &AppMeta{Type: AppTypeApp, Procs: []ProcSpec{{Name: "web", Command: []string{"./web"}}}, UseResources: []string{"redis"}},
		Procs:       []Proc{{Name: "web", Command: []string{"./web", "-v"}}},
		Units:       []Unit{{Name: "web/0", Proc: "web", StartedAt: time.Unix(1, 0)}},
		Env:         map[string]EnvVar{"A": {Name: "A", Value: "1"}},
		Maintainers: []Maintainer{{Username: "ana", Role: RoleOwner}},
		Bindings:    []Binding{{Instance: "db", Service: "pg"}},
	}
	if !reflect.DeepEqual(a, want) {
		t.Fatalf("a change to the clone reached the original:\n%+v", a)
	}
}
