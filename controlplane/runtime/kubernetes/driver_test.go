package kubernetes_test

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/util/retry"

	"github.com/berthdev/terraform-provider-berth/controlplane/runtime"
	"github.com/berthdev/terraform-provider-berth/controlplane/runtime/kubernetes"
)

// checkDeployment asserts the mapping of a workload to its Deployment.
func checkDeployment(t *testing.T, dep *appsv1.Deployment, w runtime.Workload, opts kubernetes.Options) {
	t.Helper()
	if errs := validation.IsDNS1123Label(dep.Name); len(errs) > 0 || len(dep.Name) > 46 {
		t.Errorf("deployment name %q: %v (length %d)", dep.Name, errs, len(dep.Name))
	}
	wantLabels := map[string]string{
		runtime.LabelInstallation: opts.Installation, runtime.LabelAppID: w.AppID,
		runtime.LabelApp: w.App, runtime.LabelProc: w.Proc, runtime.LabelRelease: strconv.Itoa(w.Release),
	}
	for k, v := range wantLabels {
		if dep.Labels[k] != v {
			t.Errorf("deployment label %s = %q, want %q", k, dep.Labels[k], v)
		}
		if dep.Spec.Template.Labels[k] != v {
			t.Errorf("pod template label %s = %q, want %q", k, dep.Spec.Template.Labels[k], v)
		}
	}
	if dep.Spec.Replicas == nil || int(*dep.Spec.Replicas) != w.Instances {
		t.Errorf("replicas %v, want %d", dep.Spec.Replicas, w.Instances)
	}
	s := dep.Spec.Strategy
	if s.Type != appsv1.RollingUpdateDeploymentStrategyType || s.RollingUpdate == nil ||
		s.RollingUpdate.MaxSurge.String() != "1" || s.RollingUpdate.MaxUnavailable.String() != "0" {
		t.Errorf("strategy %+v, want RollingUpdate with maxSurge 1, maxUnavailable 0", s)
	}
	if got := dep.Spec.Template.Annotations[runtime.LabelRevision]; got != w.Revision() {
		t.Errorf("pod template revision %q, want %q", got, w.Revision())
	}
	if len(dep.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(dep.Spec.Template.Spec.Containers))
	}
	c := dep.Spec.Template.Spec.Containers[0]
	if c.Image != w.Image || !slices.Equal(c.Command, w.Command) {
		t.Errorf("container image %q command %q, want %q %q", c.Image, c.Command, w.Image, w.Command)
	}
	if len(c.Env) != 1 || c.Env[0].Name != "PORT" || c.Env[0].Value != strconv.Itoa(w.Port) {
		t.Errorf("container env %+v, want PORT=%d alone", c.Env, w.Port)
	}
	if len(c.EnvFrom) != 1 || c.EnvFrom[0].SecretRef == nil || c.EnvFrom[0].SecretRef.Name != dep.Name {
		t.Errorf("container envFrom %+v, want the secret %s", c.EnvFrom, dep.Name)
	}
	if len(c.Ports) != 1 || int(c.Ports[0].ContainerPort) != w.Port {
		t.Errorf("container ports %+v, want %d", c.Ports, w.Port)
	}
	wantRes := corev1.ResourceList{
		corev1.ResourceCPU:    *resource.NewQuantity(int64(w.CPU), resource.DecimalSI),
		corev1.ResourceMemory: *resource.NewQuantity(w.Memory, resource.BinarySI),
	}
	for name, want := range wantRes {
		req, lim := c.Resources.Requests[name], c.Resources.Limits[name]
		if req.Cmp(want) != 0 || lim.Cmp(want) != 0 {
			t.Errorf("%s request %s limit %s, want both %s", name, req.String(), lim.String(), want.String())
		}
	}
}

// checkSecret asserts the proc's Secret: its environment but PORT, owned
// by the Deployment.
func checkSecret(t *testing.T, s *corev1.Secret, dep *appsv1.Deployment, w runtime.Workload) {
	t.Helper()
	if s.Name != dep.Name {
		t.Errorf("secret %s, want it named as the deployment %s", s.Name, dep.Name)
	}
	want := map[string]string{}
	for _, e := range w.Env {
		if e.Name != "PORT" {
			want[e.Name] = e.Value
		}
	}
	if len(s.Data) != len(want) {
		t.Errorf("secret holds %d variables, want %d", len(s.Data), len(want))
	}
	for k, v := range want {
		if string(s.Data[k]) != v {
			t.Errorf("secret variable %s does not hold the workload's value", k)
		}
	}
	refs := s.OwnerReferences
	if len(refs) != 1 || refs[0].Kind != "Deployment" || refs[0].UID != dep.UID || refs[0].Name != dep.Name {
		t.Errorf("secret owner references %+v, want the deployment %s (%s)", refs, dep.Name, dep.UID)
	}
}

// podCount waits until the proc has n Pods and returns them.
func podCount(t *testing.T, ns, sel string, n int) []corev1.Pod {
	t.Helper()
	ctx := testContext(t)
	var ps []corev1.Pod
	eventually(t, fmt.Sprintf("%d pods", n), func() error {
		ps = pods(t, ctx, ns, sel)
		if len(ps) != n {
			return fmt.Errorf("%d pods", len(ps))
		}
		return nil
	})
	return ps
}

// Deploy, scale 1 -> 3 -> 1, a new release, a config change, a restart,
// undeploy: after each step the Deployment, Secret and Pods are what the
// mapping says, and the private value is in none of them.
func TestLifecycle(t *testing.T) {
	ctx := testContext(t)
	d, opts := newDriver(t, nil)
	ns := opts.Namespace
	secret := secretValue()
	w := workload(secret)
	sel := selector(opts, w.AppID, w.Proc)

	// Deploy: the namespace is created, then a Deployment, a Secret, and
	// the controller manager's ReplicaSet and Pod.
	if err := d.Apply(ctx, w); err != nil {
		t.Fatal(err)
	}
	dep := only(t, "deployments", deployments(t, ctx, ns, sel))
	checkDeployment(t, dep, w, opts)
	checkSecret(t, only(t, "secrets", secrets(t, ctx, ns, sel)), dep, w)
	ps := podCount(t, ns, sel, 1)
	if ps[0].Status.Phase != corev1.PodPending || ps[0].Labels[runtime.LabelRelease] != "1" {
		t.Errorf("pod phase %s release %s, want Pending, 1", ps[0].Status.Phase, ps[0].Labels[runtime.LabelRelease])
	}
	noSecretIn(t, ctx, ns, secret)
	units, err := d.Units(ctx, w.AppID)
	if err != nil {
		t.Fatal(err)
	}
	if len(units) != 1 || units[0].State != runtime.UnitPending || units[0].AppID != w.AppID || units[0].App != "shop" ||
		units[0].Proc != "web" || units[0].Release != 1 || units[0].Revision != w.Revision() || units[0].Address != "" ||
		units[0].Name != ps[0].Name {
		t.Errorf("units %+v, want one pending unit of shop/web release 1", units)
	}
	template := dep.Spec.Template.Annotations

	// Applying the same workload again writes nothing: the Deployment's
	// spec keeps its generation (its status is the controller's), the
	// Secret its resource version.
	sec := only(t, "secrets", secrets(t, ctx, ns, sel))
	if err := d.Apply(ctx, w); err != nil {
		t.Fatal(err)
	}
	if again := only(t, "deployments", deployments(t, ctx, ns, sel)); again.Generation != dep.Generation {
		t.Errorf("a second Apply of the same workload changed the deployment (generation %d -> %d)", dep.Generation, again.Generation)
	}
	if again := only(t, "secrets", secrets(t, ctx, ns, sel)); again.ResourceVersion != sec.ResourceVersion {
		t.Errorf("a second Apply of the same workload wrote the secret (resource version %s -> %s)", sec.ResourceVersion, again.ResourceVersion)
	}

	// Scale 1 -> 3 -> 1: replicas change, the template does not (one
	// ReplicaSet).
	for _, n := range []int{3, 1} {
		w.Instances = n
		if err := d.Apply(ctx, w); err != nil {
			t.Fatal(err)
		}
		dep = only(t, "deployments", deployments(t, ctx, ns, sel))
		checkDeployment(t, dep, w, opts)
		podCount(t, ns, sel, n)
		if rss := replicaSets(t, ctx, ns, sel); len(rss) != 1 {
			t.Errorf("scaling to %d made %d replica sets, want 1", n, len(rss))
		}
	}

	// A new release: a new image rolls the Deployment. With no kubelet no
	// Pod ever gets ready, so with maxUnavailable 0 the old Pod stays and
	// with maxSurge 1 one new Pod joins it.
	w.Release, w.Image = 2, "registry.example/shop:2"
	if err := d.Apply(ctx, w); err != nil {
		t.Fatal(err)
	}
	dep = only(t, "deployments", deployments(t, ctx, ns, sel))
	checkDeployment(t, dep, w, opts)
	checkSecret(t, only(t, "secrets", secrets(t, ctx, ns, sel)), dep, w)
	eventually(t, "the rollout of release 2 (surge 1, unavailable 0)", func() error {
		ps := pods(t, ctx, ns, sel)
		releases := map[string]int{}
		for _, p := range ps {
			releases[p.Labels[runtime.LabelRelease]]++
		}
		if len(ps) != 2 || releases["1"] != 1 || releases["2"] != 1 {
			return fmt.Errorf("pods by release %v, want one of release 1 and one of release 2", releases)
		}
		if rss := replicaSets(t, ctx, ns, sel); len(rss) != 2 {
			return fmt.Errorf("%d replica sets, want 2", len(rss))
		}
		return nil
	})
	noSecretIn(t, ctx, ns, secret)

	// A config change: the Secret holds the new value, the pod template's
	// config digest changes, and so the Deployment rolls.
	oldConfig := dep.Spec.Template.Annotations[kubernetes.AnnotationConfig]
	if oldConfig == "" || oldConfig != template[kubernetes.AnnotationConfig] {
		t.Errorf("config digest %q changed with the image (was %q)", oldConfig, template[kubernetes.AnnotationConfig])
	}
	secret2 := secretValue()
	w.Env[0].Value = secret2
	if err := d.Apply(ctx, w); err != nil {
		t.Fatal(err)
	}
	dep = only(t, "deployments", deployments(t, ctx, ns, sel))
	checkDeployment(t, dep, w, opts)
	checkSecret(t, only(t, "secrets", secrets(t, ctx, ns, sel)), dep, w)
	newConfig := dep.Spec.Template.Annotations[kubernetes.AnnotationConfig]
	if newConfig == "" || newConfig == oldConfig {
		t.Errorf("config digest %q did not change with the config (was %q)", newConfig, oldConfig)
	}
	eventually(t, "a pod of the new config", func() error {
		for _, p := range pods(t, ctx, ns, sel) {
			if p.Annotations[kubernetes.AnnotationConfig] == newConfig {
				return nil
			}
		}
		return errors.New("none")
	})
	noSecretIn(t, ctx, ns, secret)
	noSecretIn(t, ctx, ns, secret2)

	// Restart: the restartedAt annotation on the pod template, as
	// kubectl rollout restart sets it.
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	w.Restart = at.UnixNano()
	if err := d.Apply(ctx, w); err != nil {
		t.Fatal(err)
	}
	dep = only(t, "deployments", deployments(t, ctx, ns, sel))
	if got := dep.Spec.Template.Annotations[kubernetes.AnnotationRestartedAt]; got != at.Format(time.RFC3339Nano) {
		t.Errorf("restartedAt %q, want %q", got, at.Format(time.RFC3339Nano))
	}
	eventually(t, "a pod of the restart", func() error {
		for _, p := range pods(t, ctx, ns, sel) {
			if p.Annotations[kubernetes.AnnotationRestartedAt] != "" && p.Annotations[runtime.LabelRevision] == w.Revision() {
				return nil
			}
		}
		return errors.New("none")
	})
	if n := len(pods(t, ctx, ns, sel)); n > w.Instances+1 {
		t.Errorf("%d pods during the rollouts, want at most instances+surge = %d", n, w.Instances+1)
	}

	// A unit that runs (a kubelet would say so) has the Pod's address.
	// A Pod of the current revision, which the rollout keeps.
	var podName string
	for _, p := range pods(t, ctx, ns, sel) {
		if p.Annotations[runtime.LabelRevision] == w.Revision() {
			podName = p.Name
		}
	}
	started := metav1.NewTime(time.Now().Truncate(time.Second))
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		p, err := admin(t).CoreV1().Pods(ns).Get(ctx, podName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		p.Status.Phase = corev1.PodRunning
		p.Status.PodIP = "10.1.2.3"
		p.Status.PodIPs = []corev1.PodIP{{IP: "10.1.2.3"}}
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "web", Image: p.Spec.Containers[0].Image, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: started}}}}
		_, err = admin(t).CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	units, err = d.Units(ctx, w.AppID)
	if err != nil {
		t.Fatal(err)
	}
	var running *runtime.Unit
	for i := range units {
		if units[i].Name == podName {
			running = &units[i]
		}
	}
	if running == nil || running.State != runtime.UnitRunning || running.Address != "10.1.2.3:8080" || !running.StartedAt.Equal(started.Time) {
		t.Errorf("unit of the running pod %+v, want running at 10.1.2.3:8080 since %s", running, started)
	}

	// Undeploy: the Deployment and Secret go, the garbage collector takes
	// the ReplicaSets and Pods.
	if err := d.Remove(ctx, w.AppID, w.Proc); err != nil {
		t.Fatal(err)
	}
	waitGone(t, ns, sel)
	if units, err := d.Units(ctx, w.AppID); err != nil || len(units) != 0 {
		t.Errorf("units after undeploy: %v %v", units, err)
	}
	if err := d.Remove(ctx, w.AppID, w.Proc); err != nil {
		t.Errorf("removing again: %v", err)
	}
}

// waitGone waits until nothing sel selects is left in ns.
func waitGone(t *testing.T, ns, sel string) {
	t.Helper()
	ctx := testContext(t)
	eventually(t, "nothing left", func() error {
		n := [4]int{len(deployments(t, ctx, ns, sel)), len(secrets(t, ctx, ns, sel)), len(replicaSets(t, ctx, ns, sel)), len(pods(t, ctx, ns, sel))}
		if n != [4]int{} {
			return fmt.Errorf("left: %d deployments, %d secrets, %d replica sets, %d pods", n[0], n[1], n[2], n[3])
		}
		return nil
	})
}

// Deleting an app removes every proc; AppIDs no longer lists it.
func TestAppDeletion(t *testing.T) {
	ctx := testContext(t)
	d, opts := newDriver(t, nil)
	ns := opts.Namespace
	web := workload(secretValue())
	worker := web
	worker.Proc, worker.Port, worker.Env = "worker", 0, web.Env[:2]
	other := workload(secretValue())
	other.App = "other"
	for _, w := range []runtime.Workload{web, worker, other} {
		if err := d.Apply(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	ids, err := d.AppIDs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{web.AppID, other.AppID}
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Errorf("app ids %v, want %v", ids, want)
	}
	sel := selector(opts, web.AppID, "")
	podCount(t, ns, sel, 2)
	if err := d.Remove(ctx, web.AppID, ""); err != nil {
		t.Fatal(err)
	}
	waitGone(t, ns, sel)
	if ids, err := d.AppIDs(ctx); err != nil || !slices.Equal(ids, []string{other.AppID}) {
		t.Errorf("app ids after deleting %s: %v %v, want %v", web.AppID, ids, err, other.AppID)
	}
	// The other app is untouched.
	only(t, "deployments of the other app", deployments(t, ctx, ns, selector(opts, other.AppID, "")))
	podCount(t, ns, selector(opts, other.AppID, ""), 1)
}

// Owner references: deleting only the Deployment (as a person might) lets
// the garbage collector remove its Secret, ReplicaSets and Pods.
func TestOwnerReferences(t *testing.T) {
	ctx := testContext(t)
	d, opts := newDriver(t, nil)
	w := workload(secretValue())
	if err := d.Apply(ctx, w); err != nil {
		t.Fatal(err)
	}
	sel := selector(opts, w.AppID, w.Proc)
	podCount(t, opts.Namespace, sel, 1)
	dep := only(t, "deployments", deployments(t, ctx, opts.Namespace, sel))
	background := metav1.DeletePropagationBackground
	if err := admin(t).AppsV1().Deployments(opts.Namespace).Delete(ctx, dep.Name, metav1.DeleteOptions{PropagationPolicy: &background}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, opts.Namespace, sel)
	// The next pass puts it back.
	if err := d.Apply(ctx, w); err != nil {
		t.Fatal(err)
	}
	dep = only(t, "deployments", deployments(t, ctx, opts.Namespace, sel))
	checkSecret(t, only(t, "secrets", secrets(t, ctx, opts.Namespace, sel)), dep, w)
}

// A namespace per team, created when missing; a team change moves the
// proc, leaving nothing in the old namespace.
func TestNamespacePerTeam(t *testing.T) {
	ctx := testContext(t)
	d, opts := newDriver(t, func(o *kubernetes.Options) {
		o.NamespaceMode = kubernetes.NamespacePerTeam
		o.NamespacePrefix = o.Namespace + "-"
	})
	w := workload(secretValue())
	w.Team = "Payments_EU" // not a namespace name as it is
	if err := d.Apply(ctx, w); err != nil {
		t.Fatal(err)
	}
	sel := selector(opts, w.AppID, w.Proc)
	deps := deployments(t, ctx, "", sel)
	dep := only(t, "deployments", deps)
	first := dep.Namespace
	if errs := validation.IsDNS1123Label(first); len(errs) > 0 || first == opts.Namespace {
		t.Fatalf("team namespace %q: %v", first, errs)
	}
	ns, err := admin(t).CoreV1().Namespaces().Get(ctx, first, metav1.GetOptions{})
	if err != nil || ns.Labels[runtime.LabelInstallation] != opts.Installation {
		t.Fatalf("team namespace %s: %v, labels %v", first, err, ns.Labels)
	}
	w.Team = "search"
	if err := d.Apply(ctx, w); err != nil {
		t.Fatal(err)
	}
	dep = only(t, "deployments", deployments(t, ctx, "", sel))
	if dep.Namespace != opts.NamespacePrefix+"search" {
		t.Errorf("after the team change the deployment is in %s, want %s", dep.Namespace, opts.NamespacePrefix+"search")
	}
	waitGone(t, first, sel)
	only(t, "secrets", secrets(t, ctx, "", sel))
	units, err := d.Units(ctx, w.AppID)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range units {
		if u.AppID != w.AppID {
			t.Errorf("unit %+v of another app", u)
		}
	}
}

// Installations do not see each other's apps, even in one namespace, and
// a name another installation holds is left alone.
func TestInstallationsApart(t *testing.T) {
	ctx := testContext(t)
	a, optsA := newDriver(t, nil)
	b, _ := newDriver(t, func(o *kubernetes.Options) { o.Namespace = optsA.Namespace })
	w := workload(secretValue())
	if err := a.Apply(ctx, w); err != nil {
		t.Fatal(err)
	}
	if ids, err := b.AppIDs(ctx); err != nil || len(ids) != 0 {
		t.Errorf("the other installation sees apps %v %v", ids, err)
	}
	if units, err := b.Units(ctx, ""); err != nil || len(units) != 0 {
		t.Errorf("the other installation sees units %v %v", units, err)
	}
	if err := b.Remove(ctx, w.AppID, ""); err != nil {
		t.Fatal(err)
	}
	// Same app id, same name, same namespace: b must not take a's objects.
	err := b.Apply(ctx, w)
	if err == nil {
		t.Fatal("the other installation took over the deployment")
	}
	t.Logf("as expected: %v", err)
	dep := only(t, "deployments", deployments(t, ctx, optsA.Namespace, selector(optsA, w.AppID, w.Proc)))
	if dep.Labels[runtime.LabelInstallation] != optsA.Installation {
		t.Errorf("deployment now of installation %q", dep.Labels[runtime.LabelInstallation])
	}
}

// Watch reports changes of the installation's Pods and Deployments.
func TestWatch(t *testing.T) {
	ctx := testContext(t)
	d, _ := newDriver(t, nil)
	events, err := d.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w := workload(secretValue())
	if err := d.Apply(ctx, w); err != nil {
		t.Fatal(err)
	}
	var sawPod, sawDeployment bool
	timeout := time.After(2 * time.Minute)
	for !sawPod || !sawDeployment {
		select {
		case ev := <-events:
			if ev.AppID != w.AppID {
				t.Fatalf("event of another app: %+v", ev)
			}
			sawPod = sawPod || ev.UnitID != ""
			sawDeployment = sawDeployment || ev.UnitID == ""
		case <-timeout:
			t.Fatalf("no events after 2m (pod %v, deployment %v)", sawPod, sawDeployment)
		}
	}
}

// A rollout that makes no progress within the deadline (here: no kubelet
// ever starts the Pod) is reported by the next Apply.
func TestRolloutFailed(t *testing.T) {
	ctx := testContext(t)
	d, _ := newDriver(t, func(o *kubernetes.Options) { o.ProgressDeadline = time.Second })
	w := workload(secretValue())
	if err := d.Apply(ctx, w); err != nil {
		t.Fatal(err)
	}
	eventually(t, "ErrRolloutFailed", func() error {
		err := d.Apply(ctx, w)
		if errors.Is(err, runtime.ErrRolloutFailed) {
			return nil
		}
		return fmt.Errorf("apply: %v", err)
	})
}
