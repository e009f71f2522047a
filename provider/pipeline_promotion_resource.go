package provider

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/boolplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/listplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/berthdev/terraform-provider-berth/client"
)

var (
	_ resource.Resource                = &pipelinePromotionResource{}
	_ resource.ResourceWithConfigure   = &pipelinePromotionResource{}
	_ resource.ResourceWithImportState = &pipelinePromotionResource{}
	_ resource.ResourceWithModifyPlan  = &pipelinePromotionResource{}
)

// NewPipelinePromotionResource returns the berth_pipeline_promotion resource.
func NewPipelinePromotionResource() resource.Resource { return &pipelinePromotionResource{} }

type pipelinePromotionResource struct {
	client *client.Client
}

// defaultPromotionTimeout is how long create waits for a promotion when
// the configuration sets no timeout: well under berthd's default promotion
// deadline (30 minutes), after which the server fails it anyway.
const defaultPromotionTimeout = 10 * time.Minute

type pipelinePromotionModel struct {
	ID             types.String   `tfsdk:"id"`
	Pipeline       types.String   `tfsdk:"pipeline"`
	SourceApp      types.String   `tfsdk:"source_app"`
	ReleaseID      types.String   `tfsdk:"release_id"`
	ReleaseVersion types.Int64    `tfsdk:"release_version"`
	Targets        types.Set      `tfsdk:"targets"`
	Safe           types.Bool     `tfsdk:"safe"`
	Status         types.String   `tfsdk:"status"`
	Results        types.List     `tfsdk:"results"`
	Timeouts       timeouts.Value `tfsdk:"timeouts"`
}

// promotionResultModel is the outcome on one target.
type promotionResultModel struct {
	AppID        types.String `tfsdk:"app_id"`
	AppName      types.String `tfsdk:"app_name"`
	Status       types.String `tfsdk:"status"`
	ErrorMessage types.String `tfsdk:"error_message"`
	ReleaseID    types.String `tfsdk:"release_id"`
}

var promotionResultType = types.ObjectType{AttrTypes: map[string]attr.Type{
	"app_id":        types.StringType,
	"app_name":      types.StringType,
	"status":        types.StringType,
	"error_message": types.StringType,
	"release_id":    types.StringType,
}}

func (r *pipelinePromotionResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_pipeline_promotion"
}

func (r *pipelinePromotionResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	timeoutsBlock := timeouts.Block(ctx, timeouts.Opts{
		Create:            true,
		CreateDescription: "How long to wait for the promotion to finish, as a duration such as `30s` or `10m`. Defaults to `10m`.",
	}).(schema.SingleNestedBlock)
	timeoutsBlock.Description = "How long operations may take."
	resp.Schema = schema.Schema{
		Description: "Promotes a release of an app to the apps of the next stage of its pipeline, and waits for the promotion to finish. " +
			"Each target gets a new release with the promoted release's image (or meta_version) and its own config. " +
			"Creating the resource fails with the server's reasons when the promotion is refused (a required status check " +
			"not in state `success`, a target outside the next stage, config that differs in a safe promotion) or when a target fails. " +
			"A promotion cannot be changed or undone: a change of what is promoted (pipeline, source app, release, targets, `safe`) " +
			"makes a new promotion, so changing `release_id` promotes again, while a new timeout or a reference rewritten in its other form " +
			"(an app's name for its id, a version number for a release id) only updates the state. " +
			"Destroying the resource only removes it from the state: what it released stays released.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Description:   "The promotion's UUID.",
				Computed:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"pipeline": schema.StringAttribute{
				Description: "The pipeline, by name or id. Another pipeline promotes again; " +
					"the same pipeline written by id for its name, or the other way round, only updates the state. " +
					"An imported promotion records the pipeline's id.",
				Required:   true,
				Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"source_app": schema.StringAttribute{
				Description: "The app whose release is promoted, by name or id; it must be coupled to the pipeline, in any stage but production. " +
					"Another app promotes again; the same app in its other form only updates the state. " +
					"An imported promotion records the app's id.",
				Required:   true,
				Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"release_id": schema.StringAttribute{
				Description: "The release of `source_app` to promote, by id (a version number works too). " +
					"When not set, the source's newest release at the time of creation, which this attribute then shows; " +
					"a newer release made later does not change the plan. " +
					"Another release promotes again; the same release by its version number only updates the state.",
				Optional:      true,
				Computed:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
				Validators:    []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"release_version": schema.Int64Attribute{
				Description:   "The version number of the promoted release.",
				Computed:      true,
				PlanModifiers: []planmodifier.Int64{int64planmodifier.UseStateForUnknown()},
			},
			"targets": schema.SetAttribute{
				Description: "The apps to promote to, by name or id: each must be coupled to the pipeline in the stage after the source's, " +
					"and every required status check of its coupling must be in state `success` on the release. " +
					"Other targets promote again; the same apps in their other form only update the state. " +
					"An imported promotion records the apps' ids.",
				ElementType: types.StringType,
				Required:    true,
				Validators: []validator.Set{
					setvalidator.SizeAtLeast(1),
					setvalidator.ValueStringsAre(stringvalidator.LengthAtLeast(1)),
				},
			},
			"safe": schema.BoolAttribute{
				Description: "Refuse the promotion unless the source and every target have the same config var names " +
					"and the same bound services (values are not compared). Defaults to `false`.",
				Optional:      true,
				Computed:      true,
				Default:       booldefault.StaticBool(false),
				PlanModifiers: []planmodifier.Bool{boolplanmodifier.RequiresReplace()},
			},
			"status": schema.StringAttribute{
				Description: "`successful` when every target got its release, else `failed`; " +
					"`pending` only in the state of a promotion whose creation timed out (Terraform then marks it tainted).",
				Computed:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"results": schema.ListNestedAttribute{
				Description:   "The outcome on each target.",
				Computed:      true,
				PlanModifiers: []planmodifier.List{listplanmodifier.UseStateForUnknown()},
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"app_id":        schema.StringAttribute{Description: "The target app's id.", Computed: true},
					"app_name":      schema.StringAttribute{Description: "The target app's name.", Computed: true},
					"status":        schema.StringAttribute{Description: "`successful`, `failed` or `pending`.", Computed: true},
					"error_message": schema.StringAttribute{Description: "Why the target failed; null otherwise.", Computed: true},
					"release_id":    schema.StringAttribute{Description: "The release the promotion made on the target; null until then and when it failed.", Computed: true},
				}},
			},
		},
		Blocks: map[string]schema.Block{"timeouts": timeoutsBlock},
	}
}

// ModifyPlan replaces the promotion, which promotes again, when what it
// promotes changes: the pipeline, the source app, the release or the
// targets. A reference rewritten in its other form (a name for an id, a
// version number for a release id) designates the same thing and is only
// an update.
func (r *pipelinePromotionResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.State.Raw.IsNull() || req.Plan.Raw.IsNull() {
		return
	}
	var plan, state pipelinePromotionModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	changed := map[string]bool{
		"pipeline":   !plan.Pipeline.Equal(state.Pipeline),
		"source_app": !plan.SourceApp.Equal(state.SourceApp),
		"release_id": !plan.ReleaseID.Equal(state.ReleaseID),
		"targets":    !plan.Targets.Equal(state.Targets),
	}
	if !changed["pipeline"] && !changed["source_app"] && !changed["release_id"] && !changed["targets"] {
		return
	}
	p, _, err := r.client.Promotions.Get(ctx, state.ID.ValueString())
	if client.IsNotFound(err) {
		for attr, c := range changed {
			if c {
				resp.RequiresReplace = append(resp.RequiresReplace, path.Root(attr))
			}
		}
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot read promotion", err.Error())
		return
	}
	var targets []client.PromotionTarget
	if changed["targets"] {
		if targets, _, err = r.client.Promotions.Targets(ctx, p.ID, nil); err != nil {
			resp.Diagnostics.AddError("Cannot read promotion targets", err.Error())
			return
		}
	}
	same := map[string]bool{
		"pipeline":   designates(plan.Pipeline, p.Pipeline.ID, p.Pipeline.Name),
		"source_app": designates(plan.SourceApp, p.Source.App.ID, p.Source.App.Name),
		"release_id": designates(plan.ReleaseID, p.Source.Release.ID, strconv.Itoa(p.Source.Release.Version)),
		"targets":    designatesAll(plan.Targets, targets),
	}
	for attr, c := range changed {
		if c && !same[attr] {
			resp.RequiresReplace = append(resp.RequiresReplace, path.Root(attr))
		}
	}
}

// designatesAll reports whether refs, a set of app references, names
// exactly the apps of targets.
func designatesAll(refs types.Set, targets []client.PromotionTarget) bool {
	if refs.IsUnknown() || refs.IsNull() || len(refs.Elements()) != len(targets) {
		return false
	}
	for _, t := range targets {
		found := slices.ContainsFunc(refs.Elements(), func(v attr.Value) bool {
			ref, ok := v.(types.String)
			return ok && designates(ref, t.App.ID, t.App.Name)
		})
		if !found {
			return false
		}
	}
	return true
}

func (r *pipelinePromotionResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	data := providerDataFrom(req.ProviderData, &resp.Diagnostics)
	if data == nil {
		return
	}
	r.client = data.client
}

func (r *pipelinePromotionResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan pipelinePromotionModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Create(ctx, defaultPromotionTimeout)
	resp.Diagnostics.Append(diags...)
	var targets []string
	resp.Diagnostics.Append(plan.Targets.ElementsAs(ctx, &targets, false)...)
	if resp.Diagnostics.HasError() {
		return
	}
	// Sorted, so the server carries the targets out in an order that does
	// not depend on how Terraform happens to hand the set over.
	slices.Sort(targets)

	created, _, err := r.client.Promotions.Create(ctx, client.NewPromotion{
		Pipeline:      plan.Pipeline.ValueString(),
		Source:        plan.SourceApp.ValueString(),
		SourceRelease: plan.ReleaseID.ValueString(),
		Targets:       targets,
		Safe:          plan.Safe.ValueBool(),
	})
	if err != nil {
		title := "Cannot promote"
		if code := client.StatusCode(err); code == http.StatusConflict || code == http.StatusUnprocessableEntity {
			title = "Promotion refused"
		}
		resp.Diagnostics.AddError(title, serverReasons(err))
		return
	}
	// In the state from now on: whatever happens below, the promotion
	// exists, and an error leaves it tainted rather than forgotten.
	pending := promotionModelOf(created, nil, plan)
	resp.Diagnostics.Append(resp.State.Set(ctx, &pending)...)

	waitCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	p, _, err := r.client.Promotions.Wait(waitCtx, created.ID)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			resp.Diagnostics.AddError("Promotion still pending",
				fmt.Sprintf("Promotion %s did not finish within %s; berthd carries it on. The resource is tainted: "+
					"once the promotion has succeeded, `terraform untaint` keeps it; otherwise the next apply promotes again.", created.ID, timeout))
		} else {
			resp.Diagnostics.AddError("Cannot follow the promotion", err.Error())
		}
		return
	}
	model, outcome, diags := r.read(ctx, p, plan)
	resp.Diagnostics.Append(diags...)
	if diags.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &model)...)
	if p.Status != client.PromotionSuccessful {
		resp.Diagnostics.AddError("Promotion failed", failedTargets(p, outcome))
	}
}

func (r *pipelinePromotionResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state pipelinePromotionModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	// Promotions outlive their pipeline and apps, so a parent deleted by
	// hand does not make the promotion unreadable.
	p, _, err := r.client.Promotions.Get(ctx, state.ID.ValueString())
	if client.IsNotFound(err) {
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot read promotion", err.Error())
		return
	}
	model, _, diags := r.read(ctx, p, state)
	resp.Diagnostics.Append(diags...)
	if diags.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &model)...)
}

// read completes p with its targets into a model, keeping from prior the
// forms of its references and the timeouts.
func (r *pipelinePromotionResource) read(ctx context.Context, p *client.Promotion, prior pipelinePromotionModel) (pipelinePromotionModel, []client.PromotionTarget, diag.Diagnostics) {
	var diags diag.Diagnostics
	targets, _, err := r.client.Promotions.Targets(ctx, p.ID, nil)
	if err != nil {
		diags.AddError("Cannot read promotion targets", err.Error())
		return prior, nil, diags
	}
	m := promotionModelOf(p, targets, prior)
	results := make([]promotionResultModel, len(targets))
	for i, t := range targets {
		results[i] = promotionResultModel{
			AppID:        types.StringValue(t.App.ID),
			AppName:      types.StringValue(t.App.Name),
			Status:       types.StringValue(t.Status),
			ErrorMessage: types.StringNull(),
			ReleaseID:    types.StringNull(),
		}
		if t.ErrorMessage != "" {
			results[i].ErrorMessage = types.StringValue(t.ErrorMessage)
		}
		if t.Release != nil {
			results[i].ReleaseID = types.StringValue(t.Release.ID)
		}
	}
	m.Results, diags = types.ListValueFrom(ctx, promotionResultType, results)
	return m, targets, diags
}

// Update never promotes: it records new timeouts, or references rewritten
// in their other form (ModifyPlan replaces the promotion on any real
// change).
func (r *pipelinePromotionResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state pipelinePromotionModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	p, _, err := r.client.Promotions.Get(ctx, state.ID.ValueString())
	if err != nil {
		resp.Diagnostics.AddError("Cannot read promotion", err.Error())
		return
	}
	model, _, diags := r.read(ctx, p, plan)
	resp.Diagnostics.Append(diags...)
	if diags.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &model)...)
}

// Delete forgets the promotion: what it released stays released.
func (r *pipelinePromotionResource) Delete(context.Context, resource.DeleteRequest, *resource.DeleteResponse) {
}

// ImportState takes the promotion's UUID.
func (r *pipelinePromotionResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resource.ImportStatePassthroughID(ctx, path.Root("id"), req, resp)
}

// promotionModelOf is the state of p with the given targets (nil: not read
// yet, so the planned ones), keeping prior's forms of references and its
// timeouts. Results stay null: read fills them.
func promotionModelOf(p *client.Promotion, targets []client.PromotionTarget, prior pipelinePromotionModel) pipelinePromotionModel {
	m := pipelinePromotionModel{
		ID:             types.StringValue(p.ID),
		Pipeline:       refAs(prior.Pipeline, p.Pipeline.ID, p.Pipeline.Name),
		SourceApp:      refAs(prior.SourceApp, p.Source.App.ID, p.Source.App.Name),
		ReleaseID:      refAs(prior.ReleaseID, p.Source.Release.ID, strconv.Itoa(p.Source.Release.Version)),
		ReleaseVersion: types.Int64Value(int64(p.Source.Release.Version)),
		Targets:        prior.Targets,
		Safe:           types.BoolValue(p.Safe),
		Status:         types.StringValue(p.Status),
		Results:        types.ListNull(promotionResultType),
		Timeouts:       prior.Timeouts,
	}
	if targets != nil {
		refs := make([]string, len(targets))
		for i, t := range targets {
			refs[i] = t.App.ID
			for _, v := range prior.Targets.Elements() {
				if given, ok := v.(types.String); ok && designates(given, t.App.ID, t.App.Name) {
					refs[i] = given.ValueString()
				}
			}
		}
		m.Targets = setOf(refs)
	}
	return m
}

// serverReasons is err's message with each of the server's reasons (the
// details of a 409 or 422) on a line of its own.
func serverReasons(err error) string {
	var e *client.Error
	if !errors.As(err, &e) || len(e.Details) == 0 {
		return err.Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "berthd answered %d: %s", e.StatusCode, e.Message)
	for _, d := range e.Details {
		b.WriteString("\n  - " + d)
	}
	return b.String()
}

// failedTargets explains a failed promotion: the error of each failed
// target.
func failedTargets(p *client.Promotion, targets []client.PromotionTarget) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Promotion %s of %s v%d ended %s:", p.ID, p.Source.App.Name, p.Source.Release.Version, p.Status)
	for _, t := range targets {
		if t.Status != client.PromotionSuccessful {
			fmt.Fprintf(&b, "\n  - %s: %s", t.App.Name, t.ErrorMessage)
		}
	}
	return b.String()
}
