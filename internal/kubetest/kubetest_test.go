package kubetest_test

import (
	"context"
	"os"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/berthdev/terraform-provider-berth/internal/kubetest"
)

var env *kubetest.Env

func TestMain(m *testing.M) { os.Exit(kubetest.Main(m, &env)) }

// The controller manager turns a Deployment into a ReplicaSet and Pods,
// which stay Pending (no kubelet, no scheduler).
func TestDeploymentGetsPods(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// The kubeconfig file works as berthd's --kubeconfig would use it.
	cfg, err := clientcmd.BuildConfigFromFlags("", env.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cs := kubernetes.NewForConfigOrDie(cfg)
	labels := map[string]string{"app": "smoke"}
	two := int32(2)
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "smoke", Namespace: "default"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &two,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "busybox"}}},
			},
		},
	}
	if _, err := cs.AppsV1().Deployments("default").Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var pods *corev1.PodList
	for {
		pods, err = cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=smoke"})
		if err != nil {
			t.Fatal(err)
		}
		if len(pods.Items) == 2 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("%d pods, want 2; controller manager log:\n%s", len(pods.Items), env.Logs("kube-controller-manager", 3000))
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, p := range pods.Items {
		if p.Status.Phase != corev1.PodPending {
			t.Errorf("pod %s is %s, want Pending", p.Name, p.Status.Phase)
		}
	}
	// Deleting the Deployment lets the garbage collector remove the Pods.
	if err := cs.AppsV1().Deployments("default").Delete(ctx, "smoke", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	for {
		pods, err = cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=smoke"})
		if err != nil {
			t.Fatal(err)
		}
		if len(pods.Items) == 0 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("%d pods left after the Deployment was deleted", len(pods.Items))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// RBAC is on: the berth user may do nothing until it is granted a role.
func TestBerthUserNeedsARole(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cs := kubernetes.NewForConfigOrDie(env.BerthConfig)
	_, err := cs.AppsV1().Deployments("default").List(ctx, metav1.ListOptions{})
	if !apierrors.IsForbidden(err) {
		t.Fatalf("berth listed deployments without a role: %v", err)
	}
}
