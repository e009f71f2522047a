package domain

import (
	"net/url"
	"slices"
	"strings"
	"time"
)

// ProductionEndpoint is the environment of a service's endpoint map that
// berth talks to, as tsuru does.
const ProductionEndpoint = "production"

// ServicesEnvVar is the var that summarises an app's bindings as JSON. berth
// maintains it; users may neither set nor unset it.
const ServicesEnvVar = "TSURU_SERVICES"

// ReservedServiceName cannot name a service: /services/instances is the
// instances collection.
const ReservedServiceName = "instances"

// maxInstanceName bounds instance names, which the spec's pattern leaves
// unbounded; they are keys and URL segments.
const maxInstanceName = 63

// Service is a kind of backing resource apps bind to (a database, a
// queue). With an endpoint it is a service broker berth calls over HTTP
// (the tsuru service protocol); without one it is static and its instances
// export the vars of Env.
type Service struct {
	Name string `json:"name"`
	// Endpoints maps an environment (production, test, ...) to a URL.
	Endpoints map[string]string `json:"endpoints,omitempty"`
	// Username and Password are presented to the broker as basic auth.
	// berth must send the password, so it is stored as given.
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	Doc      string `json:"doc,omitempty"`
	// OwnerTeams administer the service; Teams were granted its use.
	OwnerTeams []string `json:"owner_teams"`
	Teams      []string `json:"teams,omitempty"`
	// Env is what an instance of a static service exports on bind.
	Env       map[string]string `json:"env,omitempty"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
}

// Static reports whether the service has no broker.
func (s *Service) Static() bool { return len(s.Endpoints) == 0 }

// BrokerURL is the endpoint berth calls: the production one, with http://
// added when the manifest gave a bare host, as tsuru does.
func (s *Service) BrokerURL() string {
	e := s.Endpoints[ProductionEndpoint]
	if e != "" && !strings.HasPrefix(e, "http://") && !strings.HasPrefix(e, "https://") {
		e = "http://" + e
	}
	return strings.TrimRight(e, "/")
}

// BrokerUsername is the basic-auth user: the manifest's username, else the
// service name (tsuru's rule).
func (s *Service) BrokerUsername() string {
	if s.Username != "" {
		return s.Username
	}
	return s.Name
}

// OwnedBy reports whether one of teams administers the service.
func (s *Service) OwnedBy(teams []string) bool {
	return slices.ContainsFunc(teams, func(t string) bool { return slices.Contains(s.OwnerTeams, t) })
}

// UsableBy reports whether one of teams may create instances of the service.
func (s *Service) UsableBy(teams []string) bool {
	return s.OwnedBy(teams) || slices.ContainsFunc(teams, func(t string) bool { return slices.Contains(s.Teams, t) })
}

// AccessTeams are the owner and granted teams, without duplicates.
func (s *Service) AccessTeams() []string {
	out := slices.Clone(s.OwnerTeams)
	for _, t := range s.Teams {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// Validate checks a service as a manifest describes it.
func (s *Service) Validate() error {
	if err := ValidateServiceName(s.Name); err != nil {
		return err
	}
	if len(s.Endpoints) > 0 {
		if s.Endpoints[ProductionEndpoint] == "" {
			return Invalid("service %q: endpoint needs a %q entry, the one berth calls", s.Name, ProductionEndpoint)
		}
		for env, e := range s.Endpoints {
			if err := validateEndpoint(env, e); err != nil {
				return err
			}
		}
		if len(s.Env) > 0 {
			return Invalid("service %q: env declares the vars of a static service; a service with an endpoint gets them from its broker", s.Name)
		}
	}
	err := CheckEnvBounds(len(s.Env), func(yield func(string, string) bool) {
		for name, value := range s.Env {
			if !yield(name, value) {
				return
			}
		}
	})
	if err != nil {
		return Invalid("service %q: env: %v", s.Name, err)
	}
	for name := range s.Env {
		if err := ValidateEnvName(name); err != nil {
			return err
		}
		if name == ServicesEnvVar {
			return Invalid("service %q: %s is maintained by berth and cannot be exported", s.Name, ServicesEnvVar)
		}
	}
	return nil
}

// maxEndpoint bounds a broker endpoint.
const maxEndpoint = 2048

// validateEndpoint accepts an http or https URL without query, fragment or
// credentials, or a bare host[:port] (http, as tsuru assumes). No other
// scheme: berth calls the endpoint itself.
func validateEndpoint(env, e string) error {
	raw := e
	if !strings.Contains(e, "://") {
		raw = "http://" + e
	}
	field := env + " endpoint"
	if err := CheckHTTPURL(field, raw, maxEndpoint); err != nil {
		return err
	}
	u, _ := url.Parse(raw)
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil || strings.HasSuffix(u.Host, ":") {
		return Invalid("invalid %s: want a host or an http(s) URL without query, fragment or credentials", field)
	}
	return nil
}

// ValidateServiceName checks a service id.
func ValidateServiceName(name string) error {
	if !serviceNameRe.MatchString(name) {
		return Invalid("invalid service id %q: it must start with a lowercase letter and contain only lowercase letters, digits, '-' and '_', at most 63 characters", name)
	}
	if name == ReservedServiceName {
		return Invalid("invalid service id %q: it is reserved", name)
	}
	return nil
}

// ServiceInstance is one resource of a service (a database), owned by teams
// and bound to apps.
type ServiceInstance struct {
	Name    string `json:"name"`
	Service string `json:"service"`
	// Teams own the instance: their members may bind, unbind and remove it.
	Teams    []string          `json:"teams"`
	Bindings []InstanceBinding `json:"bindings,omitempty"`
	// CreatedBy is the e-mail of the user who created it.
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

// InstanceBinding records an app bound to the instance and the vars the
// binding exported into it, so unbinding can remove exactly those.
type InstanceBinding struct {
	App     string            `json:"app"`
	Env     map[string]string `json:"env"`
	BoundAt time.Time         `json:"bound_at"`
}

// Apps returns the names of the bound apps, in bind order.
func (i *ServiceInstance) Apps() []string {
	out := make([]string, 0, len(i.Bindings))
	for _, b := range i.Bindings {
		out = append(out, b.App)
	}
	return out
}

// Binding returns the binding of app, or nil.
func (i *ServiceInstance) Binding(app string) *InstanceBinding {
	for k := range i.Bindings {
		if i.Bindings[k].App == app {
			return &i.Bindings[k]
		}
	}
	return nil
}

// RemoveBinding drops the binding of app.
func (i *ServiceInstance) RemoveBinding(app string) {
	i.Bindings = slices.DeleteFunc(i.Bindings, func(b InstanceBinding) bool { return b.App == app })
}

// ValidateInstanceName checks a service instance name.
func ValidateInstanceName(name string) error {
	if !instanceNameRe.MatchString(name) || len(name) > maxInstanceName {
		return Invalid("invalid service instance name %q: it must match %s and have at most %d characters", name, instanceNameRe.String(), maxInstanceName)
	}
	return nil
}
