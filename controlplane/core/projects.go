package core

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/persist"
)

// Stacks is the stacks area: stack projects and the leases of their
// stacks.
type Stacks struct {
	deps
	writer stackWriter
}

// projectKeyPrefix marks berth stack project keys, so a leaked one is
// recognisable.
const projectKeyPrefix = "berth_sp_"

var errBadProjectKey = domain.Unauthorized("invalid project key")

// NewStackProject describes a stack project to create.
type NewStackProject struct {
	Name   string
	Prefix string
	// Team owns the project; empty means the caller's only team.
	Team          string
	InitialCommit string
}

// StackProjectUpdate changes the settings of a project; nil fields stay.
type StackProjectUpdate struct {
	Prefix        *string
	InitialCommit *string
}

// CreateStackProject creates a project and returns it with its key, which
// is shown only here: the store keeps its hash.
func (s *Stacks) CreateStackProject(ctx context.Context, id *domain.Identity, n NewStackProject) (string, *domain.StackProject, error) {
	if err := domain.ValidateStackProjectName(n.Name); err != nil {
		return "", nil, err
	}
	if n.Prefix == "" {
		n.Prefix = domain.DefaultStackPrefix
	}
	if err := domain.ValidateStackPrefix(n.Prefix); err != nil {
		return "", nil, err
	}
	if err := validateInitialCommit(n.InitialCommit); err != nil {
		return "", nil, err
	}
	team, err := pickProjectTeam(id, n.Team)
	if err != nil {
		return "", nil, err
	}
	secret := projectKeyPrefix + randomToken(32)
	now := s.now().UTC()
	p := &domain.StackProject{
		ID:            uuid.NewString(),
		Name:          n.Name,
		Team:          team,
		Prefix:        n.Prefix,
		InitialCommit: n.InitialCommit,
		KeyHash:       hashToken(secret),
		CreatedAt:     now,
		UpdatedAt:     now,
	}
	err = s.store.Update(ctx, func(tx persist.Tx) error {
		if exists, err := tx.TeamExists(team); err != nil {
			return err
		} else if !exists {
			return domain.NotFound("team %q not found", team)
		}
		exists, err := tx.StackProjectExists(n.Name)
		if err != nil {
			return err
		}
		if exists {
			return domain.Conflict("project %q already exists", n.Name)
		}
		return tx.PutStackProject(p)
	})
	if err != nil {
		return "", nil, err
	}
	return secret, p, nil
}

// pickProjectTeam chooses the owning team: the one named (the caller must
// be in it, unless admin), or the caller's only team.
func pickProjectTeam(id *domain.Identity, team string) (string, error) {
	if team == "" && len(id.Teams) > 1 {
		return "", domain.Invalid("user %q is a member of several teams: set team to one of %v", id.Email(), id.Teams)
	}
	return pickTeamOwner(id, team)
}

func validateInitialCommit(c string) error {
	if c == "" {
		return nil
	}
	return domain.ValidateCommit("initialCommit", c)
}

// canManageProject: admins and members of the owning team.
func canManageProject(id *domain.Identity, p *domain.StackProject) bool {
	return id.IsAdmin() || id.InTeam(p.Team)
}

func projectForChange(tx persist.Tx, id *domain.Identity, name string) (*domain.StackProject, error) {
	p, err := tx.StackProject(name)
	if err != nil {
		return nil, err
	}
	if !canManageProject(id, p) {
		return nil, forbidden(id, fmt.Sprintf("manage project %q", name))
	}
	return p, nil
}

// ListStackProjects returns one page of the projects the caller's teams own
// (every project for admins), ordered by name.
func (s *Stacks) ListStackProjects(ctx context.Context, id *domain.Identity, p domain.Page) ([]domain.StackProject, string, error) {
	f := persist.StackProjectFilter{All: id.IsAdmin(), Teams: id.Teams}
	var out []domain.StackProject
	var next string
	err := s.store.View(ctx, func(tx persist.Tx) (err error) {
		out, next, err = tx.ListStackProjects(f, p)
		return err
	})
	return out, next, err
}

// StackProject returns a project the caller may manage.
func (s *Stacks) StackProject(ctx context.Context, id *domain.Identity, name string) (*domain.StackProject, error) {
	var p *domain.StackProject
	err := s.store.View(ctx, func(tx persist.Tx) (err error) {
		p, err = projectForChange(tx, id, name)
		return err
	})
	return p, err
}

// RotateStackProjectKey gives a project a new key; the old one stops
// working when this returns.
func (s *Stacks) RotateStackProjectKey(ctx context.Context, id *domain.Identity, name string) (string, *domain.StackProject, error) {
	secret := projectKeyPrefix + randomToken(32)
	var p *domain.StackProject
	err := s.store.Update(ctx, func(tx persist.Tx) (err error) {
		if p, err = projectForChange(tx, id, name); err != nil {
			return err
		}
		p.KeyHash = hashToken(secret)
		p.UpdatedAt = s.now().UTC()
		return tx.PutStackProject(p)
	})
	if err != nil {
		return "", nil, err
	}
	return secret, p, nil
}

// DeleteStackProject removes a project, leased stacks or not: its key stops
// working at once. Its stacks are removed in batches afterwards; the lease
// sweep finishes the job if the process stops first.
func (s *Stacks) DeleteStackProject(ctx context.Context, id *domain.Identity, name string) error {
	var p *domain.StackProject
	err := s.writeStacks(ctx, func(b *stackBatch) (err error) {
		if p, err = projectForChange(b.tx, id, name); err != nil {
			return err
		}
		return b.deleteProject(p)
	})
	if err != nil {
		return err
	}
	if err := s.purgeStacks(ctx, p.ID); err != nil {
		s.log.Warn("stacks of a deleted project left for the sweep", "project", name, "err", err)
	}
	return nil
}

// purgeBatch bounds the keys one purge transaction deletes, well under
// Badger's transaction size limit.
const purgeBatch = 2000

// purgeStacks removes what is left of a deleted project's stacks.
func (s *Stacks) purgeStacks(ctx context.Context, projectID string) error {
	for done := false; !done; {
		err := s.store.Update(ctx, func(tx persist.Tx) (err error) {
			done, err = tx.PurgeStacks(projectID, purgeBatch)
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// AuthenticateProjectKey resolves the X-API-Key of a stack route to its
// project. The key is looked up by its hash, and the hash compared in
// constant time.
func (s *Stacks) AuthenticateProjectKey(ctx context.Context, key string) (*domain.StackProject, error) {
	key = strings.TrimSpace(key)
	if key == "" {
		return nil, domain.Unauthorized("missing project key")
	}
	hash := hashToken(key)
	var p *domain.StackProject
	err := s.store.View(ctx, func(tx persist.Tx) (err error) {
		p, err = tx.StackProjectByKeyHash(hash)
		if errors.Is(err, domain.ErrNotFound) {
			return errBadProjectKey
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare(p.KeyHash, hash) != 1 {
		return nil, errBadProjectKey
	}
	return p, nil
}

// currentProject re-reads the caller's project inside a transaction: the
// transaction then conflicts with a concurrent change or deletion of it, and
// sees its latest settings.
func currentProject(tx persist.Tx, p *domain.StackProject) (*domain.StackProject, error) {
	cur, err := tx.StackProject(p.Name)
	if errors.Is(err, domain.ErrNotFound) || (err == nil && cur.ID != p.ID) {
		return nil, errBadProjectKey
	}
	return cur, err
}

// UpdateStackProject changes the settings of the caller's project. A new
// prefix applies to stacks created from now on; existing stacks keep their
// names. It is refused when a stack made later would be named like an
// existing one.
func (s *Stacks) UpdateStackProject(ctx context.Context, p *domain.StackProject, u StackProjectUpdate) (*domain.StackProject, error) {
	return s.updateStackProject(ctx, u, func(tx persist.Tx) (*domain.StackProject, error) {
		return currentProject(tx, p)
	})
}

// UpdateStackProjectByName is UpdateStackProject for a project the caller
// may manage (admin routes), named rather than authenticated by its key.
func (s *Stacks) UpdateStackProjectByName(ctx context.Context, id *domain.Identity, name string, u StackProjectUpdate) (*domain.StackProject, error) {
	return s.updateStackProject(ctx, u, func(tx persist.Tx) (*domain.StackProject, error) {
		return projectForChange(tx, id, name)
	})
}

func (s *Stacks) updateStackProject(ctx context.Context, u StackProjectUpdate, load func(persist.Tx) (*domain.StackProject, error)) (*domain.StackProject, error) {
	if u.Prefix == nil && u.InitialCommit == nil {
		return nil, domain.Invalid("nothing to change: set prefix or initialCommit")
	}
	if u.Prefix != nil {
		if err := domain.ValidateStackPrefix(*u.Prefix); err != nil {
			return nil, err
		}
	}
	if u.InitialCommit != nil {
		if err := validateInitialCommit(*u.InitialCommit); err != nil {
			return nil, err
		}
	}
	var out *domain.StackProject
	err := s.store.Update(ctx, func(tx persist.Tx) (err error) {
		if out, err = load(tx); err != nil {
			return err
		}
		if u.Prefix != nil && *u.Prefix != out.Prefix {
			if err := checkPrefixFree(tx, out.ID, *u.Prefix); err != nil {
				return err
			}
			out.Prefix = *u.Prefix
		}
		if u.InitialCommit != nil {
			out.InitialCommit = *u.InitialCommit
		}
		out.UpdatedAt = s.now().UTC()
		return tx.PutStackProject(out)
	})
	return out, err
}

// checkPrefixFree refuses a prefix under which some existing stack's name
// reads as another number than its own: once the project reaches that
// number, the new stack would take the existing name.
func checkPrefixFree(tx persist.Tx, projectID, prefix string) error {
	return tx.StacksNamedWithPrefix(projectID, prefix, func(name string, n int) error {
		if m, ok := domain.StackNumberIn(prefix, name); ok && m != n {
			return domain.Conflict("prefix %q would name stack number %d like the existing stack %q: choose another prefix", prefix, m, name)
		}
		return nil
	})
}
