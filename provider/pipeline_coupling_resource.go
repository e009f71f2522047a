package provider

import (
	"context"
	"fmt"
	"regexp"

	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/setdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/berthdev/terraform-provider-berth/client"
	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
)

var (
	_ resource.Resource                   = &pipelineCouplingResource{}
	_ resource.ResourceWithConfigure      = &pipelineCouplingResource{}
	_ resource.ResourceWithImportState    = &pipelineCouplingResource{}
	_ resource.ResourceWithValidateConfig = &pipelineCouplingResource{}
	_ resource.ResourceWithModifyPlan     = &pipelineCouplingResource{}
)

// NewPipelineCouplingResource returns the berth_pipeline_coupling resource.
func NewPipelineCouplingResource() resource.Resource { return &pipelineCouplingResource{} }

type pipelineCouplingResource struct {
	client *client.Client
}

type pipelineCouplingModel struct {
	ID                   types.String `tfsdk:"id"`
	App                  types.String `tfsdk:"app"`
	Pipeline             types.String `tfsdk:"pipeline"`
	Stage                types.String `tfsdk:"stage"`
	RequiredStatusChecks types.Set    `tfsdk:"required_status_checks"`
}

// pipelineStages are the stages in promotion order.
var pipelineStages = []string{client.StageReview, client.StageDevelopment, client.StageStaging, client.StageProduction}

// statusContextRe is the server's rule for release status contexts.
var statusContextRe = regexp.MustCompile(domain.StatusContextPattern)

func (r *pipelineCouplingResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_pipeline_coupling"
}

func (r *pipelineCouplingResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "Puts an app in a pipeline at a stage, with the release status checks a release must pass " +
			"before it is promoted to this app. An app is in at most one pipeline. " +
			"Coupling needs membership of the pipeline's team and the right to change the app. " +
			"Dropping a required status check, or deleting a coupling that has any, loosens a gate: only the pipeline's team (and admins) may.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Description:   "The coupling's UUID.",
				Computed:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"app": schema.StringAttribute{
				Description: "The app to couple, by name or id. Changing it to another app replaces the coupling; " +
					"writing the same app's id for its name, or the other way round, only updates the state. " +
					"A coupling imported by its id records the app's id.",
				Required:   true,
				Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"pipeline": schema.StringAttribute{
				Description: "The pipeline, by name or id (`berth_pipeline.<name>.id`). Changing it to another pipeline replaces the coupling; " +
					"writing the same pipeline's id for its name, or the other way round, only updates the state. " +
					"An imported coupling records the pipeline's id.",
				Required:   true,
				Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"stage": schema.StringAttribute{
				Description:   "The app's stage in the pipeline: `review`, `development`, `staging` or `production`. Promotions go from one stage to the next. Changing it replaces the coupling.",
				Required:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:    []validator.String{stringvalidator.OneOf(pipelineStages...)},
			},
			"required_status_checks": schema.SetAttribute{
				Description: "Release status contexts (e.g. `ci/circleci`) that must be in state `success` on a release before it is promoted to this app; " +
					"each is 6 to 31 letters, digits and `./\\+-`. Defaults to none. A `review` coupling takes none. " +
					"Changed in place; removing a context is for the pipeline's team (and admins).",
				ElementType: types.StringType,
				Optional:    true,
				Computed:    true,
				Default:     setdefault.StaticValue(setOf(nil)),
				Validators: []validator.Set{setvalidator.ValueStringsAre(
					stringvalidator.RegexMatches(statusContextRe, "must be 6 to 31 letters, digits or ./\\+-"),
				)},
			},
		},
	}
}

// ValidateConfig refuses status checks on a review coupling at plan time,
// as the server would at apply time.
func (r *pipelineCouplingResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var cfg pipelineCouplingModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if cfg.Stage.ValueString() == client.StageReview && !cfg.RequiredStatusChecks.IsUnknown() && len(cfg.RequiredStatusChecks.Elements()) > 0 {
		resp.Diagnostics.AddAttributeError(path.Root("required_status_checks"), "Status checks on a review coupling",
			"Releases are never promoted to review apps, so a review coupling takes no required status checks.")
	}
}

// ModifyPlan replaces the coupling when its app or its pipeline changes:
// the server cannot move a coupling. A reference rewritten in its other
// form (name for id) designates the same entity and is only an update.
func (r *pipelineCouplingResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.State.Raw.IsNull() || req.Plan.Raw.IsNull() {
		return
	}
	var plan, state pipelineCouplingModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	appChanged, pipelineChanged := !plan.App.Equal(state.App), !plan.Pipeline.Equal(state.Pipeline)
	if !appChanged && !pipelineChanged {
		return
	}
	current := &client.Coupling{}
	if !plan.App.IsUnknown() && !plan.Pipeline.IsUnknown() {
		c, _, err := r.client.Couplings.Get(ctx, state.ID.ValueString())
		switch {
		case err == nil:
			current = c
		case !client.IsNotFound(err):
			resp.Diagnostics.AddError("Cannot read pipeline coupling", err.Error())
			return
		}
	}
	if appChanged && !designates(plan.App, current.App.ID, current.App.Name) {
		resp.RequiresReplace = append(resp.RequiresReplace, path.Root("app"))
	}
	if pipelineChanged && !designates(plan.Pipeline, current.Pipeline.ID, current.Pipeline.Name) {
		resp.RequiresReplace = append(resp.RequiresReplace, path.Root("pipeline"))
	}
}

func (r *pipelineCouplingResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	data := providerDataFrom(req.ProviderData, &resp.Diagnostics)
	if data == nil {
		return
	}
	r.client = data.client
}

func (r *pipelineCouplingResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan pipelineCouplingModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var contexts []string
	resp.Diagnostics.Append(plan.RequiredStatusChecks.ElementsAs(ctx, &contexts, false)...)
	if resp.Diagnostics.HasError() {
		return
	}
	c, _, err := r.client.Couplings.Create(ctx, client.NewCoupling{
		App:                  plan.App.ValueString(),
		Pipeline:             plan.Pipeline.ValueString(),
		Stage:                plan.Stage.ValueString(),
		RequiredStatusChecks: &client.StatusChecks{Contexts: nonNil(contexts)},
	})
	if client.IsConflict(err) {
		resp.Diagnostics.AddAttributeError(path.Root("app"), "App already in a pipeline",
			fmt.Sprintf("%s.\nAn app is in at most one pipeline. If that coupling is the one meant here, import it: "+
				"terraform import berth_pipeline_coupling.<name> %s", err, plan.App.ValueString()))
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot couple app to pipeline", err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, couplingModelOf(c, plan))...)
}

func (r *pipelineCouplingResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state pipelineCouplingModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	// Deleting the app or the pipeline deletes the coupling with it, so a
	// missing parent reads as a missing coupling.
	c, _, err := r.client.Couplings.Get(ctx, state.ID.ValueString())
	if client.IsNotFound(err) {
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot read pipeline coupling", err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, couplingModelOf(c, state))...)
}

// Update changes the required status checks; app and pipeline change here
// only in form (ModifyPlan replaces the coupling otherwise).
func (r *pipelineCouplingResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state pipelineCouplingModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var c *client.Coupling
	var err error
	if plan.RequiredStatusChecks.Equal(state.RequiredStatusChecks) {
		c, _, err = r.client.Couplings.Get(ctx, state.ID.ValueString())
	} else {
		var contexts []string
		resp.Diagnostics.Append(plan.RequiredStatusChecks.ElementsAs(ctx, &contexts, false)...)
		if resp.Diagnostics.HasError() {
			return
		}
		c, _, err = r.client.Couplings.Update(ctx, state.ID.ValueString(), contexts)
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot change the required status checks", err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, couplingModelOf(c, plan))...)
}

// Delete removes the app from the pipeline; the app itself stays.
func (r *pipelineCouplingResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state pipelineCouplingModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if _, _, err := r.client.Couplings.Delete(ctx, state.ID.ValueString()); err != nil && !client.IsNotFound(err) {
		resp.Diagnostics.AddError("Cannot delete pipeline coupling", err.Error())
	}
}

// ImportState takes the coupling's id, or its app's name or id (an app is
// in at most one pipeline); imported by the app, the state records the app
// in that form.
func (r *pipelineCouplingResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	c, _, err := r.client.Couplings.Get(ctx, req.ID)
	if client.IsNotFound(err) {
		c, _, err = r.client.Couplings.GetByApp(ctx, req.ID)
		if err == nil {
			resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("app"), req.ID)...)
		}
	}
	if client.IsNotFound(err) {
		resp.Diagnostics.AddError("Cannot import pipeline coupling",
			fmt.Sprintf("%q is neither the id of a coupling nor the name or id of an app in a pipeline.", req.ID))
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot import pipeline coupling", err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), c.ID)...)
}

// couplingModelOf is the state of c, keeping the references to its app and
// pipeline in the form prior used.
func couplingModelOf(c *client.Coupling, prior pipelineCouplingModel) *pipelineCouplingModel {
	return &pipelineCouplingModel{
		ID:                   types.StringValue(c.ID),
		App:                  refAs(prior.App, c.App.ID, c.App.Name),
		Pipeline:             refAs(prior.Pipeline, c.Pipeline.ID, c.Pipeline.Name),
		Stage:                types.StringValue(c.Stage),
		RequiredStatusChecks: setOf(c.RequiredStatusChecks.Contexts),
	}
}
