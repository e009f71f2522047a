package api

import (
	"bytes"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/berthdev/terraform-provider-berth/controlplane/core"
	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
)

// FuzzServiceManifest feeds the YAML body of POST and PUT /services to its
// parser. Whatever arrives, it is refused as the client's error (400, or
// 413) or accepted as a manifest with an id that reads back the same when
// written out as YAML again (what berth stores is what was sent), whose
// decoded size (aliases resolved) is within maxDecodedYAML; and the
// validation of an accepted manifest answers nil or a client error. Seeds:
// testdata/fuzz/FuzzServiceManifest.
func FuzzServiceManifest(f *testing.F) {
	f.Add([]byte("id: db\nendpoint:\n  production: http://broker.internal:8080\nusername: db\npassword: secret\nteam: admin\n"))
	f.Add([]byte("id: db\nenv:\n  A: &v " + strings.Repeat("x", 4096) + "\n  B: *v\n  C: *v\n"))
	bomb := "id: bomb\nenv:\n  A0: &v " + strings.Repeat("x", 4096) + "\n"
	for i := 1; i <= 300; i++ {
		bomb += fmt.Sprintf("  A%d: *v\n", i)
	}
	f.Add([]byte(bomb))
	f.Add([]byte("id: &i db\nusername: *i\nenv: &e\n  A: &a [*a]\n"))
	f.Add([]byte("a: &a [x, x, x, x]\nb: &b [*a, *a, *a, *a]\nc: &c [*b, *b, *b, *b]\nid: *c\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := decodeManifest(httptest.NewRequest("POST", "/services", bytes.NewReader(body)))
		if err != nil {
			if st := statusOf(err); st != http.StatusBadRequest && st != http.StatusRequestEntityTooLarge {
				t.Fatalf("manifest %q refused with a %d error: %v", body, st, err)
			}
			return
		}
		if m.ID == "" {
			t.Fatalf("manifest %q accepted without an id", body)
		}
		if n := decodedSize(m); n > maxDecodedYAML {
			t.Fatalf("a %d-byte manifest decodes to %d bytes, over the bound of %d", len(body), n, maxDecodedYAML)
		}
		out, err := yaml.Marshal(serviceManifestYAML(m))
		if err != nil {
			t.Fatalf("manifest %+v cannot be written back: %v", m, err)
		}
		again, err := decodeManifest(httptest.NewRequest("POST", "/services", bytes.NewReader(out)))
		if err != nil {
			t.Fatalf("manifest %q, written back as %q, is refused: %v", body, out, err)
		}
		if again.ID != m.ID || again.Username != m.Username || again.Password != m.Password || again.Team != m.Team ||
			!maps.Equal(again.Endpoint, m.Endpoint) || !maps.Equal(again.Env, m.Env) {
			t.Fatalf("manifest %q reads back as %+v from %q, not %+v", body, again, out, m)
		}
		svc := &domain.Service{Name: m.ID, Endpoints: m.Endpoint, Username: m.Username, Password: m.Password, Env: m.Env}
		if err := svc.Validate(); err != nil && domain.KindOf(err) != domain.KindInvalid {
			t.Fatalf("manifest %q fails validation with a %s error: %v", body, domain.KindOf(err), err)
		}
	})
}

// decodedSize is the number of bytes of text a decoded manifest holds.
func decodedSize(m core.ServiceManifest) int {
	n := len(m.ID) + len(m.Username) + len(m.Password) + len(m.Team)
	for _, kv := range []map[string]string{m.Endpoint, m.Env} {
		for k, v := range kv {
			n += len(k) + len(v)
		}
	}
	return n
}
