package store

import (
	"errors"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/persist"
)

const (
	nsInstance          = "svc-instance"          // name -> ServiceInstance
	nsInstanceByService = "idx-svc-instance-svc"  // service, instance -> ""
	nsInstanceByTeam    = "idx-svc-instance-team" // team, instance -> ""
)

// Instance returns the service instance called name.
func (tx *Tx) Instance(name string) (*domain.ServiceInstance, error) {
	var i domain.ServiceInstance
	if err := tx.get(key(nsInstance, name), &i); err != nil {
		if errors.Is(err, errNoKey) {
			return nil, domain.NotFound("service instance %q not found", name)
		}
		return nil, err
	}
	return &i, nil
}

// InstanceExists reports whether a service instance is called name.
func (tx *Tx) InstanceExists(name string) (bool, error) { return tx.exists(key(nsInstance, name)) }

// PutInstance creates or replaces a service instance and keeps its indexes
// in step. An instance never moves to another service.
func (tx *Tx) PutInstance(i *domain.ServiceInstance) error {
	var old domain.ServiceInstance
	switch err := tx.get(key(nsInstance, i.Name), &old); {
	case errors.Is(err, errNoKey):
		if err := tx.putRaw(key(nsInstanceByService, i.Service, i.Name), nil); err != nil {
			return err
		}
	case err != nil:
		return err
	}
	if err := tx.reindex(nsInstanceByTeam, i.Name, old.Teams, i.Teams); err != nil {
		return err
	}
	return tx.put(key(nsInstance, i.Name), i)
}

// DeleteInstance removes a service instance and its index entries.
func (tx *Tx) DeleteInstance(i *domain.ServiceInstance) error {
	if err := tx.reindex(nsInstanceByTeam, i.Name, i.Teams, nil); err != nil {
		return err
	}
	if err := tx.delete(key(nsInstanceByService, i.Service, i.Name)); err != nil {
		return err
	}
	return tx.delete(key(nsInstance, i.Name))
}

// ListInstances returns one page of a service's instances ordered by name.
func (tx *Tx) ListInstances(f persist.InstanceFilter, p Page) ([]domain.ServiceInstance, string, error) {
	return pageByIndex(tx, [][]byte{prefix(nsInstanceByService, f.Service)}, p, func(name string) (*domain.ServiceInstance, bool, error) {
		i, err := tx.Instance(name)
		if err != nil {
			return nil, false, err
		}
		return i, f.All || hasAnyTeam(i.Teams, f.Teams), nil
	})
}

// ServiceHasInstances names an instance of the service, or "".
func (tx *Tx) ServiceHasInstances(service string) (string, error) {
	return tx.firstUnder(prefix(nsInstanceByService, service))
}

// TeamHasInstances names a service instance the team owns, or "".
func (tx *Tx) TeamHasInstances(team string) (string, error) {
	return tx.firstUnder(prefix(nsInstanceByTeam, team))
}

func hasAnyTeam(have, want []string) bool {
	for _, w := range want {
		for _, h := range have {
			if h == w {
				return true
			}
		}
	}
	return false
}
