package provider

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/berthdev/terraform-provider-berth/client"
)

func bindingConfig(instance, app string) string {
	return fmt.Sprintf(`
resource "berth_service_binding" "b" {
  instance = %[1]q
  app      = %[2]q
}
`, instance, app)
}

// createApp creates an app owned by team. berth_app is not used so that
// these tests exercise the binding alone.
func createApp(t *testing.T, c *client.Client, name, team string) {
	t.Helper()
	if _, _, err := c.Apps.Create(context.Background(), client.CreateAppRequest{Name: name, Platform: "go", TeamOwner: team}); err != nil {
		t.Fatal(err)
	}
}

func createInstance(t *testing.T, c *client.Client, name, service, team string) {
	t.Helper()
	if _, _, err := c.Instances.Create(context.Background(), client.CreateInstanceRequest{Name: name, Service: service, Owner: team}); err != nil {
		t.Fatal(err)
	}
}

// boundOnServer checks that app is bound to instance and has exactly the
// vars of want from it.
func boundOnServer(c *client.Client, instance, app string, want map[string]string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		ctx := context.Background()
		inst, _, err := c.Instances.Get(ctx, instance)
		if err != nil {
			return err
		}
		if !slices.Contains(inst.Apps, app) {
			return fmt.Errorf("instance %s is bound to %v, not %s", instance, inst.Apps, app)
		}
		env, _, err := c.Env.List(ctx, app, nil)
		if err != nil {
			return err
		}
		got := map[string]string{}
		for _, v := range env {
			if v.Instance == instance {
				got[v.Name] = v.Value
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			return fmt.Errorf("vars of %s from %s: %v, want %v", app, instance, got, want)
		}
		return nil
	}
}

func notBoundOnServer(c *client.Client, instance, app string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		inst, _, err := c.Instances.Get(context.Background(), instance)
		if client.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if slices.Contains(inst.Apps, app) {
			return fmt.Errorf("instance %s is still bound to %s", instance, app)
		}
		return nil
	}
}

func TestAccServiceBinding(t *testing.T) {
	testPreCheck(t)
	srv, admin := accServer(t)
	ctx := context.Background()
	createTeams(t, admin, "devs")
	cacheEnv := map[string]string{"CACHE_URL": "redis://cache:6379", "CACHE_TTL": "60"}
	createStaticService(t, admin, "cache", "devs", cacheEnv)
	createInstance(t, admin, "cache-1", "cache", "devs")
	createApp(t, admin, "web", "devs")
	createApp(t, admin, "worker", "devs")
	cfg := providerConfig(srv, srv.AdminToken)
	cacheVars := knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("CACHE_TTL"), knownvalue.StringExact("CACHE_URL")})

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy: resource.ComposeTestCheckFunc(
			notBoundOnServer(admin, "cache-1", "web"),
			notBoundOnServer(admin, "cache-1", "worker"),
		),
		Steps: []resource.TestStep{
			{
				Config: cfg + bindingConfig("cache-1", "web"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("berth_service_binding.b", tfjsonpath.New("id"), knownvalue.StringExact("cache-1/web")),
					statecheck.ExpectKnownValue("berth_service_binding.b", tfjsonpath.New("exported_vars"), cacheVars),
				},
				Check: boundOnServer(admin, "cache-1", "web", cacheEnv),
			},
			{
				ResourceName:      "berth_service_binding.b",
				ImportState:       true,
				ImportStateVerify: true,
			},
			{
				ResourceName:  "berth_service_binding.b",
				ImportState:   true,
				ImportStateId: "cache-1",
				ExpectError:   regexpMust(`expected <instance>/<app>`),
			},
			{
				Config: cfg + bindingConfig("cache-1", "worker"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("berth_service_binding.b", plancheck.ResourceActionReplace)},
				},
				Check: resource.ComposeTestCheckFunc(
					boundOnServer(admin, "cache-1", "worker", cacheEnv),
					notBoundOnServer(admin, "cache-1", "web"),
				),
			},
			{
				// Unbound by hand: drift, and the next apply binds again.
				PreConfig: func() {
					if _, err := admin.Instances.Unbind(ctx, "cache-1", "worker"); err != nil {
						t.Fatal(err)
					}
				},
				Config:             cfg + bindingConfig("cache-1", "worker"),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				Config: cfg + bindingConfig("cache-1", "worker"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("berth_service_binding.b", plancheck.ResourceActionCreate)},
				},
				Check: boundOnServer(admin, "cache-1", "worker", cacheEnv),
			},
			{
				// The app deleted by hand: refresh still works and drops the
				// binding.
				PreConfig: func() {
					if _, err := admin.Apps.Delete(ctx, "worker"); err != nil {
						t.Fatal(err)
					}
				},
				Config:             cfg + bindingConfig("cache-1", "worker"),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				PreConfig: func() { createApp(t, admin, "worker", "devs") },
				Config:    cfg + bindingConfig("cache-1", "worker"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("berth_service_binding.b", plancheck.ResourceActionCreate)},
				},
				Check: boundOnServer(admin, "cache-1", "worker", cacheEnv),
			},
			{
				// The instance deleted by hand (it must be unbound first).
				PreConfig: func() {
					if _, err := admin.Instances.Unbind(ctx, "cache-1", "worker"); err != nil {
						t.Fatal(err)
					}
					if _, err := admin.Instances.Delete(ctx, "cache-1"); err != nil {
						t.Fatal(err)
					}
				},
				Config:             cfg + bindingConfig("cache-1", "worker"),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				PreConfig: func() { createInstance(t, admin, "cache-1", "cache", "devs") },
				Config:    cfg + bindingConfig("cache-1", "worker"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("berth_service_binding.b", plancheck.ResourceActionCreate)},
				},
				Check: boundOnServer(admin, "cache-1", "worker", cacheEnv),
			},
		},
	})
}

// TestAccServiceBindingSharedVar: when two bound instances export the same
// var, the one bound last provides it; the other binding stops listing it
// and lists it again once the last one is unbound.
func TestAccServiceBindingSharedVar(t *testing.T) {
	testPreCheck(t)
	srv, admin := accServer(t)
	ctx := context.Background()
	createTeams(t, admin, "devs")
	createStaticService(t, admin, "cache", "devs", map[string]string{"CACHE_URL": "redis://a", "CACHE_TTL": "60"})
	createStaticService(t, admin, "cache2", "devs", map[string]string{"CACHE_URL": "redis://b"})
	createInstance(t, admin, "cache-1", "cache", "devs")
	createInstance(t, admin, "cache-2", "cache2", "devs")
	createApp(t, admin, "web", "devs")
	cfg := providerConfig(srv, srv.AdminToken)

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: cfg + bindingConfig("cache-1", "web"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("berth_service_binding.b", tfjsonpath.New("exported_vars"),
						knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("CACHE_TTL"), knownvalue.StringExact("CACHE_URL")})),
				},
			},
			{
				PreConfig: func() {
					if _, _, err := admin.Instances.Bind(ctx, "cache-2", "web"); err != nil {
						t.Fatal(err)
					}
				},
				RefreshState: true,
				Check: resource.ComposeTestCheckFunc(
					resource.TestCheckResourceAttr("berth_service_binding.b", "exported_vars.#", "1"),
					resource.TestCheckResourceAttr("berth_service_binding.b", "exported_vars.0", "CACHE_TTL"),
				),
			},
			{
				PreConfig: func() {
					if _, err := admin.Instances.Unbind(ctx, "cache-2", "web"); err != nil {
						t.Fatal(err)
					}
				},
				RefreshState: true,
				Check: resource.ComposeTestCheckFunc(
					resource.TestCheckResourceAttr("berth_service_binding.b", "exported_vars.#", "2"),
					resource.TestCheckResourceAttr("berth_service_binding.b", "exported_vars.1", "CACHE_URL"),
				),
			},
		},
	})
}
