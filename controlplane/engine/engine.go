// Package engine is the seam under berth's typed store: an ordered
// key-value store with serializable transactions. Badger (embedded, the
// default) and PostgreSQL (several berthd replicas on one database) are its
// implementations; enginetest is the conformance suite both must pass.
//
// The typed store (package store) is the only user. It owns the key
// layout, the encoding of records, expiry (kept as data in the records, not
// as an engine feature) and the retry of transactions that lost a race.
package engine

import (
	"context"
	"errors"
)

// Engine is an ordered key-value store. Keys and values are byte strings;
// keys compare bytewise.
type Engine interface {
	// Name is the engine's name, for logs and /metrics: "badger", "postgres".
	Name() string
	// View runs fn in a read-only transaction over a consistent snapshot.
	View(ctx context.Context, fn func(Reader) error) error
	// Update runs fn in a read-write transaction and commits it. The
	// transaction is serializable: its outcome is as if it ran alone,
	// before or after every other committed transaction, phantoms
	// included (a range it scanned is protected like the keys it read).
	//
	// Update makes one attempt. When the transaction lost a race it
	// returns an error for which errors.Is(err, ErrConflict) holds, after
	// discarding every write; the caller runs it again on fresh data.
	// When fn returns an error, nothing is written and Update returns it.
	// When the commit's outcome is unknown (the connection to the
	// database broke during COMMIT), Update returns an error for which
	// errors.Is(err, ErrUnknownOutcome) holds: it must not be reported
	// as a success nor blindly retried.
	Update(ctx context.Context, fn func(Txn) error) error
	// Subscribe returns a channel that receives a value after each commit
	// of a transaction that called Notify(channel), in this process or in
	// any other process on the same storage, until ctx ends. Notifications
	// are hints: several may arrive as one, and after a lost connection
	// the engine sends one it cannot be sure of, so subscribers re-read
	// what they watch instead of trusting a count.
	Subscribe(ctx context.Context, channel string) (<-chan struct{}, error)
	// Ready reports whether the engine can serve transactions now.
	Ready(ctx context.Context) error
	// Close releases the engine. Transactions in flight fail.
	Close() error
}

// Reader reads inside a transaction. Returned slices belong to the caller.
type Reader interface {
	// Get returns the value of key, or ErrNotFound.
	Get(key []byte) ([]byte, error)
	// Scan calls fn for the keys of r in order (descending when
	// r.Reverse), with their values unless r.KeysOnly. fn may return
	// ErrStop to end the scan early without error. The slices passed to
	// fn are valid only during the call.
	Scan(r Range, fn func(key, value []byte) error) error
}

// Txn is a read-write transaction. Reads see its own writes.
type Txn interface {
	Reader
	// Put sets key to value.
	Put(key, value []byte) error
	// Delete removes key; deleting a missing key is not an error.
	Delete(key []byte) error
	// OnCommit registers f to run after the transaction committed, in
	// registration order. It never runs for an attempt that did not
	// commit.
	OnCommit(f func())
	// Notify wakes the subscribers of channel once the transaction has
	// committed (see Engine.Subscribe). Channel names are short ASCII
	// identifiers ([a-z0-9_-], at most 63 bytes).
	Notify(channel string)
}

// Range selects keys: those from Start (inclusive) to End (exclusive). A
// nil End means no upper bound. Limit bounds how many keys are visited (0:
// no bound).
type Range struct {
	Start, End []byte
	Reverse    bool
	Limit      int
	KeysOnly   bool
}

// Prefix is the range of every key that starts with p.
func Prefix(p []byte) Range { return Range{Start: p, End: PrefixEnd(p)} }

// PrefixEnd is the first key after every key starting with p: p with its
// last byte that is not 0xff incremented and what follows dropped. It is
// nil (no bound) when p is empty or only 0xff bytes.
func PrefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// Limits every engine accepts; the typed store never asks for more.
const (
	MaxKeySize   = 1 << 10  // 1 KiB
	MaxValueSize = 16 << 20 // 16 MiB
)

var (
	// ErrNotFound: Get found no such key.
	ErrNotFound = errors.New("engine: key not found")
	// ErrStop ends a Scan early from inside fn.
	ErrStop = errors.New("engine: stop scan")
	// ErrConflict: the transaction lost a race with another and was
	// rolled back; run it again.
	ErrConflict = errors.New("engine: transaction conflict, retry")
	// ErrUnknownOutcome: the commit may or may not have happened.
	ErrUnknownOutcome = errors.New("engine: commit outcome unknown")
	// ErrUnavailable: the engine cannot reach its storage (the database
	// is down); the request may succeed later.
	ErrUnavailable = errors.New("engine: storage unavailable")
	// ErrTooLarge: a key, a value or a transaction is over the engine's
	// limits.
	ErrTooLarge = errors.New("engine: too large")
)
