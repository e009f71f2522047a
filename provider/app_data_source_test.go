package provider

import (
	"context"
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/berthdev/terraform-provider-berth/client"
)

func TestAccAppDataSource(t *testing.T) {
	testPreCheck(t)
	srv, admin := accServer(t)
	ctx := context.Background()
	token, dev := appTestMember(t, srv, admin, "dev@example.com", "devs")
	// Registered through lain, with procs and vars set through tsuru.
	repo, _, err := dev.Repos.Register(ctx, client.RepoRegistration{
		AppName: "api", Team: "devs", Platform: "node",
		Meta: &client.AppMeta{AppType: "service", Procs: []client.ProcSpec{{Name: "web", NumInstances: 2, CPU: 2, Memory: "128M"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := dev.Env.Set(ctx, "api", client.EnvVar{Name: "PORT", Value: "3000", Public: true}, client.EnvVar{Name: "SECRET", Value: "s"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := dev.Deployments.Deploy(ctx, "api"); err != nil {
		t.Fatal(err)
	}
	cfg := providerConfig(srv, token)
	checks := func(addr string) []statecheck.StateCheck {
		return []statecheck.StateCheck{
			statecheck.ExpectKnownValue(addr, tfjsonpath.New("id"), knownvalue.StringExact(repo.ID)),
			statecheck.ExpectKnownValue(addr, tfjsonpath.New("name"), knownvalue.StringExact("api")),
			statecheck.ExpectKnownValue(addr, tfjsonpath.New("team"), knownvalue.StringExact("devs")),
			statecheck.ExpectKnownValue(addr, tfjsonpath.New("platform"), knownvalue.StringExact("node")),
			statecheck.ExpectKnownValue(addr, tfjsonpath.New("app_type"), knownvalue.StringExact("service")),
			statecheck.ExpectKnownValue(addr, tfjsonpath.New("repository_url"), knownvalue.StringExact("git@git.berth.local:api.git")),
			statecheck.ExpectKnownValue(addr, tfjsonpath.New("ip"), knownvalue.StringExact("api.berth.local")),
			// Public vars only.
			statecheck.ExpectKnownValue(addr, tfjsonpath.New("config_vars"), knownvalue.MapExact(map[string]knownvalue.Check{"PORT": knownvalue.StringExact("3000")})),
			statecheck.ExpectKnownValue(addr, tfjsonpath.New("procs"), knownvalue.ListExact([]knownvalue.Check{
				knownvalue.ObjectExact(map[string]knownvalue.Check{
					"name": knownvalue.StringExact("web"), "num_instances": knownvalue.Int64Exact(2),
					"cpu": knownvalue.Int64Exact(2), "memory": knownvalue.StringExact("128M"),
				}),
			})),
			statecheck.ExpectKnownValue(addr, tfjsonpath.New("units"), knownvalue.ListExact([]knownvalue.Check{
				knownvalue.ObjectExact(map[string]knownvalue.Check{"name": knownvalue.StringExact("api/0"), "state": knownvalue.StringExact("started")}),
				knownvalue.ObjectExact(map[string]knownvalue.Check{"name": knownvalue.StringExact("api/1"), "state": knownvalue.StringExact("started")}),
			})),
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:      cfg + `data "berth_app" "x" { name = "nope" }`,
				ExpectError: regexpMust(`Cannot read app nope[\s\S]*not found`),
			},
			{
				Config:      cfg + `data "berth_app" "x" {}`,
				ExpectError: regexpMust(`Exactly one of these attributes must be configured`),
			},
			{
				Config:      cfg + fmt.Sprintf(`data "berth_app" "x" {`+"\n"+`name = "api"`+"\n"+`id = %q`+"\n}", repo.ID),
				ExpectError: regexpMust(`Exactly one of these attributes must be configured`),
			},
			{
				Config:            cfg + `data "berth_app" "by_name" { name = "api" }`,
				ConfigStateChecks: checks("data.berth_app.by_name"),
			},
			{
				Config:            cfg + fmt.Sprintf(`data "berth_app" "by_id" { id = %q }`, repo.ID),
				ConfigStateChecks: checks("data.berth_app.by_id"),
			},
		},
	})
}

func TestAccPlatformsDataSource(t *testing.T) {
	testPreCheck(t)
	srv, _ := accServer(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: providerConfig(srv, srv.AdminToken) + `data "berth_platforms" "all" {}`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.berth_platforms.all", tfjsonpath.New("names"), knownvalue.ListExact([]knownvalue.Check{
					knownvalue.StringExact("go"), knownvalue.StringExact("java"), knownvalue.StringExact("node"),
					knownvalue.StringExact("python"), knownvalue.StringExact("ruby"), knownvalue.StringExact("static"),
				})),
			},
		}},
	})
}

// TestAccAppValidation checks what is refused at plan time, before any
// request reaches berthd.
func TestAccAppValidation(t *testing.T) {
	testPreCheck(t)
	srv, _ := accServer(t)
	cfg := providerConfig(srv, srv.AdminToken)
	step := func(app appHCL, want string) resource.TestStep {
		return resource.TestStep{Config: cfg + app.String(), PlanOnly: true, ExpectError: regexpMust(want)}
	}
	ok := appHCL{name: "web", team: "devs", platform: "go"}
	badName, badTeam, badType := ok, ok, ok
	badName.name = "Web_1"
	badTeam.team = "1team"
	badType.appType = "resource-instance"
	twice := ok
	twice.public = map[string]string{"A": "1"}
	twice.sensitive = map[string]string{"A": "2"}
	badVar, reserved := ok, ok
	badVar.public = map[string]string{"NOT-VALID": "x"}
	reserved.sensitive = map[string]string{"TSURU_SERVICES": "{}"}
	dupProc, badProc, badMemory, tooMany := ok, ok, ok, ok
	dupProc.procs = `[{ name = "web" }, { name = "web" }]`
	badProc.procs = `[{ name = "Web" }]`
	badMemory.procs = `[{ name = "web", memory = "lots" }]`
	tooMany.procs = `[{ name = "web", num_instances = 101 }]`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{
			step(badName, `(?s)name.*must start with a lowercase letter`),
			step(badTeam, `(?s)team.*must start with a letter`),
			step(badType, `(?s)app_type.*value must be one of`),
			step(twice, `(?s)Config var declared twice.*"A" is in both`),
			step(badVar, `(?s)config var names must start`),
			step(reserved, `(?s)sensitive_config_vars.*must be none of.*TSURU_SERVICES`),
			step(dupProc, `(?s)Duplicate proc.*"web" is declared twice`),
			step(badProc, `(?s)procs\[0\].name.*must start with a lowercase letter`),
			step(badMemory, `(?s)must be a size such as 64M`),
			step(tooMany, `(?s)num_instances.*between 0 and 100`),
		},
	})
}
