package e2e

import (
	"context"
	"encoding/base64"
	"errors"
	"slices"
	"testing"

	"github.com/apache/arrow-adbc/go/adbc"
	adbcflightsql "github.com/apache/arrow-adbc/go/adbc/driver/flightsql"
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
)

// Arrow Flight SQL (sql.addr) against a real lakegate over MinIO, with the
// scan world's PII table written through the proxy: the arrow-go Flight
// SQL client and the ADBC Flight SQL driver get, for each user, exactly
// the rows and values the user's policy shows, and the catalog calls list
// only the tables the user may see.

// batchRecords appends the rows of a record reader's batches as records
// (column name → value, dates as YYYY-MM-DD, NULL as nil).
func batchRecords(out []map[string]any, rr interface {
	Next() bool
	RecordBatch() arrow.RecordBatch
}) []map[string]any {
	for rr.Next() {
		rec := rr.RecordBatch()
		for i := range int(rec.NumRows()) {
			row := map[string]any{}
			for j, col := range rec.Columns() {
				name := rec.ColumnName(j)
				if col.IsNull(i) {
					row[name] = nil
					continue
				}
				v := col.GetOneForMarshal(i)
				if d, ok := v.(arrow.Date32); ok {
					v = d.FormattedString()
				}
				row[name] = normalize(v)
			}
			out = append(out, row)
		}
	}
	return out
}

// flightQuery runs sql with the Go Flight SQL client and reads every
// endpoint.
func flightQuery(ctx context.Context, c *flightsql.Client, sql string) ([]map[string]any, error) {
	info, err := c.Execute(ctx, sql)
	if err != nil {
		return nil, err
	}
	return flightRead(ctx, c, info)
}

func flightRead(ctx context.Context, c *flightsql.Client, info *flight.FlightInfo) ([]map[string]any, error) {
	out := []map[string]any{}
	for _, ep := range info.Endpoint {
		rd, err := c.DoGet(ctx, ep.Ticket)
		if err != nil {
			return nil, err
		}
		out = batchRecords(out, rd)
		err = rd.Err()
		rd.Release()
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

func flightClient(t *testing.T, lg *lakegateServer) *flightsql.Client {
	t.Helper()
	c, err := flightsql.NewClient(lg.SQLAddr, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func withBearer(ctx context.Context, token string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}

func TestFlightSQLGoClient(t *testing.T) {
	w := newScanWorld(t)
	c := flightClient(t, w.st.LG)
	ctx := t.Context()

	if _, err := flightQuery(ctx, c, "SELECT * FROM "+scanTable); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("without credentials: %v, want Unauthenticated", err)
	}
	if _, err := flightQuery(withBearer(ctx, "lgt_forged"), c, "SELECT 1"); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("with a forged token: %v, want Unauthenticated", err)
	}

	for _, name := range []string{"analyst", "eu", "cols", "both"} {
		u := w.users[name]
		t.Run(name, func(t *testing.T) {
			uctx := withBearer(ctx, u.token)
			for _, table := range []string{scanTable, scanCSVTable} {
				got, err := flightQuery(uctx, c, "SELECT * FROM "+table)
				if err != nil {
					t.Fatalf("SELECT * FROM %s: %v", table, err)
				}
				if want := u.expectRows(nil, 0); !anyOrder(got, want) {
					t.Errorf("SELECT * FROM %s:\n%s\nwant\n%s", table, showRecords(got), showRecords(want))
				}
			}
			// Catalog metadata: the tables the user may see, never
			// hr.secret, on which nobody but the admin holds a grant.
			info, err := c.GetTables(uctx, &flightsql.GetTablesOpts{IncludeSchema: true})
			if err != nil {
				t.Fatal(err)
			}
			rows, err := flightRead(uctx, c, info)
			if err != nil {
				t.Fatal(err)
			}
			var tables []string
			for _, r := range rows {
				name := r["db_schema_name"].(string) + "." + r["table_name"].(string)
				tables = append(tables, name)
				if name != scanTable {
					continue
				}
				// The schema is the user's SELECT *: a column list
				// hides the other columns' names too.
				sc, err := flight.DeserializeSchema(r["table_schema"].([]byte), memory.DefaultAllocator)
				if err != nil {
					t.Fatal(err)
				}
				var cols []string
				for _, f := range sc.Fields() {
					cols = append(cols, f.Name)
				}
				if !slices.Equal(cols, u.cols) {
					t.Errorf("GetTables schema of %s: %q, want %q", name, cols, u.cols)
				}
			}
			if want := []string{"hr.people", "hr.people_csv", "hr.regions"}; !slices.Equal(tables, want) {
				t.Errorf("GetTables: %q, want %q", tables, want)
			}
		})
	}

	// The policy applies to what the user's SQL filters on: the eu user's
	// ssn is masked before the WHERE clause sees it.
	eu := w.users["eu"]
	got, err := flightQuery(withBearer(ctx, eu.token), c, "SELECT id FROM "+scanTable+" WHERE ssn = '"+piiRows[0].SSN+"'")
	if err != nil || len(got) != 0 {
		t.Errorf("eu filtering on a raw ssn: %s, %v; want no rows", showRecords(got), err)
	}
	// A table the user may not see is not found, whatever the client.
	if _, err := flightQuery(withBearer(ctx, eu.token), c, "SELECT * FROM hr.secret"); err == nil {
		t.Error("eu read hr.secret")
	}

	// Basic with the user name and the token, through the handshake as
	// JDBC and ADBC do it.
	hctx, err := c.Client.AuthenticateBasicToken(ctx, "cols", w.users["cols"].token)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := flightQuery(hctx, c, "SELECT * FROM "+scanTable); err != nil || !anyOrder(got, w.users["cols"].expectRows(nil, 0)) {
		t.Errorf("cols through the handshake: %s, %v", showRecords(got), err)
	}
	// Basic as call metadata, with another user's token: refused.
	bad := metadata.AppendToOutgoingContext(ctx, "authorization",
		"Basic "+base64.StdEncoding.EncodeToString([]byte("analyst:"+eu.token)))
	if _, err := flightQuery(bad, c, "SELECT 1"); status.Code(err) != codes.Unauthenticated {
		t.Errorf("Basic with another user's token: %v, want Unauthenticated", err)
	}
}

func TestFlightSQLADBC(t *testing.T) {
	w := newScanWorld(t)
	ctx := t.Context()
	for _, name := range []string{"eu", "cols"} {
		u := w.users[name]
		t.Run(name, func(t *testing.T) {
			db, err := adbcflightsql.NewDriver(memory.DefaultAllocator).NewDatabase(map[string]string{
				adbc.OptionKeyURI:                       "grpc+tcp://" + w.st.LG.SQLAddr,
				adbcflightsql.OptionAuthorizationHeader: "Bearer " + u.token,
			})
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = db.Close() }()
			cn, err := db.Open(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = cn.Close() }()
			st, err := cn.NewStatement()
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = st.Close() }()
			if err := st.SetSqlQuery("SELECT * FROM " + scanTable); err != nil {
				t.Fatal(err)
			}
			rr, _, err := st.ExecuteQuery(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got := batchRecords([]map[string]any{}, rr)
			err = rr.Err()
			rr.Release()
			if err != nil {
				t.Fatal(err)
			}
			if want := u.expectRows(nil, 0); !anyOrder(got, want) {
				t.Errorf("ADBC SELECT *:\n%s\nwant\n%s", showRecords(got), showRecords(want))
			}
			// GetObjects lists the user's databases and tables only.
			objs, err := cn.GetObjects(ctx, adbc.ObjectDepthTables, nil, nil, nil, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			var tables []string
			for objs.Next() {
				rb := objs.RecordBatch()
				dbs := rb.Column(1).(*array.List).ListValues().(*array.Struct)
				for i := range dbs.Len() {
					tl := dbs.Field(1).(*array.List)
					start, end := tl.ValueOffsets(i)
					names := tl.ListValues().(*array.Struct).Field(0).(*array.String)
					for j := start; j < end; j++ {
						tables = append(tables, dbs.Field(0).(*array.String).Value(i)+"."+names.Value(int(j)))
					}
				}
			}
			objs.Release()
			if want := []string{"hr.people", "hr.people_csv", "hr.regions"}; !slices.Equal(tables, want) {
				t.Errorf("GetObjects: %q, want %q", tables, want)
			}
		})
	}
	// A wrong password is refused at the handshake.
	db, err := adbcflightsql.NewDriver(memory.DefaultAllocator).NewDatabase(map[string]string{
		adbc.OptionKeyURI: "grpc+tcp://" + w.st.LG.SQLAddr, adbc.OptionKeyUsername: "eu", adbc.OptionKeyPassword: "not-a-password",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	cn, err := db.Open(ctx)
	var ae adbc.Error
	if err == nil {
		_ = cn.Close()
	}
	if !errors.As(err, &ae) || ae.Code != adbc.StatusUnauthenticated {
		t.Errorf("a wrong password: %v, want Unauthenticated", err)
	}
}
