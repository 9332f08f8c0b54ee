package identity

import (
	"context"
	"errors"
	"fmt"
	"os/user"
)

// UnixGroups is seed 002's approach 1: it asks the host for a user's Unix
// groups, as `id -Gn <user>` would answer, through os/user (the C library's
// NSS when built with cgo, /etc/passwd and /etc/group otherwise). The names
// are returned as the host spells them: Unix group names are
// case-sensitive.
//
// A user the host does not know is in no group, which is not an error: in
// a configuration with both JWT and Kerberos every user goes through here,
// including JWT users the host has never heard of (Hadoop's shell group
// mapping, which Okera used, answers the same). A group ID without a name
// is left out, since no grant can name it. Any other failure is an error.
//
// The user name is looked up as given; a Kerberos principal such as
// alice@EXAMPLE.COM must be mapped to its short name by the caller first
// if the host knows the user as alice.
//
// os/user cannot be cancelled; ctx is only checked before the lookup.
type UnixGroups struct{}

var _ GroupResolver = UnixGroups{}

// Groups implements GroupResolver.
func (UnixGroups) Groups(ctx context.Context, name string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("identity: unix groups of %q: %w", name, err)
	}
	if name == "" {
		return nil, nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		if _, ok := errors.AsType[user.UnknownUserError](err); ok {
			return nil, nil
		}
		return nil, fmt.Errorf("identity: unix groups of %q: %w", name, err)
	}
	gids, err := u.GroupIds()
	if err != nil {
		return nil, fmt.Errorf("identity: unix groups of %q: %w", name, err)
	}
	names := make([]string, 0, len(gids))
	for _, gid := range gids {
		g, err := user.LookupGroupId(gid)
		if err != nil {
			if _, ok := errors.AsType[user.UnknownGroupIdError](err); ok {
				continue
			}
			return nil, fmt.Errorf("identity: unix groups of %q: group %s: %w", name, gid, err)
		}
		names = append(names, g.Name)
	}
	return names, nil
}
