package api

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/csv"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakegate/lakegate/internal/authz"
	"github.com/lakegate/lakegate/internal/dataplane"
	"github.com/lakegate/lakegate/internal/jsonhttp"
)

// Scanner runs data plane scans for the REST scan API:
// *dataplane.Service. Errors map through dataplane.Status.
type Scanner interface {
	Query(ctx context.Context, p authz.Principal, sql string) (*dataplane.Result, error)
	Scan(ctx context.Context, p authz.Principal, db, table string, columns []string, limit int) (*dataplane.Result, error)
}

var _ Scanner = (*dataplane.Service)(nil)

// Content types of the scan API's formats.
const (
	ContentTypeArrow = "application/vnd.apache.arrow.stream"
	ContentTypeCSV   = "text/csv; charset=utf-8"
	ContentTypeJSON  = "application/json"
)

// TruncatedTrailer is the trailer that says whether the scan stopped at
// the row limit ("true" or "false").
const TruncatedTrailer = "X-Lakegate-Truncated"

// scanRequest is the body of POST /api/scan, always JSON.
type scanRequest struct {
	Query  string `json:"query"`
	Format string `json:"format"`
}

// scanTable is GET /api/scan/{db.table}?records=N&columns=a,b&format=json|csv|arrow.
func (h *handler) scanTable(w http.ResponseWriter, r *http.Request, caller authz.Principal) {
	if h.Scanner == nil {
		jsonhttp.Error(w, http.StatusNotFound, "the scan service is not enabled on this server")
		return
	}
	q := r.URL.Query()
	format, ok := scanFormat(w, q.Get("format"))
	if !ok {
		return
	}
	db, table, found := strings.Cut(r.PathValue("name"), ".")
	if !found || db == "" || table == "" || strings.Contains(table, ".") {
		jsonhttp.Error(w, http.StatusBadRequest, "name the dataset as database.table")
		return
	}
	limit := 0
	if s := q.Get("records"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			jsonhttp.Error(w, http.StatusBadRequest, "records must be a non-negative number")
			return
		}
		limit = n
	}
	cols := splitList(q.Get("columns"))
	h.extendScanDeadline(w)
	res, err := h.Scanner.Scan(r.Context(), caller, db, table, cols, limit)
	h.writeScan(w, r, res, err, format)
}

// scanQuery is POST /api/scan {"query": "SELECT …"}.
func (h *handler) scanQuery(w http.ResponseWriter, r *http.Request, caller authz.Principal) {
	if h.Scanner == nil {
		jsonhttp.Error(w, http.StatusNotFound, "the scan service is not enabled on this server")
		return
	}
	var req scanRequest
	if !jsonhttp.Decode(w, r, &req) {
		return
	}
	f := req.Format
	if f == "" {
		f = r.URL.Query().Get("format")
	}
	format, ok := scanFormat(w, f)
	if !ok {
		return
	}
	if strings.TrimSpace(req.Query) == "" {
		jsonhttp.Error(w, http.StatusBadRequest, `no query: send {"query": "SELECT …"}`)
		return
	}
	h.extendScanDeadline(w)
	res, err := h.Scanner.Query(r.Context(), caller, req.Query)
	h.writeScan(w, r, res, err, format)
}

// extendScanDeadline lets a scan's response be written for as long as the
// query may run (plus a minute to finish writing), instead of the REST
// server's write timeout, which a full scan of a large table outlasts.
func (h *handler) extendScanDeadline(w http.ResponseWriter) {
	if h.ScanTimeout <= 0 {
		return
	}
	if err := http.NewResponseController(w).SetWriteDeadline(time.Now().Add(h.ScanTimeout + time.Minute)); err != nil {
		h.log.Warn("scan: cannot extend the response's write deadline", "err", err)
	}
}

func scanFormat(w http.ResponseWriter, f string) (string, bool) {
	switch strings.ToLower(f) {
	case "", "json":
		return "json", true
	case "csv":
		return "csv", true
	case "arrow":
		return "arrow", true
	}
	jsonhttp.Error(w, http.StatusBadRequest, "format must be json, csv or arrow")
	return "", false
}

// writeScan streams res in format, or answers err. An error after the
// first bytes were sent aborts the response, so that a client never takes
// a cut result for a whole one.
func (h *handler) writeScan(w http.ResponseWriter, r *http.Request, res *dataplane.Result, err error, format string) {
	if err != nil {
		h.scanError(w, r, err)
		return
	}
	defer res.Close()
	more := res.Next()
	if !more && res.Err() != nil {
		h.scanError(w, r, res.Err())
		return
	}
	w.Header().Set("Trailer", TruncatedTrailer)
	bw := bufio.NewWriterSize(w, 64<<10)
	var write func(arrow.RecordBatch) error
	var finish func() error
	switch format {
	case "csv":
		w.Header().Set("Content-Type", ContentTypeCSV)
		cw := csv.NewWriter(bw, res.Schema(), csv.WithHeader(true), csv.WithNullWriter(""))
		write, finish = cw.Write, func() error { cw.Flush(); return cw.Error() }
	case "arrow":
		w.Header().Set("Content-Type", ContentTypeArrow)
		iw := ipc.NewWriter(bw, ipc.WithSchema(res.Schema()))
		write, finish = iw.Write, iw.Close
	default:
		w.Header().Set("Content-Type", ContentTypeJSON)
		jw := &jsonRecords{w: bw}
		write, finish = jw.write, jw.close
	}
	w.WriteHeader(http.StatusOK)
	if !more && format == "csv" {
		// No rows: the header line still names the columns.
		if err := write(emptyBatch(res.Schema())); err != nil {
			panic(http.ErrAbortHandler)
		}
	}
	for more {
		if err := write(res.RecordBatch()); err != nil {
			h.log.Warn("scan: writing the result failed", "err", err)
			panic(http.ErrAbortHandler)
		}
		more = res.Next()
	}
	if err := res.Err(); err != nil {
		h.log.Warn("scan: the query failed while streaming; response aborted", "err", err)
		panic(http.ErrAbortHandler)
	}
	if err := finish(); err != nil || bw.Flush() != nil {
		panic(http.ErrAbortHandler)
	}
	w.Header().Set(TruncatedTrailer, strconv.FormatBool(res.Truncated()))
}

// scanError answers a scan that could not run: 404 a table the caller may
// not see, 403 no SELECT, 400 a refused or failed query, 413 or 408 a
// limit, 503 the store or audit unavailable.
func (h *handler) scanError(w http.ResponseWriter, r *http.Request, err error) {
	status := dataplane.Status(err)
	switch {
	case status == http.StatusServiceUnavailable:
		h.log.Warn("scan refused: unavailable", "err", err)
		w.Header().Set("Retry-After", "1")
		jsonhttp.Error(w, status, dataplane.PublicError(err))
	case status == 499:
		// The client went away; nobody reads the answer.
	case status >= 500:
		h.internal(w, r, err)
	default:
		jsonhttp.Error(w, status, dataplane.PublicError(err))
	}
}

// jsonRecords writes record batches as one JSON array of objects.
type jsonRecords struct {
	w     *bufio.Writer
	first bool
	open  bool
}

func (j *jsonRecords) write(rec arrow.RecordBatch) error {
	if !j.open {
		j.w.WriteByte('[')
		j.open, j.first = true, true
	}
	names := make([][]byte, rec.NumCols())
	for c := range names {
		b, _ := json.Marshal(rec.ColumnName(c))
		names[c] = b
	}
	for i := range int(rec.NumRows()) {
		if !j.first {
			j.w.WriteByte(',')
		}
		j.first = false
		j.w.WriteByte('{')
		for c := range int(rec.NumCols()) {
			if c > 0 {
				j.w.WriteByte(',')
			}
			j.w.Write(names[c])
			j.w.WriteByte(':')
			v, err := json.Marshal(rec.Column(c).GetOneForMarshal(i))
			if err != nil {
				return err
			}
			j.w.Write(v)
		}
		j.w.WriteByte('}')
	}
	return nil
}

func (j *jsonRecords) close() error {
	if !j.open {
		j.w.WriteByte('[')
	}
	_, err := j.w.WriteString("]\n")
	return err
}

// emptyBatch is a batch of schema with no rows.
func emptyBatch(schema *arrow.Schema) arrow.RecordBatch {
	cols := make([]arrow.Array, schema.NumFields())
	for i, f := range schema.Fields() {
		cols[i] = array.MakeArrayOfNull(memory.DefaultAllocator, f.Type, 0)
	}
	return array.NewRecordBatch(schema, cols, 0)
}
