package credentials

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/lakegate/lakegate/internal/s3/sigv4"
)

// Cache defaults.
const (
	DefaultCacheTTL         = 5 * time.Second
	DefaultNegativeCacheTTL = time.Second
	DefaultCacheMaxEntries  = 10_000
	DefaultLookupTimeout    = 10 * time.Second
)

// CacheOptions configure a Cache. Zero values select the defaults above.
type CacheOptions struct {
	// TTL is how long a found credential is answered from memory.
	TTL time.Duration
	// NegativeTTL is how long an unknown access key is remembered, so a
	// client retrying with a bad key does not reach the database each time.
	NegativeTTL time.Duration
	// MaxEntries bounds the number of cached keys (found and unknown).
	MaxEntries int
	// LookupTimeout bounds one lookup of the wrapped source. The lookup is
	// shared by every caller waiting for the same key, so it is detached
	// from any one caller's cancellation.
	LookupTimeout time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Cache is a read-through cache in front of another CredentialLookup. Hits
// never touch the source; concurrent misses for one key share a single
// source lookup (singleflight); technical failures are never cached.
//
// A revoked or changed key keeps working from the cache for up to TTL in
// every process (Invalidate only affects this one). Instant propagation of
// revocations across proxies comes with the revocation API in a later issue.
//
// When full, the cache drops expired entries and then arbitrary ones; with
// TTLs of seconds that is as good as LRU and needs no bookkeeping on hits.
type Cache struct {
	next  sigv4.CredentialLookup
	opts  CacheOptions
	group singleflight.Group

	mu      sync.Mutex
	entries map[string]cacheEntry
}

type cacheEntry struct {
	cred    sigv4.Credential
	unknown bool
	expires time.Time
}

var _ sigv4.CredentialLookup = (*Cache)(nil)

// NewCache returns a Cache over next.
func NewCache(next sigv4.CredentialLookup, o CacheOptions) *Cache {
	if o.TTL <= 0 {
		o.TTL = DefaultCacheTTL
	}
	if o.NegativeTTL <= 0 {
		o.NegativeTTL = DefaultNegativeCacheTTL
	}
	if o.MaxEntries <= 0 {
		o.MaxEntries = DefaultCacheMaxEntries
	}
	if o.LookupTimeout <= 0 {
		o.LookupTimeout = DefaultLookupTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Cache{next: next, opts: o, entries: make(map[string]cacheEntry)}
}

// LookupCredential implements sigv4.CredentialLookup.
func (c *Cache) LookupCredential(ctx context.Context, accessKeyID string) (sigv4.Credential, error) {
	if e, ok := c.get(accessKeyID); ok {
		if e.unknown {
			return sigv4.Credential{}, fmt.Errorf("credentials: %s (cached): %w", accessKeyID, sigv4.ErrUnknownAccessKey)
		}
		return e.cred, nil
	}
	ch := c.group.DoChan(accessKeyID, func() (any, error) {
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.opts.LookupTimeout)
		defer cancel()
		cred, err := c.next.LookupCredential(lctx, accessKeyID)
		switch {
		case err == nil:
			c.put(accessKeyID, cacheEntry{cred: cred}, c.opts.TTL)
		case errors.Is(err, sigv4.ErrUnknownAccessKey):
			c.put(accessKeyID, cacheEntry{unknown: true}, c.opts.NegativeTTL)
		}
		return cred, err
	})
	select {
	case <-ctx.Done():
		return sigv4.Credential{}, fmt.Errorf("credentials: lookup %s: %w", accessKeyID, ctx.Err())
	case r := <-ch:
		if r.Err != nil {
			return sigv4.Credential{}, r.Err
		}
		return r.Val.(sigv4.Credential), nil
	}
}

// Invalidate drops accessKeyID from this process's cache, so the next lookup
// reads the source.
func (c *Cache) Invalidate(accessKeyID string) {
	c.mu.Lock()
	delete(c.entries, accessKeyID)
	c.mu.Unlock()
	c.group.Forget(accessKeyID)
}

// Len returns the number of cached entries, expired ones included.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

func (c *Cache) get(id string) (cacheEntry, bool) {
	now := c.opts.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[id]
	if !ok {
		return cacheEntry{}, false
	}
	if !now.Before(e.expires) {
		delete(c.entries, id)
		return cacheEntry{}, false
	}
	return e, true
}

func (c *Cache) put(id string, e cacheEntry, ttl time.Duration) {
	now := c.opts.Now()
	e.expires = now.Add(ttl)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[id]; !ok && len(c.entries) >= c.opts.MaxEntries {
		c.evictLocked(now)
	}
	c.entries[id] = e
}

// evictLocked removes expired entries and, if that frees too little, enough
// arbitrary ones to bring the cache to 7/8 of its bound, so a stream of new
// keys pays for eviction once per MaxEntries/8 inserts.
func (c *Cache) evictLocked(now time.Time) {
	for id, e := range c.entries {
		if !now.Before(e.expires) {
			delete(c.entries, id)
		}
	}
	target := c.opts.MaxEntries - max(1, c.opts.MaxEntries/8)
	for id := range c.entries {
		if len(c.entries) <= target {
			break
		}
		delete(c.entries, id)
	}
}
