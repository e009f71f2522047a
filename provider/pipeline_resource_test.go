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

// createApps creates team and apps it owns through the tsuru routes, as
// admin, and returns the apps' ids by name.
func createApps(t *testing.T, admin *client.Client, team string, names ...string) map[string]string {
	t.Helper()
	ctx := context.Background()
	if _, _, err := admin.Teams.Create(ctx, team); err != nil && !client.IsConflict(err) {
		t.Fatal(err)
	}
	ids := make(map[string]string, len(names))
	for _, n := range names {
		if _, _, err := admin.Apps.Create(ctx, client.CreateAppRequest{Name: n, Platform: "go", TeamOwner: team}); err != nil {
			t.Fatal(err)
		}
		app, _, err := admin.Apps.Get(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		ids[n] = app.ID
	}
	return ids
}

func pipelineConfig(name string) string {
	return fmt.Sprintf(`
resource "berth_pipeline" "p" {
  name = %[1]q
}
`, name)
}

// pipelineExists checks the server has the pipeline of the resource's
// state, under name.
func pipelineExists(admin *client.Client, name string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		rs, ok := s.RootModule().Resources["berth_pipeline.p"]
		if !ok {
			return fmt.Errorf("berth_pipeline.p is not in the state")
		}
		p, _, err := admin.Pipelines.Get(context.Background(), rs.Primary.ID)
		if err != nil {
			return err
		}
		if p.Name != name {
			return fmt.Errorf("pipeline %s is named %q on the server, want %q", p.ID, p.Name, name)
		}
		return nil
	}
}

func TestAccPipeline(t *testing.T) {
	testPreCheck(t)
	srv, admin := accServer(t)
	ctx := context.Background()
	cfg := providerConfig(srv, srv.AdminToken)
	var firstID string

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			for _, n := range []string{"shop", "store"} {
				if _, _, err := admin.Pipelines.Get(ctx, n); !client.IsNotFound(err) {
					return fmt.Errorf("pipeline %s still exists after destroy: %v", n, err)
				}
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config:      cfg + pipelineConfig("Shop!"),
				ExpectError: regexpMust(`must be a lowercase letter`),
			},
			{
				Config: cfg + pipelineConfig("shop"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("berth_pipeline.p", tfjsonpath.New("name"), knownvalue.StringExact("shop")),
					statecheck.ExpectKnownValue("berth_pipeline.p", tfjsonpath.New("id"), knownvalue.StringRegexp(uuidRe)),
					// The admin's only team, when none is named.
					statecheck.ExpectKnownValue("berth_pipeline.p", tfjsonpath.New("team"), knownvalue.StringExact("admin")),
				},
				Check: resource.ComposeTestCheckFunc(
					pipelineExists(admin, "shop"),
					func(s *terraform.State) error {
						firstID = s.RootModule().Resources["berth_pipeline.p"].Primary.ID
						return nil
					},
				),
			},
			{
				// Imported by name: the state records the UUID.
				ResourceName:      "berth_pipeline.p",
				ImportState:       true,
				ImportStateId:     "shop",
				ImportStateVerify: true,
			},
			{
				ResourceName:      "berth_pipeline.p",
				ImportState:       true,
				ImportStateVerify: true,
			},
			{
				// Pipelines cannot be renamed: a new name replaces it.
				Config: cfg + pipelineConfig("store"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("berth_pipeline.p", plancheck.ResourceActionReplace)},
				},
				Check: resource.ComposeTestCheckFunc(
					pipelineExists(admin, "store"),
					func(*terraform.State) error {
						if _, _, err := admin.Pipelines.Get(ctx, firstID); !client.IsNotFound(err) {
							return fmt.Errorf("the replaced pipeline %s is still there: %v", firstID, err)
						}
						return nil
					},
				),
			},
			{
				// Deleted out of band: refresh forgets it and apply recreates it.
				PreConfig: func() {
					if _, _, err := admin.Pipelines.Delete(ctx, "store"); err != nil {
						t.Fatal(err)
					}
				},
				Config: cfg + pipelineConfig("store"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("berth_pipeline.p", plancheck.ResourceActionCreate)},
				},
				Check: pipelineExists(admin, "store"),
			},
			{
				// A pipeline has nothing to change in place: the one change
				// made by hand is to delete it and make another of the same
				// name, which is not the pipeline in the state.
				PreConfig: func() {
					if _, _, err := admin.Pipelines.Delete(ctx, "store"); err != nil {
						t.Fatal(err)
					}
					if _, _, err := admin.Pipelines.Create(ctx, "store"); err != nil {
						t.Fatal(err)
					}
				},
				Config:             cfg + pipelineConfig("store"),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectResourceAction("berth_pipeline.p", plancheck.ResourceActionCreate)},
				},
			},
			{
				// Creating it again fails on the name, and says how to adopt
				// the pipeline of that name.
				Config:      cfg + pipelineConfig("store"),
				ExpectError: regexpMust(`Pipeline name taken[\s\S]*already exists[\s\S]*terraform[\s]+import[\s]+berth_pipeline.<name>[\s]+store`),
			},
			{
				ResourceName:       "berth_pipeline.p",
				ImportState:        true,
				ImportStateId:      "store",
				ImportStatePersist: true,
			},
			{
				Config: cfg + pipelineConfig("store"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: pipelineExists(admin, "store"),
			},
		},
	})
}
