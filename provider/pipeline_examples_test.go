package provider

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/config"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// exampleFiles reads and joins example files, relative to examples/.
func exampleFiles(t *testing.T, names ...string) string {
	t.Helper()
	var hcl string
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join("..", "examples", n))
		if err != nil {
			t.Fatal(err)
		}
		hcl += "\n" + string(b)
	}
	return hcl
}

// The examples of the pipeline types, which the docs show, work together
// as written.
func TestAccPipelineExamples(t *testing.T) {
	testPreCheck(t)
	srv, admin := accServer(t)
	createApps(t, admin, "shop", "shop-dev", "shop-stg")
	r := release(t, admin, "shop-dev", "registry/shop:1", "ci/tests")
	resources := providerConfig(srv, srv.AdminToken) + exampleFiles(t,
		"resources/berth_pipeline/resource.tf",
		"resources/berth_pipeline_coupling/resource.tf",
		"resources/berth_pipeline_promotion/resource.tf",
	)
	vars := config.Variables{"shop_release": config.StringVariable(r.ID)}

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:          resources,
				ConfigVariables: vars,
				Check:           newestRelease(admin, "shop-stg", "registry/shop:1", "berth_pipeline_promotion.shop_to_staging"),
			},
			{
				Config: resources + exampleFiles(t,
					"data-sources/berth_pipeline/data-source.tf",
					"data-sources/berth_pipeline_stages/data-source.tf",
				),
				ConfigVariables: vars,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownOutputValue("shop_staging_apps", knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("shop-stg")})),
					statecheck.ExpectKnownOutputValue("after_staging", knownvalue.StringExact("production")),
					statecheck.ExpectKnownValue("berth_pipeline_promotion.shop_to_staging", tfjsonpath.New("status"), knownvalue.StringExact("successful")),
				},
			},
		},
	})
}
