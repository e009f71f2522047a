package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/berthdev/terraform-provider-berth/controlplane/core"
	"github.com/berthdev/terraform-provider-berth/internal/berthtest"
)

// Views of lain's answers, as a client reads them.

type lainProcSpec struct {
	Name         string `json:"name"`
	NumInstances int    `json:"num_instances"`
	CPU          int    `json:"cpu"`
	Memory       string `json:"memory"`
}

type lainRepo struct {
	AppName  string   `json:"appname"`
	ID       string   `json:"id"`
	AppType  string   `json:"apptype"`
	Team     string   `json:"team"`
	Teams    []string `json:"teams"`
	Platform string   `json:"platform"`
	Meta     struct {
		AppType      string         `json:"apptype"`
		Procs        []lainProcSpec `json:"procs"`
		UseResources []string       `json:"use_resources"`
	} `json:"meta"`
	State string `json:"state"`
	URL   string `json:"url"`
}

type lainProc struct {
	ProcName     string `json:"procname"`
	NumInstances int    `json:"num_instances"`
	CPU          int    `json:"cpu"`
	Memory       string `json:"memory"`
	State        string `json:"state"`
	Pods         []struct {
		Name  string `json:"name"`
		State string `json:"state"`
	} `json:"pods"`
	URL string `json:"url"`
}

type lainApp struct {
	AppName           string     `json:"appname"`
	AppType           string     `json:"apptype"`
	State             string     `json:"state"`
	MetaVersion       string     `json:"meta_version"`
	Release           int        `json:"release"`
	Procs             []lainProc `json:"procs"`
	UseResources      []string   `json:"use_resources"`
	ResourceInstances []string   `json:"resource_instances"`
	Resource          string     `json:"resource"`
	Client            string     `json:"client"`
	URL               string     `json:"url"`
}

type lainMaintainer struct {
	AppName  string `json:"appname"`
	Username string `json:"username"`
	Role     string `json:"role"`
}

// lainObject decodes the object called key out of lain's envelope and
// returns the envelope's message and URL.
func lainObject(t *testing.T, r *berthtest.Response, key string, v any) (msg, url string) {
	t.Helper()
	var env map[string]json.RawMessage
	r.JSON(t, &env)
	for _, k := range []string{"msg", "url"} {
		if _, ok := env[k]; !ok {
			t.Fatalf("%s: envelope without %q: %s", r, k, r.Body)
		}
	}
	raw, ok := env[key]
	if !ok {
		t.Fatalf("%s: envelope without %q: %s", r, key, r.Body)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	_ = json.Unmarshal(env["msg"], &msg)
	_ = json.Unmarshal(env["url"], &url)
	return msg, url
}

func lainErrorMsg(t *testing.T, r *berthtest.Response) string {
	t.Helper()
	var e struct {
		Message string  `json:"message"`
		Msg     string  `json:"msg"`
		URL     *string `json:"url"`
	}
	r.JSON(t, &e)
	if e.Msg == "" || e.Msg != e.Message || e.URL == nil {
		t.Fatalf("%s: not a lain error envelope", r)
	}
	return e.Msg
}

// register registers an app through lain and returns it.
func register(t *testing.T, srv *berthtest.Server, token string, body any) lainRepo {
	t.Helper()
	var repo lainRepo
	lainObject(t, srv.Req(t, "POST", "/api/v1/repos/", token, body).Expect(t, 201), "repos", &repo)
	return repo
}

func deploy(t *testing.T, srv *berthtest.Server, token, app string) lainApp {
	t.Helper()
	var a lainApp
	lainObject(t, srv.Req(t, "POST", "/api/v1/apps/", token, map[string]string{"appname": app}).Expect(t, 202), "app", &a)
	return a
}

func getApp(t *testing.T, srv *berthtest.Server, token, app string) lainApp {
	t.Helper()
	var a lainApp
	lainObject(t, srv.Req(t, "GET", "/api/v1/apps/"+app+"/", token, nil).Expect(t, 200), "app", &a)
	return a
}

func webMeta() map[string]any {
	return map[string]any{"apptype": "app", "procs": []map[string]any{
		{"name": "web", "num_instances": 2, "cpu": 1, "memory": "64M"},
		{"name": "worker", "num_instances": 1, "cpu": 2, "memory": "1G"},
	}}
}

const metaVersion = "1435893486-ead17ccee6d904f8e01f339e9e96c00812c70756"

func TestLainRegisterRepo(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")

	var repo lainRepo
	msg, url := lainObject(t, srv.Req(t, "POST", "/api/v1/repos/", ana.Token, map[string]any{"appname": "hello", "meta": webMeta()}).Expect(t, 201), "repos", &repo)
	if repo.AppName != "hello" || repo.AppType != "app" || repo.Team != "devs" || repo.State != "undeployed" || repo.ID == "" {
		t.Fatalf("repo: %+v", repo)
	}
	if url != "/api/v1/repos/hello/" || repo.URL != url || msg == "" {
		t.Fatalf("envelope url %q msg %q", url, msg)
	}
	if len(repo.Meta.Procs) != 2 || repo.Meta.Procs[1] != (lainProcSpec{"worker", 1, 2, "1G"}) {
		t.Fatalf("meta: %+v", repo.Meta)
	}
	lainObject(t, srv.Req(t, "GET", "/api/v1/repos/hello/", ana.Token, nil).Expect(t, 200), "repo", &repo)
	if repo.AppName != "hello" || len(repo.Meta.Procs) != 2 {
		t.Fatalf("get repo: %+v", repo)
	}
	// The registering user is the owner.
	var ms []lainMaintainer
	lainObject(t, srv.Req(t, "GET", "/api/v1/repos/hello/maintainers/", ana.Token, nil).Expect(t, 200), "maintainers", &ms)
	if len(ms) != 1 || ms[0] != (lainMaintainer{"hello", "ana@example.com", "owner"}) {
		t.Fatalf("maintainers: %+v", ms)
	}

	// Absent proc fields take lain's defaults; no meta is a plain app.
	repo = register(t, srv, ana.Token, map[string]any{"appname": "defaults", "meta": map[string]any{"procs": []map[string]any{{"name": "web"}}}})
	if repo.AppType != "app" || repo.Meta.Procs[0] != (lainProcSpec{"web", 1, 1, "32M"}) {
		t.Fatalf("defaults: %+v", repo.Meta)
	}
	repo = register(t, srv, ana.Token, map[string]any{"appname": "bare"})
	if repo.AppType != "app" || len(repo.Meta.Procs) != 0 || repo.Meta.UseResources == nil {
		t.Fatalf("bare: %+v", repo)
	}
	repo = register(t, srv, ana.Token, map[string]any{"appname": "zero", "platform": "go", "meta": map[string]any{"procs": []map[string]any{{"name": "cron", "num_instances": 0}}}})
	if repo.Platform != "go" || repo.Meta.Procs[0].NumInstances != 0 {
		t.Fatalf("zero instances: %+v", repo)
	}

	srv.Req(t, "POST", "/api/v1/repos/", ana.Token, map[string]any{"appname": "hello"}).Expect(t, 409)
	register(t, srv, ana.Token, map[string]any{"appname": "redis", "meta": map[string]any{"apptype": "resource"}})
	register(t, srv, ana.Token, map[string]any{"appname": "plain"})

	proc := func(fields map[string]any) map[string]any {
		return map[string]any{"appname": "bad", "meta": map[string]any{"procs": []map[string]any{fields}}}
	}
	cases := []struct {
		name string
		body any
		want int
	}{
		{"no appname", map[string]any{}, 400},
		{"empty body", "", 400},
		{"not json", "{", 400},
		{"dotted name", map[string]any{"appname": "resource.redis.web"}, 400},
		{"uppercase name", map[string]any{"appname": "Hello"}, 400},
		{"meta not an object", map[string]any{"appname": "bad", "meta": "x"}, 400},
		{"apptype resource-instance", map[string]any{"appname": "bad", "meta": map[string]any{"apptype": "resource-instance"}}, 400},
		{"apptype unknown", map[string]any{"appname": "bad", "meta": map[string]any{"apptype": "job"}}, 400},
		{"proc without name", proc(map[string]any{"num_instances": 1}), 400},
		{"proc name uppercase", proc(map[string]any{"name": "Web"}), 400},
		{"instances above 100", proc(map[string]any{"name": "web", "num_instances": 101}), 400},
		{"negative instances", proc(map[string]any{"name": "web", "num_instances": -1}), 400},
		{"cpu 0", proc(map[string]any{"name": "web", "cpu": 0}), 400},
		{"cpu 33", proc(map[string]any{"name": "web", "cpu": 33}), 400},
		{"cpu not integer", proc(map[string]any{"name": "web", "cpu": 1.5}), 400},
		{"memory garbage", proc(map[string]any{"name": "web", "memory": "lots"}), 400},
		{"memory too small", proc(map[string]any{"name": "web", "memory": "1M"}), 400},
		{"memory too big", proc(map[string]any{"name": "web", "memory": "65G"}), 400},
		{"memory a number", proc(map[string]any{"name": "web", "memory": 64}), 400},
		{"proc twice", map[string]any{"appname": "bad", "meta": map[string]any{"procs": []map[string]any{{"name": "web"}, {"name": "web"}}}}, 400},
		{"resource using resources", map[string]any{"appname": "bad", "meta": map[string]any{"apptype": "resource", "use_resources": []string{"redis"}}}, 400},
		{"resource listed twice", map[string]any{"appname": "bad", "meta": map[string]any{"use_resources": []string{"redis", "redis"}}}, 400},
		{"unknown platform", map[string]any{"appname": "bad", "platform": "cobol"}, 400},
		{"resource not registered", map[string]any{"appname": "bad", "meta": map[string]any{"use_resources": []string{"nosuch"}}}, 422},
		{"resource not a resource", map[string]any{"appname": "bad", "meta": map[string]any{"use_resources": []string{"plain"}}}, 422},
		{"team of others", map[string]any{"appname": "bad", "team": "ops"}, 403},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lainErrorMsg(t, srv.Req(t, "POST", "/api/v1/repos/", ana.Token, c.body).Expect(t, c.want))
		})
	}
	srv.Req(t, "GET", "/api/v1/repos/bad/", ana.Token, nil).Expect(t, 404)

	// A user in several teams names the owning team; admins may name any.
	srv.Req(t, "POST", "/teams", ana.Token, map[string]string{"name": "web-team"}).Expect(t, 200)
	srv.Req(t, "POST", "/api/v1/repos/", ana.Token, map[string]any{"appname": "multi"}).Expect(t, 400)
	if repo = register(t, srv, ana.Token, map[string]any{"appname": "multi", "team": "web-team"}); repo.Team != "web-team" {
		t.Fatalf("team: %+v", repo)
	}
	srv.Req(t, "POST", "/api/v1/repos/", srv.AdminToken, map[string]any{"appname": "nowhere", "team": "nosuch"}).Expect(t, 404)
	srv.Req(t, "POST", "/api/v1/repos/", "", map[string]any{"appname": "anon"}).Expect(t, 401)
}

func TestLainAuthAndTrailingSlashes(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	register(t, srv, ana.Token, map[string]any{"appname": "hello", "meta": webMeta()})

	// lain's access-token header works as well as Authorization: bearer.
	r := srv.Do(t, berthtest.Call{Method: "GET", Path: "/api/v1/repos/hello/", Header: map[string]string{"access-token": ana.Token}}).Expect(t, 200)
	var repo lainRepo
	lainObject(t, r, "repo", &repo)
	srv.Do(t, berthtest.Call{Method: "GET", Path: "/api/v1/repos/hello/", Header: map[string]string{"access-token": "nope"}}).Expect(t, 401)
	lainErrorMsg(t, srv.Req(t, "GET", "/api/v1/repos/hello/", "", nil).Expect(t, 401))
	// access-token is lain's only: other dialects ignore it.
	srv.Do(t, berthtest.Call{Method: "GET", Path: "/teams", Header: map[string]string{"access-token": ana.Token}}).Expect(t, 401)

	// Every path answers with and without its trailing slash.
	srv.Req(t, "POST", "/api/v1/apps", ana.Token, map[string]string{"appname": "hello"}).Expect(t, 202)
	for _, p := range []string{
		"/api/v1/repos", "/api/v1/repos/hello", "/api/v1/repos/hello/roles", "/api/v1/repos/hello/roles/ana@example.com",
		"/api/v1/repos/hello/maintainers", "/api/v1/repos/hello/maintainers/ana@example.com",
		"/api/v1/apps", "/api/v1/apps/hello", "/api/v1/apps/hello/procs", "/api/v1/apps/hello/procs/web",
	} {
		srv.Req(t, "GET", p, ana.Token, nil).Expect(t, 200)
		srv.Req(t, "GET", p+"/", ana.Token, nil).Expect(t, 200)
	}
	srv.Req(t, "PATCH", "/api/v1/apps/hello/procs/web", ana.Token, map[string]any{"num_instances": 3}).Expect(t, 202)
	srv.Req(t, "PUT", "/api/v1/apps/hello", ana.Token, map[string]any{"meta_version": metaVersion}).Expect(t, 202)
	srv.Req(t, "DELETE", "/api/v1/apps/hello/procs/web", ana.Token, nil).Expect(t, 202)
	srv.Req(t, "POST", "/api/v1/apps/hello/procs", ana.Token, map[string]any{"procname": "web"}).Expect(t, 201)
	srv.Req(t, "PUT", "/api/v1/repos/hello", ana.Token, map[string]any{"meta": webMeta()}).Expect(t, 200)
	srv.Req(t, "DELETE", "/api/v1/apps/hello", ana.Token, nil).Expect(t, 202)
}

func TestLainListReposAndVisibility(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	bo := srv.NewTeamUser(t, "bo@example.com", "ops")
	for _, n := range []string{"c-app", "a-app", "b-app"} {
		register(t, srv, ana.Token, map[string]any{"appname": n})
	}
	register(t, srv, bo.Token, map[string]any{"appname": "bo-app"})

	names := func(token, query string) ([]string, string) {
		var repos []lainRepo
		r := srv.Req(t, "GET", "/api/v1/repos/"+query, token, nil).Expect(t, 200)
		lainObject(t, r, "repos", &repos)
		var out []string
		for _, r := range repos {
			out = append(out, r.AppName)
		}
		return out, r.Header.Get("X-Next-Cursor")
	}
	if got, _ := names(ana.Token, ""); !slices.Equal(got, []string{"a-app", "b-app", "c-app"}) {
		t.Fatalf("ana sees %v", got)
	}
	if got, _ := names(bo.Token, ""); !slices.Equal(got, []string{"bo-app"}) {
		t.Fatalf("bo sees %v", got)
	}
	if got, _ := names(srv.AdminToken, ""); len(got) != 4 {
		t.Fatalf("admin sees %v", got)
	}
	page, next := names(ana.Token, "?limit=2")
	if !slices.Equal(page, []string{"a-app", "b-app"}) || next == "" {
		t.Fatalf("page 1: %v next %q", page, next)
	}
	if page, next = names(ana.Token, "?limit=2&cursor="+next); !slices.Equal(page, []string{"c-app"}) || next != "" {
		t.Fatalf("page 2: %v next %q", page, next)
	}
	srv.Req(t, "GET", "/api/v1/repos/?limit=0", ana.Token, nil).Expect(t, 400)

	// Another user's app: 403 on reads and changes.
	srv.Req(t, "GET", "/api/v1/repos/bo-app/", ana.Token, nil).Expect(t, 403)
	srv.Req(t, "PUT", "/api/v1/repos/bo-app/", ana.Token, map[string]any{"meta": map[string]any{}}).Expect(t, 403)
	srv.Req(t, "POST", "/api/v1/apps/", ana.Token, map[string]string{"appname": "bo-app"}).Expect(t, 403)
	srv.Req(t, "GET", "/api/v1/repos/nosuch/", ana.Token, nil).Expect(t, 404)
}

func TestLainRolesAndMaintainers(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	bo := srv.NewTeamUser(t, "bo@example.com", "ops")
	cy := srv.NewUser(t, "cy@example.com")
	dee := srv.NewUser(t, "dee@example.com")
	srv.Req(t, "PUT", "/teams/devs/dee@example.com", ana.Token, nil).Expect(t, 200)
	register(t, srv, ana.Token, map[string]any{"appname": "hello"})

	role := func(token, path string) string {
		t.Helper()
		var r struct {
			AppName  string `json:"appname"`
			Username string `json:"username"`
			Role     string `json:"role"`
		}
		lainObject(t, srv.Req(t, "GET", path, token, nil).Expect(t, 200), "role", &r)
		if r.AppName != "hello" || r.Username == "" {
			t.Fatalf("role: %+v", r)
		}
		return r.Role
	}
	if got := role(ana.Token, "/api/v1/repos/hello/roles/"); got != "owner" {
		t.Fatalf("ana's role %q", got)
	}
	// A member of the owning team who is not listed is a maintainer.
	if got := role(dee.Token, "/api/v1/repos/hello/roles/"); got != "maintainer" {
		t.Fatalf("dee's role %q", got)
	}
	if got := role(srv.AdminToken, "/api/v1/repos/hello/roles/"); got != "admin" {
		t.Fatalf("admin's role %q", got)
	}
	if got := role(ana.Token, "/api/v1/repos/hello/roles/dee@example.com/"); got != "maintainer" {
		t.Fatalf("dee's role asked by ana %q", got)
	}
	if got := role(ana.Token, "/api/v1/repos/hello/roles/admin@berth.local/"); got != "admin" {
		t.Fatalf("admin's role asked by ana %q", got)
	}
	srv.Req(t, "GET", "/api/v1/repos/hello/roles/bo@example.com/", ana.Token, nil).Expect(t, 404)
	srv.Req(t, "GET", "/api/v1/repos/hello/roles/nobody@example.com/", ana.Token, nil).Expect(t, 404)
	srv.Req(t, "GET", "/api/v1/repos/hello/roles/", bo.Token, nil).Expect(t, 403)
	srv.Req(t, "GET", "/api/v1/repos/hello/roles/ana@example.com/", bo.Token, nil).Expect(t, 403)

	// Owners add maintainers; a maintainer who is in no team of the app
	// gets access through the maintainer list.
	var m lainMaintainer
	lainObject(t, srv.Req(t, "POST", "/api/v1/repos/hello/maintainers/", ana.Token, map[string]string{"username": "cy@example.com", "role": "maintainer"}).Expect(t, 200), "maintainer", &m)
	if m != (lainMaintainer{"hello", "cy@example.com", "maintainer"}) {
		t.Fatalf("added: %+v", m)
	}
	if got := role(cy.Token, "/api/v1/repos/hello/roles/"); got != "maintainer" {
		t.Fatalf("cy's role %q", got)
	}
	var repos []lainRepo
	lainObject(t, srv.Req(t, "GET", "/api/v1/repos/", cy.Token, nil).Expect(t, 200), "repos", &repos)
	if len(repos) != 1 || repos[0].AppName != "hello" {
		t.Fatalf("cy's repos: %+v", repos)
	}
	lainObject(t, srv.Req(t, "GET", "/api/v1/repos/hello/maintainers/cy@example.com/", cy.Token, nil).Expect(t, 200), "maintainer", &m)

	// Only owners (and admins) change maintainers.
	for _, tok := range []string{cy.Token, dee.Token, bo.Token} {
		srv.Req(t, "POST", "/api/v1/repos/hello/maintainers/", tok, map[string]string{"username": "bo@example.com", "role": "maintainer"}).Expect(t, 403)
		srv.Req(t, "DELETE", "/api/v1/repos/hello/maintainers/cy@example.com/", tok, nil).Expect(t, 403)
	}
	srv.Req(t, "GET", "/api/v1/repos/hello/maintainers/", bo.Token, nil).Expect(t, 403)

	for name, body := range map[string]any{
		"no username": map[string]string{"role": "owner"},
		"no role":     map[string]string{"username": "bo@example.com"},
		"bad role":    map[string]string{"username": "bo@example.com", "role": "admin"},
		"not json":    "{",
	} {
		t.Run(name, func(t *testing.T) {
			lainErrorMsg(t, srv.Req(t, "POST", "/api/v1/repos/hello/maintainers/", ana.Token, body).Expect(t, 400))
		})
	}
	srv.Req(t, "POST", "/api/v1/repos/hello/maintainers/", ana.Token, map[string]string{"username": "nobody@example.com", "role": "owner"}).Expect(t, 404)
	srv.Req(t, "POST", "/api/v1/repos/nosuch/maintainers/", ana.Token, map[string]string{"username": "bo@example.com", "role": "owner"}).Expect(t, 404)

	// The last owner can neither step down nor leave.
	srv.Req(t, "POST", "/api/v1/repos/hello/maintainers/", ana.Token, map[string]string{"username": "ana@example.com", "role": "maintainer"}).Expect(t, 409)
	lainErrorMsg(t, srv.Req(t, "DELETE", "/api/v1/repos/hello/maintainers/ana@example.com/", ana.Token, nil).Expect(t, 409))
	// Promote cy; now ana may go, and cy (an owner) may change maintainers.
	srv.Req(t, "POST", "/api/v1/repos/hello/maintainers/", ana.Token, map[string]string{"username": "cy@example.com", "role": "owner"}).Expect(t, 200)
	srv.Req(t, "DELETE", "/api/v1/repos/hello/maintainers/ana@example.com/", ana.Token, nil).Expect(t, 204)
	srv.Req(t, "DELETE", "/api/v1/repos/hello/maintainers/ana@example.com/", cy.Token, nil).Expect(t, 404)
	srv.Req(t, "GET", "/api/v1/repos/hello/maintainers/ana@example.com/", cy.Token, nil).Expect(t, 404)
	// Ana is still in the owning team: a maintainer now.
	if got := role(ana.Token, "/api/v1/repos/hello/roles/"); got != "maintainer" {
		t.Fatalf("ana's role after leaving the list %q", got)
	}
	srv.Req(t, "POST", "/api/v1/repos/hello/maintainers/", ana.Token, map[string]string{"username": "ana@example.com", "role": "owner"}).Expect(t, 403)
	// Admins may change maintainers of any app.
	srv.Req(t, "POST", "/api/v1/repos/hello/maintainers/", srv.AdminToken, map[string]string{"username": "bo@example.com", "role": "maintainer"}).Expect(t, 200)

	var ms []lainMaintainer
	r := srv.Req(t, "GET", "/api/v1/repos/hello/maintainers/?limit=1", cy.Token, nil).Expect(t, 200)
	lainObject(t, r, "maintainers", &ms)
	if len(ms) != 1 || ms[0].Username != "bo@example.com" || r.Header.Get("X-Next-Cursor") != "bo@example.com" {
		t.Fatalf("maintainers page 1: %+v %q", ms, r.Header.Get("X-Next-Cursor"))
	}
	lainObject(t, srv.Req(t, "GET", "/api/v1/repos/hello/maintainers/?cursor=bo@example.com", cy.Token, nil).Expect(t, 200), "maintainers", &ms)
	if len(ms) != 1 || ms[0] != (lainMaintainer{"hello", "cy@example.com", "owner"}) {
		t.Fatalf("maintainers page 2: %+v", ms)
	}
}

func TestLainDeployRedeployUndeploy(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	bo := srv.NewTeamUser(t, "bo@example.com", "ops")
	register(t, srv, ana.Token, map[string]any{"appname": "hello", "meta": webMeta()})

	srv.Req(t, "GET", "/api/v1/apps/hello/", ana.Token, nil).Expect(t, 404)
	srv.Req(t, "POST", "/api/v1/apps/", ana.Token, map[string]string{"appname": "nosuch"}).Expect(t, 404)
	srv.Req(t, "POST", "/api/v1/apps/", ana.Token, map[string]string{}).Expect(t, 400)
	srv.Req(t, "POST", "/api/v1/apps/", ana.Token, "").Expect(t, 400)
	srv.Req(t, "POST", "/api/v1/apps/", bo.Token, map[string]string{"appname": "hello"}).Expect(t, 403)

	var a lainApp
	msg, url := lainObject(t, srv.Req(t, "POST", "/api/v1/apps/", ana.Token, map[string]string{"appname": "hello"}).Expect(t, 202), "app", &a)
	if a.State != "deployed" || len(a.Procs) != 2 || url != "/api/v1/apps/hello/" || msg == "" {
		t.Fatalf("deployed: %+v %q %q", a, url, msg)
	}
	if web := a.Procs[0]; web.ProcName != "web" || web.State != "deployed" || len(web.Pods) != 2 || web.Pods[0].Name != "hello/0" || web.URL != "/api/v1/apps/hello/procs/web/" {
		t.Fatalf("web: %+v", web)
	}
	if worker := a.Procs[1]; worker.ProcName != "worker" || len(worker.Pods) != 1 || worker.Pods[0].Name != "hello/2" {
		t.Fatalf("worker: %+v", worker)
	}
	lainErrorMsg(t, srv.Req(t, "POST", "/api/v1/apps/", ana.Token, map[string]string{"appname": "hello"}).Expect(t, 409))
	if a = getApp(t, srv, ana.Token, "hello"); a.State != "deployed" || a.Release != 0 {
		t.Fatalf("get: %+v", a)
	}
	srv.Req(t, "GET", "/api/v1/apps/hello/", bo.Token, nil).Expect(t, 403)
	srv.Req(t, "GET", "/api/v1/apps/nosuch/", ana.Token, nil).Expect(t, 404)

	// PUT meta_version releases and redeploys.
	for _, bad := range []any{
		map[string]string{},
		map[string]string{"meta_version": "1435893486"},
		map[string]string{"meta_version": "1435893486-EAD17CCEE6D904F8E01F339E9E96C00812C70756"},
		map[string]string{"meta_version": "1435893486-ead17cc"},
		map[string]string{"meta_version": "x-ead17ccee6d904f8e01f339e9e96c00812c70756"},
		map[string]string{"meta_version": metaVersion + "0"},
		map[string]int{"meta_version": 1},
		"",
	} {
		lainErrorMsg(t, srv.Req(t, "PUT", "/api/v1/apps/hello/", ana.Token, bad).Expect(t, 400))
	}
	srv.Req(t, "PUT", "/api/v1/apps/hello/", bo.Token, map[string]string{"meta_version": metaVersion}).Expect(t, 403)
	lainObject(t, srv.Req(t, "PUT", "/api/v1/apps/hello/", ana.Token, map[string]string{"meta_version": metaVersion}).Expect(t, 202), "app", &a)
	if a.Release != 1 || a.MetaVersion != metaVersion || a.State != "deployed" {
		t.Fatalf("redeployed: %+v", a)
	}
	second := "1435893999-0123456789abcdef0123456789abcdef01234567"
	lainObject(t, srv.Req(t, "PUT", "/api/v1/apps/hello/", ana.Token, map[string]string{"meta_version": second}).Expect(t, 202), "app", &a)
	if a.Release != 2 || a.MetaVersion != second {
		t.Fatalf("redeployed twice: %+v", a)
	}
	// The same version again (a retried PUT) makes no new release; a config
	// change since does.
	lainObject(t, srv.Req(t, "PUT", "/api/v1/apps/hello/", ana.Token, map[string]string{"meta_version": second}).Expect(t, 202), "app", &a)
	if a.Release != 2 {
		t.Fatalf("same version redeployed: %+v", a)
	}
	setConfig(t, srv, "hello", map[string]string{"LEVEL": "debug"})
	lainObject(t, srv.Req(t, "PUT", "/api/v1/apps/hello/", ana.Token, map[string]string{"meta_version": second}).Expect(t, 202), "app", &a)
	if a.Release != 3 {
		t.Fatalf("redeployed after a config change: %+v", a)
	}
	// Every release is in the Akkeris release list.
	rels := releases(t, srv, ana.Token, "hello")
	if len(rels) != 3 || rels[0].MetaVersion != second || rels[0].ConfigVars["LEVEL"] != "debug" || rels[1].MetaVersion != second || rels[2].MetaVersion != metaVersion {
		t.Errorf("releases: %+v", rels)
	}

	// Undeploy keeps the registration.
	srv.Req(t, "DELETE", "/api/v1/apps/hello/", bo.Token, nil).Expect(t, 403)
	lainObject(t, srv.Req(t, "DELETE", "/api/v1/apps/hello/", ana.Token, nil).Expect(t, 202), "app", &a)
	if a.State != "undeployed" || a.Procs[0].State != "undeployed" || len(a.Procs[0].Pods) != 0 {
		t.Fatalf("undeployed: %+v", a)
	}
	srv.Req(t, "GET", "/api/v1/apps/hello/", ana.Token, nil).Expect(t, 404)
	srv.Req(t, "DELETE", "/api/v1/apps/hello/", ana.Token, nil).Expect(t, 404)
	srv.Req(t, "PUT", "/api/v1/apps/hello/", ana.Token, map[string]string{"meta_version": metaVersion}).Expect(t, 404)
	srv.Req(t, "GET", "/api/v1/apps/hello/procs/", ana.Token, nil).Expect(t, 404)
	var repo lainRepo
	lainObject(t, srv.Req(t, "GET", "/api/v1/repos/hello/", ana.Token, nil).Expect(t, 200), "repo", &repo)
	if repo.State != "undeployed" || len(repo.Meta.Procs) != 2 {
		t.Fatalf("repo after undeploy: %+v", repo)
	}
	// And it deploys again, at the release it had.
	if a = deploy(t, srv, ana.Token, "hello"); a.MetaVersion != second || a.Release != 3 || len(a.Procs[0].Pods) != 2 {
		t.Fatalf("deployed again: %+v", a)
	}
}

func TestLainListDeployedApps(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	bo := srv.NewTeamUser(t, "bo@example.com", "ops")
	register(t, srv, ana.Token, map[string]any{"appname": "redis", "meta": map[string]any{"apptype": "resource", "procs": []map[string]any{{"name": "server"}}}})
	register(t, srv, ana.Token, map[string]any{"appname": "web", "meta": map[string]any{"use_resources": []string{"redis"}, "procs": []map[string]any{{"name": "web"}}}})
	register(t, srv, ana.Token, map[string]any{"appname": "api", "meta": map[string]any{"apptype": "service"}})
	register(t, srv, ana.Token, map[string]any{"appname": "idle"})
	register(t, srv, bo.Token, map[string]any{"appname": "bo-app"})
	for _, n := range []string{"redis", "web", "api"} {
		deploy(t, srv, ana.Token, n)
	}
	deploy(t, srv, bo.Token, "bo-app")

	list := func(token, query string) ([]string, string) {
		t.Helper()
		var apps []lainApp
		r := srv.Req(t, "GET", "/api/v1/apps/"+query, token, nil).Expect(t, 200)
		lainObject(t, r, "apps", &apps)
		var names []string
		for _, a := range apps {
			names = append(names, a.AppName)
		}
		return names, r.Header.Get("X-Next-Cursor")
	}
	cases := []struct {
		query string
		want  []string
	}{
		{"", []string{"api", "redis", "resource.redis.web", "web"}},
		{"?apptype=app", []string{"web"}},
		{"?apptype=service", []string{"api"}},
		{"?apptype=resource", []string{"redis"}},
		{"?apptype=resource-instance", []string{"resource.redis.web"}},
		{"?apptype=", []string{"api", "redis", "resource.redis.web", "web"}},
		// A query without apptype lists apps of type app, as lain's console.
		{"?limit=10", []string{"web"}},
	}
	for _, c := range cases {
		if got, _ := list(ana.Token, c.query); !slices.Equal(got, c.want) {
			t.Errorf("GET /api/v1/apps/%s: %v, want %v", c.query, got, c.want)
		}
	}
	if got, _ := list(bo.Token, ""); !slices.Equal(got, []string{"bo-app"}) {
		t.Errorf("bo sees %v", got)
	}
	if got, _ := list(srv.AdminToken, "?apptype=app"); !slices.Equal(got, []string{"bo-app", "web"}) {
		t.Errorf("admin sees %v", got)
	}
	srv.Req(t, "GET", "/api/v1/apps/?apptype=job", ana.Token, nil).Expect(t, 400)

	// Pages skip apps that are registered but not deployed.
	page, next := list(ana.Token, "?apptype=&limit=2")
	if !slices.Equal(page, []string{"api", "redis"}) || next == "" {
		t.Fatalf("page 1: %v %q", page, next)
	}
	page, next = list(ana.Token, "?apptype=&limit=2&cursor="+next)
	if !slices.Equal(page, []string{"resource.redis.web", "web"}) {
		t.Fatalf("page 2: %v %q", page, next)
	}
	// A full page announces a next one, which may be empty (as every list).
	if page, next = list(ana.Token, "?apptype=&limit=2&cursor="+next); len(page) != 0 || next != "" {
		t.Fatalf("page 3: %v %q", page, next)
	}
}

func TestLainResourceInstances(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	bo := srv.NewTeamUser(t, "bo@example.com", "ops")
	cy := srv.NewUser(t, "cy@example.com")
	register(t, srv, ana.Token, map[string]any{"appname": "redis", "meta": map[string]any{"apptype": "resource", "procs": []map[string]any{{"name": "server", "num_instances": 2, "memory": "128M"}}}})
	register(t, srv, ana.Token, map[string]any{"appname": "mysql", "meta": map[string]any{"apptype": "resource", "procs": []map[string]any{{"name": "db"}}}})
	register(t, srv, ana.Token, map[string]any{"appname": "web", "meta": map[string]any{"use_resources": []string{"redis"}, "procs": []map[string]any{{"name": "web"}}}})
	// A maintainer outside the team deploys: the instance is still the team's.
	srv.Req(t, "POST", "/api/v1/repos/web/maintainers/", ana.Token, map[string]string{"username": "cy@example.com", "role": "maintainer"}).Expect(t, 200)

	// A resource app deploys but runs nothing itself.
	redis := deploy(t, srv, ana.Token, "redis")
	if redis.AppType != "resource" || redis.Procs[0].State != "undeployed" {
		t.Fatalf("redis: %+v", redis)
	}
	lainErrorMsg(t, srv.Req(t, "POST", "/api/v1/apps/redis/procs/", ana.Token, map[string]string{"procname": "server"}).Expect(t, 400))
	lainErrorMsg(t, srv.Req(t, "DELETE", "/api/v1/apps/redis/", ana.Token, nil).Expect(t, 403))

	web := deploy(t, srv, cy.Token, "web")
	if !slices.Equal(web.ResourceInstances, []string{"resource.redis.web"}) || !slices.Equal(web.UseResources, []string{"redis"}) {
		t.Fatalf("web: %+v", web)
	}
	inst := getApp(t, srv, cy.Token, "resource.redis.web")
	if inst.AppType != "resource-instance" || inst.State != "deployed" || inst.Resource != "redis" || inst.Client != "web" {
		t.Fatalf("instance: %+v", inst)
	}
	if len(inst.Procs) != 1 || inst.Procs[0].ProcName != "server" || inst.Procs[0].Memory != "128M" || len(inst.Procs[0].Pods) != 2 {
		t.Fatalf("instance procs: %+v", inst.Procs)
	}
	var repo lainRepo
	lainObject(t, srv.Req(t, "GET", "/api/v1/repos/resource.redis.web/", ana.Token, nil).Expect(t, 200), "repo", &repo)
	if repo.Team != "devs" {
		t.Fatalf("instance team: %+v", repo)
	}
	srv.Req(t, "GET", "/api/v1/apps/resource.redis.web/", bo.Token, nil).Expect(t, 403)

	instances := func(token, resource string) []string {
		t.Helper()
		var apps []lainApp
		lainObject(t, srv.Req(t, "GET", "/api/v1/resources/"+resource+"/instances/", token, nil).Expect(t, 200), "instances", &apps)
		var names []string
		for _, a := range apps {
			names = append(names, a.AppName)
		}
		return names
	}
	if got := instances(ana.Token, "redis"); !slices.Equal(got, []string{"resource.redis.web"}) {
		t.Fatalf("instances: %v", got)
	}
	if got := instances(ana.Token, "web"); len(got) != 0 {
		t.Fatalf("instances of a non-resource: %v", got)
	}
	srv.Req(t, "GET", "/api/v1/resources/redis/instances", ana.Token, nil).Expect(t, 200)
	srv.Req(t, "GET", "/api/v1/resources/redis/instances/", bo.Token, nil).Expect(t, 403)
	srv.Req(t, "GET", "/api/v1/resources/nosuch/instances/", ana.Token, nil).Expect(t, 404)

	// Instances are berth's: users neither undeploy them nor change their
	// meta or maintainers directly, nor register dotted names.
	srv.Req(t, "DELETE", "/api/v1/apps/resource.redis.web/", ana.Token, nil).Expect(t, 403)
	srv.Req(t, "PUT", "/api/v1/repos/resource.redis.web/", ana.Token, map[string]any{"meta": map[string]any{}}).Expect(t, 403)
	srv.Req(t, "POST", "/api/v1/repos/resource.redis.web/maintainers/", ana.Token, map[string]string{"username": "bo@example.com", "role": "owner"}).Expect(t, 403)
	srv.Req(t, "POST", "/api/v1/repos/", ana.Token, map[string]any{"appname": "resource.redis.other"}).Expect(t, 400)
	srv.Req(t, "POST", "/api/v1/apps/", ana.Token, map[string]string{"appname": "resource.redis.web"}).Expect(t, 409)
	// But they scale like any deployed app.
	srv.Req(t, "PATCH", "/api/v1/apps/resource.redis.web/procs/server/", cy.Token, map[string]any{"num_instances": 3}).Expect(t, 202)

	// Maintainers of the app maintain its instances.
	srv.Req(t, "POST", "/api/v1/repos/web/maintainers/", ana.Token, map[string]string{"username": "bo@example.com", "role": "maintainer"}).Expect(t, 200)
	getApp(t, srv, bo.Token, "resource.redis.web")
	srv.Req(t, "DELETE", "/api/v1/repos/web/maintainers/bo@example.com/", ana.Token, nil).Expect(t, 204)
	srv.Req(t, "GET", "/api/v1/apps/resource.redis.web/", bo.Token, nil).Expect(t, 403)

	// A resource with instances keeps its apptype.
	srv.Req(t, "PUT", "/api/v1/repos/redis/", ana.Token, map[string]any{"meta": map[string]any{"apptype": "app"}}).Expect(t, 409)

	// Changing the resources of a deployed app replaces its instances.
	lainObject(t, srv.Req(t, "PUT", "/api/v1/repos/web/", ana.Token, map[string]any{"meta": map[string]any{"use_resources": []string{"mysql"}, "procs": []map[string]any{{"name": "web"}}}}).Expect(t, 200), "repo", &repo)
	srv.Req(t, "GET", "/api/v1/repos/resource.redis.web/", ana.Token, nil).Expect(t, 404)
	if inst = getApp(t, srv, ana.Token, "resource.mysql.web"); inst.Procs[0].ProcName != "db" {
		t.Fatalf("mysql instance: %+v", inst)
	}
	if got := instances(ana.Token, "redis"); len(got) != 0 {
		t.Fatalf("redis instances after the switch: %v", got)
	}
	// A redeploy keeps existing instances as they are.
	srv.Req(t, "PATCH", "/api/v1/apps/resource.mysql.web/procs/db/", ana.Token, map[string]any{"memory": "256M"}).Expect(t, 202)
	srv.Req(t, "PUT", "/api/v1/apps/web/", ana.Token, map[string]string{"meta_version": metaVersion}).Expect(t, 202)
	if inst = getApp(t, srv, ana.Token, "resource.mysql.web"); inst.Procs[0].Memory != "256M" {
		t.Fatalf("instance after redeploy: %+v", inst)
	}

	// mysql was never deployed, but it has an instance: it stays a resource.
	srv.Req(t, "PUT", "/api/v1/repos/mysql/", ana.Token, map[string]any{"meta": map[string]any{"apptype": "app"}}).Expect(t, 409)

	// Undeploying the app removes its instances.
	srv.Req(t, "DELETE", "/api/v1/apps/web/", ana.Token, nil).Expect(t, 202)
	srv.Req(t, "GET", "/api/v1/repos/resource.mysql.web/", ana.Token, nil).Expect(t, 404)
	if got := instances(ana.Token, "mysql"); len(got) != 0 {
		t.Fatalf("mysql instances after undeploy: %v", got)
	}

	// A resource must be a registered app of type resource when deploying.
	srv.Req(t, "PUT", "/api/v1/repos/mysql/", ana.Token, map[string]any{"meta": map[string]any{"apptype": "app"}}).Expect(t, 200)
	lainErrorMsg(t, srv.Req(t, "POST", "/api/v1/apps/", ana.Token, map[string]string{"appname": "web"}).Expect(t, 422))
	srv.Req(t, "GET", "/api/v1/apps/web/", ana.Token, nil).Expect(t, 404)
}

func TestLainProcs(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	bo := srv.NewTeamUser(t, "bo@example.com", "ops")
	register(t, srv, ana.Token, map[string]any{"appname": "hello", "meta": webMeta()})
	srv.Req(t, "GET", "/api/v1/apps/hello/procs/", ana.Token, nil).Expect(t, 404)
	srv.Req(t, "POST", "/api/v1/apps/hello/procs/", ana.Token, map[string]string{"procname": "web"}).Expect(t, 404)
	deploy(t, srv, ana.Token, "hello")

	procURL := "/api/v1/apps/hello/procs/web/"
	getProc := func(path string) (lainProc, string) {
		t.Helper()
		var p lainProc
		msg, _ := lainObject(t, srv.Req(t, "GET", path, ana.Token, nil).Expect(t, 200), "proc", &p)
		return p, msg
	}
	var procs []lainProc
	lainObject(t, srv.Req(t, "GET", "/api/v1/apps/hello/procs/", ana.Token, nil).Expect(t, 200), "procs", &procs)
	if len(procs) != 2 || procs[0].ProcName != "web" || procs[1].ProcName != "worker" || procs[0].State != "deployed" {
		t.Fatalf("procs: %+v", procs)
	}
	r := srv.Req(t, "GET", "/api/v1/apps/hello/procs/?limit=1", ana.Token, nil).Expect(t, 200)
	lainObject(t, r, "procs", &procs)
	if len(procs) != 1 || r.Header.Get("X-Next-Cursor") != "web" {
		t.Fatalf("procs page: %+v %q", procs, r.Header.Get("X-Next-Cursor"))
	}
	srv.Req(t, "GET", "/api/v1/apps/hello/procs/", bo.Token, nil).Expect(t, 403)
	srv.Req(t, "GET", "/api/v1/apps/hello/procs/nosuch/", ana.Token, nil).Expect(t, 404)

	// Scale: num_instances alone.
	var p lainProc
	msg, url := lainObject(t, srv.Req(t, "PATCH", procURL, ana.Token, map[string]any{"num_instances": 5}).Expect(t, 202), "proc", &p)
	if p.NumInstances != 5 || len(p.Pods) != 5 || url != procURL || msg == "" {
		t.Fatalf("scaled: %+v %q", p, url)
	}
	// cpu and/or memory.
	lainObject(t, srv.Req(t, "PATCH", procURL, ana.Token, map[string]any{"cpu": 4, "memory": "1G"}).Expect(t, 202), "proc", &p)
	if p.CPU != 4 || p.Memory != "1G" || p.NumInstances != 5 {
		t.Fatalf("resized: %+v", p)
	}
	lainObject(t, srv.Req(t, "PATCH", procURL, ana.Token, map[string]any{"memory": "512MiB"}).Expect(t, 202), "proc", &p)
	lainObject(t, srv.Req(t, "PATCH", procURL, ana.Token, map[string]any{"cpu": 32}).Expect(t, 202), "proc", &p)
	lainObject(t, srv.Req(t, "PATCH", procURL, ana.Token, map[string]any{"num_instances": 0}).Expect(t, 202), "proc", &p)
	if p.CPU != 32 || p.Memory != "512MiB" || p.NumInstances != 0 || len(p.Pods) != 0 || p.State != "deployed" {
		t.Fatalf("after several changes: %+v", p)
	}
	lainObject(t, srv.Req(t, "PATCH", procURL, ana.Token, map[string]any{"num_instances": 100, "cpu": nil}).Expect(t, 202), "proc", &p)

	bad := []struct {
		name string
		body any
	}{
		{"empty body", ""},
		{"empty object", map[string]any{}},
		{"only nulls", map[string]any{"cpu": nil, "memory": nil}},
		{"instances with cpu", map[string]any{"num_instances": 2, "cpu": 1}},
		{"instances with memory", map[string]any{"num_instances": 2, "memory": "64M"}},
		{"instances with both", map[string]any{"num_instances": 2, "cpu": 1, "memory": "64M"}},
		{"instances above 100", map[string]any{"num_instances": 101}},
		{"negative instances", map[string]any{"num_instances": -1}},
		{"instances not integer", map[string]any{"num_instances": 1.5}},
		{"instances a string", map[string]any{"num_instances": "2"}},
		{"cpu 0", map[string]any{"cpu": 0}},
		{"cpu 33", map[string]any{"cpu": 33}},
		{"cpu not integer", map[string]any{"cpu": 1.5}},
		{"memory garbage", map[string]any{"memory": "lots"}},
		{"memory no number", map[string]any{"memory": "M"}},
		{"memory below 4M", map[string]any{"memory": "3M"}},
		{"memory above 64G", map[string]any{"memory": "65G"}},
		{"memory bare bytes too small", map[string]any{"memory": "1024"}},
		{"memory a number", map[string]any{"memory": 64}},
		{"not an object", []int{1}},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			lainErrorMsg(t, srv.Req(t, "PATCH", procURL, ana.Token, c.body).Expect(t, 400))
		})
	}
	if p, _ = getProc(procURL); p.NumInstances != 100 || p.CPU != 32 {
		t.Fatalf("a refused change changed the proc: %+v", p)
	}
	srv.Req(t, "PATCH", "/api/v1/apps/hello/procs/nosuch/", ana.Token, map[string]any{"num_instances": 1}).Expect(t, 404)
	srv.Req(t, "PATCH", "/api/v1/apps/nosuch/procs/web/", ana.Token, map[string]any{"num_instances": 1}).Expect(t, 404)
	srv.Req(t, "PATCH", procURL, bo.Token, map[string]any{"num_instances": 1}).Expect(t, 403)

	// Undeploy a proc: it stays declared.
	srv.Req(t, "DELETE", procURL, bo.Token, nil).Expect(t, 403)
	lainObject(t, srv.Req(t, "DELETE", procURL, ana.Token, nil).Expect(t, 202), "proc", &p)
	if p.State != "undeployed" || len(p.Pods) != 0 {
		t.Fatalf("undeployed proc: %+v", p)
	}
	if p, msg = getProc(procURL); p.State != "undeployed" || !strings.Contains(msg, "not deployed") {
		t.Fatalf("get undeployed proc: %+v %q", p, msg)
	}
	lainErrorMsg(t, srv.Req(t, "DELETE", procURL, ana.Token, nil).Expect(t, 400))
	lainErrorMsg(t, srv.Req(t, "PATCH", procURL, ana.Token, map[string]any{"num_instances": 1}).Expect(t, 400))
	srv.Req(t, "DELETE", "/api/v1/apps/hello/procs/nosuch/", ana.Token, nil).Expect(t, 404)
	// The worker's unit keeps its name: another proc stopping renames nothing.
	if a := getApp(t, srv, ana.Token, "hello"); len(a.Procs[1].Pods) != 1 || a.Procs[1].Pods[0].Name != "hello/2" {
		t.Fatalf("units after undeploying web: %+v", a.Procs)
	}

	// Deploy it again.
	srv.Req(t, "POST", "/api/v1/apps/hello/procs/", bo.Token, map[string]string{"procname": "web"}).Expect(t, 403)
	lainErrorMsg(t, srv.Req(t, "POST", "/api/v1/apps/hello/procs/", ana.Token, map[string]string{"procname": "nosuch"}).Expect(t, 400))
	lainErrorMsg(t, srv.Req(t, "POST", "/api/v1/apps/hello/procs/", ana.Token, map[string]string{}).Expect(t, 400))
	lainObject(t, srv.Req(t, "POST", "/api/v1/apps/hello/procs/", ana.Token, map[string]string{"procname": "web"}).Expect(t, 201), "proc", &p)
	if p.State != "deployed" || p.NumInstances != 100 || len(p.Pods) != 100 {
		t.Fatalf("redeployed proc keeps its scale: %+v", p)
	}
	lainErrorMsg(t, srv.Req(t, "POST", "/api/v1/apps/hello/procs/", ana.Token, map[string]string{"procname": "web"}).Expect(t, 409))

	// Scaling is part of the declaration: a redeploy keeps it.
	srv.Req(t, "PATCH", procURL, ana.Token, map[string]any{"num_instances": 3}).Expect(t, 202)
	srv.Req(t, "DELETE", "/api/v1/apps/hello/procs/worker/", ana.Token, nil).Expect(t, 202)
	a := getApp(t, srv, ana.Token, "hello")
	lainObject(t, srv.Req(t, "PUT", "/api/v1/apps/hello/", ana.Token, map[string]string{"meta_version": metaVersion}).Expect(t, 202), "app", &a)
	if a.Procs[0].NumInstances != 3 || a.Procs[0].CPU != 32 || a.Procs[1].State != "deployed" {
		t.Fatalf("procs after redeploy: %+v", a.Procs)
	}
	var repo lainRepo
	lainObject(t, srv.Req(t, "GET", "/api/v1/repos/hello/", ana.Token, nil).Expect(t, 200), "repo", &repo)
	if repo.Meta.Procs[0] != (lainProcSpec{"web", 3, 32, "512MiB"}) {
		t.Fatalf("declared web: %+v", repo.Meta.Procs[0])
	}
}

// TestLainDeclaresProcsOfAnyApp covers berth's extension PUT
// /api/v1/repos/{app}/: the procs of an app made elsewhere (tsuru's POST
// /apps goes through core.CreateApp) can be declared and managed here.
func TestLainDeclaresProcsOfAnyApp(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	bo := srv.NewTeamUser(t, "bo@example.com", "ops")
	dee := srv.NewUser(t, "dee@example.com")
	srv.Req(t, "PUT", "/teams/devs/dee@example.com", ana.Token, nil).Expect(t, 200)
	ctx := context.Background()
	inst := srv.Instance()
	id, err := inst.Core.Identity.Authenticate(ctx, ana.Token)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := inst.Core.Apps.Create(ctx, id, core.NewApp{Name: "legacy", Platform: "go"}); err != nil {
		t.Fatal(err)
	}

	var repo lainRepo
	lainObject(t, srv.Req(t, "GET", "/api/v1/repos/legacy/", ana.Token, nil).Expect(t, 200), "repo", &repo)
	if repo.AppType != "app" || len(repo.Meta.Procs) != 0 || repo.Meta.AppType != "app" {
		t.Fatalf("legacy: %+v", repo)
	}
	// The app lists no owner: its team's members own it.
	var role struct{ Role string }
	lainObject(t, srv.Req(t, "GET", "/api/v1/repos/legacy/roles/", dee.Token, nil).Expect(t, 200), "role", &role)
	if role.Role != "owner" {
		t.Fatalf("dee's role on a team-owned app: %q", role.Role)
	}

	for _, bad := range []any{map[string]any{}, map[string]any{"meta": nil}, "", map[string]any{"meta": map[string]any{"procs": []map[string]any{{"name": "web", "cpu": 99}}}}} {
		srv.Req(t, "PUT", "/api/v1/repos/legacy/", ana.Token, bad).Expect(t, 400)
	}
	srv.Req(t, "PUT", "/api/v1/repos/legacy/", bo.Token, map[string]any{"meta": webMeta()}).Expect(t, 403)
	srv.Req(t, "PUT", "/api/v1/repos/nosuch/", ana.Token, map[string]any{"meta": webMeta()}).Expect(t, 404)
	srv.Req(t, "PUT", "/api/v1/repos/legacy/", ana.Token, map[string]any{"meta": map[string]any{"use_resources": []string{"nosuch"}}}).Expect(t, 422)
	lainObject(t, srv.Req(t, "PUT", "/api/v1/repos/legacy/", ana.Token, map[string]any{"meta": webMeta()}).Expect(t, 200), "repo", &repo)
	if len(repo.Meta.Procs) != 2 || repo.State != "undeployed" {
		t.Fatalf("declared: %+v", repo)
	}
	// Undeployed, the apptype may change; deployed, it may not.
	lainObject(t, srv.Req(t, "PUT", "/api/v1/repos/legacy/", ana.Token, map[string]any{"meta": map[string]any{"apptype": "service", "procs": []map[string]any{{"name": "web"}}}}).Expect(t, 200), "repo", &repo)
	if repo.AppType != "service" {
		t.Fatalf("apptype: %+v", repo)
	}
	deploy(t, srv, ana.Token, "legacy")
	srv.Req(t, "PUT", "/api/v1/repos/legacy/", ana.Token, map[string]any{"meta": webMeta()}).Expect(t, 409)

	// On a deployed app the procs follow the declaration at once.
	meta := map[string]any{"apptype": "service", "procs": []map[string]any{
		{"name": "web", "num_instances": 4, "memory": "256M"},
		{"name": "cron", "num_instances": 1},
	}}
	srv.Req(t, "PUT", "/api/v1/repos/legacy/", ana.Token, map[string]any{"meta": meta}).Expect(t, 200)
	a := getApp(t, srv, ana.Token, "legacy")
	if len(a.Procs) != 2 || a.Procs[0].ProcName != "cron" || a.Procs[1].NumInstances != 4 || len(a.Procs[1].Pods) != 4 || a.Procs[1].Memory != "256M" {
		t.Fatalf("procs after the new declaration: %+v", a.Procs)
	}
	var procs []lainProc
	lainObject(t, srv.Req(t, "GET", "/api/v1/apps/legacy/procs/", ana.Token, nil).Expect(t, 200), "procs", &procs)
	if len(procs) != 2 {
		t.Fatalf("procs: %+v", procs)
	}
}

// TestLainReposAreTheSharedApps checks that an app registered through lain
// is the one app every dialect sees. tsuru's GET /apps is not served on this
// branch yet, so the check goes through core.ListApps, which that route
// answers from.
// TestLainReposAreTheSharedApps: one app, three dialects. A repo registered
// and deployed through lain is a tsuru app with units, takes env through
// tsuru, is coupled into a pipeline, releases through lain land in the
// Akkeris release list, promotions reach it, and tsuru's delete removes it
// everywhere.
func TestLainReposAreTheSharedApps(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	repo := register(t, srv, ana.Token, map[string]any{"appname": "hello", "meta": webMeta()})
	deploy(t, srv, ana.Token, "hello")

	var apps []struct {
		ID        string `json:"Id"`
		Name      string `json:"Name"`
		TeamOwner string `json:"TeamOwner"`
		Units     []struct{ Name, State string }
	}
	srv.Req(t, "GET", "/apps", ana.Token, nil).Expect(t, http.StatusOK).JSON(t, &apps)
	if len(apps) != 1 || apps[0].Name != "hello" || apps[0].ID != repo.ID || apps[0].TeamOwner != "devs" {
		t.Fatalf("tsuru apps: %+v", apps)
	}
	if len(apps[0].Units) != 3 || apps[0].Units[0].Name != "hello/0" || apps[0].Units[0].State != "started" {
		t.Fatalf("units: %+v", apps[0].Units)
	}
	setConfig(t, srv, "hello", map[string]string{"GREETING": "hi"})

	// A tsuru app and the lain app in one pipeline; the lain app's release
	// (a redeploy) carries the env set through tsuru and is promoted.
	createApp(t, srv, ana.Token, "hello-prd")
	setConfig(t, srv, "hello-prd", map[string]string{"APP_NAME": "hello-prd"})
	createPipeline(t, srv, ana.Token, "hello")
	couple(t, srv, ana.Token, repo.ID, "hello", "staging")
	couple(t, srv, ana.Token, "hello-prd", "hello", "production")
	srv.Req(t, "PUT", "/api/v1/apps/hello/", ana.Token, map[string]string{"meta_version": metaVersion}).Expect(t, http.StatusAccepted)
	rel := newestRelease(t, srv, ana.Token, "hello")
	if rel.MetaVersion != metaVersion || rel.ConfigVars["GREETING"] != "hi" {
		t.Fatalf("lain release in the Akkeris list: %+v", rel)
	}
	p := promote(t, srv, ana.Token, promotionBody("hello", "hello", "hello-prd"))
	checkPromoted(t, srv, ana.Token, waitPromotion(t, srv, ana.Token, p.ID), rel, "hello-prd")

	// Deleting through tsuru removes the app from every dialect.
	srv.Req(t, "DELETE", "/apps/hello", ana.Token, nil).Expect(t, http.StatusOK)
	srv.Req(t, "GET", "/api/v1/repos/hello/", ana.Token, nil).Expect(t, http.StatusNotFound)
	srv.Req(t, "GET", "/apps/hello/pipeline-couplings", ana.Token, nil).Expect(t, http.StatusNotFound)
	var couplings []couplingWire
	srv.Req(t, "GET", "/pipelines/hello/pipeline-couplings", ana.Token, nil).Expect(t, http.StatusOK).JSON(t, &couplings)
	if len(couplings) != 1 || couplings[0].App.Name != "hello-prd" {
		t.Fatalf("couplings left: %+v", couplings)
	}
}

// TestLainQuota: registering counts against the user's app quota like any
// app creation; resource instances are berth's and count against nobody's.
func TestLainQuota(t *testing.T) {
	srv := berthtest.Start(t, berthtest.WithCore(core.Config{DefaultQuota: 2}))
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	register(t, srv, ana.Token, map[string]any{"appname": "redis", "meta": map[string]any{"apptype": "resource"}})
	register(t, srv, ana.Token, map[string]any{"appname": "web", "meta": map[string]any{"use_resources": []string{"redis"}}})
	if web := deploy(t, srv, ana.Token, "web"); len(web.ResourceInstances) != 1 {
		t.Fatalf("web: %+v", web)
	}
	lainErrorMsg(t, srv.Req(t, "POST", "/api/v1/repos/", ana.Token, map[string]any{"appname": "third"}).Expect(t, 403))
}

// TestDeletedUserLeavesNoMaintainerRole: deleting an account takes it off
// every app it maintains, so a new account with the same e-mail inherits
// nothing; the last owner of an app cannot delete the account.
func TestDeletedUserLeavesNoMaintainerRole(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	cy := srv.NewUser(t, "cy@example.com")
	register(t, srv, ana.Token, map[string]any{"appname": "hello"})
	srv.Req(t, "POST", "/api/v1/repos/hello/maintainers/", ana.Token, map[string]string{"username": "cy@example.com", "role": "owner"}).Expect(t, http.StatusOK)
	srv.Req(t, "GET", "/api/v1/repos/hello/", cy.Token, nil).Expect(t, http.StatusOK)

	srv.Req(t, "DELETE", "/users", cy.Token, nil).Expect(t, http.StatusOK)
	srv.Req(t, "GET", "/api/v1/repos/hello/maintainers/cy@example.com/", ana.Token, nil).Expect(t, http.StatusNotFound)
	again := srv.NewUser(t, "cy@example.com")
	srv.Req(t, "GET", "/api/v1/repos/hello/", again.Token, nil).Expect(t, http.StatusForbidden)

	// ana's team has another member, but ana is hello's only owner now.
	srv.Req(t, "PUT", "/teams/devs/cy@example.com", ana.Token, nil).Expect(t, http.StatusOK)
	srv.Req(t, "DELETE", "/users", ana.Token, nil).Expect(t, http.StatusConflict)
}

// A unit's name belongs to its proc: when web scales, the worker's unit
// keeps its name (it used to be renumbered, hello/3 becoming hello/4), in
// lain's pods and in tsuru's units alike.
func TestLainUnitNamesStayWhenAnotherProcScales(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	register(t, srv, ana.Token, map[string]any{"appname": "hello", "meta": map[string]any{"procs": []map[string]any{
		{"name": "web", "num_instances": 3}, {"name": "worker", "num_instances": 1},
	}}})
	deploy(t, srv, ana.Token, "hello")
	pods := func() (web, worker []string) {
		t.Helper()
		a := getApp(t, srv, ana.Token, "hello")
		for _, p := range a.Procs {
			for _, pod := range p.Pods {
				if p.ProcName == "web" {
					web = append(web, pod.Name)
				} else {
					worker = append(worker, pod.Name)
				}
			}
		}
		return web, worker
	}
	if web, worker := pods(); strings.Join(web, " ") != "hello/0 hello/1 hello/2" || strings.Join(worker, " ") != "hello/3" {
		t.Fatalf("deployed: web %v, worker %v", web, worker)
	}
	srv.Req(t, "PATCH", "/api/v1/apps/hello/procs/web/", ana.Token, map[string]any{"num_instances": 4}).Expect(t, 202)
	if web, worker := pods(); strings.Join(web, " ") != "hello/0 hello/1 hello/2 hello/4" || strings.Join(worker, " ") != "hello/3" {
		t.Fatalf("web scaled to 4: web %v, worker %v", web, worker)
	}
	srv.Req(t, "PATCH", "/api/v1/apps/hello/procs/web/", ana.Token, map[string]any{"num_instances": 1}).Expect(t, 202)
	if web, worker := pods(); strings.Join(web, " ") != "hello/0" || strings.Join(worker, " ") != "hello/3" {
		t.Fatalf("web scaled to 1: web %v, worker %v", web, worker)
	}
	var app struct {
		Units []struct{ Name string }
	}
	srv.Req(t, "GET", "/apps/hello", ana.Token, nil).Expect(t, 200).JSON(t, &app)
	if len(app.Units) != 2 || app.Units[0].Name != "hello/0" || app.Units[1].Name != "hello/3" {
		t.Fatalf("tsuru units: %+v", app.Units)
	}
}
