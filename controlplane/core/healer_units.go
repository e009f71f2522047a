package core

import (
	"context"
	"fmt"
	"slices"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/persist"
)

// healerPageSize is how many apps a healer reads per transaction.
const healerPageSize = 500

// healUnits restarts the units in error of every app, one app per
// transaction so that a large store is never held in one.
func (s *Apps) healUnits(ctx context.Context) (HealerReport, error) {
	var rep HealerReport
	after := ""
	for {
		var page []domain.App
		var next string
		err := s.store.View(ctx, func(tx persist.Tx) (err error) {
			page, next, err = tx.ListApps(persist.AppFilter{Scope: domain.AppScope{All: true}}, domain.Page{After: after, Limit: healerPageSize})
			return err
		})
		if err != nil {
			return rep, err
		}
		for _, a := range page {
			if !slices.ContainsFunc(a.Units, func(u domain.Unit) bool { return u.State == domain.UnitError }) {
				continue
			}
			healed, err := s.restartErroredUnits(ctx, a.ID)
			if err != nil {
				return rep, err
			}
			for _, u := range healed {
				rep.add(fmt.Sprintf("unit %s of app %s: error -> started", u, a.Name))
			}
		}
		if next == "" {
			return rep, nil
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
