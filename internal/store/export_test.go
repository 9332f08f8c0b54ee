package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/lakegate/lakegate/internal/store"
	"github.com/lakegate/lakegate/internal/store/pgtest"
)

// TestImportNotifies: on PostgreSQL, servers running on a store that
// `lakegate store copy --force` fills hear of it at once, as of any policy
// change, rather than at their next version check.
func TestImportNotifies(t *testing.T) {
	db := pgtest.Start(t)
	ctx := t.Context()
	open := func() *store.SQL {
		st, err := store.Open(ctx, "postgres", db.DSN)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		return st
	}
	here, there := open(), open()
	changed := make(chan struct{}, 16)
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		here.ListenPolicy(lctx, func() { changed <- struct{}{} }, nil)
		close(done)
	}()
	defer func() { cancel(); <-done }()
	select { // the call announcing that it listens
	case <-changed:
	case <-time.After(5 * time.Second):
		t.Fatal("ListenPolicy did not start")
	}
	snap := store.Snapshot{Policy: store.PolicyData{Roles: []store.RoleRecord{{Name: "copied_role"}}}}
	if err := there.Import(ctx, snap, store.ImportOptions{Replace: true}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
	case <-time.After(time.Second):
		t.Fatal("Import was not announced within a second")
	}
}
