// Package runtime_test runs apps for real: a berthd with the Docker runtime
// deploys the test app image through each dialect, and the tests call the
// units it runs. They need a Docker Engine and fail without one.
package runtime_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/berthdev/terraform-provider-berth/controlplane/runtime"
	"github.com/berthdev/terraform-provider-berth/internal/berthtest"
	"github.com/berthdev/terraform-provider-berth/internal/testimage"
)

var ctx = context.Background()

// rolling is quick enough for tests on a loaded machine, and patient
// enough for units to come up on one.
var rolling = runtime.RollingOptions{HealthTimeout: 60 * time.Second, StopGrace: 5 * time.Second}

func start(t *testing.T, opts ...func(*berthtest.Options)) *berthtest.Server {
	t.Helper()
	return berthtest.Start(t, append([]func(*berthtest.Options){berthtest.WithDocker(rolling)}, opts...)...)
}

// tsuruUnit is a unit as tsuru's app info shows it, with berth's fields.
type tsuruUnit struct {
	Name      string
	State     string
	Address   string
	Release   int
	StartedAt time.Time
	Message   string
}

type tsuruApp struct {
	Name  string
	Units []tsuruUnit
}

func getApp(t *testing.T, srv *berthtest.Server, token, app string) tsuruApp {
	t.Helper()
	var a tsuruApp
	srv.Req(t, "GET", "/apps/"+app, token, nil).Expect(t, 200).JSON(t, &a)
	return a
}

// waitUnits polls the app until cond holds of its units.
func waitUnits(t *testing.T, srv *berthtest.Server, token, app, what string, cond func([]tsuruUnit) bool) []tsuruUnit {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	var last []tsuruUnit
	for time.Now().Before(deadline) {
		last = getApp(t, srv, token, app).Units
		if cond(last) {
			return last
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("app %s: %s: not within 2m; units: %+v", app, what, last)
	return nil
}

// allStarted holds when n units run release and have an address.
func allStarted(n, release int) func([]tsuruUnit) bool {
	return func(us []tsuruUnit) bool {
		if len(us) != n {
			return false
		}
		for _, u := range us {
			if u.State != "started" || u.Address == "" || u.Release != release {
				return false
			}
		}
		return true
	}
}

var httpc = &http.Client{Timeout: 5 * time.Second}

// get calls a unit.
func get(t *testing.T, addr, path string) (int, string) {
	t.Helper()
	resp, err := httpc.Get("http://" + addr + path)
	if err != nil {
		t.Fatalf("GET %s%s: %v", addr, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// eventuallyAnswers polls every unit's path until each answers want.
func eventuallyAnswers(t *testing.T, srv *berthtest.Server, token, app, path, want string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	var got []string
	for time.Now().Before(deadline) {
		got = nil
		ok := true
		for _, u := range getApp(t, srv, token, app).Units {
			if u.Address == "" {
				ok = false
				continue
			}
			resp, err := httpc.Get("http://" + u.Address + path)
			if err != nil {
				ok = false
				got = append(got, err.Error())
				continue
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			got = append(got, strings.TrimSpace(string(b)))
			if strings.TrimSpace(string(b)) != want {
				ok = false
			}
		}
		if ok && len(got) > 0 {
			return
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Fatalf("app %s: %s did not answer %q on every unit within 2m: %q", app, path, want, got)
}

// containersOf lists the containers the runtime runs for an app.
func containersOf(t *testing.T, app string) []string {
	t.Helper()
	cli := testimage.Docker(t)
	res, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("label", runtime.LabelApp+"="+app)})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range res.Items {
		out = append(out, fmt.Sprintf("%s(%s)", strings.TrimPrefix(c.Names[0], "/"), c.State))
	}
	return out
}

// waitContainers polls until the app has n containers, running or not.
func waitContainers(t *testing.T, app string, n int) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	var got []string
	for time.Now().Before(deadline) {
		if got = containersOf(t, app); len(got) == n {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("app %s has containers %v, want %d", app, got, n)
}

func httpNewRequest(method, url, body string) (*http.Request, error) {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	return http.NewRequest(method, url, r)
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
