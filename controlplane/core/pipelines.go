package core

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/google/uuid"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/persist"
)

// A pipeline belongs to a team (domain.MayPipeline): its members see and
// change it, its couplings and promotions, and own its gates. Coupling an
// app also needs the right to change the app; the app's team may see its
// coupling, tighten its gate and take the app out of the pipeline, but
// only the pipeline's team (or an admin) loosens a gate.

// Pipelines is the pipelines area: pipelines, couplings and promotions.
type Pipelines struct {
	deps
	// afterTarget, when set, runs after each promotion target's
	// transaction commits (tests stop berthd there).
	afterTarget func(ctx context.Context, promotionID, targetAppID string)
}

// Create creates an empty pipeline owned by team, one of the caller's
// teams; team may be empty when the caller is in one team, as for apps. A
// taken name is unprocessable (422), as Akkeris answers.
func (s *Pipelines) Create(ctx context.Context, id *domain.Identity, name, team string) (*domain.Pipeline, error) {
	if err := domain.ValidatePipelineName(name); err != nil {
		return nil, err
	}
	team, err := pickTeam(id, team, "team")
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	p := &domain.Pipeline{ID: uuid.NewString(), Name: name, Team: team, CreatedAt: now, UpdatedAt: now}
	err = s.store.Update(ctx, func(tx persist.Tx) error {
		if exists, err := tx.TeamExists(team); err != nil {
			return err
		} else if !exists {
			return domain.NotFound("team %q not found", team)
		}
		exists, err := tx.PipelineExists(name)
		if err != nil {
			return err
		}
		if exists {
			return domain.Unprocessable("pipeline %q already exists", name)
		}
		return tx.PutPipeline(p)
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// pipelineFilter is the pipelines id may see.
func pipelineFilter(id *domain.Identity) persist.PipelineFilter {
	return persist.PipelineFilter{All: id.IsAdmin(), Teams: id.Teams}
}

// List returns one page of the pipelines the caller may see, ordered by
// name.
func (s *Pipelines) List(ctx context.Context, id *domain.Identity, p domain.Page) ([]domain.Pipeline, string, error) {
	var out []domain.Pipeline
	var next string
	err := s.store.View(ctx, func(tx persist.Tx) (err error) {
		out, next, err = tx.ListPipelines(pipelineFilter(id), p)
		return err
	})
	return out, next, err
}

// Get returns a pipeline the caller may see, by name or id.
func (s *Pipelines) Get(ctx context.Context, id *domain.Identity, ref string) (*domain.Pipeline, error) {
	var p *domain.Pipeline
	err := s.store.View(ctx, func(tx persist.Tx) (err error) {
		p, err = pipelineFor(tx, id, ref)
		return err
	})
	return p, err
}

// pipelineByNameOrID accepts either form; no pipeline name is a UUID.
func pipelineByNameOrID(tx persist.Tx, ref string) (*domain.Pipeline, error) {
	if uuid.Validate(ref) == nil {
		return tx.PipelineByID(ref)
	}
	return tx.Pipeline(ref)
}

// pipelineFor loads a pipeline the caller may see and change.
func pipelineFor(tx persist.Tx, id *domain.Identity, ref string) (*domain.Pipeline, error) {
	p, err := pipelineByNameOrID(tx, ref)
	if err != nil {
		return nil, err
	}
	if !domain.MayPipeline(id, p) {
		return nil, forbidden(id, fmt.Sprintf("access pipeline %q: it belongs to team %q", p.Name, p.Team))
	}
	return p, nil
}

// Delete removes a pipeline and its couplings, gates included: its team's
// to remove. Promotions made in it are kept as history, its team's still.
func (s *Pipelines) Delete(ctx context.Context, id *domain.Identity, ref string) (*domain.Pipeline, error) {
	var p *domain.Pipeline
	err := s.store.Update(ctx, func(tx persist.Tx) (err error) {
		if p, err = pipelineFor(tx, id, ref); err != nil {
			return err
		}
		couplings, _, err := tx.PipelineCouplings(p.ID, domain.Page{})
		if err != nil {
			return err
		}
		return deletePipelineTx(tx, p, couplings)
	})
	return p, err
}

// PipelineStages returns the stage graph: each stage and the one after it
// ("" after production).
func PipelineStages() map[domain.Stage]domain.Stage {
	out := make(map[domain.Stage]domain.Stage, len(domain.Stages))
	for _, st := range domain.Stages {
		out[st], _ = domain.NextStage(st)
	}
	return out
}

// PipelineStatuses returns the distinct status contexts and names seen on
// releases of the pipeline's apps, ordered by context, then name.
func (s *Pipelines) PipelineStatuses(ctx context.Context, id *domain.Identity, ref string) ([]domain.StatusContext, error) {
	var out []domain.StatusContext
	err := s.store.View(ctx, func(tx persist.Tx) error {
		p, err := pipelineFor(tx, id, ref)
		if err != nil {
			return err
		}
		couplings, _, err := tx.PipelineCouplings(p.ID, domain.Page{})
		if err != nil {
			return err
		}
		for _, c := range couplings {
			seen, err := tx.StatusContexts(c.AppID)
			if err != nil {
				return err
			}
			out = append(out, seen...)
		}
		return nil
	})
	slices.SortFunc(out, func(a, b domain.StatusContext) int {
		return cmp.Or(cmp.Compare(a.Context, b.Context), cmp.Compare(a.Name, b.Name))
	})
	return slices.Compact(out), err
}
