package ui

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/berthdev/terraform-provider-berth/controlplane/core"
	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
)

type teamsView struct {
	Teams []domain.Team
	Pager pager
}

// teamsPage lists the visitor's teams with their members (every team for
// admins), as GET /teams does.
func (s *Server) teamsPage(w http.ResponseWriter, r *http.Request, v *visit) error {
	cursor, err := cursorOf(r, "cursor")
	if err != nil {
		return err
	}
	teams, err := s.core.Identity.ListTeams(r.Context(), v.id)
	if err != nil {
		return err
	}
	page, next, err := domain.PageSlice(teams, domain.Page{After: cursor, Limit: listPerPage}, func(t domain.Team) string { return t.Name })
	if err != nil {
		return err
	}
	return s.render(w, r, v, http.StatusOK, "teams", "Teams", teamsView{Teams: page, Pager: pagerOf(r, "cursor", next)})
}

type userRow struct {
	Email     string
	Admin     bool
	Limit     int
	InUse     int
	Available int
	Created   string
}

type usersView struct {
	Users  []userRow
	Pager  pager
	Notice string
}

// notices are the only messages a redirect may ask a page to show (by
// key, so that no link can make the console say anything else).
var notices = map[string]string{
	"quota": "The quota was changed.",
}

// usersPage lists every user with their app quota (admins).
func (s *Server) usersPage(w http.ResponseWriter, r *http.Request, v *visit) error {
	cursor, err := cursorOf(r, "cursor")
	if err != nil {
		return err
	}
	users, next, err := s.core.Identity.ListUsers(r.Context(), v.id, domain.Page{After: cursor, Limit: listPerPage})
	if err != nil {
		return err
	}
	view := usersView{Pager: pagerOf(r, "cursor", next), Notice: notices[r.URL.Query().Get("notice")]}
	for _, u := range users {
		view.Users = append(view.Users, userRow{
			Email: u.Email, Admin: u.Admin, Limit: u.QuotaLimit, InUse: u.QuotaInUse,
			Available: u.QuotaAvailable(), Created: when(u.CreatedAt),
		})
	}
	return s.render(w, r, v, http.StatusOK, "users", "Users", view)
}

// setQuota changes a user's app quota through core.Identity.SetQuota, as
// PUT /quota/{user} does.
func (s *Server) setQuota(w http.ResponseWriter, r *http.Request, v *visit) error {
	email := mux.Vars(r)["email"]
	raw := strings.TrimSpace(r.PostForm.Get("limit"))
	limit, err := strconv.Atoi(raw)
	if err != nil {
		return domain.Invalid("invalid quota limit %q: a whole number, -1 for unlimited", clip(raw, 40))
	}
	if _, err := s.core.Identity.SetQuota(r.Context(), v.id, email, limit); err != nil {
		return err
	}
	back := Prefix + "admin/users?notice=quota"
	if c := r.PostForm.Get("cursor"); c != "" && len(c) <= 1024 {
		back += "&cursor=" + url.QueryEscape(c)
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
	return nil
}

type healersView struct {
	Healers []core.Healer
}

// healersPage lists the healers an admin can run.
func (s *Server) healersPage(w http.ResponseWriter, r *http.Request, v *visit) error {
	return s.render(w, r, v, http.StatusOK, "healers", "Healers", healersView{Healers: s.core.Healers()})
}

// runHealer runs a healer now (core.RunHealer, as GET /healers/{healer})
// and shows its report.
func (s *Server) runHealer(w http.ResponseWriter, r *http.Request, v *visit) error {
	rep, err := s.core.RunHealer(r.Context(), v.id, mux.Vars(r)["healer"])
	if err != nil {
		return err
	}
	return s.render(w, r, v, http.StatusOK, "healer-run", "Healer "+rep.Healer, rep)
}
