package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/internal/berthtest"
)

// Wire shapes of the Akkeris dialect, as a client decodes them.
type (
	ref struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	pipelineWire struct {
		ID        string `json:"id"`
		Name      string `json:"name"`
		CreatedAt string `json:"created_at"`
		UpdatedAt string `json:"updated_at"`
	}
	couplingWire struct {
		ID                   string `json:"id"`
		App                  ref    `json:"app"`
		Pipeline             ref    `json:"pipeline"`
		Stage                string `json:"stage"`
		RequiredStatusChecks struct {
			Contexts []string `json:"contexts"`
		} `json:"required_status_checks"`
	}
	releaseWire struct {
		ID          string            `json:"id"`
		App         ref               `json:"app"`
		Version     int               `json:"version"`
		Image       string            `json:"image"`
		MetaVersion string            `json:"meta_version"`
		Description string            `json:"description"`
		ConfigVars  map[string]string `json:"config_vars"`
		State       string            `json:"state"`
		Current     bool              `json:"current"`
		Promotion   *ref              `json:"pipeline_promotion"`
		CreatedAt   string            `json:"created_at"`
	}
	statusWire struct {
		ID          string `json:"id"`
		Release     ref    `json:"release"`
		Context     string `json:"context"`
		Name        string `json:"name"`
		State       string `json:"state"`
		Description string `json:"description"`
		TargetURL   string `json:"target_url"`
	}
	promotionWire struct {
		ID       string `json:"id"`
		Pipeline ref    `json:"pipeline"`
		Source   struct {
			App     ref `json:"app"`
			Release struct {
				ID      string `json:"id"`
				Version int    `json:"version"`
			} `json:"release"`
		} `json:"source"`
		Safe      bool   `json:"safe"`
		Status    string `json:"status"`
		CreatedAt string `json:"created_at"`
	}
	targetWire struct {
		ID                string `json:"id"`
		App               ref    `json:"app"`
		PipelinePromotion ref    `json:"pipeline_promotion"`
		Release           *ref   `json:"release"`
		Status            string `json:"status"`
		ErrorMessage      string `json:"error_message"`
	}
	errorWire struct {
		Code    string   `json:"code"`
		Message string   `json:"message"`
		Details []string `json:"details"`
	}
)

// setConfig sets public config vars on an app and binds it to an instance
// of each named static service, through the tsuru routes.
func setConfig(t *testing.T, srv *berthtest.Server, app string, vars map[string]string, services ...string) {
	t.Helper()
	if len(vars) > 0 {
		srv.Req(t, "POST", "/apps/"+app+"/env", srv.AdminToken, vars).Expect(t, http.StatusOK)
	}
	for _, svc := range services {
		if srv.Req(t, "GET", "/services/"+svc, srv.AdminToken, nil).Status == http.StatusNotFound {
			manifest := "id: " + svc + "\nenv:\n  " + strings.ToUpper(svc) + "_URL: " + svc + "://" + svc + ".internal\n"
			srv.Req(t, "POST", "/services", srv.AdminToken, manifest).Expect(t, http.StatusOK)
		}
		instance := svc + "-" + app
		srv.Req(t, "POST", "/services/instances", srv.AdminToken, map[string]string{"name": instance, "service_name": svc}).Expect(t, http.StatusOK)
		srv.Req(t, "PUT", "/services/instances/"+instance+"/"+app, srv.AdminToken, nil).Expect(t, http.StatusOK)
	}
}

func createRelease(t *testing.T, srv *berthtest.Server, token, app, image string) releaseWire {
	t.Helper()
	var r releaseWire
	srv.Req(t, "POST", "/apps/"+app+"/releases", token, map[string]string{"image": image}).Expect(t, http.StatusCreated).JSON(t, &r)
	return r
}

func postStatus(t *testing.T, srv *berthtest.Server, token, app, release, context, state string) statusWire {
	t.Helper()
	var st statusWire
	body := map[string]string{"context": context, "state": state, "name": "check " + context}
	srv.Req(t, "POST", "/apps/"+app+"/releases/"+release+"/statuses", token, body).Expect(t, http.StatusCreated).JSON(t, &st)
	return st
}

func createPipeline(t *testing.T, srv *berthtest.Server, token, name string) pipelineWire {
	t.Helper()
	var p pipelineWire
	srv.Req(t, "POST", "/pipelines", token, map[string]string{"name": name}).Expect(t, http.StatusCreated).JSON(t, &p)
	return p
}

func couple(t *testing.T, srv *berthtest.Server, token, app, pipeline, stage string, checks ...string) couplingWire {
	t.Helper()
	body := map[string]any{"app": app, "pipeline": pipeline, "stage": stage}
	if checks != nil {
		body["required_status_checks"] = map[string]any{"contexts": checks}
	}
	var c couplingWire
	srv.Req(t, "POST", "/pipeline-couplings", token, body).Expect(t, http.StatusCreated).JSON(t, &c)
	return c
}

func promotionBody(pipeline, source string, targets ...string) map[string]any {
	ts := make([]map[string]any, len(targets))
	for i, tg := range targets {
		ts[i] = map[string]any{"app": map[string]string{"id": tg}}
	}
	return map[string]any{
		"pipeline": map[string]string{"id": pipeline},
		"source":   map[string]any{"app": map[string]string{"id": source}},
		"targets":  ts,
	}
}

func releases(t *testing.T, srv *berthtest.Server, token, app string) []releaseWire {
	t.Helper()
	var out []releaseWire
	srv.Req(t, "GET", "/apps/"+app+"/releases", token, nil).Expect(t, http.StatusOK).JSON(t, &out)
	return out
}

// waitPromotion polls a promotion until it has ended.
func waitPromotion(t *testing.T, srv *berthtest.Server, token, id string) promotionWire {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var p promotionWire
		srv.Req(t, "GET", "/pipeline-promotions/"+id, token, nil).Expect(t, http.StatusOK).JSON(t, &p)
		if p.Status != "pending" {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("promotion %s still pending", id)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func promotionTargets(t *testing.T, srv *berthtest.Server, token, id string) []targetWire {
	t.Helper()
	var out []targetWire
	srv.Req(t, "GET", "/pipeline-promotions/"+id+"/promotion-targets", token, nil).Expect(t, http.StatusOK).JSON(t, &out)
	return out
}

func TestPipelines(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")

	p := createPipeline(t, srv, ana.Token, "my-test-pipeline")
	if uuid.Validate(p.ID) != nil || p.Name != "my-test-pipeline" {
		t.Fatalf("pipeline: %+v", p)
	}
	for _, ts := range []string{p.CreatedAt, p.UpdatedAt} {
		if _, err := time.Parse(time.RFC3339, ts); err != nil || !strings.HasSuffix(ts, "Z") {
			t.Fatalf("timestamp %q: %v", ts, err)
		}
	}
	for _, bad := range []string{"", "ab", "Upper-case", "1starts-digit", "under_score", "a" + strings.Repeat("b", 23), "has space"} {
		srv.Req(t, "POST", "/pipelines", ana.Token, map[string]string{"name": bad}).Expect(t, http.StatusBadRequest)
	}
	srv.Req(t, "POST", "/pipelines", ana.Token, map[string]string{"name": "a" + strings.Repeat("b", 22)}).Expect(t, http.StatusCreated)
	srv.Req(t, "POST", "/pipelines", ana.Token, "{").Expect(t, http.StatusBadRequest)
	srv.Req(t, "POST", "/pipelines", ana.Token, map[string]string{"name": "my-test-pipeline"}).Expect(t, http.StatusUnprocessableEntity)
	srv.Req(t, "POST", "/pipelines", "", map[string]string{"name": "anonymous"}).Expect(t, http.StatusUnauthorized)
	createPipeline(t, srv, ana.Token, "another")

	var list []pipelineWire
	srv.Req(t, "GET", "/pipelines", ana.Token, nil).Expect(t, http.StatusOK).JSON(t, &list)
	if len(list) != 3 || list[0].Name != "abbbbbbbbbbbbbbbbbbbbbb" || list[1].Name != "another" || list[2].Name != "my-test-pipeline" {
		t.Fatalf("list: %+v", list)
	}
	r := srv.Req(t, "GET", "/pipelines?limit=2", ana.Token, nil).Expect(t, http.StatusOK)
	r.JSON(t, &list)
	next := r.Header.Get("X-Next-Cursor")
	if len(list) != 2 || next == "" {
		t.Fatalf("page 1: %+v, cursor %q", list, next)
	}
	srv.Req(t, "GET", "/pipelines?limit=2&cursor="+next, ana.Token, nil).Expect(t, http.StatusOK).JSON(t, &list)
	if len(list) != 1 || list[0].Name != "my-test-pipeline" {
		t.Fatalf("page 2: %+v", list)
	}
	srv.Req(t, "GET", "/pipelines?limit=0", ana.Token, nil).Expect(t, http.StatusBadRequest)

	var got pipelineWire
	srv.Req(t, "GET", "/pipelines/my-test-pipeline", ana.Token, nil).Expect(t, http.StatusOK).JSON(t, &got)
	if got != p {
		t.Fatalf("by name: %+v, want %+v", got, p)
	}
	srv.Req(t, "GET", "/pipelines/"+p.ID, ana.Token, nil).Expect(t, http.StatusOK).JSON(t, &got)
	if got != p {
		t.Fatalf("by id: %+v, want %+v", got, p)
	}
	srv.Req(t, "GET", "/pipelines/nope", ana.Token, nil).Expect(t, http.StatusNotFound)
	srv.Req(t, "GET", "/pipelines/"+uuid.NewString(), ana.Token, nil).Expect(t, http.StatusNotFound)

	// A pipeline is its team's to delete, with its couplings and their
	// gates; other teams may not.
	srv.Req(t, "DELETE", "/pipelines/another", ana.Token, nil).Expect(t, http.StatusOK).JSON(t, &got)
	if got.Name != "another" {
		t.Fatalf("deleted: %+v", got)
	}
	srv.Req(t, "DELETE", "/pipelines/another", ana.Token, nil).Expect(t, http.StatusNotFound)
	createApp(t, srv, ana.Token, "web-dev")
	c := couple(t, srv, ana.Token, "web-dev", "my-test-pipeline", "development")
	srv.Req(t, "PATCH", "/pipeline-couplings/"+c.ID, ana.Token, map[string]any{"required_status_checks": map[string]any{"contexts": []string{"ci/tests"}}}).Expect(t, http.StatusOK)
	stranger := srv.NewTeamUser(t, "stranger@example.com", "strangers")
	srv.Req(t, "DELETE", "/pipelines/"+p.ID, stranger.Token, nil).Expect(t, http.StatusForbidden)
	srv.Req(t, "DELETE", "/pipelines/"+p.ID, ana.Token, nil).Expect(t, http.StatusOK).JSON(t, &got)
	if got != p {
		t.Fatalf("deleted: %+v, want %+v", got, p)
	}
	srv.Req(t, "GET", "/pipeline-couplings/"+c.ID, ana.Token, nil).Expect(t, http.StatusNotFound)
	srv.Req(t, "GET", "/apps/web-dev/pipeline-couplings", ana.Token, nil).Expect(t, http.StatusNotFound)
	// The app is free to join another pipeline.
	createPipeline(t, srv, ana.Token, "web")
	couple(t, srv, ana.Token, "web-dev", "web", "development")
}

func TestPipelineStages(t *testing.T) {
	srv := berthtest.Start(t)
	var stages map[string]*string
	srv.Req(t, "GET", "/pipeline-stages", srv.AdminToken, nil).Expect(t, http.StatusOK).JSON(t, &stages)
	want := map[string]string{"review": "development", "development": "staging", "staging": "production"}
	if len(stages) != 4 || stages["production"] != nil {
		t.Fatalf("stages: %v", stages)
	}
	for from, to := range want {
		if stages[from] == nil || *stages[from] != to {
			t.Fatalf("stage after %s: %v, want %s", from, stages[from], to)
		}
	}
	srv.Req(t, "GET", "/pipeline-stages", "", nil).Expect(t, http.StatusUnauthorized)
}

func TestPipelineStatuses(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	createApp(t, srv, ana.Token, "api-dev")
	createApp(t, srv, ana.Token, "api-stg")
	createApp(t, srv, ana.Token, "loner")
	createPipeline(t, srv, ana.Token, "api")
	couple(t, srv, ana.Token, "api-dev", "api", "development")
	couple(t, srv, ana.Token, "api-stg", "api", "staging")

	var seen []domain.StatusContext
	srv.Req(t, "GET", "/pipelines/api/statuses", ana.Token, nil).Expect(t, http.StatusOK).JSON(t, &seen)
	if len(seen) != 0 {
		t.Fatalf("statuses of a pipeline without releases: %v", seen)
	}

	r1 := createRelease(t, srv, ana.Token, "api-dev", "registry/api:1")
	r2 := createRelease(t, srv, ana.Token, "api-dev", "registry/api:2")
	r3 := createRelease(t, srv, ana.Token, "api-stg", "registry/api:1")
	postStatus(t, srv, ana.Token, "api-dev", r1.ID, "circleci/integration-test-1", "success")
	postStatus(t, srv, ana.Token, "api-dev", r2.ID, "circleci/integration-test-1", "failure")
	postStatus(t, srv, ana.Token, "api-stg", r3.ID, "taas/integration-test-2", "pending")
	// The same context with another name is another pair.
	srv.Req(t, "POST", "/apps/api-stg/releases/"+r3.ID+"/statuses", ana.Token,
		map[string]string{"context": "circleci/integration-test-1", "name": "Integration Smoke Test 1", "state": "success"}).Expect(t, http.StatusCreated)
	// Apps outside the pipeline do not count.
	loner := createRelease(t, srv, ana.Token, "loner", "registry/loner:1")
	postStatus(t, srv, ana.Token, "loner", loner.ID, "elsewhere/check", "success")

	srv.Req(t, "GET", "/pipelines/api/statuses", ana.Token, nil).Expect(t, http.StatusOK).JSON(t, &seen)
	want := []domain.StatusContext{
		{Context: "circleci/integration-test-1", Name: "Integration Smoke Test 1"},
		{Context: "circleci/integration-test-1", Name: "check circleci/integration-test-1"},
		{Context: "taas/integration-test-2", Name: "check taas/integration-test-2"},
	}
	if len(seen) != len(want) {
		t.Fatalf("statuses: %v, want %v", seen, want)
	}
	for i := range want {
		if seen[i] != want[i] {
			t.Fatalf("statuses: %v, want %v", seen, want)
		}
	}
	r := srv.Req(t, "GET", "/pipelines/api/statuses?limit=2", ana.Token, nil).Expect(t, http.StatusOK)
	r.JSON(t, &seen)
	if len(seen) != 2 || r.Header.Get("X-Next-Cursor") == "" {
		t.Fatalf("page 1: %v", seen)
	}
	srv.Req(t, "GET", "/pipelines/api/statuses?limit=2&cursor="+strings.ReplaceAll(r.Header.Get("X-Next-Cursor"), " ", "%20"), ana.Token, nil).Expect(t, http.StatusOK).JSON(t, &seen)
	if len(seen) != 1 || seen[0] != want[2] {
		t.Fatalf("page 2: %v", seen)
	}
	srv.Req(t, "GET", "/pipelines/api/statuses?cursor=bogus", ana.Token, nil).Expect(t, http.StatusBadRequest)
	srv.Req(t, "GET", "/pipelines/nope/statuses", ana.Token, nil).Expect(t, http.StatusNotFound)
}

func TestCouplings(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	bo := srv.NewTeamUser(t, "bo@example.com", "ops")
	dev := createApp(t, srv, ana.Token, "shop-dev")
	createApp(t, srv, ana.Token, "shop-stg")
	createApp(t, srv, ana.Token, "shop-prd")
	createApp(t, srv, ana.Token, "shop-pr1")
	createApp(t, srv, bo.Token, "ops-app")
	p := createPipeline(t, srv, ana.Token, "shop")

	// The spec's example: app and pipeline by name, with checks.
	c := couple(t, srv, ana.Token, "shop-dev", "shop", "development", "tests/integration-xyz")
	if uuid.Validate(c.ID) != nil || c.App.ID != dev.ID || c.App.Name != "shop-dev" || c.Pipeline.ID != p.ID || c.Stage != "development" ||
		len(c.RequiredStatusChecks.Contexts) != 1 || c.RequiredStatusChecks.Contexts[0] != "tests/integration-xyz" {
		t.Fatalf("coupling: %+v", c)
	}
	// By id, without checks: contexts is an empty list, not null.
	prd := couple(t, srv, ana.Token, "shop-prd", p.ID, "production")
	if prd.RequiredStatusChecks.Contexts == nil || len(prd.RequiredStatusChecks.Contexts) != 0 {
		t.Fatalf("contexts: %#v", prd.RequiredStatusChecks.Contexts)
	}
	stg := couple(t, srv, ana.Token, "shop-stg", "shop", "staging", "ci/unit-tests", "ci/unit-tests", "qa/approval")
	if got := stg.RequiredStatusChecks.Contexts; len(got) != 2 || got[0] != "ci/unit-tests" || got[1] != "qa/approval" {
		t.Fatalf("duplicate contexts kept: %v", got)
	}
	review := couple(t, srv, ana.Token, "shop-pr1", "shop", "review")

	body := func(app, pipeline, stage string, checks ...string) map[string]any {
		return map[string]any{"app": app, "pipeline": pipeline, "stage": stage, "required_status_checks": map[string]any{"contexts": checks}}
	}
	createApp(t, srv, ana.Token, "spare")
	cases := []struct {
		name  string
		token string
		body  any
		want  int
	}{
		{"unknown stage", ana.Token, body("spare", "shop", "qa"), http.StatusBadRequest},
		{"no stage", ana.Token, map[string]string{"app": "spare", "pipeline": "shop"}, http.StatusBadRequest},
		{"no app", ana.Token, map[string]string{"pipeline": "shop", "stage": "review"}, http.StatusBadRequest},
		{"bad context", ana.Token, body("spare", "shop", "staging", "x"), http.StatusBadRequest},
		{"malformed", ana.Token, "{", http.StatusBadRequest},
		{"unknown app", ana.Token, body("nope", "shop", "staging"), http.StatusNotFound},
		{"unknown pipeline", ana.Token, body("spare", "nope", "staging"), http.StatusNotFound},
		{"another team's app", ana.Token, body("ops-app", "shop", "staging"), http.StatusForbidden},
		{"already coupled", ana.Token, body("shop-dev", "shop", "staging"), http.StatusConflict},
		{"checks on review", ana.Token, body("spare", "shop", "review", "ci/unit-tests"), http.StatusUnprocessableEntity},
		{"no token", "", body("spare", "shop", "staging"), http.StatusUnauthorized},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := srv.Req(t, "POST", "/pipeline-couplings", tc.token, tc.body).Expect(t, tc.want)
			if r.ErrorMessage(t) == "" {
				t.Fatalf("error without message: %s", r.Body)
			}
		})
	}
	// An app is in at most one pipeline.
	createPipeline(t, srv, ana.Token, "other")
	srv.Req(t, "POST", "/pipeline-couplings", ana.Token, body("shop-dev", "other", "development")).Expect(t, http.StatusConflict)

	var list []couplingWire
	srv.Req(t, "GET", "/pipelines/shop/pipeline-couplings", bo.Token, nil).Expect(t, http.StatusForbidden)
	srv.Req(t, "GET", "/pipelines/shop/pipeline-couplings", ana.Token, nil).Expect(t, http.StatusOK).JSON(t, &list)
	if len(list) != 4 || list[0].ID != review.ID || list[1].ID != c.ID || list[2].ID != stg.ID || list[3].ID != prd.ID {
		t.Fatalf("pipeline couplings are not in stage order: %+v", list)
	}
	r := srv.Req(t, "GET", "/pipelines/"+p.ID+"/pipeline-couplings?limit=3", ana.Token, nil).Expect(t, http.StatusOK)
	r.JSON(t, &list)
	srv.Req(t, "GET", "/pipelines/shop/pipeline-couplings?limit=3&cursor="+r.Header.Get("X-Next-Cursor"), ana.Token, nil).Expect(t, http.StatusOK).JSON(t, &list)
	if len(list) != 1 || list[0].ID != prd.ID {
		t.Fatalf("second page: %+v", list)
	}
	srv.Req(t, "GET", "/pipelines/nope/pipeline-couplings", ana.Token, nil).Expect(t, http.StatusNotFound)
	srv.Req(t, "GET", "/pipeline-couplings", ana.Token, nil).Expect(t, http.StatusOK).JSON(t, &list)
	if len(list) != 4 {
		t.Fatalf("all couplings: %+v", list)
	}
	r = srv.Req(t, "GET", "/pipeline-couplings?limit=2", ana.Token, nil).Expect(t, http.StatusOK)
	r.JSON(t, &list)
	seen := map[string]bool{list[0].ID: true, list[1].ID: true}
	srv.Req(t, "GET", "/pipeline-couplings?limit=2&cursor="+r.Header.Get("X-Next-Cursor"), ana.Token, nil).Expect(t, http.StatusOK).JSON(t, &list)
	for _, c := range list {
		seen[c.ID] = true
	}
	if len(seen) != 4 {
		t.Fatalf("paging all couplings saw %d", len(seen))
	}

	var got couplingWire
	srv.Req(t, "GET", "/apps/shop-dev/pipeline-couplings", ana.Token, nil).Expect(t, http.StatusOK).JSON(t, &got)
	if got.ID != c.ID {
		t.Fatalf("by app name: %+v", got)
	}
	srv.Req(t, "GET", "/apps/"+dev.ID+"/pipeline-couplings", ana.Token, nil).Expect(t, http.StatusOK).JSON(t, &got)
	if got.ID != c.ID {
		t.Fatalf("by app id: %+v", got)
	}
	srv.Req(t, "GET", "/apps/spare/pipeline-couplings", ana.Token, nil).Expect(t, http.StatusNotFound)
	srv.Req(t, "GET", "/apps/nope/pipeline-couplings", ana.Token, nil).Expect(t, http.StatusNotFound)
	srv.Req(t, "GET", "/apps/shop-dev/pipeline-couplings", bo.Token, nil).Expect(t, http.StatusForbidden)
	srv.Req(t, "GET", "/pipeline-couplings/"+c.ID, bo.Token, nil).Expect(t, http.StatusForbidden)
	srv.Req(t, "GET", "/pipeline-couplings/"+c.ID, ana.Token, nil).Expect(t, http.StatusOK).JSON(t, &got)
	if got.ID != c.ID || got.Stage != "development" {
		t.Fatalf("get: %+v", got)
	}
	srv.Req(t, "GET", "/pipeline-couplings/"+uuid.NewString(), ana.Token, nil).Expect(t, http.StatusNotFound)

	// The gate is the pipeline's team's: dan maintains shop-dev (lain) but
	// is not in the pipeline's team; he tightens the gate and may not
	// loosen it.
	dan := srv.NewUser(t, "dan@example.com")
	srv.Req(t, "POST", "/api/v1/repos/shop-dev/maintainers/", ana.Token, map[string]string{"username": dan.Email, "role": "maintainer"}).Expect(t, http.StatusOK)
	patch := func(token, id string, contexts ...string) *berthtest.Response {
		if contexts == nil {
			contexts = []string{}
		}
		return srv.Req(t, "PATCH", "/pipeline-couplings/"+id, token, map[string]any{"required_status_checks": map[string]any{"contexts": contexts}})
	}
	patch(ana.Token, c.ID, "tests/integration-xyz", "foo/bar-baz").Expect(t, http.StatusOK).JSON(t, &got)
	if ctx := got.RequiredStatusChecks.Contexts; len(ctx) != 2 || ctx[1] != "foo/bar-baz" {
		t.Fatalf("patched: %v", ctx)
	}
	patch(bo.Token, c.ID, "tests/integration-xyz", "foo/bar-baz", "more/checks").Expect(t, http.StatusForbidden)
	srv.Req(t, "GET", "/pipeline-couplings/"+c.ID, dan.Token, nil).Expect(t, http.StatusOK)
	patch(dan.Token, c.ID, "tests/integration-xyz", "foo/bar-baz", "more/checks").Expect(t, http.StatusOK)
	patch(dan.Token, c.ID, "foo/bar-baz").Expect(t, http.StatusForbidden)
	patch(dan.Token, c.ID).Expect(t, http.StatusForbidden)
	srv.Req(t, "DELETE", "/pipeline-couplings/"+c.ID, dan.Token, nil).Expect(t, http.StatusForbidden)
	srv.Req(t, "GET", "/pipeline-couplings/"+c.ID, ana.Token, nil).Expect(t, http.StatusOK).JSON(t, &got)
	if len(got.RequiredStatusChecks.Contexts) != 3 {
		t.Fatalf("a refused change changed the coupling: %+v", got)
	}
	patch(ana.Token, c.ID, "tests/integration-xyz", "foo/bar-baz").Expect(t, http.StatusOK)
	patch(srv.AdminToken, c.ID, "foo/bar-baz").Expect(t, http.StatusOK).JSON(t, &got)
	if ctx := got.RequiredStatusChecks.Contexts; len(ctx) != 1 || ctx[0] != "foo/bar-baz" {
		t.Fatalf("admin patch: %v", ctx)
	}
	patch(ana.Token, review.ID, "ci/unit-tests").Expect(t, http.StatusUnprocessableEntity)
	patch(ana.Token, c.ID, "bad").Expect(t, http.StatusBadRequest)
	patch(ana.Token, uuid.NewString(), "foo/bar-baz").Expect(t, http.StatusNotFound)
	srv.Req(t, "PATCH", "/pipeline-couplings/"+c.ID, ana.Token, map[string]any{"stage": "staging"}).Expect(t, http.StatusBadRequest)
	srv.Req(t, "PATCH", "/pipeline-couplings/"+c.ID, ana.Token, map[string]any{"required_status_checks": map[string]any{}}).Expect(t, http.StatusBadRequest)

	// Without checks, a coupling gates nothing: the app's maintainers take
	// the app out of the pipeline without its team.
	patch(ana.Token, c.ID).Expect(t, http.StatusOK)
	srv.Req(t, "DELETE", "/pipeline-couplings/"+c.ID, bo.Token, nil).Expect(t, http.StatusForbidden)
	srv.Req(t, "DELETE", "/pipeline-couplings/"+c.ID, dan.Token, nil).Expect(t, http.StatusOK).JSON(t, &got)
	if got.ID != c.ID {
		t.Fatalf("deleted: %+v", got)
	}
	srv.Req(t, "DELETE", "/pipeline-couplings/"+c.ID, ana.Token, nil).Expect(t, http.StatusNotFound)
	srv.Req(t, "GET", "/apps/shop-dev/pipeline-couplings", ana.Token, nil).Expect(t, http.StatusNotFound)
	// A gated coupling is the pipeline's team's to remove.
	srv.Req(t, "DELETE", "/pipeline-couplings/"+stg.ID, ana.Token, nil).Expect(t, http.StatusOK)
	// Out of the pipeline, the app may join another.
	couple(t, srv, ana.Token, "shop-dev", "other", "development")
}

// TestAkkerisListsPageAndAuthenticate: every list of the dialect refuses a
// bad page size and a missing credential.
func TestAkkerisListsPageAndAuthenticate(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	apps := stagedPipeline(t, srv, ana.Token, "web", "web-dev:development", "web-stg:staging")
	rel := createRelease(t, srv, ana.Token, "web-dev", "registry/web:1")
	p := promote(t, srv, ana.Token, promotionBody("web", "web-dev", "web-stg"))
	waitPromotion(t, srv, ana.Token, p.ID)

	for _, path := range []string{
		"/apps/web-dev/releases",
		"/apps/" + apps["web-dev"].ID + "/releases/" + rel.ID + "/statuses",
		"/pipelines",
		"/pipelines/web/statuses",
		"/pipelines/web/pipeline-couplings",
		"/pipeline-couplings",
		"/pipeline-promotions",
		"/pipeline-promotions/" + p.ID + "/promotion-targets",
	} {
		srv.Req(t, "GET", path, ana.Token, nil).Expect(t, http.StatusOK)
		srv.Req(t, "GET", path+"?limit=0", ana.Token, nil).Expect(t, http.StatusBadRequest)
		srv.Req(t, "GET", path+"?limit=1001", ana.Token, nil).Expect(t, http.StatusBadRequest)
		srv.Req(t, "GET", path, "", nil).Expect(t, http.StatusUnauthorized)
	}
	srv.Req(t, "GET", "/apps/web-dev/releases?cursor=abc", ana.Token, nil).Expect(t, http.StatusBadRequest)
	srv.Req(t, "GET", "/pipeline-promotions/"+p.ID+"/promotion-targets?cursor=abc", ana.Token, nil).Expect(t, http.StatusBadRequest)
	srv.Req(t, "GET", "/apps/nope/releases/"+rel.ID+"/statuses", ana.Token, nil).Expect(t, http.StatusNotFound)
	srv.Req(t, "GET", "/apps/web-dev/releases/9/statuses", ana.Token, nil).Expect(t, http.StatusNotFound)
	srv.Req(t, "GET", "/apps/web-dev/releases/"+rel.ID, "", nil).Expect(t, http.StatusUnauthorized)
}
