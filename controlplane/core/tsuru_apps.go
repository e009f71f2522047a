package core

import (
	"context"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/persist"
)

// AppState summarises an app's units as tsuru's State: "error" when a unit
// is in error, else "pending" when one is pending, else "started" when one
// runs, else "stopped" (which includes an app with no units yet).
func AppState(a *domain.App) string {
	has := map[string]bool{}
	for _, u := range a.Units {
		has[u.State] = true
	}
	for _, st := range []string{domain.UnitError, domain.UnitPending, domain.UnitStarted} {
		if has[st] {
			return st
		}
	}
	return domain.UnitStopped
}

// Delete removes an app the caller may access. Its service instances are
// unbound first, each through its broker; if a broker fails, the bindings
// undone so far stay undone and the app stays, still bound to the rest.
// Then one transaction removes the app, its releases and everything the
// other areas hang on it (deleteAppTx), and gives the quota back.
func (s *Apps) Delete(ctx context.Context, id *domain.Identity, nameOrID string) error {
	var a *domain.App
	err := s.store.View(ctx, func(tx persist.Tx) (err error) {
		if a, err = appFor(tx, id, nameOrID, domain.DeleteApp); err != nil {
			return err
		}
		return refuseDeletionTx(tx, a)
	})
	if err != nil {
		return err
	}
	release, err := s.busy.acquire(ctx, "deleting the app", busyApp(a.Name))
	if err != nil {
		return err
	}
	defer release()
	// Reload: a binding may have changed before the app was marked busy.
	if a, err = s.Get(ctx, id, a.ID); err != nil {
		return err
	}
	for _, b := range a.Bindings {
		if err := s.services.unbindAppFromInstance(ctx, b.Instance, a.Name); err != nil {
			return err
		}
	}
	return s.store.Update(ctx, func(tx persist.Tx) error {
		a, err := appFor(tx, id, a.ID, domain.DeleteApp)
		if err != nil {
			return err
		}
		if err := refuseDeletionTx(tx, a); err != nil {
			return err
		}
		if len(a.Bindings) > 0 {
			return domain.Conflict("app %q was bound to service instance %q while being deleted; try again", a.Name, a.Bindings[0].Instance)
		}
		return deleteAppTx(tx, a)
	})
}

// Restart puts every unit of an app back to started and records when.
func (s *Apps) Restart(ctx context.Context, id *domain.Identity, nameOrID string) (*domain.App, error) {
	var a *domain.App
	err := s.store.Update(ctx, func(tx persist.Tx) (err error) {
		if a, err = appForChange(tx, id, nameOrID); err != nil {
			return err
		}
		for i := range a.Units {
			a.Units[i].State = domain.UnitStarted
		}
		now := s.now().UTC()
		a.RestartedAt, a.UpdatedAt = now, now
		return tx.PutApp(a)
	})
	return a, err
}
