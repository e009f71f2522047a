package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Error is a non-2xx answer from berthd.
type Error struct {
	StatusCode int
	Method     string
	Path       string
	// Code is the server's machine-readable error code (not_found, ...).
	Code    string
	Message string
	// Details lists the reasons when there are several (failing checks).
	Details   []string
	RequestID string
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.StatusCode)
	}
	s := fmt.Sprintf("%s %s: %d %s", e.Method, e.Path, e.StatusCode, msg)
	if len(e.Details) > 0 {
		s += ": " + strings.Join(e.Details, "; ")
	}
	return s
}

// maxErrorBody caps how much of an error body is read.
const maxErrorBody = 64 << 10

func newError(resp *http.Response, method, path string) *Error {
	e := &Error{StatusCode: resp.StatusCode, Method: method, Path: path, RequestID: resp.Header.Get("X-Request-Id")}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var body struct {
		Code    string   `json:"code"`
		Message string   `json:"message"`
		Msg     string   `json:"msg"`
		Details []string `json:"details"`
	}
	if json.Unmarshal(b, &body) == nil && (body.Message != "" || body.Msg != "") {
		e.Code, e.Message, e.Details = body.Code, body.Message, body.Details
		if e.Message == "" {
			e.Message = body.Msg
		}
	} else {
		e.Message = strings.TrimSpace(string(b))
	}
	return e
}

// StatusCode returns the HTTP status of an *Error in err's chain, or 0.
func StatusCode(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.StatusCode
	}
	return 0
}

// IsNotFound reports whether err is a 404 from the server.
func IsNotFound(err error) bool { return StatusCode(err) == http.StatusNotFound }

// IsConflict reports whether err is a 409 from the server.
func IsConflict(err error) bool { return StatusCode(err) == http.StatusConflict }

// IsUnauthorized reports whether err is a 401 from the server.
func IsUnauthorized(err error) bool { return StatusCode(err) == http.StatusUnauthorized }

// IsForbidden reports whether err is a 403 from the server.
func IsForbidden(err error) bool { return StatusCode(err) == http.StatusForbidden }
