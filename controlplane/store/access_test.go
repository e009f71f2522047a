package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/persist"
)

// TestListAppsAgreesWithTheAccessRule: the store's answer to an app
// selection, paged or not, is exactly the apps domain.AppScope.Includes
// accepts, for admins, team members, maintainers and both at once.
func TestListAppsAgreesWithTheAccessRule(t *testing.T) {
	s := openMem(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	teams := []string{"t1", "t2", "t3"}
	people := []string{"a@e.com", "b@e.com", "c@e.com"}
	var all []domain.App
	err := s.Update(ctx, func(tx *Tx) error {
		for i := range 60 {
			a := domain.App{ID: fmt.Sprint("id-", i), Name: fmt.Sprintf("app-%02d", i), Type: domain.AppTypeApp, Deployed: i%3 == 0}
			if i%4 == 0 {
				a.Type = domain.AppTypeResource
			}
			for _, tm := range teams {
				if rng.IntN(3) == 0 {
					a.Teams = append(a.Teams, tm)
				}
			}
			for _, p := range people {
				if rng.IntN(4) == 0 {
					a.Maintainers = append(a.Maintainers, domain.Maintainer{Username: p, Role: domain.RoleMaintainer})
				}
			}
			all = append(all, a)
			if err := tx.PutApp(&a); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	scopes := []domain.AppScope{{All: true}, {}}
	for _, p := range people {
		for i := range teams {
			scopes = append(scopes, domain.AppScope{Maintainer: p, Teams: teams[:i]}, domain.AppScope{Teams: teams[i:]})
		}
	}
	for _, scope := range scopes {
		for _, f := range []persist.AppFilter{{Scope: scope}, {Scope: scope, Type: domain.AppTypeResource}, {Scope: scope, DeployedOnly: true}} {
			var want []string
			for i := range all {
				a := &all[i]
				if scope.Includes(a) && (f.Type == "" || a.Type == f.Type) && (!f.DeployedOnly || a.Deployed) {
					want = append(want, a.Name)
				}
			}
			for _, limit := range []int{0, 1, 7} {
				var got []string
				cursor := ""
				for {
					var page []domain.App
					var next string
					if err := s.View(ctx, func(tx *Tx) (err error) {
						page, next, err = tx.ListApps(f, Page{After: cursor, Limit: limit})
						return err
					}); err != nil {
						t.Fatal(err)
					}
					for _, a := range page {
						got = append(got, a.Name)
					}
					if next == "" {
						break
					}
					cursor = next
				}
				if !slices.Equal(got, want) {
					t.Fatalf("filter %+v, limit %d: store answered %v, the rule says %v", f, limit, got, want)
				}
			}
		}
	}
}
