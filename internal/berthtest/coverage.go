package berthtest

import (
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/berthdev/terraform-provider-berth/controlplane/api"
)

// coverage remembers, for the whole test binary, which routes answered a
// request successfully, so that a package (the client) can prove it calls
// every route.
var coverage = struct {
	sync.Mutex
	routes []string
	served map[string]bool
}{served: map[string]bool{}}

// routeName names a route the way coverage reports it: "GET /apps/{app}",
// with lain's trailing slash dropped (both forms are one endpoint).
func routeName(method, path string) string {
	if path != "/" {
		path = strings.TrimSuffix(path, "/")
	}
	return method + " " + path
}

func recordRoutes(a *api.Server) {
	coverage.Lock()
	defer coverage.Unlock()
	if coverage.routes != nil {
		return
	}
	seen := map[string]bool{}
	for _, rt := range a.Routes() {
		name := routeName(rt.Method, rt.Path)
		if !seen[name] {
			seen[name] = true
			coverage.routes = append(coverage.routes, name)
		}
	}
	sort.Strings(coverage.routes)
}

func observeCoverage(method, route string, status int, _ time.Duration) {
	if route == "" || status >= 400 {
		return
	}
	coverage.Lock()
	coverage.served[routeName(method, route)] = true
	coverage.Unlock()
}

// UnservedRoutes lists the routes of the route table that no test server
// of this binary answered with a success status. It is meaningful once the
// tests have run (call it from TestMain after m.Run).
func UnservedRoutes() []string {
	coverage.Lock()
	defer coverage.Unlock()
	var out []string
	for _, name := range coverage.routes {
		if !coverage.served[name] {
			out = append(out, name)
		}
	}
	return out
}
