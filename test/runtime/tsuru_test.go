package runtime_test

import (
	"testing"

	"github.com/berthdev/terraform-provider-berth/internal/testimage"
)

// TestTsuruAppsRun: a tsuru app deployed with an image runs; its units
// answer on their addresses, scale up and down, restart with new start
// times, take new config and bound service vars, and go with the app.
func TestTsuruAppsRun(t *testing.T) {
	v1 := testimage.Build(t, "v1")
	srv := start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	tok := ana.Token
	srv.Req(t, "POST", "/apps", tok, map[string]string{"name": "web", "platform": "go"}).Expect2xx(t)
	srv.Req(t, "POST", "/apps/web/deploy", tok, map[string]string{"image": v1}).Expect2xx(t)

	units := waitUnits(t, srv, tok, "web", "one unit started", allStarted(1, 1))
	if code, body := get(t, units[0].Address, "/version"); code != 200 || body != "v1" {
		t.Fatalf("the unit answered %d %q, want v1", code, body)
	}

	srv.Req(t, "PUT", "/apps/web/units?units=2", tok, nil).Expect2xx(t)
	units = waitUnits(t, srv, tok, "web", "three units", allStarted(3, 1))
	waitContainers(t, "web", 3)
	for _, u := range units {
		if code, body := get(t, u.Address, "/version"); code != 200 || body != "v1" {
			t.Fatalf("unit %s answered %d %q", u.Name, code, body)
		}
	}
	srv.Req(t, "DELETE", "/apps/web/units?units=2", tok, nil).Expect2xx(t)
	units = waitUnits(t, srv, tok, "web", "back to one unit", allStarted(1, 1))
	waitContainers(t, "web", 1)

	before := units[0].StartedAt
	srv.Req(t, "GET", "/apps/web/restart", tok, nil).Expect2xx(t)
	waitUnits(t, srv, tok, "web", "restarted", func(us []tsuruUnit) bool {
		return allStarted(1, 1)(us) && us[0].StartedAt.After(before)
	})

	srv.Req(t, "POST", "/apps/web/env", tok, map[string]string{"GREETING": "hello"}).Expect2xx(t)
	eventuallyAnswers(t, srv, tok, "web", "/env/GREETING", "hello")
	waitContainers(t, "web", 1)

	// A static service's vars reach the units once bound.
	manifest := "id: cache\nteam: devs\nenv:\n  CACHE_URL: redis://cache.internal:6379\n"
	srv.Req(t, "POST", "/services", tok, manifest).Expect2xx(t)
	srv.Req(t, "POST", "/services/instances", tok, map[string]string{"name": "cache-1", "service_name": "cache"}).Expect2xx(t)
	srv.Req(t, "PUT", "/services/instances/cache-1/web", tok, nil).Expect2xx(t)
	eventuallyAnswers(t, srv, tok, "web", "/env/CACHE_URL", "redis://cache.internal:6379")

	srv.Req(t, "DELETE", "/apps/web", tok, nil).Expect2xx(t)
	waitContainers(t, "web", 0)
}
