package provider

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

func TestAccPipelineStagesDataSource(t *testing.T) {
	testPreCheck(t)
	srv, _ := accServer(t)
	stage := func(name string, next knownvalue.Check) knownvalue.Check {
		return knownvalue.ObjectExact(map[string]knownvalue.Check{"name": knownvalue.StringExact(name), "next": next})
	}

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: providerConfig(srv, srv.AdminToken) + `
data "berth_pipeline_stages" "all" {}
`,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.berth_pipeline_stages.all", tfjsonpath.New("stages"), knownvalue.ListExact([]knownvalue.Check{
						stage("review", knownvalue.StringExact("development")),
						stage("development", knownvalue.StringExact("staging")),
						stage("staging", knownvalue.StringExact("production")),
						stage("production", knownvalue.Null()),
					})),
				},
			},
		},
	})
}

func TestStageOrder(t *testing.T) {
	order, err := stageOrder(map[string]string{"b": "c", "a": "b", "c": ""})
	if err != nil || len(order) != 3 || order[0] != "a" || order[1] != "b" || order[2] != "c" {
		t.Fatalf("stageOrder of a chain: %v, %v", order, err)
	}
	for name, graph := range map[string]map[string]string{
		"two starts": {"a": "c", "b": "c", "c": ""},
		"a loop":     {"a": "b", "b": "c", "c": "b"},
		"no start":   {"a": "b", "b": "a"},
		"dangling":   {"a": "x"},
	} {
		if order, err := stageOrder(graph); err == nil {
			t.Errorf("stageOrder of %s %v: %v, want an error", name, graph, order)
		}
	}
}
