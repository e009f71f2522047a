package kubetest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// The versions the tools module (test/kube/tools) pins. Changing them
// there changes its go.sum, and so the cache key: the binaries rebuild.
const (
	KubeVersion = "v1.34.2"
	EtcdVersion = "v3.6.6"
)

// Binaries are the paths of the three control-plane programs.
type Binaries struct {
	Etcd, APIServer, ControllerManager string
	// Dir is the cache directory holding them.
	Dir string
	// Built tells whether this call built them (false: found in the cache),
	// and BuildTime how long that took.
	Built     bool
	BuildTime time.Duration
}

// programs are the main packages of the tools module, by binary name.
var programs = []string{"etcd", "kube-apiserver", "kube-controller-manager"}

// completeMarker is the file a finished build leaves beside the binaries.
const completeMarker = "complete"

// ToolsDir finds test/kube/tools: $BERTH_KUBE_TOOLS, or the nearest
// test/kube/tools/go.mod above the working directory (go test runs in the
// package's directory, inside the repository).
func ToolsDir() (string, error) {
	if d := os.Getenv("BERTH_KUBE_TOOLS"); d != "" {
		return filepath.Abs(d)
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "test", "kube", "tools", "go.mod")); err == nil {
			return filepath.Join(d, "test", "kube", "tools"), nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("kubetest: no test/kube/tools/go.mod above %s (set BERTH_KUBE_TOOLS to the tools module)", wd)
		}
	}
}

// cacheKey digests what the binaries are built from: the tools module's
// go.mod, go.sum and sources, the Go version, the target platform and the
// build flags.
func cacheKey(tools string) (string, error) {
	h := sha256.New()
	goVersion, err := exec.Command("go", "env", "GOVERSION", "GOOS", "GOARCH").Output()
	if err != nil {
		return "", fmt.Errorf("kubetest: go env: %w (is the go command on PATH?)", err)
	}
	h.Write(goVersion)
	fmt.Fprintf(h, "%q %q\n", buildFlags, buildEnv)
	err = filepath.WalkDir(tools, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !(strings.HasSuffix(path, ".go") || d.Name() == "go.mod" || d.Name() == "go.sum") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(tools, path)
		fmt.Fprintf(h, "%s\x00%d\x00", filepath.ToSlash(rel), len(b))
		h.Write(b)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("kubetest: reading the tools module: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}

// CacheDir is where binaries built from the tools module at tools live:
// os.UserCacheDir()/berth/kube-<kube>-etcd-<etcd>-<key>, or under
// $BERTH_KUBE_CACHE when set.
func CacheDir(tools string) (string, error) {
	root := os.Getenv("BERTH_KUBE_CACHE")
	if root == "" {
		c, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("kubetest: no cache directory (set BERTH_KUBE_CACHE): %w", err)
		}
		root = filepath.Join(c, "berth")
	}
	key, err := cacheKey(tools)
	if err != nil {
		return "", err
	}
	return filepath.Join(root, fmt.Sprintf("kube-%s-etcd-%s-%s", KubeVersion, EtcdVersion, key)), nil
}

// Cached reports whether the binaries are built already (false also when
// the tools module cannot be found: Build says why).
func Cached() bool {
	tools, err := ToolsDir()
	if err != nil {
		return false
	}
	dir, err := CacheDir(tools)
	return err == nil && complete(dir)
}

// Build returns the control-plane binaries, building them from the tools
// module when the cache has none for its current go.sum. Concurrent test
// processes take a file lock, so one builds while the others wait; the
// build goes to a temporary directory renamed into place when complete, so
// a killed build never leaves a half cache behind.
func Build() (Binaries, error) {
	tools, err := ToolsDir()
	if err != nil {
		return Binaries{}, err
	}
	dir, err := CacheDir(tools)
	if err != nil {
		return Binaries{}, err
	}
	bins := Binaries{
		Dir:               dir,
		Etcd:              filepath.Join(dir, "etcd"),
		APIServer:         filepath.Join(dir, "kube-apiserver"),
		ControllerManager: filepath.Join(dir, "kube-controller-manager"),
	}
	if complete(dir) {
		fmt.Fprintf(os.Stderr, "kubetest: control-plane binaries from the cache %s\n", dir)
		return bins, nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return Binaries{}, fmt.Errorf("kubetest: %w", err)
	}
	unlock, err := lockFile(dir + ".lock")
	if err != nil {
		return Binaries{}, fmt.Errorf("kubetest: locking the binary cache: %w", err)
	}
	defer unlock()
	if complete(dir) { // another process built them while we waited
		return bins, nil
	}
	// Only the lock's holder builds: a .build- directory left now is a
	// killed build's.
	if old, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), ".build-*")); len(old) > 0 {
		for _, o := range old {
			os.RemoveAll(o)
		}
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".build-")
	if err != nil {
		return Binaries{}, fmt.Errorf("kubetest: %w", err)
	}
	defer os.RemoveAll(tmp)
	start := time.Now()
	fmt.Fprintf(os.Stderr, "kubetest: building kube-apiserver and kube-controller-manager %s and etcd %s from %s (cold: several minutes) ...\n", KubeVersion, EtcdVersion, tools)
	if err := goBuild(tools, tmp); err != nil {
		return Binaries{}, err
	}
	if err := os.WriteFile(filepath.Join(tmp, completeMarker), []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
		return Binaries{}, fmt.Errorf("kubetest: %w", err)
	}
	os.RemoveAll(dir) // an incomplete leftover; complete ones returned above
	if err := os.Rename(tmp, dir); err != nil {
		return Binaries{}, fmt.Errorf("kubetest: moving the built binaries into the cache: %w", err)
	}
	bins.Built, bins.BuildTime = true, time.Since(start)
	fmt.Fprintf(os.Stderr, "kubetest: built the control plane in %s into %s\n", bins.BuildTime.Round(time.Second), dir)
	return bins, nil
}

// complete reports whether dir holds a finished build.
func complete(dir string) bool {
	if _, err := os.Stat(filepath.Join(dir, completeMarker)); err != nil {
		return false
	}
	for _, p := range programs {
		if fi, err := os.Stat(filepath.Join(dir, p)); err != nil || fi.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

// buildFlags and buildEnv are how the binaries are built; they are part of
// the cache key. -mod=readonly: exactly the checked-in go.mod and go.sum;
// GOWORK=off: no go.work around the repository changes that; no VCS
// stamping (the binaries come from the module cache, and git may refuse a
// checkout it does not own); CGO off as upstream's release builds, so no C
// toolchain is needed.
var (
	buildFlags = []string{"-trimpath", "-ldflags", strings.Join([]string{
		"-s", "-w",
		"-X k8s.io/component-base/version.gitVersion=" + KubeVersion,
		"-X k8s.io/component-base/version.gitMajor=1",
		"-X k8s.io/component-base/version.gitMinor=" + strings.Split(KubeVersion, ".")[1],
		"-X k8s.io/component-base/version.gitTreeState=clean",
	}, " ")}
	buildEnv = []string{"GOFLAGS=-mod=readonly -buildvcs=false", "GOWORK=off", "CGO_ENABLED=0"}
)

// goBuild builds every program of the tools module in one go build, so
// the packages they share (client-go, apimachinery, grpc, etcd's client)
// compile once. The module cache and GOCACHE are the user's: a second
// machine-wide build reuses them.
func goBuild(tools, out string) error {
	args := append([]string{"build"}, buildFlags...)
	args = append(args, "-o", out+string(filepath.Separator))
	for _, p := range programs {
		args = append(args, "./"+p)
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = tools
	cmd.Env = append(os.Environ(), buildEnv...)
	cmd.SysProcAttr = sysProcAttr() // a killed test process stops its build
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("kubetest: building the control plane failed (go %s in %s): %w\n%s",
			strings.Join(args, " "), tools, err, tail(output.String(), 4000))
	}
	return nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
