package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// dialect holds what differs between SQL databases. Everything else in SQL
// is written once, with ? placeholders that rebind converts.
type dialect struct {
	name string
	// dollarPlaceholders selects $1, $2… (PostgreSQL) instead of ?.
	dollarPlaceholders bool
	// createAccessKey inserts a row and affects zero rows when the id exists.
	createAccessKey string
	// putAccessKey inserts a row or replaces the one with the same id.
	putAccessKey string

	// The statements below insert a row and affect zero rows when a row
	// with the same key exists (the key named in each ON CONFLICT).
	createRole       string
	grantRoleToGroup string
	addGrant         string
	createUser       string
	createToken      string
	ensureSecret     string

	// readTx begins the read transactions that must see one snapshot
	// (LoadPolicy): SQLite's deferred BEGIN does in WAL mode; PostgreSQL and
	// MySQL need sql.LevelRepeatableRead.
	readTx sql.TxOptions
	// writeTx begins the transactions that write the policy (UpdatePolicy,
	// Import), which serialize on the policy_version row lock and then
	// rely on the isolation level named here (nil: the database's
	// default, which for SQLite and InnoDB is what they rely on). PostgreSQL
	// pins READ COMMITTED: under REPEATABLE READ or SERIALIZABLE, set as a
	// database's default, the lock's holder after a commit fails with a
	// serialization error instead of seeing that commit.
	writeTx *sql.TxOptions

	// errKind classifies the driver's errors.
	errKind func(error) errKind
}

// errKind is what a driver error means to the store.
type errKind int

const (
	errOther errKind = iota
	// errUnique is a unique or primary key violation: ErrExists.
	errUnique
	// errForeignKey is a foreign key violation: a parent is missing,
	// ErrNotFound.
	errForeignKey
	// errRetry is a transient conflict with another transaction (a
	// serialization failure, a deadlock, a lock wait timeout): running the
	// transaction again may succeed.
	errRetry
)

// kind classifies err, nil included.
func (d dialect) kind(err error) errKind {
	if err == nil || d.errKind == nil {
		return errOther
	}
	return d.errKind(err)
}

// mapErr returns ErrExists for a unique violation and ErrNotFound for a
// foreign key violation, without the driver's message, which may quote
// the conflicting value (a token hash); any other error as is.
func (d dialect) mapErr(err error) error {
	switch d.kind(err) {
	case errUnique:
		return ErrExists
	case errForeignKey:
		return ErrNotFound
	}
	return err
}

var sqliteDialect = dialect{
	name: "sqlite",
	createAccessKey: `INSERT INTO access_keys
		(access_key_id, secret_access_key, user_name, session_token, created_at, expires_at, session_groups)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (access_key_id) DO NOTHING`,
	putAccessKey: `INSERT INTO access_keys
		(access_key_id, secret_access_key, user_name, session_token, created_at, expires_at, session_groups)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (access_key_id) DO UPDATE SET
			secret_access_key = excluded.secret_access_key,
			user_name = excluded.user_name,
			session_token = excluded.session_token,
			created_at = excluded.created_at,
			expires_at = excluded.expires_at,
			session_groups = excluded.session_groups`,
	createRole: `INSERT INTO roles (name) VALUES (?)
		ON CONFLICT (name) DO NOTHING`,
	grantRoleToGroup: `INSERT INTO role_groups (role_name, group_name) VALUES (?, ?)
		ON CONFLICT (role_name, group_name) DO NOTHING`,
	addGrant: `INSERT INTO grants (` + grantColumns + `)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (role_name, object_kind, object_name, column_list, row_filter, options, privilege) DO NOTHING`,
	createUser: `INSERT INTO users (name, created_at) VALUES (?, ?)
		ON CONFLICT (name) DO NOTHING`,
	createToken: `INSERT INTO tokens (hash, user_name, created_at, expires_at, session_groups) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (hash) DO NOTHING`,
	ensureSecret: `INSERT INTO secrets (name, value) VALUES (?, ?)
		ON CONFLICT (name) DO NOTHING`,
	// modernc.org/sqlite begins read-only transactions DEFERRED although
	// _txlock (sqliteParams) makes every other one IMMEDIATE, so they take
	// no write lock; in WAL mode the first read fixes the snapshot.
	readTx:  sql.TxOptions{ReadOnly: true},
	errKind: sqliteErrKind,
}

// rebind rewrites ? placeholders for the dialect. Queries here never contain
// a literal '?'.
func (d dialect) rebind(q string) string {
	if !d.dollarPlaceholders {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// SQL is a Store on database/sql. Open one with Open, OpenWith or
// OpenSQLite.
type SQL struct {
	db *sql.DB
	d  dialect
}

var _ Store = (*SQL)(nil)

const accessKeyColumns = `access_key_id, secret_access_key, user_name, session_token, created_at, expires_at, session_groups`

// CreateAccessKey implements Store.
func (s *SQL) CreateAccessKey(ctx context.Context, k AccessKey) error {
	res, err := s.db.ExecContext(ctx, s.d.rebind(s.d.createAccessKey), accessKeyArgs(k)...)
	if err != nil {
		return fmt.Errorf("store: create access key %s: %w", k.AccessKeyID, s.d.mapErr(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: create access key %s: %w", k.AccessKeyID, err)
	}
	if n == 0 {
		return fmt.Errorf("access key %s: %w", k.AccessKeyID, ErrExists)
	}
	return nil
}

// PutAccessKey implements Store.
func (s *SQL) PutAccessKey(ctx context.Context, k AccessKey) error {
	if _, err := s.db.ExecContext(ctx, s.d.rebind(s.d.putAccessKey), accessKeyArgs(k)...); err != nil {
		return fmt.Errorf("store: put access key %s: %w", k.AccessKeyID, err)
	}
	return nil
}

// GetAccessKey implements Store.
func (s *SQL) GetAccessKey(ctx context.Context, accessKeyID string) (AccessKey, error) {
	row := s.db.QueryRowContext(ctx, s.d.rebind(`SELECT `+accessKeyColumns+` FROM access_keys WHERE access_key_id = ?`), accessKeyID)
	k, err := scanAccessKey(row)
	if errors.Is(err, sql.ErrNoRows) {
		return AccessKey{}, fmt.Errorf("access key %s: %w", accessKeyID, ErrNotFound)
	}
	if err != nil {
		return AccessKey{}, fmt.Errorf("store: get access key %s: %w", accessKeyID, err)
	}
	return k, nil
}

// ListAccessKeys implements Store.
func (s *SQL) ListAccessKeys(ctx context.Context, userName string) ([]AccessKey, error) {
	rows, err := s.db.QueryContext(ctx, s.d.rebind(`SELECT `+accessKeyColumns+` FROM access_keys
		WHERE ? = '' OR user_name = ?`), userName, userName)
	if err != nil {
		return nil, fmt.Errorf("store: list access keys: %w", err)
	}
	defer rows.Close()
	keys := []AccessKey{}
	for rows.Next() {
		k, err := scanAccessKey(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list access keys: %w", err)
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list access keys: %w", err)
	}
	// Byte order, as the policy types' (policy.go).
	slices.SortFunc(keys, func(a, b AccessKey) int { return strings.Compare(a.AccessKeyID, b.AccessKeyID) })
	return keys, nil
}

// ListAccessKeyIDs implements Store.
func (s *SQL) ListAccessKeyIDs(ctx context.Context, userName string) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, s.d.rebind(`SELECT access_key_id FROM access_keys
		WHERE ? = '' OR user_name = ?`), userName, userName)
	if err != nil {
		return nil, fmt.Errorf("store: list access keys: %w", err)
	}
	defer rows.Close()
	ids := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store: list access keys: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list access keys: %w", err)
	}
	slices.Sort(ids) // byte order, as ListAccessKeys
	return ids, nil
}

// DeleteAccessKey implements Store.
func (s *SQL) DeleteAccessKey(ctx context.Context, accessKeyID string) error {
	res, err := s.db.ExecContext(ctx, s.d.rebind(`DELETE FROM access_keys WHERE access_key_id = ?`), accessKeyID)
	if err != nil {
		return fmt.Errorf("store: delete access key %s: %w", accessKeyID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: delete access key %s: %w", accessKeyID, err)
	}
	if n == 0 {
		return fmt.Errorf("access key %s: %w", accessKeyID, ErrNotFound)
	}
	return nil
}

// DeleteExpiredAccessKeys implements Store.
func (s *SQL) DeleteExpiredAccessKeys(ctx context.Context, now time.Time) (int, error) {
	res, err := s.db.ExecContext(ctx, s.d.rebind(`DELETE FROM access_keys
		WHERE expires_at IS NOT NULL AND expires_at <= ?`), now.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("store: delete expired access keys: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: delete expired access keys: %w", err)
	}
	return int(n), nil
}

// Close implements Store.
func (s *SQL) Close() error { return s.db.Close() }

func accessKeyArgs(k AccessKey) []any {
	created := k.CreatedAt
	if created.IsZero() {
		created = time.Now()
	}
	var expires sql.NullInt64
	if !k.ExpiresAt.IsZero() {
		expires = sql.NullInt64{Int64: k.ExpiresAt.UnixMilli(), Valid: true}
	}
	groups := encodeSessionGroups(k.SessionGroups, k.SessionGroupsFold)
	return []any{k.AccessKeyID, k.SecretAccessKey, k.UserName, k.SessionToken, created.UnixMilli(), expires, groups}
}

// encodeSessionGroups is the stored form of session groups: empty for none
// (nil), a JSON array for case-sensitive ones, a sessionGroups object for
// case-insensitive ones.
func encodeSessionGroups(names []string, fold bool) string {
	if names == nil {
		return ""
	}
	var b []byte
	if fold {
		b, _ = json.Marshal(sessionGroups{Names: names, Fold: true}) // always marshals
	} else {
		b, _ = json.Marshal(names)
	}
	return string(b)
}

// decodeSessionGroups reads encodeSessionGroups' form.
func decodeSessionGroups(stored string) (names []string, fold bool, err error) {
	switch {
	case stored == "":
		return nil, false, nil
	case strings.HasPrefix(stored, "{"):
		var sg sessionGroups
		if err := json.Unmarshal([]byte(stored), &sg); err != nil {
			return nil, false, err
		}
		if sg.Names == nil {
			sg.Names = []string{}
		}
		return sg.Names, sg.Fold, nil
	}
	if err := json.Unmarshal([]byte(stored), &names); err != nil {
		return nil, false, err
	}
	if names == nil {
		names = []string{}
	}
	return names, false, nil
}

// sessionGroups is the stored form of case-insensitive session groups; a
// plain JSON array stores case-sensitive ones.
type sessionGroups struct {
	Names []string `json:"names"`
	Fold  bool     `json:"fold"`
}

type scanner interface{ Scan(dest ...any) error }

func scanAccessKey(row scanner) (AccessKey, error) {
	var (
		k       AccessKey
		created int64
		expires sql.NullInt64
		groups  string
	)
	if err := row.Scan(&k.AccessKeyID, &k.SecretAccessKey, &k.UserName, &k.SessionToken, &created, &expires, &groups); err != nil {
		return AccessKey{}, err
	}
	var err error
	if k.SessionGroups, k.SessionGroupsFold, err = decodeSessionGroups(groups); err != nil {
		return AccessKey{}, fmt.Errorf("session groups of %s: %w", k.AccessKeyID, err)
	}
	k.CreatedAt = time.UnixMilli(created).UTC()
	if expires.Valid {
		k.ExpiresAt = time.UnixMilli(expires.Int64).UTC()
	}
	return k, nil
}
