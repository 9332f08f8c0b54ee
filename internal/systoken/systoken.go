// Package systoken is the token lakegate's own processes present to each
// other (seed 001): an nScale proxy authenticates to the policy server with
// it. A process holding the cluster's JWT private key mints its own token,
// subject "lakegate", and renews it before it expires; a process without
// the key reads a ready token from a file (Okera's SYSTEM_TOKEN). The
// server, holding the same key, accepts such tokens and nothing else as
// the system identity.
package systoken

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	"github.com/lakegate/lakegate/internal/identity"
)

// Subject is the user name of the system identity, and Audience marks a
// token as a system token, so that a user token signed with the same key
// (as Okera's clusters sign theirs) never passes for one.
const (
	Subject  = "lakegate"
	Issuer   = "lakegate"
	Audience = "lakegate-system"
	// Method is identity.Identity.Method for the system identity.
	Method = "system"
)

// Source supplies the current system token.
type Source interface {
	Token(ctx context.Context) (string, error)
}

// Key is a parsed private key with the signing method it implies.
type Key struct {
	private crypto.Signer
	method  gojwt.SigningMethod
}

// LoadKey reads a PEM private key: PKCS#8, PKCS#1 RSA or SEC 1 EC. RSA keys
// sign RS256, P-256 keys ES256, Ed25519 keys EdDSA.
func LoadKey(path string) (*Key, error) {
	data, err := os.ReadFile(path) // #nosec G304 -- operator-chosen path
	if err != nil {
		return nil, fmt.Errorf("system private key: %w", err)
	}
	k, err := ParseKey(data)
	if err != nil {
		return nil, fmt.Errorf("system private key %s: %w", path, err)
	}
	return k, nil
}

// ParseKey parses a PEM private key; see LoadKey.
func ParseKey(data []byte) (*Key, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	var (
		parsed any
		err    error
	)
	switch block.Type {
	case "RSA PRIVATE KEY":
		parsed, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		parsed, err = x509.ParseECPrivateKey(block.Bytes)
	case "PRIVATE KEY":
		parsed, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("PEM block %q is not a private key", block.Type)
	}
	if err != nil {
		return nil, err
	}
	switch k := parsed.(type) {
	case *rsa.PrivateKey:
		if k.N.BitLen() < 2048 {
			return nil, fmt.Errorf("RSA key of %d bits: at least 2048 are required", k.N.BitLen())
		}
		return &Key{private: k, method: gojwt.SigningMethodRS256}, nil
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return nil, errors.New("ECDSA keys must be on P-256 (ES256)")
		}
		return &Key{private: k, method: gojwt.SigningMethodES256}, nil
	case ed25519.PrivateKey:
		return &Key{private: k, method: gojwt.SigningMethodEdDSA}, nil
	}
	return nil, fmt.Errorf("unsupported private key type %T", parsed)
}

// Algorithm is the JWT alg the key signs with.
func (k *Key) Algorithm() string { return k.method.Alg() }

// Mint signs a system token valid from now for ttl.
func (k *Key) Mint(now time.Time, ttl time.Duration) (string, time.Time, error) {
	exp := now.Add(ttl)
	claims := gojwt.RegisteredClaims{
		Subject:   Subject,
		Issuer:    Issuer,
		Audience:  gojwt.ClaimStrings{Audience},
		IssuedAt:  gojwt.NewNumericDate(now),
		NotBefore: gojwt.NewNumericDate(now.Add(-time.Minute)), // tolerate a little clock skew between nodes
		ExpiresAt: gojwt.NewNumericDate(exp),
	}
	s, err := gojwt.NewWithClaims(k.method, claims).SignedString(k.private)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("signing the system token: %w", err)
	}
	return s, exp, nil
}

// Minter is a Source that mints tokens with a Key and renews them once
// less than a fifth of their lifetime (at most ten minutes) is left.
type Minter struct {
	key *Key
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	token   string
	expires time.Time
}

// NewMinter returns a Minter of tokens lasting ttl.
func NewMinter(key *Key, ttl time.Duration) *Minter {
	return &Minter{key: key, ttl: ttl, now: time.Now}
}

// Token returns the current token, minting a new one when it is near its end.
func (m *Minter) Token(context.Context) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if m.token != "" && now.Before(m.expires.Add(-renewMargin(m.ttl))) {
		return m.token, nil
	}
	tok, exp, err := m.key.Mint(now, m.ttl)
	if err != nil {
		return "", err
	}
	m.token, m.expires = tok, exp
	return tok, nil
}

func renewMargin(ttl time.Duration) time.Duration { return min(ttl/5, 10*time.Minute) }

// File is a Source reading a token from a file, re-read when the file
// changes, so that whoever provisions the token can replace it in place.
type File struct {
	path string

	mu    sync.Mutex
	mtime time.Time
	size  int64
	token string
}

// NewFile returns a Source reading path.
func NewFile(path string) *File { return &File{path: path} }

// maxTokenFile bounds the token file read.
const maxTokenFile = 64 << 10

// Token returns the file's token (surrounding whitespace removed).
func (f *File) Token(context.Context) (string, error) {
	fi, err := os.Stat(f.path)
	if err != nil {
		return "", fmt.Errorf("system token file: %w", err)
	}
	if fi.Size() > maxTokenFile {
		return "", fmt.Errorf("system token file %s is larger than %d bytes", f.path, maxTokenFile)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.token != "" && fi.ModTime().Equal(f.mtime) && fi.Size() == f.size {
		return f.token, nil
	}
	data, err := os.ReadFile(f.path)
	if err != nil {
		return "", fmt.Errorf("system token file: %w", err)
	}
	tok := strings.TrimSpace(string(data))
	if tok == "" {
		return "", fmt.Errorf("system token file %s is empty", f.path)
	}
	f.token, f.mtime, f.size = tok, fi.ModTime(), fi.Size()
	return tok, nil
}

// NewSource returns the system token source the configuration names: a
// Minter when privateKey is set (it wins, as in Okera), else a File when
// tokenFile is set, else nil.
func NewSource(privateKey, tokenFile string, ttl time.Duration) (Source, error) {
	switch {
	case privateKey != "":
		k, err := LoadKey(privateKey)
		if err != nil {
			return nil, err
		}
		return NewMinter(k, ttl), nil
	case tokenFile != "":
		f := NewFile(tokenFile)
		if _, err := f.Token(context.Background()); err != nil {
			return nil, err
		}
		return f, nil
	}
	return nil, nil
}

// Verifier accepts system tokens signed with the cluster key, and only
// those: it is an identity.TokenAuthenticator whose identities have
// Method "system".
type Verifier struct {
	public crypto.PublicKey
	parser *gojwt.Parser
}

// NewVerifier returns a Verifier for tokens signed by key.
func NewVerifier(key *Key) *Verifier {
	return &Verifier{
		public: key.private.Public(),
		parser: gojwt.NewParser(
			gojwt.WithValidMethods([]string{key.method.Alg()}),
			gojwt.WithExpirationRequired(),
			gojwt.WithIssuer(Issuer),
			gojwt.WithAudience(Audience),
			gojwt.WithSubject(Subject),
			gojwt.WithLeeway(30*time.Second),
		),
	}
}

var _ identity.TokenAuthenticator = (*Verifier)(nil)

// AuthenticateToken implements identity.TokenAuthenticator.
func (v *Verifier) AuthenticateToken(_ context.Context, token string) (identity.Identity, error) {
	var claims gojwt.RegisteredClaims
	_, err := v.parser.ParseWithClaims(token, &claims, func(*gojwt.Token) (any, error) { return v.public, nil })
	if err != nil {
		return identity.Identity{}, errors.Join(identity.ErrUnauthenticated, fmt.Errorf("not a system token: %w", err))
	}
	id := identity.Identity{User: Subject, Method: Method}
	if claims.ExpiresAt != nil {
		id.Expires = claims.ExpiresAt.Time
	}
	return id, nil
}
