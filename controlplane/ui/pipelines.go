package ui

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/berthdev/terraform-provider-berth/controlplane/core"
	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
)

// Pipelines, their couplings and promotions are visible to every signed-in
// user, as through the Akkeris routes of the API; an app in a stage shows
// its releases and checks only to those who may see the app (core.Apps.Get
// decides), and only they may promote it.

const (
	// maxCouplingsShown bounds the apps drawn in one pipeline's graph.
	maxCouplingsShown = 200
	// promotionsShown is how many of a pipeline's newest promotions its
	// page lists.
	promotionsShown = 5
)

type pipelineRow struct {
	Name    string
	Created string
}

type pipelinesView struct {
	Pipelines []pipelineRow
	Pager     pager
}

func (s *Server) pipelinesPage(w http.ResponseWriter, r *http.Request, v *visit) error {
	cursor, err := cursorOf(r, "cursor")
	if err != nil {
		return err
	}
	list, next, err := s.core.Pipelines.List(r.Context(), v.id, domain.Page{After: cursor, Limit: listPerPage})
	if err != nil {
		return err
	}
	view := pipelinesView{Pager: pagerOf(r, "cursor", next)}
	for _, p := range list {
		view.Pipelines = append(view.Pipelines, pipelineRow{Name: p.Name, Created: when(p.CreatedAt)})
	}
	return s.render(w, r, v, http.StatusOK, "pipelines", "Pipelines", view)
}

// pipelineView is a pipeline's stage graph: each stage with the apps
// coupled to it, and the promotions made in it lately.
type pipelineView struct {
	Name       string
	Stages     []stageView
	More       bool
	Promotions []promotionRow
}

type stageView struct {
	Stage domain.Stage
	Apps  []stageApp
}

// stageApp is an app in a stage. Apps the visitor may not see show their
// name and required checks only, as the couplings routes show them.
type stageApp struct {
	Name     string
	Visible  bool
	State    string
	Required []string
	Release  *releaseView
	Promote  *promoteView
}

// promoteView is the promotion of an app's newest release to the apps of
// the next stage: the checks those apps require, each met, pending or
// failing on that release, and why the button is disabled, if it is.
type promoteView struct {
	To      domain.Stage
	Targets []string
	Release int
	Checks  []checkView
	Reasons []string
}

// Enabled reports whether nothing blocks the promotion.
func (p *promoteView) Enabled() bool { return len(p.Reasons) == 0 }

type checkView struct {
	Context string
	// Verdict is met, pending or failing.
	Verdict string
	// State is the release status's own state, or "not reported".
	State string
}

func checkOf(rel *domain.Release, context string) checkView {
	st := rel.Status(context)
	switch {
	case st == nil:
		return checkView{Context: context, Verdict: "pending", State: "not reported"}
	case st.State == domain.StatusSuccess:
		return checkView{Context: context, Verdict: "met", State: st.State}
	case st.State == domain.StatusPending:
		return checkView{Context: context, Verdict: "pending", State: st.State}
	}
	return checkView{Context: context, Verdict: "failing", State: st.State}
}

type promotionRow struct {
	ID      string
	Source  string
	Version int
	Status  string
	By      string
	Created string
	Targets []domain.PromotionTarget
}

// pipelineOf builds a pipeline's view as the visitor may see it.
func (s *Server) pipelineOf(r *http.Request, v *visit, ref string) (*pipelineView, error) {
	ctx := r.Context()
	pl, err := s.core.Pipelines.Get(ctx, v.id, ref)
	if err != nil {
		return nil, err
	}
	couplings, next, err := s.core.Pipelines.PipelineCouplings(ctx, v.id, pl.ID, domain.Page{Limit: maxCouplingsShown})
	if err != nil {
		return nil, err
	}
	view := &pipelineView{Name: pl.Name, More: next != ""}
	byStage := map[domain.Stage][]stageApp{}
	releases := map[string]*domain.Release{}
	for _, c := range couplings {
		app := stageApp{Name: c.AppName, Required: c.RequiredStatusChecks}
		a, err := s.core.Apps.Get(ctx, v.id, c.AppID)
		switch {
		case domain.KindOf(err) == domain.KindForbidden || domain.KindOf(err) == domain.KindNotFound:
		case err != nil:
			return nil, err
		default:
			app.Visible, app.State = true, core.AppState(a)
			if a.LastRelease > 0 {
				rel, _, err := s.core.Apps.GetRelease(ctx, v.id, a.ID, strconv.Itoa(a.LastRelease))
				if err != nil && domain.KindOf(err) != domain.KindNotFound {
					return nil, err
				}
				if rel != nil {
					rv := releaseViewOf(rel)
					app.Release, releases[c.AppName] = &rv, rel
				}
			}
		}
		byStage[c.Stage] = append(byStage[c.Stage], app)
	}
	for _, st := range domain.Stages {
		stage := stageView{Stage: st, Apps: byStage[st]}
		if to, ok := domain.NextStage(st); ok {
			for i := range stage.Apps {
				if stage.Apps[i].Visible {
					stage.Apps[i].Promote = promotionOf(&stage.Apps[i], releases[stage.Apps[i].Name], to, byStage[to])
				}
			}
		}
		view.Stages = append(view.Stages, stage)
	}
	promotions, _, err := s.core.Pipelines.ListPromotions(ctx, v.id, pl.ID, domain.Page{Limit: promotionsShown})
	if err != nil {
		return nil, err
	}
	for _, p := range promotions {
		view.Promotions = append(view.Promotions, promotionRow{
			ID: p.ID, Source: p.SourceAppName, Version: p.SourceVersion, Status: p.Status,
			By: p.CreatedBy, Created: when(p.CreatedAt), Targets: p.Targets,
		})
	}
	return view, nil
}

// promotionOf says whether src's newest release can go to the apps of the
// next stage. The checks are the domain's (domain.Release.
// UnmetStatusChecks), as core.Pipelines.CreatePromotion applies them; the
// form is refused there all the same if anything changed meanwhile.
func promotionOf(src *stageApp, rel *domain.Release, to domain.Stage, targets []stageApp) *promoteView {
	p := &promoteView{To: to}
	var required []string
	for _, t := range targets {
		p.Targets = append(p.Targets, t.Name)
		if !t.Visible {
			p.Reasons = append(p.Reasons, fmt.Sprintf("you have no access to %s (stage %s): only members of teams owning the source and every target may promote", t.Name, to))
		}
		for _, c := range t.Required {
			if !slices.Contains(required, c) {
				required = append(required, c)
			}
		}
	}
	if len(targets) == 0 {
		p.Reasons = append(p.Reasons, fmt.Sprintf("no app is coupled to stage %s", to))
	}
	if rel == nil {
		p.Reasons = append(p.Reasons, fmt.Sprintf("%s has no release to promote", src.Name))
		for _, c := range required {
			p.Checks = append(p.Checks, checkView{Context: c, Verdict: "pending", State: "no release"})
		}
		return p
	}
	p.Release = rel.Version
	for _, c := range required {
		p.Checks = append(p.Checks, checkOf(rel, c))
	}
	p.Reasons = append(p.Reasons, rel.UnmetStatusChecks(required)...)
	return p
}

// version is a digest of what a live page shows: its script refreshes the
// page when the state endpoint answers another one.
func version(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12])
}

func (s *Server) pipelinePage(w http.ResponseWriter, r *http.Request, v *visit) error {
	ref := mux.Vars(r)["pipeline"]
	view, err := s.pipelineOf(r, v, ref)
	if err != nil {
		return err
	}
	live := &liveView{URL: Prefix + "pipelines/" + pathEscape(view.Name) + "/state", Version: version(view)}
	return s.renderLive(w, r, v, http.StatusOK, "pipeline", "Pipeline "+view.Name, view, live)
}

// stateJSON is what a live page polls.
type stateJSON struct {
	Version string `json:"version"`
}

func writeState(w http.ResponseWriter, view any) error {
	b, err := json.Marshal(stateJSON{Version: version(view)})
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(append(b, '\n'))
	return nil
}

func (s *Server) pipelineState(w http.ResponseWriter, r *http.Request, v *visit) error {
	view, err := s.pipelineOf(r, v, mux.Vars(r)["pipeline"])
	if err != nil {
		return err
	}
	return writeState(w, view)
}

// promote queues the promotion the visitor asked for, through
// core.Pipelines.CreatePromotion (every rule is checked there), and shows
// its progress.
func (s *Server) promote(w http.ResponseWriter, r *http.Request, v *visit) error {
	f := r.PostForm
	targets := f["target"]
	if len(targets) > maxCouplingsShown {
		return domain.Invalid("too many targets")
	}
	p, err := s.core.Pipelines.CreatePromotion(r.Context(), v.id, core.NewPromotion{
		Pipeline:      mux.Vars(r)["pipeline"],
		Source:        f.Get("source"),
		SourceRelease: f.Get("release"),
		Targets:       targets,
		Safe:          f.Get("safe") == "on",
	})
	if err != nil {
		return err
	}
	http.Redirect(w, r, Prefix+"promotions/"+pathEscape(p.ID), http.StatusSeeOther)
	return nil
}

// promotionView is one promotion's progress, target by target: each
// target's status, the release it had and the one the promotion made.
type promotionView struct {
	ID       string
	Pipeline string
	Source   string
	Version  int
	Status   string
	Safe     bool
	By       string
	Created  string
	Targets  []targetView
}

type targetView struct {
	App     string
	Visible bool
	Status  string
	Error   string
	Current int
	New     int
}

func (s *Server) promotionOf(r *http.Request, v *visit) (*promotionView, error) {
	ctx := r.Context()
	p, err := s.core.Pipelines.GetPromotion(ctx, v.id, mux.Vars(r)["promotion"])
	if err != nil {
		return nil, err
	}
	view := &promotionView{
		ID: p.ID, Pipeline: p.PipelineName, Source: p.SourceAppName, Version: p.SourceVersion,
		Status: p.Status, Safe: p.Safe, By: p.CreatedBy, Created: when(p.CreatedAt),
	}
	for _, t := range p.Targets {
		tv := targetView{App: t.AppName, Status: t.Status, Error: t.ErrorMessage}
		a, err := s.core.Apps.Get(ctx, v.id, t.AppID)
		switch {
		case domain.KindOf(err) == domain.KindForbidden || domain.KindOf(err) == domain.KindNotFound:
		case err != nil:
			return nil, err
		default:
			tv.Visible, tv.Current = true, a.LastRelease
			if t.ReleaseID != "" {
				rel, _, err := s.core.Apps.GetRelease(ctx, v.id, a.ID, t.ReleaseID)
				if err != nil && domain.KindOf(err) != domain.KindNotFound {
					return nil, err
				}
				if rel != nil {
					tv.New = rel.Version
				}
			}
		}
		view.Targets = append(view.Targets, tv)
	}
	return view, nil
}

func (s *Server) promotionPage(w http.ResponseWriter, r *http.Request, v *visit) error {
	view, err := s.promotionOf(r, v)
	if err != nil {
		return err
	}
	var live *liveView
	if view.Status == domain.PromotionPending {
		live = &liveView{URL: Prefix + "promotions/" + pathEscape(view.ID) + "/state", Version: version(view)}
	}
	return s.renderLive(w, r, v, http.StatusOK, "promotion", "Promotion of "+view.Source, view, live)
}

func (s *Server) promotionState(w http.ResponseWriter, r *http.Request, v *visit) error {
	view, err := s.promotionOf(r, v)
	if err != nil {
		return err
	}
	return writeState(w, view)
}
