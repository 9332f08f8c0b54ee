package identity

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// Group cache defaults.
const (
	// DefaultGroupCacheTTL is the TTL the composition root should give
	// ResolverOptions.CacheTTL when the configuration names none.
	DefaultGroupCacheTTL        = 5 * time.Minute
	DefaultGroupCacheMaxEntries = 10_000
	DefaultGroupLookupTimeout   = 30 * time.Second
)

// CachedGroupsOptions configure a CachedGroups. Zero values select the
// defaults above.
type CachedGroupsOptions struct {
	// TTL is how long a user's groups are answered from memory after a
	// successful lookup; zero means DefaultGroupCacheTTL.
	TTL time.Duration
	// MaxEntries bounds the number of cached users.
	MaxEntries int
	// LookupTimeout bounds one lookup of the wrapped resolver. The lookup
	// is shared by every caller waiting for the same user, so it is
	// detached from any one caller's cancellation.
	LookupTimeout time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// CachedGroups is a read-through cache in front of another GroupResolver,
// keyed by user name. A hit never reaches the wrapped resolver; concurrent
// misses for one user share a single lookup (singleflight); errors are
// never cached, so the next call asks again.
//
// A user's groups are answered from memory for up to TTL after the lookup
// that found them: a membership change made in the directory is seen once
// the entry expires, never sooner, in every process.
type CachedGroups struct {
	next  GroupResolver
	opts  CachedGroupsOptions
	group singleflight.Group

	mu      sync.Mutex
	entries map[string]groupsEntry
}

type groupsEntry struct {
	groups  []string
	expires time.Time
}

var _ GroupResolver = (*CachedGroups)(nil)

// NewCachedGroups returns a CachedGroups over next.
func NewCachedGroups(next GroupResolver, o CachedGroupsOptions) *CachedGroups {
	if o.TTL <= 0 {
		o.TTL = DefaultGroupCacheTTL
	}
	if o.MaxEntries <= 0 {
		o.MaxEntries = DefaultGroupCacheMaxEntries
	}
	if o.LookupTimeout <= 0 {
		o.LookupTimeout = DefaultGroupLookupTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &CachedGroups{next: next, opts: o, entries: make(map[string]groupsEntry)}
}

// Groups implements GroupResolver. The slice returned is the caller's.
func (c *CachedGroups) Groups(ctx context.Context, user string) ([]string, error) {
	if g, ok := c.get(user); ok {
		return slices.Clone(g), nil
	}
	ch := c.group.DoChan(user, func() (any, error) {
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.opts.LookupTimeout)
		defer cancel()
		g, err := c.next.Groups(lctx, user)
		if err != nil {
			return nil, err
		}
		g = slices.Clone(g)
		c.put(user, g)
		return g, nil
	})
	select {
	case <-ctx.Done():
		return nil, fmt.Errorf("identity: groups of %q: %w", user, ctx.Err())
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return slices.Clone(r.Val.([]string)), nil
	}
}

// Invalidate drops user from this process's cache, so the next call asks
// the wrapped resolver.
func (c *CachedGroups) Invalidate(user string) {
	c.mu.Lock()
	delete(c.entries, user)
	c.mu.Unlock()
	c.group.Forget(user)
}

// Len returns the number of cached entries, expired ones included.
func (c *CachedGroups) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

func (c *CachedGroups) get(user string) ([]string, bool) {
	now := c.opts.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[user]
	if !ok {
		return nil, false
	}
	if !now.Before(e.expires) {
		delete(c.entries, user)
		return nil, false
	}
	return e.groups, true
}

func (c *CachedGroups) put(user string, groups []string) {
	now := c.opts.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[user]; !ok && len(c.entries) >= c.opts.MaxEntries {
		c.evictLocked(now)
	}
	c.entries[user] = groupsEntry{groups: groups, expires: now.Add(c.opts.TTL)}
}

// evictLocked removes expired entries and, if that frees too little, enough
// arbitrary ones to bring the cache to 7/8 of its bound, so a stream of new
// users pays for eviction once per MaxEntries/8 inserts.
func (c *CachedGroups) evictLocked(now time.Time) {
	for u, e := range c.entries {
		if !now.Before(e.expires) {
			delete(c.entries, u)
		}
	}
	target := c.opts.MaxEntries - max(1, c.opts.MaxEntries/8)
	for u := range c.entries {
		if len(c.entries) <= target {
			break
		}
		delete(c.entries, u)
	}
}
