// Package feed is the policy server's change feed: the events that tell
// nScale proxies to drop cached decisions and keys at once, instead of
// waiting for a TTL as Okera's proxies did. Proxies long-poll the server
// (GET /api/internal/changes); an event reaches every waiting proxy as soon
// as it is published.
//
// Events are kept in a bounded ring. A proxy that asks for events older
// than the ring holds, or from another epoch (the server restarted), is
// told to reset: drop everything it caches. Losing precision never loses
// an invalidation.
package feed

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"
)

// Kinds of events.
const (
	// KindPolicy: grants, roles, role memberships or the users table
	// changed; every cached decision may be wrong.
	KindPolicy = "policy"
	// KindCredentials: User's keys were revoked (or the user deleted);
	// AccessKeyIDs lists them when known.
	KindCredentials = "credentials"
)

// Event is one change.
type Event struct {
	Seq          uint64   `json:"seq"`
	Kind         string   `json:"kind"`
	User         string   `json:"user,omitempty"`
	AccessKeyIDs []string `json:"access_key_ids,omitempty"`
	// Version is the policy version after a KindPolicy change.
	Version int64 `json:"version,omitempty"`
}

// Batch answers one poll.
type Batch struct {
	// Epoch identifies this server process's feed; Seq is the sequence
	// number of its latest event, the position to ask from next.
	Epoch string `json:"epoch"`
	Seq   uint64 `json:"seq"`
	// Reset tells the poller that events it has not seen are lost to it:
	// it must drop everything it caches.
	Reset  bool    `json:"reset,omitempty"`
	Events []Event `json:"events,omitempty"`
}

// DefaultCapacity is how many events the ring keeps.
const DefaultCapacity = 4096

// Feed is a bounded, in-memory event log with waiting readers. It is safe
// for concurrent use.
type Feed struct {
	epoch string
	cap   int

	mu     sync.Mutex
	seq    uint64
	events []Event       // the last cap events, oldest first
	wake   chan struct{} // closed and replaced on every publish
}

// New returns an empty feed with a fresh epoch keeping capacity events
// (DefaultCapacity when ≤ 0).
func New(capacity int) *Feed {
	if capacity <= 0 {
		capacity = DefaultCapacity
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return &Feed{epoch: hex.EncodeToString(b[:]), cap: capacity, wake: make(chan struct{})}
}

// Epoch returns the feed's epoch.
func (f *Feed) Epoch() string { return f.epoch }

// Publish appends e (its Seq is assigned) and wakes every waiting reader.
func (f *Feed) Publish(e Event) {
	f.mu.Lock()
	f.seq++
	e.Seq = f.seq
	if len(f.events) == f.cap {
		copy(f.events, f.events[1:])
		f.events = f.events[:f.cap-1]
	}
	f.events = append(f.events, e)
	close(f.wake)
	f.wake = make(chan struct{})
	f.mu.Unlock()
}

// Since returns the events after position after of epoch, waiting up to
// wait for one when there is none yet. An empty epoch asks for the current
// position only (a new poller); a foreign epoch or a position the ring no
// longer covers answers Reset.
func (f *Feed) Since(ctx context.Context, epoch string, after uint64, wait time.Duration) Batch {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		f.mu.Lock()
		b, wake := f.sinceLocked(epoch, after)
		f.mu.Unlock()
		if b.Reset || len(b.Events) > 0 || epoch == "" {
			return b
		}
		select {
		case <-wake:
		case <-timer.C:
			return b
		case <-ctx.Done():
			return b
		}
	}
}

func (f *Feed) sinceLocked(epoch string, after uint64) (Batch, <-chan struct{}) {
	b := Batch{Epoch: f.epoch, Seq: f.seq}
	switch {
	case epoch == "":
		return b, f.wake
	case epoch != f.epoch || after > f.seq:
		b.Reset = true
		return b, f.wake
	case after == f.seq:
		return b, f.wake
	}
	oldest := f.seq - uint64(len(f.events)) // events hold oldest+1 … seq
	if after < oldest {
		b.Reset = true
		return b, f.wake
	}
	b.Events = append([]Event(nil), f.events[after-oldest:]...)
	return b, f.wake
}

// WatchVersion publishes a KindPolicy event whenever version() changes,
// checking every interval, until ctx ends, after calling onChange (if not
// nil) so that this process's own caches go first. The policy engine
// reloads after its own changes at once and polls the store for other
// processes', so this covers both.
func (f *Feed) WatchVersion(ctx context.Context, interval time.Duration, version func() int64, onChange func()) {
	last := version()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if v := version(); v != last {
			last = v
			if onChange != nil {
				onChange()
			}
			f.Publish(Event{Kind: KindPolicy, Version: v})
		}
	}
}
