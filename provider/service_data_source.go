package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/berthdev/terraform-provider-berth/client"
)

var (
	_ datasource.DataSource              = &serviceDataSource{}
	_ datasource.DataSourceWithConfigure = &serviceDataSource{}
)

// NewServiceDataSource returns the berth_service data source.
func NewServiceDataSource() datasource.DataSource { return &serviceDataSource{} }

type serviceDataSource struct {
	client *client.Client
}

type serviceDataModel struct {
	ID         types.String `tfsdk:"id"`
	Doc        types.String `tfsdk:"doc"`
	Instances  types.List   `tfsdk:"instances"`
	Managed    types.Bool   `tfsdk:"managed"`
	OwnerTeams types.Set    `tfsdk:"owner_teams"`
	Teams      types.Set    `tfsdk:"teams"`
	Endpoints  types.Map    `tfsdk:"endpoints"`
	Username   types.String `tfsdk:"username"`
	Env        types.Map    `tfsdk:"env"`
}

func (d *serviceDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_service"
}

func (d *serviceDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	ownersOnly := " Known only to the service's owner teams and admins (`managed`); null otherwise."
	resp.Schema = schema.Schema{
		Description: "A service the user the provider authenticates as may use (its team owns it or was granted it), by id. " +
			"Its users see its doc and their instances; its owners also see its manifest.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Description: "The service id (its name).",
				Required:    true,
				Validators: []validator.String{
					stringvalidator.RegexMatches(serviceIDRe, "must be a service id"),
				},
			},
			"doc": schema.StringAttribute{
				Description: "The service's documentation; empty when it has none.",
				Computed:    true,
			},
			"instances": schema.ListAttribute{
				Description: "Names of the service's instances, sorted: all of them for its owners and admins, those of the user's teams otherwise.",
				ElementType: types.StringType,
				Computed:    true,
			},
			"managed": schema.BoolAttribute{
				Description: "Whether the user administers the service (one of its owner teams, or admin), and so sees its manifest.",
				Computed:    true,
			},
			"owner_teams": schema.SetAttribute{
				Description: "The teams that own the service." + ownersOnly,
				ElementType: types.StringType,
				Computed:    true,
			},
			"teams": schema.SetAttribute{
				Description: "The teams granted the use of the service besides its owners." + ownersOnly,
				ElementType: types.StringType,
				Computed:    true,
			},
			"endpoints": schema.MapAttribute{
				Description: "Broker URL per environment; empty for a static service." + ownersOnly,
				ElementType: types.StringType,
				Computed:    true,
			},
			"username": schema.StringAttribute{
				Description: "User name berthd presents to the broker; empty when it presents the service id." + ownersOnly,
				Computed:    true,
			},
			"env": schema.MapAttribute{
				Description: "The vars a static service's instances export." + ownersOnly,
				ElementType: types.StringType,
				Computed:    true,
				Sensitive:   true,
			},
		},
	}
}

func (d *serviceDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	data := providerDataFrom(req.ProviderData, &resp.Diagnostics)
	if data == nil {
		return
	}
	d.client = data.client
}

func (d *serviceDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var cfg serviceDataModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	id := cfg.ID.ValueString()
	doc, _, err := d.client.Services.Doc(ctx, id)
	if err != nil {
		resp.Diagnostics.AddError("Cannot read service", err.Error())
		return
	}
	insts, _, err := d.client.Services.Instances(ctx, id, nil)
	if err != nil {
		resp.Diagnostics.AddError("Cannot read service instances", err.Error())
		return
	}
	names := make([]string, 0, len(insts))
	for _, i := range insts {
		names = append(names, i.Name)
	}
	state := serviceDataModel{
		ID:         cfg.ID,
		Doc:        types.StringValue(doc),
		Instances:  listOf(names),
		Managed:    types.BoolValue(false),
		OwnerTeams: types.SetNull(types.StringType),
		Teams:      types.SetNull(types.StringType),
		Endpoints:  types.MapNull(types.StringType),
		Username:   types.StringNull(),
		Env:        types.MapNull(types.StringType),
	}
	svc, _, err := d.client.Services.Get(ctx, id)
	switch {
	case client.IsForbidden(err):
		// A user of the service, not an owner: no manifest.
	case err != nil:
		resp.Diagnostics.AddError("Cannot read service manifest", err.Error())
		return
	default:
		state.Managed = types.BoolValue(true)
		state.OwnerTeams = setOf(svc.OwnerTeams)
		state.Teams = setOf(svc.Teams)
		state.Endpoints = stringMap(svc.Endpoint)
		state.Username = types.StringValue(svc.Username)
		state.Env = stringMap(svc.Env)
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}
