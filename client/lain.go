package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// The lain dialect (/api/v1). Its answers come in lain's envelope
// {"<object>": ..., "msg": ..., "url": ...}; the methods return the object.

// ReposService registers apps and manages maintainers (lain /api/v1/repos).
type ReposService service

// DeploymentsService deploys and undeploys apps (lain /api/v1/apps).
type DeploymentsService service

// ProcsService manages the procs of deployed apps (lain /api/v1/apps/{app}/procs).
type ProcsService service

// AppMeta is what an app declares: the JSON form of lain.yaml.
type AppMeta struct {
	// AppType is app, service or resource; empty means app.
	AppType      string     `json:"apptype,omitempty"`
	Procs        []ProcSpec `json:"procs,omitempty"`
	UseResources []string   `json:"use_resources,omitempty"`
}

// ProcSpec declares a proc. NumInstances is sent as it is: 0 declares a
// proc without instances. A zero CPU or an empty Memory takes the server's
// default (1 and 32M).
type ProcSpec struct {
	Name         string `json:"name"`
	NumInstances int    `json:"num_instances"`
	CPU          int    `json:"cpu,omitempty"`
	// Memory is a size such as 64M or 1G (units are powers of 1024).
	Memory string `json:"memory,omitempty"`
}

// Repo is a registered app.
type Repo struct {
	AppName   string    `json:"appname"`
	ID        string    `json:"id"`
	AppType   string    `json:"apptype"`
	Team      string    `json:"team"`
	Teams     []string  `json:"teams"`
	Platform  string    `json:"platform"`
	Meta      AppMeta   `json:"meta"`
	State     string    `json:"state"`
	CreatedAt time.Time `json:"created_at"`
	URL       string    `json:"url"`
}

// RepoRegistration registers an app.
type RepoRegistration struct {
	AppName string   `json:"appname"`
	Meta    *AppMeta `json:"meta,omitempty"`
	// Team owns the app; needed when the caller is in several teams.
	Team     string `json:"team,omitempty"`
	Platform string `json:"platform,omitempty"`
}

// AppRole is a user's role on an app: owner, maintainer or admin.
type AppRole struct {
	AppName  string `json:"appname"`
	Username string `json:"username"`
	Role     string `json:"role"`
}

// Maintainer is a listed maintainer of an app.
type Maintainer struct {
	AppName  string `json:"appname"`
	Username string `json:"username"`
	Role     string `json:"role"`
	URL      string `json:"url"`
}

// DeployedApp is an app as lain's /api/v1/apps shows it.
type DeployedApp struct {
	AppName     string `json:"appname"`
	ID          string `json:"id"`
	AppType     string `json:"apptype"`
	State       string `json:"state"`
	MetaVersion string `json:"meta_version"`
	// Release is the version of the newest release (0: none yet).
	Release           int      `json:"release"`
	Procs             []Proc   `json:"procs"`
	UseResources      []string `json:"use_resources"`
	ResourceInstances []string `json:"resource_instances"`
	// Resource and Client are set on a resource instance: the resource it
	// instantiates and the app it serves.
	Resource   string    `json:"resource,omitempty"`
	Client     string    `json:"client,omitempty"`
	DeployedAt time.Time `json:"deployed_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	URL        string    `json:"url"`
}

// Proc is a declared proc and what runs of it.
type Proc struct {
	ProcName     string `json:"procname"`
	NumInstances int    `json:"num_instances"`
	CPU          int    `json:"cpu"`
	Memory       string `json:"memory"`
	// State is deployed or undeployed.
	State string `json:"state"`
	Pods  []Pod  `json:"pods"`
	URL   string `json:"url"`
}

// Pod is one running instance (unit) of a proc.
type Pod struct {
	Name  string `json:"name"`
	IP    string `json:"ip"`
	State string `json:"state"`
}

// ProcScale changes a running proc: NumInstances alone, or CPU and/or
// Memory (the server refuses a mix). Nil and empty fields stay as they are.
type ProcScale struct {
	NumInstances *int   `json:"num_instances,omitempty"`
	CPU          *int   `json:"cpu,omitempty"`
	Memory       string `json:"memory,omitempty"`
}

// DeploymentListOptions filters and pages the deployed apps.
type DeploymentListOptions struct {
	// AppType keeps only apps of one type (app, service, resource,
	// resource-instance); empty lists every type.
	AppType string
	ListOptions
}

func (o *DeploymentListOptions) query() url.Values {
	if o == nil {
		return nil
	}
	q := o.ListOptions.query()
	// The server reads a query without apptype as apptype=app (as lain's
	// console does), so apptype goes along whenever there is a query.
	if len(q) > 0 || o.AppType != "" {
		q.Set("apptype", o.AppType)
	}
	return q
}

// doLain performs r and decodes the object called key out of lain's
// envelope into v.
func (c *Client) doLain(ctx context.Context, r request, key string, v any) (*Response, error) {
	var env map[string]json.RawMessage
	resp, err := c.do(ctx, r, &env)
	if err != nil {
		return resp, err
	}
	raw, ok := env[key]
	if !ok {
		return resp, fmt.Errorf("%s %s: the answer has no %q", r.method, r.path, key)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return resp, fmt.Errorf("%s %s: decode %q: %w", r.method, r.path, key, err)
	}
	return resp, nil
}

// Register registers an app; the caller becomes its owner.
func (s *ReposService) Register(ctx context.Context, reg RepoRegistration) (*Repo, *Response, error) {
	var out Repo
	// lain's console names the object "repos" in this answer.
	resp, err := s.client.doLain(ctx, request{method: http.MethodPost, path: "/api/v1/repos/", body: reg}, "repos", &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// List returns the registered apps the caller may see, by name.
func (s *ReposService) List(ctx context.Context, opts *ListOptions) ([]Repo, *Response, error) {
	var out []Repo
	resp, err := s.client.doLain(ctx, request{method: http.MethodGet, path: "/api/v1/repos/", query: opts.query()}, "repos", &out)
	return out, resp, err
}

// Get returns a registered app.
func (s *ReposService) Get(ctx context.Context, app string) (*Repo, *Response, error) {
	var out Repo
	resp, err := s.client.doLain(ctx, request{method: http.MethodGet, path: path("/api/v1/repos/%s/", app)}, "repo", &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// SetMeta replaces what an app declares (berth's extension to lain). On a
// deployed app the procs and resource instances follow at once.
func (s *ReposService) SetMeta(ctx context.Context, app string, meta AppMeta) (*Repo, *Response, error) {
	var out Repo
	body := map[string]any{"meta": meta}
	resp, err := s.client.doLain(ctx, request{method: http.MethodPut, path: path("/api/v1/repos/%s/", app), body: body}, "repo", &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// Role returns the caller's role on an app.
func (s *ReposService) Role(ctx context.Context, app string) (*AppRole, *Response, error) {
	return s.role(ctx, path("/api/v1/repos/%s/roles/", app))
}

// UserRole returns a user's role on an app; a user without one is not
// found.
func (s *ReposService) UserRole(ctx context.Context, app, username string) (*AppRole, *Response, error) {
	return s.role(ctx, path("/api/v1/repos/%s/roles/%s/", app, username))
}

func (s *ReposService) role(ctx context.Context, p string) (*AppRole, *Response, error) {
	var out AppRole
	resp, err := s.client.doLain(ctx, request{method: http.MethodGet, path: p}, "role", &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// ListMaintainers returns the listed maintainers of an app, by username.
func (s *ReposService) ListMaintainers(ctx context.Context, app string, opts *ListOptions) ([]Maintainer, *Response, error) {
	var out []Maintainer
	resp, err := s.client.doLain(ctx, request{method: http.MethodGet, path: path("/api/v1/repos/%s/maintainers/", app), query: opts.query()}, "maintainers", &out)
	return out, resp, err
}

// GetMaintainer returns one listed maintainer of an app.
func (s *ReposService) GetMaintainer(ctx context.Context, app, username string) (*Maintainer, *Response, error) {
	var out Maintainer
	resp, err := s.client.doLain(ctx, request{method: http.MethodGet, path: path("/api/v1/repos/%s/maintainers/%s/", app, username)}, "maintainer", &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// SetMaintainer adds a maintainer with role (owner or maintainer), or
// changes the role of one already listed. Only owners and admins may.
func (s *ReposService) SetMaintainer(ctx context.Context, app, username, role string) (*Maintainer, *Response, error) {
	var out Maintainer
	body := map[string]string{"username": username, "role": role}
	resp, err := s.client.doLain(ctx, request{method: http.MethodPost, path: path("/api/v1/repos/%s/maintainers/", app), body: body}, "maintainer", &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// RemoveMaintainer removes a listed maintainer; the last owner stays.
func (s *ReposService) RemoveMaintainer(ctx context.Context, app, username string) (*Response, error) {
	return s.client.do(ctx, request{method: http.MethodDelete, path: path("/api/v1/repos/%s/maintainers/%s/", app, username)}, nil)
}

// Deploy deploys a registered app with its procs and resource instances.
func (s *DeploymentsService) Deploy(ctx context.Context, app string) (*DeployedApp, *Response, error) {
	return s.app(ctx, request{method: http.MethodPost, path: "/api/v1/apps/", body: map[string]string{"appname": app}})
}

// List returns the deployed apps the caller may see, by name.
func (s *DeploymentsService) List(ctx context.Context, opts *DeploymentListOptions) ([]DeployedApp, *Response, error) {
	var out []DeployedApp
	resp, err := s.client.doLain(ctx, request{method: http.MethodGet, path: "/api/v1/apps/", query: opts.query()}, "apps", &out)
	return out, resp, err
}

// Get returns a deployed app; an app that is not deployed is not found.
func (s *DeploymentsService) Get(ctx context.Context, app string) (*DeployedApp, *Response, error) {
	return s.app(ctx, request{method: http.MethodGet, path: path("/api/v1/apps/%s/", app)})
}

// Update releases a deployed app at metaVersion (timestamp-commit) and
// redeploys it.
func (s *DeploymentsService) Update(ctx context.Context, app, metaVersion string) (*DeployedApp, *Response, error) {
	body := map[string]string{"meta_version": metaVersion}
	return s.app(ctx, request{method: http.MethodPut, path: path("/api/v1/apps/%s/", app), body: body})
}

// Undeploy stops an app and removes its resource instances; it stays
// registered.
func (s *DeploymentsService) Undeploy(ctx context.Context, app string) (*DeployedApp, *Response, error) {
	return s.app(ctx, request{method: http.MethodDelete, path: path("/api/v1/apps/%s/", app)})
}

// ResourceInstances returns the instances of a resource app, by the name of
// the app each serves.
func (s *DeploymentsService) ResourceInstances(ctx context.Context, resource string, opts *ListOptions) ([]DeployedApp, *Response, error) {
	var out []DeployedApp
	resp, err := s.client.doLain(ctx, request{method: http.MethodGet, path: path("/api/v1/resources/%s/instances/", resource), query: opts.query()}, "instances", &out)
	return out, resp, err
}

// ResourceGrant is a team allowed to use a resource besides the teams of
// the resource itself.
type ResourceGrant struct {
	Resource string `json:"resource"`
	Team     string `json:"team"`
	URL      string `json:"url"`
}

// ResourceGrants returns the teams granted the use of a resource, by name.
func (s *DeploymentsService) ResourceGrants(ctx context.Context, resource string, opts *ListOptions) ([]ResourceGrant, *Response, error) {
	var out []ResourceGrant
	resp, err := s.client.doLain(ctx, request{method: http.MethodGet, path: path("/api/v1/resources/%s/grants/", resource), query: opts.query()}, "grants", &out)
	return out, resp, err
}

// GrantResource lets the apps of team use a resource. Only the resource's
// owners and admins may.
func (s *DeploymentsService) GrantResource(ctx context.Context, resource, team string) (*ResourceGrant, *Response, error) {
	var out ResourceGrant
	resp, err := s.client.doLain(ctx, request{method: http.MethodPut, path: path("/api/v1/resources/%s/grants/%s/", resource, team)}, "grant", &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// RevokeResource withdraws a team's grant; its apps keep their instances
// until RemoveResourceUser takes them off.
func (s *DeploymentsService) RevokeResource(ctx context.Context, resource, team string) (*Response, error) {
	return s.client.do(ctx, request{method: http.MethodDelete, path: path("/api/v1/resources/%s/grants/%s/", resource, team)}, nil)
}

// RemoveResourceUser takes app off a resource: the resource leaves the
// app's use_resources and its instance goes. Only the resource's owners
// and admins may.
func (s *DeploymentsService) RemoveResourceUser(ctx context.Context, resource, app string) (*Response, error) {
	return s.client.do(ctx, request{method: http.MethodDelete, path: path("/api/v1/resources/%s/instances/%s/", resource, app)}, nil)
}

func (s *DeploymentsService) app(ctx context.Context, r request) (*DeployedApp, *Response, error) {
	var out DeployedApp
	resp, err := s.client.doLain(ctx, r, "app", &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// List returns the declared procs of a deployed app, by name.
func (s *ProcsService) List(ctx context.Context, app string, opts *ListOptions) ([]Proc, *Response, error) {
	var out []Proc
	resp, err := s.client.doLain(ctx, request{method: http.MethodGet, path: path("/api/v1/apps/%s/procs/", app), query: opts.query()}, "procs", &out)
	return out, resp, err
}

// Deploy starts a declared proc that is not running.
func (s *ProcsService) Deploy(ctx context.Context, app, proc string) (*Proc, *Response, error) {
	return s.proc(ctx, request{method: http.MethodPost, path: path("/api/v1/apps/%s/procs/", app), body: map[string]string{"procname": proc}})
}

// Get returns a declared proc of a deployed app.
func (s *ProcsService) Get(ctx context.Context, app, proc string) (*Proc, *Response, error) {
	return s.proc(ctx, request{method: http.MethodGet, path: path("/api/v1/apps/%s/procs/%s/", app, proc)})
}

// Scale changes a running proc; the app's declaration follows.
func (s *ProcsService) Scale(ctx context.Context, app, proc string, scale ProcScale) (*Proc, *Response, error) {
	return s.proc(ctx, request{method: http.MethodPatch, path: path("/api/v1/apps/%s/procs/%s/", app, proc), body: scale})
}

// Undeploy stops a running proc; it stays declared.
func (s *ProcsService) Undeploy(ctx context.Context, app, proc string) (*Proc, *Response, error) {
	return s.proc(ctx, request{method: http.MethodDelete, path: path("/api/v1/apps/%s/procs/%s/", app, proc)})
}

func (s *ProcsService) proc(ctx context.Context, r request) (*Proc, *Response, error) {
	var out Proc
	resp, err := s.client.doLain(ctx, r, "proc", &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}
