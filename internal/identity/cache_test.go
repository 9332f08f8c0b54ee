package identity

import (
	"context"
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

func TestCachedGroupsCallerCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate := make(chan struct{})
		f := &fakeGroups{users: map[string][]string{"alice": {"ops"}}, gate: gate}
		c := NewCachedGroups(f, CachedGroupsOptions{TTL: time.Minute})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() {
			_, err := c.Groups(ctx, "alice")
			done <- err
		}()
		synctest.Wait()
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled caller got %v, want context.Canceled", err)
		}
		// The shared lookup was not cancelled with its first caller: it
		// finishes and fills the cache.
		close(gate)
		synctest.Wait()
		got, err := c.Groups(context.Background(), "alice")
		if err != nil || !slices.Equal(got, []string{"ops"}) || f.count() != 1 {
			t.Fatalf("after the lookup finished: %q, %v, %d lookups; want [ops] from the cache", got, err, f.count())
		}
	})
}

func TestCachedGroupsCopies(t *testing.T) {
	f := fake(map[string][]string{"alice": {"ops", "eng"}})
	c := NewCachedGroups(f, CachedGroupsOptions{TTL: time.Minute})
	ctx := context.Background()
	got, _ := c.Groups(ctx, "alice")
	got[0] = "root"
	got, _ = c.Groups(ctx, "alice")
	if !slices.Equal(got, []string{"ops", "eng"}) {
		t.Fatalf("a caller changed the cache: %q", got)
	}
}

func TestCachedGroupsBounded(t *testing.T) {
	f := fake(nil)
	c := NewCachedGroups(f, CachedGroupsOptions{TTL: time.Hour, MaxEntries: 8})
	for i := range 100 {
		if _, err := c.Groups(context.Background(), string(rune('a'+i%26))+string(rune('0'+i/26))); err != nil {
			t.Fatal(err)
		}
		if c.Len() > 8 {
			t.Fatalf("after %d users the cache holds %d, over its bound 8", i+1, c.Len())
		}
	}
}

func TestCachedGroupsInvalidate(t *testing.T) {
	f := fake(map[string][]string{"alice": {"ops"}})
	c := NewCachedGroups(f, CachedGroupsOptions{TTL: time.Hour})
	ctx := context.Background()
	_, _ = c.Groups(ctx, "alice")
	c.Invalidate("alice")
	_, _ = c.Groups(ctx, "alice")
	if f.count() != 2 {
		t.Fatalf("%d lookups after Invalidate, want 2", f.count())
	}
}
