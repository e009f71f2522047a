package api_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/berthdev/terraform-provider-berth/internal/berthtest"
)

// maxErrorBody bounds an error body, whatever the request repeated in it.
const maxErrorBody = 2 << 10

// TestErrorBodiesEchoLittle: a huge value in a path or a body makes a
// short error, on every route: the value is repeated cut to a hundred
// characters, with its control characters escaped.
func TestErrorBodiesEchoLittle(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	huge := strings.Repeat("z", 900<<10) + "\x1b[2J"
	check := func(r *berthtest.Response) {
		t.Helper()
		if r.Status < 400 || r.Status >= 500 {
			t.Errorf("%s: want a 4xx", shortResponse(r))
		}
		if len(r.Body) > maxErrorBody {
			t.Errorf("%s: a %d-byte error body", shortResponse(r), len(r.Body))
		}
		if strings.Contains(string(r.Body), "\x1b") || strings.Contains(string(r.Body), `\u001b[2J`) {
			t.Errorf("%s: the escape character came back as it was", shortResponse(r))
		}
	}
	check(srv.Req(t, "POST", "/apps", ana.Token, map[string]string{"name": huge, "platform": "go"}))
	check(srv.Req(t, "POST", "/users", "", map[string]string{"email": huge, "password": "s3cret!"}))
	check(srv.Req(t, "POST", "/teams", ana.Token, map[string]string{"name": huge}))
	check(srv.Req(t, "POST", "/apps/web/env", ana.Token, map[string]any{"envs": []map[string]string{{"name": huge, "value": "x"}}}))
	check(srv.Req(t, "POST", "/pipelines", ana.Token, map[string]string{"name": huge}))
	check(srv.Req(t, "POST", "/api/v1/repos/", ana.Token, map[string]string{"appname": huge}))

	// Every route, with every path variable 3,000 characters long (paths
	// are refused past 4 KiB) and the admin's credential, so that each gets
	// past authentication to the lookup that fails.
	long := strings.Repeat("y", 3000) + "%07"
	body := map[string]string{"name": strings.Repeat("x", 64<<10)}
	for _, rt := range srv.Instance().API.Routes() {
		if rt.Method == "DELETE" && rt.Path == "/users" {
			continue
		}
		path := rt.Path
		for strings.Contains(path, "{") {
			i, j := strings.Index(path, "{"), strings.Index(path, "}")
			path = path[:i] + long + path[j+1:]
		}
		if path == rt.Path {
			continue
		}
		r := srv.Do(t, berthtest.Call{Method: rt.Method, Path: path, Token: srv.AdminToken, Header: map[string]string{"X-API-Key": "x"}, Body: body})
		if r.Status >= 400 && len(r.Body) > maxErrorBody {
			t.Errorf("%s %s with long path values: a %d-byte error body", rt.Method, rt.Path, len(r.Body))
		}
	}

	// A longer path is refused before it is matched against the routes.
	r := srv.Req(t, "GET", "/apps/"+strings.Repeat("a", 4096), srv.AdminToken, nil).Expect(t, http.StatusRequestURITooLong)
	if !strings.Contains(r.ErrorMessage(t), "4096 bytes") {
		t.Errorf("414: %s", shortResponse(r))
	}
	srv.Req(t, "GET", "/apps/"+strings.Repeat("a", 4090), srv.AdminToken, nil).Expect(t, http.StatusNotFound)
}

func shortResponse(r *berthtest.Response) string {
	s := r.String()
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// TestUncleanPathsAreRefused: a path with "//", "." or ".." segments is
// answered 400 in JSON (lain's envelope under /api/v1/), before any
// credential is asked for and whatever the method: never a redirect to
// another route.
func TestUncleanPathsAreRefused(t *testing.T) {
	srv := berthtest.Start(t)
	for _, c := range []struct {
		method, path string
		lain         bool
	}{
		{"GET", "/apps/../users/info", false},
		{"POST", "//users", false},
		{"POST", "/users//tokens", false},
		{"DELETE", "/teams/./devs", false},
		{"GET", "/apps/web/..", false},
		{"GET", "/apps/%2e%2e/env", false},
		{"GET", "/api/v1//apps/", true},
		{"POST", "/api/v1/repos/../apps/", true},
	} {
		r := rawRequest(t, srv.URL, c.method, c.path)
		if r.StatusCode != http.StatusBadRequest || r.Header.Get("Location") != "" || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			t.Errorf("%s %s: %d, Location %q, Content-Type %q", c.method, c.path, r.StatusCode, r.Header.Get("Location"), r.Header.Get("Content-Type"))
			continue
		}
		if !strings.Contains(r.body, `"code":"invalid"`) || !strings.Contains(r.body, "segment") {
			t.Errorf("%s %s: body %s", c.method, c.path, r.body)
		}
		if got := strings.Contains(r.body, `"msg":`); got != c.lain {
			t.Errorf("%s %s: lain's envelope %v, want %v: %s", c.method, c.path, got, c.lain, r.body)
		}
	}
	// Trailing slashes are not unclean: lain's paths end in one.
	srv.Req(t, "GET", "/api/v1/apps/", srv.AdminToken, nil).Expect(t, 200)
	// And an unknown lain path is a 404 in lain's envelope.
	if r := srv.Req(t, "GET", "/api/v1/nosuch/", srv.AdminToken, nil).Expect(t, 404); !strings.Contains(string(r.Body), `"msg":`) {
		t.Errorf("unknown lain path: %s", r.Body)
	}
}

type rawResponse struct {
	*http.Response
	body string
}

// rawRequest sends the request line exactly as given: Go's client would
// keep the path too, but a raw one leaves no doubt.
func rawRequest(t *testing.T, base, method, path string) rawResponse {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: berth\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}", method, path)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	_, _ = bufio.NewReader(resp.Body).WriteTo(&b)
	return rawResponse{resp, b.String()}
}
