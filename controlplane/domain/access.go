package domain

import "slices"

// AppScope is who may see and change an app, as a selection of apps:
// every app for admins, otherwise the apps one of Teams has access to and
// the apps Maintainer maintains (lain). Includes applies the rule to one
// app; the store answers the same selection with its indexes. Both come
// from this one definition, so a list never shows an app that a read of it
// would refuse, nor the other way round, whichever dialect asks.
type AppScope struct {
	All        bool
	Teams      []string
	Maintainer string
}

// AppScopeOf is the apps id may see and change.
func AppScopeOf(id *Identity) AppScope {
	return AppScope{All: id.IsAdmin(), Teams: id.Teams, Maintainer: id.Email()}
}

// Includes reports whether a is in the scope.
func (s AppScope) Includes(a *App) bool {
	if s.All || slices.ContainsFunc(s.Teams, a.HasTeam) {
		return true
	}
	return s.Maintainer != "" && slices.ContainsFunc(a.Maintainers, func(m Maintainer) bool { return SameEmail(m.Username, s.Maintainer) })
}

// CanAccessApp reports whether id may see and change a.
func CanAccessApp(id *Identity, a *App) bool { return MayApp(id, a, ReadApp) }

// AppAction is what a caller asks to do with an app.
type AppAction int

const (
	// ReadApp: see the app, its config, releases, procs and coupling.
	ReadApp AppAction = iota
	// ChangeApp: change its config, procs, deployment and releases.
	ChangeApp
	// DeleteApp: remove it, through any dialect.
	DeleteApp
	// ChangeAppAccess: change who has a role on it (lain's maintainers)
	// and who may use it (a resource's grants and users).
	ChangeAppAccess
)

func (a AppAction) String() string {
	return [...]string{"access", "change", "delete", "change the access to"}[a]
}

// AppSubject is whoever the rule is asked about: the caller, or another
// user whose role is looked up.
type AppSubject struct {
	Email string
	Teams []string
	Admin bool
}

// SubjectOf is the caller as an AppSubject.
func SubjectOf(id *Identity) AppSubject {
	return AppSubject{Email: id.Email(), Teams: id.Teams, Admin: id.IsAdmin()}
}

// AppRole is who's role on an app (lain's roles): the listed maintainer
// role, else admin for administrators. A member of a team with access to
// the app is a maintainer, or an owner when the app lists no owner at all
// (apps made by another dialect belong to their team). "" means no role:
// exactly the subjects AppScope leaves out.
func AppRole(a *App, who AppSubject) string {
	for _, m := range a.Maintainers {
		if SameEmail(m.Username, who.Email) {
			return m.Role
		}
	}
	if who.Admin {
		return RoleAdmin
	}
	if slices.ContainsFunc(who.Teams, a.HasTeam) {
		if a.OwnerCount() > 0 {
			return RoleMaintainer
		}
		return RoleOwner
	}
	return ""
}

// OwnerCount is how many listed maintainers are owners.
func (a *App) OwnerCount() int {
	n := 0
	for _, m := range a.Maintainers {
		if m.Role == RoleOwner {
			n++
		}
	}
	return n
}

// MayApp is who may do what with an app, the same through every dialect:
// anyone with a role reads and changes it (AppScope); deleting it and
// changing the access to it is for its owners and admins.
func MayApp(id *Identity, a *App, act AppAction) bool {
	switch act {
	case ReadApp, ChangeApp:
		return AppScopeOf(id).Includes(a)
	}
	role := AppRole(a, SubjectOf(id))
	return role == RoleOwner || role == RoleAdmin
}

// MayUseResource reports whether client may run an instance of resource:
// the resource's owners consent to its use by the teams with access to it
// and by the teams they granted it to (lain's use_resources); an admin
// may attach any.
func MayUseResource(id *Identity, resource, client *App) bool {
	if id.IsAdmin() {
		return true
	}
	return slices.ContainsFunc(client.Teams, func(t string) bool {
		return resource.HasTeam(t) || slices.Contains(resource.ResourceGrants, t)
	})
}

// MayPipeline reports whether id may see and change a pipeline, its
// couplings and its promotions: the members of its team, and admins.
func MayPipeline(id *Identity, p *Pipeline) bool { return id.IsAdmin() || id.InTeam(p.Team) }

// MayPromotion is MayPipeline for a promotion, which outlives its pipeline.
func MayPromotion(id *Identity, p *Promotion) bool { return id.IsAdmin() || id.InTeam(p.Team) }

// AdminTeam is the team the first start makes for the admin user. Things
// that must have an owning team and have no other get this one (the
// pipelines of a store from before pipelines had teams, say).
const AdminTeam = "admin"
