package runtime_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/terraform-provider-berth/internal/testimage"
)

// TestAkkerisPromotionsRun: a release runs on the app it was made for; a
// promotion through a pipeline, gated by a status check, rolls the target
// onto the promoted image; a release that fails to start is marked failed
// and the units of the release before keep serving.
func TestAkkerisPromotionsRun(t *testing.T) {
	v1, v2 := testimage.Build(t, "v1"), testimage.Build(t, "v2")
	broken := testimage.BuildWith(t, "v3", testimage.Spec{Crash: true})
	srv := start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	tok := ana.Token
	for _, app := range []string{"shop-dev", "shop-stg"} {
		srv.Req(t, "POST", "/apps", tok, map[string]string{"name": app, "platform": "go"}).Expect2xx(t)
	}
	srv.Req(t, "POST", "/pipelines", tok, map[string]string{"name": "shop"}).Expect2xx(t)
	srv.Req(t, "POST", "/pipeline-couplings", tok, map[string]any{"app": "shop-dev", "pipeline": "shop", "stage": "development"}).Expect2xx(t)
	srv.Req(t, "POST", "/pipeline-couplings", tok, map[string]any{"app": "shop-stg", "pipeline": "shop", "stage": "staging",
		"required_status_checks": map[string]any{"contexts": []string{"ci/tests"}}}).Expect2xx(t)

	release := func(app, image string) string {
		t.Helper()
		var r struct{ ID string }
		srv.Req(t, "POST", "/apps/"+app+"/releases", tok, map[string]string{"image": image}).Expect2xx(t).JSON(t, &r)
		return r.ID
	}
	passChecks := func(app, id string) {
		t.Helper()
		srv.Req(t, "POST", "/apps/"+app+"/releases/"+id+"/statuses", tok, map[string]string{"context": "ci/tests", "state": "success"}).Expect2xx(t)
	}
	promote := func() {
		t.Helper()
		srv.Req(t, "POST", "/pipeline-promotions", tok, map[string]any{
			"pipeline": map[string]string{"id": "shop"},
			"source":   map[string]any{"app": map[string]string{"id": "shop-dev"}},
			"targets":  []any{map[string]any{"app": map[string]string{"id": "shop-stg"}}},
		}).Expect2xx(t)
	}

	r1 := release("shop-dev", v1)
	waitUnits(t, srv, tok, "shop-dev", "v1 runs on dev", allStarted(1, 1))
	eventuallyAnswers(t, srv, tok, "shop-dev", "/version", "v1")
	if r := srv.Req(t, "POST", "/pipeline-promotions", tok, map[string]any{
		"pipeline": map[string]string{"id": "shop"},
		"source":   map[string]any{"app": map[string]string{"id": "shop-dev"}},
		"targets":  []any{map[string]any{"app": map[string]string{"id": "shop-stg"}}},
	}); r.Status != 409 {
		t.Fatalf("a promotion without the required check passed: %d %s", r.Status, r.Body)
	}
	passChecks("shop-dev", r1)
	promote()
	waitUnits(t, srv, tok, "shop-stg", "the promoted v1 runs on staging", allStarted(1, 1))
	eventuallyAnswers(t, srv, tok, "shop-stg", "/version", "v1")

	r2 := release("shop-dev", v2)
	passChecks("shop-dev", r2)
	promote()
	waitUnits(t, srv, tok, "shop-stg", "v2 runs on staging", allStarted(1, 2))
	eventuallyAnswers(t, srv, tok, "shop-stg", "/version", "v2")

	// v3 crashes at start: its rollout fails, v2 keeps serving.
	r3 := release("shop-stg", broken)
	waitFor(t, "release v3 of shop-stg marked failed", func() bool {
		var rel struct{ Status string }
		srv.Req(t, "GET", "/apps/shop-stg/releases/"+r3, tok, nil).Expect2xx(t).JSON(t, &rel)
		return rel.Status == "failed"
	})
	units := getApp(t, srv, tok, "shop-stg").Units
	if len(units) != 1 || units[0].State != "started" || units[0].Release != 2 {
		t.Fatalf("after the failed v3, staging's units are %+v, want v2 started", units)
	}
	if code, body := get(t, units[0].Address, "/version"); code != 200 || body != "v2" {
		t.Fatalf("after the failed v3, staging answered %d %q, want v2", code, body)
	}
	for _, app := range []string{"shop-dev", "shop-stg"} {
		srv.Req(t, "DELETE", "/apps/"+app, tok, nil).Expect2xx(t)
		waitContainers(t, app, 0)
	}
}

// TestLainAppsRun: a lain app's procs run the image of its meta_version
// (<registry>/<app>:release-<meta_version>); PATCH scales them, a new
// meta_version rolls them, undeploying a proc and the app stops them.
func TestLainAppsRun(t *testing.T) {
	mv1 := "1700000000-" + strings.Repeat("a", 40)
	mv2 := "1700000100-" + strings.Repeat("b", 40)
	registry := "registry.berth.local"
	testimage.BuildWith(t, "lain-v1", testimage.Spec{Tags: []string{fmt.Sprintf("%s/hello:release-%s", registry, mv1)}})
	testimage.BuildWith(t, "lain-v2", testimage.Spec{Tags: []string{fmt.Sprintf("%s/hello:release-%s", registry, mv2)}})
	srv := start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	tok := ana.Token
	meta := map[string]any{"apptype": "app", "procs": []any{
		map[string]any{"name": "web", "num_instances": 1, "memory": "64M", "port": 9090},
		map[string]any{"name": "worker", "num_instances": 1, "memory": "32M"},
	}}
	srv.Req(t, "POST", "/api/v1/repos/", tok, map[string]any{"appname": "hello", "meta": meta}).Expect2xx(t)
	srv.Req(t, "POST", "/api/v1/apps/", tok, map[string]string{"appname": "hello"}).Expect2xx(t)
	srv.Req(t, "PUT", "/api/v1/apps/hello/", tok, map[string]string{"meta_version": mv1}).Expect2xx(t)
	units := waitUnits(t, srv, tok, "hello", "web and worker run", allStarted(2, 1))
	eventuallyAnswers(t, srv, tok, "hello", "/version", "lain-v1")
	ports := map[string]string{}
	for _, u := range units {
		_, ports[u.Name] = get(t, u.Address, "/env/PORT")
	}
	if ports["hello/0"] != "9090" || ports["hello/1"] != "8080" {
		t.Fatalf("PORT of each unit: %v, want web's 9090 on hello/0 and the default 8080 on hello/1", ports)
	}

	srv.Req(t, "PATCH", "/api/v1/apps/hello/procs/web/", tok, map[string]int{"num_instances": 3}).Expect2xx(t)
	units = waitUnits(t, srv, tok, "hello", "web scaled to 3", allStarted(4, 1))
	waitContainers(t, "hello", 4)
	if !hasUnit(units, "hello/1") {
		t.Fatalf("the worker's unit was renamed when web scaled: %+v", units)
	}
	srv.Req(t, "PATCH", "/api/v1/apps/hello/procs/web/", tok, map[string]int{"num_instances": 1}).Expect2xx(t)
	waitUnits(t, srv, tok, "hello", "web back to 1", allStarted(2, 1))
	waitContainers(t, "hello", 2)

	srv.Req(t, "PUT", "/api/v1/apps/hello/", tok, map[string]string{"meta_version": mv2}).Expect2xx(t)
	waitUnits(t, srv, tok, "hello", "the new meta_version runs", allStarted(2, 2))
	eventuallyAnswers(t, srv, tok, "hello", "/version", "lain-v2")
	waitContainers(t, "hello", 2)

	srv.Req(t, "DELETE", "/api/v1/apps/hello/procs/worker/", tok, nil).Expect2xx(t)
	waitUnits(t, srv, tok, "hello", "the worker stopped", allStarted(1, 2))
	waitContainers(t, "hello", 1)
	srv.Req(t, "DELETE", "/api/v1/apps/hello/", tok, nil).Expect2xx(t)
	waitContainers(t, "hello", 0)
}

func hasUnit(units []tsuruUnit, name string) bool {
	for _, u := range units {
		if u.Name == name {
			return true
		}
	}
	return false
}

// waitFor polls cond for up to two minutes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 2m", what)
		}
		time.Sleep(300 * time.Millisecond)
	}
}
