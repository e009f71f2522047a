package store

import (
	"errors"
	"slices"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/persist"
)

const (
	nsService       = "service"          // name -> Service
	nsServiceByTeam = "idx-service-team" // team, service -> "" (owner and granted teams)
)

// Service returns the service called name.
func (tx *Tx) Service(name string) (*domain.Service, error) {
	var s domain.Service
	if err := tx.get(key(nsService, name), &s); err != nil {
		if errors.Is(err, errNoKey) {
			return nil, domain.NotFound("service %q not found", name)
		}
		return nil, err
	}
	return &s, nil
}

// ServiceExists reports whether a service is called name.
func (tx *Tx) ServiceExists(name string) (bool, error) { return tx.exists(key(nsService, name)) }

// PutService creates or replaces a service and keeps its team index in step.
func (tx *Tx) PutService(s *domain.Service) error {
	var old domain.Service
	if err := tx.get(key(nsService, s.Name), &old); err != nil && !errors.Is(err, errNoKey) {
		return err
	}
	if err := tx.reindex(nsServiceByTeam, s.Name, old.AccessTeams(), s.AccessTeams()); err != nil {
		return err
	}
	return tx.put(key(nsService, s.Name), s)
}

// DeleteService removes a service and its index entries.
func (tx *Tx) DeleteService(s *domain.Service) error {
	if err := tx.reindex(nsServiceByTeam, s.Name, s.AccessTeams(), nil); err != nil {
		return err
	}
	return tx.delete(key(nsService, s.Name))
}

// ListServices returns one page of services ordered by name.
func (tx *Tx) ListServices(f persist.ServiceFilter, p Page) ([]domain.Service, string, error) {
	if f.All {
		return scanPage[domain.Service](tx, prefix(nsService), p)
	}
	pfxs := make([][]byte, 0, len(f.Teams))
	for _, t := range f.Teams {
		pfxs = append(pfxs, prefix(nsServiceByTeam, t))
	}
	return pageByIndex(tx, pfxs, p, func(name string) (*domain.Service, bool, error) {
		s, err := tx.Service(name)
		if err != nil {
			return nil, false, err
		}
		return s, !f.OwnedOnly || s.OwnedBy(f.Teams), nil
	})
}

// TeamHasServices names a service the team owns or was granted, or "".
func (tx *Tx) TeamHasServices(team string) (string, error) {
	return tx.firstUnder(prefix(nsServiceByTeam, team))
}

// reindex moves the index entries ns/team/name from the old teams to the new.
func (tx *Tx) reindex(ns, name string, oldTeams, newTeams []string) error {
	for _, t := range oldTeams {
		if !slices.Contains(newTeams, t) {
			if err := tx.delete(key(ns, t, name)); err != nil {
				return err
			}
		}
	}
	for _, t := range newTeams {
		if !slices.Contains(oldTeams, t) {
			if err := tx.putRaw(key(ns, t, name), nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// firstUnder returns the last key component of the first key under pfx, or
// "" when there is none.
func (tx *Tx) firstUnder(pfx []byte) (string, error) {
	var name string
	err := tx.scan(pfx, "", 1, true, func(k, _ []byte) error {
		name = lastPart(k)
		return nil
	})
	return name, err
}

// pageByIndex pages through the names found under several index prefixes,
// in name order without duplicates, loading each and keeping those load
// accepts, until the page is full.
func pageByIndex[T any](tx *Tx, pfxs [][]byte, p Page, load func(name string) (*T, bool, error)) ([]T, string, error) {
	var out []T
	if len(pfxs) == 0 {
		return out, "", nil
	}
	after := p.After
	for {
		names, err := tx.mergeIndexNames(pfxs, after, p.Limit)
		if err != nil || len(names) == 0 {
			return out, "", err
		}
		for _, n := range names {
			after = n
			v, keep, err := load(n)
			if err != nil {
				return nil, "", err
			}
			if !keep {
				continue
			}
			out = append(out, *v)
			if p.Limit > 0 && len(out) == p.Limit {
				return out, n, nil
			}
		}
		if p.Limit == 0 {
			return out, "", nil
		}
	}
}
