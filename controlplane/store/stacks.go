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
	"github.com/berthdev/terraform-provider-berth/controlplane/persist"
)

// Stack projects are keyed by name; everything below a project by its id.
// Which stacks are available is not indexed here: core keeps that index in
// memory, because the keys of such an index would change on every lease and
// release, and scans slow down with every deleted key they pass. Instead,
// every write of a stack moves the project's stack generation and records
// the stack under it in a change log, so that an index (in any process)
// knows from one key whether it is current, and catches up by reading only
// what changed since.
const (
	nsStackProject       = "stackproject"          // name -> StackProject
	nsStackProjectByKey  = "idx-stackproject-key"  // hex sha256 of the key -> name
	nsStackProjectByTeam = "idx-stackproject-team" // team, name -> ""
	nsStack              = "stack"                 // project id, number -> Stack
	nsStackCount         = "stackcount"            // project id -> number of stacks
	nsStackByName        = "idx-stack-name"        // project id, stack name -> number
	nsLeaseReplay        = "stack-lease-replay"    // project id, idempotency key -> LeaseReplay
	nsStackPurge         = "stack-purge"           // project id of a deleted project -> ""
	nsStackGen           = "stackgen"              // project id -> generation
	nsStackChange        = "stack-change"          // project id, generation -> stack number

	stackGenNumber = "%020d"

	stackNumber = "%010d"
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

// ListStackProjects returns one page of projects ordered by name.
func (tx *Tx) ListStackProjects(f persist.StackProjectFilter, p Page) ([]domain.StackProject, string, error) {
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

// StackCount returns how many stacks a project has. Stacks are numbered
// from 1 without gaps, so it is also the number of the last one.
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

// StackGen returns the project's stack generation: it moves with every
// write of one of its stacks.
func (tx *Tx) StackGen(projectID string) (int64, error) {
	v, err := tx.getRaw(key(nsStackGen, projectID))
	if errors.Is(err, errNoKey) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(string(v), 10, 64)
}

// SetStackGen records the project's stack generation after a batch of
// writes made with the generations up to gen.
func (tx *Tx) SetStackGen(projectID string, gen int64) error {
	return tx.putRaw(key(nsStackGen, projectID), []byte(strconv.FormatInt(gen, 10)))
}

// StacksChangedSince calls fn with the number of each stack of the project
// written after generation gen, oldest write first. A number whose stack
// no longer exists was deleted.
func (tx *Tx) StacksChangedSince(projectID string, gen int64, fn func(n int) error) error {
	return tx.scan(prefix(nsStackChange, projectID), fmt.Sprintf(stackGenNumber, gen), 0, false, func(k, v []byte) error {
		n, err := strconv.Atoi(string(v))
		if err != nil {
			return fmt.Errorf("stack change log %q: %w", truncateKey(k), err)
		}
		return fn(n)
	})
}

// logStackChange records that stack n changed at generation gen, dropping
// its entry of the generation it was written at before (0: none).
func (tx *Tx) logStackChange(projectID string, n int, before, gen int64) error {
	if gen <= before {
		return fmt.Errorf("stack %d of project %s: generation %d does not follow %d", n, projectID, gen, before)
	}
	if before > 0 {
		if err := tx.delete(key(nsStackChange, projectID, fmt.Sprintf(stackGenNumber, before))); err != nil {
			return err
		}
	}
	return tx.putRaw(key(nsStackChange, projectID, fmt.Sprintf(stackGenNumber, gen)), []byte(strconv.Itoa(n)))
}

// CreateStack adds the next stack of a project at generation gen: its
// number must follow the last one, and its name must be free.
func (tx *Tx) CreateStack(st *domain.Stack, gen int64) error {
	count, err := tx.StackCount(st.ProjectID)
	if err != nil {
		return err
	}
	if st.Number != count+1 {
		return fmt.Errorf("stack number %d does not follow the last one, %d", st.Number, count)
	}
	nameKey := key(nsStackByName, st.ProjectID, st.Name)
	if taken, err := tx.exists(nameKey); err != nil || taken {
		if err == nil {
			err = domain.Conflict("a stack is already called %q", st.Name)
		}
		return err
	}
	if err := tx.putRaw(nameKey, []byte(strconv.Itoa(st.Number))); err != nil {
		return err
	}
	if err := tx.putRaw(key(nsStackCount, st.ProjectID), []byte(strconv.Itoa(st.Number))); err != nil {
		return err
	}
	if err := tx.logStackChange(st.ProjectID, st.Number, 0, gen); err != nil {
		return err
	}
	st.Gen = gen
	return tx.put(stackKey(st.ProjectID, st.Number), st)
}

// PutStack saves a change to an existing stack at generation gen; its
// number and name never change.
func (tx *Tx) PutStack(st *domain.Stack, gen int64) error {
	if err := tx.logStackChange(st.ProjectID, st.Number, st.Gen, gen); err != nil {
		return err
	}
	st.Gen = gen
	return tx.put(stackKey(st.ProjectID, st.Number), st)
}

// DeleteLastStack removes the highest-numbered stack of its project at
// generation gen.
func (tx *Tx) DeleteLastStack(st *domain.Stack, gen int64) error {
	count, err := tx.StackCount(st.ProjectID)
	if err != nil {
		return err
	}
	if st.Number != count {
		return fmt.Errorf("stack number %d is not the last one, %d", st.Number, count)
	}
	if err := tx.delete(key(nsStackByName, st.ProjectID, st.Name)); err != nil {
		return err
	}
	if err := tx.putRaw(key(nsStackCount, st.ProjectID), []byte(strconv.Itoa(count-1))); err != nil {
		return err
	}
	if err := tx.logStackChange(st.ProjectID, st.Number, st.Gen, gen); err != nil {
		return err
	}
	return tx.delete(stackKey(st.ProjectID, st.Number))
}

// ListStacks returns one page of a project's stacks ordered by number.
func (tx *Tx) ListStacks(projectID string, p Page) ([]domain.Stack, string, error) {
	return scanPage[domain.Stack](tx, prefix(nsStack, projectID), p)
}

// LeaseReplay returns what an Idempotency-Key of a project remembers, if
// it has not expired by now.
func (tx *Tx) LeaseReplay(projectID, idempotencyKey string, now time.Time) (*domain.LeaseReplay, error) {
	k := key(nsLeaseReplay, projectID, idempotencyKey)
	b, err := tx.getLive(k, now)
	if errors.Is(err, errNoKey) {
		return nil, domain.NotFound("idempotency key %q not seen", idempotencyKey)
	}
	if err != nil {
		return nil, err
	}
	var r domain.LeaseReplay
	if err := decode(k, b, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// PutLeaseReplay remembers the answer to a request with an
// Idempotency-Key until expires.
func (tx *Tx) PutLeaseReplay(projectID, idempotencyKey string, r *domain.LeaseReplay, expires time.Time) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return tx.putExpiring(key(nsLeaseReplay, projectID, idempotencyKey), b, expires)
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
	for _, ns := range []string{nsStack, nsStackByName, nsLeaseReplay, nsStackChange} {
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
	if err := tx.delete(key(nsStackGen, projectID)); err != nil {
		return false, err
	}
	return true, tx.delete(key(nsStackPurge, projectID))
}
