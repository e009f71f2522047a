package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/berthdev/terraform-provider-berth/client"
)

// procModel is one element of an app's procs.
type procModel struct {
	Name         types.String `tfsdk:"name"`
	NumInstances types.Int64  `tfsdk:"num_instances"`
	CPU          types.Int64  `tfsdk:"cpu"`
	Memory       types.String `tfsdk:"memory"`
}

var (
	procType = types.ObjectType{AttrTypes: map[string]attr.Type{
		"name": types.StringType, "num_instances": types.Int64Type, "cpu": types.Int64Type, "memory": types.StringType,
	}}
	unitType = types.ObjectType{AttrTypes: map[string]attr.Type{
		"name": types.StringType, "state": types.StringType,
	}}
)

func procsValue(procs []client.ProcSpec) types.List {
	elems := make([]attr.Value, 0, len(procs))
	for _, p := range procs {
		elems = append(elems, types.ObjectValueMust(procType.AttrTypes, map[string]attr.Value{
			"name":          types.StringValue(p.Name),
			"num_instances": types.Int64Value(int64(p.NumInstances)),
			"cpu":           types.Int64Value(int64(p.CPU)),
			"memory":        types.StringValue(p.Memory),
		}))
	}
	return types.ListValueMust(procType, elems)
}

func unitsValue(units []client.Unit) types.List {
	elems := make([]attr.Value, 0, len(units))
	for _, u := range units {
		elems = append(elems, types.ObjectValueMust(unitType.AttrTypes, map[string]attr.Value{
			"name":  types.StringValue(u.Name),
			"state": types.StringValue(u.State),
		}))
	}
	return types.ListValueMust(unitType, elems)
}

// procSpecs turns a known procs list into what berthd's meta declares.
func procSpecs(ctx context.Context, list types.List) ([]client.ProcSpec, error) {
	var models []procModel
	if diags := list.ElementsAs(ctx, &models, false); diags.HasError() {
		return nil, fmt.Errorf("procs: %v", diags)
	}
	out := make([]client.ProcSpec, 0, len(models))
	for _, m := range models {
		out = append(out, client.ProcSpec{
			Name:         m.Name.ValueString(),
			NumInstances: int(m.NumInstances.ValueInt64()),
			CPU:          int(m.CPU.ValueInt64()),
			Memory:       m.Memory.ValueString(),
		})
	}
	return out, nil
}

// uniqueProcNames refuses two procs with the same name, as berthd does.
type uniqueProcNames struct{}

func (uniqueProcNames) Description(context.Context) string { return "proc names must be unique" }

func (v uniqueProcNames) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (uniqueProcNames) ValidateList(ctx context.Context, req validator.ListRequest, resp *validator.ListResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	seen := map[string]bool{}
	for i, elem := range req.ConfigValue.Elements() {
		obj, ok := elem.(types.Object)
		if !ok || obj.IsNull() || obj.IsUnknown() {
			continue
		}
		name, ok := obj.Attributes()["name"].(types.String)
		if !ok || name.IsNull() || name.IsUnknown() {
			continue
		}
		if seen[name.ValueString()] {
			resp.Diagnostics.AddAttributeError(req.Path.AtListIndex(i).AtName("name"), "Duplicate proc",
				fmt.Sprintf("proc %q is declared twice: proc names are unique in an app.", name.ValueString()))
		}
		seen[name.ValueString()] = true
	}
}

// unitsFollowProcs keeps the units of the state in the plan unless the
// procs change: a change of procs may start or stop units of a deployed app.
type unitsFollowProcs struct{}

func (unitsFollowProcs) Description(context.Context) string {
	return "units stay as they are unless the procs change"
}

func (m unitsFollowProcs) MarkdownDescription(ctx context.Context) string { return m.Description(ctx) }

func (unitsFollowProcs) PlanModifyList(ctx context.Context, req planmodifier.ListRequest, resp *planmodifier.ListResponse) {
	if req.StateValue.IsNull() || !req.PlanValue.IsUnknown() {
		return
	}
	var configured, planned, current types.List
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("procs"), &configured)...)
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("procs"), &planned)...)
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("procs"), &current)...)
	if resp.Diagnostics.HasError() {
		return
	}
	// Procs left out of the configuration stay as they are.
	if configured.IsNull() || planned.Equal(current) {
		resp.PlanValue = req.StateValue
	}
}
