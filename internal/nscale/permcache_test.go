package nscale

import (
	"slices"
	"testing"
	"time"

	"github.com/lakegate/lakegate/internal/grants"
	"github.com/lakegate/lakegate/internal/metrics"
	"github.com/lakegate/lakegate/internal/policy"
)

// TestWidestFirst: the cache probes exactly the paths the policy matches
// grants on, in the reverse order.
func TestWidestFirst(t *testing.T) {
	for _, key := range []string{"", "a", "a/", "a/b", "a/b/", "a//b", "/", "/a", "//a/", "data/2026/01/part-0.parquet", "x/y/z/"} {
		want := slices.Collect(policy.CoveringPaths(key))
		slices.Reverse(want)
		if got := slices.Collect(widestFirst(key)); !slices.Equal(got, want) {
			t.Errorf("widestFirst(%q) = %q, want %q", key, got, want)
		}
	}
}

func FuzzWidestFirst(f *testing.F) {
	for _, s := range []string{"", "a/b", "/x//y/", "data/2026/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		want := slices.Collect(policy.CoveringPaths(key))
		slices.Reverse(want)
		if got := slices.Collect(widestFirst(key)); !slices.Equal(got, want) {
			t.Fatalf("widestFirst(%q) = %q, want %q", key, got, want)
		}
	})
}

func TestPermCacheBoundsAndExpiry(t *testing.T) {
	c := newPermCache(16, metrics.NewCache("test_permissions"))
	now := time.Unix(1000, 0)
	sel := grants.Privileges(grants.Select)
	put := func(principal, path string, ttl time.Duration) {
		c.put(permKey{principal: principal, loc: locKey{priv: grants.Select, bucket: "b", path: path}}, "r", ttl, now, c.generation())
	}
	put("p1", "data", time.Minute)
	if _, ok := c.lookup("p1", sel, "b", "data/x", now); !ok {
		t.Fatal("miss under the cached location")
	}
	if _, ok := c.lookup("p1", sel, "b", "database", now); ok {
		t.Fatal("hit on a sibling name")
	}
	if _, ok := c.lookup("p1", sel, "b", "data/x", now.Add(time.Minute)); ok {
		t.Fatal("hit after the TTL")
	}
	for i := range 40 {
		put(string(rune('A'+i)), "data", time.Minute)
		if c.n > 16 {
			t.Fatalf("%d entries in a cache of 16", c.n)
		}
	}
	gen := c.generation()
	c.flush()
	c.put(permKey{principal: "late", loc: locKey{priv: grants.Select, bucket: "b"}}, "r", time.Minute, now, gen)
	if _, ok := c.lookup("late", sel, "b", "x", now); ok || c.n != 0 {
		t.Error("an answer from before a flush was stored after it")
	}
}
