package store

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/engine"
	"github.com/berthdev/terraform-provider-berth/controlplane/engine/badger"
	"github.com/berthdev/terraform-provider-berth/controlplane/persist"
)

func rawPut(t *testing.T, e engine.Engine, kv map[string][]byte) {
	t.Helper()
	err := e.Update(context.Background(), func(tx engine.Txn) error {
		for k, v := range kv {
			if err := tx.Put([]byte(k), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestNewerSchemaIsRefused: an older berthd must not write into data whose
// layout it does not know.
func TestNewerSchemaIsRefused(t *testing.T) {
	dir := t.TempDir()
	e, err := badger.Open(badger.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	rawPut(t, e, map[string][]byte{string(key(nsMeta, metaSchemaVersion)): []byte(strconv.Itoa(SchemaVersion + 1))})
	_, err = New(context.Background(), e, Options{})
	if !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("New on data of schema %d: err = %v, want ErrNewerSchema", SchemaVersion+1, err)
	}
}

func TestNewStoreGetsTheCurrentSchema(t *testing.T) {
	s := openMem(t)
	v, err := s.schemaVersion(context.Background())
	if err != nil || v != SchemaVersion {
		t.Fatalf("schema version of a new store: %d, %v; want %d", v, err, SchemaVersion)
	}
}

// TestMigrateFromSchema1: data written by a berthd that let Badger expire
// revoked sessions and lease replays is rewritten with the expiry as data,
// and reads the same afterwards.
func TestMigrateFromSchema1(t *testing.T) {
	e, err := badger.Open(badger.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	created := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	replay, _ := json.Marshal(domain.LeaseReplay{Branch: "main", TTL: time.Hour, CreatedAt: created, Stack: domain.Stack{Name: "test-1"}})
	rawPut(t, e, map[string][]byte{
		string(key(nsMeta, metaBootstrapped)):      []byte(created.Format(time.RFC3339)),
		string(key(nsUser, "a@b.com")):             []byte(`{"email":"a@b.com"}`),
		string(key(nsRevokedJTI, "jti-1")):         nil,
		string(key(nsLeaseReplay, "proj", "key1")): replay,
	})
	now := created.Add(time.Hour)
	s, err := New(context.Background(), e, Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, _ := s.schemaVersion(context.Background()); v != SchemaVersion {
		t.Fatalf("schema after migration: %d", v)
	}
	err = s.View(context.Background(), func(tx *Tx) error {
		if revoked, err := tx.SessionRevoked("jti-1", now); err != nil || !revoked {
			t.Errorf("revoked session after migration: %v, %v", revoked, err)
		}
		if revoked, _ := tx.SessionRevoked("jti-1", now.Add(maxSessionLifetime+time.Second)); revoked {
			t.Error("a migrated revocation never expires")
		}
		r, err := tx.LeaseReplay("proj", "key1", now)
		if err != nil || r.Stack.Name != "test-1" {
			t.Errorf("lease replay after migration: %+v, %v", r, err)
		}
		if _, err := tx.LeaseReplay("proj", "key1", created.Add(domain.LeaseReplayWindow+2*time.Hour)); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("migrated lease replay past its window: err = %v", err)
		}
		u, err := tx.User("a@b.com")
		if err != nil || u.Email != "a@b.com" {
			t.Errorf("user after migration: %v, %v", u, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestExpiringRecords: an expired record reads as absent before it is
// swept, the sweep removes exactly the expired ones, and putting a record
// again moves its expiry.
func TestExpiringRecords(t *testing.T) {
	s := openMem(t)
	ctx := context.Background()
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	err := s.Update(ctx, func(tx *Tx) error {
		for i, d := range []time.Duration{time.Minute, 2 * time.Minute, time.Hour} {
			if err := tx.RevokeSession("jti-"+strconv.Itoa(i), t0.Add(d)); err != nil {
				return err
			}
		}
		// Revoked again with a later end: the first expiry no longer counts.
		return tx.RevokeSession("jti-0", t0.Add(3*time.Hour))
	})
	if err != nil {
		t.Fatal(err)
	}
	revoked := func(jti string, at time.Time) bool {
		var r bool
		if err := s.View(ctx, func(tx *Tx) (err error) { r, err = tx.SessionRevoked(jti, at); return err }); err != nil {
			t.Fatal(err)
		}
		return r
	}
	later := t0.Add(10 * time.Minute)
	if revoked("jti-1", later) || !revoked("jti-2", later) || !revoked("jti-0", later) {
		t.Fatalf("before the sweep: jti-1 %v (expired), jti-2 %v, jti-0 %v", revoked("jti-1", later), revoked("jti-2", later), revoked("jti-0", later))
	}
	var swept int
	if err := s.Update(ctx, func(tx *Tx) (err error) { swept, err = tx.SweepExpired(later, 100); return err }); err != nil {
		t.Fatal(err)
	}
	if swept != 1 {
		t.Fatalf("swept %d records, want 1 (jti-1)", swept)
	}
	if !revoked("jti-0", later) || !revoked("jti-2", later) {
		t.Fatal("the sweep removed a live record")
	}
	_ = s.View(ctx, func(tx *Tx) error {
		if ok, _ := tx.exists(key(nsRevokedJTI, "jti-1")); ok {
			t.Error("the expired record is still stored after the sweep")
		}
		return nil
	})
	if err := s.Update(ctx, func(tx *Tx) (err error) { swept, err = tx.SweepExpired(t0.Add(4*time.Hour), 100); return err }); err != nil || swept != 2 {
		t.Fatalf("final sweep: %d, %v", swept, err)
	}
	n := 0
	_ = s.View(ctx, func(tx *Tx) error {
		return tx.scan(prefix(nsExpiry), "", 0, true, func(_, _ []byte) error { n++; return nil })
	})
	if n != 0 {
		t.Fatalf("%d expiry index entries left", n)
	}
}

// TestMigratePipelineTeams: a schema 2 store, whose pipelines and
// promotions had no team, gives each pipeline the team of its first
// coupled app (or the admin team), and each promotion its pipeline's team
// (or, when the pipeline is gone, its source app's); the team indexes
// answer the lists afterwards.
func TestMigratePipelineTeams(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	s := openDir(t, dir, false)
	err := s.Update(ctx, func(tx *Tx) error {
		for _, a := range []domain.App{
			{ID: "app-web-dev", Name: "web-dev", Type: domain.AppTypeApp, TeamOwner: "web-team", Teams: []string{"web-team"}},
			{ID: "app-web-stg", Name: "web-stg", Type: domain.AppTypeApp, TeamOwner: "ops", Teams: []string{"ops"}},
			{ID: "app-gone-src", Name: "gone-src", Type: domain.AppTypeApp, TeamOwner: "legacy", Teams: []string{"legacy"}},
		} {
			if err := tx.PutApp(&a); err != nil {
				return err
			}
		}
		for _, p := range []domain.Pipeline{{ID: "pl-web", Name: "web"}, {ID: "pl-empty", Name: "empty"}} {
			if err := tx.PutPipeline(&p); err != nil {
				return err
			}
		}
		// The staging app is coupled first: the earliest stage decides.
		for _, c := range []domain.Coupling{
			{ID: "c-stg", PipelineID: "pl-web", PipelineName: "web", AppID: "app-web-stg", AppName: "web-stg", Stage: domain.StageStaging},
			{ID: "c-dev", PipelineID: "pl-web", PipelineName: "web", AppID: "app-web-dev", AppName: "web-dev", Stage: domain.StageDevelopment},
		} {
			if err := tx.PutCoupling(&c); err != nil {
				return err
			}
		}
		for i, p := range []domain.Promotion{
			{ID: "pr-web", PipelineID: "pl-web", PipelineName: "web", SourceAppID: "app-web-dev", Status: domain.PromotionSuccessful},
			{ID: "pr-gone", PipelineID: "pl-deleted", PipelineName: "deleted", SourceAppID: "app-gone-src", Status: domain.PromotionFailed},
			{ID: "pr-orphan", PipelineID: "pl-deleted", PipelineName: "deleted", SourceAppID: "app-deleted", Status: domain.PromotionFailed},
		} {
			p.CreatedAt = now.Add(time.Duration(i) * time.Minute)
			if err := tx.PutPromotion(&p); err != nil {
				return err
			}
		}
		return tx.putRaw(key(nsMeta, metaSchemaVersion), []byte("2"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openDir(t, dir, false)
	if v, _ := s.schemaVersion(ctx); v != SchemaVersion {
		t.Fatalf("schema after migration: %d", v)
	}
	err = s.View(ctx, func(tx *Tx) error {
		for name, team := range map[string]string{"web": "web-team", "empty": domain.AdminTeam} {
			if p, err := tx.Pipeline(name); err != nil || p.Team != team {
				t.Errorf("pipeline %s after migration: %+v, %v; want team %s", name, p, err, team)
			}
		}
		for id, team := range map[string]string{"pr-web": "web-team", "pr-gone": "legacy", "pr-orphan": domain.AdminTeam} {
			if p, err := tx.Promotion(id); err != nil || p.Team != team {
				t.Errorf("promotion %s after migration: %+v, %v; want team %s", id, p, err, team)
			}
		}
		pipelines, _, err := tx.ListPipelines(persist.PipelineFilter{Teams: []string{"web-team", "ops"}}, Page{})
		if err != nil || len(pipelines) != 1 || pipelines[0].Name != "web" {
			t.Errorf("pipelines of web-team and ops: %+v, %v", pipelines, err)
		}
		promotions, _, err := tx.ListPromotions(persist.PromotionFilter{Teams: []string{"legacy", domain.AdminTeam}}, Page{})
		if err != nil || len(promotions) != 2 || promotions[0].ID != "pr-orphan" || promotions[1].ID != "pr-gone" {
			t.Errorf("promotions of legacy and admin, newest first: %+v, %v", promotions, err)
		}
		couplings, _, err := tx.ListCouplings(persist.CouplingFilter{PipelineIDs: []string{"pl-web"}}, Page{Limit: 1})
		if err != nil || len(couplings) != 1 || couplings[0].ID != "c-dev" {
			t.Errorf("first coupling of web by id: %+v, %v", couplings, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
