package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// The catalog: databases, external tables over s3:// locations and their
// partitions. It lives in the policy store and changes only inside
// UpdatePolicy, so that every change raises the policy version and every
// process sharing the database follows it. Nothing in it is secret.
//
// Tables are stored with their columns, partition columns and properties
// as one JSON document (columns_json), encoded here once for all three
// dialects; partitions name their table by an id, so that they follow a
// renamed table. Like the roles' methods, none leaves a failed statement
// behind for an expected outcome: existence is checked first.

// Database is a catalog database.
type Database struct {
	// Name is lower-case.
	Name    string
	Comment string
	// Location is "" or a canonical s3://bucket[/path].
	Location string
	// CreatedAt is set by the store on create when zero.
	CreatedAt time.Time
}

// Column is a column of a table: Type is the canonical Hive type text
// (e.g. "decimal(10,2)", "array<string>").
type Column struct {
	Name, Type, Comment string
	// Attributes are the column's attributes (ALTER COLUMN … SET
	// ATTRIBUTES pii.ssn), matched by HAVING ATTRIBUTE and TRANSFORM
	// grants. The store writes them sorted and distinct and reads nil
	// when a column has none: an empty slice is stored as none, so it
	// reads back nil.
	Attributes []string `json:"attributes,omitempty"`
}

// Property is one TBLPROPERTIES entry.
type Property struct{ Key, Value string }

// Table is an external table of the catalog. The store returns Columns,
// PartitionColumns, Properties and Partitions non-nil (empty when none).
type Table struct {
	// Database and Name are lower-case.
	Database, Name string
	// Location is a canonical s3://bucket[/path], no trailing '/'.
	Location string
	// Format is PARQUET, ORC, AVRO, TEXTFILE or JSONFILE.
	Format           string
	Columns          []Column
	PartitionColumns []Column
	Comment          string
	// FieldDelimiter is ROW FORMAT DELIMITED FIELDS TERMINATED BY; ""
	// when none.
	FieldDelimiter string
	// Properties in the order written.
	Properties []Property
	// CreatedAt is set by the store on create when zero.
	CreatedAt time.Time
	// Partitions, sorted by Spec; filled by LoadPolicy and GetTable,
	// ignored by CreateTable and PutTable.
	Partitions []Partition
}

// Partition is one partition of a table.
type Partition struct {
	// Spec is the canonical "k=v/k2=v2" in partition column order.
	Spec string
	// Location is the canonical s3:// location of its files.
	Location string
	// CreatedAt is set by the store on add when zero.
	CreatedAt time.Time
}

// ErrTooLarge means a value exceeds what the store keeps (the bounds
// below); nothing was written.
var ErrTooLarge = errors.New("store: value too large")

// Bounds of catalog values, in bytes. The MySQL schema (00005) sizes its
// columns and keys to them; the other dialects keep them too, so that a
// catalog copies between stores.
const (
	maxCatalogName     = 1024 // database and table names (VARBINARY(1024))
	maxCatalogLocation = 65535
	maxCatalogComment  = 1 << 20
	maxCatalogKeyword  = 64      // format, field delimiter
	maxPartitionSpec   = 2048    // VARBINARY(2048)
	maxTableColumns    = 4 << 20 // the encoded columns (with their attributes), partition columns and properties
)

// checkLen returns an error wrapping ErrTooLarge when v is longer than max.
func checkLen(what, v string, limit int) error {
	if len(v) > limit {
		return fmt.Errorf("%s is %d bytes, more than %d: %w", what, len(v), limit, ErrTooLarge)
	}
	return nil
}

// checkName refuses an empty or too long name.
func checkName(what, v string) error {
	if v == "" {
		return fmt.Errorf("store: empty %s", what)
	}
	return checkLen(what, v, maxCatalogName)
}

// tableColumns is the stored form of a table's columns, partition columns
// and properties (columns_json).
type tableColumns struct {
	Columns          []storedColumn   `json:"columns"`
	PartitionColumns []storedColumn   `json:"partition_columns"`
	Properties       []storedProperty `json:"properties"`
}

// storedColumn is Column as stored; Attributes sorted and distinct, and
// absent when none, so that nil and empty store alike (and read nil).
type storedColumn struct {
	Name       string   `json:"name"`
	Type       string   `json:"type"`
	Comment    string   `json:"comment,omitempty"`
	Attributes []string `json:"attributes,omitempty"`
}

// storeColumn is c's stored form.
func storeColumn(c Column) storedColumn {
	sc := storedColumn(c)
	if len(c.Attributes) == 0 {
		sc.Attributes = nil
	} else {
		sc.Attributes = slices.Compact(slices.Sorted(slices.Values(c.Attributes)))
	}
	return sc
}

type storedProperty struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// encodeTable checks t's bounds and returns its columns_json.
func encodeTable(t Table) (string, error) {
	for _, e := range []error{
		checkName("database name", t.Database),
		checkName("table name", t.Name),
		checkLen("location", t.Location, maxCatalogLocation),
		checkLen("format", t.Format, maxCatalogKeyword),
		checkLen("field delimiter", t.FieldDelimiter, maxCatalogKeyword),
		checkLen("comment", t.Comment, maxCatalogComment),
	} {
		if e != nil {
			return "", fmt.Errorf("table %s.%s: %w", t.Database, t.Name, e)
		}
	}
	tc := tableColumns{
		Columns:          make([]storedColumn, len(t.Columns)),
		PartitionColumns: make([]storedColumn, len(t.PartitionColumns)),
		Properties:       make([]storedProperty, len(t.Properties)),
	}
	for i, c := range t.Columns {
		tc.Columns[i] = storeColumn(c)
	}
	for i, c := range t.PartitionColumns {
		tc.PartitionColumns[i] = storeColumn(c)
	}
	for i, p := range t.Properties {
		tc.Properties[i] = storedProperty(p)
	}
	b, err := json.Marshal(tc)
	if err != nil {
		return "", fmt.Errorf("table %s.%s: %w", t.Database, t.Name, err)
	}
	if len(b) > maxTableColumns {
		return "", fmt.Errorf("table %s.%s: its columns and properties encode to %d bytes, more than %d: %w",
			t.Database, t.Name, len(b), maxTableColumns, ErrTooLarge)
	}
	return string(b), nil
}

// decodeTable fills t's columns, partition columns and properties from
// columns_json.
func decodeTable(t *Table, stored string) error {
	var tc tableColumns
	if err := json.Unmarshal([]byte(stored), &tc); err != nil {
		return fmt.Errorf("table %s.%s: columns: %w", t.Database, t.Name, err)
	}
	t.Columns = make([]Column, len(tc.Columns))
	for i, c := range tc.Columns {
		t.Columns[i] = loadColumn(c)
	}
	t.PartitionColumns = make([]Column, len(tc.PartitionColumns))
	for i, c := range tc.PartitionColumns {
		t.PartitionColumns[i] = loadColumn(c)
	}
	t.Properties = make([]Property, len(tc.Properties))
	for i, p := range tc.Properties {
		t.Properties[i] = Property(p)
	}
	return nil
}

// loadColumn is the Column stored as c: Attributes nil when none (a
// document written by hand with "attributes": [] reads nil too).
func loadColumn(c storedColumn) Column {
	col := Column(c)
	if len(col.Attributes) == 0 {
		col.Attributes = nil
	}
	return col
}

func checkDatabase(db Database) error {
	for _, e := range []error{
		checkName("database name", db.Name),
		checkLen("location", db.Location, maxCatalogLocation),
		checkLen("comment", db.Comment, maxCatalogComment),
	} {
		if e != nil {
			return fmt.Errorf("database %s: %w", db.Name, e)
		}
	}
	return nil
}

func checkPartition(database, table string, part Partition) error {
	for _, e := range []error{
		checkLen("partition spec", part.Spec, maxPartitionSpec),
		checkLen("partition location", part.Location, maxCatalogLocation),
	} {
		if e != nil {
			return fmt.Errorf("table %s.%s: %w", database, table, e)
		}
	}
	if part.Spec == "" {
		return fmt.Errorf("store: table %s.%s: empty partition spec", database, table)
	}
	return nil
}

func createdMillis(t time.Time) int64 {
	if t.IsZero() {
		t = time.Now()
	}
	return t.UnixMilli()
}

const (
	databaseColumns  = `name, comment, location, created_at`
	tableColumnsList = `database_name, name, location, format, comment, field_delimiter, columns_json, created_at`
)

func scanDatabase(row scanner) (Database, error) {
	var (
		db      Database
		created int64
	)
	if err := row.Scan(&db.Name, &db.Comment, &db.Location, &created); err != nil {
		return Database{}, err
	}
	db.CreatedAt = time.UnixMilli(created).UTC()
	return db, nil
}

// scanTable reads id and tableColumnsList.
func scanTable(row scanner) (int64, Table, error) {
	var (
		id      int64
		t       = Table{Partitions: []Partition{}}
		cols    string
		created int64
	)
	if err := row.Scan(&id, &t.Database, &t.Name, &t.Location, &t.Format, &t.Comment, &t.FieldDelimiter, &cols, &created); err != nil {
		return 0, Table{}, err
	}
	t.CreatedAt = time.UnixMilli(created).UTC()
	return id, t, decodeTable(&t, cols)
}

func scanPartition(row scanner) (int64, Partition, error) {
	var (
		id      int64
		p       Partition
		created int64
	)
	if err := row.Scan(&id, &p.Spec, &p.Location, &created); err != nil {
		return 0, Partition{}, err
	}
	p.CreatedAt = time.UnixMilli(created).UTC()
	return id, p, nil
}

func comparePartitions(a, b Partition) int { return strings.Compare(a.Spec, b.Spec) }

// loadCatalog reads every database, table and partition in tx, sorted as
// PolicyData promises.
func loadCatalog(ctx context.Context, tx *sql.Tx, p *PolicyData) error {
	p.Databases = []Database{}
	err := each(ctx, tx, `SELECT `+databaseColumns+` FROM catalog_databases`, func(row scanner) error {
		db, err := scanDatabase(row)
		p.Databases = append(p.Databases, db)
		return err
	})
	if err != nil {
		return fmt.Errorf("databases: %w", err)
	}
	slices.SortFunc(p.Databases, func(a, b Database) int { return strings.Compare(a.Name, b.Name) })

	p.Tables = []Table{}
	var ids []int64
	err = each(ctx, tx, `SELECT id, `+tableColumnsList+` FROM catalog_tables`, func(row scanner) error {
		id, t, err := scanTable(row)
		if err != nil {
			return err
		}
		ids = append(ids, id)
		p.Tables = append(p.Tables, t)
		return nil
	})
	if err != nil {
		return fmt.Errorf("tables: %w", err)
	}
	byID := make(map[int64]int, len(ids))
	for i, id := range ids {
		byID[id] = i
	}
	// The foreign key keeps every partition pointing at a table read above.
	err = each(ctx, tx, `SELECT table_id, spec, location, created_at FROM catalog_partitions`, func(row scanner) error {
		id, part, err := scanPartition(row)
		if err != nil {
			return err
		}
		if i, ok := byID[id]; ok {
			p.Tables[i].Partitions = append(p.Tables[i].Partitions, part)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("partitions: %w", err)
	}
	for i := range p.Tables {
		slices.SortFunc(p.Tables[i].Partitions, comparePartitions)
	}
	slices.SortFunc(p.Tables, func(a, b Table) int {
		if c := strings.Compare(a.Database, b.Database); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return nil
}

// exists reports whether q, a SELECT 1 …, returns a row.
func (p *policyTx) exists(ctx context.Context, q string, args ...any) (bool, error) {
	var one int
	err := p.tx.QueryRowContext(ctx, p.d.rebind(q), args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, p.fail(err)
	}
	return true, nil
}

// requireDatabase returns an error wrapping ErrNotFound when the database
// does not exist.
func (p *policyTx) requireDatabase(ctx context.Context, name string) error {
	ok, err := p.exists(ctx, `SELECT 1 FROM catalog_databases WHERE name = ?`, name)
	if err != nil {
		return fmt.Errorf("store: database %s: %w", name, err)
	}
	if !ok {
		return fmt.Errorf("database %s: %w", name, ErrNotFound)
	}
	return nil
}

// tableID returns the id of the table, or an error wrapping ErrNotFound.
func (p *policyTx) tableID(ctx context.Context, database, name string) (int64, error) {
	var id int64
	err := p.tx.QueryRowContext(ctx, p.d.rebind(`SELECT id FROM catalog_tables WHERE database_name = ? AND name = ?`),
		database, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("table %s.%s: %w", database, name, ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("store: table %s.%s: %w", database, name, p.fail(err))
	}
	return id, nil
}

// CreateDatabase implements PolicyTx.
func (p *policyTx) CreateDatabase(ctx context.Context, db Database) error {
	if err := checkDatabase(db); err != nil {
		return err
	}
	ok, err := p.exists(ctx, `SELECT 1 FROM catalog_databases WHERE name = ?`, db.Name)
	if err != nil {
		return fmt.Errorf("store: create database %s: %w", db.Name, err)
	}
	if ok {
		return fmt.Errorf("database %s: %w", db.Name, ErrExists)
	}
	_, err = p.exec(ctx, `INSERT INTO catalog_databases (`+databaseColumns+`) VALUES (?, ?, ?, ?)`,
		db.Name, db.Comment, db.Location, createdMillis(db.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: create database %s: %w", db.Name, err)
	}
	return nil
}

// GetDatabase implements PolicyTx.
func (p *policyTx) GetDatabase(ctx context.Context, name string) (Database, error) {
	row := p.tx.QueryRowContext(ctx, p.d.rebind(`SELECT `+databaseColumns+` FROM catalog_databases WHERE name = ?`), name)
	db, err := scanDatabase(row)
	if errors.Is(err, sql.ErrNoRows) {
		return Database{}, fmt.Errorf("database %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return Database{}, fmt.Errorf("store: get database %s: %w", name, p.fail(err))
	}
	return db, nil
}

// DropDatabase implements PolicyTx. The foreign keys' ON DELETE CASCADE
// removes the tables and their partitions.
func (p *policyTx) DropDatabase(ctx context.Context, name string, cascade bool) error {
	if err := p.requireDatabase(ctx, name); err != nil {
		return err
	}
	if !cascade {
		has, err := p.exists(ctx, `SELECT 1 FROM catalog_tables WHERE database_name = ?`, name)
		if err != nil {
			return fmt.Errorf("store: drop database %s: %w", name, err)
		}
		if has {
			return fmt.Errorf("database %s has tables: %w", name, ErrNotEmpty)
		}
	}
	if _, err := p.exec(ctx, `DELETE FROM catalog_databases WHERE name = ?`, name); err != nil {
		return fmt.Errorf("store: drop database %s: %w", name, err)
	}
	return nil
}

// ListTables implements PolicyTx.
func (p *policyTx) ListTables(ctx context.Context, database string) ([]string, error) {
	if err := p.requireDatabase(ctx, database); err != nil {
		return nil, err
	}
	names := []string{}
	err := each(ctx, p.tx, p.d.rebind(`SELECT name FROM catalog_tables WHERE database_name = ?`), func(row scanner) error {
		var n string
		err := row.Scan(&n)
		names = append(names, n)
		return err
	}, database)
	if err != nil {
		return nil, fmt.Errorf("store: list tables of %s: %w", database, p.fail(err))
	}
	slices.Sort(names)
	return names, nil
}

// CreateTable implements PolicyTx.
func (p *policyTx) CreateTable(ctx context.Context, t Table) error {
	cols, err := encodeTable(t)
	if err != nil {
		return fmt.Errorf("store: create table: %w", err)
	}
	if err := p.requireDatabase(ctx, t.Database); err != nil {
		return err
	}
	_, err = p.tableID(ctx, t.Database, t.Name)
	switch {
	case err == nil:
		return fmt.Errorf("table %s.%s: %w", t.Database, t.Name, ErrExists)
	case !errors.Is(err, ErrNotFound):
		return err
	}
	_, err = p.exec(ctx, `INSERT INTO catalog_tables (`+tableColumnsList+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		t.Database, t.Name, t.Location, t.Format, t.Comment, t.FieldDelimiter, cols, createdMillis(t.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: create table %s.%s: %w", t.Database, t.Name, err)
	}
	return nil
}

// GetTable implements PolicyTx.
func (p *policyTx) GetTable(ctx context.Context, database, name string) (Table, error) {
	row := p.tx.QueryRowContext(ctx, p.d.rebind(`SELECT id, `+tableColumnsList+` FROM catalog_tables
		WHERE database_name = ? AND name = ?`), database, name)
	id, t, err := scanTable(row)
	if errors.Is(err, sql.ErrNoRows) {
		return Table{}, fmt.Errorf("table %s.%s: %w", database, name, ErrNotFound)
	}
	if err != nil {
		return Table{}, fmt.Errorf("store: get table %s.%s: %w", database, name, p.fail(err))
	}
	err = each(ctx, p.tx, p.d.rebind(`SELECT table_id, spec, location, created_at FROM catalog_partitions WHERE table_id = ?`),
		func(row scanner) error {
			_, part, err := scanPartition(row)
			t.Partitions = append(t.Partitions, part)
			return err
		}, id)
	if err != nil {
		return Table{}, fmt.Errorf("store: get table %s.%s: partitions: %w", database, name, p.fail(err))
	}
	slices.SortFunc(t.Partitions, comparePartitions)
	return t, nil
}

// PutTable implements PolicyTx. A zero t.CreatedAt keeps the stored one.
func (p *policyTx) PutTable(ctx context.Context, t Table) error {
	cols, err := encodeTable(t)
	if err != nil {
		return fmt.Errorf("store: put table: %w", err)
	}
	id, err := p.tableID(ctx, t.Database, t.Name)
	if err != nil {
		return err
	}
	q := `UPDATE catalog_tables SET location = ?, format = ?, comment = ?, field_delimiter = ?, columns_json = ?`
	args := []any{t.Location, t.Format, t.Comment, t.FieldDelimiter, cols}
	if !t.CreatedAt.IsZero() {
		q += `, created_at = ?`
		args = append(args, t.CreatedAt.UnixMilli())
	}
	// Not RowsAffected: MySQL counts only rows that changed.
	if _, err := p.exec(ctx, q+` WHERE id = ?`, append(args, id)...); err != nil {
		return fmt.Errorf("store: put table %s.%s: %w", t.Database, t.Name, err)
	}
	return nil
}

// RenameTable implements PolicyTx. The partitions name the table by id and
// follow it.
func (p *policyTx) RenameTable(ctx context.Context, database, name, newDatabase, newName string) error {
	if err := checkName("table name", newName); err != nil {
		return fmt.Errorf("store: rename table %s.%s: %w", database, name, err)
	}
	id, err := p.tableID(ctx, database, name)
	if err != nil {
		return err
	}
	if database == newDatabase && name == newName {
		return nil
	}
	if err := p.requireDatabase(ctx, newDatabase); err != nil {
		return err
	}
	_, err = p.tableID(ctx, newDatabase, newName)
	switch {
	case err == nil:
		return fmt.Errorf("table %s.%s: %w", newDatabase, newName, ErrExists)
	case !errors.Is(err, ErrNotFound):
		return err
	}
	if _, err := p.exec(ctx, `UPDATE catalog_tables SET database_name = ?, name = ? WHERE id = ?`, newDatabase, newName, id); err != nil {
		return fmt.Errorf("store: rename table %s.%s: %w", database, name, err)
	}
	return nil
}

// DropTable implements PolicyTx. ON DELETE CASCADE removes the partitions.
func (p *policyTx) DropTable(ctx context.Context, database, name string) error {
	id, err := p.tableID(ctx, database, name)
	if err != nil {
		return err
	}
	if _, err := p.exec(ctx, `DELETE FROM catalog_tables WHERE id = ?`, id); err != nil {
		return fmt.Errorf("store: drop table %s.%s: %w", database, name, err)
	}
	return nil
}

// AddPartition implements PolicyTx.
func (p *policyTx) AddPartition(ctx context.Context, database, table string, part Partition) error {
	if err := checkPartition(database, table, part); err != nil {
		return err
	}
	id, err := p.tableID(ctx, database, table)
	if err != nil {
		return err
	}
	ok, err := p.exists(ctx, `SELECT 1 FROM catalog_partitions WHERE table_id = ? AND spec = ?`, id, part.Spec)
	if err != nil {
		return fmt.Errorf("store: add partition to %s.%s: %w", database, table, err)
	}
	if ok {
		return fmt.Errorf("partition %s of %s.%s: %w", part.Spec, database, table, ErrExists)
	}
	_, err = p.exec(ctx, `INSERT INTO catalog_partitions (table_id, spec, location, created_at) VALUES (?, ?, ?, ?)`,
		id, part.Spec, part.Location, createdMillis(part.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: add partition to %s.%s: %w", database, table, err)
	}
	return nil
}

// DropPartition implements PolicyTx.
func (p *policyTx) DropPartition(ctx context.Context, database, table, spec string) error {
	id, err := p.tableID(ctx, database, table)
	if err != nil {
		return err
	}
	n, err := p.exec(ctx, `DELETE FROM catalog_partitions WHERE table_id = ? AND spec = ?`, id, spec)
	if err != nil {
		return fmt.Errorf("store: drop partition of %s.%s: %w", database, table, err)
	}
	if n == 0 {
		return fmt.Errorf("partition %s of %s.%s: %w", spec, database, table, ErrNotFound)
	}
	return nil
}

// RemoveObjectGrants implements PolicyTx.
func (p *policyTx) RemoveObjectGrants(ctx context.Context, kind, object string) (int, error) {
	name, object := p.objectNameMatch(kind, object)
	n, err := p.exec(ctx, `DELETE FROM grants WHERE object_kind = ? AND `+name, kind, object)
	if err != nil {
		return 0, fmt.Errorf("store: remove grants on %s %s: %w", kind, object, err)
	}
	return int(n), nil
}

// objectNameMatch is the condition on object_name that finds the grants
// on object, and its argument. Catalog names (DATABASE and TABLE objects)
// are case-insensitive: the policy applies a grant stored before the
// parser lower-cased them ("Sales.Orders") to table sales.orders, so
// revoking, dropping and renaming must reach it too.
//
// The parser and the policy fold ASCII letters only (`Ä` and `ä` are two
// tables). SQL's LOWER folds more in PostgreSQL and MySQL, so a name with
// any other character is matched exactly, as the parser wrote it.
func (p *policyTx) objectNameMatch(kind, object string) (cond, arg string) {
	ascii := !strings.ContainsFunc(object, func(r rune) bool { return r >= utf8.RuneSelf })
	switch {
	case kind != "DATABASE" && kind != "TABLE" || !ascii:
	case p.d.name == "mysql": // object_name is a BLOB, which LOWER leaves alone
		return "LOWER(CONVERT(object_name USING utf8mb4)) = ?", strings.ToLower(object)
	default:
		return "LOWER(object_name) = ?", strings.ToLower(object)
	}
	return "object_name = ?", object
}

// RenameObjectGrants implements PolicyTx. It goes grant by grant: one
// UPDATE … WHERE NOT EXISTS over grants itself is refused by MySQL (a
// table updated and read in one statement), and an UPDATE that runs into
// the unique key fails the transaction in PostgreSQL.
func (p *policyTx) RenameObjectGrants(ctx context.Context, kind, oldObject, newObject string) (int, error) {
	var gs []Grant
	name, old := p.objectNameMatch(kind, oldObject)
	err := each(ctx, p.tx, p.d.rebind(`SELECT `+grantColumns+` FROM grants WHERE object_kind = ? AND `+name),
		func(row scanner) error {
			var g Grant
			err := scanGrant(row, &g)
			gs = append(gs, g)
			return err
		}, kind, old)
	if err != nil {
		return 0, fmt.Errorf("store: rename grants on %s %s: %w", kind, oldObject, p.fail(err))
	}
	// match names every field of grantColumns, in its order.
	const match = ` WHERE role_name = ? AND privilege = ? AND object_kind = ? AND object_name = ?
		AND column_list = ? AND row_filter = ? AND options = ?`
	for _, g := range gs {
		if g.Object == newObject {
			continue // already named so
		}
		renamed := g
		renamed.Object = newObject
		dup, err := p.exists(ctx, `SELECT 1 FROM grants`+match, grantArgs(renamed)...)
		if err != nil {
			return 0, fmt.Errorf("store: rename grants on %s %s: %w", kind, oldObject, err)
		}
		args := grantArgs(g)
		if dup {
			_, err = p.exec(ctx, `DELETE FROM grants`+match, args...)
		} else {
			_, err = p.exec(ctx, `UPDATE grants SET object_name = ?`+match, append([]any{newObject}, args...)...)
		}
		if err != nil {
			return 0, fmt.Errorf("store: rename grants on %s %s: %w", kind, oldObject, err)
		}
	}
	return len(gs), nil
}

// importCatalog writes p's databases, tables and partitions into an empty
// catalog (Import), with the bounds CreateTable and AddPartition check.
func importCatalog(ctx context.Context, tx *sql.Tx, d dialect, p PolicyData) error {
	exec := func(q string, args ...any) error {
		_, err := tx.ExecContext(ctx, d.rebind(q), args...)
		return d.mapErr(err)
	}
	for _, db := range p.Databases {
		if err := checkDatabase(db); err != nil {
			return err
		}
		err := exec(`INSERT INTO catalog_databases (`+databaseColumns+`) VALUES (?, ?, ?, ?)`,
			db.Name, db.Comment, db.Location, createdMillis(db.CreatedAt))
		if err != nil {
			return fmt.Errorf("database %s: %w", db.Name, err)
		}
	}
	for _, t := range p.Tables {
		cols, err := encodeTable(t)
		if err != nil {
			return err
		}
		err = exec(`INSERT INTO catalog_tables (`+tableColumnsList+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			t.Database, t.Name, t.Location, t.Format, t.Comment, t.FieldDelimiter, cols, createdMillis(t.CreatedAt))
		if err != nil {
			return fmt.Errorf("table %s.%s: %w", t.Database, t.Name, err)
		}
		if len(t.Partitions) == 0 {
			continue
		}
		var id int64
		err = tx.QueryRowContext(ctx, d.rebind(`SELECT id FROM catalog_tables WHERE database_name = ? AND name = ?`),
			t.Database, t.Name).Scan(&id)
		if err != nil {
			return fmt.Errorf("table %s.%s: %w", t.Database, t.Name, err)
		}
		for _, part := range t.Partitions {
			if err := checkPartition(t.Database, t.Name, part); err != nil {
				return err
			}
			err := exec(`INSERT INTO catalog_partitions (table_id, spec, location, created_at) VALUES (?, ?, ?, ?)`,
				id, part.Spec, part.Location, createdMillis(part.CreatedAt))
			if err != nil {
				return fmt.Errorf("table %s.%s: partition %s: %w", t.Database, t.Name, part.Spec, err)
			}
		}
	}
	return nil
}
