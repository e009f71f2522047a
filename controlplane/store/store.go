// Package store persists berth's domain model in Badger. Each entity has its
// own key namespace; secondary indexes are written in the same transaction as
// the record they point at. Nothing here knows about HTTP.
package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Options configures Open.
type Options struct {
	// Dir is the data directory. Ignored when InMemory is set.
	Dir string
	// InMemory keeps everything in memory: for tests and demos.
	InMemory bool
	Logger   *slog.Logger
	// BulkLoad is for offline imports into the directory of a stopped
	// server (the benchmarks' seeding): commits are not synced one by one,
	// so a crash loses the recent ones; Close makes everything durable.
	// Never set it in a server that answers clients.
	BulkLoad bool
}

// Store is the Badger database behind berthd. One process owns a directory.
type Store struct {
	db  *badger.DB
	log *slog.Logger
	// dir is the data directory; empty in memory.
	dir string
}

// maxConflictRetries bounds how often Update re-runs a transaction that lost a
// race. Contention on one key (a stack project under heavy leasing) is the
// worst case; each retry waits a little longer, with jitter.
const maxConflictRetries = 100

// Open opens (or creates) the database with SyncWrites on, so that a write
// acknowledged to a client survives a crash of the process or the machine
// (unless BulkLoad).
func Open(o Options) (*Store, error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts := badger.DefaultOptions(o.Dir)
	if o.InMemory {
		opts = badger.DefaultOptions("").WithInMemory(true)
	}
	opts = opts.
		WithSyncWrites(!o.BulkLoad).
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
	db, err := badger.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("open badger at %q: %w", o.Dir, err)
	}
	s := &Store{db: db, log: log}
	if !o.InMemory {
		s.dir = o.Dir
	}
	return s, nil
}

// Close flushes and closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Ready reports whether the database is open and usable.
func (s *Store) Ready() error {
	if s.db.IsClosed() {
		return errors.New("store is closed")
	}
	return s.db.View(func(*badger.Txn) error { return nil })
}

// Size returns the on-disk size of the LSM tree (its .sst tables) and of
// the value log, as they are now: Badger's own figures are refreshed only
// once a minute. A data directory holds a few dozen files, so reading them
// at every scrape is cheap. An in-memory store has no size on disk.
func (s *Store) Size() (lsm, vlog int64) {
	if s.dir == "" {
		return 0, 0
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		s.log.Warn("read the data directory for its size", "err", err)
		return 0, 0
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			continue // removed by a compaction since it was listed
		}
		switch filepath.Ext(e.Name()) {
		case ".sst":
			lsm += info.Size()
		case ".vlog":
			vlog += info.Size()
		}
	}
	return lsm, vlog
}

// View runs fn in a read-only transaction.
func (s *Store) View(ctx context.Context, fn func(*Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.View(func(txn *badger.Txn) error { return fn(&Tx{txn: txn}) })
}

// Update runs fn in a read-write transaction and commits it. When the commit
// loses a race with another transaction (badger.ErrConflict), fn runs again
// on fresh data, so fn must not have side effects outside the transaction;
// use Tx.OnCommit for those.
func (s *Store) Update(ctx context.Context, fn func(*Tx) error) error {
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		tx := &Tx{txn: s.db.NewTransaction(true)}
		err := fn(tx)
		if err == nil {
			err = tx.txn.Commit()
		}
		tx.txn.Discard()
		if err == nil {
			for _, f := range tx.onCommit {
				f()
			}
			return nil
		}
		if !errors.Is(err, badger.ErrConflict) {
			return err
		}
		if attempt >= maxConflictRetries {
			return fmt.Errorf("transaction still conflicting after %d attempts: %w", attempt+1, err)
		}
		backoff := time.Duration(1+min(attempt, 10)) * 200 * time.Microsecond
		wait := backoff/2 + rand.N(backoff)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// RunGC collects value-log garbage every interval until ctx ends.
func (s *Store) RunGC(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			for s.db.RunValueLogGC(0.5) == nil {
			}
		}
	}
}

// Tx is one Badger transaction. Entity files in this package add typed
// methods; the rest of the server never sees keys.
type Tx struct {
	txn      *badger.Txn
	onCommit []func()
}

// OnCommit registers f to run once the transaction has committed.
func (tx *Tx) OnCommit(f func()) { tx.onCommit = append(tx.onCommit, f) }

var errNoKey = errors.New("key not found")

const sep = 0x00

// key joins parts with a NUL byte, which no name or e-mail berth accepts can
// contain, so a prefix scan of one component never runs into the next.
func key(parts ...string) []byte {
	n := len(parts)
	for _, p := range parts {
		n += len(p)
	}
	b := make([]byte, 0, n)
	for i, p := range parts {
		if i > 0 {
			b = append(b, sep)
		}
		b = append(b, p...)
	}
	return b
}

// prefix is key(parts...) followed by a separator: everything below parts.
func prefix(parts ...string) []byte { return append(key(parts...), sep) }

func (tx *Tx) get(k []byte, v any) error {
	item, err := tx.txn.Get(k)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return errNoKey
	}
	if err != nil {
		return err
	}
	return item.Value(func(val []byte) error { return json.Unmarshal(val, v) })
}

func (tx *Tx) getRaw(k []byte) ([]byte, error) {
	item, err := tx.txn.Get(k)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, errNoKey
	}
	if err != nil {
		return nil, err
	}
	return item.ValueCopy(nil)
}

func (tx *Tx) exists(k []byte) (bool, error) {
	_, err := tx.txn.Get(k)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	return err == nil, err
}

func (tx *Tx) put(k []byte, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.txn.Set(k, b)
}

func (tx *Tx) putRaw(k, v []byte) error { return tx.txn.Set(k, v) }

func (tx *Tx) putTTL(k, v []byte, ttl time.Duration) error {
	return tx.txn.SetEntry(badger.NewEntry(k, v).WithTTL(ttl))
}

func (tx *Tx) delete(k []byte) error { return tx.txn.Delete(k) }

// scan calls fn for each key under pfx in order, starting strictly after the
// key pfx+after when after is not empty, and stops after limit keys (0: no
// limit). fn may return errStop to end the scan early. Values are only valid
// inside fn.
func (tx *Tx) scan(pfx []byte, after string, limit int, keysOnly bool, fn func(k, v []byte) error) error {
	opts := badger.DefaultIteratorOptions
	opts.Prefix = pfx
	opts.PrefetchValues = !keysOnly
	if limit > 0 && limit < opts.PrefetchSize {
		opts.PrefetchSize = limit
	}
	it := tx.txn.NewIterator(opts)
	defer it.Close()
	start := pfx
	var skip []byte
	if after != "" {
		skip = append(append([]byte{}, pfx...), after...)
		start = skip
	}
	n := 0
	for it.Seek(start); it.ValidForPrefix(pfx); it.Next() {
		item := it.Item()
		k := item.Key()
		if skip != nil && bytes.Equal(k, skip) {
			continue
		}
		var err error
		if keysOnly {
			err = fn(k, nil)
		} else {
			err = item.Value(func(v []byte) error { return fn(k, v) })
		}
		if errors.Is(err, errStop) {
			return nil
		}
		if err != nil {
			return err
		}
		n++
		if limit > 0 && n >= limit {
			return nil
		}
	}
	return nil
}

var errStop = errors.New("stop scan")

// lastPart returns the component of k after its final separator.
func lastPart(k []byte) string {
	if i := bytes.LastIndexByte(k, sep); i >= 0 {
		return string(k[i+1:])
	}
	return string(k)
}

// Page selects one page of a list ordered by key: the entries after the
// cursor After, at most Limit of them (0: all).
type Page struct {
	After string
	Limit int
}

// scanPage collects one page of JSON records under pfx. The next cursor is
// the last key component returned when the page is full, else empty.
func scanPage[T any](tx *Tx, pfx []byte, p Page) ([]T, string, error) {
	var out []T
	var last string
	err := tx.scan(pfx, p.After, p.Limit, false, func(k, v []byte) error {
		var t T
		if err := json.Unmarshal(v, &t); err != nil {
			return fmt.Errorf("decode %q: %w", k, err)
		}
		out = append(out, t)
		last = string(k[len(pfx):])
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	if p.Limit > 0 && len(out) == p.Limit {
		return out, last, nil
	}
	return out, "", nil
}

type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) Errorf(f string, a ...any)   { b.l.Error(fmt.Sprintf(f, a...)) }
func (b badgerLogger) Warningf(f string, a ...any) { b.l.Warn(fmt.Sprintf(f, a...)) }
func (b badgerLogger) Infof(f string, a ...any)    { b.l.Debug(fmt.Sprintf(f, a...)) }
func (b badgerLogger) Debugf(f string, a ...any)   { b.l.Debug(fmt.Sprintf(f, a...)) }
