package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	code = run(ctx, args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestVersion(t *testing.T) {
	code, out, _ := runCLI(t, "version")
	if code != 0 || !strings.HasPrefix(out, "lakegate dev") {
		t.Errorf("version: code %d, output %q", code, out)
	}
}

func TestConfigPrint(t *testing.T) {
	t.Setenv("HOME", "/home/tester")
	t.Setenv(configEnv, "")
	t.Setenv("LAKEGATE_UPSTREAM_SECRET_ACCESS_KEY", "env-secret")
	t.Setenv("LAKEGATE_UPSTREAM_ACCESS_KEY_ID", "AKIAFROMENV")
	path := filepath.Join(t.TempDir(), "lakegate.yaml")
	if err := os.WriteFile(path, []byte("proxy:\n  addr: 127.0.0.1:6000\nokerafs.default.region: eu-west-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "config", "print", "--config", path)
	if code != 0 {
		t.Fatalf("code %d, stderr %s", code, errOut)
	}
	for _, want := range []string{"addr: 127.0.0.1:6000", "region: eu-west-1", "access_key_id: AKIAFROMENV", "secret_access_key: REDACTED"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "env-secret") {
		t.Error("output leaks the secret")
	}
}

func TestConfigPrintReportsProblems(t *testing.T) {
	t.Setenv("LAKEGATE_LOG_LEVEL", "loud")
	t.Setenv("LAKEGATE_PROXY_ADDR", "nowhere")
	code, out, errOut := runCLI(t, "config", "print", "--config", "")
	if code != 1 || !strings.Contains(out, "level: loud") ||
		!strings.Contains(errOut, "log.level") || !strings.Contains(errOut, "proxy.addr") {
		t.Errorf("code %d\nstdout %s\nstderr %s", code, out, errOut)
	}
}

func TestServeRejectsBadConfig(t *testing.T) {
	code, _, errOut := runCLI(t, "serve", "--config", filepath.Join(t.TempDir(), "missing.yaml"))
	if code != 1 || !strings.Contains(errOut, "missing.yaml") {
		t.Errorf("code %d, stderr %q", code, errOut)
	}
}

func TestUnknownCommand(t *testing.T) {
	if code, _, _ := runCLI(t, "frobnicate"); code != 1 {
		t.Errorf("code %d, want 1", code)
	}
}
