package crash

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"
)

// promotions promotes a release from development to staging over and over.
// After a crash every acknowledged promotion must finish successfully (the
// runner resumes it), and no promotion may have been applied twice: each
// one made exactly one release on the target.
type promotions struct{}

func (promotions) name() string { return "promotions" }

func (promotions) setup(ctx context.Context, url string) error {
	steps := []struct {
		method, path string
		body         any
	}{
		{http.MethodPost, "/api/v1/repos/", map[string]string{"appname": "crash-dev"}},
		{http.MethodPost, "/api/v1/repos/", map[string]string{"appname": "crash-stg"}},
		{http.MethodPost, "/pipelines", map[string]string{"name": "crash-pipe", "team": "admin"}},
		{http.MethodPost, "/pipeline-couplings", map[string]string{"app": "crash-dev", "pipeline": "crash-pipe", "stage": "development"}},
		{http.MethodPost, "/pipeline-couplings", map[string]string{"app": "crash-stg", "pipeline": "crash-pipe", "stage": "staging"}},
		{http.MethodPost, "/apps/crash-dev/releases", map[string]string{"image": "registry.local/crash:1"}},
	}
	for _, s := range steps {
		st, err := call(ctx, s.method, url+s.path, adminToken, s.body, nil)
		if err != nil || st >= 300 {
			return fmt.Errorf("%s %s: %d %v", s.method, s.path, st, err)
		}
	}
	return nil
}

func (promotions) step(ctx context.Context, url string, w, n int) (string, error) {
	body := map[string]any{
		"pipeline": map[string]string{"id": "crash-pipe"},
		"source":   map[string]any{"app": map[string]string{"id": "crash-dev"}},
		"targets":  []any{map[string]any{"app": map[string]string{"id": "crash-stg"}}},
	}
	var p struct{ ID string }
	st, err := call(ctx, http.MethodPost, url+"/pipeline-promotions", adminToken, body, &p)
	switch {
	case err != nil:
		return "", nil
	case st == http.StatusOK:
		return p.ID, nil
	default:
		return "", fmt.Errorf("promote: status %d", st)
	}
}

func (promotions) verify(t *testing.T, url string, acked []string) {
	ctx := context.Background()
	deadline := time.Now().Add(60 * time.Second)
	for _, id := range acked {
		for {
			var p struct{ Status string }
			st, err := call(ctx, http.MethodGet, url+"/pipeline-promotions/"+id, adminToken, nil, &p)
			if err != nil || st != 200 {
				t.Fatalf("acknowledged promotion %s: %d %v", id, st, err)
			}
			if p.Status == "successful" {
				break
			}
			if p.Status != "pending" {
				t.Fatalf("promotion %s ended %s", id, p.Status)
			}
			if time.Now().After(deadline) {
				t.Fatalf("promotion %s still pending after restart", id)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	var releases []struct {
		Promotion *struct{ ID string } `json:"pipeline_promotion"`
	}
	if st, err := call(ctx, http.MethodGet, url+"/apps/crash-stg/releases", adminToken, nil, &releases); err != nil || st != 200 {
		t.Fatalf("list target releases: %d %v", st, err)
	}
	applied := map[string]int{}
	for _, r := range releases {
		if r.Promotion != nil {
			applied[r.Promotion.ID]++
		}
	}
	for id, n := range applied {
		if n != 1 {
			t.Errorf("promotion %s applied %d times to the target", id, n)
		}
	}
	for _, id := range acked {
		if applied[id] != 1 {
			t.Errorf("acknowledged promotion %s made %d releases on the target", id, applied[id])
		}
	}
}
