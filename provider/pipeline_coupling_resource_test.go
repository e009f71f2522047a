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

// couplingConfig couples app to the pipeline pipelineRef (an HCL
// expression) at stage. Two pipelines exist, berth_pipeline.p ("web") and
// berth_pipeline.p2 ("web-next"), so the coupling can move between them.
// Without checks the attribute is left out.
func couplingConfig(pipelineRef, app, stage string, checks ...string) string {
	checksLine := ""
	if checks != nil {
		checksLine = "required_status_checks = " + hclStrings(checks...)
	}
	return fmt.Sprintf(`
resource "berth_pipeline" "p" {
  name = "web"
}

resource "berth_pipeline" "p2" {
  name = "web-next"
}

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

func TestAccPipelineCoupling(t *testing.T) {
	testPreCheck(t)
	srv, admin := accServer(t)
	ctx := context.Background()
	apps := registerApps(t, admin, "devs", "web-dev", "web-stg")
	cfg := providerConfig(srv, srv.AdminToken)
	const c = "berth_pipeline_coupling.c"
	couplingID := func(app string) string {
		cp, _, err := admin.Couplings.GetByApp(ctx, app)
		if err != nil {
			t.Fatal(err)
		}
		return cp.ID
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
				Config:      cfg + couplingConfig("berth_pipeline.p.id", apps["web-dev"], "review", "ci/tests"),
				ExpectError: regexpMust(`Status checks on a review coupling`),
			},
			{
				Config:      cfg + couplingConfig("berth_pipeline.p.id", apps["web-dev"], "qa"),
				ExpectError: regexpMust(`stage[\s\S]*value must be one of`),
			},
			{
				Config: cfg + couplingConfig("berth_pipeline.p.id", apps["web-dev"], "development", "ci/tests"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(c, tfjsonpath.New("id"), knownvalue.StringRegexp(berthUUIDRe)),
					statecheck.ExpectKnownValue(c, tfjsonpath.New("app"), knownvalue.StringExact(apps["web-dev"])),
					statecheck.ExpectKnownValue(c, tfjsonpath.New("required_status_checks"),
						knownvalue.SetExact([]knownvalue.Check{knownvalue.StringExact("ci/tests")})),
				},
				Check: serverCoupling(admin, "web-dev", "web", "development", "ci/tests"),
			},
			{
				// The configuration names the app and the pipeline by id, as
				// an import records them.
				ResourceName:      c,
				ImportState:       true,
				ImportStateVerify: true,
			},
			{
				// Checks change in place.
				Config: cfg + couplingConfig("berth_pipeline.p.id", apps["web-dev"], "development", "ci/tests", "ci/lint-check"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(c, plancheck.ResourceActionUpdate)},
				},
				Check: serverCoupling(admin, "web-dev", "web", "development", "ci/tests", "ci/lint-check"),
			},
			{
				// Someone drops a check by hand: that is drift.
				PreConfig: func() {
					if _, _, err := admin.Couplings.Update(ctx, couplingID("web-dev"), []string{"ci/tests"}); err != nil {
						t.Fatal(err)
					}
				},
				Config:             cfg + couplingConfig("berth_pipeline.p.id", apps["web-dev"], "development", "ci/tests", "ci/lint-check"),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectResourceAction(c, plancheck.ResourceActionUpdate)},
				},
			},
			{
				Config: cfg + couplingConfig("berth_pipeline.p.id", apps["web-dev"], "development", "ci/tests", "ci/lint-check"),
				Check:  serverCoupling(admin, "web-dev", "web", "development", "ci/tests", "ci/lint-check"),
			},
			{
				// Left out, the checks are none.
				Config: cfg + couplingConfig("berth_pipeline.p.id", apps["web-dev"], "development"),
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
				Config: cfg + couplingConfig("berth_pipeline.p.id", apps["web-dev"], "staging", "ci/tests"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(c, plancheck.ResourceActionReplace)},
				},
				Check: serverCoupling(admin, "web-dev", "web", "staging", "ci/tests"),
			},
			{
				// So does a new app, here named rather than by id.
				Config: cfg + couplingConfig("berth_pipeline.p.id", "web-stg", "staging", "ci/tests"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(c, plancheck.ResourceActionReplace)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(c, tfjsonpath.New("app"), knownvalue.StringExact("web-stg")),
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
				// And a new pipeline.
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

// registerResourceInstance registers a resource app and a client app using
// it, and deploys the client: berth then makes the app
// resource.<resource>.<client>, which undeploying the client deletes. It
// is the one way to delete an app by hand over the API on this branch.
func registerResourceInstance(t *testing.T, admin *client.Client, team, resourceName, clientName string) string {
	t.Helper()
	ctx := context.Background()
	if _, _, err := admin.Teams.Create(ctx, team); err != nil && !client.IsConflict(err) {
		t.Fatal(err)
	}
	regs := []client.RepoRegistration{
		{AppName: resourceName, Team: team, Meta: &client.AppMeta{AppType: "resource", Procs: []client.ProcSpec{{Name: "server", NumInstances: 1}}}},
		{AppName: clientName, Team: team, Meta: &client.AppMeta{UseResources: []string{resourceName}}},
	}
	for _, r := range regs {
		if _, _, err := admin.Repos.Register(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := admin.Deployments.Deploy(ctx, clientName); err != nil {
		t.Fatal(err)
	}
	return "resource." + resourceName + "." + clientName
}

func TestAccPipelineCouplingAppDeletedByHand(t *testing.T) {
	testPreCheck(t)
	srv, admin := accServer(t)
	ctx := context.Background()
	instance := registerResourceInstance(t, admin, "devs", "redis", "worker")
	cfg := providerConfig(srv, srv.AdminToken) + couplingConfig("berth_pipeline.p.id", instance, "development")

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: cfg,
				Check:  serverCoupling(admin, instance, "web", "development"),
			},
			{
				// The app goes, and its coupling with it: refresh reads the
				// coupling as gone (no error), the pipeline stays.
				PreConfig: func() {
					if _, _, err := admin.Deployments.Undeploy(ctx, "worker"); err != nil {
						t.Fatal(err)
					}
					if _, _, err := admin.Repos.Get(ctx, instance); !client.IsNotFound(err) {
						t.Fatalf("%s should be deleted: %v", instance, err)
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
				// Without the coupling in the configuration, nothing is left
				// to do.
				Config: providerConfig(srv, srv.AdminToken) + pipelineConfig("web") + `
resource "berth_pipeline" "p2" {
  name = "web-next"
}
`,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
		},
	})
}
