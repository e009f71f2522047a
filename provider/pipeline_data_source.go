package provider

import (
	"context"
	"fmt"
	"regexp"

	"github.com/hashicorp/terraform-plugin-framework-validators/datasourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/berthdev/terraform-provider-berth/client"
)

var (
	_ datasource.DataSource                     = &pipelineDataSource{}
	_ datasource.DataSourceWithConfigure        = &pipelineDataSource{}
	_ datasource.DataSourceWithConfigValidators = &pipelineDataSource{}
)

// uuidRe matches the ids berthd gives entities.
var uuidRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// NewPipelineDataSource returns the berth_pipeline data source.
func NewPipelineDataSource() datasource.DataSource { return &pipelineDataSource{} }

type pipelineDataSource struct {
	client *client.Client
}

type pipelineDataSourceModel struct {
	ID        types.String `tfsdk:"id"`
	Name      types.String `tfsdk:"name"`
	Team      types.String `tfsdk:"team"`
	Couplings types.List   `tfsdk:"couplings"`
}

type pipelineCouplingSummary struct {
	ID                   types.String `tfsdk:"id"`
	AppID                types.String `tfsdk:"app_id"`
	AppName              types.String `tfsdk:"app_name"`
	Stage                types.String `tfsdk:"stage"`
	RequiredStatusChecks types.Set    `tfsdk:"required_status_checks"`
}

var pipelineCouplingSummaryType = types.ObjectType{AttrTypes: map[string]attr.Type{
	"id":                     types.StringType,
	"app_id":                 types.StringType,
	"app_name":               types.StringType,
	"stage":                  types.StringType,
	"required_status_checks": types.SetType{ElemType: types.StringType},
}}

func (d *pipelineDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_pipeline"
}

func (d *pipelineDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "A pipeline, found by name or by id, with the apps coupled to it.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Description: "The pipeline's UUID. Set exactly one of `id` and `name`.",
				Optional:    true,
				Computed:    true,
				Validators:  []validator.String{stringvalidator.RegexMatches(uuidRe, "must be a UUID")},
			},
			"name": schema.StringAttribute{
				Description: "The pipeline's name. Set exactly one of `id` and `name`.",
				Optional:    true,
				Computed:    true,
				Validators:  []validator.String{stringvalidator.RegexMatches(pipelineNameRe, "must be a lowercase letter followed by 2 to 22 lowercase letters, digits or '-'")},
			},
			"team": schema.StringAttribute{
				Description: "The team that owns the pipeline: its members (and admins) see and change it.",
				Computed:    true,
			},
			"couplings": schema.ListNestedAttribute{
				Description: "The apps in the pipeline, by stage in promotion order (review first).",
				Computed:    true,
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"id":       schema.StringAttribute{Description: "The coupling's UUID.", Computed: true},
					"app_id":   schema.StringAttribute{Description: "The app's id.", Computed: true},
					"app_name": schema.StringAttribute{Description: "The app's name.", Computed: true},
					"stage":    schema.StringAttribute{Description: "The app's stage: `review`, `development`, `staging` or `production`.", Computed: true},
					"required_status_checks": schema.SetAttribute{
						Description: "Release status contexts that must be in state `success` before a release is promoted to the app.",
						ElementType: types.StringType,
						Computed:    true,
					},
				}},
			},
		},
	}
}

func (d *pipelineDataSource) ConfigValidators(context.Context) []datasource.ConfigValidator {
	return []datasource.ConfigValidator{
		datasourcevalidator.ExactlyOneOf(path.MatchRoot("id"), path.MatchRoot("name")),
	}
}

func (d *pipelineDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	data := providerDataFrom(req.ProviderData, &resp.Diagnostics)
	if data == nil {
		return
	}
	d.client = data.client
}

func (d *pipelineDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var cfg pipelineDataSourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ref := cfg.ID.ValueString()
	if ref == "" {
		ref = cfg.Name.ValueString()
	}
	p, _, err := d.client.Pipelines.Get(ctx, ref)
	if err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("Cannot read pipeline %q", ref), err.Error())
		return
	}
	couplings, _, err := d.client.Couplings.ListByPipeline(ctx, p.ID, nil)
	if err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("Cannot read the couplings of pipeline %q", p.Name), err.Error())
		return
	}
	summaries := make([]pipelineCouplingSummary, len(couplings))
	for i, c := range couplings {
		summaries[i] = pipelineCouplingSummary{
			ID:                   types.StringValue(c.ID),
			AppID:                types.StringValue(c.App.ID),
			AppName:              types.StringValue(c.App.Name),
			Stage:                types.StringValue(c.Stage),
			RequiredStatusChecks: setOf(c.RequiredStatusChecks.Contexts),
		}
	}
	list, diags := types.ListValueFrom(ctx, pipelineCouplingSummaryType, summaries)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	state := pipelineDataSourceModel{ID: types.StringValue(p.ID), Name: types.StringValue(p.Name), Team: types.StringValue(p.Team), Couplings: list}
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}
