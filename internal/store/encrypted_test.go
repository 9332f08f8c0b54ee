package store_test

import (
	"bytes"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lakegate/lakegate/internal/store"
)

func keyLine(id string, b byte) string {
	return id + ":" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32))
}

func keyring(t *testing.T, lines ...string) *store.Keyring {
	t.Helper()
	k, err := store.ParseKeyring([]byte(strings.Join(lines, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestParseKeyring(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		current string
		ids     string
		err     string
	}{
		{name: "one", in: keyLine("k1", 1), current: "k1", ids: "k1"},
		{name: "first is current", in: "# rotated 2026-12\n\n" + keyLine("new", 2) + "\n  " + keyLine("old", 1) + "  \n", current: "new", ids: "new,old"},
		// Rotation's first phase: the new key decrypts but is not current.
		{name: "decrypt-only first", in: "decrypt-only " + keyLine("new", 2) + "\n" + keyLine("old", 1), current: "old", ids: "old,new"},
		{name: "decrypt-only spaces", in: keyLine("old", 1) + "\n  decrypt-only   " + keyLine("new", 2), current: "old", ids: "old,new"},
		{name: "only decrypt-only", in: "decrypt-only " + keyLine("new", 2), err: "every key is decrypt-only"},
		{name: "unknown marker", in: "decrypt " + keyLine("new", 2), err: "line 1: key id must be"},
		{name: "empty", in: "# nothing\n", err: "no key"},
		{name: "no colon", in: "k1", err: "line 1: want <id>:<base64 key>"},
		{name: "bad id", in: "k 1:" + base64.StdEncoding.EncodeToString(make([]byte, 32)), err: "key id must be"},
		{name: "duplicate id", in: keyLine("k", 1) + "\n" + keyLine("k", 2), err: "line 2: key id k appears twice"},
		{name: "not base64", in: "k1:not base64!", err: "not standard base64"},
		{name: "short", in: "k1:" + base64.StdEncoding.EncodeToString(make([]byte, 16)), err: "the key is 16 bytes, want 32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := store.ParseKeyring([]byte(tt.in))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if k.Current() != tt.current || strings.Join(k.IDs(), ",") != tt.ids {
				t.Errorf("current %s ids %v, want %s %s", k.Current(), k.IDs(), tt.current, tt.ids)
			}
		})
	}
	// Errors never quote key material.
	secret := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdeX"))
	for _, in := range []string{"k1:" + secret[:20], "bad id:" + secret} {
		if _, err := store.ParseKeyring([]byte(in)); err == nil || strings.Contains(err.Error(), secret[:20]) {
			t.Errorf("ParseKeyring(%q) = %v", in, err)
		}
	}
}

func TestLoadKeyringMode(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		mode os.FileMode
		ok   bool
	}{{0o600, true}, {0o400, true}, {0o640, false}, {0o604, false}, {0o644, false}} {
		path := filepath.Join(dir, tt.mode.String())
		if err := os.WriteFile(path, []byte(keyLine("k1", 1)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, tt.mode); err != nil {
			t.Fatal(err)
		}
		_, err := store.LoadKeyring(path)
		if tt.ok && err != nil {
			t.Errorf("mode %o: %v", tt.mode, err)
		}
		if !tt.ok && (err == nil || !strings.Contains(err.Error(), "chmod 600")) {
			t.Errorf("mode %o: err = %v, want a refusal", tt.mode, err)
		}
	}
	if _, err := store.LoadKeyring(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing key file loaded")
	}
}

// rawDB opens the SQLite file beside the store, as someone who got hold of
// the database would.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// TestEncryptedRawRows reads the database file's rows directly: no secret
// in plaintext; then alters and moves ciphertexts, which must not decrypt.
func TestEncryptedRawRows(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "lakegate.db")
	enc := store.NewEncrypted(openSQLite(t, path), keyring(t, keyLine("k1", 1)))
	alice := store.AccessKey{AccessKeyID: "LGALICE", SecretAccessKey: "alice-secret-0001", UserName: "alice", SessionToken: "alice-session"}
	admin := store.AccessKey{AccessKeyID: "LGADMIN", SecretAccessKey: "admin-secret-0002", UserName: "admin"}
	for _, k := range []store.AccessKey{alice, admin} {
		if err := enc.CreateAccessKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := enc.EnsureSecret(ctx, "list-marker-seal-key", []byte("seal-key-0003")); err != nil {
		t.Fatal(err)
	}
	if _, err := enc.EnsureSecret(ctx, "other", []byte("other-0004")); err != nil {
		t.Fatal(err)
	}

	db := rawDB(t, path)
	var dump strings.Builder
	for _, q := range []string{
		`SELECT access_key_id || ' ' || secret_access_key || ' ' || session_token FROM access_keys`,
		`SELECT name || ' ' || CAST(value AS TEXT) FROM secrets`,
	} {
		rows, err := db.QueryContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			dump.WriteString(s + "\n")
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
	}
	for _, plain := range []string{"alice-secret-0001", "alice-session", "admin-secret-0002", "seal-key-0003", "other-0004"} {
		if strings.Contains(dump.String(), plain) {
			t.Errorf("the database holds %q in plaintext:\n%s", plain, dump.String())
		}
	}
	if strings.Count(dump.String(), "lgenc1:k1:") != 5 {
		t.Errorf("want 5 values in the lgenc1:k1: form:\n%s", dump.String())
	}

	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}
	get := func(id string) error {
		_, err := enc.GetAccessKey(ctx, id)
		return err
	}
	// Tampering: flip one ciphertext character.
	var stored string
	if err := db.QueryRowContext(ctx, `SELECT secret_access_key FROM access_keys WHERE access_key_id = 'LGALICE'`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	tampered := []byte(stored)
	i := len(tampered) - 6
	tampered[i] ^= 'A' ^ 'B'
	exec(`UPDATE access_keys SET secret_access_key = ? WHERE access_key_id = 'LGALICE'`, string(tampered))
	if err := get("LGALICE"); !errors.Is(err, store.ErrDecrypt) {
		t.Errorf("tampered secret: err = %v, want ErrDecrypt", err)
	}
	if err := get("LGALICE"); err != nil && strings.Contains(err.Error(), stored[10:]) {
		t.Errorf("the error quotes the stored value: %v", err)
	}
	exec(`UPDATE access_keys SET secret_access_key = ? WHERE access_key_id = 'LGALICE'`, stored)
	if err := get("LGALICE"); err != nil {
		t.Fatalf("restored: %v", err)
	}

	// Moving: admin's ciphertext into alice's row, alice's key to user admin,
	// the session token into the secret's field, one secret into another.
	var adminSecret, aliceToken string
	if err := db.QueryRowContext(ctx, `SELECT secret_access_key FROM access_keys WHERE access_key_id = 'LGADMIN'`).Scan(&adminSecret); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRowContext(ctx, `SELECT session_token FROM access_keys WHERE access_key_id = 'LGALICE'`).Scan(&aliceToken); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, set, undo string
		args, undoArgs  []any
	}{
		{"another key's secret", `UPDATE access_keys SET secret_access_key = ? WHERE access_key_id = 'LGALICE'`,
			`UPDATE access_keys SET secret_access_key = ? WHERE access_key_id = 'LGALICE'`, []any{adminSecret}, []any{stored}},
		{"another user", `UPDATE access_keys SET user_name = 'admin' WHERE access_key_id = 'LGALICE'`,
			`UPDATE access_keys SET user_name = 'alice' WHERE access_key_id = 'LGALICE'`, nil, nil},
		{"another field", `UPDATE access_keys SET secret_access_key = ? WHERE access_key_id = 'LGALICE'`,
			`UPDATE access_keys SET secret_access_key = ? WHERE access_key_id = 'LGALICE'`, []any{aliceToken}, []any{stored}},
	} {
		exec(tt.set, tt.args...)
		if err := get("LGALICE"); !errors.Is(err, store.ErrDecrypt) {
			t.Errorf("%s: err = %v, want ErrDecrypt", tt.name, err)
		}
		exec(tt.undo, tt.undoArgs...)
	}
	exec(`UPDATE secrets SET value = (SELECT value FROM secrets WHERE name = 'other') WHERE name = 'list-marker-seal-key'`)
	if _, err := enc.EnsureSecret(ctx, "list-marker-seal-key", []byte("x")); !errors.Is(err, store.ErrDecrypt) {
		t.Errorf("a secret moved from another name: err = %v, want ErrDecrypt", err)
	}
	if got, err := enc.GetAccessKey(ctx, "LGALICE"); err != nil || got.SecretAccessKey != alice.SecretAccessKey || got.SessionToken != alice.SessionToken {
		t.Errorf("after undoing: %+v, %v", got, err)
	}
}

func TestEncryptedWrongKey(t *testing.T) {
	ctx := t.Context()
	s := openSQLite(t, filepath.Join(t.TempDir(), "lakegate.db"))
	if err := store.NewEncrypted(s, keyring(t, keyLine("k1", 1))).CreateAccessKey(ctx,
		store.AccessKey{AccessKeyID: "LGK", SecretAccessKey: "the-secret", UserName: "u"}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		keys *store.Keyring
		want string
	}{
		{"no key file", nil, "store.encryption_key_file is not set"},
		{"another id", keyring(t, keyLine("k2", 1)), `encrypted with key "k1", which is not in the key file (keys: k2)`},
		{"same id, another key", keyring(t, keyLine("k1", 2)), "key k1 does not authenticate it"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			enc := store.NewEncrypted(s, tt.keys)
			_, err := enc.GetAccessKey(ctx, "LGK")
			if !errors.Is(err, store.ErrDecrypt) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("GetAccessKey: err = %v, want ErrDecrypt saying %q", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "the-secret") {
				t.Errorf("the error holds the secret: %v", err)
			}
			if keys, err := enc.ListAccessKeys(ctx, ""); !errors.Is(err, store.ErrDecrypt) || keys != nil {
				t.Errorf("ListAccessKeys = %v, %v; want ErrDecrypt and nothing", keys, err)
			}
			if _, err := enc.Export(ctx); !errors.Is(err, store.ErrDecrypt) {
				t.Errorf("Export: err = %v, want ErrDecrypt", err)
			}
		})
	}
}

// TestEncryptedPlaintextLegacy: rows written before encryption was turned
// on are read, and encrypted when written again.
func TestEncryptedPlaintextLegacy(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "lakegate.db")
	s := openSQLite(t, path)
	legacy := store.AccessKey{AccessKeyID: "LGOLD", SecretAccessKey: "old-plain-secret", UserName: "u"}
	if err := s.CreateAccessKey(ctx, legacy); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EnsureSecret(ctx, "seal", []byte("old-plain-seal")); err != nil {
		t.Fatal(err)
	}
	enc := store.NewEncrypted(s, keyring(t, keyLine("k1", 1)))
	got, err := enc.GetAccessKey(ctx, "LGOLD")
	if err != nil || got.SecretAccessKey != legacy.SecretAccessKey {
		t.Fatalf("legacy key = %+v, %v", got, err)
	}
	if v, err := enc.EnsureSecret(ctx, "seal", []byte("new")); err != nil || string(v) != "old-plain-seal" {
		t.Fatalf("legacy secret = %q, %v", v, err)
	}
	if err := enc.PutAccessKey(ctx, got); err != nil {
		t.Fatal(err)
	}
	var raw string
	if err := rawDB(t, path).QueryRowContext(ctx, `SELECT secret_access_key FROM access_keys`).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(raw, "lgenc1:k1:") {
		t.Errorf("rewritten key stored as %q, want the lgenc1:k1: form", raw)
	}
}

// TestSwapIsCompareAndSwap: re-encrypting never undoes a write made since
// the value was read.
func TestSwapIsCompareAndSwap(t *testing.T) {
	ctx := t.Context()
	s := openSQLite(t, filepath.Join(t.TempDir(), "lakegate.db"))
	k := store.AccessKey{AccessKeyID: "LGK", SecretAccessKey: "v1", UserName: "u"}
	if err := s.CreateAccessKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	read := k
	k.SecretAccessKey = "v2" // a concurrent rotation
	if err := s.PutAccessKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	repl := read
	repl.SecretAccessKey = "v1-reencrypted"
	if ok, err := s.SwapAccessKeySecrets(ctx, read, repl); err != nil || ok {
		t.Errorf("swap of a stale value = %v, %v; want false", ok, err)
	}
	if got, _ := s.GetAccessKey(ctx, "LGK"); got.SecretAccessKey != "v2" {
		t.Errorf("secret = %q, want the concurrent write v2", got.SecretAccessKey)
	}
	repl.SecretAccessKey = "v2-reencrypted"
	if ok, err := s.SwapAccessKeySecrets(ctx, k, repl); err != nil || !ok {
		t.Errorf("swap of the current value = %v, %v; want true", ok, err)
	}
	if _, err := s.EnsureSecret(ctx, "n", []byte("a")); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.SwapSecret(ctx, "n", []byte("stale"), []byte("x")); err != nil || ok {
		t.Errorf("SwapSecret of a stale value = %v, %v", ok, err)
	}
	if ok, err := s.SwapSecret(ctx, "n", []byte("a"), []byte("b")); err != nil || !ok {
		t.Errorf("SwapSecret = %v, %v", ok, err)
	}
	if v, _ := s.EnsureSecret(ctx, "n", []byte("z")); string(v) != "b" {
		t.Errorf("secret = %q, want b", v)
	}
}

// TestRotationPhases: a rolling restart through each phase of a rotation
// leaves every value readable by every server: in phase 1 the new key only
// decrypts, in phase 2 it is current and the old one still decrypts.
func TestRotationPhases(t *testing.T) {
	ctx := t.Context()
	s := openSQLite(t, filepath.Join(t.TempDir(), "lakegate.db"))
	before := store.NewEncrypted(s, keyring(t, keyLine("k1", 1)))
	phase1 := store.NewEncrypted(s, keyring(t, keyLine("k1", 1), "decrypt-only "+keyLine("k2", 2)))
	phase2 := store.NewEncrypted(s, keyring(t, keyLine("k2", 2), keyLine("k1", 1)))
	// Servers of adjacent phases run together during a rolling restart.
	for i, pair := range [][2]*store.Encrypted{{before, phase1}, {phase1, before}, {phase1, phase2}, {phase2, phase1}} {
		id := fmt.Sprintf("LGK%d", i)
		if err := pair[0].CreateAccessKey(ctx, store.AccessKey{AccessKeyID: id, SecretAccessKey: "s" + id, UserName: "u"}); err != nil {
			t.Fatal(err)
		}
		if got, err := pair[1].GetAccessKey(ctx, id); err != nil || got.SecretAccessKey != "s"+id {
			t.Errorf("step %d: written by one phase, read by the next: %+v, %v", i, got, err)
		}
	}
	if phase1.Keyring().Current() != "k1" {
		t.Errorf("phase 1 encrypts with %s, want k1", phase1.Keyring().Current())
	}
}

// TestEncryptedPassesGrantOptions checks that the decorator hands the
// policy through untouched: grant options, RemoveObjectPrivilegeGrants
// and column attributes.
func TestEncryptedPassesGrantOptions(t *testing.T) {
	ctx := t.Context()
	enc := store.NewEncrypted(openSQLite(t, filepath.Join(t.TempDir(), "lakegate.db")), keyring(t, keyLine("k1", 1)))
	masked := store.Grant{Role: "r", Privilege: "SELECT", ObjectKind: "TABLE", Object: "hr.people", Options: "TRANSFORM ssn WITH mask()"}
	plain := masked
	plain.Options = ""
	err := enc.UpdatePolicy(ctx, func(tx store.PolicyTx) error {
		return errors.Join(
			tx.CreateRole(ctx, "r"),
			tx.AddGrant(ctx, masked),
			tx.AddGrant(ctx, plain),
			tx.CreateDatabase(ctx, store.Database{Name: "hr"}),
			tx.CreateTable(ctx, store.Table{Database: "hr", Name: "people", Location: "s3://lake/people", Format: "PARQUET",
				Columns: []store.Column{{Name: "ssn", Type: "string", Attributes: []string{"pii.ssn", "pii"}}}}),
		)
	})
	if err != nil {
		t.Fatal(err)
	}
	p, err := enc.LoadPolicy(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Roles) != 1 || len(p.Roles[0].Grants) != 2 || p.Roles[0].Grants[1] != masked ||
		len(p.Tables) != 1 || strings.Join(p.Tables[0].Columns[0].Attributes, ",") != "pii,pii.ssn" {
		t.Fatalf("LoadPolicy through the decorator: %+v", p)
	}
	err = enc.UpdatePolicy(ctx, func(tx store.PolicyTx) error {
		n, err := tx.RemoveObjectPrivilegeGrants(ctx, "r", "TABLE", "hr.people", "SELECT")
		if err == nil && n != 2 {
			err = fmt.Errorf("RemoveObjectPrivilegeGrants removed %d grants, want 2", n)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
