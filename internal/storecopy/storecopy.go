// Package storecopy copies one policy store into another, e.g. quickstart's
// SQLite into PostgreSQL (lakegate store copy): it reads the source in one
// transaction, decrypting its secrets with the source's key file, writes the
// target in one transaction, encrypting them with the target's, and then
// reads the target back and compares it with the source, kind by kind.
package storecopy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/lakegate/lakegate/internal/store"
)

// Endpoint is one side of a copy.
type Endpoint struct {
	// DSN is sqlite://<path> or a file path (SQLite), postgres:// or
	// postgresql:// (PostgreSQL), mysql://user:pass@host:port/db (MySQL);
	// with Driver set, the driver's own DSN, passed on unchanged.
	DSN string
	// Driver is empty (inferred from DSN) or one of store.Drivers.
	Driver string
	// KeyFile is the store's encryption key file; "" means its secrets
	// are plaintext (a source holding encrypted ones then fails).
	KeyFile string
}

// Options configure Copy.
type Options struct {
	From, To Endpoint
	// Replace lets Copy replace the content of a target that holds data;
	// otherwise such a target is refused (store.ErrNotEmpty).
	Replace bool
}

// Report is what Copy found when it compared the target with the source.
type Report struct {
	// From and To name the stores, passwords redacted.
	From, To                     string
	Source, Target               store.Counts
	SourceVersion, TargetVersion int64
	// Identical says the target's records equal the source's (secrets
	// compared decrypted), besides the counts.
	Identical bool
}

// ErrMismatch means the target read back differs from the source.
var ErrMismatch = errors.New("storecopy: the target differs from the source")

// Copy copies o.From into o.To. When the target read back differs from the
// source it returns the report and an error wrapping ErrMismatch. Errors
// never quote a password or a secret.
func Copy(ctx context.Context, o Options) (Report, error) {
	fromDriver, fromDSN, err := ParseDSN(o.From.DSN, o.From.Driver)
	if err != nil {
		return Report{}, fmt.Errorf("--from: %w", err)
	}
	toDriver, toDSN, err := ParseDSN(o.To.DSN, o.To.Driver)
	if err != nil {
		return Report{}, fmt.Errorf("--to: %w", err)
	}
	if sameStore(fromDriver, fromDSN, toDriver, toDSN) {
		return Report{}, errors.New("--from and --to name the same store")
	}
	if fromDriver == "sqlite" {
		// Opening creates a missing file: a mistyped path would copy an
		// empty store.
		if _, err := os.Stat(fromDSN); err != nil {
			return Report{}, fmt.Errorf("source: %w", err)
		}
	}
	// Key files first: a bad one fails before any database is touched.
	src, err := open(ctx, fromDriver, fromDSN, o.From.KeyFile)
	if err != nil {
		return Report{}, fmt.Errorf("source: %w", err)
	}
	defer src.Close()
	dst, err := open(ctx, toDriver, toDSN, o.To.KeyFile)
	if err != nil {
		return Report{}, fmt.Errorf("target: %w", err)
	}
	defer dst.Close()

	snap, err := src.Export(ctx)
	if errors.Is(err, store.ErrDecrypt) && src.Keyring() == nil {
		return Report{}, fmt.Errorf("source: %w (give --from-encryption-key-file)", err)
	}
	if err != nil {
		return Report{}, fmt.Errorf("source: %w", err)
	}
	err = dst.Import(ctx, snap, store.ImportOptions{Replace: o.Replace})
	if errors.Is(err, store.ErrNotEmpty) {
		return Report{}, fmt.Errorf("target: %w; --force replaces its content", err)
	}
	if err != nil {
		return Report{}, fmt.Errorf("target: %w", err)
	}
	got, err := dst.Export(ctx)
	if err != nil {
		return Report{}, fmt.Errorf("target: read back: %w", err)
	}
	r := Report{
		From: store.RedactDSN(fromDriver, fromDSN), To: store.RedactDSN(toDriver, toDSN),
		Source: snap.Counts(), Target: got.Counts(),
		SourceVersion: snap.Policy.Version, TargetVersion: got.Policy.Version,
		Identical: sameContent(snap, got),
	}
	if m := r.Mismatches(); len(m) > 0 {
		return r, fmt.Errorf("%w: %s", ErrMismatch, strings.Join(m, "; "))
	}
	return r, nil
}

func open(ctx context.Context, driver, dsn, keyFile string) (*store.Encrypted, error) {
	var keys *store.Keyring // nil: plaintext (store.Encrypted)
	if keyFile != "" {      // read before opening: a refused key file changes nothing
		var err error
		if keys, err = store.LoadKeyring(keyFile); err != nil {
			return nil, err
		}
	}
	db, err := store.Open(ctx, driver, dsn)
	if err != nil {
		return nil, err
	}
	return store.NewEncrypted(db, keys), nil
}

// sameContent compares two snapshots record by record, the policy version
// aside.
func sameContent(a, b store.Snapshot) bool {
	a.Policy.Version, b.Policy.Version = 0, 0
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(ja) == string(jb)
}

// row is one line of the report's table.
type row struct {
	kind           string
	source, target int64
}

func (r Report) rows() []row {
	s, t := r.Source, r.Target
	return []row{
		{"roles", int64(s.Roles), int64(t.Roles)},
		{"grants", int64(s.Grants), int64(t.Grants)},
		{"role group links", int64(s.RoleGroups), int64(t.RoleGroups)},
		{"users", int64(s.Users), int64(t.Users)},
		{"user groups", int64(s.UserGroups), int64(t.UserGroups)},
		{"databases", int64(s.Databases), int64(t.Databases)},
		{"tables", int64(s.Tables), int64(t.Tables)},
		{"partitions", int64(s.Partitions), int64(t.Partitions)},
		{"access keys", int64(s.AccessKeys), int64(t.AccessKeys)},
		{"  with session groups", int64(s.SessionKeys), int64(t.SessionKeys)},
		{"tokens", int64(s.Tokens), int64(t.Tokens)},
		{"  with session groups", int64(s.SessionTokens), int64(t.SessionTokens)},
		{"secrets", int64(s.Secrets), int64(t.Secrets)},
	}
}

// Mismatches lists what differs: counts, records, a target version below
// the source's.
func (r Report) Mismatches() []string {
	var out []string
	for _, row := range r.rows() {
		if row.source != row.target {
			out = append(out, fmt.Sprintf("%s: source %d, target %d", strings.TrimSpace(row.kind), row.source, row.target))
		}
	}
	if r.TargetVersion < r.SourceVersion {
		out = append(out, fmt.Sprintf("policy version: source %d, target %d", r.SourceVersion, r.TargetVersion))
	}
	if len(out) == 0 && !r.Identical {
		out = append(out, "the counts match but some records differ")
	}
	return out
}

// WriteTable prints the counts of each kind on both sides.
func (r Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tSOURCE\tTARGET")
	for _, row := range append(r.rows(), row{"policy version", r.SourceVersion, r.TargetVersion}) {
		mark := ""
		if row.source != row.target && row.kind != "policy version" {
			mark = "MISMATCH"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", row.kind, row.source, row.target, mark)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	verdict := "records: identical"
	if !r.Identical {
		verdict = "records: DIFFERENT"
	}
	_, err := fmt.Fprintln(w, verdict)
	return err
}

// ParseDSN returns the driver and the driver's DSN for a --from or --to
// value (see Endpoint). Errors quote the value with its password redacted.
func ParseDSN(dsn, driver string) (string, string, error) {
	if dsn == "" {
		return "", "", errors.New("no store given")
	}
	if driver != "" {
		switch driver {
		case "sqlite":
			return sqlitePath(strings.TrimPrefix(dsn, "sqlite://"))
		case "postgres", "mysql":
			return driver, dsn, nil
		}
		return "", "", fmt.Errorf("driver %q is not one of %s", driver, strings.Join(store.Drivers, ", "))
	}
	scheme, rest, hasScheme := strings.Cut(dsn, "://")
	switch {
	case hasScheme && scheme == "sqlite":
		return sqlitePath(rest)
	case hasScheme && (scheme == "postgres" || scheme == "postgresql"):
		return "postgres", dsn, nil
	case hasScheme && scheme == "mysql":
		d, err := mysqlDSN(dsn)
		return "mysql", d, err
	case hasScheme:
		return "", "", fmt.Errorf("%s: unknown scheme %q (sqlite, postgres, postgresql, mysql)", store.RedactDSN("", dsn), scheme)
	case strings.Contains(dsn, "@tcp(") || strings.Contains(dsn, "@unix("):
		return "mysql", dsn, nil
	case strings.Contains(dsn, "="):
		// A key=value DSN may hold a password anywhere: not quoted.
		return "", "", errors.New("cannot tell the driver of a key=value DSN; give --from-driver or --to-driver")
	}
	return sqlitePath(dsn)
}

func sqlitePath(p string) (string, string, error) {
	if p == "" {
		return "", "", errors.New("sqlite: no file path")
	}
	if p == "~" || strings.HasPrefix(p, "~/") {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", "", err
		}
		p = filepath.Join(home, strings.TrimPrefix(p, "~"))
	}
	return "sqlite", p, nil
}

// mysqlDSN turns mysql://user:pass@host[:port]/db?params into
// go-sql-driver's user:pass@tcp(host:port)/db?params.
func mysqlDSN(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("%s: not a URL", store.RedactDSN("", raw))
	}
	host := u.Host
	if host == "" {
		return "", fmt.Errorf("%s: no host", store.RedactDSN("", raw))
	}
	if u.Port() == "" {
		host += ":3306"
	}
	var b strings.Builder
	if u.User != nil {
		b.WriteString(u.User.Username())
		if p, ok := u.User.Password(); ok {
			b.WriteString(":" + p)
		}
		b.WriteString("@")
	}
	b.WriteString("tcp(" + host + ")/" + strings.TrimPrefix(u.Path, "/"))
	if u.RawQuery != "" {
		b.WriteString("?" + u.RawQuery)
	}
	return b.String(), nil
}

// sameStore reports whether both sides name one store.
func sameStore(d1, dsn1, d2, dsn2 string) bool {
	if d1 != d2 {
		return false
	}
	if d1 != "sqlite" {
		return dsn1 == dsn2
	}
	return canonicalPath(dsn1) == canonicalPath(dsn2)
}

func canonicalPath(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	if real, err := filepath.EvalSymlinks(p); err == nil {
		p = real
	}
	return p
}
