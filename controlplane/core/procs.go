package core

import (
	"context"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/persist"
)

// Procs of deployed apps (lain). A proc is declared in the app's meta and,
// while the app is deployed, runs (is deployed) or not; its units follow.

// DeclaredProc returns a deployed app and one proc it declares, running or
// not.
func (s *Lain) DeclaredProc(ctx context.Context, id *domain.Identity, app, proc string) (*domain.App, *domain.ProcSpec, error) {
	a, err := s.DeployedApp(ctx, id, app)
	if err != nil {
		return nil, nil, err
	}
	spec := a.DeclaredProc(proc)
	if spec == nil {
		return nil, nil, domain.NotFound("no such proc %q in app %q", proc, a.Name)
	}
	return a, spec, nil
}

// DeployProc starts a declared proc that is not running. An undeclared proc
// is the caller's error (400), as in lain.
func (s *Lain) DeployProc(ctx context.Context, id *domain.Identity, app, proc string) (*domain.App, error) {
	return s.changeProc(ctx, id, app, func(a *domain.App) error {
		spec := a.DeclaredProc(proc)
		if spec == nil {
			return domain.Invalid("no such proc %q in app %q", proc, a.Name)
		}
		if a.Type == domain.AppTypeResource {
			return domain.Invalid("resource app %q does not run its procs itself: they run in its instances", a.Name)
		}
		if a.Proc(proc) != nil {
			return domain.Conflict("proc %q of app %q is already deployed", proc, a.Name)
		}
		a.DeployProc(*spec, s.now().UTC())
		return nil
	})
}

// ScaleProc changes the instance count, or the cpu and/or memory, of a
// deployed proc; the declaration follows so that redeploys keep the size.
func (s *Lain) ScaleProc(ctx context.Context, id *domain.Identity, app, proc string, scale domain.ProcScale) (*domain.App, error) {
	return s.changeProc(ctx, id, app, func(a *domain.App) error {
		if err := scale.Validate(); err != nil {
			return err
		}
		if err := procDeployed(a, proc); err != nil {
			return err
		}
		if err := a.CheckScale(proc, scale); err != nil {
			return err
		}
		a.ApplyScale(proc, scale, s.now().UTC())
		return nil
	})
}

// UndeployProc stops a deployed proc; it stays declared.
func (s *Lain) UndeployProc(ctx context.Context, id *domain.Identity, app, proc string) (*domain.App, error) {
	return s.changeProc(ctx, id, app, func(a *domain.App) error {
		if err := procDeployed(a, proc); err != nil {
			return err
		}
		a.UndeployProc(proc)
		return nil
	})
}

// procDeployed checks that proc is declared (404) and running (400).
func procDeployed(a *domain.App, proc string) error {
	if a.DeclaredProc(proc) == nil {
		return domain.NotFound("no such proc %q in app %q", proc, a.Name)
	}
	if a.Proc(proc) == nil {
		return domain.Invalid("proc %q of app %q is not deployed: deploy it first", proc, a.Name)
	}
	return nil
}

// changeProc applies change to a deployed app the caller may change and
// saves it.
func (s *Lain) changeProc(ctx context.Context, id *domain.Identity, app string, change func(*domain.App) error) (*domain.App, error) {
	var a *domain.App
	err := s.store.Update(ctx, func(tx persist.Tx) (err error) {
		if a, err = s.deployedAppFor(tx, id, app, domain.ChangeApp); err != nil {
			return err
		}
		if err := change(a); err != nil {
			return err
		}
		a.UpdatedAt = s.now().UTC()
		return tx.PutApp(a)
	})
	return a, err
}
