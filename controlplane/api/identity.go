package api

import (
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
)

// Identity routes: tsuru sections 1.7 Users, 1.8 Teams and 1.9 Tokens.
func (s *Server) identityRoutes() {
	s.handle(http.MethodPost, "/users", AuthNone, s.createUser)
	s.handle(http.MethodDelete, "/users", AuthUser, s.deleteUser)
	s.handle(http.MethodGet, "/users/info", AuthUser, s.userInfo)
	s.handle(http.MethodDelete, "/users/tokens", AuthUser, s.logout)
	s.handle(http.MethodPut, "/users/password", AuthUser, s.changePassword)
	s.handle(http.MethodGet, "/users/keys", AuthUser, s.listKeys)
	s.handle(http.MethodPost, "/users/keys", AuthUser, s.addKey)
	s.handle(http.MethodDelete, "/users/keys", AuthUser, s.removeKey)
	s.handle(http.MethodPost, "/users/{email}/password", AuthNone, s.resetPassword)
	s.handle(http.MethodPost, "/users/{email}/tokens", AuthNone, s.login)

	s.handle(http.MethodGet, "/teams", AuthUser, s.listTeams)
	s.handle(http.MethodPost, "/teams", AuthUser, s.createTeam)
	s.handle(http.MethodGet, "/teams/{team}", AuthUser, s.getTeam)
	s.handle(http.MethodDelete, "/teams/{team}", AuthUser, s.deleteTeam)
	s.handle(http.MethodPut, "/teams/{team}/{user}", AuthUser, s.addTeamMember)
	s.handle(http.MethodDelete, "/teams/{team}/{user}", AuthUser, s.removeTeamMember)

	s.handle(http.MethodPost, "/tokens", AuthUser, s.createAppToken)
	s.handle(http.MethodGet, "/tokens", AuthUser, s.listAppTokens)
	s.handle(http.MethodDelete, "/tokens/{id}", AuthUser, s.revokeAppToken)
}

type userRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) error {
	var req userRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if _, err := s.authAttempt(r, req.Email); err != nil {
		return err
	}
	u, err := s.core.Identity.CreateUser(r.Context(), req.Email, req.Password)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"email": u.Email})
	return nil
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request) error {
	if err := s.core.Identity.DeleteUser(r.Context(), identity(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

type userInfo struct {
	Email string   `json:"Email"`
	Teams []string `json:"Teams"`
	Admin bool     `json:"Admin"`
}

func (s *Server) userInfo(w http.ResponseWriter, r *http.Request) error {
	id := identity(r)
	writeJSON(w, http.StatusOK, userInfo{Email: id.Email(), Teams: nonNil(id.Teams), Admin: id.IsAdmin()})
	return nil
}

type loginRequest struct {
	Password string `json:"password"`
	// Long asks for a long-lived session (30 days) instead of one hour.
	Long bool `json:"long"`
}

type loginResponse struct {
	Token string `json:"token"`
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	var req loginRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	email := mux.Vars(r)["email"]
	attempt, err := s.authAttempt(r, email)
	if err != nil {
		return err
	}
	tok, err := s.core.Identity.Login(r.Context(), email, req.Password, req.Long)
	attempt.done(err == nil)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, loginResponse{Token: tok})
	return nil
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	if err := s.core.Identity.Logout(r.Context(), identity(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

type changePasswordRequest struct {
	Old string `json:"old"`
	New string `json:"new"`
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) error {
	var req changePasswordRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := s.core.Identity.ChangePassword(r.Context(), identity(r), req.Old, req.New); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// resetPassword is tsuru's two-step reset. Without ?token= it issues a reset
// token: the server logs it for the operator, and an admin calling with a
// bearer token gets it in the answer. With ?token= it checks the token and
// answers with a new random password.
func (s *Server) resetPassword(w http.ResponseWriter, r *http.Request) error {
	email := mux.Vars(r)["email"]
	if _, err := s.authAttempt(r, email); err != nil {
		return err
	}
	if token := r.URL.Query().Get("token"); token != "" {
		password, err := s.core.Identity.ResetPassword(r.Context(), email, token)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]string{"email": email, "password": password})
		return nil
	}
	token, err := s.core.Identity.RequestPasswordReset(r.Context(), email)
	if err != nil {
		return err
	}
	s.log.Info("password reset token issued", "email", email, "reset_token", token)
	resp := map[string]string{"email": email, "message": "a password reset token was issued; an administrator can hand it to you"}
	if id, err := s.core.Identity.Authenticate(r.Context(), bearerToken(r)); err == nil && id.IsAdmin() {
		resp["token"] = token
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

type keyRequest struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

func (s *Server) listKeys(w http.ResponseWriter, r *http.Request) error {
	keys, err := s.core.Identity.Keys(r.Context(), identity(r))
	if err != nil {
		return err
	}
	out := make(map[string]string, len(keys))
	for _, k := range keys {
		out[k.Name] = k.Key
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) addKey(w http.ResponseWriter, r *http.Request) error {
	var req keyRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := s.core.Identity.AddKey(r.Context(), identity(r), req.Name, req.Key); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) removeKey(w http.ResponseWriter, r *http.Request) error {
	var req keyRequest
	if err := decodeOptionalJSON(r, &req); err != nil {
		return err
	}
	if req.Key == "" && req.Name == "" {
		req.Key, req.Name = r.URL.Query().Get("key"), r.URL.Query().Get("name")
	}
	if err := s.core.Identity.RemoveKey(r.Context(), identity(r), req.Name, req.Key); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

type teamJSON struct {
	Name  string   `json:"name"`
	Users []string `json:"users"`
}

type teamSummary struct {
	Name string `json:"name"`
}

func teamToJSON(t *domain.Team) teamJSON {
	return teamJSON{Name: t.Name, Users: nonNil(t.Members)}
}

func (s *Server) listTeams(w http.ResponseWriter, r *http.Request) error {
	teams, err := s.core.Identity.ListTeams(r.Context(), identity(r))
	if err != nil {
		return err
	}
	out := make([]teamSummary, len(teams))
	for i, t := range teams {
		out[i] = teamSummary{Name: t.Name}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) createTeam(w http.ResponseWriter, r *http.Request) error {
	var req teamSummary
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	t, err := s.core.Identity.CreateTeam(r.Context(), identity(r), req.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, teamToJSON(t))
	return nil
}

func (s *Server) getTeam(w http.ResponseWriter, r *http.Request) error {
	t, err := s.core.Identity.Team(r.Context(), identity(r), mux.Vars(r)["team"])
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, teamToJSON(t))
	return nil
}

func (s *Server) deleteTeam(w http.ResponseWriter, r *http.Request) error {
	if err := s.core.Identity.DeleteTeam(r.Context(), identity(r), mux.Vars(r)["team"]); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) addTeamMember(w http.ResponseWriter, r *http.Request) error {
	v := mux.Vars(r)
	t, err := s.core.Identity.AddTeamMember(r.Context(), identity(r), v["team"], v["user"])
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, teamToJSON(t))
	return nil
}

func (s *Server) removeTeamMember(w http.ResponseWriter, r *http.Request) error {
	v := mux.Vars(r)
	t, err := s.core.Identity.RemoveTeamMember(r.Context(), identity(r), v["team"], v["user"])
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, teamToJSON(t))
	return nil
}

type appTokenRequest struct {
	App string `json:"app"`
	// Expires is the lifetime in seconds; 0 or absent means never.
	Expires int64 `json:"expires"`
}

// appTokenJSON is tsuru's token shape; Token is only ever sent at creation.
type appTokenJSON struct {
	ID       string `json:"Id"`
	Token    string `json:"Token,omitempty"`
	Creation string `json:"Creation"`
	Expires  int64  `json:"Expires"`
	AppName  string `json:"AppName"`
}

func appTokenToJSON(t *domain.AppToken, secret string) appTokenJSON {
	var expires int64
	if !t.ExpiresAt.IsZero() {
		expires = int64(t.ExpiresAt.Sub(t.CreatedAt) / time.Second)
	}
	return appTokenJSON{ID: t.ID, Token: secret, Creation: t.CreatedAt.Format(time.RFC3339), Expires: expires, AppName: t.AppName}
}

func (s *Server) createAppToken(w http.ResponseWriter, r *http.Request) error {
	var req appTokenRequest
	if err := decodeOptionalJSON(r, &req); err != nil {
		return err
	}
	secret, t, err := s.core.Identity.CreateAppToken(r.Context(), identity(r), req.App, req.Expires)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, appTokenToJSON(t, secret))
	return nil
}

func (s *Server) listAppTokens(w http.ResponseWriter, r *http.Request) error {
	tokens, err := s.core.Identity.AppTokens(r.Context(), identity(r))
	if err != nil {
		return err
	}
	out := make([]appTokenJSON, len(tokens))
	for i, t := range tokens {
		out[i] = appTokenToJSON(t, "")
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) revokeAppToken(w http.ResponseWriter, r *http.Request) error {
	if err := s.core.Identity.RevokeAppToken(r.Context(), identity(r), mux.Vars(r)["id"]); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
