package credentials_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lakegate/lakegate/internal/credentials"
	"github.com/lakegate/lakegate/internal/s3/sigv4"
)

// source is a CredentialLookup that counts calls. Keys starting with "LG"
// exist; "ERR…" keys fail technically; others are unknown. When gate is
// non-nil every call waits for it to close.
type source struct {
	calls atomic.Int64
	gate  chan struct{}
}

func (s *source) LookupCredential(ctx context.Context, id string) (sigv4.Credential, error) {
	s.calls.Add(1)
	if s.gate != nil {
		select {
		case <-s.gate:
		case <-ctx.Done():
			return sigv4.Credential{}, ctx.Err()
		}
	}
	switch {
	case len(id) >= 2 && id[:2] == "LG":
		return sigv4.Credential{AccessKeyID: id, SecretAccessKey: "secret-" + id}, nil
	case len(id) >= 3 && id[:3] == "ERR":
		return sigv4.Credential{}, errors.New("database unavailable")
	default:
		return sigv4.Credential{}, fmt.Errorf("%s: %w", id, sigv4.ErrUnknownAccessKey)
	}
}

// clock is a manual time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newCache(src *source, o credentials.CacheOptions) (*credentials.Cache, *clock) {
	clk := &clock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	o.Now = clk.Now
	return credentials.NewCache(src, o), clk
}

func TestCacheHitsAndExpiry(t *testing.T) {
	src := &source{}
	c, clk := newCache(src, credentials.CacheOptions{TTL: 5 * time.Second})
	ctx := t.Context()
	for i := range 3 {
		cred, err := c.LookupCredential(ctx, "LGALICE")
		if err != nil {
			t.Fatal(err)
		}
		if cred.SecretAccessKey != "secret-LGALICE" {
			t.Fatalf("lookup %d: %+v", i, cred)
		}
	}
	if n := src.calls.Load(); n != 1 {
		t.Errorf("source called %d times for 3 lookups within TTL, want 1", n)
	}
	clk.Advance(5 * time.Second)
	if _, err := c.LookupCredential(ctx, "LGALICE"); err != nil {
		t.Fatal(err)
	}
	if n := src.calls.Load(); n != 2 {
		t.Errorf("source called %d times after TTL, want 2", n)
	}
}

func TestCacheNegative(t *testing.T) {
	src := &source{}
	c, clk := newCache(src, credentials.CacheOptions{NegativeTTL: time.Second})
	ctx := t.Context()
	for range 3 {
		if _, err := c.LookupCredential(ctx, "BOGUS"); !errors.Is(err, sigv4.ErrUnknownAccessKey) {
			t.Fatalf("err = %v, want ErrUnknownAccessKey", err)
		}
	}
	if n := src.calls.Load(); n != 1 {
		t.Errorf("source called %d times for a cached unknown key, want 1", n)
	}
	clk.Advance(time.Second)
	if _, err := c.LookupCredential(ctx, "BOGUS"); !errors.Is(err, sigv4.ErrUnknownAccessKey) {
		t.Fatalf("err = %v", err)
	}
	if n := src.calls.Load(); n != 2 {
		t.Errorf("source called %d times after the negative TTL, want 2", n)
	}
}

func TestCacheDoesNotCacheTechnicalErrors(t *testing.T) {
	src := &source{}
	c, _ := newCache(src, credentials.CacheOptions{})
	for range 3 {
		_, err := c.LookupCredential(t.Context(), "ERRDB")
		if err == nil || errors.Is(err, sigv4.ErrUnknownAccessKey) {
			t.Fatalf("err = %v, want the technical error", err)
		}
	}
	if n := src.calls.Load(); n != 3 {
		t.Errorf("source called %d times, want 3 (failures are not cached)", n)
	}
}

func TestCacheSingleflight(t *testing.T) {
	src := &source{gate: make(chan struct{})}
	c, _ := newCache(src, credentials.CacheOptions{})
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cred, err := c.LookupCredential(context.Background(), "LGHOT")
			if err == nil && cred.AccessKeyID != "LGHOT" {
				err = fmt.Errorf("got %+v", cred)
			}
			errs <- err
		}()
	}
	// Wait until the shared lookup is in flight, give the rest time to
	// join it, then release it.
	for src.calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	close(src.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if got := src.calls.Load(); got != 1 {
		t.Errorf("source called %d times for %d concurrent misses, want 1", got, n)
	}
}

func TestCacheCallerCancellation(t *testing.T) {
	src := &source{gate: make(chan struct{})}
	c, _ := newCache(src, credentials.CacheOptions{})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := c.LookupCredential(ctx, "LGSLOW")
		done <- err
	}()
	for src.calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller: err = %v, want context.Canceled", err)
	}
	// The shared lookup was not cancelled with the caller: it completes and
	// fills the cache.
	close(src.gate)
	deadline := time.Now().Add(5 * time.Second)
	for c.Len() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if _, err := c.LookupCredential(t.Context(), "LGSLOW"); err != nil {
		t.Fatal(err)
	}
	if n := src.calls.Load(); n != 1 {
		t.Errorf("source called %d times, want 1", n)
	}
}

func TestCacheBounded(t *testing.T) {
	src := &source{}
	c, _ := newCache(src, credentials.CacheOptions{MaxEntries: 64})
	for i := range 1000 {
		if _, err := c.LookupCredential(t.Context(), fmt.Sprintf("LG%04d", i)); err != nil {
			t.Fatal(err)
		}
		if c.Len() > 64 {
			t.Fatalf("cache holds %d entries, bound is 64", c.Len())
		}
	}
}

func TestCacheInvalidate(t *testing.T) {
	src := &source{}
	c, _ := newCache(src, credentials.CacheOptions{})
	ctx := t.Context()
	_, _ = c.LookupCredential(ctx, "LGREVOKED")
	c.Invalidate("LGREVOKED")
	_, _ = c.LookupCredential(ctx, "LGREVOKED")
	if n := src.calls.Load(); n != 2 {
		t.Errorf("source called %d times, want 2 (Invalidate forces a reload)", n)
	}
}

// BenchmarkCacheHit measures the verification hot path. Compare runs with
// benchstat: go test -run '^$' -bench CacheHit -count 10 ./internal/credentials > new.txt
func BenchmarkCacheHit(b *testing.B) {
	c := credentials.NewCache(&source{}, credentials.CacheOptions{TTL: time.Hour})
	ctx := context.Background()
	if _, err := c.LookupCredential(ctx, "LGBENCH"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.LookupCredential(ctx, "LGBENCH"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkGenerate(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		credentials.Generate()
	}
}
