package provider

import (
	"context"
	"fmt"
	"net/http"
	"regexp"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/berthdev/terraform-provider-berth/client"
	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
)

var (
	_ resource.Resource                = &pipelineResource{}
	_ resource.ResourceWithConfigure   = &pipelineResource{}
	_ resource.ResourceWithImportState = &pipelineResource{}
)

// NewPipelineResource returns the berth_pipeline resource.
func NewPipelineResource() resource.Resource { return &pipelineResource{} }

type pipelineResource struct {
	client *client.Client
}

type pipelineModel struct {
	ID   types.String `tfsdk:"id"`
	Name types.String `tfsdk:"name"`
	Team types.String `tfsdk:"team"`
}

// pipelineNameRe is the server's rule for pipeline names.
var pipelineNameRe = regexp.MustCompile(domain.PipelineNamePattern)

func (r *pipelineResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_pipeline"
}

func (r *pipelineResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "A pipeline: the apps a release is promoted through, one stage after another " +
			"(review, development, staging, production). Apps join it with `berth_pipeline_coupling`. " +
			"A pipeline belongs to a team: its members (and admins) see and change it, its couplings, their required status checks and its promotions.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Description:   "The pipeline's UUID.",
				Computed:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"name": schema.StringAttribute{
				Description:   "Name of the pipeline: a lowercase letter, then 2 to 22 lowercase letters, digits and `-`. Pipelines cannot be renamed: changing it replaces the pipeline.",
				Required:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:    []validator.String{stringvalidator.RegexMatches(pipelineNameRe, "must be a lowercase letter followed by 2 to 22 lowercase letters, digits or '-'")},
			},
			"team": schema.StringAttribute{
				Description: "The team that owns the pipeline; the caller must be a member (admins may name any). " +
					"Unset, the caller's only team, which is an error for a caller in several teams. Changing it replaces the pipeline.",
				Optional: true,
				Computed: true,
				PlanModifiers: []planmodifier.String{
					stringplanmodifier.RequiresReplaceIfConfigured(),
					stringplanmodifier.UseStateForUnknown(),
				},
				Validators: []validator.String{stringvalidator.RegexMatches(teamNameRe, "must start with a letter and contain only letters, digits, '-' and '_' (at most 63 characters)")},
			},
		},
	}
}

func (r *pipelineResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	data := providerDataFrom(req.ProviderData, &resp.Diagnostics)
	if data == nil {
		return
	}
	r.client = data.client
}

func (r *pipelineResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan pipelineModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	p, _, err := r.client.Pipelines.CreateInTeam(ctx, plan.Name.ValueString(), plan.Team.ValueString())
	if client.StatusCode(err) == http.StatusUnprocessableEntity {
		resp.Diagnostics.AddAttributeError(path.Root("name"), "Pipeline name taken",
			fmt.Sprintf("%s.\nIf that pipeline is the one meant here, import it: terraform import berth_pipeline.<name> %s", err, plan.Name.ValueString()))
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot create pipeline", err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, pipelineModelOf(p))...)
}

func (r *pipelineResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state pipelineModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	// An imported id may be the pipeline's name: the server takes both,
	// and the state records the UUID from then on.
	p, _, err := r.client.Pipelines.Get(ctx, state.ID.ValueString())
	if client.IsNotFound(err) {
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot read pipeline", err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, pipelineModelOf(p))...)
}

// Update is never called with a change (the name replaces the pipeline);
// it only carries the plan over.
func (r *pipelineResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan pipelineModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *pipelineResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state pipelineModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if _, _, err := r.client.Pipelines.Delete(ctx, state.ID.ValueString()); err != nil && !client.IsNotFound(err) {
		resp.Diagnostics.AddError("Cannot delete pipeline", err.Error())
	}
}

// ImportState takes the pipeline's name or UUID.
func (r *pipelineResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resource.ImportStatePassthroughID(ctx, path.Root("id"), req, resp)
}

func pipelineModelOf(p *client.Pipeline) *pipelineModel {
	return &pipelineModel{ID: types.StringValue(p.ID), Name: types.StringValue(p.Name), Team: types.StringValue(p.Team)}
}
