package client_test

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"testing"

	"github.com/berthdev/terraform-provider-berth/internal/berthtest"
)

// notClientRoutes are served by berthd but are not part of any dialect's
// API, so the client has no method for them: probes for load balancers and
// scrapers.
var notClientRoutes = []string{
	"GET /healthz",
	"GET /readyz",
	"GET /metrics",
	"GET /openapi.json",
}

// rpcAliases are the stack-orchestrator's original RPC routes; the client
// calls the REST aliases of the same handlers (see docs/api/stacks.md).
var rpcAliases = map[string]string{
	"POST /requestStack":          "POST /stacks/request",
	"POST /setLastDeployedCommit": "POST /stacks/commit",
	"POST /releaseStack":          "POST /stacks/release",
	"POST /deleteLastStack":       "POST /stacks/delete-last",
	"GET /listStacks":             "GET /stacks",
}

// TestMain runs the client tests and then checks that together they called
// every route of the real server successfully: an endpoint without a typed
// method (or without a test of it) fails the suite. The check needs the
// whole suite, so it is skipped when -run selects tests.
func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if code != 0 || flag.Lookup("test.run").Value.String() != "" {
		os.Exit(code)
	}
	unserved := berthtest.UnservedRoutes()
	var missing []string
	for _, r := range unserved {
		if slices.Contains(notClientRoutes, r) {
			continue
		}
		if alias, ok := rpcAliases[r]; ok && !slices.Contains(unserved, alias) {
			continue
		}
		missing = append(missing, r)
	}
	if len(missing) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: %d routes were never called successfully by the client tests:\n", len(missing))
		for _, r := range missing {
			fmt.Fprintln(os.Stderr, "  ", r)
		}
		os.Exit(1)
	}
	os.Exit(code)
}
