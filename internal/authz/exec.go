package authz

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/lakegate/lakegate/internal/grants"
	"github.com/lakegate/lakegate/internal/store"
)

// Errors of Exec and Check, wrapped so that the REST API can map them.
var (
	// ErrForbidden: the caller may not run the statement.
	ErrForbidden = errors.New("permission denied")
	// ErrInvalid: the statement or request cannot be carried out as
	// written (a missing role, an unknown operation…).
	ErrInvalid = errors.New("invalid request")
)

// ExecError is a statement that failed. Nothing of its script was applied.
type ExecError struct {
	// Line and Col locate the statement in the script (1-based).
	Line, Col int
	// Statement is the statement's canonical text.
	Statement string
	Err       error
}

func (e *ExecError) Error() string {
	return fmt.Sprintf("line %d, column %d: %s: %v", e.Line, e.Col, e.Statement, e.Err)
}

func (e *ExecError) Unwrap() error { return e.Err }

// Result is the outcome of one statement: a message for changes, a table
// for SHOW statements.
type Result struct {
	Statement string     `json:"statement"`
	Message   string     `json:"message,omitempty"`
	Columns   []string   `json:"columns,omitempty"`
	Rows      [][]string `json:"rows,omitempty"`
}

// maxScript bounds the text of one Exec call.
const maxScript = 1 << 20

// Exec parses script and runs its statements as caller. Changes (CREATE,
// DROP, GRANT, REVOKE) need catalog admin (catalog statements: the
// privileges ddl.go lists) and are applied in one
// transaction: all of them or, on any error, none; the new policy is in
// force for every later request of this process when Exec returns, and for
// other processes sharing the store within their poll interval (should
// reloading it after the commit fail, the changes are still reported
// done and come into force at the next successful poll). SHOW statements
// answer from the policy after the script's changes (from the policy in
// force, then).
//
// Errors: *grants.SyntaxError when the script does not parse; *ExecError
// (wrapping ErrForbidden or ErrInvalid) when a statement cannot run; other
// errors are failures of the store.
func (e *Engine) Exec(ctx context.Context, caller Principal, script string) ([]Result, error) {
	if len(script) > maxScript {
		return nil, fmt.Errorf("%w: the script exceeds %d bytes", ErrInvalid, maxScript)
	}
	stmts, err := grants.ParseScript(script)
	if err != nil {
		return nil, err
	}
	// Whether the caller may change the policy is decided on the store's
	// latest version, not on one up to a poll interval old.
	if err := e.reload(ctx, false); err != nil {
		return nil, err
	}
	results := make([]Result, len(stmts))
	var changes []int
	admin := e.IsCatalogAdmin(caller)
	run := &ddlRun{e: e, snap: e.cur.Load(), caller: caller, admin: admin,
		schemas: map[int][]store.Column{}, found: map[int]recovered{}}
	for i, st := range stmts {
		results[i].Statement = st.String()
		if !isChange(st.Statement) {
			continue
		}
		switch {
		case isCatalogChange(st.Statement):
			if err := run.authorize(st.Statement); err != nil {
				return nil, execErr(st, err)
			}
		case !admin:
			return nil, execErr(st, fmt.Errorf("%w: only catalog admins (ALL ON SERVER) may change the policy", ErrForbidden))
		}
		changes = append(changes, i)
	}
	// Files are read before the transaction, which may run more than once.
	if err := run.prefetch(ctx, stmts, changes); err != nil {
		return nil, err
	}
	if len(changes) > 0 {
		err := e.st.UpdatePolicy(ctx, func(tx store.PolicyTx) error {
			for _, i := range changes {
				var msg string
				var err error
				if isCatalogChange(stmts[i].Statement) {
					msg, err = run.applyCatalog(ctx, tx, i, stmts[i].Statement)
				} else {
					msg, err = apply(ctx, tx, stmts[i].Statement)
				}
				if err != nil {
					return execErr(stmts[i], err)
				}
				results[i].Message = msg
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		e.reloadCommitted(ctx, "policy statements")
	}
	snap := e.cur.Load()
	for i, st := range stmts {
		if isChange(st.Statement) {
			continue
		}
		var err error
		if isCatalogShow(st.Statement) {
			err = showCatalog(snap, caller, admin, st.Statement, &results[i])
		} else {
			err = show(snap, caller, admin, st.Statement, &results[i])
		}
		if err != nil {
			return nil, execErr(st, err)
		}
	}
	return results, nil
}

func execErr(st grants.Located, err error) error {
	return &ExecError{Line: st.Line, Col: st.Col, Statement: st.String(), Err: err}
}

func isChange(st grants.Statement) bool {
	switch st.(type) {
	case *grants.ShowRoles, *grants.ShowGrants, *grants.ShowRoleGrant, *grants.ShowCurrentRoles:
		return false
	}
	return !isCatalogShow(st)
}

// apply carries out one change inside tx and returns its message.
func apply(ctx context.Context, tx store.PolicyTx, st grants.Statement) (string, error) {
	switch s := st.(type) {
	case *grants.CreateRole:
		err := tx.CreateRole(ctx, s.Name)
		switch {
		case errors.Is(err, store.ErrExists) && s.IfNotExists:
			return "role " + s.Name + " already exists", nil
		case errors.Is(err, store.ErrExists):
			return "", fmt.Errorf("%w: role %s already exists", ErrInvalid, s.Name)
		case err != nil:
			return "", err
		}
		return "role " + s.Name + " created", nil
	case *grants.DropRole:
		err := tx.DropRole(ctx, s.Name)
		switch {
		case errors.Is(err, store.ErrNotFound) && s.IfExists:
			return "role " + s.Name + " does not exist", nil
		case errors.Is(err, store.ErrNotFound):
			return "", fmt.Errorf("%w: role %s does not exist", ErrInvalid, s.Name)
		case err != nil:
			return "", err
		}
		return "role " + s.Name + " dropped", nil
	case *grants.GrantRole:
		err := tx.GrantRoleToGroup(ctx, s.Role, s.Group)
		if errors.Is(err, store.ErrNotFound) {
			return "", fmt.Errorf("%w: role %s does not exist", ErrInvalid, s.Role)
		}
		if err != nil {
			return "", err
		}
		return "role " + s.Role + " granted to group " + s.Group, nil
	case *grants.RevokeRole:
		err := tx.RevokeRoleFromGroup(ctx, s.Role, s.Group)
		if errors.Is(err, store.ErrNotFound) {
			return "", fmt.Errorf("%w: role %s is not granted to group %s", ErrInvalid, s.Role, s.Group)
		}
		if err != nil {
			return "", err
		}
		return "role " + s.Role + " revoked from group " + s.Group, nil
	case *grants.GrantPrivileges:
		if err := requireRole(ctx, tx, s.Role); err != nil {
			return "", err
		}
		for _, row := range grantRows(s.Role, s.Privileges, s.Object, s.Where, s.OptionsKey()) {
			if err := tx.AddGrant(ctx, row); err != nil {
				return "", err
			}
		}
		return "granted", nil
	case *grants.RevokePrivileges:
		if err := requireRole(ctx, tx, s.Role); err != nil {
			return "", err
		}
		privs := s.Privileges
		if privs.Has(grants.All) {
			// REVOKE ALL takes away every privilege on the object.
			privs = grants.Privileges(grants.All)
		}
		n := 0
		for _, row := range grantRows(s.Role, privs, s.Object, "", "") {
			if privs == grants.Privileges(grants.All) {
				row.Privilege = ""
			}
			var removed int
			var err error
			if s.Object.Columns == nil {
				// Every variant: whatever row filter, masks or
				// attribute condition the grants carry.
				removed, err = tx.RemoveObjectPrivilegeGrants(ctx, row.Role, row.ObjectKind, row.Object, row.Privilege)
			} else {
				// The grant with exactly this column list, no filter
				// and no mask.
				removed, err = tx.RemoveGrants(ctx, row)
			}
			if err != nil {
				return "", err
			}
			n += removed
		}
		if n == 0 {
			// A privilege held through ALL is not a grant of its own.
			return "nothing to revoke: role " + s.Role + " holds no grant of " + privs.String() + " on " +
				s.Object.String() + " (REVOKE ALL removes every privilege on it, including ALL)", nil
		}
		return fmt.Sprintf("%d privilege(s) revoked", n), nil
	}
	return "", fmt.Errorf("%w: statement %T cannot change the policy", ErrInvalid, st)
}

func requireRole(ctx context.Context, tx store.PolicyTx, role string) error {
	ok, err := tx.RoleExists(ctx, role)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: role %s does not exist", ErrInvalid, role)
	}
	return nil
}

// grantRows are the stored rows of privs on o, one per privilege.
func grantRows(role string, privs grants.Privileges, o grants.Object, where, options string) []store.Grant {
	var rows []store.Grant
	for _, p := range privs.List() {
		rows = append(rows, store.Grant{
			Role: role, Privilege: p.String(), ObjectKind: o.Kind.String(),
			Object: o.ObjectKey(), Columns: o.ColumnsKey(), RowFilter: where, Options: options,
		})
	}
	return rows
}

// show answers a SHOW statement from snap. Catalog admins see everything;
// other users see their own roles and groups only.
func show(snap *snapshot, caller Principal, admin bool, st grants.Statement, r *Result) error {
	roles := snap.data.Roles
	held := map[string]bool{}
	for _, role := range roles {
		for _, g := range role.Groups {
			if slices.Contains(caller.Groups, g) {
				held[role.Name] = true
			}
		}
	}
	switch s := st.(type) {
	case *grants.ShowRoles:
		r.Columns = []string{"role"}
		for _, role := range roles {
			if admin || held[role.Name] {
				r.Rows = append(r.Rows, []string{role.Name})
			}
		}
	case *grants.ShowCurrentRoles:
		r.Columns = []string{"role", "via_group"}
		for _, role := range roles {
			for _, g := range role.Groups {
				if slices.Contains(caller.Groups, g) {
					r.Rows = append(r.Rows, []string{role.Name, g})
				}
			}
		}
	case *grants.ShowRoleGrant:
		if !admin && !slices.Contains(caller.Groups, s.Group) {
			return fmt.Errorf("%w: only catalog admins may show the roles of a group they are not in", ErrForbidden)
		}
		r.Columns = []string{"role"}
		for _, role := range roles {
			if slices.Contains(role.Groups, s.Group) {
				r.Rows = append(r.Rows, []string{role.Name})
			}
		}
	case *grants.ShowGrants:
		if !admin && !held[s.Role] {
			return fmt.Errorf("%w: only catalog admins may show the grants of a role they do not hold", ErrForbidden)
		}
		i := slices.IndexFunc(roles, func(role store.RoleRecord) bool { return role.Name == s.Role })
		if i < 0 {
			return fmt.Errorf("%w: role %s does not exist", ErrInvalid, s.Role)
		}
		gs, err := mergeGrants(roles[i].Grants)
		if err != nil {
			return err
		}
		r.Columns = []string{"privileges", "object", "grant"}
		for _, g := range gs {
			obj := g.Object.String()
			if g.Where != "" {
				obj += " WHERE " + g.Where
			}
			r.Rows = append(r.Rows, []string{g.Privileges.String(), obj, g.String()})
		}
	default:
		return fmt.Errorf("%w: unexpected statement %s", ErrInvalid, strings.TrimSpace(st.String()))
	}
	return nil
}
