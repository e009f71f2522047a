package berthtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/gorilla/mux"

	"github.com/berthdev/terraform-provider-berth/controlplane/api"
)

var (
	docOnce sync.Once
	doc     *openapi3.T
	docErr  error
)

// OpenAPI returns the server's OpenAPI document, loaded and validated.
func OpenAPI() (*openapi3.T, error) {
	docOnce.Do(func() {
		var b []byte
		if b, docErr = api.OpenAPIJSON(); docErr != nil {
			return
		}
		loader := openapi3.NewLoader()
		if doc, docErr = loader.LoadFromData(b); docErr != nil {
			return
		}
		docErr = doc.Validate(context.Background())
	})
	return doc, docErr
}

// validator checks every response the server sends against the OpenAPI
// document: the route and method must be described, the status listed, and
// the body must match its schema. A 5xx is always a failure: nothing a test
// sends may crash the server.
type validator struct {
	t          testing.TB
	doc        *openapi3.T
	mu         sync.Mutex
	violations []string
}

func newValidator(t testing.TB) *validator {
	d, err := OpenAPI()
	if err != nil {
		t.Fatalf("OpenAPI document: %v", err)
	}
	return &validator{t: t, doc: d}
}

type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (v *validator) wrap(h *api.Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &recorder{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		if msg := v.check(h.Router(), r, rec); msg != "" {
			v.mu.Lock()
			v.violations = append(v.violations, msg)
			v.mu.Unlock()
		}
	})
}

func (v *validator) check(router *mux.Router, r *http.Request, rec *recorder) string {
	where := fmt.Sprintf("%s %s -> %d", r.Method, r.URL.RequestURI(), rec.status)
	if rec.status >= 500 && rec.status != http.StatusServiceUnavailable {
		return fmt.Sprintf("%s: server error: %s", where, rec.body.String())
	}
	if !api.RoutablePath(r.URL.Path) {
		return "" // refused before routing, whatever route it resembles
	}
	var m mux.RouteMatch
	if !router.Match(r, &m) || m.MatchErr != nil {
		return "" // no such route: the JSON 404/405 of the router itself
	}
	tmpl, err := m.Route.GetPathTemplate()
	if err != nil {
		return fmt.Sprintf("%s: %v", where, err)
	}
	item := v.doc.Paths.Value(tmpl)
	if item == nil {
		return fmt.Sprintf("%s: path %s is not in the OpenAPI document", where, tmpl)
	}
	op := item.GetOperation(r.Method)
	if op == nil {
		return fmt.Sprintf("%s: %s %s is not in the OpenAPI document", where, r.Method, tmpl)
	}
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request:    r,
			PathParams: m.Vars,
			Route:      &routers.Route{Spec: v.doc, Path: tmpl, PathItem: item, Method: r.Method, Operation: op},
		},
		Status: rec.status,
		Header: rec.Header(),
		Body:   io.NopCloser(bytes.NewReader(rec.body.Bytes())),
		Options: &openapi3filter.Options{
			IncludeResponseStatus: true,
			MultiError:            true,
		},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), input); err != nil {
		return fmt.Sprintf("%s: response does not match the OpenAPI document: %v\nbody: %s", where, err, truncate(rec.body.String(), 2000))
	}
	return ""
}

func (v *validator) report() {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, msg := range v.violations {
		v.t.Error(msg)
	}
	v.violations = nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
