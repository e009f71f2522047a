package provider

import (
	"context"
	"fmt"
	"slices"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/berthdev/terraform-provider-berth/client"
)

var (
	_ datasource.DataSource              = &pipelineStagesDataSource{}
	_ datasource.DataSourceWithConfigure = &pipelineStagesDataSource{}
)

// NewPipelineStagesDataSource returns the berth_pipeline_stages data source.
func NewPipelineStagesDataSource() datasource.DataSource { return &pipelineStagesDataSource{} }

type pipelineStagesDataSource struct {
	client *client.Client
}

type pipelineStagesModel struct {
	Stages types.List `tfsdk:"stages"`
}

type pipelineStageModel struct {
	Name types.String `tfsdk:"name"`
	Next types.String `tfsdk:"next"`
}

var pipelineStageType = types.ObjectType{AttrTypes: map[string]attr.Type{
	"name": types.StringType,
	"next": types.StringType,
}}

func (d *pipelineStagesDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_pipeline_stages"
}

func (d *pipelineStagesDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "The stage graph of pipelines: each stage and the stage its releases are promoted to.",
		Attributes: map[string]schema.Attribute{
			"stages": schema.ListNestedAttribute{
				Description: "The stages in promotion order, first to last.",
				Computed:    true,
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"name": schema.StringAttribute{Description: "The stage.", Computed: true},
					"next": schema.StringAttribute{Description: "The stage a release is promoted to from this one; null for the last stage.", Computed: true},
				}},
			},
		},
	}
}

func (d *pipelineStagesDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	data := providerDataFrom(req.ProviderData, &resp.Diagnostics)
	if data == nil {
		return
	}
	d.client = data.client
}

func (d *pipelineStagesDataSource) Read(ctx context.Context, _ datasource.ReadRequest, resp *datasource.ReadResponse) {
	graph, _, err := d.client.Pipelines.Stages(ctx)
	if err != nil {
		resp.Diagnostics.AddError("Cannot read the pipeline stages", err.Error())
		return
	}
	order, err := stageOrder(graph)
	if err != nil {
		resp.Diagnostics.AddError("Unexpected pipeline stages from berthd", err.Error())
		return
	}
	stages := make([]pipelineStageModel, len(order))
	for i, s := range order {
		stages[i] = pipelineStageModel{Name: types.StringValue(s), Next: types.StringNull()}
		if next := graph[s]; next != "" {
			stages[i].Next = types.StringValue(next)
		}
	}
	list, diags := types.ListValueFrom(ctx, pipelineStageType, stages)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &pipelineStagesModel{Stages: list})...)
}

// stageOrder lines up a stage graph (stage → next stage, "" after the last)
// from the one stage no other leads to. The graph must be a single chain.
func stageOrder(graph map[string]string) ([]string, error) {
	var firsts []string
	for s := range graph {
		led := false
		for _, next := range graph {
			led = led || next == s
		}
		if !led {
			firsts = append(firsts, s)
		}
	}
	if len(firsts) != 1 {
		slices.Sort(firsts)
		return nil, fmt.Errorf("the stage graph %v is not one chain: it starts at %v", graph, firsts)
	}
	order := make([]string, 0, len(graph))
	for s := firsts[0]; s != ""; s = graph[s] {
		if _, ok := graph[s]; !ok {
			return nil, fmt.Errorf("the stage graph %v leads to %s, which it does not list", graph, s)
		}
		if slices.Contains(order, s) {
			return nil, fmt.Errorf("the stage graph %v loops at %s", graph, s)
		}
		order = append(order, s)
	}
	if len(order) != len(graph) {
		return nil, fmt.Errorf("the stage graph %v is not one chain", graph)
	}
	return order, nil
}
