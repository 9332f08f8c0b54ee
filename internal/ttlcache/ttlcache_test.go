package ttlcache

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"
)

func TestGet(t *testing.T) {
	now := time.Unix(1000, 0)
	c := New[int](Options{MaxEntries: 8, LookupTimeout: time.Second, Now: func() time.Time { return now }})
	loads := 0
	load := func(v int, ttl time.Duration, err error) Loader[int] {
		return func(context.Context) (int, time.Duration, error) { loads++; return v, ttl, err }
	}
	ctx := context.Background()
	if v, err := c.Get(ctx, "a", load(1, time.Minute, nil)); v != 1 || err != nil {
		t.Fatalf("Get = %d, %v", v, err)
	}
	if v, _ := c.Get(ctx, "a", load(2, time.Minute, nil)); v != 1 || loads != 1 {
		t.Errorf("hit: %d after %d loads, want 1 after 1", v, loads)
	}
	now = now.Add(time.Minute)
	if v, _ := c.Get(ctx, "a", load(3, time.Minute, nil)); v != 3 || loads != 2 {
		t.Errorf("after the TTL: %d after %d loads, want 3 after 2", v, loads)
	}
	boom := errors.New("boom")
	for range 2 {
		if _, err := c.Get(ctx, "e", load(0, time.Minute, boom)); !errors.Is(err, boom) {
			t.Errorf("err = %v", err)
		}
	}
	if loads != 4 {
		t.Errorf("errors were cached: %d loads, want 4", loads)
	}
	c.Get(ctx, "z", load(9, 0, nil))
	if _, ok := c.get("z"); ok {
		t.Error("a zero TTL was cached")
	}
	c.Invalidate("a")
	if _, ok := c.get("a"); ok {
		t.Error("Invalidate kept the entry")
	}
	for i := range 100 {
		c.Get(ctx, strconv.Itoa(i), load(i, time.Hour, nil))
		if c.Len() > 8 {
			t.Fatalf("%d entries, bound 8", c.Len())
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	block := func(ctx context.Context) (int, time.Duration, error) {
		time.Sleep(50 * time.Millisecond)
		return 1, time.Hour, nil
	}
	if _, err := c.Get(cctx, "slow", block); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled caller: %v", err)
	}
}
