package client

import (
	"context"
	"fmt"
	"net/http"

	"go.yaml.in/yaml/v3"
)

// ServicesService manages services (tsuru 1.2).
type ServicesService service

// InstancesService manages service instances and bindings (tsuru 1.3).
type InstancesService service

// ServiceManifest is the YAML manifest that registers or updates a service.
// A service with an Endpoint is a broker berthd calls (the "production"
// entry) with Username (default: the id) and Password as basic auth; one
// without is static and its instances export Env on bind.
type ServiceManifest struct {
	ID       string            `yaml:"id"`
	Username string            `yaml:"username,omitempty"`
	Password string            `yaml:"password,omitempty"`
	Endpoint map[string]string `yaml:"endpoint,omitempty"`
	// Team owns the service; empty means every team of the caller.
	Team string            `yaml:"team,omitempty"`
	Env  map[string]string `yaml:"env,omitempty"`
}

// Service is a service as its owners read it back (never its password).
type Service struct {
	ID         string            `json:"id"`
	Endpoint   map[string]string `json:"endpoint"`
	Username   string            `json:"username"`
	OwnerTeams []string          `json:"owner_teams"`
	// Teams were granted the use of the service.
	Teams []string          `json:"teams"`
	Env   map[string]string `json:"env"`
}

// ServiceInstances names the instances of one service.
type ServiceInstances struct {
	Service   string   `json:"service"`
	Instances []string `json:"instances"`
}

// ServiceInstanceSummary is an instance as a service's listing shows it.
type ServiceInstanceSummary struct {
	Name        string   `json:"Name"`
	Teams       []string `json:"Teams"`
	Apps        []string `json:"Apps"`
	ServiceName string   `json:"ServiceName"`
}

func (s *ServicesService) sendManifest(ctx context.Context, method string, m ServiceManifest) (*Service, *Response, error) {
	body, err := yaml.Marshal(m)
	if err != nil {
		return nil, nil, fmt.Errorf("encode manifest: %w", err)
	}
	var out Service
	resp, err := s.client.do(ctx, request{method: method, path: "/services", body: body, ctype: "application/x-yaml"}, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// Create registers a service.
func (s *ServicesService) Create(ctx context.Context, m ServiceManifest) (*Service, *Response, error) {
	return s.sendManifest(ctx, http.MethodPost, m)
}

// Update replaces what the manifest describes of a service (the doc and
// grants stay).
func (s *ServicesService) Update(ctx context.Context, m ServiceManifest) (*Service, *Response, error) {
	return s.sendManifest(ctx, http.MethodPut, m)
}

// Get returns a service the caller owns.
func (s *ServicesService) Get(ctx context.Context, name string) (*Service, *Response, error) {
	var out Service
	resp, err := s.client.do(ctx, request{method: http.MethodGet, path: path("/services/%s/manifest", name)}, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// List returns the services the caller's teams own, each with all its
// instances.
func (s *ServicesService) List(ctx context.Context, opts *ListOptions) ([]ServiceInstances, *Response, error) {
	var out []ServiceInstances
	resp, err := s.client.do(ctx, request{method: http.MethodGet, path: "/services", query: opts.query()}, &out)
	return out, resp, err
}

// Instances returns the instances of a service: all of them for its owners,
// the caller's for a granted team.
func (s *ServicesService) Instances(ctx context.Context, name string, opts *ListOptions) ([]ServiceInstanceSummary, *Response, error) {
	var out []ServiceInstanceSummary
	resp, err := s.client.do(ctx, request{method: http.MethodGet, path: path("/services/%s", name), query: opts.query()}, &out)
	return out, resp, err
}

// Delete removes a service that has no instances.
func (s *ServicesService) Delete(ctx context.Context, name string) (*Response, error) {
	return s.client.do(ctx, request{method: http.MethodDelete, path: path("/services/%s", name)}, nil)
}

// Doc returns a service's documentation.
func (s *ServicesService) Doc(ctx context.Context, name string) (string, *Response, error) {
	var doc string
	resp, err := s.client.do(ctx, request{method: http.MethodGet, path: path("/services/%s/doc", name)}, &doc)
	return doc, resp, err
}

// SetDoc replaces a service's documentation.
func (s *ServicesService) SetDoc(ctx context.Context, name, doc string) (*Response, error) {
	return s.client.do(ctx, request{method: http.MethodPut, path: path("/services/%s/doc", name), body: []byte(doc), ctype: "text/plain; charset=utf-8"}, nil)
}

// Grant lets a team use a service.
func (s *ServicesService) Grant(ctx context.Context, name, team string) (*Response, error) {
	return s.client.do(ctx, request{method: http.MethodPut, path: path("/services/%s/%s", name, team)}, nil)
}

// Revoke takes a granted team's access to a service.
func (s *ServicesService) Revoke(ctx context.Context, name, team string) (*Response, error) {
	return s.client.do(ctx, request{method: http.MethodDelete, path: path("/services/%s/%s", name, team)}, nil)
}

// Instance is a service instance.
type Instance struct {
	Name    string   `json:"name"`
	Service string   `json:"servicename"`
	Teams   []string `json:"teams"`
	Apps    []string `json:"apps"`
}

// CreateInstanceRequest describes a service instance to create. Owner is
// the owning team; empty means every team of the caller that may use the
// service.
type CreateInstanceRequest struct {
	Name    string `json:"name"`
	Service string `json:"service_name"`
	Owner   string `json:"owner,omitempty"`
}

// InstanceStatus is an instance's status as its broker reports it: up,
// pending, down, or the broker's own words.
type InstanceStatus struct {
	Name    string `json:"name"`
	Service string `json:"service"`
	Status  string `json:"status"`
}

// List returns the services the caller may use, each with the caller's
// instances of it.
func (s *InstancesService) List(ctx context.Context, opts *ListOptions) ([]ServiceInstances, *Response, error) {
	var out []ServiceInstances
	resp, err := s.client.do(ctx, request{method: http.MethodGet, path: "/services/instances", query: opts.query()}, &out)
	return out, resp, err
}

// Create creates a service instance (at the service's broker first). It is
// not retried: the broker may have acted on a lost answer.
func (s *InstancesService) Create(ctx context.Context, req CreateInstanceRequest) (*Instance, *Response, error) {
	var out Instance
	resp, err := s.client.do(ctx, request{method: http.MethodPost, path: "/services/instances", body: req}, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// Get returns a service instance.
func (s *InstancesService) Get(ctx context.Context, name string) (*Instance, *Response, error) {
	var out Instance
	resp, err := s.client.do(ctx, request{method: http.MethodGet, path: path("/services/instances/%s", name)}, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// Delete removes an unbound service instance.
func (s *InstancesService) Delete(ctx context.Context, name string) (*Response, error) {
	return s.client.do(ctx, request{method: http.MethodDelete, path: path("/services/instances/%s", name)}, nil)
}

// Status asks an instance's broker how it is.
func (s *InstancesService) Status(ctx context.Context, name string) (*InstanceStatus, *Response, error) {
	var out InstanceStatus
	resp, err := s.client.do(ctx, request{method: http.MethodGet, path: path("/services/instances/%s/status", name)}, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// Bind binds an app to an instance and returns the vars exported into the
// app. Binding an app already bound returns that binding's vars.
func (s *InstancesService) Bind(ctx context.Context, instance, app string) (map[string]string, *Response, error) {
	return s.bind(ctx, path("/services/instances/%s/%s", instance, app))
}

// BindOfService is Bind through tsuru's later route, which also names the
// instance's service (404 when it is not the instance's).
func (s *InstancesService) BindOfService(ctx context.Context, service, instance, app string) (map[string]string, *Response, error) {
	return s.bind(ctx, path("/services/%s/instances/%s/%s", service, instance, app))
}

func (s *InstancesService) bind(ctx context.Context, p string) (map[string]string, *Response, error) {
	out := map[string]string{}
	resp, err := s.client.do(ctx, request{method: http.MethodPut, path: p}, &out)
	if err != nil {
		return nil, resp, err
	}
	return out, resp, nil
}

// Unbind unbinds an app from an instance, removing the vars it exported.
func (s *InstancesService) Unbind(ctx context.Context, instance, app string) (*Response, error) {
	return s.client.do(ctx, request{method: http.MethodDelete, path: path("/services/instances/%s/%s", instance, app)}, nil)
}

// UnbindOfService is Unbind through tsuru's later route.
func (s *InstancesService) UnbindOfService(ctx context.Context, service, instance, app string) (*Response, error) {
	return s.client.do(ctx, request{method: http.MethodDelete, path: path("/services/%s/instances/%s/%s", service, instance, app)}, nil)
}
