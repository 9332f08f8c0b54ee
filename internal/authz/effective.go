package authz

import (
	"fmt"
	"slices"
	"strings"

	"github.com/lakegate/lakegate/internal/grants"
	"github.com/lakegate/lakegate/internal/store"
)

// Effective is what one principal may read of one catalog table: the
// union of the SELECT grants its roles hold on the table, its database and
// SERVER, as plain data. The data plane turns it into SQL; nothing here
// is SQL.
//
// Union semantics (issue 16): a column visible through any grant is
// visible; a row visible through any grant's filter is visible; a value
// is unmasked if any grant whose filter admits the row shows it unmasked.
// The clauses of one grant apply together: a grant's mask applies to the
// rows of its own filter, and a grant shows its columns only on its rows.
type Effective struct {
	// Database and Table name the table as the catalog spells them.
	Database, Table string
	// Record is the catalog table (columns, partition columns, location).
	Record store.Table
	// Columns the principal sees, in table order (data columns, then
	// partition columns).
	Columns []EffectiveColumn
	// AllRows is true when some contributing grant has no row filter.
	AllRows bool
	// Filters are the row filters of the contributing grants, distinct, in
	// grant order; a row is visible when any of them holds. Empty when
	// AllRows.
	Filters []grants.Expr
	// Grants are the contributing grants, canonical text with the role and
	// group through which they are held.
	Grants []string
	// Explanation says in words which grants, filters and masks apply.
	Explanation string
}

// EffectiveColumn is one visible column: its value is the raw value when
// Unmasked (or any of Raw holds), else the mask of the first entry of
// Masks whose condition holds, else NULL.
type EffectiveColumn struct {
	Name, Type string
	// Unmasked: some grant shows the column unmasked on every row it shows
	// (a grant with no row filter). Raw and Masks are then empty.
	Unmasked bool
	// Raw are the row filters of the grants that show the column
	// unmasked, when none of them is unfiltered.
	Raw []grants.Expr
	// Masks are the masked ways the column is shown, in grant order.
	Masks []EffectiveMask
}

// EffectiveMask is a mask applied where When holds (When nil: on every
// row).
type EffectiveMask struct {
	When      grants.Expr
	Transform grants.Transform
}

// Full reports whether the policy is the whole table: every row, every
// column unmasked.
func (f *Effective) Full() bool {
	if !f.AllRows || len(f.Columns) != len(f.Record.Columns)+len(f.Record.PartitionColumns) {
		return false
	}
	for _, c := range f.Columns {
		if !c.Unmasked {
			return false
		}
	}
	return true
}

// EffectivePolicy returns p's effective SELECT policy on table db.table.
// An error wraps ErrInvalid ("table db.table does not exist") when the
// table does not exist or p may not see it (as VisibleTable), ErrForbidden
// when p sees it but no grant of SELECT (or ALL) on it, its database or
// SERVER gives p a column of it, and the Fresh error (503) while the
// policy is not Fresh. A stored row filter that does not parse makes its
// grant give nothing (fail closed); the error is logged.
func (e *Engine) EffectivePolicy(p Principal, db, table string) (Effective, error) {
	if err := e.Fresh(); err != nil {
		return Effective{}, err
	}
	snap := e.cur.Load()
	if !snap.seesTable(p, snap.pol.IsCatalogAdmin(p.Groups), db, table) {
		return Effective{}, unseenTable(db, table)
	}
	t := snap.data.Tables[snap.catalog().tables[tableName{foldName(db), foldName(table)}]]
	all := make([]store.Column, 0, len(t.Columns)+len(t.PartitionColumns))
	all = append(all, t.Columns...)
	all = append(all, t.PartitionColumns...)

	// One grant's contribution.
	type part struct {
		filter grants.Expr // nil: every row
		cols   map[int]*grants.Transform
	}
	var parts []part
	f := Effective{Database: t.Database, Table: t.Name, Record: t}
	for _, role := range snap.data.Roles {
		via := ""
		for _, g := range p.Groups {
			if slices.Contains(role.Groups, g) {
				via = g
				break
			}
		}
		if via == "" {
			continue
		}
		gs, err := mergeGrants(role.Grants)
		if err != nil {
			return Effective{}, fmt.Errorf("authz: role %s: %w", role.Name, err)
		}
		for i := range gs {
			g := &gs[i]
			if !g.Privileges.Has(grants.All) && !g.Privileges.Has(grants.Select) {
				continue
			}
			o := g.Object
			switch o.Kind {
			case grants.ObjectServer:
			case grants.ObjectDatabase:
				if foldName(o.Database) != foldName(t.Database) {
					continue
				}
			case grants.ObjectTable:
				if foldName(o.Database) != foldName(t.Database) || foldName(o.Table) != foldName(t.Name) {
					continue
				}
			default:
				continue
			}
			filter := g.Filter
			if filter == nil && g.Where != "" {
				filter, err = grants.ParsePredicate(g.Where)
				if err != nil {
					e.log.Error("authz: a stored row filter does not parse; its grant gives nothing",
						"role", role.Name, "table", t.Database+"."+t.Name, "err", err)
					continue
				}
			}
			cols := map[int]*grants.Transform{}
			for ci, c := range all {
				if o.Columns != nil && !slices.ContainsFunc(o.Columns, func(n string) bool { return foldName(n) == foldName(c.Name) }) {
					continue
				}
				if g.Attributes != nil && !g.Attributes.Matches(c.Attributes) {
					continue
				}
				cols[ci] = maskFor(g.Transforms, c)
			}
			if len(cols) == 0 {
				continue
			}
			parts = append(parts, part{filter: filter, cols: cols})
			f.Grants = append(f.Grants, g.String()+" (role "+role.Name+" via group "+via+")")
		}
	}
	if len(parts) == 0 {
		return Effective{}, fmt.Errorf("%w: user %s holds no SELECT grant on table %s.%s, its database or SERVER",
			ErrForbidden, p.User, t.Database, t.Name)
	}

	for _, pt := range parts {
		if pt.filter == nil {
			f.AllRows = true
		}
	}
	if !f.AllRows {
		for _, pt := range parts {
			f.Filters = appendExpr(f.Filters, pt.filter)
		}
	}
	for ci, c := range all {
		col := EffectiveColumn{Name: c.Name, Type: c.Type}
		shown := false
		for _, pt := range parts {
			tr, ok := pt.cols[ci]
			if !ok {
				continue
			}
			shown = true
			switch {
			case tr == nil && pt.filter == nil:
				col.Unmasked = true
			case tr == nil:
				col.Raw = appendExpr(col.Raw, pt.filter)
			default:
				col.Masks = append(col.Masks, EffectiveMask{When: pt.filter, Transform: *tr})
			}
		}
		if !shown {
			continue
		}
		if col.Unmasked {
			col.Raw, col.Masks = nil, nil
		}
		f.Columns = append(f.Columns, col)
	}
	f.Explanation = explainEffective(p, &f)
	return f, nil
}

// maskFor returns the transform of a grant's transforms that applies to
// column c: one naming the column wins over one naming an attribute of
// c; among several attribute transforms the first by name (the canonical
// order). Nil when none applies.
func maskFor(ts []grants.Transform, c store.Column) *grants.Transform {
	var attr *grants.Transform
	for i := range ts {
		tr := &ts[i]
		if !tr.Attribute && foldName(tr.Target) == foldName(c.Name) {
			return tr
		}
		if tr.Attribute && attr == nil && slices.Contains(c.Attributes, tr.Target) {
			attr = tr
		}
	}
	return attr
}

// appendExpr appends x unless list already holds the same predicate.
func appendExpr(list []grants.Expr, x grants.Expr) []grants.Expr {
	s := exprText(x)
	for _, y := range list {
		if exprText(y) == s {
			return list
		}
	}
	return append(list, x)
}

// exprText is the canonical text of a predicate.
func exprText(x grants.Expr) string {
	if x == nil {
		return "TRUE"
	}
	return x.String()
}

// explainEffective says what f means for p, in words.
func explainEffective(p Principal, f *Effective) string {
	var b strings.Builder
	fmt.Fprintf(&b, "effective policy of user %s on table %s.%s:\n", p.User, f.Database, f.Table)
	b.WriteString("grants:\n")
	for _, g := range f.Grants {
		b.WriteString("  " + g + "\n")
	}
	if f.AllRows {
		b.WriteString("rows: all\n")
	} else {
		b.WriteString("rows: where " + orText(f.Filters) + "\n")
	}
	b.WriteString("columns:\n")
	for _, c := range f.Columns {
		b.WriteString("  " + c.Name + ": " + columnText(c) + "\n")
	}
	if hidden := len(f.Record.Columns) + len(f.Record.PartitionColumns) - len(f.Columns); hidden > 0 {
		var names []string
		for _, c := range append(slices.Clone(f.Record.Columns), f.Record.PartitionColumns...) {
			if !slices.ContainsFunc(f.Columns, func(v EffectiveColumn) bool { return v.Name == c.Name }) {
				names = append(names, c.Name)
			}
		}
		b.WriteString("hidden columns: " + strings.Join(names, ", ") + "\n")
	}
	return b.String()
}

// orText is the disjunction of filters, each parenthesized when there are
// several.
func orText(filters []grants.Expr) string {
	if len(filters) == 1 {
		return exprText(filters[0])
	}
	parts := make([]string, len(filters))
	for i, x := range filters {
		parts[i] = "(" + exprText(x) + ")"
	}
	return strings.Join(parts, " OR ")
}

// columnText says how column c is shown.
func columnText(c EffectiveColumn) string {
	if c.Unmasked {
		return "unmasked"
	}
	var parts []string
	if len(c.Raw) > 0 {
		parts = append(parts, "unmasked where "+orText(c.Raw))
	}
	for _, m := range c.Masks {
		_, fn, _ := strings.Cut(m.Transform.String(), " WITH ")
		s := "masked with " + fn
		if m.When != nil {
			s += " where " + exprText(m.When)
		}
		if len(parts) > 0 {
			s = "else " + s
		}
		parts = append(parts, s)
	}
	last := c.Masks
	if len(c.Masks) == 0 || last[len(last)-1].When != nil {
		parts = append(parts, "else NULL")
	}
	return strings.Join(parts, "; ")
}
