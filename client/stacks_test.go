package client_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berthdev/terraform-provider-berth/client"
	"github.com/berthdev/terraform-provider-berth/internal/berthtest"
)

func TestProjectsAndStacks(t *testing.T) {
	ctx := context.Background()
	srv := berthtest.Start(t)
	admin := newClient(t, srv, srv.AdminToken)

	p, _, err := admin.Projects.Create(ctx, client.NewProject{Name: "web", InitialCommit: "abc"})
	if err != nil || p.APIKey == "" || p.Prefix != "test-" || p.Team != "admin" || p.Created.IsZero() {
		t.Fatalf("create: %+v %v", p, err)
	}
	if _, _, err := admin.Projects.Create(ctx, client.NewProject{Name: "web"}); !client.IsConflict(err) {
		t.Fatalf("duplicate: %v", err)
	}
	if _, _, err := admin.Projects.Create(ctx, client.NewProject{Name: "api", Prefix: "api-"}); err != nil {
		t.Fatal(err)
	}
	got, _, err := admin.Projects.Get(ctx, "web")
	if err != nil || got.Name != "web" || got.APIKey != "" {
		t.Fatalf("get: %+v %v", got, err)
	}
	page, resp, err := admin.Projects.List(ctx, &client.ListOptions{Limit: 1})
	if err != nil || len(page) != 1 || page[0].Name != "api" || resp.NextCursor == "" {
		t.Fatalf("first page: %+v %+v %v", page, resp, err)
	}
	page, _, err = admin.Projects.List(ctx, &client.ListOptions{Limit: 1, Cursor: resp.NextCursor})
	if err != nil || len(page) != 1 || page[0].Name != "web" {
		t.Fatalf("second page: %+v %v", page, err)
	}

	ci := newClient(t, srv, "", client.WithProjectKey(p.APIKey))
	st, _, err := ci.Stacks.Request(ctx, client.StackRequest{Branch: "feature", TTL: 90 * time.Second})
	if err != nil || st.StackName != "test-1" || st.LeaseID == "" || st.IsAvailable || st.LastDeployedCommit != "abc" {
		t.Fatalf("request: %+v %v", st, err)
	}
	if d := st.ExpiresAt.Sub(st.LeasedAt); d != 90*time.Second {
		t.Fatalf("lease of %s, want 90s", d)
	}
	held, _, err := ci.Stacks.Get(ctx, "test-1")
	if err != nil || held.LeaseID != st.LeaseID || !held.LeasedAt.Equal(st.LeasedAt) || held.Branch != "feature" {
		t.Fatalf("get: %+v %v", held, err)
	}
	if _, _, err := ci.Stacks.Get(ctx, "test-9"); !client.IsNotFound(err) {
		t.Fatalf("get an unknown stack: %v", err)
	}
	if st, _, err = ci.Stacks.SetLastDeployedCommit(ctx, "test-1", "def"); err != nil || st.LastDeployedCommit != "def" || st.LeaseID != "" {
		t.Fatalf("commit: %+v %v", st, err)
	}
	if _, _, err := ci.Stacks.Release(ctx, "test-1", "another-lease"); !client.IsConflict(err) {
		t.Fatalf("release with a stale lease: %v", err)
	}
	first, _, err := ci.Stacks.Request(ctx, client.StackRequest{})
	if err != nil || first.StackName != "test-2" || first.Branch != "main" {
		t.Fatalf("second request: %+v %v", first, err)
	}
	if st, _, err = ci.Stacks.Release(ctx, "test-1", ""); err != nil || !st.IsAvailable || !st.ExpiresAt.IsZero() {
		t.Fatalf("release: %+v %v", st, err)
	}
	stacks, _, err := ci.Stacks.List(ctx, nil)
	if err != nil || len(stacks) != 2 || stacks[0].StackName != "test-1" || !stacks[0].IsAvailable || stacks[1].IsAvailable {
		t.Fatalf("list: %+v %v", stacks, err)
	}
	if _, _, err := ci.Stacks.DeleteLast(ctx, false); !client.IsConflict(err) {
		t.Fatalf("delete a leased stack: %v", err)
	}
	if st, _, err = ci.Stacks.DeleteLast(ctx, true); err != nil || st.StackName != "test-2" {
		t.Fatalf("forced delete: %+v %v", st, err)
	}

	prefix, commit := "ci-", "base"
	proj, _, err := ci.Stacks.UpdateProject(ctx, client.ProjectSettings{Prefix: &prefix, InitialCommit: &commit})
	if err != nil || proj.Prefix != "ci-" || proj.InitialCommit != "base" {
		t.Fatalf("update project: %+v %v", proj, err)
	}
	if proj, _, err = ci.Stacks.Project(ctx); err != nil || proj.Name != "web" || proj.Prefix != "ci-" {
		t.Fatalf("project: %+v %v", proj, err)
	}
	empty := ""
	proj, _, err = admin.Projects.Update(ctx, "web", client.ProjectSettings{InitialCommit: &empty})
	if err != nil || proj.Prefix != "ci-" || proj.InitialCommit != "" || proj.APIKey != "" {
		t.Fatalf("update project by name: %+v %v", proj, err)
	}
	if _, _, err := admin.Projects.Update(ctx, "nope", client.ProjectSettings{Prefix: &prefix}); !client.IsNotFound(err) {
		t.Fatalf("update an unknown project: %v", err)
	}

	rotated, _, err := admin.Projects.RotateKey(ctx, "web")
	if err != nil || rotated.APIKey == "" || rotated.APIKey == p.APIKey {
		t.Fatalf("rotate: %+v %v", rotated, err)
	}
	if _, _, err := ci.Stacks.List(ctx, nil); !client.IsUnauthorized(err) {
		t.Fatalf("old key after rotation: %v", err)
	}
	if _, err := admin.Projects.Delete(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := admin.Projects.Get(ctx, "web"); !client.IsNotFound(err) {
		t.Fatalf("get after delete: %v", err)
	}
}

// TestStackRequestRetriesWithoutLeasingTwice: the first answer to a request
// is lost after berthd leased a stack (a proxy turns it into a 502), and the
// client retries. The retry carries the same Idempotency-Key, so it gets the
// same lease instead of a second stack.
func TestStackRequestRetriesWithoutLeasingTwice(t *testing.T) {
	ctx := context.Background()
	srv := berthtest.Start(t)
	admin := newClient(t, srv, srv.AdminToken)
	p, _, err := admin.Projects.Create(ctx, client.NewProject{Name: "web"})
	if err != nil {
		t.Fatal(err)
	}
	target, _ := url.Parse(srv.URL)
	var lost atomic.Int32
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.URL.Path == "/stacks/request" && lost.Add(1) == 1 {
			resp.StatusCode = http.StatusBadGateway
		}
		return nil
	}
	front := httptest.NewServer(proxy)
	t.Cleanup(front.Close)
	ci, err := client.New(front.URL, client.WithProjectKey(p.APIKey), client.WithRetry(2, time.Millisecond, 10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}

	st, _, err := ci.Stacks.Request(ctx, client.StackRequest{Branch: "feature"})
	if err != nil || st.StackName != "test-1" || lost.Load() != 2 {
		t.Fatalf("request through a lossy proxy: %+v %v (%d attempts)", st, err, lost.Load())
	}
	stacks, _, err := ci.Stacks.List(ctx, nil)
	if err != nil || len(stacks) != 1 {
		t.Fatalf("stacks after a retried request: %+v %v", stacks, err)
	}
	// The lease the retry answered is the one berthd holds: it releases.
	if _, _, err := ci.Stacks.Release(ctx, st.StackName, st.LeaseID); err != nil {
		t.Fatal(err)
	}
	// Separate calls are separate requests.
	other, _, err := ci.Stacks.Request(ctx, client.StackRequest{Branch: "other"})
	if err != nil || other.LeaseID == st.LeaseID {
		t.Fatalf("a new call replayed the previous lease: %+v %v", other, err)
	}
}
