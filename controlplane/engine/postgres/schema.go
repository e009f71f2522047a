package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// migrations[v] takes the engine's schema from version v-1 to v. Each runs
// in one transaction with the row that records it. Append only.
//
// The fillfactor leaves room in each heap page so that rewriting a value
// can stay on its page without a new index entry (a HOT update): records
// are rewritten far more often than keys are added.
var migrations = []string{
	1: `CREATE TABLE ` + kvTable + ` (k bytea PRIMARY KEY, v bytea NOT NULL) WITH (fillfactor = 80)`,
}

// SchemaVersion is the engine schema this code creates and understands.
var SchemaVersion = len(migrations) - 1

// ErrSchemaTooNew: the database was migrated by a newer berthd.
var ErrSchemaTooNew = errors.New("postgres: the database's engine schema is newer than this berthd understands: run a berthd at least as new as the one that migrated it")

// schemaLock is the key of the session advisory lock that serializes
// migrations (the bytes of "berthsch"). Advisory locks are per database.
const schemaLock = 0x6265727468736368

// testHookLocked runs while Open holds the schema lock.
var testHookLocked func()

// migrate brings the engine's tables to SchemaVersion, holding the schema
// lock on conn, a connection of its own.
func migrate(ctx context.Context, conn *pgconn.PgConn, log *slog.Logger) error {
	exec := func(sql string) ([]*pgconn.Result, error) { return conn.Exec(ctx, sql).ReadAll() }
	if _, err := exec("SELECT pg_advisory_lock(" + strconv.FormatInt(schemaLock, 10) + ")"); err != nil {
		return fmt.Errorf("postgres: take the schema lock: %w", mapErr(ctx, err, false))
	}
	err := migrateLocked(exec, log)
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	// Unlocking on the connection the caller keeps (for LISTEN) matters:
	// a lock left behind would block every other replica's Open.
	if _, uerr := conn.Exec(uctx, "SELECT pg_advisory_unlock("+strconv.FormatInt(schemaLock, 10)+")").ReadAll(); uerr != nil && err == nil {
		err = fmt.Errorf("postgres: release the schema lock: %w", mapErr(uctx, uerr, false))
	}
	return err
}

func migrateLocked(exec func(string) ([]*pgconn.Result, error), log *slog.Logger) error {
	if testHookLocked != nil {
		testHookLocked()
	}
	_, err := exec(`CREATE TABLE IF NOT EXISTS ` + schemaTable + ` (
		version integer PRIMARY KEY,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`)
	if err != nil {
		return fmt.Errorf("postgres: create %s: %w", schemaTable, mapErr(context.Background(), err, false))
	}
	res, err := exec(`SELECT coalesce(max(version), 0) FROM ` + schemaTable)
	if err != nil {
		return fmt.Errorf("postgres: read the engine schema version: %w", mapErr(context.Background(), err, false))
	}
	current, err := strconv.Atoi(string(res[0].Rows[0][0]))
	if err != nil {
		return fmt.Errorf("postgres: the engine schema version does not parse")
	}
	if current > SchemaVersion {
		return fmt.Errorf("%w (database: version %d; this berthd: version %d)", ErrSchemaTooNew, current, SchemaVersion)
	}
	for v := current + 1; v <= SchemaVersion; v++ {
		// One simple query of several statements is one transaction.
		_, err := exec(migrations[v] + `; INSERT INTO ` + schemaTable + ` (version) VALUES (` + strconv.Itoa(v) + `)`)
		if err != nil {
			return fmt.Errorf("postgres: migrate the engine schema to version %d: %w", v, mapErr(context.Background(), err, false))
		}
		log.Info("migrated the engine schema", "version", v)
	}
	return nil
}
