package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/berthdev/terraform-provider-berth/controlplane/engine"
)

// mapErr turns an error of pgx into the engine's. commit tells that the
// failed exchange carried a COMMIT: unless PostgreSQL answered with an
// error, the transaction may then have committed.
func mapErr(ctx context.Context, err error, commit bool) error {
	if err == nil {
		return nil
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return mapPgErr(ctx, pgErr, commit)
	}
	if commit && !pgconn.SafeToRetry(err) {
		return fmt.Errorf("%w: the connection failed during COMMIT: %v", engine.ErrUnknownOutcome, err)
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("postgres: %w", ctxErr)
	}
	// What is left is the network or the connection: a refused or broken
	// connection, a connect timeout, a TLS or authentication failure.
	return fmt.Errorf("%w: %v", engine.ErrUnavailable, err)
}

func mapPgErr(ctx context.Context, e *pgconn.PgError, commit bool) error {
	sev := e.SeverityUnlocalized
	if sev == "" {
		sev = e.Severity
	}
	// FATAL and PANIC end the session: the server did not say how the
	// transaction ended.
	fatal := sev == "FATAL" || sev == "PANIC"
	code := e.Code
	switch {
	case code == "40001" || code == "40P01":
		return fmt.Errorf("%w: %s (SQLSTATE %s)", engine.ErrConflict, e.Message, code)
	case fatal && commit:
		return fmt.Errorf("%w: the session ended during COMMIT: %s (SQLSTATE %s)", engine.ErrUnknownOutcome, e.Message, code)
	case code == "57014": // query_canceled
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("postgres: %w", ctxErr)
		}
		return fmt.Errorf("%w: the statement timed out (SQLSTATE %s)", engine.ErrUnavailable, code)
	case strings.HasPrefix(code, "08"), // connection exception
		code == "57P01", code == "57P02", code == "57P03", // shutdown, crash, starting up
		code == "57P05",                  // idle session timeout
		code == "25P03",                  // idle in transaction timeout
		code == "53300", code == "53400", // too many connections, configuration limit
		code == "25006": // read-only transaction: a standby
		return fmt.Errorf("%w: %s (SQLSTATE %s)", engine.ErrUnavailable, e.Message, code)
	case fatal:
		return fmt.Errorf("%w: %s (SQLSTATE %s)", engine.ErrUnavailable, e.Message, code)
	}
	return fmt.Errorf("postgres: %s (SQLSTATE %s)", safeMessage(e), code)
}

// safeMessage is the server's message unless it may quote a value: the
// messages of data exceptions (class 22) and integrity violations (23) can,
// so they are reduced to their code. Detail, which quotes rows, is never
// used.
func safeMessage(e *pgconn.PgError) string {
	if strings.HasPrefix(e.Code, "22") || strings.HasPrefix(e.Code, "23") {
		return "the statement was refused"
	}
	return e.Message
}

// connBroken reports whether err means the connection no longer works,
// as opposed to a statement that failed on a working one.
func connBroken(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		sev := pgErr.SeverityUnlocalized
		if sev == "" {
			sev = pgErr.Severity
		}
		return sev == "FATAL" || sev == "PANIC"
	}
	return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}
