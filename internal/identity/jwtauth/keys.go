package jwtauth

import (
	"bytes"
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
)

// The algorithms lakegate verifies (JWS "alg" values).
const (
	RS256 = "RS256" // RSASSA-PKCS1-v1_5 with SHA-256; Okera spells it RSA256
	RS512 = "RS512" // RSASSA-PKCS1-v1_5 with SHA-512; Okera spells it RSA512
	ES256 = "ES256" // ECDSA on P-256 with SHA-256
	EdDSA = "EdDSA" // Ed25519
)

// MinRSABits is the smallest RSA modulus accepted, for configured keys and
// JWKS keys alike.
const MinRSABits = 2048

// algorithmNames maps the accepted spellings (upper-cased) to the JWS name.
var algorithmNames = map[string]string{
	"RS256":  RS256,
	"RSA256": RS256,
	"RS512":  RS512,
	"RSA512": RS512,
	"ES256":  ES256,
	"EDDSA":  EdDSA,
}

// supportedAlgorithm reports whether alg, exactly as a token header spells
// it, is one lakegate verifies.
func supportedAlgorithm(alg string) bool {
	switch alg {
	case RS256, RS512, ES256, EdDSA:
		return true
	}
	return false
}

// CanonicalAlgorithm returns the JWS name of a configured algorithm. It
// accepts RS256, RS512, ES256 and EdDSA, Okera's RSA256 and RSA512, in any
// case and with surrounding spaces.
func CanonicalAlgorithm(name string) (string, error) {
	if alg, ok := algorithmNames[strings.ToUpper(strings.TrimSpace(name))]; ok {
		return alg, nil
	}
	return "", fmt.Errorf("unsupported JWT algorithm %q (want RS256, RS512, ES256 or EdDSA; RSA256 and RSA512 are accepted for RS256 and RS512)", name)
}

// Key is one public key for verifying tokens.
type Key struct {
	// PEM is the key itself; Path names a file holding it. Exactly one is
	// set. The PEM block is a PKIX public key ("PUBLIC KEY", what OpenSSL
	// calls PKCS#8 for public keys), a PKCS#1 "RSA PUBLIC KEY" or a
	// "CERTIFICATE" whose key is used. Private keys are refused.
	PEM  []byte
	Path string
	// Algorithm is the only algorithm tokens verified with this key may
	// name: RS256, RS512, ES256 or EdDSA (RSA256 and RSA512 as aliases).
	Algorithm string
}

// name says which key an error is about, without its contents.
func (k Key) name(i int) string {
	if k.Path != "" {
		return fmt.Sprintf("public key %d (%s)", i+1, k.Path)
	}
	return fmt.Sprintf("public key %d (inline PEM)", i+1)
}

// validate checks the key's shape without reading anything.
func (k Key) validate(i int) []error {
	var errs []error
	switch {
	case len(k.PEM) == 0 && k.Path == "":
		errs = append(errs, fmt.Errorf("%s: set PEM or Path", k.name(i)))
	case len(k.PEM) > 0 && k.Path != "":
		errs = append(errs, fmt.Errorf("%s: set PEM or Path, not both", k.name(i)))
	}
	if _, err := CanonicalAlgorithm(k.Algorithm); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", k.name(i), err))
	}
	return errs
}

// verificationKey is a public key with the one algorithm it may verify.
type verificationKey struct {
	alg string
	key crypto.PublicKey
}

// load reads and parses the key and checks it suits its algorithm. The
// key was validated.
func (k Key) load(i int) (verificationKey, error) {
	alg, err := CanonicalAlgorithm(k.Algorithm)
	if err != nil {
		return verificationKey{}, fmt.Errorf("%s: %w", k.name(i), err)
	}
	data := k.PEM
	if k.Path != "" {
		if data, err = os.ReadFile(k.Path); err != nil {
			return verificationKey{}, fmt.Errorf("%s: %w", k.name(i), err)
		}
	}
	pub, err := parsePublicKeyPEM(data)
	if err != nil {
		return verificationKey{}, fmt.Errorf("%s: %w", k.name(i), err)
	}
	if err := checkKeyForAlgorithm(pub, alg); err != nil {
		return verificationKey{}, fmt.Errorf("%s: %w", k.name(i), err)
	}
	return verificationKey{alg: alg, key: pub}, nil
}

// parsePublicKeyPEM parses the one PEM block in data.
func parsePublicKeyPEM(data []byte) (crypto.PublicKey, error) {
	block, rest := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	if next, _ := pem.Decode(rest); next != nil || len(bytes.TrimSpace(rest)) > 0 {
		return nil, errors.New("more than one PEM block or trailing data; give one key per entry")
	}
	switch block.Type {
	case "PUBLIC KEY":
		pub, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parsing PUBLIC KEY: %w", err)
		}
		return pub, nil
	case "RSA PUBLIC KEY":
		pub, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parsing RSA PUBLIC KEY: %w", err)
		}
		return pub, nil
	case "CERTIFICATE":
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parsing CERTIFICATE: %w", err)
		}
		return cert.PublicKey, nil
	}
	if strings.Contains(block.Type, "PRIVATE KEY") {
		return nil, fmt.Errorf("holds a %s; configure the public key instead", block.Type)
	}
	return nil, fmt.Errorf("unsupported PEM block %q (want PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE)", block.Type)
}

// checkKeyForAlgorithm refuses a key that cannot verify alg, so a token's
// alg selects keys of one type only.
func checkKeyForAlgorithm(pub crypto.PublicKey, alg string) error {
	switch alg {
	case RS256, RS512:
		k, ok := pub.(*rsa.PublicKey)
		if !ok {
			return fmt.Errorf("%s needs an RSA key, got %s", alg, keyType(pub))
		}
		if bits := k.N.BitLen(); bits < MinRSABits {
			return fmt.Errorf("RSA key has %d bits, fewer than %d", bits, MinRSABits)
		}
	case ES256:
		k, ok := pub.(*ecdsa.PublicKey)
		if !ok {
			return fmt.Errorf("%s needs an ECDSA P-256 key, got %s", alg, keyType(pub))
		}
		if k.Curve != elliptic.P256() {
			return fmt.Errorf("%s needs a P-256 key, got %s", alg, k.Curve.Params().Name)
		}
	case EdDSA:
		if _, ok := pub.(ed25519.PublicKey); !ok {
			return fmt.Errorf("%s needs an Ed25519 key, got %s", alg, keyType(pub))
		}
	default:
		return fmt.Errorf("unsupported JWT algorithm %q", alg)
	}
	return nil
}

func keyType(pub crypto.PublicKey) string {
	switch pub.(type) {
	case *rsa.PublicKey:
		return "an RSA key"
	case *ecdsa.PublicKey:
		return "an ECDSA key"
	case ed25519.PublicKey:
		return "an Ed25519 key"
	}
	return fmt.Sprintf("a %T", pub)
}

// ParseEnvKeys turns Okera's JWT_PUBLIC_KEY and JWT_ALGORITHM values into
// keys. Both are comma-separated lists paired up in order, so they must
// have as many entries, with one exception: a single algorithm applies to
// every key. An entry of JWT_PUBLIC_KEY is a file path, or the PEM text
// itself when it starts with "-----BEGIN". Spaces around entries are
// ignored; empty entries are errors. Both empty gives no keys.
//
// Only the algorithm names are checked here; New reads and checks the keys.
func ParseEnvKeys(keys, algorithms string) ([]Key, error) {
	if strings.TrimSpace(keys) == "" && strings.TrimSpace(algorithms) == "" {
		return nil, nil
	}
	keyList := splitList(keys)
	algList := splitList(algorithms)
	var errs []error
	switch {
	case len(keyList) == 0:
		errs = append(errs, errors.New("JWT_ALGORITHM is set but JWT_PUBLIC_KEY is empty"))
	case len(algList) == 0:
		errs = append(errs, errors.New("JWT_PUBLIC_KEY is set but JWT_ALGORITHM is empty"))
	case len(algList) != 1 && len(algList) != len(keyList):
		errs = append(errs, fmt.Errorf("JWT_PUBLIC_KEY lists %d keys but JWT_ALGORITHM lists %d algorithms; give one algorithm per key, in the same order (or a single algorithm for all keys)", len(keyList), len(algList)))
	}
	for i, k := range keyList {
		if k == "" {
			errs = append(errs, fmt.Errorf("JWT_PUBLIC_KEY entry %d is empty", i+1))
		}
	}
	for i, a := range algList {
		if _, err := CanonicalAlgorithm(a); err != nil {
			errs = append(errs, fmt.Errorf("JWT_ALGORITHM entry %d: %w", i+1, err))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	out := make([]Key, len(keyList))
	for i, k := range keyList {
		alg := algList[0]
		if len(algList) > 1 {
			alg = algList[i]
		}
		alg, _ = CanonicalAlgorithm(alg)
		if strings.HasPrefix(k, "-----BEGIN") {
			out[i] = Key{PEM: []byte(k), Algorithm: alg}
		} else {
			out[i] = Key{Path: k, Algorithm: alg}
		}
	}
	return out, nil
}

// splitList splits a comma list and trims its entries; an empty or blank
// string has no entries.
func splitList(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	parts := strings.Split(s, ",")
	for i, p := range parts {
		parts[i] = strings.TrimSpace(p)
	}
	return parts
}
