package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/berthdev/terraform-provider-berth/controlplane/engine"
	"github.com/berthdev/terraform-provider-berth/internal/pgtest"
)

// Run with: go test -run '^$' -bench . -benchtime 2000x ./controlplane/engine/postgres/

func benchEngine(b *testing.B, o Options) *Engine {
	b.Helper()
	o.URL = pgtest.URL(b)
	e, err := Open(context.Background(), o)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = e.Close() })
	err = e.Update(context.Background(), func(tx engine.Txn) error {
		for i := range 1000 {
			if err := tx.Put([]byte("k/"+strconv.Itoa(i)), []byte("0")); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return e
}

// BenchmarkRoundTrip is the floor: one empty simple query on one
// connection.
func BenchmarkRoundTrip(b *testing.B) {
	url := pgtest.URL(b)
	ctx := context.Background()
	conn, err := pgconn.Connect(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	b.ResetTimer()
	for b.Loop() {
		if err := conn.Ping(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkViewGet(b *testing.B) {
	e := benchEngine(b, Options{})
	ctx := context.Background()
	for b.Loop() {
		err := e.View(ctx, func(r engine.Reader) error { _, err := r.Get([]byte("k/1")); return err })
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUpdateGetPut(b *testing.B) {
	e := benchEngine(b, Options{})
	ctx := context.Background()
	for b.Loop() {
		if err := e.Update(ctx, func(tx engine.Txn) error { return incr(tx, "k/1") }); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUpdatePut(b *testing.B) {
	e := benchEngine(b, Options{})
	ctx := context.Background()
	for b.Loop() {
		if err := e.Update(ctx, func(tx engine.Txn) error { return tx.Put([]byte("k/1"), []byte("1")) }); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUpdate10Gets: the store's typical transaction, several small
// reads and a write.
func BenchmarkUpdate10GetsPut(b *testing.B) {
	e := benchEngine(b, Options{})
	ctx := context.Background()
	for b.Loop() {
		err := e.Update(ctx, func(tx engine.Txn) error {
			for i := range 10 {
				if _, err := tx.Get([]byte("k/" + strconv.Itoa(100+i))); err != nil {
					return err
				}
			}
			return incr(tx, "k/1")
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

func incr(tx engine.Txn, k string) error {
	v, err := tx.Get([]byte(k))
	if err != nil && !errors.Is(err, engine.ErrNotFound) {
		return err
	}
	n, _ := strconv.Atoi(string(v))
	return tx.Put([]byte(k), []byte(strconv.Itoa(n+1)))
}

// concurrent runs b.N increments from 64 goroutines, on a key of their own
// or on one hot key, retrying conflicts.
func concurrent(b *testing.B, maxConns int32, hot bool) {
	e := benchEngine(b, Options{MaxConns: maxConns})
	ctx := context.Background()
	var next, retries atomic.Int64
	var wg sync.WaitGroup
	per := (b.N + 63) / 64
	b.ResetTimer()
	start := time.Now()
	for g := range 64 {
		key := "k/" + strconv.Itoa(g)
		if hot {
			key = "k/hot"
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range per {
				next.Add(1)
				for {
					err := e.Update(ctx, func(tx engine.Txn) error { return incr(tx, key) })
					if err == nil {
						break
					}
					if !errors.Is(err, engine.ErrConflict) {
						b.Error(err)
						return
					}
					retries.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	n := float64(next.Load())
	b.ReportMetric(n/time.Since(start).Seconds(), "commits/s")
	b.ReportMetric(float64(retries.Load())/n, "retries/commit")
}

func BenchmarkConcurrent64Distinct(b *testing.B) {
	for _, conns := range []int32{8, 16, 32} {
		b.Run(fmt.Sprintf("conns=%d", conns), func(b *testing.B) { concurrent(b, conns, false) })
	}
}

func BenchmarkConcurrent64HotKey(b *testing.B) {
	for _, conns := range []int32{8, 16} {
		b.Run(fmt.Sprintf("conns=%d", conns), func(b *testing.B) { concurrent(b, conns, true) })
	}
}

// BenchmarkViewUnderWrites: what DEFERRABLE costs a View (1 Get) while
// eight writers commit without pause, against REPEATABLE READ.
func BenchmarkViewUnderWrites(b *testing.B) {
	for _, mode := range []struct{ name, begin string }{
		{"deferrable", beginView},
		{"repeatable-read", beginSnapshotView},
	} {
		b.Run(mode.name, func(b *testing.B) {
			e := benchEngine(b, Options{MaxConns: 16})
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			for w := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for ctx.Err() == nil {
						_ = e.Update(ctx, func(tx engine.Txn) error { return incr(tx, "k/"+strconv.Itoa(500+w)) })
					}
				}()
			}
			b.ResetTimer()
			for b.Loop() {
				t, err := e.begin(context.Background(), mode.begin)
				if err != nil {
					b.Fatal(err)
				}
				_, err = t.Get([]byte("k/1"))
				t.done()
				t.endAsync(true)
				if err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			cancel()
			wg.Wait()
		})
	}
}

// BenchmarkPoolGet: the same SELECT straight on the pool, without a
// transaction: what a View costs on top.
func BenchmarkPoolGet(b *testing.B) {
	e := benchEngine(b, Options{})
	ctx := context.Background()
	for b.Loop() {
		var v []byte
		if err := e.pool.QueryRow(ctx, qGet, []byte("k/1")).Scan(&v); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUpdateGetPutNoSync: the same without waiting for the WAL flush
// (synchronous_commit off for the session): the engine's and the
// network's share of an Update, apart from the disk's.
func BenchmarkUpdateGetPutNoSync(b *testing.B) {
	url := pgtest.URL(b) + "&synchronous_commit=off"
	e, err := Open(context.Background(), Options{URL: url})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	for b.Loop() {
		if err := e.Update(ctx, func(tx engine.Txn) error { return incr(tx, "k/1") }); err != nil {
			b.Fatal(err)
		}
	}
}
