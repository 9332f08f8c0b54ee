package grants

// Catalog statements: Hive/Impala DDL for databases and external tables
// over s3:// locations, and the SHOW/DESCRIBE statements that read the
// catalog back.
//
// Names: database, table, column and struct field names are
// case-insensitive like Hive's; the parser lower-cases their ASCII letters
// (bare or backquoted), here and in the DATABASE and TABLE objects and
// column lists of grants. Role and group names keep their case.
//
// Locations: every Location and LikeParquet field holds a canonical
// "s3://bucket/path" URI (s3a:// is read as s3://) with no trailing slash:
// 's3://b/t/' and 's3://b/t' name the same table root, because a location is
// a directory and its authorization scope. A location with an empty, "." or
// ".." path segment, a control character, '?' or '#' is refused.

// Interface guards for the catalog statements.
var (
	_ Statement = (*CreateDatabase)(nil)
	_ Statement = (*DropDatabase)(nil)
	_ Statement = (*CreateTable)(nil)
	_ Statement = (*DropTable)(nil)
	_ Statement = (*AlterTableSetLocation)(nil)
	_ Statement = (*AlterTableAddColumns)(nil)
	_ Statement = (*AlterTableRename)(nil)
	_ Statement = (*AlterTableRecoverPartitions)(nil)
	_ Statement = (*AlterTableAddPartition)(nil)
	_ Statement = (*AlterTableDropPartition)(nil)
	_ Statement = (*ShowDatabases)(nil)
	_ Statement = (*ShowTables)(nil)
	_ Statement = (*Describe)(nil)
	_ Statement = (*ShowCreateTable)(nil)
	_ Statement = (*ShowPartitions)(nil)
)

// CreateDatabase is CREATE DATABASE [IF NOT EXISTS] name [COMMENT 'text']
// [LOCATION 's3://…'] (SCHEMA is accepted for DATABASE).
type CreateDatabase struct {
	Name        string
	IfNotExists bool
	Comment     string
	// Location is "" when not given.
	Location string
}

// DropDatabase is DROP DATABASE [IF EXISTS] name [CASCADE | RESTRICT].
// RESTRICT is the default: Cascade is false.
type DropDatabase struct {
	Name     string
	IfExists bool
	Cascade  bool
}

// Table storage formats, the canonical values of CreateTable.Format.
const (
	FormatParquet  = "PARQUET"
	FormatORC      = "ORC"
	FormatAvro     = "AVRO"
	FormatTextFile = "TEXTFILE"
	FormatJSONFile = "JSONFILE"
)

// CreateTable is
//
//	CREATE [EXTERNAL] TABLE [IF NOT EXISTS] db.name
//	  ( (col type [COMMENT '…'], …) | LIKE PARQUET 's3://…/file.parquet' )
//	  [COMMENT '…'] [PARTITIONED BY (col type [COMMENT '…'], …)]
//	  [ROW FORMAT DELIMITED [FIELDS TERMINATED BY 'c']]
//	  [STORED AS PARQUET|ORC|AVRO|TEXTFILE|JSONFILE] [LOCATION 's3://…']
//	  [TBLPROPERTIES ('k'='v', …)]
//
// with the clauses in that (Hive's) order. Every table is external:
// lakegate never owns the data, so CREATE TABLE without EXTERNAL is read as
// CREATE EXTERNAL TABLE and dropping a table never deletes files. With a
// column list, STORED AS and LOCATION are required; with LIKE PARQUET
// (Impala's form) Columns is empty, Format defaults to PARQUET and Location
// may be "" (the executor defaults it to the file's directory).
type CreateTable struct {
	Database    string
	Name        string
	IfNotExists bool
	// Columns are the data columns; empty when LikeParquet is set.
	Columns []ColumnDef
	// LikeParquet is the canonical URI of the Parquet file whose schema
	// gives the columns, "" for a table with a column list. When it is
	// set, String prints the LIKE PARQUET form and ignores Columns.
	LikeParquet   string
	PartitionedBy []ColumnDef
	Comment       string
	// FieldDelimiter is the text of FIELDS TERMINATED BY as written between
	// the quotes: one character, or a backslash escape such as \t or \001
	// that the executor interprets as Hive does. "" when not given.
	FieldDelimiter string
	// Format is one of the Format* constants.
	Format string
	// Location is the table root, "" only with LikeParquet.
	Location   string
	Properties []Property
}

// ColumnDef is one column of a table: a lower-case name, a Type (its
// canonical text is Type.String()) and an optional comment.
type ColumnDef struct {
	Name    string
	Type    Type
	Comment string
}

// Property is one TBLPROPERTIES entry, key and value as written.
type Property struct {
	Key, Value string
}

// PartitionValue is one column=value of a partition specification. Value
// is the literal's text: 'eu' gives "eu", 2024 gives "2024", -1 gives "-1".
type PartitionValue struct {
	Column, Value string
}

// DropTable is DROP TABLE [IF EXISTS] db.name. It removes the catalog
// entry only, never files.
type DropTable struct {
	Database, Name string
	IfExists       bool
}

// AlterTableSetLocation is ALTER TABLE db.name SET LOCATION 's3://…'.
type AlterTableSetLocation struct {
	Database, Name string
	Location       string
}

// AlterTableAddColumns is ALTER TABLE db.name ADD COLUMNS (col type
// [COMMENT '…'], …).
type AlterTableAddColumns struct {
	Database, Name string
	Columns        []ColumnDef
}

// AlterTableRename is ALTER TABLE db.name RENAME TO newdb.newname.
type AlterTableRename struct {
	Database, Name       string
	NewDatabase, NewName string
}

// AlterTableRecoverPartitions is ALTER TABLE db.name RECOVER PARTITIONS,
// also written MSCK REPAIR TABLE db.name.
type AlterTableRecoverPartitions struct {
	Database, Name string
}

// AlterTableAddPartition is ALTER TABLE db.name ADD [IF NOT EXISTS]
// PARTITION (col=value, …) [LOCATION 's3://…']. Location is "" when not
// given (the executor derives it from the table root).
type AlterTableAddPartition struct {
	Database, Name string
	Spec           []PartitionValue
	Location       string
	IfNotExists    bool
}

// AlterTableDropPartition is ALTER TABLE db.name DROP [IF EXISTS]
// PARTITION (col=value, …).
type AlterTableDropPartition struct {
	Database, Name string
	Spec           []PartitionValue
	IfExists       bool
}

// ShowDatabases is SHOW DATABASES (or SHOW SCHEMAS).
type ShowDatabases struct{}

// ShowTables is SHOW TABLES [IN db] (FROM db is accepted for IN).
// Database is "" when no database is named.
type ShowTables struct {
	Database string
}

// Describe is DESCRIBE [FORMATTED] db.table (DESC for DESCRIBE, EXTENDED
// for FORMATTED).
type Describe struct {
	Database, Table string
	Formatted       bool
}

// ShowCreateTable is SHOW CREATE TABLE db.table.
type ShowCreateTable struct {
	Database, Table string
}

// ShowPartitions is SHOW PARTITIONS db.table.
type ShowPartitions struct {
	Database, Table string
}

func (*CreateDatabase) statement()              {}
func (*DropDatabase) statement()                {}
func (*CreateTable) statement()                 {}
func (*DropTable) statement()                   {}
func (*AlterTableSetLocation) statement()       {}
func (*AlterTableAddColumns) statement()        {}
func (*AlterTableRename) statement()            {}
func (*AlterTableRecoverPartitions) statement() {}
func (*AlterTableAddPartition) statement()      {}
func (*AlterTableDropPartition) statement()     {}
func (*ShowDatabases) statement()               {}
func (*ShowTables) statement()                  {}
func (*Describe) statement()                    {}
func (*ShowCreateTable) statement()             {}
func (*ShowPartitions) statement()              {}
