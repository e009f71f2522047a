package router_test

import (
	"testing"
	"time"

	"github.com/berthdev/terraform-provider-berth/controlplane/router"
)

func TestMetrics(t *testing.T) {
	checkLeaks(t)
	// DownFor long enough that the refusing unit is dialled once.
	r, reg, base := startRouter(t, router.Options{DownFor: time.Hour})
	a := newFleet(t, "a", 2)
	apps := []router.App{
		a.app(),
		{Name: "empty", Hostnames: []string{"empty.localhost"}},
		{Name: "gone", Hostnames: []string{"gone.localhost"}, Backends: []router.Backend{{Address: refusingAddress(t)}}},
	}
	r.Update(mustTable(t, apps...))
	c := newClient(t, base)
	for range 10 {
		if err := expect("a")(c.get("a.localhost", "/")); err != nil {
			t.Fatal(err)
		}
	}
	for _, req := range []struct {
		host, path string
		status     int
		n          int
	}{
		{"a.localhost", "/status/404", 404, 2},
		{"a.localhost", "/status/503", 503, 1},
		{"empty.localhost", "/", 503, 3},
		{"gone.localhost", "/", 502, 2},
		{"nope.localhost", "/", 404, 4},
		{"other.example.com", "/", 404, 1},
	} {
		for range req.n {
			rep, err := c.get(req.host, req.path)
			if err != nil || rep.status != req.status {
				t.Fatalf("%s%s: %v %v, want %d", req.host, req.path, rep.status, err, req.status)
			}
		}
	}

	for _, m := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"berth_router_requests_total", map[string]string{"app": "a", "class": "2xx"}, 10},
		{"berth_router_requests_total", map[string]string{"app": "a", "class": "4xx"}, 2},
		{"berth_router_requests_total", map[string]string{"app": "a", "class": "5xx"}, 1},
		{"berth_router_upstream_duration_seconds", map[string]string{"app": "a"}, 13},
		{"berth_router_requests_total", map[string]string{"app": "empty", "class": "5xx"}, 3},
		{"berth_router_errors_total", map[string]string{"app": "empty", "reason": "no_unit"}, 3},
		{"berth_router_requests_total", map[string]string{"app": "gone", "class": "5xx"}, 2},
		{"berth_router_errors_total", map[string]string{"app": "gone", "reason": "upstream_unreachable"}, 2},
		// Tried once, then down for DownFor: the second request does not dial.
		{"berth_router_unit_dial_failures_total", map[string]string{"app": "gone"}, 1},
		{"berth_router_upstream_duration_seconds", map[string]string{"app": "gone"}, 0},
		{"berth_router_requests_total", map[string]string{"app": router.UnknownApp, "class": "4xx"}, 5},
		{"berth_router_errors_total", map[string]string{"app": router.UnknownApp, "reason": "unknown_host"}, 5},
		{"berth_router_errors_total", map[string]string{"app": "a", "reason": "upstream_failed"}, 0},
	} {
		if got := metric(t, reg, m.name, m.labels); got != m.want {
			t.Errorf("%s%v = %v, want %v", m.name, m.labels, got, m.want)
		}
	}

	// An app no table has any more takes its series with it.
	r.Update(mustTable(t, a.app()))
	if got := metric(t, reg, "berth_router_requests_total", map[string]string{"app": "empty"}); got != -1 {
		t.Errorf("series of a removed app still exported: %v", got)
	}
	if got := metric(t, reg, "berth_router_requests_total", map[string]string{"app": "a", "class": "2xx"}); got != 10 {
		t.Errorf("a's counter after an Update: %v", got)
	}
}
