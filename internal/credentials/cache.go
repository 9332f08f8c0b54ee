package credentials

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lakegate/lakegate/internal/s3/sigv4"
	"github.com/lakegate/lakegate/internal/ttlcache"
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
// every process but the one that calls Invalidate; instant propagation of
// revocations across proxies is the change feed's job.
type Cache struct {
	next  sigv4.CredentialLookup
	opts  CacheOptions
	cache *ttlcache.Cache[cacheEntry]
}

// cacheEntry is a found credential, or the fact that the key is unknown.
type cacheEntry struct {
	cred    sigv4.Credential
	unknown bool
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
	return &Cache{next: next, opts: o, cache: ttlcache.New[cacheEntry](ttlcache.Options{
		MaxEntries: o.MaxEntries, LookupTimeout: o.LookupTimeout, Now: o.Now,
	})}
}

// LookupCredential implements sigv4.CredentialLookup.
func (c *Cache) LookupCredential(ctx context.Context, accessKeyID string) (sigv4.Credential, error) {
	e, err := c.cache.Get(ctx, accessKeyID, func(lctx context.Context) (cacheEntry, time.Duration, error) {
		cred, err := c.next.LookupCredential(lctx, accessKeyID)
		switch {
		case err == nil:
			return cacheEntry{cred: cred}, c.opts.TTL, nil
		case errors.Is(err, sigv4.ErrUnknownAccessKey):
			// Remembered briefly, so a client retrying with a bad key
			// does not reach the database each time.
			return cacheEntry{unknown: true}, c.opts.NegativeTTL, nil
		}
		return cacheEntry{}, 0, err
	})
	switch {
	case err != nil && ctx.Err() != nil:
		return sigv4.Credential{}, fmt.Errorf("credentials: lookup %s: %w", accessKeyID, ctx.Err())
	case err != nil:
		return sigv4.Credential{}, err
	case e.unknown:
		return sigv4.Credential{}, fmt.Errorf("credentials: %s: %w", accessKeyID, sigv4.ErrUnknownAccessKey)
	}
	return e.cred, nil
}

// Invalidate drops accessKeyID from this process's cache, so the next lookup
// reads the source.
func (c *Cache) Invalidate(accessKeyID string) { c.cache.Invalidate(accessKeyID) }

// Flush drops every cached key.
func (c *Cache) Flush() { c.cache.Flush() }

// Len returns the number of cached entries, expired ones included.
func (c *Cache) Len() int { return c.cache.Len() }
