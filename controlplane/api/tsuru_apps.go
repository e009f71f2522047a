package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/berthdev/terraform-provider-berth/controlplane/core"
	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
)

// tsuru sections 1.1 Apps (with env and swap), 1.4 Quotas, 1.5 Healers and
// 1.6 Platforms. The app routes take an app name, dotted lain names
// included, or its id.
func (s *Server) tsuruAppRoutes() {
	s.handle(http.MethodGet, "/apps", AuthUser, s.listTsuruApps)
	s.handle(http.MethodPost, "/apps", AuthUser, s.createTsuruApp)
	s.handle(http.MethodGet, "/apps/{app}", AuthUser, s.getTsuruApp)
	s.handle(http.MethodDelete, "/apps/{app}", AuthUser, s.deleteTsuruApp)
	s.handle(http.MethodGet, "/apps/{app}/restart", AuthUser, s.restartTsuruApp)
	s.handle(http.MethodGet, "/apps/{app}/env", AuthUser, s.getEnv)
	s.handle(http.MethodPost, "/apps/{app}/env", AuthUser, s.setEnv)
	s.handle(http.MethodDelete, "/apps/{app}/env", AuthUser, s.unsetEnv)
	s.handle(http.MethodPut, "/swap", AuthUser, s.swap)

	s.handle(http.MethodGet, "/quota/{user}", AuthUser, s.getQuota)
	s.handle(http.MethodPut, "/quota/{user}", AuthUser, s.setQuota)
	s.handle(http.MethodGet, "/healers", AuthUser, s.listHealers)
	s.handle(http.MethodGet, "/healers/{healer}", AuthUser, s.runHealer)
	s.handle(http.MethodGet, "/platforms", AuthUser, s.listPlatforms)
}

// tsuruApp is an app in tsuru's wire format.
type tsuruApp struct {
	ID         string      `json:"Id"`
	Name       string      `json:"Name"`
	Framework  string      `json:"Framework"`
	Repository string      `json:"Repository"`
	IP         string      `json:"Ip"`
	CName      []string    `json:"CName"`
	State      string      `json:"State"`
	Units      []tsuruUnit `json:"Units"`
	Teams      []string    `json:"Teams"`
	TeamOwner  string      `json:"TeamOwner"`
	Owner      string      `json:"Owner"`
	// RestartedAt is when the app was last restarted; absent if never.
	RestartedAt *time.Time `json:"RestartedAt,omitempty"`
}

// tsuruUnit is a unit in tsuru's shape; Proc, Address, StartedAt, Release
// and Message are berth's, set when a runtime runs the unit.
type tsuruUnit struct {
	Name      string     `json:"Name"`
	IP        string     `json:"Ip"`
	State     string     `json:"State"`
	Proc      string     `json:"ProcessName,omitempty"`
	Address   string     `json:"Address,omitempty"`
	StartedAt *time.Time `json:"StartedAt,omitempty"`
	Release   int        `json:"Release,omitempty"`
	Message   string     `json:"Message,omitempty"`
}

func toTsuruApp(a *domain.App) tsuruApp {
	out := tsuruApp{
		ID:         a.ID,
		Name:       a.Name,
		Framework:  a.Platform,
		Repository: a.RepositoryURL,
		IP:         a.IP,
		CName:      nonNil(a.CNames),
		State:      core.AppState(a),
		Units:      make([]tsuruUnit, 0, len(a.Units)),
		Teams:      nonNil(a.Teams),
		TeamOwner:  a.TeamOwner,
		Owner:      a.Owner,
	}
	for _, u := range a.Units {
		tu := tsuruUnit{Name: u.Name, IP: u.IP, State: u.State, Proc: u.Proc, Address: u.Address, Release: u.Release, Message: u.Message}
		if !u.StartedAt.IsZero() {
			t := u.StartedAt.UTC()
			tu.StartedAt = &t
		}
		out.Units = append(out.Units, tu)
	}
	if !a.RestartedAt.IsZero() {
		t := a.RestartedAt.UTC()
		out.RestartedAt = &t
	}
	return out
}

func (s *Server) listTsuruApps(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	apps, next, err := s.core.Apps.List(r.Context(), identity(r), "", p)
	if err != nil {
		return err
	}
	out := make([]tsuruApp, 0, len(apps))
	for i := range apps {
		out = append(out, toTsuruApp(&apps[i]))
	}
	setNextCursor(w, next)
	writeJSON(w, http.StatusOK, out)
	return nil
}

type createTsuruAppRequest struct {
	Name      string `json:"name"`
	Platform  string `json:"platform"`
	TeamOwner string `json:"teamOwner"`
}

type createTsuruAppResponse struct {
	Status        string `json:"status"`
	RepositoryURL string `json:"repository_url"`
	IP            string `json:"ip"`
}

func (s *Server) createTsuruApp(w http.ResponseWriter, r *http.Request) error {
	var req createTsuruAppRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.Platform == "" {
		return domain.Invalid("platform is required: one of %v", s.core.Apps.Platforms())
	}
	a, err := s.core.Apps.Create(r.Context(), identity(r), core.NewApp{Name: req.Name, Platform: req.Platform, TeamOwner: req.TeamOwner})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, createTsuruAppResponse{Status: "success", RepositoryURL: a.RepositoryURL, IP: a.IP})
	return nil
}

func (s *Server) getTsuruApp(w http.ResponseWriter, r *http.Request) error {
	a, err := s.core.Apps.Get(r.Context(), identity(r), mux.Vars(r)["app"])
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toTsuruApp(a))
	return nil
}

func (s *Server) deleteTsuruApp(w http.ResponseWriter, r *http.Request) error {
	if err := s.core.Apps.Delete(r.Context(), identity(r), mux.Vars(r)["app"]); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) restartTsuruApp(w http.ResponseWriter, r *http.Request) error {
	a, err := s.core.Apps.Restart(r.Context(), identity(r), mux.Vars(r)["app"])
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toTsuruApp(a))
	return nil
}

// envVar is a config var on the wire. Instance and Service name the binding
// that exported it, if one did; Digest (berth's) is on private vars only.
type envVar struct {
	Name     string `json:"name"`
	Value    string `json:"value"`
	Public   bool   `json:"public"`
	Instance string `json:"instance,omitempty"`
	Service  string `json:"service,omitempty"`
	Digest   string `json:"digest,omitempty"`
}

func toEnvVars(vars []core.EnvView) []envVar {
	out := make([]envVar, 0, len(vars))
	for _, v := range vars {
		out = append(out, envVar{Name: v.Name, Value: v.Value, Public: v.Public, Instance: v.Instance, Service: v.Service, Digest: v.Digest})
	}
	return out
}

func (s *Server) getEnv(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	vars, err := s.core.Apps.Env(r.Context(), identity(r), mux.Vars(r)["app"], r.URL.Query()["env"])
	if err != nil {
		return err
	}
	page, next, err := pageSlice(vars, p, func(v core.EnvView) string { return v.Name })
	if err != nil {
		return err
	}
	setNextCursor(w, next)
	writeJSON(w, http.StatusOK, toEnvVars(page))
	return nil
}

// setEnvItem is one var to set; public defaults to true, as tsuru's env-set.
type setEnvItem struct {
	Name   string `json:"name"`
	Value  string `json:"value"`
	Public *bool  `json:"public"`
}

// setEnv takes either the list GET answers ([{"name","value","public"}]) or
// tsuru's original object of names to values (all public).
func (s *Server) setEnv(w http.ResponseWriter, r *http.Request) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	body = bytes.TrimSpace(body)
	var vars []domain.EnvVar
	switch {
	case len(body) == 0:
		return domain.Invalid("request body is empty: expected [{\"name\": ..., \"value\": ..., \"public\": ...}] or {\"NAME\": \"value\"}")
	case body[0] == '[':
		var items []setEnvItem
		if err := json.Unmarshal(body, &items); err != nil {
			return jsonBodyError(body, err)
		}
		for _, it := range items {
			vars = append(vars, domain.EnvVar{Name: it.Name, Value: it.Value, Public: it.Public == nil || *it.Public})
		}
	case body[0] == '{':
		var m map[string]string
		if err := json.Unmarshal(body, &m); err != nil {
			return jsonBodyError(body, err)
		}
		for name, value := range m {
			vars = append(vars, domain.EnvVar{Name: name, Value: value, Public: true})
		}
		sort.Slice(vars, func(i, j int) bool { return vars[i].Name < vars[j].Name })
	default:
		return domain.Invalid("invalid JSON body: expected an array of variables or an object of names to values")
	}
	env, err := s.core.Apps.SetEnv(r.Context(), identity(r), mux.Vars(r)["app"], vars)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toEnvVars(env))
	return nil
}

// unsetEnv takes the names as ?env= (repeated) or as a JSON array body.
func (s *Server) unsetEnv(w http.ResponseWriter, r *http.Request) error {
	names := r.URL.Query()["env"]
	var fromBody []string
	if err := decodeOptionalJSON(r, &fromBody); err != nil {
		return err
	}
	names = append(names, fromBody...)
	env, err := s.core.Apps.UnsetEnv(r.Context(), identity(r), mux.Vars(r)["app"], names)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toEnvVars(env))
	return nil
}

func (s *Server) swap(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	force, err := boolParam(q.Get("force"), "force")
	if err != nil {
		return err
	}
	if err := s.core.Apps.Swap(r.Context(), identity(r), q.Get("app1"), q.Get("app2"), force); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// boolParam reads an optional boolean query parameter.
func boolParam(v, name string) (bool, error) {
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, domain.Invalid("invalid %s %q: must be true or false", name, v)
	}
	return b, nil
}

// quota is tsuru's quota answer: the limit and what is left (-1: unlimited).
type quota struct {
	Items     int `json:"items"`
	Available int `json:"available"`
}

func (s *Server) getQuota(w http.ResponseWriter, r *http.Request) error {
	limit, available, err := s.core.Identity.Quota(r.Context(), identity(r), mux.Vars(r)["user"])
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, quota{Items: limit, Available: available})
	return nil
}

type setQuotaRequest struct {
	Limit *int `json:"limit"`
}

func (s *Server) setQuota(w http.ResponseWriter, r *http.Request) error {
	var req setQuotaRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.Limit == nil {
		return domain.Invalid("limit is required: the number of apps the user may own, -1 for unlimited")
	}
	u, err := s.core.Identity.SetQuota(r.Context(), identity(r), mux.Vars(r)["user"], *req.Limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, quota{Items: u.QuotaLimit, Available: u.QuotaAvailable()})
	return nil
}

// listHealers answers tsuru's shape: one {"<name>": "<url>"} per healer,
// the URL being the route that runs it.
func (s *Server) listHealers(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	page, next, err := pageSlice(s.core.Healers(), p, func(h core.Healer) string { return h.Name })
	if err != nil {
		return err
	}
	out := make([]map[string]string, 0, len(page))
	for _, h := range page {
		out = append(out, map[string]string{h.Name: "/healers/" + h.Name})
	}
	setNextCursor(w, next)
	writeJSON(w, http.StatusOK, out)
	return nil
}

// healerReport is what a healer run answers.
type healerReport struct {
	Healer  string   `json:"healer"`
	Healed  int      `json:"healed"`
	Details []string `json:"details"`
}

func (s *Server) runHealer(w http.ResponseWriter, r *http.Request) error {
	rep, err := s.core.RunHealer(r.Context(), identity(r), mux.Vars(r)["healer"])
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, healerReport{Healer: rep.Healer, Healed: rep.Healed, Details: nonNil(rep.Details)})
	return nil
}

type platform struct {
	Name string `json:"Name"`
}

func (s *Server) listPlatforms(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	page, next, err := pageSlice(s.core.Apps.Platforms(), p, func(name string) string { return name })
	if err != nil {
		return err
	}
	out := make([]platform, 0, len(page))
	for _, name := range page {
		out = append(out, platform{Name: name})
	}
	setNextCursor(w, next)
	writeJSON(w, http.StatusOK, out)
	return nil
}
