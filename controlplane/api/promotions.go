package api

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/berthdev/terraform-provider-berth/controlplane/core"
	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
)

type releaseRef struct {
	ID      string `json:"id"`
	Version int    `json:"version"`
}

type promotionJSON struct {
	ID       string      `json:"id"`
	Pipeline pipelineRef `json:"pipeline"`
	Source   struct {
		App     appRef     `json:"app"`
		Release releaseRef `json:"release"`
	} `json:"source"`
	Safe      bool        `json:"safe"`
	Status    string      `json:"status"`
	CreatedAt akkerisTime `json:"created_at"`
	UpdatedAt akkerisTime `json:"updated_at"`
}

func promotionToJSON(p *domain.Promotion) promotionJSON {
	out := promotionJSON{
		ID:        p.ID,
		Pipeline:  pipelineRef{ID: p.PipelineID, Name: p.PipelineName},
		Safe:      p.Safe,
		Status:    p.Status,
		CreatedAt: akkerisTime(p.CreatedAt),
		UpdatedAt: akkerisTime(p.UpdatedAt),
	}
	out.Source.App = appRef{ID: p.SourceAppID, Name: p.SourceAppName}
	out.Source.Release = releaseRef{ID: p.SourceReleaseID, Version: p.SourceVersion}
	return out
}

type promotionTargetJSON struct {
	ID                string `json:"id"`
	App               appRef `json:"app"`
	PipelinePromotion idRef  `json:"pipeline_promotion"`
	// Release is the release the promotion made on the app; null until it
	// has, and for a failed target.
	Release      *idRef      `json:"release"`
	Status       string      `json:"status"`
	ErrorMessage string      `json:"error_message"`
	CreatedAt    akkerisTime `json:"created_at"`
	UpdatedAt    akkerisTime `json:"updated_at"`
}

func promotionTargetToJSON(p *domain.Promotion, t *domain.PromotionTarget) promotionTargetJSON {
	out := promotionTargetJSON{
		ID:                t.ID,
		App:               appRef{ID: t.AppID, Name: t.AppName},
		PipelinePromotion: idRef{ID: p.ID},
		Status:            t.Status,
		ErrorMessage:      t.ErrorMessage,
		CreatedAt:         akkerisTime(p.CreatedAt),
		UpdatedAt:         akkerisTime(t.UpdatedAt),
	}
	if t.ReleaseID != "" {
		out.Release = &idRef{ID: t.ReleaseID}
	}
	return out
}

// promotionRequest is the spec's body. Every id also takes a name, as
// Akkeris does.
type promotionRequest struct {
	Pipeline idRef `json:"pipeline"`
	Source   struct {
		App struct {
			ID      string `json:"id"`
			Release *struct {
				ID releaseID `json:"id"`
			} `json:"release"`
		} `json:"app"`
	} `json:"source"`
	Targets []struct {
		App idRef `json:"app"`
	} `json:"targets"`
	Safe bool `json:"safe"`
}

// releaseID is a release named in a body: its UUID, or its version as a
// string or a JSON number, since answers show "version": 1.
type releaseID string

func (id *releaseID) UnmarshalJSON(b []byte) error {
	switch {
	case string(b) == "null":
		return nil
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*id = releaseID(s)
		return nil
	}
	if v, err := strconv.ParseUint(string(b), 10, 63); err == nil {
		*id = releaseID(strconv.FormatUint(v, 10))
		return nil
	}
	got := "number " + string(b)
	switch b[0] {
	case 't', 'f':
		got = "bool"
	case '{':
		got = "object"
	case '[':
		got = "array"
	}
	return &json.UnmarshalTypeError{Value: got, Type: reflect.TypeFor[releaseID]()}
}

func (*releaseID) expectedJSON() string { return "a release id (a string) or version (an integer)" }

func (s *Server) createPromotion(w http.ResponseWriter, r *http.Request) error {
	var req promotionRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.Pipeline.ID == "" || req.Source.App.ID == "" {
		return domain.Invalid("pipeline.id and source.app.id are required")
	}
	n := core.NewPromotion{Pipeline: req.Pipeline.ID, Source: req.Source.App.ID, Safe: req.Safe}
	if req.Source.App.Release != nil {
		n.SourceRelease = string(req.Source.App.Release.ID)
	}
	for _, t := range req.Targets {
		if t.App.ID == "" {
			return domain.Invalid("every target needs app.id")
		}
		n.Targets = append(n.Targets, t.App.ID)
	}
	p, err := s.core.Pipelines.CreatePromotion(r.Context(), identity(r), n)
	if err != nil {
		return err
	}
	// The spec answers 200, not 201, for a promotion.
	writeJSON(w, http.StatusOK, promotionToJSON(p))
	return nil
}

func (s *Server) listPromotions(w http.ResponseWriter, r *http.Request) error {
	page, err := pageOf(r)
	if err != nil {
		return err
	}
	promotions, next, err := s.core.Pipelines.ListPromotions(r.Context(), identity(r), r.URL.Query().Get("pipeline"), page)
	if err != nil {
		return err
	}
	out := make([]promotionJSON, len(promotions))
	for i := range promotions {
		out[i] = promotionToJSON(&promotions[i])
	}
	setNextCursor(w, next)
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getPromotion(w http.ResponseWriter, r *http.Request) error {
	p, err := s.core.Pipelines.GetPromotion(r.Context(), identity(r), mux.Vars(r)["promotion"])
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, promotionToJSON(p))
	return nil
}

func (s *Server) listPromotionTargets(w http.ResponseWriter, r *http.Request) error {
	page, err := pageOf(r)
	if err != nil {
		return err
	}
	p, err := s.core.Pipelines.GetPromotion(r.Context(), identity(r), mux.Vars(r)["promotion"])
	if err != nil {
		return err
	}
	targets, next, err := pageSlice(p.Targets, page, func(t domain.PromotionTarget) string { return t.ID })
	if err != nil {
		return err
	}
	out := make([]promotionTargetJSON, len(targets))
	for i := range targets {
		out[i] = promotionTargetToJSON(p, &targets[i])
	}
	setNextCursor(w, next)
	writeJSON(w, http.StatusOK, out)
	return nil
}
