package provider

import (
	"context"
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/berthdev/terraform-provider-berth/client"
)

func instanceConfig(name, service, team string) string {
	teamLine := ""
	if team != "" {
		teamLine = fmt.Sprintf("  team    = %q\n", team)
	}
	return fmt.Sprintf(`
resource "berth_service_instance" "i" {
  name    = %[1]q
  service = %[2]q
%[3]s}
`, name, service, teamLine)
}

// createStaticService registers a static service owned by team, exporting
// env, and grants it to the granted teams.
func createStaticService(t *testing.T, c *client.Client, id, team string, env map[string]string, granted ...string) {
	t.Helper()
	ctx := context.Background()
	if _, _, err := c.Services.Create(ctx, client.ServiceManifest{ID: id, Team: team, Env: env}); err != nil {
		t.Fatal(err)
	}
	for _, g := range granted {
		if _, err := c.Services.Grant(ctx, id, g); err != nil {
			t.Fatal(err)
		}
	}
}

// instanceOnServer checks that berthd has the instance, of service, owned
// by teams.
func instanceOnServer(c *client.Client, name, service string, teams ...string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		inst, _, err := c.Instances.Get(context.Background(), name)
		if err != nil {
			return err
		}
		if inst.Service != service || !sameStrings(inst.Teams, teams) {
			return fmt.Errorf("instance %s: service %s teams %v, want %s and %v", name, inst.Service, inst.Teams, service, teams)
		}
		return nil
	}
}

func instanceGone(c *client.Client, names ...string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		for _, n := range names {
			if _, _, err := c.Instances.Get(context.Background(), n); !client.IsNotFound(err) {
				return fmt.Errorf("instance %s still exists: %v", n, err)
			}
		}
		return nil
	}
}

func TestAccServiceInstance(t *testing.T) {
	testPreCheck(t)
	srv, admin := accServer(t)
	ctx := context.Background()
	createTeams(t, admin, "devs", "ops")
	createStaticService(t, admin, "cache", "devs", map[string]string{"CACHE_URL": "redis://cache"}, "ops")
	createStaticService(t, admin, "queue", "devs", map[string]string{"QUEUE_URL": "amqp://queue"})
	cfg := providerConfig(srv, srv.AdminToken)

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             instanceGone(admin, "cache-1", "queue-1"),
		Steps: []resource.TestStep{
			{
				Config: cfg + instanceConfig("cache-1", "cache", "devs"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("berth_service_instance.i", tfjsonpath.New("id"), knownvalue.StringExact("cache-1")),
					statecheck.ExpectKnownValue("berth_service_instance.i", tfjsonpath.New("teams"), stringSet("devs")),
				},
				Check: instanceOnServer(admin, "cache-1", "cache", "devs"),
			},
			{
				ResourceName:      "berth_service_instance.i",
				ImportState:       true,
				ImportStateVerify: true,
			},
			{
				// berthd cannot change an instance: leaving team out keeps
				// the instance as it is rather than replacing it.
				Config: cfg + instanceConfig("cache-1", "cache", ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
			{
				Config: cfg + instanceConfig("cache-1", "queue", "devs"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("berth_service_instance.i", plancheck.ResourceActionReplace)},
				},
				Check: instanceOnServer(admin, "cache-1", "queue", "devs"),
			},
			{
				Config: cfg + instanceConfig("queue-1", "queue", "devs"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("berth_service_instance.i", plancheck.ResourceActionReplace)},
				},
				Check: resource.ComposeTestCheckFunc(instanceOnServer(admin, "queue-1", "queue", "devs"), instanceGone(admin, "cache-1")),
			},
			{
				// Another owner team: replaced.
				PreConfig: func() {
					if _, err := admin.Services.Grant(ctx, "queue", "ops"); err != nil {
						t.Fatal(err)
					}
				},
				Config: cfg + instanceConfig("queue-1", "queue", "ops"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("berth_service_instance.i", plancheck.ResourceActionReplace)},
				},
				Check: instanceOnServer(admin, "queue-1", "queue", "ops"),
			},
			{
				// Removed and made again by hand under another owner: drift.
				PreConfig: func() {
					if _, err := admin.Instances.Delete(ctx, "queue-1"); err != nil {
						t.Fatal(err)
					}
					if _, _, err := admin.Instances.Create(ctx, client.CreateInstanceRequest{Name: "queue-1", Service: "queue", Owner: "devs"}); err != nil {
						t.Fatal(err)
					}
				},
				Config:             cfg + instanceConfig("queue-1", "queue", "ops"),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				Config: cfg + instanceConfig("queue-1", "queue", "ops"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("berth_service_instance.i", plancheck.ResourceActionReplace)},
				},
				Check: instanceOnServer(admin, "queue-1", "queue", "ops"),
			},
			{
				// Deleted out of band: refresh forgets it and apply recreates it.
				PreConfig: func() {
					if _, err := admin.Instances.Delete(ctx, "queue-1"); err != nil {
						t.Fatal(err)
					}
				},
				Config: cfg + instanceConfig("queue-1", "queue", "ops"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("berth_service_instance.i", plancheck.ResourceActionCreate)},
				},
				Check: instanceOnServer(admin, "queue-1", "queue", "ops"),
			},
		},
	})
}
