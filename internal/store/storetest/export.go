package storetest

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lakegate/lakegate/internal/store"
)

// The export half: listing, Export and Import (store copy), and the
// Encrypted decorator over the implementation (secrets at rest, re-encrypt).

// exportTests are the tests of this file; Run runs them. Those that need a
// second empty store get it from newStore.
func exportTests(newStore func(t *testing.T) store.Store) []struct {
	name string
	fn   func(t *testing.T, s store.Store)
} {
	return []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"ListTokens", testListTokens},
		{"ListSecrets", testListSecrets},
		{"ExportEmpty", testExportEmpty},
		{"ExportImportRoundTrip", func(t *testing.T, s store.Store) { testExportImport(t, s, newStore(t)) }},
		{"ImportRefusesNonEmpty", testImportRefusesNonEmpty},
		{"ImportReplace", testImportReplace},
		{"ImportIsAtomic", testImportAtomic},
		{"ImportConcurrentWithUpdates", testImportConcurrent},
		{"EncryptedAtRest", testEncryptedAtRest},
		{"EncryptedCopy", func(t *testing.T, s store.Store) { testEncryptedCopy(t, s, newStore(t)) }},
		{"Reencrypt", testReencrypt},
	}
}

// testKeyring returns a keyring of the named keys, the first current. The
// key bytes derive from the id, so that the same id is the same key.
func testKeyring(t *testing.T, ids ...string) *store.Keyring {
	t.Helper()
	var b strings.Builder
	for _, id := range ids {
		key := bytes.Repeat([]byte(id), 32/len(id)+1)[:32]
		fmt.Fprintf(&b, "%s:%s\n", id, base64.StdEncoding.EncodeToString(key))
	}
	k, err := store.ParseKeyring([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// fill gives s one of everything: roles with grants and group links, users
// with groups, catalog databases, tables and partitions, plain and session
// access keys, tokens and secrets.
func fill(t *testing.T, s store.Store) {
	t.Helper()
	ctx := t.Context()
	createRoles(t, s, "analyst_role", "admin_role", "empty_role")
	addGrants(t, s,
		tableGrant("analyst_role", "SELECT", "sales.orders", "id,amount", "region = 'EU'"),
		store.Grant{Role: "analyst_role", Privilege: "SELECT", ObjectKind: "DATABASE", Object: "sales",
			Options: "HAVING ATTRIBUTE NOT IN (pii) TRANSFORM finance.amount WITH round(2)"},
		uriGrant("analyst_role", "SELECT", "s3://lake/analysts/"),
		store.Grant{Role: "admin_role", Privilege: "ALL", ObjectKind: "SERVER"},
	)
	link(t, s, "analyst_role", "analysts", "Data Eng")
	link(t, s, "admin_role", "admin")
	putUsers(t, s,
		store.User{Name: "alice", Groups: []string{"analysts"}, CreatedAt: ms(time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC))},
		store.User{Name: "admin", Groups: []string{"admin", "analysts"}},
		store.User{Name: "nogroups"},
	)
	session := key("LGSESSIONKEY", "jdoe")
	session.SessionToken = "session-token-jdoe"
	session.ExpiresAt = ms(time.Now().Add(time.Hour))
	session.SessionGroups, session.SessionGroupsFold = []string{"analysts", "finance"}, true
	update(t, s, func(tx store.PolicyTx) error {
		return do(
			func() error {
				return tx.CreateDatabase(ctx, store.Database{Name: "sales", Comment: "Verkäufe", Location: "s3://lake/sales",
					CreatedAt: ms(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))})
			},
			func() error { return tx.CreateDatabase(ctx, store.Database{Name: "empty"}) },
			func() error { return tx.CreateTable(ctx, salesOrders()) },
			func() error {
				return tx.CreateTable(ctx, store.Table{Database: "sales", Name: "bare", Location: "s3://lake/bare", Format: "PARQUET"})
			},
			func() error { return tx.AddPartition(ctx, "sales", "orders", part("year=2025/region=us")) },
			func() error {
				return tx.AddPartition(ctx, "sales", "orders", store.Partition{Spec: "year=2024/region=eu", Location: "s3://lake/eu"})
			},
		)
	})
	for _, k := range []store.AccessKey{key("LGADMINKEY", "admin"), key("LGALICEKEY", "alice"), session} {
		if err := s.CreateAccessKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	for _, tok := range []store.Token{
		{Hash: "aaaa", UserName: "admin"},
		{Hash: "bbbb", UserName: "jdoe", ExpiresAt: ms(time.Now().Add(time.Hour)), SessionGroups: []string{"Staff"}},
	} {
		if err := s.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	for name, v := range map[string][]byte{"list-marker-seal-key": {0x00, 0xff, 0x80, 's'}, "other": []byte("x")} {
		if _, err := s.EnsureSecret(ctx, name, v); err != nil {
			t.Fatal(err)
		}
	}
}

func export(t *testing.T, s store.Store) store.Snapshot {
	t.Helper()
	snap, err := s.Export(t.Context())
	if err != nil {
		t.Fatalf("Export: %v", err)
	}
	return snap
}

// dumpSnapshot renders everything but the policy version as text, so that
// mismatches read as a diff.
func dumpSnapshot(s store.Snapshot) string {
	var b strings.Builder
	p := s.Policy
	p.Version = 0
	b.WriteString(dump(p))
	for _, k := range s.AccessKeys {
		fmt.Fprintf(&b, "key %q secret %q user %q session %q created %s expires %s groups %#v fold %v\n",
			k.AccessKeyID, k.SecretAccessKey, k.UserName, k.SessionToken, k.CreatedAt.Format(time.RFC3339Nano),
			k.ExpiresAt.Format(time.RFC3339Nano), k.SessionGroups, k.SessionGroupsFold)
	}
	for _, tok := range s.Tokens {
		fmt.Fprintf(&b, "token %q user %q created %s expires %s groups %#v fold %v\n",
			tok.Hash, tok.UserName, tok.CreatedAt.Format(time.RFC3339Nano), tok.ExpiresAt.Format(time.RFC3339Nano),
			tok.SessionGroups, tok.SessionGroupsFold)
	}
	for _, sec := range s.Secrets {
		fmt.Fprintf(&b, "secret %q %x\n", sec.Name, sec.Value)
	}
	return b.String()
}

func testListTokens(t *testing.T, s store.Store) {
	ctx := t.Context()
	got, err := s.ListTokens(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if got == nil || len(got) != 0 {
		t.Fatalf("empty store lists %v, want an empty non-nil slice", got)
	}
	created := ms(time.Date(2025, 1, 2, 3, 4, 5, 678_000_000, time.UTC))
	want := []store.Token{
		{Hash: "03", UserName: "bob", CreatedAt: created},
		{Hash: "01", UserName: "alice", CreatedAt: created, ExpiresAt: created.Add(time.Hour), SessionGroups: []string{"a", "B"}, SessionGroupsFold: true},
		{Hash: "02", UserName: "alice", CreatedAt: created, SessionGroups: []string{}},
	}
	for _, tok := range want {
		if err := s.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		user string
		want []store.Token
	}{
		{"", []store.Token{want[1], want[2], want[0]}},
		{"alice", []store.Token{want[1], want[2]}},
		{"nobody", nil},
	} {
		got, err := s.ListTokens(ctx, tt.user)
		if err != nil {
			t.Fatal(err)
		}
		if g, w := dumpSnapshot(store.Snapshot{Tokens: got}), dumpSnapshot(store.Snapshot{Tokens: tt.want}); g != w {
			t.Errorf("ListTokens(%q):\n got  %s\n want %s", tt.user, g, w)
		}
	}
}

func testListSecrets(t *testing.T, s store.Store) {
	ctx := t.Context()
	got, err := s.ListSecrets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got == nil || len(got) != 0 {
		t.Fatalf("empty store lists %v, want an empty non-nil slice", got)
	}
	for _, sec := range []store.Secret{{Name: "b", Value: []byte{0x00, 0xff}}, {Name: "a", Value: []byte("x")}, {Name: "B", Value: []byte{}}} {
		if _, err := s.EnsureSecret(ctx, sec.Name, sec.Value); err != nil {
			t.Fatal(err)
		}
	}
	got, err = s.ListSecrets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.Secret{{Name: "B", Value: []byte{}}, {Name: "a", Value: []byte("x")}, {Name: "b", Value: []byte{0x00, 0xff}}}
	if g, w := dumpSnapshot(store.Snapshot{Secrets: got}), dumpSnapshot(store.Snapshot{Secrets: want}); g != w {
		t.Errorf("ListSecrets:\n got  %s\n want %s", g, w)
	}
}

func testExportEmpty(t *testing.T, s store.Store) {
	snap := export(t, s)
	if c := snap.Counts(); c != (store.Counts{}) {
		t.Errorf("empty store counts %+v", c)
	}
	if snap.AccessKeys == nil || snap.Tokens == nil || snap.Secrets == nil || snap.Policy.Roles == nil || snap.Policy.Users == nil ||
		snap.Policy.Databases == nil || snap.Policy.Tables == nil {
		t.Errorf("empty store exports nil slices: %+v", snap)
	}
}

func testExportImport(t *testing.T, src, dst store.Store) {
	ctx := t.Context()
	fill(t, src)
	snap := export(t, src)
	want := store.Counts{Roles: 3, RoleGroups: 3, Grants: 4, Users: 3, UserGroups: 3, AccessKeys: 3, SessionKeys: 1,
		Tokens: 2, SessionTokens: 1, Secrets: 2, Databases: 2, Tables: 2, Partitions: 2}
	if got := snap.Counts(); got != want {
		t.Fatalf("exported counts %+v, want %+v", got, want)
	}
	// Grant options and column attributes are exported (the comparison
	// below would not notice both sides losing them).
	if r, _ := findRole(snap.Policy, "analyst_role"); !slices.ContainsFunc(r.Grants, func(g store.Grant) bool {
		return g.Options == "HAVING ATTRIBUTE NOT IN (pii) TRANSFORM finance.amount WITH round(2)"
	}) {
		t.Errorf("exported grants of analyst_role lack the grant with options:\n%s", grantsString(r.Grants))
	}
	if i := slices.IndexFunc(snap.Policy.Tables, func(tb store.Table) bool { return tb.Name == "orders" }); i < 0 ||
		!slices.Equal(snap.Policy.Tables[i].Columns[1].Attributes, []string{"finance.amount", "pii"}) {
		t.Errorf("exported tables lack sales.orders' column attributes:\n%s", dumpSnapshot(snap))
	}
	if err := dst.Import(ctx, snap, store.ImportOptions{}); err != nil {
		t.Fatalf("Import: %v", err)
	}
	got := export(t, dst)
	if g, w := dumpSnapshot(got), dumpSnapshot(snap); g != w {
		t.Errorf("imported store differs:\n got\n%s\n want\n%s", g, w)
	}
	if got.Policy.Version < snap.Policy.Version || got.Policy.Version == 0 {
		t.Errorf("imported version %d, want at least %d and not 0", got.Policy.Version, snap.Policy.Version)
	}
	// What serving reads works on the copy.
	k, err := dst.GetAccessKey(ctx, "LGSESSIONKEY")
	if err != nil || k.SessionToken != "session-token-jdoe" || !k.SessionGroupsFold {
		t.Errorf("GetAccessKey on the copy = %+v, %v", k, err)
	}
	if tok, err := dst.GetToken(ctx, "bbbb"); err != nil || tok.UserName != "jdoe" {
		t.Errorf("GetToken on the copy = %+v, %v", tok, err)
	}
	if u, err := dst.GetUser(ctx, "admin"); err != nil || strings.Join(u.Groups, ",") != "admin,analysts" {
		t.Errorf("GetUser on the copy = %+v, %v", u, err)
	}
	// The catalog on the copy: the partitions hang off the right table,
	// and it goes on changing.
	update(t, dst, func(tx store.PolicyTx) error {
		return do(
			func() error { return tx.AddPartition(ctx, "sales", "orders", part("year=2026/region=us")) },
			func() error { return tx.RenameTable(ctx, "sales", "orders", "empty", "orders") },
			func() error { return tx.CreateTable(ctx, simpleTable("sales", "orders")) },
		)
	})
	if tb, err := getTable(t, dst, "empty", "orders"); err != nil || len(tb.Partitions) != 3 || tb.Comment != salesOrders().Comment {
		t.Errorf("the copy's table after changes = %s, %v", tableString(tb), err)
	}
	if v, err := dst.EnsureSecret(ctx, "list-marker-seal-key", []byte("new")); err != nil || !bytes.Equal(v, []byte{0x00, 0xff, 0x80, 's'}) {
		t.Errorf("EnsureSecret on the copy = %x, %v", v, err)
	}
	// The copy's policy goes on changing.
	before := version(t, dst)
	update(t, dst, func(tx store.PolicyTx) error { return tx.DropRole(ctx, "analyst_role") })
	if after := version(t, dst); after <= before {
		t.Errorf("version after an update on the copy: %d, was %d", after, before)
	}
}

func testImportRefusesNonEmpty(t *testing.T, s store.Store) {
	ctx := t.Context()
	snap := store.Snapshot{Policy: store.PolicyData{Roles: []store.RoleRecord{{Name: "new_role"}}}}
	for _, tt := range []struct {
		name string
		add  func() error
	}{
		{"role", func() error {
			return s.UpdatePolicy(ctx, func(tx store.PolicyTx) error { return tx.CreateRole(ctx, "r") })
		}},
		{"user", func() error {
			return s.UpdatePolicy(ctx, func(tx store.PolicyTx) error { return tx.PutUser(ctx, store.User{Name: "u"}) })
		}},
		{"access key", func() error { return s.CreateAccessKey(ctx, key("LGK", "u")) }},
		{"token", func() error { return s.CreateToken(ctx, store.Token{Hash: "h", UserName: "u"}) }},
		{"secret", func() error { _, err := s.EnsureSecret(ctx, "n", []byte("v")); return err }},
		{"database", func() error {
			return s.UpdatePolicy(ctx, func(tx store.PolicyTx) error { return tx.CreateDatabase(ctx, store.Database{Name: "d"}) })
		}},
	} {
		if err := tt.add(); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		before := export(t, s)
		err := s.Import(ctx, snap, store.ImportOptions{})
		if !errors.Is(err, store.ErrNotEmpty) {
			t.Fatalf("with a %s: Import err = %v, want ErrNotEmpty", tt.name, err)
		}
		after := export(t, s)
		if dumpSnapshot(after) != dumpSnapshot(before) || after.Policy.Version != before.Policy.Version {
			t.Fatalf("with a %s: a refused Import changed the store:\n%s", tt.name, dumpSnapshot(after))
		}
	}
}

func testImportReplace(t *testing.T, s store.Store) {
	ctx := t.Context()
	fill(t, s)
	before := version(t, s)
	snap := store.Snapshot{
		Policy: store.PolicyData{
			Version:   1, // lower than the store's: the store's version still goes up
			Roles:     []store.RoleRecord{{Name: "only_role", Groups: []string{"g"}, Grants: []store.Grant{uriGrant("only_role", "ALL", "s3://b/")}}},
			Users:     []store.User{{Name: "only", Groups: []string{"g"}, CreatedAt: ms(time.Now())}},
			Databases: []store.Database{{Name: "only_db", CreatedAt: ms(time.Now())}},
			Tables: []store.Table{func() store.Table {
				tb := normTable(simpleTable("only_db", "only_table"))
				tb.CreatedAt = ms(time.Now())
				tb.Partitions = []store.Partition{part("a=1"), part("a=2")}
				return tb
			}()},
		},
		AccessKeys: []store.AccessKey{key("LGONLY", "only")},
		Tokens:     []store.Token{{Hash: "cccc", UserName: "only", CreatedAt: ms(time.Now()), SessionGroups: nil}},
		Secrets:    []store.Secret{{Name: "list-marker-seal-key", Value: []byte("replaced")}},
	}
	if err := s.Import(ctx, snap, store.ImportOptions{Replace: true}); err != nil {
		t.Fatalf("Import with Replace: %v", err)
	}
	got := export(t, s)
	if g, w := dumpSnapshot(got), dumpSnapshot(snap); g != w {
		t.Errorf("after Replace:\n got\n%s\n want\n%s", g, w)
	}
	if got.Policy.Version <= before {
		t.Errorf("version after Replace %d, want more than %d", got.Policy.Version, before)
	}
}

// testImportConcurrent runs Imports (with Replace) alongside policy
// updates. Each commit must raise the version by one, as an update does
// (the snapshot's version is lower): an Import that read the version
// before an update committed and then wrote the same number would leave
// two different policies under one version, which the servers' caches
// keyed by version would not tell apart.
func testImportConcurrent(t *testing.T, s store.Store) {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	const updaters, importers, each = 4, 2, 8
	v0 := version(t, s)
	var wg sync.WaitGroup
	for w := range updaters {
		wg.Go(func() {
			for i := range each {
				role := fmt.Sprintf("role-%d-%d", w, i)
				if err := s.UpdatePolicy(ctx, func(tx store.PolicyTx) error { return tx.CreateRole(ctx, role) }); err != nil {
					t.Errorf("update %s: %v", role, err)
				}
			}
		})
	}
	for w := range importers {
		wg.Go(func() {
			for i := range each {
				role := fmt.Sprintf("imported-%d-%d", w, i)
				snap := store.Snapshot{Policy: store.PolicyData{Version: 1, Roles: []store.RoleRecord{{Name: role}}}}
				if err := s.Import(ctx, snap, store.ImportOptions{Replace: true}); err != nil {
					t.Errorf("import %s: %v", role, err)
				}
			}
		})
	}
	wg.Wait()
	if v, want := version(t, s), v0+(updaters+importers)*each; v != want {
		t.Errorf("PolicyVersion = %d after %d commits from %d, want %d (a commit did not raise it)",
			v, (updaters+importers)*each, v0, want)
	}
}

func testImportAtomic(t *testing.T, s store.Store) {
	ctx := t.Context()
	before := export(t, s)
	// The second key repeats the first's id: Import fails at the end, after
	// roles, users and one key were written, and must leave nothing.
	snap := store.Snapshot{
		Policy: store.PolicyData{
			Roles: []store.RoleRecord{{Name: "r", Groups: []string{"g"}}},
			Users: []store.User{{Name: "u", Groups: []string{"g"}}},
		},
		AccessKeys: []store.AccessKey{key("LGSAME", "u"), key("LGSAME", "v")},
	}
	if err := s.Import(ctx, snap, store.ImportOptions{}); err == nil {
		t.Fatal("Import of a snapshot with a duplicate access key succeeded")
	}
	after := export(t, s)
	if dumpSnapshot(after) != dumpSnapshot(before) || after.Policy.Version != before.Policy.Version {
		t.Errorf("a failed Import left:\n%s(version %d)", dumpSnapshot(after), after.Policy.Version)
	}
}

// rawHolds reports whether any stored secret value of s contains plain.
func rawHolds(t *testing.T, s store.Store, plain string) bool {
	t.Helper()
	snap := export(t, s)
	for _, k := range snap.AccessKeys {
		if strings.Contains(k.SecretAccessKey, plain) || strings.Contains(k.SessionToken, plain) {
			return true
		}
	}
	for _, sec := range snap.Secrets {
		if bytes.Contains(sec.Value, []byte(plain)) {
			return true
		}
	}
	return false
}

func testEncryptedAtRest(t *testing.T, s store.Store) {
	ctx := t.Context()
	enc := store.NewEncrypted(s, testKeyring(t, "k1"))
	k := key("LGENCRYPTED", "alice")
	k.SecretAccessKey, k.SessionToken = "plain-secret-1234", "plain-session-5678"
	if err := enc.CreateAccessKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	seal, err := enc.EnsureSecret(ctx, "seal", []byte("plain-seal-key-90"))
	if err != nil || string(seal) != "plain-seal-key-90" {
		t.Fatalf("EnsureSecret = %q, %v", seal, err)
	}
	for _, plain := range []string{"plain-secret-1234", "plain-session-5678", "plain-seal-key-90"} {
		if rawHolds(t, s, plain) {
			t.Errorf("the store holds %q in plaintext", plain)
		}
	}
	raw, err := s.GetAccessKey(ctx, k.AccessKeyID)
	if err != nil {
		t.Fatal(err)
	}
	if !store.IsEncrypted(raw.SecretAccessKey) || !store.IsEncrypted(raw.SessionToken) {
		t.Errorf("stored values are not in the encrypted form: %q %q", raw.SecretAccessKey, raw.SessionToken)
	}
	got, err := enc.GetAccessKey(ctx, k.AccessKeyID)
	if err != nil || !equal(got, k) {
		t.Errorf("GetAccessKey through the decorator = %+v, %v; want %+v", got, err, k)
	}
	list, err := enc.ListAccessKeys(ctx, "alice")
	if err != nil || len(list) != 1 || !equal(list[0], k) {
		t.Errorf("ListAccessKeys through the decorator = %+v, %v", list, err)
	}
	secrets, err := enc.ListSecrets(ctx)
	if err != nil || len(secrets) != 1 || string(secrets[0].Value) != "plain-seal-key-90" {
		t.Errorf("ListSecrets through the decorator = %q, %v", secrets, err)
	}
	// Upserting keeps it encrypted.
	k.SecretAccessKey = "rotated-secret-4321"
	if err := enc.PutAccessKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	if rawHolds(t, s, "rotated-secret-4321") {
		t.Error("PutAccessKey stored the secret in plaintext")
	}
	// Without the key: an error, never the ciphertext or an empty secret.
	if _, err := store.NewEncrypted(s, nil).GetAccessKey(ctx, k.AccessKeyID); !errors.Is(err, store.ErrDecrypt) {
		t.Errorf("GetAccessKey without a keyring: err = %v, want ErrDecrypt", err)
	}
	if _, err := store.NewEncrypted(s, testKeyring(t, "k2")).EnsureSecret(ctx, "seal", []byte("x")); !errors.Is(err, store.ErrDecrypt) {
		t.Errorf("EnsureSecret with another keyring: err = %v, want ErrDecrypt", err)
	}
}

// testEncryptedCopy copies an encrypted store into another under a
// different key, through Export and Import of the decorators.
func testEncryptedCopy(t *testing.T, src, dst store.Store) {
	ctx := t.Context()
	fill(t, store.NewEncrypted(src, testKeyring(t, "src")))
	plain := export(t, store.NewEncrypted(src, testKeyring(t, "src")))
	// Read without its key, an encrypted store exports nothing.
	if _, err := src.Export(ctx); err != nil {
		t.Fatal(err) // the raw export works: it is what copies raw
	}
	if _, err := store.NewEncrypted(src, nil).Export(ctx); !errors.Is(err, store.ErrDecrypt) {
		t.Errorf("Export without the key: err = %v, want ErrDecrypt", err)
	}
	// A raw (still encrypted) snapshot is refused by an encrypting target.
	raw := export(t, src)
	if err := store.NewEncrypted(dst, testKeyring(t, "dst")).Import(ctx, raw, store.ImportOptions{}); err == nil {
		t.Error("an encrypting Import accepted values that were already encrypted")
	}
	if err := store.NewEncrypted(dst, testKeyring(t, "dst")).Import(ctx, plain, store.ImportOptions{}); err != nil {
		t.Fatalf("Import: %v", err)
	}
	got := export(t, store.NewEncrypted(dst, testKeyring(t, "dst")))
	if g, w := dumpSnapshot(got), dumpSnapshot(plain); g != w {
		t.Errorf("copy differs:\n got\n%s\n want\n%s", g, w)
	}
	if rawHolds(t, dst, "secret-LGADMINKEY") || rawHolds(t, dst, "session-token-jdoe") {
		t.Error("the copy holds plaintext secrets")
	}
}

func testReencrypt(t *testing.T, s store.Store) {
	ctx := t.Context()
	// Plaintext rows from before encryption, and one under an old key.
	legacy := key("LGLEGACY", "alice")
	legacy.SessionToken = "legacy-session"
	if err := s.CreateAccessKey(ctx, legacy); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EnsureSecret(ctx, "legacy-secret", []byte("legacy-value")); err != nil {
		t.Fatal(err)
	}
	old := key("LGOLDKEY", "bob")
	if err := store.NewEncrypted(s, testKeyring(t, "old")).CreateAccessKey(ctx, old); err != nil {
		t.Fatal(err)
	}
	// Rotation: the new key first, the old still listed.
	rotated := store.NewEncrypted(s, testKeyring(t, "new", "old"))
	for _, k := range []store.AccessKey{legacy, old} {
		if got, err := rotated.GetAccessKey(ctx, k.AccessKeyID); err != nil || !equal(got, k) {
			t.Errorf("before re-encrypting, %s reads %+v, %v", k.AccessKeyID, got, err)
		}
	}
	res, err := rotated.Reencrypt(ctx)
	if err != nil {
		t.Fatalf("Reencrypt: %v", err)
	}
	if res.Encrypted != 3 || res.Changed != 0 {
		t.Errorf("Reencrypt = %+v, want 3 encrypted", res)
	}
	if res, err := rotated.Reencrypt(ctx); err != nil || res.Encrypted != 0 || res.Current != 3 {
		t.Errorf("second Reencrypt = %+v, %v; want 3 current", res, err)
	}
	// The old key can go now.
	newOnly := store.NewEncrypted(s, testKeyring(t, "new"))
	for _, k := range []store.AccessKey{legacy, old} {
		if got, err := newOnly.GetAccessKey(ctx, k.AccessKeyID); err != nil || !equal(got, k) {
			t.Errorf("after re-encrypting, %s reads %+v, %v", k.AccessKeyID, got, err)
		}
	}
	if v, err := newOnly.EnsureSecret(ctx, "legacy-secret", []byte("x")); err != nil || string(v) != "legacy-value" {
		t.Errorf("legacy secret after re-encrypting = %q, %v", v, err)
	}
	for _, plain := range []string{"secret-LGLEGACY", "legacy-session", "legacy-value"} {
		if rawHolds(t, s, plain) {
			t.Errorf("%q is still stored in plaintext", plain)
		}
	}
	if _, err := store.NewEncrypted(s, testKeyring(t, "old")).GetAccessKey(ctx, "LGOLDKEY"); !errors.Is(err, store.ErrDecrypt) {
		t.Errorf("the old key alone still reads re-encrypted values: err = %v", err)
	}
}
