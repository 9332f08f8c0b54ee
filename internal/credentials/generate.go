package credentials

import (
	"crypto/rand"
)

// Key shapes. AWS access key ids are 20 upper-case letters and digits and
// secrets 40 characters; ours look the same so every S3 client accepts them,
// and the "LG" prefix tells them apart from real AWS keys (AKIA…, ASIA…).
const (
	AccessKeyIDPrefix  = "LG"
	AccessKeyIDLen     = 20
	SecretAccessKeyLen = 40
)

const (
	upperAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	base62     = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
)

// Generate returns a new random access key id ("LG" and 18 upper-case
// letters or digits, 93 bits) and secret (40 base62 characters, 238 bits),
// drawn from crypto/rand without modulo bias.
func Generate() (accessKeyID, secretAccessKey string) {
	return AccessKeyIDPrefix + randomString(upperAlnum, AccessKeyIDLen-len(AccessKeyIDPrefix)),
		randomString(base62, SecretAccessKeyLen)
}

// RandomToken returns n random base62 characters, for bearer tokens.
func RandomToken(n int) string { return randomString(base62, n) }

// randomString draws n characters uniformly from alphabet (at most 256
// characters) by rejection sampling: bytes at or above the largest multiple
// of len(alphabet) are discarded.
func randomString(alphabet string, n int) string {
	limit := 256 - 256%len(alphabet)
	out := make([]byte, 0, n)
	buf := make([]byte, n+n/2)
	for len(out) < n {
		_, _ = rand.Read(buf) // never fails; crashes the program instead (Go 1.24+)
		for _, b := range buf {
			if int(b) < limit {
				out = append(out, alphabet[int(b)%len(alphabet)])
				if len(out) == n {
					break
				}
			}
		}
	}
	return string(out)
}
