package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/berthdev/terraform-provider-berth/client"
)

var (
	_ datasource.DataSource              = &platformsDataSource{}
	_ datasource.DataSourceWithConfigure = &platformsDataSource{}
)

// NewPlatformsDataSource returns the berth_platforms data source.
func NewPlatformsDataSource() datasource.DataSource { return &platformsDataSource{} }

type platformsDataSource struct {
	client *client.Client
}

type platformsModel struct {
	Names types.List `tfsdk:"names"`
}

func (d *platformsDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_platforms"
}

func (d *platformsDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "The platforms apps may be created on (berthd's `--platforms`).",
		Attributes: map[string]schema.Attribute{
			"names": schema.ListAttribute{
				Description: "Platform names, sorted.",
				ElementType: types.StringType,
				Computed:    true,
			},
		},
	}
}

func (d *platformsDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	data := providerDataFrom(req.ProviderData, &resp.Diagnostics)
	if data == nil {
		return
	}
	d.client = data.client
}

func (d *platformsDataSource) Read(ctx context.Context, _ datasource.ReadRequest, resp *datasource.ReadResponse) {
	platforms, _, err := d.client.Platforms.List(ctx, nil)
	if err != nil {
		resp.Diagnostics.AddError("Cannot list platforms", err.Error())
		return
	}
	names := make([]string, 0, len(platforms))
	for _, p := range platforms {
		names = append(names, p.Name)
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &platformsModel{Names: listOf(names)})...)
}
