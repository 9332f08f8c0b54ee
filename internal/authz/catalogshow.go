package authz

import (
	"fmt"
	"time"

	"github.com/lakegate/lakegate/internal/grants"
	"github.com/lakegate/lakegate/internal/store"
)

// showCatalog answers a statement that reads the catalog from snap. A user
// sees only the databases and tables they hold a grant on (catalog view
// rules, catalogview.go); one they may not see is answered as one that does
// not exist.
func showCatalog(snap *snapshot, caller Principal, admin bool, st grants.Statement, r *Result) error {
	switch s := st.(type) {
	case *grants.ShowDatabases:
		r.Columns = []string{"database", "comment"}
		for _, d := range snap.data.Databases {
			if snap.seesDatabase(caller, admin, d.Name) {
				r.Rows = append(r.Rows, []string{d.Name, d.Comment})
			}
		}
	case *grants.ShowTables:
		if s.Database != "" && !snap.hasDatabase(s.Database) || s.Database != "" && !snap.seesDatabase(caller, admin, s.Database) {
			return fmt.Errorf("%w: database %s does not exist", ErrInvalid, s.Database)
		}
		r.Columns = []string{"database", "table"}
		for _, t := range snap.data.Tables {
			if (s.Database == "" || t.Database == s.Database) && snap.seesTable(caller, admin, t.Database, t.Name) {
				r.Rows = append(r.Rows, []string{t.Database, t.Name})
			}
		}
	case *grants.Describe:
		t, err := visibleTable(snap, caller, admin, s.Database, s.Table)
		if err != nil {
			return err
		}
		describe(t, s.Formatted, r)
	case *grants.ShowCreateTable:
		t, err := visibleTable(snap, caller, admin, s.Database, s.Table)
		if err != nil {
			return err
		}
		ct, err := createStatement(t)
		if err != nil {
			return err
		}
		r.Columns = []string{"createtab_stmt"}
		r.Rows = [][]string{{ct.Pretty()}}
	case *grants.ShowPartitions:
		t, err := visibleTable(snap, caller, admin, s.Database, s.Table)
		if err != nil {
			return err
		}
		if len(t.PartitionColumns) == 0 {
			return fmt.Errorf("%w: table %s.%s is not partitioned", ErrInvalid, t.Database, t.Name)
		}
		r.Columns = []string{"partition", "location"}
		for _, p := range t.Partitions {
			r.Rows = append(r.Rows, []string{p.Spec, p.Location})
		}
	default:
		return fmt.Errorf("%w: unexpected statement %s", ErrInvalid, st)
	}
	return nil
}

// visibleTable returns the table db.name when caller may see it.
func visibleTable(snap *snapshot, caller Principal, admin bool, db, name string) (store.Table, error) {
	t, ok := snap.table(db, name)
	if !ok || !snap.seesTable(caller, admin, db, name) {
		return store.Table{}, noTable(db, name)
	}
	return t, nil
}

// hasDatabase reports whether the catalog holds database db.
func (s *snapshot) hasDatabase(db string) bool {
	for _, d := range s.data.Databases {
		if d.Name == db {
			return true
		}
	}
	return false
}

// describe fills r as Hive's DESCRIBE [FORMATTED] does: name, type and
// comment of each column, then the partition columns, then (FORMATTED)
// the table's details.
func describe(t store.Table, formatted bool, r *Result) {
	r.Columns = []string{"name", "type", "comment"}
	for _, c := range t.Columns {
		r.Rows = append(r.Rows, []string{c.Name, c.Type, c.Comment})
	}
	if len(t.PartitionColumns) > 0 {
		r.Rows = append(r.Rows, []string{"", "", ""}, []string{"# Partition Information", "", ""},
			[]string{"# col_name", "data_type", "comment"})
		for _, c := range t.PartitionColumns {
			r.Rows = append(r.Rows, []string{c.Name, c.Type, c.Comment})
		}
	}
	if !formatted {
		return
	}
	row := func(k, v string) { r.Rows = append(r.Rows, []string{k, v, ""}) }
	r.Rows = append(r.Rows, []string{"", "", ""}, []string{"# Detailed Table Information", "", ""})
	row("Database:", t.Database)
	row("Table:", t.Name)
	row("Table Type:", "EXTERNAL_TABLE")
	row("Location:", t.Location)
	row("Format:", t.Format)
	if t.FieldDelimiter != "" {
		row("Field Delimiter:", t.FieldDelimiter)
	}
	if t.Comment != "" {
		row("Comment:", t.Comment)
	}
	if !t.CreatedAt.IsZero() {
		row("CreateTime:", t.CreatedAt.UTC().Format(time.RFC3339))
	}
	row("Partitions:", fmt.Sprint(len(t.Partitions)))
	if len(t.Properties) > 0 {
		r.Rows = append(r.Rows, []string{"Table Parameters:", "", ""})
		for _, p := range t.Properties {
			r.Rows = append(r.Rows, []string{"", p.Key, p.Value})
		}
	}
}

// createStatement rebuilds the CREATE EXTERNAL TABLE statement of a stored
// table.
func createStatement(t store.Table) (*grants.CreateTable, error) {
	ct := &grants.CreateTable{Database: t.Database, Name: t.Name, Comment: t.Comment,
		FieldDelimiter: t.FieldDelimiter, Format: t.Format, Location: t.Location}
	var err error
	if ct.Columns, err = columnDefs(t.Columns); err != nil {
		return nil, fmt.Errorf("authz: table %s.%s: %w", t.Database, t.Name, err)
	}
	if ct.PartitionedBy, err = columnDefs(t.PartitionColumns); err != nil {
		return nil, fmt.Errorf("authz: table %s.%s: %w", t.Database, t.Name, err)
	}
	for _, p := range t.Properties {
		ct.Properties = append(ct.Properties, grants.Property{Key: p.Key, Value: p.Value})
	}
	return ct, nil
}

func columnDefs(cols []store.Column) ([]grants.ColumnDef, error) {
	var out []grants.ColumnDef
	for _, c := range cols {
		typ, err := grants.ParseType(c.Type)
		if err != nil {
			return nil, fmt.Errorf("stored type %q of column %s: %w", c.Type, c.Name, err)
		}
		out = append(out, grants.ColumnDef{Name: c.Name, Type: typ, Comment: c.Comment})
	}
	return out, nil
}
