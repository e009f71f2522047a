package provider

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/berthdev/terraform-provider-berth/client"
	"github.com/berthdev/terraform-provider-berth/controlplane/core"
	"github.com/berthdev/terraform-provider-berth/internal/berthtest"
)

// release releases app at image and posts a successful status for each
// of passing.
func release(t *testing.T, admin *client.Client, app, image string, passing ...string) *client.Release {
	t.Helper()
	ctx := context.Background()
	r, _, err := admin.Releases.Create(ctx, app, client.NewRelease{Image: image})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range passing {
		if _, _, err := admin.Releases.CreateStatus(ctx, app, r.ID, client.NewReleaseStatus{Context: c, State: client.ReleaseStatusSuccess}); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// newestRelease checks the newest release of app runs image and was made
// by the promotion of the resource named promotion.
func newestRelease(admin *client.Client, app, image, promotion string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		rs, ok := s.RootModule().Resources[promotion]
		if !ok {
			return fmt.Errorf("%s is not in the state", promotion)
		}
		releases, _, err := admin.Releases.List(context.Background(), app, &client.ListOptions{Limit: 1})
		if err != nil {
			return err
		}
		if len(releases) == 0 {
			return fmt.Errorf("%s has no release", app)
		}
		r := releases[0]
		if r.Image != image || r.PipelinePromotion == nil || r.PipelinePromotion.ID != rs.Primary.ID {
			return fmt.Errorf("newest release of %s: image %q by promotion %+v; want %q by %s", app, r.Image, r.PipelinePromotion, image, rs.Primary.ID)
		}
		return nil
	}
}

// promotionCount checks how many promotions the server has.
func promotionCount(admin *client.Client, want int) resource.TestCheckFunc {
	return func(*terraform.State) error {
		all, _, err := admin.Promotions.List(context.Background(), "", nil)
		if err != nil {
			return err
		}
		if len(all) != want {
			return fmt.Errorf("%d promotions on the server, want %d", len(all), want)
		}
		return nil
	}
}

func shopPromotionConfig(devApp, stgApp string, promotionLines ...string) string {
	return fmt.Sprintf(`
resource "berth_pipeline" "p" {
  name = "shop"
  team = "devs"
}

resource "berth_pipeline_coupling" "dev" {
  app      = %[1]q
  pipeline = berth_pipeline.p.id
  stage    = "development"
}

resource "berth_pipeline_coupling" "stg" {
  app                    = %[2]q
  pipeline               = berth_pipeline.p.id
  stage                  = "staging"
  required_status_checks = ["ci/tests"]
}

resource "berth_pipeline_promotion" "to_staging" {
  pipeline   = berth_pipeline.p.id
  source_app = berth_pipeline_coupling.dev.app
  targets    = [berth_pipeline_coupling.stg.app]
  %[3]s
}
`, devApp, stgApp, strings.Join(promotionLines, "\n  "))
}

// promotionIDOf is the id of the promotion resource in the state.
func promotionIDOf(s *terraform.State, promotion string) (string, error) {
	rs, ok := s.RootModule().Resources[promotion]
	if !ok {
		return "", fmt.Errorf("%s is not in the state", promotion)
	}
	return rs.Primary.ID, nil
}

// Promotions cannot be changed or deleted over the API, so no change made
// by hand can drift them; what a hand can do is delete their pipeline or
// apps, which TestAccPipelinePromotionRefusedFailedOrLate covers.
func TestAccPipelinePromotion(t *testing.T) {
	testPreCheck(t)
	srv, admin := accServer(t)
	ctx := context.Background()
	apps := createApps(t, admin, "devs", "shop-dev", "shop-stg")
	r1 := release(t, admin, "shop-dev", "registry/shop:1", "ci/tests")
	r2 := release(t, admin, "shop-dev", "registry/shop:2", "ci/tests")
	cfg := providerConfig(srv, srv.AdminToken)
	const p = "berth_pipeline_promotion.to_staging"
	timeouts := `timeouts {
    create = "5m"
  }`
	var promotionID string
	samePromotion := func(s *terraform.State) error {
		id, err := promotionIDOf(s, p)
		if err == nil && id != promotionID {
			err = fmt.Errorf("promoted again: promotion %s, was %s", id, promotionID)
		}
		return err
	}

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy: resource.ComposeTestCheckFunc(
			// Destroying a promotion forgets it: it and its releases stay.
			promotionCount(admin, 3),
			func(*terraform.State) error {
				releases, _, err := admin.Releases.List(ctx, "shop-stg", nil)
				if err != nil || len(releases) != 3 {
					return fmt.Errorf("shop-stg should keep the 3 promoted releases: %d, %v", len(releases), err)
				}
				if _, _, err := admin.Pipelines.Get(ctx, "shop"); !client.IsNotFound(err) {
					return fmt.Errorf("pipeline shop still exists after destroy: %v", err)
				}
				return nil
			},
		),
		Steps: []resource.TestStep{
			{
				// Without release_id, the newest release is promoted. The
				// apps are named by id, as an import records them.
				Config: cfg + shopPromotionConfig(apps["shop-dev"], apps["shop-stg"]),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(p, tfjsonpath.New("id"), knownvalue.StringRegexp(uuidRe)),
					statecheck.ExpectKnownValue(p, tfjsonpath.New("status"), knownvalue.StringExact("successful")),
					statecheck.ExpectKnownValue(p, tfjsonpath.New("release_id"), knownvalue.StringExact(r2.ID)),
					statecheck.ExpectKnownValue(p, tfjsonpath.New("release_version"), knownvalue.Int64Exact(2)),
					statecheck.ExpectKnownValue(p, tfjsonpath.New("safe"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue(p, tfjsonpath.New("results"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.ObjectExact(map[string]knownvalue.Check{
							"app_id":        knownvalue.StringExact(apps["shop-stg"]),
							"app_name":      knownvalue.StringExact("shop-stg"),
							"status":        knownvalue.StringExact("successful"),
							"error_message": knownvalue.Null(),
							"release_id":    knownvalue.StringRegexp(uuidRe),
						}),
					})),
				},
				Check: resource.ComposeTestCheckFunc(
					newestRelease(admin, "shop-stg", "registry/shop:2", p),
					promotionCount(admin, 1),
					func(s *terraform.State) (err error) {
						promotionID, err = promotionIDOf(s, p)
						return err
					},
				),
			},
			{
				ResourceName:      p,
				ImportState:       true,
				ImportStateVerify: true,
			},
			{
				// The same apps by name: the state changes, nothing is
				// promoted again.
				Config: cfg + shopPromotionConfig("shop-dev", "shop-stg"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(p, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(p, tfjsonpath.New("source_app"), knownvalue.StringExact("shop-dev")),
					statecheck.ExpectKnownValue(p, tfjsonpath.New("targets"), knownvalue.SetExact([]knownvalue.Check{knownvalue.StringExact("shop-stg")})),
				},
				Check: resource.ComposeTestCheckFunc(samePromotion, promotionCount(admin, 1)),
			},
			{
				// A new release of the source changes nothing: release_id is
				// the one promoted.
				PreConfig: func() { release(t, admin, "shop-dev", "registry/shop:3", "ci/tests") },
				Config:    cfg + shopPromotionConfig("shop-dev", "shop-stg"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
			{
				// Timeouts change in place.
				Config: cfg + shopPromotionConfig("shop-dev", "shop-stg", timeouts),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(p, plancheck.ResourceActionUpdate)},
				},
				Check: resource.ComposeTestCheckFunc(samePromotion, promotionCount(admin, 1)),
			},
			{
				// Another release promotes again.
				Config: cfg + shopPromotionConfig("shop-dev", "shop-stg", timeouts, fmt.Sprintf("release_id = %q", r1.ID)),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(p, plancheck.ResourceActionReplace)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(p, tfjsonpath.New("release_version"), knownvalue.Int64Exact(1)),
				},
				Check: resource.ComposeTestCheckFunc(
					newestRelease(admin, "shop-stg", "registry/shop:1", p),
					promotionCount(admin, 2),
					func(s *terraform.State) (err error) {
						promotionID, err = promotionIDOf(s, p)
						return err
					},
				),
			},
			{
				// The same release by its version number does not.
				Config: cfg + shopPromotionConfig("shop-dev", "shop-stg", timeouts, `release_id = "1"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(p, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(p, tfjsonpath.New("release_id"), knownvalue.StringExact("1")),
				},
				Check: resource.ComposeTestCheckFunc(samePromotion, promotionCount(admin, 2)),
			},
			{
				// Any other change promotes again: here, a safe promotion
				// (the apps have the same, empty, config).
				Config: cfg + shopPromotionConfig("shop-dev", "shop-stg", timeouts, `release_id = "1"`, "safe = true"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(p, plancheck.ResourceActionReplace)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(p, tfjsonpath.New("safe"), knownvalue.Bool(true)),
				},
				Check: resource.ComposeTestCheckFunc(
					newestRelease(admin, "shop-stg", "registry/shop:1", p),
					promotionCount(admin, 3),
				),
			},
		},
	})
}

// accServerWithPromotionHook starts a berthd whose promotion runner calls
// the function in hook, when set, after carrying out each target.
func accServerWithPromotionHook(t *testing.T, hook *atomic.Pointer[func(ctx context.Context, appID string)]) (*berthtest.Server, *client.Client) {
	t.Helper()
	srv := berthtest.Start(t, berthtest.WithCoreOptions(core.WithPromotionStepHook(func(ctx context.Context, _, appID string) {
		if f := hook.Load(); f != nil {
			(*f)(ctx, appID)
		}
	})))
	c, err := client.New(srv.URL, client.WithToken(srv.AdminToken))
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

// apiPromotionConfig is pipeline "api" with api-dev in development,
// api-stg (requiring ci/tests) and api-stg2 in staging, api-prd in
// production and, when worker is set, the app worker in staging too; and
// a promotion from api-dev to targets.
func apiPromotionConfig(worker string, targets []string, promotionLines ...string) string {
	workerCoupling := ""
	if worker != "" {
		workerCoupling = fmt.Sprintf(`
resource "berth_pipeline_coupling" "worker" {
  app      = %q
  pipeline = berth_pipeline.p.id
  stage    = "staging"
}
`, worker)
	}
	return fmt.Sprintf(`
resource "berth_pipeline" "p" {
  name = "api"
  team = "devs"
}

resource "berth_pipeline_coupling" "dev" {
  app      = "api-dev"
  pipeline = berth_pipeline.p.id
  stage    = "development"
}

resource "berth_pipeline_coupling" "stg" {
  app                    = "api-stg"
  pipeline               = berth_pipeline.p.id
  stage                  = "staging"
  required_status_checks = ["ci/tests"]
}

resource "berth_pipeline_coupling" "stg2" {
  app      = "api-stg2"
  pipeline = berth_pipeline.p.id
  stage    = "staging"
}

resource "berth_pipeline_coupling" "prd" {
  app      = "api-prd"
  pipeline = berth_pipeline.p.id
  stage    = "production"
}
%[1]s
resource "berth_pipeline_promotion" "p" {
  pipeline   = berth_pipeline.p.name
  source_app = berth_pipeline_coupling.dev.app
  targets    = %[2]s
  depends_on = [%[3]s]
  %[4]s
}
`, workerCoupling, hclStrings(targets...), couplingRefs(worker != ""), strings.Join(promotionLines, "\n  "))
}

func couplingRefs(withWorker bool) string {
	refs := "berth_pipeline_coupling.stg, berth_pipeline_coupling.stg2, berth_pipeline_coupling.prd"
	if withWorker {
		refs += ", berth_pipeline_coupling.worker"
	}
	return refs
}

func TestAccPipelinePromotionRefusedFailedOrLate(t *testing.T) {
	testPreCheck(t)
	var hook atomic.Pointer[func(ctx context.Context, appID string)]
	srv, admin := accServerWithPromotionHook(t, &hook)
	ctx := context.Background()
	apps := createApps(t, admin, "devs", "api-dev", "api-stg", "api-stg2", "api-prd", "api-worker")
	r1 := release(t, admin, "api-dev", "registry/api:1")
	cfg := providerConfig(srv, srv.AdminToken)
	const p = "berth_pipeline_promotion.p"
	unblock := make(chan struct{})
	var unblockOnce sync.Once
	t.Cleanup(func() { unblockOnce.Do(func() { close(unblock) }) })

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				// A required status check is missing: 409, with the reason.
				Config:      cfg + apiPromotionConfig("api-worker", []string{"api-stg"}),
				ExpectError: regexpMust(`Promotion refused[\s\S]*409[\s\S]*"ci/tests" is missing on release v1 of api-dev`),
			},
			{
				// The target is not in the next stage: 422, with the reason.
				Config:      cfg + apiPromotionConfig("api-worker", []string{"api-prd"}),
				ExpectError: regexpMust(`Promotion refused[\s\S]*422[\s\S]*"api-prd" is in stage production, not staging`),
			},
			{
				// A target fails while the promotion runs (its app deleted
				// right after the first target, api-stg, got its release:
				// targets are sent sorted): the promotion ends failed, and
				// the error says which target failed and why.
				PreConfig: func() {
					if _, _, err := admin.Releases.CreateStatus(ctx, "api-dev", r1.ID, client.NewReleaseStatus{Context: "ci/tests", State: client.ReleaseStatusSuccess}); err != nil {
						t.Fatal(err)
					}
					deleteWorker := func(_ context.Context, appID string) {
						if appID != apps["api-stg"] {
							return
						}
						if _, err := admin.Apps.Delete(ctx, "api-worker"); err != nil {
							t.Error(err)
						}
					}
					hook.Store(&deleteWorker)
				},
				Config:      cfg + apiPromotionConfig("api-worker", []string{"api-stg", "api-worker"}),
				ExpectError: regexpMust(`Promotion failed[\s\S]*ended failed[\s\S]*api-worker: app api-worker no longer exists`),
			},
			{
				// Still pending when the create timeout ends: an error, and
				// the promotion is kept in the state, tainted.
				PreConfig: func() {
					releases, _, err := admin.Releases.List(ctx, "api-stg", nil)
					if err != nil || len(releases) != 1 || releases[0].Image != "registry/api:1" {
						t.Fatalf("the failed promotion should still have released api-stg: %+v %v", releases, err)
					}
					block := func(ctx context.Context, _ string) {
						select {
						case <-unblock:
						case <-ctx.Done():
						}
					}
					hook.Store(&block)
				},
				Config:      cfg + apiPromotionConfig("", []string{"api-stg", "api-stg2"}, `timeouts {`, `  create = "1s"`, `}`),
				ExpectError: regexpMust(`Promotion still pending[\s\S]*within 1s`),
			},
			{
				// Once it ends, refresh reads it as it is; being tainted, it
				// is replaced: promoted again.
				PreConfig: func() {
					unblockOnce.Do(func() { close(unblock) })
					hook.Store(nil)
					all, _, err := admin.Promotions.List(ctx, "api", &client.ListOptions{Limit: 1})
					if err != nil || len(all) != 1 {
						t.Fatalf("newest promotion: %+v %v", all, err)
					}
					if late, _, err := admin.Promotions.Wait(ctx, all[0].ID); err != nil || late.Status != client.PromotionSuccessful {
						t.Fatalf("the late promotion: %+v %v", late, err)
					}
				},
				Config: cfg + apiPromotionConfig("", []string{"api-stg", "api-stg2"}),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(p, plancheck.ResourceActionReplace)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(p, tfjsonpath.New("status"), knownvalue.StringExact("successful")),
					statecheck.ExpectKnownValue(p, tfjsonpath.New("targets"),
						knownvalue.SetExact([]knownvalue.Check{knownvalue.StringExact("api-stg"), knownvalue.StringExact("api-stg2")})),
				},
				Check: resource.ComposeTestCheckFunc(
					newestRelease(admin, "api-stg", "registry/api:1", p),
					newestRelease(admin, "api-stg2", "registry/api:1", p),
				),
			},
			{
				// The pipeline and the source app deleted by hand take the
				// couplings along; the promotion outlives them and
				// refreshes as it was.
				PreConfig: func() {
					if _, _, err := admin.Pipelines.Delete(ctx, "api"); err != nil {
						t.Fatal(err)
					}
					if _, err := admin.Apps.Delete(ctx, "api-dev"); err != nil {
						t.Fatal(err)
					}
				},
				Config:             cfg + apiPromotionConfig("", []string{"api-stg", "api-stg2"}),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("berth_pipeline.p", plancheck.ResourceActionCreate),
						plancheck.ExpectResourceAction("berth_pipeline_coupling.dev", plancheck.ResourceActionCreate),
						plancheck.ExpectResourceAction(p, plancheck.ResourceActionNoop),
					},
				},
			},
		},
	})
}
