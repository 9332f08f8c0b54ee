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
func checkParse(serialized string) ([]tableName, error) {
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
	w := &walker{seen: map[tableName]bool{}}
	if err := w.walk(tree, nil, 0); err != nil {
		return nil, err
	}
	slices.SortFunc(w.tables, func(a, b tableName) int { return strings.Compare(a.String(), b.String()) })
	return w.tables, nil
}

type walker struct {
	tables []tableName
	seen   map[tableName]bool
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
			if err := w.table(m, ctes); err != nil {
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
			inner[strings.ToLower(key)] = true
			if err := w.walk(em["value"], inner, depth+1); err != nil {
				return err
			}
		}
		ctes = inner
	}
	for k, e := range m {
		if k == "cte_map" {
			continue
		}
		if err := w.walk(e, ctes, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// table checks one BASE_TABLE and records it.
func (w *walker) table(m map[string]any, ctes scope) error {
	catalog, _ := m["catalog_name"].(string)
	schema, _ := m["schema_name"].(string)
	name, _ := m["table_name"].(string)
	if catalog != "" {
		return refused("table %q: name tables as database.table", catalog+"."+schema+"."+name)
	}
	if at, ok := m["at_clause"]; ok && at != nil {
		return refused("table %q: AT is not allowed", schema+"."+name)
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
	return nil
}

// refused builds a *RefusedError.
func refused(format string, args ...any) error {
	return &RefusedError{Reason: fmt.Sprintf(format, args...)}
}
