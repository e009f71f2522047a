package client_test

import (
	"context"
	"testing"

	"github.com/berthdev/terraform-provider-berth/client"
	"github.com/berthdev/terraform-provider-berth/internal/berthtest"
)

func TestLainRepos(t *testing.T) {
	ctx := context.Background()
	srv := berthtest.Start(t)
	ana := newClient(t, srv, srv.NewTeamUser(t, "ana@example.com", "devs").Token)
	srv.NewUser(t, "bo@example.com")

	meta := &client.AppMeta{Procs: []client.ProcSpec{{Name: "web", NumInstances: 2, Memory: "64M"}}}
	repo, _, err := ana.Repos.Register(ctx, client.RepoRegistration{AppName: "hello", Meta: meta, Platform: "go"})
	if err != nil || repo.AppName != "hello" || repo.AppType != "app" || repo.Team != "devs" || repo.Platform != "go" || repo.State != "undeployed" {
		t.Fatalf("register: %+v %v", repo, err)
	}
	if p := repo.Meta.Procs[0]; p != (client.ProcSpec{Name: "web", NumInstances: 2, CPU: 1, Memory: "64M"}) {
		t.Fatalf("declared proc: %+v", p)
	}
	if _, _, err := ana.Repos.Register(ctx, client.RepoRegistration{AppName: "hello"}); !client.IsConflict(err) {
		t.Fatalf("taken name: %v", err)
	}
	if _, _, err := ana.Repos.Register(ctx, client.RepoRegistration{AppName: "a.b"}); client.StatusCode(err) != 400 {
		t.Fatalf("dotted name: %v", err)
	}
	if _, _, err := ana.Repos.Register(ctx, client.RepoRegistration{AppName: "second"}); err != nil {
		t.Fatal(err)
	}

	repos, resp, err := ana.Repos.List(ctx, &client.ListOptions{Limit: 1})
	if err != nil || len(repos) != 1 || repos[0].AppName != "hello" || resp.NextCursor != "hello" {
		t.Fatalf("list: %+v %v", repos, err)
	}
	if repos, _, err = ana.Repos.List(ctx, nil); err != nil || len(repos) != 2 {
		t.Fatalf("list all: %+v %v", repos, err)
	}
	if repo, _, err = ana.Repos.Get(ctx, "hello"); err != nil || repo.ID == "" {
		t.Fatalf("get: %+v %v", repo, err)
	}
	if _, _, err = ana.Repos.Get(ctx, "nosuch"); !client.IsNotFound(err) {
		t.Fatalf("get missing: %v", err)
	}
	repo, _, err = ana.Repos.SetMeta(ctx, "hello", client.AppMeta{AppType: "service", Procs: []client.ProcSpec{{Name: "api", NumInstances: 0, CPU: 2}}})
	if err != nil || repo.AppType != "service" || len(repo.Meta.Procs) != 1 || repo.Meta.Procs[0].NumInstances != 0 || repo.Meta.Procs[0].Memory != "32M" {
		t.Fatalf("set meta: %+v %v", repo, err)
	}

	role, _, err := ana.Repos.Role(ctx, "hello")
	if err != nil || role.Role != "owner" || role.Username != "ana@example.com" {
		t.Fatalf("role: %+v %v", role, err)
	}
	if _, _, err := ana.Repos.UserRole(ctx, "hello", "bo@example.com"); !client.IsNotFound(err) {
		t.Fatalf("role of a stranger: %v", err)
	}
	m, _, err := ana.Repos.SetMaintainer(ctx, "hello", "bo@example.com", "maintainer")
	if err != nil || m.Username != "bo@example.com" || m.Role != "maintainer" || m.URL == "" {
		t.Fatalf("set maintainer: %+v %v", m, err)
	}
	if role, _, err = ana.Repos.UserRole(ctx, "hello", "bo@example.com"); err != nil || role.Role != "maintainer" {
		t.Fatalf("bo's role: %+v %v", role, err)
	}
	ms, _, err := ana.Repos.ListMaintainers(ctx, "hello", nil)
	if err != nil || len(ms) != 2 || ms[0].Username != "ana@example.com" || ms[1].Username != "bo@example.com" {
		t.Fatalf("maintainers: %+v %v", ms, err)
	}
	if m, _, err = ana.Repos.GetMaintainer(ctx, "hello", "ana@example.com"); err != nil || m.Role != "owner" {
		t.Fatalf("get maintainer: %+v %v", m, err)
	}
	if _, err := ana.Repos.RemoveMaintainer(ctx, "hello", "ana@example.com"); !client.IsConflict(err) {
		t.Fatalf("removing the last owner: %v", err)
	}
	if _, err := ana.Repos.RemoveMaintainer(ctx, "hello", "bo@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ana.Repos.GetMaintainer(ctx, "hello", "bo@example.com"); !client.IsNotFound(err) {
		t.Fatalf("removed maintainer: %v", err)
	}
}

func TestLainDeploymentsAndProcs(t *testing.T) {
	ctx := context.Background()
	srv := berthtest.Start(t)
	ana := newClient(t, srv, srv.NewTeamUser(t, "ana@example.com", "devs").Token)

	resource := &client.AppMeta{AppType: "resource", Procs: []client.ProcSpec{{Name: "server", NumInstances: 1}}}
	app := &client.AppMeta{UseResources: []string{"redis"}, Procs: []client.ProcSpec{
		{Name: "web", NumInstances: 2, CPU: 1, Memory: "64M"},
		{Name: "worker", NumInstances: 1},
	}}
	// The resource first: registering an app checks the resources it uses.
	for _, r := range []client.RepoRegistration{{AppName: "redis", Meta: resource}, {AppName: "hello", Meta: app}} {
		if _, _, err := ana.Repos.Register(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := ana.Deployments.Get(ctx, "hello"); !client.IsNotFound(err) {
		t.Fatalf("undeployed app: %v", err)
	}
	if _, _, err := ana.Deployments.Deploy(ctx, "redis"); err != nil {
		t.Fatal(err)
	}
	a, resp, err := ana.Deployments.Deploy(ctx, "hello")
	if err != nil || resp.StatusCode != 202 || a.State != "deployed" || len(a.Procs) != 2 || len(a.ResourceInstances) != 1 {
		t.Fatalf("deploy: %+v %v", a, err)
	}
	if _, _, err := ana.Deployments.Deploy(ctx, "hello"); !client.IsConflict(err) {
		t.Fatalf("deploy twice: %v", err)
	}
	if a, _, err = ana.Deployments.Get(ctx, "hello"); err != nil || a.DeployedAt.IsZero() {
		t.Fatalf("get: %+v %v", a, err)
	}

	all, _, err := ana.Deployments.List(ctx, nil)
	if err != nil || len(all) != 3 {
		t.Fatalf("list: %+v %v", all, err)
	}
	// Paging without a type still lists every type.
	page, resp, err := ana.Deployments.List(ctx, &client.DeploymentListOptions{ListOptions: client.ListOptions{Limit: 2}})
	if err != nil || len(page) != 2 || page[0].AppName != "hello" || page[1].AppName != "redis" || resp.NextCursor == "" {
		t.Fatalf("page: %+v %v", page, err)
	}
	instances, _, err := ana.Deployments.List(ctx, &client.DeploymentListOptions{AppType: "resource-instance"})
	if err != nil || len(instances) != 1 || instances[0].AppName != "resource.redis.hello" || instances[0].Client != "hello" {
		t.Fatalf("instances by type: %+v %v", instances, err)
	}
	if instances, _, err = ana.Deployments.ResourceInstances(ctx, "redis", nil); err != nil || len(instances) != 1 || instances[0].Resource != "redis" {
		t.Fatalf("instances of redis: %+v %v", instances, err)
	}

	procs, _, err := ana.Procs.List(ctx, "hello", nil)
	if err != nil || len(procs) != 2 || procs[0].ProcName != "web" || len(procs[0].Pods) != 2 {
		t.Fatalf("procs: %+v %v", procs, err)
	}
	n := 4
	p, resp, err := ana.Procs.Scale(ctx, "hello", "web", client.ProcScale{NumInstances: &n})
	if err != nil || resp.StatusCode != 202 || p.NumInstances != 4 || len(p.Pods) != 4 {
		t.Fatalf("scale: %+v %v", p, err)
	}
	cpu := 2
	if p, _, err = ana.Procs.Scale(ctx, "hello", "web", client.ProcScale{CPU: &cpu, Memory: "1G"}); err != nil || p.CPU != 2 || p.Memory != "1G" {
		t.Fatalf("resize: %+v %v", p, err)
	}
	if _, _, err = ana.Procs.Scale(ctx, "hello", "web", client.ProcScale{NumInstances: &n, Memory: "1G"}); client.StatusCode(err) != 400 {
		t.Fatalf("mixed scale: %v", err)
	}
	if p, _, err = ana.Procs.Undeploy(ctx, "hello", "worker"); err != nil || p.State != "undeployed" {
		t.Fatalf("undeploy proc: %+v %v", p, err)
	}
	if p, _, err = ana.Procs.Get(ctx, "hello", "worker"); err != nil || p.State != "undeployed" {
		t.Fatalf("get proc: %+v %v", p, err)
	}
	if p, resp, err = ana.Procs.Deploy(ctx, "hello", "worker"); err != nil || resp.StatusCode != 201 || p.State != "deployed" {
		t.Fatalf("deploy proc: %+v %v", p, err)
	}
	if _, _, err = ana.Procs.Deploy(ctx, "hello", "worker"); !client.IsConflict(err) {
		t.Fatalf("deploy a running proc: %v", err)
	}

	const mv = "1435893486-ead17ccee6d904f8e01f339e9e96c00812c70756"
	if a, _, err = ana.Deployments.Update(ctx, "hello", mv); err != nil || a.MetaVersion != mv || a.Release != 1 || a.Procs[0].NumInstances != 4 {
		t.Fatalf("update: %+v %v", a, err)
	}
	if _, _, err = ana.Deployments.Update(ctx, "hello", "v2"); client.StatusCode(err) != 400 {
		t.Fatalf("bad meta_version: %v", err)
	}
	if _, _, err = ana.Deployments.Undeploy(ctx, "redis"); !client.IsForbidden(err) {
		t.Fatalf("undeploy a resource: %v", err)
	}
	if a, _, err = ana.Deployments.Undeploy(ctx, "hello"); err != nil || a.State != "undeployed" || len(a.ResourceInstances) != 0 {
		t.Fatalf("undeploy: %+v %v", a, err)
	}
	if instances, _, err = ana.Deployments.ResourceInstances(ctx, "redis", nil); err != nil || len(instances) != 0 {
		t.Fatalf("instances after undeploy: %+v %v", instances, err)
	}
}

func TestLainResourceGrants(t *testing.T) {
	ctx := context.Background()
	srv := berthtest.Start(t)
	ana := newClient(t, srv, srv.NewTeamUser(t, "ana@example.com", "devs").Token)
	bo := newClient(t, srv, srv.NewTeamUser(t, "bo@example.com", "ops").Token)
	if _, _, err := ana.Repos.Register(ctx, client.RepoRegistration{AppName: "redis", Meta: &client.AppMeta{AppType: "resource", Procs: []client.ProcSpec{{Name: "server", NumInstances: 1}}}}); err != nil {
		t.Fatal(err)
	}
	uses := client.RepoRegistration{AppName: "ops-web", Meta: &client.AppMeta{UseResources: []string{"redis"}}}
	if _, _, err := bo.Repos.Register(ctx, uses); client.StatusCode(err) != 422 {
		t.Fatalf("another team's resource without a grant: %v", err)
	}
	g, _, err := ana.Deployments.GrantResource(ctx, "redis", "ops")
	if err != nil || g.Resource != "redis" || g.Team != "ops" {
		t.Fatalf("grant: %+v %v", g, err)
	}
	grants, _, err := ana.Deployments.ResourceGrants(ctx, "redis", nil)
	if err != nil || len(grants) != 1 || grants[0].Team != "ops" {
		t.Fatalf("grants: %+v %v", grants, err)
	}
	if _, _, err := bo.Repos.Register(ctx, uses); err != nil {
		t.Fatalf("granted resource: %v", err)
	}
	if _, _, err := bo.Deployments.Deploy(ctx, "ops-web"); err != nil {
		t.Fatal(err)
	}
	if _, err := ana.Deployments.RevokeResource(ctx, "redis", "ops"); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	if _, err := ana.Deployments.RemoveResourceUser(ctx, "redis", "ops-web"); err != nil {
		t.Fatalf("remove the user: %v", err)
	}
	if instances, _, err := ana.Deployments.ResourceInstances(ctx, "redis", nil); err != nil || len(instances) != 0 {
		t.Fatalf("instances after the user was removed: %+v %v", instances, err)
	}
	if _, err := ana.Deployments.RemoveResourceUser(ctx, "redis", "ops-web"); !client.IsNotFound(err) {
		t.Fatalf("remove again: %v", err)
	}
}
