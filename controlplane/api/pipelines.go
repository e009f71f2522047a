package api

import (
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/berthdev/terraform-provider-berth/controlplane/core"
	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
)

// Akkeris dialect: pipelines, stages, couplings and promotions, and the
// releases and release statuses promotions need.
func (s *Server) pipelineRoutes() {
	s.handle(http.MethodPost, "/apps/{app}/releases", AuthUser, s.createRelease)
	s.handle(http.MethodGet, "/apps/{app}/releases", AuthUser, s.listReleases)
	s.handle(http.MethodGet, "/apps/{app}/releases/{release}", AuthUser, s.getRelease)
	s.handle(http.MethodPost, "/apps/{app}/releases/{release}/statuses", AuthUser, s.createReleaseStatus)
	s.handle(http.MethodGet, "/apps/{app}/releases/{release}/statuses", AuthUser, s.listReleaseStatuses)
	s.handle(http.MethodGet, "/apps/{app}/releases/{release}/statuses/{status}", AuthUser, s.getReleaseStatus)
	s.handle(http.MethodPatch, "/apps/{app}/releases/{release}/statuses/{status}", AuthUser, s.updateReleaseStatus)
	s.handle(http.MethodGet, "/apps/{app}/pipeline-couplings", AuthUser, s.getAppCoupling)

	s.handle(http.MethodPost, "/pipelines", AuthUser, s.createPipeline)
	s.handle(http.MethodGet, "/pipelines", AuthUser, s.listPipelines)
	s.handle(http.MethodGet, "/pipelines/{pipeline}", AuthUser, s.getPipeline)
	s.handle(http.MethodDelete, "/pipelines/{pipeline}", AuthUser, s.deletePipeline)
	s.handle(http.MethodGet, "/pipelines/{pipeline}/statuses", AuthUser, s.listPipelineStatuses)
	s.handle(http.MethodGet, "/pipelines/{pipeline}/pipeline-couplings", AuthUser, s.listPipelineCouplings)
	s.handle(http.MethodGet, "/pipeline-stages", AuthUser, s.listPipelineStages)

	s.handle(http.MethodPost, "/pipeline-couplings", AuthUser, s.createCoupling)
	s.handle(http.MethodGet, "/pipeline-couplings", AuthUser, s.listCouplings)
	s.handle(http.MethodGet, "/pipeline-couplings/{coupling}", AuthUser, s.getCoupling)
	s.handle(http.MethodPatch, "/pipeline-couplings/{coupling}", AuthUser, s.updateCoupling)
	s.handle(http.MethodDelete, "/pipeline-couplings/{coupling}", AuthUser, s.deleteCoupling)

	s.handle(http.MethodPost, "/pipeline-promotions", AuthUser, s.createPromotion)
	s.handle(http.MethodGet, "/pipeline-promotions", AuthUser, s.listPromotions)
	s.handle(http.MethodGet, "/pipeline-promotions/{promotion}", AuthUser, s.getPromotion)
	s.handle(http.MethodGet, "/pipeline-promotions/{promotion}/promotion-targets", AuthUser, s.listPromotionTargets)
}

// akkerisTime is a timestamp as Akkeris writes it: RFC 3339 in UTC, to the
// second.
type akkerisTime time.Time

func (t akkerisTime) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Time(t).UTC().Format(time.RFC3339) + `"`), nil
}

// appRef and pipelineRef point at an app or pipeline; the spec shows the
// id, berth adds the name.
type appRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type pipelineRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type idRef struct {
	ID string `json:"id"`
}

type pipelineJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Team is berth's extension: the team that owns the pipeline.
	Team      string      `json:"team"`
	CreatedAt akkerisTime `json:"created_at"`
	UpdatedAt akkerisTime `json:"updated_at"`
}

func pipelineToJSON(p *domain.Pipeline) pipelineJSON {
	return pipelineJSON{ID: p.ID, Name: p.Name, Team: p.Team, CreatedAt: akkerisTime(p.CreatedAt), UpdatedAt: akkerisTime(p.UpdatedAt)}
}

type pipelineRequest struct {
	Name string `json:"name"`
	// Team (berth's) names the owning team; it may be left out by a caller
	// in one team.
	Team string `json:"team"`
}

func (s *Server) createPipeline(w http.ResponseWriter, r *http.Request) error {
	var req pipelineRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	p, err := s.core.Pipelines.Create(r.Context(), identity(r), req.Name, req.Team)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, pipelineToJSON(p))
	return nil
}

func (s *Server) listPipelines(w http.ResponseWriter, r *http.Request) error {
	page, err := pageOf(r)
	if err != nil {
		return err
	}
	pipelines, next, err := s.core.Pipelines.List(r.Context(), identity(r), page)
	if err != nil {
		return err
	}
	out := make([]pipelineJSON, len(pipelines))
	for i := range pipelines {
		out[i] = pipelineToJSON(&pipelines[i])
	}
	setNextCursor(w, next)
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getPipeline(w http.ResponseWriter, r *http.Request) error {
	p, err := s.core.Pipelines.Get(r.Context(), identity(r), mux.Vars(r)["pipeline"])
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pipelineToJSON(p))
	return nil
}

func (s *Server) deletePipeline(w http.ResponseWriter, r *http.Request) error {
	p, err := s.core.Pipelines.Delete(r.Context(), identity(r), mux.Vars(r)["pipeline"])
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pipelineToJSON(p))
	return nil
}

// listPipelineStages answers the stage graph: each stage and the next one,
// null after production.
func (s *Server) listPipelineStages(w http.ResponseWriter, r *http.Request) error {
	out := map[string]*string{}
	for stage, next := range core.PipelineStages() {
		out[string(stage)] = nil
		if next != "" {
			n := string(next)
			out[string(stage)] = &n
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) listPipelineStatuses(w http.ResponseWriter, r *http.Request) error {
	page, err := pageOf(r)
	if err != nil {
		return err
	}
	seen, err := s.core.Pipelines.PipelineStatuses(r.Context(), identity(r), mux.Vars(r)["pipeline"])
	if err != nil {
		return err
	}
	// A context has no spaces, so "<context> <name>" names a pair.
	out, next, err := pageSlice(seen, page, func(sc domain.StatusContext) string { return sc.Context + " " + sc.Name })
	if err != nil {
		return err
	}
	setNextCursor(w, next)
	writeJSON(w, http.StatusOK, nonNil(out))
	return nil
}

type statusChecksJSON struct {
	Contexts []string `json:"contexts"`
}

type couplingJSON struct {
	ID                   string           `json:"id"`
	App                  appRef           `json:"app"`
	Pipeline             pipelineRef      `json:"pipeline"`
	Stage                domain.Stage     `json:"stage"`
	RequiredStatusChecks statusChecksJSON `json:"required_status_checks"`
	CreatedAt            akkerisTime      `json:"created_at"`
	UpdatedAt            akkerisTime      `json:"updated_at"`
}

func couplingToJSON(c *domain.Coupling) couplingJSON {
	return couplingJSON{
		ID:                   c.ID,
		App:                  appRef{ID: c.AppID, Name: c.AppName},
		Pipeline:             pipelineRef{ID: c.PipelineID, Name: c.PipelineName},
		Stage:                c.Stage,
		RequiredStatusChecks: statusChecksJSON{Contexts: nonNil(c.RequiredStatusChecks)},
		CreatedAt:            akkerisTime(c.CreatedAt),
		UpdatedAt:            akkerisTime(c.UpdatedAt),
	}
}

func couplingsToJSON(cs []domain.Coupling) []couplingJSON {
	out := make([]couplingJSON, len(cs))
	for i := range cs {
		out[i] = couplingToJSON(&cs[i])
	}
	return out
}

type couplingRequest struct {
	App                  string `json:"app"`
	Pipeline             string `json:"pipeline"`
	Stage                string `json:"stage"`
	RequiredStatusChecks *struct {
		Contexts []string `json:"contexts"`
	} `json:"required_status_checks"`
}

func (s *Server) createCoupling(w http.ResponseWriter, r *http.Request) error {
	var req couplingRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	n := core.NewCoupling{App: req.App, Pipeline: req.Pipeline, Stage: domain.Stage(req.Stage)}
	if req.RequiredStatusChecks != nil {
		n.RequiredStatusChecks = req.RequiredStatusChecks.Contexts
	}
	c, err := s.core.Pipelines.CreateCoupling(r.Context(), identity(r), n)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, couplingToJSON(c))
	return nil
}

func (s *Server) listCouplings(w http.ResponseWriter, r *http.Request) error {
	page, err := pageOf(r)
	if err != nil {
		return err
	}
	cs, next, err := s.core.Pipelines.ListCouplings(r.Context(), identity(r), page)
	if err != nil {
		return err
	}
	setNextCursor(w, next)
	writeJSON(w, http.StatusOK, couplingsToJSON(cs))
	return nil
}

func (s *Server) listPipelineCouplings(w http.ResponseWriter, r *http.Request) error {
	page, err := pageOf(r)
	if err != nil {
		return err
	}
	cs, next, err := s.core.Pipelines.PipelineCouplings(r.Context(), identity(r), mux.Vars(r)["pipeline"], page)
	if err != nil {
		return err
	}
	setNextCursor(w, next)
	writeJSON(w, http.StatusOK, couplingsToJSON(cs))
	return nil
}

func (s *Server) getAppCoupling(w http.ResponseWriter, r *http.Request) error {
	c, err := s.core.Pipelines.AppCoupling(r.Context(), identity(r), mux.Vars(r)["app"])
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, couplingToJSON(c))
	return nil
}

func (s *Server) getCoupling(w http.ResponseWriter, r *http.Request) error {
	c, err := s.core.Pipelines.GetCoupling(r.Context(), identity(r), mux.Vars(r)["coupling"])
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, couplingToJSON(c))
	return nil
}

type couplingUpdateRequest struct {
	RequiredStatusChecks *struct {
		Contexts *[]string `json:"contexts"`
	} `json:"required_status_checks"`
}

func (s *Server) updateCoupling(w http.ResponseWriter, r *http.Request) error {
	var req couplingUpdateRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.RequiredStatusChecks == nil || req.RequiredStatusChecks.Contexts == nil {
		return domain.Invalid("required_status_checks.contexts is required: the full list of contexts to require")
	}
	c, err := s.core.Pipelines.UpdateCoupling(r.Context(), identity(r), mux.Vars(r)["coupling"], *req.RequiredStatusChecks.Contexts)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, couplingToJSON(c))
	return nil
}

func (s *Server) deleteCoupling(w http.ResponseWriter, r *http.Request) error {
	c, err := s.core.Pipelines.DeleteCoupling(r.Context(), identity(r), mux.Vars(r)["coupling"])
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, couplingToJSON(c))
	return nil
}
