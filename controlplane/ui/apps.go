package ui

import (
	"net/http"
	"net/url"
	"slices"

	"github.com/gorilla/mux"

	"github.com/berthdev/terraform-provider-berth/controlplane/core"
	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
)

// Page sizes of the console's lists. Every list pages through the area
// service with a cursor, as the API's ?cursor= does, so that a page costs
// the same with 100 apps or with 100,000.
const (
	appsPerPage     = 50
	releasesPerPage = 20
	listPerPage     = 50
	stacksPerPage   = 100
)

func (s *Server) home(w http.ResponseWriter, r *http.Request, _ *visit) error {
	http.Redirect(w, r, Prefix+"apps", http.StatusSeeOther)
	return nil
}

// pager links the next page of a list: the cursor the area service
// returned, passed back as ?cursor= (or another parameter).
type pager struct {
	Current string // this page's cursor ("" on the first page)
	First   string // the list's first page, when this is not it
	Next    string // the next page, when there is one
}

func pagerOf(r *http.Request, param, next string) pager {
	var p pager
	base := *r.URL
	q := base.Query()
	p.Current = q.Get(param)
	if p.Current != "" {
		q.Del(param)
		base.RawQuery = q.Encode()
		p.First = base.RequestURI()
	}
	if next != "" {
		q.Set(param, next)
		base.RawQuery = q.Encode()
		p.Next = base.RequestURI()
	}
	return p
}

// cursorOf reads a list's cursor parameter, bounded like any key.
func cursorOf(r *http.Request, param string) (string, error) {
	c := r.URL.Query().Get(param)
	if len(c) > 1024 {
		return "", domain.Invalid("invalid cursor: too long")
	}
	return c, nil
}

// appRow is an app as the lists show it.
type appRow struct {
	Name     string
	Type     domain.AppType
	Platform string
	Team     string
	State    string
	Units    int
	ByState  []stateCount
	// Address is the app's hostname; Link is set once a unit has started.
	Address string
	Link    string
	Release int
	// Running lists the releases the started units run when that is not
	// (only) the newest one: a rollout under way, or one that failed.
	Running []int
}

type stateCount struct {
	State string
	N     int
}

func appRowOf(a *domain.App) appRow {
	row := appRow{
		Name: a.Name, Type: a.Type, Platform: a.Platform, Team: a.TeamOwner,
		State: core.AppState(a), Units: len(a.Units), Address: a.IP, Release: a.LastRelease,
	}
	counts := map[string]int{}
	started := false
	for _, u := range a.Units {
		counts[u.State]++
		if u.State == domain.UnitStarted {
			started = true
			if u.Release != 0 && !slices.Contains(row.Running, u.Release) {
				row.Running = append(row.Running, u.Release)
			}
		}
	}
	for _, st := range []string{domain.UnitStarted, domain.UnitPending, domain.UnitError, domain.UnitStopped} {
		if counts[st] > 0 {
			row.ByState = append(row.ByState, stateCount{st, counts[st]})
		}
	}
	slices.Sort(row.Running)
	if len(row.Running) == 1 && row.Running[0] == a.LastRelease {
		row.Running = nil
	}
	if started && a.IP != "" {
		row.Link = (&url.URL{Scheme: "http", Host: a.IP, Path: "/"}).String()
	}
	return row
}

type appsView struct {
	Apps  []appRow
	Pager pager
}

// appsPage lists the apps of the visitor's teams (every app for admins),
// one page at a time, as GET /apps does.
func (s *Server) appsPage(w http.ResponseWriter, r *http.Request, v *visit) error {
	cursor, err := cursorOf(r, "cursor")
	if err != nil {
		return err
	}
	apps, next, err := s.core.Apps.List(r.Context(), v.id, "", domain.Page{After: cursor, Limit: appsPerPage})
	if err != nil {
		return err
	}
	view := appsView{Pager: pagerOf(r, "cursor", next), Apps: make([]appRow, len(apps))}
	for i := range apps {
		view.Apps[i] = appRowOf(&apps[i])
	}
	return s.render(w, r, v, http.StatusOK, "apps", "Apps", view)
}

type appView struct {
	App         appRow
	ID          string
	Owner       string
	Teams       []string
	Repository  string
	Description string
	Created     string
	Procs       []domain.Proc
	Units       []domain.Unit
	Env         []core.EnvView
	Bindings    []domain.Binding
	Coupling    *domain.Coupling
	Releases    []releaseView
	Pager       pager
}

type releaseView struct {
	Version     int
	Source      string
	Description string
	Rollout     string
	RolloutNote string
	Combined    string
	Statuses    []domain.ReleaseStatus
	Promoted    bool
	Created     string
}

func releaseViewOf(rel *domain.Release) releaseView {
	src := rel.Image
	if src == "" {
		src = "meta_version " + rel.MetaVersion
	}
	return releaseView{
		Version: rel.Version, Source: src, Description: rel.Description,
		Rollout: rel.Rollout, RolloutNote: rel.RolloutMessage, Combined: rel.CombinedState(),
		Statuses: rel.Statuses, Promoted: rel.PromotionID != "", Created: when(rel.CreatedAt),
	}
}

// appPage shows one app: its units and their live state, its config vars
// as core.Apps.Env shows them (private values masked as the API masks
// them), its releases with their statuses and rollout, and its pipeline.
func (s *Server) appPage(w http.ResponseWriter, r *http.Request, v *visit) error {
	name := mux.Vars(r)["app"]
	cursor, err := cursorOf(r, "releases")
	if err != nil {
		return err
	}
	a, err := s.core.Apps.Get(r.Context(), v.id, name)
	if err != nil {
		return err
	}
	env, err := s.core.Apps.Env(r.Context(), v.id, a.ID, nil)
	if err != nil {
		return err
	}
	releases, _, next, err := s.core.Apps.ListReleases(r.Context(), v.id, a.ID, domain.Page{After: cursor, Limit: releasesPerPage})
	if err != nil {
		return err
	}
	view := appView{
		App: appRowOf(a), ID: a.ID, Owner: a.Owner, Teams: a.Teams, Repository: a.RepositoryURL,
		Description: a.Description, Created: when(a.CreatedAt), Procs: a.Procs, Units: a.Units,
		Env: env, Bindings: a.Bindings, Pager: pagerOf(r, "releases", next),
	}
	for i := range releases {
		view.Releases = append(view.Releases, releaseViewOf(&releases[i]))
	}
	switch c, err := s.core.Pipelines.AppCoupling(r.Context(), v.id, a.ID); {
	case err == nil:
		view.Coupling = c
	case domain.KindOf(err) != domain.KindNotFound:
		return err
	}
	return s.render(w, r, v, http.StatusOK, "app", a.Name, view)
}
