package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"hash"
	"strings"
	"sync"
)

// signingKey is a derived SigV4 signing key with a pool of HMAC states keyed
// with it, so that signing with a cached key does not allocate.
type signingKey struct {
	key  [sha256.Size]byte
	macs sync.Pool
}

func newSigningKey(secret, date, region, service string) *signingKey {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	k = hmacSHA256(k, scopeTerminator)
	sk := &signingKey{}
	copy(sk.key[:], k)
	sk.macs.New = func() any { return hmac.New(sha256.New, sk.key[:]) }
	return sk
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// newMAC returns a fresh HMAC-SHA256 keyed with k, for a caller that keeps it
// (chunk signature chains).
func (k *signingKey) newMAC() hash.Hash { return hmac.New(sha256.New, k.key[:]) }

// mac appends HMAC(k, msg) to dst.
func (k *signingKey) mac(dst, msg []byte) []byte {
	m := k.macs.Get().(hash.Hash)
	m.Reset()
	m.Write(msg)
	dst = m.Sum(dst)
	k.macs.Put(m)
	return dst
}

type keyID struct{ secret, date, region, service string }

// keyCache holds derived signing keys per (secret, date, region, service).
// It is bounded: when full an arbitrary entry is evicted, which is fine as
// keys roll over daily and deriving one costs four HMACs.
type keyCache struct {
	mu sync.RWMutex
	m  map[keyID]*signingKey
}

const keyCacheMax = 1024

var keys = &keyCache{m: make(map[keyID]*signingKey)}

func (c *keyCache) get(secret, date, region, service string) *signingKey {
	id := keyID{secret, date, region, service}
	c.mu.RLock()
	k := c.m[id]
	c.mu.RUnlock()
	if k != nil {
		return k
	}
	k = newSigningKey(secret, date, region, service)
	// Clone so that cache keys do not pin request headers in memory.
	id = keyID{strings.Clone(secret), strings.Clone(date), strings.Clone(region), strings.Clone(service)}
	c.mu.Lock()
	if len(c.m) >= keyCacheMax {
		for old := range c.m {
			delete(c.m, old)
			break
		}
	}
	c.m[id] = k
	c.mu.Unlock()
	return k
}
