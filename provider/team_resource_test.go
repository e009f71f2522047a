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

func teamConfig(name string, members ...string) string {
	list := ""
	for _, m := range members {
		list += fmt.Sprintf("%q, ", m)
	}
	return fmt.Sprintf(`
resource "berth_team" "t" {
  name    = %[1]q
  members = [%[2]s]
}
`, name, list)
}

func TestAccTeam(t *testing.T) {
	testPreCheck(t)
	srv, admin := accServer(t)
	ctx := context.Background()
	for _, u := range []string{"ana@example.com", "bo@example.com", "cleo@example.com"} {
		if _, err := admin.Users.Create(ctx, u, "secret1"); err != nil {
			t.Fatal(err)
		}
	}
	cfg := providerConfig(srv, srv.AdminToken)
	const me = "admin@berth.local"
	serverMembers := func(name string, want ...string) resource.TestCheckFunc {
		return func(*terraform.State) error {
			team, _, err := admin.Teams.Get(ctx, name)
			if err != nil {
				return err
			}
			got := slices.Sorted(slices.Values(team.Users))
			slices.Sort(want)
			if !slices.Equal(got, want) {
				return fmt.Errorf("server members of %s: %v, want %v", name, got, want)
			}
			return nil
		}
	}

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			for _, n := range []string{"devs", "developers"} {
				if _, _, err := admin.Teams.Get(ctx, n); !client.IsNotFound(err) {
					return fmt.Errorf("team %s still exists after destroy: %v", n, err)
				}
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: cfg + teamConfig("devs", me, "ana@example.com"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("berth_team.t", tfjsonpath.New("id"), knownvalue.StringExact("devs")),
					statecheck.ExpectKnownValue("berth_team.t", tfjsonpath.New("members"),
						knownvalue.SetExact([]knownvalue.Check{knownvalue.StringExact(me), knownvalue.StringExact("ana@example.com")})),
				},
				Check: serverMembers("devs", me, "ana@example.com"),
			},
			{
				ResourceName:      "berth_team.t",
				ImportState:       true,
				ImportStateVerify: true,
			},
			{
				// In place: membership changes.
				Config: cfg + teamConfig("devs", me, "bo@example.com"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("berth_team.t", plancheck.ResourceActionUpdate)},
				},
				Check: serverMembers("devs", me, "bo@example.com"),
			},
			{
				// Someone adds a member by hand: that is drift.
				PreConfig: func() {
					if _, _, err := admin.Teams.AddMember(ctx, "devs", "cleo@example.com"); err != nil {
						t.Fatal(err)
					}
				},
				Config:             cfg + teamConfig("devs", me, "bo@example.com"),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				Config: cfg + teamConfig("devs", me, "bo@example.com"),
				Check:  serverMembers("devs", me, "bo@example.com"),
			},
			{
				// A new name replaces the team.
				Config: cfg + teamConfig("developers", me),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("berth_team.t", plancheck.ResourceActionReplace)},
				},
				Check: serverMembers("developers", me),
			},
			{
				// Deleted out of band: refresh forgets it and apply recreates it.
				PreConfig: func() {
					if _, err := admin.Teams.Delete(ctx, "developers"); err != nil {
						t.Fatal(err)
					}
				},
				Config: cfg + teamConfig("developers", me),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("berth_team.t", plancheck.ResourceActionCreate)},
				},
				Check: serverMembers("developers", me),
			},
		},
	})
}

func TestAccProviderConfigurationErrors(t *testing.T) {
	testPreCheck(t)
	srv, _ := accServer(t)
	team := `
resource "berth_team" "t" {
  name = "x"
}
`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:      `provider "berth" {}` + team,
				ExpectError: regexpMust(`Missing berth endpoint[\s\S]*BERTH_ENDPOINT`),
			},
			{
				Config:      providerConfig(srv, "not-a-valid-token") + team,
				ExpectError: regexpMust(`Invalid berth token`),
			},
			{
				Config:      `provider "berth" {` + "\n" + `endpoint = "http://127.0.0.1:1"` + "\n" + `token = "x"` + "\n" + `max_retries = 0` + "\n}" + team,
				ExpectError: regexpMust(`Cannot reach berthd`),
			},
		},
	})
}
