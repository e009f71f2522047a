package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

func listen(ctx context.Context, conn *pgconn.PgConn) error {
	_, err := conn.Exec(ctx, "LISTEN "+pgChannel).ReadAll()
	return err
}

// listener owns the LISTEN connection: it waits for notifications (which
// onNotification publishes), checks now and then that the connection
// still works, and replaces it when it broke, waking every subscriber
// then since notifications may have been lost meanwhile.
func (e *Engine) listener(conn *pgconn.PgConn, cfg *pgconn.Config, ping time.Duration) {
	defer e.bg.Done()
	for {
		err := e.waitNotifications(conn, ping)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = conn.Close(ctx)
		cancel()
		if e.isClosed() {
			return
		}
		e.log.Warn("postgres: the LISTEN connection broke; reconnecting", "err", err)
		if conn = e.relisten(cfg); conn == nil {
			return
		}
		e.log.Info("postgres: listening again")
		e.hub.PublishAll()
	}
}

func (e *Engine) waitNotifications(conn *pgconn.PgConn, ping time.Duration) error {
	for {
		ctx, cancel := context.WithTimeout(e.closing, ping)
		err := conn.WaitForNotification(ctx)
		cancel()
		switch {
		case err == nil:
			continue
		case e.isClosed():
			return err
		case !errors.Is(err, context.DeadlineExceeded) && !pgconn.Timeout(err):
			return err
		}
		// A quiet connection: a read alone would not notice a database
		// that went away without closing it.
		ctx, cancel = context.WithTimeout(e.closing, ping)
		err = conn.Ping(ctx)
		cancel()
		if err != nil {
			return err
		}
	}
}

// relisten connects and LISTENs again, backing off, until it succeeds or
// the engine is closed (nil).
func (e *Engine) relisten(cfg *pgconn.Config) *pgconn.PgConn {
	delay := 50 * time.Millisecond
	for {
		conn, err := pgconn.ConnectConfig(e.closing, cfg)
		if err == nil {
			if err = listen(e.closing, conn); err == nil {
				return conn
			}
			_ = conn.Close(context.Background())
		}
		e.log.Debug("postgres: LISTEN connection", "err", err)
		select {
		case <-e.closing.Done():
			return nil
		case <-time.After(delay):
		}
		delay = min(2*delay, 2*time.Second)
	}
}
