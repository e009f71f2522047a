package api_test

import (
	"bytes"
	"context"
	"fmt"
	"hash/fnv"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/berthdev/terraform-provider-berth/controlplane"
	"github.com/berthdev/terraform-provider-berth/controlplane/api"
	"github.com/berthdev/terraform-provider-berth/controlplane/core"
)

// One fuzz target per dialect sends arbitrary path values and bodies to
// every route of that dialect, as the admin (and, on the stack routes,
// with a project's key): whatever arrives, the server must answer it
// without panicking, without a 5xx, and without allocating much more than
// the body it was sent (maxFuzzAlloc): a request never amplifies. `make fuzz` runs each for a while;
// plain `go test` replays the seed corpus, which is the seeds below plus
// testdata/fuzz/<target>/ (valid bodies for representative routes, and
// every input that once failed).
func FuzzTsuruRoutes(f *testing.F)   { fuzzDialect(f, "tsuru") }
func FuzzLainRoutes(f *testing.F)    { fuzzDialect(f, "lain") }
func FuzzAkkerisRoutes(f *testing.F) { fuzzDialect(f, "akkeris") }
func FuzzStackRoutes(f *testing.F)   { fuzzDialect(f, "stacks") }

// dialectOf names the dialect of a route: lain lives under /api/v1, the
// stack-orchestrator routes take a project key or manage projects, the
// Akkeris ones are pipelines, releases and their statuses; the rest is
// tsuru's (users, teams and tokens included).
func dialectOf(r api.Route) string {
	switch {
	case strings.HasPrefix(r.Path, "/api/v1/"):
		return "lain"
	case r.Auth == api.AuthProjectKey || strings.HasPrefix(r.Path, "/projects"):
		return "stacks"
	case strings.HasPrefix(r.Path, "/pipeline") || strings.Contains(r.Path, "/releases") || strings.HasSuffix(r.Path, "/pipeline-couplings"):
		return "akkeris"
	}
	return "tsuru"
}

const (
	fuzzAdminToken = "fuzz-admin-token-0123456789abcdef"
	fuzzProject    = "fuzz"
)

// fuzzSkip are calls that would revoke the fuzzer's own credentials and
// end the session for every later input.
func fuzzSkip(r api.Route, vars []string) bool {
	switch r.Method + " " + r.Path {
	case "DELETE /users", "DELETE /users/tokens", "DELETE /tokens/{id}":
		return true
	case "DELETE /projects/{name}", "POST /projects/{name}/keys":
		return vars[0] == fuzzProject
	}
	return false
}

var pathVarRe = regexp.MustCompile(`\{[^}]+\}`)

func fuzzDialect(f *testing.F, dialect string) {
	inst, err := controlplane.Open(context.Background(), controlplane.Config{
		InMemory:       true,
		Core:           core.Config{BcryptCost: 4},
		BootstrapToken: fuzzAdminToken,
		// Refusals of login attempts answered at once: held, each would
		// stop a fuzz worker for a second.
		AuthLimits: api.AuthLimits{RefusalHold: -1},
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = inst.Close() })
	projectKey := fuzzFixture(f, inst.API)

	var routes []api.Route
	byKey := map[string]api.Route{}
	for _, r := range inst.API.Routes() {
		if dialectOf(r) == dialect {
			routes = append(routes, r)
			byKey[r.Method+" "+r.Path] = r
		}
	}
	seeds := [][]byte{
		nil, []byte(`{}`), []byte(`[]`), []byte(`null`), []byte(`{"name":"x"}`), []byte(`{"name":1}`),
		[]byte(`{"email":"a@b.co","password":"123456"}`), []byte("id: svc\nendpoint:\n  production: http://x\n"),
		[]byte(`{"branch":"main","ttl":-1}`), []byte(`{"num_instances":2,"cpu":1}`), []byte("\x00\xff{"),
		amplifyingYAML(), amplifyingMeta(),
	}
	for _, r := range routes {
		for _, s := range seeds {
			f.Add(r.Method+" "+r.Path, "x", s)
		}
	}
	f.Fuzz(func(t *testing.T, route, args string, body []byte) {
		// An unknown route (the fuzzer mutates this string too) still picks
		// one, so that every input reaches the server.
		r, ok := byKey[route]
		if !ok {
			h := fnv.New32a()
			h.Write([]byte(route))
			r = routes[int(h.Sum32()%uint32(len(routes)))]
		}
		// args are the values of the route's variables, in order, separated
		// by "/", then optionally "?" and a query string.
		args, rawQuery, _ := strings.Cut(args, "?")
		vars := strings.Split(args, "/")
		i := 0
		target := pathVarRe.ReplaceAllStringFunc(r.Path, func(string) string {
			v := vars[i%len(vars)]
			i++
			return url.PathEscape(v)
		})
		if fuzzSkip(r, vars) {
			return
		}
		if query, _ := url.ParseQuery(rawQuery); len(query) > 0 {
			target += "?" + query.Encode()
		}
		req := httptest.NewRequest(r.Method, "http://berth"+target, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+fuzzAdminToken)
		req.Header.Set("access-token", fuzzAdminToken)
		req.Header.Set("X-API-Key", projectKey)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		inst.API.ServeHTTP(rec, req)
		runtime.ReadMemStats(&after)
		if rec.Code >= 500 && rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("%s %s with body %q: %d %s", r.Method, target, body, rec.Code, rec.Body)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > maxFuzzAlloc(len(body)) {
			t.Fatalf("%s %s with a body of %d bytes allocated %d MiB (bound %d MiB): %d %.200s",
				r.Method, target, len(body), n>>20, maxFuzzAlloc(len(body))>>20, rec.Code, rec.Body)
		}
	})
}

// maxFuzzAlloc bounds what serving one fuzzed request may allocate: a
// fixed allowance for the request itself and the fixture's answers, and a
// multiple of the body for decoding it. An amplification (a few kilobytes
// that expand to megabytes) is far beyond it.
func maxFuzzAlloc(bodyLen int) uint64 { return 32<<20 + 32*uint64(bodyLen) }

// amplifyingYAML is a 10 KB service manifest whose aliases expand to 4 MB.
func amplifyingYAML() []byte {
	var b strings.Builder
	b.WriteString("id: bomb\nenv:\n  A0: &v " + strings.Repeat("x", 4096) + "\n")
	for i := 1; i < 1000; i++ {
		fmt.Fprintf(&b, "  A%d: *v\n", i)
	}
	return []byte(b.String())
}

// amplifyingMeta is a lain meta declaring far more units than an app may
// run.
func amplifyingMeta() []byte {
	var procs []string
	for i := range 2000 {
		procs = append(procs, fmt.Sprintf(`{"name":"p%d","num_instances":100}`, i))
	}
	return []byte(`{"appname":"amp","meta":{"procs":[` + strings.Join(procs, ",") + `]}}`)
}

// fuzzFixture gives the fuzzer's server something of every dialect to
// work on, under the names the seeds use: apps web and web-stg in pipeline
// web-pipe (and web-prd, not in it) with a release and a status, a deployed lain app lain-web, and
// the stack project whose key the fuzzer sends.
func fuzzFixture(f *testing.F, h http.Handler) (projectKey string) {
	call := func(method, path, body string) string {
		req := httptest.NewRequest(method, "http://berth"+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+fuzzAdminToken)
		req.Header.Set("X-API-Key", projectKey)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 300 {
			f.Fatalf("fuzz fixture: %s %s: %d %s", method, path, rec.Code, rec.Body)
		}
		return rec.Body.String()
	}
	call("POST", "/apps", `{"name":"web","platform":"go","teamOwner":"admin"}`)
	call("POST", "/apps", `{"name":"web-stg","platform":"go","teamOwner":"admin"}`)
	call("POST", "/apps", `{"name":"web-prd","platform":"go","teamOwner":"admin"}`)
	call("POST", "/apps/web/env", `{"PORT":"8080"}`)
	call("POST", "/pipelines", `{"name":"web-pipe"}`)
	call("POST", "/pipeline-couplings", `{"app":"web","pipeline":"web-pipe","stage":"development"}`)
	call("POST", "/pipeline-couplings", `{"app":"web-stg","pipeline":"web-pipe","stage":"staging"}`)
	call("POST", "/apps/web/releases", `{"image":"registry.local/web:1"}`)
	call("POST", "/apps/web/releases/1/statuses", `{"context":"ci/test","state":"pending"}`)
	call("POST", "/api/v1/repos/", `{"appname":"lain-web","team":"admin","meta":{"procs":[{"name":"web"},{"name":"worker"}]}}`)
	call("POST", "/api/v1/apps/", `{"appname":"lain-web"}`)
	out := call("POST", "/projects", `{"name":"`+fuzzProject+`","team":"admin","prefix":"fuzz-"}`)
	key := regexp.MustCompile(`"apiKey":"([^"]+)"`).FindStringSubmatch(out)
	if key == nil {
		f.Fatalf("fuzz fixture: no project key in %s", out)
	}
	projectKey = key[1]
	call("POST", "/requestStack", `{"branch":"main"}`)
	return projectKey
}
