package router_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthdev/terraform-provider-berth/controlplane/router"
)

// refusingAddresses are n distinct loopback addresses where nothing
// listens: all are bound at once, so that the system hands out no port
// twice, then closed.
func refusingAddresses(t *testing.T, n int) []string {
	t.Helper()
	var addrs []string
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		addrs = append(addrs, ln.Addr().String())
	}
	return addrs
}

func refusingAddress(t *testing.T) string { return refusingAddresses(t, 1)[0] }

// fast is how long a router page may take: a connection to loopback is
// refused at once, so even a loaded machine answers in milliseconds. The
// bound catches a hang or a wait for a timeout (the tests set theirs to
// 5s).
const fast = time.Second

func timedGet(t *testing.T, c *client, host string) (reply, time.Duration) {
	t.Helper()
	began := time.Now()
	rep, err := c.get(host, "/")
	if err != nil {
		t.Fatal(err)
	}
	return rep, time.Since(began)
}

// TestAllUnitsDownThenBack: every unit of an app crashes. While the table
// still lists them the router answers 502 at once; once the route source
// drops them, 503; when a unit is back, traffic resumes, whether the unit
// comes back at a new address (an Update) or at its old one (once its
// down mark expires).
func TestAllUnitsDownThenBack(t *testing.T) {
	checkLeaks(t)
	r, _, base := startRouter(t, router.Options{DownFor: 200 * time.Millisecond, DialTimeout: 5 * time.Second, ResponseHeaderTimeout: 5 * time.Second})
	a := newFleet(t, "a", 2)
	r.Update(mustTable(t, a.app()))
	c := newClient(t, base)
	if err := expect("a")(c.get("a.localhost", "/")); err != nil {
		t.Fatal(err)
	}
	addrs := []string{a.units[0].addr, a.units[1].addr}
	for _, u := range a.units {
		u.stop(t)
	}

	for i := range 3 {
		rep, took := timedGet(t, c, "a.localhost")
		if rep.status != http.StatusBadGateway || rep.header.Get("X-Berth-Router") != "upstream_unreachable" || !strings.Contains(rep.body, `app "a"`) {
			t.Fatalf("units refusing, request %d: %d %q", i, rep.status, rep.body)
		}
		if took > fast {
			t.Errorf("502 took %s", took)
		}
	}

	a.units = nil
	r.Update(mustTable(t, a.app()))
	rep, took := timedGet(t, c, "a.localhost")
	if rep.status != http.StatusServiceUnavailable || rep.header.Get("X-Berth-Router") != "no_unit" || !strings.Contains(rep.body, `app "a" has no started unit`) {
		t.Fatalf("no unit: %d %q", rep.status, rep.body)
	}
	if took > fast {
		t.Errorf("503 took %s", took)
	}

	a.add(2)
	r.Update(mustTable(t, a.app()))
	if err := expect("a")(c.get("a.localhost", "/")); err != nil {
		t.Fatalf("unit back at a new address: %v", err)
	}

	// Back at the old address, with no Update: the table still lists a
	// refusing address until the unit listens there again. (The unit just
	// started may have been given one of the old ports: use the other.)
	oldAddr := addrs[0]
	if a.units[0].addr == oldAddr {
		oldAddr = addrs[1]
	}
	a.units = nil
	r.Update(mustTable(t, router.App{Name: "a", Hostnames: []string{"a.localhost"}, Backends: []router.Backend{{UnitID: "old", Address: oldAddr}}}))
	if rep, _ := timedGet(t, c, "a.localhost"); rep.status != http.StatusBadGateway {
		t.Fatalf("old address refusing: %d %q", rep.status, rep.body)
	}
	startUnitAt(t, oldAddr, "a", "old")
	waitUntil(t, "traffic to resume", 10*time.Second, func() bool {
		rep, err := c.get("a.localhost", "/")
		return err == nil && rep.status == http.StatusOK && appOf(rep.body) == "a"
	})
}

// logLines is a slog handler target that counts lines.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, string(p))
	return len(p), nil
}

func (l *logLines) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.lines)
}

// TestRefusingUnitIsSkipped: units that refuse connections cost no failed
// request, bodies included (fixed length and chunked), and are logged when
// they start refusing, not at every request.
func TestRefusingUnitIsSkipped(t *testing.T) {
	checkLeaks(t)
	logs := &logLines{}
	// DownFor so short that every request may pick a refusing unit again:
	// the retries happen again and again, with the body each time.
	r, reg, base := startRouter(t, router.Options{DownFor: time.Nanosecond, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	good := startUnit(t, "a", "good")
	gone := refusingAddresses(t, 3)
	app := router.App{Name: "a", Hostnames: []string{"a.localhost"}, Backends: []router.Backend{
		{UnitID: "gone-1", Address: gone[0]},
		{UnitID: "gone-2", Address: gone[1]},
		good.backend(),
		{UnitID: "gone-3", Address: gone[2]},
	}}
	r.Update(mustTable(t, app))
	c := newClient(t, base)
	payload := bodyOf(200 << 10)
	for i := range 30 {
		var rep reply
		var err error
		switch i % 3 {
		case 0:
			rep, err = c.get("a.localhost", "/")
			if err == nil {
				err = expect("a")(rep, nil)
			}
		case 1:
			rep, err = c.do(http.MethodPost, "a.localhost", "/echo", bytes.NewReader(payload))
		case 2:
			rep, err = c.do(http.MethodPost, "a.localhost", "/echo", onlyReader{bytes.NewReader(payload)})
		}
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if i%3 != 0 {
			var got answer
			if rep.status != http.StatusOK || json.Unmarshal([]byte(rep.body), &got) != nil || got.BodySHA256 != sha(payload) {
				t.Fatalf("request %d: %d, %d bytes reached the unit, want %d", i, rep.status, got.BodyLen, len(payload))
			}
		}
	}
	failed := metric(t, reg, "berth_router_unit_dial_failures_total", map[string]string{"app": "a"})
	if failed < 1 {
		t.Fatalf("no connection was refused in 30 requests: the test proves nothing")
	}
	if n := logs.count(); n < 1 || float64(n) > failed {
		t.Errorf("%d log lines for %v refused connections", n, failed)
	}
	if n := good.served.Load(); n != 30 {
		t.Errorf("the good unit served %d of 30 requests", n)
	}
	t.Logf("%v refused connections, %d log lines", failed, logs.count())
}

// TestDownUnitIsNotTriedAgain: with the default DownFor, a refusing unit
// is tried once and then left alone.
func TestDownUnitIsNotTriedAgain(t *testing.T) {
	checkLeaks(t)
	r, reg, base := startRouter(t, router.Options{DownFor: time.Hour})
	good := startUnit(t, "a", "good")
	r.Update(mustTable(t, router.App{Name: "a", Hostnames: []string{"a.localhost"}, Backends: []router.Backend{
		{UnitID: "gone", Address: refusingAddress(t)}, good.backend(),
	}}))
	c := newClient(t, base)
	for range 40 {
		if err := expect("a")(c.get("a.localhost", "/")); err != nil {
			t.Fatal(err)
		}
	}
	if n := metric(t, reg, "berth_router_unit_dial_failures_total", map[string]string{"app": "a"}); n != 1 {
		t.Errorf("%v connection attempts to the refusing unit, want 1 (it is down for an hour after the first)", n)
	}
}

// TestSlowUnit504: a unit that does not answer within
// ResponseHeaderTimeout gets a 504, not a hang.
func TestSlowUnit504(t *testing.T) {
	checkLeaks(t)
	r, reg, base := startRouter(t, router.Options{ResponseHeaderTimeout: 100 * time.Millisecond})
	a := newFleet(t, "a", 1)
	r.Update(mustTable(t, a.app()))
	c := newClient(t, base)
	began := time.Now()
	rep, err := c.get("a.localhost", "/slow?ms=10000")
	if err != nil {
		t.Fatal(err)
	}
	if rep.status != http.StatusGatewayTimeout || rep.header.Get("X-Berth-Router") != "upstream_timeout" {
		t.Fatalf("%d %q", rep.status, rep.body)
	}
	if took := time.Since(began); took > 5*time.Second {
		t.Errorf("504 after %s", took)
	}
	if n := metric(t, reg, "berth_router_errors_total", map[string]string{"app": "a", "reason": "upstream_timeout"}); n != 1 {
		t.Errorf("upstream_timeout errors: %v", n)
	}
}

// TestManyRefusingUnits: a request tries each of 70 refusing units once
// (no more, no fewer) before its 502; they stay down when a good unit
// joins them.
func TestManyRefusingUnits(t *testing.T) {
	checkLeaks(t)
	r, reg, base := startRouter(t, router.Options{DownFor: time.Hour})
	// Started first, so that it cannot get one of the refusing ports.
	good := startUnit(t, "a", "good")
	app := router.App{Name: "a", Hostnames: []string{"a.localhost"}}
	for i, addr := range refusingAddresses(t, 70) {
		app.Backends = append(app.Backends, router.Backend{UnitID: fmt.Sprint("gone-", i), Address: addr})
	}
	r.Update(mustTable(t, app))
	c := newClient(t, base)
	if rep, err := c.get("a.localhost", "/"); err != nil || rep.status != http.StatusBadGateway {
		t.Fatalf("%v %v, want a 502", rep.status, err)
	}
	if n := metric(t, reg, "berth_router_unit_dial_failures_total", map[string]string{"app": "a"}); n != 70 {
		t.Errorf("%v refused connections, want each of the 70 units tried once", n)
	}
	app.Backends = append(app.Backends, good.backend())
	r.Update(mustTable(t, app))
	for range 5 {
		if err := expect("a")(c.get("a.localhost", "/")); err != nil {
			t.Fatal(err)
		}
	}
	if n := metric(t, reg, "berth_router_unit_dial_failures_total", map[string]string{"app": "a"}); n != 70 {
		t.Errorf("%v refused connections after the good unit joined, want still 70", n)
	}
}
