package identity

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/lakegate/lakegate/internal/ttlcache"
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
	cache *ttlcache.Cache[[]string]
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
	return &CachedGroups{next: next, opts: o, cache: ttlcache.New[[]string](ttlcache.Options{
		MaxEntries: o.MaxEntries, LookupTimeout: o.LookupTimeout, Now: o.Now,
	})}
}

// Groups implements GroupResolver. The slice returned is the caller's.
func (c *CachedGroups) Groups(ctx context.Context, user string) ([]string, error) {
	g, err := c.cache.Get(ctx, user, func(lctx context.Context) ([]string, time.Duration, error) {
		g, err := c.next.Groups(lctx, user)
		if err != nil {
			return nil, 0, err
		}
		return slices.Clone(g), c.opts.TTL, nil
	})
	if err != nil && ctx.Err() != nil {
		return nil, fmt.Errorf("identity: groups of %q: %w", user, ctx.Err())
	}
	if err != nil {
		return nil, err
	}
	return slices.Clone(g), nil
}

// Invalidate drops user from this process's cache, so the next call asks
// the wrapped resolver.
func (c *CachedGroups) Invalidate(user string) { c.cache.Invalidate(user) }

// Len returns the number of cached entries, expired ones included.
func (c *CachedGroups) Len() int { return c.cache.Len() }
