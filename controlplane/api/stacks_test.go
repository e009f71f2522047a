package api_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthdev/terraform-provider-berth/internal/berthtest"
)

type stackJSON struct {
	StackName          string `json:"stackName"`
	LastDeployedCommit string `json:"lastDeployedCommit"`
	IsAvailable        bool   `json:"isAvailable"`
	Branch             string `json:"branch"`
	Created            string `json:"created"`
	Modified           string `json:"modified"`
	Entity             string `json:"entity"`
	LeaseID            string `json:"leaseId"`
	LeasedAt           string `json:"leasedAt"`
	ExpiresAt          string `json:"expiresAt"`
}

type projectJSON struct {
	Name          string `json:"name"`
	Team          string `json:"team"`
	Prefix        string `json:"prefix"`
	InitialCommit string `json:"initialCommit"`
	APIKey        string `json:"apiKey"`
}

// createProject makes a project as the admin and returns its key.
func createProject(t testing.TB, srv *berthtest.Server, body map[string]any) string {
	t.Helper()
	var p projectJSON
	srv.Req(t, "POST", "/projects", srv.AdminToken, body).Expect(t, http.StatusCreated).JSON(t, &p)
	if !strings.HasPrefix(p.APIKey, "berth_sp_") {
		t.Fatalf("project key %q", p.APIKey)
	}
	return p.APIKey
}

// keyCall calls a stack route as a CI job does: with X-API-Key.
func keyCall(t testing.TB, srv *berthtest.Server, key, method, path string, body any) *berthtest.Response {
	t.Helper()
	return srv.Do(t, berthtest.Call{Method: method, Path: path, Body: body, Header: map[string]string{"X-API-Key": key}})
}

func requestStack(t testing.TB, srv *berthtest.Server, key, branch string) stackJSON {
	t.Helper()
	var st stackJSON
	keyCall(t, srv, key, "POST", "/requestStack", map[string]any{"branch": branch}).Expect(t, 200).JSON(t, &st)
	if st.IsAvailable || st.LeaseID == "" || st.ExpiresAt == "" || st.Branch != branch || st.Entity != "Stack" {
		t.Fatalf("requested stack: %+v", st)
	}
	return st
}

func releaseStack(t testing.TB, srv *berthtest.Server, key, name string) stackJSON {
	t.Helper()
	var st stackJSON
	keyCall(t, srv, key, "POST", "/releaseStack", map[string]any{"stackName": name}).Expect(t, 200).JSON(t, &st)
	if !st.IsAvailable || st.LeaseID != "" || st.ExpiresAt != "" {
		t.Fatalf("released stack: %+v", st)
	}
	return st
}

func listStacks(t testing.TB, srv *berthtest.Server, key string) []stackJSON {
	t.Helper()
	var out struct{ Stacks []stackJSON }
	keyCall(t, srv, key, "GET", "/listStacks", nil).Expect(t, 200).JSON(t, &out)
	return out.Stacks
}

func stackNames(stacks []stackJSON) []string {
	out := make([]string, len(stacks))
	for i, st := range stacks {
		out[i] = st.StackName
	}
	return out
}

func TestStackRoutesNeedTheProjectKey(t *testing.T) {
	srv := berthtest.Start(t)
	key := createProject(t, srv, map[string]any{"name": "web"})
	routes := [][2]string{
		{"POST", "/requestStack"}, {"POST", "/setLastDeployedCommit"}, {"POST", "/releaseStack"},
		{"POST", "/deleteLastStack"}, {"GET", "/listStacks"}, {"GET", "/project"}, {"PUT", "/project"},
		{"POST", "/stacks/request"}, {"POST", "/stacks/commit"}, {"POST", "/stacks/release"},
		{"POST", "/stacks/delete-last"}, {"GET", "/stacks"}, {"GET", "/stacks/test-1"},
	}
	for _, rt := range routes {
		srv.Req(t, rt[0], rt[1], "", nil).Expect(t, 401)
		keyCall(t, srv, "berth_sp_not-a-key", rt[0], rt[1], nil).Expect(t, 401)
		keyCall(t, srv, key+"x", rt[0], rt[1], nil).Expect(t, 401)
		// A user token is not a project key.
		srv.Req(t, rt[0], rt[1], srv.AdminToken, nil).Expect(t, 401)
	}
	keyCall(t, srv, key, "GET", "/listStacks", nil).Expect(t, 200)
}

func TestRequestStackSelectionRules(t *testing.T) {
	srv := berthtest.Start(t)
	key := createProject(t, srv, map[string]any{"name": "web", "initialCommit": "abc123"})

	// No body: the branch is main; a new stack starts at the initial commit.
	var first stackJSON
	keyCall(t, srv, key, "POST", "/requestStack", nil).Expect(t, 200).JSON(t, &first)
	if first.StackName != "test-1" || first.Branch != "main" || first.LastDeployedCommit != "abc123" || first.IsAvailable || first.LeaseID == "" {
		t.Fatalf("first stack: %+v", first)
	}
	a := requestStack(t, srv, key, "feature-a")
	b := requestStack(t, srv, key, "feature-b")
	if a.StackName != "test-2" || b.StackName != "test-3" {
		t.Fatalf("new stacks: %s, %s", a.StackName, b.StackName)
	}

	// Rule 1: the branch's own stack, even when another one is older.
	releaseStack(t, srv, key, "test-3")
	releaseStack(t, srv, key, "test-2")
	if got := requestStack(t, srv, key, "feature-a"); got.StackName != "test-2" {
		t.Fatalf("feature-a got %s, want its own test-2", got.StackName)
	}
	// The branch stays on a released stack.
	for _, st := range listStacks(t, srv, key) {
		if st.StackName == "test-3" && (st.Branch != "feature-b" || !st.IsAvailable) {
			t.Fatalf("released test-3: %+v", st)
		}
	}

	// Rule 2: the available stack modified longest ago. Setting a commit
	// modifies a stack, as in the original.
	releaseStack(t, srv, key, "test-1")
	releaseStack(t, srv, key, "test-2")
	keyCall(t, srv, key, "POST", "/setLastDeployedCommit", map[string]any{"stackName": "test-3", "lastDeployedCommit": "def456"}).Expect(t, 200)
	for _, want := range []string{"test-1", "test-2", "test-3"} {
		if got := requestStack(t, srv, key, "other-"+want); got.StackName != want {
			t.Fatalf("got %s, want the oldest available %s", got.StackName, want)
		}
	}
	// Rule 3: nothing available, a new stack.
	if got := requestStack(t, srv, key, "feature-z"); got.StackName != "test-4" || got.LastDeployedCommit != "abc123" {
		t.Fatalf("new stack: %+v", got)
	}
	// A reused stack keeps what was deployed on it.
	for _, st := range listStacks(t, srv, key) {
		if st.StackName == "test-3" && st.LastDeployedCommit != "def456" {
			t.Fatalf("test-3 lost its commit: %+v", st)
		}
	}
}

func TestStackAnswersAndBadInput(t *testing.T) {
	srv := berthtest.Start(t)
	key := createProject(t, srv, map[string]any{"name": "web"})
	st := requestStack(t, srv, key, "main")
	created, err := time.Parse(time.RFC3339, st.Created)
	if err != nil || !strings.HasSuffix(st.Created, "Z") || len(st.Created) != len("2022-03-04T14:19:54.448Z") {
		t.Fatalf("created %q is not the original's ISO format: %v", st.Created, err)
	}
	if st.LastDeployedCommit != "" {
		t.Fatalf("no initial commit configured, got %q", st.LastDeployedCommit)
	}
	// The default lease is the server's (6 hours).
	expires, _ := time.Parse(time.RFC3339, st.ExpiresAt)
	if d := expires.Sub(created); d != 6*time.Hour {
		t.Fatalf("default lease %s, want 6h", d)
	}

	cases := []struct {
		path string
		body any
		want int
	}{
		{"/requestStack", `{"branch":`, 400},
		{"/requestStack", `["main"]`, 400},
		{"/requestStack", map[string]any{"branch": 12}, 400},
		{"/requestStack", map[string]any{"branch": "bad\nbranch"}, 400},
		{"/requestStack", map[string]any{"branch": strings.Repeat("b", 256)}, 400},
		{"/requestStack", map[string]any{"ttl": -1}, 400},
		{"/requestStack", map[string]any{"ttl": 30*24*3600 + 1}, 400},
		{"/requestStack", map[string]any{"ttl": "60"}, 400},
		{"/requestStack", map[string]any{"ttl": 1.5}, 400},
		{"/setLastDeployedCommit", nil, 400},
		{"/setLastDeployedCommit", map[string]any{"stackName": "test-1"}, 400},
		{"/setLastDeployedCommit", map[string]any{"lastDeployedCommit": "abc"}, 400},
		{"/setLastDeployedCommit", map[string]any{"stackName": "test-9", "lastDeployedCommit": "abc"}, 404},
		{"/releaseStack", map[string]any{}, 400},
		{"/releaseStack", map[string]any{"stackName": "test-9"}, 404},
		{"/releaseStack", "{", 400},
		{"/deleteLastStack", `{"force": "yes"}`, 400},
	}
	for _, c := range cases {
		r := keyCall(t, srv, key, "POST", c.path, c.body).Expect(t, c.want)
		if r.ErrorMessage(t) == "" {
			t.Fatalf("%s %v: error without message", c.path, c.body)
		}
	}
	var got stackJSON
	keyCall(t, srv, key, "POST", "/setLastDeployedCommit", map[string]any{"stackName": "test-1", "lastDeployedCommit": "0a1b2c"}).Expect(t, 200).JSON(t, &got)
	if got.LastDeployedCommit != "0a1b2c" || got.IsAvailable || got.LeaseID != "" || got.ExpiresAt != st.ExpiresAt {
		t.Fatalf("after setLastDeployedCommit: %+v", got)
	}
}

func TestDeleteLastStack(t *testing.T) {
	srv := berthtest.Start(t)
	key := createProject(t, srv, map[string]any{"name": "web"})
	keyCall(t, srv, key, "POST", "/deleteLastStack", nil).Expect(t, 404)
	for _, b := range []string{"a", "b", "c"} {
		requestStack(t, srv, key, b)
	}
	// The last stack is leased: berth refuses unless forced.
	keyCall(t, srv, key, "POST", "/deleteLastStack", nil).Expect(t, 409)
	var removed stackJSON
	keyCall(t, srv, key, "POST", "/deleteLastStack", map[string]any{"force": true}).Expect(t, 200).JSON(t, &removed)
	if removed.StackName != "test-3" {
		t.Fatalf("removed %s, want test-3", removed.StackName)
	}
	releaseStack(t, srv, key, "test-2")
	keyCall(t, srv, key, "POST", "/deleteLastStack", nil).Expect(t, 200).JSON(t, &removed)
	if removed.StackName != "test-2" || !removed.IsAvailable {
		t.Fatalf("removed %+v, want test-2", removed)
	}
	keyCall(t, srv, key, "POST", "/releaseStack", map[string]any{"stackName": "test-2"}).Expect(t, 404)
	if names := stackNames(listStacks(t, srv, key)); !slices.Equal(names, []string{"test-1"}) {
		t.Fatalf("stacks after deletes: %v", names)
	}
	// test-1 is leased, so a request recreates the deleted name.
	if got := requestStack(t, srv, key, "d"); got.StackName != "test-2" {
		t.Fatalf("recreated %s, want test-2", got.StackName)
	}
}

func TestListStacksIsOrderedByNumberAndPaged(t *testing.T) {
	srv := berthtest.Start(t)
	key := createProject(t, srv, map[string]any{"name": "web", "prefix": "ci-"})
	var want []string
	for i := 1; i <= 12; i++ {
		requestStack(t, srv, key, fmt.Sprintf("b%d", i))
		want = append(want, fmt.Sprintf("ci-%d", i))
	}
	if got := stackNames(listStacks(t, srv, key)); !slices.Equal(got, want) {
		t.Fatalf("list: %v", got)
	}
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		var page struct{ Stacks []stackJSON }
		r := keyCall(t, srv, key, "GET", "/stacks?limit=5&cursor="+cursor, nil).Expect(t, 200)
		r.JSON(t, &page)
		got = append(got, stackNames(page.Stacks)...)
		if cursor = r.Header.Get("X-Next-Cursor"); cursor == "" {
			break
		}
		if pages > 3 {
			t.Fatal("paging does not end")
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("paged list: %v", got)
	}
	keyCall(t, srv, key, "GET", "/listStacks?limit=0", nil).Expect(t, 400)
}

// TestConcurrentRequestsGetDistinctStacks: 200 jobs for 200 branches at
// once get 200 different stacks, numbered 1 to 200 without a gap.
func TestConcurrentRequestsGetDistinctStacks(t *testing.T) {
	srv := berthtest.Start(t)
	key := createProject(t, srv, map[string]any{"name": "web"})
	got := concurrentRequests(t, srv, key, 200, "branch")
	var want []string
	for i := 1; i <= 200; i++ {
		want = append(want, fmt.Sprintf("test-%d", i))
	}
	slices.SortFunc(got, compareStackNames)
	if !slices.Equal(got, want) {
		t.Fatalf("stacks handed out: %v", got)
	}
	if n := len(listStacks(t, srv, key)); n != 200 {
		t.Fatalf("%d stacks listed, want 200", n)
	}
}

// TestConcurrentRequestsReuseFreeStacks: with 10 free stacks, 200 jobs at
// once take those 10 and 190 new ones, none shared.
func TestConcurrentRequestsReuseFreeStacks(t *testing.T) {
	srv := berthtest.Start(t)
	key := createProject(t, srv, map[string]any{"name": "web"})
	for i := range 10 {
		requestStack(t, srv, key, fmt.Sprintf("old-%d", i))
	}
	for i := 1; i <= 10; i++ {
		releaseStack(t, srv, key, fmt.Sprintf("test-%d", i))
	}
	got := concurrentRequests(t, srv, key, 200, "new")
	reused := 0
	for _, name := range got {
		var n int
		if _, err := fmt.Sscanf(name, "test-%d", &n); err != nil {
			t.Fatalf("stack name %q", name)
		}
		if n <= 10 {
			reused++
		}
	}
	if reused != 10 || len(got) != 200 {
		t.Fatalf("%d stacks reused of %d handed out, want 10 of 200", reused, len(got))
	}
	stacks := listStacks(t, srv, key)
	if len(stacks) != 200 {
		t.Fatalf("%d stacks, want 200", len(stacks))
	}
	for _, st := range stacks {
		if st.IsAvailable {
			t.Fatalf("%s is available, but 200 jobs hold 200 stacks", st.StackName)
		}
	}
}

// concurrentRequests makes n requests at once, for n branches, and fails
// the test if any stack is handed out twice.
func concurrentRequests(t *testing.T, srv *berthtest.Server, key string, n int, branchPrefix string) []string {
	t.Helper()
	names := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var st stackJSON
			r := keyCall(t, srv, key, "POST", "/requestStack", map[string]any{"branch": fmt.Sprintf("%s-%d", branchPrefix, i)})
			if r.Status != 200 {
				t.Errorf("request %d: %s", i, r)
				return
			}
			r.JSON(t, &st)
			names[i] = st.StackName
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, name := range names {
		if seen[name] {
			t.Fatalf("stack %s handed out twice", name)
		}
		seen[name] = true
	}
	return names
}

func compareStackNames(a, b string) int {
	var x, y int
	fmt.Sscanf(a, "test-%d", &x)
	fmt.Sscanf(b, "test-%d", &y)
	return x - y
}

func TestRequestStackIsIdempotent(t *testing.T) {
	srv := berthtest.Start(t)
	key := createProject(t, srv, map[string]any{"name": "web"})
	call := func(idem string, body any) *berthtest.Response {
		return srv.Do(t, berthtest.Call{Method: "POST", Path: "/stacks/request", Body: body,
			Header: map[string]string{"X-API-Key": key, "Idempotency-Key": idem}})
	}
	var first, retry stackJSON
	r := call("job-1", map[string]any{"branch": "feature"}).Expect(t, 200)
	r.JSON(t, &first)
	if r.Header.Get("Idempotent-Replayed") != "" {
		t.Fatal("first answer marked as a replay")
	}
	r = call("job-1", map[string]any{"branch": "feature"}).Expect(t, 200)
	r.JSON(t, &retry)
	if retry != first || r.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry answered %+v, want %+v", retry, first)
	}
	// The same key for another request is a client bug.
	call("job-1", map[string]any{"branch": "other"}).Expect(t, 422)
	call("job-1", map[string]any{"branch": "feature", "ttl": 60}).Expect(t, 422)
	call(strings.Repeat("k", 256), nil).Expect(t, 400)
	call("bad key", nil).Expect(t, 400)

	// Twenty retries racing each other take one stack.
	var wg sync.WaitGroup
	leases := make([]stackJSON, 20)
	for i := range leases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			call("job-2", nil).Expect(t, 200).JSON(t, &leases[i])
		}()
	}
	wg.Wait()
	for _, l := range leases {
		if l != leases[0] {
			t.Fatalf("racing retries got different leases: %+v and %+v", l, leases[0])
		}
	}
	if n := len(listStacks(t, srv, key)); n != 2 {
		t.Fatalf("%d stacks after two idempotent requests, want 2", n)
	}

	// After 24 hours the key is forgotten: the same key leases anew.
	releaseStack(t, srv, key, first.StackName)
	srv.Clock.Advance(25 * time.Hour)
	var later stackJSON
	call("job-1", map[string]any{"branch": "feature"}).Expect(t, 200).JSON(t, &later)
	if later.LeaseID == first.LeaseID {
		t.Fatal("a key older than 24 hours replayed its answer")
	}
}

func TestReleaseChecksTheLease(t *testing.T) {
	srv := berthtest.Start(t)
	key := createProject(t, srv, map[string]any{"name": "web"})
	first := requestStack(t, srv, key, "feature")
	release := func(leaseID string) *berthtest.Response {
		return keyCall(t, srv, key, "POST", "/stacks/release", map[string]any{"stackName": first.StackName, "leaseId": leaseID})
	}
	release("not-the-lease").Expect(t, 409)
	release(first.LeaseID).Expect(t, 200)
	// Releasing again is harmless.
	release(first.LeaseID).Expect(t, 200)
	releaseStack(t, srv, key, first.StackName)

	second := requestStack(t, srv, key, "feature")
	if second.StackName != first.StackName || second.LeaseID == first.LeaseID {
		t.Fatalf("second lease: %+v", second)
	}
	// A late job with the old lease cannot free the stack another job holds.
	release(first.LeaseID).Expect(t, 409)
	for _, st := range listStacks(t, srv, key) {
		if st.IsAvailable {
			t.Fatalf("%s freed by a stale lease", st.StackName)
		}
	}
	release(second.LeaseID).Expect(t, 200)
}

func TestGetStackShowsItsCurrentLease(t *testing.T) {
	srv := berthtest.Start(t)
	key := createProject(t, srv, map[string]any{"name": "web", "initialCommit": "abc"})
	otherKey := createProject(t, srv, map[string]any{"name": "api"})
	var leased stackJSON
	keyCall(t, srv, key, "POST", "/requestStack", map[string]any{"branch": "feature", "ttl": 90}).Expect(t, 200).JSON(t, &leased)
	srv.Clock.Advance(10 * time.Second)
	keyCall(t, srv, key, "POST", "/setLastDeployedCommit", map[string]any{"stackName": "test-1", "lastDeployedCommit": "def"}).Expect(t, 200)

	var got stackJSON
	keyCall(t, srv, key, "GET", "/stacks/test-1", nil).Expect(t, 200).JSON(t, &got)
	if got.LeaseID != leased.LeaseID || got.IsAvailable || got.Branch != "feature" || got.LastDeployedCommit != "def" {
		t.Fatalf("leased stack: %+v, lease %+v", got, leased)
	}
	// The ttl the holder asked for is expiresAt - leasedAt, whatever
	// modified the stack since.
	leasedAt, err1 := time.Parse(time.RFC3339, got.LeasedAt)
	expiresAt, err2 := time.Parse(time.RFC3339, got.ExpiresAt)
	if err1 != nil || err2 != nil || expiresAt.Sub(leasedAt) != 90*time.Second || got.LeasedAt != leased.Modified || got.Modified == leased.Modified {
		t.Fatalf("lease times of %+v: %v %v", got, err1, err2)
	}

	keyCall(t, srv, key, "GET", "/stacks/test-2", nil).Expect(t, 404)
	keyCall(t, srv, otherKey, "GET", "/stacks/test-1", nil).Expect(t, 404)

	// Past its expiry the lease is gone.
	srv.Clock.Advance(81 * time.Second)
	got = stackJSON{}
	keyCall(t, srv, key, "GET", "/stacks/test-1", nil).Expect(t, 200).JSON(t, &got)
	if !got.IsAvailable || got.LeaseID != "" || got.LeasedAt != "" || got.ExpiresAt != "" {
		t.Fatalf("stack after its lease expired: %+v", got)
	}
	// Taken by another job: another lease id.
	again := requestStack(t, srv, key, "feature")
	keyCall(t, srv, key, "GET", "/stacks/test-1", nil).Expect(t, 200).JSON(t, &got)
	if got.LeaseID != again.LeaseID || got.LeaseID == leased.LeaseID {
		t.Fatalf("stack leased again: %+v, new lease %s, old %s", got, again.LeaseID, leased.LeaseID)
	}
}

func TestLeasesExpire(t *testing.T) {
	srv := berthtest.Start(t)
	key := createProject(t, srv, map[string]any{"name": "web"})
	var st stackJSON
	keyCall(t, srv, key, "POST", "/requestStack", map[string]any{"branch": "abandoned", "ttl": 60}).Expect(t, 200).JSON(t, &st)
	modified, _ := time.Parse(time.RFC3339, st.Modified)
	expires, _ := time.Parse(time.RFC3339, st.ExpiresAt)
	if expires.Sub(modified) != time.Minute {
		t.Fatalf("ttl 60 gave a lease until %s from %s", st.ExpiresAt, st.Modified)
	}
	requestStack(t, srv, key, "alive")

	srv.Clock.Advance(59 * time.Second)
	if got := requestStack(t, srv, key, "other"); got.StackName != "test-3" {
		t.Fatalf("a live lease was taken over: got %s", got.StackName)
	}
	srv.Clock.Advance(2 * time.Second)
	// Past its expiry the lease counts as released, in the list and for the
	// next request.
	for _, s := range listStacks(t, srv, key) {
		if s.StackName == "test-1" && (!s.IsAvailable || s.ExpiresAt != "" || s.Modified != st.ExpiresAt) {
			t.Fatalf("expired lease listed as %+v", s)
		}
	}
	if got := requestStack(t, srv, key, "next"); got.StackName != "test-1" {
		t.Fatalf("got %s, want the expired test-1", got.StackName)
	}
	// The job that abandoned it cannot release it any more.
	keyCall(t, srv, key, "POST", "/releaseStack", map[string]any{"stackName": "test-1", "leaseId": st.LeaseID}).Expect(t, 409)
}

func TestStackLeasesHealer(t *testing.T) {
	srv := berthtest.Start(t)
	key := createProject(t, srv, map[string]any{"name": "web"})
	keyCall(t, srv, key, "POST", "/requestStack", map[string]any{"branch": "a", "ttl": 60}).Expect(t, 200)
	keyCall(t, srv, key, "POST", "/requestStack", map[string]any{"branch": "b", "ttl": 600}).Expect(t, 200)
	srv.Clock.Advance(2 * time.Minute)

	rep := runHealer(t, srv, "stack-leases")
	if rep.Healed != 1 || len(rep.Details) != 1 || !strings.Contains(rep.Details[0], "test-1") {
		t.Fatalf("healer: %+v", rep)
	}
	if rep = runHealer(t, srv, "stack-leases"); rep.Healed != 0 {
		t.Fatalf("second run: %+v", rep)
	}
	stacks := listStacks(t, srv, key)
	if !stacks[0].IsAvailable || stacks[1].IsAvailable {
		t.Fatalf("after healing: %+v", stacks)
	}
}

func TestProjectAdministration(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "web-team")
	bo := srv.NewTeamUser(t, "bo@example.com", "api-team")

	var p projectJSON
	srv.Req(t, "POST", "/projects", ana.Token, map[string]any{"name": "web", "initialCommit": "abc"}).Expect(t, 201).JSON(t, &p)
	if p.Team != "web-team" || p.Prefix != "test-" || p.InitialCommit != "abc" || p.APIKey == "" {
		t.Fatalf("created: %+v", p)
	}
	srv.Req(t, "POST", "/projects", ana.Token, map[string]any{"name": "web"}).Expect(t, 409)
	srv.Req(t, "POST", "/projects", ana.Token, map[string]any{"name": "Web"}).Expect(t, 400)
	srv.Req(t, "POST", "/projects", ana.Token, map[string]any{"name": "x", "prefix": "Bad_"}).Expect(t, 400)
	srv.Req(t, "POST", "/projects", ana.Token, map[string]any{"name": "x", "prefix": "much-too-long-prefix"}).Expect(t, 400)
	srv.Req(t, "POST", "/projects", ana.Token, map[string]any{"name": "x", "team": "api-team"}).Expect(t, 403)
	srv.Req(t, "POST", "/projects", srv.AdminToken, map[string]any{"name": "x", "team": "no-team"}).Expect(t, 404)
	srv.Req(t, "POST", "/projects", "", map[string]any{"name": "x"}).Expect(t, 401)
	srv.Req(t, "POST", "/projects", bo.Token, map[string]any{"name": "api", "prefix": "api-"}).Expect(t, 201)

	var list []projectJSON
	srv.Req(t, "GET", "/projects", ana.Token, nil).Expect(t, 200).JSON(t, &list)
	if len(list) != 1 || list[0].Name != "web" || list[0].APIKey != "" {
		t.Fatalf("ana's projects: %+v", list)
	}
	srv.Req(t, "GET", "/projects?limit=1", srv.AdminToken, nil).Expect(t, 200).JSON(t, &list)
	if len(list) != 1 || list[0].Name != "api" {
		t.Fatalf("admin's first page: %+v", list)
	}
	srv.Req(t, "GET", "/projects/web", ana.Token, nil).Expect(t, 200)
	srv.Req(t, "GET", "/projects/web", bo.Token, nil).Expect(t, 403)
	srv.Req(t, "GET", "/projects/nope", ana.Token, nil).Expect(t, 404)
	srv.Req(t, "POST", "/projects/web/keys", bo.Token, nil).Expect(t, 403)
	srv.Req(t, "DELETE", "/projects/web", bo.Token, nil).Expect(t, 403)

	// A team that owns a project cannot be removed.
	srv.Req(t, "DELETE", "/teams/web-team", ana.Token, nil).Expect(t, 409)

	requestStack(t, srv, p.APIKey, "main")
	srv.Req(t, "DELETE", "/projects/web", ana.Token, nil).Expect(t, 204)
	keyCall(t, srv, p.APIKey, "GET", "/listStacks", nil).Expect(t, 401)
	srv.Req(t, "GET", "/projects/web", ana.Token, nil).Expect(t, 404)
	// The name is free again, and the new project starts without stacks.
	var again projectJSON
	srv.Req(t, "POST", "/projects", ana.Token, map[string]any{"name": "web"}).Expect(t, 201).JSON(t, &again)
	if n := len(listStacks(t, srv, again.APIKey)); n != 0 {
		t.Fatalf("recreated project has %d stacks", n)
	}
}

func TestProjectKeyRotation(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "web-team")
	var p projectJSON
	srv.Req(t, "POST", "/projects", ana.Token, map[string]any{"name": "web"}).Expect(t, 201).JSON(t, &p)
	held := requestStack(t, srv, p.APIKey, "main")

	var rotated projectJSON
	srv.Req(t, "POST", "/projects/web/keys", ana.Token, nil).Expect(t, 200).JSON(t, &rotated)
	if rotated.APIKey == "" || rotated.APIKey == p.APIKey {
		t.Fatalf("rotated key %q", rotated.APIKey)
	}
	keyCall(t, srv, p.APIKey, "GET", "/listStacks", nil).Expect(t, 401)
	keyCall(t, srv, p.APIKey, "POST", "/releaseStack", map[string]any{"stackName": held.StackName}).Expect(t, 401)
	if names := stackNames(listStacks(t, srv, rotated.APIKey)); !slices.Equal(names, []string{"test-1"}) {
		t.Fatalf("stacks under the new key: %v", names)
	}
	releaseStack(t, srv, rotated.APIKey, held.StackName)
}

func TestAnotherProjectsKeyIsRefused(t *testing.T) {
	srv := berthtest.Start(t)
	webKey := createProject(t, srv, map[string]any{"name": "web"})
	apiKey := createProject(t, srv, map[string]any{"name": "api"})
	held := requestStack(t, srv, webKey, "main")

	// The api key sees only api's stacks: web's test-1 does not exist for it.
	keyCall(t, srv, apiKey, "POST", "/releaseStack", map[string]any{"stackName": held.StackName}).Expect(t, 404)
	keyCall(t, srv, apiKey, "POST", "/setLastDeployedCommit", map[string]any{"stackName": held.StackName, "lastDeployedCommit": "x"}).Expect(t, 404)
	keyCall(t, srv, apiKey, "POST", "/deleteLastStack", nil).Expect(t, 404)
	if n := len(listStacks(t, srv, apiKey)); n != 0 {
		t.Fatalf("api lists %d stacks", n)
	}
	if own := requestStack(t, srv, apiKey, "main"); own.StackName != "test-1" || own.LeaseID == held.LeaseID {
		t.Fatalf("api's own stack: %+v", own)
	}
	var p projectJSON
	keyCall(t, srv, apiKey, "GET", "/project", nil).Expect(t, 200).JSON(t, &p)
	if p.Name != "api" {
		t.Fatalf("api key is the key of %q", p.Name)
	}
	stacks := listStacks(t, srv, webKey)
	if len(stacks) != 1 || stacks[0].IsAvailable {
		t.Fatalf("web's stacks: %+v", stacks)
	}
}

func TestProjectSettings(t *testing.T) {
	srv := berthtest.Start(t)
	key := createProject(t, srv, map[string]any{"name": "web", "prefix": "t1"})
	requestStack(t, srv, key, "a")
	requestStack(t, srv, key, "b")

	var p projectJSON
	keyCall(t, srv, key, "GET", "/project", nil).Expect(t, 200).JSON(t, &p)
	if p.Name != "web" || p.Prefix != "t1" || p.InitialCommit != "" || p.APIKey != "" {
		t.Fatalf("project: %+v", p)
	}
	keyCall(t, srv, key, "PUT", "/project", map[string]any{}).Expect(t, 400)
	keyCall(t, srv, key, "PUT", "/project", map[string]any{"prefix": "Bad"}).Expect(t, 400)
	keyCall(t, srv, key, "PUT", "/project", map[string]any{"initialCommit": "a\x00b"}).Expect(t, 400)
	// Under "t", the existing t11 would read as stack 11: refused.
	keyCall(t, srv, key, "PUT", "/project", map[string]any{"prefix": "t"}).Expect(t, 409)

	keyCall(t, srv, key, "PUT", "/project", map[string]any{"prefix": "ci-", "initialCommit": "base"}).Expect(t, 200).JSON(t, &p)
	if p.Prefix != "ci-" || p.InitialCommit != "base" {
		t.Fatalf("updated project: %+v", p)
	}
	if got := requestStack(t, srv, key, "c"); got.StackName != "ci-3" || got.LastDeployedCommit != "base" {
		t.Fatalf("stack after the prefix change: %+v", got)
	}
	if names := stackNames(listStacks(t, srv, key)); !slices.Equal(names, []string{"t11", "t12", "ci-3"}) {
		t.Fatalf("existing stacks keep their names: %v", names)
	}
}

func TestProjectSettingsByName(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "web-team")
	bo := srv.NewTeamUser(t, "bo@example.com", "api-team")
	var p projectJSON
	srv.Req(t, "POST", "/projects", ana.Token, map[string]any{"name": "web", "prefix": "t1"}).Expect(t, 201).JSON(t, &p)
	requestStack(t, srv, p.APIKey, "a")
	requestStack(t, srv, p.APIKey, "b")

	srv.Req(t, "PUT", "/projects/web", "", map[string]any{"prefix": "ci-"}).Expect(t, 401)
	srv.Req(t, "PUT", "/projects/web", bo.Token, map[string]any{"prefix": "ci-"}).Expect(t, 403)
	srv.Req(t, "PUT", "/projects/nope", ana.Token, map[string]any{"prefix": "ci-"}).Expect(t, 404)
	srv.Req(t, "PUT", "/projects/web", ana.Token, map[string]any{}).Expect(t, 400)
	srv.Req(t, "PUT", "/projects/web", ana.Token, nil).Expect(t, 400)
	srv.Req(t, "PUT", "/projects/web", ana.Token, map[string]any{"prefix": "Bad"}).Expect(t, 400)
	srv.Req(t, "PUT", "/projects/web", ana.Token, map[string]any{"initialCommit": "a\nb"}).Expect(t, 400)
	// Under "t", the existing t11 would read as stack 11: refused.
	srv.Req(t, "PUT", "/projects/web", ana.Token, map[string]any{"prefix": "t"}).Expect(t, 409)

	p = projectJSON{}
	srv.Req(t, "PUT", "/projects/web", ana.Token, map[string]any{"prefix": "ci-", "initialCommit": "base"}).Expect(t, 200).JSON(t, &p)
	if p.Name != "web" || p.Team != "web-team" || p.Prefix != "ci-" || p.InitialCommit != "base" || p.APIKey != "" {
		t.Fatalf("updated project: %+v", p)
	}
	// An admin may change any project; an empty initialCommit clears it.
	srv.Req(t, "PUT", "/projects/web", srv.AdminToken, map[string]any{"initialCommit": ""}).Expect(t, 200).JSON(t, &p)
	if p.Prefix != "ci-" || p.InitialCommit != "" {
		t.Fatalf("project after clearing the initial commit: %+v", p)
	}
	var own projectJSON
	srv.Req(t, "GET", "/projects/web", ana.Token, nil).Expect(t, 200).JSON(t, &own)
	if own != p {
		t.Fatalf("project read back: %+v, want %+v", own, p)
	}
}

func TestRESTAliasesAnswerAsTheRPCRoutes(t *testing.T) {
	srv := berthtest.Start(t)
	key := createProject(t, srv, map[string]any{"name": "web"})
	var st stackJSON
	keyCall(t, srv, key, "POST", "/stacks/request", map[string]any{"branch": "x"}).Expect(t, 200).JSON(t, &st)
	if st.StackName != "test-1" || st.LeaseID == "" {
		t.Fatalf("request: %+v", st)
	}
	keyCall(t, srv, key, "POST", "/stacks/commit", map[string]any{"stackName": "test-1", "lastDeployedCommit": "c1"}).Expect(t, 200).JSON(t, &st)
	if st.LastDeployedCommit != "c1" {
		t.Fatalf("commit: %+v", st)
	}
	var released stackJSON
	keyCall(t, srv, key, "POST", "/stacks/release", map[string]any{"stackName": "test-1"}).Expect(t, 200).JSON(t, &released)
	if !released.IsAvailable || released.LeaseID != "" {
		t.Fatalf("release: %+v", released)
	}
	var list struct{ Stacks []stackJSON }
	keyCall(t, srv, key, "GET", "/stacks", nil).Expect(t, 200).JSON(t, &list)
	if len(list.Stacks) != 1 || list.Stacks[0] != released {
		t.Fatalf("list: %+v, want [%+v]", list.Stacks, released)
	}
	keyCall(t, srv, key, "POST", "/stacks/delete-last", nil).Expect(t, 200).JSON(t, &st)
	keyCall(t, srv, key, "POST", "/stacks/delete-last", nil).Expect(t, 404)
}

func TestStacksSurviveARestart(t *testing.T) {
	srv := berthtest.Start(t, berthtest.OnDisk(t.TempDir()))
	key := createProject(t, srv, map[string]any{"name": "web"})
	idem := func() *berthtest.Response {
		return srv.Do(t, berthtest.Call{Method: "POST", Path: "/requestStack", Body: map[string]any{"branch": "a"},
			Header: map[string]string{"X-API-Key": key, "Idempotency-Key": "job-7"}})
	}
	var held stackJSON
	idem().Expect(t, 200).JSON(t, &held)
	requestStack(t, srv, key, "b")
	releaseStack(t, srv, key, "test-2")
	before := listStacks(t, srv, key)

	srv.Restart()

	if after := listStacks(t, srv, key); !slices.Equal(after, before) {
		t.Fatalf("after restart: %+v, before: %+v", after, before)
	}
	var replay stackJSON
	idem().Expect(t, 200).JSON(t, &replay)
	if replay != held {
		t.Fatalf("replay after restart: %+v, want %+v", replay, held)
	}
	if got := requestStack(t, srv, key, "b"); got.StackName != "test-2" {
		t.Fatalf("b got %s, want its test-2 back", got.StackName)
	}
	if got := requestStack(t, srv, key, "c"); got.StackName != "test-3" {
		t.Fatalf("new stack %s, want test-3", got.StackName)
	}
	keyCall(t, srv, key, "POST", "/releaseStack", map[string]any{"stackName": "test-1", "leaseId": held.LeaseID}).Expect(t, 200)
}
