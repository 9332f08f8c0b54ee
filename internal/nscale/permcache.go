package nscale

import (
	"sync"
	"time"

	"github.com/lakegate/lakegate/internal/grants"
	"github.com/lakegate/lakegate/internal/metrics"
	"github.com/lakegate/lakegate/internal/policy"
)

// permKey is one entry of the user permission cache: a principal holds a
// privilege at a location (the server, or a path in a bucket).
type permKey struct {
	principal string
	priv      grants.Privilege
	server    bool
	bucket    string
	path      string
}

type permEntry struct {
	reason  string
	expires int64 // unix nanoseconds
}

// permCache is seed 004's user permission cache: allows only, keyed by the
// location of the grant that allowed them, so that one entry answers every
// key below it. A lookup probes the locations that could cover a key under
// one read lock, without allocating; entries expire after their TTL and all
// go at once on Flush (a policy change).
type permCache struct {
	max   int
	stats metrics.Cache

	mu  sync.RWMutex
	m   map[permKey]permEntry
	gen uint64
}

func newPermCache(max int, stats metrics.Cache) *permCache {
	return &permCache{max: max, stats: stats, m: make(map[permKey]permEntry)}
}

// lookup returns the reason of a cached allow of any of privs covering
// bucket/key for principal.
func (c *permCache) lookup(principal string, privs grants.Privileges, bucket, key string, now time.Time) (string, bool) {
	t := now.UnixNano()
	c.mu.RLock()
	defer c.mu.RUnlock()
	if len(c.m) == 0 {
		return "", false
	}
	for p := grants.Privilege(1); p != 0; p <<= 1 {
		if !privs.Has(p) {
			continue
		}
		if e, ok := c.m[permKey{principal: principal, priv: p, server: true}]; ok && t < e.expires {
			return e.reason, true
		}
		for path := range policy.CoveringPaths(key) {
			if e, ok := c.m[permKey{principal: principal, priv: p, bucket: bucket, path: path}]; ok && t < e.expires {
				return e.reason, true
			}
		}
	}
	return "", false
}

// generation returns the flush count, for put.
func (c *permCache) generation() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

// put stores an allow unless the cache was flushed since gen was read (the
// answer may predate the change that flushed it).
func (c *permCache) put(k permKey, reason string, ttl time.Duration, now time.Time, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if _, ok := c.m[k]; !ok && len(c.m) >= c.max {
		t, n := now.UnixNano(), len(c.m)
		for key, e := range c.m {
			if t >= e.expires || len(c.m) > c.max-c.max/8 {
				delete(c.m, key)
			}
		}
		count(c.stats.Evictions, n-len(c.m))
	}
	c.m[k] = permEntry{reason: reason, expires: now.Add(ttl).UnixNano()}
}

// flush drops every entry.
func (c *permCache) flush() {
	c.mu.Lock()
	n := len(c.m)
	if n > 0 {
		c.m = make(map[permKey]permEntry)
	}
	c.gen++
	c.mu.Unlock()
	count(c.stats.Evictions, n)
}

func count(c interface{ Add(float64) }, n int) {
	if c != nil && n > 0 {
		c.Add(float64(n))
	}
}
