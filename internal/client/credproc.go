package client

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/lakegate/lakegate/internal/api"
	"github.com/lakegate/lakegate/internal/atomicfile"
)

// Token retrieval script variables (seed 002); lakegate's name wins.
const (
	ScriptEnv      = "LAKEGATE_TOKEN_RETRIEVAL_SCRIPT"
	OkeraScriptEnv = "OKERA_TOKEN_RETRIEVAL_SCRIPT"
)

// refreshBefore is how long before their expiry cached credentials are
// renewed, so that a long command does not start with keys about to lapse.
const refreshBefore = 5 * time.Minute

// SaveToken writes token to ~/.lakegate/token (directory 0700, file 0600).
func SaveToken(home, token string) error {
	dir := filepath.Join(home, ".lakegate")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, "token"), []byte(token+"\n"), 0o600)
}

// CredentialProcess produces AWS credentials for an SDK's
// credential_process: cached ones while they last, else new ones from the
// server for the user's token, running the token retrieval script when
// there is no token or the server refuses it.
type CredentialProcess struct {
	Server string
	Getenv func(string) string
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// credentialCache is the file kept in ~/.lakegate.
type credentialCache struct {
	Server      string             `json:"server"`
	TokenSHA256 string             `json:"token_sha256"`
	Credentials api.AWSCredentials `json:"credentials"`
}

// Credentials returns credentials valid for at least refreshBefore.
func (cp *CredentialProcess) Credentials(ctx context.Context) (api.AWSCredentials, error) {
	now := time.Now
	if cp.Now != nil {
		now = cp.Now
	}
	home := cp.Getenv("HOME")
	token, err := FindToken(cp.Getenv)
	if err != nil {
		return api.AWSCredentials{}, err
	}
	script := cp.Getenv(ScriptEnv)
	if script == "" {
		script = cp.Getenv(OkeraScriptEnv)
	}
	if token == "" {
		if script == "" {
			return api.AWSCredentials{}, errors.New("no token: set " + TokenEnv + ", write it to ~/.lakegate/token, run lakegate login, or set " + ScriptEnv)
		}
		if token, err = runScript(ctx, script, home); err != nil {
			return api.AWSCredentials{}, err
		}
	}
	cachePath := filepath.Join(home, ".lakegate", "aws-credentials.json")
	if c, ok := readCache(cachePath); ok && c.Server == cp.Server && c.TokenSHA256 == hashOf(token) {
		if exp, err := time.Parse(time.RFC3339, c.Credentials.Expiration); err == nil && exp.Sub(now()) > refreshBefore {
			return c.Credentials, nil
		}
	}
	creds, err := cp.exchange(ctx, token)
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.Status == http.StatusUnauthorized && script != "" {
		// The token expired: renew it with the script, as Okera's clients did.
		if token, err = runScript(ctx, script, home); err != nil {
			return api.AWSCredentials{}, err
		}
		creds, err = cp.exchange(ctx, token)
	}
	if err != nil {
		return api.AWSCredentials{}, err
	}
	if home != "" {
		data, _ := json.Marshal(credentialCache{Server: cp.Server, TokenSHA256: hashOf(token), Credentials: creds})
		if err := os.MkdirAll(filepath.Join(home, ".lakegate"), 0o700); err == nil {
			_ = atomicfile.Write(cachePath, data, 0o600) // a cache: failing to keep it only costs a round trip
		}
	}
	return creds, nil
}

func (cp *CredentialProcess) exchange(ctx context.Context, token string) (api.AWSCredentials, error) {
	c, err := New(cp.Server, token)
	if err != nil {
		return api.AWSCredentials{}, err
	}
	return c.AWSCredentials(ctx)
}

func readCache(path string) (credentialCache, bool) {
	var c credentialCache
	b, err := os.ReadFile(path)
	if err != nil || json.Unmarshal(b, &c) != nil || c.Credentials.AccessKeyID == "" {
		return credentialCache{}, false
	}
	return c, true
}

func hashOf(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// scriptTimeout bounds a token retrieval script.
const scriptTimeout = 2 * time.Minute

// runScript runs the token retrieval script with no arguments and keeps
// the token it prints in ~/.lakegate/token.
func runScript(ctx context.Context, script, home string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, scriptTimeout)
	defer cancel()
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, script)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errOut.String())
		if len(msg) > 200 {
			msg = msg[:200] + "…"
		}
		return "", fmt.Errorf("token retrieval script %s failed: %w (stderr: %q)", script, err, msg)
	}
	token := strings.TrimSpace(out.String())
	if token == "" || strings.ContainsAny(token, " \t\r\n") {
		return "", fmt.Errorf("token retrieval script %s must print one token, without spaces", script)
	}
	if home != "" {
		if err := SaveToken(home, token); err != nil {
			return "", fmt.Errorf("keeping the new token: %w", err)
		}
	}
	return token, nil
}
