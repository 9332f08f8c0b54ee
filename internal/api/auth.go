package api

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/lakegate/lakegate/internal/audit"
	"github.com/lakegate/lakegate/internal/authz"
	"github.com/lakegate/lakegate/internal/credentials"
	"github.com/lakegate/lakegate/internal/identity"
	"github.com/lakegate/lakegate/internal/jsonhttp"
)

// Negotiator authenticates Kerberos SPNEGO (Authorization: Negotiate).
type Negotiator interface {
	// Negotiate returns the identity, or an error wrapping
	// identity.ErrUnauthenticated for a missing or invalid token.
	Negotiate(r *http.Request) (identity.Identity, error)
}

// GroupResolver resolves the groups of an authenticated identity (seed
// 002's order); see identity.Resolver.
type GroupResolver interface {
	Resolve(ctx context.Context, id identity.Identity) (identity.Groups, error)
}

var _ GroupResolver = (*identity.Resolver)(nil)

// TokenGranter is a password check that also hands out a token: Okera's
// external token-granting endpoint (SSO_URL, internal/identity/sso). When
// Options.Passwords implements it, Basic logins use GrantToken, and POST
// /api/get-token answers such a login with the granted token itself (as
// Okera's get-token does) instead of a lakegate token.
type TokenGranter interface {
	// GrantToken returns the identity the granted token proves and the
	// token, or an error wrapping identity.ErrUnauthenticated for a wrong
	// user name or password; other errors are technical.
	GrantToken(ctx context.Context, user, password string) (identity.Identity, string, error)
}

// errNoCredentials is a request without any Authorization the server
// accepts; errBadBearer one whose bearer token no authenticator accepts;
// errBadPassword one whose user name and password were refused.
var (
	errNoCredentials = errors.New("authentication required")
	errBadBearer     = errors.New("the bearer token is not valid")
	errBadPassword   = errors.New("wrong user name or password")
)

// passwordCheckError is a technical failure of the password check (LDAP
// or the SSO endpoint unreachable or misbehaving). Its text stays in the
// log; the client is told the check could not be made.
type passwordCheckError struct{ err error }

func (e *passwordCheckError) Error() string { return "checking the password: " + e.err.Error() }
func (e *passwordCheckError) Unwrap() error { return e.err }

// authenticate establishes who sent r: a lakegate token or another bearer
// token (a JWT) in Authorization: Bearer, Kerberos in Authorization:
// Negotiate, or a user name and password in Authorization: Basic, checked
// by LDAP or the SSO endpoint. granted is the token the SSO endpoint
// issued for a Basic login ("" otherwise). Bad credentials give an error
// wrapping identity.ErrUnauthenticated; a technical failure of the
// password check a *passwordCheckError.
func (h *handler) authenticate(r *http.Request) (id identity.Identity, granted string, err error) {
	ctx := r.Context()
	scheme, value, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	value = strings.TrimSpace(value)
	// The scheme is case-insensitive (RFC 7235 section 2.1).
	switch {
	case strings.EqualFold(scheme, "Bearer") && value != "":
		id, err := credentials.AuthenticateBearer(ctx, h.Tokens, value, h.TokenAuthenticators)
		if errors.Is(err, identity.ErrUnauthenticated) {
			return identity.Identity{}, "", errors.Join(errBadBearer, err)
		}
		return id, "", err
	case strings.EqualFold(scheme, "Negotiate") && h.Negotiator != nil:
		id, err := h.Negotiator.Negotiate(r)
		return id, "", err
	case strings.EqualFold(scheme, "Basic") && h.Passwords != nil:
		raw, err := base64.StdEncoding.DecodeString(value)
		if err != nil {
			return identity.Identity{}, "", errors.Join(identity.ErrUnauthenticated, errBadPassword, errors.New("malformed Basic credentials"))
		}
		user, password, ok := strings.Cut(string(raw), ":")
		if !ok {
			return identity.Identity{}, "", errors.Join(identity.ErrUnauthenticated, errBadPassword, errors.New("malformed Basic credentials"))
		}
		if g, ok := h.Passwords.(TokenGranter); ok {
			id, granted, err = g.GrantToken(ctx, user, password)
		} else {
			id, err = h.Passwords.AuthenticatePassword(ctx, user, password)
		}
		switch {
		case errors.Is(err, identity.ErrUnauthenticated):
			return identity.Identity{}, "", errors.Join(errBadPassword, err)
		case err != nil:
			return identity.Identity{}, "", &passwordCheckError{err: err}
		}
		return id, granted, nil
	}
	return identity.Identity{}, "", errors.Join(identity.ErrUnauthenticated, errNoCredentials)
}

// challenge answers 401 with the schemes the server accepts.
func (h *handler) challenge(w http.ResponseWriter, err error) {
	msg := "invalid or expired credentials"
	switch {
	case errors.Is(err, errBadPassword):
		msg = "wrong user name or password"
		w.Header().Add("WWW-Authenticate", `Bearer realm="lakegate"`)
	case errors.Is(err, errBadBearer):
		msg = "invalid or expired token"
		w.Header().Add("WWW-Authenticate", `Bearer realm="lakegate", error="invalid_token"`)
	case errors.Is(err, errNoCredentials):
		msg = "authentication required: send Authorization: Bearer <token>"
		w.Header().Add("WWW-Authenticate", `Bearer realm="lakegate"`)
	default:
		w.Header().Add("WWW-Authenticate", `Bearer realm="lakegate"`)
	}
	if h.Negotiator != nil {
		w.Header().Add("WWW-Authenticate", "Negotiate")
	}
	if h.Passwords != nil {
		w.Header().Add("WWW-Authenticate", `Basic realm="lakegate", charset="UTF-8"`)
	}
	jsonhttp.Error(w, http.StatusUnauthorized, msg)
}

// caller is an authenticated request's identity and principal, with the
// groups of its session (nil when the users table lists the user) and the
// token an SSO endpoint granted for this very request's password ("" for
// any other authentication).
type caller struct {
	id      identity.Identity
	p       authz.Principal
	session *identity.Groups
	granted string
}

// principal resolves who id is for authorization: the users table's
// groups for a lakegate token issued to a user it lists (one that carries
// no session), else the groups resolved for the identity (seed 002), else
// those the credential carried. An identity from outside (a JWT, LDAP,
// Kerberos, SSO) never gets the users table's groups, whatever its name:
// a JWT whose sub is admin is not the bootstrap admin. A principal the
// engine finds outside the required group (users of the users table,
// whom the resolver does not see) is refused with an error wrapping
// identity.ErrNotInRequiredGroup, as the resolver refuses the others.
func (h *handler) principal(ctx context.Context, id identity.Identity) (caller, error) {
	p, session, err := authz.PrincipalOf(ctx, h.Engine, h.Groups, id)
	if err != nil {
		return caller{}, err
	}
	return caller{id: id, p: p, session: session}, nil
}

// authed authenticates the request and passes the caller on.
func (h *handler) authed(next func(w http.ResponseWriter, r *http.Request, caller authz.Principal)) http.HandlerFunc {
	return h.authedID(func(w http.ResponseWriter, r *http.Request, c caller) {
		next(w, r, c.p)
	})
}

// authedID is authed for handlers that need the identity too.
func (h *handler) authedID(next func(w http.ResponseWriter, r *http.Request, c caller)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		// Fail closed while the policy may miss a change made through
		// another server (a REVOKE): who the caller is and may do depend
		// on it.
		if err := h.Engine.Fresh(); err != nil {
			h.internal(w, r, err)
			return
		}
		id, granted, ok := h.identify(w, r)
		if !ok {
			return
		}
		c, ok := h.resolve(w, r, id, granted)
		if !ok {
			return
		}
		next(w, r, c)
	}
}

// identify authenticates r; on failure it has answered (401, 502 or 500).
func (h *handler) identify(w http.ResponseWriter, r *http.Request) (identity.Identity, string, bool) {
	id, granted, err := h.authenticate(r)
	var pwErr *passwordCheckError
	switch {
	case errors.Is(err, identity.ErrUnauthenticated):
		h.log.Info("REST authentication failed", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr, "err", err.Error())
		h.challenge(w, err)
		return identity.Identity{}, "", false
	case errors.As(err, &pwErr):
		h.log.Error("REST password check failed", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr, "err", err.Error())
		jsonhttp.Error(w, http.StatusBadGateway, "the password could not be checked: the sign-in service (LDAP or SSO) failed; the server log says why")
		return identity.Identity{}, "", false
	case err != nil:
		h.internal(w, r, err)
		return identity.Identity{}, "", false
	}
	return id, granted, true
}

// resolve finds the principal of an authenticated identity, records it in
// the audit event and bounds the request body; on failure it has answered.
func (h *handler) resolve(w http.ResponseWriter, r *http.Request, id identity.Identity, granted string) (caller, bool) {
	c, err := h.principal(r.Context(), id)
	if errors.Is(err, identity.ErrNotInRequiredGroup) || errors.Is(err, identity.ErrUnauthenticated) {
		jsonhttp.Error(w, http.StatusForbidden, "access refused: "+err.Error())
		return caller{}, false
	}
	if err != nil {
		h.internal(w, r, err)
		return caller{}, false
	}
	c.granted = granted
	if ev := audit.FromContext(r.Context()); ev != nil {
		ev.User, ev.AuthMethod, ev.Groups = id.User, id.Method, c.p.Groups
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	return c, true
}

// HealthAuthenticated is the answer of GET /api/health-authenticated, as
// Okera's: the token is always null (it is never echoed).
type HealthAuthenticated struct {
	Health string  `json:"health"`
	Token  *string `json:"token"`
	User   string  `json:"user"`
}

func (h *handler) healthAuthenticated(w http.ResponseWriter, _ *http.Request, c caller) {
	jsonhttp.Write(w, http.StatusOK, HealthAuthenticated{Health: "ok", User: c.id.User})
}

// UserResponse is the answer of GET /api/get-user.
type UserResponse struct {
	User   string   `json:"user"`
	Groups []string `json:"groups"`
	// Method says how the request was authenticated.
	Method string `json:"auth_method"`
}

func (h *handler) getUser(w http.ResponseWriter, _ *http.Request, c caller) {
	// The groups as resolved, not only those the policy names.
	groups := c.p.Groups
	if c.session != nil {
		groups = c.session.Names
	}
	if groups == nil {
		groups = []string{}
	}
	jsonhttp.Write(w, http.StatusOK, UserResponse{User: c.id.User, Groups: groups, Method: c.id.Method})
}

// TokenResponse is the answer of POST /api/get-token: Okera's {"token":
// …}, with who the token is for and how the request was authenticated.
type TokenResponse struct {
	Token string `json:"token"`
	// User is the token's user.
	User string `json:"user,omitempty"`
	// Method says how the request was authenticated: "sso" (the token is
	// the one SSO_URL granted), "ldap", "kerberos", "jwt" or "token".
	Method string `json:"auth_method,omitempty"`
	// Expires is when the token stops being valid (RFC 3339), when known.
	Expires string `json:"expires,omitempty"`
}

// tokenTTL is how long a token from /api/get-token lasts; tokenReuse is
// how long the same token is handed out again to its user (seed 002: "New
// tokens are cached for one hour on a per-user basis").
const (
	tokenTTL   = 24 * time.Hour
	tokenReuse = time.Hour
)

// tokenCache keeps the token last issued to each user and session (the
// groups the token carries), in memory only.
type tokenCache struct {
	mu sync.Mutex
	m  map[tokenKey]cachedToken
}

// tokenKey is a user and the session groups its token carries
// (identity.SessionKey, which no two sessions share).
type tokenKey struct{ user, session string }

func newTokenKey(user string, session *identity.Groups) tokenKey {
	return tokenKey{user: user, session: identity.SessionKey(user, session)}
}

type cachedToken struct {
	raw     string
	created time.Time
	expires time.Time
}

// get returns the token issued to k within the hour, unless it would
// outlive notAfter (the presented credential's expiry; zero: none).
func (c *tokenCache) get(k tokenKey, now, notAfter time.Time) (cachedToken, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.m[k]
	if !ok || now.Sub(t.created) >= tokenReuse || (!notAfter.IsZero() && t.expires.After(notAfter)) {
		return cachedToken{}, false
	}
	return t, true
}

// drop forgets the tokens of user, which were revoked.
func (c *tokenCache) drop(user string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.m {
		if k.user == user {
			delete(c.m, k)
		}
	}
}

func (c *tokenCache) put(k tokenKey, t cachedToken) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[tokenKey]cachedToken{}
	}
	for u, old := range c.m { // drop stale entries so the map stays small
		if t.created.Sub(old.created) >= tokenReuse {
			delete(c.m, u)
		}
	}
	c.m[k] = t
}

// carriedGroups are the groups a token issued to c must carry: those of
// c's session, as resolved now, for any caller but a user of the users
// table (nil: the users table's groups at each use). A token issued to an
// outside identity must carry them even where a source could look them
// up again by user name (LDAP, the host): a token without a session acts
// as the users table's user of that name.
func carriedGroups(c caller) *identity.Groups {
	return c.session
}

// getToken answers POST /api/get-token. A login through the SSO endpoint
// (SSO_URL) gets the token that endpoint granted, as Okera's get-token
// hands out; later calls authenticate with it as a bearer JWT. Any other
// authenticated user (Kerberos, LDAP password, a JWT, a lakegate token)
// gets a lakegate token, the same one again within the hour. Seed 002
// makes a JWT and such a token interchangeable: a token got with a JWT
// carries the groups of its claim and expires no later than the JWT.
func (h *handler) getToken(w http.ResponseWriter, r *http.Request, c caller) {
	id := c.id
	resp := TokenResponse{User: id.User, Method: id.Method}
	if c.granted != "" {
		resp.Token = c.granted
		if !id.Expires.IsZero() {
			resp.Expires = id.Expires.UTC().Format(time.RFC3339)
		}
		jsonhttp.Write(w, http.StatusOK, resp)
		return
	}
	now := time.Now()
	ttl := tokenTTL
	if !id.Expires.IsZero() {
		// Whole seconds, so that the expiry the answer states (RFC 3339)
		// is never after the credential's.
		left := id.Expires.Truncate(time.Second).Sub(now)
		if left <= 0 {
			h.challenge(w, identity.ErrUnauthenticated)
			return
		}
		ttl = min(ttl, left)
	}
	groups := carriedGroups(c)
	key := newTokenKey(id.User, groups)
	t, ok := h.tokens.get(key, now, id.Expires)
	if !ok {
		raw, err := h.Tokens.IssueSession(r.Context(), id.User, groups, ttl)
		if err != nil {
			h.internal(w, r, err)
			return
		}
		t = cachedToken{raw: raw, created: now, expires: now.Add(ttl)}
		h.tokens.put(key, t)
	}
	resp.Token, resp.Expires = t.raw, t.expires.UTC().Format(time.RFC3339)
	jsonhttp.Write(w, http.StatusOK, resp)
}

// AWSCredentials is the answer of POST /api/aws-credentials: the JSON an
// AWS SDK's credential_process expects.
type AWSCredentials struct {
	Version         int    `json:"Version"`
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	SessionToken    string `json:"SessionToken,omitempty"`
	Expiration      string `json:"Expiration,omitempty"`
}

// DefaultCredentialTTL is how long keys from /api/aws-credentials last when
// GO_REST_AWS_TOKEN_EXPIRY does not say.
const DefaultCredentialTTL = 12 * time.Hour

// awsCredentials exchanges an authenticated identity for AWS-style keys
// unique to the user, expiring after the credential TTL (and never after
// the presented JWT expires): POST /api/aws-credentials.
func (h *handler) awsCredentials(w http.ResponseWriter, r *http.Request, c caller) {
	id := c.id
	ttl := h.CredentialTTL
	if ttl <= 0 {
		ttl = DefaultCredentialTTL
	}
	if !id.Expires.IsZero() {
		left := time.Until(id.Expires)
		if left <= 0 {
			h.challenge(w, identity.ErrUnauthenticated)
			return
		}
		ttl = min(ttl, left)
	}
	k, err := h.Keys.IssueSession(r.Context(), id.User, c.session, ttl)
	if err != nil {
		h.internal(w, r, err)
		return
	}
	jsonhttp.Write(w, http.StatusOK, AWSCredentials{
		Version: 1, AccessKeyID: k.AccessKeyID, SecretAccessKey: k.SecretAccessKey,
		SessionToken: k.SessionToken, Expiration: k.ExpiresAt.UTC().Format(time.RFC3339),
	})
}
