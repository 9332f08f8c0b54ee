package store

import (
	"context"
	"errors"
	"time"
)

// The catalog: databases, external tables over s3:// locations and their
// partitions. It lives in the policy store and changes only inside
// UpdatePolicy, so that every change raises the policy version and every
// process sharing the database follows it. Nothing in it is secret.

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
type Column struct{ Name, Type, Comment string }

// Property is one TBLPROPERTIES entry.
type Property struct{ Key, Value string }

// Table is an external table of the catalog.
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

// errCatalogTODO is returned until the catalog's SQL lands.
var errCatalogTODO = errors.New("store: catalog: not implemented yet")

// CreateDatabase implements PolicyTx.
func (p *policyTx) CreateDatabase(ctx context.Context, db Database) error { return errCatalogTODO }

// GetDatabase implements PolicyTx.
func (p *policyTx) GetDatabase(ctx context.Context, name string) (Database, error) {
	return Database{}, errCatalogTODO
}

// DropDatabase implements PolicyTx.
func (p *policyTx) DropDatabase(ctx context.Context, name string, cascade bool) error {
	return errCatalogTODO
}

// ListTables implements PolicyTx.
func (p *policyTx) ListTables(ctx context.Context, database string) ([]string, error) {
	return nil, errCatalogTODO
}

// CreateTable implements PolicyTx.
func (p *policyTx) CreateTable(ctx context.Context, t Table) error { return errCatalogTODO }

// GetTable implements PolicyTx.
func (p *policyTx) GetTable(ctx context.Context, database, name string) (Table, error) {
	return Table{}, errCatalogTODO
}

// PutTable implements PolicyTx.
func (p *policyTx) PutTable(ctx context.Context, t Table) error { return errCatalogTODO }

// RenameTable implements PolicyTx.
func (p *policyTx) RenameTable(ctx context.Context, database, name, newDatabase, newName string) error {
	return errCatalogTODO
}

// DropTable implements PolicyTx.
func (p *policyTx) DropTable(ctx context.Context, database, name string) error { return errCatalogTODO }

// AddPartition implements PolicyTx.
func (p *policyTx) AddPartition(ctx context.Context, database, table string, part Partition) error {
	return errCatalogTODO
}

// DropPartition implements PolicyTx.
func (p *policyTx) DropPartition(ctx context.Context, database, table, spec string) error {
	return errCatalogTODO
}

// RemoveObjectGrants implements PolicyTx.
func (p *policyTx) RemoveObjectGrants(ctx context.Context, kind, object string) (int, error) {
	return 0, errCatalogTODO
}

// RenameObjectGrants implements PolicyTx.
func (p *policyTx) RenameObjectGrants(ctx context.Context, kind, oldObject, newObject string) (int, error) {
	return 0, errCatalogTODO
}
