package docker_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/berthdev/terraform-provider-berth/controlplane/runtime"
	"github.com/berthdev/terraform-provider-berth/controlplane/runtime/docker"
	"github.com/berthdev/terraform-provider-berth/controlplane/runtime/docker/dockertest"
	"github.com/berthdev/terraform-provider-berth/internal/testimage"
)

func spec(image, app string, index int, env ...runtime.EnvVar) runtime.UnitSpec {
	w := runtime.Workload{
		AppID: "id-" + app, App: app, Proc: "web", Release: 3, Image: image, Port: 8080,
		Env: append([]runtime.EnvVar{{Name: "APP_NAME", Value: app}, {Name: "PORT", Value: "8080"}}, env...),
	}
	return w.Spec(index)
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// answer polls the unit's address until GET path answers 200.
func answer(t *testing.T, addr, path string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + path)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return string(b)
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET http://%s%s: %v", addr, path, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func waitState(t *testing.T, d *docker.Driver, id string, want runtime.UnitState) runtime.Unit {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		u, err := d.Inspect(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if u.State == want {
			return u
		}
		if time.Now().After(deadline) {
			t.Fatalf("unit %s is %s (%s), want %s", u.Name, u.State, u.Message, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestStartInspectListStop(t *testing.T) {
	image := testimage.Build(t, "v1")
	d := dockertest.New(t, "")
	ctx := ctxT(t)

	s := spec(image, "shop", 0)
	s.CPU, s.Memory = 1, 64<<20
	began := time.Now()
	u, err := d.Start(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if u.State != runtime.UnitRunning || u.Name != s.Name || u.AppID != "id-shop" || u.App != "shop" ||
		u.Proc != "web" || u.Index != 0 || u.Release != 3 || u.Revision != s.Revision || u.StartedAt.IsZero() {
		t.Fatalf("Start = %+v", u)
	}
	if !strings.HasPrefix(u.Address, "127.0.0.1:") {
		t.Fatalf("Address = %q, want 127.0.0.1:<port>", u.Address)
	}
	body := answer(t, u.Address, "/")
	t.Logf("Start to first answer: %v", time.Since(began).Round(time.Millisecond))
	if !strings.Contains(body, `"app":"shop"`) || !strings.Contains(body, `"version":"v1"`) {
		t.Fatalf("GET / = %s", body)
	}

	// What the engine was told.
	c := inspect(t, d.Client(), u.ID)
	if c.HostConfig.NanoCPUs != 1e9 || c.HostConfig.Memory != 64<<20 || c.HostConfig.MemorySwap != 64<<20 {
		t.Errorf("limits: NanoCPUs %d Memory %d MemorySwap %d", c.HostConfig.NanoCPUs, c.HostConfig.Memory, c.HostConfig.MemorySwap)
	}
	if p := c.HostConfig.RestartPolicy.Name; p != container.RestartPolicyDisabled && p != "" {
		t.Errorf("restart policy %q, want none", p)
	}
	for port, bs := range c.HostConfig.PortBindings {
		if port.String() != "8080/tcp" || len(bs) != 1 || bs[0].HostIP.String() != "127.0.0.1" || bs[0].HostPort != "" {
			t.Errorf("port binding %s: %+v", port, bs)
		}
	}
	want := map[string]string{
		runtime.LabelInstallation: d.Installation(), runtime.LabelAppID: "id-shop", runtime.LabelApp: "shop",
		runtime.LabelProc: "web", runtime.LabelIndex: "0", runtime.LabelRelease: "3", runtime.LabelRevision: s.Revision,
	}
	for k, v := range want {
		if got := c.Config.Labels[k]; got != v {
			t.Errorf("label %s = %q, want %q", k, got, v)
		}
	}

	got, err := d.Inspect(ctx, u.ID)
	if err != nil || got.ID != u.ID || got.Address != u.Address || got.State != runtime.UnitRunning {
		t.Fatalf("Inspect = %+v, %v", got, err)
	}
	if got, err := d.Inspect(ctx, s.Name); err != nil || got.ID != u.ID {
		t.Fatalf("Inspect by name = %+v, %v", got, err)
	}

	list, err := d.List(ctx)
	if err != nil || len(list) != 1 || list[0].ID != u.ID {
		t.Fatalf("List = %+v, %v", list, err)
	}
	if l, err := d.ListApp(ctx, "id-shop"); err != nil || len(l) != 1 {
		t.Fatalf("ListApp = %+v, %v", l, err)
	}
	if l, err := d.ListApp(ctx, "id-other"); err != nil || len(l) != 0 {
		t.Fatalf("ListApp(other) = %+v, %v", l, err)
	}

	// Another installation on the same engine sees none of it.
	other := dockertest.New(t, "")
	if l, err := other.List(ctx); err != nil || len(l) != 0 {
		t.Fatalf("other installation List = %+v, %v", l, err)
	}
	if _, err := other.Inspect(ctx, u.ID); !errors.Is(err, runtime.ErrNotFound) {
		t.Fatalf("other installation Inspect: %v, want ErrNotFound", err)
	}
	if err := other.Stop(ctx, u.ID, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Start(ctx, s); err == nil || !strings.Contains(err.Error(), "not this installation's") {
		t.Fatalf("other installation Start of a taken name: %v", err)
	}
	if got, _ := d.Inspect(ctx, u.ID); got.State != runtime.UnitRunning {
		t.Fatalf("another installation touched the unit: %+v", got)
	}

	began = time.Now()
	if err := d.Stop(ctx, u.ID, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("Stop (SIGTERM, clean exit, remove): %v", time.Since(began).Round(time.Millisecond))
	if _, err := d.Inspect(ctx, u.ID); !errors.Is(err, runtime.ErrNotFound) {
		t.Fatalf("Inspect after Stop: %v, want ErrNotFound", err)
	}
	if err := d.Stop(ctx, u.ID, time.Second); err != nil {
		t.Fatalf("Stop of a missing unit: %v", err)
	}
	if l, _ := d.List(ctx); len(l) != 0 {
		t.Fatalf("List after Stop = %+v", l)
	}
}

func inspect(t *testing.T, cli *client.Client, id string) container.InspectResponse {
	t.Helper()
	res, err := cli.ContainerInspect(context.Background(), id, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return res.Container
}

func TestCPUCappedToHost(t *testing.T) {
	image := testimage.Build(t, "v1")
	d := dockertest.New(t, "")
	ctx := ctxT(t)
	info, err := d.Client().Info(ctx, client.InfoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := spec(image, "big", 0)
	s.CPU = info.Info.NCPU + 7
	u, err := d.Start(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := inspect(t, d.Client(), u.ID).HostConfig.NanoCPUs, int64(info.Info.NCPU)*1e9; got != want {
		t.Fatalf("NanoCPUs = %d, want %d (the host's %d CPUs)", got, want, info.Info.NCPU)
	}
	s2 := spec(image, "nolimit", 0)
	u2, err := d.Start(ctx, s2)
	if err != nil {
		t.Fatal(err)
	}
	if hc := inspect(t, d.Client(), u2.ID).HostConfig; hc.NanoCPUs != 0 || hc.Memory != 0 {
		t.Fatalf("no limits asked, got NanoCPUs %d Memory %d", hc.NanoCPUs, hc.Memory)
	}
}

func TestStartIsIdempotent(t *testing.T) {
	image := testimage.Build(t, "v1")
	d := dockertest.New(t, "")
	ctx := ctxT(t)
	s := spec(image, "idem", 1)
	u1, err := d.Start(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	u2, err := d.Start(ctx, s)
	if err != nil || u2.ID != u1.ID || u2.State != runtime.UnitRunning {
		t.Fatalf("second Start = %+v, %v; first %s", u2, err, u1.ID)
	}

	// Concurrent starts of one spec make one container.
	s2 := spec(image, "idem", 2)
	ids := make(chan string, 4)
	for range 4 {
		go func() {
			u, err := d.Start(ctx, s2)
			if err != nil {
				t.Error(err)
			}
			ids <- u.ID
		}()
	}
	first := <-ids
	for range 3 {
		if id := <-ids; id != first {
			t.Fatalf("concurrent Starts made %s and %s", first, id)
		}
	}

	// A stopped unit is started again, not made twice.
	if _, err := d.Client().ContainerKill(ctx, u1.ID, client.ContainerKillOptions{}); err != nil {
		t.Fatal(err)
	}
	dead := waitState(t, d, u1.ID, runtime.UnitExited)
	if dead.ExitCode != 137 || dead.Message != "killed by signal 9 (exit code 137)" || dead.Address != "" {
		t.Fatalf("killed unit = %+v", dead)
	}
	u3, err := d.Start(ctx, s)
	if err != nil || u3.ID != u1.ID || u3.State != runtime.UnitRunning {
		t.Fatalf("Start of a stopped unit = %+v, %v", u3, err)
	}
	answer(t, u3.Address, "/version")
	if l, _ := d.List(ctx); len(l) != 2 {
		t.Fatalf("List = %d units, want 2", len(l))
	}
}

func TestMissingImage(t *testing.T) {
	d := dockertest.New(t, "")
	ctx := ctxT(t)
	// A registry on a closed loopback port: the pull really happens and
	// fails at once, and nothing leaves the machine.
	const image = "127.0.0.1:1/berth/missing:v1"
	began := time.Now()
	_, err := d.Start(ctx, spec(image, "ghost", 0))
	if !errors.Is(err, runtime.ErrImageUnavailable) || !strings.Contains(err.Error(), image) {
		t.Fatalf("Start = %v, want ErrImageUnavailable naming %s", err, image)
	}
	if took := time.Since(began); took > 20*time.Second {
		t.Fatalf("took %v to fail", took)
	}
	t.Logf("missing image: %v in %v", err, time.Since(began).Round(time.Millisecond))
	if l, _ := d.List(ctx); len(l) != 0 {
		t.Fatalf("List = %+v, want none", l)
	}
}

func TestExitedUnit(t *testing.T) {
	image := testimage.Build(t, "v1")
	d := dockertest.New(t, "")
	ctx := ctxT(t)
	u, err := d.Start(ctx, spec(image, "crash", 0, runtime.EnvVar{Name: "CRASH_AT_START", Value: "1"}))
	if err != nil {
		t.Fatal(err)
	}
	x := waitState(t, d, u.ID, runtime.UnitExited)
	if x.ExitCode != 1 || x.Message != "exited with code 1" || x.FinishedAt.Before(x.StartedAt) || x.FinishedAt.IsZero() {
		t.Fatalf("exited unit = %+v", x)
	}
	tail, err := d.LogTail(ctx, u.ID, 10)
	if err != nil || !strings.Contains(tail, "CRASH_AT_START") {
		t.Fatalf("LogTail = %q, %v", tail, err)
	}
}

func TestWatch(t *testing.T) {
	image := testimage.Build(t, "v1")
	d := dockertest.New(t, "")
	other := dockertest.New(t, "")
	ctx := ctxT(t)
	wctx, stop := context.WithCancel(ctx)
	ch, err := d.Watch(wctx)
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := other.Start(ctx, spec(image, "theirs", 0))
	if err != nil {
		t.Fatal(err)
	}
	u, err := d.Start(ctx, spec(image, "watched", 0))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Stop(ctx, u.ID, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	timeout := time.After(30 * time.Second)
	for !(seen["start"] && seen["die"] && seen["destroy"]) {
		select {
		case e := <-ch:
			if e.UnitID == theirs.ID {
				t.Fatalf("saw another installation's event %+v", e)
			}
			if e.UnitID == u.ID {
				if e.AppID != "id-watched" {
					t.Fatalf("event %+v: AppID", e)
				}
				seen[e.Kind] = true
			}
		case <-timeout:
			t.Fatalf("events seen: %v, want start, die, destroy", seen)
		}
	}
	stop()
	for range ch { // closes once the watch ends
	}
}

func TestNewNeedsInstallation(t *testing.T) {
	if _, err := docker.New(" "); err == nil {
		t.Fatal("New without an installation id: no error")
	}
}
