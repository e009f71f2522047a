package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/berthdev/terraform-provider-berth/controlplane/api"
	"github.com/berthdev/terraform-provider-berth/internal/berthtest"
)

// publicBodyCalls are the paths the limits test calls the public routes
// that take a body on.
var publicBodyCalls = map[string]string{
	"POST /users":                "/users",
	"POST /users/{email}/tokens": "/users/owner@alpha.example/tokens",
}

// bodyCase is one body sent to every route that takes a body of its media
// type, and the error it must get.
type bodyCase struct {
	name    string
	body    func() io.Reader
	chunked bool // sent without Content-Length, so the handler reads past the limit
	status  int
	code    string
	// message is a word the error message must contain.
	message string
}

var overLimit = strings.Repeat("a", 1<<20+1)

func bodyCases(mediaType string) []bodyCase {
	tooLarge := func(name string, body string, chunked bool) bodyCase {
		return bodyCase{name: name, body: func() io.Reader { return strings.NewReader(body) }, chunked: chunked,
			status: http.StatusRequestEntityTooLarge, code: "too_large", message: "1 MiB"}
	}
	invalid := func(name, body, message string) bodyCase {
		return bodyCase{name: name, body: func() io.Reader { return strings.NewReader(body) },
			status: http.StatusBadRequest, code: "invalid", message: message}
	}
	switch mediaType {
	case "application/json":
		// A string value keeps the decoder reading until the limit.
		big := `{"name":"` + overLimit + `"}`
		return []bodyCase{
			tooLarge("over 1 MiB", big, false),
			tooLarge("over 1 MiB, chunked", big, true),
			invalid("truncated JSON", `{"name":`, "JSON"),
			invalid("not JSON", `name=web`, "JSON"),
			invalid("trailing garbage", `{"name":"web"} {`, "JSON"),
		}
	case "application/x-yaml":
		big := "id: " + overLimit + "\n"
		return []bodyCase{
			tooLarge("over 1 MiB", big, false),
			tooLarge("over 1 MiB, chunked", big, true),
			invalid("invalid YAML", "id: [unclosed\n", "manifest"),
			invalid("YAML that is not a mapping", "- id\n", "manifest"),
		}
	case "application/x-www-form-urlencoded":
		big := "units=" + overLimit
		return []bodyCase{
			tooLarge("over 1 MiB", big, false),
			tooLarge("over 1 MiB, chunked", big, true),
			invalid("a bad escape", "units=%zz", "form"),
		}
	case "text/plain":
		return []bodyCase{
			tooLarge("over 1 MiB", overLimit, false),
			tooLarge("over 1 MiB, chunked", overLimit, true),
		}
	}
	return nil
}

// TestRequestBodyLimits sends every route that takes a body (as the
// OpenAPI document says) a body over 1 MiB, and malformed bodies of its
// media type, with the right credential: 413 and 400, each a JSON error
// with a message.
func TestRequestBodyLimits(t *testing.T) {
	doc, err := berthtest.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	f := newAuthFixture(t)
	tested := 0
	for _, r := range f.srv.Instance().API.Routes() {
		op := doc.Paths.Value(r.Path).GetOperation(r.Method)
		if op == nil || op.RequestBody == nil {
			continue
		}
		key := r.Method + " " + r.Path
		for mediaType := range op.RequestBody.Value.Content {
			cases := bodyCases(mediaType)
			if cases == nil {
				t.Errorf("%s takes %s: the limits test has no bodies of that type", key, mediaType)
				continue
			}
			t.Run(key+" "+mediaType, func(t *testing.T) {
				for _, c := range cases {
					var right authCall
					var header map[string]string
					if r.Auth == api.AuthNone {
						path, ok := publicBodyCalls[key]
						if !ok {
							t.Fatalf("public route %s takes a body: add it to publicBodyCalls", key)
						}
						right = authCall{path: path}
					} else {
						right, _, _ = f.calls(t, r)
						header = credential(r, right)
					}
					resp := sendBody(t, f.srv, r.Method, right.path, mediaType, header, c)
					if resp.status != c.status {
						t.Errorf("%s: %d, want %d; body %s", c.name, resp.status, c.status, resp.body)
						continue
					}
					var e struct{ Code, Message string }
					if err := json.Unmarshal(resp.body, &e); err != nil || e.Code != c.code || !strings.Contains(e.Message, c.message) {
						t.Errorf("%s: error body %s, want code %q and a message about %s", c.name, resp.body, c.code, c.message)
					}
				}
			})
			tested++
		}
	}
	if tested < 30 {
		t.Fatalf("only %d routes take a body, says the OpenAPI document: is it read right?", tested)
	}
}

type bodyResponse struct {
	status int
	body   []byte
}

func sendBody(t *testing.T, srv *berthtest.Server, method, path, mediaType string, header map[string]string, c bodyCase) bodyResponse {
	t.Helper()
	body := c.body()
	if c.chunked {
		body = io.MultiReader(body) // hides the length
	} else {
		b, _ := io.ReadAll(body)
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mediaType)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return bodyResponse{status: resp.StatusCode, body: b}
}
