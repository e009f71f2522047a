package provider

import (
	"context"
	"regexp"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/berthdev/terraform-provider-berth/client"
	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
)

var (
	_ resource.Resource                = &stackProjectResource{}
	_ resource.ResourceWithConfigure   = &stackProjectResource{}
	_ resource.ResourceWithImportState = &stackProjectResource{}
)

// NewStackProjectResource returns the berth_stack_project resource.
func NewStackProjectResource() resource.Resource { return &stackProjectResource{} }

type stackProjectResource struct {
	client *client.Client
}

type stackProjectModel struct {
	ID            types.String `tfsdk:"id"`
	Name          types.String `tfsdk:"name"`
	Team          types.String `tfsdk:"team"`
	Prefix        types.String `tfsdk:"prefix"`
	InitialCommit types.String `tfsdk:"initial_commit"`
	APIKey        types.String `tfsdk:"api_key"`
}

var (
	stackProjectNameRe = regexp.MustCompile(domain.StackProjectNamePattern)
	stackPrefixRe      = regexp.MustCompile(domain.StackPrefixPattern)
)

const defaultStackPrefix = domain.DefaultStackPrefix

func (r *stackProjectResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_stack_project"
}

func (r *stackProjectResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "A stack project: a pool of test stacks (`test-1`, `test-2`, ...) that CI jobs lease per branch with the project's key. " +
			"Deleting the project deletes its stacks, leased or not.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Description:   "The project name.",
				Computed:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"name": schema.StringAttribute{
				Description:   "Name of the project: a lowercase letter, then lowercase letters, digits and `-`, at most 40 characters. Changing it replaces the project and its stacks.",
				Required:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators: []validator.String{stringvalidator.RegexMatches(stackProjectNameRe,
					"must start with a lowercase letter and contain only lowercase letters, digits and '-' (at most 40 characters)")},
			},
			"team": schema.StringAttribute{
				Description:   "Team that owns the project: its members and the admins manage it. A project cannot change team: changing it replaces the project and its stacks.",
				Required:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:    []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"prefix": schema.StringAttribute{
				Description: "Prefix of the stack names: stacks are named prefix + number. Defaults to `" + defaultStackPrefix + "`. " +
					"A lowercase letter, then lowercase letters, digits and `-`, at most 16 characters. Changed in place: " +
					"existing stacks keep their names, new stacks take the new prefix.",
				Optional:   true,
				Computed:   true,
				Default:    stringdefault.StaticString(defaultStackPrefix),
				Validators: []validator.String{stringvalidator.RegexMatches(stackPrefixRe, "must match "+stackPrefixRe.String())},
			},
			"initial_commit": schema.StringAttribute{
				Description: "The `lastDeployedCommit` of stacks created from now on; empty (the default) for none. Changed in place.",
				Optional:    true,
				Computed:    true,
				Default:     stringdefault.StaticString(""),
				Validators:  []validator.String{stringvalidator.LengthAtMost(255)},
			},
			"api_key": schema.StringAttribute{
				Description: "The project key, sent as `X-API-Key` by CI jobs and by `berth_stack_lease`. " +
					"berth shows a key only when it makes it, so the key is known only for a project Terraform created: it is null after an import.",
				Computed:      true,
				Sensitive:     true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
		},
	}
}

func (r *stackProjectResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	data := providerDataFrom(req.ProviderData, &resp.Diagnostics)
	if data == nil {
		return
	}
	r.client = data.client
}

// setFrom copies what the API answers into m.
func (m *stackProjectModel) setFrom(p *client.Project) {
	m.ID = types.StringValue(p.Name)
	m.Name = types.StringValue(p.Name)
	m.Team = types.StringValue(p.Team)
	m.Prefix = types.StringValue(p.Prefix)
	m.InitialCommit = types.StringValue(p.InitialCommit)
}

func (r *stackProjectResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan stackProjectModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	p, _, err := r.client.Projects.Create(ctx, client.NewProject{
		Name:          plan.Name.ValueString(),
		Team:          plan.Team.ValueString(),
		Prefix:        plan.Prefix.ValueString(),
		InitialCommit: plan.InitialCommit.ValueString(),
	})
	if err != nil {
		resp.Diagnostics.AddError("Cannot create stack project", err.Error())
		return
	}
	plan.setFrom(p)
	plan.APIKey = types.StringValue(p.APIKey)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *stackProjectResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state stackProjectModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	p, _, err := r.client.Projects.Get(ctx, state.ID.ValueString())
	if client.IsNotFound(err) {
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot read stack project", err.Error())
		return
	}
	state.setFrom(p)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *stackProjectResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state stackProjectModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	prefix, commit := plan.Prefix.ValueString(), plan.InitialCommit.ValueString()
	p, _, err := r.client.Projects.Update(ctx, state.ID.ValueString(), client.ProjectSettings{Prefix: &prefix, InitialCommit: &commit})
	if err != nil {
		resp.Diagnostics.AddError("Cannot change stack project", err.Error())
		return
	}
	plan.setFrom(p)
	plan.APIKey = state.APIKey
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *stackProjectResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state stackProjectModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if _, err := r.client.Projects.Delete(ctx, state.ID.ValueString()); err != nil && !client.IsNotFound(err) {
		resp.Diagnostics.AddError("Cannot delete stack project", err.Error())
	}
}

func (r *stackProjectResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resource.ImportStatePassthroughID(ctx, path.Root("id"), req, resp)
}
