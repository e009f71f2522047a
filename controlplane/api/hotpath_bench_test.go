package api_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/berthdev/terraform-provider-berth/internal/berthtest"
)

// BenchmarkGetAppWithSession is the hot read path: GET /apps/{app} with a
// session token, through the whole handler chain (no network), as
// bench/cmd/berthbench's reads phase drives it over loopback.
func BenchmarkGetAppWithSession(b *testing.B) {
	srv := berthtest.Start(b, func(o *berthtest.Options) { o.SkipValidation = true })
	ana := srv.NewTeamUser(b, "ana@example.com", "devs")
	srv.Req(b, "POST", "/apps", ana.Token, map[string]string{"name": "web", "platform": "go"}).Expect(b, 200)
	srv.Req(b, "POST", "/apps/web/env", ana.Token, map[string]string{"A": "1", "B": "2"}).Expect(b, 200)
	h := srv.Instance().API
	req := httptest.NewRequest("GET", "/apps/web", nil)
	req.Header.Set("Authorization", "bearer "+ana.Token)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}
