package ui

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/berthdev/terraform-provider-berth/controlplane/core"
	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
)

// Cookies of the console. Both are HttpOnly, SameSite=Strict, limited to
// the console's path, and Secure over TLS (or with Options.SecureCookies).
const (
	// sessionCookie holds the session token core.Identity.Login issued:
	// the same session, rules and expiry as the API's.
	sessionCookie = "berth_session"
	// signInCookie holds a random value the sign-in form repeats in a
	// hidden field (double submit): a page elsewhere can neither read it
	// nor, the cookie being SameSite=Strict, have the browser send it.
	signInCookie = "berth_signin"
)

// maxFormBytes bounds a form's body; the console's forms are a few fields.
const maxFormBytes = 64 << 10

// csrfField is the hidden field of every form that carries its token.
const csrfField = "csrf"

var (
	errMethod      = &domain.Error{Kind: domain.KindInvalid, Message: "this page does not accept that method"}
	errCrossOrigin = domain.Forbidden("the form was sent from another site: open the console and send it from there")
	errFormToken   = domain.Forbidden("the form has expired or did not come from this console: go back, reload the page and send it again")
	errSignedOut   = domain.Unauthorized("sign in to see this page")
)

func (s *Server) cookie(r *http.Request, name, value string, expires time.Time) *http.Cookie {
	c := &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     Prefix,
		HttpOnly: true,
		Secure:   r.TLS != nil || s.opts.SecureCookies,
		SameSite: http.SameSiteStrictMode,
	}
	switch {
	case value == "":
		c.MaxAge = -1
	case !expires.IsZero():
		c.Expires = expires.UTC()
	}
	return c
}

// signedIn authenticates the session cookie through core.Identity, as the
// API authenticates a bearer token. A cookie that no longer works is
// cleared.
func (s *Server) signedIn(w http.ResponseWriter, r *http.Request) (*visit, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil, errSignedOut
	}
	id, err := s.core.Identity.Authenticate(r.Context(), c.Value)
	if err == nil && !core.IsSession(id) {
		err = errSignedOut
	}
	if err != nil {
		if domain.KindOf(err) == domain.KindUnauthorized {
			http.SetCookie(w, s.cookie(r, sessionCookie, "", time.Time{}))
			return nil, domain.Unauthorized("your session has ended: sign in again")
		}
		return nil, err
	}
	return &visit{id: id, csrf: s.core.Identity.FormToken(id)}, nil
}

// readForm parses a bounded form body and checks its anti-forgery token:
// the session's form token (core.Identity.FormToken), or on the sign-in
// form the double-submit cookie.
func (s *Server) readForm(w http.ResponseWriter, r *http.Request, v *visit) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return errTooLarge
		}
		return domain.Invalid("the form could not be read: %s", clip(err.Error(), 200))
	}
	token := r.PostForm.Get(csrfField)
	if v != nil {
		if !s.core.Identity.CheckFormToken(v.id, token) {
			return errFormToken
		}
		return nil
	}
	c, err := r.Cookie(signInCookie)
	if err != nil || c.Value == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(token)) != 1 {
		return errFormToken
	}
	return nil
}

var errTooLarge = &tooLarge{}

// tooLarge is a form over maxFormBytes (413).
type tooLarge struct{}

func (*tooLarge) Error() string { return "the form is too large" }

// signInToken returns the sign-in form's double-submit value, setting its
// cookie when the browser has none.
func (s *Server) signInToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(signInCookie); err == nil && len(c.Value) == 32 {
		return c.Value
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	token := hex.EncodeToString(b)
	http.SetCookie(w, s.cookie(r, signInCookie, token, time.Time{}))
	return token
}

type signInData struct {
	Email   string
	Next    string
	Token   string
	Problem string
}

// signInPage shows the sign-in form; a signed-in visitor goes on to the
// console.
func (s *Server) signInPage(w http.ResponseWriter, r *http.Request, _ *visit) error {
	next := safeNext(r.URL.Query().Get("next"))
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		if _, err := s.signedIn(w, r); err == nil {
			http.Redirect(w, r, next, http.StatusSeeOther)
			return nil
		}
	}
	return s.renderSignIn(w, r, http.StatusOK, signInData{Next: next})
}

func (s *Server) renderSignIn(w http.ResponseWriter, r *http.Request, status int, d signInData) error {
	d.Token = s.signInToken(w, r)
	if d.Next == "" {
		d.Next = Prefix
	}
	return s.render(w, r, nil, status, "signin", "Sign in", d)
}

// signIn checks e-mail and password with core.Identity.Login (the API's
// login) and keeps the session in the session cookie. Unknown address and
// wrong password get the same answer.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request, _ *visit) error {
	email := strings.TrimSpace(r.PostForm.Get("email"))
	password := r.PostForm.Get("password")
	d := signInData{Email: clip(email, 254), Next: safeNext(r.PostForm.Get("next"))}
	if email == "" || password == "" {
		d.Problem = "Enter your e-mail address and your password."
		return s.renderSignIn(w, r, http.StatusBadRequest, d)
	}
	done := func(bool) {}
	if s.opts.SignInAttempt != nil {
		var err error
		if done, err = s.opts.SignInAttempt(r, email); err != nil {
			return err
		}
	}
	token, err := s.core.Identity.Login(r.Context(), email, password, false)
	done(err == nil)
	if err != nil {
		switch domain.KindOf(err) {
		case domain.KindNotFound, domain.KindUnauthorized, domain.KindInvalid:
			d.Problem = "Wrong e-mail address or password."
			return s.renderSignIn(w, r, http.StatusUnauthorized, d)
		}
		return err
	}
	id, err := s.core.Identity.Authenticate(r.Context(), token)
	if err != nil {
		return err
	}
	http.SetCookie(w, s.cookie(r, sessionCookie, token, id.ExpiresAt))
	http.SetCookie(w, s.cookie(r, signInCookie, "", time.Time{}))
	http.Redirect(w, r, d.Next, http.StatusSeeOther)
	return nil
}

// signOut revokes the session (core.Identity.Logout, as the API's
// DELETE /users/tokens) and clears the cookie.
func (s *Server) signOut(w http.ResponseWriter, r *http.Request, v *visit) error {
	if err := s.core.Identity.Logout(r.Context(), v.id); err != nil {
		return err
	}
	http.SetCookie(w, s.cookie(r, sessionCookie, "", time.Time{}))
	http.Redirect(w, r, Prefix+"signin", http.StatusSeeOther)
	return nil
}

// safeNext keeps a sign-in's "next" inside the console: a path under
// Prefix, never another site (//evil, /\evil, https://evil).
func safeNext(next string) string {
	if next == "" || len(next) > 2048 || !strings.HasPrefix(next, Prefix) || strings.ContainsAny(next, "\\\r\n\t") {
		return Prefix
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || strings.HasPrefix(u.Path, "//") {
		return Prefix
	}
	return next
}

// clip cuts s to at most n bytes (for echoes of what a visitor typed).
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
