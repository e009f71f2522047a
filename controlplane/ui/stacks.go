package ui

import (
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
)

type projectRow struct {
	Name    string
	Team    string
	Prefix  string
	Created string
}

type projectsView struct {
	Projects []projectRow
	Pager    pager
}

// projectsPage lists the stack projects of the visitor's teams (every
// project for admins), as GET /projects does.
func (s *Server) projectsPage(w http.ResponseWriter, r *http.Request, v *visit) error {
	cursor, err := cursorOf(r, "cursor")
	if err != nil {
		return err
	}
	list, next, err := s.core.Stacks.ListStackProjects(r.Context(), v.id, domain.Page{After: cursor, Limit: listPerPage})
	if err != nil {
		return err
	}
	view := projectsView{Pager: pagerOf(r, "cursor", next)}
	for _, p := range list {
		view.Projects = append(view.Projects, projectRow{Name: p.Name, Team: p.Team, Prefix: p.Prefix, Created: when(p.CreatedAt)})
	}
	return s.render(w, r, v, http.StatusOK, "projects", "Stacks", view)
}

// stackRow is a stack as its project's page shows it. The lease holder is
// named by the start of its lease id: enough to tell two leases apart, not
// the id itself.
type stackRow struct {
	Name     string
	Branch   string
	Commit   string
	Leased   bool
	Holder   string
	LeasedAt time.Time
	Expires  time.Time
	Modified time.Time
}

type projectView struct {
	Project projectRow
	Stacks  []stackRow
	Pager   pager
}

// projectPage shows a project the visitor's team owns, with its stacks:
// branch, lease holder, last deployed commit and the lease's expiry.
func (s *Server) projectPage(w http.ResponseWriter, r *http.Request, v *visit) error {
	cursor, err := cursorOf(r, "cursor")
	if err != nil {
		return err
	}
	p, err := s.core.Stacks.StackProject(r.Context(), v.id, mux.Vars(r)["project"])
	if err != nil {
		return err
	}
	stacks, next, err := s.core.Stacks.ListStacks(r.Context(), p, domain.Page{After: cursor, Limit: stacksPerPage})
	if err != nil {
		return err
	}
	view := projectView{
		Project: projectRow{Name: p.Name, Team: p.Team, Prefix: p.Prefix, Created: when(p.CreatedAt)},
		Pager:   pagerOf(r, "cursor", next),
	}
	for _, st := range stacks {
		row := stackRow{Name: st.Name, Branch: st.Branch, Commit: st.LastDeployedCommit, Modified: st.Modified}
		if st.Lease != nil {
			row.Leased, row.LeasedAt, row.Expires = true, st.Lease.LeasedAt, st.Lease.ExpiresAt
			row.Holder = "lease " + clip(st.Lease.ID, 8)
		}
		view.Stacks = append(view.Stacks, row)
	}
	return s.render(w, r, v, http.StatusOK, "project", "Stacks of "+p.Name, view)
}
