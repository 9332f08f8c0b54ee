package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" database/sql driver
)

//go:embed migrations
var migrations embed.FS

// sqliteParams configure every connection: wait up to 5 s for a lock instead
// of failing with SQLITE_BUSY, write-ahead logging so readers never block the
// writer, and transactions that take the write lock up front (no deadlocking
// read-to-write upgrades).
const sqliteParams = "?_pragma=busy_timeout(5000)" +
	"&_pragma=journal_mode(WAL)" +
	"&_pragma=synchronous(NORMAL)" +
	"&_pragma=foreign_keys(1)" +
	"&_txlock=immediate"

// Open opens the store for a configured driver and DSN and migrates it.
func Open(ctx context.Context, driver, dsn string) (*SQL, error) {
	switch driver {
	case "sqlite":
		return OpenSQLite(ctx, dsn)
	default:
		return nil, fmt.Errorf("store: unsupported driver %q", driver)
	}
}

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
	if err := migrate(ctx, db, goose.DialectSQLite3, "migrations/sqlite"); err != nil {
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

// migrate applies the embedded goose migrations in dir to db.
func migrate(ctx context.Context, db *sql.DB, d goose.Dialect, dir string) error {
	sub, err := fs.Sub(migrations, dir)
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(d, db, sub)
	if err != nil {
		return err
	}
	_, err = p.Up(ctx)
	return err
}
