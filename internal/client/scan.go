package client

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/lakegate/lakegate/internal/api"
)

// ScanStream is the body of a scan answer, in the format asked for
// (json, csv or arrow), read as it arrives. Close it.
type ScanStream struct {
	io.ReadCloser
	resp *http.Response
}

// ContentType is the answer's media type.
func (s *ScanStream) ContentType() string { return s.resp.Header.Get("Content-Type") }

// Truncated reports, once the body was read to its end, whether the
// result stopped at the server's row limit (scan.max_rows).
func (s *ScanStream) Truncated() bool {
	return s.resp.Trailer.Get(api.TruncatedTrailer) == "true"
}

// Query runs a SELECT through the data plane (POST /api/scan), the
// caller's policy applied, and returns the result in format (json, csv or
// arrow; "" is json). A refused or failed query is an *APIError with the
// server's reason.
func (c *Client) Query(ctx context.Context, query, format string) (*ScanStream, error) {
	body, err := json.Marshal(map[string]string{"query": query})
	if err != nil {
		return nil, err
	}
	return c.scan(ctx, http.MethodPost, "/api/scan?"+url.Values{"format": {format}}.Encode(), body)
}

// Scan reads table ("database.table") through the data plane (GET
// /api/scan/{table}): columns (all visible when none), at most records
// rows (0: the server's limit), in format.
func (c *Client) Scan(ctx context.Context, table string, columns []string, records int, format string) (*ScanStream, error) {
	q := url.Values{"format": {format}}
	if len(columns) > 0 {
		q.Set("columns", strings.Join(columns, ","))
	}
	if records > 0 {
		q.Set("records", strconv.Itoa(records))
	}
	return c.scan(ctx, http.MethodGet, "/api/scan/"+url.PathEscape(table)+"?"+q.Encode(), nil)
}

func (c *Client) scan(ctx context.Context, method, path string, body []byte) (*ScanStream, error) {
	resp, err := c.send(ctx, method, path, body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode < 300 {
		return &ScanStream{ReadCloser: resp.Body, resp: resp}, nil
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return nil, c.apiError(resp, data)
}
