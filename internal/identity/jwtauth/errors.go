package jwtauth

import "github.com/lakegate/lakegate/internal/identity"

// refusal is one reason for refusing a token. Every refusal wraps
// identity.ErrUnauthenticated, so a caller that only needs the contract
// tests for that, while tests and logs can tell the reasons apart.
type refusal string

func (r refusal) Error() string { return string(r) }
func (r refusal) Unwrap() error { return identity.ErrUnauthenticated }

// Why a token was refused. AuthenticateToken wraps one or more of these
// with detail; errors.Is finds them. No message ever holds the token.
var (
	// ErrMalformed: not a compact JWS (three base64url parts with JSON
	// header and claims), empty, too long, or holding characters a bearer
	// token cannot hold.
	ErrMalformed error = refusal("malformed token")
	// ErrAlgorithm: the header's alg is not one lakegate accepts (none,
	// HS*, PS*, …) or no configured key is for that algorithm.
	ErrAlgorithm error = refusal("algorithm not accepted")
	// ErrUnknownKey: the token names a key ID (kid) the JWKS does not hold,
	// even after refreshing it.
	ErrUnknownKey error = refusal("no key with the token's key ID")
	// ErrBadSignature: no configured key for the token's algorithm
	// verifies its signature.
	ErrBadSignature error = refusal("signature does not verify")
	// ErrExpired: exp is in the past, beyond the clock skew.
	ErrExpired error = refusal("token expired")
	// ErrNotYetValid: nbf is in the future, beyond the clock skew.
	ErrNotYetValid error = refusal("token not yet valid")
	// ErrNoExpiry: Options.RequireExpiry is set and the token has no exp.
	ErrNoExpiry error = refusal("token has no exp claim")
	// ErrLifetime: Options.MaxLifetime is set and the token is valid for
	// longer (exp-iat or exp-now beyond it).
	ErrLifetime error = refusal("token lifetime exceeds the maximum")
	// ErrBadClaims: a registered claim (exp, nbf) has the wrong JSON type.
	ErrBadClaims error = refusal("invalid claims")
	// ErrNoSubject: sub is missing, empty or not a string.
	ErrNoSubject error = refusal("token has no sub claim")
	// ErrAudience: Options.Audience is set and aud does not hold it.
	ErrAudience error = refusal("token is for another audience")
	// ErrIssuer: iss is not the expected issuer.
	ErrIssuer error = refusal("token is from another issuer")
	// ErrGroups: the groups claim is neither a string nor a list of strings.
	ErrGroups error = refusal("groups claim is not a string or a list of strings")
	// ErrRemoteRefused: the remote validation endpoint answered a status
	// other than 2xx and 5xx, or its answer held no sub.
	ErrRemoteRefused error = refusal("remote endpoint refused the token")
)
