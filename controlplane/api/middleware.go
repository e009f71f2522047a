package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"runtime/debug"
	"strings"
	"time"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
)

type requestIDKey struct{}

func requestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

var requestIDRe = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

// requestID tags each request with an id: the client's X-Request-Id when it
// is sane, else a fresh one. It is echoed in the response and logged.
func (s *Server) requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !requestIDRe.MatchString(id) {
			b := make([]byte, 8)
			_, _ = rand.Read(b)
			id = hex.EncodeToString(b)
		}
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
	})
}

// accessInfo collects what the access log line reports, filled in by the
// layers below it.
type accessInfo struct {
	route string
	user  string
}

type accessInfoKey struct{}

func accessInfoFrom(ctx context.Context) *accessInfo {
	info, _ := ctx.Value(accessInfoKey{}).(*accessInfo)
	return info
}

// statusRecorder remembers the status code a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// RequestObserver is told about every finished request (metrics).
type RequestObserver func(method, route string, status int, elapsed time.Duration)

// accessLog writes one line per request.
func (s *Server) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		info := &accessInfo{}
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), accessInfoKey{}, info)))
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		elapsed := time.Since(start)
		for _, o := range s.observers {
			o(r.Method, info.route, rec.status, elapsed)
		}
		if !s.log.Enabled(r.Context(), slog.LevelInfo) {
			return
		}
		attrs := []slog.Attr{
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", rec.status),
			slog.Duration("duration", elapsed),
			slog.String("request_id", requestIDFrom(r.Context())),
		}
		if info.user != "" {
			attrs = append(attrs, slog.String("user", info.user))
		}
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
	})
}

// limitBody caps every request body at maxBodyBytes; reading past it fails
// and the decoders turn that into 413.
func (s *Server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > maxBodyBytes {
			s.writeError(w, r, bodyError(&http.MaxBytesError{Limit: maxBodyBytes}))
			return
		}
		r.Body = http.MaxBytesReader(w, &slowBody{ReadCloser: r.Body, w: w}, maxBodyBytes)
		next.ServeHTTP(w, r)
	})
}

// timeoutAnswerGrace is how long berthd may still take to write its 408
// once a request body did not arrive in time.
const timeoutAnswerGrace = 5 * time.Second

// slowBody gives the answer to a body that timed out time to be written.
// net/http sets the write deadline (--write-timeout) once it has read the
// headers, so with a write timeout no longer than the read timeout (the
// defaults are equal) that deadline has passed when the body's runs out,
// and the 408 would be dropped.
type slowBody struct {
	io.ReadCloser
	w http.ResponseWriter
}

func (b *slowBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		_ = http.NewResponseController(b.w).SetWriteDeadline(time.Now().Add(timeoutAnswerGrace))
	}
	return n, err
}

// refuseUncleanPaths answers a path with an empty, "." or ".." segment
// ("//", "/./", "/../", however encoded) with 400, before routing and
// authentication: such a path names no route, and a client sending one
// has built its URL wrong.
//
// A path longer than maxPathBytes is refused too (414): no route needs
// one, and matching one against every route's pattern is costly.
func (s *Server) refuseUncleanPaths(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.URL.Path) > maxPathBytes {
			s.writeError(w, r, errPathTooLong)
			return
		}
		if !cleanPath(r.URL.Path) {
			s.writeError(w, r, domain.Invalid("invalid path %s: it has an empty, \".\" or \"..\" segment", domain.Quote(r.URL.Path)))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// RoutablePath reports whether a request with the (decoded) path p gets
// past refuseUncleanPaths to the routes.
func RoutablePath(p string) bool { return len(p) <= maxPathBytes && cleanPath(p) }

// cleanPath reports whether p, a request's decoded path, has no empty,
// "." or ".." segment (a trailing slash is fine: lain's paths end in one).
func cleanPath(p string) bool {
	if !strings.HasPrefix(p, "/") {
		return false
	}
	for rest := p[1:]; ; {
		seg, after, more := strings.Cut(rest, "/")
		if seg == "." || seg == ".." || (seg == "" && more) {
			return false
		}
		if !more {
			return true
		}
		rest = after
	}
}

// recoverer turns a panic in a handler into a logged 500 instead of a
// dropped connection.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic serving request", "panic", loggable(fmt.Sprint(v)), "path", r.URL.Path, "stack", string(debug.Stack()))
				s.writeError(w, r, fmt.Errorf("panic: %v", v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}
