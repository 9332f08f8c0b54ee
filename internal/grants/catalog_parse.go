package grants

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The catalog statements' keywords (EXTERNAL, LOCATION, COMMENT, STORED,
// PARTITIONED, TABLES, …) are contextual: they are keywords only where the
// grammar expects one, so they stay usable as bare database, table and
// column names. Only the words in reserved need backquotes.

// lowerASCII lower-cases the ASCII letters of a catalog name. Other
// letters are kept: Go's and Java's Unicode case rules differ, and an
// ASCII-only rule is the same everywhere.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// name consumes a database, table, column or struct field name and
// lower-cases it.
func (p *parser) name(what string) (string, error) {
	s, err := p.ident(what)
	return lowerASCII(s), err
}

// catalogName consumes a database or table name. It holds no '.':
// "d.t" names a table (in grant objects, the policy and REST paths), so a
// quoted `d.x` beside d.`x` would name two objects alike.
func (p *parser) catalogName(what string) (string, error) {
	t := p.peek()
	s, err := p.name(what)
	if err == nil && strings.Contains(s, ".") {
		return "", p.errorf(t, "%s %q holds a '.', which catalog names cannot (tables are named database.table)", what, s)
	}
	return s, err
}

// tableName consumes a qualified db.table name.
func (p *parser) tableName() (db, table string, err error) {
	if db, err = p.catalogName("database name"); err != nil {
		return "", "", err
	}
	if err := p.expectPunct(".", ". (tables are named database.table)"); err != nil {
		return "", "", err
	}
	if table, err = p.catalogName("table name"); err != nil {
		return "", "", err
	}
	return db, table, nil
}

// stringLit consumes a string literal; what names it in the error.
func (p *parser) stringLit(what string) (string, token, error) {
	t := p.peek()
	if t.kind == tokDString {
		return "", t, p.errorf(t, "expected %s, found %s (strings take single quotes)", what, t.describe(p.src))
	}
	if t.kind != tokString {
		return "", t, p.errorf(t, "expected %s, found %s", what, t.describe(p.src))
	}
	p.next()
	return t.text, t, nil
}

// boundedString consumes a string literal of at most MaxCommentBytes.
func (p *parser) boundedString(what string) (string, error) {
	s, t, err := p.stringLit(what)
	if err != nil {
		return "", err
	}
	if len(s) > MaxCommentBytes {
		return "", p.errorf(t, "%s is %d bytes long; the limit is %d", what, len(s), MaxCommentBytes)
	}
	return s, nil
}

// optComment consumes [COMMENT 'text'].
func (p *parser) optComment() (string, error) {
	if !p.isKeyword("COMMENT") {
		return "", nil
	}
	p.next()
	return p.boundedString("a quoted comment")
}

// location consumes a quoted table, partition or database location and
// returns its canonical form.
func (p *parser) location() (string, error) {
	s, t, err := p.stringLit("a quoted location like 's3://bucket/path'")
	if err != nil {
		return "", err
	}
	loc, msg := parseLocation(s)
	if msg != "" {
		return "", p.errorf(t, "invalid location %q: %s", s, msg)
	}
	return loc, nil
}

// parseLocation checks a location (a directory, and authorization scope)
// and returns it as s3://bucket[/path] without a trailing slash. msg is
// empty when the location is valid.
func parseLocation(uri string) (loc, msg string) {
	bucket, path, msg := parseURI(uri)
	if msg != "" {
		return "", msg
	}
	if m := checkLocationPath(path); m != "" {
		return "", m
	}
	path = strings.TrimSuffix(path, "/")
	for seg := range strings.SplitSeq(path, "/") {
		switch seg {
		case "":
			if path != "" {
				return "", "the path has an empty segment (//)"
			}
		case ".", "..":
			return "", fmt.Sprintf("the path has a %q segment", seg)
		}
	}
	if path == "" {
		return "s3://" + bucket, ""
	}
	return "s3://" + bucket + "/" + path, ""
}

// checkLocationPath refuses characters that readers of a URI treat
// differently: control characters, and the query and fragment marks.
func checkLocationPath(path string) string {
	if strings.HasPrefix(path, "/") {
		return "the path has an empty segment (//)"
	}
	for _, r := range path {
		switch {
		case unicode.IsControl(r):
			return "the path holds a control character"
		case r == '?' || r == '#':
			return fmt.Sprintf("the path holds %q (write the location without a query or fragment)", r)
		}
	}
	return ""
}

// parquetFile consumes the quoted URI of LIKE PARQUET: a file, so it must
// name an object below the bucket and not end in '/'.
func (p *parser) parquetFile() (string, error) {
	s, t, err := p.stringLit("a quoted file URI like 's3://bucket/path/file.parquet'")
	if err != nil {
		return "", err
	}
	if strings.HasSuffix(s, "/") {
		return "", p.errorf(t, "invalid file URI %q: LIKE PARQUET names a file, not a directory ending in /", s)
	}
	loc, msg := parseLocation(s)
	if msg == "" && !strings.Contains(strings.TrimPrefix(loc, "s3://"), "/") {
		msg = "LIKE PARQUET names a file, not a bucket"
	}
	if msg != "" {
		return "", p.errorf(t, "invalid file URI %q: %s", s, msg)
	}
	return loc, nil
}

// ifNotExists consumes [IF NOT EXISTS].
func (p *parser) ifNotExists() (bool, error) {
	if !p.isKeyword("IF") {
		return false, nil
	}
	p.next()
	if err := p.expect("NOT", "EXISTS"); err != nil {
		return false, err
	}
	return true, nil
}

// ifExists consumes [IF EXISTS].
func (p *parser) ifExists() (bool, error) {
	if !p.isKeyword("IF") {
		return false, nil
	}
	p.next()
	if err := p.expect("EXISTS"); err != nil {
		return false, err
	}
	return true, nil
}

// create parses what follows CREATE.
func (p *parser) create() (Statement, error) {
	t := p.peek()
	switch {
	case isKeyword(t, "ROLE"):
		return p.createRole()
	case isKeyword(t, "DATABASE"), isKeyword(t, "SCHEMA"):
		p.next()
		return p.createDatabase()
	case isKeyword(t, "EXTERNAL"):
		p.next()
		if err := p.expect("TABLE"); err != nil {
			return nil, err
		}
		return p.createTable()
	case isKeyword(t, "TABLE"):
		// lakegate never owns data: every table is external.
		p.next()
		return p.createTable()
	}
	return nil, p.errorf(t, "expected ROLE, DATABASE, EXTERNAL TABLE or TABLE after CREATE, found %s", t.describe(p.src))
}

// drop parses what follows DROP.
func (p *parser) drop() (Statement, error) {
	t := p.peek()
	switch {
	case isKeyword(t, "ROLE"):
		return p.dropRole()
	case isKeyword(t, "DATABASE"), isKeyword(t, "SCHEMA"):
		p.next()
		st := &DropDatabase{}
		var err error
		if st.IfExists, err = p.ifExists(); err != nil {
			return nil, err
		}
		if st.Name, err = p.catalogName("database name"); err != nil {
			return nil, err
		}
		switch {
		case p.isKeyword("CASCADE"):
			p.next()
			st.Cascade = true
		case p.isKeyword("RESTRICT"):
			p.next()
		}
		return st, nil
	case isKeyword(t, "TABLE"):
		p.next()
		st := &DropTable{}
		var err error
		if st.IfExists, err = p.ifExists(); err != nil {
			return nil, err
		}
		if st.Database, st.Name, err = p.tableName(); err != nil {
			return nil, err
		}
		if p.isKeyword("PURGE") {
			return nil, p.errorf(p.peek(), "DROP TABLE … PURGE is not supported: lakegate never deletes a table's files")
		}
		return st, nil
	}
	return nil, p.errorf(t, "expected ROLE, DATABASE or TABLE after DROP, found %s", t.describe(p.src))
}

func (p *parser) createDatabase() (Statement, error) {
	st := &CreateDatabase{}
	var err error
	if st.IfNotExists, err = p.ifNotExists(); err != nil {
		return nil, err
	}
	if st.Name, err = p.catalogName("database name"); err != nil {
		return nil, err
	}
	if st.Comment, err = p.optComment(); err != nil {
		return nil, err
	}
	if p.isKeyword("LOCATION") {
		p.next()
		if st.Location, err = p.location(); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// The clauses after a table's columns, in Hive's order.
const (
	clauseComment = iota
	clausePartitioned
	clauseRowFormat
	clauseStored
	clauseLocation
	clauseProperties
	numClauses
)

var clauseNames = [numClauses]string{"COMMENT", "PARTITIONED BY", "ROW FORMAT", "STORED AS", "LOCATION", "TBLPROPERTIES"}

// clauseWanted is how an error message asks for a missing clause.
var clauseWanted = [numClauses]string{
	clauseStored:   "STORED AS PARQUET, ORC, AVRO, TEXTFILE or JSONFILE",
	clauseLocation: "LOCATION 's3://bucket/path'",
}

const clauseOrder = "COMMENT, PARTITIONED BY, ROW FORMAT, STORED AS, LOCATION, TBLPROPERTIES"

func clauseOf(t token) int {
	if t.kind != tokWord {
		return -1
	}
	for i, n := range clauseNames {
		kw, _, _ := strings.Cut(n, " ")
		if strings.EqualFold(t.text, kw) {
			return i
		}
	}
	return -1
}

var formats = []string{FormatParquet, FormatORC, FormatAvro, FormatTextFile, FormatJSONFile}

func (p *parser) createTable() (Statement, error) {
	st := &CreateTable{}
	var err error
	if st.IfNotExists, err = p.ifNotExists(); err != nil {
		return nil, err
	}
	if st.Database, st.Name, err = p.tableName(); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var required [numClauses]bool
	switch t := p.peek(); {
	case isKeyword(t, "LIKE"):
		p.next()
		if !p.isKeyword("PARQUET") {
			return nil, p.errorf(p.peek(), "expected PARQUET after LIKE (only LIKE PARQUET 's3://…/file.parquet' is supported), found %s", p.peek().describe(p.src))
		}
		p.next()
		if st.LikeParquet, err = p.parquetFile(); err != nil {
			return nil, err
		}
	case t.kind == tokPunct && t.text == "(":
		if st.Columns, err = p.columnDefs("column", seen, 0); err != nil {
			return nil, err
		}
		required[clauseStored], required[clauseLocation] = true, true
	default:
		return nil, p.errorf(t, "expected ( and the column list, or LIKE PARQUET 's3://…', found %s", t.describe(p.src))
	}

	last := -1
	for {
		t := p.peek()
		c := clauseOf(t)
		if c < 0 {
			break
		}
		switch {
		case c == last:
			return nil, p.errorf(t, "%s given twice", clauseNames[c])
		case c < last:
			return nil, p.errorf(t, "%s must come before %s (the clause order is %s)", clauseNames[c], clauseNames[last], clauseOrder)
		}
		for j := last + 1; j < c; j++ {
			if required[j] {
				return nil, p.errorf(t, "expected %s before %s", clauseWanted[j], clauseNames[c])
			}
		}
		if err := p.tableClause(st, c, seen); err != nil {
			return nil, err
		}
		last = c
	}
	t := p.peek()
	for j := last + 1; j < numClauses; j++ {
		if required[j] {
			return nil, p.errorf(t, "expected %s, found %s", clauseWanted[j], t.describe(p.src))
		}
	}
	if st.Format == "" {
		st.Format = FormatParquet // only LIKE PARQUET may omit STORED AS
	}
	if t.kind != tokEOF && !(t.kind == tokPunct && t.text == ";") {
		var allowed []string
		for j := last + 1; j < numClauses; j++ {
			allowed = append(allowed, clauseNames[j])
		}
		allowed = append(allowed, "; or end of input")
		return nil, p.errorf(t, "expected %s, found %s", strings.Join(allowed, ", "), t.describe(p.src))
	}
	return st, nil
}

// tableClause parses clause c of CREATE TABLE into st.
func (p *parser) tableClause(st *CreateTable, c int, seen map[string]bool) error {
	p.next()
	var err error
	switch c {
	case clauseComment:
		st.Comment, err = p.boundedString("a quoted comment")
	case clausePartitioned:
		if err := p.expect("BY"); err != nil {
			return err
		}
		st.PartitionedBy, err = p.columnDefs("partition column", seen, len(st.Columns))
	case clauseRowFormat:
		if err := p.expect("FORMAT"); err != nil {
			return err
		}
		if !p.isKeyword("DELIMITED") {
			t := p.peek()
			return p.errorf(t, "expected DELIMITED (only ROW FORMAT DELIMITED is supported), found %s", t.describe(p.src))
		}
		p.next()
		if p.isKeyword("FIELDS") {
			p.next()
			if err := p.expect("TERMINATED", "BY"); err != nil {
				return err
			}
			s, t, err := p.stringLit("a quoted delimiter like ','")
			if err != nil {
				return err
			}
			if !validDelimiter(s) {
				return p.errorf(t, "invalid field delimiter %q: one character, or an escape such as '\\t' or '\\001'", s)
			}
			st.FieldDelimiter = s
		}
	case clauseStored:
		if err := p.expect("AS"); err != nil {
			return err
		}
		t := p.peek()
		for _, f := range formats {
			if isKeyword(t, f) {
				p.next()
				st.Format = f
				return nil
			}
		}
		return p.errorf(t, "expected a storage format (PARQUET, ORC, AVRO, TEXTFILE or JSONFILE), found %s", t.describe(p.src))
	case clauseLocation:
		st.Location, err = p.location()
	case clauseProperties:
		st.Properties, err = p.properties()
	}
	return err
}

// validDelimiter accepts one character that is not a control character,
// or one of Hive's escapes: \t \n \r \\ or one to three octal digits.
func validDelimiter(s string) bool {
	if r, n := utf8.DecodeRuneInString(s); n == len(s) && n > 0 {
		return r != utf8.RuneError && !unicode.IsControl(r) && r != '\\'
	}
	esc, ok := strings.CutPrefix(s, `\`)
	if !ok {
		return false
	}
	switch esc {
	case "t", "n", "r", `\`:
		return true
	}
	return len(esc) >= 1 && len(esc) <= 3 && strings.Trim(esc, "01234567") == ""
}

// parenList parses ( item, … ): a "(" (open names the list in the error
// for its absence), then item for each element, each followed by "," or
// the closing ")" (after names the element in the error).
func (p *parser) parenList(open, after string, item func() error) error {
	if err := p.expectPunct("(", "( and "+open); err != nil {
		return err
	}
	for {
		if err := item(); err != nil {
			return err
		}
		if p.isPunct(",") {
			p.next()
			continue
		}
		return p.expectPunct(")", ", or ) after "+after)
	}
}

// columnDefs parses ( name type [COMMENT '…'], … ). seen holds the names
// already used by the table (and gains these); before is how many columns
// the table has before this list.
func (p *parser) columnDefs(what string, seen map[string]bool, before int) ([]ColumnDef, error) {
	var cols []ColumnDef
	err := p.parenList("the "+what+" list", "the "+what, func() error {
		if len(cols) == 0 && p.isPunct(")") {
			return p.errorf(p.peek(), "expected a %s name: the list needs at least one", what)
		}
		t := p.peek()
		name, err := p.name(what + " name")
		if err != nil {
			return err
		}
		if seen[name] {
			return p.errorf(t, "column %s given twice", quoteIdent(name))
		}
		if before+len(cols) >= MaxColumns {
			return p.errorf(t, "a table has more than %d columns", MaxColumns)
		}
		seen[name] = true
		typ, err := p.typ(0)
		if err != nil {
			return err
		}
		comment, err := p.optComment()
		if err != nil {
			return err
		}
		cols = append(cols, ColumnDef{Name: name, Type: typ, Comment: comment})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return cols, nil
}

// properties parses ( 'key' = 'value', … ).
func (p *parser) properties() ([]Property, error) {
	var props []Property
	seen := map[string]bool{}
	err := p.parenList("the table properties", "the property", func() error {
		kt := p.peek()
		key, err := p.boundedString("a quoted property key")
		if err != nil {
			return err
		}
		switch {
		case key == "":
			return p.errorf(kt, "a property key is empty")
		case seen[key]:
			return p.errorf(kt, "property %s given twice", quoteString(key))
		case len(props) == MaxProperties:
			return p.errorf(kt, "a table has more than %d properties", MaxProperties)
		}
		seen[key] = true
		if err := p.expectOther("=", "= after the property key"); err != nil {
			return err
		}
		val, err := p.boundedString("a quoted property value")
		if err != nil {
			return err
		}
		props = append(props, Property{Key: key, Value: val})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return props, nil
}

// partitionSpec parses ( col = value, … ), values being string or number
// literals kept as their text.
func (p *parser) partitionSpec() ([]PartitionValue, error) {
	var spec []PartitionValue
	seen := map[string]bool{}
	err := p.parenList("the partition values", "the partition value", func() error {
		ct := p.peek()
		col, err := p.name("partition column name")
		if err != nil {
			return err
		}
		switch {
		case seen[col]:
			return p.errorf(ct, "partition column %s given twice", quoteIdent(col))
		case len(spec) == MaxColumns:
			return p.errorf(ct, "a partition has more than %d values", MaxColumns)
		}
		seen[col] = true
		if err := p.expectOther("=", "= after the partition column"); err != nil {
			return err
		}
		val, err := p.partitionValue(col)
		if err != nil {
			return err
		}
		spec = append(spec, PartitionValue{Column: col, Value: val})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return spec, nil
}

// partitionValue consumes a string or number literal. A value names a
// directory (col=value/), so it may not be empty nor hold '/' or a
// control character.
func (p *parser) partitionValue(col string) (string, error) {
	t := p.peek()
	switch {
	case t.kind == tokString:
		p.next()
		switch {
		case t.text == "":
			return "", p.errorf(t, "the value of partition column %s is empty", quoteIdent(col))
		case len(t.text) > MaxCommentBytes:
			return "", p.errorf(t, "the value of partition column %s is longer than %d bytes", quoteIdent(col), MaxCommentBytes)
		case strings.ContainsRune(t.text, '/'):
			return "", p.errorf(t, "the value of partition column %s holds '/'", quoteIdent(col))
		case strings.ContainsFunc(t.text, unicode.IsControl):
			return "", p.errorf(t, "the value of partition column %s holds a control character", quoteIdent(col))
		}
		return t.text, nil
	case t.kind == tokNumber, t.kind == tokOther && t.text == "-" && p.peekAt(1).kind == tokNumber:
		sign := ""
		if t.kind == tokOther {
			p.next()
			sign = "-"
		}
		n := p.next()
		if !isDecimalLiteral(n.text) {
			return "", p.errorf(n, "invalid number %s: write digits with an optional fraction, or quote the value", n.describe(p.src))
		}
		return sign + n.text, nil
	}
	return "", p.errorf(t, "expected a quoted string or a number as the value of partition column %s, found %s", quoteIdent(col), t.describe(p.src))
}

// isDecimalLiteral reports whether s is digits with an optional fraction.
func isDecimalLiteral(s string) bool {
	whole, frac, dot := strings.Cut(s, ".")
	digits := func(x string) bool { return x != "" && strings.Trim(x, "0123456789") == "" }
	return digits(whole) && (!dot || digits(frac))
}

// alterTable parses what follows ALTER.
func (p *parser) alterTable() (Statement, error) {
	if err := p.expect("TABLE"); err != nil {
		return nil, err
	}
	db, name, err := p.tableName()
	if err != nil {
		return nil, err
	}
	t := p.peek()
	switch {
	case isKeyword(t, "ALTER"):
		p.next()
		return p.alterColumnAttributes(db, name)
	case isKeyword(t, "SET"):
		p.next()
		if err := p.expect("LOCATION"); err != nil {
			return nil, err
		}
		loc, err := p.location()
		if err != nil {
			return nil, err
		}
		return &AlterTableSetLocation{Database: db, Name: name, Location: loc}, nil
	case isKeyword(t, "RENAME"):
		p.next()
		if err := p.expect("TO"); err != nil {
			return nil, err
		}
		ndb, nname, err := p.tableName()
		if err != nil {
			return nil, err
		}
		return &AlterTableRename{Database: db, Name: name, NewDatabase: ndb, NewName: nname}, nil
	case isKeyword(t, "RECOVER"):
		p.next()
		if err := p.expect("PARTITIONS"); err != nil {
			return nil, err
		}
		return &AlterTableRecoverPartitions{Database: db, Name: name}, nil
	case isKeyword(t, "ADD"):
		p.next()
		if p.isKeyword("COLUMNS") {
			p.next()
			cols, err := p.columnDefs("column", map[string]bool{}, 0)
			if err != nil {
				return nil, err
			}
			return &AlterTableAddColumns{Database: db, Name: name, Columns: cols}, nil
		}
		st := &AlterTableAddPartition{Database: db, Name: name}
		if st.IfNotExists, err = p.ifNotExists(); err != nil {
			return nil, err
		}
		if !p.isKeyword("PARTITION") {
			want := "COLUMNS, IF NOT EXISTS or PARTITION"
			if st.IfNotExists {
				want = "PARTITION"
			}
			return nil, p.errorf(p.peek(), "expected %s after ADD, found %s", want, p.peek().describe(p.src))
		}
		p.next()
		if st.Spec, err = p.partitionSpec(); err != nil {
			return nil, err
		}
		if p.isKeyword("LOCATION") {
			p.next()
			if st.Location, err = p.location(); err != nil {
				return nil, err
			}
		}
		return st, nil
	case isKeyword(t, "DROP"):
		p.next()
		st := &AlterTableDropPartition{Database: db, Name: name}
		if st.IfExists, err = p.ifExists(); err != nil {
			return nil, err
		}
		if err := p.expect("PARTITION"); err != nil {
			return nil, err
		}
		if st.Spec, err = p.partitionSpec(); err != nil {
			return nil, err
		}
		return st, nil
	}
	return nil, p.errorf(t, "expected SET LOCATION, ADD COLUMNS, ADD PARTITION, DROP PARTITION, RENAME TO, RECOVER PARTITIONS or ALTER COLUMN, found %s", t.describe(p.src))
}

// msck parses what follows MSCK: REPAIR TABLE db.t.
func (p *parser) msck() (Statement, error) {
	if err := p.expect("REPAIR", "TABLE"); err != nil {
		return nil, err
	}
	db, name, err := p.tableName()
	if err != nil {
		return nil, err
	}
	return &AlterTableRecoverPartitions{Database: db, Name: name}, nil
}

// describe parses what follows DESCRIBE or DESC.
func (p *parser) describe() (Statement, error) {
	st := &Describe{}
	// FORMATTED followed by '.' is a database named formatted. Hive's
	// EXTENDED asks for the same detail.
	if (p.isKeyword("FORMATTED") || p.isKeyword("EXTENDED")) && !(p.peekAt(1).kind == tokPunct && p.peekAt(1).text == ".") {
		p.next()
		st.Formatted = true
	}
	var err error
	if st.Database, st.Table, err = p.tableName(); err != nil {
		return nil, err
	}
	return st, nil
}

// showCatalog parses the catalog forms of SHOW; ok is false when the next
// token starts none of them.
func (p *parser) showCatalog() (st Statement, ok bool, err error) {
	t := p.peek()
	switch {
	case isKeyword(t, "DATABASES"), isKeyword(t, "SCHEMAS"):
		p.next()
		return &ShowDatabases{}, true, nil
	case isKeyword(t, "TABLES"):
		p.next()
		st := &ShowTables{}
		if p.isKeyword("IN") || p.isKeyword("FROM") {
			p.next()
			if st.Database, err = p.catalogName("database name"); err != nil {
				return nil, true, err
			}
		}
		return st, true, nil
	case isKeyword(t, "CREATE"):
		p.next()
		if err := p.expect("TABLE"); err != nil {
			return nil, true, err
		}
		db, name, err := p.tableName()
		if err != nil {
			return nil, true, err
		}
		return &ShowCreateTable{Database: db, Table: name}, true, nil
	case isKeyword(t, "PARTITIONS"):
		p.next()
		db, name, err := p.tableName()
		if err != nil {
			return nil, true, err
		}
		return &ShowPartitions{Database: db, Table: name}, true, nil
	}
	return nil, false, nil
}
