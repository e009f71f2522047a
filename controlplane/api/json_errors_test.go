package api_test

import (
	"net/http"
	"testing"

	"github.com/berthdev/terraform-provider-berth/internal/berthtest"
)

// The first errors a newcomer meets name the field that has the wrong type.
func TestWrongTypesNameTheField(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	createApp(t, srv, ana.Token, "web")
	for _, c := range []struct{ method, path, body, want string }{
		{"POST", "/apps/web/env", `{"N":1}`, `field "N" must be a string, not a number`},
		{"POST", "/apps/web/env", `[{"name":"A","value":"1"},{"name":"B","value":2}]`, `field "[1].value" must be a string, not a number`},
		{"POST", "/apps/web/env", `[{"name":"A","public":"no"}]`, `field "[0].public" must be a boolean, not a string`},
		{"DELETE", "/apps/web/env", `["A",{"name":"B"}]`, `field "[1]" must be a string, not an object`},
		{"POST", "/api/v1/repos/", `{"appname":"hello","meta":{"procs":[{"name":"web","cpu":"2"}]}}`, `field "meta.procs[0].cpu" must be an integer, not a string`},
		{"POST", "/pipeline-couplings", `{"app":"web","pipeline":"p","stage":"development","required_status_checks":{"contexts":"ci/unit"}}`, `field "required_status_checks.contexts" must be an array, not a string`},
		{"POST", "/teams", `["devs"]`, `the body must be an object, not an array`},
	} {
		r := srv.Req(t, c.method, c.path, ana.Token, c.body).Expect(t, http.StatusBadRequest)
		if got := r.ErrorMessage(t); got != "invalid JSON body: "+c.want {
			t.Errorf("%s %s %s: %q, want %q", c.method, c.path, c.body, got, c.want)
		}
	}
}

// Answers show a release's "version": 1; a promotion may name the release
// the same way, as a JSON number, as well as by its id or version string.
func TestPromotionNamesTheReleaseByVersionNumber(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	stagedPipeline(t, srv, ana.Token, "shop", "shop-dev:development", "shop-stg:staging")
	first := createRelease(t, srv, ana.Token, "shop-dev", "registry/shop:1")
	createRelease(t, srv, ana.Token, "shop-dev", "registry/shop:2")
	for _, release := range []string{`1`, `"1"`, `"` + first.ID + `"`} {
		body := `{"pipeline":{"id":"shop"},"source":{"app":{"id":"shop-dev","release":{"id":` + release + `}}},"targets":[{"app":{"id":"shop-stg"}}]}`
		var p promotionWire
		srv.Req(t, "POST", "/pipeline-promotions", ana.Token, body).Expect(t, http.StatusOK).JSON(t, &p)
		if p.Source.Release.ID != first.ID || p.Source.Release.Version != 1 {
			t.Fatalf("release %s: promoted %+v, want version 1 (%s)", release, p.Source.Release, first.ID)
		}
		waitPromotion(t, srv, ana.Token, p.ID)
	}
	for release, want := range map[string]string{
		`1.5`:  `field "source.app.release.id" must be a release id (a string) or version (an integer), not 1.5`,
		`-1`:   `field "source.app.release.id" must be a release id (a string) or version (an integer), not -1`,
		`true`: `field "source.app.release.id" must be a release id (a string) or version (an integer), not a boolean`,
	} {
		body := `{"pipeline":{"id":"shop"},"source":{"app":{"id":"shop-dev","release":{"id":` + release + `}}},"targets":[{"app":{"id":"shop-stg"}}]}`
		if got := srv.Req(t, "POST", "/pipeline-promotions", ana.Token, body).Expect(t, http.StatusBadRequest).ErrorMessage(t); got != "invalid JSON body: "+want {
			t.Errorf("release %s: %q, want %q", release, got, want)
		}
	}
	srv.Req(t, "POST", "/pipeline-promotions", ana.Token, `{"pipeline":{"id":"shop"},"source":{"app":{"id":"shop-dev","release":{"id":7}}},"targets":[{"app":{"id":"shop-stg"}}]}`).Expect(t, http.StatusNotFound)
}
