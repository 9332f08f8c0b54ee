package authz

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/lakegate/lakegate/internal/store"
)

// AdminRole is the role Bootstrap creates for a new policy store.
const AdminRole = "admin_role"

// Bootstrap prepares the policy store for adminUser. On a store where no
// policy change was ever committed it creates AdminRole, grants it ALL ON
// SERVER and grants it to adminGroup, so a fresh installation has a catalog
// admin; later it never touches roles again, so an admin's REVOKE sticks.
// It makes sure adminUser exists, in adminGroup among others.
func (e *Engine) Bootstrap(ctx context.Context, adminUser, adminGroup string) error {
	if err := e.reload(ctx, false); err != nil {
		return err
	}
	fresh := e.cur.Load().version == 0
	u, known := e.user(adminUser)
	if !fresh && known && slices.Contains(u, adminGroup) {
		return nil
	}
	err := e.st.UpdatePolicy(ctx, func(tx store.PolicyTx) error {
		if fresh {
			if err := tx.CreateRole(ctx, AdminRole); err != nil && !errors.Is(err, store.ErrExists) {
				return err
			}
			if err := tx.AddGrant(ctx, store.Grant{Role: AdminRole, Privilege: "ALL", ObjectKind: "SERVER"}); err != nil {
				return err
			}
			if err := tx.GrantRoleToGroup(ctx, AdminRole, adminGroup); err != nil {
				return err
			}
		}
		groups := append(slices.Clone(u), adminGroup)
		return tx.PutUser(ctx, store.User{Name: adminUser, Groups: groups})
	})
	if err != nil {
		return fmt.Errorf("authz: bootstrap: %w", err)
	}
	return e.reload(ctx, true)
}

// ConfigAdminRole is the role that makes the groups of admin.groups
// catalog admin. SyncAdminGroups owns its group list: grants of it made
// with SQL are undone at the next start.
const ConfigAdminRole = "config_admin_role"

// SyncAdminGroups makes exactly the groups of groups catalog admin
// through ConfigAdminRole (created with ALL ON SERVER when missing): the
// role is granted to the groups it lacks and revoked from those no longer
// named, in one change, so that a group taken out of admin.groups loses
// what the configuration gave it. It returns the groups it granted the
// role to and those it revoked it from.
func (e *Engine) SyncAdminGroups(ctx context.Context, groups []string) (added, removed []string, err error) {
	if err := e.reload(ctx, false); err != nil {
		return nil, nil, err
	}
	var role *store.RoleRecord
	for i, r := range e.cur.Load().data.Roles {
		if r.Name == ConfigAdminRole {
			role = &e.cur.Load().data.Roles[i]
		}
	}
	hasAll := false
	var current []string
	if role != nil {
		current = role.Groups
		for _, g := range role.Grants {
			hasAll = hasAll || g.Privilege == "ALL" && g.ObjectKind == "SERVER" && g.Object == ""
		}
	}
	for _, g := range groups {
		if !slices.Contains(current, g) && !slices.Contains(added, g) {
			added = append(added, g)
		}
	}
	for _, g := range current {
		if !slices.Contains(groups, g) {
			removed = append(removed, g)
		}
	}
	if len(added) == 0 && len(removed) == 0 && (role == nil || hasAll) {
		return nil, nil, nil
	}
	err = e.st.UpdatePolicy(ctx, func(tx store.PolicyTx) error {
		if err := tx.CreateRole(ctx, ConfigAdminRole); err != nil && !errors.Is(err, store.ErrExists) {
			return err
		}
		if err := tx.AddGrant(ctx, store.Grant{Role: ConfigAdminRole, Privilege: "ALL", ObjectKind: "SERVER"}); err != nil && !errors.Is(err, store.ErrExists) {
			return err
		}
		for _, g := range added {
			if err := tx.GrantRoleToGroup(ctx, ConfigAdminRole, g); err != nil && !errors.Is(err, store.ErrExists) {
				return err
			}
		}
		for _, g := range removed {
			if err := tx.RevokeRoleFromGroup(ctx, ConfigAdminRole, g); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("authz: admin groups: %w", err)
	}
	return added, removed, e.reload(ctx, true)
}

func (e *Engine) user(name string) ([]string, bool) {
	g, ok := e.cur.Load().users[name]
	return g, ok
}

// PutUser creates user name with groups, or replaces its groups. The
// change is in force when PutUser returns (see reloadCommitted).
func (e *Engine) PutUser(ctx context.Context, name string, groups []string) error {
	if name == "" {
		return fmt.Errorf("%w: a user name is required", ErrInvalid)
	}
	err := e.st.UpdatePolicy(ctx, func(tx store.PolicyTx) error {
		return tx.PutUser(ctx, store.User{Name: name, Groups: groups})
	})
	if err != nil {
		return err
	}
	e.reloadCommitted(ctx, "user "+name)
	return nil
}

// DeleteUser removes the user with its access keys and tokens.
func (e *Engine) DeleteUser(ctx context.Context, name string) error {
	err := e.st.UpdatePolicy(ctx, func(tx store.PolicyTx) error {
		return tx.DeleteUser(ctx, name)
	})
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: user %s does not exist", ErrInvalid, name)
	}
	if err != nil {
		return err
	}
	e.reloadCommitted(ctx, "user "+name)
	return nil
}
