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

// CreateCoupling adds an app the caller may change to a pipeline at a
// stage. An app is in at most one pipeline.
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
		p, err := pipelineByNameOrID(tx, n.Pipeline)
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

// ListCouplings returns one page of every coupling.
func (s *Pipelines) ListCouplings(ctx context.Context, p domain.Page) ([]domain.Coupling, string, error) {
	var out []domain.Coupling
	var next string
	err := s.store.View(ctx, func(tx persist.Tx) (err error) {
		out, next, err = tx.ListCouplings(p)
		return err
	})
	return out, next, err
}

// PipelineCouplings returns one page of a pipeline's couplings, by stage.
func (s *Pipelines) PipelineCouplings(ctx context.Context, pipelineRef string, p domain.Page) ([]domain.Coupling, string, error) {
	var out []domain.Coupling
	var next string
	err := s.store.View(ctx, func(tx persist.Tx) error {
		pl, err := pipelineByNameOrID(tx, pipelineRef)
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

// GetCoupling returns a coupling by id.
func (s *Pipelines) GetCoupling(ctx context.Context, couplingID string) (*domain.Coupling, error) {
	var c *domain.Coupling
	err := s.store.View(ctx, func(tx persist.Tx) (err error) {
		c, err = tx.Coupling(couplingID)
		return err
	})
	return c, err
}

// UpdateCoupling replaces the required status checks of a coupling of an
// app the caller may change. Dropping a required context loosens the gate:
// only an admin may.
func (s *Pipelines) UpdateCoupling(ctx context.Context, id *domain.Identity, couplingID string, contexts []string) (*domain.Coupling, error) {
	for _, c := range contexts {
		if err := domain.ValidateStatusContext(c); err != nil {
			return nil, err
		}
	}
	var c *domain.Coupling
	err := s.store.Update(ctx, func(tx persist.Tx) (err error) {
		if c, err = s.couplingForChange(tx, id, couplingID); err != nil {
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
		if len(dropped) > 0 && !id.IsAdmin() {
			return forbidden(id, fmt.Sprintf("remove required status checks %q from %s: that loosens a gate, which only an admin may do", dropped, c.AppName))
		}
		c.RequiredStatusChecks = checks
		c.UpdatedAt = s.now().UTC()
		return tx.PutCoupling(c)
	})
	return c, err
}

// DeleteCoupling removes an app from its pipeline. That removes the gate
// on its stage, so only an admin may.
func (s *Pipelines) DeleteCoupling(ctx context.Context, id *domain.Identity, couplingID string) (*domain.Coupling, error) {
	var c *domain.Coupling
	err := s.store.Update(ctx, func(tx persist.Tx) (err error) {
		if c, err = s.couplingForChange(tx, id, couplingID); err != nil {
			return err
		}
		if !id.IsAdmin() {
			return forbidden(id, fmt.Sprintf("remove %s from pipeline %s: that loosens a gate, which only an admin may do", c.AppName, c.PipelineName))
		}
		return tx.DeleteCoupling(c)
	})
	return c, err
}

// couplingForChange loads a coupling whose app the caller may change.
func (s *Pipelines) couplingForChange(tx persist.Tx, id *domain.Identity, couplingID string) (*domain.Coupling, error) {
	c, err := tx.Coupling(couplingID)
	if err != nil {
		return nil, err
	}
	a, err := tx.AppByID(c.AppID)
	if err != nil {
		return nil, err
	}
	if !domain.CanAccessApp(id, a) {
		return nil, forbidden(id, fmt.Sprintf("change the coupling of app %q", a.Name))
	}
	return c, nil
}
