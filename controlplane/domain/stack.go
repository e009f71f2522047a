package domain

import (
	"strconv"
	"strings"
	"time"
)

// DefaultStackPrefix names a project's stacks test-1, test-2, ... unless the
// project chooses another prefix.
const DefaultStackPrefix = "test-"

// DefaultStackBranch is the branch of a stack request that names none.
const DefaultStackBranch = "main"

// MaxStackLeaseTTL bounds the lifetime a stack request may ask for.
const MaxStackLeaseTTL = 30 * 24 * time.Hour

// ValidateLeaseTTL checks the lifetime a stack request asks for: 0 (the
// server's default) or from 1s to MaxStackLeaseTTL.
func ValidateLeaseTTL(d time.Duration) error {
	if d != 0 && (d < time.Second || d > MaxStackLeaseTTL) {
		return leaseTTLError()
	}
	return nil
}

// LeaseTTLSeconds is a lease lifetime given in whole seconds, as the wire
// carries it, checked before the conversion can overflow.
func LeaseTTLSeconds(n int64) (time.Duration, error) {
	if n < 0 || n > int64(MaxStackLeaseTTL/time.Second) {
		return 0, leaseTTLError()
	}
	return time.Duration(n) * time.Second, nil
}

func leaseTTLError() error {
	return Invalid("ttl must be a number of seconds from 1 to %d, or 0 for the default", int64(MaxStackLeaseTTL/time.Second))
}

// LeaseReplayWindow is how long an Idempotency-Key of a stack request
// keeps answering with the lease it first obtained.
const LeaseReplayWindow = 24 * time.Hour

// StackProject owns a pool of test stacks that CI jobs lease with the
// project's key. Only the SHA-256 of the key is stored. ID, not Name, keys
// the project's stacks, so a project created again under the same name
// never sees the stacks of the one deleted before it.
type StackProject struct {
	ID            string    `json:"id"`
	Name          string    `json:"name"`
	Team          string    `json:"team"`
	Prefix        string    `json:"prefix"`
	InitialCommit string    `json:"initial_commit,omitempty"`
	KeyHash       []byte    `json:"key_hash"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// StackName is the name of the project's n-th stack under its current
// prefix.
func (p *StackProject) StackName(n int) string { return p.Prefix + strconv.Itoa(n) }

// Stack is one test stack of a project. Stacks are numbered 1..count
// without gaps: a new stack takes count+1, and only the last one can be
// deleted. Name keeps the prefix the project had when the stack was made.
type Stack struct {
	ProjectID          string `json:"project_id"`
	Number             int    `json:"number"`
	Name               string `json:"name"`
	Branch             string `json:"branch"`
	LastDeployedCommit string `json:"last_deployed_commit"`
	// Lease is set while a CI job holds the stack.
	Lease    *StackLease `json:"lease,omitempty"`
	Created  time.Time   `json:"created"`
	Modified time.Time   `json:"modified"`
	// Gen is the project's stack generation at this stack's last write,
	// kept by the store (see store.Tx.StackGen).
	Gen int64 `json:"gen,omitempty"`
}

// StackLease is one holder's claim on a stack.
type StackLease struct {
	ID        string    `json:"id"`
	ExpiresAt time.Time `json:"expires_at"`
	// LeasedAt is zero in leases stored before it was recorded.
	LeasedAt time.Time `json:"leased_at,omitzero"`
}

// Available reports whether nobody holds the stack.
func (st *Stack) Available() bool { return st.Lease == nil }

// ExpireLease frees a stack whose lease ran out by now, as of the moment it
// ran out. It reports whether it did.
func (st *Stack) ExpireLease(now time.Time) bool {
	if st.Lease == nil || now.Before(st.Lease.ExpiresAt) {
		return false
	}
	st.Modified = st.Lease.ExpiresAt
	st.Lease = nil
	return true
}

// Take leases the stack for branch until expires. The branch stays on the
// stack after release, so the branch gets this stack back next time.
func (st *Stack) Take(leaseID, branch string, now, expires time.Time) {
	st.Lease = &StackLease{ID: leaseID, LeasedAt: now, ExpiresAt: expires}
	st.Branch = branch
	st.Modified = now
}

// Release makes the stack available again.
func (st *Stack) Release(now time.Time) {
	st.Lease = nil
	st.Modified = now
}

// LeaseReplay is what an Idempotency-Key of a stack request remembers: the
// request it came with and the answer it got, to give the same answer to a
// retry.
type LeaseReplay struct {
	Branch    string        `json:"branch"`
	TTL       time.Duration `json:"ttl"`
	Stack     Stack         `json:"stack"`
	CreatedAt time.Time     `json:"created_at"`
}

// ValidateStackProjectName checks the name of a stack project.
func ValidateStackProjectName(name string) error {
	if !stackProjectNameRe.MatchString(name) {
		return Invalid("invalid project name %q: it must start with a lowercase letter and contain only lowercase letters, digits and hyphens, at most 40 characters", name)
	}
	return nil
}

// ValidateStackPrefix checks the prefix of stack names.
func ValidateStackPrefix(prefix string) error {
	if !stackPrefixRe.MatchString(prefix) {
		return Invalid("invalid prefix %q: it must match %s", prefix, stackPrefixRe.String())
	}
	return nil
}

// ValidateBranch checks the branch of a stack request.
func ValidateBranch(branch string) error { return validateLabel("branch", branch) }

// ValidateCommit checks a deployed commit; empty is refused.
func ValidateCommit(field, commit string) error {
	if commit == "" {
		return Invalid("%s must not be empty", field)
	}
	return validateLabel(field, commit)
}

// validateLabel accepts up to 255 bytes of printable UTF-8.
func validateLabel(field, v string) error { return CheckLabel(field, v, 255) }

// ValidateIdempotencyKey checks an Idempotency-Key header: 1 to 255
// visible ASCII characters.
func ValidateIdempotencyKey(k string) error {
	if k == "" || len(k) > 255 || strings.ContainsFunc(k, func(r rune) bool { return r < '!' || r > '~' }) {
		return Invalid("invalid idempotency key %q: 1 to 255 visible ASCII characters", k)
	}
	return nil
}

// StackNumberIn reports the number n for which name is prefix followed by
// n written without leading zeros, as StackName writes it.
func StackNumberIn(prefix, name string) (int, bool) {
	digits, ok := strings.CutPrefix(name, prefix)
	if !ok || digits == "" || digits[0] == '0' {
		return 0, false
	}
	n, err := strconv.Atoi(digits)
	if err != nil || n < 1 || strconv.Itoa(n) != digits {
		return 0, false
	}
	return n, true
}
