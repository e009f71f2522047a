package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/berthdev/terraform-provider-berth/client"
	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
)

var (
	_ resource.Resource                = &stackLeaseResource{}
	_ resource.ResourceWithConfigure   = &stackLeaseResource{}
	_ resource.ResourceWithImportState = &stackLeaseResource{}
	_ resource.ResourceWithModifyPlan  = &stackLeaseResource{}
)

// NewStackLeaseResource returns the berth_stack_lease resource.
func NewStackLeaseResource() resource.Resource { return &stackLeaseResource{} }

type stackLeaseResource struct {
	data *providerData
}

type stackLeaseModel struct {
	ID        types.String `tfsdk:"id"`
	APIKey    types.String `tfsdk:"api_key"`
	Branch    types.String `tfsdk:"branch"`
	TTL       types.Int64  `tfsdk:"ttl"`
	Commit    types.String `tfsdk:"commit"`
	StackName types.String `tfsdk:"stack_name"`
	LeaseID   types.String `tfsdk:"lease_id"`
	ExpiresAt types.String `tfsdk:"expires_at"`
}

// maxStackLeaseTTL is the longest lease berthd grants, in seconds (30 days).
const maxStackLeaseTTL = int64(domain.MaxStackLeaseTTL / time.Second)

func (r *stackLeaseResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_stack_lease"
}

func (r *stackLeaseResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "A lease on a test stack of a stack project, as a CI job takes with `POST /requestStack`: " +
			"the branch's own stack if it is available, else the available stack used longest ago, else a new one. " +
			"Destroying the resource releases the stack. A lease lost outside Terraform (released, expired, or " +
			"the stack taken by another job after that) is removed from the state with a warning, and the next apply " +
			"requests a new one.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Description:   "The name of the leased stack.",
				Computed:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"api_key": schema.StringAttribute{
				Description: "Key of the stack project to lease from, e.g. `berth_stack_project.x.api_key`. " +
					"Defaults to the provider's `stack_api_key`. Changing it from one key to another replaces the lease; " +
					"setting it on a lease that used the provider's key (an imported lease) keeps the lease, which must be visible with the new key.",
				Optional:  true,
				Sensitive: true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplaceIf(
					func(_ context.Context, req planmodifier.StringRequest, resp *stringplanmodifier.RequiresReplaceIfFuncResponse) {
						resp.RequiresReplace = !req.StateValue.IsNull()
					},
					"Changing the key from one key to another replaces the lease.",
					"Changing the key from one key to another replaces the lease.",
				)},
				Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"branch": schema.StringAttribute{
				Description:   "Branch the stack is leased for; the branch gets its own stack back when it is available. Defaults to `main`. Changing it replaces the lease.",
				Optional:      true,
				Computed:      true,
				Default:       stringdefault.StaticString("main"),
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:    []validator.String{stringvalidator.LengthBetween(1, 255)},
			},
			"ttl": schema.Int64Attribute{
				Description: fmt.Sprintf("Lifetime of the lease in seconds, from 1 to %d (30 days). Defaults to the server's "+
					"`--stack-lease-ttl` (6 hours). A lease cannot be extended: changing it replaces the lease, and a lease that "+
					"ran out is lost (the next apply requests a new one).", maxStackLeaseTTL),
				Optional: true,
				Computed: true,
				PlanModifiers: []planmodifier.Int64{
					int64planmodifier.UseStateForUnknown(),
					int64planmodifier.RequiresReplace(),
				},
				Validators: []validator.Int64{int64validator.Between(1, maxStackLeaseTTL)},
			},
			"commit": schema.StringAttribute{
				Description: "Commit deployed on the stack: sets its `lastDeployedCommit`. Changed in place; " +
					"a change made outside Terraform shows as drift. When not set, Terraform leaves `lastDeployedCommit` to others (CI jobs).",
				Optional:   true,
				Validators: []validator.String{stringvalidator.LengthBetween(1, 255)},
			},
			"stack_name": schema.StringAttribute{
				Description:   "Name of the leased stack, e.g. `test-2`: the stage to deploy to.",
				Computed:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"lease_id": schema.StringAttribute{
				Description:   "Id of the lease. Terraform releases the stack with it, so it never frees a stack another job holds now.",
				Computed:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"expires_at": schema.StringAttribute{
				Description:   "When the lease ends (RFC 3339, UTC).",
				Computed:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
		},
	}
}

func (r *stackLeaseResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	data := providerDataFrom(req.ProviderData, &resp.Diagnostics)
	if data == nil {
		return
	}
	r.data = data
}

// ModifyPlan refuses, at plan time, a lease without any project key.
func (r *stackLeaseResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || r.data == nil {
		return
	}
	var key types.String
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("api_key"), &key)...)
	if key.IsNull() && r.data.stackAPIKey == "" {
		resp.Diagnostics.AddAttributeError(path.Root("api_key"), "Missing stack project key", errNoStackKey.Error())
	}
}

// setFrom copies what the API answers about the leased stack into m; the
// commit is the caller's business.
func (m *stackLeaseModel) setFrom(st *client.Stack) {
	m.ID = types.StringValue(st.StackName)
	m.StackName = types.StringValue(st.StackName)
	m.Branch = types.StringValue(st.Branch)
	m.ExpiresAt = types.StringValue(st.ExpiresAt.UTC().Format(time.RFC3339))
	// Leases made before berthd recorded their start have no leasedAt:
	// their ttl stays what the state says.
	if !st.LeasedAt.IsZero() {
		m.TTL = types.Int64Value(int64(st.ExpiresAt.Sub(st.LeasedAt) / time.Second))
	}
	// A commit left out of the configuration is not managed.
	if !m.Commit.IsNull() {
		m.Commit = types.StringValue(st.LastDeployedCommit)
	}
}

func (r *stackLeaseResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan stackLeaseModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	c, err := r.data.stackClient(plan.APIKey.ValueString())
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("api_key"), "Cannot lease a stack", err.Error())
		return
	}
	sr := client.StackRequest{Branch: plan.Branch.ValueString()}
	if !plan.TTL.IsUnknown() && !plan.TTL.IsNull() {
		sr.TTL = time.Duration(plan.TTL.ValueInt64()) * time.Second
	}
	st, _, err := c.Stacks.Request(ctx, sr)
	if err != nil {
		resp.Diagnostics.AddError("Cannot lease a stack", err.Error())
		return
	}
	want := plan.Commit.ValueString()
	plan.setFrom(st)
	plan.LeaseID = types.StringValue(st.LeaseID)
	if plan.Commit.IsNull() || st.LastDeployedCommit == want {
		resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
		return
	}
	// Record the lease at once (with the stack's commit): if the commit
	// cannot be set, the lease is in the state (tainted), not held by
	// nobody until it expires.
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if st, _, err = c.Stacks.SetLastDeployedCommit(ctx, st.StackName, want); err != nil {
		resp.Diagnostics.AddError("Cannot set the commit of stack "+plan.StackName.ValueString(), err.Error())
		return
	}
	plan.Commit = types.StringValue(st.LastDeployedCommit)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *stackLeaseResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state stackLeaseModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	c, err := r.data.stackClient(state.APIKey.ValueString())
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("api_key"), "Cannot read stack lease", err.Error())
		return
	}
	name := state.StackName.ValueString()
	st, _, err := c.Stacks.Get(ctx, name)
	switch {
	case client.IsNotFound(err):
		resp.State.RemoveResource(ctx)
		return
	case client.IsUnauthorized(err) && !state.APIKey.IsNull():
		// The lease's own key no longer exists: the project was deleted
		// or its key rotated. Terraform cannot see the lease any more.
		resp.Diagnostics.AddWarning("Stack lease lost",
			fmt.Sprintf("The api_key of the lease on stack %s was refused (the project's key was rotated or the project deleted). "+
				"Terraform forgets the lease; if it is still held, it ends at %s. Server said: %s", name, state.ExpiresAt.ValueString(), err))
		resp.State.RemoveResource(ctx)
		return
	case err != nil:
		resp.Diagnostics.AddError("Cannot read stack lease", err.Error())
		return
	}
	if st.LeaseID != state.LeaseID.ValueString() {
		why := "it was released or it expired"
		if !st.IsAvailable {
			why = "another lease holds the stack now"
		}
		resp.Diagnostics.AddWarning("Stack lease lost",
			fmt.Sprintf("The lease %s on stack %s is gone: %s. Terraform will request a new lease.", state.LeaseID.ValueString(), name, why))
		resp.State.RemoveResource(ctx)
		return
	}
	state.setFrom(st)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *stackLeaseResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state stackLeaseModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	c, err := r.data.stackClient(plan.APIKey.ValueString())
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("api_key"), "Cannot change stack lease", err.Error())
		return
	}
	// The key may have changed (set on an imported lease): it must see the
	// lease this resource holds.
	name := state.StackName.ValueString()
	st, _, err := c.Stacks.Get(ctx, name)
	if err == nil && st.LeaseID != state.LeaseID.ValueString() {
		err = fmt.Errorf("the lease %s no longer holds stack %s (or the key is another project's); run terraform apply again to request a new lease", state.LeaseID.ValueString(), name)
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot change stack lease", err.Error())
		return
	}
	if !plan.Commit.IsNull() && plan.Commit.ValueString() != st.LastDeployedCommit {
		if st, _, err = c.Stacks.SetLastDeployedCommit(ctx, name, plan.Commit.ValueString()); err != nil {
			resp.Diagnostics.AddError("Cannot set the commit of stack "+name, err.Error())
			return
		}
	}
	plan.setFrom(st)
	plan.LeaseID = state.LeaseID
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *stackLeaseResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state stackLeaseModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	c, err := r.data.stackClient(state.APIKey.ValueString())
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("api_key"), "Cannot release stack", err.Error())
		return
	}
	// With the lease id, a stack that another job holds now stays held:
	// 409 means this lease is gone already, as 404 does.
	_, _, err = c.Stacks.Release(ctx, state.StackName.ValueString(), state.LeaseID.ValueString())
	if err != nil && !client.IsNotFound(err) && !client.IsConflict(err) {
		resp.Diagnostics.AddError("Cannot release stack "+state.StackName.ValueString(), err.Error())
	}
}

// ImportState adopts the current lease of a stack, read with the
// provider's stack_api_key: import has no configuration to take a key
// from.
func (r *stackLeaseResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	c, err := r.data.stackClient("")
	if err != nil {
		resp.Diagnostics.AddError("Cannot import stack lease", "Importing a lease reads the stack with the provider's stack_api_key: "+err.Error())
		return
	}
	st, _, err := c.Stacks.Get(ctx, req.ID)
	if err != nil {
		resp.Diagnostics.AddError("Cannot import stack lease", err.Error())
		return
	}
	if st.IsAvailable {
		resp.Diagnostics.AddError("Cannot import stack lease", fmt.Sprintf("stack %s is available: only a leased stack can be imported", st.StackName))
		return
	}
	m := stackLeaseModel{
		APIKey:  types.StringNull(),
		LeaseID: types.StringValue(st.LeaseID),
		TTL:     types.Int64Null(),
		Commit:  types.StringNull(),
	}
	m.setFrom(st)
	if st.LastDeployedCommit != "" {
		m.Commit = types.StringValue(st.LastDeployedCommit)
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}
