package client

import (
	"context"
	"net/http"
	"time"
)

// Akkeris dialect: releases and release statuses, pipelines, couplings and
// promotions. Wherever a method takes an app or a pipeline, its name and
// its id both work; a release is its id or its version number.

// AppRef names an app.
type AppRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// PipelineRef names a pipeline.
type PipelineRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// IDRef points at an entity by id.
type IDRef struct {
	ID string `json:"id"`
}

// ReleasesService manages releases and release statuses.
type ReleasesService service

// Release is one version of an app: what it runs and with which config.
type Release struct {
	ID          string `json:"id"`
	App         AppRef `json:"app"`
	Version     int    `json:"version"`
	Image       string `json:"image"`
	MetaVersion string `json:"meta_version"`
	Description string `json:"description"`
	// ConfigVars is the app's config when the release was made; private
	// values are masked.
	ConfigVars map[string]string `json:"config_vars"`
	// State combines the release's statuses: pending, success or failure.
	State string `json:"state"`
	// Current is set on the app's newest release.
	Current bool `json:"current"`
	// PipelinePromotion is set on a release made by a promotion.
	PipelinePromotion *IDRef    `json:"pipeline_promotion,omitempty"`
	CreatedAt         time.Time `json:"created_at"`
	UpdatedAt         time.Time `json:"updated_at"`
}

// NewRelease is what to release: exactly one of Image and MetaVersion.
type NewRelease struct {
	Image       string `json:"image,omitempty"`
	MetaVersion string `json:"meta_version,omitempty"`
	Description string `json:"description,omitempty"`
}

// Create releases an app.
func (s *ReleasesService) Create(ctx context.Context, app string, r NewRelease) (*Release, *Response, error) {
	var out Release
	resp, err := s.client.do(ctx, request{method: http.MethodPost, path: path("/apps/%s/releases", app), body: r}, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// List returns an app's releases, newest first.
func (s *ReleasesService) List(ctx context.Context, app string, opts *ListOptions) ([]Release, *Response, error) {
	var out []Release
	resp, err := s.client.do(ctx, request{method: http.MethodGet, path: path("/apps/%s/releases", app), query: opts.query()}, &out)
	return out, resp, err
}

// Get returns a release by id or version number.
func (s *ReleasesService) Get(ctx context.Context, app, release string) (*Release, *Response, error) {
	var out Release
	resp, err := s.client.do(ctx, request{method: http.MethodGet, path: path("/apps/%s/releases/%s", app, release)}, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// Release status states.
const (
	ReleaseStatusPending = "pending"
	ReleaseStatusSuccess = "success"
	ReleaseStatusFailure = "failure"
	ReleaseStatusError   = "error"
)

// ReleaseStatus is a check result on a release, keyed by its context.
type ReleaseStatus struct {
	ID          string    `json:"id"`
	Release     IDRef     `json:"release"`
	Context     string    `json:"context"`
	Name        string    `json:"name"`
	State       string    `json:"state"`
	Description string    `json:"description"`
	TargetURL   string    `json:"target_url"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// NewReleaseStatus is a check result to record. Context and State are
// required; Name defaults to the context.
type NewReleaseStatus struct {
	Context     string `json:"context"`
	State       string `json:"state"`
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
	TargetURL   string `json:"target_url,omitempty"`
}

// ReleaseStatusUpdate changes a status; empty fields are left as they are.
type ReleaseStatusUpdate struct {
	State       string `json:"state,omitempty"`
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
	TargetURL   string `json:"target_url,omitempty"`
}

// CreateStatus records a status on a release; a context exists once per
// release (409 the second time: update it instead).
func (s *ReleasesService) CreateStatus(ctx context.Context, app, release string, st NewReleaseStatus) (*ReleaseStatus, *Response, error) {
	var out ReleaseStatus
	resp, err := s.client.do(ctx, request{method: http.MethodPost, path: path("/apps/%s/releases/%s/statuses", app, release), body: st}, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// UpdateStatus changes a release status, usually its state.
func (s *ReleasesService) UpdateStatus(ctx context.Context, app, release, statusID string, u ReleaseStatusUpdate) (*ReleaseStatus, *Response, error) {
	var out ReleaseStatus
	resp, err := s.client.do(ctx, request{method: http.MethodPatch, path: path("/apps/%s/releases/%s/statuses/%s", app, release, statusID), body: u}, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// ListStatuses returns a release's statuses, oldest first.
func (s *ReleasesService) ListStatuses(ctx context.Context, app, release string, opts *ListOptions) ([]ReleaseStatus, *Response, error) {
	var out []ReleaseStatus
	resp, err := s.client.do(ctx, request{method: http.MethodGet, path: path("/apps/%s/releases/%s/statuses", app, release), query: opts.query()}, &out)
	return out, resp, err
}

// GetStatus returns one status of a release.
func (s *ReleasesService) GetStatus(ctx context.Context, app, release, statusID string) (*ReleaseStatus, *Response, error) {
	var out ReleaseStatus
	resp, err := s.client.do(ctx, request{method: http.MethodGet, path: path("/apps/%s/releases/%s/statuses/%s", app, release, statusID)}, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// PipelinesService manages pipelines and stages (Akkeris).
type PipelinesService service

// Pipeline groups the apps code is promoted through. Team owns it: its
// members see and change it, its couplings and promotions.
type Pipeline struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Team      string    `json:"team"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// StatusContext is a status context and name seen in a pipeline.
type StatusContext struct {
	Context string `json:"context"`
	Name    string `json:"name"`
}

// Create creates a pipeline owned by the caller's only team (see
// CreateInTeam).
func (s *PipelinesService) Create(ctx context.Context, name string) (*Pipeline, *Response, error) {
	return s.CreateInTeam(ctx, name, "")
}

// CreateInTeam creates an empty pipeline owned by team, which the caller
// must be in (admins may name any); an empty team is the caller's only
// team.
func (s *PipelinesService) CreateInTeam(ctx context.Context, name, team string) (*Pipeline, *Response, error) {
	var out Pipeline
	body := map[string]string{"name": name}
	if team != "" {
		body["team"] = team
	}
	resp, err := s.client.do(ctx, request{method: http.MethodPost, path: "/pipelines", body: body}, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// List returns the pipelines of the caller's teams (every one for an
// admin), by name.
func (s *PipelinesService) List(ctx context.Context, opts *ListOptions) ([]Pipeline, *Response, error) {
	var out []Pipeline
	resp, err := s.client.do(ctx, request{method: http.MethodGet, path: "/pipelines", query: opts.query()}, &out)
	return out, resp, err
}

// Get returns a pipeline by name or id.
func (s *PipelinesService) Get(ctx context.Context, pipeline string) (*Pipeline, *Response, error) {
	var out Pipeline
	resp, err := s.client.do(ctx, request{method: http.MethodGet, path: path("/pipelines/%s", pipeline)}, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// Delete removes a pipeline and its couplings (members of its team and
// admins) and returns it.
func (s *PipelinesService) Delete(ctx context.Context, pipeline string) (*Pipeline, *Response, error) {
	var out Pipeline
	resp, err := s.client.do(ctx, request{method: http.MethodDelete, path: path("/pipelines/%s", pipeline)}, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// Stages returns each stage and the stage after it ("" after the last).
func (s *PipelinesService) Stages(ctx context.Context) (map[string]string, *Response, error) {
	var raw map[string]*string
	resp, err := s.client.do(ctx, request{method: http.MethodGet, path: "/pipeline-stages"}, &raw)
	if err != nil {
		return nil, resp, err
	}
	out := make(map[string]string, len(raw))
	for stage, next := range raw {
		out[stage] = ""
		if next != nil {
			out[stage] = *next
		}
	}
	return out, resp, nil
}

// Statuses returns the status contexts and names seen on releases of the
// pipeline's apps: the candidates for required status checks.
func (s *PipelinesService) Statuses(ctx context.Context, pipeline string, opts *ListOptions) ([]StatusContext, *Response, error) {
	var out []StatusContext
	resp, err := s.client.do(ctx, request{method: http.MethodGet, path: path("/pipelines/%s/statuses", pipeline), query: opts.query()}, &out)
	return out, resp, err
}

// CouplingsService manages pipeline couplings (Akkeris).
type CouplingsService service

// Pipeline stages, in promotion order.
const (
	StageReview      = "review"
	StageDevelopment = "development"
	StageStaging     = "staging"
	StageProduction  = "production"
)

// StatusChecks lists the release status contexts a stage requires.
type StatusChecks struct {
	Contexts []string `json:"contexts"`
}

// Coupling puts an app in a pipeline at a stage.
type Coupling struct {
	ID                   string       `json:"id"`
	App                  AppRef       `json:"app"`
	Pipeline             PipelineRef  `json:"pipeline"`
	Stage                string       `json:"stage"`
	RequiredStatusChecks StatusChecks `json:"required_status_checks"`
	CreatedAt            time.Time    `json:"created_at"`
	UpdatedAt            time.Time    `json:"updated_at"`
}

// NewCoupling adds App to Pipeline (names or ids) at Stage.
type NewCoupling struct {
	App                  string        `json:"app"`
	Pipeline             string        `json:"pipeline"`
	Stage                string        `json:"stage"`
	RequiredStatusChecks *StatusChecks `json:"required_status_checks,omitempty"`
}

// Create couples an app to a pipeline.
func (s *CouplingsService) Create(ctx context.Context, c NewCoupling) (*Coupling, *Response, error) {
	var out Coupling
	resp, err := s.client.do(ctx, request{method: http.MethodPost, path: "/pipeline-couplings", body: c}, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// List returns every coupling.
func (s *CouplingsService) List(ctx context.Context, opts *ListOptions) ([]Coupling, *Response, error) {
	var out []Coupling
	resp, err := s.client.do(ctx, request{method: http.MethodGet, path: "/pipeline-couplings", query: opts.query()}, &out)
	return out, resp, err
}

// ListByPipeline returns a pipeline's couplings, by stage.
func (s *CouplingsService) ListByPipeline(ctx context.Context, pipeline string, opts *ListOptions) ([]Coupling, *Response, error) {
	var out []Coupling
	resp, err := s.client.do(ctx, request{method: http.MethodGet, path: path("/pipelines/%s/pipeline-couplings", pipeline), query: opts.query()}, &out)
	return out, resp, err
}

// GetByApp returns the coupling of an app; not found when the app is in no
// pipeline.
func (s *CouplingsService) GetByApp(ctx context.Context, app string) (*Coupling, *Response, error) {
	var out Coupling
	resp, err := s.client.do(ctx, request{method: http.MethodGet, path: path("/apps/%s/pipeline-couplings", app)}, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// Get returns a coupling by id.
func (s *CouplingsService) Get(ctx context.Context, id string) (*Coupling, *Response, error) {
	var out Coupling
	resp, err := s.client.do(ctx, request{method: http.MethodGet, path: path("/pipeline-couplings/%s", id)}, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// Update replaces the required status checks of a coupling. Dropping a
// context loosens the gate: only admins may.
func (s *CouplingsService) Update(ctx context.Context, id string, contexts []string) (*Coupling, *Response, error) {
	if contexts == nil {
		contexts = []string{}
	}
	var out Coupling
	body := map[string]StatusChecks{"required_status_checks": {Contexts: contexts}}
	resp, err := s.client.do(ctx, request{method: http.MethodPatch, path: path("/pipeline-couplings/%s", id), body: body}, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// Delete removes an app from its pipeline (admins only) and returns the
// coupling.
func (s *CouplingsService) Delete(ctx context.Context, id string) (*Coupling, *Response, error) {
	var out Coupling
	resp, err := s.client.do(ctx, request{method: http.MethodDelete, path: path("/pipeline-couplings/%s", id)}, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// PromotionsService creates and follows pipeline promotions (Akkeris).
type PromotionsService service

// Promotion states.
const (
	PromotionPending    = "pending"
	PromotionSuccessful = "successful"
	PromotionFailed     = "failed"
)

// Promotion copies a release of a source app to the apps of the next stage.
type Promotion struct {
	ID       string      `json:"id"`
	Pipeline PipelineRef `json:"pipeline"`
	Source   struct {
		App     AppRef `json:"app"`
		Release struct {
			ID      string `json:"id"`
			Version int    `json:"version"`
		} `json:"release"`
	} `json:"source"`
	Safe      bool      `json:"safe"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Ended reports whether the promotion is no longer pending.
func (p *Promotion) Ended() bool { return p.Status != PromotionPending }

// PromotionTarget is the outcome of a promotion on one target app.
type PromotionTarget struct {
	ID                string `json:"id"`
	App               AppRef `json:"app"`
	PipelinePromotion IDRef  `json:"pipeline_promotion"`
	// Release is the release made on the app; nil until then and when the
	// target failed.
	Release      *IDRef    `json:"release"`
	Status       string    `json:"status"`
	ErrorMessage string    `json:"error_message"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// NewPromotion asks to promote Source's release SourceRelease (empty: its
// newest) to Targets. Pipeline, Source and Targets are names or ids. Safe
// refuses the promotion when config var names or bound services differ.
type NewPromotion struct {
	Pipeline      string
	Source        string
	SourceRelease string
	Targets       []string
	Safe          bool
}

type promotionBody struct {
	Pipeline IDRef `json:"pipeline"`
	Source   struct {
		App struct {
			ID      string `json:"id"`
			Release *IDRef `json:"release,omitempty"`
		} `json:"app"`
	} `json:"source"`
	Targets []struct {
		App IDRef `json:"app"`
	} `json:"targets"`
	Safe bool `json:"safe"`
}

// Create checks and queues a promotion. A release that misses a required
// status check is a conflict (409) whose Error.Details lists each one; a
// target outside the next stage, or a safe promotion over differing
// config, is 422 with one detail per reason.
func (s *PromotionsService) Create(ctx context.Context, p NewPromotion) (*Promotion, *Response, error) {
	var body promotionBody
	body.Pipeline.ID = p.Pipeline
	body.Source.App.ID = p.Source
	if p.SourceRelease != "" {
		body.Source.App.Release = &IDRef{ID: p.SourceRelease}
	}
	body.Targets = make([]struct {
		App IDRef `json:"app"`
	}, len(p.Targets))
	for i, t := range p.Targets {
		body.Targets[i].App.ID = t
	}
	body.Safe = p.Safe
	var out Promotion
	resp, err := s.client.do(ctx, request{method: http.MethodPost, path: "/pipeline-promotions", body: body}, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// Get returns a promotion.
func (s *PromotionsService) Get(ctx context.Context, id string) (*Promotion, *Response, error) {
	var out Promotion
	resp, err := s.client.do(ctx, request{method: http.MethodGet, path: path("/pipeline-promotions/%s", id)}, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// Targets returns the outcome on each target of a promotion.
func (s *PromotionsService) Targets(ctx context.Context, id string, opts *ListOptions) ([]PromotionTarget, *Response, error) {
	var out []PromotionTarget
	resp, err := s.client.do(ctx, request{method: http.MethodGet, path: path("/pipeline-promotions/%s/promotion-targets", id), query: opts.query()}, &out)
	return out, resp, err
}

// List returns promotions, newest first: a pipeline's (name or id), or all
// when pipeline is empty.
func (s *PromotionsService) List(ctx context.Context, pipeline string, opts *ListOptions) ([]Promotion, *Response, error) {
	q := opts.query()
	if pipeline != "" {
		q.Set("pipeline", pipeline)
	}
	var out []Promotion
	resp, err := s.client.do(ctx, request{method: http.MethodGet, path: "/pipeline-promotions", query: q}, &out)
	return out, resp, err
}

// Bounds of the wait between two polls of Wait.
const (
	promotionPollMin = 100 * time.Millisecond
	promotionPollMax = 5 * time.Second
)

// Wait polls a promotion, waiting longer between polls up to a few
// seconds, until it has ended or ctx is done; then it returns the last
// state seen, with ctx's error. A promotion that ended failed is returned
// without error: its targets say why.
func (s *PromotionsService) Wait(ctx context.Context, id string) (*Promotion, *Response, error) {
	var last *Promotion
	wait := promotionPollMin
	for {
		p, resp, err := s.Get(ctx, id)
		switch {
		case ctx.Err() != nil:
			return last, resp, ctx.Err()
		case err != nil || p.Ended():
			return p, resp, err
		}
		last = p
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return last, resp, ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, promotionPollMax)
	}
}
