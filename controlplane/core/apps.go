package core

import (
	"context"
	"fmt"
	"slices"

	"github.com/google/uuid"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/persist"
)

// Apps is the apps-and-config area: apps of every dialect, their config
// vars, releases and release statuses, swap and restart.
type Apps struct {
	deps
	busy *busyMarks
	// services unbinds a deleted app's service instances at their brokers.
	services *Services
	// envKey keys the digests of private config vars.
	envKey []byte
	// routesChanged brings this process's router up to date.
	routesChanged func(ctx context.Context)
}

// appForRead loads an app by name or id and checks that the caller may see
// it.
func appForRead(tx persist.Tx, id *domain.Identity, nameOrID string) (*domain.App, error) {
	a, err := appByNameOrID(tx, nameOrID)
	if err != nil {
		return nil, err
	}
	if !domain.CanAccessApp(id, a) {
		return nil, forbidden(id, fmt.Sprintf("access app %q", a.Name))
	}
	return a, nil
}

// appByNameOrID accepts either form, as Akkeris does everywhere.
func appByNameOrID(tx persist.Tx, nameOrID string) (*domain.App, error) {
	if uuid.Validate(nameOrID) == nil {
		if a, err := tx.AppByID(nameOrID); err == nil || !isNotFound(err) {
			return a, err
		}
	}
	return tx.App(nameOrID)
}

// List returns one page of the apps the caller may see (every app for
// admins), ordered by name, optionally only those of one type.
func (s *Apps) List(ctx context.Context, id *domain.Identity, appType domain.AppType, p domain.Page) ([]domain.App, string, error) {
	f := persist.AppFilter{Scope: domain.AppScopeOf(id), Type: appType}
	var apps []domain.App
	var next string
	err := s.store.View(ctx, func(tx persist.Tx) (err error) {
		apps, next, err = tx.ListApps(f, p)
		return err
	})
	return apps, next, err
}

// Get returns an app, by name or id, that the caller may see.
func (s *Apps) Get(ctx context.Context, id *domain.Identity, nameOrID string) (*domain.App, error) {
	var a *domain.App
	err := s.store.View(ctx, func(tx persist.Tx) (err error) {
		a, err = appForRead(tx, id, nameOrID)
		return err
	})
	return a, err
}

// NewApp describes an app to create; dialects fill what they know.
type NewApp struct {
	Name        string
	Type        domain.AppType
	Platform    string
	TeamOwner   string
	Description string
	Meta        *domain.AppMeta
}

// Create creates an app owned by one of the caller's teams. teamOwner may
// be empty when the caller belongs to exactly one team. The app counts
// against the caller's quota.
func (s *Apps) Create(ctx context.Context, id *domain.Identity, n NewApp) (*domain.App, error) {
	if err := domain.ValidateAppName(n.Name); err != nil {
		return nil, err
	}
	var a *domain.App
	err := s.store.Update(ctx, func(tx persist.Tx) (err error) {
		a, err = s.createAppTx(tx, id, n)
		return err
	})
	return a, err
}

// createAppTx creates an app inside a transaction; the name is not checked
// against the user-facing rule (resource instances have dotted names).
func (s *Apps) createAppTx(tx persist.Tx, id *domain.Identity, n NewApp) (*domain.App, error) {
	if n.Type == "" {
		n.Type = domain.AppTypeApp
	}
	if !domain.ValidAppType(n.Type) {
		return nil, domain.Invalid("invalid app type %q: must be app, service, resource or resource-instance", n.Type)
	}
	if n.Platform != "" && !slices.Contains(s.cfg.Platforms, n.Platform) {
		return nil, domain.Invalid("invalid platform %q: must be one of %v", n.Platform, s.cfg.Platforms)
	}
	owner, err := pickTeamOwner(id, n.TeamOwner)
	if err != nil {
		return nil, err
	}
	if exists, err := tx.TeamExists(owner); err != nil {
		return nil, err
	} else if !exists {
		return nil, domain.NotFound("team %q not found", owner)
	}
	exists, err := tx.AppExists(n.Name)
	if err != nil {
		return nil, err
	}
	if exists {
		return nil, domain.Conflict("app %q already exists", n.Name)
	}
	u, err := tx.User(id.Email())
	if err != nil {
		return nil, err
	}
	if u.QuotaAvailable() == 0 {
		return nil, domain.Forbidden("quota exceeded: user %q may own at most %d apps", u.Email, u.QuotaLimit)
	}
	u.QuotaInUse++
	if err := tx.PutUser(u); err != nil {
		return nil, err
	}
	now := s.now().UTC()
	a := &domain.App{
		ID:            uuid.NewString(),
		Name:          n.Name,
		Type:          n.Type,
		Platform:      n.Platform,
		Description:   n.Description,
		TeamOwner:     owner,
		Teams:         []string{owner},
		Owner:         id.Email(),
		RepositoryURL: fmt.Sprintf("git@%s:%s.git", s.cfg.GitHost, n.Name),
		IP:            fmt.Sprintf("%s.%s", n.Name, s.cfg.AppDomain),
		Meta:          n.Meta,
		Env:           map[string]domain.EnvVar{},
		CreatedAt:     now,
		UpdatedAt:     now,
	}
	return a, tx.PutApp(a)
}

// pickTeamOwner chooses the owning team: the one named (the caller must be
// in it, unless admin), or the caller's only team.
func pickTeamOwner(id *domain.Identity, teamOwner string) (string, error) {
	if teamOwner != "" {
		if !id.IsAdmin() && !id.InTeam(teamOwner) {
			return "", domain.Forbidden("user %q is not a member of team %q", id.Email(), teamOwner)
		}
		return teamOwner, nil
	}
	switch len(id.Teams) {
	case 0:
		return "", domain.Forbidden("user %q is not a member of any team: create a team first", id.Email())
	case 1:
		return id.Teams[0], nil
	default:
		return "", domain.Invalid("user %q is a member of several teams: set teamOwner to one of %v", id.Email(), id.Teams)
	}
}
