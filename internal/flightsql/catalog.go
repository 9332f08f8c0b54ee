package flightsql

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql/schema_ref"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lakegate/lakegate/internal/authz"
	"github.com/lakegate/lakegate/internal/grants"
	"github.com/lakegate/lakegate/internal/store"
)

// lakegate has one namespace level, the database: Flight SQL sees it as
// the DB schema, with no catalog (catalog_name null), as DuckDB's
// "db"."table" names it in a query.

// tableType is the one table type: external tables over the lake.
const tableType = "TABLE"

// commandInfo answers GetFlightInfo for a metadata command: the ticket is
// the command itself, run (as the caller) at DoGet.
func commandInfo(desc *flight.FlightDescriptor, sc *arrow.Schema) *flight.FlightInfo {
	return &flight.FlightInfo{
		FlightDescriptor: desc,
		Endpoint:         []*flight.FlightEndpoint{{Ticket: &flight.Ticket{Ticket: desc.Cmd}}},
		TotalRecords:     -1,
		TotalBytes:       -1,
		Schema:           flight.SerializeSchema(sc, memory.DefaultAllocator),
	}
}

// batch streams one record batch built by fill.
func batch(sc *arrow.Schema, fill func(b *array.RecordBuilder) error) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	if err := fill(b); err != nil {
		return nil, nil, err
	}
	ch := make(chan flight.StreamChunk, 1)
	ch <- flight.StreamChunk{Data: b.NewRecordBatch()}
	close(ch)
	return sc, ch, nil
}

// GetFlightInfoCatalogs: see DoGetCatalogs.
func (s *Server) GetFlightInfoCatalogs(_ context.Context, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return commandInfo(desc, schema_ref.Catalogs), nil
}

// DoGetCatalogs answers no catalogs: databases are DB schemas.
func (s *Server) DoGetCatalogs(context.Context) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	return batch(schema_ref.Catalogs, func(*array.RecordBuilder) error { return nil })
}

// GetFlightInfoTableTypes: see DoGetTableTypes.
func (s *Server) GetFlightInfoTableTypes(_ context.Context, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return commandInfo(desc, schema_ref.TableTypes), nil
}

// DoGetTableTypes answers the one table type, TABLE.
func (s *Server) DoGetTableTypes(context.Context) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	return batch(schema_ref.TableTypes, func(b *array.RecordBuilder) error {
		b.Field(0).(*array.StringBuilder).Append(tableType)
		return nil
	})
}

// GetFlightInfoSchemas: see DoGetDBSchemas.
func (s *Server) GetFlightInfoSchemas(_ context.Context, _ flightsql.GetDBSchemas, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return commandInfo(desc, schema_ref.DBSchemas), nil
}

// noCatalog reports whether a catalog filter leaves nothing: any catalog
// but none ("") names one lakegate does not have.
func noCatalog(catalog *string) bool { return catalog != nil && *catalog != "" }

// visibleDatabases are the databases the caller may see whose name
// matches pattern (nil: all).
func (s *Server) visibleDatabases(ctx context.Context, catalog, pattern *string) ([]store.Database, caller, error) {
	c, ok := callerFrom(ctx)
	if !ok {
		return nil, caller{}, errNoCaller
	}
	if noCatalog(catalog) {
		return nil, c, nil
	}
	var out []store.Database
	for _, db := range s.o.Engine.VisibleDatabases(c.p) {
		if pattern == nil || like(db.Name, *pattern) {
			out = append(out, db)
		}
	}
	return out, c, nil
}

// DoGetDBSchemas lists the databases the caller may see.
func (s *Server) DoGetDBSchemas(ctx context.Context, cmd flightsql.GetDBSchemas) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	dbs, _, err := s.visibleDatabases(ctx, cmd.GetCatalog(), cmd.GetDBSchemaFilterPattern())
	if err != nil {
		return nil, nil, err
	}
	return batch(schema_ref.DBSchemas, func(b *array.RecordBuilder) error {
		for _, db := range dbs {
			b.Field(0).AppendNull()
			b.Field(1).(*array.StringBuilder).Append(db.Name)
		}
		return nil
	})
}

// GetFlightInfoTables: see DoGetTables.
func (s *Server) GetFlightInfoTables(_ context.Context, cmd flightsql.GetTables, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	sc := schema_ref.Tables
	if cmd.GetIncludeSchema() {
		sc = schema_ref.TablesWithIncludedSchema
	}
	return commandInfo(desc, sc), nil
}

// DoGetTables lists the tables the caller may see, with their Arrow
// schema when asked.
func (s *Server) DoGetTables(ctx context.Context, cmd flightsql.GetTables) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	dbs, c, err := s.visibleDatabases(ctx, cmd.GetCatalog(), cmd.GetDBSchemaFilterPattern())
	if err != nil {
		return nil, nil, err
	}
	if types := cmd.GetTableTypes(); len(types) > 0 {
		found := false
		for _, t := range types {
			found = found || strings.EqualFold(t, tableType)
		}
		if !found {
			dbs = nil
		}
	}
	sc := schema_ref.Tables
	if cmd.GetIncludeSchema() {
		sc = schema_ref.TablesWithIncludedSchema
	}
	return batch(sc, func(b *array.RecordBuilder) error {
		for _, db := range dbs {
			tables, err := s.o.Engine.VisibleTables(c.p, db.Name)
			if err != nil {
				return toStatus(err)
			}
			for _, t := range tables {
				if p := cmd.GetTableNameFilterPattern(); p != nil && !like(t.Name, *p) {
					continue
				}
				b.Field(0).AppendNull()
				b.Field(1).(*array.StringBuilder).Append(t.Database)
				b.Field(2).(*array.StringBuilder).Append(t.Name)
				b.Field(3).(*array.StringBuilder).Append(tableType)
				if cmd.GetIncludeSchema() {
					ts, err := s.visibleSchema(c, t)
					if err != nil {
						return err
					}
					b.Field(4).(*array.BinaryBuilder).Append(flight.SerializeSchema(ts, memory.DefaultAllocator))
				}
			}
		}
		return nil
	})
}

// visibleSchema is the schema of the columns of t the caller may read
// (its SELECT * answer): a column list hides the others; none when the
// caller sees the table but may read nothing of it.
func (s *Server) visibleSchema(c caller, t store.Table) (*arrow.Schema, error) {
	eff, err := s.o.Engine.EffectivePolicy(c.p, t.Database, t.Name)
	switch {
	case errors.Is(err, authz.ErrForbidden):
		return arrow.NewSchema(nil, nil), nil
	case err != nil:
		return nil, toStatus(err)
	}
	cols := make([]store.Column, 0, len(eff.Columns))
	for _, col := range eff.Columns {
		cols = append(cols, store.Column{Name: col.Name, Type: col.Type})
	}
	ts, err := columnsSchema(t, cols)
	if err != nil {
		s.log.Error("Flight SQL: a table's schema", "table", t.Database+"."+t.Name, "err", err.Error())
		return nil, status.Error(codes.Internal, "internal error: the server log says why")
	}
	return ts, nil
}

// TableSchema is the Arrow schema of a catalog table: its columns, then
// its partition columns, typed from their Hive types.
func TableSchema(t store.Table) (*arrow.Schema, error) {
	return columnsSchema(t, append(append([]store.Column(nil), t.Columns...), t.PartitionColumns...))
}

// columnsSchema is the Arrow schema of cols of table t.
func columnsSchema(t store.Table, cols []store.Column) (*arrow.Schema, error) {
	fields := make([]arrow.Field, 0, len(cols))
	for _, col := range cols {
		at, err := ArrowType(col.Type)
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", col.Name, err)
		}
		md := arrow.NewMetadata(
			[]string{flightsql.SchemaNameKey, flightsql.TableNameKey, flightsql.TypeNameKey},
			[]string{t.Database, t.Name, col.Type})
		fields = append(fields, arrow.Field{Name: col.Name, Type: at, Nullable: true, Metadata: md})
	}
	return arrow.NewSchema(fields, nil), nil
}

// ArrowType is the Arrow type of a Hive type text, the type the data
// plane returns for it (DuckDB's, see scan.DuckDBType).
func ArrowType(hiveType string) (arrow.DataType, error) {
	t, err := grants.ParseType(hiveType)
	if err != nil {
		return nil, err
	}
	return arrowType(t)
}

func arrowType(t grants.Type) (arrow.DataType, error) {
	switch t.Kind {
	case grants.TypeTinyint:
		return arrow.PrimitiveTypes.Int8, nil
	case grants.TypeSmallint:
		return arrow.PrimitiveTypes.Int16, nil
	case grants.TypeInt:
		return arrow.PrimitiveTypes.Int32, nil
	case grants.TypeBigint:
		return arrow.PrimitiveTypes.Int64, nil
	case grants.TypeBoolean:
		return arrow.FixedWidthTypes.Boolean, nil
	case grants.TypeFloat:
		return arrow.PrimitiveTypes.Float32, nil
	case grants.TypeDouble:
		return arrow.PrimitiveTypes.Float64, nil
	case grants.TypeDecimal:
		return &arrow.Decimal128Type{Precision: int32(t.Precision), Scale: int32(t.Scale)}, nil
	case grants.TypeString, grants.TypeVarchar, grants.TypeChar:
		return arrow.BinaryTypes.String, nil
	case grants.TypeDate:
		return arrow.FixedWidthTypes.Date32, nil
	case grants.TypeTimestamp:
		// DuckDB's TIMESTAMP has no time zone.
		return &arrow.TimestampType{Unit: arrow.Microsecond}, nil
	case grants.TypeBinary:
		return arrow.BinaryTypes.Binary, nil
	case grants.TypeArray:
		if t.Elem == nil {
			return nil, fmt.Errorf("array type without element")
		}
		e, err := arrowType(*t.Elem)
		if err != nil {
			return nil, err
		}
		return arrow.ListOf(e), nil
	case grants.TypeMap:
		if t.Key == nil || t.Value == nil {
			return nil, fmt.Errorf("map type without key or value")
		}
		k, err := arrowType(*t.Key)
		if err != nil {
			return nil, err
		}
		v, err := arrowType(*t.Value)
		if err != nil {
			return nil, err
		}
		return arrow.MapOf(k, v), nil
	case grants.TypeStruct:
		fs := make([]arrow.Field, 0, len(t.Fields))
		for _, f := range t.Fields {
			ft, err := arrowType(f.Type)
			if err != nil {
				return nil, err
			}
			fs = append(fs, arrow.Field{Name: f.Name, Type: ft, Nullable: true})
		}
		return arrow.StructOf(fs...), nil
	}
	return nil, fmt.Errorf("unsupported type %s", t)
}

// like matches s against a Flight SQL filter pattern: % is any run of
// characters, _ one character, everything else itself (case-sensitive;
// lakegate's names are lower-case).
func like(s, pattern string) bool {
	str, pat := []rune(s), []rune(pattern)
	// Iterative matching with one backtrack point (the last %): linear
	// in practice, at worst len(s)*len(pattern), never exponential.
	si, pi, star, mark := 0, 0, -1, 0
	for si < len(str) {
		switch {
		case pi < len(pat) && (pat[pi] == '_' || (pat[pi] != '%' && pat[pi] == str[si])):
			si++
			pi++
		case pi < len(pat) && pat[pi] == '%':
			star, mark = pi, si
			pi++
		case star >= 0:
			mark++
			si, pi = mark, star+1
		default:
			return false
		}
	}
	for pi < len(pat) && pat[pi] == '%' {
		pi++
	}
	return pi == len(pat)
}
