package router_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/terraform-provider-berth/controlplane/router"
	"github.com/berthdev/terraform-provider-berth/controlplane/runtime"
)

func TestRoutesByHostCaseInsensitiveWithoutPort(t *testing.T) {
	checkLeaks(t)
	r, _, base := startRouter(t, router.Options{})
	a, b := newFleet(t, "a", 1), newFleet(t, "b", 1)
	r.Update(mustTable(t, a.app("a.localhost", "www.example.com"), b.app()))
	c := newClient(t, base)
	for host, want := range map[string]string{
		"a.localhost":          "a",
		"A.LocalHost":          "a",
		"a.localhost:8080":     "a",
		"a.localhost.":         "a",
		"WWW.Example.COM:443":  "a",
		"b.localhost":          "b",
		"b.LOCALHOST.:80":      "b",
		"www.example.com.:123": "a",
	} {
		rep, err := c.get(host, "/")
		if err != nil {
			t.Fatalf("%s: %v", host, err)
		}
		if rep.status != http.StatusOK || appOf(rep.body) != want {
			t.Errorf("Host %q: %d %q, want 200 from app %s", host, rep.status, rep.body, want)
		}
	}
}

func TestUnknownHost404(t *testing.T) {
	checkLeaks(t)
	r, _, base := startRouter(t, router.Options{Domain: "apps.example.org"})
	a := newFleet(t, "a", 1)
	r.Update(mustTable(t, a.app("a.apps.example.org")))
	c := newClient(t, base)
	rep, err := c.get("Nope.Apps.Example.org:8080", "/")
	if err != nil {
		t.Fatal(err)
	}
	if rep.status != http.StatusNotFound {
		t.Fatalf("status %d, want 404", rep.status)
	}
	for _, want := range []string{`"nope.apps.example.org"`, "<app>.apps.example.org", "berth router"} {
		if !strings.Contains(rep.body, want) {
			t.Errorf("404 page lacks %s:\n%s", want, rep.body)
		}
	}
	if got := rep.header.Get("X-Berth-Router"); got != "unknown_host" {
		t.Errorf("X-Berth-Router %q", got)
	}
	if ct := rep.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q", ct)
	}
	if a.units[0].served.Load() != 0 {
		t.Error("the unit got a request for another host")
	}
}

func TestForwardsRequestAsSent(t *testing.T) {
	checkLeaks(t)
	r, _, base := startRouter(t, router.Options{})
	a := newFleet(t, "a", 1)
	r.Update(mustTable(t, a.app()))
	c := newClient(t, base)

	payload := bodyOf(300 << 10)
	req, err := http.NewRequest(http.MethodPut, base+"/echo?b=2;c=3&a=1", bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "A.localhost:8080"
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	req.Header.Set("Connection", "X-Hop")
	req.Header.Set("X-Hop", "must not pass")
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got answer
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	want := answer{
		App: "a", Unit: a.units[0].id, Method: http.MethodPut, Host: "A.localhost:8080",
		RawQuery: "b=2;c=3&a=1", XFF: "203.0.113.9, 127.0.0.1", XFHost: "A.localhost:8080", XFProto: "http",
		BodyLen: len(payload), BodySHA256: sha(payload),
	}
	if got != want {
		t.Errorf("the unit saw\n%+v\nwant\n%+v", got, want)
	}
}

func TestSpreadsLoadAcrossUnits(t *testing.T) {
	checkLeaks(t)
	r, _, base := startRouter(t, router.Options{})
	a := newFleet(t, "a", 3)
	r.Update(mustTable(t, a.app()))
	c := newClient(t, base)
	for range 300 {
		if rep, err := c.get("a.localhost", "/"); err != nil || rep.status != 200 {
			t.Fatalf("%v %v", rep, err)
		}
	}
	for _, u := range a.units {
		// Each of 3 units gets a third on average; 50 is far below what
		// a fair spread gives, and far above what a skewed one does.
		if n := u.served.Load(); n < 50 {
			t.Errorf("unit %s served %d of 300 requests", u.id, n)
		}
	}
}

func TestUpgradePassesThrough(t *testing.T) {
	checkLeaks(t)
	r, _, base := startRouter(t, router.Options{})
	a := newFleet(t, "a", 1)
	r.Update(mustTable(t, a.app()))

	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "GET /upgrade HTTP/1.1\r\nHost: a.localhost\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d, want 101", resp.StatusCode)
	}
	fmt.Fprintf(conn, "ping\n")
	line, err := br.ReadString('\n')
	if err != nil || line != "ping\n" {
		t.Fatalf("echo: %q, %v", line, err)
	}

	// The tunnel is not a request in flight: the unit drains at once.
	old := a.units[0]
	a.remove(old)
	a.add(2)
	r.Update(mustTable(t, a.app()))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.WaitDrained(ctx, old.addr); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	old.stop(t)
}

func TestWaitDrainedWaitsForRequestsInFlight(t *testing.T) {
	checkLeaks(t)
	r, _, base := startRouter(t, router.Options{})
	a := newFleet(t, "a", 1)
	r.Update(mustTable(t, a.app()))
	c := newClient(t, base)
	old := a.units[0]

	// Warm a few keep-alive connections to the unit.
	for range 3 {
		if _, err := c.get("a.localhost", "/"); err != nil {
			t.Fatal(err)
		}
	}
	slow := make(chan error, 1)
	go func() {
		rep, err := c.get("a.localhost", "/slow?ms=300")
		if err == nil && (rep.status != 200 || appOf(rep.body) != "a") {
			err = fmt.Errorf("slow request: %d %q", rep.status, rep.body)
		}
		slow <- err
	}()
	waitUntil(t, "the slow request to reach the unit", 5*time.Second, func() bool { return old.served.Load() == 4 })

	a.remove(old)
	a.add(2)
	r.Update(mustTable(t, a.app()))
	if err := r.WaitDrained(context.Background(), a.units[0].addr); err == nil {
		t.Error("WaitDrained of a routed unit did not fail")
	}
	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.WaitDrained(ctx, old.addr); err != nil {
		t.Fatal(err)
	}
	if old.slowed.Load() != 1 {
		t.Fatalf("WaitDrained returned after %s with the slow request still in flight", time.Since(began))
	}
	if err := <-slow; err != nil {
		t.Fatal(err)
	}
	// Every connection to the old unit closes once drained, without the
	// unit being stopped.
	waitUntil(t, "connections to the drained unit to close", 5*time.Second, func() bool { return old.open.Load() == 0 })
	old.stop(t)

	rep, err := c.get("a.localhost", "/")
	if err != nil || rep.status != 200 || !strings.Contains(rep.body, "-r2") {
		t.Fatalf("after the rollout: %v %v", rep, err)
	}
}

func TestNewTableRejectsConflictsAndBadInput(t *testing.T) {
	for name, apps := range map[string][]router.App{
		"hostname claimed twice": {{Name: "a", Hostnames: []string{"x.localhost"}}, {Name: "b", Hostnames: []string{"X.localhost"}}},
		"bad hostname":           {{Name: "a", Hostnames: []string{"a b.localhost"}}},
		"empty label":            {{Name: "a", Hostnames: []string{"a..localhost"}}},
		"no port":                {{Name: "a", Hostnames: []string{"a.localhost"}, Backends: []router.Backend{{Address: "127.0.0.1"}}}},
		"port 0":                 {{Name: "a", Hostnames: []string{"a.localhost"}, Backends: []router.Backend{{Address: "127.0.0.1:0"}}}},
		"no name":                {{Hostnames: []string{"a.localhost"}}},
	} {
		if _, err := router.NewTable(apps); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	tab, err := router.NewTable([]router.App{{
		ID: "1", Name: "a", Hostnames: []string{"a.localhost", "A.localhost"},
		Backends: []router.Backend{{UnitID: "u1", Address: "127.0.0.1:1"}, {UnitID: "u1", Address: "127.0.0.1:1"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	rt, ok := tab.Lookup("A.LOCALHOST:99")
	if !ok || rt.App != "a" || rt.AppID != "1" || len(rt.Backends) != 1 {
		t.Errorf("Lookup: %+v %v", rt, ok)
	}
	if got := tab.Hostnames(); len(got) != 1 || got[0] != "a.localhost" {
		t.Errorf("Hostnames: %v", got)
	}
}

func TestStartedBackends(t *testing.T) {
	units := []runtime.Unit{
		{ID: "c2", Proc: "web", State: runtime.UnitRunning, Address: "10.0.0.2:80"},
		{ID: "c1", Proc: "web", State: runtime.UnitRunning, Address: "10.0.0.1:80"},
		{ID: "c3", Proc: "web", State: runtime.UnitPending},
		{ID: "c4", Proc: "web", State: runtime.UnitExited, Address: "10.0.0.4:80"},
		{ID: "c5", Proc: "worker", State: runtime.UnitRunning, Address: "10.0.0.5:80"},
	}
	got := router.StartedBackends(units, "web")
	want := []router.Backend{{UnitID: "c1", Address: "10.0.0.1:80"}, {UnitID: "c2", Address: "10.0.0.2:80"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
