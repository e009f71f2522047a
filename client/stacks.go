package client

import (
	"context"
	"net/http"
	"time"

	"github.com/google/uuid"
)

// StacksService leases test stacks with a project key (stack-orchestrator).
// Create the client WithProjectKey.
type StacksService service

// ProjectsService manages stack projects (admin routes).
type ProjectsService service

// Stack is a test stack of a project.
type Stack struct {
	StackName          string    `json:"stackName"`
	LastDeployedCommit string    `json:"lastDeployedCommit"`
	IsAvailable        bool      `json:"isAvailable"`
	Branch             string    `json:"branch"`
	Created            time.Time `json:"created"`
	Modified           time.Time `json:"modified"`
	Entity             string    `json:"entity"`
	// LeaseID is set only in the answers of Request and Get: pass it to
	// Release.
	LeaseID string `json:"leaseId,omitempty"`
	// LeasedAt is when the current lease began; zero when available.
	LeasedAt time.Time `json:"leasedAt,omitzero"`
	// ExpiresAt is when the current lease ends; zero when available.
	ExpiresAt time.Time `json:"expiresAt,omitzero"`
}

// StackRequest asks for a stack.
type StackRequest struct {
	// Branch defaults to "main".
	Branch string
	// TTL is how long the lease lasts, rounded up to whole seconds; zero
	// means the server's default.
	TTL time.Duration
	// IdempotencyKey identifies the request across retries. Request makes
	// one up when it is empty; set it (to a CI job id, say) to make a rerun
	// of the whole job get the same lease within 24 hours.
	IdempotencyKey string
}

// Request leases a stack for a branch: the branch's own stack if it is
// available, else the available stack used longest ago, else a new one.
// The request carries an idempotency key, so it is retried on connection
// failures and 5xx answers without leasing a second stack.
func (s *StacksService) Request(ctx context.Context, r StackRequest) (*Stack, *Response, error) {
	body := map[string]any{}
	if r.Branch != "" {
		body["branch"] = r.Branch
	}
	if r.TTL > 0 {
		body["ttl"] = int64((r.TTL + time.Second - 1) / time.Second)
	}
	key := r.IdempotencyKey
	if key == "" {
		key = uuid.NewString()
	}
	var out Stack
	resp, err := s.client.do(ctx, request{method: http.MethodPost, path: "/stacks/request", body: body, cred: credProjectKey, idempotencyKey: key}, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// SetLastDeployedCommit records the commit deployed on a stack.
func (s *StacksService) SetLastDeployedCommit(ctx context.Context, stackName, commit string) (*Stack, *Response, error) {
	body := map[string]string{"stackName": stackName, "lastDeployedCommit": commit}
	return s.stack(ctx, "/stacks/commit", body)
}

// Release makes a stack available again. With the lease id Request gave,
// it fails with a 409 (IsConflict) when someone else holds the stack now
// because the lease expired; an empty leaseID releases whoever holds it.
func (s *StacksService) Release(ctx context.Context, stackName, leaseID string) (*Stack, *Response, error) {
	body := map[string]string{"stackName": stackName}
	if leaseID != "" {
		body["leaseId"] = leaseID
	}
	return s.stack(ctx, "/stacks/release", body)
}

// DeleteLast removes the project's highest-numbered stack and returns it.
// A leased stack is removed only with force.
func (s *StacksService) DeleteLast(ctx context.Context, force bool) (*Stack, *Response, error) {
	return s.stack(ctx, "/stacks/delete-last", map[string]bool{"force": force})
}

func (s *StacksService) stack(ctx context.Context, p string, body any) (*Stack, *Response, error) {
	var out Stack
	resp, err := s.client.do(ctx, request{method: http.MethodPost, path: p, body: body, cred: credProjectKey}, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// List returns the project's stacks ordered by number, one page at a time
// when opts sets a limit.
func (s *StacksService) List(ctx context.Context, opts *ListOptions) ([]Stack, *Response, error) {
	var out struct {
		Stacks []Stack `json:"stacks"`
	}
	resp, err := s.client.do(ctx, request{method: http.MethodGet, path: "/stacks", query: opts.query(), cred: credProjectKey}, &out)
	return out.Stacks, resp, err
}

// Get returns a stack with the id of its current lease (empty when the
// stack is available), so a holder can check it still holds the stack.
func (s *StacksService) Get(ctx context.Context, stackName string) (*Stack, *Response, error) {
	var out Stack
	resp, err := s.client.do(ctx, request{method: http.MethodGet, path: path("/stacks/%s", stackName), cred: credProjectKey}, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// Project returns the project of the client's key.
func (s *StacksService) Project(ctx context.Context) (*Project, *Response, error) {
	var out Project
	resp, err := s.client.do(ctx, request{method: http.MethodGet, path: "/project", cred: credProjectKey}, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// ProjectSettings changes a project's settings; nil fields stay.
type ProjectSettings struct {
	// Prefix names the stacks created from now on.
	Prefix *string `json:"prefix,omitempty"`
	// InitialCommit is the lastDeployedCommit of new stacks.
	InitialCommit *string `json:"initialCommit,omitempty"`
}

// UpdateProject changes the settings of the client key's project.
func (s *StacksService) UpdateProject(ctx context.Context, settings ProjectSettings) (*Project, *Response, error) {
	var out Project
	resp, err := s.client.do(ctx, request{method: http.MethodPut, path: "/project", body: settings, cred: credProjectKey}, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// Project is a stack project.
type Project struct {
	Name          string    `json:"name"`
	Team          string    `json:"team"`
	Prefix        string    `json:"prefix"`
	InitialCommit string    `json:"initialCommit"`
	Created       time.Time `json:"created"`
	Modified      time.Time `json:"modified"`
	// APIKey is set only by Create and RotateKey: the server keeps its hash.
	APIKey string `json:"apiKey,omitempty"`
}

// NewProject describes a project to create.
type NewProject struct {
	Name string `json:"name"`
	// Prefix defaults to "test-".
	Prefix string `json:"prefix,omitempty"`
	// Team defaults to the caller's only team.
	Team          string `json:"team,omitempty"`
	InitialCommit string `json:"initialCommit,omitempty"`
}

// Create makes a project; the answer carries its key, shown only here.
func (s *ProjectsService) Create(ctx context.Context, p NewProject) (*Project, *Response, error) {
	var out Project
	resp, err := s.client.do(ctx, request{method: http.MethodPost, path: "/projects", body: p}, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// List returns the projects of the caller's teams (every project for an
// admin), ordered by name.
func (s *ProjectsService) List(ctx context.Context, opts *ListOptions) ([]Project, *Response, error) {
	var out []Project
	resp, err := s.client.do(ctx, request{method: http.MethodGet, path: "/projects", query: opts.query()}, &out)
	return out, resp, err
}

// Get returns a project.
func (s *ProjectsService) Get(ctx context.Context, name string) (*Project, *Response, error) {
	var out Project
	resp, err := s.client.do(ctx, request{method: http.MethodGet, path: path("/projects/%s", name)}, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// Update changes the settings of a project the caller manages; nil fields
// stay.
func (s *ProjectsService) Update(ctx context.Context, name string, settings ProjectSettings) (*Project, *Response, error) {
	var out Project
	resp, err := s.client.do(ctx, request{method: http.MethodPut, path: path("/projects/%s", name), body: settings}, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// Delete removes a project and its stacks; its key stops working at once.
func (s *ProjectsService) Delete(ctx context.Context, name string) (*Response, error) {
	return s.client.do(ctx, request{method: http.MethodDelete, path: path("/projects/%s", name)}, nil)
}

// RotateKey gives a project a new key and returns it; the old key stops
// working at once.
func (s *ProjectsService) RotateKey(ctx context.Context, name string) (*Project, *Response, error) {
	var out Project
	resp, err := s.client.do(ctx, request{method: http.MethodPost, path: path("/projects/%s/keys", name)}, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}
