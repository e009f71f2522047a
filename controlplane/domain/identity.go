package domain

import "time"

// User is a person (or robot) that logs in. Email is the identity.
type User struct {
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
		if m == email {
			return true
		}
	}
	return false
}

// AppToken is a long-lived credential for automation. Only the SHA-256 of the
// secret is stored. It acts with the rights of the user who created it.
type AppToken struct {
	ID        string    `json:"id"`
	Hash      []byte    `json:"hash"`
	UserEmail string    `json:"user_email"`
	AppName   string    `json:"app_name,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// ExpiresAt is zero for a token that never expires.
	ExpiresAt time.Time `json:"expires_at,omitempty"`
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
