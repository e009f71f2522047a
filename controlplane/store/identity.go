package store

import (
	"encoding/hex"
	"errors"
	"time"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
)

// Key namespaces of the identity entities.
const (
	nsUser           = "user" // domain.EmailKey(email) -> User
	nsTeam           = "team"
	nsTeamByMember   = "idx-team-member"   // EmailKey(member), team -> ""
	nsAppToken       = "apptoken"          // hex sha256 -> AppToken
	nsTokenByUser    = "idx-apptoken-user" // EmailKey(user), token id -> hex sha256
	nsRevokedJTI     = "revoked-jti"
	nsMeta           = "meta"
	metaSigningKey   = "jwt-signing-key"
	metaBootstrapped = "bootstrapped"
)

// User returns the user with that e-mail, whatever its case.
func (tx *Tx) User(email string) (*domain.User, error) {
	var u domain.User
	if err := tx.get(userKey(email), &u); err != nil {
		if errors.Is(err, errNoKey) {
			return nil, domain.NotFound("user %q not found", email)
		}
		return nil, err
	}
	return &u, nil
}

// UserExists reports whether a user has that e-mail, whatever its case.
func (tx *Tx) UserExists(email string) (bool, error) { return tx.exists(userKey(email)) }

// PutUser creates or replaces a user.
func (tx *Tx) PutUser(u *domain.User) error { return tx.put(userKey(u.Email), u) }

// userKey: case never tells two users apart.
func userKey(email string) []byte { return key(nsUser, domain.EmailKey(email)) }

// DeleteUser removes a user and its app tokens. Team membership is the
// caller's business: it decides what happens to teams left empty.
func (tx *Tx) DeleteUser(email string) error {
	tokens, err := tx.AppTokensOf(email)
	if err != nil {
		return err
	}
	for _, t := range tokens {
		if err := tx.DeleteAppToken(t); err != nil {
			return err
		}
	}
	return tx.delete(userKey(email))
}

// ListUsers returns one page of users ordered by e-mail.
func (tx *Tx) ListUsers(p Page) ([]domain.User, string, error) {
	return scanPage[domain.User](tx, prefix(nsUser), p)
}

// Team returns the team with that name.
func (tx *Tx) Team(name string) (*domain.Team, error) {
	var t domain.Team
	if err := tx.get(key(nsTeam, name), &t); err != nil {
		if errors.Is(err, errNoKey) {
			return nil, domain.NotFound("team %q not found", name)
		}
		return nil, err
	}
	return &t, nil
}

// TeamExists reports whether a team has that name.
func (tx *Tx) TeamExists(name string) (bool, error) { return tx.exists(key(nsTeam, name)) }

// PutTeam creates or replaces a team and keeps the member index in step.
func (tx *Tx) PutTeam(t *domain.Team) error {
	var old domain.Team
	if err := tx.get(key(nsTeam, t.Name), &old); err != nil && !errors.Is(err, errNoKey) {
		return err
	}
	for _, m := range old.Members {
		if !t.HasMember(m) {
			if err := tx.delete(key(nsTeamByMember, domain.EmailKey(m), t.Name)); err != nil {
				return err
			}
		}
	}
	for _, m := range t.Members {
		if !old.HasMember(m) {
			if err := tx.putRaw(key(nsTeamByMember, domain.EmailKey(m), t.Name), nil); err != nil {
				return err
			}
		}
	}
	return tx.put(key(nsTeam, t.Name), t)
}

// DeleteTeam removes a team and its member index entries.
func (tx *Tx) DeleteTeam(t *domain.Team) error {
	for _, m := range t.Members {
		if err := tx.delete(key(nsTeamByMember, domain.EmailKey(m), t.Name)); err != nil {
			return err
		}
	}
	return tx.delete(key(nsTeam, t.Name))
}

// ListTeams returns one page of teams ordered by name.
func (tx *Tx) ListTeams(p Page) ([]domain.Team, string, error) {
	return scanPage[domain.Team](tx, prefix(nsTeam), p)
}

// TeamsOf returns the names of the teams email belongs to, in order.
func (tx *Tx) TeamsOf(email string) ([]string, error) {
	var names []string
	err := tx.scan(prefix(nsTeamByMember, domain.EmailKey(email)), "", 0, true, func(k, _ []byte) error {
		names = append(names, lastPart(k))
		return nil
	})
	return names, err
}

// AppToken returns the app token whose secret hashes to hash.
func (tx *Tx) AppToken(hash []byte) (*domain.AppToken, error) {
	var t domain.AppToken
	if err := tx.get(key(nsAppToken, hex.EncodeToString(hash)), &t); err != nil {
		if errors.Is(err, errNoKey) {
			return nil, domain.NotFound("token not found")
		}
		return nil, err
	}
	return &t, nil
}

// PutAppToken stores an app token under the hash of its secret.
func (tx *Tx) PutAppToken(t *domain.AppToken) error {
	h := hex.EncodeToString(t.Hash)
	if err := tx.putRaw(key(nsTokenByUser, domain.EmailKey(t.UserEmail), t.ID), []byte(h)); err != nil {
		return err
	}
	return tx.put(key(nsAppToken, h), t)
}

// DeleteAppToken revokes an app token.
func (tx *Tx) DeleteAppToken(t *domain.AppToken) error {
	if err := tx.delete(key(nsTokenByUser, domain.EmailKey(t.UserEmail), t.ID)); err != nil {
		return err
	}
	return tx.delete(key(nsAppToken, hex.EncodeToString(t.Hash)))
}

// AppTokensOf returns the app tokens a user created, ordered by id.
func (tx *Tx) AppTokensOf(email string) ([]*domain.AppToken, error) {
	var hashes []string
	err := tx.scan(prefix(nsTokenByUser, domain.EmailKey(email)), "", 0, false, func(_, v []byte) error {
		hashes = append(hashes, string(v))
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]*domain.AppToken, 0, len(hashes))
	for _, h := range hashes {
		var t domain.AppToken
		if err := tx.get(key(nsAppToken, h), &t); err != nil {
			return nil, err
		}
		out = append(out, &t)
	}
	return out, nil
}

// RevokeSession denies a session token id until it would have expired
// anyway; the record expires then.
func (tx *Tx) RevokeSession(jti string, until time.Time) error {
	return tx.putExpiring(key(nsRevokedJTI, jti), nil, until.Add(time.Minute))
}

// SessionRevoked reports whether a session token id was revoked.
func (tx *Tx) SessionRevoked(jti string, now time.Time) (bool, error) {
	_, err := tx.getLive(key(nsRevokedJTI, jti), now)
	if errors.Is(err, errNoKey) {
		return false, nil
	}
	return err == nil, err
}

// SigningKey returns the JWT signing key, or nil when none was made yet.
func (tx *Tx) SigningKey() ([]byte, error) {
	b, err := tx.getRaw(key(nsMeta, metaSigningKey))
	if errors.Is(err, errNoKey) {
		return nil, nil
	}
	return b, err
}

// PutSigningKey stores the JWT signing key.
func (tx *Tx) PutSigningKey(k []byte) error { return tx.putRaw(key(nsMeta, metaSigningKey), k) }

// Bootstrapped reports whether the first-start setup already ran.
func (tx *Tx) Bootstrapped() (bool, error) { return tx.exists(key(nsMeta, metaBootstrapped)) }

// MarkBootstrapped records that the first-start setup ran.
func (tx *Tx) MarkBootstrapped(at time.Time) error {
	return tx.putRaw(key(nsMeta, metaBootstrapped), []byte(at.UTC().Format(time.RFC3339)))
}
