package core

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/persist"
)

// CreateAppToken issues a long-lived token for automation that acts as the
// caller. appName, when set, names the app the token is for: it must exist
// and the caller must have access to it. expiresSeconds is the token's
// lifetime (domain.AppTokenLifetime); 0 means never.
func (s *Identity) CreateAppToken(ctx context.Context, id *domain.Identity, appName string, expiresSeconds int64) (string, *domain.AppToken, error) {
	expires, err := domain.AppTokenLifetime(expiresSeconds)
	if err != nil {
		return "", nil, err
	}
	secret := appTokenPrefix + randomToken(24)
	now := s.now().UTC()
	t := &domain.AppToken{ID: uuid.NewString(), Hash: hashToken(secret), UserEmail: id.Email(), UserID: id.User.ID, AppName: appName, CreatedAt: now}
	if expires > 0 {
		t.ExpiresAt = now.Add(expires)
	}
	err = s.store.Update(ctx, func(tx persist.Tx) error {
		if appName != "" {
			if _, err := appForRead(tx, id, appName); err != nil {
				return err
			}
		}
		return tx.PutAppToken(t)
	})
	if err != nil {
		return "", nil, err
	}
	return secret, t, nil
}

// AppTokens lists the caller's app tokens (never their secrets).
func (s *Identity) AppTokens(ctx context.Context, id *domain.Identity) ([]*domain.AppToken, error) {
	var out []*domain.AppToken
	err := s.store.View(ctx, func(tx persist.Tx) (err error) {
		out, err = tx.AppTokensOf(id.Email())
		return err
	})
	return out, err
}

// RevokeAppToken deletes one of the caller's app tokens by id.
func (s *Identity) RevokeAppToken(ctx context.Context, id *domain.Identity, tokenID string) error {
	return s.store.Update(ctx, func(tx persist.Tx) error {
		tokens, err := tx.AppTokensOf(id.Email())
		if err != nil {
			return err
		}
		for _, t := range tokens {
			if t.ID == tokenID {
				return tx.DeleteAppToken(t)
			}
		}
		return domain.NotFound("token %q not found", tokenID)
	})
}

// AdminEmail is the user the first start creates.
const AdminEmail = "admin@berth.local"

// AdminTeam is the team the first start creates for the admin user.
const AdminTeam = "admin"

// Bootstrap prepares an empty store: the admin user, its team and an admin
// app token. token is used as the token's secret when set (so CI can know
// it: domain.ValidateBootstrapToken, refused on every start, so that a
// weak one is noticed); otherwise one is generated. It returns the token
// only when it created it: later starts return "".
func (s *Identity) Bootstrap(ctx context.Context, token string) (string, error) {
	if token == "" {
		token = appTokenPrefix + randomToken(24)
	} else if err := domain.ValidateBootstrapToken(token); err != nil {
		return "", err
	}
	var issued string
	err := s.store.Update(ctx, func(tx persist.Tx) error {
		issued = ""
		done, err := tx.Bootstrapped()
		if err != nil || done {
			return err
		}
		now := s.now().UTC()
		admin, err := tx.User(AdminEmail)
		if errors.Is(err, domain.ErrNotFound) {
			// Nobody knows this password: the admin logs in with the token,
			// or resets the password through the reset flow.
			admin = &domain.User{ID: uuid.NewString(), Email: AdminEmail, PasswordHash: []byte("!"), QuotaLimit: -1, CreatedAt: now}
		} else if err != nil {
			return err
		}
		admin.Admin = true
		if err := tx.PutUser(admin); err != nil {
			return err
		}
		exists, err := tx.TeamExists(AdminTeam)
		if err != nil {
			return err
		}
		if !exists {
			if err := tx.PutTeam(&domain.Team{Name: AdminTeam, Members: []string{AdminEmail}, CreatedAt: now}); err != nil {
				return err
			}
		}
		t := &domain.AppToken{ID: uuid.NewString(), Hash: hashToken(token), UserEmail: AdminEmail, UserID: admin.ID, CreatedAt: now}
		if err := tx.PutAppToken(t); err != nil {
			return err
		}
		issued = token
		return tx.MarkBootstrapped(now)
	})
	return issued, err
}
