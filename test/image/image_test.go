// Package image tests berthd's container image: `make image` builds it
// from the Dockerfile on this machine's Docker Engine (no registry: the
// base is scratch and berthd is built here), and the container must run as
// a non-root user with its data in a volume, become healthy through its
// own health check, answer /healthz from the host and say where the admin
// token is kept.
package image

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
)

const dockerHelp = "this test needs a running Docker Engine (and the docker CLI on PATH): " +
	"install it (https://docs.docker.com/engine/install/, e.g. `apt-get install docker.io` on Debian), " +
	"start it (`systemctl start docker`) and make sure your user may use it (the docker group), " +
	"or point DOCKER_HOST at one"

func docker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestContainerImage(t *testing.T) {
	start := time.Now()
	if _, err := exec.LookPath("docker"); err != nil {
		t.Fatal("docker is not on PATH: " + dockerHelp)
	}
	if out, err := exec.Command("docker", "version", "--format", "{{.Server.Version}}").CombinedOutput(); err != nil {
		t.Fatalf("no Docker Engine answers (%v: %s): %s", err, bytes.TrimSpace(out), dockerHelp)
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatal("GNU make is not on PATH: the image is built by `make image`")
	}
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")

	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	name := "berth-image-test-" + hex.EncodeToString(suffix)
	image, volume := name+":test", name+"-data"
	// Registered first, so that everything goes even when a step fails.
	t.Cleanup(func() {
		for _, args := range [][]string{{"rm", "--force", "--volumes", name}, {"rmi", "--force", image}, {"volume", "rm", "--force", volume}} {
			if out, err := exec.Command("docker", args...).CombinedOutput(); err != nil {
				t.Logf("cleanup: docker %s: %v %s", strings.Join(args, " "), err, out)
			}
		}
	})

	build := exec.Command("make", "image", "IMAGE="+image, "IMAGE_DIR="+t.TempDir())
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("make image: %v\n%s", err, out)
	}
	built := time.Now()
	if user := docker(t, "image", "inspect", "--format", "{{.Config.User}}", image); user != "65532:65532" {
		t.Fatalf("image user %q, want the numeric non-root 65532:65532", user)
	}
	if vols := docker(t, "image", "inspect", "--format", "{{json .Config.Volumes}}", image); !strings.Contains(vols, `"/data"`) {
		t.Fatalf("image volumes %s, want /data", vols)
	}

	// The image's own health check, run every second rather than every 10s.
	docker(t, "run", "--detach", "--name", name, "--user", "65532:65532", "--health-interval", "1s",
		"--volume", volume+":/data", "--publish", "127.0.0.1::8080", image)
	waitHealthy(t, name)
	hostPort := docker(t, "port", name, "8080/tcp")
	base := "http://" + strings.Split(hostPort, "\n")[0]
	if st := get(t, base+"/healthz", ""); st != http.StatusOK {
		t.Fatalf("GET /healthz from the host: %d", st)
	}

	logs := docker(t, "logs", name)
	if !strings.Contains(logs, "berthd: the admin token is kept in /data/admin-token") {
		t.Fatalf("the logs do not say where the admin token is:\n%s", logs)
	}
	m := regexp.MustCompile(`(?m)^    (\S+)$`).FindStringSubmatch(logs)
	if m == nil {
		t.Fatalf("no admin token in the first start's logs:\n%s", logs)
	}
	if st := get(t, base+"/users/info", m[1]); st != http.StatusOK {
		t.Fatalf("the admin token printed is refused: %d", st)
	}

	// The data is in the volume: a restart is no first start, and says
	// again where the token is.
	docker(t, "restart", name)
	waitHealthy(t, name)
	logs = docker(t, "logs", name)
	if n := strings.Count(logs, "first start"); n != 1 {
		t.Fatalf("%d first starts after a restart:\n%s", n, logs)
	}
	if n := strings.Count(logs, "the admin token is kept in /data/admin-token"); n != 2 {
		t.Fatalf("the token's location said %d times over two starts:\n%s", n, logs)
	}
	base = "http://" + strings.Split(docker(t, "port", name, "8080/tcp"), "\n")[0]
	if st := get(t, base+"/users/info", m[1]); st != http.StatusOK {
		t.Fatalf("the admin token after a restart: %d", st)
	}
	t.Logf("image built in %v, container checked in %v", built.Sub(start).Round(time.Second), time.Since(built).Round(time.Second))
}

// waitHealthy waits for the container's health check to report healthy.
func waitHealthy(t *testing.T, name string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		state := docker(t, "inspect", "--format", "{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}", name)
		switch {
		case state == "running healthy":
			return
		case !strings.HasPrefix(state, "running"), strings.HasSuffix(state, "unhealthy"):
			t.Fatalf("container %s: %s\nhealth: %s\nlogs:\n%s", name, state,
				docker(t, "inspect", "--format", "{{json .State.Health}}", name), docker(t, "logs", name))
		case time.Now().After(deadline):
			t.Fatalf("container %s not healthy after 60s: %s\nlogs:\n%s", name, state, docker(t, "logs", name))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func get(t *testing.T, url, token string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "bearer "+token)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
