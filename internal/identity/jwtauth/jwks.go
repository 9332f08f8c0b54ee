package jwtauth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// maxDocumentBytes bounds a JWKS, discovery or remote-endpoint answer.
const maxDocumentBytes = 1 << 20

// fetchTimeout bounds one JWKS refresh, which is shared by every request
// waiting for it and so detached from any one request's cancellation.
const fetchTimeout = 30 * time.Second

// jwk is one usable key of a JWKS.
type jwk struct {
	kid  string
	algs []string // the algorithms the key may verify
	key  crypto.PublicKey
}

// keySet is a parsed JWKS: its usable keys, and how many it held in all.
type keySet struct {
	keys  []jwk
	total int
}

// hasKid reports whether a key has the key ID.
func (s *keySet) hasKid(kid string) bool {
	return slices.ContainsFunc(s.keys, func(k jwk) bool { return k.kid == kid })
}

// candidates are the keys that may verify a token with alg and, when
// hasKid, that kid.
func (s *keySet) candidates(alg, kid string, hasKid bool) []any {
	var out []any
	for _, k := range s.keys {
		if (!hasKid || k.kid == kid) && slices.Contains(k.algs, alg) {
			out = append(out, k.key)
		}
	}
	return out
}

// parseJWKS parses a JSON Web Key Set (RFC 7517). Keys lakegate cannot use
// are skipped: other key types, curves or algorithms, keys for encryption
// only, RSA keys under MinRSABits, and keys whose members do not decode.
// Member names are matched exactly, unlike encoding/json's struct fields.
func parseJWKS(data []byte) (*keySet, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("JWKS is not a JSON object: %w", err)
	}
	rawKeys, ok := doc["keys"]
	if !ok {
		return nil, errors.New(`JWKS has no "keys" member`)
	}
	var keys []map[string]any
	if err := json.Unmarshal(rawKeys, &keys); err != nil {
		return nil, errors.New(`JWKS "keys" is not a list of objects`)
	}
	set := &keySet{total: len(keys)}
	for _, m := range keys {
		if k, ok := parseJWK(m); ok {
			set.keys = append(set.keys, k)
		}
	}
	return set, nil
}

// parseJWK returns the key, or false when lakegate cannot use it.
func parseJWK(m map[string]any) (jwk, bool) {
	str := func(name string) (string, bool) {
		v, present := m[name]
		if !present {
			return "", true
		}
		s, ok := v.(string)
		return s, ok
	}
	kty, ok1 := str("kty")
	kid, ok2 := str("kid")
	alg, ok3 := str("alg")
	use, ok4 := str("use")
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return jwk{}, false
	}
	if use != "" && use != "sig" {
		return jwk{}, false
	}
	if ops, present := m["key_ops"]; present {
		list, ok := ops.([]any)
		if !ok || !slices.Contains(list, any("verify")) {
			return jwk{}, false
		}
	}
	var (
		key     crypto.PublicKey
		allowed []string
	)
	switch kty {
	case "RSA":
		n, okN := b64member(m, "n")
		e, okE := b64member(m, "e")
		if !okN || !okE || len(e) == 0 || len(e) > 4 {
			return jwk{}, false
		}
		exp := new(big.Int).SetBytes(e).Int64()
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(exp)}
		if pub.N.BitLen() < MinRSABits || exp < 3 || exp > 1<<31-1 || exp%2 == 0 {
			return jwk{}, false
		}
		key, allowed = pub, []string{RS256, RS512}
	case "EC":
		crv, _ := str("crv")
		x, okX := b64member(m, "x")
		y, okY := b64member(m, "y")
		if crv != "P-256" || !okX || !okY || len(x) != 32 || len(y) != 32 {
			return jwk{}, false
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
		if err != nil {
			return jwk{}, false
		}
		key, allowed = pub, []string{ES256}
	case "OKP":
		crv, _ := str("crv")
		x, okX := b64member(m, "x")
		if crv != "Ed25519" || !okX || len(x) != ed25519.PublicKeySize {
			return jwk{}, false
		}
		key, allowed = ed25519.PublicKey(x), []string{EdDSA}
	default:
		return jwk{}, false
	}
	if alg != "" {
		// A key that names its algorithm verifies that one only.
		if !slices.Contains(allowed, alg) {
			return jwk{}, false
		}
		allowed = []string{alg}
	}
	return jwk{kid: kid, algs: allowed, key: key}, true
}

// b64member decodes a base64url member, with or without padding.
func b64member(m map[string]any, name string) ([]byte, bool) {
	s, ok := m[name].(string)
	if !ok || s == "" {
		return nil, false
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	return b, err == nil
}

// jwksCache holds a JWKS and refreshes it: every refreshEvery (in the
// background, serving the old set meanwhile), and when a token names an
// unknown key (the caller waits) — at most once per minGap either way, so
// tokens with made-up key IDs cannot make lakegate hammer the server. A
// failed refresh keeps the old set.
type jwksCache struct {
	url          string
	client       *http.Client
	now          func() time.Time
	refreshEvery time.Duration
	minGap       time.Duration

	mu          sync.Mutex
	set         *keySet
	fetchedAt   time.Time // of the current set
	attemptedAt time.Time // of the latest refresh, successful or not
	lastErr     error     // of the latest refresh
	inflight    *fetchCall
}

// fetchCall is one refresh in progress; done closes when err is set.
type fetchCall struct {
	done chan struct{}
	err  error
}

// load fetches the set for the first time; New calls it.
func (c *jwksCache) load(ctx context.Context) error {
	set, err := fetchJWKS(ctx, c.client, c.url)
	if err != nil {
		return err
	}
	if len(set.keys) == 0 {
		return fmt.Errorf("JWKS %s holds no usable key among its %d (lakegate verifies RS256, RS512, ES256 and EdDSA with RSA keys of at least %d bits, P-256 and Ed25519 keys)", c.url, set.total, MinRSABits)
	}
	now := c.now()
	c.mu.Lock()
	c.set, c.fetchedAt, c.attemptedAt = set, now, now
	c.mu.Unlock()
	return nil
}

// current returns the set, starting a background refresh when it is due.
func (c *jwksCache) current(ctx context.Context) *keySet {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.inflight == nil && now.Sub(c.fetchedAt) >= c.refreshEvery && now.Sub(c.attemptedAt) >= c.minGap {
		c.startLocked(ctx, now)
	}
	return c.set
}

// refreshForMiss refreshes the set because a token needs a key that seen,
// the set the caller looked in, lacks. It joins a refresh under way, and
// fetches only when none happened within minGap. It returns the newest
// set (seen itself when nothing newer came) or, when the refresh failed
// or the latest one failed and another may not start yet, its error.
func (c *jwksCache) refreshForMiss(ctx context.Context, seen *keySet) (*keySet, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.set != seen {
		// A refresh finished since the caller looked.
		set := c.set
		c.mu.Unlock()
		return set, nil
	}
	call := c.inflight
	if call == nil {
		now := c.now()
		if now.Sub(c.attemptedAt) < c.minGap {
			set, err := c.set, c.lastErr
			c.mu.Unlock()
			return set, err
		}
		call = c.startLocked(ctx, now)
	}
	c.mu.Unlock()
	select {
	case <-call.done:
		if call.err != nil {
			return nil, call.err
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.set, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// startLocked starts a refresh; c.mu is held.
func (c *jwksCache) startLocked(ctx context.Context, now time.Time) *fetchCall {
	call := &fetchCall{done: make(chan struct{})}
	c.inflight = call
	c.attemptedAt = now
	fetchCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
	go func() {
		defer cancel()
		set, err := fetchJWKS(fetchCtx, c.client, c.url)
		c.mu.Lock()
		if err == nil {
			c.set, c.fetchedAt = set, c.now()
		}
		c.lastErr = err
		c.inflight = nil
		call.err = err
		c.mu.Unlock()
		close(call.done)
	}()
	return call
}

// wait waits for a refresh in progress; tests use it.
func (c *jwksCache) wait() {
	c.mu.Lock()
	call := c.inflight
	c.mu.Unlock()
	if call != nil {
		<-call.done
	}
}

// fetchJWKS gets and parses a JWKS.
func fetchJWKS(ctx context.Context, client *http.Client, u string) (*keySet, error) {
	body, err := getJSON(ctx, client, u)
	if err != nil {
		return nil, err
	}
	set, err := parseJWKS(body)
	if err != nil {
		return nil, fmt.Errorf("JWKS %s: %w", u, err)
	}
	return set, nil
}

// discoverJWKS finds the JWKS of an OpenID Connect issuer (OpenID Connect
// Discovery 1.0, section 4): the document's issuer must equal the
// configured one exactly, and its jwks_uri must be an http(s) URL.
func discoverJWKS(ctx context.Context, client *http.Client, issuer string) (string, error) {
	u := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	body, err := getJSON(ctx, client, u)
	if err != nil {
		return "", fmt.Errorf("OIDC discovery: %w", err)
	}
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return "", fmt.Errorf("OIDC discovery: %s is not a JSON object: %w", u, err)
	}
	if doc.Issuer != issuer {
		return "", fmt.Errorf("OIDC discovery: %s names issuer %q, not the configured %q", u, doc.Issuer, issuer)
	}
	if err := checkHTTPURL(doc.JWKSURI); err != nil {
		return "", fmt.Errorf("OIDC discovery: %s: jwks_uri: %w", u, err)
	}
	return doc.JWKSURI, nil
}

// getJSON GETs a JSON document of at most maxDocumentBytes.
func getJSON(ctx context.Context, client *http.Client, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocumentBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	if len(body) > maxDocumentBytes {
		return nil, fmt.Errorf("GET %s: answer longer than %d bytes", u, maxDocumentBytes)
	}
	return body, nil
}

// checkHTTPURL checks that s is an absolute http or https URL.
func checkHTTPURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL with a host", s)
	}
	return nil
}
