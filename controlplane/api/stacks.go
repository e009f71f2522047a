package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/berthdev/terraform-provider-berth/controlplane/core"
	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
)

// Stack leases (stack-orchestrator): the original service's RPC routes,
// REST aliases of them, and the admin routes for projects.
func (s *Server) stackRoutes() {
	for _, path := range []string{"/requestStack", "/stacks/request"} {
		s.handle(http.MethodPost, path, AuthProjectKey, s.requestStack)
	}
	for _, path := range []string{"/setLastDeployedCommit", "/stacks/commit"} {
		s.handle(http.MethodPost, path, AuthProjectKey, s.setLastDeployedCommit)
	}
	for _, path := range []string{"/releaseStack", "/stacks/release"} {
		s.handle(http.MethodPost, path, AuthProjectKey, s.releaseStack)
	}
	for _, path := range []string{"/deleteLastStack", "/stacks/delete-last"} {
		s.handle(http.MethodPost, path, AuthProjectKey, s.deleteLastStack)
	}
	for _, path := range []string{"/listStacks", "/stacks"} {
		s.handle(http.MethodGet, path, AuthProjectKey, s.listStacks)
	}
	s.handle(http.MethodGet, "/stacks/{stackName}", AuthProjectKey, s.getStack)
	s.handle(http.MethodGet, "/project", AuthProjectKey, s.getOwnProject)
	s.handle(http.MethodPut, "/project", AuthProjectKey, s.updateOwnProject)

	s.handle(http.MethodPost, "/projects", AuthUser, s.createProject)
	s.handle(http.MethodGet, "/projects", AuthUser, s.listProjects)
	s.handle(http.MethodGet, "/projects/{name}", AuthUser, s.getProject)
	s.handle(http.MethodPut, "/projects/{name}", AuthUser, s.updateProject)
	s.handle(http.MethodDelete, "/projects/{name}", AuthUser, s.deleteProject)
	s.handle(http.MethodPost, "/projects/{name}/keys", AuthUser, s.rotateProjectKey)
}

type projectCtxKey struct{}

// stackProject returns the project whose key authenticated an
// AuthProjectKey route.
func stackProject(r *http.Request) *domain.StackProject {
	p, _ := r.Context().Value(projectCtxKey{}).(*domain.StackProject)
	return p
}

// authenticateProject resolves the X-API-Key of a stack project route.
func (s *Server) authenticateProject(r *http.Request) (*http.Request, error) {
	key := strings.TrimSpace(r.Header.Get("X-API-Key"))
	if key == "" {
		return r, domain.Unauthorized("missing project key: send X-API-Key: <project key>")
	}
	p, err := s.core.Stacks.AuthenticateProjectKey(r.Context(), key)
	if err != nil {
		return r, err
	}
	if info := accessInfoFrom(r.Context()); info != nil {
		info.user = "project:" + p.Name
	}
	return r.WithContext(context.WithValue(r.Context(), projectCtxKey{}, p)), nil
}

// jsTime is how the original service (JavaScript's toISOString) writes
// times: UTC with milliseconds.
const jsTime = "2006-01-02T15:04:05.000Z"

func formatJSTime(t time.Time) string { return t.UTC().Format(jsTime) }

// stackJSON is a stack in the original's shape, plus the lease.
type stackJSON struct {
	StackName          string `json:"stackName"`
	LastDeployedCommit string `json:"lastDeployedCommit"`
	IsAvailable        bool   `json:"isAvailable"`
	Branch             string `json:"branch"`
	Created            string `json:"created"`
	Modified           string `json:"modified"`
	Entity             string `json:"entity"`
	// LeaseID is only in the answer to the request that got the lease and
	// in GET /stacks/{stackName}.
	LeaseID string `json:"leaseId,omitempty"`
	// LeasedAt and ExpiresAt are set while the stack is leased; with them a
	// lease's holder knows the ttl it asked for.
	LeasedAt  string `json:"leasedAt,omitempty"`
	ExpiresAt string `json:"expiresAt,omitempty"`
}

func stackOut(st *domain.Stack, withLeaseID bool) stackJSON {
	out := stackJSON{
		StackName:          st.Name,
		LastDeployedCommit: st.LastDeployedCommit,
		IsAvailable:        st.Available(),
		Branch:             st.Branch,
		Created:            formatJSTime(st.Created),
		Modified:           formatJSTime(st.Modified),
		Entity:             "Stack",
	}
	if st.Lease != nil {
		out.ExpiresAt = formatJSTime(st.Lease.ExpiresAt)
		if !st.Lease.LeasedAt.IsZero() {
			out.LeasedAt = formatJSTime(st.Lease.LeasedAt)
		}
		if withLeaseID {
			out.LeaseID = st.Lease.ID
		}
	}
	return out
}

type requestStackBody struct {
	Branch string `json:"branch"`
	// TTL is the lease's lifetime in seconds; 0 means the server's default.
	TTL int64 `json:"ttl"`
}

func (s *Server) requestStack(w http.ResponseWriter, r *http.Request) error {
	var body requestStackBody
	if err := decodeOptionalJSON(r, &body); err != nil {
		return err
	}
	ttl, err := domain.LeaseTTLSeconds(body.TTL)
	if err != nil {
		return err
	}
	lease, err := s.core.Stacks.RequestStack(r.Context(), stackProject(r), core.LeaseRequest{
		Branch:         body.Branch,
		TTL:            ttl,
		IdempotencyKey: r.Header.Get("Idempotency-Key"),
	})
	if err != nil {
		return err
	}
	if lease.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	writeJSON(w, http.StatusOK, stackOut(lease.Stack, true))
	return nil
}

type setCommitBody struct {
	StackName          string `json:"stackName"`
	LastDeployedCommit string `json:"lastDeployedCommit"`
}

func (s *Server) setLastDeployedCommit(w http.ResponseWriter, r *http.Request) error {
	var body setCommitBody
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	st, err := s.core.Stacks.SetLastDeployedCommit(r.Context(), stackProject(r), body.StackName, body.LastDeployedCommit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, stackOut(st, false))
	return nil
}

type releaseBody struct {
	StackName string `json:"stackName"`
	LeaseID   string `json:"leaseId"`
}

func (s *Server) releaseStack(w http.ResponseWriter, r *http.Request) error {
	var body releaseBody
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	st, err := s.core.Stacks.ReleaseStack(r.Context(), stackProject(r), body.StackName, body.LeaseID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, stackOut(st, false))
	return nil
}

type deleteLastBody struct {
	Force bool `json:"force"`
}

func (s *Server) deleteLastStack(w http.ResponseWriter, r *http.Request) error {
	var body deleteLastBody
	if err := decodeOptionalJSON(r, &body); err != nil {
		return err
	}
	st, err := s.core.Stacks.DeleteLastStack(r.Context(), stackProject(r), body.Force)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, stackOut(st, false))
	return nil
}

type stackListJSON struct {
	Stacks []stackJSON `json:"stacks"`
}

func (s *Server) listStacks(w http.ResponseWriter, r *http.Request) error {
	page, err := pageOf(r)
	if err != nil {
		return err
	}
	stacks, next, err := s.core.Stacks.ListStacks(r.Context(), stackProject(r), page)
	if err != nil {
		return err
	}
	out := stackListJSON{Stacks: make([]stackJSON, len(stacks))}
	for i := range stacks {
		out.Stacks[i] = stackOut(&stacks[i], false)
	}
	setNextCursor(w, next)
	writeJSON(w, http.StatusOK, out)
	return nil
}

// getStack answers one stack with its current lease id: any holder of the
// project key may release any stack anyway, and a tool that keeps a lease
// (Terraform) needs to know whether it still holds it.
func (s *Server) getStack(w http.ResponseWriter, r *http.Request) error {
	st, err := s.core.Stacks.Stack(r.Context(), stackProject(r), mux.Vars(r)["stackName"])
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, stackOut(st, true))
	return nil
}

// projectJSON is a stack project; APIKey only in the answers that make a
// key.
type projectJSON struct {
	Name          string `json:"name"`
	Team          string `json:"team"`
	Prefix        string `json:"prefix"`
	InitialCommit string `json:"initialCommit"`
	Created       string `json:"created"`
	Modified      string `json:"modified"`
	APIKey        string `json:"apiKey,omitempty"`
}

func projectOut(p *domain.StackProject, apiKey string) projectJSON {
	return projectJSON{
		Name:          p.Name,
		Team:          p.Team,
		Prefix:        p.Prefix,
		InitialCommit: p.InitialCommit,
		Created:       formatJSTime(p.CreatedAt),
		Modified:      formatJSTime(p.UpdatedAt),
		APIKey:        apiKey,
	}
}

func (s *Server) getOwnProject(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, projectOut(stackProject(r), ""))
	return nil
}

type updateProjectBody struct {
	Prefix        *string `json:"prefix"`
	InitialCommit *string `json:"initialCommit"`
}

func (s *Server) updateOwnProject(w http.ResponseWriter, r *http.Request) error {
	var body updateProjectBody
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	p, err := s.core.Stacks.UpdateStackProject(r.Context(), stackProject(r), core.StackProjectUpdate{Prefix: body.Prefix, InitialCommit: body.InitialCommit})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, projectOut(p, ""))
	return nil
}

type createProjectBody struct {
	Name          string `json:"name"`
	Prefix        string `json:"prefix"`
	Team          string `json:"team"`
	InitialCommit string `json:"initialCommit"`
}

func (s *Server) createProject(w http.ResponseWriter, r *http.Request) error {
	var body createProjectBody
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	key, p, err := s.core.Stacks.CreateStackProject(r.Context(), identity(r), core.NewStackProject{
		Name: body.Name, Prefix: body.Prefix, Team: body.Team, InitialCommit: body.InitialCommit,
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, projectOut(p, key))
	return nil
}

func (s *Server) listProjects(w http.ResponseWriter, r *http.Request) error {
	page, err := pageOf(r)
	if err != nil {
		return err
	}
	projects, next, err := s.core.Stacks.ListStackProjects(r.Context(), identity(r), page)
	if err != nil {
		return err
	}
	out := make([]projectJSON, len(projects))
	for i := range projects {
		out[i] = projectOut(&projects[i], "")
	}
	setNextCursor(w, next)
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getProject(w http.ResponseWriter, r *http.Request) error {
	p, err := s.core.Stacks.StackProject(r.Context(), identity(r), mux.Vars(r)["name"])
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, projectOut(p, ""))
	return nil
}

func (s *Server) updateProject(w http.ResponseWriter, r *http.Request) error {
	var body updateProjectBody
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	p, err := s.core.Stacks.UpdateStackProjectByName(r.Context(), identity(r), mux.Vars(r)["name"], core.StackProjectUpdate{Prefix: body.Prefix, InitialCommit: body.InitialCommit})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, projectOut(p, ""))
	return nil
}

func (s *Server) deleteProject(w http.ResponseWriter, r *http.Request) error {
	if err := s.core.Stacks.DeleteStackProject(r.Context(), identity(r), mux.Vars(r)["name"]); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) rotateProjectKey(w http.ResponseWriter, r *http.Request) error {
	key, p, err := s.core.Stacks.RotateStackProjectKey(r.Context(), identity(r), mux.Vars(r)["name"])
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, projectOut(p, key))
	return nil
}
