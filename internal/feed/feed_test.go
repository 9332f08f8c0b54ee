package feed

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

func TestSince(t *testing.T) {
	ctx := context.Background()
	f := New(3)
	start := f.Since(ctx, "", 0, time.Hour) // a new poller learns the position at once
	if start.Epoch != f.Epoch() || start.Seq != 0 || start.Reset || len(start.Events) != 0 {
		t.Fatalf("first poll = %+v", start)
	}
	f.Publish(Event{Kind: KindPolicy, Version: 7})
	f.Publish(Event{Kind: KindCredentials, User: "alice", AccessKeyIDs: []string{"AK1"}})
	b := f.Since(ctx, start.Epoch, start.Seq, time.Hour)
	if b.Reset || b.Seq != 2 || len(b.Events) != 2 || b.Events[0].Version != 7 || b.Events[1].User != "alice" || b.Events[1].Seq != 2 {
		t.Fatalf("after two events: %+v", b)
	}
	if b := f.Since(ctx, start.Epoch, 1, time.Hour); len(b.Events) != 1 || b.Events[0].Seq != 2 {
		t.Errorf("from 1: %+v", b)
	}
	for range 3 {
		f.Publish(Event{Kind: KindPolicy})
	}
	if b := f.Since(ctx, start.Epoch, 1, time.Hour); !b.Reset {
		t.Errorf("position 1 fell out of a ring of 3 but no reset: %+v", b)
	}
	if b := f.Since(ctx, start.Epoch, 2, time.Hour); b.Reset || len(b.Events) != 3 {
		t.Errorf("position 2 is still covered: %+v", b)
	}
	if b := f.Since(ctx, "another-epoch", 5, time.Hour); !b.Reset {
		t.Errorf("a foreign epoch did not reset: %+v", b)
	}
	if b := f.Since(ctx, start.Epoch, 99, time.Hour); !b.Reset {
		t.Errorf("a position from the future did not reset: %+v", b)
	}
}

func TestSinceWaits(t *testing.T) {
	ctx := context.Background()
	f := New(0)
	got := make(chan Batch)
	go func() { got <- f.Since(ctx, f.Epoch(), 0, time.Minute) }()
	time.Sleep(20 * time.Millisecond)
	f.Publish(Event{Kind: KindPolicy})
	select {
	case b := <-got:
		if len(b.Events) != 1 {
			t.Errorf("woken with %+v", b)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a waiting poll was not woken by Publish")
	}
	if b := f.Since(ctx, f.Epoch(), 1, 10*time.Millisecond); len(b.Events) != 0 || b.Reset {
		t.Errorf("timeout with nothing new = %+v", b)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if b := f.Since(cctx, f.Epoch(), 1, time.Minute); len(b.Events) != 0 {
		t.Errorf("cancelled poll = %+v", b)
	}
}

func TestWatchVersion(t *testing.T) {
	f := New(0)
	var v atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	v.Store(3)
	var changed atomic.Bool
	go f.WatchVersion(ctx, time.Millisecond, v.Load, func() { changed.Store(true) })
	go func() { // the watcher reads its first version when it starts
		time.Sleep(50 * time.Millisecond)
		v.Store(4)
	}()
	b := f.Since(ctx, f.Epoch(), 0, 5*time.Second)
	if len(b.Events) == 0 || b.Events[0].Kind != KindPolicy || b.Events[0].Version != 4 {
		t.Fatalf("version change not published: %+v", b)
	}
	if !changed.Load() {
		t.Error("onChange was not called before the event was published")
	}
}
