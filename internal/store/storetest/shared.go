package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lakegate/lakegate/internal/store"
)

// RunShared runs the tests that need two handles on one database, as two
// servers sharing it have: newPair returns two stores opened on one fresh,
// empty database (each with its own connections) and arranges for both to
// be closed.
func RunShared(t *testing.T, newPair func(t *testing.T) (a, b store.Store)) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, a, b store.Store)
	}{
		{"ConcurrentChangesTwoHandles", testConcurrentTwoHandles},
		{"ChangesVisibleToOtherHandle", testVisibleToOtherHandle},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := newPair(t)
			tt.fn(t, a, b)
		})
	}
}

// errDeliberate is what the updates that must change nothing fail with.
var errDeliberate = errors.New("deliberate failure")

// testConcurrentTwoHandles runs 100 changes at once through two handles:
// GRANTs, REVOKEs, user puts and deletes, access key creations, and
// updates that fail after changing things. Every committed update also
// claims the next free "ticket" role, reading which exist first: a
// read-modify-write that two updates interleaved without serializing
// would both claim the same ticket (one failing with ErrExists) or leave
// a gap. The changes commute otherwise, so every serial order ends in the
// state checked at the end, and the policy version must have gone up once
// per committed update, never for a failed one.
func testConcurrentTwoHandles(t *testing.T, a, b store.Store) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	const (
		ops       = 100
		kinds     = 5 // grant, revoke, put user, delete user, key (+ a failed update)
		perKind   = ops / kinds
		perHandle = 5 // goroutines per handle
	)
	created := ms(time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC))

	// The REVOKE and DeleteUser operations' targets.
	update(t, a, func(tx store.PolicyTx) error {
		if err := tx.CreateRole(ctx, "shared"); err != nil {
			return err
		}
		for k := range perKind {
			role := fmt.Sprintf("revoke-%02d", k)
			if err := do(
				func() error { return tx.CreateRole(ctx, role) },
				func() error { return tx.AddGrant(ctx, uriGrant(role, "SELECT", fmt.Sprintf("s3://revoked/%02d/", k))) },
				func() error { return tx.GrantRoleToGroup(ctx, role, "revoked") },
				func() error {
					return tx.PutUser(ctx, store.User{Name: fmt.Sprintf("old-%02d", k), Groups: []string{"old"}, CreatedAt: created})
				},
			); err != nil {
				return err
			}
		}
		return nil
	})
	for k := range perKind {
		if err := a.CreateAccessKey(ctx, key(fmt.Sprintf("LGOLD%02d", k), fmt.Sprintf("old-%02d", k))); err != nil {
			t.Fatal(err)
		}
		if err := a.CreateToken(ctx, store.Token{Hash: fmt.Sprintf("old-token-%02d", k), UserName: fmt.Sprintf("old-%02d", k)}); err != nil {
			t.Fatal(err)
		}
	}
	v0 := version(t, a)

	// claimTicket creates the first ticket role that does not exist.
	claimTicket := func(tx store.PolicyTx) error {
		for n := 0; ; n++ {
			name := fmt.Sprintf("ticket-%03d", n)
			ok, err := tx.RoleExists(ctx, name)
			if err != nil {
				return err
			}
			if !ok {
				return tx.CreateRole(ctx, name)
			}
		}
	}
	op := func(s store.Store, i int) error {
		k := i / kinds
		switch i % kinds {
		case 0: // GRANT
			return s.UpdatePolicy(ctx, func(tx store.PolicyTx) error {
				return do(
					func() error {
						return tx.AddGrant(ctx, uriGrant("shared", "SELECT", fmt.Sprintf("s3://granted/%02d/", k)))
					},
					func() error { return tx.GrantRoleToGroup(ctx, "shared", fmt.Sprintf("group-%02d", k)) },
					func() error { return claimTicket(tx) },
				)
			})
		case 1: // REVOKE
			return s.UpdatePolicy(ctx, func(tx store.PolicyTx) error {
				role := fmt.Sprintf("revoke-%02d", k)
				n, err := tx.RemoveGrants(ctx, uriGrant(role, "", fmt.Sprintf("s3://revoked/%02d/", k)))
				if err != nil {
					return err
				}
				if n != 1 {
					return fmt.Errorf("REVOKE from %s removed %d grants, want 1", role, n)
				}
				return do(
					func() error { return tx.RevokeRoleFromGroup(ctx, role, "revoked") },
					func() error { return claimTicket(tx) },
				)
			})
		case 2: // user put
			return s.UpdatePolicy(ctx, func(tx store.PolicyTx) error {
				return do(
					func() error {
						return tx.PutUser(ctx, store.User{Name: fmt.Sprintf("user-%02d", k),
							Groups: []string{fmt.Sprintf("group-%02d", k), "everyone"}, CreatedAt: created})
					},
					func() error { return claimTicket(tx) },
				)
			})
		case 3: // user delete, with its keys and tokens
			return s.UpdatePolicy(ctx, func(tx store.PolicyTx) error {
				return do(
					func() error { return tx.DeleteUser(ctx, fmt.Sprintf("old-%02d", k)) },
					func() error { return claimTicket(tx) },
				)
			})
		default: // a key, and an update that changes things and fails
			if err := s.CreateAccessKey(ctx, key(fmt.Sprintf("LGNEW%02d", k), fmt.Sprintf("user-%02d", k))); err != nil {
				return err
			}
			err := s.UpdatePolicy(ctx, func(tx store.PolicyTx) error {
				if err := do(
					func() error { return tx.AddGrant(ctx, uriGrant("shared", "ALL", "s3://never/")) },
					func() error { return tx.DropRole(ctx, fmt.Sprintf("revoke-%02d", k)) },
					func() error { return claimTicket(tx) },
				); err != nil {
					return err
				}
				return errDeliberate
			})
			if !errors.Is(err, errDeliberate) {
				return fmt.Errorf("failing update: err = %v, want %v", err, errDeliberate)
			}
			return nil
		}
	}

	var wg sync.WaitGroup
	for h, s := range []store.Store{a, b} {
		for w := range perHandle {
			wg.Go(func() {
				// Handle h's worker w runs ops h, h+2, … spaced by
				// 2*perHandle: every kind lands on both handles.
				for i := h + 2*w; i < ops; i += 2 * perHandle {
					if err := op(s, i); err != nil {
						t.Errorf("handle %d op %d (kind %d): %v", h, i, i%kinds, err)
					}
				}
			})
		}
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	// The state every serial order gives.
	const committed = 4 * perKind
	want := store.PolicyData{Version: v0 + committed}
	shared := store.RoleRecord{Name: "shared"}
	for k := range perKind {
		shared.Groups = append(shared.Groups, fmt.Sprintf("group-%02d", k))
		shared.Grants = append(shared.Grants, uriGrant("shared", "SELECT", fmt.Sprintf("s3://granted/%02d/", k)))
		want.Roles = append(want.Roles, store.RoleRecord{Name: fmt.Sprintf("revoke-%02d", k)})
		want.Users = append(want.Users, store.User{Name: fmt.Sprintf("user-%02d", k),
			Groups: []string{"everyone", fmt.Sprintf("group-%02d", k)}, CreatedAt: created})
	}
	want.Roles = append(want.Roles, shared)
	for n := range committed {
		want.Roles = append(want.Roles, store.RoleRecord{Name: fmt.Sprintf("ticket-%03d", n)})
	}
	for h, s := range []store.Store{a, b} {
		if got := load(t, s); dump(got) != dump(want) {
			t.Errorf("handle %d: the policy is not what a serial order gives:\n got\n%s want\n%s", h, dump(got), dump(want))
		}
		if v := version(t, s); v != v0+committed {
			t.Errorf("handle %d: PolicyVersion = %d, want %d + %d committed updates", h, v, v0, committed)
		}
	}
	keys, err := b.ListAccessKeys(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, k := range keys {
		ids = append(ids, k.AccessKeyID)
	}
	var wantIDs []string
	for k := range perKind {
		wantIDs = append(wantIDs, fmt.Sprintf("LGNEW%02d", k))
	}
	if !slices.Equal(ids, wantIDs) {
		t.Errorf("access keys = %q, want %q (the deleted users' gone, every new one there)", ids, wantIDs)
	}
	for k := range perKind {
		if _, err := b.GetToken(ctx, fmt.Sprintf("old-token-%02d", k)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("token of deleted user old-%02d: err = %v, want ErrNotFound", k, err)
		}
	}
}

// testVisibleToOtherHandle checks that what one handle commits the other
// reads at once: the policy, its version, keys, tokens and secrets.
func testVisibleToOtherHandle(t *testing.T, a, b store.Store) {
	ctx := t.Context()
	v0 := version(t, b)
	update(t, a, func(tx store.PolicyTx) error {
		return do(
			func() error { return tx.CreateRole(ctx, "analyst") },
			func() error {
				return tx.AddGrant(ctx, tableGrant("analyst", "SELECT", "sales.orders", "id,total", "region = 'EU'"))
			},
			func() error { return tx.GrantRoleToGroup(ctx, "analyst", "analysts") },
		)
	})
	if v := version(t, b); v != v0+1 {
		t.Errorf("other handle: PolicyVersion = %d, want %d", v, v0+1)
	}
	p := load(t, b)
	if r, ok := findRole(p, "analyst"); !ok || len(r.Grants) != 1 || !slices.Equal(r.Groups, []string{"analysts"}) {
		t.Errorf("other handle reads %s", dump(p))
	}
	if err := a.CreateAccessKey(ctx, key("LGSHARED", "alice")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.GetAccessKey(ctx, "LGSHARED"); err != nil {
		t.Errorf("other handle: GetAccessKey: %v", err)
	}
	if err := b.CreateAccessKey(ctx, key("LGSHARED", "bob")); !errors.Is(err, store.ErrExists) {
		t.Errorf("other handle: CreateAccessKey of a taken id: err = %v, want ErrExists", err)
	}
	va, err := a.EnsureSecret(ctx, "seal", []byte("from a"))
	if err != nil {
		t.Fatal(err)
	}
	vb, err := b.EnsureSecret(ctx, "seal", []byte("from b"))
	if err != nil {
		t.Fatal(err)
	}
	if string(va) != "from a" || string(vb) != "from a" {
		t.Errorf("EnsureSecret: a got %q, b got %q; want both %q", va, vb, "from a")
	}
}
