package provider

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/berthdev/terraform-provider-berth/client"
)

// hclStrings is a list of strings in HCL.
func hclStrings(values ...string) string {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = fmt.Sprintf("%q", v)
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}

// couplingPipelines are the two pipelines of the coupling tests,
// berth_pipeline.p ("web") and berth_pipeline.p2 ("web-next"), so that a
// coupling can move between them.
const couplingPipelines = `
resource "berth_pipeline" "p" {
  name = "web"
  team = "devs"
}

resource "berth_pipeline" "p2" {
  name = "web-next"
  team = "devs"
}
`

// couplingConfig couples app to the pipeline pipelineRef (an HCL
// expression) at stage. Without checks the attribute is left out.
func couplingConfig(pipelineRef, app, stage string, checks ...string) string {
	checksLine := ""
	if checks != nil {
		checksLine = "required_status_checks = " + hclStrings(checks...)
	}
	return couplingPipelines + fmt.Sprintf(`
resource "berth_pipeline_coupling" "c" {
  app      = %[2]q
  pipeline = %[1]s
  stage    = %[3]q
  %[4]s
}
`, pipelineRef, app, stage, checksLine)
}

// serverCoupling checks the coupling of app on the server.
func serverCoupling(admin *client.Client, app, pipeline, stage string, checks ...string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		c, _, err := admin.Couplings.GetByApp(context.Background(), app)
		if err != nil {
			return err
		}
		got := slices.Sorted(slices.Values(c.RequiredStatusChecks.Contexts))
		slices.Sort(checks)
		if c.Pipeline.Name != pipeline || c.Stage != stage || !slices.Equal(got, checks) {
			return fmt.Errorf("coupling of %s on the server: pipeline %s, stage %s, checks %v; want %s, %s, %v",
				app, c.Pipeline.Name, c.Stage, got, pipeline, stage, checks)
		}
		return nil
	}
}

// couplingIDOf is the id of the coupling in the state.
func couplingIDOf(s *terraform.State) (string, error) {
	rs, ok := s.RootModule().Resources["berth_pipeline_coupling.c"]
	if !ok {
		return "", fmt.Errorf("berth_pipeline_coupling.c is not in the state")
	}
	return rs.Primary.ID, nil
}

func TestAccPipelineCoupling(t *testing.T) {
	testPreCheck(t)
	srv, admin := accServer(t)
	ctx := context.Background()
	apps := createApps(t, admin, "devs", "web-dev", "web-stg")
	cfg := providerConfig(srv, srv.AdminToken)
	const c = "berth_pipeline_coupling.c"
	couplingID := func(app string) string {
		cp, _, err := admin.Couplings.GetByApp(ctx, app)
		if err != nil {
			t.Fatal(err)
		}
		return cp.ID
	}
	var firstID string
	sameCoupling := func(s *terraform.State) error {
		id, err := couplingIDOf(s)
		if err == nil && id != firstID {
			err = fmt.Errorf("the coupling was replaced: %s, was %s", id, firstID)
		}
		return err
	}

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			if couplings, _, err := admin.Couplings.List(ctx, nil); err != nil || len(couplings) != 0 {
				return fmt.Errorf("couplings left after destroy: %+v %v", couplings, err)
			}
			for _, n := range []string{"web", "web-next"} {
				if _, _, err := admin.Pipelines.Get(ctx, n); !client.IsNotFound(err) {
					return fmt.Errorf("pipeline %s still exists after destroy: %v", n, err)
				}
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config:      cfg + couplingConfig("berth_pipeline.p.id", "web-dev", "review", "ci/tests"),
				ExpectError: regexpMust(`Status checks on a review coupling`),
			},
			{
				Config:      cfg + couplingConfig("berth_pipeline.p.id", "web-dev", "qa"),
				ExpectError: regexpMust(`stage[\s\S]*value must be one of`),
			},
			{
				Config:      cfg + couplingConfig("berth_pipeline.p.id", "web-dev", "development", "ci"),
				ExpectError: regexpMust(`must be 6 to 31 letters`),
			},
			{
				Config: cfg + couplingConfig("berth_pipeline.p.id", "web-dev", "development", "ci/tests"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(c, tfjsonpath.New("id"), knownvalue.StringRegexp(uuidRe)),
					statecheck.ExpectKnownValue(c, tfjsonpath.New("app"), knownvalue.StringExact("web-dev")),
					statecheck.ExpectKnownValue(c, tfjsonpath.New("stage"), knownvalue.StringExact("development")),
					statecheck.ExpectKnownValue(c, tfjsonpath.New("required_status_checks"),
						knownvalue.SetExact([]knownvalue.Check{knownvalue.StringExact("ci/tests")})),
				},
				Check: resource.ComposeTestCheckFunc(
					serverCoupling(admin, "web-dev", "web", "development", "ci/tests"),
					func(s *terraform.State) (err error) {
						firstID, err = couplingIDOf(s)
						return err
					},
				),
			},
			{
				// Imported by its app, named as the configuration names it.
				ResourceName:      c,
				ImportState:       true,
				ImportStateId:     "web-dev",
				ImportStateVerify: true,
			},
			{
				ResourceName:  c,
				ImportState:   true,
				ImportStateId: "web-api",
				ExpectError:   regexpMust(`"web-api" is neither the id of a coupling nor the name or id of an app in a`),
			},
			{
				// Imported by its own id, it records the app's id ...
				ResourceName:      c,
				ImportState:       true,
				ImportStateIdFunc: couplingIDOf,
				ImportStateCheck: func(states []*terraform.InstanceState) error {
					if got := states[0].Attributes["app"]; got != apps["web-dev"] {
						return fmt.Errorf("imported app %q, want the id %s", got, apps["web-dev"])
					}
					return nil
				},
			},
			{
				// (Terraform forgets the coupling, to import it again below.)
				Config: cfg + couplingPipelines + `
removed {
  from = berth_pipeline_coupling.c
  lifecycle {
    destroy = false
  }
}
`,
				Check: serverCoupling(admin, "web-dev", "web", "development", "ci/tests"),
			},
			{
				// ... as it does imported by the app's id: a configuration
				// naming the app then updates the state in place (the same
				// app, so the same coupling).
				Config: cfg + couplingConfig("berth_pipeline.p.id", "web-dev", "development", "ci/tests") + fmt.Sprintf(`
import {
  to = berth_pipeline_coupling.c
  id = %q
}
`, apps["web-dev"]),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(c, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(c, tfjsonpath.New("app"), knownvalue.StringExact("web-dev")),
				},
				Check: sameCoupling,
			},
			{
				// So does naming the pipeline and the app the other way.
				Config: cfg + couplingConfig("berth_pipeline.p.name", apps["web-dev"], "development", "ci/tests"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(c, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(c, tfjsonpath.New("app"), knownvalue.StringExact(apps["web-dev"])),
					statecheck.ExpectKnownValue(c, tfjsonpath.New("pipeline"), knownvalue.StringExact("web")),
				},
				Check: resource.ComposeTestCheckFunc(sameCoupling, serverCoupling(admin, "web-dev", "web", "development", "ci/tests")),
			},
			{
				// Checks change in place.
				Config: cfg + couplingConfig("berth_pipeline.p.id", "web-dev", "development", "ci/tests", "ci/lint-check"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(c, plancheck.ResourceActionUpdate)},
				},
				Check: resource.ComposeTestCheckFunc(sameCoupling, serverCoupling(admin, "web-dev", "web", "development", "ci/tests", "ci/lint-check")),
			},
			{
				// Someone drops a check by hand: that is drift.
				PreConfig: func() {
					if _, _, err := admin.Couplings.Update(ctx, couplingID("web-dev"), []string{"ci/tests"}); err != nil {
						t.Fatal(err)
					}
				},
				Config:             cfg + couplingConfig("berth_pipeline.p.id", "web-dev", "development", "ci/tests", "ci/lint-check"),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectResourceAction(c, plancheck.ResourceActionUpdate)},
				},
			},
			{
				Config: cfg + couplingConfig("berth_pipeline.p.id", "web-dev", "development", "ci/tests", "ci/lint-check"),
				Check:  serverCoupling(admin, "web-dev", "web", "development", "ci/tests", "ci/lint-check"),
			},
			{
				// Left out, the checks are none.
				Config: cfg + couplingConfig("berth_pipeline.p.id", "web-dev", "development"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(c, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(c, tfjsonpath.New("required_status_checks"), knownvalue.SetSizeExact(0)),
				},
				Check: serverCoupling(admin, "web-dev", "web", "development"),
			},
			{
				// A new stage replaces the coupling.
				Config: cfg + couplingConfig("berth_pipeline.p.id", "web-dev", "staging", "ci/tests"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(c, plancheck.ResourceActionReplace)},
				},
				Check: serverCoupling(admin, "web-dev", "web", "staging", "ci/tests"),
			},
			{
				// So does another app.
				Config: cfg + couplingConfig("berth_pipeline.p.id", "web-stg", "staging", "ci/tests"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(c, plancheck.ResourceActionReplace)},
				},
				Check: resource.ComposeTestCheckFunc(
					serverCoupling(admin, "web-stg", "web", "staging", "ci/tests"),
					func(*terraform.State) error {
						if _, _, err := admin.Couplings.GetByApp(ctx, "web-dev"); !client.IsNotFound(err) {
							return fmt.Errorf("web-dev is still coupled: %v", err)
						}
						return nil
					},
				),
			},
			{
				// And another pipeline.
				Config: cfg + couplingConfig("berth_pipeline.p2.id", "web-stg", "staging", "ci/tests"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(c, plancheck.ResourceActionReplace)},
				},
				Check: serverCoupling(admin, "web-stg", "web-next", "staging", "ci/tests"),
			},
			{
				// Deleted out of band: refresh forgets it and apply recreates it.
				PreConfig: func() {
					if _, _, err := admin.Couplings.Delete(ctx, couplingID("web-stg")); err != nil {
						t.Fatal(err)
					}
				},
				Config: cfg + couplingConfig("berth_pipeline.p2.id", "web-stg", "staging", "ci/tests"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(c, plancheck.ResourceActionCreate)},
				},
				Check: serverCoupling(admin, "web-stg", "web-next", "staging", "ci/tests"),
			},
			{
				// Its pipeline deleted by hand takes the coupling along: both
				// are gone at refresh, and both are made again.
				PreConfig: func() {
					if _, _, err := admin.Pipelines.Delete(ctx, "web-next"); err != nil {
						t.Fatal(err)
					}
				},
				Config: cfg + couplingConfig("berth_pipeline.p2.id", "web-stg", "staging", "ci/tests"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("berth_pipeline.p2", plancheck.ResourceActionCreate),
						plancheck.ExpectResourceAction(c, plancheck.ResourceActionCreate),
					},
				},
				Check: serverCoupling(admin, "web-stg", "web-next", "staging", "ci/tests"),
			},
		},
	})
}

// cronCoupling couples the app cron to pipeline web.
const cronCoupling = `
resource "berth_pipeline_coupling" "cron" {
  app      = "cron"
  pipeline = berth_pipeline.p.id
  stage    = "staging"
}
`

func TestAccPipelineCouplingAppsChangedByHand(t *testing.T) {
	testPreCheck(t)
	srv, admin := accServer(t)
	ctx := context.Background()
	createApps(t, admin, "devs", "worker")
	cfg := providerConfig(srv, srv.AdminToken) + couplingConfig("berth_pipeline.p.id", "worker", "development")

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: cfg,
				Check:  serverCoupling(admin, "worker", "web", "development"),
			},
			{
				// The app goes, and its coupling with it: refresh reads the
				// coupling as gone (no error), the pipelines stay.
				PreConfig: func() {
					if _, err := admin.Apps.Delete(ctx, "worker"); err != nil {
						t.Fatal(err)
					}
				},
				Config:             cfg,
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("berth_pipeline.p", plancheck.ResourceActionNoop),
						plancheck.ExpectResourceAction("berth_pipeline_coupling.c", plancheck.ResourceActionCreate),
					},
				},
			},
			{
				// Made again, the app is coupled again.
				PreConfig: func() { createApps(t, admin, "devs", "worker") },
				Config:    cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("berth_pipeline_coupling.c", plancheck.ResourceActionCreate)},
				},
				Check: serverCoupling(admin, "worker", "web", "development"),
			},
			{
				// An app someone coupled by hand cannot be coupled again: the
				// error says how to take that coupling over.
				PreConfig: func() {
					createApps(t, admin, "devs", "cron")
					if _, _, err := admin.Couplings.Create(ctx, client.NewCoupling{App: "cron", Pipeline: "web", Stage: client.StageStaging}); err != nil {
						t.Fatal(err)
					}
				},
				Config:      cfg + cronCoupling,
				ExpectError: regexpMust(`App already in a pipeline[\s\S]*409[\s\S]*terraform import[\s]+berth_pipeline_coupling.<name>[\s]+cron`),
			},
			{
				Config: cfg + cronCoupling + `
import {
  to = berth_pipeline_coupling.cron
  id = "cron"
}
`,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("berth_pipeline_coupling.cron", plancheck.ResourceActionNoop)},
				},
				Check: serverCoupling(admin, "cron", "web", "staging"),
			},
		},
	})
}
