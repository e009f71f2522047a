package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/berthdev/terraform-provider-berth/controlplane/engine"
	"github.com/berthdev/terraform-provider-berth/controlplane/engine/postgres"
	"github.com/berthdev/terraform-provider-berth/internal/pgtest"
)

var ctx = context.Background()

func open(t *testing.T, o postgres.Options) *postgres.Engine {
	t.Helper()
	octx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	e, err := postgres.Open(octx, o)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

func put(e engine.Engine, k, v string) error {
	return e.Update(ctx, func(tx engine.Txn) error { return tx.Put([]byte(k), []byte(v)) })
}

func get(e engine.Engine, k string) (string, error) {
	var v []byte
	err := e.View(ctx, func(r engine.Reader) (err error) { v, err = r.Get([]byte(k)); return err })
	return string(v), err
}

func increment(tx engine.Txn, k string) error {
	n := 0
	switch v, err := tx.Get([]byte(k)); {
	case err == nil:
		n, _ = strconv.Atoi(string(v))
	case !errors.Is(err, engine.ErrNotFound):
		return err
	}
	return tx.Put([]byte(k), []byte(strconv.Itoa(n+1)))
}

// TestConflict: two transactions that read a key and then both write it
// cannot both commit; the loser gets ErrConflict, and retrying resolves
// contention without losing an update.
func TestConflict(t *testing.T) {
	url := pgtest.URL(t)
	a, b := open(t, postgres.Options{URL: url}), open(t, postgres.Options{URL: url})
	if err := put(a, "k", "0"); err != nil {
		t.Fatal(err)
	}
	var read sync.WaitGroup
	read.Add(2)
	errs := make(chan error, 2)
	for _, e := range []engine.Engine{a, b} {
		go func() {
			errs <- e.Update(ctx, func(tx engine.Txn) error {
				v, err := tx.Get([]byte("k"))
				if err != nil {
					return err
				}
				read.Done()
				done := make(chan struct{})
				go func() { read.Wait(); close(done) }()
				select {
				case <-done:
				case <-time.After(30 * time.Second):
					return errors.New("the other transaction did not read within 30s")
				}
				n, _ := strconv.Atoi(string(v))
				return tx.Put([]byte("k"), []byte(strconv.Itoa(n+1)))
			})
		}()
	}
	var conflicts, ok int
	for range 2 {
		switch err := <-errs; {
		case err == nil:
			ok++
		case errors.Is(err, engine.ErrConflict):
			conflicts++
			if strings.Contains(err.Error(), `"k"`) {
				t.Errorf("the error names the key: %v", err)
			}
		default:
			t.Fatalf("unexpected error: %v", err)
		}
	}
	if ok != 1 || conflicts != 1 {
		t.Fatalf("%d commits and %d conflicts, want one of each", ok, conflicts)
	}
	if v, err := get(a, "k"); err != nil || v != "1" {
		t.Fatalf("k = %q, %v after one committed increment", v, err)
	}

	// Contention, retried as the store does.
	const workers, each = 16, 10
	var wg sync.WaitGroup
	var mu sync.Mutex
	retries := 0
	for w := range workers {
		e := []engine.Engine{a, b}[w%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				for attempt := 0; ; attempt++ {
					err := e.Update(ctx, func(tx engine.Txn) error { return increment(tx, "hot") })
					if err == nil {
						break
					}
					if !errors.Is(err, engine.ErrConflict) || attempt > 1000 {
						t.Error(err)
						return
					}
					mu.Lock()
					retries++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if v, err := get(a, "hot"); err != nil || v != strconv.Itoa(workers*each) {
		t.Fatalf("hot = %q, %v after %d increments", v, err, workers*each)
	}
	t.Logf("%d increments of one key by %d workers took %d retries", workers*each, workers, retries)
}

// TestScanPages: scans longer than a page, with limits across pages, and
// with statements of fn's own in the middle of a page.
func TestScanPages(t *testing.T) {
	e := open(t, postgres.Options{URL: pgtest.URL(t)})
	const n = 1500
	err := e.Update(ctx, func(tx engine.Txn) error {
		for i := range n {
			if err := tx.Put(fmt.Appendf(nil, "s/%05d", i), []byte(strconv.Itoa(i))); err != nil {
				return err
			}
		}
		return tx.Put([]byte("other"), []byte("o"))
	})
	if err != nil {
		t.Fatal(err)
	}
	check := func(name string, rg engine.Range, nested bool, want []int) {
		t.Helper()
		var got []int
		err := e.View(ctx, func(r engine.Reader) error {
			return r.Scan(rg, func(k, v []byte) error {
				i, err := strconv.Atoi(strings.TrimPrefix(string(k), "s/"))
				if err != nil {
					return err
				}
				if !rg.KeysOnly && string(v) != strconv.Itoa(i) {
					return fmt.Errorf("key %d has value %q", i, v)
				}
				got = append(got, i)
				if nested && i%7 == 0 {
					if o, err := r.Get([]byte("other")); err != nil || string(o) != "o" {
						return fmt.Errorf("nested Get: %q, %v", o, err)
					}
					inner := 0
					if err := r.Scan(engine.Range{Start: []byte("s/"), Limit: 3}, func(_, _ []byte) error { inner++; return nil }); err != nil || inner != 3 {
						return fmt.Errorf("nested Scan: %d keys, %v", inner, err)
					}
					// The row fn got is still whole after fn's statements.
					if !strings.HasPrefix(string(k), "s/") || (!rg.KeysOnly && string(v) != strconv.Itoa(i)) {
						return fmt.Errorf("the row changed under fn: %q=%q", k, v)
					}
				}
				return nil
			})
		})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%s: %d keys, want %d (first %v)", name, len(got), len(want), got[:min(5, len(got))])
		}
	}
	seq := func(from, to, step int) (s []int) {
		for i := from; i != to; i += step {
			s = append(s, i)
		}
		return s
	}
	p := engine.Prefix([]byte("s/"))
	for _, nested := range []bool{false, true} {
		name := fmt.Sprintf(" (nested %v)", nested)
		check("all"+name, p, nested, seq(0, n, 1))
		check("all reverse"+name, engine.Range{Start: p.Start, End: p.End, Reverse: true}, nested, seq(n-1, -1, -1))
		check("keys only"+name, engine.Range{Start: p.Start, End: p.End, KeysOnly: true}, nested, seq(0, n, 1))
		check("limit"+name, engine.Range{Start: p.Start, End: p.End, Limit: 300}, nested, seq(0, 300, 1))
		check("limit reverse"+name, engine.Range{Start: p.Start, End: p.End, Limit: 300, Reverse: true}, nested, seq(n-1, n-301, -1))
		check("no end reverse"+name, engine.Range{Start: []byte("s/01000"), Reverse: true, Limit: 700}, nested, seq(n-1, 999, -1))
	}
}

// TestServerFailures runs on a server of its own, which it stops.
func TestServerFailures(t *testing.T) {
	c := pgtest.Server(t)
	url := c.URL(t)
	t.Run("UnknownOutcome", func(t *testing.T) { testUnknownOutcome(t, c, url) })
	t.Run("DatabaseDown", func(t *testing.T) { testDatabaseDown(t, c, url) })
}

func admin(t *testing.T, url string, sql ...string) string {
	t.Helper()
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgconn.Connect(cctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var out string
	for _, s := range sql {
		res, err := conn.Exec(cctx, s).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if r := res[len(res)-1]; len(r.Rows) > 0 {
			out = string(r.Rows[0][0])
		}
	}
	return out
}

// testUnknownOutcome: a COMMIT that waits for a synchronous standby that
// does not exist has committed locally; killing its session then leaves
// the client without an answer, which must not read as a failure.
func testUnknownOutcome(t *testing.T, c *pgtest.Cluster, url string) {
	e := open(t, postgres.Options{URL: url})
	admin(t, c.AdminURL(),
		"ALTER SYSTEM SET synchronous_standby_names = 'nobody'",
		"ALTER SYSTEM SET synchronous_commit = 'local'",
		"SELECT pg_reload_conf()")
	t.Cleanup(func() {
		admin(t, c.AdminURL(), "ALTER SYSTEM RESET synchronous_standby_names", "ALTER SYSTEM RESET synchronous_commit", "SELECT pg_reload_conf()")
	})
	waiting := open(t, postgres.Options{URL: url + "&synchronous_commit=on"})
	done := make(chan error, 1)
	go func() { done <- put(waiting, "unknown", "v") }()
	deadline := time.Now().Add(time.Minute)
	for {
		n := admin(t, c.AdminURL(), "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE wait_event = 'SyncRep'")
		if n != "0" {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("the commit did not wait for the standby: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("no COMMIT waits for the standby after a minute")
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case err := <-done:
		if !errors.Is(err, engine.ErrUnknownOutcome) {
			t.Fatalf("Update whose COMMIT lost its session: %v, want ErrUnknownOutcome", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Update did not return a minute after its session was killed")
	}
	if v, err := get(e, "unknown"); err != nil || v != "v" {
		t.Fatalf("the write of unknown outcome: %q, %v (it had committed locally)", v, err)
	}
}

// testDatabaseDown: with the database stopped, transactions fail fast with
// ErrUnavailable; once it is back, the same engines work again, the
// acknowledged commits are there, and notifications flow again.
func testDatabaseDown(t *testing.T, c *pgtest.Cluster, url string) {
	e := open(t, postgres.Options{URL: url, ConnectTimeout: 2 * time.Second})
	other := open(t, postgres.Options{URL: url, ConnectTimeout: 2 * time.Second})
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	before, err := e.Subscribe(sctx, "apps")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if err := put(e, "acked/"+strconv.Itoa(i), "v"); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-before:
	default:
	}

	if err := c.Stop(pgtest.Immediate); err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	if err := put(e, "down", "v"); !errors.Is(err, engine.ErrUnavailable) {
		t.Errorf("Update with the database down: %v, want ErrUnavailable", err)
	}
	if _, err := get(e, "acked/0"); !errors.Is(err, engine.ErrUnavailable) {
		t.Errorf("View with the database down: %v, want ErrUnavailable", err)
	}
	if err := e.Ready(ctx); !errors.Is(err, engine.ErrUnavailable) {
		t.Errorf("Ready with the database down: %v, want ErrUnavailable", err)
	}
	if took := time.Since(started); took > 20*time.Second {
		t.Errorf("three calls took %v with the database down, want them bounded by the connect timeout", took)
	}

	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		err := put(e, "up", "v")
		if err == nil {
			break
		}
		if !errors.Is(err, engine.ErrUnavailable) {
			t.Fatalf("Update while the database comes back: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("Update still fails a minute after the database came back: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := e.Ready(ctx); err != nil {
		t.Errorf("Ready after the database came back: %v", err)
	}
	for i := range 20 {
		if v, err := get(e, "acked/"+strconv.Itoa(i)); err != nil || v != "v" {
			t.Fatalf("acknowledged write %d after an immediate shutdown: %q, %v", i, v, err)
		}
	}

	// The listener reconnected and, having maybe missed notifications,
	// woke the subscribers.
	select {
	case <-before:
	case <-time.After(time.Minute):
		t.Fatal("no wake-up after the LISTEN connection came back")
	}
	after, err := e.Subscribe(sctx, "after")
	if err != nil {
		t.Fatal(err)
	}
	for {
		err := other.Update(ctx, func(tx engine.Txn) error { tx.Notify("after"); return nil })
		if err == nil {
			break
		}
		if !errors.Is(err, engine.ErrUnavailable) || time.Now().After(deadline) {
			t.Fatalf("the other engine after the restart: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	select {
	case <-after:
	case <-time.After(10 * time.Second):
		t.Fatal("a notification from another engine did not arrive after the restart")
	}
}

// TestBrokenIdleConnections: connections the server ended while they sat
// in the pool cost the next transactions nothing: they run again on new
// connections.
func TestBrokenIdleConnections(t *testing.T) {
	url := pgtest.URL(t)
	e := open(t, postgres.Options{URL: url, MinConns: 4})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := put(e, "k"+strconv.Itoa(i), "v"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	pids := admin(t, url, `WITH s AS MATERIALIZED (SELECT pid FROM pg_stat_activity
			WHERE datname = current_database() AND application_name = 'berthd' AND pid <> pg_backend_pid())
		SELECT array_agg(pid)::text FROM s WHERE pg_terminate_backend(pid)`)
	if pids == "" {
		t.Fatal("no session to end")
	}
	deadline := time.Now().Add(time.Minute)
	for admin(t, url, "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY('"+pids+"'::int[])") != "0" {
		if time.Now().After(deadline) {
			t.Fatal("the ended sessions are still there after a minute")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for i := range 4 {
		if err := put(e, "after", strconv.Itoa(i)); err != nil {
			t.Fatalf("Update %d after the sessions ended: %v", i, err)
		}
		if _, err := get(e, "after"); err != nil {
			t.Fatalf("View %d after the sessions ended: %v", i, err)
		}
	}
	if err := e.Ready(ctx); err != nil {
		t.Fatalf("Ready after the sessions ended: %v", err)
	}
}
