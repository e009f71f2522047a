package ui_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/terraform-provider-berth/client"
	"github.com/berthdev/terraform-provider-berth/controlplane/core"
	"github.com/berthdev/terraform-provider-berth/controlplane/ui"
	"github.com/berthdev/terraform-provider-berth/internal/berthtest"
)

// world is a berthd with two teams: ana's devs own the shop pipeline's
// apps and a stack project; bob's ops own ops-api, which an admin coupled
// to the same pipeline's review stage.
type world struct {
	srv              *berthtest.Server
	ana, bob         *berthtest.User
	anaAPI, bobAPI   *client.Client
	stagingRelease   *client.Release
	smokeStatusID    string
	projectKey       string
	stackName        string
	stackLeaseID     string
	adminPasswordVal string
}

const secretValue = "hunter2-do-not-show"

func newWorld(t *testing.T) *world {
	t.Helper()
	srv := berthtest.Start(t)
	w := &world{srv: srv}
	w.ana = srv.NewTeamUser(t, "ana@example.com", "devs")
	w.bob = srv.NewTeamUser(t, "bob@example.com", "ops")
	w.anaAPI, w.bobAPI = api(t, srv, w.ana.Token), api(t, srv, w.bob.Token)
	for _, name := range []string{"web-dev", "web-stg", "web-prod"} {
		must[*client.CreatedApp](t)(w.anaAPI.Apps.Create(bg, client.CreateAppRequest{Name: name, Platform: "go"}))
	}
	must[*client.CreatedApp](t)(w.bobAPI.Apps.Create(bg, client.CreateAppRequest{Name: "ops-api", Platform: "python"}))
	must[[]client.EnvVar](t)(w.anaAPI.Env.Set(bg, "web-stg",
		client.EnvVar{Name: "GREETING", Value: "hello-visible", Public: true},
		client.EnvVar{Name: "API_SECRET", Value: secretValue}))
	must[*client.Pipeline](t)(w.anaAPI.Pipelines.Create(bg, "shop"))
	for app, stage := range map[string]string{"web-dev": "development", "web-stg": "staging"} {
		must[*client.Coupling](t)(w.anaAPI.Couplings.Create(bg, client.NewCoupling{App: app, Pipeline: "shop", Stage: stage}))
	}
	must[*client.Coupling](t)(w.anaAPI.Couplings.Create(bg, client.NewCoupling{App: "web-prod", Pipeline: "shop", Stage: "production",
		RequiredStatusChecks: &client.StatusChecks{Contexts: []string{"ci/smoke-tests"}}}))
	// Pipelines are their team's: only an admin may put another team's
	// app into one.
	adminAPI := api(t, srv, srv.AdminToken)
	must[*client.Coupling](t)(adminAPI.Couplings.Create(bg, client.NewCoupling{App: "ops-api", Pipeline: "shop", Stage: "review"}))
	must[*client.Deployment](t)(w.anaAPI.Apps.Deploy(bg, "web-prod", "example/web:0.9"))
	must[*client.Deployment](t)(w.anaAPI.Apps.Deploy(bg, "web-stg", "example/web:1.0"))
	w.stagingRelease = must[*client.Release](t)(w.anaAPI.Releases.Get(bg, "web-stg", "1"))
	st := must[*client.ReleaseStatus](t)(w.anaAPI.Releases.CreateStatus(bg, "web-stg", "1", client.NewReleaseStatus{Context: "ci/smoke-tests", State: "failure", Description: "3 tests failed"}))
	w.smokeStatusID = st.ID

	p := must[*client.Project](t)(w.anaAPI.Projects.Create(bg, client.NewProject{Name: "shop-stacks", Team: "devs"}))
	w.projectKey = p.APIKey
	keyed, err := client.New(srv.URL, client.WithProjectKey(w.projectKey), client.WithRetry(0, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	stack := must[*client.Stack](t)(keyed.Stacks.Request(bg, client.StackRequest{Branch: "feature/login", TTL: 2 * time.Hour}))
	must[*client.Stack](t)(keyed.Stacks.SetLastDeployedCommit(bg, stack.StackName, "9f1c2e7"))
	w.stackName, w.stackLeaseID = stack.StackName, stack.LeaseID
	return w
}

func (w *world) visitor(t *testing.T, u *berthtest.User) *visitor {
	t.Helper()
	v := newVisitor(t, w.srv.URL)
	v.signIn(u.Email, u.Password)
	return v
}

func (w *world) admin(t *testing.T) *visitor {
	t.Helper()
	if w.adminPasswordVal == "" {
		w.adminPasswordVal = adminPassword(t, w.srv)
	}
	v := newVisitor(t, w.srv.URL)
	v.signIn(core.AdminEmail, w.adminPasswordVal)
	return v
}

// samplePaths fills the console's route templates with objects of the
// world, so that every route can be called.
var samplePaths = map[string]string{
	"/ui/":                                "/ui/",
	"/ui/static/{file}":                   "/ui/static/console.css",
	"/ui/signin":                          "/ui/signin",
	"/ui/signout":                         "/ui/signout",
	"/ui/apps":                            "/ui/apps",
	"/ui/apps/{app}":                      "/ui/apps/web-stg",
	"/ui/pipelines":                       "/ui/pipelines",
	"/ui/pipelines/{pipeline}":            "/ui/pipelines/shop",
	"/ui/pipelines/{pipeline}/state":      "/ui/pipelines/shop/state",
	"/ui/pipelines/{pipeline}/promotions": "/ui/pipelines/shop/promotions",
	"/ui/promotions/{promotion}":          "/ui/promotions/%s",
	"/ui/promotions/{promotion}/state":    "/ui/promotions/%s/state",
	"/ui/stacks":                          "/ui/stacks",
	"/ui/stacks/{project}":                "/ui/stacks/shop-stacks",
	"/ui/teams":                           "/ui/teams",
	"/ui/admin/users":                     "/ui/admin/users",
	"/ui/admin/users/{email}/quota":       "/ui/admin/users/ana@example.com/quota",
	"/ui/admin/healers":                   "/ui/admin/healers",
	"/ui/admin/healers/{healer}":          "/ui/admin/healers/stack-leases",
}

// TestRoutesNeedASession walks the console's route table: every route but
// the sign-in page and the assets answers the sign-in page (401) to a
// visitor without a session, with a session that ended, and with an API
// token put in the cookie; admin pages answer 403 to other users.
func TestRoutesNeedASession(t *testing.T) {
	w := newWorld(t)
	promotionID := w.promoteThroughAPI(t, "web-dev", "web-stg")
	ended := w.visitor(t, w.ana)
	ended.post("/ui/signout", url.Values{"csrf": {ended.get("/ui/apps").formToken(t)}}).expect(t, http.StatusSeeOther)

	anon := newVisitor(t, w.srv.URL)
	ana := w.visitor(t, w.ana)
	withAPIToken := newVisitor(t, w.srv.URL)
	u, _ := url.Parse(w.srv.URL + "/ui/")
	withAPIToken.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "berth_session", Value: w.srv.AdminToken, Path: "/ui/"}})
	endedCookie := newVisitor(t, w.srv.URL)
	endedCookie.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "berth_session", Value: w.ana.Token, Path: "/ui/"}})
	w.srv.Req(t, http.MethodDelete, "/users/tokens", w.ana.Token, nil).Expect(t, http.StatusOK)

	routes := w.srv.Instance().Console.Routes()
	if len(routes) < 15 {
		t.Fatalf("only %d console routes", len(routes))
	}
	for _, rt := range routes {
		tmpl, ok := samplePaths[rt.Path]
		if !ok {
			t.Errorf("route %s %s has no sample path in this test: add one", rt.Method, rt.Path)
			continue
		}
		path := tmpl
		if strings.Contains(tmpl, "%s") {
			path = fmt.Sprintf(tmpl, promotionID)
		}
		call := func(v *visitor) *page {
			if rt.Method == http.MethodPost {
				return v.post(path, url.Values{"csrf": {"x"}})
			}
			return v.get(path)
		}
		if rt.Access == ui.Public {
			if p := call(anon); p.Status == http.StatusUnauthorized {
				t.Errorf("%s %s is public but answers 401", rt.Method, path)
			}
			continue
		}
		for name, v := range map[string]*visitor{"no cookie": anon, "an API token as cookie": withAPIToken, "a logged-out session": endedCookie} {
			p := call(v)
			if p.Status != http.StatusUnauthorized || !p.isSignIn() {
				t.Errorf("%s %s with %s: %d, want the sign-in page (401); body:\n%.300s", rt.Method, path, name, p.Status, p.Body)
			}
		}
		if rt.Access == ui.Admin {
			p := call(ana)
			if rt.Method == http.MethodPost {
				p = ana.post(path, url.Values{"csrf": {ana.get("/ui/apps").formToken(t)}, "limit": {"5"}})
			}
			if p.Status != http.StatusForbidden || !strings.Contains(p.mainText(), "admins only") {
				t.Errorf("%s %s as a non-admin: %d, want 403; body:\n%.300s", rt.Method, path, p.Status, p.Body)
			}
		}
	}
	if limit, _ := w.quota(t, "ana@example.com"); limit != -1 {
		t.Errorf("a non-admin's quota form changed the quota to %d", limit)
	}
}

func (w *world) quota(t *testing.T, email string) (limit, available int) {
	var q struct {
		Limit     int `json:"items"`
		Available int `json:"available"`
	}
	w.srv.Req(t, http.MethodGet, "/quota/"+email, w.srv.AdminToken, nil).Expect(t, http.StatusOK).JSON(t, &q)
	return q.Limit, q.Available
}

// promoteThroughAPI promotes source's newest release to target and waits
// for the promotion to end.
func (w *world) promoteThroughAPI(t *testing.T, source, target string) string {
	t.Helper()
	if _, _, err := w.anaAPI.Releases.Create(bg, source, client.NewRelease{Image: "example/" + source + ":1"}); err != nil {
		t.Fatal(err)
	}
	p := must[*client.Promotion](t)(w.anaAPI.Promotions.Create(bg, client.NewPromotion{Pipeline: "shop", Source: source, Targets: []string{target}}))
	done := must[*client.Promotion](t)(w.anaAPI.Promotions.Wait(bg, p.ID))
	if done.Status != "successful" {
		t.Fatalf("promotion %s: %s", p.ID, done.Status)
	}
	return p.ID
}

func TestSecurityHeadersAndCookies(t *testing.T) {
	w := newWorld(t)
	anon := newVisitor(t, w.srv.URL)
	ana := w.visitor(t, w.ana)
	pages := []*page{
		anon.get("/ui/signin"), anon.get("/ui/apps"), anon.get("/ui/static/console.js"),
		ana.get("/ui/apps"), ana.get("/ui/apps/ops-api"), ana.get("/ui/nosuch"), ana.get("/ui/pipelines/shop/state"),
	}
	for _, p := range pages {
		h := p.Header
		if got := h.Get("Content-Security-Policy"); got != ui.ContentSecurityPolicy {
			t.Errorf("%s: CSP %q", p.call, got)
		}
		for _, dir := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self'", "form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'"} {
			if !strings.Contains(ui.ContentSecurityPolicy, dir) {
				t.Errorf("CSP lacks %s", dir)
			}
		}
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" || h.Get("X-Request-Id") == "" {
			t.Errorf("%s: headers %v", p.call, h)
		}
		if strings.Contains(p.Body, "<script>") || strings.Contains(p.Body, " style=") || strings.Contains(p.Body, "onclick") {
			t.Errorf("%s: inline script or style, which the CSP forbids:\n%s", p.call, p.Body)
		}
	}
	if got := pages[0].Header.Get("Set-Cookie"); !strings.Contains(got, "HttpOnly") || !strings.Contains(got, "SameSite=Strict") || !strings.Contains(got, "Path=/ui/") || strings.Contains(got, "Secure") {
		t.Errorf("sign-in cookie over http: %q", got)
	}

	// Over TLS, and behind a TLS-terminating proxy (SecureCookies), the
	// cookies are Secure.
	tlsSrv := httptest.NewTLSServer(w.srv.Instance().API)
	defer tlsSrv.Close()
	proxied := httptest.NewServer(ui.New(w.srv.Instance().Core, ui.Options{SecureCookies: true}))
	defer proxied.Close()
	for _, base := range []string{tlsSrv.URL, proxied.URL} {
		hc := tlsSrv.Client()
		hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, err := hc.Get(base + "/ui/signin")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		token := ""
		for _, c := range resp.Cookies() {
			if c.Name == "berth_signin" {
				token = c.Value
				if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
					t.Errorf("%s: sign-in cookie %+v", base, c)
				}
			}
		}
		req, _ := http.NewRequest(http.MethodPost, base+"/ui/signin", strings.NewReader(url.Values{"email": {w.ana.Email}, "password": {w.ana.Password}, "csrf": {token}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(&http.Cookie{Name: "berth_signin", Value: token})
		resp, err = hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		found := false
		for _, c := range resp.Cookies() {
			if c.Name == "berth_session" {
				found = true
				if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/ui/" || c.Expires.IsZero() {
					t.Errorf("%s: session cookie %+v", base, c)
				}
			}
		}
		if resp.StatusCode != http.StatusSeeOther || !found {
			t.Errorf("%s: sign in: %d, session cookie %v", base, resp.StatusCode, found)
		}
	}
}

func TestSignInAndOut(t *testing.T) {
	w := newWorld(t)
	v := newVisitor(t, w.srv.URL)
	form := v.get("/ui/signin?next=/ui/pipelines/shop").expect(t, http.StatusOK)
	token := form.formToken(t)

	for _, c := range []struct{ email, password string }{{w.ana.Email, "wrong password"}, {"nobody@example.com", "whatever1"}} {
		p := v.post("/ui/signin", url.Values{"email": {c.email}, "password": {c.password}, "csrf": {token}})
		if p.Status != http.StatusUnauthorized || !strings.Contains(p.mainText(), "Wrong e-mail address or password") || v.session() != "" {
			t.Errorf("sign in as %s with %q: %d %s", c.email, c.password, p.Status, p.mainText())
		}
	}
	// The form's token is required: a page elsewhere cannot sign a visitor
	// in (login forgery).
	other := newVisitor(t, w.srv.URL)
	p := other.post("/ui/signin", url.Values{"email": {w.ana.Email}, "password": {w.ana.Password}, "csrf": {token}})
	if p.Status != http.StatusForbidden || other.session() != "" {
		t.Errorf("sign in without the form's cookie: %d", p.Status)
	}
	p = v.post("/ui/signin", url.Values{"email": {w.ana.Email}, "password": {w.ana.Password}, "csrf": {token}, "next": {"/ui/pipelines/shop"}},
		"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
	if p.Status != http.StatusForbidden || v.session() != "" {
		t.Errorf("cross-site sign in: %d", p.Status)
	}

	for next, want := range map[string]string{"/ui/pipelines/shop": "/ui/pipelines/shop", "//evil.example/ui/": "/ui/", "https://evil.example/ui/": "/ui/", "/ui/\\evil": "/ui/"} {
		v := newVisitor(t, w.srv.URL)
		tok := v.get("/ui/signin").formToken(t)
		p := v.post("/ui/signin", url.Values{"email": {w.ana.Email}, "password": {w.ana.Password}, "csrf": {tok}, "next": {next}})
		if p.Status != http.StatusSeeOther || p.Header.Get("Location") != want {
			t.Errorf("next=%q: %d to %q, want %q", next, p.Status, p.Header.Get("Location"), want)
		}
	}

	p = v.post("/ui/signin", url.Values{"email": {w.ana.Email}, "password": {w.ana.Password}, "csrf": {token}, "next": {"/ui/pipelines/shop"}})
	if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/ui/pipelines/shop" {
		t.Fatalf("sign in: %d %s", p.Status, p.Header)
	}
	session := v.session()
	// The console's session is the API's: the same token works there.
	w.srv.Req(t, http.MethodGet, "/users/info", session, nil).Expect(t, http.StatusOK)
	apps := v.get("/ui/apps").expect(t, http.StatusOK)
	if apps.byID("app-web-stg") == nil {
		t.Fatalf("apps page after sign in:\n%s", apps.Body)
	}
	if got := v.get("/ui/signin"); got.Status != http.StatusSeeOther {
		t.Errorf("sign-in page when signed in: %d", got.Status)
	}

	// Sign-out is a form too, and revokes the session for the API as well.
	v.post("/ui/signout", url.Values{"csrf": {"forged"}}).expect(t, http.StatusForbidden)
	w.srv.Req(t, http.MethodGet, "/users/info", session, nil).Expect(t, http.StatusOK)
	p = v.post("/ui/signout", url.Values{"csrf": {apps.formToken(t)}}).expect(t, http.StatusSeeOther)
	if p.Header.Get("Location") != "/ui/signin" || v.session() != "" {
		t.Errorf("sign out: %s, cookie %q", p.Header.Get("Location"), v.session())
	}
	w.srv.Req(t, http.MethodGet, "/users/info", session, nil).Expect(t, http.StatusUnauthorized)
	if p := v.get("/ui/apps"); p.Status != http.StatusUnauthorized || !p.isSignIn() {
		t.Errorf("apps after sign out: %d", p.Status)
	}
}

// TestSignInCountsAgainstLoginBudgets: the console is no way around the
// API's login limits. Wrong passwords at the console spend the account's
// budget, the next sign-in gets a 429 page with Retry-After, and the API's
// login for that account is refused as well.
func TestSignInCountsAgainstLoginBudgets(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewUser(t, "ana@example.com")
	v := newVisitor(t, srv.URL)
	token := v.get("/ui/signin").expect(t, http.StatusOK).formToken(t)
	for range 10 {
		v.post("/ui/signin", url.Values{"email": {ana.Email}, "password": {"wrong password"}, "csrf": {token}}).expect(t, http.StatusUnauthorized)
	}
	p := v.post("/ui/signin", url.Values{"email": {ana.Email}, "password": {ana.Password}, "csrf": {token}}).expect(t, http.StatusTooManyRequests)
	if secs, err := strconv.Atoi(p.Header.Get("Retry-After")); err != nil || secs < 1 {
		t.Errorf("Retry-After %q", p.Header.Get("Retry-After"))
	}
	if !strings.Contains(p.mainText(), "for this account") || v.session() != "" {
		t.Errorf("the refused sign-in: %q, session %q", p.mainText(), v.session())
	}
	srv.Do(t, berthtest.Call{Method: http.MethodPost, Path: "/users/" + ana.Email + "/tokens", Body: map[string]string{"password": ana.Password}}).
		Expect(t, http.StatusTooManyRequests)
}

// TestFormsRefuseForgery sends every form of the console without its
// token, with another session's token and from another site: each is
// refused with a 403 page and changes nothing.
func TestFormsRefuseForgery(t *testing.T) {
	w := newWorld(t)
	admin := w.admin(t)
	ana := w.visitor(t, w.ana)
	mustSuccess := must[*client.ReleaseStatus](t)
	mustSuccess(w.anaAPI.Releases.UpdateStatus(bg, "web-stg", "1", w.smokeStatusID, client.ReleaseStatusUpdate{State: "success"}))
	anaToken := ana.get("/ui/apps").formToken(t)
	adminToken := admin.get("/ui/apps").formToken(t)
	if anaToken == adminToken || anaToken == "" {
		t.Fatalf("form tokens of two sessions: %q and %q", anaToken, adminToken)
	}
	forms := map[string]url.Values{
		"/ui/signout":                           {},
		"/ui/pipelines/shop/promotions":         {"source": {"web-stg"}, "release": {"1"}, "target": {"web-prod"}},
		"/ui/admin/users/ana@example.com/quota": {"limit": {"3"}},
		"/ui/admin/healers/stack-leases":        {},
	}
	for _, rt := range w.srv.Instance().Console.Routes() {
		if rt.Form && rt.Path != "/ui/signin" {
			if _, ok := forms[samplePaths[rt.Path]]; !ok {
				t.Errorf("form %s is not tried by this test", rt.Path)
			}
		}
	}
	for path, fields := range forms {
		v := admin
		token := adminToken
		if strings.Contains(path, "pipelines") {
			v, token = ana, anaToken
		}
		for name, try := range map[string]func() *page{
			"no token": func() *page { return v.post(path, fields) },
			"another session's": func() *page {
				f := clone(fields)
				f.Set("csrf", otherToken(token, anaToken, adminToken))
				return v.post(path, f)
			},
			"a cross-site request": func() *page {
				f := clone(fields)
				f.Set("csrf", token)
				return v.post(path, f, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
			},
		} {
			if p := try(); p.Status != http.StatusForbidden || p.doc == nil || !strings.Contains(p.mainText(), "Not allowed") {
				t.Errorf("POST %s with %s: %d, want the 403 page; body:\n%.400s", path, name, p.Status, p.Body)
			}
		}
	}
	if ps := must[[]client.Promotion](t)(w.anaAPI.Promotions.List(bg, "shop", nil)); len(ps) != 0 {
		t.Errorf("a refused form made %d promotions", len(ps))
	}
	if limit, _ := w.quota(t, "ana@example.com"); limit != -1 {
		t.Errorf("a refused form set the quota to %d", limit)
	}
	ana.get("/ui/apps").expect(t, http.StatusOK)
	admin.get("/ui/apps").expect(t, http.StatusOK)
}

func clone(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

func otherToken(mine string, tokens ...string) string {
	for _, t := range tokens {
		if t != mine {
			return t
		}
	}
	return ""
}
