package provider

import (
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// Couplings and promotions refer to apps and pipelines by name or by id, as
// the API does. The state keeps each reference in the form the
// configuration wrote it, so that either form plans clean; an import, which
// cannot know the form, records the id. A reference rewritten from one form
// to the other designates the same entity: ModifyPlan of each resource
// turns that into an in-place update of the state, never a replacement.

// refAs is how state records a reference to the entity with id and name:
// as prior wrote it when prior designates it, else by its id.
func refAs(prior types.String, id, name string) types.String {
	if designates(prior, id, name) {
		return prior
	}
	return types.StringValue(id)
}

// designates reports whether ref is known and is the id or the name of an
// entity.
func designates(ref types.String, id, name string) bool {
	if ref.IsNull() || ref.IsUnknown() {
		return false
	}
	v := ref.ValueString()
	return v == id || v == name
}

// nonNil turns a nil slice into an empty one, for bodies where null and
// [] differ.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
