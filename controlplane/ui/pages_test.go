package ui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/terraform-provider-berth/client"
)

// TestAppsOfMyTeams: the apps page lists the visitor's teams' apps and no
// other, as GET /apps does; another team's app is a 403 page, a missing
// one a 404 page; an admin sees every app.
func TestAppsOfMyTeams(t *testing.T) {
	w := newWorld(t)
	ana, bob, admin := w.visitor(t, w.ana), w.visitor(t, w.bob), w.admin(t)

	p := ana.get("/ui/apps").expect(t, http.StatusOK)
	for _, name := range []string{"web-dev", "web-stg", "web-prod"} {
		if p.byID("app-"+name) == nil {
			t.Errorf("ana's apps page lacks %s", name)
		}
	}
	if p.byID("app-ops-api") != nil || strings.Contains(p.Body, "ops-api") {
		t.Errorf("ana's apps page shows bob's app")
	}
	row := p.text("app-web-stg")
	for _, want := range []string{"web-stg", "go", "devs", "started", "1 unit", "web-stg.berth.local", "v1"} {
		if !strings.Contains(row, want) {
			t.Errorf("web-stg's row %q lacks %q", row, want)
		}
	}
	if link := find(p.byID("app-web-stg"), func(n *htmlNode) bool { return attr(n, "class") == "address" }); link == nil || attr(link, "href") != "http://web-stg.berth.local/" {
		t.Errorf("web-stg's address is not a link: %s", p.text("app-web-stg"))
	}
	if link := find(p.byID("app-web-dev"), func(n *htmlNode) bool { return attr(n, "href") == "http://web-dev.berth.local/" }); link != nil {
		t.Errorf("web-dev has no started unit, but its address is a link")
	}

	b := bob.get("/ui/apps").expect(t, http.StatusOK)
	if b.byID("app-ops-api") == nil || b.byID("app-web-stg") != nil {
		t.Errorf("bob's apps page:\n%s", b.mainText())
	}
	forbidden := ana.get("/ui/apps/ops-api").expect(t, http.StatusForbidden)
	if forbidden.doc == nil || !strings.Contains(forbidden.mainText(), "Not allowed") || strings.Contains(forbidden.Body, "python") {
		t.Errorf("another team's app: %s", forbidden.Body)
	}
	missing := ana.get("/ui/apps/nosuch").expect(t, http.StatusNotFound)
	if !strings.Contains(missing.mainText(), "Not found") || !strings.Contains(missing.Header.Get("Content-Type"), "text/html") {
		t.Errorf("missing app: %s", missing.Body)
	}
	all := admin.get("/ui/apps").expect(t, http.StatusOK)
	for _, name := range []string{"web-dev", "ops-api"} {
		if all.byID("app-"+name) == nil {
			t.Errorf("the admin's apps page lacks %s", name)
		}
	}
}

// TestAppPage: units with their state, config vars with private values
// masked exactly as GET /apps/{app}/env masks them, releases with their
// statuses and rollout, the app's pipeline.
func TestAppPage(t *testing.T) {
	w := newWorld(t)
	ana := w.visitor(t, w.ana)
	p := ana.get("/ui/apps/web-stg").expect(t, http.StatusOK)
	if strings.Contains(p.Body, secretValue) {
		t.Fatalf("the app page shows a private value")
	}
	env := must[[]client.EnvVar](t)(w.anaAPI.Env.List(bg, "web-stg", nil))
	table := p.text("env")
	for _, v := range env {
		if !strings.Contains(table, v.Name+" "+v.Value) {
			t.Errorf("env table %q lacks %s as the API shows it (%q)", table, v.Name, v.Value)
		}
	}
	if !strings.Contains(table, "API_SECRET *** (private variable) private") || !strings.Contains(table, "GREETING hello-visible public") {
		t.Errorf("env table: %q", table)
	}
	units := p.text("units")
	if !strings.Contains(units, "web-stg/0") || !strings.Contains(units, "started") {
		t.Errorf("units: %q", units)
	}
	rel := p.text("release-v1")
	for _, want := range []string{"v1", "example/web:1.0", "failure", "ci/smoke-tests", "3 tests failed"} {
		if !strings.Contains(rel, want) {
			t.Errorf("release row %q lacks %q", rel, want)
		}
	}
	waitFor(t, "web-stg's rollout to succeed", func() bool {
		return strings.Contains(ana.get("/ui/apps/web-stg").text("release-v1"), "succeeded")
	})
	if facts := p.mainText(); !strings.Contains(facts, "shop , stage staging") && !strings.Contains(facts, "shop, stage staging") {
		t.Errorf("the app page does not name its pipeline: %s", facts)
	}

	// The admin sees what the API shows an admin: private values too.
	admin := w.admin(t)
	if !strings.Contains(admin.get("/ui/apps/web-stg").text("env"), secretValue) {
		t.Errorf("the admin's app page does not show the private value the API shows admins")
	}
}

// TestListsPage: 120 apps come 50 to a page, through cursor links, and
// together they are exactly what the API lists.
func TestListsPage(t *testing.T) {
	w := newWorld(t)
	for i := range 117 {
		must[*client.CreatedApp](t)(w.anaAPI.Apps.Create(bg, client.CreateAppRequest{Name: fmt.Sprintf("bulk-%03d", i), Platform: "go", TeamOwner: "devs"}))
	}
	ana := w.visitor(t, w.ana)
	var seen []string
	next := "/ui/apps"
	pages := 0
	for next != "" {
		p := ana.get(next).expect(t, http.StatusOK)
		pages++
		rows := 0
		for n := range allNodes(p.byID("apps")) {
			if id := attr(n, "id"); strings.HasPrefix(id, "app-") {
				seen = append(seen, strings.TrimPrefix(id, "app-"))
				rows++
			}
		}
		if rows > 50 {
			t.Fatalf("%s has %d rows", next, rows)
		}
		next = ""
		if a := find(p.doc, func(n *htmlNode) bool { return attr(n, "rel") == "next" }); a != nil {
			next = attr(a, "href")
		}
	}
	apps := must[[]client.App](t)(w.anaAPI.Apps.List(bg, nil))
	var want []string
	for _, a := range apps {
		want = append(want, a.Name)
	}
	if pages != 3 || strings.Join(seen, ",") != strings.Join(want, ",") {
		t.Errorf("%d pages: %v\nthe API lists %v", pages, seen, want)
	}
	if p := ana.get("/ui/apps?cursor=" + strings.Repeat("x", 2000)); p.Status != http.StatusBadRequest {
		t.Errorf("a huge cursor: %d", p.Status)
	}
}

// TestPipelinePage: the stage graph with the app of each stage, its
// current release and the checks of the next stage; a promotion blocked by
// a failing check has its button disabled with the reason, one that may go
// has it enabled, and the form promotes through the API's rules; the
// promotion's page follows each target.
func TestPipelinePage(t *testing.T) {
	w := newWorld(t)
	ana, bob := w.visitor(t, w.ana), w.visitor(t, w.bob)
	p := ana.get("/ui/pipelines/shop").expect(t, http.StatusOK)
	for stage, app := range map[string]string{"review": "ops-api", "development": "web-dev", "staging": "web-stg", "production": "web-prod"} {
		if !strings.Contains(p.text("stage-"+stage), app) {
			t.Errorf("stage %s: %q lacks %s", stage, p.text("stage-"+stage), app)
		}
	}
	if got := p.text("release-web-stg"); got != "v1" {
		t.Errorf("web-stg's current release: %q", got)
	}
	if got := p.text("card-ops-api"); !strings.Contains(got, "not visible to you") || p.byID("release-ops-api") != nil || p.byID("promote-ops-api") != nil {
		t.Errorf("bob's app in ana's graph: %q", got)
	}
	promote := p.byID("promote-web-stg")
	button := find(promote, func(n *htmlNode) bool { return n.Data == "button" })
	if button == nil || !hasAttr(button, "disabled") {
		t.Fatalf("the blocked promotion's button is not disabled:\n%s", p.Body)
	}
	if got := p.text("promote-web-stg"); !strings.Contains(got, "failing ci/smoke-tests (failure)") || !strings.Contains(got, `required status check "ci/smoke-tests" is failure on release v1 of web-stg`) {
		t.Errorf("the blocked promotion does not say why: %q", got)
	}
	dev := find(p.byID("promote-web-dev"), func(n *htmlNode) bool { return n.Data == "button" })
	if dev == nil || !hasAttr(dev, "disabled") || !strings.Contains(p.text("promote-web-dev"), "web-dev has no release to promote") {
		t.Errorf("web-dev, without a release: %q", p.text("promote-web-dev"))
	}
	// The pipeline is ana's team's: bob is refused it as through the API.
	bp := bob.get("/ui/pipelines/shop").expect(t, http.StatusForbidden)
	if strings.Contains(bp.Body, "example/web") || strings.Contains(bp.Body, "web-stg") {
		t.Errorf("bob's refusal shows ana's pipeline:\n%s", bp.Body)
	}

	// The blocked form is refused by core all the same (a stale page).
	token := p.formToken(t)
	form := url.Values{"csrf": {token}, "source": {"web-stg"}, "release": {"1"}, "target": {"web-prod"}}
	refused := ana.post("/ui/pipelines/shop/promotions", form).expect(t, http.StatusConflict)
	if !strings.Contains(refused.mainText(), "blocked by required status checks") || !strings.Contains(refused.mainText(), "ci/smoke-tests") {
		t.Errorf("refused promotion: %s", refused.mainText())
	}

	var before struct{ Version string }
	decodeState(t, ana.get("/ui/pipelines/shop/state").expect(t, http.StatusOK), &before)
	must[*client.ReleaseStatus](t)(w.anaAPI.Releases.UpdateStatus(bg, "web-stg", "1", w.smokeStatusID, client.ReleaseStatusUpdate{State: "success"}))
	var after struct{ Version string }
	decodeState(t, ana.get("/ui/pipelines/shop/state").expect(t, http.StatusOK), &after)
	if before.Version == "" || before.Version == after.Version {
		t.Errorf("the pipeline's state version did not change with a check: %q, %q", before.Version, after.Version)
	}
	p = ana.get("/ui/pipelines/shop").expect(t, http.StatusOK)
	if attr(p.byID("main"), "data-version") != after.Version {
		t.Errorf("the page's version %q is not the state's %q", attr(p.byID("main"), "data-version"), after.Version)
	}
	button = find(p.byID("promote-web-stg"), func(n *htmlNode) bool { return n.Data == "button" })
	if button == nil || hasAttr(button, "disabled") || !strings.Contains(p.text("promote-web-stg"), "met ci/smoke-tests (success)") {
		t.Fatalf("the promotion is not enabled once its check passed: %q", p.text("promote-web-stg"))
	}
	done := ana.post("/ui/pipelines/shop/promotions", form).expect(t, http.StatusSeeOther)
	loc := done.Header.Get("Location")
	if !strings.HasPrefix(loc, "/ui/promotions/") {
		t.Fatalf("promote answered %s", loc)
	}
	waitFor(t, "the promotion to succeed", func() bool {
		pp := ana.get(loc).expect(t, http.StatusOK)
		return strings.Contains(pp.text("target-web-prod"), "successful")
	})
	pp := ana.get(loc)
	if got := pp.text("target-web-prod"); !strings.Contains(got, "v2 v2") {
		t.Errorf("the target's row does not show its new release: %q", got)
	}
	if attr(pp.byID("main"), "data-live") != "" {
		t.Errorf("a finished promotion's page still polls")
	}
	if got := ana.get("/ui/pipelines/shop").text("release-web-prod"); got != "v2" {
		t.Errorf("web-prod's release after the promotion: %q", got)
	}
	rels := must[[]client.Release](t)(w.anaAPI.Releases.List(bg, "web-prod", nil))
	if len(rels) != 2 || rels[0].Image != "example/web:1.0" && rels[1].Image != "example/web:1.0" {
		t.Errorf("web-prod's releases through the API: %+v", rels)
	}
	if got := ana.get("/ui/pipelines/shop").text("promotions"); !strings.Contains(got, "web-stg v1") || !strings.Contains(got, "successful") {
		t.Errorf("latest promotions: %q", got)
	}
}

func decodeState(t *testing.T, p *page, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(p.Body), v); err != nil {
		t.Fatalf("state: %v: %s", err, p.Body)
	}
}

// TestStacksPage: a team's stack projects, each stack's branch, lease
// holder, last deployed commit and expiry; another team sees none of it.
func TestStacksPage(t *testing.T) {
	w := newWorld(t)
	ana, bob := w.visitor(t, w.ana), w.visitor(t, w.bob)
	if !strings.Contains(ana.get("/ui/stacks").expect(t, http.StatusOK).text("projects"), "shop-stacks devs") {
		t.Errorf("ana's stack projects")
	}
	p := ana.get("/ui/stacks/shop-stacks").expect(t, http.StatusOK)
	row := p.text("stack-" + w.stackName)
	for _, want := range []string{w.stackName, "feature/login", "lease " + w.stackLeaseID[:8], "9f1c2e7", "UTC", "from now"} {
		if !strings.Contains(row, want) {
			t.Errorf("stack row %q lacks %q", row, want)
		}
	}
	if strings.Contains(p.Body, w.stackLeaseID) || strings.Contains(p.Body, w.projectKey) {
		t.Errorf("the stacks page shows a lease id or the project key")
	}
	if strings.Contains(bob.get("/ui/stacks").Body, "shop-stacks") {
		t.Errorf("bob sees ana's project")
	}
	bob.get("/ui/stacks/shop-stacks").expect(t, http.StatusForbidden)
}

// TestAdminPages: users with their quotas, changing one; teams; healers,
// running one.
func TestAdminPages(t *testing.T) {
	w := newWorld(t)
	admin, ana := w.admin(t), w.visitor(t, w.ana)
	p := admin.get("/ui/admin/users").expect(t, http.StatusOK)
	if row := p.text("user-ana@example.com"); !strings.Contains(row, "ana@example.com") || !strings.Contains(row, "unlimited") {
		t.Errorf("ana's row: %q", row)
	}
	if strings.Contains(p.Body, "$2a$") {
		t.Errorf("the users page shows a password hash")
	}
	token := p.formToken(t)
	admin.post("/ui/admin/users/ana@example.com/quota", url.Values{"csrf": {token}, "limit": {"7"}}).expect(t, http.StatusSeeOther)
	if limit, available := w.quota(t, "ana@example.com"); limit != 7 || available != 4 {
		t.Errorf("quota after the form: %d, %d available", limit, available)
	}
	if got := admin.get("/ui/admin/users?notice=quota").mainText(); !strings.Contains(got, "The quota was changed.") || !strings.Contains(got, "4 left") {
		t.Errorf("users page after the change: %q", got)
	}
	if got := admin.get("/ui/admin/users?notice=<script>alert(1)</script>").Body; strings.Contains(got, "alert(1)") {
		t.Errorf("the notice parameter is echoed")
	}
	bad := admin.post("/ui/admin/users/ana@example.com/quota", url.Values{"csrf": {token}, "limit": {"lots"}}).expect(t, http.StatusBadRequest)
	if !strings.Contains(bad.mainText(), "invalid quota limit") {
		t.Errorf("bad limit: %s", bad.mainText())
	}
	admin.post("/ui/admin/users/ana@example.com/quota", url.Values{"csrf": {token}, "limit": {"1"}}).expect(t, http.StatusConflict)

	teams := admin.get("/ui/teams").expect(t, http.StatusOK).text("teams")
	for _, want := range []string{"devs ana@example.com", "ops bob@example.com", "admin"} {
		if !strings.Contains(teams, want) {
			t.Errorf("the admin's teams %q lack %q", teams, want)
		}
	}
	if mine := ana.get("/ui/teams").text("teams"); !strings.Contains(mine, "devs") || strings.Contains(mine, "ops") {
		t.Errorf("ana's teams: %q", mine)
	}

	h := admin.get("/ui/admin/healers").expect(t, http.StatusOK)
	for _, name := range []string{"promotions", "stack-leases", "units"} {
		if h.byID("healer-"+name) == nil {
			t.Errorf("healer %s is not listed", name)
		}
	}
	// Past the lease's expiry (and the sessions': sign in again).
	w.srv.Clock.Advance(3 * time.Hour)
	admin, ana = w.admin(t), w.visitor(t, w.ana)
	h = admin.get("/ui/admin/healers").expect(t, http.StatusOK)
	run := admin.post("/ui/admin/healers/stack-leases", url.Values{"csrf": {h.formToken(t)}}).expect(t, http.StatusOK)
	if got := run.text("healed"); got != "Repaired 1 thing." {
		t.Errorf("healer report: %q\n%s", got, run.mainText())
	}
	if !strings.Contains(ana.get("/ui/stacks/shop-stacks").text("stack-"+w.stackName), "available") {
		t.Errorf("the stack is still leased after the healer ran")
	}
	admin.post("/ui/admin/healers/nosuch", url.Values{"csrf": {h.formToken(t)}}).expect(t, http.StatusNotFound)
}

// TestErrorPages: what goes wrong is a page a person reads, never JSON.
func TestErrorPages(t *testing.T) {
	w := newWorld(t)
	ana := w.visitor(t, w.ana)
	token := ana.get("/ui/apps").formToken(t)
	for _, c := range []struct {
		name   string
		page   *page
		status int
	}{
		{"unknown page", ana.get("/ui/nosuch/page"), http.StatusNotFound},
		{"wrong method", ana.post("/ui/apps", url.Values{"csrf": {token}}), http.StatusMethodNotAllowed},
		{"form too large", ana.post("/ui/pipelines/shop/promotions", url.Values{"csrf": {token}, "source": {strings.Repeat("a", 70<<10)}}), http.StatusRequestEntityTooLarge},
		{"missing pipeline", ana.get("/ui/pipelines/nosuch"), http.StatusNotFound},
		{"missing promotion", ana.get("/ui/promotions/4c9a7cf5-0bd4-4f0e-8f39-9e4a4a7a1b2c"), http.StatusNotFound},
		{"another team's project", ana.get("/ui/stacks/nosuch"), http.StatusNotFound},
		{"missing asset", ana.get("/ui/static/nosuch.js"), http.StatusNotFound},
	} {
		if c.page.Status != c.status || !strings.HasPrefix(c.page.Header.Get("Content-Type"), "text/html") || c.page.doc == nil || !strings.Contains(c.page.mainText(), "Request id") {
			t.Errorf("%s: %d %s\n%.300s", c.name, c.page.Status, c.page.Header.Get("Content-Type"), c.page.Body)
		}
	}
	// /ui and /ui/ lead to the apps.
	if p := ana.get("/ui"); p.Status != http.StatusMovedPermanently || p.Header.Get("Location") != "/ui/" {
		t.Errorf("/ui: %d %s", p.Status, p.Header.Get("Location"))
	}
	if p := ana.get("/ui/"); p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/ui/apps" {
		t.Errorf("/ui/: %d %s", p.Status, p.Header.Get("Location"))
	}
	// The API is as it was next to the console.
	w.srv.Req(t, http.MethodGet, "/apps", w.ana.Token, nil).Expect(t, http.StatusOK)
	if r := w.srv.Req(t, http.MethodGet, "/uix", w.ana.Token, nil); r.Status != http.StatusNotFound || !strings.Contains(r.Header.Get("Content-Type"), "json") {
		t.Errorf("/uix: %d %s", r.Status, r.Header.Get("Content-Type"))
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(bg, 30*time.Second)
	defer cancel()
	for !ok() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
