package kubernetes_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/google/uuid"

	"github.com/berthdev/terraform-provider-berth/controlplane/runtime"
	"github.com/berthdev/terraform-provider-berth/controlplane/runtime/kubernetes"
)

// The crash test runs a berthd stand-in as a child process (this test
// binary again, told so by childEnv): it applies a new release to every
// proc of an app, over and over, until it is killed.
const childEnv = "BERTH_KUBE_CRASH_CHILD"

const crashProcs = 6

// crashWorkloads are the procs of the crash test's app at a release; the
// child and the test build the same ones.
func crashWorkloads(appID string, release int) []runtime.Workload {
	var ws []runtime.Workload
	for i := range crashProcs {
		ws = append(ws, runtime.Workload{
			AppID: appID, App: "crashy", Proc: "p" + strconv.Itoa(i), Release: release,
			Image: "registry.example/crashy:" + strconv.Itoa(release),
			Env:   []runtime.EnvVar{{Name: "TOKEN", Value: "s3cr3t-" + appID, Private: true}, {Name: "PORT", Value: "5000"}},
			Port:  5000, Instances: 2,
		})
	}
	return ws
}

// crashChild is the child's main: args come in the environment.
func crashChild() int {
	d, err := kubernetes.New(kubernetes.Options{
		Installation: os.Getenv(childEnv + "_INSTALLATION"),
		Kubeconfig:   os.Getenv(childEnv + "_KUBECONFIG"), // as berthd --kubeconfig
		Namespace:    os.Getenv(childEnv + "_NAMESPACE"),
	})
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	// The test holds the child's stdin open: when the test process dies,
	// so does the child.
	go func() {
		io.Copy(io.Discard, os.Stdin)
		os.Exit(2)
	}()
	release, _ := strconv.Atoi(os.Getenv(childEnv + "_RELEASE"))
	ctx := context.Background()
	for {
		for _, w := range crashWorkloads(os.Getenv(childEnv+"_APP_ID"), release) {
			if err := d.Apply(ctx, w); err != nil {
				fmt.Println("error:", err)
				return 1
			}
			fmt.Println("applied", w.Proc)
		}
	}
}

// SIGKILL a berthd mid-rollout; a new driver of the same installation
// adopts what it left, by labels, and applying the desired state again
// leaves exactly one Deployment and one Secret per proc, owned as they
// should be.
func TestCrashMidRollout(t *testing.T) {
	ctx := testContext(t)
	d, opts := newDriver(t, nil)
	ns := opts.Namespace
	appID := uuid.NewString()
	for _, w := range crashWorkloads(appID, 1) {
		if err := d.Apply(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	sel := selector(opts, appID, "")
	podCount(t, ns, sel, 2*crashProcs)

	// The child rolls release 2 out; it dies after its first Apply, in the
	// middle of the next one.
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(),
		childEnv+"=1",
		childEnv+"_INSTALLATION="+opts.Installation,
		childEnv+"_KUBECONFIG="+env.BerthKubeconfig,
		childEnv+"_NAMESPACE="+ns,
		childEnv+"_APP_ID="+appID,
		childEnv+"_RELEASE=2",
	)
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	child.Stderr = os.Stderr
	stdin, err := child.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { child.Process.Kill(); child.Wait() })
	lines := bufio.NewScanner(out)
	if !lines.Scan() || !strings.HasPrefix(lines.Text(), "applied") {
		t.Fatalf("the child did not apply: %q %v", lines.Text(), lines.Err())
	}
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	child.Wait()
	t.Logf("killed the child after %q", lines.Text())

	// A restarted berthd: a new driver, the same installation. It sees
	// what is there before it does anything...
	d2, _ := newDriver(t, func(o *kubernetes.Options) { *o = opts })
	ids, err := d2.AppIDs(ctx)
	if err != nil || len(ids) != 1 || ids[0] != appID {
		t.Fatalf("after the crash the new driver sees apps %v (%v), want [%s]", ids, err, appID)
	}
	units, err := d2.Units(ctx, appID)
	if err != nil || len(units) < 2*crashProcs {
		t.Fatalf("after the crash the new driver sees %d units (%v), want at least %d", len(units), err, 2*crashProcs)
	}
	// ... and the reconciler's next pass applies the desired state again.
	for _, w := range crashWorkloads(appID, 2) {
		if err := d2.Apply(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	deps := deployments(t, ctx, ns, sel)
	secs := secrets(t, ctx, ns, sel)
	if len(deps) != crashProcs || len(secs) != crashProcs {
		t.Fatalf("%d deployments and %d secrets, want %d of each: no duplicates", len(deps), len(secs), crashProcs)
	}
	generations := map[string]int64{}
	for _, dep := range deps {
		if dep.Labels[runtime.LabelRelease] != "2" || dep.Spec.Template.Spec.Containers[0].Image != "registry.example/crashy:2" {
			t.Errorf("deployment %s at release %s, image %s: want release 2", dep.Name, dep.Labels[runtime.LabelRelease], dep.Spec.Template.Spec.Containers[0].Image)
		}
		generations[dep.Name] = dep.Generation
		var owned bool
		for _, s := range secs {
			if s.Name == dep.Name && len(s.OwnerReferences) == 1 && s.OwnerReferences[0].UID == dep.UID {
				owned = true
			}
		}
		if !owned {
			t.Errorf("the secret of %s is missing or not owned by it", dep.Name)
		}
	}
	// Another pass changes nothing.
	for _, w := range crashWorkloads(appID, 2) {
		if err := d2.Apply(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	for _, dep := range deployments(t, ctx, ns, sel) {
		if dep.Generation != generations[dep.Name] {
			t.Errorf("deployment %s changed on a pass with nothing to do (generation %d -> %d)", dep.Name, generations[dep.Name], dep.Generation)
		}
	}
	// Every proc ends with its Pods rolled to release 2 as far as a
	// cluster without kubelet goes: a new Pod each, the old ones kept.
	eventually(t, "a pod of release 2 per proc", func() error {
		per := map[string]int{}
		for _, p := range pods(t, ctx, ns, sel) {
			if p.Labels[runtime.LabelRelease] == "2" {
				per[p.Labels[runtime.LabelProc]]++
			}
		}
		if len(per) != crashProcs {
			return fmt.Errorf("procs with a release 2 pod: %v", per)
		}
		return nil
	})
	noSecretIn(t, ctx, ns, "s3cr3t-"+appID)
}
