package grants

import "strings"

// quoteString prints s as a single-quoted literal. The lexer has no escapes,
// so a parsed string never holds ' or ’ or a newline; the printer relies on
// that.
func quoteString(s string) string { return "'" + s + "'" }

func qualified(db, table string) string { return quoteIdent(db) + "." + quoteIdent(table) }

func (s *CreateDatabase) String() string {
	var b strings.Builder
	b.WriteString("CREATE DATABASE ")
	if s.IfNotExists {
		b.WriteString("IF NOT EXISTS ")
	}
	b.WriteString(quoteIdent(s.Name))
	if s.Comment != "" {
		b.WriteString(" COMMENT " + quoteString(s.Comment))
	}
	if s.Location != "" {
		b.WriteString(" LOCATION " + quoteString(s.Location))
	}
	return b.String()
}

func (s *DropDatabase) String() string {
	out := "DROP DATABASE "
	if s.IfExists {
		out += "IF EXISTS "
	}
	out += quoteIdent(s.Name)
	if s.Cascade {
		out += " CASCADE"
	}
	return out
}

// String prints the table on one line. Pretty prints it over several.
func (s *CreateTable) String() string { return s.format(" ", "", "") }

// Pretty prints the table as SHOW CREATE TABLE shows it: one clause per
// line, one column per line indented by two spaces. It parses back to a
// value equal to s, like String.
func (s *CreateTable) Pretty() string { return s.format("\n", "  ", "\n") }

// format prints s with clauses separated by sep; columns and properties sit
// on lines of their own, indented by indent, when nl is a newline.
func (s *CreateTable) format(sep, indent, nl string) string {
	var b strings.Builder
	b.WriteString("CREATE EXTERNAL TABLE ")
	if s.IfNotExists {
		b.WriteString("IF NOT EXISTS ")
	}
	b.WriteString(qualified(s.Database, s.Name))
	b.WriteByte(' ')
	if s.LikeParquet != "" {
		b.WriteString("LIKE PARQUET " + quoteString(s.LikeParquet))
	} else {
		writeColumnDefs(&b, s.Columns, indent, nl)
	}
	if s.Comment != "" {
		b.WriteString(sep + "COMMENT " + quoteString(s.Comment))
	}
	if len(s.PartitionedBy) > 0 {
		b.WriteString(sep + "PARTITIONED BY ")
		writeColumnDefs(&b, s.PartitionedBy, indent, nl)
	}
	if s.FieldDelimiter != "" {
		b.WriteString(sep + "ROW FORMAT DELIMITED FIELDS TERMINATED BY " + quoteString(s.FieldDelimiter))
	}
	b.WriteString(sep + "STORED AS " + s.Format)
	if s.Location != "" {
		b.WriteString(sep + "LOCATION " + quoteString(s.Location))
	}
	if len(s.Properties) > 0 {
		b.WriteString(sep + "TBLPROPERTIES (")
		for i, p := range s.Properties {
			if i > 0 {
				b.WriteByte(',')
				if nl == "" {
					b.WriteByte(' ')
				}
			}
			b.WriteString(nl + indent + quoteString(p.Key) + "=" + quoteString(p.Value))
		}
		b.WriteString(nl + ")")
	}
	return b.String()
}

// writeColumnDefs prints (name type [COMMENT '…'], …).
func writeColumnDefs(b *strings.Builder, cols []ColumnDef, indent, nl string) {
	b.WriteByte('(')
	for i, c := range cols {
		if i > 0 {
			b.WriteByte(',')
			if nl == "" {
				b.WriteByte(' ')
			}
		}
		b.WriteString(nl + indent)
		b.WriteString(c.String())
	}
	b.WriteString(nl + ")")
}

// String prints the column as it appears in a column list.
func (c ColumnDef) String() string {
	out := quoteIdent(c.Name) + " " + c.Type.String()
	if c.Comment != "" {
		out += " COMMENT " + quoteString(c.Comment)
	}
	return out
}

func (s *DropTable) String() string {
	if s.IfExists {
		return "DROP TABLE IF EXISTS " + qualified(s.Database, s.Name)
	}
	return "DROP TABLE " + qualified(s.Database, s.Name)
}

func (s *AlterTableSetLocation) String() string {
	return "ALTER TABLE " + qualified(s.Database, s.Name) + " SET LOCATION " + quoteString(s.Location)
}

func (s *AlterTableAddColumns) String() string {
	var b strings.Builder
	b.WriteString("ALTER TABLE " + qualified(s.Database, s.Name) + " ADD COLUMNS ")
	writeColumnDefs(&b, s.Columns, "", "")
	return b.String()
}

func (s *AlterTableRename) String() string {
	return "ALTER TABLE " + qualified(s.Database, s.Name) + " RENAME TO " + qualified(s.NewDatabase, s.NewName)
}

func (s *AlterTableRecoverPartitions) String() string {
	return "ALTER TABLE " + qualified(s.Database, s.Name) + " RECOVER PARTITIONS"
}

func (s *AlterTableAddPartition) String() string {
	out := "ALTER TABLE " + qualified(s.Database, s.Name) + " ADD "
	if s.IfNotExists {
		out += "IF NOT EXISTS "
	}
	out += "PARTITION " + PartitionSpecString(s.Spec)
	if s.Location != "" {
		out += " LOCATION " + quoteString(s.Location)
	}
	return out
}

func (s *AlterTableDropPartition) String() string {
	out := "ALTER TABLE " + qualified(s.Database, s.Name) + " DROP "
	if s.IfExists {
		out += "IF EXISTS "
	}
	return out + "PARTITION " + PartitionSpecString(s.Spec)
}

// PartitionSpecString prints a partition specification as it follows
// PARTITION: (col='value', …), every value quoted.
func PartitionSpecString(spec []PartitionValue) string {
	var b strings.Builder
	b.WriteByte('(')
	for i, v := range spec {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quoteIdent(v.Column) + "=" + quoteString(v.Value))
	}
	b.WriteByte(')')
	return b.String()
}

func (*ShowDatabases) String() string { return "SHOW DATABASES" }

func (s *ShowTables) String() string {
	if s.Database == "" {
		return "SHOW TABLES"
	}
	return "SHOW TABLES IN " + quoteIdent(s.Database)
}

func (s *Describe) String() string {
	if s.Formatted {
		return "DESCRIBE FORMATTED " + qualified(s.Database, s.Table)
	}
	return "DESCRIBE " + qualified(s.Database, s.Table)
}

func (s *ShowCreateTable) String() string {
	return "SHOW CREATE TABLE " + qualified(s.Database, s.Table)
}

func (s *ShowPartitions) String() string {
	return "SHOW PARTITIONS " + qualified(s.Database, s.Table)
}
