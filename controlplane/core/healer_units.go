package core

import (
	"context"
	"fmt"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/persist"
)

// healerPageSize is how many apps a healer reads per transaction.
const healerPageSize = 500

// healUnits repairs the units in error of every app. With a runtime, it
// queues each such app for the reconciler, which restarts what exited
// (with back-off for a unit that keeps crashing); without one, units are
// records and it puts them back to started. One app per transaction, so
// that a large store is never held in one.
func (c *Core) healUnits(ctx context.Context) (HealerReport, error) {
	if c.reconciler.rt.Driver != nil {
		return c.Apps.queueErroredUnits(ctx)
	}
	return c.Apps.restartRecordUnits(ctx)
}

func (s *Apps) queueErroredUnits(ctx context.Context) (HealerReport, error) {
	var rep HealerReport
	err := s.eachAppWithErroredUnits(ctx, func(a *domain.App, errored []string) error {
		if err := s.store.Update(ctx, func(tx persist.Tx) error { return tx.MarkAppChanged(a.ID) }); err != nil {
			return err
		}
		for _, u := range errored {
			rep.add(fmt.Sprintf("unit %s of app %s: in error, queued for the runtime", u, a.Name))
		}
		return nil
	})
	return rep, err
}

func (s *Apps) restartRecordUnits(ctx context.Context) (HealerReport, error) {
	var rep HealerReport
	err := s.eachAppWithErroredUnits(ctx, func(a *domain.App, _ []string) error {
		healed, err := s.restartErroredUnits(ctx, a.ID)
		for _, u := range healed {
			rep.add(fmt.Sprintf("unit %s of app %s: error -> started", u, a.Name))
		}
		return err
	})
	return rep, err
}

// eachAppWithErroredUnits calls fn for every app with a unit in error.
func (s *Apps) eachAppWithErroredUnits(ctx context.Context, fn func(a *domain.App, errored []string) error) error {
	after := ""
	for {
		var page []domain.App
		var next string
		err := s.store.View(ctx, func(tx persist.Tx) (err error) {
			page, next, err = tx.ListApps(persist.AppFilter{Scope: domain.AppScope{All: true}}, domain.Page{After: after, Limit: healerPageSize})
			return err
		})
		if err != nil {
			return err
		}
		for _, a := range page {
			var errored []string
			for _, u := range a.Units {
				if u.State == domain.UnitError {
					errored = append(errored, u.Name)
				}
			}
			if len(errored) == 0 {
				continue
			}
			if err := fn(&a, errored); err != nil {
				return err
			}
		}
		if next == "" {
			return nil
		}
		after = next
	}
}

// restartErroredUnits puts the units of one app that are in error back to
// started and returns their names.
func (s *Apps) restartErroredUnits(ctx context.Context, appID string) ([]string, error) {
	var healed []string
	err := s.store.Update(ctx, func(tx persist.Tx) error {
		healed = nil
		a, err := tx.AppByID(appID)
		if isNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		for i, u := range a.Units {
			if u.State == domain.UnitError {
				a.Units[i].State = domain.UnitStarted
				healed = append(healed, u.Name)
			}
		}
		if len(healed) == 0 {
			return nil
		}
		a.UpdatedAt = s.now().UTC()
		return tx.PutApp(a)
	})
	return healed, err
}
