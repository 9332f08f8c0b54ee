package flightsql

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/apache/arrow-adbc/go/adbc"
	adbcflightsql "github.com/apache/arrow-adbc/go/adbc/driver/flightsql"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// The ADBC Flight SQL driver in pure Go (arrow-adbc v1.8.0; the Go
// module's v1.13.0 no longer holds the driver package) against the
// listener: a password login through the Flight handshake, a query,
// GetObjects limited to what the user may see.

func adbcConn(t *testing.T, addr string, opts map[string]string) (adbc.Connection, error) {
	t.Helper()
	o := map[string]string{adbc.OptionKeyURI: "grpc+tcp://" + addr}
	for k, v := range opts {
		o[k] = v
	}
	db, err := adbcflightsql.NewDriver(memory.DefaultAllocator).NewDatabase(o)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { _ = db.Close() })
	c, err := db.Open(t.Context())
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { _ = c.Close() })
	return c, nil
}

func adbcQuery(ctx context.Context, t *testing.T, c adbc.Connection, sql string) ([]string, error) {
	t.Helper()
	st, err := c.NewStatement()
	if err != nil {
		return nil, err
	}
	defer func() { _ = st.Close() }()
	if err := st.SetSqlQuery(sql); err != nil {
		return nil, err
	}
	rr, _, err := st.ExecuteQuery(ctx)
	if err != nil {
		return nil, err
	}
	defer rr.Release()
	var users []string
	for rr.Next() {
		rb := rr.RecordBatch()
		for i := range int(rb.NumRows()) {
			users = append(users, rb.Column(0).(*array.String).Value(i))
		}
	}
	return users, rr.Err()
}

func TestADBCDriver(t *testing.T) {
	e := start(t, nil)
	addr := e.addr
	ctx := t.Context()

	c, err := adbcConn(t, addr, map[string]string{adbc.OptionKeyUsername: "carol", adbc.OptionKeyPassword: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	users, err := adbcQuery(ctx, t, c, "SELECT * FROM sales.orders")
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 6 || users[0] != "carol" {
		t.Errorf("rows for %q", users)
	}
	last := e.q.calls[len(e.q.calls)-1]
	if last.p.User != "carol" || !slices.Equal(last.p.Groups, []string{"analysts"}) {
		t.Errorf("the query ran as %+v", last.p)
	}

	// GetObjects: databases and tables carol may see, nothing else.
	rr, err := c.GetObjects(ctx, adbc.ObjectDepthTables, nil, nil, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rr.Next() {
		rb := rr.RecordBatch()
		schemas := rb.Column(1).(*array.List)
		dbs := schemas.ListValues().(*array.Struct)
		for i := range dbs.Len() {
			name := dbs.Field(0).(*array.String).Value(i)
			tl := dbs.Field(1).(*array.List)
			start, end := tl.ValueOffsets(i)
			tables := tl.ListValues().(*array.Struct)
			for j := start; j < end; j++ {
				got = append(got, name+"."+tables.Field(0).(*array.String).Value(int(j)))
			}
		}
	}
	if err := rr.Err(); err != nil {
		t.Fatal(err)
	}
	rr.Release()
	if !slices.Equal(got, []string{"sales.orders"}) {
		t.Errorf("GetObjects: %q, want [sales.orders]", got)
	}

	// A wrong password is refused at the handshake.
	_, err = adbcConn(t, addr, map[string]string{adbc.OptionKeyUsername: "carol", adbc.OptionKeyPassword: "nope"})
	var ae adbc.Error
	if !errors.As(err, &ae) || ae.Code != adbc.StatusUnauthenticated {
		t.Errorf("wrong password: %v", err)
	}

	// A bearer token as the authorization header.
	c, err = adbcConn(t, addr, map[string]string{adbcflightsql.OptionAuthorizationHeader: "Bearer " + e.fx.Token(t, "bob")})
	if err != nil {
		t.Fatal(err)
	}
	if users, err := adbcQuery(ctx, t, c, "SELECT 1"); err != nil || len(users) != 6 || users[0] != "bob" {
		t.Errorf("bearer: %q, %v", users, err)
	}
}
