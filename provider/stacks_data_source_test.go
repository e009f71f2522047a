package provider

import (
	"context"
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/berthdev/terraform-provider-berth/client"
)

func TestAccStacksDataSource(t *testing.T) {
	testPreCheck(t)
	srv, admin := accServer(t)
	ctx := context.Background()
	web, _, err := admin.Projects.Create(ctx, client.NewProject{Name: "web", InitialCommit: "base"})
	if err != nil {
		t.Fatal(err)
	}
	api, _, err := admin.Projects.Create(ctx, client.NewProject{Name: "api"})
	if err != nil {
		t.Fatal(err)
	}
	ci := stackKeyClient(t, srv, web.APIKey)
	for _, branch := range []string{"feature-a", "feature-b"} {
		if _, _, err := ci.Stacks.Request(ctx, client.StackRequest{Branch: branch}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := ci.Stacks.SetLastDeployedCommit(ctx, "test-2", "c2"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ci.Stacks.Release(ctx, "test-2", ""); err != nil {
		t.Fatal(err)
	}
	held, _, err := ci.Stacks.Get(ctx, "test-1")
	if err != nil {
		t.Fatal(err)
	}

	cfg := providerConfigWithStackKey(srv, srv.AdminToken, web.APIKey)
	timestamp := knownvalue.StringRegexp(regexpMust(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`))
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: cfg + fmt.Sprintf(`
data "berth_stacks" "web" {}

data "berth_stacks" "api" {
  api_key = %q
}
`, api.APIKey),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.berth_stacks.web", tfjsonpath.New("project"), knownvalue.StringExact("web")),
					statecheck.ExpectKnownValue("data.berth_stacks.web", tfjsonpath.New("stacks"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.ObjectExact(map[string]knownvalue.Check{
							"stack_name":           knownvalue.StringExact("test-1"),
							"branch":               knownvalue.StringExact("feature-a"),
							"last_deployed_commit": knownvalue.StringExact("base"),
							"is_available":         knownvalue.Bool(false),
							"created":              timestamp,
							"modified":             timestamp,
							"expires_at":           knownvalue.StringExact(held.ExpiresAt.UTC().Format("2006-01-02T15:04:05Z")),
						}),
						knownvalue.ObjectExact(map[string]knownvalue.Check{
							"stack_name":           knownvalue.StringExact("test-2"),
							"branch":               knownvalue.StringExact("feature-b"),
							"last_deployed_commit": knownvalue.StringExact("c2"),
							"is_available":         knownvalue.Bool(true),
							"created":              timestamp,
							"modified":             timestamp,
							"expires_at":           knownvalue.Null(),
						}),
					})),
					statecheck.ExpectKnownValue("data.berth_stacks.api", tfjsonpath.New("project"), knownvalue.StringExact("api")),
					statecheck.ExpectKnownValue("data.berth_stacks.api", tfjsonpath.New("stacks"), knownvalue.ListExact([]knownvalue.Check{})),
				},
			},
			{
				Config:      cfg + `data "berth_stacks" "x" { api_key = "berth_sp_not-a-key" }`,
				ExpectError: regexpMust(`Cannot read the stack project[\s\S]*invalid project key`),
			},
		},
	})
}
