package api_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/berthdev/terraform-provider-berth/controlplane/core"
	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/store"
	"github.com/berthdev/terraform-provider-berth/internal/berthtest"
)

type tsuruApp struct {
	ID          string `json:"Id"`
	Name        string
	Framework   string
	Repository  string
	Ip          string
	CName       []string
	State       string
	Units       []struct{ Name, Ip, State string }
	Teams       []string
	TeamOwner   string
	Owner       string
	RestartedAt *time.Time
}

type envVar struct {
	Name     string `json:"name"`
	Value    string `json:"value"`
	Public   bool   `json:"public"`
	Instance string `json:"instance"`
	Service  string `json:"service"`
	Digest   string `json:"digest"`
}

func createApp(t *testing.T, srv *berthtest.Server, token, name string) ref {
	t.Helper()
	srv.Req(t, "POST", "/apps", token, map[string]string{"name": name, "platform": "go"}).Expect(t, 200)
	var a struct {
		ID   string `json:"Id"`
		Name string `json:"Name"`
	}
	srv.Req(t, "GET", "/apps/"+name, token, nil).Expect(t, 200).JSON(t, &a)
	return ref{ID: a.ID, Name: a.Name}
}

// editApp changes an app in the store directly, for state no tsuru route
// produces (procs deployed through lain, cnames).
func editApp(t *testing.T, srv *berthtest.Server, name string, edit func(a *domain.App)) {
	t.Helper()
	err := srv.Instance().Store.Update(context.Background(), func(tx *store.Tx) error {
		a, err := tx.App(name)
		if err != nil {
			return err
		}
		edit(a)
		return tx.PutApp(a)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func storedApp(t *testing.T, srv *berthtest.Server, name string) *domain.App {
	t.Helper()
	var a *domain.App
	err := srv.Instance().Store.View(context.Background(), func(tx *store.Tx) (err error) {
		a, err = tx.App(name)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func getEnv(t *testing.T, srv *berthtest.Server, token, app string) map[string]envVar {
	t.Helper()
	var list []envVar
	srv.Req(t, "GET", "/apps/"+app+"/env", token, nil).Expect(t, 200).JSON(t, &list)
	out := map[string]envVar{}
	for _, v := range list {
		out[v.Name] = v
	}
	return out
}

func TestTsuruAppLifecycle(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")

	var created map[string]string
	srv.Req(t, "POST", "/apps", ana.Token, map[string]string{"name": "web", "platform": "python", "teamOwner": "devs"}).Expect(t, 200).JSON(t, &created)
	if created["status"] != "success" || created["repository_url"] != "git@git.berth.local:web.git" || created["ip"] == "" {
		t.Fatalf("create answer: %v", created)
	}

	var app tsuruApp
	srv.Req(t, "GET", "/apps/web", ana.Token, nil).Expect(t, 200).JSON(t, &app)
	if app.Name != "web" || app.Framework != "python" || app.Repository != created["repository_url"] || app.Ip != created["ip"] ||
		app.TeamOwner != "devs" || len(app.Teams) != 1 || app.Teams[0] != "devs" || app.Owner != ana.Email ||
		app.State != "stopped" || app.Units == nil || len(app.Units) != 0 || app.CName == nil || app.RestartedAt != nil {
		t.Fatalf("app: %+v", app)
	}
	// The id works wherever the name does.
	srv.Req(t, "GET", "/apps/"+app.ID, ana.Token, nil).Expect(t, 200)
	// Units stay [] on the wire.
	if r := srv.Req(t, "GET", "/apps/web", ana.Token, nil); !strings.Contains(string(r.Body), `"Units":[]`) {
		t.Fatalf("units not an empty array: %s", r.Body)
	}

	createApp(t, srv, ana.Token, "api")
	var list []tsuruApp
	srv.Req(t, "GET", "/apps", ana.Token, nil).Expect(t, 200).JSON(t, &list)
	if len(list) != 2 || list[0].Name != "api" || list[1].Name != "web" {
		t.Fatalf("list: %+v", list)
	}
	r := srv.Req(t, "GET", "/apps?limit=1", ana.Token, nil).Expect(t, 200)
	r.JSON(t, &list)
	if len(list) != 1 || list[0].Name != "api" || r.Header.Get("X-Next-Cursor") == "" {
		t.Fatalf("first page: %+v, next %q", list, r.Header.Get("X-Next-Cursor"))
	}
	srv.Req(t, "GET", "/apps?limit=1&cursor="+r.Header.Get("X-Next-Cursor"), ana.Token, nil).Expect(t, 200).JSON(t, &list)
	if len(list) != 1 || list[0].Name != "web" {
		t.Fatalf("second page: %+v", list)
	}
	srv.Req(t, "GET", "/apps?limit=0", ana.Token, nil).Expect(t, 400)

	srv.Req(t, "DELETE", "/apps/web", ana.Token, nil).Expect(t, 200)
	srv.Req(t, "GET", "/apps/web", ana.Token, nil).Expect(t, 404)
	srv.Req(t, "DELETE", "/apps/web", ana.Token, nil).Expect(t, 404)
	srv.Req(t, "GET", "/apps/web/restart", ana.Token, nil).Expect(t, 404)
	// The name is free again.
	createApp(t, srv, ana.Token, "web")
}

func TestCreateTsuruAppErrors(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	srv.NewTeamUser(t, "bo@example.com", "ops")
	loner := srv.NewUser(t, "lone@example.com")
	createApp(t, srv, ana.Token, "taken")

	cases := []struct {
		name  string
		token string
		body  any
		want  int
	}{
		{"uppercase name", ana.Token, map[string]string{"name": "Web", "platform": "go"}, 400},
		{"leading digit", ana.Token, map[string]string{"name": "1web", "platform": "go"}, 400},
		{"41 characters", ana.Token, map[string]string{"name": "a" + strings.Repeat("b", 40), "platform": "go"}, 400},
		{"dotted name", ana.Token, map[string]string{"name": "a.b", "platform": "go"}, 400},
		{"no platform", ana.Token, map[string]string{"name": "web"}, 400},
		{"unknown platform", ana.Token, map[string]string{"name": "web", "platform": "cobol"}, 400},
		{"malformed json", ana.Token, `{"name":`, 400},
		{"wrong type", ana.Token, `{"name": 1}`, 400},
		{"name taken", ana.Token, map[string]string{"name": "taken", "platform": "go"}, 409},
		{"in no team", loner.Token, map[string]string{"name": "web", "platform": "go"}, 403},
		{"not in teamOwner", ana.Token, map[string]string{"name": "web", "platform": "go", "teamOwner": "ops"}, 403},
		{"no credential", "", map[string]string{"name": "web", "platform": "go"}, 401},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if msg := srv.Req(t, "POST", "/apps", c.token, c.body).Expect(t, c.want).ErrorMessage(t); msg == "" {
				t.Fatal("error without a message")
			}
		})
	}
	// 40 characters is fine.
	createApp(t, srv, ana.Token, "a"+strings.Repeat("b", 39))
}

func TestQuotaLimitsAppCreation(t *testing.T) {
	srv := berthtest.Start(t, berthtest.WithCore(core.Config{DefaultQuota: 1}))
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	bo := srv.NewTeamUser(t, "bo@example.com", "ops")

	var q struct{ Items, Available int }
	srv.Req(t, "GET", "/quota/ana@example.com", ana.Token, nil).Expect(t, 200).JSON(t, &q)
	if q.Items != 1 || q.Available != 1 {
		t.Fatalf("fresh quota: %+v", q)
	}
	createApp(t, srv, ana.Token, "one")
	srv.Req(t, "GET", "/quota/ana@example.com", ana.Token, nil).Expect(t, 200).JSON(t, &q)
	if q.Items != 1 || q.Available != 0 {
		t.Fatalf("quota after one app: %+v", q)
	}
	srv.Req(t, "POST", "/apps", ana.Token, map[string]string{"name": "two", "platform": "go"}).Expect(t, 403)

	// Only admins change quotas, never below what the user owns.
	srv.Req(t, "PUT", "/quota/ana@example.com", ana.Token, map[string]int{"limit": 5}).Expect(t, 403)
	srv.Req(t, "PUT", "/quota/ana@example.com", srv.AdminToken, map[string]int{"limit": 0}).Expect(t, 409)
	srv.Req(t, "PUT", "/quota/ana@example.com", srv.AdminToken, map[string]int{"limit": -2}).Expect(t, 400)
	srv.Req(t, "PUT", "/quota/ana@example.com", srv.AdminToken, map[string]any{}).Expect(t, 400)
	srv.Req(t, "PUT", "/quota/ana@example.com", srv.AdminToken, "{").Expect(t, 400)
	srv.Req(t, "PUT", "/quota/nobody@example.com", srv.AdminToken, map[string]int{"limit": 3}).Expect(t, 404)
	srv.Req(t, "PUT", "/quota/ana@example.com", srv.AdminToken, map[string]int{"limit": 2}).Expect(t, 200).JSON(t, &q)
	if q.Items != 2 || q.Available != 1 {
		t.Fatalf("raised quota: %+v", q)
	}
	createApp(t, srv, ana.Token, "two")

	// Deleting an app gives its slot back.
	srv.Req(t, "DELETE", "/apps/one", ana.Token, nil).Expect(t, 200)
	srv.Req(t, "GET", "/quota/ana@example.com", ana.Token, nil).Expect(t, 200).JSON(t, &q)
	if q.Available != 1 {
		t.Fatalf("quota after delete: %+v", q)
	}

	srv.Req(t, "PUT", "/quota/ana@example.com", srv.AdminToken, map[string]int{"limit": -1}).Expect(t, 200).JSON(t, &q)
	if q.Items != -1 || q.Available != -1 {
		t.Fatalf("unlimited: %+v", q)
	}
	srv.Req(t, "GET", "/quota/ana@example.com", bo.Token, nil).Expect(t, 403)
	srv.Req(t, "GET", "/quota/ana@example.com", srv.AdminToken, nil).Expect(t, 200)
	srv.Req(t, "GET", "/quota/nobody@example.com", srv.AdminToken, nil).Expect(t, 404)
	srv.Req(t, "GET", "/quota/ana@example.com", "", nil).Expect(t, 401)
}

func TestDottedAppNames(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	// lain names resource instances resource.<resource>.<app>; they are
	// created through lain, so the test puts one in the store.
	err := srv.Instance().Store.Update(context.Background(), func(tx *store.Tx) error {
		return tx.PutApp(&domain.App{ID: uuid.NewString(), Name: "resource.redis.web", Type: domain.AppTypeResourceInstance, Teams: []string{"devs"}, TeamOwner: "devs", Owner: ana.Email})
	})
	if err != nil {
		t.Fatal(err)
	}
	var app tsuruApp
	srv.Req(t, "GET", "/apps/resource.redis.web", ana.Token, nil).Expect(t, 200).JSON(t, &app)
	if app.Name != "resource.redis.web" || app.Units == nil || app.Teams == nil {
		t.Fatalf("app: %+v", app)
	}
	srv.Req(t, "POST", "/apps/resource.redis.web/env", ana.Token, map[string]string{"REDIS_DB": "3"}).Expect(t, 200)
	srv.Req(t, "DELETE", "/apps/resource.redis.web", ana.Token, nil).Expect(t, 200)
	srv.Req(t, "GET", "/apps/resource.redis.web", ana.Token, nil).Expect(t, 404)
}

func TestUnitsRestartAndHealer(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	createApp(t, srv, ana.Token, "web")
	editApp(t, srv, "web", func(a *domain.App) {
		a.Procs = []domain.Proc{{Name: "web", NumInstances: 2}, {Name: "worker", NumInstances: 1}}
		a.SyncUnits()
		a.Units[1].State = domain.UnitError
	})

	var app tsuruApp
	srv.Req(t, "GET", "/apps/web", ana.Token, nil).Expect(t, 200).JSON(t, &app)
	if len(app.Units) != 3 || app.Units[0].Name != "web/0" || app.Units[2].Name != "web/2" || app.Units[1].State != "error" || app.State != "error" || app.Units[0].Ip == "" {
		t.Fatalf("units: %+v", app)
	}

	// The units healer puts units in error back to started; admins only.
	var healers []map[string]string
	srv.Req(t, "GET", "/healers", ana.Token, nil).Expect(t, 200).JSON(t, &healers)
	found := false
	for _, h := range healers {
		if len(h) != 1 {
			t.Fatalf("healer entry %v is not {name: url}", h)
		}
		if h["units"] == "/healers/units" {
			found = true
		}
	}
	if !found {
		t.Fatalf("units healer not listed: %v", healers)
	}
	srv.Req(t, "GET", "/healers/units", ana.Token, nil).Expect(t, 403)
	srv.Req(t, "GET", "/healers/nope", srv.AdminToken, nil).Expect(t, 404)
	var rep struct {
		Healer  string
		Healed  int
		Details []string
	}
	srv.Req(t, "GET", "/healers/units", srv.AdminToken, nil).Expect(t, 200).JSON(t, &rep)
	if rep.Healer != "units" || rep.Healed != 1 || len(rep.Details) != 1 || !strings.Contains(rep.Details[0], "web/1") {
		t.Fatalf("report: %+v", rep)
	}
	srv.Req(t, "GET", "/apps/web", ana.Token, nil).Expect(t, 200).JSON(t, &app)
	if app.State != "started" || app.Units[1].State != "started" {
		t.Fatalf("after healing: %+v", app)
	}
	srv.Req(t, "GET", "/healers/units", srv.AdminToken, nil).Expect(t, 200).JSON(t, &rep)
	if rep.Healed != 0 || rep.Details == nil {
		t.Fatalf("second run: %+v", rep)
	}

	// Restart: every unit back to started, time recorded.
	editApp(t, srv, "web", func(a *domain.App) { a.Units[0].State = domain.UnitStopped; a.Units[2].State = domain.UnitError })
	srv.Clock.Advance(10 * time.Minute)
	before := srv.Clock.Now().Add(-time.Second)
	srv.Req(t, "GET", "/apps/web/restart", ana.Token, nil).Expect(t, 200).JSON(t, &app)
	for _, u := range app.Units {
		if u.State != "started" {
			t.Fatalf("unit after restart: %+v", app.Units)
		}
	}
	if app.RestartedAt == nil || app.RestartedAt.Before(before) {
		t.Fatalf("restart time %v, want after %v", app.RestartedAt, before)
	}
	srv.Req(t, "GET", "/apps/web", ana.Token, nil).Expect(t, 200).JSON(t, &app)
	if app.RestartedAt == nil || app.State != "started" {
		t.Fatalf("restart not recorded: %+v", app)
	}
}

func TestEnv(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	createApp(t, srv, ana.Token, "web")
	version := storedApp(t, srv, "web").ConfigVersion

	var env []envVar
	srv.Req(t, "GET", "/apps/web/env", ana.Token, nil).Expect(t, 200).JSON(t, &env)
	if env == nil || len(env) != 0 {
		t.Fatalf("fresh env: %v", env)
	}

	// The list form, with public defaulting to true.
	srv.Req(t, "POST", "/apps/web/env", ana.Token, []map[string]any{
		{"name": "DATABASE_HOST", "value": "localhost"},
		{"name": "SECRET", "value": "s3cr3t", "public": false},
	}).Expect(t, 200).JSON(t, &env)
	if len(env) != 2 || env[0].Name != "DATABASE_HOST" || !env[0].Public || env[1].Value != core.MaskedValue {
		t.Fatalf("after set: %+v", env)
	}
	if v := storedApp(t, srv, "web").ConfigVersion; v != version+1 {
		t.Fatalf("config version %d, want %d", v, version+1)
	}
	// tsuru's original form: an object of names to values, all public.
	srv.Req(t, "POST", "/apps/web/env", ana.Token, map[string]string{"PORT": "8080", "_X": "y"}).Expect(t, 200)
	got := getEnv(t, srv, ana.Token, "web")
	if len(got) != 4 || got["PORT"].Value != "8080" || !got["PORT"].Public || got["SECRET"].Value != core.MaskedValue {
		t.Fatalf("env: %+v", got)
	}
	// Admins read private values.
	if v := getEnv(t, srv, srv.AdminToken, "web")["SECRET"]; v.Value != "s3cr3t" || v.Public {
		t.Fatalf("admin's view of SECRET: %+v", v)
	}
	// Setting the same values changes nothing, so the version stays.
	v2 := storedApp(t, srv, "web").ConfigVersion
	srv.Req(t, "POST", "/apps/web/env", ana.Token, map[string]string{"PORT": "8080"}).Expect(t, 200)
	if v := storedApp(t, srv, "web").ConfigVersion; v != v2 {
		t.Fatalf("no-op set moved the config version %d -> %d", v2, v)
	}

	// Filter and paging.
	srv.Req(t, "GET", "/apps/web/env?env=PORT&env=SECRET", ana.Token, nil).Expect(t, 200).JSON(t, &env)
	if len(env) != 2 || env[0].Name != "PORT" || env[1].Name != "SECRET" {
		t.Fatalf("filtered: %+v", env)
	}
	r := srv.Req(t, "GET", "/apps/web/env?limit=3", ana.Token, nil).Expect(t, 200)
	r.JSON(t, &env)
	if len(env) != 3 || r.Header.Get("X-Next-Cursor") != "SECRET" {
		t.Fatalf("page: %+v next %q", env, r.Header.Get("X-Next-Cursor"))
	}
	srv.Req(t, "GET", "/apps/web/env?limit=3&cursor=SECRET", ana.Token, nil).Expect(t, 200).JSON(t, &env)
	if len(env) != 1 || env[0].Name != "_X" {
		t.Fatalf("last page: %+v", env)
	}

	for _, bad := range []any{
		[]map[string]string{{"name": "1BAD", "value": "x"}},
		map[string]string{"A-B": "x"},
		[]map[string]string{{"name": "A", "value": "1"}, {"name": "A", "value": "2"}},
		[]map[string]string{},
		map[string]int{"PORT": 8080},
		`"PORT=1"`,
		`[{"name":"A"}] trailing`,
		``,
	} {
		srv.Req(t, "POST", "/apps/web/env", ana.Token, bad).Expect(t, 400)
	}
	srv.Req(t, "POST", "/apps/web/env", ana.Token, map[string]string{"TSURU_SERVICES": "{}"}).Expect(t, 409)

	// Unset by query and by body; absent names are ignored.
	srv.Req(t, "DELETE", "/apps/web/env?env=PORT&env=NOPE", ana.Token, nil).Expect(t, 200).JSON(t, &env)
	if len(env) != 3 {
		t.Fatalf("after unset: %+v", env)
	}
	srv.Req(t, "DELETE", "/apps/web/env", ana.Token, []string{"_X", "SECRET"}).Expect(t, 200)
	got = getEnv(t, srv, ana.Token, "web")
	if len(got) != 1 || got["DATABASE_HOST"].Value != "localhost" {
		t.Fatalf("env after unsets: %+v", got)
	}
	srv.Req(t, "DELETE", "/apps/web/env", ana.Token, nil).Expect(t, 400)
	srv.Req(t, "DELETE", "/apps/web/env?env=a-b", ana.Token, nil).Expect(t, 400)
	srv.Req(t, "DELETE", "/apps/web/env", ana.Token, `{"env":["A"]}`).Expect(t, 400)
	srv.Req(t, "DELETE", "/apps/web/env?env=TSURU_SERVICES", ana.Token, nil).Expect(t, 409)
	srv.Req(t, "GET", "/apps/nope/env", ana.Token, nil).Expect(t, 404)
	srv.Req(t, "POST", "/apps/nope/env", ana.Token, map[string]string{"A": "b"}).Expect(t, 404)
	srv.Req(t, "DELETE", "/apps/nope/env?env=A", ana.Token, nil).Expect(t, 404)
}

func TestSwap(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	bo := srv.NewTeamUser(t, "bo@example.com", "ops")
	createApp(t, srv, ana.Token, "blue")
	createApp(t, srv, ana.Token, "green")
	srv.Req(t, "POST", "/apps", ana.Token, map[string]string{"name": "red", "platform": "ruby"}).Expect(t, 200)
	createApp(t, srv, bo.Token, "theirs")
	editApp(t, srv, "blue", func(a *domain.App) {
		a.CNames = []string{"www.example.com"}
		a.Procs = []domain.Proc{{Name: "web", NumInstances: 1}}
		a.SyncUnits()
	})
	editApp(t, srv, "green", func(a *domain.App) {
		a.Procs = []domain.Proc{{Name: "web", NumInstances: 1}}
		a.SyncUnits()
	})
	var blue, green tsuruApp
	srv.Req(t, "GET", "/apps/blue", ana.Token, nil).Expect(t, 200).JSON(t, &blue)
	srv.Req(t, "GET", "/apps/green", ana.Token, nil).Expect(t, 200).JSON(t, &green)

	srv.Req(t, "PUT", "/swap?app1=blue&app2=green", ana.Token, nil).Expect(t, 200)
	var blue2, green2 tsuruApp
	srv.Req(t, "GET", "/apps/blue", ana.Token, nil).Expect(t, 200).JSON(t, &blue2)
	srv.Req(t, "GET", "/apps/green", ana.Token, nil).Expect(t, 200).JSON(t, &green2)
	if blue2.Ip != green.Ip || green2.Ip != blue.Ip || len(green2.CName) != 1 || green2.CName[0] != "www.example.com" || len(blue2.CName) != 0 {
		t.Fatalf("after swap: blue %+v green %+v", blue2, green2)
	}
	if blue2.Units[0].Ip != green.Units[0].Ip || green2.Units[0].Ip != blue.Units[0].Ip {
		t.Fatalf("unit addresses not refreshed: blue %+v green %+v", blue2.Units, green2.Units)
	}

	srv.Req(t, "PUT", "/swap?app1=blue", ana.Token, nil).Expect(t, 400)
	srv.Req(t, "PUT", "/swap?app2=blue", ana.Token, nil).Expect(t, 400)
	srv.Req(t, "PUT", "/swap?app1=blue&app2=blue", ana.Token, nil).Expect(t, 400)
	srv.Req(t, "PUT", "/swap?app1=blue&app2=green&force=maybe", ana.Token, nil).Expect(t, 400)
	srv.Req(t, "PUT", "/swap?app1=blue&app2=nope", ana.Token, nil).Expect(t, 404)
	srv.Req(t, "PUT", "/swap?app1=nope&app2=blue", ana.Token, nil).Expect(t, 404)
	srv.Req(t, "PUT", "/swap?app1=blue&app2=theirs", ana.Token, nil).Expect(t, 403)
	srv.Req(t, "PUT", "/swap?app1=theirs&app2=blue", bo.Token, nil).Expect(t, 403)
	// Different platforms, different unit counts: 412 unless forced.
	srv.Req(t, "PUT", "/swap?app1=blue&app2=red", ana.Token, nil).Expect(t, 412)
	editApp(t, srv, "green", func(a *domain.App) { a.Procs[0].NumInstances = 2; a.SyncUnits() })
	srv.Req(t, "PUT", "/swap?app1=blue&app2=green", ana.Token, nil).Expect(t, 412)
	srv.Req(t, "PUT", "/swap?app1=blue&app2=green&force=true", ana.Token, nil).Expect(t, 200)
	srv.Req(t, "PUT", "/swap?app1=blue&app2=red&force=true", ana.Token, nil).Expect(t, 200)
	srv.Req(t, "PUT", "/swap?app1=blue&app2=theirs&force=true", srv.AdminToken, nil).Expect(t, 200)
}

func TestPlatforms(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewUser(t, "ana@example.com")
	var ps []struct{ Name string }
	srv.Req(t, "GET", "/platforms", ana.Token, nil).Expect(t, 200).JSON(t, &ps)
	var names []string
	for _, p := range ps {
		names = append(names, p.Name)
	}
	if got := strings.Join(names, ","); got != "go,java,node,python,ruby,static" {
		t.Fatalf("platforms: %s", got)
	}
	r := srv.Req(t, "GET", "/platforms?limit=2&cursor=java", ana.Token, nil).Expect(t, 200)
	r.JSON(t, &ps)
	if len(ps) != 2 || ps[0].Name != "node" || r.Header.Get("X-Next-Cursor") != "python" {
		t.Fatalf("page: %+v next %q", ps, r.Header.Get("X-Next-Cursor"))
	}
	srv.Req(t, "GET", "/platforms", "", nil).Expect(t, 401)

	custom := berthtest.Start(t, berthtest.WithCore(core.Config{Platforms: []string{"php", "elixir"}}))
	u := custom.NewTeamUser(t, "ana@example.com", "devs")
	custom.Req(t, "GET", "/platforms", u.Token, nil).Expect(t, 200).JSON(t, &ps)
	if len(ps) != 2 || ps[0].Name != "elixir" || ps[1].Name != "php" {
		t.Fatalf("configured platforms: %+v", ps)
	}
	custom.Req(t, "POST", "/apps", u.Token, map[string]string{"name": "web", "platform": "go"}).Expect(t, 400)
	custom.Req(t, "POST", "/apps", u.Token, map[string]string{"name": "web", "platform": "php"}).Expect(t, 200)
}

// TestAppRoutesAreTeamScoped: a user of another team gets 403 on every app
// route, and lists show only what the caller may see.
func TestAppRoutesAreTeamScoped(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	eve := srv.NewTeamUser(t, "eve@example.com", "others")
	createApp(t, srv, ana.Token, "web")
	createApp(t, srv, eve.Token, "evil")

	routes := []struct{ method, path string }{
		{"GET", "/apps/web"},
		{"DELETE", "/apps/web"},
		{"GET", "/apps/web/restart"},
		{"GET", "/apps/web/env"},
		{"POST", "/apps/web/env"},
		{"DELETE", "/apps/web/env?env=A"},
		{"PUT", "/swap?app1=web&app2=evil"},
		{"PUT", "/swap?app1=evil&app2=web"},
	}
	for _, rt := range routes {
		var body any
		if rt.method == "POST" {
			body = map[string]string{"A": "b"}
		}
		srv.Req(t, rt.method, rt.path, eve.Token, body).Expect(t, 403)
		srv.Req(t, rt.method, rt.path, "", body).Expect(t, 401)
	}
	var list []tsuruApp
	srv.Req(t, "GET", "/apps", eve.Token, nil).Expect(t, 200).JSON(t, &list)
	if len(list) != 1 || list[0].Name != "evil" {
		t.Fatalf("eve sees %+v", list)
	}
	srv.Req(t, "GET", "/apps", srv.AdminToken, nil).Expect(t, 200).JSON(t, &list)
	if len(list) != 2 {
		t.Fatalf("admin sees %+v", list)
	}
	// Joining the team grants access.
	srv.Req(t, "PUT", "/teams/devs/eve@example.com", ana.Token, nil).Expect(t, 200)
	srv.Req(t, "GET", "/apps/web", eve.Token, nil).Expect(t, 200)
	srv.Req(t, "GET", "/apps/web/env", srv.AdminToken, nil).Expect(t, 200)
}

func TestAppsSurviveRestart(t *testing.T) {
	srv := berthtest.Start(t, berthtest.OnDisk(t.TempDir()))
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	createApp(t, srv, ana.Token, "web")
	srv.Req(t, "POST", "/apps/web/env", ana.Token, []map[string]any{{"name": "SECRET", "value": "x", "public": false}}).Expect(t, 200)
	srv.Req(t, "GET", "/apps/web/restart", ana.Token, nil).Expect(t, 200)

	srv.Restart()

	var app tsuruApp
	srv.Req(t, "GET", "/apps/web", ana.Token, nil).Expect(t, 200).JSON(t, &app)
	if app.RestartedAt == nil || app.TeamOwner != "devs" {
		t.Fatalf("app after restart: %+v", app)
	}
	if v := getEnv(t, srv, srv.AdminToken, "web")["SECRET"]; v.Value != "x" || v.Public {
		t.Fatalf("env after restart: %+v", v)
	}
	var q struct{ Items, Available int }
	srv.Req(t, "GET", "/quota/"+url.PathEscape(ana.Email), ana.Token, nil).Expect(t, 200).JSON(t, &q)
	if q.Items != -1 {
		t.Fatalf("quota after restart: %+v", q)
	}
	srv.Req(t, "DELETE", "/apps/web", ana.Token, nil).Expect(t, 200)
}

type healerReport struct {
	Healer  string   `json:"healer"`
	Healed  int      `json:"healed"`
	Details []string `json:"details"`
}

// runHealer runs a healer as the admin over GET /healers/{healer}.
func runHealer(t *testing.T, srv *berthtest.Server, name string) healerReport {
	t.Helper()
	var rep healerReport
	srv.Req(t, "GET", "/healers/"+name, srv.AdminToken, nil).Expect(t, http.StatusOK).JSON(t, &rep)
	if rep.Healer != name {
		t.Fatalf("ran healer %q, want %q", rep.Healer, name)
	}
	return rep
}
