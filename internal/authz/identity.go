package authz

import (
	"context"
	"fmt"

	"github.com/lakegate/lakegate/internal/credentials"
	"github.com/lakegate/lakegate/internal/identity"
)

// PrincipalSource is what PrincipalOf needs of the engine (the REST API
// and the Flight SQL listener hold it behind their own interfaces).
type PrincipalSource interface {
	KnownUser(user string) bool
	SessionPrincipal(user string, session *identity.Groups) Principal
}

// GroupResolver resolves an authenticated identity's groups (seed 002's
// resolvers; *identity.Resolver).
type GroupResolver interface {
	Resolve(ctx context.Context, id identity.Identity) (identity.Groups, error)
}

// PrincipalOf resolves who an authenticated identity is for
// authorization: the users table's groups for a lakegate token without a
// session issued to a user it lists, else the groups resolver's answer
// (when resolver is not nil), else the groups the credential carried (a
// JWT's claim, a session's). It returns the session groups used (nil for
// the users table's). Outside the required group is an error wrapping
// identity.ErrNotInRequiredGroup.
func PrincipalOf(ctx context.Context, e PrincipalSource, resolver GroupResolver, id identity.Identity) (Principal, *identity.Groups, error) {
	var p Principal
	var session *identity.Groups
	if id.Method == credentials.MethodToken && id.Session == nil && e.KnownUser(id.User) {
		p = e.SessionPrincipal(id.User, nil)
	} else {
		g := identity.Groups{Names: id.Groups, CaseInsensitive: true, Source: identity.SourceJWT}
		if id.Session != nil {
			g = *id.Session
		}
		if resolver != nil {
			var err error
			if g, err = resolver.Resolve(ctx, id); err != nil {
				return Principal{}, nil, err
			}
		}
		if g.Names == nil {
			g.Names = []string{}
		}
		p, session = e.SessionPrincipal(id.User, &g), &g
	}
	if p.MissingGroup != "" {
		return Principal{}, nil, fmt.Errorf("user %q: %w %q", id.User, identity.ErrNotInRequiredGroup, p.MissingGroup)
	}
	return p, session, nil
}
