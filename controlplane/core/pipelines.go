package core

import (
	"cmp"
	"context"
	"slices"

	"github.com/google/uuid"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/persist"
)

// Pipelines, couplings and promotions are visible to every authenticated
// user, as in Akkeris; changing them needs access to the apps involved, and
// loosening a gate needs an admin.

// Pipelines is the pipelines area: pipelines, couplings and promotions.
type Pipelines struct {
	deps
	// afterTarget, when set, runs after each promotion target's
	// transaction commits (tests stop berthd there).
	afterTarget func(ctx context.Context, promotionID, targetAppID string)
}

// Create creates an empty pipeline. A taken name is unprocessable
// (422), as Akkeris answers.
func (s *Pipelines) Create(ctx context.Context, name string) (*domain.Pipeline, error) {
	if err := domain.ValidatePipelineName(name); err != nil {
		return nil, err
	}
	now := s.now().UTC()
	p := &domain.Pipeline{ID: uuid.NewString(), Name: name, CreatedAt: now, UpdatedAt: now}
	err := s.store.Update(ctx, func(tx persist.Tx) error {
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

// List returns one page of pipelines ordered by name.
func (s *Pipelines) List(ctx context.Context, p domain.Page) ([]domain.Pipeline, string, error) {
	var out []domain.Pipeline
	var next string
	err := s.store.View(ctx, func(tx persist.Tx) (err error) {
		out, next, err = tx.ListPipelines(p)
		return err
	})
	return out, next, err
}

// Get returns a pipeline by name or id.
func (s *Pipelines) Get(ctx context.Context, ref string) (*domain.Pipeline, error) {
	var p *domain.Pipeline
	err := s.store.View(ctx, func(tx persist.Tx) (err error) {
		p, err = pipelineByNameOrID(tx, ref)
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

// Delete removes a pipeline and its couplings. Removing couplings
// loosens gates, so only an admin may delete a pipeline that has any.
// Promotions made in it are kept as history.
func (s *Pipelines) Delete(ctx context.Context, id *domain.Identity, ref string) (*domain.Pipeline, error) {
	var p *domain.Pipeline
	err := s.store.Update(ctx, func(tx persist.Tx) (err error) {
		if p, err = pipelineByNameOrID(tx, ref); err != nil {
			return err
		}
		couplings, _, err := tx.PipelineCouplings(p.ID, domain.Page{})
		if err != nil {
			return err
		}
		if len(couplings) > 0 && !id.IsAdmin() {
			return forbidden(id, "delete pipeline "+p.Name+", which still has couplings: removing them loosens its gates, which only an admin may do")
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
func (s *Pipelines) PipelineStatuses(ctx context.Context, ref string) ([]domain.StatusContext, error) {
	var out []domain.StatusContext
	err := s.store.View(ctx, func(tx persist.Tx) error {
		p, err := pipelineByNameOrID(tx, ref)
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
