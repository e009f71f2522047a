package api_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"testing"

	"github.com/berthdev/terraform-provider-berth/controlplane"
	"github.com/berthdev/terraform-provider-berth/controlplane/api"
	"github.com/berthdev/terraform-provider-berth/controlplane/core"
)

// fuzzSkip are routes that would revoke the fuzzer's own credential and end
// the session for every later input.
var fuzzSkip = map[string]bool{
	"DELETE /users":        true,
	"DELETE /users/tokens": true,
	"DELETE /tokens/{id}":  true,
}

var pathVarRe = regexp.MustCompile(`\{[^}]+\}`)

// FuzzRoutes sends arbitrary path values and bodies to every route of every
// dialect, as the admin: whatever arrives, the server must answer it without
// panicking and without a 5xx. Run it with `make fuzz` (or go test -fuzz
// FuzzRoutes ./controlplane/api); plain `go test` replays the seed corpus.
func FuzzRoutes(f *testing.F) {
	inst, err := controlplane.Open(context.Background(), controlplane.Config{
		InMemory:       true,
		Core:           core.Config{BcryptCost: 4},
		BootstrapToken: "fuzz-admin-token",
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = inst.Close() })
	var routes []api.Route
	for _, r := range inst.API.Routes() {
		if !fuzzSkip[r.Method+" "+r.Path] {
			routes = append(routes, r)
		}
	}
	seeds := [][]byte{
		nil, []byte(`{}`), []byte(`[]`), []byte(`null`), []byte(`{"name":"x"}`), []byte(`{"name":1}`),
		[]byte(`{"email":"a@b.co","password":"123456"}`), []byte("id: svc\nendpoint:\n  production: http://x\n"),
		[]byte(`{"app":"web","pipeline":"p","stage":"development","required_status_checks":{"contexts":["ci/x"]}}`),
		[]byte(`{"branch":"main","ttl":-1}`), []byte(`{"num_instances":2,"cpu":1}`), []byte("\x00\xff{"),
	}
	for i := range routes {
		for _, s := range seeds {
			f.Add(uint16(i), "web", s)
		}
	}
	f.Fuzz(func(t *testing.T, idx uint16, arg string, body []byte) {
		r := routes[int(idx)%len(routes)]
		path := pathVarRe.ReplaceAllString(r.Path, url.PathEscape(arg))
		req := httptest.NewRequest(r.Method, "http://berth"+path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer fuzz-admin-token")
		req.Header.Set("access-token", "fuzz-admin-token")
		req.Header.Set("X-API-Key", arg)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		inst.API.ServeHTTP(rec, req)
		if rec.Code >= 500 && rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("%s %s with body %q: %d %s", r.Method, path, body, rec.Code, rec.Body)
		}
	})
}
