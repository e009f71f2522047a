package provider

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

const serviceDataConfig = `
data "berth_service" "s" {
  id = "cache"
}
`

func TestAccServiceDataSource(t *testing.T) {
	testPreCheck(t)
	srv, admin := accServer(t)
	ctx := context.Background()
	// olga is in ops, a team granted the service; the admin owns it as devs.
	olga := srv.NewTeamUser(t, "olga@example.com", "ops")
	createTeams(t, admin, "devs")
	env := map[string]string{"CACHE_URL": "redis://cache:6379"}
	createStaticService(t, admin, "cache", "devs", env, "ops")
	if _, err := admin.Services.SetDoc(ctx, "cache", "A shared Redis."); err != nil {
		t.Fatal(err)
	}
	createInstance(t, admin, "cache-devs", "cache", "devs")
	createInstance(t, admin, "cache-ops", "cache", "ops")
	const ds = "data.berth_service.s"

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: providerConfig(srv, srv.AdminToken) + serviceDataConfig,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("doc"), knownvalue.StringExact("A shared Redis.")),
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("managed"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("instances"),
						knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("cache-devs"), knownvalue.StringExact("cache-ops")})),
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("owner_teams"), stringSet("devs")),
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("teams"), stringSet("ops")),
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("env"),
						knownvalue.MapExact(map[string]knownvalue.Check{"CACHE_URL": knownvalue.StringExact("redis://cache:6379")})),
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("endpoints"), knownvalue.MapExact(map[string]knownvalue.Check{})),
				},
			},
			{
				// A member of a granted team sees the doc and its own
				// instances, not the manifest.
				Config: providerConfig(srv, olga.Token) + serviceDataConfig,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("doc"), knownvalue.StringExact("A shared Redis.")),
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("managed"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("instances"),
						knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("cache-ops")})),
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("owner_teams"), knownvalue.Null()),
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("env"), knownvalue.Null()),
				},
			},
			{
				Config: providerConfig(srv, srv.AdminToken) + `
data "berth_service" "s" {
  id = "nosuch"
}
`,
				ExpectError: regexpMust(`Cannot read service[\s\S]*404`),
			},
		},
	})
}
