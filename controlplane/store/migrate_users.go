package store

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
)

// migrateUsers (schema 4): every user gets an id; users, and the indexes
// that name them (team members, lain maintainers, app tokens), are keyed by
// domain.EmailKey instead of the address as given; app tokens carry their
// user's id.
//
// Two accounts whose addresses differ only by case become one address: the
// account created first keeps it (the smaller address as given when both
// were created at the same moment). Each later one is removed with its app
// tokens, its team memberships and its place among lain maintainers, as if
// it had been deleted, except that nothing it belongs to keeps it: a team
// it was the last member of stays without members (admins can add some).
// The server log names both addresses.
//
// Each step is safe to run again after a crash: it looks at what is stored
// now, not at what the scan saw.
func migrateUsers(ctx context.Context, s *Store, _ time.Time) error {
	err := s.rewriteAll(ctx, prefix(nsUser), func(tx *Tx, k, _ []byte) error {
		return migrateUserRecord(tx, s, k)
	})
	if err != nil {
		return err
	}
	for _, ns := range []string{nsTeamByMember, nsAppByMaint, nsTokenByUser} {
		pfx := prefix(ns)
		err := s.rewriteAll(ctx, pfx, func(tx *Tx, k, v []byte) error {
			email, rest, ok := bytes.Cut(k[len(pfx):], []byte{sep})
			if !ok {
				return nil
			}
			folded := domain.EmailKey(string(email))
			if folded == string(email) {
				return nil
			}
			if err := tx.putRaw(append(prefix(ns, folded), rest...), v); err != nil {
				return err
			}
			return tx.delete(k)
		})
		if err != nil {
			return err
		}
	}
	return s.rewriteAll(ctx, prefix(nsAppToken), func(tx *Tx, k, _ []byte) error {
		var t domain.AppToken
		switch err := tx.get(k, &t); {
		case errors.Is(err, errNoKey):
			return nil
		case err != nil:
			return err
		case t.UserID != "":
			return nil
		}
		u, err := tx.User(t.UserEmail)
		if errors.Is(err, domain.ErrNotFound) {
			// A token whose user is gone never worked; now it is gone too.
			return tx.DeleteAppToken(&t)
		}
		if err != nil {
			return err
		}
		t.UserID = u.ID
		return tx.put(k, &t)
	})
}

// migrateUserRecord gives the user stored at k an id and moves it to its
// folded key, settling a clash with an account already there.
func migrateUserRecord(tx *Tx, s *Store, k []byte) error {
	var u domain.User
	switch err := tx.get(k, &u); {
	case errors.Is(err, errNoKey):
		return nil // moved or removed earlier in this batch
	case err != nil:
		return err
	}
	if u.ID == "" {
		u.ID = uuid.NewString()
	}
	target := userKey(u.Email)
	if bytes.Equal(k, target) {
		return tx.put(k, &u)
	}
	var there domain.User
	switch err := tx.get(target, &there); {
	case errors.Is(err, errNoKey):
	case err != nil:
		return err
	default:
		keep, drop := &there, &u
		if u.CreatedAt.Before(there.CreatedAt) || (u.CreatedAt.Equal(there.CreatedAt) && u.Email < there.Email) {
			keep, drop = &u, &there
		}
		s.log.Warn("migrating the store: two accounts have addresses that differ only by case; the one created first keeps the address, the other is removed with its app tokens, team memberships and lain maintainer roles",
			"kept", keep.Email, "removed", drop.Email)
		if err := tx.removeUserAsGiven(drop.Email); err != nil {
			return err
		}
		if keep == &there {
			return tx.delete(k)
		}
	}
	if err := tx.put(target, &u); err != nil {
		return err
	}
	return tx.delete(k)
}

// removeUserAsGiven removes what names the address email, exactly as
// given, from the indexes of schema 2 (before they were folded): its team
// memberships, its place among lain maintainers and its app tokens. The
// caller removes or replaces the user record.
func (tx *Tx) removeUserAsGiven(email string) error {
	teams, err := tx.indexTails(prefix(nsTeamByMember, email))
	if err != nil {
		return err
	}
	for _, name := range teams {
		var t domain.Team
		if err := tx.get(key(nsTeam, name), &t); err != nil && !errors.Is(err, errNoKey) {
			return err
		} else if err == nil {
			t.Members = removeExact(t.Members, email)
			if err := tx.put(key(nsTeam, name), &t); err != nil {
				return err
			}
		}
		if err := tx.delete(key(nsTeamByMember, email, name)); err != nil {
			return err
		}
	}
	apps, err := tx.indexTails(prefix(nsAppByMaint, email))
	if err != nil {
		return err
	}
	for _, name := range apps {
		var a domain.App
		if err := tx.get(key(nsApp, name), &a); err != nil && !errors.Is(err, errNoKey) {
			return err
		} else if err == nil {
			kept := a.Maintainers[:0:0]
			for _, m := range a.Maintainers {
				if m.Username != email {
					kept = append(kept, m)
				}
			}
			a.Maintainers = kept
			if err := tx.put(key(nsApp, name), &a); err != nil {
				return err
			}
		}
		if err := tx.delete(key(nsAppByMaint, email, name)); err != nil {
			return err
		}
	}
	var tokenKeys [][]byte
	err = tx.scan(prefix(nsTokenByUser, email), "", 0, false, func(k, v []byte) error {
		tokenKeys = append(tokenKeys, bytes.Clone(k), key(nsAppToken, string(v)))
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range tokenKeys {
		if err := tx.delete(k); err != nil {
			return err
		}
	}
	return nil
}

// indexTails returns the last key component of every key under pfx.
func (tx *Tx) indexTails(pfx []byte) ([]string, error) {
	var out []string
	err := tx.scan(pfx, "", 0, true, func(k, _ []byte) error {
		out = append(out, lastPart(k))
		return nil
	})
	return out, err
}

func removeExact(list []string, s string) []string {
	out := list[:0:0]
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}
