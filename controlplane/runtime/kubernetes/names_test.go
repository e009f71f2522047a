package kubernetes

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

func TestObjectNames(t *testing.T) {
	seen := map[string]string{}
	for _, c := range []struct{ appID, app, proc string }{
		{"1", "shop", "web"},
		{"1", "shop", "worker"},
		{"2", "shop", "web"}, // the same name, another app (deleted and created again)
		{"3", "a-b", "c"},
		{"3", "a", "b-c"},
		{"4", strings.Repeat("long", 10), strings.Repeat("proc", 8)},
		{"5", "resource.redis.shop", "Web_Server"},
		{"6", "---", "___"},
	} {
		n := objectName(c.appID, c.app, c.proc)
		if errs := validation.IsDNS1123Label(n); len(errs) > 0 || len(n) > maxObjectName {
			t.Errorf("objectName(%q, %q, %q) = %q: %v (length %d)", c.appID, c.app, c.proc, n, errs, len(n))
		}
		if objectName(c.appID, c.app, c.proc) != n {
			t.Errorf("objectName(%q, %q, %q) is not deterministic", c.appID, c.app, c.proc)
		}
		key := c.appID + "/" + c.app + "/" + c.proc
		if other, ok := seen[n]; ok {
			t.Errorf("%s and %s share the name %q", key, other, n)
		}
		seen[n] = key
	}
	if n := objectName("1", "shop", "web"); !strings.HasPrefix(n, "shop-web-") {
		t.Errorf("objectName of shop/web = %q, want it readable", n)
	}
}

func TestNamespaceNames(t *testing.T) {
	if n := namespaceName("berth-", "payments"); n != "berth-payments" {
		t.Errorf("namespace of payments = %q", n)
	}
	a, b := namespaceName("berth-", "Team_A"), namespaceName("berth-", "team-a")
	if a == b {
		t.Errorf("Team_A and team-a share the namespace %q", a)
	}
	for _, team := range []string{"Team_A", strings.Repeat("x", 63), "_"} {
		if n := namespaceName("berth-", team); len(validation.IsDNS1123Label(n)) > 0 {
			t.Errorf("namespace of %q = %q is not a namespace name", team, n)
		}
	}
}

func TestLabelValues(t *testing.T) {
	for _, v := range []string{"web", "7c0e4a8e-2b8f-4a55-9a3c-1f5d8f0d2c11", "resource.redis.shop", strings.Repeat("x", 64), "a/b", "-x"} {
		lv := labelValue(v)
		if errs := validation.IsValidLabelValue(lv); len(errs) > 0 {
			t.Errorf("labelValue(%q) = %q: %v", v, lv, errs)
		}
		m := newMeta()
		m.set("k", v)
		if got := valueOf(m.labels, m.annotations, "k"); got != v {
			t.Errorf("value of %q read back as %q", v, got)
		}
		if (lv == v) != (len(m.annotations) == 0) {
			t.Errorf("%q: annotation %v, want one exactly when the label is not the value", v, m.annotations)
		}
	}
}
