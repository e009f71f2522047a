package crash

import (
	"context"
	"fmt"
	"net/http"
	"testing"
)

func allWorkloads() []workload {
	return []workload{&teams{}, &appTokens{}, &apps{}, envVars{}, &stackLeases{}, &promotions{}}
}

// teams creates teams; every acknowledged team must exist after a crash and
// be listed (the admin's list is read from the team records, membership
// from the member index: both must agree).
type teams struct{}

func (teams) name() string                        { return "teams" }
func (teams) setup(context.Context, string) error { return nil }
func (teams) step(ctx context.Context, url string, w, n int) (string, error) {
	name := fmt.Sprintf("t-%d-%d", w, n)
	st, err := call(ctx, http.MethodPost, url+"/teams", adminToken, map[string]string{"name": name}, nil)
	switch {
	case err != nil:
		return "", nil
	case st == http.StatusOK:
		return name, nil
	default:
		return "", fmt.Errorf("create team %s: status %d", name, st)
	}
}

func (teams) verify(t *testing.T, url string, acked []string) {
	var list []struct{ Name string }
	if st, err := call(context.Background(), http.MethodGet, url+"/teams", adminToken, nil, &list); err != nil || st != 200 {
		t.Fatalf("list teams: %d %v", st, err)
	}
	listed := map[string]bool{}
	for _, l := range list {
		listed[l.Name] = true
	}
	for _, name := range acked {
		if !listed[name] {
			t.Errorf("acknowledged team %s lost", name)
			continue
		}
	}
	// Spot-check the member index of the newest teams.
	for i := max(0, len(acked)-20); i < len(acked); i++ {
		var team struct{ Users []string }
		if st, _ := call(context.Background(), http.MethodGet, url+"/teams/"+acked[i], adminToken, nil, &team); st != 200 || len(team.Users) != 1 {
			t.Errorf("team %s: status %d members %v", acked[i], st, team.Users)
		}
	}
}

// appTokens creates app tokens; every acknowledged token must still
// authenticate after a crash.
type appTokens struct{}

func (appTokens) name() string                        { return "app-tokens" }
func (appTokens) setup(context.Context, string) error { return nil }
func (appTokens) step(ctx context.Context, url string, w, n int) (string, error) {
	var tok struct{ Token string }
	st, err := call(ctx, http.MethodPost, url+"/tokens", adminToken, map[string]any{}, &tok)
	switch {
	case err != nil:
		return "", nil
	case st == http.StatusOK:
		return tok.Token, nil
	default:
		return "", fmt.Errorf("create token: status %d", st)
	}
}

func (appTokens) verify(t *testing.T, url string, acked []string) {
	for i := max(0, len(acked)-50); i < len(acked); i++ {
		if st, err := call(context.Background(), http.MethodGet, url+"/users/info", acked[i], nil, nil); err != nil || st != 200 {
			t.Errorf("acknowledged app token no longer authenticates: %d %v", st, err)
		}
	}
}
