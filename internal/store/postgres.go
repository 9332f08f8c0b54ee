package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// PostgreSQL 13 and later, through pgx's database/sql driver. The SQL is
// SQLite's (both have ON CONFLICT) with $n placeholders.

var postgresDialect = dialect{
	name:               "postgres",
	dollarPlaceholders: true,
	createAccessKey:    sqliteDialect.createAccessKey,
	putAccessKey:       sqliteDialect.putAccessKey,
	createRole:         sqliteDialect.createRole,
	grantRoleToGroup:   sqliteDialect.grantRoleToGroup,
	// The unique key of grants is the hash of the seven fields
	// (migrations/postgres/00006).
	addGrant: `INSERT INTO grants (` + grantColumns + `)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (grant_key) DO NOTHING`,
	createUser:   sqliteDialect.createUser,
	createToken:  sqliteDialect.createToken,
	ensureSecret: sqliteDialect.ensureSecret,
	// One snapshot for the whole transaction; READ COMMITTED, the default,
	// takes one per statement.
	readTx: sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead},
	// Whatever the database's default_transaction_isolation says.
	writeTx: &sql.TxOptions{Isolation: sql.LevelReadCommitted},
	errKind: postgresErrKind,
}

// postgresLockID names the advisory lock held while migrating; any constant
// does that differs from goose's default (which other applications on the
// same database may use).
const postgresLockID = 0x1b6d3c4a2f5e7091

// openPostgres opens a PostgreSQL store. o has its defaults.
func openPostgres(ctx context.Context, o Options) (*SQL, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	cfg, err := pgx.ParseConfig(o.DSN)
	if err != nil {
		// pgx's message quotes the DSN with the password masked only as
		// far as it can tell where the password is: say nothing of it.
		return nil, errors.New("store: postgres: store.dsn is neither a postgres:// URL nor a keyword=value string that parses")
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = o.ConnectTimeout
	}
	if _, set := cfg.RuntimeParams["statement_timeout"]; !set && o.StatementTimeout > 0 {
		cfg.RuntimeParams["statement_timeout"] = strconv.FormatInt(o.StatementTimeout.Milliseconds(), 10)
	}
	if _, set := cfg.RuntimeParams["application_name"]; !set {
		cfg.RuntimeParams["application_name"] = "lakegate"
	}
	db := stdlib.OpenDB(*cfg)
	o.configurePool(db)
	where := fmt.Sprintf("database %s on %s", cfg.Database, cfg.Host)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: postgres: connect to %s: %w", where, err)
	}
	// A session advisory lock, tried once a second for five minutes: a
	// second server starting at once waits for the first to migrate.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(postgresLockID), lock.WithLockTimeout(1, 300))
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: postgres: %w", err)
	}
	m := migration{dialect: goose.DialectPostgres, dir: "migrations/postgres", locker: locker}
	if err := migrate(ctx, db, m); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: postgres: migrate %s: %w", where, err)
	}
	return &SQL{db: db, d: postgresDialect}, nil
}

// postgresErrKind classifies errors by SQLSTATE.
func postgresErrKind(err error) errKind {
	var e *pgconn.PgError
	if !errors.As(err, &e) {
		return errOther
	}
	switch e.Code {
	case "23505": // unique_violation
		return errUnique
	case "23503": // foreign_key_violation
		return errForeignKey
	case "40001", "40P01": // serialization_failure, deadlock_detected
		return errRetry
	}
	return errOther
}
