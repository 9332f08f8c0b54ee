package s3xml

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
)

// sealPrefix starts every sealed string; it names the format version.
const sealPrefix = "lg1."

// sealBlock is the size to which plaintexts are padded before sealing, so
// a sealed marker tells only roughly how long the name inside is.
const sealBlock = 32

// maxSealed bounds the length of a string Open will try; real markers are
// well under it (S3 keys are at most 1024 bytes).
const maxSealed = 8 << 10

// sealAAD binds sealed strings to this use, so that nothing else sealed with
// the same key under AES-GCM opens as a marker.
var sealAAD = []byte("lakegate s3xml marker v1")

// Sealer hides pagination markers and continuation tokens from clients. A
// sealed string is "lg1." followed by base64url (unpadded) of a random
// 12-byte nonce and the AES-256-GCM ciphertext of the padded plaintext.
// A Sealer is safe for concurrent use.
type Sealer struct {
	aead cipher.AEAD
}

// NewSealer returns a Sealer using a 32-byte AES-256 key. Every proxy that
// serves the same clients must use the same key, or a marker sealed by one
// will not open at another.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != 32 {
		return nil, errors.New("s3xml: sealer key must be 32 bytes")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

// Seal returns an opaque string from which Open, with the same key, recovers
// plain. Each call uses a fresh random nonce, so sealing the same value
// twice gives different strings.
func (s *Sealer) Seal(plain string) string {
	ns := s.aead.NonceSize()
	// ISO/IEC 7816-4 padding: 0x80, then zeros up to a whole block.
	padded := len(plain) + 1
	padded += (sealBlock - padded%sealBlock) % sealBlock
	buf := make([]byte, ns, ns+padded+s.aead.Overhead())
	_, _ = rand.Read(buf) // crypto/rand.Read never fails; it crashes instead
	msg := make([]byte, padded)
	copy(msg, plain)
	msg[len(plain)] = 0x80
	buf = s.aead.Seal(buf, buf[:ns], msg, sealAAD)
	return sealPrefix + base64.RawURLEncoding.EncodeToString(buf)
}

// Open returns the plaintext of a string made by Seal with this key. ok is
// false for anything else: another format, another key, a changed byte, a
// truncation, or input that is too long.
func (s *Sealer) Open(sealed string) (plain string, ok bool) {
	enc, found := strings.CutPrefix(sealed, sealPrefix)
	if !found || len(enc) > maxSealed {
		return "", false
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(enc)
	ns := s.aead.NonceSize()
	if err != nil || len(raw) < ns+s.aead.Overhead()+sealBlock {
		return "", false
	}
	msg, err := s.aead.Open(nil, raw[:ns], raw[ns:], sealAAD)
	if err != nil {
		return "", false
	}
	end := len(msg) - 1
	for end >= 0 && msg[end] == 0 {
		end--
	}
	if end < 0 || msg[end] != 0x80 {
		return "", false
	}
	return string(msg[:end]), true
}
