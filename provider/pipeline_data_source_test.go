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

func TestAccPipelineDataSource(t *testing.T) {
	testPreCheck(t)
	srv, admin := accServer(t)
	ctx := context.Background()
	apps := createApps(t, admin, "devs", "orders-dev", "orders-stg", "orders-prd")
	pipeline, _, err := admin.Pipelines.CreateInTeam(ctx, "orders", "devs")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := admin.Pipelines.CreateInTeam(ctx, "empty", "devs"); err != nil {
		t.Fatal(err)
	}
	// Coupled out of stage order: the data source lists them in it.
	for _, c := range []client.NewCoupling{
		{App: "orders-prd", Pipeline: "orders", Stage: client.StageProduction, RequiredStatusChecks: &client.StatusChecks{Contexts: []string{"ci/tests", "qa/signoff"}}},
		{App: "orders-dev", Pipeline: "orders", Stage: client.StageDevelopment},
		{App: "orders-stg", Pipeline: "orders", Stage: client.StageStaging, RequiredStatusChecks: &client.StatusChecks{Contexts: []string{"ci/tests"}}},
	} {
		if _, _, err := admin.Couplings.Create(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	couplingOf := func(app, stage string, checks ...string) knownvalue.Check {
		cp, _, err := admin.Couplings.GetByApp(ctx, app)
		if err != nil {
			t.Fatal(err)
		}
		want := make([]knownvalue.Check, len(checks))
		for i, c := range checks {
			want[i] = knownvalue.StringExact(c)
		}
		return knownvalue.ObjectExact(map[string]knownvalue.Check{
			"id":                     knownvalue.StringExact(cp.ID),
			"app_id":                 knownvalue.StringExact(apps[app]),
			"app_name":               knownvalue.StringExact(app),
			"stage":                  knownvalue.StringExact(stage),
			"required_status_checks": knownvalue.SetExact(want),
		})
	}
	couplings := knownvalue.ListExact([]knownvalue.Check{
		couplingOf("orders-dev", "development"),
		couplingOf("orders-stg", "staging", "ci/tests"),
		couplingOf("orders-prd", "production", "ci/tests", "qa/signoff"),
	})
	cfg := providerConfig(srv, srv.AdminToken)

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: cfg + `
data "berth_pipeline" "p" {
  name = "missing"
}
`,
				ExpectError: regexpMust(`Cannot read pipeline "missing"[\s\S]*404`),
			},
			{
				Config: cfg + fmt.Sprintf(`
data "berth_pipeline" "p" {
  id   = %q
  name = "orders"
}
`, pipeline.ID),
				ExpectError: regexpMust(`Invalid Attribute Combination`),
			},
			{
				// A name in id would come back as another value: refused.
				Config: cfg + `
data "berth_pipeline" "p" {
  id = "orders"
}
`,
				ExpectError: regexpMust(`must be a UUID`),
			},
			{
				Config: cfg + fmt.Sprintf(`
data "berth_pipeline" "by_name" {
  name = "orders"
}

data "berth_pipeline" "by_id" {
  id = %q
}

data "berth_pipeline" "empty" {
  name = "empty"
}
`, pipeline.ID),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.berth_pipeline.by_name", tfjsonpath.New("id"), knownvalue.StringExact(pipeline.ID)),
					statecheck.ExpectKnownValue("data.berth_pipeline.by_name", tfjsonpath.New("couplings"), couplings),
					statecheck.ExpectKnownValue("data.berth_pipeline.by_id", tfjsonpath.New("name"), knownvalue.StringExact("orders")),
					statecheck.ExpectKnownValue("data.berth_pipeline.by_id", tfjsonpath.New("team"), knownvalue.StringExact("devs")),
					statecheck.ExpectKnownValue("data.berth_pipeline.by_id", tfjsonpath.New("couplings"), couplings),
					statecheck.ExpectKnownValue("data.berth_pipeline.empty", tfjsonpath.New("couplings"), knownvalue.ListSizeExact(0)),
				},
			},
		},
	})
}
