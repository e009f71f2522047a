package provider

import (
	"context"
	"regexp"

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
	_ resource.Resource                = &serviceInstanceResource{}
	_ resource.ResourceWithConfigure   = &serviceInstanceResource{}
	_ resource.ResourceWithImportState = &serviceInstanceResource{}
)

// NewServiceInstanceResource returns the berth_service_instance resource.
func NewServiceInstanceResource() resource.Resource { return &serviceInstanceResource{} }

type serviceInstanceResource struct {
	client *client.Client
}

type serviceInstanceModel struct {
	ID      types.String `tfsdk:"id"`
	Name    types.String `tfsdk:"name"`
	Service types.String `tfsdk:"service"`
	Team    types.String `tfsdk:"team"`
	Teams   types.Set    `tfsdk:"teams"`
}

var instanceNameRe = regexp.MustCompile(domain.InstanceNamePattern)

func (r *serviceInstanceResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_service_instance"
}

func (r *serviceInstanceResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "An instance of a service (one database of a database service), owned by teams, that apps bind to with `berth_service_binding`. " +
			"For a brokered service the broker creates and removes it. berthd has no way to change an instance, so every change replaces it; " +
			"an instance still bound to apps cannot be removed.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Description:   "The instance name.",
				Computed:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"name": schema.StringAttribute{
				Description:   "Name of the instance, unique across services: a letter, then letters, digits, `-` and `_`, 2 to 63 characters. Changing it replaces the instance.",
				Required:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators: []validator.String{
					stringvalidator.RegexMatches(instanceNameRe, "must start with a letter and contain only letters, digits, '-' and '_'"),
					stringvalidator.LengthBetween(2, 63),
				},
			},
			"service": schema.StringAttribute{
				Description:   "Id of the service the instance belongs to; the user the provider authenticates as must be allowed to use it. Changing it replaces the instance.",
				Required:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:    []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"team": schema.StringAttribute{
				Description: "The team that owns the instance; it must be allowed to use the service, and the user the provider authenticates as must be in it unless admin. " +
					"When not set, every team of that user that may use the service owns it. Read back when the instance has exactly one owner team. Changing it replaces the instance.",
				Optional: true,
				Computed: true,
				PlanModifiers: []planmodifier.String{
					stringplanmodifier.UseStateForUnknown(),
					stringplanmodifier.RequiresReplace(),
				},
				Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"teams": schema.SetAttribute{
				Description:   "The teams that own the instance: their members may bind, unbind and remove it.",
				ElementType:   types.StringType,
				Computed:      true,
				PlanModifiers: []planmodifier.Set{setplanmodifier.UseStateForUnknown()},
			},
		},
	}
}

func (r *serviceInstanceResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	data := providerDataFrom(req.ProviderData, &resp.Diagnostics)
	if data == nil {
		return
	}
	r.client = data.client
}

func (r *serviceInstanceResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan serviceInstanceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	inst, _, err := r.client.Instances.Create(ctx, client.CreateInstanceRequest{
		Name:    plan.Name.ValueString(),
		Service: plan.Service.ValueString(),
		Owner:   plan.Team.ValueString(),
	})
	if err != nil {
		resp.Diagnostics.AddError("Cannot create service instance", err.Error())
		return
	}
	plan.setFromInstance(inst)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *serviceInstanceResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state serviceInstanceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	inst, _, err := r.client.Instances.Get(ctx, state.ID.ValueString())
	if client.IsNotFound(err) {
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot read service instance", err.Error())
		return
	}
	state.setFromInstance(inst)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

// Update only carries the plan over: every attribute one can set requires
// replacement, since berthd cannot change an instance.
func (r *serviceInstanceResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan serviceInstanceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *serviceInstanceResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state serviceInstanceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if _, err := r.client.Instances.Delete(ctx, state.ID.ValueString()); err != nil && !client.IsNotFound(err) {
		resp.Diagnostics.AddError("Cannot delete service instance", err.Error())
	}
}

func (r *serviceInstanceResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resource.ImportStatePassthroughID(ctx, path.Root("id"), req, resp)
}

func (m *serviceInstanceModel) setFromInstance(inst *client.Instance) {
	m.ID = types.StringValue(inst.Name)
	m.Name = types.StringValue(inst.Name)
	m.Service = types.StringValue(inst.Service)
	m.Teams = setOf(inst.Teams)
	m.Team = types.StringNull()
	if len(inst.Teams) == 1 {
		m.Team = types.StringValue(inst.Teams[0])
	}
}
