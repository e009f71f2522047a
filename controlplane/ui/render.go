package ui

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pages are the parsed templates, one set per page, and the static
// assets with the digests their URLs carry.
type pages struct {
	sets    map[string]*template.Template
	assets  map[string][]byte
	digests map[string]string
}

// pageNames are the templates under templates/ besides the layout and the
// shared parts.
var pageNames = []string{"signin", "error", "apps", "app", "pipelines", "pipeline", "promotion", "projects", "project", "teams", "users", "healers", "healer-run"}

func loadPages() *pages {
	p := &pages{sets: map[string]*template.Template{}, assets: map[string][]byte{}, digests: map[string]string{}}
	entries, err := fs.ReadDir(staticFS, "static")
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		b, err := staticFS.ReadFile("static/" + e.Name())
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(b)
		p.assets[e.Name()] = b
		p.digests[e.Name()] = hex.EncodeToString(sum[:6])
	}
	funcs := template.FuncMap{
		"asset": func(name string) (string, error) {
			d, ok := p.digests[name]
			if !ok {
				return "", fmt.Errorf("no static asset %q", name)
			}
			return Prefix + "static/" + name + "?v=" + d, nil
		},
		"path":     pathEscape,
		"query":    url.QueryEscape,
		"when":     when,
		"ago":      ago,
		"unitword": unitWord,
		"short":    func(s string, n int) string { return clip(s, n) },
	}
	for _, name := range pageNames {
		p.sets[name] = template.Must(template.New("").Funcs(funcs).ParseFS(templateFS,
			"templates/layout.html", "templates/parts.html", "templates/"+name+".html"))
	}
	return p
}

// pageView is what the layout renders around every page.
type pageView struct {
	Title     string
	Me        *domain.Identity
	CSRF      string
	RequestID string
	// Live, when set, makes the page poll its state and refresh itself.
	Live *liveView
	Data any
}

// liveView is a live page's state URL and the version of what it shows.
type liveView struct {
	URL     string
	Version string
}

// render writes one page. It renders into a buffer first, so that a
// template failure becomes the 500 page rather than half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, v *visit, status int, name, title string, data any) error {
	return s.renderLive(w, r, v, status, name, title, data, nil)
}

func (s *Server) renderLive(w http.ResponseWriter, r *http.Request, v *visit, status int, name, title string, data any, live *liveView) error {
	view := pageView{Title: title, RequestID: requestID(w), Data: data, Live: live}
	if v != nil {
		view.Me, view.CSRF = v.id, v.csrf
	}
	var buf bytes.Buffer
	if err := s.pages.sets[name].ExecuteTemplate(&buf, "layout", view); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
	return nil
}

// StatusError is a refusal with its own status code, outside the domain's
// kinds (too many sign-in attempts, a form too large, a wrong method).
type StatusError struct {
	Status  int
	Message string
	// RetryAfter, in seconds, is sent as Retry-After when positive.
	RetryAfter int64
}

func (e *StatusError) Error() string { return e.Message }

var kindStatus = map[domain.Kind]int{
	domain.KindInvalid:       http.StatusBadRequest,
	domain.KindUnauthorized:  http.StatusUnauthorized,
	domain.KindForbidden:     http.StatusForbidden,
	domain.KindNotFound:      http.StatusNotFound,
	domain.KindConflict:      http.StatusConflict,
	domain.KindPrecondition:  http.StatusPreconditionFailed,
	domain.KindUnprocessable: http.StatusUnprocessableEntity,
	domain.KindUnavailable:   http.StatusServiceUnavailable,
}

func statusOf(err error) int {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status
	}
	if errors.Is(err, errTooLarge) {
		return http.StatusRequestEntityTooLarge
	}
	if errors.Is(err, errMethod) {
		return http.StatusMethodNotAllowed
	}
	if st, ok := kindStatus[domain.KindOf(err)]; ok {
		return st
	}
	return http.StatusInternalServerError
}

type errorView struct {
	Status    int
	Heading   string
	Message   string
	Details   []string
	RequestID string
}

var headings = map[int]string{
	http.StatusBadRequest:            "That did not work",
	http.StatusForbidden:             "Not allowed",
	http.StatusNotFound:              "Not found",
	http.StatusMethodNotAllowed:      "Not allowed",
	http.StatusConflict:              "That did not work",
	http.StatusPreconditionFailed:    "That did not work",
	http.StatusRequestEntityTooLarge: "Too much",
	http.StatusUnprocessableEntity:   "That did not work",
	http.StatusTooManyRequests:       "Too many attempts",
	http.StatusServiceUnavailable:    "Not available right now",
}

// fail answers an error as a page a person reads: a signed-out visitor
// gets the sign-in page (401), a refusal says what was refused, and a
// server error says only that it happened, with the request id the log has
// the cause under.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, v *visit, err error) {
	status := statusOf(err)
	if status == http.StatusUnauthorized {
		next := Prefix
		if r.Method == http.MethodGet {
			next = r.URL.RequestURI()
		}
		msg := "Sign in to see this page."
		if !errors.Is(err, errSignedOut) {
			msg = "Your session has ended: sign in again."
		}
		if rerr := s.renderSignIn(w, r, status, signInData{Next: safeNext(next), Problem: msg}); rerr != nil {
			s.plainFail(w, r, rerr)
		}
		return
	}
	view := errorView{Status: status, Heading: headings[status], Message: err.Error(), RequestID: requestID(w)}
	var de *domain.Error
	if errors.As(err, &de) {
		view.Message, view.Details = de.Message, de.Details
	}
	var se *StatusError
	if errors.As(err, &se) && se.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(se.RetryAfter, 10))
	}
	if status >= 500 && status != http.StatusServiceUnavailable {
		if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
			return // the visitor went away
		}
		s.log.ErrorContext(r.Context(), "console page failed", "err", err, "path", r.URL.Path, "request_id", requestID(w))
		view.Heading = "Something went wrong"
		view.Message = "berthd could not answer this page. The server's log says why, under the request id below."
		view.Details = nil
	}
	if view.Heading == "" {
		view.Heading = http.StatusText(status)
	}
	if rerr := s.render(w, r, v, status, "error", view.Heading, view); rerr != nil {
		s.plainFail(w, r, rerr)
	}
}

// plainFail is the answer when even the error page cannot be rendered.
func (s *Server) plainFail(w http.ResponseWriter, r *http.Request, err error) {
	s.log.ErrorContext(r.Context(), "console error page failed", "err", err, "request_id", requestID(w))
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = fmt.Fprintf(w, "berthd could not answer this page (request id %s)\n", requestID(w))
}

// static serves an embedded asset. A URL with the asset's digest may be
// cached for good; any other only briefly.
func (s *Server) static(w http.ResponseWriter, r *http.Request, _ *visit) error {
	name := mux.Vars(r)["file"]
	b, ok := s.pages.assets[name]
	if !ok {
		return domain.NotFound("there is no page at %s", r.URL.Path)
	}
	types := map[string]string{".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"}
	w.Header().Set("Content-Type", types[path.Ext(name)])
	if r.URL.Query().Get("v") == s.pages.digests[name] {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "public, max-age=60")
	}
	_, _ = w.Write(b)
	return nil
}

// pathEscape escapes one path segment (app names may hold dots, e-mail
// addresses an @).
func pathEscape(s string) string { return url.PathEscape(s) }

func when(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// ago says how long ago (or, for a future time, in how long) t is.
func ago(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	d := time.Since(t)
	suffix := " ago"
	if d < 0 {
		d, suffix = -d, " from now"
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds%s", int(d.Seconds()), suffix)
	case d < time.Hour:
		return fmt.Sprintf("%dm%s", int(d.Minutes()), suffix)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%s", int(d.Hours()), suffix)
	}
	return fmt.Sprintf("%dd%s", int(d.Hours()/24), suffix)
}

func unitWord(n int) string {
	if n == 1 {
		return "1 unit"
	}
	return strconv.Itoa(n) + " units"
}
