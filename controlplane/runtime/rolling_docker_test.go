package runtime_test

// These tests run Rolling over the real docker driver on the real engine;
// internal/testimage builds the app they run.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/berthdev/terraform-provider-berth/controlplane/runtime"
	"github.com/berthdev/terraform-provider-berth/controlplane/runtime/docker"
	"github.com/berthdev/terraform-provider-berth/controlplane/runtime/docker/dockertest"
	"github.com/berthdev/terraform-provider-berth/internal/testimage"
)

// hooked is the real driver with hooks on Start and Stop: tests record
// the order of things, or cut an Apply short where they want.
type hooked struct {
	*docker.Driver
	afterStart func(runtime.Unit)
	beforeStop func(id string)
}

func (h *hooked) Start(ctx context.Context, s runtime.UnitSpec) (runtime.Unit, error) {
	u, err := h.Driver.Start(ctx, s)
	if err == nil && h.afterStart != nil {
		h.afterStart(u)
	}
	return u, err
}

func (h *hooked) Stop(ctx context.Context, id string, grace time.Duration) error {
	if h.beforeStop != nil {
		h.beforeStop(id)
	}
	return h.Driver.Stop(ctx, id, grace)
}

func randomID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func workload(image string, instances int, env ...runtime.EnvVar) runtime.Workload {
	return runtime.Workload{
		AppID: "app-" + randomID(), App: "shop", Team: "t", Proc: "web", Release: 1, Image: image, Port: 8080, Instances: instances,
		Env: append([]runtime.EnvVar{{Name: "APP_NAME", Value: "shop"}, {Name: "PORT", Value: "8080"}}, env...),
	}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

var httpc = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

func get(addr, path string) (string, error) {
	resp, err := httpc.Get("http://" + addr + path)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("GET %s: status %d", path, resp.StatusCode)
	}
	return strings.TrimSpace(string(b)), nil
}

func mustGet(t *testing.T, addr, path string) string {
	t.Helper()
	s, err := get(addr, path)
	if err != nil {
		t.Fatalf("unit at %s: %v", addr, err)
	}
	return s
}

func running(t *testing.T, r *runtime.Rolling, appID string) []runtime.Unit {
	t.Helper()
	units, err := r.Units(context.Background(), appID)
	if err != nil {
		t.Fatal(err)
	}
	return units
}

// check asserts that the app's units are exactly indexes 0..n-1, one
// each, all running at w's revision, answering version.
func check(t *testing.T, r *runtime.Rolling, w runtime.Workload, version string) []runtime.Unit {
	t.Helper()
	units := running(t, r, w.AppID)
	if len(units) != w.Instances {
		t.Fatalf("%d units, want %d: %+v", len(units), w.Instances, units)
	}
	for i, u := range units {
		if u.Index != i || u.State != runtime.UnitRunning || u.Revision != w.Revision() || u.Name != runtime.UnitName(w, i, w.Revision()) {
			t.Fatalf("unit %d: %+v", i, u)
		}
		if got := mustGet(t, u.Address, "/version"); got != version {
			t.Fatalf("unit %s answers version %q, want %q", u.Name, got, version)
		}
	}
	return units
}

// containers counts the installation's containers on the engine, straight
// from the engine, per index label.
func containers(t *testing.T, d *docker.Driver) map[string]int {
	t.Helper()
	f := make(client.Filters).Add("label", runtime.LabelInstallation+"="+d.Installation())
	res, err := d.Client().ContainerList(context.Background(), client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, c := range res.Items {
		n[c.Labels[runtime.LabelProc]+"/"+c.Labels[runtime.LabelIndex]]++
	}
	return n
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// applyUntil calls Apply until it converges, waiting out back-offs.
func applyUntil(t *testing.T, r *runtime.Rolling, w runtime.Workload, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		err := r.Apply(testCtx(t), w)
		if err == nil {
			return
		}
		var b *runtime.BackoffError
		if !errors.As(err, &b) || time.Now().After(deadline) {
			t.Fatalf("Apply: %v", err)
		}
		time.Sleep(time.Until(b.Until) + 50*time.Millisecond)
	}
}

func newRolling(t *testing.T, o runtime.RollingOptions) (*runtime.Rolling, *docker.Driver) {
	d := dockertest.New(t, "")
	if o.Logger == nil {
		o.Logger = testLogger()
	}
	return runtime.NewRolling(d, o), d
}

// testLogger shows what Rolling does when BERTH_TEST_LOG=1.
func testLogger() *slog.Logger {
	if os.Getenv("BERTH_TEST_LOG") != "1" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, nil))
}

func TestRollingDeployAndCall(t *testing.T) {
	image := testimage.Build(t, "v1")
	r, d := newRolling(t, runtime.RollingOptions{})
	w := workload(image, 1)
	began := time.Now()
	if err := r.Apply(testCtx(t), w); err != nil {
		t.Fatal(err)
	}
	t.Logf("Apply of 1 unit (create, start, answer): %v", time.Since(began).Round(time.Millisecond))
	u := check(t, r, w, "v1")[0]
	var root struct{ App, Version, Unit string }
	if err := json.Unmarshal([]byte(mustGet(t, u.Address, "/")), &root); err != nil || root.App != "shop" || root.Version != "v1" || !strings.HasPrefix(u.ID, root.Unit) {
		t.Fatalf("GET / = %+v (%v), unit %s", root, err, u.ID)
	}
	// Converged: another Apply changes nothing.
	if err := r.Apply(testCtx(t), w); err != nil {
		t.Fatal(err)
	}
	if again := check(t, r, w, "v1"); again[0].ID != u.ID {
		t.Fatalf("a converged Apply replaced the unit")
	}
	if ids, err := r.AppIDs(testCtx(t)); err != nil || !slices.Equal(ids, []string{w.AppID}) {
		t.Fatalf("AppIDs = %v, %v", ids, err)
	}
	if n := total(containers(t, d)); n != 1 {
		t.Fatalf("%d containers", n)
	}
}

func TestRollingScale(t *testing.T) {
	image := testimage.Build(t, "v1")
	r, d := newRolling(t, runtime.RollingOptions{StopGrace: 5 * time.Second})
	w := workload(image, 1)
	for _, n := range []int{1, 3, 1} {
		w.Instances = n
		began := time.Now()
		if err := r.Apply(testCtx(t), w); err != nil {
			t.Fatal(err)
		}
		t.Logf("scale to %d: %v", n, time.Since(began).Round(time.Millisecond))
		check(t, r, w, "v1")
		if c := containers(t, d); total(c) != n {
			t.Fatalf("scaled to %d: containers %v", n, c)
		}
	}
	w.Instances = 0
	if err := r.Apply(testCtx(t), w); err != nil {
		t.Fatal(err)
	}
	if c := containers(t, d); total(c) != 0 {
		t.Fatalf("scaled to 0: containers %v", c)
	}
}

// A new revision rolls one unit at a time: each new unit answers, and the
// router has dropped the old one, before the old one is stopped. A client
// that follows the router sees no failed request.
func TestRollingReplaceOrder(t *testing.T) {
	v1, v2 := testimage.Build(t, "v1"), testimage.Build(t, "v2")
	inner := dockertest.New(t, "")
	h := &hooked{Driver: inner}

	var mu sync.Mutex
	var events []string
	record := func(format string, a ...any) {
		mu.Lock()
		events = append(events, fmt.Sprintf(format, a...))
		mu.Unlock()
	}
	var routes atomic.Pointer[[]string] // the router's table: addresses
	routes.Store(&[]string{})
	var r *runtime.Rolling
	onChange := func(ctx context.Context, appID string) {
		units, err := r.Units(ctx, appID)
		if err != nil {
			t.Error(err)
			return
		}
		var table []string
		for _, u := range units {
			switch u.State {
			case runtime.UnitRunning:
				v, err := get(u.Address, "/version")
				if err != nil {
					t.Errorf("router told of %s, which does not answer: %v", u.Name, err)
				}
				record("routed %s %s", u.Name, v)
				table = append(table, u.Address)
			case runtime.UnitStopping:
				record("dropped %s", u.Name)
			}
		}
		routes.Store(&table)
	}
	// The drain delay covers a request that read the old table just before
	// the change, on a loaded machine.
	r = runtime.NewRolling(h, runtime.RollingOptions{OnChange: onChange, DrainDelay: 500 * time.Millisecond, StopGrace: 5 * time.Second})
	names := map[string]string{}
	h.beforeStop = func(id string) {
		mu.Lock()
		name := names[id]
		mu.Unlock()
		record("stop %s", name)
	}
	h.afterStart = func(u runtime.Unit) {
		mu.Lock()
		names[u.ID] = u.Name
		mu.Unlock()
	}

	w := workload(v1, 3)
	if err := r.Apply(testCtx(t), w); err != nil {
		t.Fatal(err)
	}
	old := check(t, r, w, "v1")

	// A client sending requests through the router all along.
	stop := make(chan struct{})
	var sent, failed atomic.Int64
	var clientDone sync.WaitGroup
	clientDone.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			table := *routes.Load()
			if len(table) == 0 {
				continue
			}
			sent.Add(1)
			if _, err := get(table[i%len(table)], "/"); err != nil {
				failed.Add(1)
				t.Logf("request failed: %v", err)
			}
			time.Sleep(5 * time.Millisecond)
		}
	})

	mu.Lock()
	events = nil
	mu.Unlock()
	w2 := w
	w2.Image, w2.Release = v2, 2
	began := time.Now()
	if err := r.Apply(testCtx(t), w2); err != nil {
		t.Fatal(err)
	}
	t.Logf("rolling replace of 3 units: %v", time.Since(began).Round(time.Millisecond))
	close(stop)
	clientDone.Wait()
	check(t, r, w2, "v2")
	if total(containers(t, inner)) != 3 {
		t.Fatalf("containers %v", containers(t, inner))
	}
	if failed.Load() > 0 || sent.Load() < 10 {
		t.Fatalf("%d of %d requests through the router failed", failed.Load(), sent.Load())
	}

	mu.Lock()
	defer mu.Unlock()
	t.Logf("order:\n%s", strings.Join(events, "\n"))
	at := func(e string) int {
		i := slices.Index(events, e)
		if i < 0 {
			t.Fatalf("no %q in\n%s", e, strings.Join(events, "\n"))
		}
		return i
	}
	for i, o := range old {
		newName := runtime.UnitName(w2, i, w2.Revision())
		routed, dropped, stopped := at("routed "+newName+" v2"), at("dropped "+o.Name), at("stop "+o.Name)
		if !(routed < stopped && dropped < stopped) {
			t.Errorf("index %d: new unit routed at %d, old dropped at %d, old stopped at %d", i, routed, dropped, stopped)
		}
		// One at a time: the next new unit starts after this old one stopped.
		if i+1 < len(old) {
			if next := at("routed " + runtime.UnitName(w2, i+1, w2.Revision()) + " v2"); next < stopped {
				t.Errorf("index %d was routed before index %d's old unit stopped", i+1, i)
			}
		}
	}
}

func TestRollingEnvChange(t *testing.T) {
	image := testimage.Build(t, "v1")
	r, _ := newRolling(t, runtime.RollingOptions{StopGrace: 5 * time.Second})
	w := workload(image, 2, runtime.EnvVar{Name: "GREETING", Value: "hello"}, runtime.EnvVar{Name: "TOKEN", Value: "s3cret-value", Private: true})
	if err := r.Apply(testCtx(t), w); err != nil {
		t.Fatal(err)
	}
	for _, u := range check(t, r, w, "v1") {
		if g := mustGet(t, u.Address, "/env/GREETING"); g != "hello" {
			t.Fatalf("GREETING = %q", g)
		}
	}
	w.Env = []runtime.EnvVar{w.Env[0], w.Env[1], {Name: "GREETING", Value: "bonjour"}, w.Env[3]}
	if err := r.Apply(testCtx(t), w); err != nil {
		t.Fatal(err)
	}
	for _, u := range check(t, r, w, "v1") {
		if g := mustGet(t, u.Address, "/env/GREETING"); g != "bonjour" {
			t.Fatalf("after the change GREETING = %q", g)
		}
		if g := mustGet(t, u.Address, "/env/TOKEN"); g != "s3cret-value" {
			t.Fatalf("private variable = %q", g)
		}
	}
	// APP_VERSION from the workload wins over the image's.
	w.Env = append(w.Env, runtime.EnvVar{Name: "APP_VERSION", Value: "from-env"})
	if err := r.Apply(testCtx(t), w); err != nil {
		t.Fatal(err)
	}
	check(t, r, w, "from-env")
}

func TestRollingFailedRollout(t *testing.T) {
	image := testimage.Build(t, "v1")
	// A back-off long enough that the retry below, on a loaded machine,
	// still falls in it.
	r, d := newRolling(t, runtime.RollingOptions{StopGrace: 5 * time.Second, Backoff: runtime.Backoff{Initial: 10 * time.Second}})
	w := workload(image, 2, runtime.EnvVar{Name: "TOKEN", Value: "s3cret-value", Private: true})
	if err := r.Apply(testCtx(t), w); err != nil {
		t.Fatal(err)
	}
	old := check(t, r, w, "v1")

	bad := w
	bad.Release = 2
	bad.Env = append(slices.Clone(w.Env), runtime.EnvVar{Name: "CRASH_AT_START", Value: "1"})
	began := time.Now()
	err := r.Apply(testCtx(t), bad)
	t.Logf("failed rollout after %v: %v", time.Since(began).Round(time.Millisecond), err)
	if !errors.Is(err, runtime.ErrRolloutFailed) {
		t.Fatalf("Apply = %v, want ErrRolloutFailed", err)
	}
	for _, want := range []string{"exited with code 1", "CRASH_AT_START=1, exiting"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "s3cret-value") {
		t.Errorf("error shows a variable's value: %v", err)
	}
	if took := time.Since(began); took > 20*time.Second {
		t.Errorf("a unit that exits at once took %v to fail the rollout", took)
	}
	// The old units still serve, alone.
	now := check(t, r, w, "v1")
	for i := range old {
		if now[i].ID != old[i].ID {
			t.Fatalf("old unit %d was replaced", i)
		}
	}
	if c := containers(t, d); total(c) != 2 {
		t.Fatalf("containers after the failed rollout: %v", c)
	}

	// Retried at once: refused without a new attempt, until the back-off.
	err = r.Apply(testCtx(t), bad)
	if !errors.Is(err, runtime.ErrRolloutFailed) || !errors.Is(err, runtime.ErrBackoff) {
		t.Fatalf("second Apply = %v, want ErrRolloutFailed and ErrBackoff", err)
	}
	check(t, r, w, "v1")

	// Back to the good revision: nothing to do.
	if err := r.Apply(testCtx(t), w); err != nil {
		t.Fatal(err)
	}
	check(t, r, w, "v1")
}

func TestRollingFirstDeployFails(t *testing.T) {
	image := testimage.Build(t, "v1")
	r, d := newRolling(t, runtime.RollingOptions{Backoff: runtime.Backoff{Initial: 500 * time.Millisecond}})
	w := workload(image, 1, runtime.EnvVar{Name: "CRASH_AT_START", Value: "1"})
	if err := r.Apply(testCtx(t), w); !errors.Is(err, runtime.ErrRolloutFailed) {
		t.Fatalf("Apply = %v, want ErrRolloutFailed", err)
	}
	// The unit stays, exited, for people to see; it is restarted with
	// back-off and reported so meanwhile.
	var sawBackoff bool
	deadline := time.Now().Add(30 * time.Second)
	for !sawBackoff && time.Now().Before(deadline) {
		err := r.Apply(testCtx(t), w)
		if errors.Is(err, runtime.ErrBackoff) {
			sawBackoff = true
			units := running(t, r, w.AppID)
			if len(units) != 1 || units[0].State != runtime.UnitError || !strings.Contains(units[0].Message, "back-off") {
				t.Fatalf("units during back-off: %+v", units)
			}
		} else if !errors.Is(err, runtime.ErrRolloutFailed) {
			t.Fatalf("Apply = %v", err)
		}
		if c := containers(t, d); total(c) != 1 {
			t.Fatalf("containers: %v", c)
		}
	}
	if !sawBackoff {
		t.Fatal("no back-off seen")
	}
}

func TestRollingRestartsKilledUnit(t *testing.T) {
	image := testimage.Build(t, "v1")
	// The second restart waits 3s: long enough to be seen on a loaded
	// machine, short enough for the test.
	r, d := newRolling(t, runtime.RollingOptions{Backoff: runtime.Backoff{Initial: 3 * time.Second}})
	w := workload(image, 2)
	if err := r.Apply(testCtx(t), w); err != nil {
		t.Fatal(err)
	}
	victim := check(t, r, w, "v1")[0]

	kill := func(id string) {
		t.Helper()
		if _, err := d.Client().ContainerKill(testCtx(t), id, client.ContainerKillOptions{}); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			u, err := d.Inspect(testCtx(t), id)
			if err != nil {
				t.Fatal(err)
			}
			if u.State == runtime.UnitExited {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("killed unit still %s", u.State)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	kill(victim.ID)
	began := time.Now()
	if err := r.Apply(testCtx(t), w); err != nil {
		t.Fatalf("Apply after the kill: %v", err)
	}
	back := check(t, r, w, "v1")[0]
	took := time.Since(began)
	t.Logf("killed unit back and answering in %v", took.Round(time.Millisecond))
	if took > 10*time.Second || back.ID == victim.ID {
		t.Fatalf("unit back in %v (id %s, was %s)", took, back.ID, victim.ID)
	}

	// Killed again at once: this time it waits out a back-off, and says so.
	kill(back.ID)
	err := r.Apply(testCtx(t), w)
	var b *runtime.BackoffError
	if !errors.As(err, &b) {
		t.Fatalf("Apply after a second kill = %v, want a back-off", err)
	}
	if u := running(t, r, w.AppID)[0]; u.State != runtime.UnitError || !strings.Contains(u.Message, "killed by signal 9") {
		t.Fatalf("unit during back-off: %+v", u)
	}
	applyUntil(t, r, w, 10*time.Second)
	check(t, r, w, "v1")
	if c := containers(t, d); total(c) != 2 {
		t.Fatalf("containers %v", c)
	}
}

// berthd dies in the middle of a rollout (its Apply's context ends at a
// chosen point); a new Rolling over a new driver finishes the work with
// exactly the desired units.
func TestRollingCrashMidRollout(t *testing.T) {
	v1, v2 := testimage.Build(t, "v1"), testimage.Build(t, "v2")
	for _, at := range []string{"after the new unit started", "after the router was told", "while stopping an old unit", "while removing surplus"} {
		t.Run(at, func(t *testing.T) {
			inst := dockertest.Installation(t)
			h := &hooked{Driver: dockertest.New(t, inst)}
			w := workload(v1, 3)
			if err := runtime.NewRolling(h, runtime.RollingOptions{}).Apply(testCtx(t), w); err != nil {
				t.Fatal(err)
			}
			w2 := w
			w2.Image, w2.Release = v2, 2
			if at == "while removing surplus" {
				w2.Instances = 1
			}

			ctx, crash := context.WithCancel(testCtx(t))
			defer crash()
			o := runtime.RollingOptions{StopGrace: 5 * time.Second}
			var stops atomic.Int32
			switch at {
			case "after the new unit started":
				h.afterStart = func(u runtime.Unit) {
					if u.Revision == w2.Revision() && u.Index == 1 {
						crash()
					}
				}
			case "after the router was told":
				var calls atomic.Int32
				o.OnChange = func(context.Context, string) {
					if calls.Add(1) == 3 { // index 0 done; index 1 routed
						crash()
					}
				}
			case "while stopping an old unit", "while removing surplus":
				h.beforeStop = func(string) {
					if stops.Add(1) == 2 {
						crash()
					}
				}
			}
			err := runtime.NewRolling(h, o).Apply(ctx, w2)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("interrupted Apply = %v", err)
			}
			t.Logf("left behind: %v", containers(t, h.Driver))

			// The new berthd: a new driver and a new Rolling.
			d2 := dockertest.New(t, inst)
			r2 := runtime.NewRolling(d2, runtime.RollingOptions{StopGrace: 5 * time.Second})
			if err := r2.Apply(testCtx(t), w2); err != nil {
				t.Fatal(err)
			}
			check(t, r2, w2, "v2")
			c := containers(t, d2)
			for k, n := range c {
				if n != 1 {
					t.Fatalf("%d containers at %s: %v", n, k, c)
				}
			}
			if total(c) != w2.Instances {
				t.Fatalf("containers %v, want %d", c, w2.Instances)
			}
		})
	}
}

func TestRollingRemove(t *testing.T) {
	image := testimage.Build(t, "v1")
	r, d := newRolling(t, runtime.RollingOptions{StopGrace: 5 * time.Second, Settle: 300 * time.Millisecond})
	web := workload(image, 2)
	worker := web
	worker.Proc, worker.Port, worker.Instances = "worker", 0, 1
	other := workload(image, 1)

	// Different apps and procs at once, and the same proc twice (the two
	// Applies take turns: the second finds the work done).
	var wg sync.WaitGroup
	for _, w := range []runtime.Workload{web, worker, other, web} {
		wg.Go(func() {
			if err := r.Apply(testCtx(t), w); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	ids, err := r.AppIDs(testCtx(t))
	if want := []string{web.AppID, other.AppID}; err != nil || !slices.Equal(ids, slices.Sorted(slices.Values(want))) {
		t.Fatalf("AppIDs = %v, %v", ids, err)
	}
	if n := len(running(t, r, web.AppID)); n != 3 {
		t.Fatalf("%d units of the app, want 3", n)
	}
	check(t, r, other, "v1")
	if c := containers(t, d); total(c) != 4 || c["web/0"] != 2 || c["web/1"] != 1 || c["worker/0"] != 1 {
		t.Fatalf("containers %v", c) // web/0: one per app
	}

	if err := r.Remove(testCtx(t), web.AppID, "worker"); err != nil {
		t.Fatal(err)
	}
	if units := running(t, r, web.AppID); len(units) != 2 || units[0].Proc != "web" || units[1].Proc != "web" {
		t.Fatalf("after removing the worker: %+v", units)
	}
	if err := r.Remove(testCtx(t), web.AppID, ""); err != nil {
		t.Fatal(err)
	}
	if units := running(t, r, web.AppID); len(units) != 0 {
		t.Fatalf("after removing the app: %+v", units)
	}
	if err := r.Remove(testCtx(t), web.AppID, ""); err != nil {
		t.Fatalf("removing again: %v", err)
	}
	if c := containers(t, d); total(c) != 1 {
		t.Fatalf("containers left: %v (the other app's only)", c)
	}
	if err := r.Remove(testCtx(t), other.AppID, ""); err != nil {
		t.Fatal(err)
	}
	if c := containers(t, d); total(c) != 0 {
		t.Fatalf("containers left: %v", c)
	}
	if ids, _ := r.AppIDs(testCtx(t)); len(ids) != 0 {
		t.Fatalf("AppIDs = %v", ids)
	}
}

func TestRollingImageUnavailable(t *testing.T) {
	r, d := newRolling(t, runtime.RollingOptions{})
	w := workload("127.0.0.1:1/berth/missing:v1", 1)
	err := r.Apply(testCtx(t), w)
	if !errors.Is(err, runtime.ErrRolloutFailed) || !errors.Is(err, runtime.ErrImageUnavailable) {
		t.Fatalf("Apply = %v, want ErrRolloutFailed and ErrImageUnavailable", err)
	}
	if c := containers(t, d); total(c) != 0 {
		t.Fatalf("containers %v", c)
	}
}
