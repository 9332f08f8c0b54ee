package client

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/lakegate/lakegate/internal/api"
)

// TableCheckResult is the answer to CheckTable.
type TableCheckResult = api.TableCheckResponse

// CheckTable asks what user (with groups, or the user's own when nil) may
// do with the catalog table db.table ("database.table") with privilege
// (SELECT when empty): ALLOW (full access, the files through the access
// proxy), RESTRICTED (the data through the scan service only) or DENY.
func (c *Client) CheckTable(ctx context.Context, user string, groups []string, table, privilege string) (TableCheckResult, error) {
	q := url.Values{"user": {user}, "table": {table}}
	if privilege != "" {
		q.Set("privilege", privilege)
	}
	if groups != nil {
		q.Set("groups", strings.Join(groups, ","))
	}
	var out TableCheckResult
	err := c.do(ctx, http.MethodGet, "/api/check?"+q.Encode(), nil, &out)
	return out, err
}

// Databases returns the catalog's databases the caller may see.
func (c *Client) Databases(ctx context.Context) ([]api.DatabaseInfo, error) {
	var out api.DatabasesResponse
	err := c.do(ctx, http.MethodGet, "/api/databases", nil, &out)
	return out.Databases, err
}

// Tables returns the tables of database db the caller may see; a
// database the caller may not see is an *APIError (404) saying it does
// not exist.
func (c *Client) Tables(ctx context.Context, db string) ([]api.TableInfo, error) {
	var out api.TablesResponse
	err := c.do(ctx, http.MethodGet, "/api/databases/"+url.PathEscape(db)+"/tables", nil, &out)
	return out.Tables, err
}

// Dataset returns the table named "database.table" with the caller's
// access to it; a table the caller may not see is an *APIError (404)
// saying it does not exist.
func (c *Client) Dataset(ctx context.Context, name string) (api.DatasetResponse, error) {
	var out api.DatasetResponse
	err := c.do(ctx, http.MethodGet, "/api/datasets/"+url.PathEscape(name), nil, &out)
	return out, err
}
