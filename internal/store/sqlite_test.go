package store_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/lakegate/lakegate/internal/store"
	"github.com/lakegate/lakegate/internal/store/storetest"
)

func openSQLite(t *testing.T, path string) *store.SQL {
	t.Helper()
	s, err := store.OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatalf("OpenSQLite: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestSQLiteConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openSQLite(t, filepath.Join(t.TempDir(), "lakegate.db"))
	})
}

func TestSQLiteFileIsPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	path := filepath.Join(dir, "lakegate.db")
	s := openSQLite(t, path)
	if err := s.PutAccessKey(t.Context(), store.AccessKey{AccessKeyID: "LGX", SecretAccessKey: "s", UserName: "u"}); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{dir: 0o700, path: 0o600, path + "-wal": 0o600} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Mode().Perm(); got != want {
			t.Errorf("%s mode = %o, want %o", filepath.Base(p), got, want)
		}
	}
}

func TestSQLiteTightensExistingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lakegate.db")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	openSQLite(t, path)
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Mode().Perm(); got != 0o600 {
		t.Errorf("mode = %o, want 600", got)
	}
}

func TestSQLiteReopenKeepsDataAndMigratesOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lakegate.db")
	s, err := store.OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAccessKey(t.Context(), store.AccessKey{AccessKeyID: "LGKEEP", SecretAccessKey: "s", UserName: "u"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openSQLite(t, path)
	if _, err := s2.GetAccessKey(t.Context(), "LGKEEP"); err != nil {
		t.Fatalf("after reopen: %v", err)
	}
}

func TestOpenRejectsUnknownDriver(t *testing.T) {
	if _, err := store.Open(t.Context(), "oracle", "x"); err == nil {
		t.Fatal("want an error")
	}
}
