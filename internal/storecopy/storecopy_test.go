package storecopy_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lakegate/lakegate/internal/store"
	"github.com/lakegate/lakegate/internal/store/mysqltest"
	"github.com/lakegate/lakegate/internal/store/pgtest"
	"github.com/lakegate/lakegate/internal/storecopy"
)

func TestParseDSN(t *testing.T) {
	home, err := os.UserHomeDir()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in, driver         string
		wantDriver, want   string
		err                string
		mustNotQuoteSecret bool
	}{
		{in: "sqlite:///var/lib/lakegate/lakegate.db", wantDriver: "sqlite", want: "/var/lib/lakegate/lakegate.db"},
		{in: "sqlite://data/lakegate.db", wantDriver: "sqlite", want: "data/lakegate.db"},
		{in: "sqlite://~/x.db", wantDriver: "sqlite", want: filepath.Join(home, "x.db")},
		{in: "/tmp/lakegate.db", wantDriver: "sqlite", want: "/tmp/lakegate.db"},
		{in: "/tmp/lakegate.db", driver: "sqlite", wantDriver: "sqlite", want: "/tmp/lakegate.db"},
		{in: "postgres://lg:pw@127.0.0.1:5432/lakegate?sslmode=disable", wantDriver: "postgres", want: "postgres://lg:pw@127.0.0.1:5432/lakegate?sslmode=disable"},
		{in: "postgresql://lg@db/lakegate", wantDriver: "postgres", want: "postgresql://lg@db/lakegate"},
		{in: "host=db dbname=lakegate", driver: "postgres", wantDriver: "postgres", want: "host=db dbname=lakegate"},
		{in: "mysql://lg:p%40ss@db.example.com/lakegate?tls=true", wantDriver: "mysql", want: "lg:p@ss@tcp(db.example.com:3306)/lakegate?tls=true"},
		{in: "mysql://lg:pw@127.0.0.1:3307/lakegate", wantDriver: "mysql", want: "lg:pw@tcp(127.0.0.1:3307)/lakegate"},
		{in: "lg:pw@tcp(db:3306)/lakegate", wantDriver: "mysql", want: "lg:pw@tcp(db:3306)/lakegate"},
		{in: "lg:pw@tcp(db:3306)/lakegate", driver: "mysql", wantDriver: "mysql", want: "lg:pw@tcp(db:3306)/lakegate"},
		{in: "host=db password=hunter2", err: "cannot tell the driver", mustNotQuoteSecret: true},
		{in: "oracle://u:hunter2@db/x", err: `unknown scheme "oracle"`, mustNotQuoteSecret: true},
		{in: "x", driver: "oracle", err: `driver "oracle" is not one of sqlite, postgres, mysql`},
		{in: "", err: "no store given"},
		{in: "sqlite://", err: "no file path"},
		{in: "mysql://u:hunter2@/db", err: "no host", mustNotQuoteSecret: true},
	}
	for _, tt := range tests {
		t.Run(tt.in+" "+tt.driver, func(t *testing.T) {
			d, dsn, err := storecopy.ParseDSN(tt.in, tt.driver)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				if tt.mustNotQuoteSecret && strings.Contains(err.Error(), "hunter2") {
					t.Errorf("the error quotes the password: %v", err)
				}
				return
			}
			if err != nil || d != tt.wantDriver || dsn != tt.want {
				t.Errorf("= %q, %q, %v; want %q, %q", d, dsn, err, tt.wantDriver, tt.want)
			}
		})
	}
}

func keyFile(t *testing.T, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func keyLine(id string, b byte) string {
	return id + ":" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32))
}

// fill writes a small store through the encryption decorator.
func fill(t *testing.T, path, keys string) {
	t.Helper()
	ctx := t.Context()
	db, err := store.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, err := store.WithKeyFile(db, keys)
	if err != nil {
		t.Fatal(err)
	}
	err = s.UpdatePolicy(ctx, func(tx store.PolicyTx) error {
		return errors.Join(
			tx.CreateRole(ctx, "analyst_role"),
			tx.AddGrant(ctx, store.Grant{Role: "analyst_role", Privilege: "SELECT", ObjectKind: "URI", Object: "s3://lake/"}),
			tx.AddGrant(ctx, store.Grant{Role: "analyst_role", Privilege: "SELECT", ObjectKind: "TABLE", Object: "sales.orders",
				Options: "HAVING ATTRIBUTE IN (pii) TRANSFORM pii WITH mask()"}),
			tx.GrantRoleToGroup(ctx, "analyst_role", "analysts"),
			tx.PutUser(ctx, store.User{Name: "alice", Groups: []string{"analysts"}}),
			tx.CreateDatabase(ctx, store.Database{Name: "sales", Comment: "Verkäufe"}),
			tx.CreateTable(ctx, store.Table{Database: "sales", Name: "orders", Location: "s3://lake/orders", Format: "PARQUET",
				Columns: []store.Column{{Name: "id", Type: "bigint"},
					{Name: "tags", Type: "array<string>", Comment: "étiquettes", Attributes: []string{"pii", "pii.tags"}}},
				PartitionColumns: []store.Column{{Name: "year", Type: "int"}},
				Properties:       []store.Property{{Key: "z", Value: "1"}, {Key: "a", Value: "2"}}}),
			tx.AddPartition(ctx, "sales", "orders", store.Partition{Spec: "year=2025", Location: "s3://lake/orders/year=2025"}),
		)
	})
	if err != nil {
		t.Fatal(err)
	}
	session := store.AccessKey{AccessKeyID: "LGJDOE", SecretAccessKey: "jdoe-secret-0001", UserName: "jdoe",
		SessionToken: "jdoe-session-0002", ExpiresAt: time.Now().Add(time.Hour), SessionGroups: []string{"analysts"}}
	for _, k := range []store.AccessKey{{AccessKeyID: "LGALICE", SecretAccessKey: "alice-secret-0003", UserName: "alice"}, session} {
		if err := s.CreateAccessKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateToken(ctx, store.Token{Hash: "abcd", UserName: "alice"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EnsureSecret(ctx, "list-marker-seal-key", []byte("seal-key-0004")); err != nil {
		t.Fatal(err)
	}
}

// rawValues returns the stored secret columns of a SQLite store as is.
func rawValues(t *testing.T, path string) string {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var b strings.Builder
	for _, q := range []string{`SELECT secret_access_key || ' ' || session_token FROM access_keys`, `SELECT CAST(value AS TEXT) FROM secrets`} {
		rows, err := db.QueryContext(context.Background(), q)
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
		_ = rows.Close()
	}
	return b.String()
}

var plaintexts = []string{"jdoe-secret-0001", "jdoe-session-0002", "alice-secret-0003", "seal-key-0004"}

func TestCopySQLiteToSQLite(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src.db"), filepath.Join(dir, "dst.db")
	srcKeys, dstKeys := keyFile(t, keyLine("src", 1)), keyFile(t, keyLine("dst", 2))
	fill(t, src, srcKeys)

	// Without the source's key: refused, naming the flag.
	_, err := storecopy.Copy(ctx, storecopy.Options{From: storecopy.Endpoint{DSN: "sqlite://" + src}, To: storecopy.Endpoint{DSN: dst}})
	if !errors.Is(err, store.ErrDecrypt) || !strings.Contains(err.Error(), "--from-encryption-key-file") {
		t.Fatalf("copy without the source key: err = %v", err)
	}

	o := storecopy.Options{
		From: storecopy.Endpoint{DSN: "sqlite://" + src, KeyFile: srcKeys},
		To:   storecopy.Endpoint{DSN: "sqlite://" + dst, KeyFile: dstKeys},
	}
	r, err := storecopy.Copy(ctx, o)
	if err != nil {
		t.Fatalf("Copy: %v", err)
	}
	want := store.Counts{Roles: 1, Grants: 2, RoleGroups: 1, Users: 1, UserGroups: 1, AccessKeys: 2, SessionKeys: 1, Tokens: 1, Secrets: 1,
		Databases: 1, Tables: 1, Partitions: 1}
	if r.Source != want || r.Target != want || !r.Identical || r.TargetVersion < r.SourceVersion {
		t.Errorf("report %+v, want counts %+v on both sides", r, want)
	}
	var table bytes.Buffer
	if err := r.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"access keys", "  with session groups", "tables", "partitions", "policy version", "records: identical"} {
		if !strings.Contains(table.String(), line) {
			t.Errorf("table lacks %q:\n%s", line, table.String())
		}
	}
	if strings.Contains(table.String(), "MISMATCH") {
		t.Errorf("table:\n%s", table.String())
	}

	// The target is encrypted with its own key only.
	raw := rawValues(t, dst)
	for _, p := range plaintexts {
		if strings.Contains(raw, p) {
			t.Errorf("the target holds %q in plaintext", p)
		}
	}
	if n := strings.Count(raw, "lgenc1:dst:"); n != 4 {
		t.Errorf("%d values under key dst, want 4:\n%s", n, raw)
	}
	db, err := store.OpenSQLite(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	dstStore, err := store.WithKeyFile(db, dstKeys)
	if err != nil {
		t.Fatal(err)
	}
	// Grant options and column attributes came along.
	pol, err := dstStore.LoadPolicy(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(pol.Roles) != 1 || len(pol.Roles[0].Grants) != 2 ||
		pol.Roles[0].Grants[0].Options != "HAVING ATTRIBUTE IN (pii) TRANSFORM pii WITH mask()" {
		t.Errorf("copied grants lack their options: %+v", pol.Roles)
	}
	if len(pol.Tables) != 1 || !slices.Equal(pol.Tables[0].Columns[1].Attributes, []string{"pii", "pii.tags"}) {
		t.Errorf("copied columns lack their attributes: %+v", pol.Tables)
	}
	k, err := dstStore.GetAccessKey(ctx, "LGJDOE")
	if err != nil || k.SecretAccessKey != "jdoe-secret-0001" || k.SessionToken != "jdoe-session-0002" {
		t.Errorf("copied key = %+v, %v", k, err)
	}

	// A second copy into the now non-empty target is refused…
	if _, err := storecopy.Copy(ctx, o); !errors.Is(err, store.ErrNotEmpty) || !strings.Contains(err.Error(), "--force") {
		t.Errorf("copy into a non-empty target: err = %v", err)
	}
	// …unless told to replace it.
	o.Replace = true
	if r, err := storecopy.Copy(ctx, o); err != nil || !r.Identical {
		t.Errorf("copy with Replace: %+v, %v", r, err)
	}

	// Plaintext copy back (no target key): readable without a key.
	back := filepath.Join(dir, "back.db")
	if _, err := storecopy.Copy(ctx, storecopy.Options{From: o.To, To: storecopy.Endpoint{DSN: back}}); err != nil {
		t.Fatalf("copy back: %v", err)
	}
	if raw := rawValues(t, back); !strings.Contains(raw, "alice-secret-0003") || strings.Contains(raw, "lgenc1:") {
		t.Errorf("a plaintext target holds:\n%s", raw)
	}

	// The same store on both sides.
	if _, err := storecopy.Copy(ctx, storecopy.Options{From: storecopy.Endpoint{DSN: src}, To: storecopy.Endpoint{DSN: "sqlite://" + filepath.Join(dir, ".", "src.db")}}); err == nil || !strings.Contains(err.Error(), "same store") {
		t.Errorf("copy onto itself: err = %v", err)
	}
	// A missing source is not an empty one.
	_, err = storecopy.Copy(ctx, storecopy.Options{From: storecopy.Endpoint{DSN: filepath.Join(dir, "typo.db")}, To: storecopy.Endpoint{DSN: filepath.Join(dir, "t.db")}})
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing source: err = %v", err)
	}
	// A key file others can read is refused before anything is written.
	loose := keyFile(t, keyLine("k", 3))
	if err := os.Chmod(loose, 0o644); err != nil {
		t.Fatal(err)
	}
	fresh := filepath.Join(dir, "fresh.db")
	_, err = storecopy.Copy(ctx, storecopy.Options{From: o.From, To: storecopy.Endpoint{DSN: fresh, KeyFile: loose}})
	if err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a loose target key file: err = %v", err)
	}
	if _, err := os.Stat(fresh); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused copy created the target: %v", err)
	}
}

func TestReportMismatches(t *testing.T) {
	r := storecopy.Report{Source: store.Counts{Roles: 2, Tokens: 1}, Target: store.Counts{Roles: 2}, SourceVersion: 5, TargetVersion: 4, Identical: false}
	got := strings.Join(r.Mismatches(), "; ")
	if got != "tokens: source 1, target 0; policy version: source 5, target 4" {
		t.Errorf("Mismatches = %q", got)
	}
	var b bytes.Buffer
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "MISMATCH") || !strings.Contains(b.String(), "records: DIFFERENT") {
		t.Errorf("table:\n%s", b.String())
	}
	r = storecopy.Report{Identical: false}
	if got := r.Mismatches(); len(got) != 1 || !strings.Contains(got[0], "some records differ") {
		t.Errorf("equal counts, different records: %q", got)
	}
}

// mysqlURL turns go-sql-driver's user:pass@tcp(host:port)/db into the
// mysql:// form store copy also takes.
func mysqlURL(t *testing.T, dsn string) string {
	t.Helper()
	at := strings.LastIndex(dsn, "@tcp(")
	user, pass, _ := strings.Cut(dsn[:at], ":")
	host, db, ok := strings.Cut(dsn[at+len("@tcp("):], ")/")
	if !ok {
		t.Fatalf("unexpected MySQL DSN form")
	}
	u := url.URL{Scheme: "mysql", User: url.UserPassword(user, pass), Host: host, Path: "/" + db}
	return u.String()
}

// TestCopyAcrossDrivers: SQLite → PostgreSQL → MariaDB → SQLite, under a
// different key at each encrypted step, ends where it started.
func TestCopyAcrossDrivers(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	src, back := filepath.Join(dir, "src.db"), filepath.Join(dir, "back.db")
	k1, k2, k3 := keyFile(t, keyLine("k1", 1)), keyFile(t, keyLine("k2", 2)), keyFile(t, keyLine("k3", 3))
	fill(t, src, k1)
	pg, my := pgtest.Start(t), mysqltest.Start(t)
	steps := []struct {
		name     string
		from, to storecopy.Endpoint
	}{
		{"sqlite to postgres", storecopy.Endpoint{DSN: src, KeyFile: k1}, storecopy.Endpoint{DSN: pg.DSN, KeyFile: k2}},
		{"postgres to mysql", storecopy.Endpoint{DSN: pg.DSN, KeyFile: k2}, storecopy.Endpoint{DSN: mysqlURL(t, my.DSN), KeyFile: k3}},
		{"mysql to sqlite", storecopy.Endpoint{DSN: my.DSN, KeyFile: k3}, storecopy.Endpoint{DSN: "sqlite://" + back}},
	}
	for _, step := range steps {
		r, err := storecopy.Copy(ctx, storecopy.Options{From: step.from, To: step.to})
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if !r.Identical || r.Source.AccessKeys != 2 || r.Source.Secrets != 1 || r.Source.Partitions != 1 || r.Target != r.Source {
			t.Errorf("%s: report %+v", step.name, r)
		}
		if strings.Contains(r.From+r.To, "@") && !strings.Contains(r.From+r.To, "xxxxx") {
			t.Errorf("%s: the report names a store with its password: %s, %s", step.name, r.From, r.To)
		}
	}
	if rows, err := my.Exec(mysqltest.Database, "SELECT secret_access_key FROM access_keys"); err != nil || strings.Contains(rows, "jdoe-secret-0001") || !strings.Contains(rows, "lgenc1:k3:") {
		t.Errorf("MariaDB's access_keys rows (%v):\n%s", err, rows)
	}
	export := func(path, keys string) store.Snapshot {
		db, err := store.OpenSQLite(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		s, err := store.WithKeyFile(db, keys)
		if err != nil {
			t.Fatal(err)
		}
		snap, err := s.Export(ctx)
		if err != nil {
			t.Fatal(err)
		}
		snap.Policy.Version = 0
		return snap
	}
	a, b := export(src, k1), export(back, "")
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Errorf("after the round trip:\n%s\nwant\n%s", jb, ja)
	}
}
