package client_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lakegate/lakegate/internal/api"
	"github.com/lakegate/lakegate/internal/authz/authztest"
	"github.com/lakegate/lakegate/internal/client"
	"github.com/lakegate/lakegate/internal/credentials"
)

func TestCredentialProcess(t *testing.T) {
	fx := authztest.New(t, authztest.Options{Users: map[string][]string{"alice": {"analysts"}}})
	h, err := api.New(api.Options{Engine: fx.Engine, Tokens: fx.Tokens, Keys: credentials.New(fx.Store)})
	if err != nil {
		t.Fatal(err)
	}
	var exchanges atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/aws-credentials" {
			exchanges.Add(1)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	good := fx.Token(t, "alice")

	home := t.TempDir()
	script := filepath.Join(t.TempDir(), "get-token.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho "+good+"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"HOME": home}
	cp := client.CredentialProcess{Server: srv.URL, Getenv: func(k string) string { return env[k] }}
	ctx := context.Background()

	t.Run("no token and no script", func(t *testing.T) {
		if _, err := cp.Credentials(ctx); err == nil || !strings.Contains(err.Error(), "no token") {
			t.Errorf("err = %v, want a no-token error", err)
		}
	})
	t.Run("no token: the script supplies one and it is kept", func(t *testing.T) {
		env["OKERA_TOKEN_RETRIEVAL_SCRIPT"] = script
		c, err := cp.Credentials(ctx)
		if err != nil || !strings.HasPrefix(c.AccessKeyID, "LG") || c.Version != 1 {
			t.Fatalf("Credentials = %+v, %v", c, err)
		}
		b, _ := os.ReadFile(filepath.Join(home, ".lakegate", "token"))
		if strings.TrimSpace(string(b)) != good {
			t.Errorf("the script's token was not kept in ~/.lakegate/token")
		}
		if st, _ := os.Stat(filepath.Join(home, ".lakegate", "token")); st == nil || st.Mode().Perm() != 0o600 {
			t.Errorf("token file mode: %v", st)
		}
	})
	t.Run("cached until shortly before expiry", func(t *testing.T) {
		before := exchanges.Load()
		a, _ := cp.Credentials(ctx)
		b, _ := cp.Credentials(ctx)
		if exchanges.Load() != before || a.AccessKeyID != b.AccessKeyID {
			t.Errorf("cached credentials were not reused (%d exchanges)", exchanges.Load()-before)
		}
		late := cp
		late.Now = func() time.Time { return time.Now().Add(api.DefaultCredentialTTL - time.Minute) }
		c, err := late.Credentials(ctx)
		if err != nil || c.AccessKeyID == a.AccessKeyID || exchanges.Load() != before+1 {
			t.Errorf("credentials about to expire were not renewed: %v", err)
		}
	})
	t.Run("a refused token is renewed by the script", func(t *testing.T) {
		env[client.TokenEnv] = "lgt_" + strings.Repeat("x", 40)
		c, err := cp.Credentials(ctx)
		if err != nil || c.AccessKeyID == "" {
			t.Errorf("Credentials = %+v, %v", c, err)
		}
	})
	t.Run("a refused token without a script is a clear error", func(t *testing.T) {
		delete(env, "OKERA_TOKEN_RETRIEVAL_SCRIPT")
		_, err := cp.Credentials(ctx)
		if err == nil || !strings.Contains(err.Error(), "invalid or expired token") {
			t.Errorf("err = %v", err)
		}
		if err != nil && strings.Contains(err.Error(), env[client.TokenEnv]) {
			t.Error("the error shows the token")
		}
	})
	t.Run("a failing script", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "bad.sh")
		_ = os.WriteFile(bad, []byte("#!/bin/sh\necho nope >&2\nexit 3\n"), 0o700)
		env[client.ScriptEnv] = bad
		if _, err := cp.Credentials(ctx); err == nil || !strings.Contains(err.Error(), "failed") {
			t.Errorf("err = %v", err)
		}
	})
}
