package core

import (
	"testing"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/store"
)

// TestDeletingAnAppRemovesItsCoupling: the app delete hook takes a deleted
// app out of its pipeline and forgets its status contexts, in the deleting
// transaction. (Over the wire once the app-deleting routes exist.)
func TestDeletingAnAppRemovesItsCoupling(t *testing.T) {
	st := memStore(t)
	s, err := New(ctx, st.Persist(), Config{BcryptCost: 4})
	if err != nil {
		t.Fatal(err)
	}
	u, err := s.Identity.CreateUser(ctx, "ana@example.com", "secret1")
	if err != nil {
		t.Fatal(err)
	}
	id := &domain.Identity{User: u}
	if _, err := s.Identity.CreateTeam(ctx, id, "devs"); err != nil {
		t.Fatal(err)
	}
	id.Teams = []string{"devs"}
	for _, name := range []string{"web-dev", "web-stg"} {
		if _, err := s.Apps.Create(ctx, id, NewApp{Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Pipelines.Create(ctx, id, "web", ""); err != nil {
		t.Fatal(err)
	}
	dev, err := s.Pipelines.CreateCoupling(ctx, id, NewCoupling{App: "web-dev", Pipeline: "web", Stage: domain.StageDevelopment})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pipelines.CreateCoupling(ctx, id, NewCoupling{App: "web-stg", Pipeline: "web", Stage: domain.StageStaging}); err != nil {
		t.Fatal(err)
	}
	r, _, err := s.Apps.CreateRelease(ctx, id, "web-dev", NewRelease{Image: "registry/web:1"})
	if err != nil {
		t.Fatal(err)
	}
	success := domain.StatusSuccess
	if _, _, err := s.Apps.CreateReleaseStatus(ctx, id, "web-dev", r.ID, domain.ReleaseStatusInput{Context: "ci/unit-tests", State: &success}); err != nil {
		t.Fatal(err)
	}

	err = st.Update(ctx, func(tx *store.Tx) error {
		a, err := tx.App("web-dev")
		if err != nil {
			return err
		}
		return deleteAppTx(tx, a)
	})
	if err != nil {
		t.Fatal(err)
	}

	if _, err := s.Pipelines.GetCoupling(ctx, id, dev.ID); !isNotFound(err) {
		t.Fatalf("coupling of the deleted app: %v", err)
	}
	couplings, _, err := s.Pipelines.PipelineCouplings(ctx, id, "web", domain.Page{})
	if err != nil || len(couplings) != 1 || couplings[0].AppName != "web-stg" {
		t.Fatalf("pipeline couplings: %+v %v", couplings, err)
	}
	seen, err := s.Pipelines.PipelineStatuses(ctx, id, "web")
	if err != nil || len(seen) != 0 {
		t.Fatalf("status contexts of the deleted app: %+v %v", seen, err)
	}
	if err := st.View(ctx, func(tx *store.Tx) error {
		got, err := tx.StatusContexts(r.AppID)
		if len(got) != 0 {
			t.Errorf("status context index left behind: %v", got)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}
