package nscale

import (
	"strings"
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
	loc       locKey
}

// locKey is a privilege at a location, the key within one principal's
// entries.
type locKey struct {
	priv   grants.Privilege
	server bool
	bucket string
	path   string
}

type permEntry struct {
	reason  string
	expires int64 // unix nanoseconds
	// table is set for a table-derived allow (nil for a URI or SERVER
	// grant's).
	table *tableEntry
}

// maxPartitionsMemo bounds the partitions one table entry remembers.
const maxPartitionsMemo = 256

// tableEntry is the table (or partition) location of a cached
// table-derived allow, with the match of each partition seen so far, so
// that a warm decision names its key's partition without allocating.
// parts is guarded by the permCache's mutex; the matches are read-only.
type tableEntry struct {
	// m is the match as the cache keeps it: Partition is the partition
	// location's spec, or "".
	m     *policy.TableMatch
	parts map[string]*policy.TableMatch
}

func newTableEntry(m *policy.TableMatch) *tableEntry {
	if m == nil {
		return nil
	}
	c := *m
	c.Partition = c.Spec
	return &tableEntry{m: &c, parts: map[string]*policy.TableMatch{}}
}

// partition is the partition of key, "" when the entry names the same
// partition (or none) for every key.
func (t *tableEntry) partition(key string) string {
	if t.m.Spec != "" || len(t.m.PartitionColumns) == 0 {
		return ""
	}
	return policy.PartitionOf(key, t.m.Root, t.m.PartitionColumns)
}

// permHit is a cached allow as lookup finds it.
type permHit struct {
	reason string
	// table is the match for the key looked up; nil with memo set when
	// the key's partition (part) was not seen before (permCache.match).
	table *policy.TableMatch
	memo  *tableEntry
	part  string
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
	m   map[string]map[locKey]permEntry // principal → its allows
	n   int                             // entries in all
	gen uint64
}

func newPermCache(max int, stats metrics.Cache) *permCache {
	return &permCache{max: max, stats: stats, m: make(map[string]map[locKey]permEntry)}
}

// lookup returns a cached allow of any of privs covering bucket/key for
// principal. Locations are probed widest first, as seed 004 describes:
// the server, the bucket, then each covering path from the shortest.
//
// For a table-derived allow the hit names the key's partition: from the
// entry's memo, else (hit.table nil) through match.
func (c *permCache) lookup(principal string, privs grants.Privileges, bucket, key string, now time.Time) (permHit, bool) {
	t := now.UnixNano()
	c.mu.RLock()
	defer c.mu.RUnlock()
	m := c.m[principal]
	if len(m) == 0 {
		return permHit{}, false
	}
	for p := grants.Privilege(1); p != 0; p <<= 1 {
		if !privs.Has(p) {
			continue
		}
		if e, ok := m[locKey{priv: p, server: true}]; ok && t < e.expires {
			return permHit{reason: e.reason}, true
		}
		for path := range widestFirst(key) {
			if e, ok := m[locKey{priv: p, bucket: bucket, path: path}]; ok && t < e.expires {
				return hitOf(e, key), true
			}
		}
	}
	return permHit{}, false
}

// hitOf is the hit of e for key; the caller holds c.mu.
func hitOf(e permEntry, key string) permHit {
	h := permHit{reason: e.reason}
	te := e.table
	if te == nil {
		return h
	}
	part := te.partition(key)
	if part == "" {
		h.table = te.m
		return h
	}
	if pm, ok := te.parts[part]; ok {
		h.table = pm
		return h
	}
	h.memo, h.part = te, part
	return h
}

// match returns the hit's table match, making (and remembering, up to
// maxPartitionsMemo per entry) the match of a partition not seen before.
// The result is read-only.
func (c *permCache) match(h permHit) *policy.TableMatch {
	if h.table != nil || h.memo == nil {
		return h.table
	}
	pm := *h.memo.m
	pm.Partition = strings.Clone(h.part) // not a slice of one request's key
	c.mu.Lock()
	if len(h.memo.parts) < maxPartitionsMemo {
		h.memo.parts[pm.Partition] = &pm
	}
	c.mu.Unlock()
	return &pm
}

// widestFirst yields policy.CoveringPaths(key) in the reverse order:
// "" (the whole bucket), "/" for a key starting with one, then at each
// '/' boundary from the left the prefix without and with its slash, then
// key itself.
func widestFirst(key string) func(yield func(string) bool) {
	return func(yield func(string) bool) {
		if !yield("") || key == "" {
			return
		}
		if key[0] == '/' && len(key) > 1 && !yield("/") {
			return
		}
		for i := 1; i < len(key); i++ {
			if key[i] != '/' {
				continue
			}
			if !yield(key[:i]) {
				return
			}
			if i+1 < len(key) && !yield(key[:i+1]) {
				return
			}
		}
		yield(key)
	}
}

// generation returns the flush count, for put.
func (c *permCache) generation() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

// put stores an allow unless the cache was flushed since gen was read (the
// answer may predate the change that flushed it).
func (c *permCache) put(k permKey, reason string, table *policy.TableMatch, ttl time.Duration, now time.Time, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	m := c.m[k.principal]
	if _, ok := m[k.loc]; !ok && c.n >= c.max {
		c.evictLocked(now.UnixNano())
		m = c.m[k.principal]
	}
	if m == nil {
		m = make(map[locKey]permEntry)
		c.m[k.principal] = m
	}
	if _, ok := m[k.loc]; !ok {
		c.n++
	}
	m[k.loc] = permEntry{reason: reason, expires: now.Add(ttl).UnixNano(), table: newTableEntry(table)}
}

// evictLocked drops expired entries, then whole principals, until the
// cache is down to 7/8 of its bound.
func (c *permCache) evictLocked(t int64) {
	before := c.n
	for p, m := range c.m {
		for k, e := range m {
			if t >= e.expires {
				delete(m, k)
				c.n--
			}
		}
		if len(m) == 0 {
			delete(c.m, p)
		}
	}
	for p, m := range c.m {
		if c.n <= c.max-c.max/8 {
			break
		}
		c.n -= len(m)
		delete(c.m, p)
	}
	count(c.stats.Evictions, before-c.n)
}

// flush drops every entry.
func (c *permCache) flush() {
	c.mu.Lock()
	n := c.n
	if n > 0 {
		c.m = make(map[string]map[locKey]permEntry)
		c.n = 0
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
