package api

import (
	"net/http"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
)

func (s *Server) healthRoutes() {
	s.handle(http.MethodGet, "/healthz", AuthNone, s.healthz)
	s.handle(http.MethodGet, "/readyz", AuthNone, s.readyz)
	s.handle(http.MethodGet, "/openapi.json", AuthNone, s.openapi)
	s.handle(http.MethodGet, "/metrics", AuthUser, s.metricsEndpoint)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	if err := s.core.Ready(r.Context()); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, errorBody{Code: "unavailable", Message: "store not ready: " + err.Error()})
		return nil
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	return nil
}

func (s *Server) openapi(w http.ResponseWriter, r *http.Request) error {
	doc, err := OpenAPIJSON()
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	_, err = w.Write(doc)
	return err
}

func forbiddenMetrics(email string) error {
	return domain.Forbidden("user %q is not allowed to read metrics: only admins are", email)
}
