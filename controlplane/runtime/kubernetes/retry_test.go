package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestTransient(t *testing.T) {
	gr := schema.GroupResource{Group: "apps", Resource: "deployments"}
	for _, c := range []struct {
		err  error
		want bool
	}{
		{apierrors.NewConflict(gr, "web", errors.New("the object has been modified")), true},
		{apierrors.NewTooManyRequests("slow down", 1), true},
		{apierrors.NewInternalError(errors.New("etcd")), true},
		{apierrors.NewServiceUnavailable("starting"), true},
		{apierrors.NewTimeoutError("busy", 1), true},
		{fmt.Errorf("dial: %w", syscall.ECONNREFUSED), true},
		{apierrors.NewNotFound(gr, "web"), false},
		{apierrors.NewForbidden(gr, "web", errors.New("no")), false},
		{apierrors.NewBadRequest("bad"), false},
		{fmt.Errorf("op: %w", context.Canceled), false},
	} {
		if got := transient(c.err); got != c.want {
			t.Errorf("transient(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

// Errors and log lines about Secrets keep the API server's message out.
func TestRedacted(t *testing.T) {
	const value = "s3cr3t-value"
	invalid := apierrors.NewInvalid(schema.GroupKind{Kind: "Secret"}, "web",
		field.ErrorList{field.Invalid(field.NewPath("data", "TOKEN"), value, "too long")})
	err := redacted(invalid, "applying secret ns/web")
	if strings.Contains(err.Error(), value) || !strings.Contains(err.Error(), "Invalid") || !strings.Contains(err.Error(), "data.TOKEN") {
		t.Errorf("redacted: %q", err)
	}
	if !apierrors.IsInvalid(err) {
		t.Errorf("redacted error lost its status: %v", err)
	}
	if got := logged(invalid); strings.Contains(got, value) {
		t.Errorf("logged: %q", got)
	}
	if !apierrors.IsNotFound(redacted(apierrors.NewNotFound(schema.GroupResource{Resource: "secrets"}, "web"), "x")) {
		t.Error("a redacted not-found is no longer a not-found")
	}
}
