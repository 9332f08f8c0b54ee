// Package dataplane joins lakegate's policy to its scan engine: it runs a
// user's SQL (or a plain table scan) with every table it names secured by
// the user's effective policy (authz.EffectivePolicy turned into a
// scan.TablePolicy), and audits each scan. The REST scan API, Arrow Flight
// SQL and `lakegate query` all go through a Service.
//
// The DuckDB engine itself needs the duckdb_arrow build tag (see package
// scan); without it NewEngine returns ErrNoEngine and the rest of the
// package still builds, so that callers compile either way.
package dataplane

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/lakegate/lakegate/internal/audit"
	"github.com/lakegate/lakegate/internal/authz"
	"github.com/lakegate/lakegate/internal/grants"
	"github.com/lakegate/lakegate/internal/scan"
	"github.com/lakegate/lakegate/internal/store"
)

// Values of the audit event of a scan.
const (
	OperationQuery = "Query"
	OperationScan  = "Scan"
)

// ErrNoEngine is NewEngine in a build without the duckdb_arrow tag.
var ErrNoEngine = errors.New("dataplane: this lakegate was built without the scan engine (build with -tags duckdb_arrow)")

// Resolver returns a table a query names and the caller's policy on it
// (see scan.ResolveFunc).
type Resolver func(ctx context.Context, db, table string) (store.Table, scan.TablePolicy, error)

// Rows is a running query's records (a *scan.Result). Close must be
// called.
type Rows interface {
	Schema() *arrow.Schema
	Next() bool
	RecordBatch() arrow.RecordBatch
	Err() error
	RowsReturned() int64
	Truncated() bool
	Close() error
}

// Engine runs one read-only statement over tables secured through
// resolve. *scan.Engine does, through NewEngine. Errors are scan's typed
// errors (RefusedError, LimitError, QueryError) or resolve's, wrapped.
type Engine interface {
	Query(ctx context.Context, sql string, resolve Resolver) (Rows, error)
}

// Policy gives a principal's effective policy on a table: *authz.Engine.
type Policy interface {
	EffectivePolicy(p authz.Principal, db, table string) (authz.Effective, error)
}

// Auditor records events: *audit.Broker. Decide must return an error when
// the event was not recorded; the scan is then refused.
type Auditor interface {
	Decide(ctx context.Context, ev *audit.Event) error
	Complete(ev *audit.Event)
}

// SecretStore is the store's EnsureSecret.
type SecretStore interface {
	EnsureSecret(ctx context.Context, name string, value []byte) ([]byte, error)
}

// TokenizeKeyName names the store secret keying the tokenize mask.
const TokenizeKeyName = "scan_tokenize_key"

// TokenizeKey returns the key of the tokenize mask, shared by every
// process using st: 32 random bytes stored on first use.
func TokenizeKey(ctx context.Context, st SecretStore) ([]byte, error) {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	v, err := st.EnsureSecret(ctx, TokenizeKeyName, k)
	if err != nil {
		return nil, fmt.Errorf("dataplane: tokenize key: %w", err)
	}
	if len(v) < 16 {
		return nil, fmt.Errorf("dataplane: stored tokenize key is %d bytes, want at least 16", len(v))
	}
	return v, nil
}

// Options build a Service; Policy, Engine and Audit are required.
type Options struct {
	Policy Policy
	Engine Engine
	Audit  Auditor
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Service runs users' scans. It is safe for concurrent use.
type Service struct {
	pol   Policy
	eng   Engine
	audit Auditor
	log   *slog.Logger
	now   func() time.Time
}

// New checks o and returns a Service.
func New(o Options) (*Service, error) {
	if o.Policy == nil || o.Engine == nil || o.Audit == nil {
		return nil, errors.New("dataplane: Options.Policy, Engine and Audit are required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Service{pol: o.Policy, eng: o.Engine, audit: o.Audit, log: o.Logger, now: o.Now}, nil
}

// Result is a running scan: the engine's records, audited when closed.
// Close must be called; it records the rows returned.
type Result struct {
	// Columns are the result's column names.
	Columns []string
	// Tables are the tables the query read, "db.table".
	Tables []string
	// Policy is the effective policy applied to each table, as audited.
	Policy string

	rows  Rows
	ev    *audit.Event
	svc   *Service
	start time.Time
	once  sync.Once
}

// Schema is the result's Arrow schema.
func (r *Result) Schema() *arrow.Schema { return r.rows.Schema() }

// Next advances to the next record batch; false at the end or on error
// (see Err).
func (r *Result) Next() bool { return r.rows.Next() }

// RecordBatch is the current batch, valid until the next call to Next.
func (r *Result) RecordBatch() arrow.RecordBatch { return r.rows.RecordBatch() }

// Err is the error that stopped Next, nil at a clean end.
func (r *Result) Err() error { return r.rows.Err() }

// RowsReturned counts the rows delivered so far.
func (r *Result) RowsReturned() int64 { return r.rows.RowsReturned() }

// Truncated reports whether the result stopped at the row limit.
func (r *Result) Truncated() bool { return r.rows.Truncated() }

// Close releases the query and records its completion (rows returned,
// truncation, duration, error) in the audit log.
func (r *Result) Close() error {
	err := r.rows.Close()
	r.once.Do(func() {
		r.ev.Rows = r.rows.RowsReturned()
		r.ev.RowsTruncated = r.rows.Truncated()
		r.ev.DurationMS = float64(r.svc.now().Sub(r.start).Microseconds()) / 1000
		if e := r.rows.Err(); e != nil {
			r.ev.Status = statusOf(e)
			r.ev.Reason += "; failed: " + publicError(e)
		}
		r.svc.audit.Complete(r.ev)
	})
	return err
}

// Query runs p's statement sql (one read-only SELECT naming tables as
// db.table), each table secured by p's effective policy. The event of the
// request in ctx (audit.NewContext), when there is one, gives the
// client's address, authentication method and user agent to the scan's
// audit event. Errors: authz.ErrInvalid (a table p may not see),
// authz.ErrForbidden (no SELECT), scan's RefusedError, LimitError,
// QueryError, and store.ErrUnavailable, wrapped.
func (s *Service) Query(ctx context.Context, p authz.Principal, sql string) (*Result, error) {
	return s.run(ctx, p, OperationQuery, sql)
}

// Scan reads columns (every visible column when none) of db.table, at
// most limit rows (limit ≤ 0: the engine's row limit), as Query does.
func (s *Service) Scan(ctx context.Context, p authz.Principal, db, table string, columns []string, limit int) (*Result, error) {
	return s.run(ctx, p, OperationScan, ScanSQL(db, table, columns, limit))
}

// ScanSQL is the statement Scan runs: SELECT cols FROM db.table LIMIT n,
// every name quoted.
func ScanSQL(db, table string, columns []string, limit int) string {
	var b strings.Builder
	b.WriteString("SELECT ")
	if len(columns) == 0 {
		b.WriteString("*")
	}
	for i, c := range columns {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(scan.QuoteIdent(c))
	}
	b.WriteString(" FROM " + scan.QuoteIdent(strings.ToLower(db)) + "." + scan.QuoteIdent(strings.ToLower(table)))
	if limit > 0 {
		b.WriteString(" LIMIT " + strconv.Itoa(limit))
	}
	return b.String()
}

// Explain describes p's effective policy on db.table in words, with the
// SQL the scan engine applies.
func (s *Service) Explain(p authz.Principal, db, table string) (string, error) {
	f, err := s.pol.EffectivePolicy(p, db, table)
	if err != nil {
		return "", err
	}
	tp, err := SecuredPolicy(p, f)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(f.Explanation)
	b.WriteString("secured relation:\n")
	for _, c := range tp.Columns {
		b.WriteString("  " + scan.QuoteIdent(c.Name) + " = " + c.Expr + "\n")
	}
	if tp.Filter != "" {
		b.WriteString("  WHERE " + tp.Filter + "\n")
	}
	return b.String(), nil
}

func (s *Service) run(ctx context.Context, p authz.Principal, op, sql string) (*Result, error) {
	start := s.now()
	ev := &audit.Event{Source: audit.SourceScan, User: p.User, Groups: p.Groups, Operation: op,
		Privilege: "SELECT", Query: sql}
	if req := audit.FromContext(ctx); req != nil {
		ev.ClientIP, ev.AuthMethod, ev.UserAgent = req.ClientIP, req.AuthMethod, req.UserAgent
	}
	var (
		mu       sync.Mutex
		policies []string
	)
	resolve := func(_ context.Context, db, table string) (store.Table, scan.TablePolicy, error) {
		f, err := s.pol.EffectivePolicy(p, db, table)
		if err != nil {
			return store.Table{}, scan.TablePolicy{}, err
		}
		tp, err := SecuredPolicy(p, f)
		if err != nil {
			return store.Table{}, scan.TablePolicy{}, err
		}
		mu.Lock()
		defer mu.Unlock()
		ev.Tables = append(ev.Tables, f.Database+"."+f.Table)
		policies = append(policies, f.Database+"."+f.Table+": "+Summary(f))
		return f.Record, tp, nil
	}
	rows, err := s.eng.Query(ctx, sql, resolve)
	mu.Lock()
	ev.Policy = strings.Join(policies, "; ")
	mu.Unlock()
	ev.DurationMS = float64(s.now().Sub(start).Microseconds()) / 1000
	if err != nil {
		ev.Decision, ev.Status, ev.Reason = audit.DecisionDeny, statusOf(err), publicError(err)
		if ev.Status >= 500 || ev.Status == 408 || ev.Status == 413 {
			ev.Decision = audit.DecisionError
		}
		s.audit.Complete(ev)
		return nil, err
	}
	ev.Decision, ev.Status = audit.DecisionAllow, 200
	ev.Reason = "effective policy applied"
	for _, f := range rows.Schema().Fields() {
		ev.Columns = append(ev.Columns, f.Name)
	}
	if err := s.audit.Decide(ctx, ev); err != nil {
		rows.Close()
		s.log.Error("dataplane: scan refused: the audit record was not written", "user", p.User, "err", err)
		return nil, fmt.Errorf("%w: the audit record could not be written", store.ErrUnavailable)
	}
	return &Result{Columns: ev.Columns, Tables: ev.Tables, Policy: ev.Policy, rows: rows, ev: ev, svc: s, start: start}, nil
}

// statusOf is the HTTP status that err means, for the audit record and
// the REST API.
func statusOf(err error) int {
	switch {
	case errors.Is(err, store.ErrUnavailable):
		return 503
	case errors.Is(err, authz.ErrInvalid):
		return 404
	case errors.Is(err, authz.ErrForbidden):
		return 403
	case errors.Is(err, scan.ErrRefused), errors.Is(err, scan.ErrQuery), errors.Is(err, scan.ErrUnsupported):
		return 400
	case errors.Is(err, scan.ErrLimit):
		var le *scan.LimitError
		if errors.As(err, &le) && le.Limit == "timeout" {
			return 408
		}
		return 413
	case errors.Is(err, context.Canceled):
		return 499
	case errors.Is(err, context.DeadlineExceeded):
		return 408
	}
	return 500
}

// Status is the HTTP status of a Service error: 404 a table the user may
// not see, 403 no SELECT, 400 a refused or failed statement, 413 a size
// limit, 408 the time limit, 503 the store or audit unavailable, 500
// anything else.
func Status(err error) int { return statusOf(err) }

// publicError is err's text for the user and the audit log: the typed
// errors say what happened; anything else is internal.
func publicError(err error) string {
	if statusOf(err) == 500 {
		return "internal error"
	}
	return err.Error()
}

// PublicError is the text of a Service error fit for the caller: the
// reason of a refusal, never internal detail.
func PublicError(err error) string { return publicError(err) }

// SecuredPolicy turns f into the scan engine's TablePolicy for p:
// filters rendered with p's user and groups, masks with scan.MaskExpr,
// each column's value a CASE over the grants that show it.
func SecuredPolicy(p authz.Principal, f authz.Effective) (scan.TablePolicy, error) {
	// RenderSQL quotes the names the resolver gives.
	names := map[string]string{}
	for _, c := range f.Record.Columns {
		names[strings.ToLower(c.Name)] = c.Name
	}
	for _, c := range f.Record.PartitionColumns {
		names[strings.ToLower(c.Name)] = c.Name
	}
	member, fold := p.MemberOf()
	env := grants.SQLEnv{User: p.User, Groups: member, FoldGroups: fold, Column: func(n string) (string, bool) {
		s, ok := names[strings.ToLower(n)]
		return s, ok
	}}
	render := func(x grants.Expr) (string, error) {
		s, err := grants.RenderSQL(x, env)
		if err != nil {
			return "", fmt.Errorf("dataplane: row filter %s: %w", x, err)
		}
		return s, nil
	}
	orOf := func(xs []grants.Expr) (string, error) {
		parts := make([]string, len(xs))
		for i, x := range xs {
			s, err := render(x)
			if err != nil {
				return "", err
			}
			parts[i] = s
		}
		if len(parts) == 1 {
			return parts[0], nil
		}
		return "(" + strings.Join(parts, " OR ") + ")", nil
	}
	var tp scan.TablePolicy
	if !f.AllRows {
		if len(f.Filters) == 0 {
			return scan.TablePolicy{}, fmt.Errorf("%w: table %s.%s: no row is visible", authz.ErrForbidden, f.Database, f.Table)
		}
		s, err := orOf(f.Filters)
		if err != nil {
			return scan.TablePolicy{}, err
		}
		tp.Filter = s
	}
	for _, c := range f.Columns {
		c = implied(c, f)
		expr, err := columnExpr(c, orOf, render)
		if err != nil {
			return scan.TablePolicy{}, fmt.Errorf("table %s.%s: %w", f.Database, f.Table, err)
		}
		tp.Columns = append(tp.Columns, scan.SecuredColumn{Name: c.Name, Expr: expr})
	}
	return tp, nil
}

// implied simplifies c knowing that only rows of f's row filter are
// seen: a column shown unmasked (or masked one way) under exactly the row
// filter is shown so on every visible row.
func implied(c authz.EffectiveColumn, f authz.Effective) authz.EffectiveColumn {
	if f.AllRows || c.Unmasked {
		return c
	}
	rows := exprs(f.Filters)
	switch {
	case len(c.Masks) == 0 && exprs(c.Raw) == rows:
		return authz.EffectiveColumn{Name: c.Name, Type: c.Type, Unmasked: true}
	case len(c.Raw) == 0 && len(c.Masks) == 1 && c.Masks[0].When != nil && c.Masks[0].When.String() == rows:
		return authz.EffectiveColumn{Name: c.Name, Type: c.Type,
			Masks: []authz.EffectiveMask{{Transform: c.Masks[0].Transform}}}
	}
	return c
}

// columnExpr is the value of column c: the raw column, a mask, or a CASE
// over the grants showing it.
func columnExpr(c authz.EffectiveColumn, orOf func([]grants.Expr) (string, error), render func(grants.Expr) (string, error)) (string, error) {
	raw := scan.QuoteIdent(c.Name)
	if c.Unmasked {
		return raw, nil
	}
	masks := make([]string, len(c.Masks))
	varchar := false
	for i, m := range c.Masks {
		s, err := scan.MaskExpr(m.Transform.Func, m.Transform.Args, c.Name, c.Type)
		if err != nil {
			return "", err
		}
		masks[i] = s
		switch strings.ToLower(m.Transform.Func) {
		case grants.TransformNull, grants.TransformZero, grants.TransformRoundDate:
		default:
			varchar = true
		}
	}
	if len(c.Raw) == 0 && len(c.Masks) == 1 && c.Masks[0].When == nil {
		return masks[0], nil
	}
	// Branches of one CASE must share a type: masks that give text make
	// the raw value text too.
	if varchar && !isText(c.Type) {
		raw = "CAST(" + raw + " AS VARCHAR)"
	}
	var b strings.Builder
	b.WriteString("CASE")
	if len(c.Raw) > 0 {
		cond, err := orOf(c.Raw)
		if err != nil {
			return "", err
		}
		b.WriteString(" WHEN " + cond + " THEN " + raw)
	}
	always := false
	for i, m := range c.Masks {
		if m.When == nil {
			b.WriteString(" ELSE " + masks[i])
			always = true
			break
		}
		cond, err := render(m.When)
		if err != nil {
			return "", err
		}
		b.WriteString(" WHEN " + cond + " THEN " + masks[i])
	}
	if !always {
		b.WriteString(" ELSE NULL")
	}
	b.WriteString(" END")
	return b.String(), nil
}

// isText reports whether a Hive type is a string type.
func isText(hiveType string) bool {
	t, err := grants.ParseType(hiveType)
	if err != nil {
		return false
	}
	return t.Kind == grants.TypeString || t.Kind == grants.TypeVarchar || t.Kind == grants.TypeChar
}

// Summary is f's policy in one line, for the audit log: "rows where …;
// ssn masked with mask_last(4); hidden salary", "full" when nothing
// restricts it.
func Summary(f authz.Effective) string {
	if f.Full() {
		return "full"
	}
	var parts []string
	if !f.AllRows {
		fs := make([]string, len(f.Filters))
		for i, x := range f.Filters {
			fs[i] = x.String()
		}
		parts = append(parts, "rows where "+strings.Join(fs, " OR "))
	}
	visible := map[string]bool{}
	for _, c := range f.Columns {
		visible[c.Name] = true
		c = implied(c, f)
		if c.Unmasked {
			continue
		}
		var ms []string
		if len(c.Raw) > 0 {
			ms = append(ms, "raw where "+exprs(c.Raw))
		}
		for _, m := range c.Masks {
			_, fn, _ := strings.Cut(m.Transform.String(), " WITH ")
			if m.When != nil {
				fn += " where " + m.When.String()
			}
			ms = append(ms, fn)
		}
		parts = append(parts, c.Name+" masked ("+strings.Join(ms, ", ")+")")
	}
	var hidden []string
	for _, c := range append(append([]store.Column(nil), f.Record.Columns...), f.Record.PartitionColumns...) {
		if !visible[c.Name] {
			hidden = append(hidden, c.Name)
		}
	}
	if len(hidden) > 0 {
		parts = append(parts, "hidden "+strings.Join(hidden, ", "))
	}
	return strings.Join(parts, "; ")
}

func exprs(xs []grants.Expr) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = x.String()
	}
	return strings.Join(s, " OR ")
}
