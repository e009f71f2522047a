package core

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"runtime"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/persist"
)

const (
	tokenKindSession  = "session"
	tokenKindAppToken = "app-token"
	jwtIssuer         = "berth"
	appTokenPrefix    = "berth_"
)

// Identity is the identity area: users, teams, sessions and app tokens,
// quotas, and the first start's admin.
type Identity struct {
	deps
	signingKey []byte
	// hashing bounds the bcrypt computations running at once (see
	// passwordWork).
	hashing chan struct{}
}

func newIdentity(d deps, signingKey []byte) *Identity {
	return &Identity{deps: d, signingKey: signingKey, hashing: make(chan struct{}, max(1, runtime.GOMAXPROCS(0)/2))}
}

// passwordWork runs f, a bcrypt computation, when a slot is free: at most
// half the cores hash passwords at once, so that a flood of logins, from
// however many addresses, leaves the other half to every other request. A
// request that finds no slot within passwordWait is refused as busy.
func (s *Identity) passwordWork(ctx context.Context, f func() error) error {
	wait := time.NewTimer(passwordWait)
	defer wait.Stop()
	select {
	case s.hashing <- struct{}{}:
	case <-wait.C:
		return domain.Unavailable("too many password checks are in progress; try again in a few seconds")
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.hashing }()
	return f()
}

const passwordWait = 10 * time.Second

// sessionClaims are what a session JWT carries: the user's address
// (Subject), the user's id and the user's session generation when it was
// issued. A session stands for that account only while the account exists
// with that id and generation (domain.User.SessionValid).
type sessionClaims struct {
	Long       bool   `json:"long,omitempty"`
	UserID     string `json:"uid"`
	Generation int64  `json:"gen"`
	jwt.RegisteredClaims
}

// issueSession signs a session token for u.
func (s *Identity) issueSession(u *domain.User, long bool) (string, time.Time, error) {
	now := s.now()
	ttl := s.cfg.SessionTTL
	if long {
		ttl = s.cfg.LongSessionTTL
	}
	exp := now.Add(ttl)
	claims := sessionClaims{
		Long:       long,
		UserID:     u.ID,
		Generation: u.SessionGeneration,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    jwtIssuer,
			Subject:   u.Email,
			ID:        uuid.NewString(),
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(exp),
		},
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(s.signingKey)
	return tok, exp, err
}

var errBadCredential = domain.Unauthorized("invalid, expired or revoked token")

// hashToken is how app tokens and other high-entropy secrets are stored.
// They are random, so a fast hash suffices; passwords use bcrypt.
func hashToken(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// Authenticate resolves a bearer credential: a session JWT or an app token.
func (s *Identity) Authenticate(ctx context.Context, credential string) (*domain.Identity, error) {
	if credential == "" {
		return nil, domain.Unauthorized("missing credential")
	}
	if strings.Count(credential, ".") == 2 {
		id, err := s.authenticateSession(ctx, credential)
		if !errors.Is(err, errNotASession) {
			return id, err
		}
		// An operator's bootstrap token may have the shape of a JWT.
	}
	return s.authenticateAppToken(ctx, credential)
}

// errNotASession: the credential is not a session berth signed.
var errNotASession = errors.New("not a berth session")

func (s *Identity) authenticateSession(ctx context.Context, credential string) (*domain.Identity, error) {
	var claims sessionClaims
	_, err := jwt.ParseWithClaims(credential, &claims, func(*jwt.Token) (any, error) { return s.signingKey, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(jwtIssuer),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(s.now),
	)
	if errors.Is(err, jwt.ErrTokenMalformed) || errors.Is(err, jwt.ErrTokenSignatureInvalid) || errors.Is(err, jwt.ErrTokenUnverifiable) {
		return nil, errNotASession
	}
	// Sessions issued before sessions carried the user's id are refused.
	if err != nil || claims.ID == "" || claims.Subject == "" || claims.UserID == "" {
		return nil, errBadCredential
	}
	id := &domain.Identity{TokenKind: tokenKindSession, TokenID: claims.ID, ExpiresAt: claims.ExpiresAt.Time}
	err = s.store.View(ctx, func(tx persist.Tx) error {
		revoked, err := tx.SessionRevoked(claims.ID, s.now())
		if err != nil {
			return err
		}
		if revoked {
			return errBadCredential
		}
		if err := s.loadIdentity(tx, id, claims.Subject); err != nil {
			return err
		}
		if !id.User.SessionValid(claims.UserID, claims.Generation, claims.ID) {
			return errBadCredential
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return id, nil
}

func (s *Identity) authenticateAppToken(ctx context.Context, credential string) (*domain.Identity, error) {
	hash := hashToken(credential)
	var id *domain.Identity
	err := s.store.View(ctx, func(tx persist.Tx) error {
		t, err := tx.AppToken(hash)
		if errors.Is(err, domain.ErrNotFound) {
			return errBadCredential
		}
		if err != nil {
			return err
		}
		if subtle.ConstantTimeCompare(t.Hash, hash) != 1 || t.Expired(s.now()) {
			return errBadCredential
		}
		id = &domain.Identity{TokenKind: tokenKindAppToken, TokenID: t.ID, TokenHash: t.Hash, ExpiresAt: t.ExpiresAt}
		if err := s.loadIdentity(tx, id, t.UserEmail); err != nil {
			return err
		}
		if t.UserID == "" || t.UserID != id.User.ID {
			return errBadCredential
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return id, nil
}

func (s *Identity) loadIdentity(tx persist.Tx, id *domain.Identity, email string) error {
	u, err := tx.User(email)
	if errors.Is(err, domain.ErrNotFound) {
		return errBadCredential
	}
	if err != nil {
		return err
	}
	teams, err := tx.TeamsOf(email)
	if err != nil {
		return err
	}
	id.User, id.Teams = u, teams
	return nil
}

// Logout revokes the credential the caller presented.
func (s *Identity) Logout(ctx context.Context, id *domain.Identity) error {
	return s.store.Update(ctx, func(tx persist.Tx) error {
		if id.TokenKind == tokenKindSession {
			return tx.RevokeSession(id.TokenID, id.ExpiresAt)
		}
		t, err := tx.AppToken(id.TokenHash)
		if errors.Is(err, domain.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return tx.DeleteAppToken(t)
	})
}
