package runtime_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berthdev/terraform-provider-berth/internal/berthtest"
	"github.com/berthdev/terraform-provider-berth/internal/testimage"
)

// traffic is a client looping over apps through the router, counting
// answers by app and version and every failure.
type traffic struct {
	srv    *berthtest.Server
	client *http.Client

	mu       sync.Mutex
	answers  map[string]map[string]int // host -> version -> count
	failures []string
	total    atomic.Int64
	// after, once set, counts answers per host from requests started after
	// it.
	after    time.Time
	answered map[string]map[string]int
	stop     chan struct{}
	wg       sync.WaitGroup
}

func newTraffic(srv *berthtest.Server) *traffic {
	return &traffic{
		srv: srv, stop: make(chan struct{}),
		client:  &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}},
		answers: map[string]map[string]int{}, answered: map[string]map[string]int{},
	}
}

// run sends GET / for each host in turn from workers goroutines.
func (tr *traffic) run(workers int, hosts ...string) {
	for w := range workers {
		tr.wg.Add(1)
		go func() {
			defer tr.wg.Done()
			for i := w; ; i++ {
				select {
				case <-tr.stop:
					return
				default:
				}
				host := hosts[i%len(hosts)]
				tr.once(host)
			}
		}()
	}
}

func (tr *traffic) once(host string) {
	started := time.Now()
	req, _ := http.NewRequest("GET", tr.srv.RouterURL+"/", nil)
	req.Host = host
	resp, err := tr.client.Do(req)
	tr.total.Add(1)
	if err != nil {
		tr.fail("%s: %v", host, err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var a struct{ Version string }
	if resp.StatusCode != 200 || json.Unmarshal(body, &a) != nil {
		tr.fail("%s: %d %q", host, resp.StatusCode, body)
		return
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	count(tr.answers, host, a.Version)
	if !tr.after.IsZero() && started.After(tr.after) {
		count(tr.answered, host, a.Version)
	}
}

func count(m map[string]map[string]int, host, version string) {
	if m[host] == nil {
		m[host] = map[string]int{}
	}
	m[host][version]++
}

func (tr *traffic) fail(format string, args ...any) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if len(tr.failures) < 20 {
		tr.failures = append(tr.failures, fmt.Sprintf(format, args...))
	} else {
		tr.failures[19] = "... and more"
	}
}

func (tr *traffic) markNow() {
	tr.mu.Lock()
	tr.after = time.Now()
	tr.mu.Unlock()
}

func (tr *traffic) finish(t *testing.T, atLeast int64) {
	t.Helper()
	for tr.total.Load() < atLeast {
		time.Sleep(50 * time.Millisecond)
	}
	close(tr.stop)
	tr.wg.Wait()
	if len(tr.failures) > 0 {
		t.Fatalf("%d requests through the router, failures: %s", tr.total.Load(), strings.Join(tr.failures, "; "))
	}
}

// TestRouterFollowsUnits: clients loop over two apps through the router
// while one of them rolls onto a new release, scales 3 -> 1 and restarts:
// no request fails, and every answer comes from the right app.
func TestRouterFollowsUnits(t *testing.T) {
	a1, a2, b1 := testimage.Build(t, "a-v1"), testimage.Build(t, "a-v2"), testimage.Build(t, "b-v1")
	srv := start(t, berthtest.WithRouter())
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	tok := ana.Token
	for app, img := range map[string]string{"alpha": a1, "beta": b1} {
		srv.Req(t, "POST", "/apps", tok, map[string]string{"name": app, "platform": "go"}).Expect2xx(t)
		srv.Req(t, "POST", "/apps/"+app+"/deploy", tok, map[string]string{"image": img}).Expect2xx(t)
	}
	srv.Req(t, "PUT", "/apps/alpha/units?units=2", tok, nil).Expect2xx(t)
	waitUnits(t, srv, tok, "alpha", "three units", allStarted(3, 1))
	waitUnits(t, srv, tok, "beta", "one unit", allStarted(1, 1))
	alpha, beta := "alpha.berth.local", "beta.berth.local"
	waitAnswer(t, srv, alpha, "a-v1")
	waitAnswer(t, srv, beta, "b-v1")

	tr := newTraffic(srv)
	tr.run(4, alpha, beta)
	srv.Req(t, "POST", "/apps/alpha/deploy", tok, map[string]string{"image": a2}).Expect2xx(t)
	waitUnits(t, srv, tok, "alpha", "rolled onto a-v2", allStarted(3, 2))
	srv.Req(t, "DELETE", "/apps/alpha/units?units=2", tok, nil).Expect2xx(t)
	waitUnits(t, srv, tok, "alpha", "scaled to one", allStarted(1, 2))
	waitContainers(t, "alpha", 1)
	before := getApp(t, srv, tok, "alpha").Units[0].StartedAt
	srv.Req(t, "GET", "/apps/alpha/restart", tok, nil).Expect2xx(t)
	waitUnits(t, srv, tok, "alpha", "restarted", func(us []tsuruUnit) bool { return allStarted(1, 2)(us) && us[0].StartedAt.After(before) })
	waitContainers(t, "alpha", 1)
	tr.finish(t, 2000)

	t.Logf("%d requests, answers %v", tr.total.Load(), tr.answers)
	for version := range tr.answers[alpha] {
		if !strings.HasPrefix(version, "a-") {
			t.Fatalf("alpha's address answered %q", version)
		}
	}
	if len(tr.answers[beta]) != 1 || tr.answers[beta]["b-v1"] == 0 {
		t.Fatalf("beta's address answered %v", tr.answers[beta])
	}
	if tr.answers[alpha]["a-v2"] == 0 {
		t.Fatal("alpha's address never answered the new release")
	}
	metrics := string(srv.Req(t, "GET", "/metrics", srv.AdminToken, nil).Expect(t, 200).Body)
	for _, want := range []string{
		`berth_router_requests_total{app="alpha",class="2xx"}`,
		`berth_router_requests_total{app="beta",class="2xx"}`,
		`berth_router_upstream_duration_seconds_count{app="alpha"}`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestSwapMovesTraffic: once a swap answers, every new request for blue's
// address reaches green's units and back, with no failed request.
func TestSwapMovesTraffic(t *testing.T) {
	blue, green := testimage.Build(t, "blue"), testimage.Build(t, "green")
	srv := start(t, berthtest.WithRouter())
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	tok := ana.Token
	for app, img := range map[string]string{"blue": blue, "green": green} {
		srv.Req(t, "POST", "/apps", tok, map[string]string{"name": app, "platform": "go"}).Expect2xx(t)
		srv.Req(t, "POST", "/apps/"+app+"/deploy", tok, map[string]string{"image": img}).Expect2xx(t)
		waitUnits(t, srv, tok, app, app+" runs", allStarted(1, 1))
	}
	blueHost, greenHost := "blue.berth.local", "green.berth.local"
	waitAnswer(t, srv, blueHost, "blue")
	waitAnswer(t, srv, greenHost, "green")

	tr := newTraffic(srv)
	tr.run(4, blueHost, greenHost)
	for tr.total.Load() < 300 {
		time.Sleep(20 * time.Millisecond)
	}
	srv.Req(t, "PUT", "/swap?app1=blue&app2=green", tok, nil).Expect2xx(t)
	tr.markNow()
	for tr.total.Load() < 1300 {
		time.Sleep(20 * time.Millisecond)
	}
	tr.finish(t, 1300)
	tr.mu.Lock()
	defer tr.mu.Unlock()
	t.Logf("answers %v; after the swap %v", tr.answers, tr.answered)
	if got := tr.answered[blueHost]; len(got) != 1 || got["green"] == 0 {
		t.Fatalf("after the swap answered, blue's address got %v, want only green", got)
	}
	if got := tr.answered[greenHost]; len(got) != 1 || got["blue"] == 0 {
		t.Fatalf("after the swap answered, green's address got %v, want only blue", got)
	}
}

// TestRouterWhenNoUnitAnswers: an app whose units all crash answers 503
// at once; once a unit runs again, traffic resumes.
func TestRouterWhenNoUnitAnswers(t *testing.T) {
	broken := testimage.BuildWith(t, "broken", testimage.Spec{Crash: true})
	fixed := testimage.Build(t, "fixed")
	srv := start(t, berthtest.WithRouter())
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	tok := ana.Token
	srv.Req(t, "POST", "/apps", tok, map[string]string{"name": "flaky", "platform": "go"}).Expect2xx(t)
	srv.Req(t, "POST", "/apps/flaky/deploy", tok, map[string]string{"image": broken}).Expect2xx(t)
	host := "flaky.berth.local"

	deadline := time.Now().Add(time.Minute)
	for {
		req, _ := http.NewRequest("GET", srv.RouterURL+"/", nil)
		req.Host = host
		started := time.Now()
		resp, err := httpc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 503 {
			if took := time.Since(started); took > time.Second {
				t.Fatalf("the 503 took %s", took)
			}
			if !strings.Contains(string(body), "flaky") {
				t.Fatalf("the 503 page does not name the app: %q", body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no 503 for an app whose units crash: %d %q", resp.StatusCode, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	srv.Req(t, "POST", "/apps/flaky/deploy", tok, map[string]string{"image": fixed}).Expect2xx(t)
	waitAnswer(t, srv, host, "fixed")
}

// waitAnswer polls the router until host answers version.
func waitAnswer(t *testing.T, srv *berthtest.Server, host, version string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	var last string
	for time.Now().Before(deadline) {
		req, _ := http.NewRequest("GET", srv.RouterURL+"/", nil)
		req.Host = host
		resp, err := httpc.Do(req)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var a struct{ Version string }
			if resp.StatusCode == 200 && json.Unmarshal(body, &a) == nil && a.Version == version {
				return
			}
			last = fmt.Sprintf("%d %s", resp.StatusCode, body)
		} else {
			last = err.Error()
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s did not answer %s through the router within 2m; last: %s", host, version, last)
}
