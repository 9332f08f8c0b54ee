package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
)

// policyChannel is the PostgreSQL notification channel on which every
// committed UpdatePolicy is announced (NOTIFY is delivered on commit, to
// every session listening, on every server sharing the database).
const policyChannel = "lakegate_policy"

// Backoff of ListenPolicy's reconnections.
const (
	listenMinBackoff = 100 * time.Millisecond
	listenMaxBackoff = 5 * time.Second
)

// notifyPolicy announces, inside UpdatePolicy's transaction, that the
// policy changed; a no-op but on PostgreSQL.
func (s *SQL) notifyPolicy(ctx context.Context, tx *sql.Tx) error {
	if !s.NotifiesPolicy() {
		return nil
	}
	_, err := tx.ExecContext(ctx, "NOTIFY "+policyChannel)
	return err
}

// NotifiesPolicy reports whether the store pushes policy changes to
// ListenPolicy (PostgreSQL's LISTEN/NOTIFY). Other stores are polled
// through PolicyVersion.
func (s *SQL) NotifiesPolicy() bool { return s.d.name == "postgres" }

// ListenPolicy calls changed whenever an UpdatePolicy commits (this
// process's or another's), and each time it has connected, since changes
// made while it was not listening were not announced to it; it runs until
// ctx ends. It listens on a connection of its own, which it adds to the
// pool's limit (Options.MaxOpenConns) for as long as it runs, and connects
// again by itself when that connection is lost, after a backoff growing
// from 100 ms to 5 s, telling lost (if not nil) why. On a store that does
// not notify it returns at once. Run one per store.
func (s *SQL) ListenPolicy(ctx context.Context, changed func(), lost func(error)) {
	if !s.NotifiesPolicy() {
		return
	}
	if n := s.db.Stats().MaxOpenConnections; n > 0 {
		s.db.SetMaxOpenConns(n + 1)
		defer s.db.SetMaxOpenConns(n)
	}
	backoff := listenMinBackoff
	for ctx.Err() == nil {
		start := time.Now()
		err := s.listenOnce(ctx, changed)
		if ctx.Err() != nil {
			return
		}
		if lost != nil {
			lost(Unavailable(err))
		}
		if time.Since(start) > listenMaxBackoff {
			backoff = listenMinBackoff // it had been listening: try again soon
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, listenMaxBackoff)
	}
}

// listenOnce listens on one connection until it fails or ctx ends. The
// connection is closed at the end, never returned to the pool listening.
func (s *SQL) listenOnce(ctx context.Context, changed func()) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	return conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return errors.New("store: listen: not a pgx connection")
		}
		pc := c.Conn()
		// Closed at the end: the pool then discards it (stdlib.Conn's
		// IsValid), and the LISTEN with it.
		defer func() {
			cctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			_ = pc.Close(cctx)
		}()
		if _, err := pc.Exec(ctx, "LISTEN "+policyChannel); err != nil {
			return err
		}
		changed()
		for {
			if _, err := pc.WaitForNotification(ctx); err != nil {
				return err
			}
			changed()
		}
	})
}
