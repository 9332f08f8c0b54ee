package nscale

import (
	"fmt"
	"slices"
	"sync"
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
		c.put(permKey{principal: principal, loc: locKey{priv: grants.Select, bucket: "b", path: path}}, "r", nil, ttl, now, c.generation())
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
	c.put(permKey{principal: "late", loc: locKey{priv: grants.Select, bucket: "b"}}, "r", nil, time.Minute, now, gen)
	if _, ok := c.lookup("late", sel, "b", "x", now); ok || c.n != 0 {
		t.Error("an answer from before a flush was stored after it")
	}
}

// TestPermCacheTableMatch: a table-derived entry names each key's own
// partition, remembers at most maxPartitionsMemo of them, and a partition
// location's entry names its spec for every key.
func TestPermCacheTableMatch(t *testing.T) {
	c := newPermCache(16, metrics.NewCache("test_permissions"))
	now := time.Unix(1000, 0)
	sel := grants.Privileges(grants.Select)
	table := &policy.TableMatch{Database: "shop", Table: "sales", Location: "s3://b/sales", Root: "sales",
		PartitionColumns: []string{"dt"}, Partition: "dt=1"}
	outside := &policy.TableMatch{Database: "shop", Table: "sales", Location: "s3://old/p", Root: "p",
		PartitionColumns: []string{"dt"}, Spec: "dt=0"}
	c.put(permKey{principal: "p", loc: locKey{priv: grants.Select, bucket: "b", path: "sales"}}, "r", table, time.Minute, now, c.generation())
	c.put(permKey{principal: "p", loc: locKey{priv: grants.Select, bucket: "old", path: "p"}}, "r", outside, time.Minute, now, c.generation())
	tests := []struct{ name, bucket, key, partition string }{
		{"the cached key's partition", "b", "sales/dt=1/f", "dt=1"},
		{"another partition", "b", "sales/dt=2/f", "dt=2"},
		{"no partition", "b", "sales/_SUCCESS", ""},
		{"partition location", "old", "p/f", "dt=0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, ok := c.lookup("p", sel, tt.bucket, tt.key, now)
			m := c.match(h)
			if !ok || m == nil || m.Name() != "shop.sales" || m.Partition != tt.partition {
				t.Fatalf("lookup %s: %v %+v, want shop.sales partition %q", tt.key, ok, m, tt.partition)
			}
		})
	}
	if table.Partition != "dt=1" {
		t.Error("the cache changed the match it was given")
	}
	for i := range 2 * maxPartitionsMemo {
		h, _ := c.lookup("p", sel, "b", fmt.Sprintf("sales/dt=%d/f", i), now)
		if m := c.match(h); m.Partition != fmt.Sprintf("dt=%d", i) {
			t.Fatalf("partition %d named %q", i, m.Partition)
		}
	}
	h, _ := c.lookup("p", sel, "b", "sales/dt=2/f", now)
	if h.table == nil || h.table.Partition != "dt=2" {
		t.Error("a partition seen before was not remembered")
	}
	if n := len(c.m["p"][locKey{priv: grants.Select, bucket: "b", path: "sales"}].table.parts); n != maxPartitionsMemo {
		t.Errorf("%d partitions remembered, want the bound %d", n, maxPartitionsMemo)
	}
}

// TestPermCacheTableMatchConcurrent: warm decisions naming partitions
// from many goroutines, with flushes, are race-free (run with -race).
func TestPermCacheTableMatchConcurrent(t *testing.T) {
	c := newPermCache(16, metrics.NewCache("test_permissions"))
	now := time.Unix(1000, 0)
	table := &policy.TableMatch{Database: "shop", Table: "sales", Location: "s3://b/sales", Root: "sales", PartitionColumns: []string{"dt"}}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 500 {
				if i%100 == 0 {
					c.put(permKey{principal: "p", loc: locKey{priv: grants.Select, bucket: "b", path: "sales"}}, "r", table, time.Minute, now, c.generation())
				}
				if g == 0 && i%250 == 0 {
					c.flush()
				}
				key := fmt.Sprintf("sales/dt=%d/f", i%300)
				if h, ok := c.lookup("p", grants.Privileges(grants.Select), "b", key, now); ok {
					if m := c.match(h); m.Partition != fmt.Sprintf("dt=%d", i%300) {
						t.Errorf("%s named partition %q", key, m.Partition)
						return
					}
				}
			}
		})
	}
	wg.Wait()
}
