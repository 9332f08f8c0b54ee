package server

import (
	"context"
	"log/slog"
	"time"

	"github.com/lakegate/lakegate/internal/store"
)

// How fast a change made through another server sharing the store reaches
// this one (issue 14: within a second, proxies and node proxies included).
// On PostgreSQL the policy engine is woken by a notification and the poll
// is only a safety net; other stores are polled.
const (
	policyPoll       = 250 * time.Millisecond
	policyPollNotify = time.Second
	// feedPoll is how often the change feed compares the engine's version
	// with the last it published (a read of memory).
	feedPoll = 50 * time.Millisecond
)

// policyWatch is how the policy engine learns of other servers' changes:
// its poll interval, and, on a store that notifies, the channel that wakes
// it and the background listener that feeds that channel.
type policyWatch struct {
	poll    time.Duration
	changes chan struct{}
	listen  func(context.Context) // nil: the store does not notify
}

func newPolicyWatch(db *store.SQL, log *slog.Logger) policyWatch {
	if !db.NotifiesPolicy() {
		return policyWatch{poll: policyPoll}
	}
	w := policyWatch{poll: policyPollNotify, changes: make(chan struct{}, 1)}
	wake := func() {
		select {
		case w.changes <- struct{}{}:
		default: // a wake-up is pending already
		}
	}
	w.listen = func(ctx context.Context) {
		db.ListenPolicy(ctx, wake, func(err error) {
			log.Warn("policy notifications lost; listening again", "err", err)
		})
	}
	return w
}
