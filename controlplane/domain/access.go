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
func CanAccessApp(id *Identity, a *App) bool { return AppScopeOf(id).Includes(a) }
