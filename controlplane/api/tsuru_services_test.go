package api_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/terraform-provider-berth/controlplane/core"
	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/store"
	"github.com/berthdev/terraform-provider-berth/internal/berthtest"
)

type serviceEntry struct {
	Service   string   `json:"service"`
	Instances []string `json:"instances"`
}

type instanceInfo struct {
	Name        string   `json:"name"`
	ServiceName string   `json:"servicename"`
	Teams       []string `json:"teams"`
	Apps        []string `json:"apps"`
}

const staticManifest = `id: shared-cache
team: devs
env:
  CACHE_URL: redis://cache.internal:6379
  CACHE_DB: "0"
`

func createInstance(t *testing.T, srv *berthtest.Server, token, name, service string) {
	t.Helper()
	srv.Req(t, "POST", "/services/instances", token, map[string]string{"name": name, "service_name": service}).Expect(t, 200)
}

// storedInstance reads an instance from the store, nil when absent.
func storedInstance(t *testing.T, srv *berthtest.Server, name string) *domain.ServiceInstance {
	t.Helper()
	var inst *domain.ServiceInstance
	err := srv.Instance().Store.View(context.Background(), func(tx *store.Tx) (err error) {
		inst, err = tx.Instance(name)
		return err
	})
	if err != nil && !strings.Contains(err.Error(), "not found") {
		t.Fatal(err)
	}
	return inst
}

func TestServiceManifests(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	loner := srv.NewUser(t, "lone@example.com")
	b := newTestBroker(t)

	var m struct {
		ID         string            `json:"id"`
		Endpoint   map[string]string `json:"endpoint"`
		Username   string            `json:"username"`
		OwnerTeams []string          `json:"owner_teams"`
		Teams      []string          `json:"teams"`
		Env        map[string]string `json:"env"`
	}
	srv.Req(t, "POST", "/services", ana.Token, b.manifest("mysql")).Expect(t, 200).JSON(t, &m)
	if m.ID != "mysql" || m.Endpoint["production"] != b.srv.URL || m.Username != b.user || len(m.OwnerTeams) != 1 || m.OwnerTeams[0] != "devs" || m.Teams == nil || m.Env == nil {
		t.Fatalf("created: %+v", m)
	}
	if r := srv.Req(t, "GET", "/services/mysql/manifest", ana.Token, nil).Expect(t, 200); strings.Contains(string(r.Body), b.password) {
		t.Fatalf("the manifest answer shows the password: %s", r.Body)
	}
	// The spec's own example: a bare host, underscores in the id.
	srv.Req(t, "POST", "/services", ana.Token, "id: some_service\nendpoint:\n    production: someservice.com\n").Expect(t, 200)
	srv.Req(t, "POST", "/services", ana.Token, staticManifest).Expect(t, 200)

	cases := []struct {
		name, body string
		want       int
		message    string
	}{
		{"duplicate id", b.manifest("mysql"), 409, "already exists"},
		{"invalid yaml", "id: [unclosed\n", 400, "yaml"},
		{"not a mapping", "- a\n- b\n", 400, "yaml"},
		{"unknown key", "id: x\nendpoints:\n  production: a.com\n", 400, "endpoints"},
		{"no id", "endpoint:\n  production: a.com\n", 400, "id is required"},
		{"empty body", "", 400, "empty"},
		{"two documents", "id: x\n---\nid: y\n", 400, "one YAML document"},
		{"bad id", "id: Bad Name\n", 400, "invalid service id"},
		{"reserved id", "id: instances\n", 400, "reserved"},
		{"no production endpoint", "id: x\nendpoint:\n  test: a.com\n", 400, "production"},
		{"endpoint with credentials", "id: x\nendpoint:\n  production: http://u:p@a.com\n", 400, "endpoint"},
		{"env with endpoint", "id: x\nendpoint:\n  production: a.com\nenv:\n  A: b\n", 400, "static"},
		{"bad env name", "id: x\nenv:\n  1A: b\n", 400, "environment variable"},
		{"reserved env name", "id: x\nenv:\n  TSURU_SERVICES: b\n", 400, "TSURU_SERVICES"},
		{"foreign team", "id: x\nteam: ops\n", 403, "not a member"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msg := srv.Req(t, "POST", "/services", ana.Token, c.body).Expect(t, c.want).ErrorMessage(t)
			if !strings.Contains(msg, c.message) {
				t.Fatalf("message %q does not mention %q", msg, c.message)
			}
		})
	}
	srv.Req(t, "POST", "/services", loner.Token, "id: mine\n").Expect(t, 403)
	srv.Req(t, "POST", "/services", srv.AdminToken, "id: x\nteam: nope\n").Expect(t, 404)
	srv.Req(t, "POST", "/services", "", "id: x\n").Expect(t, 401)

	// Update replaces what the manifest says; doc and grants stay.
	srv.Req(t, "PUT", "/services/mysql/doc", ana.Token, "MySQL exports DATABASE_HOST.").Expect(t, 200)
	srv.NewTeamUser(t, "bo@example.com", "ops")
	srv.Req(t, "PUT", "/services/mysql/ops", ana.Token, nil).Expect(t, 200)
	m.Endpoint = nil
	srv.Req(t, "PUT", "/services", ana.Token, strings.Replace(b.manifest("mysql"), "test: http://test.invalid", "staging: http://staging.invalid", 1)).Expect(t, 200).JSON(t, &m)
	if m.Endpoint["staging"] == "" || m.Endpoint["test"] != "" || len(m.Teams) != 1 || m.Teams[0] != "ops" {
		t.Fatalf("updated: %+v", m)
	}
	if r := srv.Req(t, "GET", "/services/mysql/doc", ana.Token, nil).Expect(t, 200); string(r.Body) != "MySQL exports DATABASE_HOST." || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("doc: %q (%s)", r.Body, r.Header.Get("Content-Type"))
	}
	srv.Req(t, "PUT", "/services", ana.Token, "id: nope\n").Expect(t, 404)
	srv.Req(t, "PUT", "/services", ana.Token, "id: [\n").Expect(t, 400)
	srv.Req(t, "PUT", "/services", ana.Token, "id: mysql\nendpoint:\n  test: a.com\n").Expect(t, 400)
	srv.Req(t, "GET", "/services/nope/manifest", ana.Token, nil).Expect(t, 404)

	// A service with instances stays static or brokered.
	createInstance(t, srv, ana.Token, "cache1", "shared-cache")
	srv.Req(t, "PUT", "/services", ana.Token, "id: shared-cache\nendpoint:\n  production: a.com\n").Expect(t, 409)
	srv.Req(t, "PUT", "/services", ana.Token, "id: shared-cache\nenv:\n  CACHE_URL: redis://other\n").Expect(t, 200)

	var list []serviceEntry
	srv.Req(t, "GET", "/services", ana.Token, nil).Expect(t, 200).JSON(t, &list)
	if len(list) != 3 || list[0].Service != "mysql" || list[1].Service != "shared-cache" || len(list[1].Instances) != 1 || list[2].Service != "some_service" || list[0].Instances == nil {
		t.Fatalf("services: %+v", list)
	}
	r := srv.Req(t, "GET", "/services?limit=2", ana.Token, nil).Expect(t, 200)
	r.JSON(t, &list)
	if len(list) != 2 || r.Header.Get("X-Next-Cursor") != "shared-cache" {
		t.Fatalf("page: %+v next %q", list, r.Header.Get("X-Next-Cursor"))
	}
	srv.Req(t, "GET", "/services?limit=2&cursor=shared-cache", ana.Token, nil).Expect(t, 200).JSON(t, &list)
	if len(list) != 1 || list[0].Service != "some_service" {
		t.Fatalf("second page: %+v", list)
	}

	// Delete: 403 while it has instances, 204 after.
	srv.Req(t, "DELETE", "/services/shared-cache", ana.Token, nil).Expect(t, 403)
	srv.Req(t, "DELETE", "/services/instances/cache1", ana.Token, nil).Expect(t, 200)
	srv.Req(t, "DELETE", "/services/shared-cache", ana.Token, nil).Expect(t, 204)
	srv.Req(t, "DELETE", "/services/shared-cache", ana.Token, nil).Expect(t, 404)
	srv.Req(t, "GET", "/services/shared-cache", ana.Token, nil).Expect(t, 404)
}

func TestServiceDocAndGrants(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	bo := srv.NewTeamUser(t, "bo@example.com", "ops")
	srv.Req(t, "POST", "/services", ana.Token, staticManifest).Expect(t, 200)

	srv.Req(t, "GET", "/services/shared-cache/doc", ana.Token, nil).Expect(t, 200)
	srv.Req(t, "GET", "/services/nope/doc", ana.Token, nil).Expect(t, 404)
	srv.Req(t, "PUT", "/services/nope/doc", ana.Token, "x").Expect(t, 404)

	// Before the grant, ops may not use the service.
	srv.Req(t, "GET", "/services/shared-cache/doc", bo.Token, nil).Expect(t, 403)
	srv.Req(t, "POST", "/services/instances", bo.Token, map[string]string{"name": "opscache", "service_name": "shared-cache"}).Expect(t, 403)
	var list []serviceEntry
	srv.Req(t, "GET", "/services/instances", bo.Token, nil).Expect(t, 200).JSON(t, &list)
	if len(list) != 0 {
		t.Fatalf("ops sees %+v", list)
	}

	srv.Req(t, "PUT", "/services/shared-cache/ops", bo.Token, nil).Expect(t, 403)
	srv.Req(t, "PUT", "/services/nope/ops", ana.Token, nil).Expect(t, 404)
	srv.Req(t, "PUT", "/services/shared-cache/nope", ana.Token, nil).Expect(t, 404)
	srv.Req(t, "PUT", "/services/shared-cache/devs", ana.Token, nil).Expect(t, 409)
	srv.Req(t, "PUT", "/services/shared-cache/ops", ana.Token, nil).Expect(t, 200)
	srv.Req(t, "PUT", "/services/shared-cache/ops", ana.Token, nil).Expect(t, 409)

	srv.Req(t, "GET", "/services/shared-cache/doc", bo.Token, nil).Expect(t, 200)
	createInstance(t, srv, ana.Token, "devcache", "shared-cache")
	createInstance(t, srv, bo.Token, "opscache", "shared-cache")
	srv.Req(t, "GET", "/services/instances", bo.Token, nil).Expect(t, 200).JSON(t, &list)
	if len(list) != 1 || list[0].Service != "shared-cache" || len(list[0].Instances) != 1 || list[0].Instances[0] != "opscache" {
		t.Fatalf("ops's instances: %+v", list)
	}
	// The owners see every instance; a granted team its own.
	var insts []struct {
		Name, ServiceName string
		Teams, Apps       []string
	}
	srv.Req(t, "GET", "/services/shared-cache", ana.Token, nil).Expect(t, 200).JSON(t, &insts)
	if len(insts) != 2 || insts[0].Name != "devcache" || insts[0].ServiceName != "shared-cache" || insts[0].Apps == nil || insts[1].Teams[0] != "ops" {
		t.Fatalf("owner's view: %+v", insts)
	}
	srv.Req(t, "GET", "/services/shared-cache", bo.Token, nil).Expect(t, 200).JSON(t, &insts)
	if len(insts) != 1 || insts[0].Name != "opscache" {
		t.Fatalf("granted team's view: %+v", insts)
	}
	// Only owners administer: ops may not document, update, grant or delete.
	srv.Req(t, "PUT", "/services/shared-cache/doc", bo.Token, "x").Expect(t, 403)
	srv.Req(t, "PUT", "/services", bo.Token, staticManifest).Expect(t, 403)
	srv.Req(t, "DELETE", "/services/shared-cache", bo.Token, nil).Expect(t, 403)
	srv.Req(t, "GET", "/services/shared-cache/manifest", bo.Token, nil).Expect(t, 403)
	srv.Req(t, "GET", "/services", bo.Token, nil).Expect(t, 200).JSON(t, &list)
	if len(list) != 0 {
		t.Fatalf("ops owns %+v", list)
	}

	// A team that owns or was granted a service, or owns instances, stays.
	srv.Req(t, "DELETE", "/teams/ops", bo.Token, nil).Expect(t, 409)

	srv.Req(t, "DELETE", "/services/shared-cache/devs", ana.Token, nil).Expect(t, 409)
	srv.Req(t, "DELETE", "/services/shared-cache/nope", ana.Token, nil).Expect(t, 404)
	srv.Req(t, "DELETE", "/services/nope/ops", ana.Token, nil).Expect(t, 404)
	srv.Req(t, "DELETE", "/services/shared-cache/ops", bo.Token, nil).Expect(t, 403)
	srv.Req(t, "DELETE", "/services/shared-cache/ops", ana.Token, nil).Expect(t, 200)
	srv.Req(t, "DELETE", "/services/shared-cache/ops", ana.Token, nil).Expect(t, 404)
	// The instance ops made before the revoke keeps working.
	srv.Req(t, "GET", "/services/instances/opscache", bo.Token, nil).Expect(t, 200)
	srv.Req(t, "DELETE", "/teams/ops", bo.Token, nil).Expect(t, 409)
	srv.Req(t, "DELETE", "/services/instances/opscache", bo.Token, nil).Expect(t, 200)
	srv.Req(t, "DELETE", "/teams/ops", bo.Token, nil).Expect(t, 200)
}

func TestInstanceRules(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	srv.Req(t, "POST", "/services", ana.Token, staticManifest).Expect(t, 200)

	var inst instanceInfo
	srv.Req(t, "POST", "/services/instances", ana.Token, map[string]string{"name": "My_cache-1", "service_name": "shared-cache"}).Expect(t, 200).JSON(t, &inst)
	if inst.Name != "My_cache-1" || inst.ServiceName != "shared-cache" || len(inst.Teams) != 1 || inst.Teams[0] != "devs" || inst.Apps == nil {
		t.Fatalf("instance: %+v", inst)
	}
	for _, c := range []struct {
		body map[string]string
		want int
	}{
		{map[string]string{"name": "My_cache-1", "service_name": "shared-cache"}, 409},
		{map[string]string{"name": "a", "service_name": "shared-cache"}, 400},
		{map[string]string{"name": "1abc", "service_name": "shared-cache"}, 400},
		{map[string]string{"name": "ab.c", "service_name": "shared-cache"}, 400},
		{map[string]string{"name": "a" + strings.Repeat("b", 63), "service_name": "shared-cache"}, 400},
		{map[string]string{"name": "abc"}, 400},
		{map[string]string{"name": "abc", "service_name": "nope"}, 404},
		{map[string]string{"name": "abc", "service_name": "shared-cache", "owner": "ops"}, 403},
	} {
		srv.Req(t, "POST", "/services/instances", ana.Token, c.body).Expect(t, c.want)
	}
	srv.Req(t, "POST", "/services/instances", ana.Token, "{").Expect(t, 400)
	srv.Req(t, "POST", "/services/instances", srv.AdminToken, map[string]string{"name": "abc", "service_name": "shared-cache", "owner": "nope"}).Expect(t, 404)
	srv.Req(t, "GET", "/services/instances/nope", ana.Token, nil).Expect(t, 404)
	srv.Req(t, "DELETE", "/services/instances/nope", ana.Token, nil).Expect(t, 404)
	srv.Req(t, "GET", "/services/instances/nope/status", ana.Token, nil).Expect(t, 404)
	var st struct{ Name, Service, Status string }
	srv.Req(t, "GET", "/services/instances/My_cache-1/status", ana.Token, nil).Expect(t, 200).JSON(t, &st)
	if st.Status != "up" || st.Service != "shared-cache" {
		t.Fatalf("static status: %+v", st)
	}
}

func TestStaticServiceBinding(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	srv.Req(t, "POST", "/services", ana.Token, staticManifest).Expect(t, 200)
	createInstance(t, srv, ana.Token, "cache1", "shared-cache")
	createApp(t, srv, ana.Token, "web")
	version := storedApp(t, srv, "web").ConfigVersion

	var vars map[string]string
	srv.Req(t, "PUT", "/services/instances/cache1/web", ana.Token, nil).Expect(t, 200).JSON(t, &vars)
	if len(vars) != 2 || vars["CACHE_URL"] != "redis://cache.internal:6379" || vars["CACHE_DB"] != "0" {
		t.Fatalf("exported: %v", vars)
	}
	env := getEnv(t, srv, srv.AdminToken, "web")
	if v := env["CACHE_URL"]; v.Value != "redis://cache.internal:6379" || v.Public || v.Instance != "cache1" || v.Service != "shared-cache" {
		t.Fatalf("CACHE_URL: %+v", v)
	}
	var summary map[string][]struct {
		InstanceName string            `json:"instance_name"`
		Envs         map[string]string `json:"envs"`
	}
	if err := json.Unmarshal([]byte(env["TSURU_SERVICES"].Value), &summary); err != nil {
		t.Fatalf("TSURU_SERVICES %q: %v", env["TSURU_SERVICES"].Value, err)
	}
	if s := summary["shared-cache"]; len(s) != 1 || s[0].InstanceName != "cache1" || s[0].Envs["CACHE_DB"] != "0" {
		t.Fatalf("TSURU_SERVICES: %+v", summary)
	}
	if v := storedApp(t, srv, "web").ConfigVersion; v <= version {
		t.Fatalf("binding did not move the config version (%d)", v)
	}
	if b := storedApp(t, srv, "web").Bindings; len(b) != 1 || b[0].Instance != "cache1" || b[0].Service != "shared-cache" {
		t.Fatalf("app bindings: %+v", b)
	}
	// Users cannot touch a binding's vars.
	srv.Req(t, "POST", "/apps/web/env", ana.Token, map[string]string{"CACHE_URL": "x"}).Expect(t, 409)
	srv.Req(t, "DELETE", "/apps/web/env?env=CACHE_URL", ana.Token, nil).Expect(t, 409)
	// Binding again answers the same vars.
	srv.Req(t, "PUT", "/services/instances/cache1/web", ana.Token, nil).Expect(t, 200).JSON(t, &vars)
	if len(vars) != 2 {
		t.Fatalf("rebinding: %v", vars)
	}
	var inst instanceInfo
	srv.Req(t, "GET", "/services/instances/cache1", ana.Token, nil).Expect(t, 200).JSON(t, &inst)
	if len(inst.Apps) != 1 || inst.Apps[0] != "web" {
		t.Fatalf("instance apps: %+v", inst)
	}
	srv.Req(t, "DELETE", "/services/instances/cache1", ana.Token, nil).Expect(t, 409)

	srv.Req(t, "DELETE", "/services/instances/cache1/web", ana.Token, nil).Expect(t, 200)
	env = getEnv(t, srv, srv.AdminToken, "web")
	if len(env) != 0 {
		t.Fatalf("env after unbind: %+v", env)
	}
	if b := storedApp(t, srv, "web").Bindings; len(b) != 0 {
		t.Fatalf("app bindings after unbind: %+v", b)
	}
	srv.Req(t, "DELETE", "/services/instances/cache1/web", ana.Token, nil).Expect(t, 404)
	srv.Req(t, "DELETE", "/services/instances/cache1", ana.Token, nil).Expect(t, 200)
}

func TestBrokerHappyPath(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	b := newTestBroker(t)
	srv.Req(t, "POST", "/services", ana.Token, b.manifest("mysql")).Expect(t, 200)
	createApp(t, srv, ana.Token, "web")

	createInstance(t, srv, ana.Token, "db1", "mysql")
	if !b.hasInstance("db1") {
		t.Fatal("the broker has no instance db1")
	}
	if f := b.form(opCreate); f["name"][0] != "db1" || f["team"][0] != "devs" || f["user"][0] != ana.Email {
		t.Fatalf("create form: %v", f)
	}
	var st struct{ Status string }
	srv.Req(t, "GET", "/services/instances/db1/status", ana.Token, nil).Expect(t, 200).JSON(t, &st)
	if st.Status != "up" {
		t.Fatalf("status: %+v", st)
	}

	var vars map[string]string
	srv.Req(t, "PUT", "/services/instances/db1/web", ana.Token, nil).Expect(t, 200).JSON(t, &vars)
	// Numbers keep their JSON text.
	if vars["DATABASE_HOST"] != "db.internal" || vars["DATABASE_PORT"] != "5432" || vars["INSTANCE_NAME"] != "db1" {
		t.Fatalf("exported: %v", vars)
	}
	if !b.isBound("db1", "web") {
		t.Fatal("the broker did not bind web")
	}
	app := storedApp(t, srv, "web")
	if f := b.form(opBind); f["app-name"][0] != "web" || f["app-host"][0] != app.IP {
		t.Fatalf("bind form: %v", f)
	}
	env := getEnv(t, srv, ana.Token, "web")
	if v := env["DATABASE_HOST"]; v.Value != core.MaskedValue || v.Public || v.Instance != "db1" || v.Service != "mysql" {
		t.Fatalf("DATABASE_HOST as ana sees it: %+v", v)
	}
	if v := getEnv(t, srv, srv.AdminToken, "web")["TSURU_SERVICES"]; !strings.Contains(v.Value, `"mysql":[{"instance_name":"db1"`) {
		t.Fatalf("TSURU_SERVICES: %+v", v)
	}

	srv.Req(t, "DELETE", "/services/instances/db1/web", ana.Token, nil).Expect(t, 200)
	if b.isBound("db1", "web") {
		t.Fatal("the broker still binds web")
	}
	if env := getEnv(t, srv, ana.Token, "web"); len(env) != 0 {
		t.Fatalf("env after unbind: %+v", env)
	}
	srv.Req(t, "DELETE", "/services/instances/db1", ana.Token, nil).Expect(t, 200)
	if b.hasInstance("db1") {
		t.Fatal("the broker still has db1")
	}
	srv.Req(t, "GET", "/services/instances/db1", ana.Token, nil).Expect(t, 404)
}

func TestLegacyBrokerAndLaterRouteForm(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	b := newTestBroker(t)
	b.legacy = true
	srv.Req(t, "POST", "/services", ana.Token, b.manifest("mysql")).Expect(t, 200)
	srv.Req(t, "POST", "/services", ana.Token, staticManifest).Expect(t, 200)
	createApp(t, srv, ana.Token, "web")
	createInstance(t, srv, ana.Token, "db1", "mysql")

	srv.Req(t, "PUT", "/services/shared-cache/instances/db1/web", ana.Token, nil).Expect(t, 404)
	srv.Req(t, "PUT", "/services/mysql/instances/db1/web", ana.Token, nil).Expect(t, 200)
	calls := strings.Join(b.callLog(), "\n")
	if !strings.Contains(calls, "POST /resources/db1/bind-app\nPOST /resources/db1/bind") || !b.isBound("db1", "web") {
		t.Fatalf("no fallback to /bind: %s", calls)
	}
	srv.Req(t, "DELETE", "/services/shared-cache/instances/db1/web", ana.Token, nil).Expect(t, 404)
	srv.Req(t, "DELETE", "/services/mysql/instances/db1/web", ana.Token, nil).Expect(t, 200)
	if b.isBound("db1", "web") {
		t.Fatal("still bound at the broker")
	}
	srv.Req(t, "DELETE", "/services/mysql/instances/db1/web", ana.Token, nil).Expect(t, 404)
	srv.Req(t, "PUT", "/services/mysql/instances/nope/web", ana.Token, nil).Expect(t, 404)
	srv.Req(t, "PUT", "/services/mysql/instances/db1/nope", ana.Token, nil).Expect(t, 404)
}

// TestBrokerFailuresLeaveNoHalfState: whether the broker is down, answers
// 500 or does not answer in time, every operation fails with 503 and berth
// records nothing of it.
func TestBrokerFailuresLeaveNoHalfState(t *testing.T) {
	type failure struct {
		name   string
		inject func(b *testBroker, op string)
		heal   func(b *testBroker, op string)
		// status is what GET .../status answers: a broker's 500 means the
		// instance is down (tsuru's protocol), a timeout is berth's 503.
		status int
	}
	failures := []failure{
		{"500", func(b *testBroker, op string) { b.fail(op, 500) }, func(b *testBroker, op string) { b.fail(op, 0) }, 200},
		{"timeout", func(b *testBroker, op string) { b.hang(op, true) }, func(b *testBroker, op string) { b.hang(op, false) }, 503},
	}
	for _, f := range failures {
		t.Run(f.name, func(t *testing.T) {
			srv := berthtest.Start(t, berthtest.WithCore(core.Config{BrokerTimeout: 150 * time.Millisecond}))
			ana := srv.NewTeamUser(t, "ana@example.com", "devs")
			b := newTestBroker(t)
			srv.Req(t, "POST", "/services", ana.Token, b.manifest("mysql")).Expect(t, 200)
			createApp(t, srv, ana.Token, "web")

			f.inject(b, opCreate)
			srv.Req(t, "POST", "/services/instances", ana.Token, map[string]string{"name": "db1", "service_name": "mysql"}).Expect(t, 503)
			if storedInstance(t, srv, "db1") != nil {
				t.Fatal("instance recorded although the broker failed")
			}
			f.heal(b, opCreate)
			createInstance(t, srv, ana.Token, "db1", "mysql")

			f.inject(b, opBind)
			msg := srv.Req(t, "PUT", "/services/instances/db1/web", ana.Token, nil).Expect(t, 503).ErrorMessage(t)
			if !strings.Contains(msg, "mysql") {
				t.Fatalf("message does not name the service: %q", msg)
			}
			if a := storedApp(t, srv, "web"); len(a.Env) != 0 || len(a.Bindings) != 0 || len(storedInstance(t, srv, "db1").Bindings) != 0 {
				t.Fatalf("half-bound: env %v bindings %v", a.Env, a.Bindings)
			}
			f.heal(b, opBind)
			srv.Req(t, "PUT", "/services/instances/db1/web", ana.Token, nil).Expect(t, 200)

			f.inject(b, opUnbind)
			srv.Req(t, "DELETE", "/services/instances/db1/web", ana.Token, nil).Expect(t, 503)
			if a := storedApp(t, srv, "web"); a.Env["DATABASE_HOST"].Instance != "db1" || len(a.Bindings) != 1 || !b.isBound("db1", "web") {
				t.Fatalf("half-unbound: env %v bindings %v", a.Env, a.Bindings)
			}
			// Deleting the app unbinds first; the failure keeps the app.
			srv.Req(t, "DELETE", "/apps/web", ana.Token, nil).Expect(t, 503)
			srv.Req(t, "GET", "/apps/web", ana.Token, nil).Expect(t, 200)

			f.inject(b, opStatus)
			if r := srv.Req(t, "GET", "/services/instances/db1/status", ana.Token, nil).Expect(t, f.status); f.status == 200 && !strings.Contains(string(r.Body), `"down"`) {
				t.Fatalf("status of a failing broker: %s", r.Body)
			}

			f.heal(b, opUnbind)
			srv.Req(t, "DELETE", "/services/instances/db1/web", ana.Token, nil).Expect(t, 200)
			f.inject(b, opDestroy)
			srv.Req(t, "DELETE", "/services/instances/db1", ana.Token, nil).Expect(t, 503)
			if storedInstance(t, srv, "db1") == nil || !b.hasInstance("db1") {
				t.Fatal("instance half removed")
			}
			f.heal(b, opDestroy)
			srv.Req(t, "DELETE", "/services/instances/db1", ana.Token, nil).Expect(t, 200)
		})
	}

	t.Run("down", func(t *testing.T) {
		srv := berthtest.Start(t)
		ana := srv.NewTeamUser(t, "ana@example.com", "devs")
		b := newTestBroker(t)
		srv.Req(t, "POST", "/services", ana.Token, b.manifest("mysql")).Expect(t, 200)
		createApp(t, srv, ana.Token, "web")
		createInstance(t, srv, ana.Token, "db1", "mysql")
		srv.Req(t, "PUT", "/services/instances/db1/web", ana.Token, nil).Expect(t, 200)
		b.close()

		msg := srv.Req(t, "POST", "/services/instances", ana.Token, map[string]string{"name": "db2", "service_name": "mysql"}).Expect(t, 503).ErrorMessage(t)
		if !strings.Contains(msg, "unreachable") {
			t.Fatalf("message: %q", msg)
		}
		if storedInstance(t, srv, "db2") != nil {
			t.Fatal("instance recorded although the broker is down")
		}
		createApp(t, srv, ana.Token, "api")
		srv.Req(t, "PUT", "/services/instances/db1/api", ana.Token, nil).Expect(t, 503)
		srv.Req(t, "DELETE", "/services/instances/db1/web", ana.Token, nil).Expect(t, 503)
		srv.Req(t, "GET", "/services/instances/db1/status", ana.Token, nil).Expect(t, 503)
		srv.Req(t, "DELETE", "/apps/web", ana.Token, nil).Expect(t, 503)
		if a := storedApp(t, srv, "web"); len(a.Bindings) != 1 {
			t.Fatalf("web lost its binding: %+v", a.Bindings)
		}
		if a := storedApp(t, srv, "api"); len(a.Bindings) != 0 || len(a.Env) != 0 {
			t.Fatalf("api half-bound: %+v", a)
		}
		if inst := storedInstance(t, srv, "db1"); len(inst.Bindings) != 1 {
			t.Fatalf("db1 bindings: %+v", inst.Bindings)
		}
	})
}

// TestBindRollsBackAtTheBroker: when berth refuses the binding after the
// broker made it (a var the app's users set), the broker binding is undone.
func TestBindRollsBackAtTheBroker(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	b := newTestBroker(t)
	srv.Req(t, "POST", "/services", ana.Token, b.manifest("mysql")).Expect(t, 200)
	createApp(t, srv, ana.Token, "web")
	createInstance(t, srv, ana.Token, "db1", "mysql")
	srv.Req(t, "POST", "/apps/web/env", ana.Token, map[string]string{"DATABASE_HOST": "mine"}).Expect(t, 200)

	msg := srv.Req(t, "PUT", "/services/instances/db1/web", ana.Token, nil).Expect(t, 409).ErrorMessage(t)
	if !strings.Contains(msg, "DATABASE_HOST") {
		t.Fatalf("message: %q", msg)
	}
	if b.isBound("db1", "web") {
		t.Fatal("the broker binding was not undone")
	}
	calls := b.callLog()
	if last := calls[len(calls)-1]; last != "DELETE /resources/db1/bind-app" {
		t.Fatalf("last broker call %q", last)
	}
	if env := getEnv(t, srv, srv.AdminToken, "web"); len(env) != 1 || env["DATABASE_HOST"].Value != "mine" {
		t.Fatalf("env: %+v", env)
	}
	srv.Req(t, "DELETE", "/apps/web/env?env=DATABASE_HOST", ana.Token, nil).Expect(t, 200)
	srv.Req(t, "PUT", "/services/instances/db1/web", ana.Token, nil).Expect(t, 200)
}

// TestSharedVarOwnership: two instances exporting the same name; unbinding
// the one whose value is in place restores the other's.
func TestSharedVarOwnership(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	b := newTestBroker(t)
	srv.Req(t, "POST", "/services", ana.Token, b.manifest("mysql")).Expect(t, 200)
	createApp(t, srv, ana.Token, "web")
	createInstance(t, srv, ana.Token, "db1", "mysql")
	createInstance(t, srv, ana.Token, "db2", "mysql")

	srv.Req(t, "PUT", "/services/instances/db1/web", ana.Token, nil).Expect(t, 200)
	srv.Req(t, "PUT", "/services/instances/db2/web", ana.Token, nil).Expect(t, 200)
	env := getEnv(t, srv, srv.AdminToken, "web")
	if v := env["INSTANCE_NAME"]; v.Value != "db2" || v.Instance != "db2" {
		t.Fatalf("after binding db2: %+v", v)
	}
	// Unbinding the shadowed instance keeps the value in place.
	srv.Req(t, "DELETE", "/services/instances/db1/web", ana.Token, nil).Expect(t, 200)
	if v := getEnv(t, srv, srv.AdminToken, "web")["INSTANCE_NAME"]; v.Value != "db2" || v.Instance != "db2" {
		t.Fatalf("after unbinding db1: %+v", v)
	}
	srv.Req(t, "PUT", "/services/instances/db1/web", ana.Token, nil).Expect(t, 200)
	if v := getEnv(t, srv, srv.AdminToken, "web")["INSTANCE_NAME"]; v.Value != "db1" {
		t.Fatalf("after binding db1 again: %+v", v)
	}
	srv.Req(t, "DELETE", "/services/instances/db1/web", ana.Token, nil).Expect(t, 200)
	env = getEnv(t, srv, srv.AdminToken, "web")
	if v := env["INSTANCE_NAME"]; v.Value != "db2" || v.Instance != "db2" || v.Service != "mysql" {
		t.Fatalf("db2's value not restored: %+v", v)
	}
	if v := env["DATABASE_HOST"]; v.Instance != "db2" {
		t.Fatalf("DATABASE_HOST: %+v", v)
	}
	var summary map[string][]map[string]any
	_ = json.Unmarshal([]byte(env["TSURU_SERVICES"].Value), &summary)
	if len(summary["mysql"]) != 1 || summary["mysql"][0]["instance_name"] != "db2" {
		t.Fatalf("TSURU_SERVICES: %s", env["TSURU_SERVICES"].Value)
	}
	srv.Req(t, "DELETE", "/services/instances/db2/web", ana.Token, nil).Expect(t, 200)
	if env := getEnv(t, srv, srv.AdminToken, "web"); len(env) != 0 {
		t.Fatalf("env after both unbinds: %+v", env)
	}
}

// TestBusyAppsAndInstances: while a bind waits on the broker, the app and
// the instance are busy: a swap, another bind, an unbind and deletions are
// refused with 409 rather than racing it.
func TestBusyAppsAndInstances(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	b := newTestBroker(t)
	srv.Req(t, "POST", "/services", ana.Token, b.manifest("mysql")).Expect(t, 200)
	srv.Req(t, "POST", "/services", ana.Token, staticManifest).Expect(t, 200)
	createApp(t, srv, ana.Token, "web")
	createApp(t, srv, ana.Token, "api")
	createInstance(t, srv, ana.Token, "db1", "mysql")
	createInstance(t, srv, ana.Token, "cache1", "shared-cache")

	resume := b.pause(opBind)
	done := make(chan *berthtest.Response, 1)
	go func() { done <- srv.Req(t, "PUT", "/services/instances/db1/web", ana.Token, nil) }()
	<-b.entered

	for _, c := range []struct{ method, path string }{
		{"PUT", "/swap?app1=web&app2=api&force=true"},
		{"PUT", "/services/instances/cache1/web"},
		{"PUT", "/services/instances/db1/api"},
		{"DELETE", "/apps/web"},
		{"DELETE", "/services/instances/db1"},
	} {
		if msg := srv.Req(t, c.method, c.path, ana.Token, nil).Expect(t, 409).ErrorMessage(t); !strings.Contains(msg, "busy") {
			t.Fatalf("%s %s: %q", c.method, c.path, msg)
		}
	}
	// Other apps are not held up.
	srv.Req(t, "PUT", "/services/instances/cache1/api", ana.Token, nil).Expect(t, 200)
	resume()
	(<-done).Expect(t, 200)
	srv.Req(t, "PUT", "/swap?app1=web&app2=api&force=true", ana.Token, nil).Expect(t, 200)
}

// TestDeleteAppUnbindsEverything: deleting an app unbinds each instance at
// its broker, then removes the app; the instances forget it.
func TestDeleteAppUnbindsEverything(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	b := newTestBroker(t)
	srv.Req(t, "POST", "/services", ana.Token, b.manifest("mysql")).Expect(t, 200)
	srv.Req(t, "POST", "/services", ana.Token, staticManifest).Expect(t, 200)
	createApp(t, srv, ana.Token, "web")
	createInstance(t, srv, ana.Token, "db1", "mysql")
	createInstance(t, srv, ana.Token, "cache1", "shared-cache")
	srv.Req(t, "PUT", "/services/instances/db1/web", ana.Token, nil).Expect(t, 200)
	srv.Req(t, "PUT", "/services/instances/cache1/web", ana.Token, nil).Expect(t, 200)

	srv.Req(t, "DELETE", "/apps/web", ana.Token, nil).Expect(t, 200)
	if b.isBound("db1", "web") {
		t.Fatal("web still bound at the broker")
	}
	for _, name := range []string{"db1", "cache1"} {
		var inst instanceInfo
		srv.Req(t, "GET", "/services/instances/"+name, ana.Token, nil).Expect(t, 200).JSON(t, &inst)
		if len(inst.Apps) != 0 {
			t.Fatalf("%s still lists %v", name, inst.Apps)
		}
	}
	srv.Req(t, "DELETE", "/services/instances/db1", ana.Token, nil).Expect(t, 200)
	// A new app of the same name starts unbound.
	createApp(t, srv, ana.Token, "web")
	if env := getEnv(t, srv, ana.Token, "web"); len(env) != 0 {
		t.Fatalf("env of the new web: %+v", env)
	}
}

// TestServiceRoutesAreTeamScoped: a user of another team gets 403 on every
// service and instance route.
func TestServiceRoutesAreTeamScoped(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	eve := srv.NewTeamUser(t, "eve@example.com", "others")
	b := newTestBroker(t)
	srv.Req(t, "POST", "/services", ana.Token, b.manifest("mysql")).Expect(t, 200)
	createApp(t, srv, ana.Token, "web")
	createApp(t, srv, eve.Token, "evil")
	createInstance(t, srv, ana.Token, "db1", "mysql")
	srv.Req(t, "PUT", "/services/instances/db1/web", ana.Token, nil).Expect(t, 200)

	routes := []struct {
		method, path string
		body         any
	}{
		{"PUT", "/services", b.manifest("mysql")},
		{"GET", "/services/mysql", nil},
		{"DELETE", "/services/mysql", nil},
		{"GET", "/services/mysql/doc", nil},
		{"PUT", "/services/mysql/doc", "hacked"},
		{"GET", "/services/mysql/manifest", nil},
		{"PUT", "/services/mysql/others", nil},
		{"DELETE", "/services/mysql/devs", nil},
		{"POST", "/services/instances", map[string]string{"name": "db2", "service_name": "mysql"}},
		{"GET", "/services/instances/db1", nil},
		{"DELETE", "/services/instances/db1", nil},
		{"GET", "/services/instances/db1/status", nil},
		{"PUT", "/services/instances/db1/evil", nil},      // eve's app, ana's instance
		{"DELETE", "/services/instances/db1/web", nil},    // neither is eve's
		{"PUT", "/services/mysql/instances/db1/web", nil}, // later form
		{"DELETE", "/services/mysql/instances/db1/web", nil},
	}
	for _, rt := range routes {
		srv.Req(t, rt.method, rt.path, eve.Token, rt.body).Expect(t, 403)
		srv.Req(t, rt.method, rt.path, "", rt.body).Expect(t, 401)
	}
	var list []serviceEntry
	srv.Req(t, "GET", "/services", eve.Token, nil).Expect(t, 200).JSON(t, &list)
	if len(list) != 0 {
		t.Fatalf("eve's services: %+v", list)
	}
	srv.Req(t, "GET", "/services/instances", eve.Token, nil).Expect(t, 200).JSON(t, &list)
	if len(list) != 0 {
		t.Fatalf("eve's instances: %+v", list)
	}
	// Nothing changed.
	if !b.isBound("db1", "web") || b.hasInstance("db2") {
		t.Fatal("a forbidden call reached the broker")
	}
	srv.Req(t, "GET", "/services/mysql/doc", srv.AdminToken, nil).Expect(t, 200)
	srv.Req(t, "GET", "/services/instances/db1", srv.AdminToken, nil).Expect(t, 200)
}

func TestServicesSurviveRestart(t *testing.T) {
	srv := berthtest.Start(t, berthtest.OnDisk(t.TempDir()))
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	b := newTestBroker(t)
	srv.Req(t, "POST", "/services", ana.Token, b.manifest("mysql")).Expect(t, 200)
	srv.Req(t, "PUT", "/services/mysql/doc", ana.Token, "docs").Expect(t, 200)
	createApp(t, srv, ana.Token, "web")
	createInstance(t, srv, ana.Token, "db1", "mysql")
	srv.Req(t, "PUT", "/services/instances/db1/web", ana.Token, nil).Expect(t, 200)

	srv.Restart()

	var inst instanceInfo
	srv.Req(t, "GET", "/services/instances/db1", ana.Token, nil).Expect(t, 200).JSON(t, &inst)
	if len(inst.Apps) != 1 || inst.Apps[0] != "web" {
		t.Fatalf("instance after restart: %+v", inst)
	}
	if r := srv.Req(t, "GET", "/services/mysql/doc", ana.Token, nil).Expect(t, 200); string(r.Body) != "docs" {
		t.Fatalf("doc after restart: %q", r.Body)
	}
	if v := getEnv(t, srv, srv.AdminToken, "web")["DATABASE_HOST"]; v.Value != "db.internal" || v.Instance != "db1" {
		t.Fatalf("env after restart: %+v", v)
	}
	// The broker credentials survived too: unbinding reaches the broker.
	srv.Req(t, "DELETE", "/services/instances/db1/web", ana.Token, nil).Expect(t, 200)
	if b.isBound("db1", "web") {
		t.Fatal("unbind after restart did not reach the broker")
	}
}
