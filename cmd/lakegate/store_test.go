package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lakegate/lakegate/internal/store"
)

// seedStore writes a plaintext SQLite store with one user, key and secret.
func seedStore(t *testing.T, path string) {
	t.Helper()
	ctx := context.Background()
	s, err := store.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.UpdatePolicy(ctx, func(tx store.PolicyTx) error {
		if err := tx.CreateRole(ctx, "r"); err != nil {
			return err
		}
		return tx.PutUser(ctx, store.User{Name: "alice", Groups: []string{"g"}})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAccessKey(ctx, store.AccessKey{AccessKeyID: "LGALICE", SecretAccessKey: "alice-secret-0001", UserName: "alice"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EnsureSecret(ctx, "list-marker-seal-key", []byte("seal-0002")); err != nil {
		t.Fatal(err)
	}
}

func writeStoreKeys(t *testing.T, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "store.keys")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func storeKeyLine(id string, b byte) string {
	return id + ":" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32))
}

// rawSecrets returns what the SQLite file at path stores as secrets.
func rawSecrets(t *testing.T, path string) string {
	t.Helper()
	s, err := store.OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	snap, err := s.Export(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, k := range snap.AccessKeys {
		b.WriteString(k.SecretAccessKey + "\n")
	}
	for _, sec := range snap.Secrets {
		b.WriteString(string(sec.Value) + "\n")
	}
	return b.String()
}

func TestStoreCopyCommand(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src.db"), filepath.Join(dir, "dst.db")
	seedStore(t, src)
	keys := writeStoreKeys(t, storeKeyLine("k1", 1))

	code, out, errOut := runCLI(t, "store", "copy", "--from", "sqlite://"+src, "--to", dst, "--to-encryption-key-file", keys)
	if code != 0 {
		t.Fatalf("store copy: code %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"KIND", "roles", "1", "access keys", "secrets", "policy version", "records: identical", "copied " + src + " to " + dst} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if raw := rawSecrets(t, dst); strings.Contains(raw, "alice-secret-0001") || strings.Count(raw, "lgenc1:k1:") != 2 {
		t.Errorf("the target stores:\n%s", raw)
	}

	// Again: the target is no longer empty.
	code, _, errOut = runCLI(t, "store", "copy", "--from", src, "--to", dst, "--to-encryption-key-file", keys)
	if code != 1 || !strings.Contains(errOut, "target store is not empty") || !strings.Contains(errOut, "--force") {
		t.Errorf("copy into a non-empty target: code %d, stderr %q", code, errOut)
	}
	code, _, errOut = runCLI(t, "store", "copy", "--from", src, "--to", dst, "--to-encryption-key-file", keys, "--force")
	if code != 0 {
		t.Errorf("copy --force: code %d, stderr %q", code, errOut)
	}
	// Back, from a configuration file naming the encrypted store and its key.
	cfg := filepath.Join(dir, "dst.yaml")
	if err := os.WriteFile(cfg, []byte("store:\n  dsn: "+dst+"\n  encryption_key_file: "+keys+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	back := filepath.Join(dir, "back.db")
	code, out, errOut = runCLI(t, "store", "copy", "--from-config", cfg, "--to", "sqlite://"+back)
	if code != 0 || !strings.Contains(out, "records: identical") {
		t.Errorf("copy back: code %d\n%s%s", code, out, errOut)
	}
	if raw := rawSecrets(t, back); !strings.Contains(raw, "alice-secret-0001") {
		t.Errorf("the plaintext copy stores:\n%s", raw)
	}
	// An encrypted source without its key.
	code, _, errOut = runCLI(t, "store", "copy", "--from", dst, "--to", filepath.Join(dir, "x.db"))
	if code != 1 || !strings.Contains(errOut, "--from-encryption-key-file") {
		t.Errorf("copy without the source key: code %d, stderr %q", code, errOut)
	}
	if code, _, errOut := runCLI(t, "store", "copy", "--to", dst); code != 1 || !strings.Contains(errOut, "--from (or --from-config) is required") {
		t.Errorf("no --from: code %d, stderr %q", code, errOut)
	}
}

func TestStoreReencryptCommand(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "lakegate.db")
	seedStore(t, db)
	cfg := filepath.Join(dir, "lakegate.yaml")
	write := func(keys string) {
		t.Helper()
		if err := os.WriteFile(cfg, []byte("store:\n  dsn: "+db+"\n  encryption_key_file: "+keys+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(writeStoreKeys(t, storeKeyLine("k1", 1)))
	code, out, errOut := runCLI(t, "store", "reencrypt", "--config", cfg)
	if code != 0 || !strings.Contains(out, "encrypted 2 values with key k1; 0 already were") {
		t.Fatalf("reencrypt: code %d\n%s%s", code, out, errOut)
	}
	if raw := rawSecrets(t, db); strings.Contains(raw, "alice-secret-0001") || strings.Count(raw, "lgenc1:k1:") != 2 {
		t.Errorf("after reencrypt the store holds:\n%s", raw)
	}
	// Rotation: k2 first, k1 kept; then k1 can go.
	write(writeStoreKeys(t, storeKeyLine("k2", 2), storeKeyLine("k1", 1)))
	code, out, _ = runCLI(t, "store", "reencrypt", "--config", cfg)
	if code != 0 || !strings.Contains(out, "encrypted 2 values with key k2") {
		t.Errorf("rotate: code %d, %q", code, out)
	}
	if raw := rawSecrets(t, db); strings.Count(raw, "lgenc1:k2:") != 2 {
		t.Errorf("after rotation the store holds:\n%s", raw)
	}
	// Without a key file there is nothing to encrypt with.
	if err := os.WriteFile(cfg, []byte("store:\n  dsn: "+db+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, "store", "reencrypt", "--config", cfg); code != 1 || !strings.Contains(errOut, "store.encryption_key_file is not set") {
		t.Errorf("without a key file: code %d, %q", code, errOut)
	}
}
