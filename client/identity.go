package client

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// UsersService covers sign-up, login and the caller's account (tsuru 1.7).
type UsersService service

// UserInfo is who a credential belongs to.
type UserInfo struct {
	Email string   `json:"Email"`
	Teams []string `json:"Teams"`
	Admin bool     `json:"Admin"`
}

// Create signs a user up.
func (s *UsersService) Create(ctx context.Context, email, password string) (*Response, error) {
	body := map[string]string{"email": email, "password": password}
	return s.client.do(ctx, request{method: http.MethodPost, path: "/users", body: body, cred: credNone}, nil)
}

// Login returns a session token; long asks for a 30-day session.
func (s *UsersService) Login(ctx context.Context, email, password string, long bool) (string, *Response, error) {
	var out struct {
		Token string `json:"token"`
	}
	body := map[string]any{"password": password, "long": long}
	resp, err := s.client.do(ctx, request{method: http.MethodPost, path: path("/users/%s/tokens", email), body: body, cred: credNone}, &out)
	return out.Token, resp, err
}

// Logout revokes the client's token.
func (s *UsersService) Logout(ctx context.Context) (*Response, error) {
	return s.client.do(ctx, request{method: http.MethodDelete, path: "/users/tokens"}, nil)
}

// Info returns the caller.
func (s *UsersService) Info(ctx context.Context) (*UserInfo, *Response, error) {
	var out UserInfo
	resp, err := s.client.do(ctx, request{method: http.MethodGet, path: "/users/info"}, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// ChangePassword replaces the caller's password.
func (s *UsersService) ChangePassword(ctx context.Context, oldPassword, newPassword string) (*Response, error) {
	body := map[string]string{"old": oldPassword, "new": newPassword}
	return s.client.do(ctx, request{method: http.MethodPut, path: "/users/password", body: body}, nil)
}

// Delete removes the caller's account.
func (s *UsersService) Delete(ctx context.Context) (*Response, error) {
	return s.client.do(ctx, request{method: http.MethodDelete, path: "/users"}, nil)
}

// ListKeys returns the caller's SSH keys by name.
func (s *UsersService) ListKeys(ctx context.Context) (map[string]string, *Response, error) {
	out := map[string]string{}
	resp, err := s.client.do(ctx, request{method: http.MethodGet, path: "/users/keys"}, &out)
	return out, resp, err
}

// AddKey registers an SSH public key; name may be empty.
func (s *UsersService) AddKey(ctx context.Context, name, key string) (*Response, error) {
	return s.client.do(ctx, request{method: http.MethodPost, path: "/users/keys", body: map[string]string{"name": name, "key": key}}, nil)
}

// RemoveKey removes an SSH key given by content.
func (s *UsersService) RemoveKey(ctx context.Context, key string) (*Response, error) {
	return s.client.do(ctx, request{method: http.MethodDelete, path: "/users/keys", body: map[string]string{"key": key}}, nil)
}

// PasswordReset is the answer of a reset request: Token is only set when an
// admin asked, Password only when a token was redeemed.
type PasswordReset struct {
	Email    string `json:"email"`
	Message  string `json:"message,omitempty"`
	Token    string `json:"token,omitempty"`
	Password string `json:"password,omitempty"`
}

// RequestPasswordReset issues a reset token for email.
func (s *UsersService) RequestPasswordReset(ctx context.Context, email string) (*PasswordReset, *Response, error) {
	var out PasswordReset
	resp, err := s.client.do(ctx, request{method: http.MethodPost, path: path("/users/%s/password", email)}, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// ResetPassword redeems a reset token; the answer carries the new password.
func (s *UsersService) ResetPassword(ctx context.Context, email, token string) (*PasswordReset, *Response, error) {
	var out PasswordReset
	q := url.Values{"token": {token}}
	resp, err := s.client.do(ctx, request{method: http.MethodPost, path: path("/users/%s/password", email), query: q, cred: credNone}, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// TeamsService manages teams (tsuru 1.8).
type TeamsService service

// Team is a team and its members.
type Team struct {
	Name  string   `json:"name"`
	Users []string `json:"users"`
}

// List returns the caller's teams (all teams for admins), names only.
func (s *TeamsService) List(ctx context.Context) ([]Team, *Response, error) {
	var out []Team
	resp, err := s.client.do(ctx, request{method: http.MethodGet, path: "/teams"}, &out)
	return out, resp, err
}

// Get returns a team with its members.
func (s *TeamsService) Get(ctx context.Context, name string) (*Team, *Response, error) {
	var out Team
	resp, err := s.client.do(ctx, request{method: http.MethodGet, path: path("/teams/%s", name)}, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// Create creates a team whose only member is the caller.
func (s *TeamsService) Create(ctx context.Context, name string) (*Team, *Response, error) {
	var out Team
	resp, err := s.client.do(ctx, request{method: http.MethodPost, path: "/teams", body: map[string]string{"name": name}}, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// Delete removes a team.
func (s *TeamsService) Delete(ctx context.Context, name string) (*Response, error) {
	return s.client.do(ctx, request{method: http.MethodDelete, path: path("/teams/%s", name)}, nil)
}

// AddMember adds a user to a team.
func (s *TeamsService) AddMember(ctx context.Context, team, email string) (*Team, *Response, error) {
	var out Team
	resp, err := s.client.do(ctx, request{method: http.MethodPut, path: path("/teams/%s/%s", team, email)}, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// RemoveMember removes a user from a team.
func (s *TeamsService) RemoveMember(ctx context.Context, team, email string) (*Team, *Response, error) {
	var out Team
	resp, err := s.client.do(ctx, request{method: http.MethodDelete, path: path("/teams/%s/%s", team, email)}, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// TokensService manages app tokens for automation (tsuru 1.9).
type TokensService service

// AppToken is an app token; Token (the secret) is only set on creation.
type AppToken struct {
	ID       string `json:"Id"`
	Token    string `json:"Token,omitempty"`
	Creation string `json:"Creation"`
	Expires  int64  `json:"Expires"`
	AppName  string `json:"AppName"`
}

// Create issues an app token; expires 0 means it never expires.
func (s *TokensService) Create(ctx context.Context, app string, expires time.Duration) (*AppToken, *Response, error) {
	var out AppToken
	body := map[string]any{"app": app, "expires": int64(expires / time.Second)}
	resp, err := s.client.do(ctx, request{method: http.MethodPost, path: "/tokens", body: body}, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// List returns the caller's app tokens without their secrets.
func (s *TokensService) List(ctx context.Context) ([]AppToken, *Response, error) {
	var out []AppToken
	resp, err := s.client.do(ctx, request{method: http.MethodGet, path: "/tokens"}, &out)
	return out, resp, err
}

// Revoke deletes an app token by id.
func (s *TokensService) Revoke(ctx context.Context, id string) (*Response, error) {
	return s.client.do(ctx, request{method: http.MethodDelete, path: path("/tokens/%s", id)}, nil)
}
