package credentials

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lakegate/lakegate/internal/identity"
	"github.com/lakegate/lakegate/internal/store"
)

// TokenPrefix starts every lakegate bearer token, so that a leaked token is
// recognisable (secret scanners) and never mistaken for a JWT.
const TokenPrefix = "lgt_"

// ErrInvalidToken means a bearer token is unknown or expired.
var ErrInvalidToken = errors.New("invalid or expired token")

// TokenStore is what bearer tokens need from the policy store.
type TokenStore interface {
	CreateToken(ctx context.Context, t store.Token) error
	GetToken(ctx context.Context, hash string) (store.Token, error)
	// EnsureSecret keeps Ensure's record of the tokens it registered.
	EnsureSecret(ctx context.Context, name string, value []byte) ([]byte, error)
}

// ErrTokenRevoked means Ensure was given a token it registered before and
// that has been deleted since (its user's credentials were revoked, or
// the user deleted): it is not registered again.
var ErrTokenRevoked = errors.New("the token was revoked")

// registeredName is the name of the store secret recording that Ensure
// registered the token with hash h. The token's absence later means it
// was revoked.
func registeredName(h string) string { return "ensured-token:" + h }

// Tokens issues and checks REST bearer tokens. Only a token's SHA-256 is
// stored: tokens are 40 random base62 characters (238 bits), so a plain
// hash is enough to make a stolen database useless for logging in, and the
// lookup by hash needs no constant-time comparison.
type Tokens struct {
	store TokenStore
	now   func() time.Time
}

// NewTokens returns a token service over s.
func NewTokens(s TokenStore) *Tokens { return &Tokens{store: s, now: time.Now} }

// HashToken is the stored form of a raw token.
func HashToken(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(sum[:])
}

// Issue creates a token for userName valid for ttl (zero: no expiry) and
// returns it; it is not retrievable later. Requests made with it act with
// the user's groups as resolved at each use.
func (t *Tokens) Issue(ctx context.Context, userName string, ttl time.Duration) (string, error) {
	return t.IssueSession(ctx, userName, nil, ttl)
}

// IssueSession is Issue for an authenticated session whose groups cannot
// be looked up again by user name (a JWT's groups claim): requests made
// with the token act with groups, as keys from Service.IssueSession do.
// Nil groups make it Issue.
func (t *Tokens) IssueSession(ctx context.Context, userName string, groups *identity.Groups, ttl time.Duration) (string, error) {
	if userName == "" {
		return "", errors.New("credentials: issue token: empty user name")
	}
	raw := TokenPrefix + RandomToken(40)
	now := t.now().UTC()
	rec := store.Token{Hash: HashToken(raw), UserName: userName, CreatedAt: now}
	if groups != nil {
		rec.SessionGroups = append([]string{}, groups.Names...)
		rec.SessionGroupsFold = groups.CaseInsensitive
	}
	if ttl > 0 {
		rec.ExpiresAt = now.Add(ttl)
	}
	if err := t.store.CreateToken(ctx, rec); err != nil {
		return "", fmt.Errorf("credentials: issue token: %w", err)
	}
	return raw, nil
}

// maxTokenLen bounds the raw tokens Authenticate looks up.
const maxTokenLen = 256

// wellFormed reports whether raw has the shape Authenticate accepts.
func wellFormed(raw string) bool {
	return strings.HasPrefix(raw, TokenPrefix) && len(raw) <= maxTokenLen
}

// Ensure registers raw (e.g. the configured admin token) for userName
// unless it is registered already. It refuses a token that Authenticate
// would never accept, and one it registered before and that was deleted
// since (ErrTokenRevoked): the store records every token Ensure
// registers, so that a revoked admin token does not come back at the
// next start.
func (t *Tokens) Ensure(ctx context.Context, raw, userName string) error {
	if !wellFormed(raw) {
		return fmt.Errorf("credentials: ensure token: a token must start with %s and be at most %d bytes long", TokenPrefix, maxTokenLen)
	}
	h := HashToken(raw)
	old, err := t.store.GetToken(ctx, h)
	switch {
	case err == nil && old.UserName == userName:
		// Recorded for tokens registered before the record was kept.
		if _, err := t.store.EnsureSecret(ctx, registeredName(h), []byte(RandomToken(24))); err != nil {
			return fmt.Errorf("credentials: ensure token: %w", err)
		}
		return nil
	case err == nil:
		return fmt.Errorf("credentials: the configured token already belongs to user %s", old.UserName)
	case !errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("credentials: ensure token: %w", err)
	}
	// The record is made first, so a token is never registered without
	// it. A record that was there already means the token was registered
	// and deleted since, unless another process sharing the store is
	// registering it at this moment: it made the record and is about to
	// create the token, which is looked for until ensureRaceWait passed.
	mark := RandomToken(24)
	got, err := t.store.EnsureSecret(ctx, registeredName(h), []byte(mark))
	if err != nil {
		return fmt.Errorf("credentials: ensure token: %w", err)
	}
	if string(got) != mark {
		return t.awaitRegistered(ctx, h, userName)
	}
	if err := t.store.CreateToken(ctx, store.Token{Hash: h, UserName: userName, CreatedAt: t.now().UTC()}); err != nil {
		return fmt.Errorf("credentials: ensure token: %w", err)
	}
	return nil
}

// ensureRaceWait bounds how long Ensure waits for another process that
// recorded the token to create it (two servers starting at once on a fresh
// store); ensureRacePoll is how often it looks.
const (
	ensureRaceWait = 2 * time.Second
	ensureRacePoll = 50 * time.Millisecond
)

// awaitRegistered is Ensure's answer when the token with hash h was
// recorded already: nil once the token exists for userName, within
// ensureRaceWait; ErrTokenRevoked when it does not appear.
func (t *Tokens) awaitRegistered(ctx context.Context, h, userName string) error {
	deadline := time.Now().Add(ensureRaceWait)
	for {
		old, err := t.store.GetToken(ctx, h)
		switch {
		case err == nil && old.UserName == userName:
			return nil
		case err == nil:
			return fmt.Errorf("credentials: the configured token already belongs to user %s", old.UserName)
		case !errors.Is(err, store.ErrNotFound):
			return fmt.Errorf("credentials: ensure token: %w", err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("credentials: ensure token for user %s: %w", userName, ErrTokenRevoked)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("credentials: ensure token: %w", ctx.Err())
		case <-time.After(ensureRacePoll):
		}
	}
}

// Authenticate returns the user raw belongs to, or an error wrapping
// ErrInvalidToken; other errors are technical failures.
func (t *Tokens) Authenticate(ctx context.Context, raw string) (string, error) {
	id, err := t.AuthenticateSession(ctx, raw)
	return id.User, err
}

// AuthenticateSession returns the identity raw proves: its user, Method
// "token", its expiry, and the session groups it was issued with
// (Identity.Session, nil for none). Errors are as Authenticate's.
func (t *Tokens) AuthenticateSession(ctx context.Context, raw string) (identity.Identity, error) {
	if !wellFormed(raw) {
		return identity.Identity{}, ErrInvalidToken
	}
	rec, err := t.store.GetToken(ctx, HashToken(raw))
	if errors.Is(err, store.ErrNotFound) {
		return identity.Identity{}, ErrInvalidToken
	}
	if err != nil {
		return identity.Identity{}, fmt.Errorf("credentials: authenticate token: %w", err)
	}
	if !rec.ExpiresAt.IsZero() && !t.now().Before(rec.ExpiresAt) {
		return identity.Identity{}, ErrInvalidToken
	}
	id := identity.Identity{User: rec.UserName, Method: MethodToken, Expires: rec.ExpiresAt}
	if rec.SessionGroups != nil {
		id.Session = &identity.Groups{Names: rec.SessionGroups, CaseInsensitive: rec.SessionGroupsFold, Source: identity.SourceSession}
	}
	return id, nil
}

// MethodToken is Identity.Method for a lakegate token.
const MethodToken = "token"

// SessionAuthenticator authenticates lakegate tokens (*Tokens does).
type SessionAuthenticator interface {
	AuthenticateSession(ctx context.Context, raw string) (identity.Identity, error)
}

// AuthenticateBearer establishes who holds a bearer token: a lakegate
// token (TokenPrefix) by sessions, any other by the first of
// others that accepts it (a JWT verifier, a validation endpoint). A token
// no one accepts is an error wrapping identity.ErrUnauthenticated (and the
// last refusal); other errors are technical failures. The REST API and
// the Flight SQL listener authenticate bearer tokens through it.
func AuthenticateBearer(ctx context.Context, sessions SessionAuthenticator, token string, others []identity.TokenAuthenticator) (identity.Identity, error) {
	if strings.HasPrefix(token, TokenPrefix) {
		id, err := sessions.AuthenticateSession(ctx, token)
		if errors.Is(err, ErrInvalidToken) {
			return identity.Identity{}, errors.Join(identity.ErrUnauthenticated, err)
		}
		return id, err
	}
	last := error(identity.ErrUnauthenticated)
	for _, a := range others {
		id, err := a.AuthenticateToken(ctx, token)
		if errors.Is(err, identity.ErrUnauthenticated) {
			last = err
			continue
		}
		return id, err
	}
	return identity.Identity{}, errors.Join(identity.ErrUnauthenticated, last)
}
