package store_test

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
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

func TestSQLiteReopenKeepsPolicy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lakegate.db")
	s, err := store.OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	err = s.UpdatePolicy(t.Context(), func(tx store.PolicyTx) error { return tx.CreateRole(t.Context(), "analyst") })
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openSQLite(t, path)
	p, err := s2.LoadPolicy(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if p.Version != 1 || len(p.Roles) != 1 || p.Roles[0].Name != "analyst" {
		t.Errorf("after reopen: %+v, want version 1 and role analyst", p)
	}
}

// TestSQLiteSharedByTwoHandles stands in for two processes on one database
// file: two stores, two connection pools, updating at once.
func TestSQLiteSharedByTwoHandles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lakegate.db")
	a, b := openSQLite(t, path), openSQLite(t, path)
	const perStore = 20
	var wg sync.WaitGroup
	secrets := make([]string, 2)
	for i, s := range []*store.SQL{a, b} {
		wg.Go(func() {
			for j := range perStore {
				role := fmt.Sprintf("role-%d-%02d", i, j)
				if err := s.UpdatePolicy(t.Context(), func(tx store.PolicyTx) error { return tx.CreateRole(t.Context(), role) }); err != nil {
					t.Errorf("store %d: %v", i, err)
				}
			}
			v, err := s.EnsureSecret(t.Context(), "key", fmt.Appendf(nil, "from store %d", i))
			if err != nil {
				t.Errorf("store %d: EnsureSecret: %v", i, err)
			}
			secrets[i] = string(v)
		})
	}
	wg.Wait()
	for i, s := range []*store.SQL{a, b} {
		v, err := s.PolicyVersion(t.Context())
		if err != nil || v != 2*perStore {
			t.Errorf("store %d: PolicyVersion = %d, %v; want %d", i, v, err, 2*perStore)
		}
	}
	if secrets[0] != secrets[1] {
		t.Errorf("the stores disagree on the secret: %q, %q", secrets[0], secrets[1])
	}
}

func TestSQLiteShared(t *testing.T) {
	storetest.RunShared(t, func(t *testing.T) (store.Store, store.Store) {
		path := filepath.Join(t.TempDir(), "lakegate.db")
		return openSQLite(t, path), openSQLite(t, path)
	})
}

func TestSQLiteRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lakegate.db")
	if err := openSQLite(t, path).Close(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var known int64
	if err := db.QueryRow(`SELECT MAX(version_id) FROM goose_db_version`).Scan(&known); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO goose_db_version (version_id, is_applied) VALUES (9999, 1)`); err != nil {
		t.Fatal(err)
	}
	s, err := store.OpenSQLite(t.Context(), path)
	if err == nil {
		_ = s.Close()
		t.Fatal("OpenSQLite of a database at schema version 9999 succeeded")
	}
	if !errors.Is(err, store.ErrSchemaTooNew) || !strings.Contains(err.Error(), " 9999,") ||
		!strings.Contains(err.Error(), fmt.Sprintf(" %d;", known)) {
		t.Errorf("err = %v; want ErrSchemaTooNew naming versions 9999 and %d", err, known)
	}
}
