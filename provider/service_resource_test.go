package provider

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
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

// staticService is the HCL of a static berth_service "s".
type staticService struct {
	id, team, doc string
	env           map[string]string
	teams         []string
}

func (s staticService) hcl() string {
	var b strings.Builder
	fmt.Fprintf(&b, "resource \"berth_service\" \"s\" {\n  id = %q\n", s.id)
	if s.team != "" {
		fmt.Fprintf(&b, "  team = %q\n", s.team)
	}
	if s.doc != "" {
		fmt.Fprintf(&b, "  doc = %q\n", s.doc)
	}
	if s.env != nil {
		b.WriteString("  env = {\n")
		for _, k := range slices.Sorted(maps.Keys(s.env)) {
			fmt.Fprintf(&b, "    %s = %q\n", k, s.env[k])
		}
		b.WriteString("  }\n")
	}
	if s.teams != nil {
		fmt.Fprintf(&b, "  teams = [%s]\n", quoteList(s.teams))
	}
	b.WriteString("}\n")
	return b.String()
}

func quoteList(values []string) string {
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}

// createTeams creates teams as the client's user, who becomes their member.
func createTeams(t *testing.T, c *client.Client, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, _, err := c.Teams.Create(context.Background(), n); err != nil {
			t.Fatal(err)
		}
	}
}

// serviceOnServer checks what berthd holds of a service.
func serviceOnServer(c *client.Client, id string, owners, granted []string, env map[string]string, doc string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		ctx := context.Background()
		svc, _, err := c.Services.Get(ctx, id)
		if err != nil {
			return err
		}
		if !sameStrings(svc.OwnerTeams, owners) || !sameStrings(svc.Teams, granted) {
			return fmt.Errorf("service %s: owners %v granted %v, want %v and %v", id, svc.OwnerTeams, svc.Teams, owners, granted)
		}
		if !maps.Equal(svc.Env, env) {
			return fmt.Errorf("service %s: env %v, want %v", id, svc.Env, env)
		}
		got, _, err := c.Services.Doc(ctx, id)
		if err != nil {
			return err
		}
		if got != doc {
			return fmt.Errorf("service %s: doc %q, want %q", id, got, doc)
		}
		return nil
	}
}

func sameStrings(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	sort.Strings(a)
	sort.Strings(b)
	return slices.Equal(a, b)
}

func stringSet(values ...string) knownvalue.Check {
	checks := make([]knownvalue.Check, len(values))
	for i, v := range values {
		checks[i] = knownvalue.StringExact(v)
	}
	return knownvalue.SetExact(checks)
}

func TestAccService(t *testing.T) {
	testPreCheck(t)
	srv, admin := accServer(t)
	ctx := context.Background()
	createTeams(t, admin, "devs", "ops", "qa")
	cfg := providerConfig(srv, srv.AdminToken)

	v1 := staticService{id: "cache", team: "devs", doc: "A shared Redis.", env: map[string]string{"CACHE_URL": "redis://cache:6379"}, teams: []string{"ops"}}
	// Ownership and grant swap places; the env and the doc change.
	v2 := staticService{id: "cache", team: "ops", doc: "A shared Redis, v2.", env: map[string]string{"CACHE_URL": "redis://cache2:6379", "CACHE_TTL": "60"}, teams: []string{"devs"}}
	// No doc, no grants.
	v3 := staticService{id: "cache", team: "ops", env: v2.env, teams: []string{}}
	renamed := v3
	renamed.id = "kv"

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			for _, id := range []string{"cache", "kv"} {
				if _, _, err := admin.Services.Get(ctx, id); !client.IsNotFound(err) {
					return fmt.Errorf("service %s still exists after destroy: %v", id, err)
				}
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: cfg + v1.hcl(),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("berth_service.s", tfjsonpath.New("id"), knownvalue.StringExact("cache")),
					statecheck.ExpectKnownValue("berth_service.s", tfjsonpath.New("owner_teams"), stringSet("devs")),
					statecheck.ExpectKnownValue("berth_service.s", tfjsonpath.New("teams"), stringSet("ops")),
					statecheck.ExpectKnownValue("berth_service.s", tfjsonpath.New("endpoints"), knownvalue.Null()),
					statecheck.ExpectKnownValue("berth_service.s", tfjsonpath.New("username"), knownvalue.Null()),
				},
				Check: serviceOnServer(admin, "cache", []string{"devs"}, []string{"ops"}, v1.env, v1.doc),
			},
			{
				ResourceName:      "berth_service.s",
				ImportState:       true,
				ImportStateVerify: true,
			},
			{
				Config: cfg + v2.hcl(),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("berth_service.s", plancheck.ResourceActionUpdate),
						plancheck.ExpectUnknownValue("berth_service.s", tfjsonpath.New("owner_teams")),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("berth_service.s", tfjsonpath.New("owner_teams"), stringSet("ops")),
				},
				Check: serviceOnServer(admin, "cache", []string{"ops"}, []string{"devs"}, v2.env, v2.doc),
			},
			{
				// Someone edits the manifest, the doc and the grants by hand.
				PreConfig: func() {
					m := client.ServiceManifest{ID: "cache", Env: map[string]string{"CACHE_URL": "redis://elsewhere:6379"}}
					if _, _, err := admin.Services.Update(ctx, m); err != nil {
						t.Fatal(err)
					}
					if _, err := admin.Services.SetDoc(ctx, "cache", "edited"); err != nil {
						t.Fatal(err)
					}
					if _, err := admin.Services.Grant(ctx, "cache", "qa"); err != nil {
						t.Fatal(err)
					}
				},
				Config:             cfg + v2.hcl(),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				Config: cfg + v2.hcl(),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("berth_service.s", plancheck.ResourceActionUpdate)},
				},
				Check: serviceOnServer(admin, "cache", []string{"ops"}, []string{"devs"}, v2.env, v2.doc),
			},
			{
				Config: cfg + v3.hcl(),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("berth_service.s", plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue("berth_service.s", tfjsonpath.New("owner_teams"), stringSet("ops")),
					},
				},
				Check: serviceOnServer(admin, "cache", []string{"ops"}, nil, v3.env, ""),
			},
			{
				Config: cfg + renamed.hcl(),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("berth_service.s", plancheck.ResourceActionReplace)},
				},
				Check: resource.ComposeTestCheckFunc(
					serviceOnServer(admin, "kv", []string{"ops"}, nil, v3.env, ""),
					func(*terraform.State) error {
						if _, _, err := admin.Services.Get(ctx, "cache"); !client.IsNotFound(err) {
							return fmt.Errorf("the replaced service is still there: %v", err)
						}
						return nil
					},
				),
			},
			{
				// Deleted out of band: refresh forgets it and apply recreates it.
				PreConfig: func() {
					if _, err := admin.Services.Delete(ctx, "kv"); err != nil {
						t.Fatal(err)
					}
				},
				Config: cfg + renamed.hcl(),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("berth_service.s", plancheck.ResourceActionCreate)},
				},
				Check: serviceOnServer(admin, "kv", []string{"ops"}, nil, v3.env, ""),
			},
		},
	})
}

// TestAccServiceUnmanagedOwnersAndGrants: invalid manifests fail at plan
// time; without team and teams, the service belongs to every team of the
// user, and owner changes and grants made elsewhere are neither drift nor
// undone.
func TestAccServiceUnmanagedOwnersAndGrants(t *testing.T) {
	testPreCheck(t)
	srv, admin := accServer(t)
	ctx := context.Background()
	createTeams(t, admin, "devs", "ops", "qa")
	cfg := providerConfig(srv, srv.AdminToken)
	svc := staticService{id: "cache", env: map[string]string{"CACHE_URL": "redis://cache:6379"}}

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{
			// Plan-time validation, before anything exists.
			{
				Config:      cfg + staticService{id: "cache", team: "devs", teams: []string{"devs"}, env: svc.env}.hcl(),
				ExpectError: regexpMust(`Owner team listed in teams`),
			},
			{
				Config: cfg + `
resource "berth_service" "s" {
  id        = "cache"
  endpoints = { test = "http://broker.test" }
}
`,
				ExpectError: regexpMust(`Missing production endpoint`),
			},
			{
				Config: cfg + `
resource "berth_service" "s" {
  id  = "cache"
  env = { "NOT-A-NAME" = "x" }
}
`,
				ExpectError: regexpMust(`valid environment variable name`),
			},
			{
				Config: cfg + `
resource "berth_service" "s" {
  id        = "cache"
  endpoints = { production = "http://broker.test" }
  env       = { A = "x" }
}
`,
				ExpectError: regexpMust(`Invalid Attribute Combination`),
			},
			{
				Config: cfg + svc.hcl(),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("berth_service.s", tfjsonpath.New("owner_teams"), stringSet("admin", "devs", "ops", "qa")),
					statecheck.ExpectKnownValue("berth_service.s", tfjsonpath.New("team"), knownvalue.Null()),
					statecheck.ExpectKnownValue("berth_service.s", tfjsonpath.New("teams"), knownvalue.SetExact(nil)),
				},
			},
			{
				PreConfig: func() {
					m := client.ServiceManifest{ID: "cache", Team: "devs", Env: svc.env}
					if _, _, err := admin.Services.Update(ctx, m); err != nil {
						t.Fatal(err)
					}
					if _, err := admin.Services.Grant(ctx, "cache", "qa"); err != nil {
						t.Fatal(err)
					}
				},
				Config: cfg + svc.hcl(),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: serviceOnServer(admin, "cache", []string{"devs"}, []string{"qa"}, svc.env, ""),
			},
			{
				// An update in place keeps them too.
				Config: cfg + staticService{id: "cache", env: map[string]string{"CACHE_URL": "redis://cache2:6379"}}.hcl(),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("berth_service.s", plancheck.ResourceActionUpdate)},
				},
				Check: serviceOnServer(admin, "cache", []string{"devs"}, []string{"qa"}, map[string]string{"CACHE_URL": "redis://cache2:6379"}, ""),
			},
		},
	})
}
