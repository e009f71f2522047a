package api_test

import (
	"net/http"
	"testing"

	"github.com/berthdev/terraform-provider-berth/internal/berthtest"
)

// TestHiddenRunesAreRefused: names, branches, commits, images,
// descriptions and status names refuse control and format characters
// (NUL, bidi overrides, zero-width spaces); broker endpoints are http or
// https only.
func TestHiddenRunesAreRefused(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	key := createProject(t, srv, map[string]any{"name": "web", "team": "devs"})
	srv.Req(t, "POST", "/apps", ana.Token, map[string]string{"name": "web", "platform": "go"}).Expect(t, http.StatusOK)
	var rel struct{ ID string }
	srv.Req(t, "POST", "/apps/web/releases", ana.Token, map[string]string{"image": "registry.local/web:1"}).Expect(t, http.StatusCreated).JSON(t, &rel)

	for _, bad := range []string{"main\u200b", "ma\u202ein", "main\x00", "\ufeffmain", "main\u2066"} {
		keyCall(t, srv, key, "POST", "/requestStack", map[string]any{"branch": bad}).Expect(t, http.StatusBadRequest)
		keyCall(t, srv, key, "POST", "/setLastDeployedCommit", map[string]any{"stackName": "test-1", "lastDeployedCommit": "abc" + bad}).Expect(t, http.StatusBadRequest)
		srv.Req(t, "POST", "/apps/web/releases", ana.Token, map[string]string{"image": "registry.local/" + bad}).Expect(t, http.StatusBadRequest)
		srv.Req(t, "POST", "/apps/web/releases", ana.Token, map[string]string{"image": "registry.local/web:2", "description": "deploy " + bad}).Expect(t, http.StatusBadRequest)
		srv.Req(t, "POST", "/apps/web/releases/"+rel.ID+"/statuses", ana.Token, map[string]string{"context": "ci/tests", "state": "pending", "name": "tests " + bad}).Expect(t, http.StatusBadRequest)
		srv.Req(t, "POST", "/apps/web/releases/"+rel.ID+"/statuses", ana.Token, map[string]string{"context": "ci/tests", "state": "pending", "description": "running " + bad}).Expect(t, http.StatusBadRequest)
	}
	// A description may have more than one line.
	srv.Req(t, "POST", "/apps/web/releases", ana.Token, map[string]string{"image": "registry.local/web:2", "description": "first line\nsecond line\tindented"}).Expect(t, http.StatusCreated)

	for _, endpoint := range []string{"file:///etc/passwd", "gopher://broker.internal:70/", "ftp://broker.internal/", "javascript:alert(1)", "broker.internal\u200b:8080"} {
		r := srv.Req(t, "POST", "/services", ana.Token, "id: svc\nendpoint:\n  production: "+endpoint+"\n")
		if r.Status != http.StatusBadRequest {
			t.Errorf("endpoint %q: %s", endpoint, r)
		}
	}
	srv.Req(t, "POST", "/services", ana.Token, "id: svc\nendpoint:\n  production: https://broker.internal:8443\n").Expect(t, http.StatusOK)
}
