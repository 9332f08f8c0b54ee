package e2e

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// readmeSection returns the README's "## title" section, up to the next
// "## " heading.
func readmeSection(t *testing.T, title string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "\n## "+title+"\n")
	if !ok {
		t.Fatalf("README.md has no section %q", title)
	}
	section, _, _ := strings.Cut(rest, "\n## ")
	return section
}

// TestQuickstartInstallsTheCLI is issue 13, item 13: after quickstart,
// the README's next commands (lakegate sql, lakegate users …) need the
// binary on the PATH. The Quickstart section says how (go install
// ./cmd/lakegate or make install) and that the first build takes a while;
// both commands, run as written with GOBIN set, install a lakegate whose
// sql and users commands answer.
func TestQuickstartInstallsTheCLI(t *testing.T) {
	skipShort(t)
	section := readmeSection(t, "Quickstart")
	for _, want := range []string{"go install -tags duckdb_arrow ./cmd/lakegate", "make install", "first build takes a couple of minutes"} {
		if !strings.Contains(section, want) {
			t.Errorf("README's Quickstart section does not say %q", want)
		}
	}
	for _, cmd := range [][]string{{goTool(), "install", "./cmd/lakegate"}, {"make", "install"}} {
		t.Run(strings.Join(cmd, "_"), func(t *testing.T) {
			if findTool(cmd[0]) == "" {
				t.Fatalf("%s not found on PATH", cmd[0])
			}
			gobin := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			env := append(os.Environ(), "GOBIN="+gobin, "GOTOOLCHAIN=local")
			if stdout, stderr, code := runCmd(ctx, env, "..", cmd[0], cmd[1:]...); code != 0 {
				t.Fatalf("%s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(cmd, " "), code, stdout, stderr)
			}
			bin := filepath.Join(gobin, "lakegate")
			for _, sub := range []string{"sql", "users"} {
				stdout, stderr, code := runCmd(ctx, baseEnv(t.TempDir()), "", bin, sub, "--help")
				if code != 0 || !strings.Contains(stdout, "lakegate "+sub) {
					t.Errorf("%s %s --help: exit %d\nstdout:\n%s\nstderr:\n%s", bin, sub, code, stdout, stderr)
				}
			}
		})
	}
}

// TestREADMELocalhostAddressing is issue 13, item 16: virtual-hosted
// <bucket>.localhost works only where the client's resolver maps
// *.localhost; the README says so, and what to do instead.
func TestREADMELocalhostAddressing(t *testing.T) {
	section := readmeSection(t, "Using it with the AWS CLI")
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`resolves\s+` + "`" + `\*\.localhost` + "`"),
		regexp.MustCompile(`use path\s+style`),
		regexp.MustCompile(`--resolve\s+demo\.localhost:5010:127\.0\.0\.1`),
		regexp.MustCompile(`127\.0\.0\.1 demo\.localhost` + "`" + ` in\s+` + "`" + `/etc/hosts`),
	} {
		if !want.MatchString(section) {
			t.Errorf("README's %q section does not match %s", "Using it with the AWS CLI", want)
		}
	}
}
