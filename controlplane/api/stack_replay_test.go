package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/terraform-provider-berth/internal/berthtest"
)

// TestLeaseReplayAfterTheLeaseEnded: replaying the Idempotency-Key of a
// lease that expired, or that was released, is a 409 saying so, never the
// old answer as if the stack were still held.
func TestLeaseReplayAfterTheLeaseEnded(t *testing.T) {
	srv := berthtest.Start(t)
	key := createProject(t, srv, map[string]any{"name": "web"})
	request := func(idem string, ttl int) *berthtest.Response {
		return srv.Do(t, berthtest.Call{Method: "POST", Path: "/requestStack", Body: map[string]any{"branch": "main", "ttl": ttl},
			Header: map[string]string{"X-API-Key": key, "Idempotency-Key": idem}})
	}
	expectEnded := func(r *berthtest.Response) {
		t.Helper()
		if r.Status != http.StatusConflict || !strings.Contains(r.ErrorMessage(t), "ended") {
			t.Fatalf("replay after the lease ended: %s", r)
		}
	}

	// Job A's lease expires; job B gets the stack; A replays its key.
	var a stackJSON
	request("job-a", 60).Expect(t, http.StatusOK).JSON(t, &a)
	request("job-a", 60).Expect(t, http.StatusOK)
	srv.Clock.Advance(2 * time.Minute)
	var b stackJSON
	request("job-b", 3600).Expect(t, http.StatusOK).JSON(t, &b)
	if b.StackName != a.StackName {
		t.Fatalf("job B got %s, not the expired %s", b.StackName, a.StackName)
	}
	expectEnded(request("job-a", 60))
	// B still holds it.
	var st stackJSON
	keyCall(t, srv, key, "GET", "/stacks/"+b.StackName, nil).Expect(t, http.StatusOK).JSON(t, &st)
	if st.IsAvailable || st.LeaseID != b.LeaseID {
		t.Fatalf("job B's stack after A's replay: %+v", st)
	}

	// Released explicitly, then replayed.
	releaseStack(t, srv, key, b.StackName)
	expectEnded(request("job-b", 3600))

	// Expired and not taken by anyone since.
	var c stackJSON
	request("job-c", 60).Expect(t, http.StatusOK).JSON(t, &c)
	srv.Clock.Advance(2 * time.Minute)
	expectEnded(request("job-c", 60))
}
