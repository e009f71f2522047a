package core

import (
	"context"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/persist"
)

// CreateTeam creates a team whose only member is the caller.
func (s *Identity) CreateTeam(ctx context.Context, id *domain.Identity, name string) (*domain.Team, error) {
	if err := domain.ValidateTeamName(name); err != nil {
		return nil, err
	}
	t := &domain.Team{Name: name, Members: []string{id.Email()}, CreatedAt: s.now().UTC()}
	err := s.store.Update(ctx, func(tx persist.Tx) error {
		exists, err := tx.TeamExists(name)
		if err != nil {
			return err
		}
		if exists {
			return domain.Conflict("team %q already exists", name)
		}
		return tx.PutTeam(t)
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// ListTeams returns the teams the caller belongs to; every team for admins.
func (s *Identity) ListTeams(ctx context.Context, id *domain.Identity) ([]domain.Team, error) {
	var teams []domain.Team
	err := s.store.View(ctx, func(tx persist.Tx) error {
		if id.IsAdmin() {
			var err error
			teams, _, err = tx.ListTeams(domain.Page{})
			return err
		}
		names, err := tx.TeamsOf(id.Email())
		if err != nil {
			return err
		}
		for _, n := range names {
			t, err := tx.Team(n)
			if err != nil {
				return err
			}
			teams = append(teams, *t)
		}
		return nil
	})
	return teams, err
}

// teamForChange loads a team the caller may read or change: members and
// admins only.
func teamForChange(tx persist.Tx, id *domain.Identity, name string) (*domain.Team, error) {
	t, err := tx.Team(name)
	if err != nil {
		return nil, err
	}
	if !id.IsAdmin() && !t.HasMember(id.Email()) {
		return nil, forbidden(id, "access team "+name)
	}
	return t, nil
}

// Team returns a team the caller belongs to (any team for admins).
func (s *Identity) Team(ctx context.Context, id *domain.Identity, name string) (*domain.Team, error) {
	var t *domain.Team
	err := s.store.View(ctx, func(tx persist.Tx) (err error) {
		t, err = teamForChange(tx, id, name)
		return err
	})
	return t, err
}

// DeleteTeam removes a team that owns nothing.
func (s *Identity) DeleteTeam(ctx context.Context, id *domain.Identity, name string) error {
	return s.store.Update(ctx, func(tx persist.Tx) error {
		t, err := teamForChange(tx, id, name)
		if err != nil {
			return err
		}
		return deleteTeamTx(tx, t)
	})
}

// AddTeamMember adds an existing user to a team.
func (s *Identity) AddTeamMember(ctx context.Context, id *domain.Identity, team, email string) (*domain.Team, error) {
	var t *domain.Team
	err := s.store.Update(ctx, func(tx persist.Tx) (err error) {
		if t, err = teamForChange(tx, id, team); err != nil {
			return err
		}
		u, err := tx.User(email)
		if err != nil {
			return err
		}
		if t.HasMember(u.Email) {
			return domain.Conflict("user %q is already a member of team %q", u.Email, team)
		}
		t.Members = append(t.Members, u.Email)
		return tx.PutTeam(t)
	})
	return t, err
}

// RemoveTeamMember removes a user from a team; a team keeps at least one
// member.
func (s *Identity) RemoveTeamMember(ctx context.Context, id *domain.Identity, team, email string) (*domain.Team, error) {
	var t *domain.Team
	err := s.store.Update(ctx, func(tx persist.Tx) (err error) {
		if t, err = teamForChange(tx, id, team); err != nil {
			return err
		}
		if !t.HasMember(email) {
			return domain.NotFound("user %q is not a member of team %q", email, team)
		}
		if len(t.Members) == 1 {
			return domain.Conflict("user %q is the last member of team %q: a team keeps at least one member", email, team)
		}
		t.RemoveMember(email)
		return tx.PutTeam(t)
	})
	return t, err
}
