package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite" // registers the pure-Go "sqlite" database/sql driver
)

// sqliteParams configure every connection: wait up to 5 s for a lock instead
// of failing with SQLITE_BUSY, write-ahead logging so readers never block the
// writer, and transactions that take the write lock up front (no deadlocking
// read-to-write upgrades).
const sqliteParams = "?_pragma=busy_timeout(5000)" +
	"&_pragma=journal_mode(WAL)" +
	"&_pragma=synchronous(NORMAL)" +
	"&_pragma=foreign_keys(1)" +
	"&_txlock=immediate"

// OpenSQLite opens (creating when missing) the SQLite database at path and
// applies pending migrations. The file and its parent directory are created
// with modes 0600 and 0700, and an existing file readable by others is
// tightened to 0600, because it holds secrets. SQLite creates its -wal and
// -shm files with the database file's mode.
func OpenSQLite(ctx context.Context, path string) (*SQL, error) {
	if path == "" || strings.Contains(path, "?") {
		return nil, fmt.Errorf("store: invalid sqlite path %q", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if err := ensurePrivateFile(path); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	db, err := sql.Open("sqlite", path+sqliteParams)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	// No lock: SQLite's own file locking serializes the migrations'
	// transactions.
	if err := migrate(ctx, db, migration{dialect: goose.DialectSQLite3, dir: "migrations/sqlite"}); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: migrate %s: %w", path, err)
	}
	return &SQL{db: db, d: sqliteDialect}, nil
}

func ensurePrivateFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err == nil && st.Mode().Perm()&0o077 != 0 {
		err = f.Chmod(0o600)
	}
	return errors.Join(err, f.Close())
}

// sqliteErrKind classifies modernc.org/sqlite's errors by their extended
// result codes.
func sqliteErrKind(err error) errKind {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return errOther
	}
	switch e.Code() {
	case 1555, 2067: // SQLITE_CONSTRAINT_PRIMARYKEY, SQLITE_CONSTRAINT_UNIQUE
		return errUnique
	case 787: // SQLITE_CONSTRAINT_FOREIGNKEY
		return errForeignKey
	}
	if e.Code()&0xff == 5 { // SQLITE_BUSY and its extended codes
		return errRetry
	}
	return errOther
}
