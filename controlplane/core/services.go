package core

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/persist"
)

// Services is the services area: services (brokered or static), their
// instances and bindings to apps.
type Services struct {
	deps
	busy *busyMarks
}

// ServiceManifest describes a service as its YAML manifest does.
type ServiceManifest struct {
	ID       string
	Username string
	Password string
	// Endpoint maps environments to broker URLs; empty for a static service.
	Endpoint map[string]string
	// Team, when set, is the team that owns the service; otherwise every
	// team of the creator does, as in tsuru.
	Team string
	// Env is what instances of a static service export.
	Env map[string]string
}

// ServiceInstances names the instances of one service.
type ServiceInstances struct {
	Service   string
	Instances []string
}

// CreateService registers a service. Any team member may; the service is
// owned by the manifest's team or by all the creator's teams.
func (s *Services) CreateService(ctx context.Context, id *domain.Identity, m ServiceManifest) (*domain.Service, error) {
	now := s.now().UTC()
	svc := &domain.Service{Name: m.ID, CreatedAt: now}
	applyManifest(svc, m, now)
	if err := svc.Validate(); err != nil {
		return nil, err
	}
	err := s.store.Update(ctx, func(tx persist.Tx) error {
		owners, err := manifestOwners(tx, id, m.Team)
		if err != nil {
			return err
		}
		svc.OwnerTeams = owners
		if exists, err := tx.ServiceExists(svc.Name); err != nil {
			return err
		} else if exists {
			return domain.Conflict("service %q already exists", svc.Name)
		}
		return tx.PutService(svc)
	})
	if err != nil {
		return nil, err
	}
	return svc, nil
}

// UpdateService replaces what the manifest describes of a service the
// caller owns; its doc and grants stay. A service with instances cannot
// switch between static and brokered: its instances were made one way.
func (s *Services) UpdateService(ctx context.Context, id *domain.Identity, m ServiceManifest) (*domain.Service, error) {
	if err := domain.ValidateServiceName(m.ID); err != nil {
		return nil, err
	}
	var svc *domain.Service
	err := s.store.Update(ctx, func(tx persist.Tx) (err error) {
		if svc, err = serviceForChange(tx, id, m.ID); err != nil {
			return err
		}
		wasStatic := svc.Static()
		applyManifest(svc, m, s.now().UTC())
		if err := svc.Validate(); err != nil {
			return err
		}
		if m.Team != "" {
			if svc.OwnerTeams, err = manifestOwners(tx, id, m.Team); err != nil {
				return err
			}
		}
		if svc.Static() != wasStatic {
			if inst, err := tx.ServiceHasInstances(svc.Name); err != nil {
				return err
			} else if inst != "" {
				return domain.Conflict("service %q has instances (%s, ...): it cannot switch between static and brokered", svc.Name, inst)
			}
		}
		return tx.PutService(svc)
	})
	return svc, err
}

func applyManifest(svc *domain.Service, m ServiceManifest, now time.Time) {
	svc.Endpoints = maps.Clone(m.Endpoint)
	svc.Username = m.Username
	svc.Password = m.Password
	svc.Env = maps.Clone(m.Env)
	svc.UpdatedAt = now
}

// manifestOwners picks the owner teams of a service: the manifest's team
// (the caller must be in it unless admin), else every team of the caller.
func manifestOwners(tx persist.Tx, id *domain.Identity, team string) ([]string, error) {
	if team == "" {
		if len(id.Teams) == 0 {
			return nil, domain.Forbidden("user %q is not a member of any team: create a team first", id.Email())
		}
		return slices.Clone(id.Teams), nil
	}
	if !id.IsAdmin() && !id.InTeam(team) {
		return nil, domain.Forbidden("user %q is not a member of team %q", id.Email(), team)
	}
	if exists, err := tx.TeamExists(team); err != nil {
		return nil, err
	} else if !exists {
		return nil, domain.NotFound("team %q not found", team)
	}
	return []string{team}, nil
}

// serviceForChange loads a service the caller administers.
func serviceForChange(tx persist.Tx, id *domain.Identity, name string) (*domain.Service, error) {
	svc, err := tx.Service(name)
	if err != nil {
		return nil, err
	}
	if !id.IsAdmin() && !svc.OwnedBy(id.Teams) {
		return nil, forbidden(id, fmt.Sprintf("administer service %q", name))
	}
	return svc, nil
}

// serviceForUse loads a service the caller may use (owner or granted team).
func serviceForUse(tx persist.Tx, id *domain.Identity, name string) (*domain.Service, error) {
	svc, err := tx.Service(name)
	if err != nil {
		return nil, err
	}
	if !id.IsAdmin() && !svc.UsableBy(id.Teams) {
		return nil, forbidden(id, fmt.Sprintf("use service %q", name))
	}
	return svc, nil
}

// ServiceManifestOf returns a service the caller administers.
func (s *Services) ServiceManifestOf(ctx context.Context, id *domain.Identity, name string) (*domain.Service, error) {
	var svc *domain.Service
	err := s.store.View(ctx, func(tx persist.Tx) (err error) {
		svc, err = serviceForChange(tx, id, name)
		return err
	})
	return svc, err
}

// DeleteService removes a service the caller administers; one with
// instances is refused (403, as the spec says).
func (s *Services) DeleteService(ctx context.Context, id *domain.Identity, name string) error {
	return s.store.Update(ctx, func(tx persist.Tx) error {
		svc, err := serviceForChange(tx, id, name)
		if err != nil {
			return err
		}
		if inst, err := tx.ServiceHasInstances(name); err != nil {
			return err
		} else if inst != "" {
			return domain.Forbidden("service %q has instances (%s, ...): remove them first", name, inst)
		}
		return tx.DeleteService(svc)
	})
}

// ListServices returns one page of the services the caller's teams own
// (all for admins), each with all its instances: the service provider's
// view (GET /services).
func (s *Services) ListServices(ctx context.Context, id *domain.Identity, p domain.Page) ([]ServiceInstances, string, error) {
	return s.listServices(ctx, id, p, true)
}

// ListServiceInstances returns one page of the services the caller may use,
// each with the caller's instances of it (all for admins): the user's view
// (GET /services/instances).
func (s *Services) ListServiceInstances(ctx context.Context, id *domain.Identity, p domain.Page) ([]ServiceInstances, string, error) {
	return s.listServices(ctx, id, p, false)
}

func (s *Services) listServices(ctx context.Context, id *domain.Identity, p domain.Page, owned bool) ([]ServiceInstances, string, error) {
	var out []ServiceInstances
	var next string
	err := s.store.View(ctx, func(tx persist.Tx) error {
		svcs, n, err := tx.ListServices(persist.ServiceFilter{All: id.IsAdmin(), Teams: id.Teams, OwnedOnly: owned}, p)
		if err != nil {
			return err
		}
		next = n
		out = make([]ServiceInstances, 0, len(svcs))
		for _, svc := range svcs {
			insts, _, err := tx.ListInstances(persist.InstanceFilter{Service: svc.Name, All: owned || id.IsAdmin(), Teams: id.Teams}, domain.Page{})
			if err != nil {
				return err
			}
			names := make([]string, 0, len(insts))
			for _, i := range insts {
				names = append(names, i.Name)
			}
			out = append(out, ServiceInstances{Service: svc.Name, Instances: names})
		}
		return nil
	})
	return out, next, err
}

// InstancesOfService returns one page of a service's instances: all of them
// for its owners and admins, the caller's own for a granted team's member.
func (s *Services) InstancesOfService(ctx context.Context, id *domain.Identity, name string, p domain.Page) ([]domain.ServiceInstance, string, error) {
	var out []domain.ServiceInstance
	var next string
	err := s.store.View(ctx, func(tx persist.Tx) error {
		svc, err := serviceForUse(tx, id, name)
		if err != nil {
			return err
		}
		all := id.IsAdmin() || svc.OwnedBy(id.Teams)
		out, next, err = tx.ListInstances(persist.InstanceFilter{Service: name, All: all, Teams: id.Teams}, p)
		return err
	})
	return out, next, err
}

// ServiceDoc returns the documentation of a service the caller may use.
func (s *Services) ServiceDoc(ctx context.Context, id *domain.Identity, name string) (string, error) {
	var doc string
	err := s.store.View(ctx, func(tx persist.Tx) error {
		svc, err := serviceForUse(tx, id, name)
		if err == nil {
			doc = svc.Doc
		}
		return err
	})
	return doc, err
}

// SetServiceDoc replaces the documentation of a service the caller
// administers.
func (s *Services) SetServiceDoc(ctx context.Context, id *domain.Identity, name, doc string) error {
	return s.store.Update(ctx, func(tx persist.Tx) error {
		svc, err := serviceForChange(tx, id, name)
		if err != nil {
			return err
		}
		svc.Doc = doc
		svc.UpdatedAt = s.now().UTC()
		return tx.PutService(svc)
	})
}

// GrantService lets a team use a service the caller administers.
func (s *Services) GrantService(ctx context.Context, id *domain.Identity, name, team string) error {
	return s.store.Update(ctx, func(tx persist.Tx) error {
		svc, err := serviceForChange(tx, id, name)
		if err != nil {
			return err
		}
		if exists, err := tx.TeamExists(team); err != nil {
			return err
		} else if !exists {
			return domain.NotFound("team %q not found", team)
		}
		if svc.UsableBy([]string{team}) {
			return domain.Conflict("team %q already has access to service %q", team, name)
		}
		svc.Teams = append(svc.Teams, team)
		svc.UpdatedAt = s.now().UTC()
		return tx.PutService(svc)
	})
}

// RevokeService takes a granted team's access to a service the caller
// administers. Instances the team already has keep working.
func (s *Services) RevokeService(ctx context.Context, id *domain.Identity, name, team string) error {
	return s.store.Update(ctx, func(tx persist.Tx) error {
		svc, err := serviceForChange(tx, id, name)
		if err != nil {
			return err
		}
		if slices.Contains(svc.OwnerTeams, team) {
			return domain.Conflict("team %q owns service %q: an owner's access cannot be revoked", team, name)
		}
		if !slices.Contains(svc.Teams, team) {
			return domain.NotFound("team %q has no access to service %q", team, name)
		}
		svc.Teams = removeString(svc.Teams, team)
		svc.UpdatedAt = s.now().UTC()
		return tx.PutService(svc)
	})
}
