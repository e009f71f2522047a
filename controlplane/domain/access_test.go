package domain

import "testing"

// TestMayApp: the app rule of every dialect. Reading and changing follow
// AppScope; deleting and changing the access need an owner's or an
// admin's role; and a role exists exactly for the subjects AppScope
// includes.
func TestMayApp(t *testing.T) {
	who := func(email string, admin bool, teams ...string) *Identity {
		return &Identity{User: &User{Email: email, Admin: admin}, Teams: teams}
	}
	lainApp := &App{Name: "lain", Teams: []string{"devs"}, Maintainers: []Maintainer{
		{Username: "kai@x.io", Role: RoleOwner}, {Username: "noa@x.io", Role: RoleMaintainer},
	}}
	tsuruApp := &App{Name: "tsuru", Teams: []string{"devs"}}
	cases := []struct {
		name    string
		id      *Identity
		app     *App
		read    bool
		delete_ bool
	}{
		{"listed owner", who("kai@x.io", false), lainApp, true, true},
		{"listed maintainer in the team", who("noa@x.io", false, "devs"), lainApp, true, false},
		{"team member of an app with owners", who("mia@x.io", false, "devs"), lainApp, true, false},
		{"team member of an app without owners", who("mia@x.io", false, "devs"), tsuruApp, true, true},
		{"admin", who("root@x.io", true), lainApp, true, true},
		{"other team", who("bo@x.io", false, "ops"), lainApp, false, false},
	}
	for _, c := range cases {
		if got := MayApp(c.id, c.app, ReadApp); got != c.read {
			t.Errorf("%s: read %v, want %v", c.name, got, c.read)
		}
		if got := MayApp(c.id, c.app, ChangeApp); got != c.read {
			t.Errorf("%s: change %v, want %v", c.name, got, c.read)
		}
		for _, act := range []AppAction{DeleteApp, ChangeAppAccess} {
			if got := MayApp(c.id, c.app, act); got != c.delete_ {
				t.Errorf("%s: %s %v, want %v", c.name, act, got, c.delete_)
			}
		}
		if hasRole := AppRole(c.app, SubjectOf(c.id)) != ""; hasRole != AppScopeOf(c.id).Includes(c.app) {
			t.Errorf("%s: has a role %v, in the scope %v", c.name, hasRole, !hasRole)
		}
	}
}
