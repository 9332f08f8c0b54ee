// Package ttlcache is the read-through cache lakegate's lookups share: an
// expiring map bounded in size, in front of a loader, where concurrent
// misses for one key share a single load (singleflight). Caches of
// credentials and of group memberships are thin decorators over it.
package ttlcache

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// Options configure a Cache. Every field is required (callers own their
// defaults).
type Options struct {
	// MaxEntries bounds the number of cached keys.
	MaxEntries int
	// LookupTimeout bounds one load. The load is shared by every caller
	// waiting for the same key, so it is detached from any one caller's
	// cancellation.
	LookupTimeout time.Duration
	// Now returns the current time.
	Now func() time.Time
}

// Cache maps string keys to values of type V that expire.
//
// When full, the cache drops expired entries and then arbitrary ones down
// to 7/8 of its bound, so a stream of new keys pays for eviction once per
// MaxEntries/8 inserts; with short TTLs that is as good as LRU and needs
// no bookkeeping on hits.
type Cache[V any] struct {
	opts  Options
	group singleflight.Group

	mu      sync.Mutex
	entries map[string]entry[V]
}

type entry[V any] struct {
	v       V
	expires time.Time
}

// New returns an empty cache.
func New[V any](o Options) *Cache[V] {
	return &Cache[V]{opts: o, entries: make(map[string]entry[V])}
}

// Loader loads the value of a key and says how long to keep it; a ttl of
// zero or less keeps nothing. An error is never cached.
type Loader[V any] func(ctx context.Context) (v V, ttl time.Duration, err error)

// Get returns the value of key from the cache, or loads it: concurrent
// misses for one key run load once. When ctx ends first, Get returns
// ctx.Err() while the shared load goes on for the others.
func (c *Cache[V]) Get(ctx context.Context, key string, load Loader[V]) (V, error) {
	if v, ok := c.get(key); ok {
		return v, nil
	}
	ch := c.group.DoChan(key, func() (any, error) {
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.opts.LookupTimeout)
		defer cancel()
		v, ttl, err := load(lctx)
		if err == nil && ttl > 0 {
			c.put(key, v, ttl)
		}
		return v, err
	})
	select {
	case <-ctx.Done():
		var zero V
		return zero, ctx.Err()
	case r := <-ch:
		v, _ := r.Val.(V)
		return v, r.Err
	}
}

// Invalidate drops key from this process's cache, so that the next Get
// loads it.
func (c *Cache[V]) Invalidate(key string) {
	c.mu.Lock()
	delete(c.entries, key)
	c.mu.Unlock()
	c.group.Forget(key)
}

// Len returns the number of cached entries, expired ones included.
func (c *Cache[V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

func (c *Cache[V]) get(key string) (V, bool) {
	now := c.opts.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		var zero V
		return zero, false
	}
	if !now.Before(e.expires) {
		delete(c.entries, key)
		var zero V
		return zero, false
	}
	return e.v, true
}

func (c *Cache[V]) put(key string, v V, ttl time.Duration) {
	now := c.opts.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; !ok && len(c.entries) >= c.opts.MaxEntries {
		c.evictLocked(now)
	}
	c.entries[key] = entry[V]{v: v, expires: now.Add(ttl)}
}

func (c *Cache[V]) evictLocked(now time.Time) {
	for k, e := range c.entries {
		if !now.Before(e.expires) {
			delete(c.entries, k)
		}
	}
	target := c.opts.MaxEntries - max(1, c.opts.MaxEntries/8)
	for k := range c.entries {
		if len(c.entries) <= target {
			break
		}
		delete(c.entries, k)
	}
}
