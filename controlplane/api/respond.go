package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"

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
// rule is asked: a body too large, or too slow to arrive.
type transportError struct {
	status  int
	code    string
	message string
}

func (e *transportError) Error() string { return e.message }

var (
	errBodyTooLarge = &transportError{http.StatusRequestEntityTooLarge, "too_large", "request body too large: the limit is 1 MiB"}
	errBodyTimeout  = &transportError{http.StatusRequestTimeout, "timeout", "request body not received in time"}
)

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
			s.log.ErrorContext(r.Context(), "request failed", "err", err, "request_id", requestIDFrom(r.Context()))
		}
		body.Code = "internal"
		body.Message = "internal server error (request id " + requestIDFrom(r.Context()) + ")"
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="berth"`)
	}
	if routeOf(r).lainEnvelope {
		body.Msg = body.Message
		body.URL = new(string)
	}
	writeJSON(w, status, body)
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
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(v); err != nil {
		return bodyError(err)
	}
	if dec.More() {
		return domain.Invalid("invalid JSON body: unexpected data after the JSON value")
	}
	if _, err := dec.Token(); err != nil && !errors.Is(err, io.EOF) {
		return bodyError(err)
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
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		if typeErr.Field != "" {
			return domain.Invalid("invalid JSON body: field %q must be a %s, not %s", typeErr.Field, jsonKind(typeErr.Type.Kind().String()), typeErr.Value)
		}
		return domain.Invalid("invalid JSON body: expected a JSON %s, got %s", jsonKind(typeErr.Type.Kind().String()), typeErr.Value)
	}
	return domain.Invalid("invalid JSON body: %v", err)
}

func jsonKind(goKind string) string {
	switch goKind {
	case "struct", "map":
		return "object"
	case "slice", "array":
		return "array"
	case "int", "int64", "int32", "uint", "uint64", "float64":
		return "number"
	case "bool":
		return "boolean"
	}
	return goKind
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
