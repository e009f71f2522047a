package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"reflect"
	"strconv"
	"strings"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
)

// maxBodyBytes bounds every request body.
const maxBodyBytes = 1 << 20

// errorBody is the JSON every error response carries. Code is a stable
// machine-readable word; Message is for people; Details lists reasons when
// there are several (one per failing status check, say).
type errorBody struct {
	Code    string   `json:"code"`
	Message string   `json:"message"`
	Details []string `json:"details,omitempty"`
	// Msg and URL repeat the message in lain's envelope on /api/v1 routes.
	Msg string  `json:"msg,omitempty"`
	URL *string `json:"url,omitempty"`
}

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

// transportError is a failure of the request itself, before any domain
// rule is asked: a body too large or too slow to arrive, too many attempts.
type transportError struct {
	status  int
	code    string
	message string
	// retryAfter, in seconds, is sent as Retry-After when set.
	retryAfter int64
}

func (e *transportError) Error() string { return e.message }

var (
	errBodyTooLarge = &transportError{status: http.StatusRequestEntityTooLarge, code: "too_large", message: "request body too large: the limit is 1 MiB"}
	errBodyTimeout  = &transportError{status: http.StatusRequestTimeout, code: "timeout", message: "request body not received in time"}
	errPathTooLong  = &transportError{status: http.StatusRequestURITooLong, code: "too_large", message: "request path too long: the limit is 4096 bytes"}
)

// maxPathBytes bounds a request's (decoded) path.
const maxPathBytes = 4096

// statusOf maps an error to its HTTP status: the one place that does.
func statusOf(err error) int {
	var te *transportError
	if errors.As(err, &te) {
		return te.status
	}
	if st, ok := kindStatus[domain.KindOf(err)]; ok {
		return st
	}
	return http.StatusInternalServerError
}

// codeOf is the machine-readable word of an error's body.
func codeOf(err error) string {
	var te *transportError
	if errors.As(err, &te) {
		return te.code
	}
	return domain.KindOf(err).String()
}

// writeError answers with err. Internal errors are logged, and the client
// sees only that something went wrong and the request id to quote.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status := statusOf(err)
	body := errorBody{Code: codeOf(err), Message: err.Error()}
	var de *domain.Error
	if errors.As(err, &de) {
		body.Message, body.Details = de.Message, de.Details
	}
	if status == http.StatusInternalServerError {
		if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
			// The client went away; nobody reads this answer.
			status = 499
		} else {
			s.log.ErrorContext(r.Context(), "request failed", "err", loggable(err.Error()), "request_id", requestIDFrom(r.Context()))
		}
		body.Code = "internal"
		body.Message = "internal server error (request id " + requestIDFrom(r.Context()) + ")"
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="berth"`)
	}
	var te *transportError
	if errors.As(err, &te) && te.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(te.retryAfter, 10))
	}
	if lainEnvelope(r) {
		body.Msg = body.Message
		body.URL = new(string)
	}
	writeJSON(w, status, body)
}

// lainEnvelope reports whether r's errors carry lain's msg and url: on
// lain's routes, and on paths under lain's prefix that match no route.
func lainEnvelope(r *http.Request) bool {
	if rt := routeOf(r); rt.lainEnvelope || rt.Path != "" {
		return rt.lainEnvelope
	}
	return r.URL.Path == "/api/v1" || strings.HasPrefix(r.URL.Path, "/api/v1/")
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"code":"internal","message":"cannot encode response"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// writeText answers with plain text.
func writeText(w http.ResponseWriter, status int, text string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, text)
}

// decodeJSON reads the request body into v. A missing body, malformed JSON,
// trailing garbage and a body over the size limit are the client's errors.
func decodeJSON(r *http.Request, v any) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return bodyError(err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return jsonBodyError(body, err)
	}
	if dec.More() {
		return domain.Invalid("invalid JSON body: unexpected data after the JSON value")
	}
	if _, err := dec.Token(); err != nil && !errors.Is(err, io.EOF) {
		return jsonBodyError(body, err)
	}
	return nil
}

// decodeOptionalJSON is decodeJSON for routes whose body may be empty.
func decodeOptionalJSON(r *http.Request, v any) error {
	err := decodeJSON(r, v)
	var de *domain.Error
	if errors.As(err, &de) && de.Message == emptyBodyMessage {
		return nil
	}
	return err
}

const emptyBodyMessage = "request body is empty: expected a JSON object"

func bodyError(err error) error {
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return errBodyTooLarge
	case errors.Is(err, io.EOF):
		return domain.Invalid(emptyBodyMessage)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return domain.Invalid("invalid JSON body: unexpected end of input")
	case errors.Is(err, os.ErrDeadlineExceeded):
		// The server's read timeout ran out (a client sending slowly).
		return errBodyTimeout
	}
	return domain.Invalid("invalid JSON body: %v", err)
}

// jsonBodyError is bodyError for an error decoding body, the whole body:
// a value of the wrong type is reported with the path of its field, e.g.
// `field "meta.procs[0].cpu" must be an integer, not a string`.
func jsonBodyError(body []byte, err error) error {
	var typeErr *json.UnmarshalTypeError
	if !errors.As(err, &typeErr) {
		return bodyError(err)
	}
	want := expectedJSON(typeErr.Type)
	got := typeErr.Value
	if n, ok := strings.CutPrefix(got, "number "); ok {
		got = n // a number out of range or with a fraction: show it
	} else {
		got = withArticle(jsonKind(got))
	}
	path, ok := jsonPathAt(body, typeErr.Offset)
	if !ok {
		path = typeErr.Field // the struct fields only, no index nor map key
	}
	if path == "" {
		return domain.Invalid("invalid JSON body: the body must be %s, not %s", want, got)
	}
	return domain.Invalid("invalid JSON body: field %q must be %s, not %s", path, want, got)
}

// jsonExpecter is a type that accepts more than one JSON kind and says so
// in a type error (a release id or version, say).
type jsonExpecter interface{ expectedJSON() string }

// expectedJSON says what a Go type accepts, for a person: "a string", "an
// integer", "an object".
func expectedJSON(t reflect.Type) string {
	if t == nil {
		return "something else"
	}
	if e, ok := reflect.New(t).Interface().(jsonExpecter); ok {
		return e.expectedJSON()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Pointer:
		return expectedJSON(t.Elem())
	}
	return withArticle(jsonKind(t.Kind().String()))
}

// jsonKind names a Go kind, or a decoder's description of a value, as
// JSON does.
func jsonKind(goKind string) string {
	switch goKind {
	case "struct", "map", "object":
		return "object"
	case "slice", "array":
		return "array"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "float32", "float64", "number":
		return "number"
	case "bool":
		return "boolean"
	}
	return goKind
}

func withArticle(kind string) string {
	if kind != "" && strings.ContainsRune("aeiou", rune(kind[0])) {
		return "an " + kind
	}
	return "a " + kind
}

// jsonPathAt finds, in body, the value a type error at offset is about and
// answers its path: `N`, `meta.procs[0].cpu`, `[2].name`, "" for the whole
// body. The decoder reports the offset just past a literal, or just past
// the opening bracket of an object or array: where the first token of the
// value ends.
func jsonPathAt(body []byte, offset int64) (string, bool) {
	type frame struct {
		object bool
		key    string
		index  int
		// wantKey: the next token of this object is a key.
		wantKey bool
	}
	var stack []frame
	path := func() string {
		var b strings.Builder
		for _, f := range stack {
			if f.object {
				if b.Len() > 0 {
					b.WriteByte('.')
				}
				b.WriteString(f.key)
			} else {
				fmt.Fprintf(&b, "[%d]", f.index)
			}
		}
		return b.String()
	}
	// valueDone moves the innermost container past a finished value.
	valueDone := func() {
		if len(stack) == 0 {
			return
		}
		if top := &stack[len(stack)-1]; top.object {
			top.wantKey = true
		} else {
			top.index++
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	for {
		isKey := len(stack) > 0 && stack[len(stack)-1].object && stack[len(stack)-1].wantKey
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			valueDone()
			continue
		}
		if isKey {
			top := &stack[len(stack)-1]
			top.key, top.wantKey = tok.(string), false
			continue
		}
		if dec.InputOffset() == offset {
			return path(), true
		}
		if dec.InputOffset() > offset {
			return "", false
		}
		if d, ok := tok.(json.Delim); ok {
			stack = append(stack, frame{object: d == '{', wantKey: d == '{'})
			continue
		}
		valueDone()
	}
}

// readBody reads a non-JSON body (YAML, text) under the size limit.
func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, bodyError(err)
	}
	return b, nil
}

// nonNil makes a nil list encode as [], as every list on the wire does.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
