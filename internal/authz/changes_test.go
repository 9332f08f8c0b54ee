package authz_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/lakegate/lakegate/internal/authz"
)

// TestRunWakesOnChanges: with a poll interval far too long to matter, a
// wake-up on Options.Changes (a PostgreSQL notification) makes Run load a
// change another engine committed at once.
func TestRunWakesOnChanges(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	changes := make(chan struct{}, 1)
	here, err := authz.New(t.Context(), authz.Options{Store: openStore(t, path), PollInterval: time.Hour, Changes: changes})
	if err != nil {
		t.Fatal(err)
	}
	there := newEngine(t, openStore(t, path), time.Hour)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { here.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	if err := there.Bootstrap(t.Context(), "admin", "admin"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	changes <- struct{}{}
	for !here.IsCatalogAdmin(admin) {
		if time.Since(start) > 5*time.Second {
			t.Fatal("the change was not loaded 5 s after the wake-up")
		}
		time.Sleep(time.Millisecond)
	}
	t.Logf("loaded %v after the wake-up", time.Since(start))
	if here.Version() != there.Version() {
		t.Errorf("versions %d here, %d there", here.Version(), there.Version())
	}
}
