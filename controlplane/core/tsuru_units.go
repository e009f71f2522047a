package core

import (
	"context"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/persist"
)

// Deploy releases an image on an app the caller may change (tsuru's deploy
// of an image): a new release runs it with the app's current config. An
// app that declares no procs runs it as one web unit.
func (s *Apps) Deploy(ctx context.Context, id *domain.Identity, appRef, image string) (*domain.Release, *domain.App, error) {
	if image == "" {
		return nil, nil, domain.Invalid("an image to deploy is required")
	}
	return s.CreateRelease(ctx, id, appRef, NewRelease{Image: image, Description: "deploy of " + image})
}

// ScaleUnits adds (delta > 0) or removes (delta < 0) units of one proc of
// an app the caller may change (tsuru's units routes). process may be
// empty when the app runs one proc. A lain app's declaration follows, so
// that a redeploy keeps the size.
func (s *Apps) ScaleUnits(ctx context.Context, id *domain.Identity, appRef, process string, delta int) (*domain.App, error) {
	if delta == 0 {
		return nil, domain.Invalid("the number of units must not be 0")
	}
	var a *domain.App
	err := s.store.Update(ctx, func(tx persist.Tx) (err error) {
		if a, err = appForRead(tx, id, appRef); err != nil {
			return err
		}
		p, err := procToScale(a, process)
		if err != nil {
			return err
		}
		n := p.NumInstances + delta
		if n < 0 {
			return domain.Invalid("proc %q of app %q runs %d units: cannot remove %d", p.Name, a.Name, p.NumInstances, -delta)
		}
		if err := domain.ValidateProcInstances(n); err != nil {
			return err
		}
		now := s.now().UTC()
		if a.DeclaredProc(p.Name) != nil {
			a.ApplyScale(p.Name, domain.ProcScale{NumInstances: &n}, now)
		} else {
			p.NumInstances, p.UpdatedAt = n, now
			a.SyncUnits()
		}
		a.UpdatedAt = now
		return tx.PutApp(a)
	})
	return a, err
}

// procToScale is the deployed proc called process, or the app's only proc
// when process is empty.
func procToScale(a *domain.App, process string) (*domain.Proc, error) {
	if process == "" {
		switch len(a.Procs) {
		case 0:
			return nil, domain.Invalid("app %q runs no proc yet: deploy an image first", a.Name)
		case 1:
			return &a.Procs[0], nil
		default:
			names := make([]string, len(a.Procs))
			for i, p := range a.Procs {
				names[i] = p.Name
			}
			return nil, domain.Invalid("app %q runs several procs (%v): name the process", a.Name, names)
		}
	}
	if p := a.Proc(process); p != nil {
		return p, nil
	}
	return nil, domain.NotFound("app %q runs no proc %q", a.Name, process)
}
