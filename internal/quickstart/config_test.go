package quickstart_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/lakegate/lakegate/internal/config"
	"github.com/lakegate/lakegate/internal/quickstart"
)

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu  chan struct{}
	buf bytes.Buffer
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{mu: make(chan struct{}, 1)} }

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu <- struct{}{}
	defer func() { <-b.mu }()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu <- struct{}{}
	defer func() { <-b.mu }()
	return b.buf.String()
}

// TestQuickstartHonoursConfiguration: quickstart takes the configuration
// (file and environment) like serve: a JWT key set there works on its REST
// API; settings it cannot honour (its embedded backend and store replace
// upstream.* and store.*) are named in a warning; the banner tells the CLI
// where the REST API is when it is not the default address.
func TestQuickstartHonoursConfiguration(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pub := filepath.Join(t.TempDir(), "jwt.pub")
	if err := os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"JWT_PUBLIC_KEY":              pub,
		"JWT_ALGORITHM":               "ES256",
		"LAKEGATE_UPSTREAM_ENDPOINT":  "http://s3.internal.example:9000",
		"LAKEGATE_GROUPS_CACHE_TTL":   "1m",
		"LAKEGATE_STORE_DSN":          "/var/lib/elsewhere.db",
		"LAKEGATE_ADMIN_GROUPS":       "Stewards",
		"LAKEGATE_PROXY_BASE_DOMAINS": "s3.example.test",
	}
	cfg, err := config.Load("", func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	var banner bytes.Buffer
	logs := newSyncBuffer()
	q := start(t, quickstart.Options{
		DataDir: t.TempDir(), ProxyAddr: "127.0.0.1:0", RESTAddr: "127.0.0.1:0",
		Config: cfg, Stdout: &banner, Logger: slog.New(slog.NewTextHandler(logs, nil)),
	})
	serve(t, q)

	for _, name := range []string{"upstream.endpoint", "store.dsn"} {
		if !strings.Contains(logs.String(), name) {
			t.Errorf("no warning names %s, which quickstart cannot honour:\n%s", name, logs.String())
		}
	}
	if !strings.Contains(banner.String(), "LAKEGATE_SERVER="+q.RESTURL+"\n") {
		t.Errorf("the banner lacks LAKEGATE_SERVER=%s (the REST API is not on the default address):\n%s", q.RESTURL, banner.String())
	}

	raw, err := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{
		"sub": "jdoe", "groups": []string{"Stewards"}, "iat": time.Now().Unix(), "exp": time.Now().Add(10 * time.Minute).Unix(),
	}).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, q.RESTURL+"/api/sql", strings.NewReader(`{"sql":"CREATE ROLE steward_made"}`))
	req.Header.Set("Authorization", "Bearer "+raw)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("a JWT (JWT_PUBLIC_KEY) of group Stewards (admin.groups) on quickstart's /api/sql: %d %v", resp.StatusCode, body)
	}
}

// TestQuickstartBannerServerLine: with the REST API elsewhere than the
// CLI's default address, the banner says LAKEGATE_SERVER=… (issue 13 item
// 14), so that lakegate sql and audit query find it.
func TestQuickstartBannerServerLine(t *testing.T) {
	var banner bytes.Buffer
	q := start(t, quickstart.Options{
		DataDir: t.TempDir(), ProxyAddr: "127.0.0.1:0", RESTAddr: "127.0.0.1:0",
		Stdout: &banner, Logger: slog.New(slog.DiscardHandler),
	})
	serve(t, q)
	if !strings.Contains(banner.String(), "\nLAKEGATE_SERVER="+q.RESTURL+"\n") {
		t.Errorf("banner lacks LAKEGATE_SERVER:\n%s", banner.String())
	}
}

// TestQuickstartIgnoresConfigDataDir: a configuration's data_dir (say a
// production serve's) is not quickstart's data directory: quickstart uses
// --data-dir or its own default, never opens that server's store nor adds
// its admin key and token there, and warns that data_dir is ignored.
func TestQuickstartIgnoresConfigDataDir(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(home, "aws-config"))
	production := t.TempDir()
	env := map[string]string{"LAKEGATE_DATA_DIR": production}
	cfg, err := config.Load("", func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	logs := newSyncBuffer()
	q := start(t, quickstart.Options{
		ProxyAddr: "127.0.0.1:0", RESTAddr: "127.0.0.1:0",
		Config: cfg, Stdout: &bytes.Buffer{}, Logger: slog.New(slog.NewTextHandler(logs, nil)),
	})
	serve(t, q)
	if entries, _ := os.ReadDir(production); len(entries) > 0 {
		t.Errorf("quickstart wrote to the configuration's data_dir %s: %v", production, entries)
	}
	if _, err := os.Stat(filepath.Join(home, ".lakegate", "quickstart", config.SQLiteFile)); err != nil {
		t.Errorf("quickstart's store is not in its default data directory: %v", err)
	}
	if !strings.Contains(logs.String(), "data_dir") {
		t.Errorf("no warning says data_dir is ignored:\n%s", logs.String())
	}
}
