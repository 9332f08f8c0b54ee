package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Listing, export and import: what `lakegate store copy` and `lakegate
// store reencrypt` need beyond the serving surface. The SQL is written once
// with ? placeholders (rebind) and no dialect-specific statement, so every
// driver has it.

// Secret is one shared secret (EnsureSecret).
type Secret struct {
	Name  string
	Value []byte
}

// Snapshot is the whole content of a store, read in one transaction.
type Snapshot struct {
	// Policy holds every role (with its group links and grants), every
	// user (with its groups), the catalog's databases and tables (with
	// their partitions) and the policy version.
	Policy PolicyData
	// AccessKeys ordered by access key id.
	AccessKeys []AccessKey
	// Tokens ordered by hash.
	Tokens []Token
	// Secrets ordered by name.
	Secrets []Secret
}

// Counts is how many records of each kind a snapshot holds.
type Counts struct {
	Roles, RoleGroups, Grants, Users, UserGroups int
	// AccessKeys counts every key; SessionKeys those with session groups.
	AccessKeys, SessionKeys int
	// Tokens counts every token; SessionTokens those with session groups.
	Tokens, SessionTokens int
	Secrets               int
	// The catalog.
	Databases, Tables, Partitions int
}

// Counts counts the snapshot's records.
func (s Snapshot) Counts() Counts {
	c := Counts{Roles: len(s.Policy.Roles), Users: len(s.Policy.Users), AccessKeys: len(s.AccessKeys),
		Tokens: len(s.Tokens), Secrets: len(s.Secrets),
		Databases: len(s.Policy.Databases), Tables: len(s.Policy.Tables)}
	for _, t := range s.Policy.Tables {
		c.Partitions += len(t.Partitions)
	}
	for _, r := range s.Policy.Roles {
		c.RoleGroups += len(r.Groups)
		c.Grants += len(r.Grants)
	}
	for _, u := range s.Policy.Users {
		c.UserGroups += len(u.Groups)
	}
	for _, k := range s.AccessKeys {
		if k.SessionGroups != nil {
			c.SessionKeys++
		}
	}
	for _, t := range s.Tokens {
		if t.SessionGroups != nil {
			c.SessionTokens++
		}
	}
	return c
}

// ImportOptions control Import.
type ImportOptions struct {
	// Replace deletes whatever the store holds first; without it Import
	// fails with ErrNotEmpty unless the store is empty.
	Replace bool
}

// Exporter lists, exports and imports a whole store. Part of Store.
type Exporter interface {
	// ListTokens returns the tokens of userName ("" for all users)
	// ordered by hash.
	ListTokens(ctx context.Context, userName string) ([]Token, error)
	// ListSecrets returns every shared secret ordered by name.
	ListSecrets(ctx context.Context) ([]Secret, error)
	// Export reads the whole store in one transaction.
	Export(ctx context.Context) (Snapshot, error)
	// Import writes snap into the store in one transaction: all of it or,
	// on error, nothing. The store must be empty (no role, user, catalog
	// database, access key, token or secret) unless o.Replace, or Import fails with an
	// error wrapping ErrNotEmpty. The policy version becomes the larger of
	// snap's and one more than the store's, so that servers sharing the
	// store see a change.
	Import(ctx context.Context, snap Snapshot, o ImportOptions) error
}

// scanToken reads hash, user_name, created_at, expires_at, session_groups.
func scanToken(row scanner) (Token, error) {
	var (
		t       Token
		created int64
		expires sql.NullInt64
		groups  string
	)
	if err := row.Scan(&t.Hash, &t.UserName, &created, &expires, &groups); err != nil {
		return Token{}, err
	}
	var err error
	if t.SessionGroups, t.SessionGroupsFold, err = decodeSessionGroups(groups); err != nil {
		return Token{}, fmt.Errorf("token of user %s: session groups: %w", t.UserName, err)
	}
	t.CreatedAt = time.UnixMilli(created).UTC()
	if expires.Valid {
		t.ExpiresAt = time.UnixMilli(expires.Int64).UTC()
	}
	return t, nil
}

const tokenColumns = `hash, user_name, created_at, expires_at, session_groups`

// ListTokens implements Exporter.
func (s *SQL) ListTokens(ctx context.Context, userName string) ([]Token, error) {
	tokens, err := listTokens(ctx, s.db, s.d, userName)
	if err != nil {
		return nil, fmt.Errorf("store: list tokens: %w", err)
	}
	return tokens, nil
}

func listTokens(ctx context.Context, q querier, d dialect, userName string) ([]Token, error) {
	tokens := []Token{}
	err := each(ctx, q, d.rebind(`SELECT `+tokenColumns+` FROM tokens WHERE ? = '' OR user_name = ?`),
		func(row scanner) error {
			t, err := scanToken(row)
			tokens = append(tokens, t)
			return err
		}, userName, userName)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(tokens, func(a, b Token) int { return strings.Compare(a.Hash, b.Hash) })
	return tokens, nil
}

// ListSecrets implements Exporter.
func (s *SQL) ListSecrets(ctx context.Context) ([]Secret, error) {
	secrets, err := listSecrets(ctx, s.db)
	if err != nil {
		return nil, fmt.Errorf("store: list secrets: %w", err)
	}
	return secrets, nil
}

func listSecrets(ctx context.Context, q querier) ([]Secret, error) {
	secrets := []Secret{}
	err := each(ctx, q, `SELECT name, value FROM secrets`, func(row scanner) error {
		var s Secret
		if err := row.Scan(&s.Name, &s.Value); err != nil {
			return err
		}
		secrets = append(secrets, s)
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(secrets, func(a, b Secret) int { return strings.Compare(a.Name, b.Name) })
	return secrets, nil
}

// Export implements Exporter.
func (s *SQL) Export(ctx context.Context) (Snapshot, error) {
	tx, err := s.db.BeginTx(ctx, &s.d.readTx)
	if err != nil {
		return Snapshot{}, fmt.Errorf("store: export: %w", err)
	}
	defer func() { _ = tx.Rollback() }() // read only: the transaction fixes the snapshot
	var snap Snapshot
	if snap.Policy, err = loadPolicy(ctx, tx); err != nil {
		return Snapshot{}, fmt.Errorf("store: export: %w", err)
	}
	snap.AccessKeys = []AccessKey{}
	err = each(ctx, tx, `SELECT `+accessKeyColumns+` FROM access_keys`, func(row scanner) error {
		k, err := scanAccessKey(row)
		snap.AccessKeys = append(snap.AccessKeys, k)
		return err
	})
	if err != nil {
		return Snapshot{}, fmt.Errorf("store: export: access keys: %w", err)
	}
	slices.SortFunc(snap.AccessKeys, func(a, b AccessKey) int { return strings.Compare(a.AccessKeyID, b.AccessKeyID) })
	if snap.Tokens, err = listTokens(ctx, tx, s.d, ""); err != nil {
		return Snapshot{}, fmt.Errorf("store: export: tokens: %w", err)
	}
	if snap.Secrets, err = listSecrets(ctx, tx); err != nil {
		return Snapshot{}, fmt.Errorf("store: export: secrets: %w", err)
	}
	return snap, nil
}

// contentTables are the tables Import empties with Replace, children
// before the parents their foreign keys name.
var contentTables = []string{"grants", "role_groups", "roles", "user_groups", "users",
	"catalog_partitions", "catalog_tables", "catalog_databases", "access_keys", "tokens", "secrets"}

// Import implements Exporter. Errors name records but never a secret or a
// token hash.
func (s *SQL) Import(ctx context.Context, snap Snapshot, o ImportOptions) error {
	tx, err := s.db.BeginTx(ctx, s.d.writeTx)
	if err != nil {
		return fmt.Errorf("store: import: %w", err)
	}
	defer func() { _ = tx.Rollback() }() // unless committed
	if err := s.importTx(ctx, tx, snap, o); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: import: commit: %w", err)
	}
	return nil
}

func (s *SQL) importTx(ctx context.Context, tx *sql.Tx, snap Snapshot, o ImportOptions) error {
	exec := func(q string, args ...any) error {
		_, err := tx.ExecContext(ctx, s.d.rebind(q), args...)
		return err
	}
	// The version goes up first, as in UpdatePolicy: the row lock
	// serializes Import with updates and other Imports, and no concurrent
	// commit can end at the same version. The snapshot's version, when
	// higher, is set at the end.
	n, err := execCount(ctx, tx, `UPDATE policy_version SET version = version + 1 WHERE id = 1`)
	if err != nil {
		return fmt.Errorf("store: import: policy version: %w", err)
	}
	if n != 1 {
		return errors.New("store: import: the policy_version row is missing")
	}
	if o.Replace {
		for _, t := range contentTables {
			if err := exec(`DELETE FROM ` + t); err != nil {
				return fmt.Errorf("store: import: empty %s: %w", t, err)
			}
		}
	} else {
		var held []string
		for _, t := range []string{"roles", "users", "catalog_databases", "access_keys", "tokens", "secrets"} {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+t).Scan(&n); err != nil {
				return fmt.Errorf("store: import: count %s: %w", t, err)
			}
			if n > 0 {
				held = append(held, fmt.Sprintf("%d %s", n, t))
			}
		}
		if len(held) > 0 {
			return fmt.Errorf("store: import: target store is not empty (it holds %s): %w", strings.Join(held, ", "), ErrNotEmpty)
		}
	}

	for _, r := range snap.Policy.Roles {
		if err := exec(`INSERT INTO roles (name) VALUES (?)`, r.Name); err != nil {
			return fmt.Errorf("store: import: role %s: %w", r.Name, err)
		}
		for _, g := range r.Groups {
			if err := exec(`INSERT INTO role_groups (role_name, group_name) VALUES (?, ?)`, r.Name, g); err != nil {
				return fmt.Errorf("store: import: role %s group %s: %w", r.Name, g, err)
			}
		}
		for _, g := range r.Grants {
			if g.Role != r.Name {
				return fmt.Errorf("store: import: role %s lists a grant of role %s", r.Name, g.Role)
			}
			err := exec(`INSERT INTO grants (`+grantColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`, grantArgs(g)...)
			if err != nil {
				return fmt.Errorf("store: import: grant of role %s: %w", r.Name, err)
			}
		}
	}
	for _, u := range snap.Policy.Users {
		created := u.CreatedAt
		if created.IsZero() {
			created = time.Now()
		}
		if err := exec(`INSERT INTO users (name, created_at) VALUES (?, ?)`, u.Name, created.UnixMilli()); err != nil {
			return fmt.Errorf("store: import: user %s: %w", u.Name, err)
		}
		for _, g := range u.Groups {
			if err := exec(`INSERT INTO user_groups (user_name, group_name) VALUES (?, ?)`, u.Name, g); err != nil {
				return fmt.Errorf("store: import: user %s group %s: %w", u.Name, g, err)
			}
		}
	}
	if err := importCatalog(ctx, tx, s.d, snap.Policy); err != nil {
		return fmt.Errorf("store: import: %w", err)
	}
	for _, k := range snap.AccessKeys {
		if err := exec(`INSERT INTO access_keys (`+accessKeyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`, accessKeyArgs(k)...); err != nil {
			return fmt.Errorf("store: import: access key %s: %w", k.AccessKeyID, err)
		}
	}
	for _, t := range snap.Tokens {
		if err := exec(`INSERT INTO tokens (`+tokenColumns+`) VALUES (?, ?, ?, ?, ?)`, tokenArgs(t)...); err != nil {
			return fmt.Errorf("store: import: token of user %s: %w", t.UserName, err)
		}
	}
	for _, sec := range snap.Secrets {
		v := sec.Value
		if v == nil {
			v = []byte{} // a nil slice would be NULL
		}
		if err := exec(`INSERT INTO secrets (name, value) VALUES (?, ?)`, sec.Name, v); err != nil {
			return fmt.Errorf("store: import: secret %s: %w", sec.Name, err)
		}
	}

	// Raised by one above, under the lock; the snapshot's if higher.
	if err := exec(`UPDATE policy_version SET version = ? WHERE id = 1 AND version < ?`, snap.Policy.Version, snap.Policy.Version); err != nil {
		return fmt.Errorf("store: import: policy version: %w", err)
	}
	// As UpdatePolicy does: servers listening hear of it on commit.
	if err := s.notifyPolicy(ctx, tx); err != nil {
		return fmt.Errorf("store: import: %w", err)
	}
	return nil
}

// SwapAccessKeySecrets replaces the stored secret and session token of the
// key old.AccessKeyID with repl's, only while the stored ones, and the
// key's user, are still old's. It reports whether it replaced them.
// Encrypted.Reencrypt uses it so as never to undo a concurrent write.
func (s *SQL) SwapAccessKeySecrets(ctx context.Context, old, repl AccessKey) (bool, error) {
	n, err := execCount(ctx, s.db, s.d.rebind(`UPDATE access_keys SET secret_access_key = ?, session_token = ?
		WHERE access_key_id = ? AND user_name = ? AND secret_access_key = ? AND session_token = ?`),
		repl.SecretAccessKey, repl.SessionToken, old.AccessKeyID, old.UserName, old.SecretAccessKey, old.SessionToken)
	if err != nil {
		return false, fmt.Errorf("store: replace secrets of access key %s: %w", old.AccessKeyID, err)
	}
	return n > 0, nil
}

// SwapSecret replaces the value of the shared secret name with repl, only
// while it is still old. It reports whether it replaced it.
func (s *SQL) SwapSecret(ctx context.Context, name string, old, repl []byte) (bool, error) {
	n, err := execCount(ctx, s.db, s.d.rebind(`UPDATE secrets SET value = ? WHERE name = ? AND value = ?`), repl, name, old)
	if err != nil {
		return false, fmt.Errorf("store: replace secret %s: %w", name, err)
	}
	return n > 0, nil
}
