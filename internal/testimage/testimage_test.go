package testimage_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/berthdev/terraform-provider-berth/internal/testimage"
)

// run starts the image with env and returns the container id and the
// address of its port 8080; the container is removed when the test ends.
func run(t *testing.T, cli *client.Client, image string, env ...string) (string, string) {
	t.Helper()
	ctx := context.Background()
	port := network.MustParsePort("8080/tcp")
	res, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Config: &container.Config{Image: image, Env: env, ExposedPorts: network.PortSet{port: {}}},
		HostConfig: &container.HostConfig{
			PortBindings: network.PortMap{port: {{HostIP: netip.MustParseAddr("127.0.0.1")}}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = cli.ContainerRemove(context.Background(), res.ID, client.ContainerRemoveOptions{Force: true})
	})
	if _, err := cli.ContainerStart(ctx, res.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatal(err)
	}
	in, err := cli.ContainerInspect(ctx, res.ID, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var addr string
	if b := in.Container.NetworkSettings.Ports[port]; len(b) > 0 {
		addr = "127.0.0.1:" + b[0].HostPort
	}
	return res.ID, addr
}

// get polls url until it answers (the app needs a moment to listen).
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return resp.StatusCode, string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func waitExit(t *testing.T, cli *client.Client, id string) int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		in, err := cli.ContainerInspect(context.Background(), id, client.ContainerInspectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if st := in.Container.State; !st.Running && st.Status == container.StateExited {
			return st.ExitCode
		}
		if time.Now().After(deadline) {
			t.Fatalf("container %s still %s", id, in.Container.State.Status)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestImageAnswers(t *testing.T) {
	cli := testimage.Docker(t)
	image := testimage.Build(t, "v1.2")
	if !strings.HasPrefix(image, testimage.Repository+":v1.2-") {
		t.Fatalf("tag %q", image)
	}
	id, addr := run(t, cli, image, "APP_NAME=shop", "GREETING=hello")

	code, body := get(t, "http://"+addr+"/")
	var root struct{ App, Version, Unit string }
	if err := json.Unmarshal([]byte(body), &root); err != nil || code != 200 {
		t.Fatalf("GET / = %d %q (%v)", code, body, err)
	}
	if root.App != "shop" || root.Version != "v1.2" || !strings.HasPrefix(id, root.Unit) || root.Unit == "" {
		t.Fatalf("GET / = %+v, container %s", root, id)
	}
	if code, body := get(t, "http://"+addr+"/version"); code != 200 || strings.TrimSpace(body) != "v1.2" {
		t.Fatalf("GET /version = %d %q", code, body)
	}
	if code, body := get(t, "http://"+addr+"/env/GREETING"); code != 200 || body != "hello" {
		t.Fatalf("GET /env/GREETING = %d %q", code, body)
	}
	if code, _ := get(t, "http://"+addr+"/env/NOPE"); code != 404 {
		t.Fatalf("GET /env/NOPE = %d, want 404", code)
	}

	// SIGTERM: a clean exit.
	timeout := 10
	if _, err := cli.ContainerStop(context.Background(), id, client.ContainerStopOptions{Timeout: &timeout}); err != nil {
		t.Fatal(err)
	}
	if code := waitExit(t, cli, id); code != 0 {
		t.Fatalf("exit code after SIGTERM = %d, want 0", code)
	}
}

func TestImageVersionFallsBackToBaked(t *testing.T) {
	cli := testimage.Docker(t)
	image := testimage.Build(t, "v2")
	_, addr := run(t, cli, image, "APP_VERSION=")
	if code, body := get(t, "http://"+addr+"/version"); code != 200 || strings.TrimSpace(body) != testimage.BakedVersion {
		t.Fatalf("GET /version = %d %q, want %q", code, body, testimage.BakedVersion)
	}
}

func TestImageCrashAtStart(t *testing.T) {
	cli := testimage.Docker(t)
	image := testimage.Build(t, "v3")
	id, _ := run(t, cli, image, "CRASH_AT_START=1")
	if code := waitExit(t, cli, id); code != 1 {
		t.Fatalf("exit code = %d, want 1", code)
	}
}
