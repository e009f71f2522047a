package api

import (
	"net/http"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
)

func (s *Server) stackRoutes() {}

// authenticateProject resolves the X-API-Key of a stack project route.
func (s *Server) authenticateProject(r *http.Request) (*http.Request, error) {
	return r, domain.Unauthorized("stack project keys are not supported yet")
}
