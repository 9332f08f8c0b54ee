package ttlcache

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lakegate/lakegate/internal/metrics"
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

// TestInvalidateDuringLoad: a load that read its value before an
// invalidation must not store it, or a revocation could be undone by a
// lookup that was already under way.
func TestInvalidateDuringLoad(t *testing.T) {
	reg := prometheus.NewRegistry()
	evictions := prometheus.NewCounter(prometheus.CounterOpts{Name: "evictions"})
	reg.MustRegister(evictions)
	c := New[int](Options{MaxEntries: 8, LookupTimeout: time.Second, Now: time.Now, Metrics: metrics.Cache{Evictions: evictions}})
	started, release := make(chan struct{}), make(chan struct{})
	done := make(chan int)
	go func() {
		v, _ := c.Get(context.Background(), "k", func(context.Context) (int, time.Duration, error) {
			close(started)
			<-release
			return 1, time.Minute, nil // read before the invalidation below
		})
		done <- v
	}()
	<-started
	c.Invalidate("k")
	close(release)
	if v := <-done; v != 1 {
		t.Fatalf("Get = %d, want the loaded 1 for the caller", v)
	}
	if _, ok := c.Peek("k"); ok {
		t.Error("a value loaded before Invalidate was stored after it")
	}
	gen := c.Generation()
	if !c.PutIfGeneration("k", 2, time.Minute, gen) {
		t.Fatal("PutIfGeneration refused with the current generation")
	}
	c.InvalidateIf(func(k string, v int) bool { return v == 2 })
	if _, ok := c.Peek("k"); ok {
		t.Error("InvalidateIf left a matching entry")
	}
	if c.PutIfGeneration("k", 3, time.Minute, gen) {
		t.Error("PutIfGeneration stored with a stale generation")
	}
	c.PutIfGeneration("a", 1, time.Minute, c.Generation())
	c.PutIfGeneration("b", 1, time.Minute, c.Generation())
	c.Flush()
	if c.Len() != 0 {
		t.Errorf("Flush left %d entries", c.Len())
	}
	if got := testutil.ToFloat64(evictions); got != 3 {
		t.Errorf("evictions = %v, want 3 (one InvalidateIf, two flushed)", got)
	}
}

// TestInvalidateKey: InvalidateKey drops one key and discards the loads of
// that key under way, not those of other keys.
func TestInvalidateKey(t *testing.T) {
	c := New[int](Options{MaxEntries: 8, LookupTimeout: time.Second, Now: time.Now})
	c.PutIfGeneration("gone", 1, time.Minute, c.Generation())
	c.PutIfGeneration("kept", 1, time.Minute, c.Generation())
	started, release := make(chan struct{}, 2), make(chan struct{})
	done := make(chan struct{}, 2)
	for _, k := range []string{"k", "other"} {
		go func() {
			_, _ = c.Get(context.Background(), k, func(context.Context) (int, time.Duration, error) {
				started <- struct{}{}
				<-release
				return 1, time.Minute, nil
			})
			done <- struct{}{}
		}()
	}
	<-started
	<-started
	c.InvalidateKey("k")
	c.InvalidateKey("gone")
	close(release)
	<-done
	<-done
	if _, ok := c.Peek("k"); ok {
		t.Error("a load of k from before InvalidateKey(k) was stored")
	}
	if _, ok := c.Peek("other"); !ok {
		t.Error("InvalidateKey(k) discarded the load of another key")
	}
	if _, ok := c.Peek("gone"); ok {
		t.Error("InvalidateKey left its key")
	}
	if _, ok := c.Peek("kept"); !ok {
		t.Error("InvalidateKey dropped another key")
	}
	if v, _ := c.Get(context.Background(), "k", func(context.Context) (int, time.Duration, error) { return 2, time.Minute, nil }); v != 2 {
		t.Errorf("Get after InvalidateKey = %d, want a fresh load", v)
	}
	if _, ok := c.Peek("k"); !ok {
		t.Error("a load after InvalidateKey was not stored")
	}
}
