package provider

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
)

// undescribed returns the paths, under prefix, of the attributes and blocks
// of b that have no description.
func undescribed(prefix string, b *tfprotov6.SchemaBlock) []string {
	var out []string
	for _, a := range b.Attributes {
		if a.Description == "" {
			out = append(out, prefix+a.Name)
		}
		if a.NestedType != nil {
			out = append(out, undescribed(prefix+a.Name+".", &tfprotov6.SchemaBlock{Attributes: a.NestedType.Attributes})...)
		}
	}
	for _, nb := range b.BlockTypes {
		if nb.Block.Description == "" {
			out = append(out, prefix+nb.TypeName)
		}
		out = append(out, undescribed(prefix+nb.TypeName+".", nb.Block)...)
	}
	return out
}

// The docs are generated from the schemas: every attribute and block of the
// pipeline types says what it is.
func TestPipelineSchemasDescribeEveryAttribute(t *testing.T) {
	server := providerserver.NewProtocol6(New("test")())()
	resp, err := server.GetProviderSchema(context.Background(), &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range resp.Diagnostics {
		t.Errorf("%s: %s", d.Summary, d.Detail)
	}
	schemas := map[string]*tfprotov6.Schema{}
	for _, name := range []string{"berth_pipeline", "berth_pipeline_coupling", "berth_pipeline_promotion"} {
		schemas[name] = resp.ResourceSchemas[name]
	}
	for _, name := range []string{"berth_pipeline", "berth_pipeline_stages"} {
		schemas["data."+name] = resp.DataSourceSchemas[name]
	}
	for name, s := range schemas {
		if s == nil {
			t.Errorf("%s is not served by the provider", name)
			continue
		}
		if s.Block.Description == "" {
			t.Errorf("%s has no description", name)
		}
		for _, p := range undescribed(name+".", s.Block) {
			t.Errorf("%s has no description", p)
		}
	}
}
