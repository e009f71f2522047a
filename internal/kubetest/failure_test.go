package kubetest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeTools is a tools module whose cached "binaries" are shell scripts,
// so that Start finds them without building.
func fakeTools(t *testing.T, etcd string) {
	t.Helper()
	tools := t.TempDir()
	if err := os.WriteFile(filepath.Join(tools, "go.mod"), []byte("module fake\n\ngo 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("BERTH_KUBE_TOOLS", tools)
	t.Setenv("BERTH_KUBE_CACHE", t.TempDir())
	dir, err := CacheDir(tools)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range programs {
		script := "#!/bin/sh\nsleep 60\n"
		if p == "etcd" {
			script = etcd
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, completeMarker), nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

// A component that dies at start fails Start with its output.
func TestStartFailsWhenAComponentDies(t *testing.T) {
	fakeTools(t, "#!/bin/sh\necho 'etcd: cannot open the data directory' >&2\nexit 3\n")
	e, err := Start(Options{StartTimeout: 30 * time.Second})
	if err == nil {
		e.Stop()
		t.Fatal("Start succeeded with an etcd that exits")
	}
	if !strings.Contains(err.Error(), "etcd exited") || !strings.Contains(err.Error(), "cannot open the data directory") {
		t.Errorf("error %q does not say that etcd exited and why", err)
	}
}

// A component that never gets healthy fails Start at the timeout.
func TestStartFailsWhenAComponentHangs(t *testing.T) {
	fakeTools(t, "#!/bin/sh\necho 'etcd: waiting for nothing'\nsleep 60\n")
	begin := time.Now()
	e, err := Start(Options{StartTimeout: 2 * time.Second})
	if err == nil {
		e.Stop()
		t.Fatal("Start succeeded with an etcd that never answers")
	}
	if !strings.Contains(err.Error(), "was not healthy after 2s") || !strings.Contains(err.Error(), "waiting for nothing") {
		t.Errorf("error %q does not say that etcd was not healthy", err)
	}
	if time.Since(begin) > 30*time.Second {
		t.Errorf("Start took %s to give up", time.Since(begin))
	}
}

// When the binaries cannot be built, the package's tests do not run and
// the test binary fails, saying why: never a skip.
func TestMainFailsLoudlyWhenTheBuildFails(t *testing.T) {
	if os.Getenv("BERTH_KUBE_FAIL_CHILD") != "" {
		t.Fatal("the child ran a test although the control plane could not be built")
	}
	tools := t.TempDir()
	files := map[string]string{
		"go.mod":                          "module broken\n\ngo 1.26\n",
		"etcd/main.go":                    "package main\n\nfunc main() { undefined() }\n",
		"kube-apiserver/main.go":          "package main\n\nfunc main() {}\n",
		"kube-controller-manager/main.go": "package main\n\nfunc main() {}\n",
	}
	for name, content := range files {
		path := filepath.Join(tools, name)
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	child := exec.Command(os.Args[0], "-test.run=^TestMainFailsLoudlyWhenTheBuildFails$", "-test.v")
	child.Env = append(os.Environ(), "BERTH_KUBE_TOOLS="+tools, "BERTH_KUBE_CACHE="+t.TempDir(), "BERTH_KUBE_FAIL_CHILD=1")
	out, err := child.CombinedOutput()
	exit, ok := err.(*exec.ExitError)
	if !ok || exit.ExitCode() != 1 {
		t.Fatalf("the test binary ended with %v, want exit code 1; output:\n%s", err, out)
	}
	for _, want := range []string{"FAIL: kubetest", "building the control plane failed", "undefined"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "SKIP") || strings.Contains(string(out), "=== RUN") {
		t.Errorf("tests ran or skipped:\n%s", out)
	}
}
