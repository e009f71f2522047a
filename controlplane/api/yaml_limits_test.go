package api_test

import (
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/terraform-provider-berth/internal/berthtest"
)

// aliasBomb is a static service manifest whose env has n keys aliasing one
// scalar of size bytes: small on the wire, n*size bytes once expanded.
func aliasBomb(id string, n, size int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "id: %s\nenv:\n  A0: &s %s\n", id, strings.Repeat("z", size))
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "  A%d: *s\n", i)
	}
	return b.String()
}

// TestManifestAliasAmplificationIsRefused: a YAML manifest whose aliases
// expand far beyond the body limit is refused as the client's error,
// quickly and without the server's memory following the expansion; the
// same aliases within the bound are fine.
func TestManifestAliasAmplificationIsRefused(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")

	// 20 KB on the wire, 8 MB expanded.
	small := aliasBomb("bomb-small", 1000, 8<<10)
	for _, method := range []string{"POST", "PUT"} {
		r := srv.Req(t, method, "/services", ana.Token, small).Expect(t, http.StatusBadRequest)
		if msg := r.ErrorMessage(t); !strings.Contains(msg, "expand") || !strings.Contains(msg, "MiB") {
			t.Errorf("%s /services with an alias bomb: message %q does not say the document expands past the limit", method, msg)
		}
	}

	// The attack: 848 KB on the wire, gigabytes expanded.
	big := aliasBomb("bomb-big", 60000, 848<<10-60000*13)
	if len(big) > 1<<20 {
		t.Fatalf("the attack body is %d bytes, over the body limit", len(big))
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	srv.Req(t, "POST", "/services", ana.Token, big).Expect(t, http.StatusBadRequest)
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	if grown := after.TotalAlloc - before.TotalAlloc; grown > 256<<20 {
		t.Errorf("refusing an %d-byte alias bomb allocated %d MiB", len(big), grown>>20)
	}
	t.Logf("alias bomb of %d KiB refused in %s", len(big)>>10, elapsed)

	// Aliases are YAML: a few of them, expanding to little, are accepted.
	ok := "id: aliased\nenv:\n  A: &v shared-value\n  B: *v\n"
	var m struct{ Env map[string]string }
	srv.Req(t, "POST", "/services", ana.Token, ok).Expect(t, http.StatusOK).JSON(t, &m)
	if m.Env["A"] != "shared-value" || m.Env["B"] != "shared-value" {
		t.Fatalf("aliased manifest stored as %+v", m.Env)
	}
}
