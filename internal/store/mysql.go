package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/pressly/goose/v3"
)

// MySQL 5.7 and 8.0 and MariaDB 10.6 and later, through go-sql-driver/mysql.
// "Insert unless it exists" is INSERT … ON DUPLICATE KEY UPDATE with a
// no-op assignment, which affects zero rows for an existing row as long as
// the connection does not ask for found rows (openMySQL makes sure).
// INSERT IGNORE would do too much: it turns every error into a warning,
// a foreign key violation or a value too long included.

var mysqlDialect = dialect{
	name: "mysql",
	createAccessKey: `INSERT INTO access_keys
		(access_key_id, secret_access_key, user_name, session_token, created_at, expires_at, session_groups)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON DUPLICATE KEY UPDATE access_key_id = access_key_id`,
	putAccessKey: `INSERT INTO access_keys
		(access_key_id, secret_access_key, user_name, session_token, created_at, expires_at, session_groups)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON DUPLICATE KEY UPDATE
			secret_access_key = VALUES(secret_access_key),
			user_name = VALUES(user_name),
			session_token = VALUES(session_token),
			created_at = VALUES(created_at),
			expires_at = VALUES(expires_at),
			session_groups = VALUES(session_groups)`,
	createRole: `INSERT INTO roles (name) VALUES (?)
		ON DUPLICATE KEY UPDATE name = name`,
	grantRoleToGroup: `INSERT INTO role_groups (role_name, group_name) VALUES (?, ?)
		ON DUPLICATE KEY UPDATE role_name = role_name`,
	// The unique key of grants is grant_key, the hash of the seven fields
	// (migrations/mysql/00006).
	addGrant: `INSERT INTO grants (` + grantColumns + `)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON DUPLICATE KEY UPDATE role_name = role_name`,
	createUser: `INSERT INTO users (name, created_at) VALUES (?, ?)
		ON DUPLICATE KEY UPDATE name = name`,
	createToken: `INSERT INTO tokens (hash, user_name, created_at, expires_at, session_groups) VALUES (?, ?, ?, ?, ?)
		ON DUPLICATE KEY UPDATE hash = hash`,
	ensureSecret: `INSERT INTO secrets (name, value) VALUES (?, ?)
		ON DUPLICATE KEY UPDATE name = name`,
	// InnoDB's REPEATABLE READ keeps the snapshot of the first read to the
	// end of the transaction.
	readTx:  sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead},
	errKind: mysqlErrKind,
}

// openMySQL opens a MySQL or MariaDB store. o has its defaults.
func openMySQL(ctx context.Context, o Options) (*SQL, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	cfg, err := mysql.ParseDSN(o.DSN)
	if err != nil {
		// Some of the driver's messages quote parameter values.
		return nil, errors.New("store: mysql: store.dsn is not a DSN of the form user:password@tcp(host:3306)/database?param=value")
	}
	if err := configureMySQL(cfg, o); err != nil {
		return nil, err
	}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("store: mysql: %w", err)
	}
	db := sql.OpenDB(conn)
	o.configurePool(db)
	where := fmt.Sprintf("database %s on %s", cfg.DBName, cfg.Addr)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: mysql: connect to %s: %w", where, err)
	}
	m := migration{dialect: goose.DialectMySQL, dir: "migrations/mysql", locker: mysqlLocker{name: "lakegate.migrate." + cfg.DBName}}
	if err := migrate(ctx, db, m); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: mysql: migrate %s: %w", where, err)
	}
	return &SQL{db: db, d: mysqlDialect}, nil
}

// configureMySQL sets what the store's SQL needs on every connection, and
// o's timeouts where the DSN does not set them.
func configureMySQL(cfg *mysql.Config, o Options) error {
	if cfg.DBName == "" {
		return errors.New("store: mysql: store.dsn names no database (…/database)")
	}
	// Zero rows affected is how "insert unless it exists" says it existed.
	cfg.ClientFoundRows = false
	// Aurora and RDS fail over by turning the old writer read-only: a
	// connection that finds itself there is dropped, not reused.
	cfg.RejectReadOnly = true
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	// Strict mode: a value too long for its column is refused, never cut
	// short (which could merge two names). The driver sends the value as
	// is: SET sql_mode = <value>.
	mode := "@@sql_mode"
	if v, ok := cfg.Params["sql_mode"]; ok {
		mode = v
	}
	cfg.Params["sql_mode"] = "CONCAT(" + mode + ", ',STRICT_ALL_TABLES')"
	if cfg.Timeout == 0 {
		cfg.Timeout = o.ConnectTimeout
	}
	if o.StatementTimeout > 0 {
		// InnoDB ends a row lock wait with error 1205 (which UpdatePolicy
		// retries); the I/O timeouts, a little longer, end any other
		// statement the server does not answer.
		if _, ok := cfg.Params["innodb_lock_wait_timeout"]; !ok {
			secs := int(math.Ceil(o.StatementTimeout.Seconds()))
			cfg.Params["innodb_lock_wait_timeout"] = strconv.Itoa(secs)
		}
		if cfg.ReadTimeout == 0 {
			cfg.ReadTimeout = o.StatementTimeout + 5*time.Second
		}
		if cfg.WriteTimeout == 0 {
			cfg.WriteTimeout = o.StatementTimeout + 5*time.Second
		}
	}
	return nil
}

// mysqlErrKind classifies errors by MySQL error number.
func mysqlErrKind(err error) errKind {
	var e *mysql.MySQLError
	if !errors.As(err, &e) {
		return errOther
	}
	switch e.Number {
	case 1062: // ER_DUP_ENTRY
		return errUnique
	case 1452: // ER_NO_REFERENCED_ROW_2
		return errForeignKey
	case 1213, 1205: // ER_LOCK_DEADLOCK, ER_LOCK_WAIT_TIMEOUT
		return errRetry
	case 1020: // ER_CHECKREAD: MariaDB's innodb_snapshot_isolation, "Record has changed since last read"
		return errRetry
	}
	return errOther
}

// mysqlLocker is goose's session lock for MySQL and MariaDB: GET_LOCK, a
// named lock the server releases by itself when the session ends, so that
// a server that dies while migrating does not leave the lock behind. goose
// v3.29 has only a table-based locker for MySQL, with leases and
// heartbeats, which this needs none of.
type mysqlLocker struct {
	// name is the lock's name, at most 64 characters (longer ones are cut).
	name string
}

// mysqlLockWait bounds how long SessionLock waits for another server to
// finish migrating.
const mysqlLockWait = 5 * time.Minute

func (l mysqlLocker) lockName() string {
	if len(l.name) > 64 {
		return l.name[:64]
	}
	return l.name
}

// SessionLock implements lock.SessionLocker. It asks for the lock a second
// at a time, so that no single statement waits longer than the statement
// timeout, until mysqlLockWait has passed.
func (l mysqlLocker) SessionLock(ctx context.Context, conn *sql.Conn) error {
	deadline := time.Now().Add(mysqlLockWait)
	for {
		var got sql.NullInt64
		if err := conn.QueryRowContext(ctx, `SELECT GET_LOCK(?, 1)`, l.lockName()).Scan(&got); err != nil {
			return fmt.Errorf("lock %s: %w", l.lockName(), err)
		}
		switch {
		case got.Valid && got.Int64 == 1:
			return nil
		case !got.Valid:
			return fmt.Errorf("lock %s: GET_LOCK failed", l.lockName())
		case time.Now().After(deadline):
			return fmt.Errorf("lock %s: another server has held it for %v", l.lockName(), mysqlLockWait)
		}
	}
}

// SessionUnlock implements lock.SessionLocker.
func (l mysqlLocker) SessionUnlock(ctx context.Context, conn *sql.Conn) error {
	var released sql.NullInt64
	if err := conn.QueryRowContext(ctx, `SELECT RELEASE_LOCK(?)`, l.lockName()).Scan(&released); err != nil {
		return fmt.Errorf("unlock %s: %w", l.lockName(), err)
	}
	if !released.Valid || released.Int64 != 1 {
		return fmt.Errorf("unlock %s: this session did not hold the lock", l.lockName())
	}
	return nil
}
