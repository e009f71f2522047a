package domain

import "slices"

// Route is how the router reaches an app: the hostnames it answers for
// (its address <app>.<domain>, what swap exchanges, and its cnames) and
// the addresses of the units that get traffic.
type Route struct {
	AppID     string   `json:"app_id"`
	App       string   `json:"app"`
	Hostnames []string `json:"hostnames"`
	Backends  []string `json:"backends,omitempty"`
}

// RoutedProc is the proc whose units get an app's traffic: web when the
// app runs one (tsuru's, Akkeris's and lain's convention), else its only
// proc; "" when there is none to choose.
func (a *App) RoutedProc() string {
	if a.Proc(WebProc) != nil {
		return WebProc
	}
	if len(a.Procs) == 1 {
		return a.Procs[0].Name
	}
	return ""
}

// Route is the app's route as its record says now: the started units of
// its routed proc that have an address. Only an app that runs units (or
// should: its units may all have crashed) has a route; the router answers
// 503 for one whose units do not answer, and 404 for a host no app has.
func (a *App) Route() (Route, bool) {
	r := Route{AppID: a.ID, App: a.Name}
	if len(a.Units) == 0 {
		return r, false
	}
	if a.IP != "" {
		r.Hostnames = append(r.Hostnames, a.IP)
	}
	r.Hostnames = append(r.Hostnames, a.CNames...)
	if len(r.Hostnames) == 0 {
		return r, false
	}
	proc := a.RoutedProc()
	for _, u := range a.Units {
		if u.Proc == proc && u.State == UnitStarted && u.Address != "" {
			r.Backends = append(r.Backends, u.Address)
		}
	}
	slices.Sort(r.Backends)
	return r, true
}

// Equal reports whether two routes send the same traffic to the same
// places.
func (r Route) Equal(o Route) bool {
	return r.AppID == o.AppID && r.App == o.App && slices.Equal(r.Hostnames, o.Hostnames) && slices.Equal(r.Backends, o.Backends)
}
