// Package kuberuntime_test runs berthd with the Kubernetes runtime against
// a real kube-apiserver and kube-controller-manager (internal/kubetest):
// every step of an app's life, made through the API as users make it, must
// leave the Deployment, Secret and Pods the mapping says. There is no
// kubelet, so Pods stay Pending: the tests check what the cluster holds;
// the Docker runtime's tests prove that units run.
package kuberuntime_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8s "k8s.io/client-go/kubernetes"

	"github.com/berthdev/terraform-provider-berth/controlplane/runtime"
	"github.com/berthdev/terraform-provider-berth/controlplane/runtime/kubernetes"
	"github.com/berthdev/terraform-provider-berth/internal/berthtest"
	"github.com/berthdev/terraform-provider-berth/internal/kubetest"
)

var env *kubetest.Env

func TestMain(m *testing.M) { os.Exit(kubetest.Main(m, &env)) }

var ctx = context.Background()

// cluster is what the test reads the cluster with.
type cluster struct {
	t  *testing.T
	c  *k8s.Clientset
	ns string
}

func (c cluster) deployments(app string) []appsv1.Deployment {
	c.t.Helper()
	l, err := c.c.AppsV1().Deployments(c.ns).List(ctx, metav1.ListOptions{LabelSelector: runtime.LabelApp + "=" + app})
	if err != nil {
		c.t.Fatal(err)
	}
	return l.Items
}

func (c cluster) secrets(app string) []corev1.Secret {
	c.t.Helper()
	l, err := c.c.CoreV1().Secrets(c.ns).List(ctx, metav1.ListOptions{LabelSelector: runtime.LabelApp + "=" + app})
	if err != nil {
		c.t.Fatal(err)
	}
	return l.Items
}

func (c cluster) pods(app string) []corev1.Pod {
	c.t.Helper()
	l, err := c.c.CoreV1().Pods(c.ns).List(ctx, metav1.ListOptions{LabelSelector: runtime.LabelApp + "=" + app})
	if err != nil {
		c.t.Fatal(err)
	}
	return l.Items
}

// waitDeployment polls until the app has one Deployment and cond holds of
// it.
func (c cluster) waitDeployment(app, what string, cond func(appsv1.Deployment) bool) appsv1.Deployment {
	c.t.Helper()
	deadline := time.Now().Add(time.Minute)
	var last []appsv1.Deployment
	for time.Now().Before(deadline) {
		if last = c.deployments(app); len(last) == 1 && cond(last[0]) {
			return last[0]
		}
		time.Sleep(200 * time.Millisecond)
	}
	c.t.Fatalf("%s: not within 1m; deployments of %s: %d %s", what, app, len(last), brief(last))
	return appsv1.Deployment{}
}

func brief(ds []appsv1.Deployment) string {
	var out []string
	for _, d := range ds {
		out = append(out, fmt.Sprintf("%s replicas=%d image=%s", d.Name, *d.Spec.Replicas, d.Spec.Template.Spec.Containers[0].Image))
	}
	return strings.Join(out, "; ")
}

func TestAnAppsLifeOnKubernetes(t *testing.T) {
	ns := fmt.Sprintf("t-%d", time.Now().UnixNano()%1_000_000_000)
	srv := berthtest.Start(t, berthtest.WithKubernetes(kubernetes.Options{Kubeconfig: env.Kubeconfig, Namespace: ns}))
	cs, err := k8s.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	kc := cluster{t: t, c: cs, ns: ns}
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	tok := ana.Token
	const secret = "s3cr3t-value-never-in-a-spec"
	srv.Req(t, "POST", "/apps", tok, map[string]string{"name": "web", "platform": "go"}).Expect2xx(t)
	srv.Req(t, "POST", "/apps/web/env", tok, []map[string]any{{"name": "API_TOKEN", "value": secret, "public": false}, {"name": "MODE", "value": "blue", "public": true}}).Expect2xx(t)
	srv.Req(t, "POST", "/apps/web/deploy", tok, map[string]string{"image": "registry.example/web:1"}).Expect2xx(t)

	d := kc.waitDeployment("web", "the Deployment of web's proc", func(d appsv1.Deployment) bool {
		return *d.Spec.Replicas == 1 && d.Spec.Template.Spec.Containers[0].Image == "registry.example/web:1"
	})
	c := d.Spec.Template.Spec.Containers[0]
	if c.Ports[0].ContainerPort != 8080 || d.Labels[runtime.LabelProc] != "web" || d.Spec.Strategy.RollingUpdate.MaxSurge.IntValue() != 1 || d.Spec.Strategy.RollingUpdate.MaxUnavailable.IntValue() != 0 {
		t.Fatalf("deployment: port %v, labels %v, strategy %+v", c.Ports, d.Labels, d.Spec.Strategy)
	}
	secrets := kc.secrets("web")
	if len(secrets) != 1 || string(secrets[0].Data["API_TOKEN"]) != secret || string(secrets[0].Data["MODE"]) != "blue" {
		t.Fatalf("the app's config is not in its Secret: %d secrets", len(secrets))
	}
	noSecretIn := func(what string, v any) {
		t.Helper()
		b, _ := json.Marshal(v)
		if strings.Contains(string(b), secret) {
			t.Fatalf("the private value is in the %s", what)
		}
	}
	noSecretIn("Deployment", d)
	waitPods(t, kc, "web", 1)
	for _, p := range kc.pods("web") {
		noSecretIn("Pod "+p.Name, p)
	}

	// Scale through tsuru's units routes: 1 -> 3 -> 1.
	srv.Req(t, "PUT", "/apps/web/units?units=2", tok, nil).Expect2xx(t)
	kc.waitDeployment("web", "three replicas", func(d appsv1.Deployment) bool { return *d.Spec.Replicas == 3 })
	waitPods(t, kc, "web", 3)
	srv.Req(t, "DELETE", "/apps/web/units?units=2", tok, nil).Expect2xx(t)
	kc.waitDeployment("web", "one replica", func(d appsv1.Deployment) bool { return *d.Spec.Replicas == 1 })

	// A config change rolls the pod template; a restart annotates it.
	template := d.Spec.Template.Annotations
	srv.Req(t, "POST", "/apps/web/env", tok, map[string]string{"MODE": "green"}).Expect2xx(t)
	d = kc.waitDeployment("web", "the config change rolls the Deployment", func(d appsv1.Deployment) bool {
		return d.Spec.Template.Annotations["dev.berth.config"] != template["dev.berth.config"]
	})
	if s := kc.secrets("web"); len(s) != 1 || string(s[0].Data["MODE"]) != "green" {
		t.Fatalf("the Secret does not hold the new value")
	}
	srv.Req(t, "GET", "/apps/web/restart", tok, nil).Expect2xx(t)
	kc.waitDeployment("web", "the restart annotation", func(d appsv1.Deployment) bool {
		return d.Spec.Template.Annotations["kubectl.kubernetes.io/restartedAt"] != ""
	})

	// A new release rolls the image.
	srv.Req(t, "POST", "/apps/web/releases", tok, map[string]string{"image": "registry.example/web:2"}).Expect2xx(t)
	kc.waitDeployment("web", "the new image", func(d appsv1.Deployment) bool {
		return d.Spec.Template.Spec.Containers[0].Image == "registry.example/web:2"
	})

	// Deleting the app removes what ran it.
	srv.Req(t, "DELETE", "/apps/web", tok, nil).Expect2xx(t)
	deadline := time.Now().Add(time.Minute)
	for len(kc.deployments("web")) > 0 || len(kc.secrets("web")) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("after the app's deletion: %d deployments, %d secrets", len(kc.deployments("web")), len(kc.secrets("web")))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func waitPods(t *testing.T, kc cluster, app string, n int) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for len(kc.pods(app)) < n {
		if time.Now().After(deadline) {
			t.Fatalf("app %s has %d pods, want %d (the controller manager makes them)", app, len(kc.pods(app)), n)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
