package provider

import (
	"context"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/berthdev/terraform-provider-berth/client"
)

var (
	_ datasource.DataSource              = &stacksDataSource{}
	_ datasource.DataSourceWithConfigure = &stacksDataSource{}
)

// NewStacksDataSource returns the berth_stacks data source.
func NewStacksDataSource() datasource.DataSource { return &stacksDataSource{} }

type stacksDataSource struct {
	data *providerData
}

type stacksModel struct {
	APIKey  types.String      `tfsdk:"api_key"`
	Project types.String      `tfsdk:"project"`
	Stacks  []stackEntryModel `tfsdk:"stacks"`
}

type stackEntryModel struct {
	StackName          types.String `tfsdk:"stack_name"`
	Branch             types.String `tfsdk:"branch"`
	LastDeployedCommit types.String `tfsdk:"last_deployed_commit"`
	IsAvailable        types.Bool   `tfsdk:"is_available"`
	Created            types.String `tfsdk:"created"`
	Modified           types.String `tfsdk:"modified"`
	ExpiresAt          types.String `tfsdk:"expires_at"`
}

// stacksPageSize is the largest page berthd answers.
const stacksPageSize = 1000

func (d *stacksDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_stacks"
}

func (d *stacksDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "The test stacks of a stack project, ordered by number, with their branch, deployed commit and lease.",
		Attributes: map[string]schema.Attribute{
			"api_key": schema.StringAttribute{
				Description: "Key of the stack project, e.g. `berth_stack_project.x.api_key`. Defaults to the provider's `stack_api_key`.",
				Optional:    true,
				Sensitive:   true,
				Validators:  []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"project": schema.StringAttribute{
				Description: "Name of the key's project.",
				Computed:    true,
			},
			"stacks": schema.ListNestedAttribute{
				Description: "The project's stacks, ordered by the number after the prefix (`test-2` before `test-10`).",
				Computed:    true,
				NestedObject: schema.NestedAttributeObject{
					Attributes: map[string]schema.Attribute{
						"stack_name": schema.StringAttribute{
							Description: "Name of the stack.",
							Computed:    true,
						},
						"branch": schema.StringAttribute{
							Description: "Branch of the last lease; it stays after release, so the branch gets the stack back.",
							Computed:    true,
						},
						"last_deployed_commit": schema.StringAttribute{
							Description: "Commit deployed on the stack; empty when none was recorded.",
							Computed:    true,
						},
						"is_available": schema.BoolAttribute{
							Description: "Whether nobody holds the stack (a lease that ran out counts as available).",
							Computed:    true,
						},
						"created": schema.StringAttribute{
							Description: "When the stack was created (RFC 3339, UTC).",
							Computed:    true,
						},
						"modified": schema.StringAttribute{
							Description: "When the stack last changed: leased, released or given a commit (RFC 3339, UTC).",
							Computed:    true,
						},
						"expires_at": schema.StringAttribute{
							Description: "When the current lease ends (RFC 3339, UTC); null when the stack is available.",
							Computed:    true,
						},
					},
				},
			},
		},
	}
}

func (d *stacksDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	data := providerDataFrom(req.ProviderData, &resp.Diagnostics)
	if data == nil {
		return
	}
	d.data = data
}

func (d *stacksDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var cfg stacksModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	c, err := d.data.stackClient(cfg.APIKey.ValueString())
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("api_key"), "Cannot list stacks", err.Error())
		return
	}
	project, _, err := c.Stacks.Project(ctx)
	if err != nil {
		resp.Diagnostics.AddError("Cannot read the stack project", err.Error())
		return
	}
	cfg.Project = types.StringValue(project.Name)
	cfg.Stacks = []stackEntryModel{}
	for opts := (&client.ListOptions{Limit: stacksPageSize}); ; {
		page, res, err := c.Stacks.List(ctx, opts)
		if err != nil {
			resp.Diagnostics.AddError("Cannot list stacks", err.Error())
			return
		}
		for _, st := range page {
			cfg.Stacks = append(cfg.Stacks, stackEntryOf(&st))
		}
		if res.NextCursor == "" {
			break
		}
		opts.Cursor = res.NextCursor
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &cfg)...)
}

func stackEntryOf(st *client.Stack) stackEntryModel {
	e := stackEntryModel{
		StackName:          types.StringValue(st.StackName),
		Branch:             types.StringValue(st.Branch),
		LastDeployedCommit: types.StringValue(st.LastDeployedCommit),
		IsAvailable:        types.BoolValue(st.IsAvailable),
		Created:            types.StringValue(st.Created.UTC().Format(time.RFC3339)),
		Modified:           types.StringValue(st.Modified.UTC().Format(time.RFC3339)),
		ExpiresAt:          types.StringNull(),
	}
	if !st.ExpiresAt.IsZero() {
		e.ExpiresAt = types.StringValue(st.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return e
}
