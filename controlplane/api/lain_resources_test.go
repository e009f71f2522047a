package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/berthdev/terraform-provider-berth/internal/berthtest"
)

// TestUsingAResourceNeedsConsent: another team's resource can be used only
// once its owners grant the team; they can remove its users; and the
// refusal does not tell apart what the caller may not see.
func TestUsingAResourceNeedsConsent(t *testing.T) {
	srv := berthtest.Start(t)
	kai := srv.NewTeamUser(t, "kai@example.com", "alpha")
	bo := srv.NewTeamUser(t, "bo@example.com", "beta")
	srv.Req(t, "POST", "/api/v1/repos/", kai.Token, map[string]any{"appname": "redis", "meta": map[string]any{"apptype": "resource", "procs": []map[string]any{{"name": "server"}}}}).Expect(t, http.StatusCreated)
	srv.Req(t, "POST", "/apps", kai.Token, map[string]string{"name": "alpha-web", "platform": "go"}).Expect(t, http.StatusOK)

	uses := func(r ...string) map[string]any {
		return map[string]any{"appname": "beta-web", "meta": map[string]any{"use_resources": r}}
	}
	notFound := srv.Req(t, "POST", "/api/v1/repos/", bo.Token, uses("nosuch")).Expect(t, http.StatusUnprocessableEntity).ErrorMessage(t)
	hiddenResource := srv.Req(t, "POST", "/api/v1/repos/", bo.Token, uses("redis")).Expect(t, http.StatusUnprocessableEntity).ErrorMessage(t)
	hiddenApp := srv.Req(t, "POST", "/api/v1/repos/", bo.Token, uses("alpha-web")).Expect(t, http.StatusUnprocessableEntity).ErrorMessage(t)
	mask := func(msg, name string) string { return strings.ReplaceAll(msg, name, "X") }
	if a, b, c := mask(notFound, "nosuch"), mask(hiddenResource, "redis"), mask(hiddenApp, "alpha-web"); a != b || b != c {
		t.Errorf("refusals tell apart a missing app, a hidden resource and a hidden app: %q, %q, %q", notFound, hiddenResource, hiddenApp)
	}

	// Only its owners may grant it.
	srv.Req(t, "PUT", "/api/v1/resources/redis/grants/beta/", bo.Token, nil).Expect(t, http.StatusForbidden)
	srv.Req(t, "PUT", "/api/v1/resources/redis/grants/beta/", kai.Token, nil).Expect(t, http.StatusOK)
	var grants struct{ Grants []struct{ Team string } }
	srv.Req(t, "GET", "/api/v1/resources/redis/grants/", kai.Token, nil).Expect(t, http.StatusOK).JSON(t, &grants)
	if len(grants.Grants) != 1 || grants.Grants[0].Team != "beta" {
		t.Fatalf("grants: %+v", grants)
	}
	srv.Req(t, "POST", "/api/v1/repos/", bo.Token, uses("redis")).Expect(t, http.StatusCreated)
	srv.Req(t, "POST", "/api/v1/apps/", bo.Token, map[string]string{"appname": "beta-web"}).Expect(t, http.StatusAccepted)

	// The owners revoke the grant and remove the user: its instance goes,
	// and the resource can change again.
	srv.Req(t, "DELETE", "/api/v1/resources/redis/grants/beta/", kai.Token, nil).Expect(t, http.StatusNoContent)
	srv.Req(t, "DELETE", "/api/v1/resources/redis/instances/beta-web/", bo.Token, nil).Expect(t, http.StatusForbidden)
	srv.Req(t, "DELETE", "/api/v1/resources/redis/instances/beta-web/", kai.Token, nil).Expect(t, http.StatusNoContent)
	var inst struct{ Instances []any }
	srv.Req(t, "GET", "/api/v1/resources/redis/instances/", kai.Token, nil).Expect(t, http.StatusOK).JSON(t, &inst)
	if len(inst.Instances) != 0 {
		t.Fatalf("instances after the owner removed the user: %+v", inst.Instances)
	}
	var app struct {
		App struct {
			UseResources []string `json:"use_resources"`
		}
	}
	srv.Req(t, "GET", "/api/v1/apps/beta-web/", bo.Token, nil).Expect(t, http.StatusOK).JSON(t, &app)
	if len(app.App.UseResources) != 0 {
		t.Fatalf("beta-web still uses %v", app.App.UseResources)
	}
	srv.Req(t, "PUT", "/api/v1/repos/redis/", kai.Token, map[string]any{"meta": map[string]any{"apptype": "app"}}).Expect(t, http.StatusOK)
}
