package server_test

import (
	"bytes"
	"database/sql"
	"encoding/base64"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/lakegate/lakegate/internal/dataplane"
	"github.com/lakegate/lakegate/internal/server"
	_ "github.com/lakegate/lakegate/internal/store" // registers the sqlite driver rawStoreDump opens
)

// writeKeyFile writes a store key file with the given mode.
func writeKeyFile(t *testing.T, mode os.FileMode, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "store.keys")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return path
}

func storeKey(id string, b byte) string {
	return id + ":" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32))
}

// rawStoreDump returns every stored secret of the SQLite store at path as
// the database holds it.
func rawStoreDump(t *testing.T, path string) string {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var b strings.Builder
	for _, q := range []string{
		`SELECT secret_access_key || ' ' || session_token FROM access_keys`,
		`SELECT CAST(value AS TEXT) FROM secrets`,
	} {
		rows, err := db.QueryContext(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			b.WriteString(s + "\n")
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

func TestStoreEncryption(t *testing.T) {
	b := startBackend(t)
	cfg := testConfig(t, b)
	cfg.Store.EncryptionKeyFile = writeKeyFile(t, 0o600, storeKey("k1", 1))
	var logs syncBuffer
	s := newServer(t, t.Context(), cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	serve(t, s)

	// The bootstrap admin key, stored encrypted, works.
	client := s3Client("http://"+s.Addrs().Proxy, cfg.Admin.AccessKeyID, cfg.Admin.SecretAccessKey, http.DefaultClient)
	if _, err := client.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String("enc")}); err != nil {
		t.Fatalf("CreateBucket with the admin key: %v", err)
	}
	raw := rawStoreDump(t, cfg.Store.DSN)
	if strings.Contains(raw, cfg.Admin.SecretAccessKey) {
		t.Errorf("the database holds the admin secret in plaintext:\n%s", raw)
	}
	want := 2 // the admin key and the seal key
	if dataplane.Available() {
		want++ // the scan service's tokenize key
	}
	if n := strings.Count(raw, "lgenc1:k1:"); n != want {
		t.Errorf("%d values in the lgenc1:k1: form, want %d:\n%s", n, want, raw)
	}
	if strings.Contains(logs.String(), "plaintext") {
		t.Errorf("with a key file, the log warns of plaintext:\n%s", logs.String())
	}
}

func TestStoreEncryptionRefusals(t *testing.T) {
	cfg := testConfig(t, nil)

	// Without a key file: a warning at start.
	var logs syncBuffer
	s := newServer(t, t.Context(), cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	s.Close()
	if !strings.Contains(logs.String(), "store.encryption_key_file is not set: secrets are stored in plaintext") {
		t.Errorf("no plaintext warning at start:\n%s", logs.String())
	}

	// A key file others can read.
	cfg.Store.EncryptionKeyFile = writeKeyFile(t, 0o644, storeKey("k1", 1))
	if s, err := server.New(t.Context(), cfg, nil); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a key file of mode 0644: err = %v, want a refusal", err)
		if err == nil {
			s.Close()
		}
	}

	// Encrypted with k1, then started with another key: refused, not empty.
	// (A new store: the first one's values are plaintext, which is read
	// until lakegate store reencrypt rewrites it.)
	cfg = testConfig(t, nil)
	cfg.Store.EncryptionKeyFile = writeKeyFile(t, 0o600, storeKey("k1", 1))
	s = newServer(t, t.Context(), cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	s.Close()
	cfg.Store.EncryptionKeyFile = writeKeyFile(t, 0o600, storeKey("k2", 2))
	s, err := server.New(t.Context(), cfg, nil)
	if err == nil {
		s.Close()
	}
	if err == nil || !strings.Contains(err.Error(), `encrypted with key "k1", which is not in the key file`) {
		t.Errorf("another key: err = %v, want a decryption refusal", err)
	}
	if err != nil && strings.Contains(err.Error(), cfg.Admin.SecretAccessKey) {
		t.Errorf("the error holds the admin secret: %v", err)
	}
	// Rotation: k2 current, k1 still listed.
	cfg.Store.EncryptionKeyFile = writeKeyFile(t, 0o600, storeKey("k2", 2), storeKey("k1", 1))
	s = newServer(t, t.Context(), cfg, nil)
	s.Close()
}
