package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/lakegate/lakegate/internal/authz"
	"github.com/lakegate/lakegate/internal/grants"
	"github.com/lakegate/lakegate/internal/jsonhttp"
	"github.com/lakegate/lakegate/internal/store"
)

// The catalog endpoints: what the caller may see of the catalog's
// databases and tables, and what they may do with a table. A database or
// table the caller may not see answers 404 in the same words as one that
// does not exist.

// Catalog is what the catalog endpoints need of the engine.
type Catalog interface {
	// VisibleDatabases returns the databases p may see.
	VisibleDatabases(p authz.Principal) []store.Database
	// VisibleTables returns the tables of db p may see, or an error
	// wrapping authz.ErrInvalid when db does not exist for p.
	VisibleTables(p authz.Principal, db string) ([]store.Table, error)
	// VisibleTable returns db.table, or an error wrapping
	// authz.ErrInvalid when it does not exist for p.
	VisibleTable(p authz.Principal, db, table string) (store.Table, error)
	// CheckTable explains what p may do with db.table with priv, for
	// caller (who must see the table, else authz.ErrInvalid).
	CheckTable(caller, p authz.Principal, db, table string, priv grants.Privilege) (authz.TableAccess, error)
}

var _ Catalog = (*authz.Engine)(nil)

// DatabasesResponse is the answer of GET /api/databases.
type DatabasesResponse struct {
	Databases []DatabaseInfo `json:"databases"`
}

// DatabaseInfo is one database of DatabasesResponse.
type DatabaseInfo struct {
	Name     string `json:"name"`
	Comment  string `json:"comment"`
	Location string `json:"location"`
}

// TablesResponse is the answer of GET /api/databases/{db}/tables.
type TablesResponse struct {
	Database string      `json:"database"`
	Tables   []TableInfo `json:"tables"`
}

// TableInfo is one table of TablesResponse.
type TableInfo struct {
	Name     string `json:"name"`
	Location string `json:"location"`
	Format   string `json:"format"`
}

// DatasetResponse is the answer of GET /api/datasets/{db.table}: the
// table, and what the caller may do with it.
type DatasetResponse struct {
	Database         string            `json:"database"`
	Name             string            `json:"name"`
	Location         string            `json:"location"`
	Format           string            `json:"format"`
	Columns          []ColumnInfo      `json:"columns"`
	PartitionColumns []ColumnInfo      `json:"partition_columns"`
	Partitions       []PartitionInfo   `json:"partitions"`
	Comment          string            `json:"comment"`
	FieldDelimiter   string            `json:"field_delimiter,omitempty"`
	Properties       map[string]string `json:"properties"`
	// Access is the caller's access with each privilege that applies to a
	// table, keyed by its lower-case name (select, insert, show, delete,
	// alter, drop).
	Access map[string]authz.TableAccess `json:"access"`
}

// ColumnInfo is a column of DatasetResponse.
type ColumnInfo struct {
	Name    string `json:"name"`
	Type    string `json:"type"`
	Comment string `json:"comment"`
}

// PartitionInfo is a partition of DatasetResponse.
type PartitionInfo struct {
	Spec     string `json:"spec"`
	Location string `json:"location"`
}

// datasetPrivileges are the privileges DatasetResponse.Access answers
// for.
var datasetPrivileges = []grants.Privilege{
	grants.Select, grants.Insert, grants.Show, grants.Delete, grants.Alter, grants.Drop,
}

// TableCheckResponse is the answer of GET /api/check?table=db.t: the
// principal's access to the table with one privilege.
type TableCheckResponse struct {
	// Decision is ALLOW (full access), RESTRICTED (through the scan
	// service only) or DENY.
	Decision string `json:"decision"`
	// Allowed is Access.Access == full.
	Allowed   bool              `json:"allowed"`
	Reason    string            `json:"reason"`
	User      string            `json:"user"`
	Groups    []string          `json:"groups"`
	Table     string            `json:"table"`
	Privilege string            `json:"privilege"`
	Location  string            `json:"location"`
	Access    authz.TableAccess `json:"access"`
}

// decisionWords name a TableAccess.Access in TableCheckResponse.Decision.
var decisionWords = map[string]string{
	authz.AccessFull: "ALLOW", authz.AccessRestricted: "RESTRICTED", authz.AccessNone: "DENY",
}

// databases answers GET /api/databases.
func (h *handler) databases(w http.ResponseWriter, _ *http.Request, caller authz.Principal) {
	resp := DatabasesResponse{Databases: []DatabaseInfo{}}
	for _, db := range h.Engine.VisibleDatabases(caller) {
		resp.Databases = append(resp.Databases, DatabaseInfo{Name: db.Name, Comment: db.Comment, Location: db.Location})
	}
	jsonhttp.Write(w, http.StatusOK, resp)
}

// tables answers GET /api/databases/{db}/tables.
func (h *handler) tables(w http.ResponseWriter, r *http.Request, caller authz.Principal) {
	db := r.PathValue("db")
	ts, err := h.Engine.VisibleTables(caller, db)
	if err != nil {
		h.catalogError(w, r, err)
		return
	}
	resp := TablesResponse{Database: strings.ToLower(db), Tables: []TableInfo{}}
	for _, t := range ts {
		resp.Tables = append(resp.Tables, TableInfo{Name: t.Name, Location: t.Location, Format: t.Format})
	}
	jsonhttp.Write(w, http.StatusOK, resp)
}

// dataset answers GET /api/datasets/{name}, name being db.table.
func (h *handler) dataset(w http.ResponseWriter, r *http.Request, caller authz.Principal) {
	db, table, ok := splitTableName(r.PathValue("name"))
	if !ok {
		jsonhttp.Error(w, http.StatusBadRequest, "a dataset is named database.table")
		return
	}
	t, err := h.Engine.VisibleTable(caller, db, table)
	if err != nil {
		h.catalogError(w, r, err)
		return
	}
	resp := DatasetResponse{
		Database: t.Database, Name: t.Name, Location: t.Location, Format: t.Format,
		Columns: columnInfos(t.Columns), PartitionColumns: columnInfos(t.PartitionColumns),
		Partitions: []PartitionInfo{}, Comment: t.Comment, FieldDelimiter: t.FieldDelimiter,
		Properties: map[string]string{}, Access: map[string]authz.TableAccess{},
	}
	for _, p := range t.Partitions {
		resp.Partitions = append(resp.Partitions, PartitionInfo{Spec: p.Spec, Location: p.Location})
	}
	for _, p := range t.Properties {
		resp.Properties[p.Key] = p.Value
	}
	for _, priv := range datasetPrivileges {
		a, err := h.Engine.CheckTable(caller, caller, t.Database, t.Name, priv)
		if err != nil {
			h.catalogError(w, r, err)
			return
		}
		resp.Access[strings.ToLower(priv.String())] = a
	}
	jsonhttp.Write(w, http.StatusOK, resp)
}

func columnInfos(cols []store.Column) []ColumnInfo {
	out := make([]ColumnInfo, 0, len(cols))
	for _, c := range cols {
		out = append(out, ColumnInfo{Name: c.Name, Type: c.Type, Comment: c.Comment})
	}
	return out
}

// splitTableName splits "db.table"; catalog names hold no '.'.
func splitTableName(name string) (db, table string, ok bool) {
	db, table, ok = strings.Cut(name, ".")
	return db, table, ok && db != "" && table != "" && !strings.Contains(table, ".")
}

// catalogError answers an error of the catalog: a database or table that
// does not exist for the caller is 404, the rest as statusOf says.
func (h *handler) catalogError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, authz.ErrInvalid):
		jsonhttp.Error(w, http.StatusNotFound, err.Error())
	case errors.Is(err, authz.ErrForbidden):
		jsonhttp.Error(w, http.StatusForbidden, err.Error())
	default:
		h.internal(w, r, err)
	}
}

// checkTable answers GET /api/check?table=db.t[&privilege=SELECT] for p
// (the principal check resolved, which the caller may check).
func (h *handler) checkTable(w http.ResponseWriter, r *http.Request, caller, p authz.Principal) {
	q := r.URL.Query()
	name := q.Get("table")
	db, table, ok := splitTableName(name)
	if !ok {
		jsonhttp.Error(w, http.StatusBadRequest, "table must be database.table, e.g. ?table=sales.orders&privilege=SELECT")
		return
	}
	priv := grants.Select
	if s := q.Get("privilege"); s != "" {
		var ok bool
		if priv, ok = grants.PrivilegeByName(s); !ok {
			jsonhttp.Error(w, http.StatusBadRequest, "unknown privilege "+jsonQuote(s)+": use ALL, SELECT, INSERT, SHOW, DELETE, CREATE, DROP or ALTER")
			return
		}
	}
	a, err := h.Engine.CheckTable(caller, p, db, table, priv)
	if err != nil {
		if errors.Is(err, authz.ErrInvalid) {
			jsonhttp.Error(w, http.StatusBadRequest, err.Error())
			return
		}
		h.internal(w, r, err)
		return
	}
	resp := TableCheckResponse{
		Decision: decisionWords[a.Access], Allowed: a.Access == authz.AccessFull, Reason: a.Reason,
		User: p.User, Groups: p.Groups, Table: a.Database + "." + a.Table, Privilege: a.Privilege,
		Location: a.Location, Access: a,
	}
	if resp.Groups == nil {
		resp.Groups = []string{}
	}
	jsonhttp.Write(w, http.StatusOK, resp)
}
