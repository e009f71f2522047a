package store

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
)

// Stack projects are keyed by name; everything below a project by its id.
// A lease request touches only the stack it takes and that stack's index
// entries, so requests for different stacks commit side by side; only the
// creation of a stack writes the per-project counter.
const (
	nsStackProject       = "stackproject"          // name -> StackProject
	nsStackProjectByKey  = "idx-stackproject-key"  // hex sha256 of the key -> name
	nsStackProjectByTeam = "idx-stackproject-team" // team, name -> ""
	nsStack              = "stack"                 // project id, number -> Stack
	nsStackCount         = "stackcount"            // project id -> number of stacks
	nsStackByName        = "idx-stack-name"        // project id, stack name -> number
	nsStackFree          = "idx-stack-free"        // project id, modified, number -> ""
	nsStackFreeByBranch  = "idx-stack-free-branch" // project id, branch, modified, number -> ""
	nsStackLeased        = "idx-stack-leased"      // project id, lease expiry, number -> ""
	nsLeaseReplay        = "stack-lease-replay"    // project id, idempotency key -> LeaseReplay
	nsStackPurge         = "stack-purge"           // project id of a deleted project -> ""

	stackNumber = "%010d"
	// Times in index keys are zero-padded Unix nanoseconds, so that byte
	// order is time order.
	indexTime = "%020d"
)

// StackProject returns the project called name.
func (tx *Tx) StackProject(name string) (*domain.StackProject, error) {
	var p domain.StackProject
	if err := tx.get(key(nsStackProject, name), &p); err != nil {
		if errors.Is(err, errNoKey) {
			return nil, domain.NotFound("project %q not found", name)
		}
		return nil, err
	}
	return &p, nil
}

// StackProjectByKeyHash returns the project whose key hashes to hash.
func (tx *Tx) StackProjectByKeyHash(hash []byte) (*domain.StackProject, error) {
	name, err := tx.getRaw(key(nsStackProjectByKey, hex.EncodeToString(hash)))
	if errors.Is(err, errNoKey) {
		return nil, domain.NotFound("project key not found")
	}
	if err != nil {
		return nil, err
	}
	return tx.StackProject(string(name))
}

// StackProjectExists reports whether a project is called name.
func (tx *Tx) StackProjectExists(name string) (bool, error) {
	return tx.exists(key(nsStackProject, name))
}

// PutStackProject creates or replaces a project and keeps its key and team
// indexes in step: a replaced key stops resolving in the same transaction.
func (tx *Tx) PutStackProject(p *domain.StackProject) error {
	var old domain.StackProject
	switch err := tx.get(key(nsStackProject, p.Name), &old); {
	case errors.Is(err, errNoKey):
	case err != nil:
		return err
	case old.ID != p.ID:
		return fmt.Errorf("project %q: id changed from %s to %s", p.Name, old.ID, p.ID)
	}
	if !slices.Equal(old.KeyHash, p.KeyHash) {
		if old.KeyHash != nil {
			if err := tx.delete(key(nsStackProjectByKey, hex.EncodeToString(old.KeyHash))); err != nil {
				return err
			}
		}
		if err := tx.putRaw(key(nsStackProjectByKey, hex.EncodeToString(p.KeyHash)), []byte(p.Name)); err != nil {
			return err
		}
	}
	if old.Team != p.Team {
		if old.Team != "" {
			if err := tx.delete(key(nsStackProjectByTeam, old.Team, p.Name)); err != nil {
				return err
			}
		}
		if err := tx.putRaw(key(nsStackProjectByTeam, p.Team, p.Name), nil); err != nil {
			return err
		}
	}
	return tx.put(key(nsStackProject, p.Name), p)
}

// DeleteStackProject removes a project at once: its key stops working and
// its name is free. Its stacks may be too many for one transaction, so they
// are left behind a purge marker for PurgeStacks.
func (tx *Tx) DeleteStackProject(p *domain.StackProject) error {
	for _, k := range [][]byte{
		key(nsStackProjectByKey, hex.EncodeToString(p.KeyHash)),
		key(nsStackProjectByTeam, p.Team, p.Name),
		key(nsStackProject, p.Name),
	} {
		if err := tx.delete(k); err != nil {
			return err
		}
	}
	return tx.putRaw(key(nsStackPurge, p.ID), nil)
}

// StackProjectFilter selects projects: every project when All is set,
// otherwise those owned by one of Teams.
type StackProjectFilter struct {
	All   bool
	Teams []string
}

// ListStackProjects returns one page of projects ordered by name.
func (tx *Tx) ListStackProjects(f StackProjectFilter, p Page) ([]domain.StackProject, string, error) {
	if f.All {
		return scanPage[domain.StackProject](tx, prefix(nsStackProject), p)
	}
	pfxs := make([][]byte, 0, len(f.Teams))
	for _, t := range f.Teams {
		pfxs = append(pfxs, prefix(nsStackProjectByTeam, t))
	}
	names, err := tx.mergeIndexNames(pfxs, p.After, p.Limit)
	if err != nil {
		return nil, "", err
	}
	out := make([]domain.StackProject, 0, len(names))
	for _, n := range names {
		proj, err := tx.StackProject(n)
		if err != nil {
			return nil, "", err
		}
		out = append(out, *proj)
	}
	if p.Limit > 0 && len(out) == p.Limit {
		return out, names[len(names)-1], nil
	}
	return out, "", nil
}

// StackProjectOfTeam returns the name of a project the team owns, or "".
func (tx *Tx) StackProjectOfTeam(team string) (string, error) {
	var name string
	err := tx.scan(prefix(nsStackProjectByTeam, team), "", 1, true, func(k, _ []byte) error {
		name = lastPart(k)
		return nil
	})
	return name, err
}

func stackKey(projectID string, n int) []byte {
	return key(nsStack, projectID, fmt.Sprintf(stackNumber, n))
}

func indexTimeOf(t time.Time) string { return fmt.Sprintf(indexTime, t.UnixNano()) }

// stackIndexEntry is one index key of a stack and its value.
type stackIndexEntry struct {
	key   string
	value string
}

// stackIndexEntries lists the index entries a stack in its state has.
func stackIndexEntries(st *domain.Stack) []stackIndexEntry {
	num := fmt.Sprintf(stackNumber, st.Number)
	out := []stackIndexEntry{{string(key(nsStackByName, st.ProjectID, st.Name)), strconv.Itoa(st.Number)}}
	if st.Available() {
		mod := indexTimeOf(st.Modified)
		out = append(out,
			stackIndexEntry{string(key(nsStackFree, st.ProjectID, mod, num)), ""},
			stackIndexEntry{string(key(nsStackFreeByBranch, st.ProjectID, st.Branch, mod, num)), ""})
	} else {
		out = append(out, stackIndexEntry{string(key(nsStackLeased, st.ProjectID, indexTimeOf(st.Lease.ExpiresAt), num)), ""})
	}
	return out
}

// Stack returns stack number n of a project.
func (tx *Tx) Stack(projectID string, n int) (*domain.Stack, error) {
	var st domain.Stack
	if err := tx.get(stackKey(projectID, n), &st); err != nil {
		if errors.Is(err, errNoKey) {
			return nil, domain.NotFound("stack number %d not found", n)
		}
		return nil, err
	}
	return &st, nil
}

// StackByName returns the stack of a project called name.
func (tx *Tx) StackByName(projectID, name string) (*domain.Stack, error) {
	v, err := tx.getRaw(key(nsStackByName, projectID, name))
	if errors.Is(err, errNoKey) {
		return nil, domain.NotFound("stack %q not found", name)
	}
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(string(v))
	if err != nil {
		return nil, fmt.Errorf("stack name index %q: %w", name, err)
	}
	return tx.Stack(projectID, n)
}

// StacksNamedWithPrefix calls fn with the name and number of each stack of
// the project whose name starts with pfx, in name order.
func (tx *Tx) StacksNamedWithPrefix(projectID, pfx string, fn func(name string, n int) error) error {
	base := prefix(nsStackByName, projectID)
	start := append(append([]byte{}, base...), pfx...)
	return tx.scan(start, "", 0, false, func(k, v []byte) error {
		n, err := strconv.Atoi(string(v))
		if err != nil {
			return fmt.Errorf("stack name index %q: %w", k, err)
		}
		return fn(string(k[len(base):]), n)
	})
}

// PutStack creates or replaces a stack and keeps its indexes in step.
func (tx *Tx) PutStack(st *domain.Stack) error {
	var oldEntries []stackIndexEntry
	var old domain.Stack
	switch err := tx.get(stackKey(st.ProjectID, st.Number), &old); {
	case err == nil:
		oldEntries = stackIndexEntries(&old)
	case !errors.Is(err, errNoKey):
		return err
	}
	entries := stackIndexEntries(st)
	for _, e := range oldEntries {
		if !slices.Contains(entries, e) {
			if err := tx.delete([]byte(e.key)); err != nil {
				return err
			}
		}
	}
	for _, e := range entries {
		if !slices.Contains(oldEntries, e) {
			if err := tx.putRaw([]byte(e.key), []byte(e.value)); err != nil {
				return err
			}
		}
	}
	return tx.put(stackKey(st.ProjectID, st.Number), st)
}

// DeleteStack removes a stack and its index entries.
func (tx *Tx) DeleteStack(st *domain.Stack) error {
	var stored domain.Stack
	if err := tx.get(stackKey(st.ProjectID, st.Number), &stored); err != nil {
		if errors.Is(err, errNoKey) {
			return domain.NotFound("stack %q not found", st.Name)
		}
		return err
	}
	for _, e := range stackIndexEntries(&stored) {
		if err := tx.delete([]byte(e.key)); err != nil {
			return err
		}
	}
	return tx.delete(stackKey(st.ProjectID, st.Number))
}

// StackCount returns how many stacks a project has, which is also the
// number of its last stack.
func (tx *Tx) StackCount(projectID string) (int, error) {
	v, err := tx.getRaw(key(nsStackCount, projectID))
	if errors.Is(err, errNoKey) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(string(v))
}

// SetStackCount records how many stacks a project has.
func (tx *Tx) SetStackCount(projectID string, n int) error {
	return tx.putRaw(key(nsStackCount, projectID), []byte(strconv.Itoa(n)))
}

// ListStacks returns one page of a project's stacks ordered by number.
func (tx *Tx) ListStacks(projectID string, p Page) ([]domain.Stack, string, error) {
	return scanPage[domain.Stack](tx, prefix(nsStack, projectID), p)
}

// FreeStacks calls fn with the number of each available stack of the
// project, oldest modification first, until fn returns false. A non-empty
// branch limits it to the stacks whose branch that is.
//
// Badger counts every index entry an iterator visits as read: in an update
// transaction, a concurrent change to any of them is a conflict. Callers
// picking one entry among many therefore scan in a View.
func (tx *Tx) FreeStacks(projectID, branch string, fn func(n int) bool) error {
	pfx := prefix(nsStackFree, projectID)
	if branch != "" {
		pfx = prefix(nsStackFreeByBranch, projectID, branch)
	}
	return tx.scan(pfx, "", 0, true, func(k, _ []byte) error {
		n, err := strconv.Atoi(lastPart(k))
		if err != nil {
			return fmt.Errorf("free stack index %q: %w", k, err)
		}
		if !fn(n) {
			return errStop
		}
		return nil
	})
}

// ExpiredLeases returns the numbers of up to limit stacks of the project
// whose lease ran out by now, earliest expiry first.
func (tx *Tx) ExpiredLeases(projectID string, now time.Time, limit int) ([]int, error) {
	pfx := prefix(nsStackLeased, projectID)
	until := indexTimeOf(now)
	var out []int
	err := tx.scan(pfx, "", limit, true, func(k, _ []byte) error {
		expiry, number, ok := cutIndexTime(k[len(pfx):])
		if !ok {
			return fmt.Errorf("leased stack index %q is malformed", k)
		}
		if expiry > until {
			return errStop
		}
		n, err := strconv.Atoi(number)
		if err != nil {
			return fmt.Errorf("leased stack index %q: %w", k, err)
		}
		out = append(out, n)
		return nil
	})
	return out, err
}

// cutIndexTime splits "<time><sep><rest>".
func cutIndexTime(k []byte) (t, rest string, ok bool) {
	if len(k) < 21 || k[20] != sep {
		return "", "", false
	}
	return string(k[:20]), string(k[21:]), true
}

// LeaseReplay returns what an Idempotency-Key of a project remembers.
func (tx *Tx) LeaseReplay(projectID, idempotencyKey string) (*domain.LeaseReplay, error) {
	var r domain.LeaseReplay
	if err := tx.get(key(nsLeaseReplay, projectID, idempotencyKey), &r); err != nil {
		if errors.Is(err, errNoKey) {
			return nil, domain.NotFound("idempotency key %q not seen", idempotencyKey)
		}
		return nil, err
	}
	return &r, nil
}

// PutLeaseReplay remembers the answer to a request with an
// Idempotency-Key. Badger drops it once ttl has passed.
func (tx *Tx) PutLeaseReplay(projectID, idempotencyKey string, r *domain.LeaseReplay, ttl time.Duration) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return tx.putTTL(key(nsLeaseReplay, projectID, idempotencyKey), b, ttl)
}

// StackPurges returns the ids of deleted projects whose stacks are still
// to be removed.
func (tx *Tx) StackPurges() ([]string, error) {
	var ids []string
	err := tx.scan(prefix(nsStackPurge), "", 0, true, func(k, _ []byte) error {
		ids = append(ids, lastPart(k))
		return nil
	})
	return ids, err
}

// PurgeStacks removes up to limit keys of a deleted project's stacks, their
// indexes and replays, and reports whether nothing is left (the purge
// marker then goes too).
func (tx *Tx) PurgeStacks(projectID string, limit int) (done bool, err error) {
	var keys [][]byte
	for _, ns := range []string{nsStack, nsStackByName, nsStackFree, nsStackFreeByBranch, nsStackLeased, nsLeaseReplay} {
		err := tx.scan(prefix(ns, projectID), "", limit-len(keys), true, func(k, _ []byte) error {
			keys = append(keys, append([]byte{}, k...))
			return nil
		})
		if err != nil {
			return false, err
		}
		if len(keys) >= limit {
			break
		}
	}
	for _, k := range keys {
		if err := tx.delete(k); err != nil {
			return false, err
		}
	}
	if len(keys) >= limit {
		return false, nil
	}
	if err := tx.delete(key(nsStackCount, projectID)); err != nil {
		return false, err
	}
	return true, tx.delete(key(nsStackPurge, projectID))
}
