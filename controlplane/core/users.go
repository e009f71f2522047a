package core

import (
	"context"
	"crypto/subtle"
	"strings"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/persist"
)

// CreateUser signs a user up.
func (s *Identity) CreateUser(ctx context.Context, email, password string) (*domain.User, error) {
	if err := domain.ValidateEmail(email); err != nil {
		return nil, err
	}
	if err := domain.ValidatePassword(password); err != nil {
		return nil, err
	}
	if err := s.checkEmailFree(ctx, email); err != nil {
		return nil, err
	}
	hash, err := s.hashPassword(ctx, password)
	if err != nil {
		return nil, err
	}
	u := &domain.User{ID: uuid.NewString(), Email: email, PasswordHash: hash, QuotaLimit: s.cfg.DefaultQuota, CreatedAt: s.now().UTC()}
	err = s.store.Update(ctx, func(tx persist.Tx) error {
		if err := emailFree(tx, email); err != nil {
			return err
		}
		return tx.PutUser(u)
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// checkEmailFree answers the common duplicate case before spending a bcrypt
// hash on it; CreateUser checks again inside its transaction.
func (s *Identity) checkEmailFree(ctx context.Context, email string) error {
	return s.store.View(ctx, func(tx persist.Tx) error { return emailFree(tx, email) })
}

// emailFree refuses an address an account has, in any case.
func emailFree(tx persist.Tx, email string) error {
	u, err := tx.User(email)
	switch {
	case err == nil:
		return domain.Conflict("user with email %q already exists", u.Email)
	case isNotFound(err):
		return nil
	}
	return err
}

// hashPassword computes a password's bcrypt hash (see passwordWork).
func (s *Identity) hashPassword(ctx context.Context, password string) ([]byte, error) {
	var hash []byte
	err := s.passwordWork(ctx, func() (err error) {
		hash, err = bcrypt.GenerateFromPassword([]byte(password), s.cfg.BcryptCost)
		return err
	})
	return hash, err
}

// passwordMatches compares a password with a bcrypt hash (see
// passwordWork).
func (s *Identity) passwordMatches(ctx context.Context, hash []byte, password string) (bool, error) {
	var match bool
	err := s.passwordWork(ctx, func() error {
		match = bcrypt.CompareHashAndPassword(hash, []byte(password)) == nil
		return nil
	})
	return match, err
}

// Login checks a password and issues a session token: short-lived unless
// long is set.
func (s *Identity) Login(ctx context.Context, email, password string, long bool) (string, error) {
	if password == "" {
		return "", domain.Invalid("you must provide a password to login")
	}
	var u *domain.User
	err := s.store.View(ctx, func(tx persist.Tx) (err error) {
		u, err = tx.User(email)
		return err
	})
	if err != nil {
		return "", err
	}
	if ok, err := s.passwordMatches(ctx, u.PasswordHash, password); err != nil {
		return "", err
	} else if !ok {
		return "", domain.Unauthorized("authentication failed, wrong password")
	}
	tok, _, err := s.issueSession(u, long)
	return tok, err
}

// ChangePassword replaces the caller's password after checking the old one.
// Every other session of the caller ends; the session that made the change
// goes on (app tokens go on too: they are not passwords).
func (s *Identity) ChangePassword(ctx context.Context, id *domain.Identity, oldPassword, newPassword string) error {
	if oldPassword == "" || newPassword == "" {
		return domain.Invalid("both the old and the new password are required")
	}
	if err := domain.ValidatePassword(newPassword); err != nil {
		return err
	}
	if ok, err := s.passwordMatches(ctx, id.User.PasswordHash, oldPassword); err != nil {
		return err
	} else if !ok {
		return domain.Forbidden("the given old password does not match the current password")
	}
	hash, err := s.hashPassword(ctx, newPassword)
	if err != nil {
		return err
	}
	keep := ""
	if id.TokenKind == tokenKindSession {
		keep = id.TokenID
	}
	return s.store.Update(ctx, func(tx persist.Tx) error {
		u, err := tx.User(id.Email())
		if err != nil {
			return err
		}
		if u.ID != id.User.ID {
			return errBadCredential
		}
		u.PasswordHash = hash
		u.PasswordReset = nil
		u.EndSessions(keep)
		return tx.PutUser(u)
	})
}

// DeleteUser removes the caller, its keys and tokens, and its team
// memberships. A user who is the last member of a team must first remove
// the team or add someone to it.
func (s *Identity) DeleteUser(ctx context.Context, id *domain.Identity) error {
	return s.store.Update(ctx, func(tx persist.Tx) error {
		if id.TokenKind == tokenKindSession {
			if err := tx.RevokeSession(id.TokenID, id.ExpiresAt); err != nil {
				return err
			}
		}
		return deleteUserTx(tx, id.Email(), s.now().UTC())
	})
}

// AddKey registers an SSH public key for the caller. The name defaults to
// the key's comment, or "default".
func (s *Identity) AddKey(ctx context.Context, id *domain.Identity, name, key string) error {
	key = strings.TrimSpace(key)
	if key == "" {
		return domain.Invalid("missing key")
	}
	if len(key) > 16<<10 {
		return domain.Invalid("key too long")
	}
	if name == "" {
		name = keyComment(key)
	}
	return s.store.Update(ctx, func(tx persist.Tx) error {
		u, err := tx.User(id.Email())
		if err != nil {
			return err
		}
		for _, k := range u.Keys {
			if k.Key == key {
				return domain.Conflict("key already registered as %q", k.Name)
			}
			if k.Name == name {
				return domain.Conflict("a key named %q already exists", name)
			}
		}
		u.Keys = append(u.Keys, domain.UserKey{Name: name, Key: key})
		return tx.PutUser(u)
	})
}

func keyComment(key string) string {
	if f := strings.Fields(key); len(f) >= 3 {
		return f[len(f)-1]
	}
	return "default"
}

// RemoveKey removes one of the caller's keys, given by content or name.
func (s *Identity) RemoveKey(ctx context.Context, id *domain.Identity, name, key string) error {
	key = strings.TrimSpace(key)
	if key == "" && name == "" {
		return domain.Invalid("missing key")
	}
	return s.store.Update(ctx, func(tx persist.Tx) error {
		u, err := tx.User(id.Email())
		if err != nil {
			return err
		}
		for i, k := range u.Keys {
			if (key != "" && k.Key == key) || (key == "" && k.Name == name) {
				u.Keys = append(u.Keys[:i], u.Keys[i+1:]...)
				return tx.PutUser(u)
			}
		}
		return domain.NotFound("key not found")
	})
}

// Keys returns the caller's SSH keys.
func (s *Identity) Keys(ctx context.Context, id *domain.Identity) ([]domain.UserKey, error) {
	var keys []domain.UserKey
	err := s.store.View(ctx, func(tx persist.Tx) error {
		u, err := tx.User(id.Email())
		if err == nil {
			keys = u.Keys
		}
		return err
	})
	return keys, err
}

// RequestPasswordReset issues a reset token for email and returns it. Only
// its hash is kept; it expires after Config.PasswordResetTTL.
func (s *Identity) RequestPasswordReset(ctx context.Context, email string) (string, error) {
	token := randomToken(20)
	err := s.store.Update(ctx, func(tx persist.Tx) error {
		u, err := tx.User(email)
		if err != nil {
			return err
		}
		u.PasswordReset = &domain.PasswordReset{TokenHash: hashToken(token), ExpiresAt: s.now().Add(s.cfg.PasswordResetTTL).UTC()}
		return tx.PutUser(u)
	})
	if err != nil {
		return "", err
	}
	return token, nil
}

// ResetPassword consumes a reset token and sets a new random password,
// which it returns. Every session of the user ends. The user and the token
// are checked before the new password is hashed, so that a wrong token
// costs no bcrypt.
func (s *Identity) ResetPassword(ctx context.Context, email, token string) (string, error) {
	check := func(tx persist.Tx) (*domain.User, error) {
		u, err := tx.User(email)
		if err != nil {
			return nil, err
		}
		r := u.PasswordReset
		if r == nil || !s.now().Before(r.ExpiresAt) || subtle.ConstantTimeCompare(r.TokenHash, hashToken(token)) != 1 {
			return nil, domain.Forbidden("invalid or expired password reset token")
		}
		return u, nil
	}
	if err := s.store.View(ctx, func(tx persist.Tx) error { _, err := check(tx); return err }); err != nil {
		return "", err
	}
	password := randomToken(8)
	hash, err := s.hashPassword(ctx, password)
	if err != nil {
		return "", err
	}
	err = s.store.Update(ctx, func(tx persist.Tx) error {
		u, err := check(tx)
		if err != nil {
			return err
		}
		u.PasswordHash = hash
		u.PasswordReset = nil
		u.EndSessions("")
		return tx.PutUser(u)
	})
	if err != nil {
		return "", err
	}
	return password, nil
}

// Quota returns the app quota of a user: its limit and what is left. Users
// see their own; admins see anyone's.
func (s *Identity) Quota(ctx context.Context, id *domain.Identity, email string) (limit, available int, err error) {
	if email != id.Email() && !id.IsAdmin() {
		return 0, 0, forbidden(id, "read the quota of another user")
	}
	err = s.store.View(ctx, func(tx persist.Tx) error {
		u, err := tx.User(email)
		if err != nil {
			return err
		}
		limit, available = u.QuotaLimit, u.QuotaAvailable()
		return nil
	})
	return limit, available, err
}

func removeString(list []string, s string) []string {
	out := list[:0:0]
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}
