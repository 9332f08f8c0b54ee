package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lakegate/lakegate/internal/store"
	"github.com/lakegate/lakegate/internal/store/mysqltest"
	"github.com/lakegate/lakegate/internal/store/pgtest"
)

// TestListenPolicy: on PostgreSQL, a change committed through another
// handle is announced to ListenPolicy within a second, a rolled-back one
// is not; when the database goes away the listener says so, and when it is
// back it listens again by itself (announcing the reconnection, since
// changes may have been missed) and goes on receiving changes.
func TestListenPolicy(t *testing.T) {
	db := pgtest.Start(t)
	ctx := t.Context()
	open := func() *store.SQL {
		st, err := store.OpenWith(ctx, store.Options{Driver: "postgres", DSN: db.DSN})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		return st
	}
	here, there := open(), open()
	if !here.NotifiesPolicy() {
		t.Fatal("a postgres store does not notify")
	}
	changed := make(chan struct{}, 16)
	lost := make(chan error, 16)
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		here.ListenPolicy(lctx, func() { changed <- struct{}{} }, func(err error) { lost <- err })
		close(done)
	}()
	defer func() { cancel(); <-done }()
	expect := func(what string, within time.Duration) {
		t.Helper()
		select {
		case <-changed:
		case <-time.After(within):
			t.Fatalf("%s: no call within %v", what, within)
		}
	}
	quiet := func(what string) {
		t.Helper()
		select {
		case <-changed:
			t.Fatalf("%s: announced", what)
		case <-time.After(300 * time.Millisecond):
		}
	}
	update := func(role string) {
		t.Helper()
		if err := there.UpdatePolicy(ctx, func(tx store.PolicyTx) error { return tx.CreateRole(ctx, role) }); err != nil {
			t.Fatal(err)
		}
	}
	expect("listening", 10*time.Second)

	start := time.Now()
	update("r1")
	expect("a committed change", time.Second)
	t.Logf("announced %v after the commit", time.Since(start))

	errRollback := errors.New("rolled back")
	if err := there.UpdatePolicy(ctx, func(tx store.PolicyTx) error {
		_ = tx.CreateRole(ctx, "r2")
		return errRollback
	}); !errors.Is(err, errRollback) {
		t.Fatalf("UpdatePolicy: %v", err)
	}
	quiet("a rolled-back change")

	if err := db.Stop(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-lost:
		if !store.IsUnavailable(err) {
			t.Errorf("lost: %v, not classified as unavailable", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the listener did not notice the database going away")
	}
	if err := db.Start(); err != nil {
		t.Fatal(err)
	}
	expect("listening again", 15*time.Second)
	// The other handle's pooled connections died with the server: its
	// first statements may fail (503 in a server) until the pool has
	// replaced them, which it does by itself.
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := there.UpdatePolicy(ctx, func(tx store.PolicyTx) error { return tx.CreateRole(ctx, "r3") })
		if err == nil {
			break
		}
		if !store.IsUnavailable(err) || time.Now().After(deadline) {
			t.Fatalf("UpdatePolicy after the restart: %v", err)
		}
	}
	expect("the change after the restart", time.Second)
	start = time.Now()
	update("r4")
	expect("a change after the reconnection", time.Second)
	t.Logf("announced %v after the commit, after the reconnection", time.Since(start))
}

// TestDatabaseLoss: while the database is stopped, every call fails with
// an error IsUnavailable recognizes (for the proxy's and the REST API's
// 503); once it is back, the same handle works again by itself, with what
// was committed before.
func TestDatabaseLoss(t *testing.T) {
	for _, tt := range []struct {
		driver string
		start  func(testing.TB) (dsn string, stop, restart func() error)
	}{
		{"postgres", func(t testing.TB) (string, func() error, func() error) {
			db := pgtest.Start(t)
			return db.DSN, db.Stop, db.Start
		}},
		{"mysql", func(t testing.TB) (string, func() error, func() error) {
			db := mysqltest.Start(t)
			return db.DSN, db.Stop, db.Start
		}},
	} {
		t.Run(tt.driver, func(t *testing.T) {
			ctx := t.Context()
			dsn, stop, restart := tt.start(t)
			st, err := store.OpenWith(ctx, store.Options{Driver: tt.driver, DSN: dsn})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			key := store.AccessKey{AccessKeyID: "AKLOSS", SecretAccessKey: "s", UserName: "u"}
			if err := st.CreateAccessKey(ctx, key); err != nil {
				t.Fatal(err)
			}
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			for name, call := range map[string]func() error{
				"GetAccessKey":  func() error { _, err := st.GetAccessKey(ctx, key.AccessKeyID); return err },
				"PolicyVersion": func() error { _, err := st.PolicyVersion(ctx); return err },
				"UpdatePolicy": func() error {
					return st.UpdatePolicy(ctx, func(tx store.PolicyTx) error { return tx.CreateRole(ctx, "r") })
				},
			} {
				err := call()
				if !store.IsUnavailable(err) {
					t.Errorf("%s with the database down: %v, not unavailable", name, err)
				}
			}
			if err := restart(); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(15 * time.Second)
			for {
				got, err := st.GetAccessKey(ctx, key.AccessKeyID)
				if err == nil {
					if got.SecretAccessKey != key.SecretAccessKey {
						t.Errorf("after the restart: %+v", got)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("GetAccessKey 15 s after the database came back: %v", err)
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}
