package client_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/terraform-provider-berth/client"
	"github.com/berthdev/terraform-provider-berth/controlplane/core"
	"github.com/berthdev/terraform-provider-berth/internal/berthtest"
)

// createApps makes apps owned by the user's team through core: the routes
// that create apps belong to other dialects.
func createApps(t *testing.T, srv *berthtest.Server, token string, names ...string) map[string]string {
	t.Helper()
	ctx := context.Background()
	id, err := srv.Instance().Core.Identity.Authenticate(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, n := range names {
		a, err := srv.Instance().Core.Apps.Create(ctx, id, core.NewApp{Name: n})
		if err != nil {
			t.Fatal(err)
		}
		ids[n] = a.ID
	}
	return ids
}

func TestReleasesService(t *testing.T) {
	ctx := context.Background()
	srv := berthtest.Start(t)
	u := srv.NewTeamUser(t, "ana@example.com", "devs")
	c := newClient(t, srv, u.Token)
	ids := createApps(t, srv, u.Token, "web")

	r1, _, err := c.Releases.Create(ctx, "web", client.NewRelease{Image: "registry/web:1", Description: "first"})
	if err != nil || r1.Version != 1 || r1.App.ID != ids["web"] || r1.Image != "registry/web:1" || !r1.Current || r1.CreatedAt.IsZero() {
		t.Fatalf("create: %+v %v", r1, err)
	}
	if _, _, err := c.Releases.Create(ctx, "web", client.NewRelease{}); client.StatusCode(err) != 400 {
		t.Fatalf("empty release: %v", err)
	}
	r2, _, err := c.Releases.Create(ctx, ids["web"], client.NewRelease{MetaVersion: "1435893486-ead17cc"})
	if err != nil || r2.Version != 2 {
		t.Fatalf("create by id: %+v %v", r2, err)
	}
	list, resp, err := c.Releases.List(ctx, "web", &client.ListOptions{Limit: 1})
	if err != nil || len(list) != 1 || list[0].ID != r2.ID || resp.NextCursor == "" {
		t.Fatalf("list: %+v %v", list, err)
	}
	list, _, err = c.Releases.List(ctx, "web", &client.ListOptions{Limit: 1, Cursor: resp.NextCursor})
	if err != nil || len(list) != 1 || list[0].ID != r1.ID {
		t.Fatalf("list page 2: %+v %v", list, err)
	}
	got, _, err := c.Releases.Get(ctx, "web", "1")
	if err != nil || got.ID != r1.ID || got.Current {
		t.Fatalf("get by version: %+v %v", got, err)
	}
	if _, _, err := c.Releases.Get(ctx, "web", "9"); !client.IsNotFound(err) {
		t.Fatalf("missing release: %v", err)
	}

	st, _, err := c.Releases.CreateStatus(ctx, "web", r2.ID, client.NewReleaseStatus{Context: "ci/circleci", State: client.ReleaseStatusPending, TargetURL: "https://ci.example.com/1"})
	if err != nil || st.Name != "ci/circleci" || st.State != "pending" || st.Release.ID != r2.ID {
		t.Fatalf("create status: %+v %v", st, err)
	}
	if _, _, err := c.Releases.CreateStatus(ctx, "web", r2.ID, client.NewReleaseStatus{Context: "ci/circleci", State: client.ReleaseStatusSuccess}); !client.IsConflict(err) {
		t.Fatalf("duplicate context: %v", err)
	}
	st, _, err = c.Releases.UpdateStatus(ctx, "web", "2", st.ID, client.ReleaseStatusUpdate{State: client.ReleaseStatusSuccess})
	if err != nil || st.State != "success" || st.TargetURL != "https://ci.example.com/1" {
		t.Fatalf("update status: %+v %v", st, err)
	}
	statuses, _, err := c.Releases.ListStatuses(ctx, "web", r2.ID, nil)
	if err != nil || len(statuses) != 1 || statuses[0].ID != st.ID {
		t.Fatalf("list statuses: %+v %v", statuses, err)
	}
	one, _, err := c.Releases.GetStatus(ctx, "web", r2.ID, st.ID)
	if err != nil || one.Context != "ci/circleci" || one.State != "success" {
		t.Fatalf("get status: %+v %v", one, err)
	}
}

func TestPipelinesAndCouplingsServices(t *testing.T) {
	ctx := context.Background()
	srv := berthtest.Start(t)
	u := srv.NewTeamUser(t, "ana@example.com", "devs")
	c := newClient(t, srv, u.Token)
	admin := newClient(t, srv, srv.AdminToken)
	other := newClient(t, srv, srv.NewTeamUser(t, "bo@example.com", "ops").Token)
	ids := createApps(t, srv, u.Token, "web-dev", "web-stg")

	p, _, err := c.Pipelines.Create(ctx, "web")
	if err != nil || p.Name != "web" || p.ID == "" || p.Team != "devs" {
		t.Fatalf("create: %+v %v", p, err)
	}
	if _, _, err := c.Pipelines.CreateInTeam(ctx, "ops-pipe", "ops"); !client.IsForbidden(err) {
		t.Fatalf("create in another team: %v", err)
	}
	if got, _, err := admin.Pipelines.CreateInTeam(ctx, "ops-pipe", "ops"); err != nil || got.Team != "ops" {
		t.Fatalf("admin creates in a team: %+v %v", got, err)
	}
	if _, _, err := other.Pipelines.Get(ctx, "web"); !client.IsForbidden(err) {
		t.Fatalf("another team reads the pipeline: %v", err)
	}
	if _, _, err := c.Pipelines.Create(ctx, "web"); client.StatusCode(err) != 422 {
		t.Fatalf("taken name: %v", err)
	}
	if _, _, err := c.Pipelines.Create(ctx, "spare"); err != nil {
		t.Fatal(err)
	}
	pipelines, _, err := c.Pipelines.List(ctx, nil)
	if err != nil || len(pipelines) != 2 || pipelines[0].Name != "spare" {
		t.Fatalf("list: %+v %v", pipelines, err)
	}
	if got, _, err := c.Pipelines.Get(ctx, p.ID); err != nil || got.Name != "web" {
		t.Fatalf("get by id: %+v %v", got, err)
	}
	if got, _, err := c.Pipelines.Delete(ctx, "spare"); err != nil || got.Name != "spare" {
		t.Fatalf("delete: %+v %v", got, err)
	}
	stages, _, err := c.Pipelines.Stages(ctx)
	if err != nil || stages[client.StageReview] != client.StageDevelopment || stages[client.StageStaging] != client.StageProduction ||
		stages[client.StageProduction] != "" || len(stages) != 4 {
		t.Fatalf("stages: %v %v", stages, err)
	}

	dev, _, err := c.Couplings.Create(ctx, client.NewCoupling{App: "web-dev", Pipeline: "web", Stage: client.StageDevelopment})
	if err != nil || dev.App.ID != ids["web-dev"] || dev.Pipeline.ID != p.ID || len(dev.RequiredStatusChecks.Contexts) != 0 {
		t.Fatalf("couple: %+v %v", dev, err)
	}
	stg, _, err := c.Couplings.Create(ctx, client.NewCoupling{App: ids["web-stg"], Pipeline: p.ID, Stage: client.StageStaging,
		RequiredStatusChecks: &client.StatusChecks{Contexts: []string{"ci/integration"}}})
	if err != nil || stg.RequiredStatusChecks.Contexts[0] != "ci/integration" {
		t.Fatalf("couple with checks: %+v %v", stg, err)
	}
	all, _, err := c.Couplings.List(ctx, nil)
	if err != nil || len(all) != 2 {
		t.Fatalf("list: %+v %v", all, err)
	}
	inPipeline, _, err := c.Couplings.ListByPipeline(ctx, "web", nil)
	if err != nil || len(inPipeline) != 2 || inPipeline[0].ID != dev.ID {
		t.Fatalf("list by pipeline: %+v %v", inPipeline, err)
	}
	if got, _, err := c.Couplings.GetByApp(ctx, "web-stg"); err != nil || got.ID != stg.ID {
		t.Fatalf("by app: %+v %v", got, err)
	}
	if got, _, err := c.Couplings.Get(ctx, dev.ID); err != nil || got.Stage != client.StageDevelopment {
		t.Fatalf("get: %+v %v", got, err)
	}
	if got, _, err := c.Couplings.Update(ctx, stg.ID, []string{"ci/integration", "qa/approval"}); err != nil || len(got.RequiredStatusChecks.Contexts) != 2 {
		t.Fatalf("tighten: %+v %v", got, err)
	}
	if _, _, err := other.Couplings.Update(ctx, stg.ID, nil); !client.IsForbidden(err) {
		t.Fatalf("another team loosened a gate: %v", err)
	}
	if got, _, err := c.Couplings.Update(ctx, stg.ID, nil); err != nil || len(got.RequiredStatusChecks.Contexts) != 0 {
		t.Fatalf("the pipeline's team loosens: %+v %v", got, err)
	}

	rel, _, err := c.Releases.Create(ctx, "web-dev", client.NewRelease{Image: "registry/web:1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Releases.CreateStatus(ctx, "web-dev", rel.ID, client.NewReleaseStatus{Context: "ci/unit-tests", Name: "Unit tests", State: client.ReleaseStatusSuccess}); err != nil {
		t.Fatal(err)
	}
	seen, _, err := c.Pipelines.Statuses(ctx, "web", nil)
	if err != nil || len(seen) != 1 || seen[0] != (client.StatusContext{Context: "ci/unit-tests", Name: "Unit tests"}) {
		t.Fatalf("pipeline statuses: %+v %v", seen, err)
	}

	if _, _, err := other.Couplings.Delete(ctx, dev.ID); !client.IsForbidden(err) {
		t.Fatalf("another team removed a coupling: %v", err)
	}
	if got, _, err := c.Couplings.Delete(ctx, dev.ID); err != nil || got.ID != dev.ID {
		t.Fatalf("the team removes its coupling: %+v %v", got, err)
	}
	if _, _, err := c.Couplings.GetByApp(ctx, "web-dev"); !client.IsNotFound(err) {
		t.Fatalf("coupling after removal: %v", err)
	}
}

func TestPromotionsService(t *testing.T) {
	ctx := context.Background()
	release := make(chan struct{})
	var held bool
	hook := func(ctx context.Context, _, _ string) {
		if held {
			return
		}
		held = true
		select {
		case <-release:
		case <-ctx.Done():
		}
	}
	srv := berthtest.Start(t, berthtest.WithCoreOptions(core.WithPromotionStepHook(hook)))
	u := srv.NewTeamUser(t, "ana@example.com", "devs")
	c := newClient(t, srv, u.Token)
	ids := createApps(t, srv, u.Token, "api-dev", "api-stg", "api-stg-2")
	if _, _, err := c.Pipelines.Create(ctx, "api"); err != nil {
		t.Fatal(err)
	}
	for app, stage := range map[string]string{"api-dev": client.StageDevelopment, "api-stg": client.StageStaging, "api-stg-2": client.StageStaging} {
		checks := &client.StatusChecks{}
		if stage == client.StageStaging {
			checks.Contexts = []string{"ci/integration"}
		}
		if _, _, err := c.Couplings.Create(ctx, client.NewCoupling{App: app, Pipeline: "api", Stage: stage, RequiredStatusChecks: checks}); err != nil {
			t.Fatal(err)
		}
	}
	rel, _, err := c.Releases.Create(ctx, "api-dev", client.NewRelease{Image: "registry/api:3"})
	if err != nil {
		t.Fatal(err)
	}

	// A missing check: 409 with the reason in the details.
	_, _, err = c.Promotions.Create(ctx, client.NewPromotion{Pipeline: "api", Source: "api-dev", Targets: []string{"api-stg"}})
	var apiErr *client.Error
	if !client.IsConflict(err) || !errors.As(err, &apiErr) || len(apiErr.Details) != 1 || !strings.Contains(apiErr.Details[0], "ci/integration") {
		t.Fatalf("blocked promotion: %v", err)
	}
	if _, _, err := c.Releases.CreateStatus(ctx, "api-dev", rel.ID, client.NewReleaseStatus{Context: "ci/integration", State: client.ReleaseStatusSuccess}); err != nil {
		t.Fatal(err)
	}

	p, _, err := c.Promotions.Create(ctx, client.NewPromotion{Pipeline: "api", Source: ids["api-dev"], SourceRelease: rel.ID, Targets: []string{ids["api-stg"], "api-stg-2"}, Safe: true})
	if err != nil || p.Status != client.PromotionPending || p.Source.Release.ID != rel.ID || !p.Safe || p.Ended() {
		t.Fatalf("create: %+v %v", p, err)
	}
	// The runner is held after the first target: Wait gives up with the
	// context.
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	pending, _, err := c.Promotions.Wait(short, p.ID)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) || pending == nil || pending.Ended() {
		t.Fatalf("wait on a held promotion: %+v %v", pending, err)
	}
	close(release)
	done, _, err := c.Promotions.Wait(ctx, p.ID)
	if err != nil || done.Status != client.PromotionSuccessful {
		t.Fatalf("wait: %+v %v", done, err)
	}
	if got, _, err := c.Promotions.Get(ctx, p.ID); err != nil || got.Status != client.PromotionSuccessful {
		t.Fatalf("get: %+v %v", got, err)
	}
	targets, _, err := c.Promotions.Targets(ctx, p.ID, nil)
	if err != nil || len(targets) != 2 || targets[1].Status != client.PromotionSuccessful || targets[0].Status != client.PromotionSuccessful || targets[0].Release == nil || targets[0].App.Name != "api-stg" {
		t.Fatalf("targets: %+v %v", targets, err)
	}
	promoted, _, err := c.Releases.Get(ctx, "api-stg", targets[0].Release.ID)
	if err != nil || promoted.Image != "registry/api:3" || promoted.PipelinePromotion == nil || promoted.PipelinePromotion.ID != p.ID {
		t.Fatalf("promoted release: %+v %v", promoted, err)
	}
	for _, pipeline := range []string{"api", ""} {
		list, _, err := c.Promotions.List(ctx, pipeline, nil)
		if err != nil || len(list) != 1 || list[0].ID != p.ID {
			t.Fatalf("list %q: %+v %v", pipeline, list, err)
		}
	}
	if _, _, err := c.Promotions.List(ctx, "nope", nil); !client.IsNotFound(err) {
		t.Fatalf("unknown pipeline: %v", err)
	}
}
