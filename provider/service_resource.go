package provider

import (
	"context"
	"fmt"
	"regexp"
	"slices"

	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/setplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/berthdev/terraform-provider-berth/client"
	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
)

var (
	_ resource.Resource                   = &serviceResource{}
	_ resource.ResourceWithConfigure      = &serviceResource{}
	_ resource.ResourceWithImportState    = &serviceResource{}
	_ resource.ResourceWithValidateConfig = &serviceResource{}
)

// NewServiceResource returns the berth_service resource.
func NewServiceResource() resource.Resource { return &serviceResource{} }

type serviceResource struct {
	client *client.Client
}

type serviceModel struct {
	ID         types.String `tfsdk:"id"`
	Team       types.String `tfsdk:"team"`
	OwnerTeams types.Set    `tfsdk:"owner_teams"`
	Endpoints  types.Map    `tfsdk:"endpoints"`
	Env        types.Map    `tfsdk:"env"`
	Username   types.String `tfsdk:"username"`
	Password   types.String `tfsdk:"password"`
	Doc        types.String `tfsdk:"doc"`
	Teams      types.Set    `tfsdk:"teams"`
}

var (
	serviceIDRe = regexp.MustCompile(domain.ServiceNamePattern)
	envNameRe   = regexp.MustCompile(domain.EnvNamePattern)
)

// productionEndpoint is the entry of endpoints berthd calls.
const productionEndpoint = "production"

func (r *serviceResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_service"
}

func (r *serviceResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "A service apps bind to (a database, a queue), registered with its tsuru-style manifest. " +
			"With `endpoints` it is a service broker berthd calls over HTTP with the tsuru service protocol; " +
			"without, it is a static service whose instances export the vars of `env`.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Description: "The service id, which is its name: a lowercase letter, then lowercase letters, digits, `-` and `_`, at most 63 characters (`instances` is reserved). Changing it replaces the service.",
				Required:    true,
				PlanModifiers: []planmodifier.String{
					stringplanmodifier.RequiresReplace(),
				},
				Validators: []validator.String{
					stringvalidator.RegexMatches(serviceIDRe, "must start with a lowercase letter and contain only lowercase letters, digits, '-' and '_' (at most 63 characters)"),
					stringvalidator.NoneOf("instances"),
				},
			},
			"team": schema.StringAttribute{
				Description: "The team that owns (administers) the service; the user the provider authenticates as must be in it unless admin. " +
					"When not set, every team of that user owns the service on creation, and later owner changes made elsewhere are left alone. " +
					"Read back when the service has exactly one owner team. Changing it moves the ownership in place.",
				Optional: true,
				Computed: true,
				PlanModifiers: []planmodifier.String{
					stringplanmodifier.UseStateForUnknown(),
				},
				Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"owner_teams": schema.SetAttribute{
				Description: "The teams that own the service.",
				ElementType: types.StringType,
				Computed:    true,
				PlanModifiers: []planmodifier.Set{
					ownerTeamsPlanModifier{},
				},
			},
			"endpoints": schema.MapAttribute{
				Description: "Broker URL per environment (`production`, `test`, ...). berthd calls the `production` one, which is required; " +
					"a bare host gets `http://`. Not set for a static service. A service with instances cannot switch between static and brokered.",
				ElementType: types.StringType,
				Optional:    true,
				Validators: []validator.Map{
					mapvalidator.SizeAtLeast(1),
					mapvalidator.ConflictsWith(path.MatchRoot("env")),
				},
			},
			"env": schema.MapAttribute{
				Description: "For a static service: the config vars (name to value) every instance exports into the apps bound to it, as private vars. " +
					"Sensitive, like the private vars they become. Conflicts with `endpoints`: a broker decides what its instances export.",
				ElementType: types.StringType,
				Optional:    true,
				Sensitive:   true,
				Validators: []validator.Map{
					mapvalidator.SizeAtLeast(1),
					mapvalidator.KeysAre(
						stringvalidator.RegexMatches(envNameRe, "must be a valid environment variable name"),
						stringvalidator.NoneOf("TSURU_SERVICES"),
					),
				},
			},
			"username": schema.StringAttribute{
				Description: "User name berthd presents to the broker (basic auth). When not set, berthd presents the service id.",
				Optional:    true,
				Validators: []validator.String{
					stringvalidator.LengthAtLeast(1),
					stringvalidator.AlsoRequires(path.MatchRoot("endpoints")),
				},
			},
			"password": schema.StringAttribute{
				Description: "Password berthd presents to the broker (basic auth). berthd never answers it back, so the provider keeps the value it last sent, in the state: " +
					"a password changed outside Terraform is not detected, and an imported service has no password in state until the next apply sends the configured one.",
				Optional:  true,
				Sensitive: true,
				Validators: []validator.String{
					stringvalidator.LengthAtLeast(1),
					stringvalidator.AlsoRequires(path.MatchRoot("endpoints")),
				},
			},
			"doc": schema.StringAttribute{
				Description: "The service's documentation (plain text), shown to the teams that use it. When not set, the service has none.",
				Optional:    true,
				Validators:  []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"teams": schema.SetAttribute{
				Description: "Teams granted the use of the service (creating instances of it), besides its owner teams, which always may and must not be listed. " +
					"All of them: grants made elsewhere are revoked. When not set, grants are left as they are.",
				ElementType: types.StringType,
				Optional:    true,
				Computed:    true,
				PlanModifiers: []planmodifier.Set{
					setplanmodifier.UseStateForUnknown(),
				},
				Validators: []validator.Set{
					setvalidator.ValueStringsAre(stringvalidator.LengthAtLeast(1)),
				},
			},
		},
	}
}

// ownerTeamsPlanModifier keeps owner_teams from the state unless the
// configuration names a new owner team: berthd changes the owners only
// when the manifest has a team.
type ownerTeamsPlanModifier struct{}

func (ownerTeamsPlanModifier) Description(context.Context) string {
	return "Keeps the owner teams unless team changes."
}

func (m ownerTeamsPlanModifier) MarkdownDescription(ctx context.Context) string {
	return m.Description(ctx)
}

func (ownerTeamsPlanModifier) PlanModifySet(ctx context.Context, req planmodifier.SetRequest, resp *planmodifier.SetResponse) {
	if req.State.Raw.IsNull() || req.Plan.Raw.IsNull() || !req.PlanValue.IsUnknown() {
		return
	}
	var configTeam, stateTeam types.String
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("team"), &configTeam)...)
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("team"), &stateTeam)...)
	if configTeam.IsUnknown() || (!configTeam.IsNull() && !configTeam.Equal(stateTeam)) {
		return
	}
	resp.PlanValue = req.StateValue
}

func (r *serviceResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var cfg serviceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if !cfg.Endpoints.IsNull() && !cfg.Endpoints.IsUnknown() {
		if _, ok := cfg.Endpoints.Elements()[productionEndpoint]; !ok {
			resp.Diagnostics.AddAttributeError(path.Root("endpoints"), "Missing production endpoint",
				"endpoints must have a \"production\" entry: it is the URL berthd calls.")
		}
	}
	if !cfg.Team.IsNull() && !cfg.Team.IsUnknown() && !cfg.Teams.IsUnknown() {
		for _, t := range cfg.Teams.Elements() {
			if t.Equal(cfg.Team) {
				resp.Diagnostics.AddAttributeError(path.Root("teams"), "Owner team listed in teams",
					fmt.Sprintf("Team %s owns the service, so it may already use it: teams lists only the teams granted its use besides the owners.", cfg.Team))
			}
		}
	}
}

func (r *serviceResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	data := providerDataFrom(req.ProviderData, &resp.Diagnostics)
	if data == nil {
		return
	}
	r.client = data.client
}

func (r *serviceResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan serviceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	manifest, diags := plan.manifest(ctx)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	svc, _, err := r.client.Services.Create(ctx, manifest)
	if err != nil {
		resp.Diagnostics.AddError("Cannot create service", err.Error())
		return
	}
	state := plan
	state.setFromService(svc)
	state.Doc = types.StringNull()
	// Record the service at once, so that a failure below leaves it in
	// state (tainted) rather than orphaned on the server.
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
	if !plan.Doc.IsNull() {
		if _, err := r.client.Services.SetDoc(ctx, svc.ID, plan.Doc.ValueString()); err != nil {
			resp.Diagnostics.AddError("Cannot set service doc", err.Error())
			return
		}
		state.Doc = plan.Doc
		resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
	}
	if !plan.Teams.IsUnknown() {
		var want []string
		resp.Diagnostics.Append(plan.Teams.ElementsAs(ctx, &want, false)...)
		if resp.Diagnostics.HasError() {
			return
		}
		if err := r.grantMissing(ctx, svc, want); err != nil {
			resp.Diagnostics.AddError("Cannot grant service access", err.Error())
			return
		}
		if svc, _, err = r.client.Services.Get(ctx, svc.ID); err != nil {
			resp.Diagnostics.AddError("Cannot read service", err.Error())
			return
		}
		state.setFromService(svc)
		resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
	}
}

// revokeGrantsNotIn revokes the grants of the service that want does not
// list.
func (r *serviceResource) revokeGrantsNotIn(ctx context.Context, svc *client.Service, want []string) error {
	for _, t := range svc.Teams {
		if slices.Contains(want, t) {
			continue
		}
		if _, err := r.client.Services.Revoke(ctx, svc.ID, t); err != nil && !client.IsNotFound(err) {
			return err
		}
	}
	return nil
}

// grantMissing grants the service to the teams of want it lacks.
func (r *serviceResource) grantMissing(ctx context.Context, svc *client.Service, want []string) error {
	for _, t := range want {
		if slices.Contains(svc.Teams, t) {
			continue
		}
		if _, err := r.client.Services.Grant(ctx, svc.ID, t); err != nil {
			return err
		}
	}
	return nil
}

func (r *serviceResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state serviceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	svc, _, err := r.client.Services.Get(ctx, state.ID.ValueString())
	if client.IsNotFound(err) {
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot read service", err.Error())
		return
	}
	doc, _, err := r.client.Services.Doc(ctx, svc.ID)
	if client.IsNotFound(err) {
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot read service doc", err.Error())
		return
	}
	state.setFromService(svc)
	state.Doc = stringOrNull(doc)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

// Update revokes the grants the configuration drops before sending the
// manifest and grants the new ones after it, so that a team moving between
// team and teams is never an owner and a grantee at once. Ownership and
// grants are only touched when the configuration sets team and teams: the
// plan carries the state's values otherwise.
func (r *serviceResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state, cfg serviceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	manifest, diags := plan.manifest(ctx)
	resp.Diagnostics.Append(diags...)
	manifest.Team = cfg.Team.ValueString()
	var want []string
	manageGrants := !cfg.Teams.IsNull()
	if manageGrants {
		resp.Diagnostics.Append(plan.Teams.ElementsAs(ctx, &want, false)...)
	}
	if resp.Diagnostics.HasError() {
		return
	}
	svc, _, err := r.client.Services.Get(ctx, plan.ID.ValueString())
	if err != nil {
		resp.Diagnostics.AddError("Cannot read service", err.Error())
		return
	}
	if manageGrants {
		if err := r.revokeGrantsNotIn(ctx, svc, want); err != nil {
			resp.Diagnostics.AddError("Cannot revoke service access", err.Error())
			return
		}
	}
	if svc, _, err = r.client.Services.Update(ctx, manifest); err != nil {
		resp.Diagnostics.AddError("Cannot update service", err.Error())
		return
	}
	if !plan.Doc.Equal(state.Doc) {
		if _, err := r.client.Services.SetDoc(ctx, svc.ID, plan.Doc.ValueString()); err != nil {
			resp.Diagnostics.AddError("Cannot set service doc", err.Error())
			return
		}
	}
	if manageGrants {
		if err := r.grantMissing(ctx, svc, want); err != nil {
			resp.Diagnostics.AddError("Cannot grant service access", err.Error())
			return
		}
		if svc, _, err = r.client.Services.Get(ctx, svc.ID); err != nil {
			resp.Diagnostics.AddError("Cannot read service", err.Error())
			return
		}
	}
	plan.setFromService(svc)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *serviceResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state serviceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if _, err := r.client.Services.Delete(ctx, state.ID.ValueString()); err != nil && !client.IsNotFound(err) {
		resp.Diagnostics.AddError("Cannot delete service", err.Error())
	}
}

func (r *serviceResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resource.ImportStatePassthroughID(ctx, path.Root("id"), req, resp)
}

// manifest is the YAML manifest the model describes.
func (m *serviceModel) manifest(ctx context.Context) (client.ServiceManifest, diag.Diagnostics) {
	var diags diag.Diagnostics
	out := client.ServiceManifest{
		ID:       m.ID.ValueString(),
		Username: m.Username.ValueString(),
		Password: m.Password.ValueString(),
		Team:     m.Team.ValueString(),
	}
	if !m.Endpoints.IsNull() {
		diags.Append(m.Endpoints.ElementsAs(ctx, &out.Endpoint, false)...)
	}
	if !m.Env.IsNull() {
		diags.Append(m.Env.ElementsAs(ctx, &out.Env, false)...)
	}
	return out, diags
}

// setFromService copies what berthd answers of a service into the model;
// the password and the doc are not part of it.
func (m *serviceModel) setFromService(svc *client.Service) {
	m.ID = types.StringValue(svc.ID)
	m.OwnerTeams = setOf(svc.OwnerTeams)
	m.Team = types.StringNull()
	if len(svc.OwnerTeams) == 1 {
		m.Team = types.StringValue(svc.OwnerTeams[0])
	}
	m.Endpoints = stringMapOrNull(svc.Endpoint)
	m.Env = stringMapOrNull(svc.Env)
	m.Username = stringOrNull(svc.Username)
	m.Teams = setOf(svc.Teams)
}
