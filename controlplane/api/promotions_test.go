package api_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/berthdev/terraform-provider-berth/controlplane/core"
	"github.com/berthdev/terraform-provider-berth/internal/berthtest"
)

// stagedPipeline creates a pipeline and, for each "app:stage[:check,...]",
// an app of the caller's team coupled at that stage.
func stagedPipeline(t *testing.T, srv *berthtest.Server, token, pipeline string, apps ...string) map[string]ref {
	t.Helper()
	createPipeline(t, srv, token, pipeline)
	out := map[string]ref{}
	for _, spec := range apps {
		parts := strings.Split(spec, ":")
		out[parts[0]] = createApp(t, srv, token, parts[0])
		var checks []string
		if len(parts) > 2 {
			checks = strings.Split(parts[2], ",")
		}
		couple(t, srv, token, parts[0], pipeline, parts[1], checks...)
	}
	return out
}

func promote(t *testing.T, srv *berthtest.Server, token string, body map[string]any) promotionWire {
	t.Helper()
	var p promotionWire
	srv.Req(t, "POST", "/pipeline-promotions", token, body).Expect(t, http.StatusOK).JSON(t, &p)
	if p.Status != "pending" || uuid.Validate(p.ID) != nil {
		t.Fatalf("new promotion: %+v", p)
	}
	return p
}

// checkPromoted verifies that a successful promotion gave each target
// exactly one new release copying the source release, with the target's
// own config.
func checkPromoted(t *testing.T, srv *berthtest.Server, token string, p promotionWire, source releaseWire, targets ...string) {
	t.Helper()
	if p.Status != "successful" {
		t.Fatalf("promotion %s: %s; targets %+v", p.ID, p.Status, promotionTargets(t, srv, token, p.ID))
	}
	records := promotionTargets(t, srv, token, p.ID)
	if len(records) != len(targets) {
		t.Fatalf("target records: %+v", records)
	}
	for i, name := range targets {
		rec := records[i]
		if rec.App.Name != name || rec.Status != "successful" || rec.ErrorMessage != "" || rec.Release == nil || rec.PipelinePromotion.ID != p.ID {
			t.Fatalf("target record %d: %+v", i, rec)
		}
		var r releaseWire
		srv.Req(t, "GET", "/apps/"+name+"/releases/"+rec.Release.ID, token, nil).Expect(t, http.StatusOK).JSON(t, &r)
		if r.Image != source.Image || r.MetaVersion != source.MetaVersion || r.Promotion == nil || r.Promotion.ID != p.ID || !r.Current {
			t.Fatalf("release on %s: %+v, promoted from %+v", name, r, source)
		}
		if r.ConfigVars["APP_NAME"] != name {
			t.Fatalf("release on %s does not keep its own config: %v", name, r.ConfigVars)
		}
	}
}

func newestRelease(t *testing.T, srv *berthtest.Server, token, app string) releaseWire {
	t.Helper()
	list := releases(t, srv, token, app)
	if len(list) == 0 {
		t.Fatalf("%s has no release", app)
	}
	return list[0]
}

func TestPromotionThroughEveryStage(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	apps := stagedPipeline(t, srv, ana.Token, "shop",
		"shop-pr7:review",
		"shop-dev:development:ci/unit-tests",
		"shop-stg:staging:ci/integration,qa/approval",
		"shop-prd:production:qa/sign-off")
	for name := range apps {
		setConfig(t, srv, name, map[string]string{"APP_NAME": name, "LOG_LEVEL": "debug"}, "redis")
	}

	// review -> development, all by name.
	built := createRelease(t, srv, ana.Token, "shop-pr7", "registry/shop:1.4.2")
	postStatus(t, srv, ana.Token, "shop-pr7", built.ID, "ci/unit-tests", "success")
	p1 := promote(t, srv, ana.Token, promotionBody("shop", "shop-pr7", "shop-dev"))
	if p1.Pipeline.Name != "shop" || p1.Source.App.Name != "shop-pr7" || p1.Source.Release.ID != built.ID || p1.Source.Release.Version != 1 || p1.Safe {
		t.Fatalf("promotion: %+v", p1)
	}
	checkPromoted(t, srv, ana.Token, waitPromotion(t, srv, ana.Token, p1.ID), built, "shop-dev")

	// development -> staging, all by id: the release promoted is the
	// source's newest, the one the first promotion made.
	onDev := newestRelease(t, srv, ana.Token, "shop-dev")
	postStatus(t, srv, ana.Token, "shop-dev", onDev.ID, "ci/integration", "success")
	postStatus(t, srv, ana.Token, "shop-dev", onDev.ID, "qa/approval", "success")
	p2 := promote(t, srv, ana.Token, promotionBody(p1.Pipeline.ID, apps["shop-dev"].ID, apps["shop-stg"].ID))
	if p2.Source.Release.ID != onDev.ID {
		t.Fatalf("promoted release: %+v, want %s", p2.Source.Release, onDev.ID)
	}
	checkPromoted(t, srv, ana.Token, waitPromotion(t, srv, ana.Token, p2.ID), onDev, "shop-stg")

	// staging -> production, naming the release and asking for a safe
	// promotion: both apps have the same config var names and services.
	onStg := newestRelease(t, srv, ana.Token, "shop-stg")
	postStatus(t, srv, ana.Token, "shop-stg", onStg.ID, "qa/sign-off", "success")
	body := promotionBody("shop", "shop-stg", "shop-prd")
	body["source"] = map[string]any{"app": map[string]any{"id": "shop-stg", "release": map[string]string{"id": onStg.ID}}}
	body["safe"] = true
	p3 := promote(t, srv, ana.Token, body)
	if !p3.Safe {
		t.Fatalf("safe flag lost: %+v", p3)
	}
	checkPromoted(t, srv, ana.Token, waitPromotion(t, srv, ana.Token, p3.ID), onStg, "shop-prd")
	if got := newestRelease(t, srv, ana.Token, "shop-prd"); got.Image != "registry/shop:1.4.2" || got.Version != 1 {
		t.Fatalf("production runs %+v", got)
	}

	// Production is the last stage.
	r := srv.Req(t, "POST", "/pipeline-promotions", ana.Token, promotionBody("shop", "shop-prd", "shop-stg")).Expect(t, http.StatusUnprocessableEntity)
	if !strings.Contains(r.ErrorMessage(t), "last") {
		t.Fatalf("message: %s", r.Body)
	}

	var list []promotionWire
	srv.Req(t, "GET", "/pipeline-promotions?pipeline=shop", ana.Token, nil).Expect(t, http.StatusOK).JSON(t, &list)
	if len(list) != 3 || list[0].ID != p3.ID || list[1].ID != p2.ID || list[2].ID != p1.ID || list[0].Status != "successful" {
		t.Fatalf("promotions are not newest first: %+v", list)
	}
	resp := srv.Req(t, "GET", "/pipeline-promotions?pipeline="+p1.Pipeline.ID+"&limit=2", ana.Token, nil).Expect(t, http.StatusOK)
	resp.JSON(t, &list)
	srv.Req(t, "GET", "/pipeline-promotions?pipeline=shop&limit=2&cursor="+resp.Header.Get("X-Next-Cursor"), ana.Token, nil).Expect(t, http.StatusOK).JSON(t, &list)
	if len(list) != 1 || list[0].ID != p1.ID {
		t.Fatalf("second page: %+v", list)
	}
	createPipeline(t, srv, ana.Token, "empty")
	srv.Req(t, "GET", "/pipeline-promotions?pipeline=empty", ana.Token, nil).Expect(t, http.StatusOK).JSON(t, &list)
	if len(list) != 0 {
		t.Fatalf("promotions of an empty pipeline: %+v", list)
	}
	srv.Req(t, "GET", "/pipeline-promotions", ana.Token, nil).Expect(t, http.StatusOK).JSON(t, &list)
	if len(list) != 3 {
		t.Fatalf("all promotions: %+v", list)
	}
	srv.Req(t, "GET", "/pipeline-promotions?pipeline=nope", ana.Token, nil).Expect(t, http.StatusNotFound)
	srv.Req(t, "GET", "/pipeline-promotions/"+uuid.NewString(), ana.Token, nil).Expect(t, http.StatusNotFound)
	srv.Req(t, "GET", "/pipeline-promotions/"+uuid.NewString()+"/promotion-targets", ana.Token, nil).Expect(t, http.StatusNotFound)
	srv.Req(t, "GET", "/pipeline-promotions/"+p1.ID, "", nil).Expect(t, http.StatusUnauthorized)
}

func TestPromotionBlockedByStatusChecks(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	stagedPipeline(t, srv, ana.Token, "api",
		"api-dev:development",
		"api-stg-a:staging:ci/integration",
		"api-stg-b:staging:ci/integration,qa/approval,sec/scan-deps")
	for _, name := range []string{"api-dev", "api-stg-a", "api-stg-b"} {
		setConfig(t, srv, name, map[string]string{"APP_NAME": name})
	}
	createRelease(t, srv, ana.Token, "api-stg-a", "registry/api:0.9")
	rel := createRelease(t, srv, ana.Token, "api-dev", "registry/api:1.0")
	postStatus(t, srv, ana.Token, "api-dev", rel.ID, "ci/integration", "success")
	qa := postStatus(t, srv, ana.Token, "api-dev", rel.ID, "qa/approval", "failure")

	r := srv.Req(t, "POST", "/pipeline-promotions", ana.Token, promotionBody("api", "api-dev", "api-stg-a", "api-stg-b")).Expect(t, http.StatusConflict)
	var e errorWire
	r.JSON(t, &e)
	// One line per unmet context; api-stg-a alone would pass, yet nothing
	// is promoted.
	if e.Code != "conflict" || len(e.Details) != 2 ||
		!strings.Contains(e.Details[0], `"qa/approval" is failure`) || !strings.Contains(e.Details[1], `"sec/scan-deps" is missing`) {
		t.Fatalf("error: %+v", e)
	}
	if got := releases(t, srv, ana.Token, "api-stg-a"); len(got) != 1 || got[0].Image != "registry/api:0.9" {
		t.Fatalf("api-stg-a changed: %+v", got)
	}
	if got := releases(t, srv, ana.Token, "api-stg-b"); len(got) != 0 {
		t.Fatalf("api-stg-b changed: %+v", got)
	}
	var list []promotionWire
	srv.Req(t, "GET", "/pipeline-promotions?pipeline=api", ana.Token, nil).Expect(t, http.StatusOK).JSON(t, &list)
	if len(list) != 0 {
		t.Fatalf("a refused promotion was recorded: %+v", list)
	}
	// A pending check blocks too.
	srv.Req(t, "PATCH", "/apps/api-dev/releases/"+rel.ID+"/statuses/"+qa.ID, ana.Token, map[string]string{"state": "pending"}).Expect(t, http.StatusOK)
	srv.Req(t, "POST", "/pipeline-promotions", ana.Token, promotionBody("api", "api-dev", "api-stg-b")).Expect(t, http.StatusConflict).JSON(t, &e)
	if len(e.Details) != 2 || !strings.Contains(e.Details[0], "is pending") {
		t.Fatalf("error: %+v", e)
	}

	// Once every check passes, the same promotion goes through.
	srv.Req(t, "PATCH", "/apps/api-dev/releases/"+rel.ID+"/statuses/"+qa.ID, ana.Token, map[string]string{"state": "success"}).Expect(t, http.StatusOK)
	postStatus(t, srv, ana.Token, "api-dev", rel.ID, "sec/scan-deps", "success")
	p := promote(t, srv, ana.Token, promotionBody("api", "api-dev", "api-stg-a", "api-stg-b"))
	checkPromoted(t, srv, ana.Token, waitPromotion(t, srv, ana.Token, p.ID), rel, "api-stg-a", "api-stg-b")
}

func TestSafePromotion(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	stagedPipeline(t, srv, ana.Token, "svc", "svc-dev:development", "svc-stg:staging")
	setConfig(t, srv, "svc-dev", map[string]string{"APP_NAME": "svc-dev", "FEATURE_X": "on"}, "redis")
	setConfig(t, srv, "svc-stg", map[string]string{"APP_NAME": "svc-stg", "LEGACY": "1"}, "redis", "postgres")
	rel := createRelease(t, srv, ana.Token, "svc-dev", "registry/svc:2")

	body := promotionBody("svc", "svc-dev", "svc-stg")
	body["safe"] = true
	var e errorWire
	srv.Req(t, "POST", "/pipeline-promotions", ana.Token, body).Expect(t, http.StatusUnprocessableEntity).JSON(t, &e)
	want := []string{
		`config var "FEATURE_X" is set on svc-dev but not on svc-stg`,
		`config var "LEGACY" is set on svc-stg but not on svc-dev`,
		`service "postgres" is bound to svc-stg but not to svc-dev`,
	}
	if !slices.Equal(e.Details, want) {
		t.Fatalf("differences: %q, want %q", e.Details, want)
	}
	if got := releases(t, srv, ana.Token, "svc-stg"); len(got) != 0 {
		t.Fatalf("a refused safe promotion released: %+v", got)
	}

	// Same names and services, different values: safe.
	setConfig(t, srv, "svc-dev", map[string]string{"LEGACY": "0"}, "postgres")
	setConfig(t, srv, "svc-stg", map[string]string{"FEATURE_X": "off"})
	p := promote(t, srv, ana.Token, body)
	checkPromoted(t, srv, ana.Token, waitPromotion(t, srv, ana.Token, p.ID), rel, "svc-stg")
}

func TestPromotionRules(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	bo := srv.NewTeamUser(t, "bo@example.com", "ops")
	apps := stagedPipeline(t, srv, ana.Token, "web", "web-dev:development", "web-stg:staging", "web-prd:production")
	createApp(t, srv, bo.Token, "ops-stg")
	// Only an admin may couple another team's app into devs' pipeline.
	srv.Req(t, "POST", "/pipeline-couplings", bo.Token, map[string]string{"app": "ops-stg", "pipeline": "web", "stage": "staging"}).Expect(t, http.StatusForbidden)
	couple(t, srv, srv.AdminToken, "ops-stg", "web", "staging")
	createApp(t, srv, ana.Token, "loner")
	stagedPipeline(t, srv, ana.Token, "other", "other-stg:staging")
	srv.Req(t, "POST", "/pipeline-promotions", ana.Token, promotionBody("web", "web-dev", "web-stg")).Expect(t, http.StatusUnprocessableEntity) // no release yet
	rel := createRelease(t, srv, ana.Token, "web-dev", "registry/web:1")
	createRelease(t, srv, ana.Token, "loner", "registry/loner:1")

	withRelease := func(id string) map[string]any {
		b := promotionBody("web", "web-dev", "web-stg")
		b["source"] = map[string]any{"app": map[string]any{"id": "web-dev", "release": map[string]string{"id": id}}}
		return b
	}
	cases := []struct {
		name  string
		token string
		body  any
		want  int
	}{
		{"malformed", ana.Token, "{", http.StatusBadRequest},
		{"no pipeline", ana.Token, promotionBody("", "web-dev", "web-stg"), http.StatusBadRequest},
		{"no source", ana.Token, promotionBody("web", "", "web-stg"), http.StatusBadRequest},
		{"no targets", ana.Token, promotionBody("web", "web-dev"), http.StatusBadRequest},
		{"target without id", ana.Token, promotionBody("web", "web-dev", ""), http.StatusBadRequest},
		{"target twice", ana.Token, promotionBody("web", "web-dev", "web-stg", apps["web-stg"].ID), http.StatusBadRequest},
		{"unknown pipeline", ana.Token, promotionBody("nope", "web-dev", "web-stg"), http.StatusNotFound},
		{"unknown source", ana.Token, promotionBody("web", "nope", "web-stg"), http.StatusNotFound},
		{"unknown target", ana.Token, promotionBody("web", "web-dev", "nope"), http.StatusNotFound},
		{"unknown release", ana.Token, withRelease(uuid.NewString()), http.StatusNotFound},
		{"unknown version", ana.Token, withRelease("7"), http.StatusNotFound},
		{"no access to a target", ana.Token, promotionBody("web", "web-dev", "web-stg", "ops-stg"), http.StatusForbidden},
		{"no access to the source", bo.Token, promotionBody("web", "web-dev", "ops-stg"), http.StatusForbidden},
		{"source not coupled", ana.Token, promotionBody("web", "loner", "web-stg"), http.StatusUnprocessableEntity},
		{"source in another pipeline", ana.Token, promotionBody("other", "web-dev", "other-stg"), http.StatusUnprocessableEntity},
		{"target not coupled", ana.Token, promotionBody("web", "web-dev", "loner"), http.StatusUnprocessableEntity},
		{"target in another pipeline", ana.Token, promotionBody("web", "web-dev", "other-stg"), http.StatusUnprocessableEntity},
		{"target skips a stage", ana.Token, promotionBody("web", "web-dev", "web-prd"), http.StatusUnprocessableEntity},
		{"target is the source", ana.Token, promotionBody("web", "web-dev", "web-dev"), http.StatusUnprocessableEntity},
		{"one target misplaced", ana.Token, promotionBody("web", "web-dev", "web-stg", "web-prd"), http.StatusUnprocessableEntity},
		{"no token", "", promotionBody("web", "web-dev", "web-stg"), http.StatusUnauthorized},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := srv.Req(t, "POST", "/pipeline-promotions", tc.token, tc.body).Expect(t, tc.want)
			if r.ErrorMessage(t) == "" {
				t.Fatalf("error without message: %s", r.Body)
			}
		})
	}
	var e errorWire
	srv.Req(t, "POST", "/pipeline-promotions", ana.Token, promotionBody("web", "web-dev", "web-stg", "web-prd", "loner")).
		Expect(t, http.StatusUnprocessableEntity).JSON(t, &e)
	if len(e.Details) != 2 || !strings.Contains(e.Details[0], "web-prd") || !strings.Contains(e.Details[1], "loner") {
		t.Fatalf("one line per misplaced target: %+v", e)
	}
	if got := releases(t, srv, ana.Token, "web-stg"); len(got) != 0 {
		t.Fatalf("a refused promotion released: %+v", got)
	}

	// Release by version; an admin may promote anything.
	p := promote(t, srv, ana.Token, withRelease("1"))
	if p.Source.Release.ID != rel.ID {
		t.Fatalf("release by version: %+v", p.Source.Release)
	}
	waitPromotion(t, srv, ana.Token, p.ID)
	p = promote(t, srv, srv.AdminToken, promotionBody("web", "web-dev", "web-stg", "ops-stg"))
	if waitPromotion(t, srv, ana.Token, p.ID).Status != "successful" {
		t.Fatalf("admin promotion: %+v", promotionTargets(t, srv, ana.Token, p.ID))
	}
	// The pipeline's team follows its promotions; other teams do not, even
	// one whose app was a target.
	srv.Req(t, "GET", "/pipeline-promotions/"+p.ID, ana.Token, nil).Expect(t, http.StatusOK)
	srv.Req(t, "GET", "/pipeline-promotions/"+p.ID, bo.Token, nil).Expect(t, http.StatusForbidden)
	srv.Req(t, "GET", "/pipeline-promotions/"+p.ID+"/promotion-targets", bo.Token, nil).Expect(t, http.StatusForbidden)
	var seen []struct{ ID string }
	srv.Req(t, "GET", "/pipeline-promotions", bo.Token, nil).Expect(t, http.StatusOK).JSON(t, &seen)
	if len(seen) != 0 {
		t.Fatalf("another team lists the pipeline's promotions: %+v", seen)
	}
}

// TestConcurrentPromotionsToOneTarget fires promotions of different
// releases at one app at once. They are carried out one at a time: the
// target gets one release per promotion, numbered without gaps, each the
// copy of its promotion's source release.
func TestConcurrentPromotionsToOneTarget(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	stagedPipeline(t, srv, ana.Token, "batch", "batch-dev:development", "batch-stg:staging")
	setConfig(t, srv, "batch-stg", map[string]string{"APP_NAME": "batch-stg"})
	const n = 8
	sources := make([]releaseWire, n)
	for i := range sources {
		sources[i] = createRelease(t, srv, ana.Token, "batch-dev", fmt.Sprintf("registry/batch:%d", i))
	}

	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := promotionBody("batch", "batch-dev", "batch-stg")
			body["source"] = map[string]any{"app": map[string]any{"id": "batch-dev", "release": map[string]string{"id": sources[i].ID}}}
			r := srv.Req(t, "POST", "/pipeline-promotions", ana.Token, body)
			if r.Status != http.StatusOK {
				t.Errorf("promotion %d: %s", i, r)
				return
			}
			var p promotionWire
			r.JSON(t, &p)
			ids[i] = p.ID
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	versions := map[int]string{}
	for i, id := range ids {
		if p := waitPromotion(t, srv, ana.Token, id); p.Status != "successful" {
			t.Fatalf("promotion %d: %+v", i, p)
		}
		rec := promotionTargets(t, srv, ana.Token, id)[0]
		var r releaseWire
		srv.Req(t, "GET", "/apps/batch-stg/releases/"+rec.Release.ID, ana.Token, nil).Expect(t, http.StatusOK).JSON(t, &r)
		if r.Image != sources[i].Image || r.Promotion == nil || r.Promotion.ID != id {
			t.Fatalf("promotion %d made %+v", i, r)
		}
		if other, dup := versions[r.Version]; dup {
			t.Fatalf("version %d made twice: by %s and %s", r.Version, other, id)
		}
		versions[r.Version] = id
	}
	list := releases(t, srv, ana.Token, "batch-stg")
	if len(list) != n || list[0].Version != n || list[n-1].Version != 1 {
		t.Fatalf("batch-stg releases: %d, newest v%d", len(list), list[0].Version)
	}
}

// stepGate holds the promotion runner after the first target it carries
// out, until released or until berthd stops.
type stepGate struct {
	armed   atomic.Bool
	reached chan string
	release chan struct{}
}

func newStepGate() *stepGate {
	g := &stepGate{reached: make(chan string, 1), release: make(chan struct{})}
	g.armed.Store(true)
	return g
}

func (g *stepGate) hook(ctx context.Context, _, targetAppID string) {
	if !g.armed.CompareAndSwap(true, false) {
		return
	}
	g.reached <- targetAppID
	select {
	case <-g.release:
	case <-ctx.Done():
	}
}

func (g *stepGate) wait(t *testing.T) string {
	t.Helper()
	select {
	case id := <-g.reached:
		return id
	case <-time.After(20 * time.Second):
		t.Fatal("the promotion runner never reached the gate")
		return ""
	}
}

// TestPromotionResumesAfterRestart stops berthd after the first of two
// targets of a promotion: the next start carries out the second, and each
// target ends with exactly one release from the promotion.
func TestPromotionResumesAfterRestart(t *testing.T) {
	gate := newStepGate()
	srv := berthtest.Start(t, berthtest.OnDisk(t.TempDir()), berthtest.WithCoreOptions(core.WithPromotionStepHook(gate.hook)))
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	apps := stagedPipeline(t, srv, ana.Token, "pay", "pay-stg:staging", "pay-prd-eu:production", "pay-prd-us:production")
	for name := range apps {
		setConfig(t, srv, name, map[string]string{"APP_NAME": name})
	}
	rel := createRelease(t, srv, ana.Token, "pay-stg", "registry/pay:7")
	p := promote(t, srv, ana.Token, promotionBody("pay", "pay-stg", "pay-prd-eu", "pay-prd-us"))

	if first := gate.wait(t); first != apps["pay-prd-eu"].ID {
		t.Fatalf("first target carried out: %s", first)
	}
	// Mid-way: the first target is done, the second not yet.
	recs := promotionTargets(t, srv, ana.Token, p.ID)
	if recs[0].Status != "successful" || recs[1].Status != "pending" || recs[1].Release != nil {
		t.Fatalf("targets before the restart: %+v", recs)
	}
	srv.Req(t, "GET", "/pipeline-promotions/"+p.ID, ana.Token, nil).Expect(t, http.StatusOK).JSON(t, &p)
	if p.Status != "pending" {
		t.Fatalf("promotion before the restart: %+v", p)
	}

	srv.Restart()

	checkPromoted(t, srv, ana.Token, waitPromotion(t, srv, ana.Token, p.ID), rel, "pay-prd-eu", "pay-prd-us")
	for _, name := range []string{"pay-prd-eu", "pay-prd-us"} {
		if got := releases(t, srv, ana.Token, name); len(got) != 1 {
			t.Fatalf("%s has %d releases after the promotion, want 1", name, len(got))
		}
	}
	// A later restart finds nothing left to do.
	srv.Restart()
	p2 := promote(t, srv, ana.Token, promotionBody("pay", "pay-stg", "pay-prd-us"))
	waitPromotion(t, srv, ana.Token, p2.ID)
	if got := releases(t, srv, ana.Token, "pay-prd-eu"); len(got) != 1 {
		t.Fatalf("pay-prd-eu has %d releases, want 1", len(got))
	}
	if got := releases(t, srv, ana.Token, "pay-prd-us"); len(got) != 2 {
		t.Fatalf("pay-prd-us has %d releases, want 2", len(got))
	}
}

// TestPromotionsHealer fails a promotion stuck past the deadline; its
// remaining target is never carried out.
func TestPromotionsHealer(t *testing.T) {
	gate := newStepGate()
	srv := berthtest.Start(t, berthtest.WithCore(core.Config{PromotionDeadline: 10 * time.Minute}), berthtest.WithCoreOptions(core.WithPromotionStepHook(gate.hook)))
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	stagedPipeline(t, srv, ana.Token, "ops", "ops-stg:staging", "ops-prd-a:production", "ops-prd-b:production")
	createRelease(t, srv, ana.Token, "ops-stg", "registry/ops:1")
	p := promote(t, srv, ana.Token, promotionBody("ops", "ops-stg", "ops-prd-a", "ops-prd-b"))
	gate.wait(t)

	srv.Req(t, "GET", "/healers/promotions", ana.Token, nil).Expect(t, http.StatusForbidden)
	rep := runHealer(t, srv, "promotions")
	if rep.Healed != 0 {
		t.Fatalf("healer before the deadline: %+v", rep)
	}
	srv.Clock.Advance(11 * time.Minute)
	rep = runHealer(t, srv, "promotions")
	if rep.Healed != 1 || len(rep.Details) != 1 || !strings.Contains(rep.Details[0], p.ID) {
		t.Fatalf("healer past the deadline: %+v", rep)
	}
	close(gate.release)

	if got := waitPromotion(t, srv, ana.Token, p.ID); got.Status != "failed" {
		t.Fatalf("healed promotion: %+v", got)
	}
	recs := promotionTargets(t, srv, ana.Token, p.ID)
	if recs[0].Status != "successful" || recs[1].Status != "failed" || recs[1].Release != nil || !strings.Contains(recs[1].ErrorMessage, "10m0s") {
		t.Fatalf("targets: %+v", recs)
	}
	// Promotions run one at a time, so once a later one has ended the
	// runner is done with the failed one: ops-prd-b got only the later one.
	p2 := promote(t, srv, ana.Token, promotionBody("ops", "ops-stg", "ops-prd-b"))
	waitPromotion(t, srv, ana.Token, p2.ID)
	if got := releases(t, srv, ana.Token, "ops-prd-b"); len(got) != 1 || got[0].Promotion.ID != p2.ID {
		t.Fatalf("ops-prd-b releases: %+v", got)
	}
}

// TestPromotionTargetFailure: a target app that disappears before its turn
// fails on its own; the promotion ends failed.
func TestPromotionTargetFailure(t *testing.T) {
	gate := newStepGate()
	srv := berthtest.Start(t, berthtest.WithCoreOptions(core.WithPromotionStepHook(gate.hook)))
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	stagedPipeline(t, srv, ana.Token, "job", "job-stg:staging", "job-prd-a:production", "job-prd-b:production")
	createRelease(t, srv, ana.Token, "job-stg", "registry/job:1")
	p := promote(t, srv, ana.Token, promotionBody("job", "job-stg", "job-prd-a", "job-prd-b"))
	gate.wait(t)
	srv.Req(t, "DELETE", "/apps/job-prd-b", ana.Token, nil).Expect(t, http.StatusOK)
	close(gate.release)

	if got := waitPromotion(t, srv, ana.Token, p.ID); got.Status != "failed" {
		t.Fatalf("promotion: %+v", got)
	}
	recs := promotionTargets(t, srv, ana.Token, p.ID)
	if recs[0].Status != "successful" || recs[1].Status != "failed" || !strings.Contains(recs[1].ErrorMessage, "job-prd-b no longer exists") {
		t.Fatalf("targets: %+v", recs)
	}
	r := srv.Req(t, "GET", "/pipeline-promotions/"+p.ID+"/promotion-targets?limit=1", ana.Token, nil).Expect(t, http.StatusOK)
	r.JSON(t, &recs)
	srv.Req(t, "GET", "/pipeline-promotions/"+p.ID+"/promotion-targets?limit=1&cursor="+r.Header.Get("X-Next-Cursor"), ana.Token, nil).Expect(t, http.StatusOK).JSON(t, &recs)
	if len(recs) != 1 || recs[0].App.Name != "job-prd-b" {
		t.Fatalf("second page of targets: %+v", recs)
	}
}
