package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations
var migrations embed.FS

// Drivers lists the store drivers Open accepts.
var Drivers = []string{"sqlite", "postgres", "mysql"}

// Options open a store (OpenWith). The pool and timeout settings apply to
// PostgreSQL and MySQL; SQLite, an embedded file, ignores them. Zero values
// take the defaults below.
type Options struct {
	// Driver is "sqlite", "postgres" or "mysql".
	Driver string
	// DSN is a file path for sqlite, a PostgreSQL connection URL or
	// keyword/value string for postgres, a go-sql-driver DSN for mysql.
	DSN string
	// MaxOpenConns bounds the connections to the database (default
	// DefaultMaxOpenConns); at least 2.
	MaxOpenConns int
	// MaxIdleConns bounds the idle connections kept open (default
	// DefaultMaxIdleConns); no more than MaxOpenConns, negative for none.
	MaxIdleConns int
	// ConnMaxLifetime closes connections older than this (default
	// DefaultConnMaxLifetime); negative means never.
	ConnMaxLifetime time.Duration
	// ConnMaxIdleTime closes connections idle this long (default
	// DefaultConnMaxIdleTime); negative means never.
	ConnMaxIdleTime time.Duration
	// ConnectTimeout bounds establishing one connection, unless the DSN
	// sets it (default DefaultConnectTimeout).
	ConnectTimeout time.Duration
	// StatementTimeout bounds one statement, including waiting for a row
	// lock, unless the DSN sets it (default DefaultStatementTimeout);
	// negative means none.
	StatementTimeout time.Duration
}

// Defaults of Options, chosen for small managed databases: Amazon RDS's
// smallest instances allow 60 to 80 connections, shared by every server.
const (
	DefaultMaxOpenConns     = 10
	DefaultMaxIdleConns     = 5
	DefaultConnMaxLifetime  = 30 * time.Minute
	DefaultConnMaxIdleTime  = 5 * time.Minute
	DefaultConnectTimeout   = 5 * time.Second
	DefaultStatementTimeout = 30 * time.Second
)

// withDefaults fills the zero fields.
func (o Options) withDefaults() Options {
	set := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	if o.MaxOpenConns == 0 {
		o.MaxOpenConns = DefaultMaxOpenConns
	}
	if o.MaxIdleConns == 0 {
		o.MaxIdleConns = min(DefaultMaxIdleConns, o.MaxOpenConns)
	}
	set(&o.ConnMaxLifetime, DefaultConnMaxLifetime)
	set(&o.ConnMaxIdleTime, DefaultConnMaxIdleTime)
	set(&o.ConnectTimeout, DefaultConnectTimeout)
	set(&o.StatementTimeout, DefaultStatementTimeout)
	return o
}

// configurePool applies o's pool settings to db.
func (o Options) configurePool(db *sql.DB) {
	db.SetMaxOpenConns(o.MaxOpenConns)
	db.SetMaxIdleConns(o.MaxIdleConns)
	db.SetConnMaxLifetime(max(o.ConnMaxLifetime, 0))
	db.SetConnMaxIdleTime(max(o.ConnMaxIdleTime, 0))
}

func (o Options) validate() error {
	switch {
	case o.MaxOpenConns < 2:
		// Migrations hold one connection for their lock and use another.
		return fmt.Errorf("store: max open connections %d is below 2", o.MaxOpenConns)
	case o.MaxIdleConns > o.MaxOpenConns:
		return fmt.Errorf("store: max idle connections %d exceed max open connections %d", o.MaxIdleConns, o.MaxOpenConns)
	case o.ConnectTimeout < 0:
		return fmt.Errorf("store: connect timeout %v is negative", o.ConnectTimeout)
	}
	return nil
}

// Open opens the store for a configured driver and DSN with the default
// Options and migrates it.
func Open(ctx context.Context, driver, dsn string) (*SQL, error) {
	return OpenWith(ctx, Options{Driver: driver, DSN: dsn})
}

// OpenWith opens the store o describes and applies pending migrations under
// a database lock, so that servers starting together do not race. It
// refuses a database whose schema is newer than this build knows. Errors
// never contain the DSN, which may hold a password.
func OpenWith(ctx context.Context, o Options) (*SQL, error) {
	switch o.Driver {
	case "sqlite":
		return OpenSQLite(ctx, o.DSN)
	case "postgres":
		return openPostgres(ctx, o.withDefaults())
	case "mysql":
		return openMySQL(ctx, o.withDefaults())
	default:
		return nil, fmt.Errorf("store: unsupported driver %q", o.Driver)
	}
}

// migration says how to migrate one dialect.
type migration struct {
	dialect goose.Dialect
	// dir holds the dialect's migrations inside the migrations FS.
	dir string
	// locker, when set, holds a database lock while migrating.
	locker lock.SessionLocker
}

// ErrSchemaTooNew means the database was migrated by a newer lakegate.
var ErrSchemaTooNew = errors.New("store: the database schema is newer than this lakegate knows")

// migrate applies the embedded goose migrations of m to db, refusing a
// database whose schema is newer than they are.
func migrate(ctx context.Context, db *sql.DB, m migration) error {
	fsys, err := fs.Sub(migrations, m.dir)
	if err != nil {
		return err
	}
	var opts []goose.ProviderOption
	if m.locker != nil {
		opts = append(opts, goose.WithSessionLocker(m.locker))
	}
	p, err := goose.NewProvider(m.dialect, db, fsys, opts...)
	if err != nil {
		return err
	}
	sources := p.ListSources()
	known := int64(0)
	if len(sources) > 0 {
		known = sources[len(sources)-1].Version
	}
	// Before migrating, and after: a newer server may migrate between the
	// two, and what counts is the schema this one is about to serve.
	check := func() error {
		v, err := p.GetDBVersion(ctx)
		if err != nil {
			return err
		}
		if v > known {
			return fmt.Errorf("%w: it is at version %d, this lakegate knows versions up to %d; upgrade lakegate",
				ErrSchemaTooNew, v, known)
		}
		return nil
	}
	if err := check(); err != nil {
		return err
	}
	if _, err := p.Up(ctx); err != nil {
		return err
	}
	return check()
}
