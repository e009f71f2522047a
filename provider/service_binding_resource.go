package provider

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/listplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/berthdev/terraform-provider-berth/client"
)

var (
	_ resource.Resource                = &serviceBindingResource{}
	_ resource.ResourceWithConfigure   = &serviceBindingResource{}
	_ resource.ResourceWithImportState = &serviceBindingResource{}
)

// NewServiceBindingResource returns the berth_service_binding resource.
func NewServiceBindingResource() resource.Resource { return &serviceBindingResource{} }

type serviceBindingResource struct {
	client *client.Client
}

type serviceBindingModel struct {
	ID           types.String `tfsdk:"id"`
	Instance     types.String `tfsdk:"instance"`
	App          types.String `tfsdk:"app"`
	ExportedVars types.List   `tfsdk:"exported_vars"`
}

// bindingAppRe keeps the import id <instance>/<app> unambiguous; berthd
// checks the rest of the name.
var bindingAppRe = regexp.MustCompile(`^[^/]+$`)

func (r *serviceBindingResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_service_binding"
}

func (r *serviceBindingResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "Binds an app to a service instance: the vars the instance exports (from its broker, or the `env` of a static service) " +
			"become private config vars of the app, and `TSURU_SERVICES` describes the app's bindings. Destroying it unbinds the app, removing those vars. " +
			"A binding removed elsewhere, or whose app or instance was deleted, is dropped from the state and created again on the next apply.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Description:   "`<instance>/<app>`, the form `terraform import` takes.",
				Computed:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"instance": schema.StringAttribute{
				Description:   "Name of the service instance. Changing it replaces the binding.",
				Required:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators: []validator.String{
					stringvalidator.RegexMatches(instanceNameRe, "must be a service instance name"),
				},
			},
			"app": schema.StringAttribute{
				Description:   "Name of the app. Changing it replaces the binding.",
				Required:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators: []validator.String{
					stringvalidator.RegexMatches(bindingAppRe, "must be an app name"),
				},
			},
			"exported_vars": schema.ListAttribute{
				Description: "Names of the app's config vars this binding provides, sorted. " +
					"When two bound instances export the same name, the one bound last provides it, so only that binding lists it.",
				ElementType:   types.StringType,
				Computed:      true,
				PlanModifiers: []planmodifier.List{listplanmodifier.UseStateForUnknown()},
			},
		},
	}
}

func (r *serviceBindingResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	data := providerDataFrom(req.ProviderData, &resp.Diagnostics)
	if data == nil {
		return
	}
	r.client = data.client
}

func (r *serviceBindingResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan serviceBindingModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	instance, app := plan.Instance.ValueString(), plan.App.ValueString()
	if _, _, err := r.client.Instances.Bind(ctx, instance, app); err != nil {
		resp.Diagnostics.AddError("Cannot bind service instance", err.Error())
		return
	}
	// Should this read fail, the next apply binds again, which berthd
	// answers with the existing binding.
	vars, found, err := r.readBinding(ctx, instance, app)
	if err == nil && !found {
		err = fmt.Errorf("app %s is not bound to %s right after binding it: was the app, the instance or the binding removed meanwhile?", app, instance)
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot read service binding", err.Error())
		return
	}
	plan.ID = types.StringValue(bindingID(instance, app))
	plan.ExportedVars = listOf(vars)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// readBinding returns the names of the vars the binding of app to instance
// provides; found is false when the binding, the app or the instance is
// gone.
func (r *serviceBindingResource) readBinding(ctx context.Context, instance, app string) (vars []string, found bool, err error) {
	inst, _, err := r.client.Instances.Get(ctx, instance)
	if client.IsNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	a, _, err := r.client.Apps.Get(ctx, app)
	if client.IsNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if !slices.Contains(inst.Apps, a.Name) {
		return nil, false, nil
	}
	env, _, err := r.client.Env.List(ctx, a.Name, nil)
	if client.IsNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	vars = []string{}
	for _, v := range env {
		if v.Instance == inst.Name {
			vars = append(vars, v.Name)
		}
	}
	return vars, true, nil
}

func (r *serviceBindingResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state serviceBindingModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	vars, found, err := r.readBinding(ctx, state.Instance.ValueString(), state.App.ValueString())
	if err != nil {
		resp.Diagnostics.AddError("Cannot read service binding", err.Error())
		return
	}
	if !found {
		resp.State.RemoveResource(ctx)
		return
	}
	state.ExportedVars = listOf(vars)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

// Update only carries the plan over: both inputs require replacement.
func (r *serviceBindingResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan serviceBindingModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// Delete unbinds; a binding already gone (or whose app or instance is
// gone) counts as removed.
func (r *serviceBindingResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state serviceBindingModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if _, err := r.client.Instances.Unbind(ctx, state.Instance.ValueString(), state.App.ValueString()); err != nil && !client.IsNotFound(err) {
		resp.Diagnostics.AddError("Cannot unbind service instance", err.Error())
	}
}

func (r *serviceBindingResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	instance, app, ok := strings.Cut(req.ID, "/")
	if !ok || instance == "" || app == "" || strings.Contains(app, "/") {
		resp.Diagnostics.AddError("Invalid import id", fmt.Sprintf("expected <instance>/<app>, got %q", req.ID))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), bindingID(instance, app))...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("instance"), instance)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("app"), app)...)
}

func bindingID(instance, app string) string { return instance + "/" + app }
