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

	"github.com/lakegate/lakegate/internal/metrics"
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
	// Metrics, when its counters are set, counts Get's hits and misses and
	// every entry removed before it was read (expired, invalidated,
	// flushed or pushed out by size).
	Metrics metrics.Cache
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
	// gen counts invalidations: a load that started before one must not
	// store what it read, which may be what was just invalidated.
	gen uint64
	// loading holds a token per key being loaded; InvalidateKey removes
	// its key's, so that load stores nothing while other keys' loads do.
	loading map[string]uint64
	tokens  uint64
}

type entry[V any] struct {
	v       V
	expires time.Time
}

// New returns an empty cache.
func New[V any](o Options) *Cache[V] {
	return &Cache[V]{opts: o, entries: make(map[string]entry[V]), loading: make(map[string]uint64)}
}

// Loader loads the value of a key and says how long to keep it; a ttl of
// zero or less keeps nothing. An error is never cached.
type Loader[V any] func(ctx context.Context) (v V, ttl time.Duration, err error)

// Get returns the value of key from the cache, or loads it: concurrent
// misses for one key run load once. When ctx ends first, Get returns
// ctx.Err() while the shared load goes on for the others.
func (c *Cache[V]) Get(ctx context.Context, key string, load Loader[V]) (V, error) {
	if v, ok := c.get(key); ok {
		count(c.opts.Metrics.Hits, 1)
		return v, nil
	}
	count(c.opts.Metrics.Misses, 1)
	ch := c.group.DoChan(key, func() (any, error) {
		gen, token := c.startLoad(key)
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.opts.LookupTimeout)
		defer cancel()
		v, ttl, err := load(lctx)
		if c.endLoad(key, token) && err == nil && ttl > 0 {
			c.PutIfGeneration(key, v, ttl, gen)
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
	if _, ok := c.entries[key]; ok {
		delete(c.entries, key)
		count(c.opts.Metrics.Evictions, 1)
	}
	c.gen++
	c.mu.Unlock()
	c.group.Forget(key)
}

// InvalidateKey drops key from this process's cache, as Invalidate does,
// but discards only the loads of key under way: those of other keys still
// store what they read.
func (c *Cache[V]) InvalidateKey(key string) {
	c.mu.Lock()
	if _, ok := c.entries[key]; ok {
		delete(c.entries, key)
		count(c.opts.Metrics.Evictions, 1)
	}
	delete(c.loading, key)
	c.mu.Unlock()
	c.group.Forget(key)
}

// startLoad registers a load of key and returns the generation it started
// in and its token.
func (c *Cache[V]) startLoad(key string) (gen, token uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tokens++
	c.loading[key] = c.tokens
	return c.gen, c.tokens
}

// endLoad unregisters a load and reports whether it may store what it
// read: no InvalidateKey of its key came in between.
func (c *Cache[V]) endLoad(key string, token uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.loading[key] != token {
		return false
	}
	delete(c.loading, key)
	return true
}

// InvalidateIf drops every entry for which drop returns true.
func (c *Cache[V]) InvalidateIf(drop func(key string, v V) bool) {
	c.mu.Lock()
	n := 0
	for k, e := range c.entries {
		if drop(k, e.v) {
			delete(c.entries, k)
			n++
		}
	}
	c.gen++
	c.mu.Unlock()
	count(c.opts.Metrics.Evictions, n)
}

// Flush drops every entry; loads under way store nothing.
func (c *Cache[V]) Flush() {
	c.mu.Lock()
	n := len(c.entries)
	clear(c.entries)
	c.gen++
	c.mu.Unlock()
	count(c.opts.Metrics.Evictions, n)
}

// Peek returns the live value of key without loading it; it counts
// nothing, so that callers probing several keys for one question can count
// the question once.
func (c *Cache[V]) Peek(key string) (V, bool) { return c.get(key) }

// Generation returns the invalidation count; pass it to PutIfGeneration
// with what was read after it.
func (c *Cache[V]) Generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// PutIfGeneration stores v under key for ttl unless the cache was
// invalidated since gen was read, and reports whether it did.
func (c *Cache[V]) PutIfGeneration(key string, v V, ttl time.Duration, gen uint64) bool {
	if ttl <= 0 {
		return false
	}
	now := c.opts.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return false
	}
	if _, ok := c.entries[key]; !ok && len(c.entries) >= c.opts.MaxEntries {
		c.evictLocked(now)
	}
	c.entries[key] = entry[V]{v: v, expires: now.Add(ttl)}
	return true
}

func count(c interface{ Add(float64) }, n int) {
	if c != nil && n > 0 {
		c.Add(float64(n))
	}
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
		count(c.opts.Metrics.Evictions, 1)
		var zero V
		return zero, false
	}
	return e.v, true
}

func (c *Cache[V]) evictLocked(now time.Time) {
	before := len(c.entries)
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
	count(c.opts.Metrics.Evictions, before-len(c.entries))
}
