// Package postgres is berth's storage engine on PostgreSQL (tested with
// 15), for several berthd replicas sharing one database.
//
// Schema. One table of ordered key/value pairs, berth_kv (k bytea primary
// key, v bytea): bytea compares bytewise, as Badger's keys do. A second
// table, berth_engine_schema, records the engine's schema versions; Open
// creates and migrates both under a session advisory lock, so replicas
// starting together migrate once, and refuses a database whose engine
// schema is newer than this code.
//
// Isolation. Update is one SERIALIZABLE read-write transaction: PostgreSQL's
// serializable snapshot isolation detects the anomalies snapshot isolation
// lets through (write skew, phantoms) and aborts one transaction with
// SQLSTATE 40001, which Update reports as engine.ErrConflict for the caller
// to retry. View is SERIALIZABLE READ ONLY DEFERRABLE: it waits, when it
// takes its snapshot, until no concurrent read-write transaction can make
// that snapshot inconsistent with the serial order, and then reads without
// any serializable bookkeeping and cannot fail. A REPEATABLE READ snapshot
// never shows part of a transaction either, but it may show the effect of
// a transaction without that of another which the serial order puts before
// it (the read-only anomaly); Badger's snapshots are prefixes of its serial
// order, and the store may rely on that. The cost is that a View started
// while read-write transactions are in flight waits for them to end:
// nothing when the database is quiet, about one commit's latency when
// writers keep it busy (Options.RepeatableReadViews trades the guarantee
// for never waiting).
//
// Round trips. A transaction holds its statements until it must hear back:
// BEGIN goes with the first statement, writes go with the next read or
// with COMMIT, so an Update of one Get and one Put is two round trips, and
// a View of one Get is one (its COMMIT is sent after View returns). COMMIT
// never goes in the first round trip, so an Update that only writes takes
// two as well: a pooled connection that broke while idle then fails
// before anything could commit (ErrUnavailable), instead of leaving the
// outcome unknown. Every statement is prepared once per connection (pgx's
// statement cache).
//
// Notifications. Txn.Notify queues pg_notify on one PostgreSQL channel,
// berth_engine, with the engine's instance id and the berth channel as
// payload; PostgreSQL delivers it at commit. Each engine keeps one LISTEN
// connection that feeds its engine.Hub, ignoring its own notifications
// (published locally right after the commit); when that connection is
// re-established, every subscriber is woken since notifications may have
// been lost.
//
// Errors. Serialization failures and deadlocks (40001, 40P01) wrap
// engine.ErrConflict; a database that cannot be reached, is shutting down
// or starting, or does not answer within the statement timeout wraps
// engine.ErrUnavailable; a COMMIT whose answer was lost wraps
// engine.ErrUnknownOutcome. Errors never carry keys or values.
//
// PostgreSQL-compatible distributed databases. Nothing here needs an
// extension; the types are plain. CockroachDB has no advisory locks (its
// pg_advisory_lock is missing or a stub): the migration would have to rely
// on its serializable DDL transaction, retried, or on a lock row. It
// rejects DEFERRABLE, and does not need it: its read-only transactions read
// at a timestamp of its serial order, so View would use SERIALIZABLE READ
// ONLY and retry 40001 (its read restarts). Both report more 40001s than
// PostgreSQL, which the store's retry loop absorbs. Neither is known to
// deliver LISTEN/NOTIFY across nodes (check the version at hand), so
// Subscribe would need a fallback, such as polling a change-counter row.
// The fillfactor storage parameter is a PostgreSQL tuning they may ignore
// or refuse. Key order: both compare bytea bytewise.
package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/berthdev/terraform-provider-berth/controlplane/engine"
)

// Options configures Open. Zero values take the defaults given.
type Options struct {
	// URL is the database, as a postgres:// URL or a key=value string.
	// Settings it carries (pool_max_conns, statement_timeout, ...) are
	// overridden by the fields below when those are set.
	URL string
	// MaxConns bounds the pool (default 16). A database server does best
	// with a few connections per core in all: divide that among the
	// replicas. Each replica also holds one more connection, for LISTEN:
	// PostgreSQL's max_connections must exceed replicas × (MaxConns + 1).
	MaxConns int32
	// MinConns is how many connections the pool keeps open when idle
	// (default 1).
	MinConns int32
	// ConnectTimeout bounds establishing a connection (default 5s): it is
	// how long a transaction waits before failing with ErrUnavailable
	// when the database does not answer.
	ConnectTimeout time.Duration
	// StatementTimeout bounds each statement on the server (default 30s;
	// negative: none). A statement that times out fails with
	// ErrUnavailable.
	StatementTimeout time.Duration
	// IdleInTransactionTimeout ends a session that sits inside a
	// transaction for that long without sending a statement (default 60s;
	// negative: none): a stuck replica must not hold locks, nor make every
	// View wait.
	IdleInTransactionTimeout time.Duration
	// RepeatableReadViews runs View at REPEATABLE READ instead of
	// SERIALIZABLE READ ONLY DEFERRABLE: a View then never waits for the
	// read-write transactions in flight, but its snapshot, while never
	// showing part of a transaction, may show one transaction's effect
	// without that of another which the serial order puts first. For
	// deployments whose reads must not wait under a heavy write load, and
	// whose readers never act on what they read outside an Update.
	RepeatableReadViews bool
	// ListenPing is how often the LISTEN connection checks that the
	// database is still there when no notification arrives (default 15s).
	ListenPing time.Duration
	Logger     *slog.Logger
}

// Tables and channel. Changing any is a schema migration.
const (
	kvTable     = "berth_kv"
	schemaTable = "berth_engine_schema"
	pgChannel   = "berth_engine"
)

// Engine is a PostgreSQL database.
type Engine struct {
	pool *pgxpool.Pool
	log  *slog.Logger
	hub  engine.Hub
	id   string // this instance's id in notification payloads

	// closing is cancelled by Close: it interrupts the statements in
	// flight and stops the listener.
	closing context.Context
	close   context.CancelFunc
	closed  sync.Once

	commitTimeout time.Duration
	beginView     string
	// bg tracks the goroutines that end transactions after View or a
	// failed Update returned, and the listener.
	bg sync.WaitGroup
}

var _ engine.Engine = (*Engine)(nil)

// Open connects to the database, creates or migrates the engine's tables,
// and starts listening for other replicas' notifications.
func Open(ctx context.Context, o Options) (*Engine, error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg, err := pgxpool.ParseConfig(o.URL)
	if err != nil {
		// The parse error may quote the URL, password included.
		return nil, errors.New("postgres: the database URL does not parse")
	}
	if o.MaxConns > 0 {
		cfg.MaxConns = o.MaxConns
	} else if !urlSets(o.URL, "pool_max_conns") {
		cfg.MaxConns = 16
	}
	if o.MinConns > 0 {
		cfg.MinConns = o.MinConns
	} else if !urlSets(o.URL, "pool_min_conns") {
		cfg.MinConns = 1
	}
	cfg.MinConns = min(cfg.MinConns, cfg.MaxConns)
	cc := cfg.ConnConfig
	switch {
	case o.ConnectTimeout > 0:
		cc.ConnectTimeout = o.ConnectTimeout
	case cc.ConnectTimeout == 0:
		cc.ConnectTimeout = 5 * time.Second
	}
	params := map[string]string{
		"application_name": "berthd",
		// Serializable transactions lock what their scans read: a
		// sequential scan locks the whole table, so that any concurrent
		// write conflicts with it. The planner picks one on small tables;
		// every query here has the primary key to use instead.
		"enable_seqscan":    "off",
		"enable_bitmapscan": "off",
	}
	params["statement_timeout"] = pgDuration(o.StatementTimeout, 30*time.Second)
	params["idle_in_transaction_session_timeout"] = pgDuration(o.IdleInTransactionTimeout, 60*time.Second)
	for k, v := range params {
		overridden := (k == "statement_timeout" && o.StatementTimeout != 0) ||
			(k == "idle_in_transaction_session_timeout" && o.IdleInTransactionTimeout != 0)
		if _, set := cc.RuntimeParams[k]; !set || overridden {
			cc.RuntimeParams[k] = v
		}
	}
	e := &Engine{log: log}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	e.id = hex.EncodeToString(rnd[:])
	e.commitTimeout = 30 * time.Second
	if o.StatementTimeout > 0 {
		e.commitTimeout = o.StatementTimeout
	}
	e.closing, e.close = context.WithCancel(context.Background())
	e.beginView = beginView
	if o.RepeatableReadViews {
		e.beginView = beginSnapshotView
	}

	// The listener's connection migrates the schema first: it is a plain
	// connection, outside the pool, which the session lock needs.
	lc := cc.Config.Copy()
	lc.OnNotification = e.onNotification
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(e.closing, cancel)
	defer stop()
	conn, err := pgconn.ConnectConfig(ctx, lc)
	if err != nil {
		e.close()
		return nil, mapErr(ctx, err, false)
	}
	if err := migrate(ctx, conn, log); err != nil {
		e.close()
		_ = conn.Close(context.Background())
		return nil, err
	}
	if err := listen(ctx, conn); err != nil {
		e.close()
		_ = conn.Close(context.Background())
		return nil, mapErr(ctx, err, false)
	}
	e.pool, err = pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		e.close()
		_ = conn.Close(context.Background())
		return nil, fmt.Errorf("postgres: %w", err)
	}
	ping := o.ListenPing
	if ping <= 0 {
		ping = 15 * time.Second
	}
	e.bg.Add(1)
	go e.listener(conn, lc, ping)
	return e, nil
}

// urlSets reports whether the connection string sets name: pgxpool's own
// settings are gone from the config it parsed.
func urlSets(connString, name string) bool {
	cfg, err := pgconn.ParseConfig(connString)
	if err != nil {
		return false
	}
	_, ok := cfg.RuntimeParams[name]
	return ok
}

func pgDuration(d, def time.Duration) string {
	switch {
	case d < 0:
		return "0"
	case d == 0:
		d = def
	}
	return strconv.FormatInt(d.Milliseconds(), 10)
}

// Name is "postgres".
func (e *Engine) Name() string { return "postgres" }

// Close stops the listener and closes the pool. Statements in flight fail;
// a COMMIT in flight is waited for.
func (e *Engine) Close() error {
	e.closed.Do(func() {
		e.close()
		e.bg.Wait()
		e.pool.Close()
	})
	return nil
}

func (e *Engine) isClosed() bool { return e.closing.Err() != nil }

var errClosed = fmt.Errorf("%w: the engine is closed", engine.ErrUnavailable)

// Ready pings the database through the pool.
func (e *Engine) Ready(ctx context.Context) error {
	if e.isClosed() {
		return errClosed
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(e.closing, cancel)()
	err := e.pool.Ping(ctx)
	var connectErr *pgconn.ConnectError
	if err != nil && !errors.As(err, &connectErr) && connBroken(err) && ctx.Err() == nil {
		// A connection that broke while idle in the pool: the database may
		// be back already.
		e.pool.Reset()
		err = e.pool.Ping(ctx)
	}
	if err != nil {
		return e.mapErr(ctx, err, false)
	}
	return nil
}

// Subscribe registers a subscriber of channel until ctx ends.
func (e *Engine) Subscribe(ctx context.Context, channel string) (<-chan struct{}, error) {
	if e.isClosed() {
		return nil, errClosed
	}
	return e.hub.Subscribe(ctx, channel)
}

const (
	beginUpdate = "BEGIN ISOLATION LEVEL SERIALIZABLE, READ WRITE"
	beginView   = "BEGIN ISOLATION LEVEL SERIALIZABLE, READ ONLY, DEFERRABLE"
	// beginSnapshotView: see Options.RepeatableReadViews.
	beginSnapshotView = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"
)

// View runs fn in a read-only transaction. The transaction ends after View
// returns: its reads were valid as soon as they were made (a DEFERRABLE
// transaction's, as a REPEATABLE READ one's, cannot fail), so the caller
// need not wait for the COMMIT's round trip.
func (e *Engine) View(ctx context.Context, fn func(engine.Reader) error) error {
	t, err := e.begin(ctx, e.beginView)
	if err != nil {
		return err
	}
	defer t.done()
	err = fn(t)
	if err == nil {
		err = t.err
	}
	t.endAsync(true)
	return err
}

// Update runs fn in a serializable read-write transaction and commits it.
func (e *Engine) Update(ctx context.Context, fn func(engine.Txn) error) error {
	t, err := e.begin(ctx, beginUpdate)
	if err != nil {
		return err
	}
	defer t.done()
	if err := fn(t); err != nil {
		t.endAsync(false)
		return err
	}
	if t.err != nil {
		t.endAsync(false)
		return t.err
	}
	if err := t.commit(); err != nil {
		if errors.Is(err, engine.ErrUnknownOutcome) {
			// It may have committed, and the listener skips this engine's
			// own notifications: a spurious wake-up is harmless, a missed
			// one is not.
			e.hub.Publish(t.notify...)
		}
		return err
	}
	for _, f := range t.onCommit {
		f()
	}
	e.hub.Publish(t.notify...)
	return nil
}

func (e *Engine) begin(ctx context.Context, begin string) (*txn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if e.isClosed() {
		return nil, errClosed
	}
	t := &txn{e: e, begin: begin}
	t.ctx, t.cancel = context.WithCancel(ctx)
	t.stopClosing = context.AfterFunc(e.closing, t.cancel)
	conn, err := e.pool.Acquire(t.ctx)
	if err != nil {
		err = e.mapErr(t.ctx, err, false)
		t.done()
		return nil, err
	}
	t.conn = conn
	return t, nil
}

// onNotification runs on the listener's connection, for every
// notification it receives.
func (e *Engine) onNotification(_ *pgconn.PgConn, n *pgconn.Notification) {
	if n.Channel != pgChannel {
		return
	}
	id, channel, ok := cut(n.Payload)
	if !ok || id == e.id || engine.CheckChannel(channel) != nil {
		return
	}
	e.hub.Publish(channel)
}

func cut(payload string) (id, channel string, ok bool) {
	for i := 0; i < len(payload); i++ {
		if payload[i] == ' ' {
			return payload[:i], payload[i+1:], true
		}
	}
	return "", "", false
}

// mapErr maps err and, when the connection broke, drops the pool's idle
// connections: a broken connection usually means a restarted or
// unreachable database, and they are broken too.
func (e *Engine) mapErr(ctx context.Context, err error, commit bool) error {
	m := mapErr(ctx, err, commit)
	if e.isClosed() && !errors.Is(m, engine.ErrUnknownOutcome) && !errors.Is(m, engine.ErrConflict) {
		return errClosed
	}
	if connBroken(err) && (errors.Is(m, engine.ErrUnavailable) || errors.Is(m, engine.ErrUnknownOutcome)) {
		e.pool.Reset()
	}
	return m
}
