package core

import (
	"context"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/persist"
)

// What the web console (controlplane/ui) needs from the identity area
// beyond what the API uses.

// FormToken is the anti-forgery token of the caller's session, which the
// web console's forms carry: an HMAC of the session's id under a key
// derived from the session signing key. Every berthd on the store computes
// the same one, it ends with its session, and nobody without the server's
// key can make one for a session, even knowing its id. Sessions only; ""
// for any other credential.
func (s *Identity) FormToken(id *domain.Identity) string {
	if id == nil || id.TokenKind != tokenKindSession || id.TokenID == "" {
		return ""
	}
	key, err := hkdf.Key(sha256.New, s.signingKey, nil, "berth console form token v1", sha256.Size)
	if err != nil {
		return ""
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id.TokenID))
	return hex.EncodeToString(mac.Sum(nil))
}

// CheckFormToken reports, in constant time, whether token is the caller's
// form token.
func (s *Identity) CheckFormToken(id *domain.Identity, token string) bool {
	want := s.FormToken(id)
	return want != "" && hmac.Equal([]byte(want), []byte(token))
}

// IsSession reports whether the caller presented a session (not an app
// token).
func IsSession(id *domain.Identity) bool { return id != nil && id.TokenKind == tokenKindSession }

// ListUsers returns one page of users ordered by e-mail, without their
// password hashes or reset tokens. Only admins may.
func (s *Identity) ListUsers(ctx context.Context, id *domain.Identity, p domain.Page) ([]domain.User, string, error) {
	if !id.IsAdmin() {
		return nil, "", forbidden(id, "list users")
	}
	var users []domain.User
	var next string
	err := s.store.View(ctx, func(tx persist.Tx) (err error) {
		users, next, err = tx.ListUsers(p)
		return err
	})
	for i := range users {
		users[i].PasswordHash, users[i].PasswordReset = nil, nil
	}
	return users, next, err
}
