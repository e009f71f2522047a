// Package store persists berth's domain model on a storage engine (package
// engine: Badger or PostgreSQL). Each entity has its own key namespace;
// secondary indexes are written in the same transaction as the record they
// point at. Records that expire carry their expiry as data. Nothing here
// knows about HTTP, and nothing here knows which engine runs below.
package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/engine"
	"github.com/berthdev/terraform-provider-berth/controlplane/persist"
)

// Options configures New.
type Options struct {
	Logger *slog.Logger
	// Now is the clock migrations stamp records with (default time.Now).
	Now func() time.Time
}

// Store is the typed store over one engine.
type Store struct {
	eng  engine.Engine
	log  *slog.Logger
	apps appCache
}

// maxConflictRetries bounds how often Update re-runs a transaction that lost a
// race. Contention on one key (a stack project under heavy leasing from
// several replicas) is the worst case; each retry waits a little longer,
// with jitter.
const maxConflictRetries = 100

// New opens the typed store on eng: it checks the schema version of the
// data and migrates older data (see schema.go).
func New(ctx context.Context, eng engine.Engine, o Options) (*Store, error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	s := &Store{eng: eng, log: log}
	if err := s.checkSchema(ctx, now); err != nil {
		return nil, err
	}
	return s, nil
}

// Engine is the engine below the store.
func (s *Store) Engine() engine.Engine { return s.eng }

// Close closes the engine.
func (s *Store) Close() error { return s.eng.Close() }

// Ready reports whether the store can serve requests now.
func (s *Store) Ready(ctx context.Context) error { return storeErr(s.eng.Ready(ctx)) }

// Subscribe returns a channel woken after commits that notified topic, in
// any process on the same storage (see engine.Engine.Subscribe).
func (s *Store) Subscribe(ctx context.Context, topic string) (<-chan struct{}, error) {
	return s.eng.Subscribe(ctx, topic)
}

// View runs fn in a read-only transaction.
func (s *Store) View(ctx context.Context, fn func(*Tx) error) error {
	return storeErr(s.eng.View(ctx, func(r engine.Reader) error { return fn(&Tx{r: r, apps: &s.apps}) }))
}

// Update runs fn in a serializable read-write transaction and commits it.
// When the transaction loses a race with another, fn runs again on fresh
// data, so fn must not have side effects outside the transaction; use
// Tx.OnCommit for those.
func (s *Store) Update(ctx context.Context, fn func(*Tx) error) error {
	for attempt := 0; ; attempt++ {
		err := s.eng.Update(ctx, func(t engine.Txn) error { return fn(&Tx{r: t, w: t, apps: &s.apps}) })
		if !errors.Is(err, engine.ErrConflict) {
			return storeErr(err)
		}
		if attempt >= maxConflictRetries {
			return domain.Unavailable("the store is too busy: a transaction still conflicted after %d attempts; try again", attempt+1)
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

// storeErr words the engine's failures for the domain: what a client can
// act on becomes a domain error; the rest stays internal.
func storeErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, engine.ErrUnavailable):
		return domain.Unavailable("the database is unavailable; try again later")
	case errors.Is(err, engine.ErrUnknownOutcome):
		return domain.Unavailable("the database connection broke while the change was committed: it may or may not have been made; check before retrying")
	case errors.Is(err, engine.ErrTooLarge):
		return domain.Unprocessable("the change is too large to store")
	}
	return err
}

// Incarnation is the engine's incarnation when it is the only process on
// its storage (Badger), else "": see badger.Engine.Incarnation.
func (s *Store) Incarnation() string {
	if e, ok := s.eng.(interface{ Incarnation() string }); ok {
		return e.Incarnation()
	}
	return ""
}

// Size reports the engine's size on disk when it knows it.
func (s *Store) Size() (lsm, vlog int64) {
	if z, ok := s.eng.(interface{ Size() (int64, int64) }); ok {
		return z.Size()
	}
	return 0, 0
}

// CollectGarbage runs the engine's garbage collection when it has one.
func (s *Store) CollectGarbage() error {
	if gc, ok := s.eng.(interface{ CollectGarbage() error }); ok {
		return gc.CollectGarbage()
	}
	return nil
}

// Tx is one transaction. Entity files in this package add typed methods;
// the rest of the server never sees keys. w is nil in a read-only one.
type Tx struct {
	r engine.Reader
	w engine.Txn
	// apps is the store's cache of decoded app records (nil: none).
	apps *appCache
}

// OnCommit registers f to run once the transaction has committed.
func (tx *Tx) OnCommit(f func()) { tx.w.OnCommit(f) }

// Notify wakes the subscribers of topic, in every process, once the
// transaction has committed.
func (tx *Tx) Notify(topic string) { tx.w.Notify(topic) }

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

func (tx *Tx) getRaw(k []byte) ([]byte, error) {
	v, err := tx.r.Get(k)
	if errors.Is(err, engine.ErrNotFound) {
		return nil, errNoKey
	}
	return v, err
}

func (tx *Tx) get(k []byte, v any) error {
	b, err := tx.getRaw(k)
	if err != nil {
		return err
	}
	return decode(k, b, v)
}

// decode unmarshals a record. The error names the key, never the bytes: a
// record may hold secrets.
func decode(k, b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode the record at %q: %s", truncateKey(k), jsonErrorKind(err))
	}
	return nil
}

func jsonErrorKind(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("invalid JSON at offset %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %q has the wrong type", typ.Field)
	}
	return "invalid JSON"
}

func truncateKey(k []byte) string {
	k = bytes.ReplaceAll(k, []byte{sep}, []byte("/"))
	if len(k) > 80 {
		return string(k[:80]) + "..."
	}
	return string(k)
}

func (tx *Tx) exists(k []byte) (bool, error) {
	_, err := tx.r.Get(k)
	if errors.Is(err, engine.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

func (tx *Tx) put(k []byte, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.w.Put(k, b)
}

func (tx *Tx) putRaw(k, v []byte) error { return tx.w.Put(k, v) }

func (tx *Tx) delete(k []byte) error { return tx.w.Delete(k) }

// scan calls fn for each key under pfx in order, starting strictly after the
// key pfx+after when after is not empty, and stops after limit keys (0: no
// limit). fn may return errStop to end the scan early. Values are only valid
// inside fn.
func (tx *Tx) scan(pfx []byte, after string, limit int, keysOnly bool, fn func(k, v []byte) error) error {
	start := pfx
	if after != "" {
		// The first key after pfx+after is pfx+after+"\x00".
		start = append(append(append([]byte{}, pfx...), after...), 0)
	}
	err := tx.r.Scan(engine.Range{Start: start, End: engine.PrefixEnd(pfx), Limit: limit, KeysOnly: keysOnly}, func(k, v []byte) error {
		if err := fn(k, v); errors.Is(err, errStop) {
			return engine.ErrStop
		} else {
			return err
		}
	})
	return err
}

var errStop = errors.New("stop scan")

// lastPart returns the component of k after its final separator.
func lastPart(k []byte) string {
	if i := bytes.LastIndexByte(k, sep); i >= 0 {
		return string(k[i+1:])
	}
	return string(k)
}

// Page selects one page of a list: see domain.Page.
type Page = domain.Page

// scanPage collects one page of JSON records under pfx. The next cursor is
// the last key component returned when the page is full, else empty.
func scanPage[T any](tx *Tx, pfx []byte, p Page) ([]T, string, error) {
	var out []T
	var last string
	err := tx.scan(pfx, p.After, p.Limit, false, func(k, v []byte) error {
		var t T
		if err := decode(k, v, &t); err != nil {
			return err
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

// Records that expire are stored as the expiry (big-endian Unix nanoseconds)
// followed by the payload, and indexed by expiry so that SweepExpired finds
// them without reading every record. Readers treat an expired record as
// absent whether or not it was swept yet, so correctness never depends on
// the sweep.
const nsExpiry = "expiry" // %020d unix nanos, key -> ""

func expiryIndexKey(k []byte, at time.Time) []byte {
	return append(prefix(nsExpiry, fmt.Sprintf("%020d", at.UnixNano())), k...)
}

func (tx *Tx) putExpiring(k, payload []byte, at time.Time) error {
	if old, err := tx.getRaw(k); err == nil && len(old) >= 8 {
		prev := time.Unix(0, int64(binary.BigEndian.Uint64(old)))
		if err := tx.delete(expiryIndexKey(k, prev)); err != nil {
			return err
		}
	} else if err != nil && !errors.Is(err, errNoKey) {
		return err
	}
	v := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(payload)), uint64(at.UnixNano()))
	if err := tx.putRaw(k, append(v, payload...)); err != nil {
		return err
	}
	return tx.putRaw(expiryIndexKey(k, at), nil)
}

// getLive returns the payload of an expiring record that has not expired
// by now.
func (tx *Tx) getLive(k []byte, now time.Time) ([]byte, error) {
	v, err := tx.getRaw(k)
	if err != nil {
		return nil, err
	}
	if len(v) < 8 {
		return nil, fmt.Errorf("expiring record at %q is malformed", truncateKey(k))
	}
	if !now.Before(time.Unix(0, int64(binary.BigEndian.Uint64(v)))) {
		return nil, errNoKey
	}
	return v[8:], nil
}

func (tx *Tx) deleteExpiring(k []byte) error {
	v, err := tx.getRaw(k)
	if errors.Is(err, errNoKey) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(v) >= 8 {
		if err := tx.delete(expiryIndexKey(k, time.Unix(0, int64(binary.BigEndian.Uint64(v))))); err != nil {
			return err
		}
	}
	return tx.delete(k)
}

// SweepExpired deletes up to limit records that expired by now and reports
// how many it deleted.
func (tx *Tx) SweepExpired(now time.Time, limit int) (int, error) {
	pfx := prefix(nsExpiry)
	end := prefix(nsExpiry, fmt.Sprintf("%020d", now.UnixNano()))
	var keys [][]byte
	err := tx.r.Scan(engine.Range{Start: pfx, End: end, Limit: limit, KeysOnly: true}, func(k, _ []byte) error {
		keys = append(keys, bytes.Clone(k))
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, ik := range keys {
		// The index key is prefix, 20 digits, separator, then the record key.
		rec := ik[len(pfx)+21:]
		if err := tx.delete(rec); err != nil {
			return 0, err
		}
		if err := tx.delete(ik); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}

// Persist is the store as core sees it: the persist.Store port.
func (s *Store) Persist() persist.Store { return port{s} }

type port struct{ *Store }

func (p port) View(ctx context.Context, fn func(persist.Tx) error) error {
	return p.Store.View(ctx, func(tx *Tx) error { return fn(tx) })
}

func (p port) Update(ctx context.Context, fn func(persist.Tx) error) error {
	return p.Store.Update(ctx, func(tx *Tx) error { return fn(tx) })
}

var _ persist.Tx = (*Tx)(nil)
