package api

import (
	"bytes"
	"errors"
	"io"
	"net/http"

	"github.com/gorilla/mux"
	"go.yaml.in/yaml/v3"

	"github.com/berthdev/terraform-provider-berth/controlplane/core"
	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
)

// tsuru sections 1.2 Services and 1.3 Service instances. The static
// /services/instances routes come before /services/{service}/... so that
// mux does not read "instances" as a service name (which is reserved).
func (s *Server) tsuruServiceRoutes() {
	s.handle(http.MethodGet, "/services", AuthUser, s.listServices)
	s.handle(http.MethodPost, "/services", AuthUser, s.createService)
	s.handle(http.MethodPut, "/services", AuthUser, s.updateService)

	s.handle(http.MethodGet, "/services/instances", AuthUser, s.listServiceInstances)
	s.handle(http.MethodPost, "/services/instances", AuthUser, s.createInstance)
	s.handle(http.MethodGet, "/services/instances/{instance}", AuthUser, s.getInstance)
	s.handle(http.MethodDelete, "/services/instances/{instance}", AuthUser, s.deleteInstance)
	s.handle(http.MethodGet, "/services/instances/{instance}/status", AuthUser, s.instanceStatus)
	s.handle(http.MethodPut, "/services/instances/{instance}/{app}", AuthUser, s.bindInstance)
	s.handle(http.MethodDelete, "/services/instances/{instance}/{app}", AuthUser, s.unbindInstance)
	// tsuru's later form names the service too.
	s.handle(http.MethodPut, "/services/{service}/instances/{instance}/{app}", AuthUser, s.bindInstance)
	s.handle(http.MethodDelete, "/services/{service}/instances/{instance}/{app}", AuthUser, s.unbindInstance)

	s.handle(http.MethodGet, "/services/{service}", AuthUser, s.getService)
	s.handle(http.MethodDelete, "/services/{service}", AuthUser, s.deleteService)
	s.handle(http.MethodGet, "/services/{service}/doc", AuthUser, s.getServiceDoc)
	s.handle(http.MethodPut, "/services/{service}/doc", AuthUser, s.setServiceDoc)
	s.handle(http.MethodGet, "/services/{service}/manifest", AuthUser, s.getServiceManifest)
	s.handle(http.MethodPut, "/services/{service}/{team}", AuthUser, s.grantService)
	s.handle(http.MethodDelete, "/services/{service}/{team}", AuthUser, s.revokeService)
}

// serviceManifestYAML is the YAML body of POST and PUT /services. Unknown
// keys are refused, so a misspelt key is an error rather than ignored.
type serviceManifestYAML struct {
	ID       string            `yaml:"id"`
	Username string            `yaml:"username"`
	Password string            `yaml:"password"`
	Endpoint map[string]string `yaml:"endpoint"`
	Team     string            `yaml:"team"`
	Env      map[string]string `yaml:"env"`
}

func decodeManifest(r *http.Request) (core.ServiceManifest, error) {
	body, err := readBody(r)
	if err != nil {
		return core.ServiceManifest{}, err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return core.ServiceManifest{}, domain.Invalid("request body is empty: expected the service manifest in YAML")
	}
	if err := checkYAMLExpansion(body); err != nil {
		return core.ServiceManifest{}, domain.Invalid("invalid service manifest: %v", err)
	}
	var m serviceManifestYAML
	dec := yaml.NewDecoder(bytes.NewReader(body))
	dec.KnownFields(true)
	if err := dec.Decode(&m); err != nil {
		return core.ServiceManifest{}, domain.Invalid("invalid service manifest: %v", err)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return core.ServiceManifest{}, domain.Invalid("invalid service manifest: expected one YAML document")
	}
	if m.ID == "" {
		return core.ServiceManifest{}, domain.Invalid("invalid service manifest: id is required")
	}
	return core.ServiceManifest(m), nil
}

// serviceManifest is a service as its administrators read it back. The
// password is never answered.
type serviceManifest struct {
	ID         string            `json:"id"`
	Endpoint   map[string]string `json:"endpoint"`
	Username   string            `json:"username"`
	OwnerTeams []string          `json:"owner_teams"`
	Teams      []string          `json:"teams"`
	Env        map[string]string `json:"env"`
}

func toServiceManifest(svc *domain.Service) serviceManifest {
	out := serviceManifest{
		ID:         svc.Name,
		Endpoint:   svc.Endpoints,
		Username:   svc.Username,
		OwnerTeams: nonNil(svc.OwnerTeams),
		Teams:      nonNil(svc.Teams),
		Env:        svc.Env,
	}
	if out.Endpoint == nil {
		out.Endpoint = map[string]string{}
	}
	if out.Env == nil {
		out.Env = map[string]string{}
	}
	return out
}

func (s *Server) createService(w http.ResponseWriter, r *http.Request) error {
	m, err := decodeManifest(r)
	if err != nil {
		return err
	}
	svc, err := s.core.Services.CreateService(r.Context(), identity(r), m)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toServiceManifest(svc))
	return nil
}

func (s *Server) updateService(w http.ResponseWriter, r *http.Request) error {
	m, err := decodeManifest(r)
	if err != nil {
		return err
	}
	svc, err := s.core.Services.UpdateService(r.Context(), identity(r), m)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toServiceManifest(svc))
	return nil
}

func (s *Server) getServiceManifest(w http.ResponseWriter, r *http.Request) error {
	svc, err := s.core.Services.ServiceManifestOf(r.Context(), identity(r), mux.Vars(r)["service"])
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toServiceManifest(svc))
	return nil
}

// serviceEntry is one service of a list, with the instances the caller sees.
type serviceEntry struct {
	Service   string   `json:"service"`
	Instances []string `json:"instances"`
}

func (s *Server) writeServiceList(w http.ResponseWriter, list []core.ServiceInstances, next string) {
	out := make([]serviceEntry, 0, len(list))
	for _, e := range list {
		out = append(out, serviceEntry{Service: e.Service, Instances: nonNil(e.Instances)})
	}
	setNextCursor(w, next)
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) listServices(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	list, next, err := s.core.Services.ListServices(r.Context(), identity(r), p)
	if err != nil {
		return err
	}
	s.writeServiceList(w, list, next)
	return nil
}

func (s *Server) listServiceInstances(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	list, next, err := s.core.Services.ListServiceInstances(r.Context(), identity(r), p)
	if err != nil {
		return err
	}
	s.writeServiceList(w, list, next)
	return nil
}

// serviceInstanceInfo is an instance as GET /services/{service} lists it.
type serviceInstanceInfo struct {
	Name        string   `json:"Name"`
	Teams       []string `json:"Teams"`
	Apps        []string `json:"Apps"`
	ServiceName string   `json:"ServiceName"`
}

func (s *Server) getService(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	insts, next, err := s.core.Services.InstancesOfService(r.Context(), identity(r), mux.Vars(r)["service"], p)
	if err != nil {
		return err
	}
	out := make([]serviceInstanceInfo, 0, len(insts))
	for _, i := range insts {
		out = append(out, serviceInstanceInfo{Name: i.Name, Teams: nonNil(i.Teams), Apps: i.Apps(), ServiceName: i.Service})
	}
	setNextCursor(w, next)
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) deleteService(w http.ResponseWriter, r *http.Request) error {
	if err := s.core.Services.DeleteService(r.Context(), identity(r), mux.Vars(r)["service"]); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) getServiceDoc(w http.ResponseWriter, r *http.Request) error {
	doc, err := s.core.Services.ServiceDoc(r.Context(), identity(r), mux.Vars(r)["service"])
	if err != nil {
		return err
	}
	writeText(w, http.StatusOK, doc)
	return nil
}

func (s *Server) setServiceDoc(w http.ResponseWriter, r *http.Request) error {
	doc, err := readBody(r)
	if err != nil {
		return err
	}
	if err := s.core.Services.SetServiceDoc(r.Context(), identity(r), mux.Vars(r)["service"], string(doc)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) grantService(w http.ResponseWriter, r *http.Request) error {
	v := mux.Vars(r)
	if err := s.core.Services.GrantService(r.Context(), identity(r), v["service"], v["team"]); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) revokeService(w http.ResponseWriter, r *http.Request) error {
	v := mux.Vars(r)
	if err := s.core.Services.RevokeService(r.Context(), identity(r), v["service"], v["team"]); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

type createInstanceRequest struct {
	Name        string `json:"name"`
	ServiceName string `json:"service_name"`
	// Owner is the team that owns the instance (tsuru's later field).
	Owner string `json:"owner"`
}

// instanceInfo is a service instance in tsuru's wire format.
type instanceInfo struct {
	Name        string   `json:"name"`
	ServiceName string   `json:"servicename"`
	Teams       []string `json:"teams"`
	Apps        []string `json:"apps"`
}

func toInstanceInfo(i *domain.ServiceInstance) instanceInfo {
	return instanceInfo{Name: i.Name, ServiceName: i.Service, Teams: nonNil(i.Teams), Apps: i.Apps()}
}

func (s *Server) createInstance(w http.ResponseWriter, r *http.Request) error {
	var req createInstanceRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	inst, err := s.core.Services.CreateInstance(r.Context(), identity(r), core.NewInstance{Name: req.Name, Service: req.ServiceName, Owner: req.Owner})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toInstanceInfo(inst))
	return nil
}

func (s *Server) getInstance(w http.ResponseWriter, r *http.Request) error {
	inst, err := s.core.Services.Instance(r.Context(), identity(r), mux.Vars(r)["instance"])
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toInstanceInfo(inst))
	return nil
}

func (s *Server) deleteInstance(w http.ResponseWriter, r *http.Request) error {
	if err := s.core.Services.DeleteInstance(r.Context(), identity(r), mux.Vars(r)["instance"]); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

type instanceStatus struct {
	Name    string `json:"name"`
	Service string `json:"service"`
	Status  string `json:"status"`
}

func (s *Server) instanceStatus(w http.ResponseWriter, r *http.Request) error {
	inst, status, err := s.core.Services.InstanceStatus(r.Context(), identity(r), mux.Vars(r)["instance"])
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, instanceStatus{Name: inst.Name, Service: inst.Service, Status: status})
	return nil
}

func (s *Server) bindInstance(w http.ResponseWriter, r *http.Request) error {
	v := mux.Vars(r)
	vars, err := s.core.Services.Bind(r.Context(), identity(r), v["service"], v["instance"], v["app"])
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, vars)
	return nil
}

func (s *Server) unbindInstance(w http.ResponseWriter, r *http.Request) error {
	v := mux.Vars(r)
	if err := s.core.Services.Unbind(r.Context(), identity(r), v["service"], v["instance"], v["app"]); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
