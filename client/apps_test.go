package client_test

import (
	"context"
	"testing"

	"github.com/berthdev/terraform-provider-berth/client"
	"github.com/berthdev/terraform-provider-berth/internal/berthtest"
)

func TestAppsEnvQuotasHealersPlatforms(t *testing.T) {
	ctx := context.Background()
	srv := berthtest.Start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	c := newClient(t, srv, ana.Token)
	admin := newClient(t, srv, srv.AdminToken)

	created, _, err := c.Apps.Create(ctx, client.CreateAppRequest{Name: "web", Platform: "go", TeamOwner: "devs"})
	if err != nil || created.Status != "success" || created.RepositoryURL == "" || created.IP == "" {
		t.Fatalf("create: %+v %v", created, err)
	}
	if _, _, err := c.Apps.Create(ctx, client.CreateAppRequest{Name: "web", Platform: "go"}); !client.IsConflict(err) {
		t.Fatalf("duplicate: %v", err)
	}
	if _, _, err := c.Apps.Create(ctx, client.CreateAppRequest{Name: "api", Platform: "go"}); err != nil {
		t.Fatal(err)
	}
	app, _, err := c.Apps.Get(ctx, "web")
	if err != nil || app.Name != "web" || app.Platform != "go" || app.TeamOwner != "devs" || app.State != "stopped" || app.Units == nil {
		t.Fatalf("get: %+v %v", app, err)
	}
	if _, _, err := c.Apps.Get(ctx, "nope"); !client.IsNotFound(err) {
		t.Fatalf("missing app: %v", err)
	}
	apps, resp, err := c.Apps.List(ctx, &client.ListOptions{Limit: 1})
	if err != nil || len(apps) != 1 || apps[0].Name != "api" || resp.NextCursor == "" {
		t.Fatalf("list page: %+v %v", apps, err)
	}
	if apps, _, err = c.Apps.List(ctx, &client.ListOptions{Limit: 1, Cursor: resp.NextCursor}); err != nil || len(apps) != 1 || apps[0].Name != "web" {
		t.Fatalf("second page: %+v %v", apps, err)
	}
	restarted, _, err := c.Apps.Restart(ctx, "web")
	if err != nil || restarted.RestartedAt == nil {
		t.Fatalf("restart: %+v %v", restarted, err)
	}
	if _, err := c.Apps.Swap(ctx, "web", "api", false); err != nil {
		t.Fatalf("swap: %v", err)
	}
	if swapped, _, _ := c.Apps.Get(ctx, "web"); swapped.IP == app.IP {
		t.Fatalf("swap kept web's address %q", swapped.IP)
	}
	if _, err := c.Apps.Swap(ctx, "web", "web", true); client.StatusCode(err) != 400 {
		t.Fatalf("swap with itself: %v", err)
	}

	env, _, err := c.Env.Set(ctx, "web", client.EnvVar{Name: "PORT", Value: "8080", Public: true}, client.EnvVar{Name: "TOKEN", Value: "s3cr3t"})
	if err != nil || len(env) != 2 || env[1].Name != "TOKEN" || env[1].Value == "s3cr3t" {
		t.Fatalf("set: %+v %v", env, err)
	}
	env, _, err = admin.Env.List(ctx, "web", &client.EnvListOptions{Names: []string{"TOKEN"}})
	if err != nil || len(env) != 1 || env[0].Value != "s3cr3t" || env[0].Public {
		t.Fatalf("admin list: %+v %v", env, err)
	}
	env, resp, err = c.Env.List(ctx, "web", &client.EnvListOptions{ListOptions: client.ListOptions{Limit: 1}})
	if err != nil || len(env) != 1 || resp.NextCursor != "PORT" {
		t.Fatalf("env page: %+v %q %v", env, resp.NextCursor, err)
	}
	if _, _, err := c.Env.Set(ctx, "web", client.EnvVar{Name: "BAD-NAME"}); client.StatusCode(err) != 400 {
		t.Fatalf("bad name: %v", err)
	}
	if env, _, err = c.Env.Unset(ctx, "web", "PORT", "TOKEN"); err != nil || len(env) != 0 {
		t.Fatalf("unset: %+v %v", env, err)
	}

	q, _, err := c.Quotas.Get(ctx, ana.Email)
	if err != nil || q.Limit != -1 || q.Available != -1 {
		t.Fatalf("quota: %+v %v", q, err)
	}
	if _, _, err := c.Quotas.Set(ctx, ana.Email, 5); !client.IsForbidden(err) {
		t.Fatalf("non-admin set: %v", err)
	}
	if q, _, err = admin.Quotas.Set(ctx, ana.Email, 5); err != nil || q.Limit != 5 || q.Available != 3 {
		t.Fatalf("admin set: %+v %v", q, err)
	}

	healers, _, err := c.Healers.List(ctx, nil)
	if err != nil || len(healers) == 0 {
		t.Fatalf("healers: %+v %v", healers, err)
	}
	found := false
	for _, h := range healers {
		found = found || (h.Name == "units" && h.URL == "/healers/units")
	}
	if !found {
		t.Fatalf("no units healer in %+v", healers)
	}
	if _, _, err := c.Healers.Run(ctx, "units"); !client.IsForbidden(err) {
		t.Fatalf("non-admin run: %v", err)
	}
	rep, _, err := admin.Healers.Run(ctx, "units")
	if err != nil || rep.Healer != "units" || rep.Healed != 0 {
		t.Fatalf("run: %+v %v", rep, err)
	}

	platforms, _, err := c.Platforms.List(ctx, nil)
	if err != nil || len(platforms) != 6 || platforms[0].Name != "go" {
		t.Fatalf("platforms: %+v %v", platforms, err)
	}

	if _, err := c.Apps.Delete(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Apps.Delete(ctx, "web"); !client.IsNotFound(err) {
		t.Fatalf("second delete: %v", err)
	}
}

func TestEnvDigest(t *testing.T) {
	ctx := context.Background()
	srv := berthtest.Start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	c := newClient(t, srv, ana.Token)
	if _, _, err := c.Apps.Create(ctx, client.CreateAppRequest{Name: "web", Platform: "go"}); err != nil {
		t.Fatal(err)
	}
	set, _, err := c.Env.Set(ctx, "web", client.EnvVar{Name: "PORT", Value: "8080", Public: true}, client.EnvVar{Name: "TOKEN", Value: "s3cr3t"})
	if err != nil || set[0].Digest != "" || len(set[1].Digest) != 64 {
		t.Fatalf("set: %+v %v", set, err)
	}
	listed, _, err := c.Env.List(ctx, "web", &client.EnvListOptions{Names: []string{"TOKEN"}})
	if err != nil || len(listed) != 1 || listed[0].Digest != set[1].Digest || listed[0].Value == "s3cr3t" {
		t.Fatalf("list: %+v %v", listed, err)
	}
	changed, _, err := c.Env.Set(ctx, "web", client.EnvVar{Name: "TOKEN", Value: "other"})
	if err != nil || changed[1].Digest == set[1].Digest {
		t.Fatalf("a changed value kept its digest: %+v %v", changed, err)
	}
}

// TestDeployAndUnits: a deploy makes a release and gives an app without
// procs one web unit; units come and go through the units routes.
func TestDeployAndUnits(t *testing.T) {
	ctx := context.Background()
	srv := berthtest.Start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	c := newClient(t, srv, ana.Token)
	if _, _, err := c.Apps.Create(ctx, client.CreateAppRequest{Name: "web", Platform: "go"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Apps.AddUnits(ctx, "web", "", 1); client.StatusCode(err) != 400 {
		t.Fatalf("units before any deploy: %v", err)
	}
	d, _, err := c.Apps.Deploy(ctx, "web", "registry.example/web:1")
	if err != nil || d.Release != 1 || d.Image != "registry.example/web:1" {
		t.Fatalf("deploy: %+v %v", d, err)
	}
	app, _, err := c.Apps.AddUnits(ctx, "web", "web", 2)
	if err != nil || len(app.Units) != 3 || app.Units[2].Name != "web/2" || app.Units[2].Proc != "web" {
		t.Fatalf("add units: %+v %v", app, err)
	}
	if app, _, err = c.Apps.RemoveUnits(ctx, "web", "", 2); err != nil || len(app.Units) != 1 || app.Units[0].Name != "web/0" {
		t.Fatalf("remove units: %+v %v", app, err)
	}
	if _, _, err := c.Apps.RemoveUnits(ctx, "web", "", 5); client.StatusCode(err) != 400 {
		t.Fatalf("removing more units than run: %v", err)
	}
	if _, _, err := c.Apps.AddUnits(ctx, "web", "worker", 1); !client.IsNotFound(err) {
		t.Fatalf("units of a proc the app does not run: %v", err)
	}
}
