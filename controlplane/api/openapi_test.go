package api_test

import (
	"strings"
	"testing"

	"github.com/berthdev/terraform-provider-berth/controlplane/api"
	"github.com/berthdev/terraform-provider-berth/internal/berthtest"
)

// TestOpenAPICoversEveryRoute keeps the route table and the OpenAPI document
// in step both ways: every route is described, every described operation is
// served, and public routes are exactly those the document marks public.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	doc, err := berthtest.OpenAPI()
	if err != nil {
		t.Fatalf("OpenAPI document invalid: %v", err)
	}
	srv := berthtest.Start(t)
	served := map[string]api.Route{}
	for _, r := range srv.Instance().API.Routes() {
		served[r.Method+" "+r.Path] = r
	}
	for key, r := range served {
		item := doc.Paths.Value(r.Path)
		if item == nil || item.GetOperation(r.Method) == nil {
			t.Errorf("route %s is not in the OpenAPI document", key)
			continue
		}
		op := item.GetOperation(r.Method)
		documentedPublic := op.Security != nil && len(*op.Security) == 0
		if documentedPublic != (r.Auth == api.AuthNone) {
			t.Errorf("route %s: auth %s but the document says public=%v", key, r.Auth, documentedPublic)
		}
		if r.Auth == api.AuthProjectKey && (op.Security == nil || len(*op.Security) != 1 || (*op.Security)[0]["projectKey"] == nil) {
			t.Errorf("route %s takes a project key but the document does not say so", key)
		}
	}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if _, ok := served[strings.ToUpper(method)+" "+path]; !ok {
				t.Errorf("the OpenAPI document describes %s %s, which is not served", method, path)
			}
		}
	}
}
