package flightsql

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/lakegate/lakegate/internal/audit"
	"github.com/lakegate/lakegate/internal/authz"
	"github.com/lakegate/lakegate/internal/authz/authztest"
	"github.com/lakegate/lakegate/internal/identity"
	"github.com/lakegate/lakegate/internal/scan"
)

const policyScript = `
CREATE DATABASE sales;
CREATE DATABASE hr;
CREATE EXTERNAL TABLE sales.orders (id bigint, region string, amount decimal(10,2), tags array<string>)
  PARTITIONED BY (day date) STORED AS PARQUET LOCATION 's3://lake/sales/orders';
CREATE EXTERNAL TABLE sales.refunds (id bigint) STORED AS PARQUET LOCATION 's3://lake/sales/refunds';
CREATE EXTERNAL TABLE hr.salaries (name string, salary double) STORED AS PARQUET LOCATION 's3://lake/hr/salaries';
CREATE ROLE analyst;
GRANT ROLE analyst TO GROUP analysts;
GRANT SELECT ON TABLE sales.orders TO ROLE analyst;
CREATE ROLE cols_r;
GRANT ROLE cols_r TO GROUP cols;
GRANT SELECT (id, region) ON TABLE sales.orders TO ROLE cols_r;
CREATE ROLE payroll;
GRANT ROLE payroll TO GROUP payroll;
GRANT SELECT ON DATABASE hr TO ROLE payroll;
`

// fakeQueryer answers with the principal's user and groups and the SQL,
// in two batches, or with the error its SQL names.
type fakeQueryer struct {
	mu    sync.Mutex
	calls []fakeCall
	last  *sliceRecords // the records of the last query
}

type fakeCall struct {
	p   authz.Principal
	sql string
	ev  *audit.Event // the request's audit event in the query's context
}

var fakeSchema = arrow.NewSchema([]arrow.Field{
	{Name: "user", Type: arrow.BinaryTypes.String},
	{Name: "n", Type: arrow.PrimitiveTypes.Int64},
}, nil)

func (f *fakeQueryer) Query(ctx context.Context, p authz.Principal, sql string) (Records, error) {
	f.mu.Lock()
	f.calls = append(f.calls, fakeCall{p, sql, audit.FromContext(ctx)})
	f.mu.Unlock()
	switch sql {
	case "refused":
		return nil, &scan.RefusedError{Reason: "COPY is not a SELECT"}
	case "limit":
		return nil, &scan.LimitError{Limit: "rows", Max: "10"}
	case "missing":
		return nil, fmt.Errorf("%w: table x.y does not exist", authz.ErrInvalid)
	case "internal":
		return nil, errors.New("disk on fire at /secret/path")
	}
	// "big": 64 batches of 1 MiB, more than a client that does not read
	// lets the server send.
	nb, user := 2, p.User
	if sql == "big" {
		nb, user = 64, strings.Repeat("x", 1<<20/3)
	}
	var batches []arrow.RecordBatch
	for b := range nb {
		rb := array.NewRecordBuilder(memory.DefaultAllocator, fakeSchema)
		for i := range 3 {
			rb.Field(0).(*array.StringBuilder).Append(user)
			rb.Field(1).(*array.Int64Builder).Append(int64(b*3 + i))
		}
		batches = append(batches, rb.NewRecordBatch())
		rb.Release()
	}
	r := &sliceRecords{batches: batches, failAtEnd: sql == "fail late"}
	f.mu.Lock()
	f.last = r
	f.mu.Unlock()
	return r, nil
}

type sliceRecords struct {
	batches   []arrow.RecordBatch
	i         int
	failAtEnd bool
	err       error
	closed    atomic.Bool
}

func (r *sliceRecords) Schema() *arrow.Schema { return fakeSchema }
func (r *sliceRecords) Next() bool {
	if r.i >= len(r.batches) {
		if r.failAtEnd {
			r.err = &scan.LimitError{Limit: "bytes", Max: "1"}
		}
		return false
	}
	r.i++
	return true
}
func (r *sliceRecords) RecordBatch() arrow.RecordBatch { return r.batches[r.i-1] }
func (r *sliceRecords) Err() error                     { return r.err }
func (r *sliceRecords) Close() error {
	for _, b := range r.batches {
		b.Release()
	}
	r.closed.Store(true)
	return nil
}

// passwords accepts carol/pw (an LDAP user) only.
type passwords struct{}

func (passwords) AuthenticatePassword(_ context.Context, user, pw string) (identity.Identity, error) {
	if user == "carol" && pw == "pw" {
		return identity.Identity{User: "carol", Method: "ldap"}, nil
	}
	return identity.Identity{}, fmt.Errorf("%w: wrong password", identity.ErrUnauthenticated)
}

// groups resolves carol, from LDAP, into analysts.
type groups struct{}

func (groups) Resolve(_ context.Context, id identity.Identity) (identity.Groups, error) {
	if id.User == "carol" {
		return identity.Groups{Names: []string{"analysts"}, Source: identity.SourceLDAP}, nil
	}
	if id.Session != nil {
		return *id.Session, nil
	}
	return identity.Groups{Names: id.Groups}, nil
}

type env struct {
	fx     *authztest.Fixture
	q      *fakeQueryer
	srv    *Server
	client *flightsql.Client
	addr   string
}

func start(t *testing.T, edit func(*Options)) *env {
	t.Helper()
	fx := authztest.New(t, authztest.Options{Script: policyScript, Users: map[string][]string{
		"alice": {"analysts"}, "bob": {"payroll"}, "eve": {"nobody"}, "dave": {"cols"},
	}})
	q := &fakeQueryer{}
	o := Options{Engine: fx.Engine, Tokens: fx.Tokens, Passwords: passwords{}, Groups: groups{},
		Queryer: q, TicketKey: []byte(strings.Repeat("k", 32)), Version: "test"}
	if edit != nil {
		edit(&o)
	}
	srv, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Stop(ctx)
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	c, err := flightsql.NewClient(l.Addr().String(), nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &env{fx: fx, q: q, srv: srv, client: c, addr: l.Addr().String()}
}

func bearer(ctx context.Context, tok string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
}

func basic(ctx context.Context, user, secret string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization",
		"Basic "+base64.StdEncoding.EncodeToString([]byte(user+":"+secret)))
}

// readAll reads every batch of info's endpoints into rows of strings.
func readAll(ctx context.Context, t *testing.T, c *flightsql.Client, info *flight.FlightInfo) ([][]string, error) {
	t.Helper()
	var rows [][]string
	for _, ep := range info.Endpoint {
		rd, err := c.DoGet(ctx, ep.Ticket)
		if err != nil {
			return nil, err
		}
		for rd.Next() {
			rb := rd.RecordBatch()
			for r := range int(rb.NumRows()) {
				var row []string
				for col := range int(rb.NumCols()) {
					row = append(row, rb.Column(col).ValueStr(r))
				}
				rows = append(rows, row)
			}
		}
		err = rd.Err()
		rd.Release()
		if err != nil {
			return rows, err
		}
	}
	return rows, nil
}

func schemas(ctx context.Context, t *testing.T, c *flightsql.Client, opts *flightsql.GetDBSchemasOpts) ([]string, error) {
	t.Helper()
	info, err := c.GetDBSchemas(ctx, opts)
	if err != nil {
		return nil, err
	}
	rows, err := readAll(ctx, t, c, info)
	var names []string
	for _, r := range rows {
		names = append(names, r[1])
	}
	return names, err
}

func code(err error) codes.Code { return status.Code(err) }

func TestAuthentication(t *testing.T) {
	e := start(t, nil)
	ctx := t.Context()
	alice := e.fx.Token(t, "alice")
	for _, tc := range []struct {
		name string
		ctx  context.Context
		want codes.Code
		dbs  []string
	}{
		{"no credentials", ctx, codes.Unauthenticated, nil},
		{"bad bearer", bearer(ctx, "lgt_notatoken"), codes.Unauthenticated, nil},
		{"bearer that is no lakegate token nor JWT", bearer(ctx, "eyJhbGciOi.x.y"), codes.Unauthenticated, nil},
		{"empty bearer", metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "), codes.Unauthenticated, nil},
		{"unknown scheme", metadata.AppendToOutgoingContext(ctx, "authorization", "Negotiate abc"), codes.Unauthenticated, nil},
		{"two authorization values", metadata.AppendToOutgoingContext(bearer(ctx, alice), "authorization", "Bearer "+alice), codes.Unauthenticated, nil},
		{"bearer token", bearer(ctx, alice), codes.OK, []string{"sales"}},
		{"basic with the user's token", basic(ctx, "alice", alice), codes.OK, []string{"sales"}},
		{"basic with another user's token", basic(ctx, "bob", alice), codes.Unauthenticated, nil},
		{"basic with a password", basic(ctx, "carol", "pw"), codes.OK, []string{"sales"}},
		{"basic with a wrong password", basic(ctx, "carol", "nope"), codes.Unauthenticated, nil},
		{"basic without a colon", metadata.AppendToOutgoingContext(ctx, "authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("carol"))), codes.Unauthenticated, nil},
		{"basic not base64", metadata.AppendToOutgoingContext(ctx, "authorization", "Basic !!!"), codes.Unauthenticated, nil},
		{"basic unpadded (arrow-go's encoding)", metadata.AppendToOutgoingContext(ctx, "authorization", "Basic "+base64.RawStdEncoding.EncodeToString([]byte("carol:pw"))), codes.OK, []string{"sales"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dbs, err := schemas(tc.ctx, t, e.client, nil)
			if code(err) != tc.want {
				t.Fatalf("GetDBSchemas: %v, want code %v", err, tc.want)
			}
			if tc.want == codes.Unauthenticated {
				if msg := status.Convert(err).Message(); msg != "unauthenticated" {
					t.Errorf("refusal says %q: it must give no detail", msg)
				}
				return
			}
			if !slices.Equal(dbs, tc.dbs) {
				t.Errorf("databases %q, want %q", dbs, tc.dbs)
			}
		})
	}
	// Every call is authenticated, DoGet too: a ticket alone is nothing.
	info, err := e.client.Execute(bearer(ctx, alice), "SELECT 1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := readAll(ctx, t, e.client, info); code(err) != codes.Unauthenticated {
		t.Fatalf("DoGet without credentials: %v, want Unauthenticated", err)
	}
}

func TestRequiredGroup(t *testing.T) {
	e := start(t, nil)
	fx := authztest.New(t, authztest.Options{Script: policyScript, RequiredGroup: "staff",
		Users: map[string][]string{"alice": {"analysts"}}})
	srv, err := New(Options{Engine: fx.Engine, Tokens: fx.Tokens, TicketKey: e.srv.o.TicketKey})
	if err != nil {
		t.Fatal(err)
	}
	_, err = srv.authorize(metadata.NewIncomingContext(t.Context(), metadata.Pairs("authorization", "Bearer "+fx.Token(t, "alice"))), "/x")
	if code(err) != codes.PermissionDenied {
		t.Fatalf("a user outside the required group: %v, want PermissionDenied", err)
	}
}

func TestHandshake(t *testing.T) {
	e := start(t, nil)
	ctx := t.Context()
	// The password is checked once; later calls carry a lakegate token.
	authed, err := e.client.Client.AuthenticateBasicToken(ctx, "carol", "pw")
	if err != nil {
		t.Fatal(err)
	}
	md, _ := metadata.FromOutgoingContext(authed)
	got := md.Get("authorization")
	if len(got) != 1 || !strings.HasPrefix(got[0], "Bearer lgt_") {
		t.Fatalf("handshake answered authorization %q, want a lakegate bearer token", got)
	}
	if dbs, err := schemas(authed, t, e.client, nil); err != nil || !slices.Equal(dbs, []string{"sales"}) {
		t.Fatalf("with the handshake's token: %q, %v", dbs, err)
	}
	// The issued token carries carol's session groups.
	id, err := e.fx.Tokens.AuthenticateSession(ctx, strings.TrimPrefix(got[0], "Bearer "))
	if err != nil || id.User != "carol" || id.Session == nil || !slices.Equal(id.Session.Names, []string{"analysts"}) {
		t.Fatalf("issued token: %+v, %v", id, err)
	}
	if _, err := e.client.Client.AuthenticateBasicToken(ctx, "carol", "wrong"); code(err) != codes.Unauthenticated {
		t.Fatalf("handshake with a wrong password: %v", err)
	}
	// A bearer handshake answers with the same token.
	alice := e.fx.Token(t, "alice")
	stream, err := e.client.Client.Handshake(bearer(ctx, alice))
	if err != nil {
		t.Fatal(err)
	}
	_ = stream.CloseSend()
	h, err := stream.Header()
	if err != nil || !slices.Equal(h.Get("authorization"), []string{"Bearer " + alice}) {
		t.Fatalf("bearer handshake header %q, %v", h.Get("authorization"), err)
	}
}

func TestCatalogVisibility(t *testing.T) {
	e := start(t, nil)
	ctx := t.Context()
	tables := func(ctx context.Context, opts *flightsql.GetTablesOpts) []string {
		t.Helper()
		info, err := e.client.GetTables(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := readAll(ctx, t, e.client, info)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range rows {
			out = append(out, r[1]+"."+r[2]+":"+r[3])
		}
		return out
	}
	str := func(s string) *string { return &s }
	for _, tc := range []struct {
		name   string
		user   string
		opts   *flightsql.GetTablesOpts
		dbs    []string
		tables []string
	}{
		{"table grant shows its table and database", "alice", &flightsql.GetTablesOpts{}, []string{"sales"}, []string{"sales.orders:TABLE"}},
		{"database grant shows its tables", "bob", &flightsql.GetTablesOpts{}, []string{"hr"}, []string{"hr.salaries:TABLE"}},
		{"no grant shows nothing", "eve", &flightsql.GetTablesOpts{}, nil, nil},
		{"admin sees all", "admin", &flightsql.GetTablesOpts{}, []string{"hr", "sales"}, []string{"hr.salaries:TABLE", "sales.orders:TABLE", "sales.refunds:TABLE"}},
		{"table pattern", "admin", &flightsql.GetTablesOpts{TableNameFilterPattern: str("re%")}, nil, []string{"sales.refunds:TABLE"}},
		{"schema pattern", "admin", &flightsql.GetTablesOpts{DbSchemaFilterPattern: str("h_")}, nil, []string{"hr.salaries:TABLE"}},
		{"a hidden table does not match a pattern", "alice", &flightsql.GetTablesOpts{TableNameFilterPattern: str("%")}, nil, []string{"sales.orders:TABLE"}},
		{"a catalog lakegate does not have", "admin", &flightsql.GetTablesOpts{Catalog: str("other")}, nil, nil},
		{"other table types", "admin", &flightsql.GetTablesOpts{TableTypes: []string{"VIEW"}}, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			uctx := bearer(ctx, e.fx.Token(t, tc.user))
			if tc.opts.TableNameFilterPattern == nil && tc.opts.DbSchemaFilterPattern == nil && tc.opts.Catalog == nil && tc.opts.TableTypes == nil {
				dbs, err := schemas(uctx, t, e.client, nil)
				if err != nil || !slices.Equal(dbs, tc.dbs) {
					t.Errorf("schemas %q, %v; want %q", dbs, err, tc.dbs)
				}
			}
			if got := tables(uctx, tc.opts); !slices.Equal(got, tc.tables) {
				t.Errorf("tables %q, want %q", got, tc.tables)
			}
		})
	}
	// No catalogs: databases are schemas.
	uctx := bearer(ctx, e.fx.Token(t, "admin"))
	info, err := e.client.GetCatalogs(uctx)
	if err != nil {
		t.Fatal(err)
	}
	if rows, err := readAll(uctx, t, e.client, info); err != nil || len(rows) != 0 {
		t.Errorf("catalogs %q, %v", rows, err)
	}
}

func TestTablesIncludeSchema(t *testing.T) {
	e := start(t, nil)
	for _, tc := range []struct {
		user string
		want []string
	}{
		{"alice", []string{"id int64", "region utf8", "amount decimal(10, 2)", "tags list<item: utf8, nullable>", "day date32"}},
		// A column list shows only its columns.
		{"dave", []string{"id int64", "region utf8"}},
	} {
		t.Run(tc.user, func(t *testing.T) {
			if got := includedSchema(t, e, tc.user); !slices.Equal(got, tc.want) {
				t.Errorf("schema %q, want %q", got, tc.want)
			}
		})
	}
}

// includedSchema is the schema GetTables includes for user's one table,
// as "name type" (and checks the column metadata).
func includedSchema(t *testing.T, e *env, user string) []string {
	t.Helper()
	ctx := bearer(t.Context(), e.fx.Token(t, user))
	info, err := e.client.GetTables(ctx, &flightsql.GetTablesOpts{IncludeSchema: true})
	if err != nil {
		t.Fatal(err)
	}
	rd, err := e.client.DoGet(ctx, info.Endpoint[0].Ticket)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Release()
	if !rd.Next() {
		t.Fatal(rd.Err())
	}
	rb := rd.RecordBatch()
	if rb.NumRows() != 1 {
		t.Fatalf("%d tables", rb.NumRows())
	}
	sc, err := flight.DeserializeSchema(rb.Column(4).(*array.Binary).Value(0), memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range sc.Fields() {
		got = append(got, f.Name+" "+f.Type.String())
		if md := f.Metadata; md.FindKey(flightsql.TableNameKey) < 0 || md.Values()[md.FindKey(flightsql.TableNameKey)] != "orders" {
			t.Errorf("column %s metadata %v", f.Name, md)
		}
	}
	return got
}

func TestQueryStreams(t *testing.T) {
	e := start(t, nil)
	ctx := bearer(t.Context(), e.fx.Token(t, "alice"))
	info, err := e.client.Execute(ctx, "SELECT * FROM sales.orders")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := readAll(ctx, t, e.client, info)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 6 || rows[0][0] != "alice" || rows[5][1] != "5" {
		t.Errorf("rows %q", rows)
	}
	if len(e.q.calls) != 1 {
		t.Fatalf("%d queries", len(e.q.calls))
	}
	c := e.q.calls[0]
	if c.sql != "SELECT * FROM sales.orders" || c.p.User != "alice" || !slices.Equal(c.p.Groups, []string{"analysts"}) {
		t.Errorf("query ran as %+v with %q", c.p, c.sql)
	}
	// The scan's audit record says where the call came from and how its
	// caller authenticated, as a REST scan's does.
	if c.ev == nil || c.ev.ClientIP != "127.0.0.1" || c.ev.AuthMethod != "token" || !strings.Contains(c.ev.UserAgent, "grpc-go") {
		t.Errorf("audit context of the query: %+v", c.ev)
	}

	// Prepared statements run the same way.
	prep, err := e.client.Prepare(ctx, "SELECT 2")
	if err != nil {
		t.Fatal(err)
	}
	info, err = prep.Execute(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rows, err := readAll(ctx, t, e.client, info); err != nil || len(rows) != 6 {
		t.Errorf("prepared: %d rows, %v", len(rows), err)
	}
	if err := prep.Close(ctx); err != nil {
		t.Errorf("close: %v", err)
	}
	if got := e.q.calls[len(e.q.calls)-1]; got.sql != "SELECT 2" || got.p.User != "alice" {
		t.Errorf("prepared query ran as %+v with %q", got.p, got.sql)
	}
	// Writes are not implemented.
	if _, err := e.client.ExecuteUpdate(ctx, "DELETE FROM sales.orders"); code(err) != codes.Unimplemented {
		t.Errorf("ExecuteUpdate: %v", err)
	}
}

func TestQueryErrors(t *testing.T) {
	for _, tc := range []struct {
		sql  string
		want codes.Code
		text string
	}{
		{"refused", codes.InvalidArgument, "COPY is not a SELECT"},
		{"limit", codes.ResourceExhausted, "rows"},
		{"missing", codes.NotFound, "table x.y does not exist"},
		{"internal", codes.Internal, "internal error"},
		{"fail late", codes.ResourceExhausted, "bytes"},
		{"  ", codes.InvalidArgument, "empty"},
	} {
		t.Run(tc.sql, func(t *testing.T) {
			e := start(t, nil)
			ctx := bearer(t.Context(), e.fx.Token(t, "alice"))
			info, err := e.client.Execute(ctx, tc.sql)
			if err == nil {
				_, err = readAll(ctx, t, e.client, info)
			}
			if code(err) != tc.want || !strings.Contains(status.Convert(err).Message(), tc.text) {
				t.Fatalf("%v, want %v with %q", err, tc.want, tc.text)
			}
			if strings.Contains(err.Error(), "/secret/path") {
				t.Errorf("an internal error leaks: %v", err)
			}
		})
	}
	t.Run("no data plane", func(t *testing.T) {
		e := start(t, func(o *Options) { o.Queryer = nil })
		ctx := bearer(t.Context(), e.fx.Token(t, "alice"))
		info, err := e.client.Execute(ctx, "SELECT 1")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := readAll(ctx, t, e.client, info); code(err) != codes.Unavailable {
			t.Fatalf("%v, want Unavailable", err)
		}
	})
	t.Run("statement too long", func(t *testing.T) {
		e := start(t, func(o *Options) { o.MaxSQLBytes = 10 })
		ctx := bearer(t.Context(), e.fx.Token(t, "alice"))
		if _, err := e.client.Execute(ctx, "SELECT 12345678"); code(err) != codes.ResourceExhausted {
			t.Fatalf("%v, want ResourceExhausted", err)
		}
	})
}

func TestForgedTicket(t *testing.T) {
	e := start(t, nil)
	ctx := t.Context()
	alice := bearer(ctx, e.fx.Token(t, "alice"))
	bob := bearer(ctx, e.fx.Token(t, "bob"))
	info, err := e.client.Execute(alice, "SELECT * FROM sales.orders")
	if err != nil {
		t.Fatal(err)
	}
	handle := func(tk []byte) []byte {
		q, err := flightsql.GetStatementQueryTicket(&flight.Ticket{Ticket: tk})
		if err != nil {
			t.Fatal(err)
		}
		return q.GetStatementHandle()
	}
	orig := handle(info.Endpoint[0].Ticket.Ticket)
	ticketOf := func(h []byte) *flight.FlightInfo {
		tk, err := flightsql.CreateStatementQueryTicket(h)
		if err != nil {
			t.Fatal(err)
		}
		return &flight.FlightInfo{Endpoint: []*flight.FlightEndpoint{{Ticket: &flight.Ticket{Ticket: tk}}}}
	}
	// The SQL swapped for another, the MAC kept.
	swapped := slices.Clone(orig)
	i := strings.Index(string(swapped), "sales.orders")
	copy(swapped[i:], "hr.salaries!")
	// A handle sealed with another key.
	other := ticketSealer{key: []byte(strings.Repeat("x", 32)), ttl: time.Minute, now: time.Now}
	otherKey, _ := other.seal("alice", "SELECT * FROM hr.salaries")
	for _, tc := range []struct {
		name   string
		ctx    context.Context
		handle []byte
	}{
		{"another user's ticket", bob, orig},
		{"SQL changed", alice, swapped},
		{"another key", alice, otherKey},
		{"truncated", alice, orig[:len(orig)-1]},
		{"empty", alice, nil},
		{"raw SQL", alice, []byte("SELECT * FROM hr.salaries")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := len(e.q.calls)
			if _, err := readAll(tc.ctx, t, e.client, ticketOf(tc.handle)); code(err) != codes.InvalidArgument {
				t.Fatalf("%v, want InvalidArgument", err)
			}
			if len(e.q.calls) != n {
				t.Errorf("a forged ticket ran a query")
			}
		})
	}
	// The same ticket works for its user.
	if _, err := readAll(alice, t, e.client, ticketOf(orig)); err != nil {
		t.Fatal(err)
	}
}

func TestTicketSealer(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	s := ticketSealer{key: []byte(strings.Repeat("k", 32)), ttl: time.Minute, now: func() time.Time { return now }}
	h, err := s.seal("alice", "SELECT 1")
	if err != nil {
		t.Fatal(err)
	}
	if sql, err := s.open(h, "alice"); err != nil || sql != "SELECT 1" {
		t.Fatalf("open: %q, %v", sql, err)
	}
	for _, tc := range []struct {
		name string
		at   time.Time
		user string
	}{
		{"expired", now.Add(time.Minute), "alice"},
		{"other user", now, "alic"},
		{"user prefix", now, "alicee"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s2 := s
			s2.now = func() time.Time { return tc.at }
			if _, err := s2.open(h, tc.user); !errors.Is(err, errTicket) {
				t.Fatalf("open: %v, want errTicket", err)
			}
		})
	}
}

func TestSqlInfo(t *testing.T) {
	e := start(t, nil)
	ctx := bearer(t.Context(), e.fx.Token(t, "eve"))
	info, err := e.client.GetSqlInfo(ctx, []flightsql.SqlInfo{flightsql.SqlInfoFlightSqlServerName, flightsql.SqlInfoFlightSqlServerReadOnly})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := readAll(ctx, t, e.client, info)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(rows)
	if !strings.Contains(got, "lakegate") || !strings.Contains(got, "true") {
		t.Errorf("sql info %s", got)
	}
}

func TestNewRefuses(t *testing.T) {
	fx := authztest.New(t, authztest.Options{})
	for name, o := range map[string]Options{
		"no engine":        {Tokens: fx.Tokens, TicketKey: make([]byte, 32)},
		"no tokens":        {Engine: fx.Engine, TicketKey: make([]byte, 32)},
		"short ticket key": {Engine: fx.Engine, Tokens: fx.Tokens, TicketKey: make([]byte, 31)},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
}

// TestStalledClient: a client that asks for results and never reads them
// holds the query (its database, memory and spill files) no longer than
// QueryTimeout.
func TestStalledClient(t *testing.T) {
	e := start(t, func(o *Options) { o.QueryTimeout = 300 * time.Millisecond })
	ctx := bearer(t.Context(), e.fx.Token(t, "alice"))
	info, err := e.client.Execute(ctx, "big")
	if err != nil {
		t.Fatal(err)
	}
	rd, err := e.client.Client.DoGet(ctx, info.Endpoint[0].Ticket)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rd.CloseSend() }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		e.q.mu.Lock()
		r := e.q.last
		e.q.mu.Unlock()
		if r != nil && r.closed.Load() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the query of a client that does not read is still open after 5s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Reading again, the client gets what was sent and then an error,
	// not a stream that looks complete.
	rr, err := flight.NewRecordReader(rd)
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	n := 0
	for rr.Next() {
		n++
	}
	if code := status.Code(rr.Err()); code != codes.DeadlineExceeded || n >= 64 {
		t.Errorf("after %d of 64 batches: %v, want DeadlineExceeded", n, rr.Err())
	}
}
