package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/berthdev/terraform-provider-berth/client"
)

const benchTeam = "bench"

// fixture is the bench's view of a berthd: the team it made there, its
// users and the clients that call the API.
type fixture struct {
	admin *client.Client
	// users are members of benchTeam; users[i] is the user of load worker
	// i, so that concurrent app creations do not all update one user's
	// quota record.
	users []benchUser
	// http carries the load: one keep-alive connection per worker.
	http *httpClient
}

type benchUser struct {
	email, token string
}

func newFixture(ctx context.Context, srv *server, users, conns int) (*fixture, error) {
	admin, err := client.New(srv.url, client.WithToken(adminToken), client.WithRetry(0, 0, 0))
	if err != nil {
		return nil, err
	}
	f := &fixture{admin: admin, users: make([]benchUser, users), http: newHTTPClient(srv.url, conns)}
	if _, _, err := admin.Teams.Create(ctx, benchTeam); err != nil {
		return nil, fmt.Errorf("create team: %w", err)
	}
	const password = "bench-password"
	err = forEach(ctx, 2, users, func(_, i int) error {
		email := fmt.Sprintf("bench-%02d@bench.test", i)
		if _, err := admin.Users.Create(ctx, email, password); err != nil {
			return fmt.Errorf("create user %s: %w", email, err)
		}
		if _, _, err := admin.Teams.AddMember(ctx, benchTeam, email); err != nil {
			return fmt.Errorf("add %s to team: %w", email, err)
		}
		token, _, err := admin.Users.Login(ctx, email, password, true)
		if err != nil {
			return fmt.Errorf("log in as %s: %w", email, err)
		}
		f.users[i] = benchUser{email: email, token: token}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

func (f *fixture) close() { f.http.close() }

// reconnect points the fixture at srv, the same berthd started again.
func (f *fixture) reconnect(srv *server, conns int) error {
	admin, err := client.New(srv.url, client.WithToken(adminToken), client.WithRetry(0, 0, 0))
	if err != nil {
		return err
	}
	f.http.close()
	f.admin, f.http = admin, newHTTPClient(srv.url, conns)
	return nil
}

// createProject makes a stack project of the bench team and returns its key.
func (f *fixture) createProject(ctx context.Context, name string) (string, error) {
	p, _, err := f.admin.Projects.Create(ctx, client.NewProject{Name: name, Team: benchTeam})
	if err != nil {
		return "", fmt.Errorf("create project %s: %w", name, err)
	}
	return p.APIKey, nil
}

func appName(i int) string { return fmt.Sprintf("app-%06d", i) }

// seedApps creates apps appName(from) .. appName(to-1) over HTTP (POST
// /apps) from every user at once.
func (f *fixture) seedApps(ctx context.Context, from, to int) (time.Duration, error) {
	start := time.Now()
	err := forEach(ctx, len(f.users), to-from, func(w, i int) error {
		body := map[string]string{"name": appName(from + i), "platform": "go", "teamOwner": benchTeam}
		_, err := f.http.call(ctx, "POST", "/apps", bearer(f.users[w].token), body, nil)
		return err
	})
	return time.Since(start), err
}

// stackJSON is a stack as the lease routes answer it.
type stackJSON struct {
	StackName   string `json:"stackName"`
	LeaseID     string `json:"leaseId"`
	IsAvailable bool   `json:"isAvailable"`
}

func (f *fixture) requestStack(ctx context.Context, key, branch string, out *stackJSON) error {
	_, err := f.http.call(ctx, "POST", "/stacks/request", apiKey(key), map[string]string{"branch": branch}, out)
	return err
}

func (f *fixture) releaseStack(ctx context.Context, key string, st stackJSON) error {
	_, err := f.http.call(ctx, "POST", "/stacks/release", apiKey(key), map[string]string{"stackName": st.StackName, "leaseId": st.LeaseID}, nil)
	return err
}

// holders tracks which worker holds which stack, to catch a stack leased
// to two workers at once.
type holders struct {
	mu         sync.Mutex
	by         map[string]int
	violations []string
}

// take records that worker holds stack; it reports a violation when
// another worker holds it.
func (h *holders) take(stack string, worker int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if other, held := h.by[stack]; held {
		h.violations = append(h.violations, fmt.Sprintf("stack %s leased to worker %d while worker %d holds it", stack, worker, other))
		return
	}
	h.by[stack] = worker
}

// give forgets a holder; call it before releasing, since the stack may be
// leased again the moment the release commits.
func (h *holders) give(stack string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.by, stack)
}
