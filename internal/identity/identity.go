// Package identity holds what lakegate's authenticators and group resolvers
// share: the identity they establish and the contracts they keep. The
// authenticators live in sub-packages (jwt, ldap, kerberos); lakegate's own
// bearer tokens are internal/credentials'. Resolving a user's groups in the
// order Okera documents (seed 002) is Resolve's job (resolve.go).
package identity

import (
	"context"
	"errors"
	"time"
)

// Identity is an authenticated user.
type Identity struct {
	// User is the user name (a JWT's sub, an LDAP user name, a Kerberos
	// principal such as alice@EXAMPLE.COM).
	User string
	// Groups are the groups the credential itself carried (a JWT's groups
	// claim); nil when it carried none. Group resolution decides whether
	// they are used.
	Groups []string
	// Method names how the user was authenticated: "jwt", "token",
	// "ldap" or "kerberos".
	Method string
	// Expires is when the presented credential stops being valid (a JWT's
	// exp); zero when unknown or never.
	Expires time.Time
	// Session, for a lakegate credential issued to an earlier session
	// whose groups cannot be looked up again by user name (a token got
	// with a JWT), are the groups resolved then; Resolver returns them
	// instead of asking any source. Nil otherwise.
	Session *Groups
}

// ErrUnauthenticated is wrapped by authenticators when the credential is
// not valid (bad signature, expired, unknown user, wrong password). Any
// other error means authenticating failed for a technical reason (a
// server unreachable), and nothing may be concluded about the credential.
var ErrUnauthenticated = errors.New("unauthenticated")

// TokenAuthenticator authenticates bearer tokens.
type TokenAuthenticator interface {
	// AuthenticateToken returns the token's identity, or an error wrapping
	// ErrUnauthenticated when this authenticator does not accept the token.
	AuthenticateToken(ctx context.Context, token string) (Identity, error)
}

// PasswordAuthenticator authenticates a user name and password.
type PasswordAuthenticator interface {
	// AuthenticatePassword returns the identity, or an error wrapping
	// ErrUnauthenticated for a wrong user or password. An empty password
	// is always refused (LDAP would treat it as an anonymous bind).
	AuthenticatePassword(ctx context.Context, user, password string) (Identity, error)
}

// GroupResolver finds the groups of a user.
type GroupResolver interface {
	// Groups returns the user's groups (possibly none). An error means the
	// lookup failed; resolution may then fall back as seed 002 says.
	Groups(ctx context.Context, user string) ([]string, error)
}
