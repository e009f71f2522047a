// Package provider implements the berth Terraform provider on
// terraform-plugin-framework, over the typed client.
package provider

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/berthdev/terraform-provider-berth/client"
)

var _ provider.Provider = &berthProvider{}

// New returns a constructor of the provider at version.
func New(version string) func() provider.Provider {
	return func() provider.Provider { return &berthProvider{version: version} }
}

type berthProvider struct {
	version string
}

type providerModel struct {
	Endpoint     types.String `tfsdk:"endpoint"`
	Token        types.String `tfsdk:"token"`
	StackAPIKey  types.String `tfsdk:"stack_api_key"`
	MaxRetries   types.Int64  `tfsdk:"max_retries"`
	RetryWaitMin types.Int64  `tfsdk:"retry_wait_min_ms"`
	RetryWaitMax types.Int64  `tfsdk:"retry_wait_max_ms"`
}

// providerData is what resources and data sources receive from Configure.
type providerData struct {
	client *client.Client
	// stackAPIKey is the provider-level stack project key, if any.
	stackAPIKey string
	endpoint    string
	opts        []client.Option
}

// providerDataFrom is what Configure of every resource and data source
// starts with: the configured provider's data, or nil when the provider is
// not configured yet (validation) or the data is of the wrong type (an
// error is added).
func providerDataFrom(pd any, diags *diag.Diagnostics) *providerData {
	if pd == nil {
		return nil
	}
	data, ok := pd.(*providerData)
	if !ok {
		diags.AddError("Unexpected provider data", fmt.Sprintf("expected *providerData, got %T", pd))
		return nil
	}
	return data
}

func (p *berthProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "berth"
	resp.Version = p.version
}

func (p *berthProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "Manage apps, pipelines, services, teams and test-stack leases on a berth control plane.",
		Attributes: map[string]schema.Attribute{
			"endpoint": schema.StringAttribute{
				Description: "URL of the berthd API, e.g. `http://127.0.0.1:8080`. Can also be set with the `BERTH_ENDPOINT` environment variable.",
				Optional:    true,
			},
			"token": schema.StringAttribute{
				Description: "A berth session or app token. Can also be set with the `BERTH_TOKEN` environment variable.",
				Optional:    true,
				Sensitive:   true,
			},
			"stack_api_key": schema.StringAttribute{
				Description: "A stack project key, used by `berth_stack_lease` resources that do not set their own. Can also be set with the `BERTH_STACK_API_KEY` environment variable.",
				Optional:    true,
				Sensitive:   true,
			},
			"max_retries": schema.Int64Attribute{
				Description: "How many times a safe request is retried on connection errors, 429, 502, 503 and 504. Defaults to 4.",
				Optional:    true,
			},
			"retry_wait_min_ms": schema.Int64Attribute{
				Description: "Shortest wait between retries, in milliseconds. Defaults to 200.",
				Optional:    true,
			},
			"retry_wait_max_ms": schema.Int64Attribute{
				Description: "Longest wait between retries, in milliseconds. Defaults to 5000.",
				Optional:    true,
			},
		},
	}
}

func (p *berthProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var cfg providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	for attr, v := range map[string]types.String{"endpoint": cfg.Endpoint, "token": cfg.Token, "stack_api_key": cfg.StackAPIKey} {
		if v.IsUnknown() {
			resp.Diagnostics.AddAttributeError(path.Root(attr), "Unknown berth "+attr,
				"The provider cannot be configured with a value known only after apply. Set it statically or through its environment variable.")
		}
	}
	if resp.Diagnostics.HasError() {
		return
	}
	endpoint := stringOr(cfg.Endpoint, os.Getenv("BERTH_ENDPOINT"))
	token := stringOr(cfg.Token, os.Getenv("BERTH_TOKEN"))
	stackKey := stringOr(cfg.StackAPIKey, os.Getenv("BERTH_STACK_API_KEY"))
	if endpoint == "" {
		resp.Diagnostics.AddAttributeError(path.Root("endpoint"), "Missing berth endpoint",
			"Set the endpoint attribute of the berth provider or the BERTH_ENDPOINT environment variable to the URL of berthd, e.g. http://127.0.0.1:8080.")
		return
	}
	retries, minWait, maxWait := int64(4), int64(200), int64(5000)
	if !cfg.MaxRetries.IsNull() && !cfg.MaxRetries.IsUnknown() {
		retries = cfg.MaxRetries.ValueInt64()
	}
	if !cfg.RetryWaitMin.IsNull() && !cfg.RetryWaitMin.IsUnknown() {
		minWait = cfg.RetryWaitMin.ValueInt64()
	}
	if !cfg.RetryWaitMax.IsNull() && !cfg.RetryWaitMax.IsUnknown() {
		maxWait = cfg.RetryWaitMax.ValueInt64()
	}
	opts := []client.Option{
		client.WithToken(token),
		client.WithProjectKey(stackKey),
		client.WithUserAgent("terraform-provider-berth/" + p.version),
		client.WithRetry(int(retries), time.Duration(minWait)*time.Millisecond, time.Duration(maxWait)*time.Millisecond),
	}
	c, err := client.New(endpoint, opts...)
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("endpoint"), "Invalid berth provider configuration", err.Error())
		return
	}
	ctx = tflog.MaskFieldValuesWithFieldKeys(ctx, "token", "stack_api_key")
	if token != "" {
		// Check the credential once, so a typo shows up as one clear error
		// rather than as a failure of every resource.
		if _, _, err := c.Users.Info(ctx); err != nil {
			switch {
			case client.IsUnauthorized(err):
				resp.Diagnostics.AddAttributeError(path.Root("token"), "Invalid berth token",
					"berthd at "+endpoint+" refused the token (it is invalid, expired or revoked). Check the token attribute or BERTH_TOKEN. Server said: "+err.Error())
			case client.StatusCode(err) == 0:
				resp.Diagnostics.AddAttributeError(path.Root("endpoint"), "Cannot reach berthd",
					"No answer from "+endpoint+": "+err.Error()+". Is berthd running, and is the endpoint right?")
			default:
				resp.Diagnostics.AddError("Unexpected answer from berthd", err.Error())
			}
			return
		}
	}
	tflog.Debug(ctx, "configured berth client", map[string]any{"endpoint": endpoint})
	data := &providerData{client: c, stackAPIKey: stackKey, endpoint: endpoint, opts: opts}
	resp.ResourceData = data
	resp.DataSourceData = data
}

func (p *berthProvider) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{
		NewTeamResource,
		NewStackProjectResource,
		NewStackLeaseResource,
		NewServiceResource,
		NewServiceInstanceResource,
		NewServiceBindingResource,
		NewPipelineResource,
		NewPipelineCouplingResource,
		NewPipelinePromotionResource,
		NewAppResource,
	}
}

func (p *berthProvider) DataSources(context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{
		NewStacksDataSource,
		NewServiceDataSource,
		NewPipelineDataSource,
		NewPipelineStagesDataSource,
		NewAppDataSource,
		NewPlatformsDataSource,
	}
}

func stringOr(v types.String, fallback string) string {
	if v.IsNull() || v.IsUnknown() || v.ValueString() == "" {
		return fallback
	}
	return v.ValueString()
}
