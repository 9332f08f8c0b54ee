package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// What the policy types promise sorted is sorted here, in Go, by byte
// order: ORDER BY would follow the database's collation, which differs
// between SQLite, PostgreSQL and MySQL and between their configurations.

// maxAttempts bounds how often UpdatePolicy runs a transaction that the
// database aborted for a conflict with another one (a serialization
// failure, a deadlock, a lock wait timeout).
const maxAttempts = 8

// UpdatePolicy implements PolicyStore. A transaction the database aborts
// for a conflict with another is run again, fn included, up to maxAttempts
// times in all.
func (s *SQL) UpdatePolicy(ctx context.Context, fn func(tx PolicyTx) error) error {
	for attempt := 1; ; attempt++ {
		err := s.updatePolicy(ctx, fn)
		if err == nil || s.d.kind(err) != errRetry || attempt == maxAttempts {
			return err
		}
		// Back off a random 1 to 2 times 2^attempt ms, so that the
		// transactions that collided do not collide again.
		d := time.Duration(1<<attempt) * time.Millisecond
		d += rand.N(d)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(d):
		}
	}
}

// updatePolicy is one attempt of UpdatePolicy.
func (s *SQL) updatePolicy(ctx context.Context, fn func(tx PolicyTx) error) error {
	tx, err := s.db.BeginTx(ctx, s.d.writeTx)
	if err != nil {
		return fmt.Errorf("store: update policy: %w", err)
	}
	// Rolls back unless committed: when fn fails, and when it panics.
	defer func() { _ = tx.Rollback() }()

	// The version goes up first rather than last: the row lock it takes,
	// held to the end, serializes concurrent updates in databases whose
	// transactions do not lock the whole database up front as SQLite's
	// IMMEDIATE ones do (PostgreSQL, MySQL), so what fn reads stays true
	// until it commits: in PostgreSQL's READ COMMITTED every later
	// statement sees what the previous holders committed, and in InnoDB's
	// REPEATABLE READ the snapshot is taken at the first plain read, after
	// the lock. When fn fails the increase is rolled back with the rest.
	n, err := execCount(ctx, tx, `UPDATE policy_version SET version = version + 1 WHERE id = 1`)
	if err != nil {
		return fmt.Errorf("store: update policy: %w", err)
	}
	if n != 1 {
		return errors.New("store: update policy: the policy_version row is missing")
	}
	// Delivered on commit only (PostgreSQL; see ListenPolicy).
	if err := s.notifyPolicy(ctx, tx); err != nil {
		return fmt.Errorf("store: update policy: %w", err)
	}
	ptx := &policyTx{tx: tx, d: s.d}
	fnErr := fn(ptx)
	// A statement that failed may have ended the transaction (PostgreSQL
	// aborts it, InnoDB rolls it back on a deadlock and goes on in
	// autocommit): committing what is left would commit a part. A conflict
	// is retried even when fn passed it on wrapped.
	if ptx.failed != nil && (fnErr == nil || s.d.kind(fnErr) == errRetry) {
		return fmt.Errorf("store: update policy: %w", ptx.failed)
	}
	if fnErr != nil {
		return fnErr
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: update policy: commit: %w", err)
	}
	return nil
}

// LoadPolicy implements PolicyStore.
func (s *SQL) LoadPolicy(ctx context.Context) (PolicyData, error) {
	tx, err := s.db.BeginTx(ctx, &s.d.readTx)
	if err != nil {
		return PolicyData{}, fmt.Errorf("store: load policy: %w", err)
	}
	// Nothing to commit: the transaction only fixes the snapshot.
	defer func() { _ = tx.Rollback() }()
	p, err := loadPolicy(ctx, tx)
	if err != nil {
		return PolicyData{}, fmt.Errorf("store: load policy: %w", err)
	}
	return p, nil
}

func loadPolicy(ctx context.Context, tx *sql.Tx) (PolicyData, error) {
	var p PolicyData
	if err := tx.QueryRowContext(ctx, `SELECT version FROM policy_version WHERE id = 1`).Scan(&p.Version); err != nil {
		return PolicyData{}, err
	}

	p.Roles = []RoleRecord{}
	err := each(ctx, tx, `SELECT name FROM roles`, func(row scanner) error {
		r := RoleRecord{Groups: []string{}, Grants: []Grant{}}
		if err := row.Scan(&r.Name); err != nil {
			return err
		}
		p.Roles = append(p.Roles, r)
		return nil
	})
	if err != nil {
		return PolicyData{}, err
	}
	slices.SortFunc(p.Roles, func(a, b RoleRecord) int { return strings.Compare(a.Name, b.Name) })
	roles := make(map[string]*RoleRecord, len(p.Roles))
	for i := range p.Roles {
		roles[p.Roles[i].Name] = &p.Roles[i]
	}
	// The foreign keys keep every link and grant pointing at a role read
	// above: the snapshot is consistent.
	err = each(ctx, tx, `SELECT role_name, group_name FROM role_groups`, func(row scanner) error {
		var role, group string
		if err := row.Scan(&role, &group); err != nil {
			return err
		}
		if r := roles[role]; r != nil {
			r.Groups = append(r.Groups, group)
		}
		return nil
	})
	if err != nil {
		return PolicyData{}, err
	}
	err = each(ctx, tx, `SELECT `+grantColumns+` FROM grants`, func(row scanner) error {
		var g Grant
		if err := scanGrant(row, &g); err != nil {
			return err
		}
		if r := roles[g.Role]; r != nil {
			r.Grants = append(r.Grants, g)
		}
		return nil
	})
	if err != nil {
		return PolicyData{}, err
	}
	for i := range p.Roles {
		slices.Sort(p.Roles[i].Groups)
		slices.SortFunc(p.Roles[i].Grants, compareGrants)
	}

	p.Users = []User{}
	err = each(ctx, tx, `SELECT name, created_at FROM users`, func(row scanner) error {
		var (
			u       = User{Groups: []string{}}
			created int64
		)
		if err := row.Scan(&u.Name, &created); err != nil {
			return err
		}
		u.CreatedAt = time.UnixMilli(created).UTC()
		p.Users = append(p.Users, u)
		return nil
	})
	if err != nil {
		return PolicyData{}, err
	}
	slices.SortFunc(p.Users, func(a, b User) int { return strings.Compare(a.Name, b.Name) })
	users := make(map[string]*User, len(p.Users))
	for i := range p.Users {
		users[p.Users[i].Name] = &p.Users[i]
	}
	err = each(ctx, tx, `SELECT user_name, group_name FROM user_groups`, func(row scanner) error {
		var user, group string
		if err := row.Scan(&user, &group); err != nil {
			return err
		}
		if u := users[user]; u != nil {
			u.Groups = append(u.Groups, group)
		}
		return nil
	})
	if err != nil {
		return PolicyData{}, err
	}
	for i := range p.Users {
		slices.Sort(p.Users[i].Groups)
	}
	if err := loadCatalog(ctx, tx, &p); err != nil {
		return PolicyData{}, fmt.Errorf("catalog: %w", err)
	}
	return p, nil
}

// compareGrants orders grants as RoleRecord.Grants promises, role first so
// that the order is total.
func compareGrants(a, b Grant) int {
	return cmp.Or(
		strings.Compare(a.Role, b.Role),
		strings.Compare(a.ObjectKind, b.ObjectKind),
		strings.Compare(a.Object, b.Object),
		strings.Compare(a.Columns, b.Columns),
		strings.Compare(a.RowFilter, b.RowFilter),
		strings.Compare(a.Options, b.Options),
		strings.Compare(a.Privilege, b.Privilege),
	)
}

// PolicyVersion implements PolicyStore.
func (s *SQL) PolicyVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := s.db.QueryRowContext(ctx, `SELECT version FROM policy_version WHERE id = 1`).Scan(&v); err != nil {
		return 0, fmt.Errorf("store: policy version: %w", err)
	}
	return v, nil
}

// GetUser implements PolicyStore. One statement reads the user and its
// groups, so they are consistent without a transaction.
func (s *SQL) GetUser(ctx context.Context, name string) (User, error) {
	u := User{Name: name, Groups: []string{}}
	found := false
	err := each(ctx, s.db, s.d.rebind(`SELECT u.created_at, g.group_name
		FROM users u LEFT JOIN user_groups g ON g.user_name = u.name
		WHERE u.name = ?`), func(row scanner) error {
		var (
			created int64
			group   sql.NullString
		)
		if err := row.Scan(&created, &group); err != nil {
			return err
		}
		found = true
		u.CreatedAt = time.UnixMilli(created).UTC()
		if group.Valid {
			u.Groups = append(u.Groups, group.String)
		}
		return nil
	}, name)
	if err != nil {
		return User{}, fmt.Errorf("store: get user %s: %w", name, err)
	}
	if !found {
		return User{}, fmt.Errorf("user %s: %w", name, ErrNotFound)
	}
	slices.Sort(u.Groups)
	return u, nil
}

// policyTx is the PolicyTx UpdatePolicy hands to fn. No method leaves a
// failed statement behind for an expected outcome (a duplicate, a missing
// role): conflicts are ON CONFLICT DO NOTHING and existence is checked
// first, because in PostgreSQL one failed statement aborts the whole
// transaction, and fn may go on after an ErrExists or ErrNotFound.
type policyTx struct {
	tx *sql.Tx
	d  dialect
	// failed is the first statement error, which may have ended the
	// transaction (see UpdatePolicy).
	failed error
}

// fail records err when it is the first statement error and returns it.
func (p *policyTx) fail(err error) error {
	if err != nil && p.failed == nil {
		p.failed = err
	}
	return err
}

var _ PolicyTx = (*policyTx)(nil)

// grantColumns are a grant's fields in the order of grantArgs and
// scanGrant.
const grantColumns = `role_name, privilege, object_kind, object_name, column_list, row_filter, options`

// grantArgs are g's fields in the order of grantColumns.
func grantArgs(g Grant) []any {
	return []any{g.Role, g.Privilege, g.ObjectKind, g.Object, g.Columns, g.RowFilter, g.Options}
}

// scanGrant reads grantColumns into g.
func scanGrant(row scanner, g *Grant) error {
	return row.Scan(&g.Role, &g.Privilege, &g.ObjectKind, &g.Object, &g.Columns, &g.RowFilter, &g.Options)
}

func (p *policyTx) exec(ctx context.Context, q string, args ...any) (int64, error) {
	n, err := execCount(ctx, p.tx, p.d.rebind(q), args...)
	return n, p.d.mapErr(p.fail(err))
}

// CreateRole implements PolicyTx.
func (p *policyTx) CreateRole(ctx context.Context, name string) error {
	n, err := p.exec(ctx, p.d.createRole, name)
	if err != nil {
		return fmt.Errorf("store: create role %s: %w", name, err)
	}
	if n == 0 {
		return fmt.Errorf("role %s: %w", name, ErrExists)
	}
	return nil
}

// DropRole implements PolicyTx. The foreign keys' ON DELETE CASCADE removes
// the role's grants and group links.
func (p *policyTx) DropRole(ctx context.Context, name string) error {
	n, err := p.exec(ctx, `DELETE FROM roles WHERE name = ?`, name)
	if err != nil {
		return fmt.Errorf("store: drop role %s: %w", name, err)
	}
	if n == 0 {
		return fmt.Errorf("role %s: %w", name, ErrNotFound)
	}
	return nil
}

// RoleExists implements PolicyTx.
func (p *policyTx) RoleExists(ctx context.Context, name string) (bool, error) {
	var one int
	err := p.tx.QueryRowContext(ctx, p.d.rebind(`SELECT 1 FROM roles WHERE name = ?`), name).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: role exists %s: %w", name, p.fail(err))
	}
	return true, nil
}

// requireRole returns an error wrapping ErrNotFound when the role does not
// exist. Checking first, rather than reading a foreign key violation, keeps
// the transaction usable and needs no driver-specific error codes.
func (p *policyTx) requireRole(ctx context.Context, name string) error {
	ok, err := p.RoleExists(ctx, name)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("role %s: %w", name, ErrNotFound)
	}
	return nil
}

// GrantRoleToGroup implements PolicyTx.
func (p *policyTx) GrantRoleToGroup(ctx context.Context, role, group string) error {
	if err := p.requireRole(ctx, role); err != nil {
		return err
	}
	if _, err := p.exec(ctx, p.d.grantRoleToGroup, role, group); err != nil {
		return fmt.Errorf("store: grant role %s to group %s: %w", role, group, err)
	}
	return nil
}

// RevokeRoleFromGroup implements PolicyTx.
func (p *policyTx) RevokeRoleFromGroup(ctx context.Context, role, group string) error {
	n, err := p.exec(ctx, `DELETE FROM role_groups WHERE role_name = ? AND group_name = ?`, role, group)
	if err != nil {
		return fmt.Errorf("store: revoke role %s from group %s: %w", role, group, err)
	}
	if n == 0 {
		return fmt.Errorf("role %s granted to group %s: %w", role, group, ErrNotFound)
	}
	return nil
}

// AddGrant implements PolicyTx.
func (p *policyTx) AddGrant(ctx context.Context, g Grant) error {
	if err := p.requireRole(ctx, g.Role); err != nil {
		return err
	}
	_, err := p.exec(ctx, p.d.addGrant, grantArgs(g)...)
	if err != nil {
		return fmt.Errorf("store: add grant to role %s: %w", g.Role, err)
	}
	return nil
}

// RemoveGrants implements PolicyTx.
func (p *policyTx) RemoveGrants(ctx context.Context, g Grant) (int, error) {
	name, object := p.objectNameMatch(g.ObjectKind, g.Object)
	q := `DELETE FROM grants WHERE role_name = ? AND object_kind = ? AND ` + name + `
		AND column_list = ? AND row_filter = ? AND options = ?`
	args := []any{g.Role, g.ObjectKind, object, g.Columns, g.RowFilter, g.Options}
	if g.Privilege != "" {
		q += ` AND privilege = ?`
		args = append(args, g.Privilege)
	}
	n, err := p.exec(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("store: remove grants of role %s: %w", g.Role, err)
	}
	return int(n), nil
}

// RemoveObjectPrivilegeGrants implements PolicyTx.
func (p *policyTx) RemoveObjectPrivilegeGrants(ctx context.Context, role, kind, object, privilege string) (int, error) {
	name, arg := p.objectNameMatch(kind, object)
	q := `DELETE FROM grants WHERE role_name = ? AND object_kind = ? AND ` + name
	args := []any{role, kind, arg}
	if privilege != "" {
		q += ` AND privilege = ?`
		args = append(args, privilege)
	}
	n, err := p.exec(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("store: remove grants of role %s on %s %s: %w", role, kind, object, err)
	}
	return int(n), nil
}

// PutUser implements PolicyTx. A user that exists keeps its CreatedAt.
func (p *policyTx) PutUser(ctx context.Context, u User) error {
	created := u.CreatedAt
	if created.IsZero() {
		created = time.Now()
	}
	if _, err := p.exec(ctx, p.d.createUser, u.Name, created.UnixMilli()); err != nil {
		return fmt.Errorf("store: put user %s: %w", u.Name, err)
	}
	if _, err := p.exec(ctx, `DELETE FROM user_groups WHERE user_name = ?`, u.Name); err != nil {
		return fmt.Errorf("store: put user %s: %w", u.Name, err)
	}
	groups := slices.Compact(slices.Sorted(slices.Values(u.Groups)))
	for _, g := range groups {
		if _, err := p.exec(ctx, `INSERT INTO user_groups (user_name, group_name) VALUES (?, ?)`, u.Name, g); err != nil {
			return fmt.Errorf("store: put user %s: group %s: %w", u.Name, g, err)
		}
	}
	return nil
}

// DeleteUser implements PolicyTx. The user's groups go by ON DELETE
// CASCADE; access keys and tokens name users without a foreign key and are
// deleted here, only once the user is known to exist.
func (p *policyTx) DeleteUser(ctx context.Context, name string) error {
	n, err := p.exec(ctx, `DELETE FROM users WHERE name = ?`, name)
	if err != nil {
		return fmt.Errorf("store: delete user %s: %w", name, err)
	}
	if n == 0 {
		return fmt.Errorf("user %s: %w", name, ErrNotFound)
	}
	for _, q := range []string{
		`DELETE FROM access_keys WHERE user_name = ?`,
		`DELETE FROM tokens WHERE user_name = ?`,
	} {
		if _, err := p.exec(ctx, q, name); err != nil {
			return fmt.Errorf("store: delete user %s: %w", name, err)
		}
	}
	return nil
}

// execer and querier are what *sql.DB and *sql.Tx share.
type (
	execer interface {
		ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	}
	querier interface {
		QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	}
)

// execCount runs q and returns how many rows it affected.
func execCount(ctx context.Context, e execer, q string, args ...any) (int64, error) {
	res, err := e.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// each runs q and calls scan once per row.
func each(ctx context.Context, db querier, q string, scan func(row scanner) error, args ...any) error {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
