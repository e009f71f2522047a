package domain

import (
	"strings"
	"testing"
	"time"
)

func TestStackValidators(t *testing.T) {
	cases := []struct {
		name string
		err  error
		ok   bool
	}{
		{"project ok", ValidateStackProjectName("web-e2e"), true},
		{"project uppercase", ValidateStackProjectName("Web"), false},
		{"prefix default", ValidateStackPrefix(DefaultStackPrefix), true},
		{"prefix 16", ValidateStackPrefix("a" + strings.Repeat("b", 15)), true},
		{"prefix 17", ValidateStackPrefix("a" + strings.Repeat("b", 16)), false},
		{"prefix digit first", ValidateStackPrefix("1-"), false},
		{"branch slashes", ValidateBranch("feature/JIRA-12_x"), true},
		{"branch 255", ValidateBranch(strings.Repeat("b", 255)), true},
		{"branch 256", ValidateBranch(strings.Repeat("b", 256)), false},
		{"branch newline", ValidateBranch("a\nb"), false},
		{"branch NUL", ValidateBranch("a\x00b"), false},
		{"branch invalid UTF-8", ValidateBranch("a\xffb"), false},
		{"commit empty", ValidateCommit("lastDeployedCommit", ""), false},
		{"commit sha", ValidateCommit("lastDeployedCommit", "4f2c1a9e"), true},
		{"idempotency key", ValidateIdempotencyKey("job-12:attempt/1"), true},
		{"idempotency key space", ValidateIdempotencyKey("job 12"), false},
		{"idempotency key empty", ValidateIdempotencyKey(""), false},
	}
	for _, c := range cases {
		if (c.err == nil) != c.ok {
			t.Errorf("%s: err = %v, want ok=%v", c.name, c.err, c.ok)
		}
	}
}

func TestStackNumberIn(t *testing.T) {
	cases := []struct {
		prefix, name string
		n            int
		ok           bool
	}{
		{"test-", "test-12", 12, true},
		{"t", "t11", 11, true},
		{"t1", "t11", 1, true},
		{"test-", "test-", 0, false},
		{"test-", "test-012", 0, false},
		{"test-", "test-+1", 0, false},
		{"test-", "test-1a", 0, false},
		{"ci-", "test-1", 0, false},
	}
	for _, c := range cases {
		if n, ok := StackNumberIn(c.prefix, c.name); n != c.n || ok != c.ok {
			t.Errorf("StackNumberIn(%q, %q) = %d, %v; want %d, %v", c.prefix, c.name, n, ok, c.n, c.ok)
		}
	}
}

func TestStackLeaseLifecycle(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	st := &Stack{Number: 1, Name: "test-1", Branch: "main", Created: t0, Modified: t0}
	st.Take("l1", "feature", t0.Add(time.Minute), t0.Add(time.Hour))
	if st.Available() || st.Branch != "feature" || !st.Modified.Equal(t0.Add(time.Minute)) || !st.Lease.LeasedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("taken: %+v", st)
	}
	if st.ExpireLease(t0.Add(59 * time.Minute)) {
		t.Fatal("a live lease expired")
	}
	if !st.ExpireLease(t0.Add(2*time.Hour)) || !st.Available() || !st.Modified.Equal(t0.Add(time.Hour)) {
		t.Fatalf("after expiry: %+v", st)
	}
	st.Take("l2", "main", t0.Add(3*time.Hour), t0.Add(4*time.Hour))
	st.Release(t0.Add(3*time.Hour + time.Minute))
	if !st.Available() || st.Branch != "main" || !st.Modified.Equal(t0.Add(3*time.Hour+time.Minute)) {
		t.Fatalf("released: %+v", st)
	}
}
