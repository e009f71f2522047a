package core

import (
	"errors"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/store"
)

// Deleting an app goes through deleteAppTx whichever dialect asks (tsuru's
// DELETE /apps/{app}); lain's hook must take the app's resource instances
// along and keep a resource that still has instances.
func TestDeletingAppsWithResourceInstances(t *testing.T) {
	st := memStore(t)
	s, err := New(ctx, st.Persist(), Config{BcryptCost: bcrypt.MinCost})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Identity.CreateUser(ctx, "ana@example.com", "secret1"); err != nil {
		t.Fatal(err)
	}
	token, err := s.Identity.Login(ctx, "ana@example.com", "secret1", false)
	if err != nil {
		t.Fatal(err)
	}
	id, err := s.Identity.Authenticate(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Identity.CreateTeam(ctx, id, "devs"); err != nil {
		t.Fatal(err)
	}
	if id, err = s.Identity.Authenticate(ctx, token); err != nil {
		t.Fatal(err)
	}
	resource := &domain.AppMeta{Type: domain.AppTypeResource, Procs: []domain.ProcSpec{{Name: "server", NumInstances: 1, CPU: 1, Memory: "64M"}}}
	if _, err := s.Lain.RegisterRepo(ctx, id, RepoRegistration{Name: "redis", Meta: resource}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lain.RegisterRepo(ctx, id, RepoRegistration{Name: "web", Meta: &domain.AppMeta{Type: domain.AppTypeApp, UseResources: []string{"redis"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lain.DeployApp(ctx, id, "web"); err != nil {
		t.Fatal(err)
	}

	deleteApp := func(name string) error {
		return st.Update(ctx, func(tx *store.Tx) error {
			a, err := tx.App(name)
			if err != nil {
				return err
			}
			return deleteAppTx(tx, a)
		})
	}
	if err := deleteApp("redis"); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("deleting a resource with instances: %v", err)
	}
	if err := deleteApp("web"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Apps.Get(ctx, id, "resource.redis.web"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("the instance outlived its app: %v", err)
	}
	if err := deleteApp("redis"); err != nil {
		t.Fatalf("deleting a resource without instances: %v", err)
	}
}
