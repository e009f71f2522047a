// Package testimage gives tests a real container image of a tiny HTTP app
// (its source is app/main.go) without any registry: the app is a static Go
// binary and the image is built FROM scratch, which needs no pull.
//
// The app listens on $PORT (8080 by default) and answers
//
//	GET /            {"app": $APP_NAME, "version": <version>, "unit": $HOSTNAME}
//	GET /version     <version>
//	GET /env/{NAME}  the variable's value, 404 when unset
//
// Its version is $APP_VERSION when set, else BakedVersion. With
// CRASH_AT_START=1 it exits 1 at once; on SIGTERM it stops accepting,
// finishes the requests in flight and exits 0.
//
// Images are built through the Docker Engine API (the same client the
// runtime driver uses) rather than the docker CLI: no CLI, buildx or
// BuildKit needs to be installed, only an engine to talk to.
package testimage

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"
)

// BakedVersion is the version compiled into the app: it answers it when
// APP_VERSION is unset or empty.
const BakedVersion = "baked"

// Repository is the repository every test image is tagged in.
const Repository = "berth-testapp"

// Label marks every image this package builds, so that leftovers are easy
// to find (docker images --filter label=dev.berth.testimage).
const Label = "dev.berth.testimage"

//go:embed app/main.go
var appSource []byte

// Docker returns a client for the Docker Engine the environment names
// (DOCKER_HOST, or the local socket), failing the test with what to do
// when none answers. Tests that need Docker call it first.
func Docker(t testing.TB) *client.Client {
	t.Helper()
	cli, err := engine()
	if err != nil {
		t.Fatal(err)
	}
	return cli
}

var engine = sync.OnceValues(func() (*client.Client, error) {
	cli, err := client.New(client.FromEnv)
	if err != nil {
		return nil, needDocker("", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := cli.Ping(ctx, client.PingOptions{}); err != nil {
		return nil, needDocker(cli.DaemonHost(), err)
	}
	return cli, nil
})

func needDocker(host string, err error) error {
	if host == "" {
		host = "the address in DOCKER_HOST"
	}
	return fmt.Errorf("these tests need a Docker Engine, and none answers at %s: %v\n"+
		"Start one (Debian: apt-get install docker.io, then dockerd, or service docker start; "+
		"elsewhere: https://docs.docker.com/engine/install/) or point DOCKER_HOST at one. "+
		"No registry is needed: the test images are built locally FROM scratch", host, err)
}

// Build builds an image of the app whose version is version, tags it
// berth-testapp:<version>-<random> and removes it when the test ends. It
// returns the tag.
func Build(t testing.TB, version string) string {
	t.Helper()
	return BuildWith(t, version, Spec{})
}

// Spec adds to what Build makes.
type Spec struct {
	// Tags are more names the image gets (a lain image's
	// <registry>/<app>:release-<meta_version>, say); removed with it.
	Tags []string
	// Crash bakes CRASH_AT_START=1 in: every unit of it exits at once, as
	// a broken release does.
	Crash bool
}

// BuildWith is Build with more tags or a crashing image.
func BuildWith(t testing.TB, version string, spec Spec) string {
	t.Helper()
	cli := Docker(t)
	bin, err := binary()
	if err != nil {
		t.Fatalf("testimage: %v", err)
	}
	tag := Repository + ":" + tagSafe(version) + "-" + randomHex(4)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	buildCtx, err := contextTar(bin, version, spec.Crash)
	if err != nil {
		t.Fatalf("testimage: %v", err)
	}
	// The cleanup is registered before the build so that an image left by
	// a build that failed half-way goes too.
	tags := append([]string{tag}, spec.Tags...)
	t.Cleanup(func() {
		for _, tg := range tags {
			remove(t, cli, tg)
		}
	})
	res, err := cli.ImageBuild(ctx, buildCtx, client.ImageBuildOptions{
		Tags:        tags,
		NoCache:     true, // every image its own: parallel test processes share no layers
		Remove:      true,
		ForceRemove: true,
		Labels:      map[string]string{Label: "1"},
		Version:     build.BuilderV1,
	})
	if err != nil {
		t.Fatalf("testimage: build %s: %v", tag, err)
	}
	defer res.Body.Close()
	if err := buildOutcome(res.Body); err != nil {
		t.Fatalf("testimage: build %s: %v", tag, err)
	}
	return tag
}

// remove removes the image, and first whatever container still runs it:
// containers of an image this test built are this test's, and an image
// force-removed under a container would stay behind, untagged.
func remove(t testing.TB, cli *client.Client, tag string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	users, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("ancestor", tag)})
	if err != nil {
		t.Errorf("testimage: list containers of %s: %v", tag, err)
	}
	for _, c := range users.Items {
		if _, err := cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
			t.Errorf("testimage: remove container %s of %s: %v", c.ID[:12], tag, err)
		}
	}
	_, err = cli.ImageRemove(ctx, tag, client.ImageRemoveOptions{Force: true, PruneChildren: true})
	if err != nil && !strings.Contains(strings.ToLower(err.Error()), "no such image") {
		t.Errorf("testimage: remove %s: %v", tag, err)
	}
}

// buildOutcome reads a build's progress stream to its end and returns the
// error it reports, if any.
func buildOutcome(r io.Reader) error {
	dec := json.NewDecoder(r)
	var last []string
	for {
		var m jsonstream.Message
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if m.Error != nil {
			return fmt.Errorf("%s (output: %s)", m.Error.Message, strings.Join(last, " | "))
		}
		if s := strings.TrimSpace(m.Stream); s != "" {
			last = append(last, s)
			if len(last) > 5 {
				last = last[1:]
			}
		}
	}
}

func contextTar(bin []byte, version string, crash bool) (io.Reader, error) {
	env, err := json.Marshal(version)
	if err != nil {
		return nil, err
	}
	dockerfile := "FROM scratch\n" +
		"COPY app /app\n" +
		"ENV APP_VERSION=" + string(env) + " PORT=8080\n"
	if crash {
		dockerfile += "ENV CRASH_AT_START=1\n"
	}
	dockerfile += "ENTRYPOINT [\"/app\"]\n"
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct {
		name string
		mode int64
		data []byte
	}{
		{"Dockerfile", 0o644, []byte(dockerfile)},
		{"app", 0o755, bin},
	} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: time.Unix(0, 0)}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return &buf, nil
}

// binary is the app compiled for the engine's platform: once per process,
// and kept under the temporary directory keyed by the source and the
// toolchain so that the next test process reuses it.
var binary = sync.OnceValues(func() ([]byte, error) {
	h := sha256.New()
	h.Write(appSource)
	fmt.Fprintf(h, "|%s|%s|%s", goruntime.Version(), goruntime.GOARCH, BakedVersion)
	key := hex.EncodeToString(h.Sum(nil))[:16]
	dir := filepath.Join(os.TempDir(), "berth-testimage")
	path := filepath.Join(dir, "app-"+key)
	if b, err := os.ReadFile(path); err == nil {
		return b, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	b, err := compile()
	if err != nil {
		return nil, err
	}
	// Written aside then renamed: a concurrent process never reads half a
	// binary.
	tmp, err := os.CreateTemp(dir, "app-*.tmp")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	return b, os.Rename(tmp.Name(), path)
})

// compile builds the embedded source as a module of its own: it needs
// nothing but the standard library, so no module download and no
// dependency on where the calling test runs.
func compile() ([]byte, error) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		return nil, fmt.Errorf("the go command is needed to build the test app: %w", err)
	}
	dir, err := os.MkdirTemp("", "berth-testapp-src-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module berthtestapp\n\ngo 1.22\n"), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), appSource, 0o644); err != nil {
		return nil, err
	}
	out := filepath.Join(dir, "app")
	cmd := exec.Command(gobin, "build", "-trimpath", "-ldflags", "-s -w -X main.version="+BakedVersion, "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goruntime.GOARCH, "GOWORK=off", "GOFLAGS=", "GOTOOLCHAIN=local")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build of the test app: %v: %s", err, msg)
	}
	return os.ReadFile(out)
}

// tagSafe makes s fit in an image tag ([A-Za-z0-9_.-], 128 at most with
// the random suffix).
func tagSafe(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '.', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	out := b.String()
	if out == "" || out[0] == '.' || out[0] == '-' {
		out = "v" + out
	}
	if len(out) > 100 {
		out = out[:100]
	}
	return out
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
