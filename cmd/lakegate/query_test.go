//go:build duckdb_arrow

package main

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lakegate/lakegate/internal/api"
	"github.com/lakegate/lakegate/internal/audit"
	"github.com/lakegate/lakegate/internal/authz/authztest"
	"github.com/lakegate/lakegate/internal/client"
	"github.com/lakegate/lakegate/internal/credentials"
	"github.com/lakegate/lakegate/internal/dataplane"
	"github.com/lakegate/lakegate/internal/upstream"
)

type lakeFiles struct{ root string }

func (d lakeFiles) ListObjects(_ context.Context, bucket, prefix, _ string, fn func(upstream.Entry) error) error {
	base := filepath.Join(d.root, bucket)
	var es []upstream.Entry
	err := filepath.WalkDir(base, func(p string, de fs.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(base, p)
		if key := filepath.ToSlash(rel); strings.HasPrefix(key, prefix) {
			info, err := de.Info()
			if err != nil {
				return err
			}
			es = append(es, upstream.Entry{Key: key, Size: info.Size()})
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, e := range es {
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

func (d lakeFiles) NewReaderAt(_ context.Context, bucket, key string, _ int64) io.ReaderAt {
	raw, _ := os.ReadFile(filepath.Join(d.root, bucket, filepath.FromSlash(key)))
	return bytes.NewReader(raw)
}

type noAudit struct{}

func (noAudit) Decide(context.Context, *audit.Event) error { return nil }
func (noAudit) Complete(*audit.Event)                      {}

// queryServer serves a REST API with the data plane over a CSV table
// hr.people; alice sees EU rows with ssn masked. LAKEGATE_TOKEN is
// alice's.
func queryServer(t *testing.T) {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "lake/people"), 0o755); err != nil {
		t.Fatal(err)
	}
	csv := "1,Alice,123-45-6789,EU\n2,Bob,987-65-4321,US\n3,Carol,555-12-3456,EU\n"
	if err := os.WriteFile(filepath.Join(root, "lake/people/p.csv"), []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	fx := authztest.New(t, authztest.Options{Script: `
CREATE DATABASE hr;
CREATE EXTERNAL TABLE hr.people (id BIGINT, name STRING, ssn STRING, region STRING)
  ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' STORED AS TEXTFILE LOCATION 's3://lake/people';
CREATE ROLE eu; GRANT ROLE eu TO GROUP eu;
GRANT SELECT ON TABLE hr.people WHERE region = 'EU' TRANSFORM ssn WITH mask_last(4) TO ROLE eu;`,
		Users: map[string][]string{"alice": {"eu"}}})
	go fx.Engine.Run(t.Context())
	eng, err := dataplane.NewEngine(dataplane.EngineOptions{Objects: lakeFiles{root}, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := dataplane.New(dataplane.Options{Policy: fx.Engine, Engine: eng, Audit: noAudit{}})
	if err != nil {
		t.Fatal(err)
	}
	h, err := api.New(api.Options{Engine: fx.Engine, Tokens: fx.Tokens, Keys: credentials.New(fx.Store), Scanner: svc})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	t.Setenv(serverEnv, srv.URL)
	t.Setenv(client.TokenEnv, fx.Token(t, "alice"))
	t.Setenv("HOME", t.TempDir())
}

func TestQueryCommand(t *testing.T) {
	queryServer(t)
	stmtFile := filepath.Join(t.TempDir(), "q.sql")
	if err := os.WriteFile(stmtFile, []byte("SELECT name FROM hr.people WHERE id = 3"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"table", []string{"query", "SELECT id, name, ssn, NULL AS x FROM hr.people ORDER BY id"}, 0,
			"id  name   ssn          x\n1   Alice  XXXXXXX6789  NULL\n3   Carol  XXXXXXX3456  NULL\n(2 rows)\n", ""},
		{"csv", []string{"query", "--format", "csv", "SELECT id, ssn FROM hr.people ORDER BY id"}, 0,
			"id,ssn\n1,XXXXXXX6789\n3,XXXXXXX3456\n", ""},
		{"json", []string{"query", "--format=json", "SELECT count(*) AS n FROM hr.people"}, 0, `[{"n":2}]` + "\n", ""},
		{"file", []string{"query", "-f", stmtFile}, 0, "name\nCarol\n(1 row)\n", ""},
		{"refused", []string{"query", "COPY hr.people TO '/tmp/x'"}, 1, "", "refused"},
		{"bad format", []string{"query", "--format", "xml", "SELECT 1"}, 1, "", "want table, csv or json"},
		{"nothing to run", []string{"query"}, 1, "", "lakegate query"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tc.args...)
			if code != tc.code || stdout != tc.stdout || !strings.Contains(stderr, tc.stderr) {
				t.Errorf("code %d, stdout\n%s\nstderr %q; want %d\n%s\n%q", code, stdout, stderr, tc.code, tc.stdout, tc.stderr)
			}
		})
	}
}
