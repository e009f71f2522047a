// Package docs keeps the hand-written docs from rotting: every curl
// walk-through in README.md and docs/api runs against a real berthd (the
// harness in internal/berthtest, whose answers are checked against the
// OpenAPI document), every route of the API is documented with its request
// body, and each page stands on its own.
package docs

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/berthdev/terraform-provider-berth/internal/berthtest"
)

func repoRoot(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func read(t *testing.T, page string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), page))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// section is the text under the heading "## title", up to the next heading
// of that level.
func section(t *testing.T, page, text, title string) string {
	t.Helper()
	start := strings.Index(text, "\n## "+title+"\n")
	if start < 0 {
		t.Fatalf("%s has no section %q", page, title)
	}
	rest := text[start+len(title)+5:]
	if end := strings.Index(rest, "\n## "); end >= 0 {
		rest = rest[:end]
	}
	return rest
}

var fence = regexp.MustCompile("(?ms)^```(\\w*)\n(.*?)^```\n")

// blocks are the code blocks of text in language lang.
func blocks(text, lang string) []string {
	var out []string
	for _, m := range fence.FindAllStringSubmatch(text, -1) {
		if m[1] == lang {
			out = append(out, m[2])
		}
	}
	return out
}

// The pages with a walk-through, what each must name (the original API it
// follows, by its public name), and where the walk-through is.
var pages = []struct {
	page    string
	names   []string
	inRepo  bool // the walk-through runs from a clone (go run ./examples/client)
	scripts func(t *testing.T, page, text string) []string
}{
	{page: "README.md", names: []string{"tsuru", "Akkeris", "lain", "test-stack-orchestrator"}, inRepo: true, scripts: func(t *testing.T, page, text string) []string {
		out := blocks(section(t, page, text, "A first session with curl"), "sh")
		for _, b := range blocks(section(t, page, text, "The Go client"), "sh") {
			if strings.Contains(b, "examples/client") {
				// Twice: the second time the stack project exists, and the
				// snippet must still end with a key that works.
				out = append(out, b, b)
			}
		}
		return out
	}},
	{page: "docs/api/conventions.md", names: []string{"github.com/tsuru/tsuru", "Akkeris controller-api", "laincloud/console", "test-stack-orchestrator"}},
	{page: "docs/api/identity.md", names: []string{"tsuru", "github.com/tsuru/tsuru"}},
	{page: "docs/api/tsuru-apps.md", names: []string{"tsuru", "github.com/tsuru/tsuru"}},
	{page: "docs/api/tsuru-services.md", names: []string{"tsuru", "github.com/tsuru/tsuru"}},
	{page: "docs/api/lain.md", names: []string{"lain", "laincloud/console"}},
	{page: "docs/api/pipelines.md", names: []string{"Akkeris", "controller-api"}},
	{page: "docs/api/stacks.md", names: []string{"test-stack-orchestrator", "theodo"}},
}

func walkthrough(t *testing.T, page, text string) []string {
	return blocks(section(t, page, text, "Walk-through"), "sh")
}

func needTools(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the docs' walk-throughs need %s on PATH (Debian: apt-get install %s): %v", tool, tool, err)
		}
	}
}

// TestWalkthroughs runs each page's walk-through, its sh blocks one after
// the other as one bash script (set -euo pipefail), against a fresh berthd.
// The pages are written for a berthd on http://127.0.0.1:8080 whose first
// start left its admin token in berth-data/admin-token: those two strings
// are the only things changed, to the test server's URL and a file holding
// its admin token.
func TestWalkthroughs(t *testing.T) {
	needTools(t)
	root := repoRoot(t)
	for _, p := range pages {
		t.Run(strings.TrimSuffix(filepath.Base(p.page), ".md"), func(t *testing.T) {
			t.Parallel()
			text := read(t, p.page)
			get := p.scripts
			if get == nil {
				get = walkthrough
			}
			parts := get(t, p.page, text)
			if len(parts) == 0 {
				t.Fatalf("%s has no sh block to run", p.page)
			}
			srv := berthtest.Start(t)
			dir := t.TempDir()
			tokenFile := filepath.Join(dir, "admin-token")
			if err := os.WriteFile(tokenFile, []byte(srv.AdminToken+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			script := strings.Join(parts, "\n")
			if !strings.Contains(script, "http://127.0.0.1:8080") || !strings.Contains(script, "berth-data/admin-token") {
				t.Fatalf("%s: the walk-through must start from http://127.0.0.1:8080 and berth-data/admin-token", p.page)
			}
			script = strings.ReplaceAll(script, "http://127.0.0.1:8080", srv.URL)
			script = strings.ReplaceAll(script, "berth-data/admin-token", tokenFile)

			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "bash", "-x", "-euo", "pipefail", "-c", script)
			cmd.Dir = dir
			if p.inRepo {
				cmd.Dir = root
			}
			cmd.Env = append(cleanEnv(), "PS4=+ line $LINENO: ")
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Run(); err != nil {
				t.Fatalf("%s: the walk-through failed: %v\n--- output (with a trace):\n%s\n--- script:\n%s", p.page, err, out.String(), numbered(script))
			}
			if testing.Verbose() {
				t.Logf("%s:\n%s", p.page, out.String())
			}
		})
	}
}

// cleanEnv is the test's environment without berth's variables, so that a
// walk-through sees only what it sets itself.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BERTH_") && !strings.HasPrefix(kv, "ADMIN=") {
			env = append(env, kv)
		}
	}
	return env
}

func numbered(s string) string {
	var b strings.Builder
	sc := bufio.NewScanner(strings.NewReader(s))
	for n := 1; sc.Scan(); n++ {
		fmt.Fprintf(&b, "%3d  %s\n", n, sc.Text())
	}
	return b.String()
}

// TestPagesStandAlone: every page names the original API it follows by its
// public name, links the OpenAPI document, and refers to no file outside
// the repository.
func TestPagesStandAlone(t *testing.T) {
	all := append([]string{"docs/api/README.md", "docs/operations.md"}, func() []string {
		var out []string
		for _, p := range pages {
			out = append(out, p.page)
		}
		return out
	}()...)
	names := map[string][]string{"docs/api/README.md": {"github.com/tsuru/tsuru", "Akkeris controller-api", "laincloud/console", "test-stack-orchestrator"}}
	for _, p := range pages {
		names[p.page] = p.names
	}
	private := regexp.MustCompile(`specs/|/work/|\w+-api\.txt|akkeris-pipelines|stack-orchestrator\.txt|lain-console-api`)
	for _, page := range all {
		text := read(t, page)
		if m := private.FindString(text); m != "" {
			t.Errorf("%s refers to %q, which is not in the repository", page, m)
		}
		if !strings.Contains(text, "/openapi.json") {
			t.Errorf("%s does not link /openapi.json", page)
		}
		for _, n := range names[page] {
			if !strings.Contains(text, n) {
				t.Errorf("%s does not name %q", page, n)
			}
		}
	}
}

// TestEveryRouteIsDocumented: each route of the API appears in docs/api as
// `METHOD /path` (lain's with their full /api/v1/... path), and, when it
// takes a body, its line shows one.
func TestEveryRouteIsDocumented(t *testing.T) {
	var docs strings.Builder
	files, err := filepath.Glob(filepath.Join(repoRoot(t), "docs", "api", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs.Write(b)
	}
	text := docs.String()
	doc, err := berthtest.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	srv := berthtest.Start(t)
	seen := map[string]bool{}
	for _, r := range srv.Instance().API.Routes() {
		path := r.Path
		if strings.HasPrefix(path, "/api/v1/") && !strings.HasSuffix(path, "/") {
			continue // the same route without its trailing slash
		}
		key := r.Method + " " + path
		if seen[key] {
			continue
		}
		seen[key] = true
		lines := linesWith(text, "`"+key+"`")
		if len(lines) == 0 {
			t.Errorf("route %s is not documented in docs/api (as `%s`)", key, key)
			continue
		}
		if takesBody(doc, r.Method, path) && !showsBody(lines) {
			t.Errorf("route %s takes a body, but no line documenting it shows one:\n%s", key, strings.Join(lines, "\n"))
		}
	}
	if len(seen) < 80 {
		t.Fatalf("only %d routes checked: the route table is not what this test expects", len(seen))
	}
}

func linesWith(text, s string) []string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return out
}

func takesBody(doc *openapi3.T, method, path string) bool {
	item := doc.Paths.Find(path)
	if item == nil {
		return false
	}
	op := item.GetOperation(method)
	return op != nil && op.RequestBody != nil
}

// showsBody: a JSON example (`{...}` or `[...]`), or a named non-JSON body.
func showsBody(lines []string) bool {
	for _, l := range lines {
		if strings.Contains(l, "`{") || strings.Contains(l, "`[") || strings.Contains(l, "YAML manifest") || strings.Contains(l, "plain text") {
			return true
		}
	}
	return false
}

// The README's Go client snippet is the body of client.Example, which the
// compiler checks.
func TestREADMEGoSnippetIsTheClientExample(t *testing.T) {
	readme := read(t, "README.md")
	snippets := blocks(section(t, "README.md", readme, "The Go client"), "go")
	if len(snippets) != 1 {
		t.Fatalf("the README's Go client section has %d Go blocks, want 1", len(snippets))
	}
	snippet := snippets[0]
	if !strings.HasPrefix(snippet, "import \"github.com/berthdev/terraform-provider-berth/client\"\n") {
		t.Fatalf("the README's Go snippet does not start with the client's import path:\n%s", snippet)
	}
	body := strings.TrimPrefix(snippet, "import \"github.com/berthdev/terraform-provider-berth/client\"\n\n")
	example := read(t, "client/example_test.go")
	var dedented []string
	for _, l := range strings.Split(example, "\n") {
		dedented = append(dedented, strings.TrimPrefix(l, "\t"))
	}
	if !strings.Contains(strings.Join(dedented, "\n"), body) {
		t.Fatalf("the README's Go snippet is not client/example_test.go's Example:\n%s", body)
	}
}

// docs/operations.md shows the systemd unit packaging/berthd.service ships.
func TestOperationsShowsTheSystemdUnit(t *testing.T) {
	unit := read(t, "packaging/berthd.service")
	ini := blocks(read(t, "docs/operations.md"), "ini")
	if len(ini) != 1 || ini[0] != unit {
		t.Fatalf("docs/operations.md does not show packaging/berthd.service as it is (%d ini blocks)", len(ini))
	}
}
