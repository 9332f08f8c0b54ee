package server

import (
	"context"
	"log/slog"
	"sync/atomic"
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
		l := listenLog{log: log}
		db.ListenPolicy(ctx, func() { l.connected(); wake() }, l.lost)
	}
	return w
}

// listenLog logs the policy listener's losses once until it listens
// again (ListenPolicy retries up to every 5 s during an outage), as
// authz.Engine.Run does for reloads.
type listenLog struct {
	log     *slog.Logger
	failing atomic.Bool
}

// lost is ListenPolicy's lost.
func (l *listenLog) lost(err error) {
	if !l.failing.Swap(true) {
		l.log.Warn("policy notifications lost; listening again (logged once until it succeeds)", "err", err)
	}
}

// connected is called on each of ListenPolicy's changed: after each
// connection and on each notification.
func (l *listenLog) connected() {
	if l.failing.Swap(false) {
		l.log.Info("policy notifications restored")
	}
}
