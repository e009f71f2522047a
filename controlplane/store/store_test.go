package store

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/engine"
	"github.com/berthdev/terraform-provider-berth/controlplane/engine/badger"
	"github.com/berthdev/terraform-provider-berth/controlplane/persist"
)

func openMem(t *testing.T) *Store {
	t.Helper()
	e, err := badger.Open(badger.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	return openOn(t, e)
}

func openDir(t *testing.T, dir string, bulk bool) *Store {
	t.Helper()
	e, err := badger.Open(badger.Options{Dir: dir, BulkLoad: bulk})
	if err != nil {
		t.Fatal(err)
	}
	return openOn(t, e)
}

func openOn(t *testing.T, e engine.Engine) *Store {
	t.Helper()
	s, err := New(context.Background(), e, Options{})
	if err != nil {
		_ = e.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestUpdateRetriesConflicts: 50 concurrent read-modify-writes of one
// record lose no increment, because a transaction that lost the race runs
// again on fresh data.
func TestUpdateRetriesConflicts(t *testing.T) {
	s := openMem(t)
	ctx := context.Background()
	k := key("test", "counter")
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.Update(ctx, func(tx *Tx) error {
				var n int
				if err := tx.get(k, &n); err != nil && !errors.Is(err, errNoKey) {
					return err
				}
				return tx.put(k, n+1)
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	var n int
	_ = s.View(ctx, func(tx *Tx) error { return tx.get(k, &n) })
	if n != 50 {
		t.Fatalf("counter = %d, want 50", n)
	}
}

func TestOnCommitRunsOnlyAfterCommit(t *testing.T) {
	s := openMem(t)
	ran := 0
	err := s.Update(context.Background(), func(tx *Tx) error {
		tx.OnCommit(func() { ran++ })
		return errors.New("abort")
	})
	if err == nil || ran != 0 {
		t.Fatalf("aborted transaction ran its hooks: err=%v ran=%d", err, ran)
	}
	_ = s.Update(context.Background(), func(tx *Tx) error { tx.OnCommit(func() { ran++ }); return nil })
	if ran != 1 {
		t.Fatalf("hook ran %d times", ran)
	}
}

func TestTeamMemberIndex(t *testing.T) {
	s := openMem(t)
	ctx := context.Background()
	put := func(team *domain.Team) {
		if err := s.Update(ctx, func(tx *Tx) error { return tx.PutTeam(team) }); err != nil {
			t.Fatal(err)
		}
	}
	teamsOf := func(email string) []string {
		var out []string
		_ = s.View(ctx, func(tx *Tx) (err error) { out, err = tx.TeamsOf(email); return err })
		return out
	}
	put(&domain.Team{Name: "b", Members: []string{"x@e.com", "y@e.com"}})
	put(&domain.Team{Name: "a", Members: []string{"x@e.com"}})
	if got := teamsOf("x@e.com"); len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Fatalf("teams of x: %v", got)
	}
	put(&domain.Team{Name: "b", Members: []string{"y@e.com"}})
	if got := teamsOf("x@e.com"); len(got) != 1 || got[0] != "a" {
		t.Fatalf("teams of x after removal from b: %v", got)
	}
	// An e-mail that is a prefix of another does not see the other's teams.
	put(&domain.Team{Name: "c", Members: []string{"x@e.com.evil"}})
	if got := teamsOf("x@e.com"); len(got) != 1 {
		t.Fatalf("prefix leak: %v", got)
	}
}

func TestAppIndexesAndPaging(t *testing.T) {
	s := openMem(t)
	ctx := context.Background()
	names := []string{"web", "api", "db", "cache", "worker"}
	err := s.Update(ctx, func(tx *Tx) error {
		for i, n := range names {
			team := "t1"
			if i%2 == 1 {
				team = "t2"
			}
			if err := tx.PutApp(&domain.App{ID: "id-" + n, Name: n, Type: domain.AppTypeApp, Teams: []string{team}}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = s.View(ctx, func(tx *Tx) error {
		var all []string
		cursor := ""
		for {
			page, next, err := tx.ListApps(persist.AppFilter{Scope: domain.AppScope{All: true}}, Page{After: cursor, Limit: 2})
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range page {
				all = append(all, a.Name)
			}
			if next == "" {
				break
			}
			cursor = next
		}
		if want := "api cache db web worker"; strings.Join(all, " ") != want {
			t.Fatalf("paged names %q, want %q", strings.Join(all, " "), want)
		}
		t2, _, _ := tx.ListApps(persist.AppFilter{Scope: domain.AppScope{Teams: []string{"t2"}}}, Page{})
		if len(t2) != 2 || t2[0].Name != "api" || t2[1].Name != "cache" {
			t.Fatalf("team t2 apps: %v", t2)
		}
		both, next, _ := tx.ListApps(persist.AppFilter{Scope: domain.AppScope{Teams: []string{"t1", "t2"}}}, Page{Limit: 3})
		if len(both) != 3 || both[0].Name != "api" || both[2].Name != "db" || next != "db" {
			t.Fatalf("merged page: %v next %q", both, next)
		}
		a, err := tx.AppByID("id-db")
		if err != nil || a.Name != "db" {
			t.Fatalf("by id: %v %v", a, err)
		}
		return nil
	})
	// Moving an app to another team moves its index entry.
	_ = s.Update(ctx, func(tx *Tx) error {
		a, _ := tx.App("api")
		a.Teams = []string{"t1"}
		return tx.PutApp(a)
	})
	_ = s.View(ctx, func(tx *Tx) error {
		t2, _, _ := tx.ListApps(persist.AppFilter{Scope: domain.AppScope{Teams: []string{"t2"}}}, Page{})
		if len(t2) != 1 || t2[0].Name != "cache" {
			t.Fatalf("t2 after move: %v", t2)
		}
		return nil
	})
	_ = s.Update(ctx, func(tx *Tx) error { a, _ := tx.App("db"); return tx.DeleteApp(a) })
	_ = s.View(ctx, func(tx *Tx) error {
		if _, err := tx.AppByID("id-db"); !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("deleted app still indexed: %v", err)
		}
		return nil
	})
}

func TestPersistsAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	s := openDir(t, dir, false)
	ctx := context.Background()
	if err := s.Update(ctx, func(tx *Tx) error { return tx.PutUser(&domain.User{Email: "a@b.com"}) }); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s.Ready(ctx) == nil {
		t.Fatal("closed store reports ready")
	}
	s = openDir(t, dir, false)
	if err := s.View(ctx, func(tx *Tx) error { _, err := tx.User("a@b.com"); return err }); err != nil {
		t.Fatal(err)
	}
}

func TestMaintainerIndex(t *testing.T) {
	s := openMem(t)
	ctx := context.Background()
	_ = s.Update(ctx, func(tx *Tx) error {
		_ = tx.PutApp(&domain.App{ID: "1", Name: "a", Type: domain.AppTypeApp, Teams: []string{"t"}, Maintainers: []domain.Maintainer{{Username: "m@e.com", Role: domain.RoleOwner}}})
		return tx.PutApp(&domain.App{ID: "2", Name: "b", Type: domain.AppTypeResource, Teams: []string{"u"}})
	})
	_ = s.View(ctx, func(tx *Tx) error {
		got, _, _ := tx.ListApps(persist.AppFilter{Scope: domain.AppScope{Maintainer: "m@e.com", Teams: []string{"u"}}}, Page{})
		if len(got) != 2 {
			t.Fatalf("maintainer + team: %v", got)
		}
		got, _, _ = tx.ListApps(persist.AppFilter{Scope: domain.AppScope{Maintainer: "m@e.com", Teams: []string{"u"}}, Type: domain.AppTypeResource}, Page{})
		if len(got) != 1 || got[0].Name != "b" {
			t.Fatalf("typed: %v", got)
		}
		got, _, _ = tx.ListApps(persist.AppFilter{}, Page{})
		if len(got) != 0 {
			t.Fatalf("no teams, no maintainer: %v", got)
		}
		return nil
	})
}

// TestBulkLoadIsDurableAfterClose: what a bulk load commits is on disk once
// the store is closed, and a normal open reads it.
func TestBulkLoadIsDurableAfterClose(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s := openDir(t, dir, true)
	for i := range 100 {
		err := s.Update(ctx, func(tx *Tx) error { return tx.put(key("test", "n", string(rune('a'+i%26)), strings.Repeat("x", i)), i) })
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openDir(t, dir, false)
	n := 0
	err := s.View(ctx, func(tx *Tx) error {
		return tx.scan(prefix("test", "n"), "", 0, true, func(k, _ []byte) error { n++; return nil })
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 100 {
		t.Fatalf("%d records after reopening, want 100", n)
	}
}
