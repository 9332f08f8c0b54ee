package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/lakegate/lakegate/internal/config"
	"github.com/lakegate/lakegate/internal/credentials"
)

// jwtKey is an ES256 key whose public half the server trusts.
type jwtKey struct {
	key *ecdsa.PrivateKey
	pub string // PEM file
}

func newJWTKey(t *testing.T) jwtKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pub := filepath.Join(t.TempDir(), "jwt.pub")
	if err := os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return jwtKey{key: key, pub: pub}
}

func (k jwtKey) mint(t *testing.T, sub string, groups ...string) string {
	t.Helper()
	now := time.Now()
	raw, err := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{
		"sub": sub, "groups": groups, "iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
	}).SignedString(k.key)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// restSQL runs statement as bearer and returns the status and body.
func restSQL(t *testing.T, restAddr, bearer, statement string) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://"+restAddr+"/api/sql",
		strings.NewReader(`{"sql": "`+statement+`"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+bearer)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestAdminGroups: a JWT whose groups claim says Admin is not catalog
// admin through the bootstrap group "admin"; admin.groups makes the groups
// it names catalog admins, and the server says at start which are.
func TestAdminGroups(t *testing.T) {
	k := newJWTKey(t)
	adminToken := credentials.TokenPrefix + credentials.RandomToken(40)
	start := func(t *testing.T, groups []string) (rest string, logs *syncBuffer) {
		cfg := testConfig(t, nil)
		cfg.Admin.Token = adminToken
		cfg.Admin.Groups = groups
		cfg.Auth.JWT = config.JWT{PublicKeys: []string{k.pub}, Algorithms: []string{"ES256"}, MaxLifetime: time.Hour}
		logs = &syncBuffer{}
		s := newServer(t, t.Context(), cfg, slog.New(slog.NewTextHandler(logs, nil)))
		serve(t, s)
		return s.Addrs().REST, logs
	}
	const change = "CREATE ROLE IF NOT EXISTS probe_role"

	t.Run("default", func(t *testing.T) {
		rest, logs := start(t, nil)
		for _, g := range []string{"Admin", "admin", "ADMIN"} {
			if code, body := restSQL(t, rest, k.mint(t, "mallory", g), change); code != http.StatusForbidden {
				t.Errorf("a JWT with groups [%s] changed the policy: %d %s", g, code, body)
			}
		}
		if code, body := restSQL(t, rest, adminToken, change); code != http.StatusOK {
			t.Errorf("the bootstrap admin's token: %d %s", code, body)
		}
		if !strings.Contains(logs.String(), "admin.groups") {
			t.Errorf("the start log does not say which groups are catalog admins:\n%s", logs.String())
		}
	})
	t.Run("admin.groups", func(t *testing.T) {
		rest, logs := start(t, []string{"Admin"})
		if code, body := restSQL(t, rest, k.mint(t, "ann", "admin"), change); code != http.StatusOK {
			t.Errorf("a JWT with groups [admin] and admin.groups [Admin]: %d %s", code, body)
		}
		if code, body := restSQL(t, rest, k.mint(t, "bob", "analysts"), change); code != http.StatusForbidden {
			t.Errorf("a JWT with groups [analysts]: %d %s", code, body)
		}
		if !strings.Contains(logs.String(), "Admin") {
			t.Errorf("the start log does not name the admin group Admin:\n%s", logs.String())
		}
	})
}

// TestServeCreatesAdminToken: without admin.*, serve creates an admin
// token in the data directory (mode 0600), says where, and reuses it.
func TestServeCreatesAdminToken(t *testing.T) {
	cfg := testConfig(t, nil)
	cfg.Admin = config.Admin{}
	logs := &syncBuffer{}
	s := newServer(t, t.Context(), cfg, slog.New(slog.NewTextHandler(logs, nil)))
	path := filepath.Join(cfg.DataDir, "admin-token")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("no admin token file: %v\n%s", err, logs.String())
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", path, fi.Mode().Perm())
	}
	raw, _ := os.ReadFile(path)
	token := strings.TrimSpace(string(raw))
	if !strings.HasPrefix(token, credentials.TokenPrefix) {
		t.Fatalf("%s holds %.8q…, not a lakegate token", path, token)
	}
	if !strings.Contains(logs.String(), path) {
		t.Errorf("the start log does not name %s:\n%s", path, logs.String())
	}
	if strings.Contains(logs.String(), token) {
		t.Error("the start log contains the token itself")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	if code, body := restSQL(t, s.Addrs().REST, token, "CREATE ROLE first_role"); code != http.StatusOK {
		t.Errorf("the created admin token: %d %s", code, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}

	// A second server over the same data directory reuses the token, and
	// makes a file others could read private again.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg2 := *cfg
	cfg2.Proxy.Addr, cfg2.REST.Addr = "127.0.0.1:0", "127.0.0.1:0"
	s2 := newServer(t, t.Context(), &cfg2, slog.New(slog.DiscardHandler))
	serve(t, s2)
	if raw, _ := os.ReadFile(path); strings.TrimSpace(string(raw)) != token {
		t.Error("a restart replaced the admin token")
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("after a restart %s: %v, mode %v; want 0600", path, err, fi.Mode().Perm())
	}
	if code, body := restSQL(t, s2.Addrs().REST, token, "CREATE ROLE second_role"); code != http.StatusOK {
		t.Errorf("the admin token after a restart: %d %s", code, body)
	}
}

// TestRevokedAdminTokenStaysRevoked: revoking the admin's credentials
// deletes the token of <data_dir>/admin-token, and the next start does not
// register it again: it writes a new token to the file (mode 0600), says so,
// and the revoked one stays refused.
func TestRevokedAdminTokenStaysRevoked(t *testing.T) {
	cfg := testConfig(t, nil)
	cfg.Admin = config.Admin{}
	s := newServer(t, t.Context(), cfg, slog.New(slog.DiscardHandler))
	path := filepath.Join(cfg.DataDir, "admin-token")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	old := strings.TrimSpace(string(raw))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://"+s.Addrs().REST+"/api/credentials/revoke",
		strings.NewReader(`{"user": "admin"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+old)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("revoke admin: status %d", resp.StatusCode)
	}
	if code, _ := restSQL(t, s.Addrs().REST, old, "CREATE ROLE r1"); code != http.StatusUnauthorized {
		t.Fatalf("the revoked token: status %d, want 401", code)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}

	cfg2 := *cfg
	cfg2.Proxy.Addr, cfg2.REST.Addr = "127.0.0.1:0", "127.0.0.1:0"
	logs := &syncBuffer{}
	s2 := newServer(t, t.Context(), &cfg2, slog.New(slog.NewTextHandler(logs, nil)))
	serve(t, s2)
	if code, _ := restSQL(t, s2.Addrs().REST, old, "CREATE ROLE r2"); code != http.StatusUnauthorized {
		t.Errorf("the revoked token after a restart: status %d, want 401", code)
	}
	raw, err = os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fresh := strings.TrimSpace(string(raw))
	if fresh == old || !strings.HasPrefix(fresh, credentials.TokenPrefix) {
		t.Fatalf("%s still holds the revoked token (or no token)", path)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("%s: %v, mode %v; want 0600", path, err, fi.Mode().Perm())
	}
	if code, body := restSQL(t, s2.Addrs().REST, fresh, "CREATE ROLE r3"); code != http.StatusOK {
		t.Errorf("the new admin token: %d %s", code, body)
	}
	if !strings.Contains(logs.String(), "revoked") || strings.Contains(logs.String(), fresh) || strings.Contains(logs.String(), old) {
		t.Errorf("the start log does not say the token was revoked and replaced (or shows a token):\n%s", logs.String())
	}
}

// TestAdminGroupsRemoved: a group taken out of admin.groups is no longer
// catalog admin after the next start; one put back is again.
func TestAdminGroupsRemoved(t *testing.T) {
	k := newJWTKey(t)
	adminToken := credentials.TokenPrefix + credentials.RandomToken(40)
	dataDir := t.TempDir()
	const change = "CREATE ROLE IF NOT EXISTS probe_role"
	for i, step := range []struct {
		groups []string
		want   map[string]int // a JWT's group → status of a policy change
	}{
		{[]string{"Stewards", "ops"}, map[string]int{"stewards": 200, "ops": 200}},
		{[]string{"ops"}, map[string]int{"stewards": 403, "ops": 200}},
		{nil, map[string]int{"stewards": 403, "ops": 403}},
		{[]string{"Stewards"}, map[string]int{"stewards": 200, "ops": 403}},
	} {
		cfg := testConfig(t, nil)
		cfg.DataDir, cfg.Store.DSN = dataDir, filepath.Join(dataDir, config.SQLiteFile)
		cfg.Admin.Token = adminToken
		cfg.Admin.Groups = step.groups
		cfg.Auth.JWT = config.JWT{PublicKeys: []string{k.pub}, Algorithms: []string{"ES256"}, MaxLifetime: time.Hour}
		s := newServer(t, t.Context(), cfg, slog.New(slog.DiscardHandler))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Serve(ctx) }()
		for g, want := range step.want {
			if code, body := restSQL(t, s.Addrs().REST, k.mint(t, "sue", g), change); code != want {
				t.Errorf("start %d, admin.groups %v: a JWT with groups [%s]: %d %s, want %d", i+1, step.groups, g, code, body, want)
			}
		}
		if code, body := restSQL(t, s.Addrs().REST, adminToken, change); code != http.StatusOK {
			t.Errorf("start %d: the bootstrap admin's token: %d %s", i+1, code, body)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Serve: %v", err)
		}
	}
}
