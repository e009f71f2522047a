package berthtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// Call is one raw HTTP request to the server, as a CI job would make it.
type Call struct {
	Method string
	Path   string
	// Token is sent as "Authorization: bearer <token>".
	Token  string
	Header map[string]string
	// Body: []byte and string are sent as they are; anything else as JSON.
	Body any
}

// Response is what the server answered.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	call   string
}

// Do sends c and returns the answer. It fails the test only when the
// request could not be made at all.
func (s *Server) Do(t testing.TB, c Call) *Response {
	t.Helper()
	var body io.Reader
	switch b := c.Body.(type) {
	case nil:
	case []byte:
		body = bytes.NewReader(b)
	case string:
		body = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("encode body: %v", err)
		}
		body = bytes.NewReader(j)
	}
	req, err := http.NewRequest(c.Method, s.URL+c.Path, body)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "bearer "+c.Token)
	}
	for k, v := range c.Header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", c.Method, c.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b, call: c.Method + " " + c.Path}
}

// Req is shorthand for Do with a method, path, token and optional body.
func (s *Server) Req(t testing.TB, method, path, token string, body any) *Response {
	t.Helper()
	return s.Do(t, Call{Method: method, Path: path, Token: token, Body: body})
}

// Expect fails the test unless the status is want; it returns r for
// chaining.
func (r *Response) Expect(t testing.TB, want int) *Response {
	t.Helper()
	if r.Status != want {
		t.Fatalf("%s: status %d, want %d; body: %s", r.call, r.Status, want, r.Body)
	}
	return r
}

// Expect2xx fails the test unless the request succeeded, whichever 2xx
// status the dialect answers it with.
func (r *Response) Expect2xx(t testing.TB) *Response {
	t.Helper()
	if r.Status < 200 || r.Status > 299 {
		t.Fatalf("%s: status %d, want success; body: %s", r.call, r.Status, r.Body)
	}
	return r
}

// JSON decodes the body into v.
func (r *Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("%s: decode %s: %v", r.call, r.Body, err)
	}
}

// Map decodes a JSON object body.
func (r *Response) Map(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	r.JSON(t, &m)
	return m
}

// ErrorMessage returns the message of an error body.
func (r *Response) ErrorMessage(t testing.TB) string {
	t.Helper()
	var e struct {
		Message string `json:"message"`
	}
	r.JSON(t, &e)
	return e.Message
}

// String is the call and its answer, for failure messages.
func (r *Response) String() string { return fmt.Sprintf("%s -> %d %s", r.call, r.Status, r.Body) }

// User is a signed-up, logged-in test user.
type User struct {
	Email    string
	Password string
	Token    string
}

// NewUser signs up a user and logs it in. The sign-up carries the admin's
// token, as an operator provisioning accounts would, so that the limits on
// sign-ups from one address do not hold up tests that make many users.
func (s *Server) NewUser(t testing.TB, email string) *User {
	t.Helper()
	u := &User{Email: email, Password: "password-" + email}
	s.Req(t, http.MethodPost, "/users", s.AdminToken, map[string]string{"email": email, "password": u.Password}).Expect(t, http.StatusOK)
	u.Token = s.Login(t, email, u.Password)
	return u
}

// Login returns a session token.
func (s *Server) Login(t testing.TB, email, password string) string {
	t.Helper()
	var tok struct {
		Token string `json:"token"`
	}
	s.Req(t, http.MethodPost, "/users/"+email+"/tokens", "", map[string]string{"password": password}).Expect(t, http.StatusOK).JSON(t, &tok)
	return tok.Token
}

// NewTeamUser signs up a user who is the sole member of a new team.
func (s *Server) NewTeamUser(t testing.TB, email, team string) *User {
	t.Helper()
	u := s.NewUser(t, email)
	s.Req(t, http.MethodPost, "/teams", u.Token, map[string]string{"name": team}).Expect(t, http.StatusOK)
	return u
}
