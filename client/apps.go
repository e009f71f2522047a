package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// AppsService manages tsuru apps (tsuru 1.1).
type AppsService service

// EnvService manages app config vars (tsuru 1.1 env).
type EnvService service

// QuotasService reads and sets app quotas (tsuru 1.4).
type QuotasService service

// HealersService lists and runs healers (tsuru 1.5).
type HealersService service

// PlatformsService lists platforms (tsuru 1.6).
type PlatformsService service

// App is an app as the tsuru routes show it. The same app is reachable
// through every dialect.
type App struct {
	ID         string   `json:"Id"`
	Name       string   `json:"Name"`
	Platform   string   `json:"Framework"`
	Repository string   `json:"Repository"`
	IP         string   `json:"Ip"`
	CNames     []string `json:"CName"`
	// State is error, pending, started or stopped, summarising the units.
	State     string   `json:"State"`
	Units     []Unit   `json:"Units"`
	Teams     []string `json:"Teams"`
	TeamOwner string   `json:"TeamOwner"`
	// Owner is the e-mail of the user who created the app.
	Owner string `json:"Owner"`
	// RestartedAt is nil until the app is first restarted.
	RestartedAt *time.Time `json:"RestartedAt"`
}

// Unit is one running instance of an app's proc: <app>/0, <app>/1, ...
type Unit struct {
	Name  string `json:"Name"`
	IP    string `json:"Ip"`
	State string `json:"State"`
	// Proc, Address, StartedAt, Release and Message are set when a runtime
	// runs the unit: Address is host:port where it serves.
	Proc      string     `json:"ProcessName,omitempty"`
	Address   string     `json:"Address,omitempty"`
	StartedAt *time.Time `json:"StartedAt,omitempty"`
	Release   int        `json:"Release,omitempty"`
	Message   string     `json:"Message,omitempty"`
}

// Deployment is the release a deploy made.
type Deployment struct {
	App     string `json:"Name"`
	Release int    `json:"Release"`
	Image   string `json:"Image"`
}

// CreateAppRequest describes an app to create. TeamOwner may be empty when
// the caller is in exactly one team.
type CreateAppRequest struct {
	Name      string `json:"name"`
	Platform  string `json:"platform"`
	TeamOwner string `json:"teamOwner,omitempty"`
}

// CreatedApp is the answer to Create.
type CreatedApp struct {
	Status        string `json:"status"`
	RepositoryURL string `json:"repository_url"`
	IP            string `json:"ip"`
}

// List returns the apps the caller may see, by name.
func (s *AppsService) List(ctx context.Context, opts *ListOptions) ([]App, *Response, error) {
	var out []App
	resp, err := s.client.do(ctx, request{method: http.MethodGet, path: "/apps", query: opts.query()}, &out)
	return out, resp, err
}

// Get returns an app by name (lain's dotted names too) or id.
func (s *AppsService) Get(ctx context.Context, app string) (*App, *Response, error) {
	var out App
	resp, err := s.client.do(ctx, request{method: http.MethodGet, path: path("/apps/%s", app)}, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// Create creates an app; it counts against the caller's quota. It is not
// retried: a lost answer may hide a created app (Get tells).
func (s *AppsService) Create(ctx context.Context, req CreateAppRequest) (*CreatedApp, *Response, error) {
	var out CreatedApp
	resp, err := s.client.do(ctx, request{method: http.MethodPost, path: "/apps", body: req}, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// Delete removes an app, unbinding its service instances first.
func (s *AppsService) Delete(ctx context.Context, app string) (*Response, error) {
	return s.client.do(ctx, request{method: http.MethodDelete, path: path("/apps/%s", app)}, nil)
}

// Restart puts every unit of an app back to started and returns the app.
func (s *AppsService) Restart(ctx context.Context, app string) (*App, *Response, error) {
	var out App
	resp, err := s.client.do(ctx, request{method: http.MethodGet, path: path("/apps/%s/restart", app)}, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// Deploy releases an image on an app; the runtime rolls the app onto it.
// An app that declares no procs runs it as one web unit.
func (s *AppsService) Deploy(ctx context.Context, app, image string) (*Deployment, *Response, error) {
	var out Deployment
	resp, err := s.client.do(ctx, request{method: http.MethodPost, path: path("/apps/%s/deploy", app), body: map[string]string{"image": image}}, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// AddUnits adds n units to a proc of an app (process may be empty when the
// app runs one proc).
func (s *AppsService) AddUnits(ctx context.Context, app, process string, n int) (*App, *Response, error) {
	return s.units(ctx, http.MethodPut, app, process, n)
}

// RemoveUnits removes n units from a proc of an app, the highest-numbered
// first.
func (s *AppsService) RemoveUnits(ctx context.Context, app, process string, n int) (*App, *Response, error) {
	return s.units(ctx, http.MethodDelete, app, process, n)
}

func (s *AppsService) units(ctx context.Context, method, app, process string, n int) (*App, *Response, error) {
	q := url.Values{"units": {strconv.Itoa(n)}}
	if process != "" {
		q.Set("process", process)
	}
	var out App
	resp, err := s.client.do(ctx, request{method: method, path: path("/apps/%s/units", app), query: q, notIdempotent: true}, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// Swap exchanges the routing of two apps. Without force, apps of different
// platforms or unit counts are refused (412).
func (s *AppsService) Swap(ctx context.Context, app1, app2 string, force bool) (*Response, error) {
	q := url.Values{"app1": {app1}, "app2": {app2}}
	if force {
		q.Set("force", "true")
	}
	return s.client.do(ctx, request{method: http.MethodPut, path: "/swap", query: q}, nil)
}

// EnvVar is an app config var. Instance and Service are set on vars a
// service binding exported; users cannot change those.
type EnvVar struct {
	Name   string `json:"name"`
	Value  string `json:"value"`
	Public bool   `json:"public"`
	// Instance and Service name the binding that exported the var.
	Instance string `json:"instance,omitempty"`
	Service  string `json:"service,omitempty"`
	// Digest is set on private vars only (berth's extension): a keyed
	// digest of the value that changes when the value changes, for callers
	// who read it masked. Only the server can compute it.
	Digest string `json:"digest,omitempty"`
}

// EnvListOptions selects config vars: only Names when set, one page of
// them with ListOptions.
type EnvListOptions struct {
	ListOptions
	Names []string
}

// List returns an app's config vars by name. Private values read
// "*** (private variable)" except for admins.
func (s *EnvService) List(ctx context.Context, app string, opts *EnvListOptions) ([]EnvVar, *Response, error) {
	q := url.Values{}
	if opts != nil {
		q = opts.ListOptions.query()
		for _, n := range opts.Names {
			q.Add("env", n)
		}
	}
	var out []EnvVar
	resp, err := s.client.do(ctx, request{method: http.MethodGet, path: path("/apps/%s/env", app), query: q}, &out)
	return out, resp, err
}

// Set sets config vars (Name, Value, Public of each) and returns the app's
// config vars afterwards.
func (s *EnvService) Set(ctx context.Context, app string, vars ...EnvVar) ([]EnvVar, *Response, error) {
	body := make([]map[string]any, 0, len(vars))
	for _, v := range vars {
		body = append(body, map[string]any{"name": v.Name, "value": v.Value, "public": v.Public})
	}
	var out []EnvVar
	resp, err := s.client.do(ctx, request{method: http.MethodPost, path: path("/apps/%s/env", app), body: body}, &out)
	return out, resp, err
}

// Unset removes config vars; names the app does not have are ignored. It
// returns the app's config vars afterwards.
func (s *EnvService) Unset(ctx context.Context, app string, names ...string) ([]EnvVar, *Response, error) {
	q := url.Values{"env": names}
	var out []EnvVar
	resp, err := s.client.do(ctx, request{method: http.MethodDelete, path: path("/apps/%s/env", app), query: q}, &out)
	return out, resp, err
}

// Quota is how many apps a user may own (Limit) and may still create
// (Available); -1 is unlimited.
type Quota struct {
	Limit     int `json:"items"`
	Available int `json:"available"`
}

// Get returns a user's quota: the caller's own, anyone's for admins.
func (s *QuotasService) Get(ctx context.Context, email string) (*Quota, *Response, error) {
	var out Quota
	resp, err := s.client.do(ctx, request{method: http.MethodGet, path: path("/quota/%s", email)}, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// Set changes a user's app limit (-1: unlimited). Admins only.
func (s *QuotasService) Set(ctx context.Context, email string, limit int) (*Quota, *Response, error) {
	var out Quota
	resp, err := s.client.do(ctx, request{method: http.MethodPut, path: path("/quota/%s", email), body: map[string]int{"limit": limit}}, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// Healer is a built-in maintenance task and the URL path that runs it.
type Healer struct {
	Name string
	URL  string
}

// HealerReport says what a healer run changed.
type HealerReport struct {
	Healer  string   `json:"healer"`
	Healed  int      `json:"healed"`
	Details []string `json:"details"`
}

// List returns the healers by name.
func (s *HealersService) List(ctx context.Context, opts *ListOptions) ([]Healer, *Response, error) {
	var raw []map[string]string
	resp, err := s.client.do(ctx, request{method: http.MethodGet, path: "/healers", query: opts.query()}, &raw)
	if err != nil {
		return nil, resp, err
	}
	out := make([]Healer, 0, len(raw))
	for _, entry := range raw {
		for name, u := range entry {
			out = append(out, Healer{Name: name, URL: u})
		}
	}
	return out, resp, nil
}

// Run runs a healer now (admins only).
func (s *HealersService) Run(ctx context.Context, name string) (*HealerReport, *Response, error) {
	var out HealerReport
	resp, err := s.client.do(ctx, request{method: http.MethodGet, path: path("/healers/%s", name)}, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// Platform is a platform apps may be created on.
type Platform struct {
	Name string `json:"Name"`
}

// List returns the platforms by name.
func (s *PlatformsService) List(ctx context.Context, opts *ListOptions) ([]Platform, *Response, error) {
	var out []Platform
	resp, err := s.client.do(ctx, request{method: http.MethodGet, path: "/platforms", query: opts.query()}, &out)
	return out, resp, err
}
