package crash

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// stackLeases leases stacks for fresh branches and releases half of them.
// After a crash: stack names are unique, no stack is held by two leases
// berthd acknowledged, and every stack an acknowledged, unreleased lease
// holds is still leased.
type stackLeases struct {
	key string

	mu sync.Mutex
	// held maps a stack to the acknowledged leases on it that no release
	// ended for sure; uncertain marks stacks whose release answer was lost.
	held      map[string][]string
	uncertain map[string]bool
}

func (s *stackLeases) name() string { return "stack-leases" }

func (s *stackLeases) setup(ctx context.Context, url string) error {
	s.held, s.uncertain = map[string][]string{}, map[string]bool{}
	var p struct{ APIKey string }
	st, err := call(ctx, http.MethodPost, url+"/projects", adminToken, map[string]string{"name": "crash", "team": "admin"}, &p)
	if err != nil || st != http.StatusCreated || p.APIKey == "" {
		return fmt.Errorf("create project: %d %v", st, err)
	}
	s.key = p.APIKey
	return nil
}

func (s *stackLeases) step(ctx context.Context, url string, w, n int) (string, error) {
	var lease struct{ StackName, LeaseID string }
	st, err := callKey(ctx, http.MethodPost, url+"/requestStack", s.key, map[string]string{"branch": fmt.Sprintf("b-%d-%d", w, n)}, &lease)
	if err != nil {
		return "", nil
	}
	if st != http.StatusOK || lease.LeaseID == "" {
		return "", fmt.Errorf("request stack: status %d", st)
	}
	s.mu.Lock()
	s.held[lease.StackName] = append(s.held[lease.StackName], lease.LeaseID)
	s.mu.Unlock()
	if n%2 == 0 {
		return lease.StackName, nil
	}
	st, err = callKey(ctx, http.MethodPost, url+"/releaseStack", s.key, map[string]string{"stackName": lease.StackName, "leaseId": lease.LeaseID}, nil)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case err != nil:
		s.uncertain[lease.StackName] = true
	case st == http.StatusOK:
		s.held[lease.StackName] = remove(s.held[lease.StackName], lease.LeaseID)
	default:
		return "", fmt.Errorf("release %s: status %d", lease.StackName, st)
	}
	return lease.StackName, nil
}

func (s *stackLeases) verify(t *testing.T, url string, _ []string) {
	var list struct {
		Stacks []struct {
			StackName   string
			IsAvailable bool
		}
	}
	if st, err := callKey(context.Background(), http.MethodGet, url+"/listStacks", s.key, nil, &list); err != nil || st != 200 {
		t.Fatalf("list stacks: %d %v", st, err)
	}
	available := map[string]bool{}
	for _, st := range list.Stacks {
		if _, dup := available[st.StackName]; dup {
			t.Errorf("two stacks named %s", st.StackName)
		}
		available[st.StackName] = st.IsAvailable
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, leases := range s.held {
		if s.uncertain[name] || len(leases) == 0 {
			continue
		}
		if len(leases) > 1 {
			t.Errorf("stack %s held by %d acknowledged leases at once: %s", name, len(leases), strings.Join(leases, ", "))
		}
		if avail, ok := available[name]; !ok || avail {
			t.Errorf("stack %s of an acknowledged, unreleased lease is %s", name, map[bool]string{true: "available", false: "missing"}[ok])
		}
	}
}

func remove(list []string, s string) []string {
	out := list[:0]
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}
