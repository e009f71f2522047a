package kubernetes_test

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	"github.com/berthdev/terraform-provider-berth/controlplane/runtime"
)

// berth owns the fields it applies: a person's change to one of them is
// undone by the next pass, while what others added is left alone.
func TestEditsByOthers(t *testing.T) {
	ctx := testContext(t)
	d, opts := newDriver(t, nil)
	w := workload(secretValue())
	if err := d.Apply(ctx, w); err != nil {
		t.Fatal(err)
	}
	sel := selector(opts, w.AppID, w.Proc)
	deps := admin(t).AppsV1().Deployments(opts.Namespace)
	name := only(t, "deployments", deployments(t, ctx, opts.Namespace, sel)).Name
	// kubectl edit: another image, and a note of the person's own. A
	// read-modify-write, so retried when the controller's status update
	// came in between.
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		dep, err := deps.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		dep.Spec.Template.Spec.Containers[0].Image = "registry.example/shop:hand-made"
		dep.Annotations["example.com/note"] = "kept"
		_, err = deps.Update(ctx, dep, metav1.UpdateOptions{FieldManager: "kubectl-edit"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Apply(ctx, w); err != nil {
		t.Fatal(err)
	}
	dep := only(t, "deployments", deployments(t, ctx, opts.Namespace, sel))
	if img := dep.Spec.Template.Spec.Containers[0].Image; img != w.Image {
		t.Errorf("image %q after the next pass, want berth's %q", img, w.Image)
	}
	if dep.Annotations["example.com/note"] != "kept" {
		t.Errorf("the person's annotation is gone: %v", dep.Annotations)
	}
}

// Names that are no label values nor DNS names as they are: the objects
// get safe names, the labels hashes, and units report the exact names.
func TestOddNames(t *testing.T) {
	ctx := testContext(t)
	d, opts := newDriver(t, nil)
	w := workload(secretValue())
	w.App = "resource.redis.shop"
	w.Proc = strings.Repeat("worker-", 10) + "x" // 71 characters: too long for a label
	if err := d.Apply(ctx, w); err != nil {
		t.Fatal(err)
	}
	deps := deployments(t, ctx, opts.Namespace, selector(opts, w.AppID, ""))
	dep := only(t, "deployments", deps)
	if got := dep.Labels[runtime.LabelProc]; got == w.Proc || !strings.HasPrefix(got, "h-") {
		t.Errorf("proc label %q, want a hash", got)
	}
	if dep.Annotations[runtime.LabelProc] != w.Proc || dep.Labels[runtime.LabelApp] != w.App {
		t.Errorf("labels %v annotations %v, want the exact app and proc", dep.Labels, dep.Annotations)
	}
	podCount(t, opts.Namespace, selector(opts, w.AppID, ""), 1)
	units, err := d.Units(ctx, w.AppID)
	if err != nil {
		t.Fatal(err)
	}
	if len(units) != 1 || units[0].Proc != w.Proc || units[0].App != w.App {
		t.Errorf("units %+v, want one of %s/%s", units, w.App, w.Proc)
	}
	if err := d.Remove(ctx, w.AppID, w.Proc); err != nil {
		t.Fatal(err)
	}
	waitGone(t, opts.Namespace, selector(opts, w.AppID, ""))
}
