// Package storetest is the conformance suite every store.Store
// implementation must pass, SQLite's behaviour being the reference. Call
// Run from the implementation's tests with a constructor that returns a
// fresh, empty store, and RunShared with one that returns two handles on
// one fresh database (two servers sharing it).
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lakegate/lakegate/internal/store"
)

// Run runs the conformance suite. newStore must return an empty store and
// arrange (t.Cleanup) for it to be closed.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"CreateGetRoundTrip", testCreateGet},
		{"CreateSetsCreatedAt", testCreateSetsCreatedAt},
		{"CreateDuplicate", testCreateDuplicate},
		{"GetMissing", testGetMissing},
		{"PutUpserts", testPutUpserts},
		{"List", testList},
		{"Delete", testDelete},
		{"DeleteExpired", testDeleteExpired},
		{"Concurrent", testConcurrent},
		{"SessionGroups", testSessionGroups},

		// The policy half (policy.go).
		{"CreateRole", testCreateRole},
		{"DropRole", testDropRole},
		{"DropRoleCascades", testDropRoleCascades},
		{"GrantRoleToGroup", testGrantRoleToGroup},
		{"RevokeRoleFromGroup", testRevokeRoleFromGroup},
		{"AddGrant", testAddGrant},
		{"RemoveGrants", testRemoveGrants},
		{"PolicyTxUsableAfterExpectedErrors", testTxUsableAfterExpectedErrors},
		{"UpdatePolicyRollback", testUpdatePolicyRollback},
		{"UpdatePolicyRollbackOnStoreError", testUpdatePolicyRollbackOnStoreError},
		{"UpdatePolicyPanicRollsBack", testUpdatePolicyPanic},
		{"PolicyVersion", testPolicyVersion},
		{"LoadPolicyEmpty", testLoadPolicyEmpty},
		{"LoadPolicy", testLoadPolicy},
		{"PutUser", testPutUser},
		{"PutUserReplacesGroups", testPutUserReplacesGroups},
		{"GetUserMissing", testGetUserMissing},
		{"DeleteUser", testDeleteUser},
		{"DeleteUserMissing", testDeleteUserMissing},
		{"TokenRoundTrip", testTokenRoundTrip},
		{"TokenCreateDuplicate", testTokenCreateDuplicate},
		{"TokenGetMissing", testTokenGetMissing},
		{"DeleteTokens", testDeleteTokens},
		{"EnsureSecret", testEnsureSecret},
		{"EnsureSecretConcurrent", testEnsureSecretConcurrent},
		{"ConcurrentUpdatePolicy", testConcurrentUpdatePolicy},
		{"NamesCompareExactly", testNamesCompareExactly},
		{"LongValues", testLongValues},
	}
	// The catalog (catalog.go).
	tests = append(tests, catalogTests...)
	// The export half and encryption at rest (export.go).
	tests = append(tests, exportTests(newStore)...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, newStore(t))
		})
	}
}

// RunConcurrency runs the tests of concurrent writers alone (a subset of
// Run), for a database set up differently, e.g. with a stricter default
// isolation level than the store expects.
func RunConcurrency(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Helper()
	for _, tt := range []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Concurrent", testConcurrent},
		{"EnsureSecretConcurrent", testEnsureSecretConcurrent},
		{"ConcurrentUpdatePolicy", testConcurrentUpdatePolicy},
		{"ImportConcurrentWithUpdates", testImportConcurrent},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, newStore(t))
		})
	}
}

// ms is the precision stores keep.
func ms(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

func key(id, user string) store.AccessKey {
	return store.AccessKey{
		AccessKeyID:     id,
		SecretAccessKey: "secret-" + id,
		UserName:        user,
		CreatedAt:       ms(time.Date(2025, 1, 2, 3, 4, 5, 678_900_000, time.UTC)),
	}
}

func equal(a, b store.AccessKey) bool {
	return a.AccessKeyID == b.AccessKeyID && a.SecretAccessKey == b.SecretAccessKey &&
		a.UserName == b.UserName && a.SessionToken == b.SessionToken &&
		a.CreatedAt.Equal(b.CreatedAt) && a.ExpiresAt.Equal(b.ExpiresAt) &&
		(a.SessionGroups == nil) == (b.SessionGroups == nil) && slices.Equal(a.SessionGroups, b.SessionGroups) &&
		a.SessionGroupsFold == b.SessionGroupsFold
}

func testSessionGroups(t *testing.T, s store.Store) {
	ctx := context.Background()
	for _, k := range []store.AccessKey{
		func() store.AccessKey {
			k := key("LGSESSION1", "alice")
			k.SessionGroups = []string{"analysts", "Data Eng"}
			return k
		}(),
		func() store.AccessKey { k := key("LGSESSION2", "bob"); k.SessionGroups = []string{}; return k }(),
		func() store.AccessKey {
			k := key("LGSESSION4", "dave")
			k.SessionGroups, k.SessionGroupsFold = []string{"analysts"}, true
			return k
		}(),
		key("LGSESSION3", "carol"),
	} {
		if err := s.CreateAccessKey(ctx, k); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetAccessKey(ctx, k.AccessKeyID)
		if err != nil {
			t.Fatal(err)
		}
		if !equal(got, k) {
			t.Errorf("round trip of %s: got groups %#v, want %#v", k.AccessKeyID, got.SessionGroups, k.SessionGroups)
		}
	}
}

func testCreateGet(t *testing.T, s store.Store) {
	ctx := t.Context()
	never := key("LGNEVEREXPIRES000000", "alice")
	expiring := key("LGEXPIRING0000000000", "bob")
	expiring.SessionToken = "session-token"
	expiring.ExpiresAt = time.Date(2030, 6, 7, 8, 9, 10, 123_456_789, time.FixedZone("X", 3600))
	for _, k := range []store.AccessKey{never, expiring} {
		if err := s.CreateAccessKey(ctx, k); err != nil {
			t.Fatalf("CreateAccessKey(%s): %v", k.AccessKeyID, err)
		}
		got, err := s.GetAccessKey(ctx, k.AccessKeyID)
		if err != nil {
			t.Fatalf("GetAccessKey(%s): %v", k.AccessKeyID, err)
		}
		want := k
		want.CreatedAt, want.ExpiresAt = ms(k.CreatedAt), k.ExpiresAt
		if !k.ExpiresAt.IsZero() {
			want.ExpiresAt = ms(k.ExpiresAt)
		}
		if !equal(got, want) {
			t.Errorf("round trip:\n got  %+v\n want %+v", got, want)
		}
		if !got.ExpiresAt.IsZero() && got.ExpiresAt.Location() != time.UTC {
			t.Errorf("ExpiresAt location = %v, want UTC", got.ExpiresAt.Location())
		}
	}
	got, _ := s.GetAccessKey(ctx, never.AccessKeyID)
	if !got.ExpiresAt.IsZero() {
		t.Errorf("never-expiring key came back with ExpiresAt %v", got.ExpiresAt)
	}
}

func testCreateSetsCreatedAt(t *testing.T, s store.Store) {
	ctx := t.Context()
	k := key("LGCREATEDAT000000000", "alice")
	k.CreatedAt = time.Time{}
	before := time.Now().Add(-time.Second)
	if err := s.CreateAccessKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetAccessKey(ctx, k.AccessKeyID)
	if err != nil {
		t.Fatal(err)
	}
	if got.CreatedAt.Before(before) || got.CreatedAt.After(time.Now().Add(time.Second)) {
		t.Errorf("CreatedAt = %v, want about now", got.CreatedAt)
	}
}

func testCreateDuplicate(t *testing.T, s store.Store) {
	ctx := t.Context()
	k := key("LGDUPLICATE000000000", "alice")
	if err := s.CreateAccessKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	other := k
	other.SecretAccessKey = "different"
	if err := s.CreateAccessKey(ctx, other); !errors.Is(err, store.ErrExists) {
		t.Fatalf("second CreateAccessKey: err = %v, want ErrExists", err)
	}
	got, err := s.GetAccessKey(ctx, k.AccessKeyID)
	if err != nil {
		t.Fatal(err)
	}
	if got.SecretAccessKey != k.SecretAccessKey {
		t.Error("failed create overwrote the existing key")
	}
}

func testGetMissing(t *testing.T, s store.Store) {
	_, err := s.GetAccessKey(t.Context(), "LGMISSING00000000000")
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
}

func testPutUpserts(t *testing.T, s store.Store) {
	ctx := t.Context()
	k := key("LGPUT000000000000000", "alice")
	if err := s.PutAccessKey(ctx, k); err != nil {
		t.Fatalf("Put (insert): %v", err)
	}
	k.SecretAccessKey = "rotated"
	k.UserName = "admin"
	k.SessionToken = "tok"
	k.ExpiresAt = ms(time.Now().Add(time.Hour))
	if err := s.PutAccessKey(ctx, k); err != nil {
		t.Fatalf("Put (replace): %v", err)
	}
	got, err := s.GetAccessKey(ctx, k.AccessKeyID)
	if err != nil {
		t.Fatal(err)
	}
	if !equal(got, k) {
		t.Errorf("after upsert:\n got  %+v\n want %+v", got, k)
	}
	// And back to never expiring.
	k.ExpiresAt = time.Time{}
	if err := s.PutAccessKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetAccessKey(ctx, k.AccessKeyID); !got.ExpiresAt.IsZero() {
		t.Errorf("ExpiresAt = %v, want cleared", got.ExpiresAt)
	}
}

func testList(t *testing.T, s store.Store) {
	ctx := t.Context()
	all, err := s.ListAccessKeys(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if all == nil || len(all) != 0 {
		t.Fatalf("empty store lists %v, want an empty non-nil slice", all)
	}
	for _, k := range []store.AccessKey{key("LGC", "bob"), key("LGA", "alice"), key("LGB", "alice")} {
		if err := s.CreateAccessKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(keys []store.AccessKey) string {
		var out string
		for _, k := range keys {
			out += k.AccessKeyID + " "
		}
		return out
	}
	all, err = s.ListAccessKeys(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(all), "LGA LGB LGC "; got != want {
		t.Errorf("all = %q, want %q", got, want)
	}
	alice, err := s.ListAccessKeys(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(alice), "LGA LGB "; got != want {
		t.Errorf("alice = %q, want %q", got, want)
	}
	if !equal(alice[0], key("LGA", "alice")) {
		t.Errorf("listed key %+v lost fields", alice[0])
	}
	for user, want := range map[string]string{"": "LGA LGB LGC", "alice": "LGA LGB", "nobody": ""} {
		got, err := s.ListAccessKeyIDs(ctx, user)
		if err != nil || strings.Join(got, " ") != want {
			t.Errorf("ListAccessKeyIDs(%q) = %q, %v; want %q", user, got, err, want)
		}
	}
}

func testDelete(t *testing.T, s store.Store) {
	ctx := t.Context()
	k := key("LGDELETE000000000000", "alice")
	if err := s.CreateAccessKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAccessKey(ctx, k.AccessKeyID); err != nil {
		t.Fatalf("DeleteAccessKey: %v", err)
	}
	if _, err := s.GetAccessKey(ctx, k.AccessKeyID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get after delete: err = %v, want ErrNotFound", err)
	}
	if err := s.DeleteAccessKey(ctx, k.AccessKeyID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second delete: err = %v, want ErrNotFound", err)
	}
}

func testDeleteExpired(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := time.Now()
	past, boundary, future, never := key("LGPAST", "u"), key("LGNOW", "u"), key("LGFUTURE", "u"), key("LGNEVER", "u")
	past.ExpiresAt = now.Add(-time.Hour)
	boundary.ExpiresAt = now
	future.ExpiresAt = now.Add(time.Hour)
	for _, k := range []store.AccessKey{past, boundary, future, never} {
		if err := s.CreateAccessKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.DeleteExpiredAccessKeys(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("deleted %d, want 2 (past and boundary)", n)
	}
	left, err := s.ListAccessKeys(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 2 || left[0].AccessKeyID != "LGFUTURE" || left[1].AccessKeyID != "LGNEVER" {
		t.Errorf("left %+v, want LGFUTURE and LGNEVER", left)
	}
}

// testConcurrent checks that parallel writers and readers neither fail nor
// lose writes (SQLite: busy handling and WAL).
func testConcurrent(t *testing.T, s store.Store) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	const workers, perWorker = 8, 20
	var wg sync.WaitGroup
	errs := make(chan error, workers*perWorker*2)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				k := key(fmt.Sprintf("LGW%02dK%03d", w, i), fmt.Sprintf("user%d", w))
				if err := s.CreateAccessKey(ctx, k); err != nil {
					errs <- err
				}
				if err := s.PutAccessKey(ctx, k); err != nil {
					errs <- err
				}
				if _, err := s.GetAccessKey(ctx, k.AccessKeyID); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	all, err := s.ListAccessKeys(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != workers*perWorker {
		t.Errorf("listed %d keys, want %d", len(all), workers*perWorker)
	}
}
