package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/berthdev/terraform-provider-berth/controlplane/engine"
)

const (
	qGet    = "SELECT v FROM " + kvTable + " WHERE k = $1"
	qPut    = "INSERT INTO " + kvTable + " (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = excluded.v"
	qDelete = "DELETE FROM " + kvTable + " WHERE k = $1"
	qNotify = "SELECT pg_notify('" + pgChannel + "', $1)"
	qCommit = "COMMIT"
)

// scanQueries[reverse][bounded][keysOnly]: $1 start, $2 end when bounded,
// then the row limit.
var scanQueries = func() (q [2][2][2]string) {
	for r := range 2 {
		for b := range 2 {
			for ko := range 2 {
				cols, where, order, limit := "k, v", "k >= $1", "k", "$2"
				if ko == 1 {
					cols = "k"
				}
				if b == 1 {
					where, limit = "k >= $1 AND k < $2", "$3"
				}
				if r == 1 {
					order = "k DESC"
				}
				q[r][b][ko] = "SELECT " + cols + " FROM " + kvTable + " WHERE " + where + " ORDER BY " + order + " LIMIT " + limit
			}
		}
	}
	return q
}()

// A scan reads its range a page at a time, each page a query that goes on
// from where the last stopped, so that neither side holds a large range
// in memory. Pages grow: most scans want a few keys.
const (
	firstPage = 64
	maxPage   = 1024
)

// Writes wait to go with the next statement that needs an answer, up to
// these bounds.
const (
	maxPending      = 256
	maxPendingBytes = 4 << 20
)

type stmt struct {
	sql  string
	args []any
}

type txn struct {
	e           *Engine
	ctx         context.Context
	cancel      context.CancelFunc
	stopClosing func() bool
	conn        *pgxpool.Conn
	begin       string
	started     bool // BEGIN was sent

	pending      []stmt
	pendingBytes int
	// err is the first error of a statement: the transaction is aborted,
	// and every later call returns it.
	err error
	// page is the scan page whose rows are being read, if any: another
	// statement must first read its rest into memory.
	page *page

	onCommit []func()
	notify   []string
}

var _ engine.Txn = (*txn)(nil)

// send sends what is pending (after BEGIN if the transaction has not
// started) and then last, in one round trip, and returns the results
// positioned at last's. commit tells that last is COMMIT.
func (t *txn) send(ctx context.Context, last stmt, commit bool) (pgx.BatchResults, error) {
	if t.err != nil {
		return nil, t.err
	}
	if t.page != nil {
		t.page.drain()
		err := t.page.err
		t.page = nil
		if err != nil {
			return nil, t.fail(err, false)
		}
	}
	first := !t.started
	t.started = true
	stmts := make([]stmt, 0, len(t.pending)+2)
	if first {
		stmts = append(stmts, stmt{sql: t.begin})
	}
	stmts = append(append(stmts, t.pending...), last)
	clear(t.pending)
	t.pending, t.pendingBytes = t.pending[:0], 0
	for attempt := 0; ; attempt++ {
		// A batch is sent once: pgx keeps the connection's prepared
		// statements in it.
		b := &pgx.Batch{QueuedQueries: make([]*pgx.QueuedQuery, 0, len(stmts))}
		for _, s := range stmts {
			b.Queue(s.sql, s.args...)
		}
		br := t.conn.SendBatch(ctx, b)
		var err error
		for range len(b.QueuedQueries) - 1 {
			if _, err = br.Exec(); err != nil {
				break
			}
		}
		if err == nil {
			return br, nil
		}
		_ = br.Close()
		// A pooled connection that broke while idle (the database
		// restarted) fails the transaction's first round trip, which
		// cannot have committed anything and whose answers fn has not
		// seen: run it again, once, on a new connection.
		if first && !commit && attempt == 0 && t.conn.Conn().IsClosed() && connBroken(err) && ctx.Err() == nil {
			t.e.pool.Reset()
			t.conn.Release()
			if t.conn, err = t.e.pool.Acquire(ctx); err == nil {
				continue
			}
			t.conn = nil
		}
		return nil, t.fail(err, commit)
	}
}

// fail records the first error of the transaction.
func (t *txn) fail(err error, commit bool) error {
	if t.err == nil {
		t.err = t.e.mapErr(t.ctx, err, commit)
	}
	return t.err
}

// queue adds a write to the pending statements, sending them if they are
// many or large.
func (t *txn) queue(s stmt, size int) error {
	if t.err != nil {
		return t.err
	}
	t.pending = append(t.pending, s)
	t.pendingBytes += size
	if len(t.pending) < maxPending && t.pendingBytes < maxPendingBytes {
		return nil
	}
	return t.flush()
}

// flush sends the pending statements, of which there must be one at least.
func (t *txn) flush() error {
	last := t.pending[len(t.pending)-1]
	t.pending = t.pending[:len(t.pending)-1]
	br, err := t.send(t.ctx, last, false)
	if err != nil {
		return err
	}
	_, err = br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return t.fail(err, false)
	}
	return nil
}

func (t *txn) Get(key []byte) ([]byte, error) {
	br, err := t.send(t.ctx, stmt{qGet, []any{key}}, false)
	if err != nil {
		return nil, err
	}
	var v []byte
	found := false
	rows, _ := br.Query()
	for rows.Next() {
		raw := rows.RawValues()[0]
		v, found = make([]byte, len(raw)), true
		copy(v, raw)
	}
	rows.Close()
	err = rows.Err()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, t.fail(err, false)
	}
	if !found {
		return nil, engine.ErrNotFound
	}
	return v, nil
}

// Scan reads r a page at a time. Keys fn writes or deletes ahead of the
// scan, in the range still to read, may show in the pages that follow (a
// Badger iterator does not see them): fn should not count on either.
func (t *txn) Scan(r engine.Range, fn func(key, value []byte) error) error {
	if t.err != nil {
		return t.err
	}
	start, end := r.Start, r.End
	if start == nil {
		start = []byte{}
	}
	if end != nil && bytes.Compare(start, end) >= 0 {
		return nil
	}
	ko := 0
	if r.KeysOnly {
		ko = 1
	}
	rev := 0
	if r.Reverse {
		rev = 1
	}
	remaining, size := r.Limit, firstPage
	var kbuf, vbuf []byte
	for {
		n := size
		if remaining > 0 {
			n = min(n, remaining)
		}
		var s stmt
		if end == nil {
			s = stmt{scanQueries[rev][0][ko], []any{start, n}}
		} else {
			s = stmt{scanQueries[rev][1][ko], []any{start, end, n}}
		}
		br, err := t.send(t.ctx, s, false)
		if err != nil {
			return err
		}
		rows, _ := br.Query()
		p := &page{br: br, rows: rows, keysOnly: r.KeysOnly}
		t.page = p
		got := 0
		var last []byte
		for {
			k, v, ok := p.next(&kbuf, &vbuf)
			if !ok {
				break
			}
			got++
			last = k
			if err := fn(k, v); err != nil {
				p.close()
				if t.page == p {
					t.page = nil
				}
				if p.err != nil {
					return t.fail(p.err, false)
				}
				if errors.Is(err, engine.ErrStop) {
					return nil
				}
				return err
			}
		}
		if t.page == p {
			t.page = nil
		}
		if p.err != nil {
			return t.fail(p.err, false)
		}
		if got < n {
			return nil
		}
		if remaining > 0 {
			if remaining -= got; remaining == 0 {
				return nil
			}
		}
		if r.Reverse {
			end = bytes.Clone(last)
		} else {
			// The first key after last.
			start = append(bytes.Clone(last), 0)
		}
		size = min(size*4, maxPage)
	}
}

// page is the rows of one scan query.
type page struct {
	br       pgx.BatchResults
	rows     pgx.Rows // nil once read to the end
	keysOnly bool
	buf      [][]byte // what drain read: key, value, key, value...
	i        int
	err      error
}

// next returns the next row. Rows read from the connection are copied
// into *kbuf and *vbuf, which stay valid while fn runs even if fn's own
// statements make the page read its rest.
func (p *page) next(kbuf, vbuf *[]byte) (k, v []byte, ok bool) {
	if p.rows != nil {
		if p.rows.Next() {
			raw := p.rows.RawValues()
			*kbuf = append((*kbuf)[:0], raw[0]...)
			if p.keysOnly {
				return *kbuf, nil, true
			}
			*vbuf = append((*vbuf)[:0], raw[1]...)
			return *kbuf, *vbuf, true
		}
		p.close()
	}
	if p.i+1 < len(p.buf) {
		k, v = p.buf[p.i], p.buf[p.i+1]
		p.i += 2
		return k, v, true
	}
	return nil, nil, false
}

// drain reads the rest of the page into memory, freeing the connection.
func (p *page) drain() {
	if p.rows == nil {
		return
	}
	for p.rows.Next() {
		raw := p.rows.RawValues()
		k := bytes.Clone(raw[0])
		var v []byte
		if !p.keysOnly {
			v = append([]byte{}, raw[1]...)
		}
		p.buf = append(p.buf, k, v)
	}
	p.close()
}

// close reads the rest of the page and ends its batch.
func (p *page) close() {
	if p.rows == nil {
		return
	}
	p.rows.Close()
	err := p.rows.Err()
	if cerr := p.br.Close(); err == nil {
		err = cerr
	}
	p.rows, p.err = nil, err
}

func checkKV(key, value []byte) error {
	if len(key) == 0 || len(key) > engine.MaxKeySize {
		return fmt.Errorf("%w: key of %d bytes (1 to %d)", engine.ErrTooLarge, len(key), engine.MaxKeySize)
	}
	if len(value) > engine.MaxValueSize {
		return fmt.Errorf("%w: value of %d bytes (at most %d)", engine.ErrTooLarge, len(value), engine.MaxValueSize)
	}
	return nil
}

func (t *txn) Put(key, value []byte) error {
	if err := checkKV(key, value); err != nil {
		return err
	}
	// Copies: the statement is sent later, and the caller owns its slices.
	// A nil value would be sent as NULL.
	k, v := bytes.Clone(key), append([]byte{}, value...)
	return t.queue(stmt{qPut, []any{k, v}}, len(k)+len(v))
}

func (t *txn) Delete(key []byte) error {
	if len(key) == 0 || len(key) > engine.MaxKeySize {
		return nil // no such key can exist
	}
	k := bytes.Clone(key)
	return t.queue(stmt{qDelete, []any{k}}, len(k))
}

func (t *txn) OnCommit(f func()) { t.onCommit = append(t.onCommit, f) }

func (t *txn) Notify(channel string) {
	if engine.CheckChannel(channel) != nil {
		return
	}
	for _, c := range t.notify {
		if c == channel {
			return
		}
	}
	t.notify = append(t.notify, channel)
	_ = t.queue(stmt{qNotify, []any{t.e.id + " " + channel}}, len(channel))
}

// commit sends what is pending with COMMIT. Its context is not the
// caller's: a caller that gives up must not turn a commit into one of
// unknown outcome.
func (t *txn) commit() error {
	if !t.started && len(t.pending) == 0 {
		t.release()
		return nil // fn touched nothing
	}
	if !t.started {
		// A COMMIT goes only on a connection that has answered in this
		// transaction: one that broke while idle in the pool (a restarted
		// database) then fails a first round trip that holds no COMMIT,
		// which send runs again on a new connection, instead of leaving
		// the commit's outcome unknown.
		if err := t.flush(); err != nil {
			t.endAsync(false)
			return err
		}
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(t.ctx), t.e.commitTimeout)
	defer cancel()
	br, err := t.send(ctx, stmt{sql: qCommit}, true)
	if err == nil {
		var tag string
		ct, xerr := br.Exec()
		tag = ct.String()
		err = br.Close()
		if xerr != nil {
			err = xerr
		}
		if err != nil {
			err = t.fail(err, true)
		} else if tag != "COMMIT" {
			// PostgreSQL answers a COMMIT of an aborted transaction with
			// ROLLBACK; an earlier statement would have failed first.
			err = fmt.Errorf("postgres: the transaction was rolled back (%s)", tag)
		}
	}
	if err != nil {
		t.endAsync(false)
		return err
	}
	t.release()
	return nil
}

// endAsync ends the transaction (COMMIT for a View, ROLLBACK otherwise) and
// returns the connection to the pool after the caller went on.
func (t *txn) endAsync(commit bool) {
	t.stopClosing()
	if t.page != nil {
		t.page.close()
		t.page = nil
	}
	if t.conn == nil || !t.started || t.conn.Conn().IsClosed() || t.e.isClosed() {
		t.end(commit)
		return
	}
	t.e.bg.Add(1)
	go func() {
		defer t.e.bg.Done()
		t.end(commit)
	}()
}

// end ends the transaction on the server if it is still open, and
// releases the connection (the pool drops it if it is broken or still in
// a transaction).
func (t *txn) end(commit bool) {
	if t.conn == nil {
		return
	}
	c := t.conn.Conn()
	if !c.IsClosed() && c.PgConn().TxStatus() != 'I' {
		sql := "ROLLBACK"
		if commit {
			sql = qCommit
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := c.Exec(ctx, sql)
		cancel()
		if err != nil {
			t.e.log.Debug("end a transaction", "err", err)
		}
	}
	t.release()
}

func (t *txn) done() {
	t.stopClosing()
	t.cancel()
}

func (t *txn) release() {
	if t.conn != nil {
		t.conn.Release()
		t.conn = nil
	}
}
