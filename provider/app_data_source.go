package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-validators/datasourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/berthdev/terraform-provider-berth/client"
)

var (
	_ datasource.DataSource                     = &appDataSource{}
	_ datasource.DataSourceWithConfigure        = &appDataSource{}
	_ datasource.DataSourceWithConfigValidators = &appDataSource{}
)

// NewAppDataSource returns the berth_app data source.
func NewAppDataSource() datasource.DataSource { return &appDataSource{} }

type appDataSource struct {
	client *client.Client
}

type appDataSourceModel struct {
	ID            types.String `tfsdk:"id"`
	Name          types.String `tfsdk:"name"`
	Team          types.String `tfsdk:"team"`
	Platform      types.String `tfsdk:"platform"`
	AppType       types.String `tfsdk:"app_type"`
	ConfigVars    types.Map    `tfsdk:"config_vars"`
	Procs         types.List   `tfsdk:"procs"`
	RepositoryURL types.String `tfsdk:"repository_url"`
	IP            types.String `tfsdk:"ip"`
	Units         types.List   `tfsdk:"units"`
}

func (d *appDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_app"
}

func (d *appDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "An app the provider's user may see, found by name or id, whichever dialect created it. Private config vars are not shown.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Description: "The app's id (a UUID). Set either this or `name`.",
				Optional:    true,
				Computed:    true,
				Validators:  []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"name": schema.StringAttribute{
				Description: "The app's name. Set either this or `id`.",
				Optional:    true,
				Computed:    true,
				Validators:  []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"team":     schema.StringAttribute{Description: "The team that owns the app.", Computed: true},
			"platform": schema.StringAttribute{Description: "The platform the app runs on.", Computed: true},
			"app_type": schema.StringAttribute{Description: "lain's app type: `app`, `service`, `resource` or `resource-instance`.", Computed: true},
			"config_vars": schema.MapAttribute{
				Description: "Every public config var of the app, by name, whoever set it.",
				ElementType: types.StringType,
				Computed:    true,
			},
			"procs": schema.ListNestedAttribute{
				Description: "The procs the app declares, in order.",
				Computed:    true,
				NestedObject: schema.NestedAttributeObject{
					Attributes: map[string]schema.Attribute{
						"name":          schema.StringAttribute{Description: "Name of the proc.", Computed: true},
						"num_instances": schema.Int64Attribute{Description: "How many instances of the proc run when the app is deployed.", Computed: true},
						"cpu":           schema.Int64Attribute{Description: "CPUs of each instance.", Computed: true},
						"memory":        schema.StringAttribute{Description: "Memory of each instance, as declared (e.g. `64M`).", Computed: true},
					},
				},
			},
			"repository_url": schema.StringAttribute{Description: "The app's git repository URL.", Computed: true},
			"ip":             schema.StringAttribute{Description: "The app's address.", Computed: true},
			"units": schema.ListNestedAttribute{
				Description: "The running units of the app; empty while it is not deployed.",
				Computed:    true,
				NestedObject: schema.NestedAttributeObject{
					Attributes: map[string]schema.Attribute{
						"name":  schema.StringAttribute{Description: "Unit name, `<app>/<n>`.", Computed: true},
						"state": schema.StringAttribute{Description: "`started`, `pending`, `error` or `stopped`.", Computed: true},
					},
				},
			},
		},
	}
}

func (d *appDataSource) ConfigValidators(context.Context) []datasource.ConfigValidator {
	return []datasource.ConfigValidator{
		datasourcevalidator.ExactlyOneOf(path.MatchRoot("id"), path.MatchRoot("name")),
	}
}

func (d *appDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	data := providerDataFrom(req.ProviderData, &resp.Diagnostics)
	if data == nil {
		return
	}
	d.client = data.client
}

func (d *appDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var cfg appDataSourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	key := cfg.Name.ValueString()
	if key == "" {
		key = cfg.ID.ValueString()
	}
	remote, err := fetchApp(ctx, d.client, key)
	if err != nil {
		resp.Diagnostics.AddError("Cannot read app "+key, err.Error())
		return
	}
	var m appModel
	setComputed(&m, remote)
	public := map[string]string{}
	for _, v := range remote.env {
		if v.Public {
			public[v.Name] = v.Value
		}
	}
	out := appDataSourceModel{
		ID: m.ID, Name: m.Name, Team: m.Team, Platform: m.Platform, AppType: m.AppType,
		ConfigVars: stringMap(public), Procs: m.Procs, RepositoryURL: m.RepositoryURL, IP: m.IP, Units: m.Units,
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &out)...)
}
