package core

import (
	"context"
	"fmt"
	"slices"

	"github.com/google/uuid"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/persist"
)

// NewCoupling describes an app to add to a pipeline. App and Pipeline are
// names or ids.
type NewCoupling struct {
	App                  string
	Pipeline             string
	Stage                domain.Stage
	RequiredStatusChecks []string
}

// CreateCoupling adds an app the caller may change to a pipeline of the
// caller's team, at a stage. An app is in at most one pipeline.
func (s *Pipelines) CreateCoupling(ctx context.Context, id *domain.Identity, n NewCoupling) (*domain.Coupling, error) {
	if n.App == "" || n.Pipeline == "" || n.Stage == "" {
		return nil, domain.Invalid("app, pipeline and stage are required")
	}
	if !domain.ValidStage(n.Stage) {
		return nil, domain.Invalid("invalid stage %q: must be review, development, staging or production", n.Stage)
	}
	for _, c := range n.RequiredStatusChecks {
		if err := domain.ValidateStatusContext(c); err != nil {
			return nil, err
		}
	}
	var c *domain.Coupling
	err := s.store.Update(ctx, func(tx persist.Tx) error {
		p, err := pipelineFor(tx, id, n.Pipeline)
		if err != nil {
			return err
		}
		a, err := appForChange(tx, id, n.App)
		if err != nil {
			return err
		}
		checks, err := domain.CheckRequiredStatusChecks(n.Stage, n.RequiredStatusChecks)
		if err != nil {
			return err
		}
		switch existing, err := tx.CouplingOfApp(a.ID); {
		case err == nil:
			return domain.Conflict("app %q is already coupled to pipeline %q (stage %s): an app is in at most one pipeline", a.Name, existing.PipelineName, existing.Stage)
		case !isNotFound(err):
			return err
		}
		now := s.now().UTC()
		c = &domain.Coupling{
			ID:                   uuid.NewString(),
			PipelineID:           p.ID,
			PipelineName:         p.Name,
			AppID:                a.ID,
			AppName:              a.Name,
			Stage:                n.Stage,
			RequiredStatusChecks: checks,
			CreatedAt:            now,
			UpdatedAt:            now,
		}
		return tx.PutCoupling(c)
	})
	return c, err
}

// ListCouplings returns one page of the couplings of the pipelines the
// caller may see, ordered by id.
func (s *Pipelines) ListCouplings(ctx context.Context, id *domain.Identity, p domain.Page) ([]domain.Coupling, string, error) {
	var out []domain.Coupling
	var next string
	err := s.store.View(ctx, func(tx persist.Tx) error {
		f := persist.CouplingFilter{All: id.IsAdmin()}
		if !f.All {
			pipelines, _, err := tx.ListPipelines(pipelineFilter(id), domain.Page{})
			if err != nil {
				return err
			}
			for _, pl := range pipelines {
				f.PipelineIDs = append(f.PipelineIDs, pl.ID)
			}
		}
		var err error
		out, next, err = tx.ListCouplings(f, p)
		return err
	})
	return out, next, err
}

// PipelineCouplings returns one page of the couplings of a pipeline the
// caller may see, by stage.
func (s *Pipelines) PipelineCouplings(ctx context.Context, id *domain.Identity, pipelineRef string, p domain.Page) ([]domain.Coupling, string, error) {
	var out []domain.Coupling
	var next string
	err := s.store.View(ctx, func(tx persist.Tx) error {
		pl, err := pipelineFor(tx, id, pipelineRef)
		if err != nil {
			return err
		}
		out, next, err = tx.PipelineCouplings(pl.ID, p)
		return err
	})
	return out, next, err
}

// AppCoupling returns the coupling of an app the caller may see.
func (s *Pipelines) AppCoupling(ctx context.Context, id *domain.Identity, appRef string) (*domain.Coupling, error) {
	var c *domain.Coupling
	err := s.store.View(ctx, func(tx persist.Tx) error {
		a, err := appForRead(tx, id, appRef)
		if err != nil {
			return err
		}
		if c, err = tx.CouplingOfApp(a.ID); isNotFound(err) {
			return domain.NotFound("app %q is not coupled to a pipeline", a.Name)
		}
		return err
	})
	return c, err
}

// GetCoupling returns a coupling by id, to the pipeline's team and to
// those who may see its app.
func (s *Pipelines) GetCoupling(ctx context.Context, id *domain.Identity, couplingID string) (*domain.Coupling, error) {
	var c *domain.Coupling
	err := s.store.View(ctx, func(tx persist.Tx) (err error) {
		c, _, _, err = couplingFor(tx, id, couplingID)
		return err
	})
	return c, err
}

// UpdateCoupling replaces the required status checks of a coupling. The
// pipeline's team and those who may change the app tighten a gate;
// dropping a required context loosens it: only the pipeline's team (or an
// admin) may.
func (s *Pipelines) UpdateCoupling(ctx context.Context, id *domain.Identity, couplingID string, contexts []string) (*domain.Coupling, error) {
	for _, c := range contexts {
		if err := domain.ValidateStatusContext(c); err != nil {
			return nil, err
		}
	}
	var c *domain.Coupling
	err := s.store.Update(ctx, func(tx persist.Tx) error {
		var p *domain.Pipeline
		var owner bool
		var err error
		if c, p, owner, err = couplingFor(tx, id, couplingID); err != nil {
			return err
		}
		checks, err := domain.CheckRequiredStatusChecks(c.Stage, contexts)
		if err != nil {
			return err
		}
		var dropped []string
		for _, old := range c.RequiredStatusChecks {
			if !slices.Contains(checks, old) {
				dropped = append(dropped, old)
			}
		}
		if len(dropped) > 0 && !owner {
			return forbidden(id, fmt.Sprintf("remove required status checks %q from %s: that loosens a gate of pipeline %s, which only its team %q may do", dropped, c.AppName, p.Name, p.Team))
		}
		c.RequiredStatusChecks = checks
		c.UpdatedAt = s.now().UTC()
		return tx.PutCoupling(c)
	})
	return c, err
}

// DeleteCoupling takes an app out of its pipeline. Without required
// status checks that loosens nothing: the pipeline's team and those who
// may change the app may. With checks it removes a gate: only the
// pipeline's team (or an admin) may.
func (s *Pipelines) DeleteCoupling(ctx context.Context, id *domain.Identity, couplingID string) (*domain.Coupling, error) {
	var c *domain.Coupling
	err := s.store.Update(ctx, func(tx persist.Tx) error {
		var p *domain.Pipeline
		var owner bool
		var err error
		if c, p, owner, err = couplingFor(tx, id, couplingID); err != nil {
			return err
		}
		if len(c.RequiredStatusChecks) > 0 && !owner {
			return forbidden(id, fmt.Sprintf("remove %s from pipeline %s: its required status checks %q gate the stage, and loosening a gate is for the pipeline's team %q only", c.AppName, p.Name, c.RequiredStatusChecks, p.Team))
		}
		return tx.DeleteCoupling(c)
	})
	return c, err
}

// couplingFor loads a coupling the caller may see and change: the
// pipeline's team may (owner reports it, and with it the right to loosen
// the gate), and so may those who may change the coupled app.
func couplingFor(tx persist.Tx, id *domain.Identity, couplingID string) (c *domain.Coupling, p *domain.Pipeline, owner bool, err error) {
	if c, err = tx.Coupling(couplingID); err != nil {
		return nil, nil, false, err
	}
	if p, err = tx.PipelineByID(c.PipelineID); err != nil {
		return nil, nil, false, err
	}
	if domain.MayPipeline(id, p) {
		return c, p, true, nil
	}
	a, err := tx.AppByID(c.AppID)
	if err != nil {
		return nil, nil, false, err
	}
	if !domain.MayApp(id, a, domain.ChangeApp) {
		return nil, nil, false, forbidden(id, fmt.Sprintf("access the coupling of app %q to pipeline %q", a.Name, p.Name))
	}
	return c, p, false, nil
}
