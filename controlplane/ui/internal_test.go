package ui

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A server error is a page with the request id and nothing of the cause,
// which goes to the log; a panic becomes that page too.
func TestServerErrorPage(t *testing.T) {
	var logged bytes.Buffer
	s := &Server{log: slog.New(slog.NewTextHandler(&logged, nil)), pages: loadPages()}
	h := s.headers(s.recoverer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ui/panic" {
			panic("secret panic detail")
		}
		s.fail(w, r, nil, errors.New("secret database detail"))
	})))
	for _, path := range []string{"/ui/fail", "/ui/panic"} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("X-Request-Id", "ignored-by-the-console")
		h.ServeHTTP(rec, req)
		body := rec.Body.String()
		id := rec.Header().Get("X-Request-Id")
		if rec.Code != http.StatusInternalServerError || id == "" || !strings.Contains(body, id) || !strings.Contains(body, "Something went wrong") {
			t.Errorf("%s: %d, request id %q:\n%s", path, rec.Code, id, body)
		}
		if strings.Contains(body, "secret") || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
			t.Errorf("%s: the page tells the cause or is not HTML:\n%s", path, body)
		}
		if !strings.Contains(logged.String(), id) {
			t.Errorf("%s: the log lacks the request id %s:\n%s", path, id, logged.String())
		}
	}
	if !strings.Contains(logged.String(), "secret database detail") || !strings.Contains(logged.String(), "secret panic detail") {
		t.Errorf("the log lacks the causes:\n%s", logged.String())
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"":                      "/ui/",
		"/ui/apps?cursor=b":     "/ui/apps?cursor=b",
		"/ui//evil.example":     "/ui//evil.example",
		"//evil.example/ui/":    "/ui/",
		"https://evil.example/": "/ui/",
		"/api/apps":             "/ui/",
		"/ui/\\\\evil":          "/ui/",
		"/ui/a\r\nSet-Cookie:":  "/ui/",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}
