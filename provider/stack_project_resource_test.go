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
	"github.com/berthdev/terraform-provider-berth/internal/berthtest"
)

// stackProjectConfig is a berth_stack_project "p"; empty prefix and commit
// are left out.
func stackProjectConfig(name, team, prefix, commit string) string {
	attrs := ""
	if prefix != "" {
		attrs += fmt.Sprintf("  prefix         = %q\n", prefix)
	}
	if commit != "" {
		attrs += fmt.Sprintf("  initial_commit = %q\n", commit)
	}
	return fmt.Sprintf(`
resource "berth_stack_project" "p" {
  name = %[1]q
  team = %[2]q
%[3]s}
`, name, team, attrs)
}

// stackStateAttr reads an attribute of a resource from the state.
func stackStateAttr(s *terraform.State, res, attr string) (string, error) {
	rs, ok := s.RootModule().Resources[res]
	if !ok {
		return "", fmt.Errorf("%s is not in the state", res)
	}
	v, ok := rs.Primary.Attributes[attr]
	if !ok {
		return "", fmt.Errorf("%s has no %s in the state", res, attr)
	}
	return v, nil
}

// stackKeyClient is a client that authenticates stack routes with key.
func stackKeyClient(t *testing.T, srv *berthtest.Server, key string) *client.Client {
	t.Helper()
	c, err := client.New(srv.URL, client.WithProjectKey(key))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestAccStackProject(t *testing.T) {
	testPreCheck(t)
	srv, admin := accServer(t)
	ctx := context.Background()
	if _, _, err := admin.Teams.Create(ctx, "qa"); err != nil {
		t.Fatal(err)
	}
	cfg := providerConfig(srv, srv.AdminToken)
	const res = "berth_stack_project.p"

	// keyOf checks that the api_key in the state is the project's key, and
	// records it in *key.
	keyOf := func(key *string) resource.TestCheckFunc {
		return func(s *terraform.State) error {
			k, err := stackStateAttr(s, res, "api_key")
			if err != nil {
				return err
			}
			p, _, err := stackKeyClient(t, srv, k).Stacks.Project(ctx)
			if err != nil {
				return fmt.Errorf("the api_key in the state does not authenticate: %w", err)
			}
			if p.Name != "web" {
				return fmt.Errorf("the api_key in the state is the key of %q", p.Name)
			}
			*key = k
			return nil
		}
	}
	serverProject := func(team, prefix, commit string) resource.TestCheckFunc {
		return func(*terraform.State) error {
			p, _, err := admin.Projects.Get(ctx, "web")
			if err != nil {
				return err
			}
			if p.Team != team || p.Prefix != prefix || p.InitialCommit != commit {
				return fmt.Errorf("server project: %+v, want team %q prefix %q initial commit %q", p, team, prefix, commit)
			}
			return nil
		}
	}
	var firstKey, key string

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			if _, _, err := admin.Projects.Get(ctx, "web"); !client.IsNotFound(err) {
				return fmt.Errorf("project web still exists after destroy: %v", err)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: cfg + stackProjectConfig("web", "admin", "", ""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(res, tfjsonpath.New("id"), knownvalue.StringExact("web")),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("prefix"), knownvalue.StringExact("test-")),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("initial_commit"), knownvalue.StringExact("")),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("api_key"), knownvalue.StringRegexp(regexpMust(`^berth_sp_`))),
				},
				Check: resource.ComposeTestCheckFunc(serverProject("admin", "test-", ""), keyOf(&firstKey)),
			},
			{
				// berth shows a key only once: an imported project has none.
				ResourceName:            res,
				ImportState:             true,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"api_key"},
			},
			{
				// In place: prefix and initial commit; the key stays.
				Config: cfg + stackProjectConfig("web", "admin", "ci-", "abc"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(res, plancheck.ResourceActionUpdate)},
				},
				Check: resource.ComposeTestCheckFunc(serverProject("admin", "ci-", "abc"), keyOf(&key), func(*terraform.State) error {
					if key != firstKey {
						return fmt.Errorf("an in-place update changed the key")
					}
					return nil
				}),
			},
			{
				// Someone changes the prefix by hand: that is drift.
				PreConfig: func() {
					prefix := "e2e-"
					if _, _, err := admin.Projects.Update(ctx, "web", client.ProjectSettings{Prefix: &prefix}); err != nil {
						t.Fatal(err)
					}
				},
				Config:             cfg + stackProjectConfig("web", "admin", "ci-", "abc"),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				Config: cfg + stackProjectConfig("web", "admin", "ci-", "abc"),
				Check:  serverProject("admin", "ci-", "abc"),
			},
			{
				// Back to the defaults when the attributes go.
				Config: cfg + stackProjectConfig("web", "admin", "", ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(res, plancheck.ResourceActionUpdate)},
				},
				Check: serverProject("admin", "test-", ""),
			},
			{
				// A project cannot change team: a new one replaces it, with a
				// new key.
				Config: cfg + stackProjectConfig("web", "qa", "", ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(res, plancheck.ResourceActionReplace)},
				},
				Check: resource.ComposeTestCheckFunc(serverProject("qa", "test-", ""), keyOf(&key), func(*terraform.State) error {
					if key == firstKey {
						return fmt.Errorf("the replaced project kept its key")
					}
					return nil
				}),
			},
			{
				// Deleted out of band: refresh forgets it and apply recreates it.
				PreConfig: func() {
					if _, err := admin.Projects.Delete(ctx, "web"); err != nil {
						t.Fatal(err)
					}
				},
				Config: cfg + stackProjectConfig("web", "qa", "", ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(res, plancheck.ResourceActionCreate)},
				},
				Check: resource.ComposeTestCheckFunc(serverProject("qa", "test-", ""), keyOf(&key)),
			},
		},
	})
}

func TestAccStackProjectValidation(t *testing.T) {
	testPreCheck(t)
	srv, _ := accServer(t)
	cfg := providerConfig(srv, srv.AdminToken)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: cfg + stackProjectConfig("Web", "admin", "", ""), ExpectError: regexpMust(`must start with a lowercase letter`)},
			{Config: cfg + stackProjectConfig("web", "admin", "much-too-long-prefix", ""), ExpectError: regexpMust(`Invalid Attribute Value Match`)},
			{Config: cfg + stackProjectConfig("web", "no-such-team", "", ""), ExpectError: regexpMust(`Cannot create stack project[\s\S]*not found`)},
		},
	})
}
