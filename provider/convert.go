package provider

import (
	"slices"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// setOf turns a list of strings into a known set value (empty, never null).
func setOf(values []string) types.Set {
	sorted := slices.Clone(values)
	slices.Sort(sorted)
	elems := make([]attr.Value, len(sorted))
	for i, v := range sorted {
		elems[i] = types.StringValue(v)
	}
	return types.SetValueMust(types.StringType, elems)
}

// stringOrNull maps the API's empty string to null, for optional
// attributes the API answers as "" when unset.
func stringOrNull(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	return types.StringValue(s)
}

// stringMapOrNull maps an empty map to null, for optional map attributes
// the API answers as {} when unset.
func stringMapOrNull(m map[string]string) types.Map {
	if len(m) == 0 {
		return types.MapNull(types.StringType)
	}
	return stringMap(m)
}

// stringMap turns a map of strings into a known map value (empty, never
// null).
func stringMap(m map[string]string) types.Map {
	elems := make(map[string]attr.Value, len(m))
	for k, v := range m {
		elems[k] = types.StringValue(v)
	}
	return types.MapValueMust(types.StringType, elems)
}

// listOf turns strings into a known list value, sorted (empty, never null).
func listOf(values []string) types.List {
	sorted := slices.Clone(values)
	slices.Sort(sorted)
	elems := make([]attr.Value, len(sorted))
	for i, v := range sorted {
		elems[i] = types.StringValue(v)
	}
	return types.ListValueMust(types.StringType, elems)
}
