package kubernetes_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	k8s "k8s.io/client-go/kubernetes"

	"github.com/berthdev/terraform-provider-berth/controlplane/runtime"
	"github.com/berthdev/terraform-provider-berth/controlplane/runtime/kubernetes"
	"github.com/berthdev/terraform-provider-berth/internal/kubetest"
)

// One control plane for the package's tests.
var env *kubetest.Env

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(crashChild()) // a berthd stand-in that TestCrashMidRollout kills
	}
	os.Exit(kubetest.Main(m, &env))
}

// BerthRules are the permissions the driver needs, as docs/kubernetes.md
// lists them: the tests run as a user that has these and nothing else.
var BerthRules = []rbacv1.PolicyRule{
	{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"get", "list", "watch", "create", "patch", "delete"}},
	{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list", "create", "patch", "delete"}},
	{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"list", "watch"}},
	{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"create"}},
}

var grantOnce sync.Once

// admin is a client with every right, for looking at what the driver did.
func admin(t testing.TB) k8s.Interface {
	t.Helper()
	cs, err := k8s.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	grantOnce.Do(func() {
		ctx := context.Background()
		role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "berth-runtime"}, Rules: BerthRules}
		if _, err := cs.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		binding := &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "berth-runtime"},
			RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "berth-runtime"},
			Subjects:   []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: kubetest.BerthUser}},
		}
		if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	})
	return cs
}

var installations atomic.Int32

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newDriver is a driver of an installation of its own, in a namespace of
// its own, authenticated as the berth user.
func newDriver(t testing.TB, mut func(*kubernetes.Options)) (*kubernetes.Driver, kubernetes.Options) {
	t.Helper()
	admin(t) // grants the role
	n := installations.Add(1)
	opts := kubernetes.Options{
		Installation: fmt.Sprintf("test-%d", n),
		Config:       env.BerthConfig,
		Namespace:    fmt.Sprintf("berth-test-%d", n),
	}
	if mut != nil {
		mut(&opts)
	}
	// No log line may hold a private value (every test value starts with
	// s3cr3t-).
	var logs syncBuffer
	opts.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	t.Cleanup(func() {
		if strings.Contains(logs.String(), "s3cr3t-") {
			t.Errorf("a private value in the driver's log:\n%s", logs.String())
		}
	})
	d, err := kubernetes.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, opts
}

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func secretValue() string {
	b := make([]byte, 16)
	rand.Read(b)
	return "s3cr3t-" + hex.EncodeToString(b)
}

// workload is a web proc of a new app with one private variable.
func workload(secret string) runtime.Workload {
	return runtime.Workload{
		AppID: uuid.NewString(), App: "shop", Proc: "web", Release: 1,
		Image:   "registry.example/shop:1",
		Command: []string{"/app/shop", "serve"},
		Env: []runtime.EnvVar{
			{Name: "DATABASE_URL", Value: secret, Private: true},
			{Name: "LOG_LEVEL", Value: "info"},
			{Name: "PORT", Value: "8080"},
		},
		Port: 8080, Instances: 1, CPU: 1, Memory: 256 << 20,
	}
}

// eventually polls check until it returns nil or the deadline passes; the
// last error fails the test.
func eventually(t testing.TB, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not so after 2m: %v\ncontroller manager log:\n%s", what, err, env.Logs("kube-controller-manager", 2000))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func selector(opts kubernetes.Options, appID, proc string) string {
	set := map[string]string{runtime.LabelInstallation: opts.Installation, runtime.LabelAppID: appID}
	if proc != "" {
		set[runtime.LabelProc] = proc
	}
	return labels.SelectorFromSet(set).String()
}

func deployments(t testing.TB, ctx context.Context, ns, sel string) []appsv1.Deployment {
	t.Helper()
	l, err := admin(t).AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		t.Fatal(err)
	}
	return l.Items
}

func secrets(t testing.TB, ctx context.Context, ns, sel string) []corev1.Secret {
	t.Helper()
	l, err := admin(t).CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		t.Fatal(err)
	}
	return l.Items
}

func pods(t testing.TB, ctx context.Context, ns, sel string) []corev1.Pod {
	t.Helper()
	l, err := admin(t).CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		t.Fatal(err)
	}
	return l.Items
}

func replicaSets(t testing.TB, ctx context.Context, ns, sel string) []appsv1.ReplicaSet {
	t.Helper()
	l, err := admin(t).AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		t.Fatal(err)
	}
	return l.Items
}

// only returns the one Deployment (or Secret) of a proc, failing when
// there are none or several.
func only[T any](t testing.TB, what string, items []T) *T {
	t.Helper()
	if len(items) != 1 {
		t.Fatalf("%d %s, want exactly one", len(items), what)
	}
	return &items[0]
}

// noSecretIn fails when secret appears anywhere in the namespace's
// Deployments, ReplicaSets or Pods, serialized whole (spec, annotations,
// managed fields, status).
func noSecretIn(t testing.TB, ctx context.Context, ns, secret string) {
	t.Helper()
	cs := admin(t)
	deps, err := cs.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rss, err := cs.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ps, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for what, obj := range map[string]any{"deployments": deps, "replica sets": rss, "pods": ps} {
		b, err := json.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), secret) {
			t.Errorf("a private config value appears in the %s of %s", what, ns)
		}
	}
}
