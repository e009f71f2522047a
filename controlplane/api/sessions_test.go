package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/berthdev/terraform-provider-berth/controlplane/store"
	"github.com/berthdev/terraform-provider-berth/internal/berthtest"
)

// TestSessionsEndWithTheAccount: deleting a user ends all of its sessions
// and app tokens, not only the credential that asked, and none of them
// comes back for a new account made later with the same address (in any
// case).
func TestSessionsEndWithTheAccount(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewUser(t, "ana@example.com")
	other := srv.Login(t, ana.Email, ana.Password)
	var long struct{ Token string }
	srv.Req(t, "POST", "/users/ana@example.com/tokens", "", map[string]any{"password": ana.Password, "long": true}).Expect(t, 200).JSON(t, &long)
	var tok struct{ Token string }
	srv.Req(t, "POST", "/tokens", ana.Token, nil).Expect(t, 200).JSON(t, &tok)

	srv.Req(t, "DELETE", "/users", ana.Token, nil).Expect(t, 200)
	for name, cred := range map[string]string{"the session that asked": ana.Token, "another session": other, "a long session": long.Token, "an app token": tok.Token} {
		if r := srv.Req(t, "GET", "/users/info", cred, nil); r.Status != 401 {
			t.Errorf("%s of the deleted account: %s", name, r)
		}
	}

	// A new account with the same address: the old credentials are not its
	// own.
	again := srv.NewTeamUser(t, "ana@example.com", "devs")
	srv.Req(t, "POST", "/apps", again.Token, map[string]string{"name": "secret-app", "platform": "go"}).Expect(t, 200)
	for name, cred := range map[string]string{"another session": other, "a long session": long.Token, "an app token": tok.Token} {
		if r := srv.Req(t, "GET", "/apps", cred, nil); r.Status != 401 {
			t.Errorf("%s of the deleted account, on the new account's apps: %s", name, r)
		}
	}
	srv.Req(t, "GET", "/apps/secret-app", again.Token, nil).Expect(t, 200)
}

// TestSessionsFromBeforeUserIDsAreRefused: a session signed with the
// server's key but without the user id claim (issued by a berthd before
// sessions carried it) is refused: its holder logs in again.
func TestSessionsFromBeforeUserIDsAreRefused(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewUser(t, "ana@example.com")
	var key []byte
	if err := srv.Instance().Store.View(context.Background(), func(tx *store.Tx) (err error) {
		key, err = tx.SigningKey()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	old, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{
		Issuer: "berth", Subject: ana.Email, ID: "old-session", IssuedAt: jwt.NewNumericDate(time.Now()), ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour)),
	}).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	srv.Req(t, "GET", "/users/info", old, nil).Expect(t, 401)
	srv.Req(t, "GET", "/users/info", ana.Token, nil).Expect(t, 200)
}

// TestPasswordChangeEndsOtherSessions: changing the password ends every
// other session of the user; the session that changed it goes on, and so
// do app tokens, which are not passwords. Changing it with an app token
// ends every session.
func TestPasswordChangeEndsOtherSessions(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewUser(t, "ana@example.com")
	other := srv.Login(t, ana.Email, ana.Password)
	var long struct{ Token string }
	srv.Req(t, "POST", "/users/ana@example.com/tokens", "", map[string]any{"password": ana.Password, "long": true}).Expect(t, 200).JSON(t, &long)
	var tok struct{ Token string }
	srv.Req(t, "POST", "/tokens", ana.Token, nil).Expect(t, 200).JSON(t, &tok)
	bo := srv.NewUser(t, "bo@example.com")

	srv.Req(t, "PUT", "/users/password", ana.Token, map[string]string{"old": ana.Password, "new": "n3w-secret"}).Expect(t, 200)
	srv.Req(t, "GET", "/users/info", ana.Token, nil).Expect(t, 200)
	srv.Req(t, "GET", "/users/info", other, nil).Expect(t, 401)
	srv.Req(t, "GET", "/users/info", long.Token, nil).Expect(t, 401)
	srv.Req(t, "GET", "/users/info", tok.Token, nil).Expect(t, 200)
	srv.Req(t, "GET", "/users/info", bo.Token, nil).Expect(t, 200) // another user's session

	// The kept session may change it again, and still goes on.
	srv.Req(t, "PUT", "/users/password", ana.Token, map[string]string{"old": "n3w-secret", "new": "n3wer-secret"}).Expect(t, 200)
	srv.Req(t, "GET", "/users/info", ana.Token, nil).Expect(t, 200)
	fresh := srv.Login(t, ana.Email, "n3wer-secret")

	// With an app token, no session is kept.
	srv.Req(t, "PUT", "/users/password", tok.Token, map[string]string{"old": "n3wer-secret", "new": "n3west-secret"}).Expect(t, 200)
	srv.Req(t, "GET", "/users/info", ana.Token, nil).Expect(t, 401)
	srv.Req(t, "GET", "/users/info", fresh, nil).Expect(t, 401)
	srv.Req(t, "GET", "/users/info", tok.Token, nil).Expect(t, 200)
	srv.Login(t, ana.Email, "n3west-secret")
}

// TestPasswordResetEndsEverySession: completing a reset ends every session
// of the user (whoever holds one may be who the owner reset the password
// against); the new password logs in.
func TestPasswordResetEndsEverySession(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewUser(t, "ana@example.com")
	other := srv.Login(t, ana.Email, ana.Password)
	m := srv.Req(t, "POST", "/users/ana@example.com/password", srv.AdminToken, nil).Expect(t, 200).Map(t)
	reset, _ := m["token"].(string)
	// Asking for a reset ends nothing: anyone may ask.
	srv.Req(t, "GET", "/users/info", ana.Token, nil).Expect(t, 200)

	m = srv.Req(t, "POST", "/users/ana@example.com/password?token="+reset, "", nil).Expect(t, 200).Map(t)
	srv.Req(t, "GET", "/users/info", ana.Token, nil).Expect(t, 401)
	srv.Req(t, "GET", "/users/info", other, nil).Expect(t, 401)
	srv.Req(t, "GET", "/users/info", srv.Login(t, ana.Email, m["password"].(string)), nil).Expect(t, 200)
}

// TestAppTokenExpiresRange: the lifetime is 0 (never) or 1 s to 10 years;
// the values that once overflowed are refused with a message saying so.
func TestAppTokenExpiresRange(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewUser(t, "ana@example.com")
	for _, expires := range []any{-1, int64(-9223372036854775808), int64(18446744074), int64(9223372037), 315360001} {
		r := srv.Req(t, "POST", "/tokens", ana.Token, map[string]any{"expires": expires}).Expect(t, http.StatusBadRequest)
		if msg := r.ErrorMessage(t); !strings.Contains(msg, "10 years") {
			t.Errorf("expires %v: %s", expires, r.Body)
		}
	}
	srv.Req(t, "POST", "/tokens", ana.Token, map[string]any{"expires": 1e30}).Expect(t, http.StatusBadRequest)
	for _, expires := range []int64{1, 3600, 315360000} {
		var tok struct {
			Token   string
			Expires int64
		}
		srv.Req(t, "POST", "/tokens", ana.Token, map[string]any{"expires": expires}).Expect(t, 200).JSON(t, &tok)
		if tok.Expires != expires {
			t.Errorf("expires %d answered Expires %d", expires, tok.Expires)
		}
		srv.Req(t, "GET", "/users/info", tok.Token, nil).Expect(t, 200)
	}
}
