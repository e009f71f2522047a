package provider

import (
	"context"
	"regexp"
	"slices"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
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
	_ resource.Resource                = &teamResource{}
	_ resource.ResourceWithConfigure   = &teamResource{}
	_ resource.ResourceWithImportState = &teamResource{}
)

// NewTeamResource returns the berth_team resource.
func NewTeamResource() resource.Resource { return &teamResource{} }

type teamResource struct {
	client *client.Client
}

type teamModel struct {
	ID      types.String `tfsdk:"id"`
	Name    types.String `tfsdk:"name"`
	Members types.Set    `tfsdk:"members"`
}

var teamNameRe = regexp.MustCompile(domain.TeamNamePattern)

func (r *teamResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_team"
}

func (r *teamResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "A team: a group of users that owns apps, services and stack projects.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Description:   "The team name.",
				Computed:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"name": schema.StringAttribute{
				Description:   "Name of the team: a letter, then letters, digits, `-` and `_`, at most 63 characters. Changing it replaces the team.",
				Required:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:    []validator.String{stringvalidator.RegexMatches(teamNameRe, "must start with a letter and contain only letters, digits, '-' and '_' (at most 63 characters)")},
			},
			"members": schema.SetAttribute{
				Description: "E-mails of the team's members (all of them: members added by others are removed). " +
					"When not set, the team keeps whoever is in it, starting with the user the provider authenticates as. " +
					"A non-admin user who leaves themselves out loses access to the team.",
				ElementType:   types.StringType,
				Optional:      true,
				Computed:      true,
				PlanModifiers: []planmodifier.Set{setplanmodifier.UseStateForUnknown()},
			},
		},
	}
}

func (r *teamResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	data := providerDataFrom(req.ProviderData, &resp.Diagnostics)
	if data == nil {
		return
	}
	r.client = data.client
}

func (r *teamResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan teamModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	team, _, err := r.client.Teams.Create(ctx, plan.Name.ValueString())
	if err != nil {
		resp.Diagnostics.AddError("Cannot create team", err.Error())
		return
	}
	// Record the team at once, so a failure below leaves it in state
	// (tainted) rather than orphaned on the server.
	plan.ID = types.StringValue(team.Name)
	if !plan.Members.IsUnknown() {
		var want []string
		resp.Diagnostics.Append(plan.Members.ElementsAs(ctx, &want, false)...)
		if resp.Diagnostics.HasError() {
			return
		}
		if team, err = r.syncMembers(ctx, team, want); err != nil {
			state := plan
			state.Members = setOf(team.Users)
			resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
			resp.Diagnostics.AddError("Cannot set team members", err.Error())
			return
		}
	}
	plan.Members = setOf(team.Users)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// syncMembers adds the missing members first, then removes the extra ones,
// so the team never drops to zero members on the way.
func (r *teamResource) syncMembers(ctx context.Context, team *client.Team, want []string) (*client.Team, error) {
	for _, m := range want {
		if slices.Contains(team.Users, m) {
			continue
		}
		t, _, err := r.client.Teams.AddMember(ctx, team.Name, m)
		if err != nil {
			return team, err
		}
		team = t
	}
	for _, m := range slices.Clone(team.Users) {
		if slices.Contains(want, m) {
			continue
		}
		t, _, err := r.client.Teams.RemoveMember(ctx, team.Name, m)
		if err != nil {
			return team, err
		}
		team = t
	}
	return team, nil
}

func (r *teamResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state teamModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	team, _, err := r.client.Teams.Get(ctx, state.ID.ValueString())
	if client.IsNotFound(err) {
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot read team", err.Error())
		return
	}
	state.Name = types.StringValue(team.Name)
	state.Members = setOf(team.Users)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *teamResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state teamModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	team, _, err := r.client.Teams.Get(ctx, state.ID.ValueString())
	if err != nil {
		resp.Diagnostics.AddError("Cannot read team", err.Error())
		return
	}
	if !plan.Members.IsUnknown() {
		var want []string
		resp.Diagnostics.Append(plan.Members.ElementsAs(ctx, &want, false)...)
		if resp.Diagnostics.HasError() {
			return
		}
		team, err = r.syncMembers(ctx, team, want)
		if err != nil {
			resp.Diagnostics.AddError("Cannot set team members", err.Error())
		}
	}
	plan.ID = state.ID
	plan.Members = setOf(team.Users)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *teamResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state teamModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if _, err := r.client.Teams.Delete(ctx, state.ID.ValueString()); err != nil && !client.IsNotFound(err) {
		resp.Diagnostics.AddError("Cannot delete team", err.Error())
	}
}

func (r *teamResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resource.ImportStatePassthroughID(ctx, path.Root("id"), req, resp)
}
