package api_test

import (
	"net/http"
	"testing"

	"github.com/berthdev/terraform-provider-berth/internal/berthtest"
)

// TestAppDeletionFollowsTheLainRole: who may delete an app is one rule
// whichever dialect asks: a lain maintainer who is not an owner may not
// delete the app through tsuru; an owner may.
func TestAppDeletionFollowsTheLainRole(t *testing.T) {
	srv := berthtest.Start(t)
	kai := srv.NewTeamUser(t, "kai@example.com", "lain-team")
	noa := srv.NewUser(t, "noa@example.com")
	srv.Req(t, "PUT", "/teams/lain-team/"+noa.Email, kai.Token, nil).Expect(t, http.StatusOK)
	srv.Req(t, "POST", "/api/v1/repos/", kai.Token, map[string]any{"appname": "hello"}).Expect(t, http.StatusCreated)
	srv.Req(t, "POST", "/api/v1/repos/hello/maintainers/", kai.Token, map[string]string{"username": noa.Email, "role": "maintainer"}).Expect(t, http.StatusOK)

	// noa may not make herself owner, nor delete the app.
	srv.Req(t, "POST", "/api/v1/repos/hello/maintainers/", noa.Token, map[string]string{"username": noa.Email, "role": "owner"}).Expect(t, http.StatusForbidden)
	srv.Req(t, "DELETE", "/apps/hello", noa.Token, nil).Expect(t, http.StatusForbidden)
	// She still maintains it.
	srv.Req(t, "POST", "/apps/hello/env", noa.Token, map[string]string{"A": "1"}).Expect(t, http.StatusOK)
	srv.Req(t, "DELETE", "/apps/hello", kai.Token, nil).Expect(t, http.StatusOK)
}

// TestResourceInstanceLivesWithItsClient: a resource instance cannot be
// deleted through tsuru while the app it serves is deployed and uses it.
func TestResourceInstanceLivesWithItsClient(t *testing.T) {
	srv := berthtest.Start(t)
	kai := srv.NewTeamUser(t, "kai@example.com", "lain-team")
	srv.Req(t, "POST", "/api/v1/repos/", kai.Token, map[string]any{"appname": "redis", "meta": map[string]any{"apptype": "resource", "procs": []map[string]any{{"name": "server"}}}}).Expect(t, http.StatusCreated)
	srv.Req(t, "POST", "/api/v1/repos/", kai.Token, map[string]any{"appname": "web", "meta": map[string]any{"use_resources": []string{"redis"}}}).Expect(t, http.StatusCreated)
	srv.Req(t, "POST", "/api/v1/apps/", kai.Token, map[string]string{"appname": "web"}).Expect(t, http.StatusAccepted)

	srv.Req(t, "DELETE", "/apps/resource.redis.web", kai.Token, nil).Expect(t, http.StatusConflict)
	var app struct {
		App struct {
			ResourceInstances []string `json:"resource_instances"`
		}
	}
	srv.Req(t, "GET", "/api/v1/apps/web/", kai.Token, nil).Expect(t, http.StatusOK).JSON(t, &app)
	srv.Req(t, "GET", "/api/v1/apps/resource.redis.web/", kai.Token, nil).Expect(t, http.StatusOK)
	if len(app.App.ResourceInstances) != 1 {
		t.Fatalf("web's resource instances: %v", app.App.ResourceInstances)
	}
	// Undeploying web removes it.
	srv.Req(t, "DELETE", "/api/v1/apps/web/", kai.Token, nil).Expect(t, http.StatusAccepted)
	srv.Req(t, "GET", "/apps/resource.redis.web", kai.Token, nil).Expect(t, http.StatusNotFound)
}
