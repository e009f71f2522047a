package api_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/internal/berthtest"
)

// syncBuffer is a log destination tests read while the server writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestConfigVarLimits: the number of vars per app, the size of one value
// and the total are bounded, each with a 4xx naming its limit; nothing of
// a private value reaches the server log, whatever fails.
func TestConfigVarLimits(t *testing.T) {
	var logs syncBuffer
	srv := berthtest.Start(t, func(o *berthtest.Options) {
		o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	srv.Req(t, "POST", "/apps", ana.Token, map[string]string{"name": "web", "platform": "go"}).Expect(t, http.StatusOK)
	const marker = "S3CRET-MARKER"
	secret := func(n int) string { return marker + strings.Repeat("x", n-len(marker)) }
	private := func(name, value string) []map[string]any {
		return []map[string]any{{"name": name, "value": value, "public": false}}
	}

	// One value over the limit.
	r := srv.Req(t, "POST", "/apps/web/env", ana.Token, private("BIG", secret(domain.MaxEnvValueBytes+1)))
	if r.Status != http.StatusBadRequest || !strings.Contains(r.ErrorMessage(t), fmt.Sprint(domain.MaxEnvValueBytes)) {
		t.Errorf("a value over %d bytes: %d %s", domain.MaxEnvValueBytes, r.Status, r.Body)
	}

	// Too many vars at once.
	many := map[string]any{}
	for i := range domain.MaxEnvVars + 1 {
		many[fmt.Sprintf("V%d", i)] = "1"
	}
	r = srv.Req(t, "POST", "/apps/web/env", ana.Token, many)
	if r.Status != http.StatusBadRequest || !strings.Contains(r.ErrorMessage(t), fmt.Sprint(domain.MaxEnvVars)) {
		t.Errorf("%d vars: %d %s", domain.MaxEnvVars+1, r.Status, r.Body)
	}

	// Values within the limit, until the total is reached.
	n := domain.MaxEnvTotalBytes/domain.MaxEnvValueBytes + 1
	refused := false
	for i := range n + 1 {
		r := srv.Req(t, "POST", "/apps/web/env", ana.Token, private(fmt.Sprintf("PART%d", i), secret(domain.MaxEnvValueBytes-16)))
		if r.Status == http.StatusOK {
			continue
		}
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.ErrorMessage(t), "total") {
			t.Fatalf("var %d: %d %s", i, r.Status, r.Body)
		}
		refused = true
		break
	}
	if !refused {
		t.Fatalf("%d values of %d bytes accepted: no total limit", n+1, domain.MaxEnvValueBytes-16)
	}
	if strings.Contains(logs.String(), marker) {
		t.Fatalf("a private value reached the server log")
	}
}
