// Package badger is berth's embedded storage engine: Badger v4 in a local
// directory, one process per directory. It is the default engine.
//
// Read-write transactions run one at a time (a single writer, as in bbolt
// or SQLite): that makes them serializable, phantoms included, with no
// read tracking at all, and costs little because a commit waits for its
// fsync anyway. Reads run beside the writer on Badger's snapshots. Every
// commit is synced before it is acknowledged (SyncWrites), unless the
// store is opened for a bulk load.
package badger

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	bdb "github.com/dgraph-io/badger/v4"

	"github.com/berthdev/terraform-provider-berth/controlplane/engine"
)

// Options configures Open.
type Options struct {
	// Dir is the data directory. Ignored when InMemory is set.
	Dir string
	// InMemory keeps everything in memory: for tests and demos.
	InMemory bool
	Logger   *slog.Logger
	// BulkLoad is for offline imports into the directory of a stopped
	// server (the benchmarks' seeding, a migration): commits are not synced
	// one by one, so a crash loses the recent ones; Close makes everything
	// durable. Never set it in a server that answers clients.
	BulkLoad bool
}

// Engine is a Badger database.
type Engine struct {
	db  *bdb.DB
	log *slog.Logger
	dir string
	// writer admits one read-write transaction at a time.
	writer chan struct{}
	hub    engine.Hub
	// incarnation names this opening of the directory (see Incarnation).
	incarnation string
}

var _ engine.Engine = (*Engine)(nil)

// Open opens (or creates) the database.
func Open(o Options) (*Engine, error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts := bdb.DefaultOptions(o.Dir)
	if o.InMemory {
		opts = bdb.DefaultOptions("").WithInMemory(true)
	}
	opts = opts.
		WithSyncWrites(!o.BulkLoad).
		// The single writer makes Badger's own conflict detection moot.
		WithDetectConflicts(false).
		WithLogger(badgerLogger{log.With("component", "badger")}).
		// Memory: berthd must stay small with 100,000 apps. Badger's defaults
		// (5 x 64 MiB memtables, a 256 MiB block cache) are sized for much
		// bigger data sets than a control plane holds.
		WithMemTableSize(16 << 20).
		WithNumMemtables(3).
		WithBlockCacheSize(32 << 20).
		WithIndexCacheSize(16 << 20).
		WithValueLogFileSize(64 << 20).
		WithNumCompactors(2)
	db, err := bdb.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("open badger at %q: %w", o.Dir, err)
	}
	e := &Engine{db: db, log: log, writer: make(chan struct{}, 1), incarnation: rand.Text()}
	if !o.InMemory {
		e.dir = o.Dir
	}
	return e, nil
}

// Incarnation names this opening of the database. Badger locks its
// directory, so no other process has it open: whatever a process recorded
// under another incarnation (a lease on background work) was recorded by a
// process that has exited.
func (e *Engine) Incarnation() string { return e.incarnation }

// Name is "badger".
func (e *Engine) Name() string { return "badger" }

// Close flushes and closes the database.
func (e *Engine) Close() error { return e.db.Close() }

// Ready reports whether the database is open and usable.
func (e *Engine) Ready(context.Context) error {
	if e.db.IsClosed() {
		return fmt.Errorf("%w: the database is closed", engine.ErrUnavailable)
	}
	return e.db.View(func(*bdb.Txn) error { return nil })
}

// Subscribe: Badger has one process per directory, so notifications never
// leave it.
func (e *Engine) Subscribe(ctx context.Context, channel string) (<-chan struct{}, error) {
	return e.hub.Subscribe(ctx, channel)
}

// View runs fn on a snapshot.
func (e *Engine) View(ctx context.Context, fn func(engine.Reader) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return mapErr(e.db.View(func(txn *bdb.Txn) error { return fn(reader{txn}) }))
}

// Update runs fn as the only writer and commits it.
func (e *Engine) Update(ctx context.Context, fn func(engine.Txn) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case e.writer <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	t := &txn{reader: reader{e.db.NewTransaction(true)}}
	err := fn(t)
	if err == nil {
		err = fromBadger(t.txn.Commit())
	}
	t.txn.Discard()
	<-e.writer
	if err != nil {
		return err
	}
	for _, f := range t.onCommit {
		f()
	}
	e.hub.Publish(t.notify...)
	return nil
}

// Size returns the on-disk size of the LSM tree (its .sst tables) and of
// the value log, as they are now: Badger's own figures are refreshed only
// once a minute. A data directory holds a few dozen files, so reading them
// at every scrape is cheap. An in-memory engine has no size on disk.
func (e *Engine) Size() (lsm, vlog int64) {
	if e.dir == "" {
		return 0, 0
	}
	entries, err := os.ReadDir(e.dir)
	if err != nil {
		e.log.Warn("read the data directory for its size", "err", err)
		return 0, 0
	}
	for _, ent := range entries {
		info, err := ent.Info()
		if err != nil {
			continue // removed by a compaction since it was listed
		}
		switch filepath.Ext(ent.Name()) {
		case ".sst":
			lsm += info.Size()
		case ".vlog":
			vlog += info.Size()
		}
	}
	return lsm, vlog
}

// CollectGarbage reclaims value-log space left by overwritten and deleted
// values. The scheduler calls it now and then.
func (e *Engine) CollectGarbage() error {
	if e.dir == "" {
		return nil
	}
	for {
		switch err := e.db.RunValueLogGC(0.5); {
		case err == nil:
		case errors.Is(err, bdb.ErrNoRewrite), errors.Is(err, bdb.ErrRejected):
			return nil
		default:
			return err
		}
	}
}

type reader struct{ txn *bdb.Txn }

func (r reader) Get(key []byte) ([]byte, error) {
	item, err := r.txn.Get(key)
	if err != nil {
		return nil, fromBadger(err)
	}
	v, err := item.ValueCopy(nil)
	return v, fromBadger(err)
}

func (r reader) Scan(rg engine.Range, fn func(key, value []byte) error) error {
	opts := bdb.DefaultIteratorOptions
	opts.Reverse = rg.Reverse
	opts.PrefetchValues = !rg.KeysOnly
	opts.Prefix = commonPrefix(rg.Start, rg.End)
	if rg.Limit > 0 && rg.Limit < opts.PrefetchSize {
		opts.PrefetchSize = rg.Limit
	}
	it := r.txn.NewIterator(opts)
	defer it.Close()
	n := 0
	visit := func(item *bdb.Item) error {
		if rg.KeysOnly {
			return fn(item.Key(), nil)
		}
		return item.Value(func(v []byte) error { return fn(item.Key(), v) })
	}
	if !rg.Reverse {
		for it.Seek(rg.Start); it.Valid(); it.Next() {
			k := it.Item().Key()
			if rg.End != nil && bytes.Compare(k, rg.End) >= 0 {
				break
			}
			if err := visit(it.Item()); err != nil {
				return stopOK(err)
			}
			if n++; rg.Limit > 0 && n >= rg.Limit {
				break
			}
		}
		return nil
	}
	if rg.End != nil {
		it.Seek(rg.End)
	} else {
		it.Rewind()
	}
	for ; it.Valid(); it.Next() {
		k := it.Item().Key()
		if rg.End != nil && bytes.Compare(k, rg.End) >= 0 {
			continue // Seek in reverse lands on End itself when it exists
		}
		if bytes.Compare(k, rg.Start) < 0 {
			break
		}
		if err := visit(it.Item()); err != nil {
			return stopOK(err)
		}
		if n++; rg.Limit > 0 && n >= rg.Limit {
			break
		}
	}
	return nil
}

func stopOK(err error) error {
	if errors.Is(err, engine.ErrStop) {
		return nil
	}
	return err
}

// commonPrefix is the longest prefix every key of [start, end) shares,
// which lets Badger skip tables that cannot hold any of them.
func commonPrefix(start, end []byte) []byte {
	if end == nil {
		return nil
	}
	n := 0
	for n < len(start) && n < len(end) && start[n] == end[n] {
		n++
	}
	// Keys in [start, end) share start[:n] only when end does not stop
	// right there: [ab, ac) shares "a", and so does every key in it.
	return start[:n]
}

type txn struct {
	reader
	onCommit []func()
	notify   []string
}

func (t *txn) Put(key, value []byte) error {
	if len(key) == 0 || len(key) > engine.MaxKeySize {
		return fmt.Errorf("%w: key of %d bytes (1 to %d)", engine.ErrTooLarge, len(key), engine.MaxKeySize)
	}
	if len(value) > engine.MaxValueSize {
		return fmt.Errorf("%w: value of %d bytes (at most %d)", engine.ErrTooLarge, len(value), engine.MaxValueSize)
	}
	return fromBadger(t.txn.Set(bytes.Clone(key), bytes.Clone(value)))
}

func (t *txn) Delete(key []byte) error { return fromBadger(t.txn.Delete(bytes.Clone(key))) }

func (t *txn) OnCommit(f func()) { t.onCommit = append(t.onCommit, f) }

func (t *txn) Notify(channel string) {
	if engine.CheckChannel(channel) == nil {
		t.notify = append(t.notify, channel)
	}
}

// mapErr turns Badger's errors into the engine's. Errors fn returned pass
// through unchanged.
func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, bdb.ErrKeyNotFound):
		return engine.ErrNotFound
	case errors.Is(err, bdb.ErrConflict):
		return fmt.Errorf("%w: %v", engine.ErrConflict, err)
	case errors.Is(err, bdb.ErrTxnTooBig):
		return fmt.Errorf("%w: the transaction is over Badger's size limit", engine.ErrTooLarge)
	case errors.Is(err, bdb.ErrDBClosed):
		return fmt.Errorf("%w: the database is closed", engine.ErrUnavailable)
	}
	return err
}

// fromBadger is mapErr for an error Badger itself returned. Some of them
// quote what they refuse (a hex dump of an oversized key or value, which
// may be a secret) after their first line: only that line is kept, so no
// error of the engine carries stored bytes into a log.
func fromBadger(err error) error {
	if mapped := mapErr(err); mapped == nil || mapped != err {
		return mapped
	}
	first, _, cut := strings.Cut(err.Error(), "\n")
	if !cut {
		return err
	}
	return fmt.Errorf("badger: %s [the rest of the message is withheld: it may quote stored data]", strings.TrimSpace(first))
}

type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) Errorf(f string, a ...any)   { b.l.Error(fmt.Sprintf(f, a...)) }
func (b badgerLogger) Warningf(f string, a ...any) { b.l.Warn(fmt.Sprintf(f, a...)) }
func (b badgerLogger) Infof(f string, a ...any)    { b.l.Debug(fmt.Sprintf(f, a...)) }
func (b badgerLogger) Debugf(f string, a ...any)   { b.l.Debug(fmt.Sprintf(f, a...)) }
