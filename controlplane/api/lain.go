package api

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/berthdev/terraform-provider-berth/controlplane/core"
	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
)

// lain console API (/api/v1): repos, roles, maintainers, deployed apps,
// procs and resource instances. Every answer is lain's envelope
// {"<object>": ..., "msg": "...", "url": "..."}.
func (s *Server) lainRoutes() {
	route := func(method, path string, h handlerFunc) {
		s.handleSlash(method, "/api/v1"+path, AuthUser, h, lainStyle)
	}
	route(http.MethodGet, "/repos/", s.lainListRepos)
	route(http.MethodPost, "/repos/", s.lainRegisterRepo)
	route(http.MethodGet, "/repos/{app}/", s.lainGetRepo)
	route(http.MethodPut, "/repos/{app}/", s.lainSetRepoMeta)
	route(http.MethodGet, "/repos/{app}/roles/", s.lainCallerRole)
	route(http.MethodGet, "/repos/{app}/roles/{username}/", s.lainUserRole)
	route(http.MethodGet, "/repos/{app}/maintainers/", s.lainListMaintainers)
	route(http.MethodPost, "/repos/{app}/maintainers/", s.lainSetMaintainer)
	route(http.MethodGet, "/repos/{app}/maintainers/{username}/", s.lainGetMaintainer)
	route(http.MethodDelete, "/repos/{app}/maintainers/{username}/", s.lainRemoveMaintainer)

	route(http.MethodGet, "/apps/", s.lainListApps)
	route(http.MethodPost, "/apps/", s.lainDeployApp)
	route(http.MethodGet, "/apps/{app}/", s.lainGetApp)
	route(http.MethodPut, "/apps/{app}/", s.lainRedeployApp)
	route(http.MethodDelete, "/apps/{app}/", s.lainUndeployApp)
	route(http.MethodGet, "/apps/{app}/procs/", s.lainListProcs)
	route(http.MethodPost, "/apps/{app}/procs/", s.lainDeployProc)
	route(http.MethodGet, "/apps/{app}/procs/{proc}/", s.lainGetProc)
	route(http.MethodPatch, "/apps/{app}/procs/{proc}/", s.lainScaleProc)
	route(http.MethodDelete, "/apps/{app}/procs/{proc}/", s.lainUndeployProc)

	route(http.MethodGet, "/resources/{resource}/instances/", s.lainListInstances)
}

// writeLain answers with lain's envelope: the object under its name, a
// message for people and the URL of the object.
func writeLain(w http.ResponseWriter, status int, object string, v any, msg, url string) {
	writeJSON(w, status, map[string]any{object: v, "msg": msg, "url": url})
}

func lainRepoURL(app string) string { return "/api/v1/repos/" + url.PathEscape(app) + "/" }
func lainAppURL(app string) string  { return "/api/v1/apps/" + url.PathEscape(app) + "/" }
func lainProcURL(app, proc string) string {
	return lainAppURL(app) + "procs/" + url.PathEscape(proc) + "/"
}
func lainMaintainerURL(app, username string) string {
	return lainRepoURL(app) + "maintainers/" + url.PathEscape(username) + "/"
}

// Wire types.

// lainMetaBody is the JSON form of lain.yaml in requests. Absent proc
// fields take lain's defaults.
type lainMetaBody struct {
	AppType      domain.AppType     `json:"apptype"`
	Procs        []lainProcSpecBody `json:"procs"`
	UseResources []string           `json:"use_resources"`
}

type lainProcSpecBody struct {
	Name         string  `json:"name"`
	NumInstances *int    `json:"num_instances"`
	CPU          *int    `json:"cpu"`
	Memory       *string `json:"memory"`
	Cmd          lainCmd `json:"cmd"`
	Port         int     `json:"port"`
}

// lainCmd is a proc's command: lain.yaml writes it as one string (split on
// spaces) or as a list of arguments.
type lainCmd []string

func (c *lainCmd) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*c = strings.Fields(s)
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return domain.Invalid("cmd must be a string or a list of strings")
	}
	*c = list
	return nil
}

func (m *lainMetaBody) toDomain() *domain.AppMeta {
	meta := &domain.AppMeta{Type: cmp.Or(m.AppType, domain.AppTypeApp), UseResources: m.UseResources}
	for _, p := range m.Procs {
		meta.Procs = append(meta.Procs, domain.ProcSpec{
			Name:         p.Name,
			NumInstances: valueOr(p.NumInstances, domain.DefaultProcInstances),
			CPU:          valueOr(p.CPU, domain.DefaultProcCPU),
			Memory:       valueOr(p.Memory, domain.DefaultProcMemory),
			Command:      p.Cmd,
			Port:         p.Port,
		})
	}
	return meta
}

func valueOr[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

type lainMetaView struct {
	AppType      domain.AppType     `json:"apptype"`
	Procs        []lainProcSpecView `json:"procs"`
	UseResources []string           `json:"use_resources"`
}

type lainProcSpecView struct {
	Name         string `json:"name"`
	NumInstances int    `json:"num_instances"`
	CPU          int    `json:"cpu"`
	Memory       string `json:"memory"`
}

type lainRepo struct {
	AppName   string         `json:"appname"`
	ID        string         `json:"id"`
	AppType   domain.AppType `json:"apptype"`
	Team      string         `json:"team"`
	Teams     []string       `json:"teams"`
	Platform  string         `json:"platform"`
	Meta      lainMetaView   `json:"meta"`
	State     string         `json:"state"`
	CreatedAt time.Time      `json:"created_at"`
	URL       string         `json:"url"`
}

func lainState(deployed bool) string {
	if deployed {
		return domain.StateDeployed
	}
	return domain.StateUndeployed
}

func lainRepoOf(a *domain.App) lainRepo {
	meta := lainMetaView{AppType: a.Type, Procs: []lainProcSpecView{}, UseResources: []string{}}
	if a.Meta != nil {
		for _, p := range a.Meta.Procs {
			meta.Procs = append(meta.Procs, lainProcSpecView{Name: p.Name, NumInstances: p.NumInstances, CPU: p.CPU, Memory: p.Memory})
		}
		meta.UseResources = append(meta.UseResources, a.Meta.UseResources...)
	}
	return lainRepo{
		AppName:   a.Name,
		ID:        a.ID,
		AppType:   a.Type,
		Team:      a.TeamOwner,
		Teams:     append([]string{}, a.Teams...),
		Platform:  a.Platform,
		Meta:      meta,
		State:     lainState(a.Deployed),
		CreatedAt: a.CreatedAt,
		URL:       lainRepoURL(a.Name),
	}
}

type lainApp struct {
	AppName           string         `json:"appname"`
	ID                string         `json:"id"`
	AppType           domain.AppType `json:"apptype"`
	State             string         `json:"state"`
	MetaVersion       string         `json:"meta_version"`
	Release           int            `json:"release"`
	Procs             []lainProc     `json:"procs"`
	UseResources      []string       `json:"use_resources"`
	ResourceInstances []string       `json:"resource_instances"`
	// Resource and Client are set on a resource instance.
	Resource   string    `json:"resource,omitempty"`
	Client     string    `json:"client,omitempty"`
	DeployedAt time.Time `json:"deployed_at,omitzero"`
	UpdatedAt  time.Time `json:"updated_at"`
	URL        string    `json:"url"`
	// Address is berth's: the host name the router serves the app at.
	Address string `json:"address,omitempty"`
}

func lainAppOf(a *domain.App) lainApp {
	return lainApp{
		AppName:           a.Name,
		ID:                a.ID,
		AppType:           a.Type,
		State:             lainState(a.Deployed),
		MetaVersion:       a.MetaVersion,
		Release:           a.LastRelease,
		Procs:             lainProcsOf(a),
		UseResources:      append([]string{}, a.UsedResources()...),
		ResourceInstances: append([]string{}, a.ResourceInstances()...),
		Resource:          a.Resource,
		Client:            a.ResourceClient,
		DeployedAt:        a.DeployedAt,
		UpdatedAt:         a.UpdatedAt,
		URL:               lainAppURL(a.Name),
		Address:           a.IP,
	}
}

func lainAppsOf(apps []domain.App) []lainApp {
	out := make([]lainApp, 0, len(apps))
	for i := range apps {
		out = append(out, lainAppOf(&apps[i]))
	}
	return out
}

// lainProc is a declared proc with what runs of it: the running size and
// its units (lain's pods) when deployed, the declared size otherwise.
type lainProc struct {
	ProcName     string    `json:"procname"`
	NumInstances int       `json:"num_instances"`
	CPU          int       `json:"cpu"`
	Memory       string    `json:"memory"`
	State        string    `json:"state"`
	Pods         []lainPod `json:"pods"`
	URL          string    `json:"url"`
}

type lainPod struct {
	Name  string `json:"name"`
	IP    string `json:"ip"`
	State string `json:"state"`
	// Address, StartedAt, Release and Message are berth's, set when a
	// runtime runs the pod.
	Address   string     `json:"address,omitempty"`
	StartedAt *time.Time `json:"started_at,omitempty"`
	Release   int        `json:"release,omitempty"`
	Message   string     `json:"message,omitempty"`
}

func lainProcOf(a *domain.App, spec domain.ProcSpec) lainProc {
	v := lainProc{
		ProcName: spec.Name, NumInstances: spec.NumInstances, CPU: spec.CPU, Memory: spec.Memory,
		State: domain.StateUndeployed, Pods: []lainPod{}, URL: lainProcURL(a.Name, spec.Name),
	}
	if p := a.Proc(spec.Name); p != nil {
		v.NumInstances, v.CPU, v.Memory, v.State = p.NumInstances, p.CPU, p.Memory, p.State
		for _, u := range a.Units {
			if u.Proc == p.Name {
				pod := lainPod{Name: u.Name, IP: u.IP, State: u.State, Address: u.Address, Release: u.Release, Message: u.Message}
				if !u.StartedAt.IsZero() {
					t := u.StartedAt.UTC()
					pod.StartedAt = &t
				}
				v.Pods = append(v.Pods, pod)
			}
		}
	}
	return v
}

// lainProcsOf lists an app's declared procs by name.
func lainProcsOf(a *domain.App) []lainProc {
	out := []lainProc{}
	if a.Meta != nil {
		for _, spec := range a.Meta.Procs {
			out = append(out, lainProcOf(a, spec))
		}
	}
	slices.SortFunc(out, func(x, y lainProc) int { return cmp.Compare(x.ProcName, y.ProcName) })
	return out
}

type lainMaintainer struct {
	AppName  string `json:"appname"`
	Username string `json:"username"`
	Role     string `json:"role"`
	URL      string `json:"url"`
}

func lainMaintainerOf(app string, m domain.Maintainer) lainMaintainer {
	return lainMaintainer{AppName: app, Username: m.Username, Role: m.Role, URL: lainMaintainerURL(app, m.Username)}
}

type lainRole struct {
	AppName  string `json:"appname"`
	Username string `json:"username"`
	Role     string `json:"role"`
}

// Repos.

type lainRegisterRequest struct {
	AppName string        `json:"appname"`
	Meta    *lainMetaBody `json:"meta"`
	// Team and Platform are berth extensions: the owning team (needed when
	// the caller is in several) and the platform.
	Team     string `json:"team"`
	Platform string `json:"platform"`
}

func (s *Server) lainRegisterRepo(w http.ResponseWriter, r *http.Request) error {
	var req lainRegisterRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.AppName == "" {
		return domain.Invalid("invalid request: should be json body with appname(string)")
	}
	reg := core.RepoRegistration{Name: req.AppName, Team: req.Team, Platform: req.Platform}
	if req.Meta != nil {
		reg.Meta = req.Meta.toDomain()
	}
	a, err := s.core.Lain.RegisterRepo(r.Context(), identity(r), reg)
	if err != nil {
		return err
	}
	// lain's console names the object "repos" in this answer, too.
	writeLain(w, http.StatusCreated, "repos", lainRepoOf(a), fmt.Sprintf("app %s registered", a.Name), lainRepoURL(a.Name))
	return nil
}

func (s *Server) lainListRepos(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	apps, next, err := s.core.Apps.List(r.Context(), identity(r), "", p)
	if err != nil {
		return err
	}
	repos := make([]lainRepo, 0, len(apps))
	for i := range apps {
		repos = append(repos, lainRepoOf(&apps[i]))
	}
	setNextCursor(w, next)
	writeLain(w, http.StatusOK, "repos", repos, "", "/api/v1/repos/")
	return nil
}

func (s *Server) lainGetRepo(w http.ResponseWriter, r *http.Request) error {
	a, err := s.core.Apps.Get(r.Context(), identity(r), mux.Vars(r)["app"])
	if err != nil {
		return err
	}
	writeLain(w, http.StatusOK, "repo", lainRepoOf(a), "", lainRepoURL(a.Name))
	return nil
}

// lainSetMetaRequest is berth's extension to lain: replace what an app
// declares, so that tools (the Terraform provider) manage procs of any app.
type lainSetMetaRequest struct {
	Meta *lainMetaBody `json:"meta"`
}

func (s *Server) lainSetRepoMeta(w http.ResponseWriter, r *http.Request) error {
	var req lainSetMetaRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.Meta == nil {
		return domain.Invalid("invalid request: should be json body with meta(object)")
	}
	a, err := s.core.Lain.SetRepoMeta(r.Context(), identity(r), mux.Vars(r)["app"], req.Meta.toDomain())
	if err != nil {
		return err
	}
	writeLain(w, http.StatusOK, "repo", lainRepoOf(a), fmt.Sprintf("meta of app %s replaced", a.Name), lainRepoURL(a.Name))
	return nil
}

// Roles and maintainers.

func (s *Server) lainCallerRole(w http.ResponseWriter, r *http.Request) error {
	return s.lainRole(w, r, "")
}

func (s *Server) lainUserRole(w http.ResponseWriter, r *http.Request) error {
	return s.lainRole(w, r, mux.Vars(r)["username"])
}

func (s *Server) lainRole(w http.ResponseWriter, r *http.Request, username string) error {
	id := identity(r)
	a, role, err := s.core.Lain.AppRole(r.Context(), id, mux.Vars(r)["app"], username)
	if err != nil {
		return err
	}
	self := lainRepoURL(a.Name) + "roles/"
	if username == "" {
		username = id.Email()
	} else {
		self += url.PathEscape(username) + "/"
	}
	writeLain(w, http.StatusOK, "role", lainRole{AppName: a.Name, Username: username, Role: role}, "", self)
	return nil
}

func (s *Server) lainListMaintainers(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	a, ms, err := s.core.Lain.Maintainers(r.Context(), identity(r), mux.Vars(r)["app"])
	if err != nil {
		return err
	}
	ms, next, err := pageSlice(ms, p, func(m domain.Maintainer) string { return m.Username })
	if err != nil {
		return err
	}
	out := make([]lainMaintainer, 0, len(ms))
	for _, m := range ms {
		out = append(out, lainMaintainerOf(a.Name, m))
	}
	setNextCursor(w, next)
	writeLain(w, http.StatusOK, "maintainers", out, "", lainRepoURL(a.Name)+"maintainers/")
	return nil
}

type lainMaintainerRequest struct {
	Username string `json:"username"`
	Role     string `json:"role"`
}

func (s *Server) lainSetMaintainer(w http.ResponseWriter, r *http.Request) error {
	var req lainMaintainerRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.Username == "" || req.Role == "" {
		return domain.Invalid("invalid request: should be json body with username(string) and role(string)")
	}
	a, m, err := s.core.Lain.SetMaintainer(r.Context(), identity(r), mux.Vars(r)["app"], req.Username, req.Role)
	if err != nil {
		return err
	}
	writeLain(w, http.StatusOK, "maintainer", lainMaintainerOf(a.Name, *m),
		fmt.Sprintf("%s is %s of app %s", m.Username, m.Role, a.Name), lainMaintainerURL(a.Name, m.Username))
	return nil
}

func (s *Server) lainGetMaintainer(w http.ResponseWriter, r *http.Request) error {
	a, m, err := s.core.Lain.Maintainer(r.Context(), identity(r), mux.Vars(r)["app"], mux.Vars(r)["username"])
	if err != nil {
		return err
	}
	writeLain(w, http.StatusOK, "maintainer", lainMaintainerOf(a.Name, *m), "", lainMaintainerURL(a.Name, m.Username))
	return nil
}

func (s *Server) lainRemoveMaintainer(w http.ResponseWriter, r *http.Request) error {
	if err := s.core.Lain.RemoveMaintainer(r.Context(), identity(r), mux.Vars(r)["app"], mux.Vars(r)["username"]); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// Deployed apps.

type lainDeployRequest struct {
	AppName string `json:"appname"`
}

func (s *Server) lainDeployApp(w http.ResponseWriter, r *http.Request) error {
	var req lainDeployRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.AppName == "" {
		return domain.Invalid("invalid request: should be json body with appname(string)")
	}
	a, err := s.core.Lain.DeployApp(r.Context(), identity(r), req.AppName)
	if errors.Is(err, domain.ErrNotFound) {
		err = domain.NotFound("%v: register it with POST /api/v1/repos/ first", err)
	}
	if err != nil {
		return err
	}
	writeLain(w, http.StatusAccepted, "app", lainAppOf(a),
		fmt.Sprintf("deploy request of app %s has been accepted", a.Name), lainAppURL(a.Name))
	return nil
}

// lainAppTypeFilter reads ?apptype= as lain's console does: no query at all
// lists every type, a query without apptype lists apps of type app, and an
// empty apptype lists every type.
func lainAppTypeFilter(r *http.Request) (domain.AppType, error) {
	if r.URL.RawQuery == "" {
		return "", nil
	}
	q := r.URL.Query()
	if !q.Has("apptype") {
		return domain.AppTypeApp, nil
	}
	t := domain.AppType(q.Get("apptype"))
	if t != "" && !domain.ValidAppType(t) {
		return "", domain.Invalid("invalid apptype %q: must be app, service, resource or resource-instance", t)
	}
	return t, nil
}

func (s *Server) lainListApps(w http.ResponseWriter, r *http.Request) error {
	t, err := lainAppTypeFilter(r)
	if err != nil {
		return err
	}
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	apps, next, err := s.core.Lain.DeployedApps(r.Context(), identity(r), t, p)
	if err != nil {
		return err
	}
	setNextCursor(w, next)
	writeLain(w, http.StatusOK, "apps", lainAppsOf(apps), "", "/api/v1/apps/")
	return nil
}

func (s *Server) lainGetApp(w http.ResponseWriter, r *http.Request) error {
	a, err := s.core.Lain.DeployedApp(r.Context(), identity(r), mux.Vars(r)["app"])
	if err != nil {
		return err
	}
	writeLain(w, http.StatusOK, "app", lainAppOf(a), "", lainAppURL(a.Name))
	return nil
}

type lainRedeployRequest struct {
	MetaVersion string `json:"meta_version"`
}

func (s *Server) lainRedeployApp(w http.ResponseWriter, r *http.Request) error {
	var req lainRedeployRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	a, err := s.core.Lain.RedeployApp(r.Context(), identity(r), mux.Vars(r)["app"], req.MetaVersion)
	if err != nil {
		return err
	}
	writeLain(w, http.StatusAccepted, "app", lainAppOf(a),
		fmt.Sprintf("update request of app %s has been accepted: release %d", a.Name, a.LastRelease), lainAppURL(a.Name))
	return nil
}

func (s *Server) lainUndeployApp(w http.ResponseWriter, r *http.Request) error {
	a, err := s.core.Lain.UndeployApp(r.Context(), identity(r), mux.Vars(r)["app"])
	if err != nil {
		return err
	}
	writeLain(w, http.StatusAccepted, "app", lainAppOf(a),
		fmt.Sprintf("app %s undeployed; its registration is kept", a.Name), lainAppURL(a.Name))
	return nil
}

// Procs.

func (s *Server) lainListProcs(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	a, err := s.core.Lain.DeployedApp(r.Context(), identity(r), mux.Vars(r)["app"])
	if err != nil {
		return err
	}
	procs, next, err := pageSlice(lainProcsOf(a), p, func(p lainProc) string { return p.ProcName })
	if err != nil {
		return err
	}
	setNextCursor(w, next)
	writeLain(w, http.StatusOK, "procs", procs, "", lainAppURL(a.Name)+"procs/")
	return nil
}

type lainDeployProcRequest struct {
	ProcName string `json:"procname"`
}

func (s *Server) lainDeployProc(w http.ResponseWriter, r *http.Request) error {
	var req lainDeployProcRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.ProcName == "" {
		return domain.Invalid("invalid request: should be json body with procname(string)")
	}
	a, err := s.core.Lain.DeployProc(r.Context(), identity(r), mux.Vars(r)["app"], req.ProcName)
	if err != nil {
		return err
	}
	writeLain(w, http.StatusCreated, "proc", lainProcOf(a, *a.DeclaredProc(req.ProcName)),
		fmt.Sprintf("proc %s of app %s deployed", req.ProcName, a.Name), lainProcURL(a.Name, req.ProcName))
	return nil
}

func (s *Server) lainGetProc(w http.ResponseWriter, r *http.Request) error {
	a, spec, err := s.core.Lain.DeclaredProc(r.Context(), identity(r), mux.Vars(r)["app"], mux.Vars(r)["proc"])
	if err != nil {
		return err
	}
	proc := lainProcOf(a, *spec)
	msg := ""
	if proc.State != domain.StateDeployed {
		msg = fmt.Sprintf("proc %s exists but not deployed", spec.Name)
	}
	writeLain(w, http.StatusOK, "proc", proc, msg, lainProcURL(a.Name, spec.Name))
	return nil
}

type lainScaleRequest struct {
	NumInstances *int    `json:"num_instances"`
	CPU          *int    `json:"cpu"`
	Memory       *string `json:"memory"`
}

func (s *Server) lainScaleProc(w http.ResponseWriter, r *http.Request) error {
	var req lainScaleRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	name := mux.Vars(r)["proc"]
	scale := domain.ProcScale{NumInstances: req.NumInstances, CPU: req.CPU, Memory: req.Memory}
	a, err := s.core.Lain.ScaleProc(r.Context(), identity(r), mux.Vars(r)["app"], name, scale)
	if err != nil {
		return err
	}
	writeLain(w, http.StatusAccepted, "proc", lainProcOf(a, *a.DeclaredProc(name)),
		fmt.Sprintf("proc %s of app %s scaled", name, a.Name), lainProcURL(a.Name, name))
	return nil
}

func (s *Server) lainUndeployProc(w http.ResponseWriter, r *http.Request) error {
	name := mux.Vars(r)["proc"]
	a, err := s.core.Lain.UndeployProc(r.Context(), identity(r), mux.Vars(r)["app"], name)
	if err != nil {
		return err
	}
	writeLain(w, http.StatusAccepted, "proc", lainProcOf(a, *a.DeclaredProc(name)),
		fmt.Sprintf("proc %s of app %s undeployed", name, a.Name), lainProcURL(a.Name, name))
	return nil
}

// Resources.

func (s *Server) lainListInstances(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	resource := mux.Vars(r)["resource"]
	apps, next, err := s.core.Lain.ResourceInstances(r.Context(), identity(r), resource, p)
	if err != nil {
		return err
	}
	setNextCursor(w, next)
	writeLain(w, http.StatusOK, "instances", lainAppsOf(apps), "", "/api/v1/resources/"+url.PathEscape(resource)+"/instances/")
	return nil
}
