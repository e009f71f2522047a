package api

import (
	"cmp"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/berthdev/terraform-provider-berth/controlplane/core"
	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
)

// privateValue stands in for the value of a private config var, as tsuru
// shows it.
const privateValue = "*** (private variable)"

type releaseJSON struct {
	ID          string `json:"id"`
	App         appRef `json:"app"`
	Version     int    `json:"version"`
	Image       string `json:"image"`
	MetaVersion string `json:"meta_version"`
	Description string `json:"description"`
	// ConfigVars is the app's config when the release was made.
	ConfigVars map[string]string `json:"config_vars"`
	// State combines the release's statuses; Current marks the app's
	// newest release.
	State  string `json:"state"`
	Status string `json:"status"`
	// StatusMessage says why a release failed (berth's).
	StatusMessage string      `json:"status_message,omitempty"`
	Current       bool        `json:"current"`
	Promotion     *idRef      `json:"pipeline_promotion,omitempty"`
	CreatedAt     akkerisTime `json:"created_at"`
	UpdatedAt     akkerisTime `json:"updated_at"`
}

func releaseToJSON(rel *domain.Release, a *domain.App) releaseJSON {
	vars := make(map[string]string, len(rel.Config))
	for name, v := range rel.Config {
		vars[name] = v.Value
		if !v.Public {
			vars[name] = privateValue
		}
	}
	out := releaseJSON{
		ID:            rel.ID,
		App:           appRef{ID: a.ID, Name: a.Name},
		Version:       rel.Version,
		Image:         rel.Image,
		Status:        cmp.Or(rel.Rollout, domain.RolloutSucceeded),
		StatusMessage: rel.RolloutMessage,
		MetaVersion:   rel.MetaVersion,
		Description:   rel.Description,
		ConfigVars:    vars,
		State:         rel.CombinedState(),
		Current:       rel.Version == a.LastRelease,
		CreatedAt:     akkerisTime(rel.CreatedAt),
		UpdatedAt:     akkerisTime(rel.UpdatedAt),
	}
	if rel.PromotionID != "" {
		out.Promotion = &idRef{ID: rel.PromotionID}
	}
	return out
}

type releaseRequest struct {
	Image       string `json:"image"`
	MetaVersion string `json:"meta_version"`
	Description string `json:"description"`
}

func (s *Server) createRelease(w http.ResponseWriter, r *http.Request) error {
	var req releaseRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	n := core.NewRelease{Image: req.Image, MetaVersion: req.MetaVersion, Description: req.Description}
	rel, a, err := s.core.Apps.CreateRelease(r.Context(), identity(r), mux.Vars(r)["app"], n)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, releaseToJSON(rel, a))
	return nil
}

func (s *Server) listReleases(w http.ResponseWriter, r *http.Request) error {
	page, err := pageOf(r)
	if err != nil {
		return err
	}
	releases, a, next, err := s.core.Apps.ListReleases(r.Context(), identity(r), mux.Vars(r)["app"], page)
	if err != nil {
		return err
	}
	out := make([]releaseJSON, len(releases))
	for i := range releases {
		out[i] = releaseToJSON(&releases[i], a)
	}
	setNextCursor(w, next)
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getRelease(w http.ResponseWriter, r *http.Request) error {
	v := mux.Vars(r)
	rel, a, err := s.core.Apps.GetRelease(r.Context(), identity(r), v["app"], v["release"])
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, releaseToJSON(rel, a))
	return nil
}

type releaseStatusJSON struct {
	ID          string      `json:"id"`
	Release     idRef       `json:"release"`
	Context     string      `json:"context"`
	Name        string      `json:"name"`
	State       string      `json:"state"`
	Description string      `json:"description"`
	TargetURL   string      `json:"target_url"`
	CreatedAt   akkerisTime `json:"created_at"`
	UpdatedAt   akkerisTime `json:"updated_at"`
}

func releaseStatusToJSON(releaseID string, st *domain.ReleaseStatus) releaseStatusJSON {
	return releaseStatusJSON{
		ID:          st.ID,
		Release:     idRef{ID: releaseID},
		Context:     st.Context,
		Name:        st.Name,
		State:       st.State,
		Description: st.Description,
		TargetURL:   st.TargetURL,
		CreatedAt:   akkerisTime(st.CreatedAt),
		UpdatedAt:   akkerisTime(st.UpdatedAt),
	}
}

// releaseStatusRequest is the body of both creating and changing a status;
// fields left out are not changed.
type releaseStatusRequest struct {
	Context     string  `json:"context"`
	Name        *string `json:"name"`
	State       *string `json:"state"`
	Description *string `json:"description"`
	TargetURL   *string `json:"target_url"`
}

func (req releaseStatusRequest) input() domain.ReleaseStatusInput {
	return domain.ReleaseStatusInput{Context: req.Context, Name: req.Name, State: req.State, Description: req.Description, TargetURL: req.TargetURL}
}

func (s *Server) createReleaseStatus(w http.ResponseWriter, r *http.Request) error {
	var req releaseStatusRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	v := mux.Vars(r)
	st, releaseID, err := s.core.Apps.CreateReleaseStatus(r.Context(), identity(r), v["app"], v["release"], req.input())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, releaseStatusToJSON(releaseID, st))
	return nil
}

func (s *Server) updateReleaseStatus(w http.ResponseWriter, r *http.Request) error {
	var req releaseStatusRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	v := mux.Vars(r)
	if req.Context != "" {
		return domain.Invalid("the context of a status cannot change: create a status with the new context instead")
	}
	st, releaseID, err := s.core.Apps.UpdateReleaseStatus(r.Context(), identity(r), v["app"], v["release"], v["status"], req.input())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, releaseStatusToJSON(releaseID, st))
	return nil
}

func (s *Server) listReleaseStatuses(w http.ResponseWriter, r *http.Request) error {
	page, err := pageOf(r)
	if err != nil {
		return err
	}
	v := mux.Vars(r)
	rel, _, err := s.core.Apps.GetRelease(r.Context(), identity(r), v["app"], v["release"])
	if err != nil {
		return err
	}
	statuses, next, err := pageSlice(rel.Statuses, page, func(st domain.ReleaseStatus) string { return st.ID })
	if err != nil {
		return err
	}
	out := make([]releaseStatusJSON, len(statuses))
	for i := range statuses {
		out[i] = releaseStatusToJSON(rel.ID, &statuses[i])
	}
	setNextCursor(w, next)
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getReleaseStatus(w http.ResponseWriter, r *http.Request) error {
	v := mux.Vars(r)
	st, releaseID, err := s.core.Apps.GetReleaseStatus(r.Context(), identity(r), v["app"], v["release"], v["status"])
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, releaseStatusToJSON(releaseID, st))
	return nil
}
