package authz

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/lakegate/lakegate/internal/grants"
	"github.com/lakegate/lakegate/internal/policy"
	"github.com/lakegate/lakegate/internal/store"
)

// The catalog statements (CREATE DATABASE, CREATE EXTERNAL TABLE, ALTER
// TABLE, DROP …). They change the policy like GRANT does: in the script's
// one transaction, raising the policy version, so every proxy follows a
// table's location at once.
//
// Who may run them: catalog admins, and holders of the catalog privilege
// on the object (policy.Holds: the table, its database or SERVER):
//
//	CREATE DATABASE                    CREATE on SERVER
//	DROP DATABASE d                    DROP on d
//	CREATE TABLE d.t                   CREATE on d
//	DROP TABLE d.t                     DROP on d.t
//	ALTER TABLE d.t …                  ALTER on d.t
//	ALTER TABLE d.t RENAME TO e.u      ALTER on d.t and CREATE on e
//
// A location is authorization scope: whoever holds a grant on a table
// reads its files. So a user who is not a catalog admin may give a table
// (or partition) a location only where they hold ALL themselves (also the
// file's directory LIKE PARQUET defaults to, and every location of a table
// they rename, whose new name brings other grants), and may read a schema
// (LIKE PARQUET) only from a file they may SELECT.
//
// Dropping or renaming a table or database takes its grants with it
// (Sentry's rule): a table created later under the old name starts with
// none.

// Files reads the data lake on lakegate's own behalf, with the bucket's
// upstream credentials, for the statements that look at files.
type Files interface {
	// ParquetSchema returns the columns of the Parquet file at bucket/key
	// as Hive types. An object that is not Parquet is an error saying so.
	ParquetSchema(ctx context.Context, bucket, key string) ([]store.Column, error)
	// Partitions lists the Hive-style partition directories
	// (col=value/…, in the order of columns) below the directory root of
	// bucket; values are unescaped.
	Partitions(ctx context.Context, bucket, root string, columns []string) ([]FoundPartition, error)
}

// FoundPartition is a partition directory a listing found.
type FoundPartition struct {
	// Values are the partition column values, unescaped, in column order.
	Values []string
	// Path is the directory's key prefix in the bucket, without the
	// trailing '/'.
	Path string
}

// errNoFiles is the failure of a statement that reads files when the
// engine has no Files.
var errNoFiles = fmt.Errorf("%w: this server cannot read the data lake (no upstream)", ErrInvalid)

// isCatalogShow reports whether st reads the catalog.
func isCatalogShow(st grants.Statement) bool {
	switch st.(type) {
	case *grants.ShowDatabases, *grants.ShowTables, *grants.Describe, *grants.ShowCreateTable, *grants.ShowPartitions:
		return true
	}
	return false
}

// isCatalogChange reports whether st changes the catalog.
func isCatalogChange(st grants.Statement) bool {
	switch st.(type) {
	case *grants.CreateDatabase, *grants.DropDatabase, *grants.CreateTable, *grants.DropTable,
		*grants.AlterTableSetLocation, *grants.AlterTableAddColumns, *grants.AlterTableRename,
		*grants.AlterTableRecoverPartitions, *grants.AlterTableAddPartition, *grants.AlterTableDropPartition,
		*grants.AlterTableSetAttributes:
		return true
	}
	return false
}

// ddlRun is what one script's catalog statements need besides the
// transaction: who runs them, the policy in force to decide that, and what
// was read from files before the transaction began (network reads never
// happen inside it, which may run more than once).
type ddlRun struct {
	e      *Engine
	snap   *snapshot
	caller Principal
	admin  bool
	// schemas holds the columns read for each LIKE PARQUET statement, and
	// found the partitions listed for each RECOVER PARTITIONS, by
	// statement index, with the location listed.
	schemas map[int][]store.Column
	found   map[int]recovered
}

type recovered struct {
	location string
	parts    []FoundPartition
}

// authorize refuses a catalog change the caller may not make.
func (r *ddlRun) authorize(st grants.Statement) error {
	if r.admin {
		return nil
	}
	need := func(o grants.Object, priv grants.Privilege) error {
		if r.snap.pol.Holds(r.caller.Groups, o, priv) != nil {
			return nil
		}
		return fmt.Errorf("%w: %s on %s is needed", ErrForbidden, priv, o)
	}
	db := func(name string) grants.Object { return grants.Object{Kind: grants.ObjectDatabase, Database: name} }
	table := func(d, t string) grants.Object { return grants.Object{Kind: grants.ObjectTable, Database: d, Table: t} }
	switch s := st.(type) {
	case *grants.CreateDatabase:
		return need(grants.Object{Kind: grants.ObjectServer}, grants.Create)
	case *grants.DropDatabase:
		return need(db(s.Name), grants.Drop)
	case *grants.CreateTable:
		if err := need(db(s.Database), grants.Create); err != nil {
			return err
		}
		if s.LikeParquet != "" {
			if err := r.needFiles(s.LikeParquet, grants.Select); err != nil {
				return err
			}
		}
		if loc := tableLocation(s); loc != "" {
			return r.needFiles(loc, grants.All)
		}
		return nil
	case *grants.DropTable:
		return need(table(s.Database, s.Name), grants.Drop)
	case *grants.AlterTableSetLocation:
		if err := need(table(s.Database, s.Name), grants.Alter); err != nil {
			return err
		}
		return r.needFiles(s.Location, grants.All)
	case *grants.AlterTableAddPartition:
		if err := need(table(s.Database, s.Name), grants.Alter); err != nil {
			return err
		}
		if s.Location != "" {
			return r.needFiles(s.Location, grants.All)
		}
		return nil
	case *grants.AlterTableRename:
		if err := need(table(s.Database, s.Name), grants.Alter); err != nil {
			return err
		}
		if err := need(db(s.NewDatabase), grants.Create); err != nil {
			return err
		}
		// The new name brings the grants on it and on its database to the
		// table's files: as creating the table there would, that needs ALL
		// on every location the table has.
		if t, ok := r.snap.table(s.Database, s.Name); ok {
			if err := r.needFiles(t.Location, grants.All); err != nil {
				return err
			}
			for _, p := range t.Partitions {
				if err := r.needFiles(p.Location, grants.All); err != nil {
					return err
				}
			}
		}
		return nil
	case *grants.AlterTableAddColumns:
		return need(table(s.Database, s.Name), grants.Alter)
	case *grants.AlterTableRecoverPartitions:
		return need(table(s.Database, s.Name), grants.Alter)
	case *grants.AlterTableDropPartition:
		return need(table(s.Database, s.Name), grants.Alter)
	case *grants.AlterTableSetAttributes:
		// Attributes decide masks and visibility for every grant
		// written on them: only catalog admins tag columns.
		return fmt.Errorf("%w: only catalog admins (ALL ON SERVER) may set column attributes", ErrForbidden)
	}
	return fmt.Errorf("%w: only catalog admins (ALL ON SERVER) may change the policy", ErrForbidden)
}

func policyRequest(p Principal, priv grants.Privilege, uri string) policy.Request {
	return policy.Request{User: p.User, Groups: p.Groups, Privilege: priv, URI: uri}
}

// needFiles refuses unless the caller holds priv on the files at uri, by
// the rules the access proxy applies.
func (r *ddlRun) needFiles(uri string, priv grants.Privilege) error {
	d := r.snap.pol.Evaluate(policyRequest(r.caller, priv, uri))
	if d.Allowed {
		return nil
	}
	return fmt.Errorf("%w: %s on %s is needed to use it as a location or schema source (%s)", ErrForbidden, priv, uri, d.Reason)
}

// prefetch reads, before the transaction, what LIKE PARQUET and RECOVER
// PARTITIONS need from files. A table created earlier in the same script
// is looked up among the script's statements.
func (r *ddlRun) prefetch(ctx context.Context, stmts []grants.Located, changes []int) error {
	created := map[string]*grants.CreateTable{}
	for _, i := range changes {
		switch s := stmts[i].Statement.(type) {
		case *grants.CreateTable:
			created[s.Database+"."+s.Name] = s
			if s.LikeParquet == "" {
				continue
			}
			if r.e.files == nil {
				return execErr(stmts[i], errNoFiles)
			}
			bucket, key, _ := splitLocation(s.LikeParquet)
			cols, err := r.e.files.ParquetSchema(ctx, bucket, key)
			if err != nil {
				return execErr(stmts[i], filesErr(err))
			}
			if len(cols) == 0 {
				return execErr(stmts[i], fmt.Errorf("%w: %s has no columns", ErrInvalid, s.LikeParquet))
			}
			if err := writableColumns(cols); err != nil {
				return execErr(stmts[i], fmt.Errorf("%w: %s: %v", ErrInvalid, s.LikeParquet, err))
			}
			r.schemas[i] = cols
		case *grants.AlterTableRecoverPartitions:
			if r.e.files == nil {
				return execErr(stmts[i], errNoFiles)
			}
			var loc string
			var cols []string
			if c := created[s.Database+"."+s.Name]; c != nil {
				loc = tableLocation(c)
				for _, p := range c.PartitionedBy {
					cols = append(cols, p.Name)
				}
			} else if t, ok := r.snap.table(s.Database, s.Name); ok {
				loc = t.Location
				for _, p := range t.PartitionColumns {
					cols = append(cols, p.Name)
				}
			} else {
				return execErr(stmts[i], fmt.Errorf("%w: table %s.%s does not exist", ErrInvalid, s.Database, s.Name))
			}
			if len(cols) == 0 {
				return execErr(stmts[i], fmt.Errorf("%w: table %s.%s is not partitioned", ErrInvalid, s.Database, s.Name))
			}
			bucket, root, err := splitLocation(loc)
			if err != nil {
				return execErr(stmts[i], err)
			}
			parts, err := r.e.files.Partitions(ctx, bucket, root, cols)
			if err != nil {
				return execErr(stmts[i], filesErr(err))
			}
			r.found[i] = recovered{location: loc, parts: parts}
		}
	}
	return nil
}

// writableColumns refuses columns read from a file that the grant
// language could not write back (SHOW CREATE TABLE must print a statement
// that runs): a name with a backquote or a control character, or a type
// that does not parse.
func writableColumns(cols []store.Column) error {
	if len(cols) > grants.MaxColumns {
		return fmt.Errorf("%d columns, more than %d", len(cols), grants.MaxColumns)
	}
	for _, c := range cols {
		if c.Name == "" || strings.ContainsFunc(c.Name, func(r rune) bool { return r == '`' || r < 0x20 || r == 0x7f }) {
			return fmt.Errorf("column name %q cannot be written in the grant language", c.Name)
		}
		if _, err := grants.ParseType(c.Type); err != nil {
			return fmt.Errorf("column %s: type %q: %v", c.Name, c.Type, err)
		}
	}
	return nil
}

// filesErr keeps a Files failure's message (it names the object, not
// secrets) as an invalid request unless the store is unavailable.
func filesErr(err error) error {
	if errors.Is(err, ErrInvalid) || errors.Is(err, ErrForbidden) || store.IsUnavailable(err) {
		return err
	}
	return fmt.Errorf("%w: %v", ErrInvalid, err)
}

// applyCatalog carries out one catalog change inside tx; i is the
// statement's index in its script.
func (r *ddlRun) applyCatalog(ctx context.Context, tx store.PolicyTx, i int, st grants.Statement) (string, error) {
	switch s := st.(type) {
	case *grants.CreateDatabase:
		err := tx.CreateDatabase(ctx, store.Database{Name: s.Name, Comment: s.Comment, Location: s.Location})
		switch {
		case errors.Is(err, store.ErrExists) && s.IfNotExists:
			return "database " + s.Name + " already exists", nil
		case errors.Is(err, store.ErrExists):
			return "", fmt.Errorf("%w: database %s already exists", ErrInvalid, s.Name)
		case err != nil:
			return "", err
		}
		return "database " + s.Name + " created", nil
	case *grants.DropDatabase:
		return r.dropDatabase(ctx, tx, s)
	case *grants.CreateTable:
		return r.createTable(ctx, tx, i, s)
	case *grants.DropTable:
		err := tx.DropTable(ctx, s.Database, s.Name)
		switch {
		case errors.Is(err, store.ErrNotFound) && s.IfExists:
			return "table " + s.Database + "." + s.Name + " does not exist", nil
		case errors.Is(err, store.ErrNotFound):
			return "", noTable(s.Database, s.Name)
		case err != nil:
			return "", err
		}
		n, err := tx.RemoveObjectGrants(ctx, grants.ObjectTable.String(), tableObject(s.Database, s.Name).ObjectKey())
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("table %s.%s dropped (its files are untouched; %d grant(s) on it removed)", s.Database, s.Name, n), nil
	case *grants.AlterTableSetLocation:
		return r.setLocation(ctx, tx, s)
	case *grants.AlterTableAddColumns:
		return r.alterTable(ctx, tx, s.Database, s.Name, func(t *store.Table) (string, error) {
			for _, c := range s.Columns {
				if hasColumn(t.Columns, c.Name) || hasColumn(t.PartitionColumns, c.Name) {
					return "", fmt.Errorf("%w: table %s.%s already has a column %s", ErrInvalid, s.Database, s.Name, c.Name)
				}
				t.Columns = append(t.Columns, storeColumn(c))
			}
			return fmt.Sprintf("%d column(s) added to %s.%s", len(s.Columns), s.Database, s.Name), nil
		})
	case *grants.AlterTableRename:
		return r.renameTable(ctx, tx, s)
	case *grants.AlterTableAddPartition:
		return r.addPartition(ctx, tx, s)
	case *grants.AlterTableDropPartition:
		t, err := getTable(ctx, tx, s.Database, s.Name)
		if err != nil {
			return "", err
		}
		spec, err := partitionSpec(t, s.Spec)
		if err != nil {
			return "", err
		}
		err = tx.DropPartition(ctx, s.Database, s.Name, spec)
		switch {
		case errors.Is(err, store.ErrNotFound) && s.IfExists:
			return "partition " + spec + " does not exist", nil
		case errors.Is(err, store.ErrNotFound):
			return "", fmt.Errorf("%w: table %s.%s has no partition %s", ErrInvalid, s.Database, s.Name, spec)
		case err != nil:
			return "", err
		}
		return "partition " + spec + " dropped (its files are untouched)", nil
	case *grants.AlterTableRecoverPartitions:
		return r.recoverPartitions(ctx, tx, i, s)
	case *grants.AlterTableSetAttributes:
		return r.alterTable(ctx, tx, s.Database, s.Name, func(t *store.Table) (string, error) {
			i := slices.IndexFunc(t.Columns, func(c store.Column) bool { return c.Name == s.Column })
			if i < 0 {
				return "", fmt.Errorf("%w: table %s.%s has no column %s", ErrInvalid, s.Database, s.Name, s.Column)
			}
			c := &t.Columns[i]
			if s.Unset {
				c.Attributes = slices.DeleteFunc(slices.Clone(c.Attributes), func(a string) bool { return slices.Contains(s.Attributes, a) })
			} else {
				c.Attributes = append(slices.Clone(c.Attributes), s.Attributes...)
				slices.Sort(c.Attributes)
				c.Attributes = slices.Compact(c.Attributes)
			}
			if len(c.Attributes) == 0 {
				c.Attributes = nil
			}
			return fmt.Sprintf("attributes of %s.%s.%s: %s", s.Database, s.Name, s.Column, strings.Join(c.Attributes, ", ")), nil
		})
	}
	return "", fmt.Errorf("%w: statement %T is not a catalog change", ErrInvalid, st)
}

// getTable reads a table inside tx, a missing one as an ErrInvalid
// "does not exist".
func getTable(ctx context.Context, tx store.PolicyTx, db, name string) (store.Table, error) {
	t, err := tx.GetTable(ctx, db, name)
	if errors.Is(err, store.ErrNotFound) {
		return store.Table{}, noTable(db, name)
	}
	return t, err
}

func noTable(db, name string) error {
	return fmt.Errorf("%w: table %s.%s does not exist", ErrInvalid, db, name)
}

func tableObject(db, name string) grants.Object {
	return grants.Object{Kind: grants.ObjectTable, Database: db, Table: name}
}

func (r *ddlRun) dropDatabase(ctx context.Context, tx store.PolicyTx, s *grants.DropDatabase) (string, error) {
	tables, err := tx.ListTables(ctx, s.Name)
	if err != nil {
		return "", err
	}
	err = tx.DropDatabase(ctx, s.Name, s.Cascade)
	switch {
	case errors.Is(err, store.ErrNotFound) && s.IfExists:
		return "database " + s.Name + " does not exist", nil
	case errors.Is(err, store.ErrNotFound):
		return "", fmt.Errorf("%w: database %s does not exist", ErrInvalid, s.Name)
	case errors.Is(err, store.ErrNotEmpty):
		return "", fmt.Errorf("%w: database %s holds %d table(s); drop them first or use DROP DATABASE … CASCADE", ErrInvalid, s.Name, len(tables))
	case err != nil:
		return "", err
	}
	n, err := tx.RemoveObjectGrants(ctx, grants.ObjectDatabase.String(),
		grants.Object{Kind: grants.ObjectDatabase, Database: s.Name}.ObjectKey())
	if err != nil {
		return "", err
	}
	for _, t := range tables {
		m, err := tx.RemoveObjectGrants(ctx, grants.ObjectTable.String(), tableObject(s.Name, t).ObjectKey())
		if err != nil {
			return "", err
		}
		n += m
	}
	return fmt.Sprintf("database %s dropped with %d table(s) (their files are untouched; %d grant(s) removed)", s.Name, len(tables), n), nil
}

func (r *ddlRun) createTable(ctx context.Context, tx store.PolicyTx, i int, s *grants.CreateTable) (string, error) {
	t := store.Table{Database: s.Database, Name: s.Name, Location: s.Location, Format: s.Format,
		Comment: s.Comment, FieldDelimiter: s.FieldDelimiter}
	for _, c := range s.Columns {
		t.Columns = append(t.Columns, storeColumn(c))
	}
	if s.LikeParquet != "" {
		if s.Format != grants.FormatParquet {
			return "", fmt.Errorf("%w: a table LIKE PARQUET is STORED AS PARQUET", ErrInvalid)
		}
		t.Columns = r.schemas[i]
		t.Location = tableLocation(s)
	}
	for _, c := range s.PartitionedBy {
		t.PartitionColumns = append(t.PartitionColumns, storeColumn(c))
	}
	if s.FieldDelimiter != "" && s.Format != grants.FormatTextFile {
		return "", fmt.Errorf("%w: ROW FORMAT DELIMITED applies to TEXTFILE tables, not %s", ErrInvalid, s.Format)
	}
	for _, p := range s.Properties {
		t.Properties = append(t.Properties, store.Property{Key: p.Key, Value: p.Value})
	}
	if err := distinctColumns(t); err != nil {
		return "", err
	}
	if t.Location == "" {
		return "", fmt.Errorf("%w: a table needs a LOCATION", ErrInvalid)
	}
	err := tx.CreateTable(ctx, t)
	switch {
	case errors.Is(err, store.ErrExists) && s.IfNotExists:
		return "table " + s.Database + "." + s.Name + " already exists", nil
	case errors.Is(err, store.ErrExists):
		return "", fmt.Errorf("%w: table %s.%s already exists", ErrInvalid, s.Database, s.Name)
	case errors.Is(err, store.ErrNotFound):
		return "", fmt.Errorf("%w: database %s does not exist", ErrInvalid, s.Database)
	case err != nil:
		return "", err
	}
	return fmt.Sprintf("table %s.%s created at %s (%d column(s))", s.Database, s.Name, t.Location, len(t.Columns)), nil
}

// tableLocation is the location s gives its table: its LOCATION, or for
// LIKE PARQUET without one Impala's default, the file's directory (the
// bucket for a file at its root). authorize checks this same location.
func tableLocation(s *grants.CreateTable) string {
	if s.Location == "" && s.LikeParquet != "" {
		return s.LikeParquet[:strings.LastIndex(s.LikeParquet, "/")]
	}
	return s.Location
}

// distinctColumns refuses a table naming a column twice, data and
// partition columns together.
func distinctColumns(t store.Table) error {
	seen := map[string]bool{}
	for _, c := range slices.Concat(t.Columns, t.PartitionColumns) {
		if seen[c.Name] {
			return fmt.Errorf("%w: column %s is named twice", ErrInvalid, c.Name)
		}
		seen[c.Name] = true
	}
	return nil
}

func hasColumn(cols []store.Column, name string) bool {
	return slices.ContainsFunc(cols, func(c store.Column) bool { return c.Name == name })
}

func storeColumn(c grants.ColumnDef) store.Column {
	return store.Column{Name: c.Name, Type: c.Type.String(), Comment: c.Comment}
}

// alterTable reads a table, lets change edit it and writes it back.
func (r *ddlRun) alterTable(ctx context.Context, tx store.PolicyTx, db, name string, change func(*store.Table) (string, error)) (string, error) {
	t, err := getTable(ctx, tx, db, name)
	if err != nil {
		return "", err
	}
	msg, err := change(&t)
	if err != nil {
		return "", err
	}
	if err := tx.PutTable(ctx, t); err != nil {
		return "", err
	}
	return msg, nil
}

// setLocation moves a table, and with it the partitions that lay under
// its old location (to the same place under the new one): the old path is
// no longer the table's, so no grant on the table reaches it any more.
// Partitions with locations of their own elsewhere stay where they are.
func (r *ddlRun) setLocation(ctx context.Context, tx store.PolicyTx, s *grants.AlterTableSetLocation) (string, error) {
	var moved []store.Partition
	msg, err := r.alterTable(ctx, tx, s.Database, s.Name, func(t *store.Table) (string, error) {
		old := t.Location
		for _, p := range t.Partitions {
			if rest, ok := strings.CutPrefix(p.Location, old+"/"); ok {
				moved = append(moved, store.Partition{Spec: p.Spec, Location: childLocation(s.Location, rest)})
			} else if p.Location == old {
				moved = append(moved, store.Partition{Spec: p.Spec, Location: s.Location})
			}
		}
		t.Location = s.Location
		return "location of " + s.Database + "." + s.Name + " changed from " + old + " to " + s.Location, nil
	})
	if err != nil {
		return "", err
	}
	for _, p := range moved {
		if err := tx.DropPartition(ctx, s.Database, s.Name, p.Spec); err != nil {
			return "", err
		}
		if err := tx.AddPartition(ctx, s.Database, s.Name, p); err != nil {
			return "", err
		}
	}
	if len(moved) > 0 {
		msg += fmt.Sprintf(" (%d partition(s) under it moved along)", len(moved))
	}
	return msg, nil
}

func (r *ddlRun) renameTable(ctx context.Context, tx store.PolicyTx, s *grants.AlterTableRename) (string, error) {
	if _, err := getTable(ctx, tx, s.Database, s.Name); err != nil {
		return "", err
	}
	err := tx.RenameTable(ctx, s.Database, s.Name, s.NewDatabase, s.NewName)
	switch {
	case errors.Is(err, store.ErrExists):
		return "", fmt.Errorf("%w: table %s.%s already exists", ErrInvalid, s.NewDatabase, s.NewName)
	case errors.Is(err, store.ErrNotFound):
		return "", fmt.Errorf("%w: database %s does not exist", ErrInvalid, s.NewDatabase)
	case err != nil:
		return "", err
	}
	n, err := tx.RenameObjectGrants(ctx, grants.ObjectTable.String(),
		tableObject(s.Database, s.Name).ObjectKey(), tableObject(s.NewDatabase, s.NewName).ObjectKey())
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("table %s.%s renamed to %s.%s (%d grant(s) follow it)", s.Database, s.Name, s.NewDatabase, s.NewName, n), nil
}

// partitionSpec checks a written partition specification against the
// table's partition columns (every one, in order) and returns the stored
// spec, "k=v/k2=w" with each value escaped the Hive way.
func partitionSpec(t store.Table, spec []grants.PartitionValue) (string, error) {
	if len(t.PartitionColumns) == 0 {
		return "", fmt.Errorf("%w: table %s.%s is not partitioned", ErrInvalid, t.Database, t.Name)
	}
	if len(spec) != len(t.PartitionColumns) {
		return "", fmt.Errorf("%w: a partition of %s.%s names every partition column, in order: %s",
			ErrInvalid, t.Database, t.Name, columnNames(t.PartitionColumns))
	}
	values := make([]string, len(spec))
	for i, v := range spec {
		if v.Column != t.PartitionColumns[i].Name {
			return "", fmt.Errorf("%w: a partition of %s.%s names every partition column, in order: %s",
				ErrInvalid, t.Database, t.Name, columnNames(t.PartitionColumns))
		}
		values[i] = v.Value
	}
	return specOf(t.PartitionColumns, values)
}

func columnNames(cols []store.Column) string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}

// specOf is the stored spec of values for cols: "k=v/k2=w", each value
// escaped as Hive escapes partition directory names. A value that is
// empty, or holds a control character, is refused.
func specOf(cols []store.Column, values []string) (string, error) {
	parts := make([]string, len(cols))
	for i, c := range cols {
		v := values[i]
		if v == "" {
			return "", fmt.Errorf("%w: partition column %s has an empty value", ErrInvalid, c.Name)
		}
		for _, r := range v {
			if r < 0x20 || r == 0x7f {
				return "", fmt.Errorf("%w: partition column %s's value holds a control character", ErrInvalid, c.Name)
			}
		}
		parts[i] = c.Name + "=" + hiveEscape(v)
	}
	return strings.Join(parts, "/"), nil
}

// hiveEscape escapes a partition value as Hive does in directory names:
// '%' followed by two upper-case hex digits for the characters Hive
// escapes (among them '/', '=', '%', ':', '#', '?', '\”, '"', '\\', '*',
// '[', ']', '^', '{' and DEL), so that "." and ".." become "%2E" and
// "%2E%2E" too and no value makes a path segment of its own.
func hiveEscape(v string) string {
	if v == "." || v == ".." {
		return strings.Repeat("%2E", len(v))
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if strings.IndexByte("\"#%'*/:=?\\\x7f{[]^", c) >= 0 {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// childLocation is the location of dir below location.
func childLocation(location, dir string) string {
	return location + "/" + dir
}

func (r *ddlRun) addPartition(ctx context.Context, tx store.PolicyTx, s *grants.AlterTableAddPartition) (string, error) {
	t, err := getTable(ctx, tx, s.Database, s.Name)
	if err != nil {
		return "", err
	}
	spec, err := partitionSpec(t, s.Spec)
	if err != nil {
		return "", err
	}
	loc := s.Location
	if loc == "" {
		loc = childLocation(t.Location, spec)
	}
	err = tx.AddPartition(ctx, s.Database, s.Name, store.Partition{Spec: spec, Location: loc})
	switch {
	case errors.Is(err, store.ErrExists) && s.IfNotExists:
		return "partition " + spec + " already exists", nil
	case errors.Is(err, store.ErrExists):
		return "", fmt.Errorf("%w: table %s.%s already has partition %s", ErrInvalid, s.Database, s.Name, spec)
	case err != nil:
		return "", err
	}
	return "partition " + spec + " added at " + loc, nil
}

func (r *ddlRun) recoverPartitions(ctx context.Context, tx store.PolicyTx, i int, s *grants.AlterTableRecoverPartitions) (string, error) {
	t, err := getTable(ctx, tx, s.Database, s.Name)
	if err != nil {
		return "", err
	}
	found := r.found[i]
	if found.location != t.Location {
		return "", fmt.Errorf("%w: the location of %s.%s changed while its partitions were listed; run the statement again", ErrInvalid, s.Database, s.Name)
	}
	_, root, err := splitLocation(t.Location)
	if err != nil {
		return "", err
	}
	have := map[string]bool{}
	for _, p := range t.Partitions {
		have[p.Spec] = true
	}
	added := 0
	for _, f := range found.parts {
		if len(f.Values) != len(t.PartitionColumns) {
			continue
		}
		spec, err := specOf(t.PartitionColumns, f.Values)
		if err != nil || have[spec] {
			continue // not a partition lakegate can name, or known already
		}
		rel, ok := strings.CutPrefix(f.Path, root)
		if root != "" && (!ok || !strings.HasPrefix(rel, "/")) {
			continue // not below the table's location
		}
		if path.Clean("/"+rel) != "/"+strings.TrimPrefix(rel, "/") {
			continue // dot segments or doubled slashes
		}
		loc := childLocation(t.Location, strings.TrimPrefix(rel, "/"))
		if err := tx.AddPartition(ctx, s.Database, s.Name, store.Partition{Spec: spec, Location: loc}); err != nil {
			if errors.Is(err, store.ErrExists) {
				continue
			}
			return "", err
		}
		have[spec] = true
		added++
	}
	return fmt.Sprintf("%d partition(s) recovered for %s.%s (%d directories found)", added, s.Database, s.Name, len(found.parts)), nil
}

// table returns the stored table db.name of the snapshot.
func (s *snapshot) table(db, name string) (store.Table, bool) {
	i, ok := slices.BinarySearchFunc(s.data.Tables, [2]string{db, name}, func(t store.Table, k [2]string) int {
		if c := strings.Compare(t.Database, k[0]); c != 0 {
			return c
		}
		return strings.Compare(t.Name, k[1])
	})
	if !ok {
		return store.Table{}, false
	}
	return s.data.Tables[i], true
}
