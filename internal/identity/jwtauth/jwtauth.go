// Package jwtauth authenticates bearer JSON Web Tokens the way Okera's JWT
// settings do (seed 002). A remote validation endpoint
// (JWT_AUTHENTICATION_SERVER_URL) is asked first; a token it does not
// validate is verified with the configured public keys (JWT_PUBLIC_KEY and
// JWT_ALGORITHM) and then with the keys of a JWKS, given directly or found
// by OpenID Connect discovery. The token is valid as soon as one key
// verifies it and its claims hold: sub is required, exp and nbf are
// honoured with a clock skew, and with a maximum lifetime (lakegate's
// default) exp is required and bounded, so no token is valid forever.
//
// Signatures are checked by github.com/golang-jwt/jwt/v5, not jwx: jwx v3
// needs modules go.mod does not hold (httprc/v3, dsig, fastjson), while
// golang-jwt is already in the module graph and has no dependencies. The
// JWKS cache (jwks.go) is lakegate's own.
package jwtauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	"github.com/lakegate/lakegate/internal/identity"
)

// Method is the Identity.Method of users authenticated here.
const Method = "jwt"

// Defaults for zero Options fields.
const (
	DefaultClockSkew              = time.Minute
	DefaultJWKSRefreshInterval    = 5 * time.Minute
	DefaultJWKSMinRefreshInterval = 10 * time.Second
	DefaultHTTPTimeout            = 10 * time.Second
)

// MaxTokenBytes bounds the tokens looked at; longer ones are refused
// unread (real JWTs, even with hundreds of groups, stay far below).
const MaxTokenBytes = 64 << 10

// Options configure an Authenticator. At least one of PublicKeys, JWKSURL,
// IssuerURL and RemoteURL must be set.
type Options struct {
	// PublicKeys verify tokens signed with their private keys. A token is
	// tried with every key configured for the algorithm its header names.
	PublicKeys []Key
	// JWKSURL is a JSON Web Key Set whose keys verify tokens after the
	// PublicKeys. A key with "alg" verifies that algorithm only; an RSA
	// key without one verifies RS256 and RS512. A token naming a key ID
	// (kid) is tried with that key only.
	JWKSURL string
	// IssuerURL is an OpenID Connect issuer: New fetches
	// <IssuerURL>/.well-known/openid-configuration, requires its issuer to
	// be IssuerURL exactly and uses its jwks_uri as the JWKS. Tokens
	// verified with those keys must have iss IssuerURL. Set JWKSURL or
	// IssuerURL, not both.
	IssuerURL string
	// Audience, when set, must be among the token's aud values. It applies
	// to tokens verified with any key, not to the remote endpoint.
	Audience string
	// Issuer, when set, must be the token's iss, whichever key verified
	// it. With IssuerURL it may only repeat IssuerURL.
	Issuer string
	// RemoteURL is Okera's JWT_AUTHENTICATION_SERVER_URL: every token is
	// first POSTed there with "Authorization: Bearer <token>" and
	// "Accept: application/json"; a 2xx answer {"sub": "<user>"}
	// authenticates the user. A 5xx answer or a transport failure is a
	// technical error unless a key then accepts the token.
	RemoteURL string
	// HTTPClient makes the discovery, JWKS and remote requests; nil means
	// a client with a DefaultHTTPTimeout timeout.
	HTTPClient *http.Client
	// ClockSkew is the leeway for exp and nbf; zero means DefaultClockSkew.
	ClockSkew time.Duration
	// RequireExpiry refuses tokens without exp. Okera does not require exp,
	// so neither does the default; MaxLifetime implies it.
	RequireExpiry bool
	// MaxLifetime, when positive, refuses tokens without exp and tokens
	// valid for longer than this: exp-iat (when iat is present) and
	// exp-now must not exceed it (exp-now by at most the clock skew). A
	// forever-valid token cannot be made short-lived by a small iat.
	MaxLifetime time.Duration
	// JWKSRefreshInterval is how often the JWKS is fetched again, in the
	// background while the old keys keep serving; zero means
	// DefaultJWKSRefreshInterval.
	JWKSRefreshInterval time.Duration
	// JWKSMinRefreshInterval is the least time between two fetches of the
	// JWKS. A token naming an unknown key ID fetches it at once unless one
	// happened within this interval; zero means
	// DefaultJWKSMinRefreshInterval.
	JWKSMinRefreshInterval time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Validate reports every problem with the options, without reading key
// files or making requests (New does both).
func (o Options) Validate() error {
	var errs []error
	if len(o.PublicKeys) == 0 && o.JWKSURL == "" && o.IssuerURL == "" && o.RemoteURL == "" {
		errs = append(errs, errors.New("jwt: configure at least one of public keys, a JWKS URL, an OIDC issuer URL or a remote validation URL"))
	}
	for i, k := range o.PublicKeys {
		for _, err := range k.validate(i) {
			errs = append(errs, fmt.Errorf("jwt: %w", err))
		}
	}
	if o.JWKSURL != "" && o.IssuerURL != "" {
		errs = append(errs, errors.New("jwt: set a JWKS URL or an OIDC issuer URL, not both"))
	}
	for _, u := range []struct{ name, value string }{
		{"JWKS URL", o.JWKSURL},
		{"OIDC issuer URL", o.IssuerURL},
		{"remote validation URL", o.RemoteURL},
	} {
		if u.value == "" {
			continue
		}
		if err := checkHTTPURL(u.value); err != nil {
			errs = append(errs, fmt.Errorf("jwt: %s: %w", u.name, err))
		}
	}
	if o.IssuerURL != "" && o.Issuer != "" && o.Issuer != o.IssuerURL {
		errs = append(errs, fmt.Errorf("jwt: issuer %q differs from the OIDC issuer URL %q; tokens could never match both", o.Issuer, o.IssuerURL))
	}
	for _, d := range []struct {
		name  string
		value time.Duration
	}{
		{"clock skew", o.ClockSkew},
		{"maximum lifetime", o.MaxLifetime},
		{"JWKS refresh interval", o.JWKSRefreshInterval},
		{"JWKS minimum refresh interval", o.JWKSMinRefreshInterval},
	} {
		if d.value < 0 {
			errs = append(errs, fmt.Errorf("jwt: %s is negative (%s)", d.name, d.value))
		}
	}
	return errors.Join(errs...)
}

// Authenticator authenticates bearer JWTs. It is safe for concurrent use
// and holds no goroutine between requests (JWKS fetches run only while a
// refresh is under way), so it needs no closing.
type Authenticator struct {
	remote     *remoteValidator // nil without RemoteURL
	keys       []verificationKey
	jwks       *jwksCache // nil without JWKSURL or IssuerURL
	jwksIssuer string     // the iss of tokens verified with the JWKS, "" for any
	issuer     string
	audience   string
	parser     *gojwt.Parser
	// maxLifetime bounds exp-iat and exp-now (0: unbounded); skew and now
	// are the parser's leeway and clock.
	maxLifetime time.Duration
	skew        time.Duration
	now         func() time.Time
}

var _ identity.TokenAuthenticator = (*Authenticator)(nil)

// New validates the options, reads the public keys and, with JWKSURL or
// IssuerURL, fetches the JWKS (after discovery) using ctx. It fails when
// any of that fails, so a wrong URL or key shows at startup; it reports
// every problem it finds.
func New(ctx context.Context, opts Options) (*Authenticator, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	client := opts.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: DefaultHTTPTimeout}
	}
	skew := orDefault(opts.ClockSkew, DefaultClockSkew)
	a := &Authenticator{issuer: opts.Issuer, audience: opts.Audience, maxLifetime: opts.MaxLifetime, skew: skew, now: now}

	var errs []error
	for i, k := range opts.PublicKeys {
		vk, err := k.load(i)
		if err != nil {
			errs = append(errs, fmt.Errorf("jwt: %w", err))
			continue
		}
		a.keys = append(a.keys, vk)
	}
	if opts.RemoteURL != "" {
		a.remote = &remoteValidator{url: opts.RemoteURL, client: client}
	}
	if jwksURL := opts.JWKSURL; jwksURL != "" || opts.IssuerURL != "" {
		var err error
		if opts.IssuerURL != "" {
			jwksURL, err = discoverJWKS(ctx, client, opts.IssuerURL)
			a.jwksIssuer = opts.IssuerURL
		}
		if err == nil {
			a.jwks = &jwksCache{
				url:          jwksURL,
				client:       client,
				now:          now,
				refreshEvery: orDefault(opts.JWKSRefreshInterval, DefaultJWKSRefreshInterval),
				minGap:       orDefault(opts.JWKSMinRefreshInterval, DefaultJWKSMinRefreshInterval),
			}
			err = a.jwks.load(ctx)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("jwt: %w", err))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	parserOpts := []gojwt.ParserOption{
		// Defence in depth: the key lookups below already match alg.
		gojwt.WithValidMethods([]string{RS256, RS512, ES256, EdDSA}),
		gojwt.WithLeeway(skew),
		gojwt.WithTimeFunc(now),
		gojwt.WithStrictDecoding(),
	}
	if opts.RequireExpiry || opts.MaxLifetime > 0 {
		parserOpts = append(parserOpts, gojwt.WithExpirationRequired())
	}
	a.parser = gojwt.NewParser(parserOpts...)
	return a, nil
}

// orDefault returns v, or def when v is zero.
func orDefault(v, def time.Duration) time.Duration {
	if v == 0 {
		return def
	}
	return v
}

// AuthenticateToken returns the identity of a valid token: User from sub,
// Groups from the groups claim (see parseGroups), Method "jwt", Expires
// from exp. When the remote endpoint vouches for the token, User and
// Groups come from its answer and Expires stays zero: the token's own
// claims are not read, as no key checked them. Every refusal wraps
// identity.ErrUnauthenticated
// and one of this package's Err* reasons; other errors are technical (the
// remote endpoint or the JWKS unreachable while no key accepted the
// token). No error holds the token.
func (a *Authenticator) AuthenticateToken(ctx context.Context, token string) (identity.Identity, error) {
	if err := checkTokenSyntax(token); err != nil {
		return identity.Identity{}, fmt.Errorf("jwt: %w", err)
	}
	var remoteErr error
	if a.remote != nil {
		id, err := a.remote.authenticate(ctx, token)
		if err == nil {
			return id, nil
		}
		if len(a.keys) == 0 && a.jwks == nil {
			return identity.Identity{}, fmt.Errorf("jwt: %w", err)
		}
		remoteErr = err
	}
	id, err := a.verifyLocal(ctx, token)
	if err == nil {
		return id, nil
	}
	if remoteErr != nil {
		err = combine(remoteErr, err)
	}
	return identity.Identity{}, fmt.Errorf("jwt: %w", err)
}

// checkTokenSyntax refuses what cannot be a bearer token before anything
// looks at it (it also keeps control characters out of the remote
// request's header).
func checkTokenSyntax(token string) error {
	switch {
	case token == "":
		return fmt.Errorf("%w: empty", ErrMalformed)
	case len(token) > MaxTokenBytes:
		return fmt.Errorf("%w: longer than %d bytes", ErrMalformed, MaxTokenBytes)
	}
	for i := 0; i < len(token); i++ {
		if c := token[i]; c < 0x21 || c > 0x7e {
			return fmt.Errorf("%w: holds a character other than printable ASCII", ErrMalformed)
		}
	}
	return nil
}

// verifyLocal verifies the token with the public keys, then the JWKS.
func (a *Authenticator) verifyLocal(ctx context.Context, token string) (identity.Identity, error) {
	if len(a.keys) == 0 {
		id, _, err := a.verifyJWKS(ctx, token)
		return id, err
	}
	id, final, err := a.verifyWith(token, a.staticKeys, a.issuer)
	if err == nil || final || a.jwks == nil {
		return id, err
	}
	id, final, jwksErr := a.verifyJWKS(ctx, token)
	if jwksErr == nil || final {
		return id, jwksErr
	}
	return identity.Identity{}, combine(fmt.Errorf("public keys: %w", err), fmt.Errorf("JWKS: %w", jwksErr))
}

// staticKeys looks up the configured public keys for alg; they have no
// key IDs.
func (a *Authenticator) staticKeys(alg, _ string, _ bool) ([]any, error) {
	var out []any
	for _, k := range a.keys {
		if k.alg == alg {
			out = append(out, k.key)
		}
	}
	if len(out) == 0 {
		return nil, errNoKeyForAlg
	}
	return out, nil
}

// verifyJWKS verifies the token with the JWKS. When the token names a key
// ID the set lacks, or names none and no key verifies it, the set is
// refreshed (rate-limited) and the token tried again: that is how a key
// the issuer just rotated in works at once.
func (a *Authenticator) verifyJWKS(ctx context.Context, token string) (identity.Identity, bool, error) {
	set := a.jwks.current(ctx)
	var unknownKid, noKid bool
	lookup := func(alg, kid string, hasKid bool) ([]any, error) {
		noKid = !hasKid
		if hasKid && !set.hasKid(kid) {
			unknownKid = true
			return nil, errUnknownKid
		}
		keys := set.candidates(alg, kid, hasKid)
		if len(keys) == 0 {
			return nil, errNoKeyForAlg
		}
		return keys, nil
	}
	id, final, err := a.verifyWith(token, lookup, a.jwksIssuer)
	if err == nil || final || !(unknownKid || noKid) {
		return id, final, err
	}
	newer, ferr := a.jwks.refreshForMiss(ctx, set)
	if ferr != nil {
		// The new set might have held the key: nothing can be concluded.
		return identity.Identity{}, false, fmt.Errorf("refreshing the JWKS: %w (with the keys at hand: %s)", ferr, err.Error())
	}
	if newer == set {
		return id, false, err
	}
	set = newer
	return a.verifyWith(token, lookup, a.jwksIssuer)
}

// Errors of key lookups, turned into refusals by verifyWith.
var (
	errNoKeyForAlg = errors.New("no key for the algorithm")
	errUnknownKid  = errors.New("unknown key ID")
	errCritical    = errors.New("crit header")
	errKidType     = errors.New("kid is not a string")
)

// verifyWith verifies the token with the keys lookup returns for its alg
// and kid, then checks its claims, requiring iss to be issuer when that is
// set and a.issuer otherwise. final reports that the refusal stands
// whatever other keys would say: the token is malformed, names an
// algorithm lakegate never accepts, or a key verified it and its claims
// fail.
func (a *Authenticator) verifyWith(token string, lookup func(alg, kid string, hasKid bool) ([]any, error), issuer string) (identity.Identity, bool, error) {
	claims := gojwt.MapClaims{}
	tok, err := a.parser.ParseWithClaims(token, claims, func(t *gojwt.Token) (any, error) {
		if _, ok := t.Header["crit"]; ok {
			// RFC 7515 4.1.11: extensions lakegate does not know.
			return nil, errCritical
		}
		kidValue, hasKid := t.Header["kid"]
		kid, ok := kidValue.(string)
		if hasKid && !ok {
			return nil, errKidType
		}
		keys, err := lookup(t.Method.Alg(), kid, hasKid)
		if err != nil {
			return nil, err
		}
		set := gojwt.VerificationKeySet{Keys: make([]gojwt.VerificationKey, len(keys))}
		for i, k := range keys {
			set.Keys[i] = k
		}
		return set, nil
	})
	if err != nil && !errors.Is(err, gojwt.ErrTokenInvalidClaims) {
		switch {
		case errors.Is(err, gojwt.ErrTokenMalformed):
			return identity.Identity{}, true, malformed(err)
		case errors.Is(err, errCritical):
			return identity.Identity{}, true, fmt.Errorf("%w: the header has crit", ErrMalformed)
		case errors.Is(err, errKidType):
			return identity.Identity{}, true, fmt.Errorf("%w: kid is not a string", ErrMalformed)
		case tok == nil || tok.Method == nil:
			return identity.Identity{}, true, fmt.Errorf("%w: alg is missing or unknown", ErrAlgorithm)
		case !supportedAlgorithm(tok.Method.Alg()):
			// Alg() is a registered method name, never token text.
			return identity.Identity{}, true, fmt.Errorf("%w: %s", ErrAlgorithm, tok.Method.Alg())
		case errors.Is(err, errNoKeyForAlg):
			return identity.Identity{}, false, fmt.Errorf("%w: no key for %s", ErrAlgorithm, tok.Method.Alg())
		case errors.Is(err, errUnknownKid):
			return identity.Identity{}, false, ErrUnknownKey
		case errors.Is(err, gojwt.ErrTokenSignatureInvalid):
			return identity.Identity{}, false, fmt.Errorf("%w with any key for %s", ErrBadSignature, tok.Method.Alg())
		default:
			return identity.Identity{}, true, fmt.Errorf("%w: unverifiable", ErrMalformed)
		}
	}

	// A key verified the signature: the claims decide, for good.
	var refused []error
	if err != nil {
		refused = claimRefusals(err, claims)
	}
	sub, _ := claims["sub"].(string)
	if sub == "" {
		refused = append(refused, ErrNoSubject)
	}
	if a.audience != "" {
		if aud, err := claims.GetAudience(); err != nil || !slices.Contains(aud, a.audience) {
			refused = append(refused, ErrAudience)
		}
	}
	if issuer == "" {
		issuer = a.issuer
	}
	if iss, _ := claims["iss"].(string); issuer != "" && iss != issuer {
		refused = append(refused, ErrIssuer)
	}
	if err := a.checkLifetime(claims); err != nil {
		refused = append(refused, err)
	}
	groups, gerr := parseGroups(claims["groups"])
	if gerr != nil {
		refused = append(refused, gerr)
	}
	if len(refused) > 0 {
		return identity.Identity{}, true, errorList(refused).simplify()
	}
	id := identity.Identity{User: sub, Groups: groups, Method: Method}
	if exp, _ := claims.GetExpirationTime(); exp != nil {
		id.Expires = exp.Time
	}
	return id, false, nil
}

// checkLifetime refuses a token valid for longer than the maximum
// lifetime: exp-iat beyond it, or exp further than it (plus the clock skew)
// from now. A missing exp is refused by the parser already.
func (a *Authenticator) checkLifetime(claims gojwt.MapClaims) error {
	if a.maxLifetime <= 0 {
		return nil
	}
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil {
		return nil // refused by the parser: missing or not a number
	}
	if iat, err := claims.GetIssuedAt(); err != nil {
		return fmt.Errorf("%w: iat is not a number", ErrBadClaims)
	} else if iat != nil && exp.Sub(iat.Time) > a.maxLifetime {
		return fmt.Errorf("%w: valid for %s from iat, more than %s", ErrLifetime, exp.Sub(iat.Time).Round(time.Second), a.maxLifetime)
	}
	if left := exp.Sub(a.now()); left > a.maxLifetime+a.skew {
		return fmt.Errorf("%w: valid for %s more, more than %s", ErrLifetime, left.Round(time.Second), a.maxLifetime)
	}
	return nil
}

// malformed turns golang-jwt's malformed-token error into a refusal,
// keeping its fixed description ("could not base64 decode header") but not
// the decoder's detail, which may quote decoded bytes.
func malformed(err error) error {
	msg, ok := strings.CutPrefix(err.Error(), gojwt.ErrTokenMalformed.Error()+": ")
	if !ok {
		return ErrMalformed
	}
	msg, _, _ = strings.Cut(msg, ":")
	return fmt.Errorf("%w: %s", ErrMalformed, msg)
}

// claimRefusals maps golang-jwt's claim validation errors.
func claimRefusals(err error, claims gojwt.MapClaims) []error {
	var out []error
	if errors.Is(err, gojwt.ErrTokenExpired) {
		exp, _ := claims.GetExpirationTime()
		out = append(out, fmt.Errorf("%w at %s", ErrExpired, exp.UTC().Format(time.RFC3339)))
	}
	if errors.Is(err, gojwt.ErrTokenNotValidYet) {
		nbf, _ := claims.GetNotBefore()
		out = append(out, fmt.Errorf("%w before %s", ErrNotYetValid, nbf.UTC().Format(time.RFC3339)))
	}
	if errors.Is(err, gojwt.ErrTokenRequiredClaimMissing) {
		out = append(out, ErrNoExpiry)
	}
	if errors.Is(err, gojwt.ErrInvalidType) || len(out) == 0 {
		out = append(out, fmt.Errorf("%w: exp or nbf is not a number", ErrBadClaims))
	}
	return out
}

// parseGroups reads a groups claim: absent or null gives nil; a list of
// strings gives its non-empty entries; a string gives its comma-separated
// non-empty entries. Entries are trimmed of spaces. Anything else is
// refused rather than ignored, as a misconfigured issuer should show.
func parseGroups(v any) ([]string, error) {
	switch g := v.(type) {
	case nil:
		return nil, nil
	case string:
		out := []string{}
		for _, s := range strings.Split(g, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		return out, nil
	case []any:
		out := make([]string, 0, len(g))
		for _, e := range g {
			s, ok := e.(string)
			if !ok {
				return nil, ErrGroups
			}
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		return out, nil
	}
	return nil, ErrGroups
}

// errorList is several errors as one, joined by "; ".
type errorList []error

func (l errorList) Error() string {
	msgs := make([]string, len(l))
	for i, err := range l {
		msgs[i] = err.Error()
	}
	return strings.Join(msgs, "; ")
}

func (l errorList) Unwrap() []error { return l }

// simplify returns the only error of a one-element list.
func (l errorList) simplify() error {
	if len(l) == 1 {
		return l[0]
	}
	return l
}

// combine joins the errors of the sources tried for one token. The result
// wraps identity.ErrUnauthenticated only when every source refused the
// token; when one failed technically, the refusals are kept as text only,
// so the result is a technical error.
func combine(errs ...error) error {
	var refused, failed errorList
	for _, err := range errs {
		if errors.Is(err, identity.ErrUnauthenticated) {
			refused = append(refused, err)
		} else {
			failed = append(failed, err)
		}
	}
	if len(failed) == 0 {
		return refused.simplify()
	}
	if len(refused) == 0 {
		return failed.simplify()
	}
	return fmt.Errorf("%w; %s", failed.simplify(), refused.Error())
}
