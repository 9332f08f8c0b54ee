package s3xml

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
)

func TestSealerRoundTrip(t *testing.T) {
	s := testSealer(t)
	for _, plain := range []string{
		"", "a", "secret/plans.txt", "€/ü/日本", "with\x00nul", strings.Repeat("k", 31), strings.Repeat("k", 32),
		strings.Repeat("k", 1024), "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=", "ends in padding\x80", "ends in zeros\x80\x00\x00",
	} {
		sealed := s.Seal(plain)
		if !strings.HasPrefix(sealed, "lg1.") {
			t.Errorf("Seal(%q) = %q, want lg1. prefix", plain, sealed)
		}
		if strings.Contains(sealed, plain) && len(plain) > 3 {
			t.Errorf("Seal(%q) = %q shows the plaintext", plain, sealed)
		}
		got, ok := s.Open(sealed)
		if !ok || got != plain {
			t.Errorf("Open(Seal(%q)) = %q, %v", plain, got, ok)
		}
		if again := s.Seal(plain); again == sealed {
			t.Errorf("Seal(%q) twice gave the same string", plain)
		}
	}
}

// TestSealerHidesLength checks that names of nearly the same length seal to
// strings of the same length.
func TestSealerHidesLength(t *testing.T) {
	s := testSealer(t)
	if a, b := s.Seal("secret/a"), s.Seal("secret/plans-2024.txt"); len(a) != len(b) {
		t.Errorf("lengths %d and %d differ", len(a), len(b))
	}
}

func TestSealerRejects(t *testing.T) {
	s := testSealer(t)
	other, err := NewSealer(bytes.Repeat([]byte{8}, 32))
	if err != nil {
		t.Fatal(err)
	}
	good := s.Seal("secret/plans.txt")
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(good, "lg1."))
	if err != nil {
		t.Fatal(err)
	}
	flipped := func(i int) string {
		b := bytes.Clone(raw)
		b[i] ^= 1
		return "lg1." + base64.RawURLEncoding.EncodeToString(b)
	}
	tests := []struct {
		name, in string
	}{
		{name: "empty", in: ""},
		{name: "prefix only", in: "lg1."},
		{name: "plaintext", in: "secret/plans.txt"},
		{name: "no prefix", in: strings.TrimPrefix(good, "lg1.")},
		{name: "other version", in: "lg2." + strings.TrimPrefix(good, "lg1.")},
		{name: "other key", in: other.Seal("secret/plans.txt")},
		{name: "nonce byte flipped", in: flipped(0)},
		{name: "ciphertext byte flipped", in: flipped(12)},
		{name: "tag byte flipped", in: flipped(len(raw) - 1)},
		{name: "truncated", in: good[:len(good)-1]},
		{name: "cut to nonce", in: "lg1." + base64.RawURLEncoding.EncodeToString(raw[:12])},
		{name: "appended", in: good + "A"},
		{name: "padded base64", in: good + "=="},
		{name: "std base64 alphabet", in: "lg1.+/" + strings.TrimPrefix(good, "lg1.")[2:]},
		{name: "garbage", in: "lg1.!!!!"},
		{name: "huge", in: "lg1." + strings.Repeat("A", 1<<20)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, ok := s.Open(tc.in); ok {
				t.Errorf("Open(%.40q) = %q, true", tc.in, got)
			}
		})
	}
}

// TestSealerPadding checks that a validly encrypted message with broken
// padding is refused.
func TestSealerPadding(t *testing.T) {
	s := testSealer(t)
	for _, msg := range [][]byte{make([]byte, 32), append(bytes.Repeat([]byte{'a'}, 31), 1)} {
		nonce := make([]byte, 12)
		b := s.aead.Seal(bytes.Clone(nonce), nonce, msg, sealAAD)
		if got, ok := s.Open("lg1." + base64.RawURLEncoding.EncodeToString(b)); ok {
			t.Errorf("Open accepted bad padding: %q", got)
		}
	}
}

func TestNewSealerKeySize(t *testing.T) {
	for _, n := range []int{0, 16, 24, 31, 33, 64} {
		if _, err := NewSealer(make([]byte, n)); err == nil {
			t.Errorf("NewSealer accepted a %d-byte key", n)
		}
	}
}
