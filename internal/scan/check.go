//go:build duckdb_arrow

package scan

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// tableName is a table a query names, lower-case.
type tableName struct{ DB, Table string }

func (n tableName) String() string { return n.DB + "." + n.Table }

// maxParseDepth bounds how deeply checkParse walks a parse tree.
const maxParseDepth = 1000

// allowedRefs are the kinds of FROM items a user's query may use: tables
// (checked further), joins, subqueries, VALUES lists, PIVOT, and none.
var allowedRefs = map[string]bool{
	"BASE_TABLE": true, "JOIN": true, "SUBQUERY": true, "EMPTY": true,
	"EXPRESSION_LIST": true, "PIVOT": true,
}

// checkParse reads the answer of DuckDB's json_serialize_sql for a user's
// query and returns the tables it names, each once, sorted. It refuses
// (a *RefusedError) anything but one SELECT statement whose FROM items
// are db.table names, CTE names in scope, joins, subqueries and VALUES: no table function, no catalog-qualified
// or unqualified table, no AT clause, no call of TokenizeFunc.
func checkParse(serialized string) (*parsed, error) {
	var top struct {
		Error      bool              `json:"error"`
		Message    string            `json:"error_message"`
		Statements []json.RawMessage `json:"statements"`
	}
	if err := json.Unmarshal([]byte(serialized), &top); err != nil {
		return nil, refused("the query could not be read: %v", err)
	}
	if top.Error {
		return nil, refused("only one SELECT statement is allowed (%s)", top.Message)
	}
	if len(top.Statements) != 1 {
		return nil, refused("exactly one SELECT statement is allowed, got %d", len(top.Statements))
	}
	var tree any
	dec := json.NewDecoder(strings.NewReader(string(top.Statements[0])))
	dec.UseNumber()
	if err := dec.Decode(&tree); err != nil {
		return nil, refused("the query could not be read: %v", err)
	}
	w := &walker{seen: map[tableName]bool{}, refs: map[tableName][][]pred{}}
	if err := w.walk(tree, nil, 0); err != nil {
		return nil, err
	}
	slices.SortFunc(w.tables, func(a, b tableName) int { return strings.Compare(a.String(), b.String()) })
	return &parsed{tables: w.tables, refs: w.refs}, nil
}

// parsed is what checkParse learns of a query.
type parsed struct {
	// tables the query names, each once, sorted.
	tables []tableName
	// refs holds, for each table, one entry per reference: the equality
	// predicates on columns that the WHERE clause of the SELECT reading
	// the table directly puts on its rows (none for a table read in a
	// join, or with no such predicate). See prunes.
	refs map[tableName][][]pred
}

// pred is "col = v" or "col IN (v, …)" with constant values: strings, or
// json.Numbers for integers. Other constants are not kept.
type pred struct {
	col  string
	vals []any
}

type walker struct {
	tables []tableName
	seen   map[tableName]bool
	refs   map[tableName][][]pred
}

// scope is the CTE names visible at a point of the tree.
type scope map[string]bool

func (w *walker) walk(v any, ctes scope, depth int) error {
	if depth > maxParseDepth {
		return refused("the query nests more than %d levels", maxParseDepth)
	}
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			if err := w.walk(e, ctes, depth+1); err != nil {
				return err
			}
		}
	case map[string]any:
		return w.walkObject(v, ctes, depth)
	}
	return nil
}

func (w *walker) walkObject(m map[string]any, ctes scope, depth int) error {
	typ, _ := m["type"].(string)
	switch typ {
	case "TABLE_FUNCTION", "SHOW_REF", "COLUMN_DATA", "DELIM_GET":
		return refused("%s is not allowed in a query", strings.ToLower(typ))
	}
	_, isExpr := m["class"]
	_, hasSample := m["sample"]
	_, hasLoc := m["query_location"]
	if !isExpr && hasSample && hasLoc { // a FROM item (TableRef)
		if !allowedRefs[typ] {
			return refused("FROM item %q is not allowed", typ)
		}
		if typ == "BASE_TABLE" {
			if err := w.table(m, ctes, nil); err != nil {
				return err
			}
		}
	}
	if isExpr {
		if name, _ := m["function_name"].(string); strings.EqualFold(name, TokenizeFunc) {
			return refused("function %s is not allowed", name)
		}
	}
	if cm, ok := m["cte_map"].(map[string]any); ok {
		inner := scope{}
		for k := range ctes {
			inner[k] = true
		}
		entries, _ := cm["map"].([]any)
		for _, e := range entries {
			em, _ := e.(map[string]any)
			key, _ := em["key"].(string)
			if key == "" {
				return refused("a CTE without a name")
			}
			if err := w.walkCTE(strings.ToLower(key), em["value"], inner, depth+1); err != nil {
				return err
			}
			inner[strings.ToLower(key)] = true
		}
		ctes = inner
	}
	skip := ""
	if ft, ok := m["from_table"].(map[string]any); ok && ft["type"] == "BASE_TABLE" {
		if _, isSelect := m["select_list"]; isSelect {
			if err := w.table(ft, ctes, wherePreds(m["where_clause"], ft)); err != nil {
				return err
			}
			skip = "from_table"
		}
	}
	for k, e := range m {
		if k == "cte_map" || k == skip {
			continue
		}
		if err := w.walk(e, ctes, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// walkCTE walks the definition of CTE name, with the CTEs before it in
// scope but not itself: in a CTE that is not recursive, DuckDB binds the
// CTE's own name to a table of the catalog (WITH duckdb_tables AS
// (FROM duckdb_tables) reads DuckDB's system view). Only the recursive
// part of a recursive CTE (the right side of its UNION) sees the name.
func (w *walker) walkCTE(name string, value any, ctes scope, depth int) error {
	vm, _ := value.(map[string]any)
	qm, _ := vm["query"].(map[string]any)
	node, _ := qm["node"].(map[string]any)
	cteName, _ := node["cte_name"].(string)
	if node["type"] != "RECURSIVE_CTE_NODE" || !strings.EqualFold(cteName, name) {
		return w.walk(value, ctes, depth)
	}
	self := scope{name: true}
	for k := range ctes {
		self[k] = true
	}
	for k, e := range vm {
		if k == "query" {
			continue
		}
		if err := w.walk(e, ctes, depth+1); err != nil {
			return err
		}
	}
	for k, e := range qm {
		if k == "node" {
			continue
		}
		if err := w.walk(e, ctes, depth+1); err != nil {
			return err
		}
	}
	for k, e := range node {
		sc := ctes
		if k == "right" {
			sc = self
		}
		if err := w.walk(e, sc, depth+2); err != nil {
			return err
		}
	}
	return nil
}

// table checks one BASE_TABLE and records it with the predicates its
// SELECT's WHERE puts on it.
func (w *walker) table(m map[string]any, ctes scope, preds []pred) error {
	if at, ok := m["at_clause"]; ok && at != nil {
		return refused("AT is not allowed")
	}
	if s, ok := m["sample"]; ok && s != nil {
		preds = nil
	}
	catalog, _ := m["catalog_name"].(string)
	schema, _ := m["schema_name"].(string)
	name, _ := m["table_name"].(string)
	if catalog != "" {
		return refused("table %q: name tables as database.table", catalog+"."+schema+"."+name)
	}
	if name == "" {
		return refused("a table without a name")
	}
	if schema == "" {
		if ctes[strings.ToLower(name)] {
			return nil
		}
		return refused("table %q: name tables as database.table", name)
	}
	t := tableName{DB: strings.ToLower(schema), Table: strings.ToLower(name)}
	if !w.seen[t] {
		w.seen[t] = true
		w.tables = append(w.tables, t)
	}
	w.refs[t] = append(w.refs[t], preds)
	return nil
}

// wherePreds returns the equality predicates among the top-level AND
// terms of where that name a column of the table ref (unqualified, or
// qualified with its alias or name) and constants. A ref with column
// aliases (FROM db.t AS x(a, b)) gives none: its names are not the
// table's, and "b" may be another column than the table's b.
func wherePreds(where any, ref map[string]any) []pred {
	if aliases, _ := ref["column_name_alias"].([]any); len(aliases) > 0 {
		return nil
	}
	qual, _ := ref["alias"].(string)
	if qual == "" {
		qual, _ = ref["table_name"].(string)
	}
	column := func(e any) (string, bool) {
		m, _ := e.(map[string]any)
		if m["class"] != "COLUMN_REF" {
			return "", false
		}
		names, _ := m["column_names"].([]any)
		switch len(names) {
		case 1:
			c, ok := names[0].(string)
			return strings.ToLower(c), ok
		case 2:
			q, _ := names[0].(string)
			c, ok := names[1].(string)
			return strings.ToLower(c), ok && strings.EqualFold(q, qual)
		}
		return "", false
	}
	var out []pred
	var terms func(e any, depth int)
	terms = func(e any, depth int) {
		m, _ := e.(map[string]any)
		if m == nil || depth > maxParseDepth {
			return
		}
		switch {
		case m["class"] == "CONJUNCTION" && m["type"] == "CONJUNCTION_AND":
			children, _ := m["children"].([]any)
			for _, c := range children {
				terms(c, depth+1)
			}
		case m["class"] == "COMPARISON" && m["type"] == "COMPARE_EQUAL":
			l, r := m["left"], m["right"]
			if _, ok := column(l); !ok {
				l, r = r, l
			}
			if c, ok := column(l); ok {
				if v, ok := constant(r); ok {
					out = append(out, pred{col: c, vals: []any{v}})
				}
			}
		case m["class"] == "OPERATOR" && m["type"] == "COMPARE_IN":
			children, _ := m["children"].([]any)
			if len(children) < 2 {
				return
			}
			c, ok := column(children[0])
			if !ok {
				return
			}
			p := pred{col: c}
			for _, ch := range children[1:] {
				v, ok := constant(ch)
				if !ok {
					return
				}
				p.vals = append(p.vals, v)
			}
			out = append(out, p)
		}
	}
	terms(where, 0)
	return out
}

// constant returns a non-null VARCHAR constant as a string, an integer
// one as a json.Number.
func constant(e any) (any, bool) {
	m, _ := e.(map[string]any)
	if m["class"] != "CONSTANT" {
		return nil, false
	}
	v, _ := m["value"].(map[string]any)
	if isNull, _ := v["is_null"].(bool); isNull {
		return nil, false
	}
	t, _ := v["type"].(map[string]any)
	switch t["id"] {
	case "VARCHAR":
		s, ok := v["value"].(string)
		return s, ok
	case "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT":
		n, ok := v["value"].(json.Number)
		return n, ok
	}
	return nil, false
}

// refused builds a *RefusedError.
func refused(format string, args ...any) error {
	return &RefusedError{Reason: fmt.Sprintf(format, args...)}
}
