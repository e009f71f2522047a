package postgres

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/berthdev/terraform-provider-berth/controlplane/engine"
	"github.com/berthdev/terraform-provider-berth/internal/pgtest"
)

func open(t *testing.T, url string) *Engine {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	e, err := Open(ctx, Options{URL: url})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

func sqlQuery(t *testing.T, url, sql string) [][][]byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgconn.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	res, err := conn.Exec(ctx, sql).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return res[len(res)-1].Rows
}

// settings reads the transaction's settings with its first statement,
// which goes in one round trip with BEGIN.
func settings(t *txn) (string, error) {
	br, err := t.send(t.ctx, stmt{sql: "SELECT current_setting('transaction_isolation') || ' ' || " +
		"current_setting('transaction_read_only') || ' ' || current_setting('transaction_deferrable')"}, false)
	if err != nil {
		return "", err
	}
	var s string
	err = br.QueryRow().Scan(&s)
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return s, err
}

func TestTransactionModes(t *testing.T) {
	e := open(t, pgtest.URL(t))
	var got string
	err := e.Update(context.Background(), func(tx engine.Txn) (err error) {
		got, err = settings(tx.(*txn))
		return err
	})
	if err != nil || got != "serializable off off" {
		t.Errorf("Update runs as %q (%v), want serializable, read-write, not deferrable", got, err)
	}
	err = e.View(context.Background(), func(r engine.Reader) (err error) {
		got, err = settings(r.(*txn))
		return err
	})
	if err != nil || got != "serializable on on" {
		t.Errorf("View runs as %q (%v), want serializable, read only, deferrable", got, err)
	}
	rr, err := Open(context.Background(), Options{URL: e.pool.Config().ConnString(), RepeatableReadViews: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Close()
	err = rr.View(context.Background(), func(r engine.Reader) (err error) {
		got, err = settings(r.(*txn))
		return err
	})
	if err != nil || got != "repeatable read on off" {
		t.Errorf("View with RepeatableReadViews runs as %q (%v), want repeatable read, read only", got, err)
	}
}

// TestMigrationRace: replicas opening a fresh database together migrate
// it once; the second waits on the schema lock while the first migrates.
func TestMigrationRace(t *testing.T) {
	url := pgtest.URL(t)
	release := make(chan struct{})
	var first sync.Once
	testHookLocked = func() { first.Do(func() { <-release }) }
	defer func() { testHookLocked = nil }()

	const n = 3
	errs := make(chan error, n)
	engines := make(chan *Engine, n)
	for range n {
		go func() {
			e, err := Open(context.Background(), Options{URL: url})
			errs <- err
			if err == nil {
				engines <- e
			}
		}()
	}
	// Wait until the others queue on the lock the first holds.
	deadline := time.Now().Add(time.Minute)
	for {
		rows := sqlQuery(t, url, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
			AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`)
		if string(rows[0][0]) == "2" {
			break
		}
		if time.Now().After(deadline) {
			close(release)
			t.Fatalf("%s Opens wait on the schema lock after a minute, want 2", rows[0][0])
		}
		time.Sleep(20 * time.Millisecond)
	}
	close(release)
	for range n {
		if err := <-errs; err != nil {
			t.Fatalf("a racing Open: %v", err)
		}
		e := <-engines
		t.Cleanup(func() { _ = e.Close() })
	}
	rows := sqlQuery(t, url, "SELECT version FROM "+schemaTable+" ORDER BY version")
	if len(rows) != SchemaVersion {
		t.Fatalf("%d migrations recorded, want %d", len(rows), SchemaVersion)
	}
	for i, r := range rows {
		if string(r[0]) != strconv.Itoa(i+1) {
			t.Fatalf("migration rows %q", rows)
		}
	}
}

func TestSchemaTooNew(t *testing.T) {
	url := pgtest.URL(t)
	e := open(t, url)
	_ = e.Close()
	sqlQuery(t, url, "INSERT INTO "+schemaTable+" (version) VALUES (999)")
	_, err := Open(context.Background(), Options{URL: url})
	if !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("Open on a newer schema: %v, want ErrSchemaTooNew", err)
	}
	if !strings.Contains(err.Error(), "999") {
		t.Errorf("the error does not say which version the database has: %v", err)
	}
	// The refused Open released the lock: another Open gets as far as the
	// version check instead of waiting.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := Open(ctx, Options{URL: url}); !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("a second Open: %v", err)
	}
}
