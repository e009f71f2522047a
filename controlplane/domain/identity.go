package domain

import (
	"strings"
	"time"
)

// User is a person (or robot) that logs in, known by its e-mail address
// (compared without regard to case: see EmailKey). ID tells apart two
// accounts that had the same address one after the other.
type User struct {
	ID           string    `json:"id"`
	Email        string    `json:"email"`
	PasswordHash []byte    `json:"password_hash"`
	Admin        bool      `json:"admin,omitempty"`
	Keys         []UserKey `json:"keys,omitempty"`
	// QuotaLimit is the number of apps the user may own; -1 is unlimited.
	QuotaLimit int `json:"quota_limit"`
	// QuotaInUse counts the apps the user created that still exist.
	QuotaInUse int `json:"quota_in_use"`
	// PasswordReset holds the hash of a pending reset token, if any.
	PasswordReset *PasswordReset `json:"password_reset,omitempty"`
	CreatedAt     time.Time      `json:"created_at"`
	// SessionGeneration is carried by every session issued to the user;
	// moving it (a password change or reset) ends the sessions issued
	// before, except KeptSession.
	SessionGeneration int64 `json:"session_generation,omitempty"`
	// KeptSession is the id of the session that changed the password: it
	// stays valid although it carries the previous generation.
	KeptSession string `json:"kept_session,omitempty"`
}

// SessionValid reports whether a session with that id, issued to the user
// with that id at that generation, still stands for this user.
func (u *User) SessionValid(userID string, generation int64, sessionID string) bool {
	if userID == "" || userID != u.ID {
		return false
	}
	return generation == u.SessionGeneration || (u.KeptSession != "" && sessionID == u.KeptSession)
}

// EndSessions ends every session issued to the user so far except keep
// (none when keep is "").
func (u *User) EndSessions(keep string) {
	u.SessionGeneration++
	u.KeptSession = keep
}

// UserKey is an SSH public key a user registered.
type UserKey struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

// PasswordReset is a pending reset: the token is given out once and only its
// hash is kept.
type PasswordReset struct {
	TokenHash []byte    `json:"token_hash"`
	ExpiresAt time.Time `json:"expires_at"`
}

// QuotaAvailable returns how many more apps the user may create, or -1 when
// unlimited.
func (u *User) QuotaAvailable() int {
	if u.QuotaLimit < 0 {
		return -1
	}
	if n := u.QuotaLimit - u.QuotaInUse; n > 0 {
		return n
	}
	return 0
}

// Team groups users; teams own apps, services and stack projects.
type Team struct {
	Name      string    `json:"name"`
	Members   []string  `json:"members"`
	CreatedAt time.Time `json:"created_at"`
}

// HasMember reports whether email belongs to the team.
func (t *Team) HasMember(email string) bool {
	for _, m := range t.Members {
		if SameEmail(m, email) {
			return true
		}
	}
	return false
}

// RemoveMember takes email off the team.
func (t *Team) RemoveMember(email string) {
	kept := t.Members[:0:0]
	for _, m := range t.Members {
		if !SameEmail(m, email) {
			kept = append(kept, m)
		}
	}
	t.Members = kept
}

// AppToken is a long-lived credential for automation. Only the SHA-256 of the
// secret is stored. It acts with the rights of the user who created it.
type AppToken struct {
	ID        string `json:"id"`
	Hash      []byte `json:"hash"`
	UserEmail string `json:"user_email"`
	// UserID is the ID of the user: a later account with the same address
	// is another user, whose rights the token never has.
	UserID    string    `json:"user_id"`
	AppName   string    `json:"app_name,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// ExpiresAt is zero for a token that never expires.
	ExpiresAt time.Time `json:"expires_at,omitempty"`
}

// MaxAppTokenLifetime bounds the lifetime a client may ask an app token
// for; 0 asks for a token that never expires.
const MaxAppTokenLifetime = 10 * 365 * 24 * time.Hour

// AppTokenLifetime checks a requested lifetime in seconds and returns it;
// 0 means never expires.
func AppTokenLifetime(seconds int64) (time.Duration, error) {
	if seconds < 0 || seconds > int64(MaxAppTokenLifetime/time.Second) {
		return 0, Invalid("invalid expires %d: it is a lifetime in seconds, from 1 to %d (10 years), or 0 for a token that never expires", seconds, int64(MaxAppTokenLifetime/time.Second))
	}
	return time.Duration(seconds) * time.Second, nil
}

// Bootstrap tokens (the admin token set by the operator on first start)
// are secrets a person chose: at least this long, and sendable as a bearer
// token.
const (
	MinBootstrapToken = 32
	MaxBootstrapToken = 512
)

// ValidateBootstrapToken checks an operator-chosen admin token: 32 to 512
// characters of RFC 6750's bearer token alphabet (letters, digits and
// -._~+/, then '=' padding).
func ValidateBootstrapToken(tok string) error {
	if len(tok) < MinBootstrapToken || len(tok) > MaxBootstrapToken {
		return Invalid("the bootstrap token has %d characters: it must have %d to %d (make one with: openssl rand -hex 32)", len(tok), MinBootstrapToken, MaxBootstrapToken)
	}
	body := strings.TrimRight(tok, "=")
	for i := 0; i < len(body); i++ {
		if c := body[i]; !isASCIIAlnum(c) && strings.IndexByte("-._~+/", c) < 0 {
			return Invalid("the bootstrap token may contain only letters, digits and -._~+/ (then = padding); character %d is not one of them", i+1)
		}
	}
	return nil
}

// Expired reports whether the token is past its expiry at now.
func (t *AppToken) Expired(now time.Time) bool {
	return !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt)
}

// Identity is the authenticated caller of a request.
type Identity struct {
	User  *User
	Teams []string
	// TokenKind is "session" or "app-token".
	TokenKind string
	// TokenID is the JWT id of a session or the id of an app token.
	TokenID string
	// TokenHash is set for app tokens, so logout can revoke the one presented.
	TokenHash []byte
	// ExpiresAt is when the presented credential stops working (zero: never).
	ExpiresAt time.Time
}

// Email of the caller.
func (id *Identity) Email() string { return id.User.Email }

// IsAdmin reports whether the caller has the admin flag.
func (id *Identity) IsAdmin() bool { return id.User.Admin }

// InTeam reports whether the caller belongs to team.
func (id *Identity) InTeam(team string) bool {
	for _, t := range id.Teams {
		if t == team {
			return true
		}
	}
	return false
}

// InAnyTeam reports whether the caller belongs to one of teams.
func (id *Identity) InAnyTeam(teams []string) bool {
	for _, t := range teams {
		if id.InTeam(t) {
			return true
		}
	}
	return false
}
