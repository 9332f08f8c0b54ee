package audit

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/lakegate/lakegate/internal/jsonhttp"
)

// Limits of QueryHandler.
const (
	DefaultQueryLimit = 1000
	MaxQueryLimit     = 10000
)

// queryParams are the parameters QueryHandler understands.
var queryParams = map[string]bool{
	"user": true, "since": true, "until": true, "decision": true,
	"uri_prefix": true, "operation": true, "table": true, "limit": true,
}

// QueryHandler answers GET with the events q finds, as JSON:
//
//	{"events": [Event…], "count": n, "incomplete": n, "skipped": n, "truncated": bool}
//
// Query parameters: user, since, until (RFC 3339, a date, or a duration
// before now such as 90m or 7d), decision (allow, deny, error), uri_prefix
// (s3://bucket/prefix), operation, and limit (default 1000, at most
// 10000). truncated means more events matched than limit. Unknown
// parameters are refused (400) so a misspelled filter never widens the
// answer. Access control is the caller's: mount it behind the catalog
// admin check.
func QueryHandler(q *Query) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			jsonhttp.Error(w, http.StatusMethodNotAllowed, "method not allowed")
			return
		}
		f, err := FilterFromValues(r.URL.Query(), time.Now())
		if err != nil {
			jsonhttp.Error(w, http.StatusBadRequest, err.Error())
			return
		}
		limit := f.Limit
		f.Limit = limit + 1 // one more, to tell whether there are more
		var (
			bw      *bufio.Writer
			started bool
			count   int
		)
		start := func() {
			started = true
			h := w.Header()
			h.Set("Content-Type", "application/json")
			h.Set("Cache-Control", "no-store")
			h.Set("X-Content-Type-Options", "nosniff")
			w.WriteHeader(http.StatusOK)
			bw = bufio.NewWriterSize(w, 32<<10)
			bw.WriteString(`{"events":[`)
		}
		truncated := false
		sum, err := q.Run(r.Context(), f, func(e *Event) error {
			if count == limit {
				truncated = true
				return errLimit
			}
			b, err := json.Marshal(e)
			if err != nil {
				return err
			}
			if !started {
				start()
			}
			if count > 0 {
				bw.WriteByte(',')
			}
			bw.Write(b)
			count++
			return nil
		})
		if errors.Is(err, errLimit) {
			err = nil
		}
		if err != nil {
			slog.Default().Error("audit: query failed", "err", err)
			if !started {
				jsonhttp.Error(w, http.StatusInternalServerError, "audit query failed")
				return
			}
		}
		if !started {
			start()
		}
		incomplete := sum.Incomplete
		fmt.Fprintf(bw, `],"count":%d,"incomplete":%d,"skipped":%d,"truncated":%t`, count, incomplete, sum.Skipped, truncated)
		if err != nil {
			bw.WriteString(`,"error":"audit query failed"`)
		}
		bw.WriteString("}\n")
		_ = bw.Flush()
	})
}

// FilterFromValues builds a Filter from QueryHandler's parameters; times
// given as durations count back from now. limit defaults to
// DefaultQueryLimit and may not exceed MaxQueryLimit.
func FilterFromValues(v url.Values, now time.Time) (Filter, error) {
	f := Filter{Limit: DefaultQueryLimit}
	for k, vals := range v {
		if !queryParams[k] {
			return f, fmt.Errorf("unknown parameter %q", k)
		}
		if len(vals) != 1 {
			return f, fmt.Errorf("parameter %q given %d times", k, len(vals))
		}
	}
	f.User = v.Get("user")
	f.Decision = v.Get("decision")
	f.URIPrefix = v.Get("uri_prefix")
	f.Operation = v.Get("operation")
	f.Table = v.Get("table")
	var err error
	if s := v.Get("since"); s != "" {
		if f.Since, err = ParseTime(s, now); err != nil {
			return f, fmt.Errorf("since: %w", err)
		}
	}
	if s := v.Get("until"); s != "" {
		if f.Until, err = ParseTime(s, now); err != nil {
			return f, fmt.Errorf("until: %w", err)
		}
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxQueryLimit {
			return f, fmt.Errorf("limit: want 1 to %d", MaxQueryLimit)
		}
		f.Limit = n
	}
	return f, f.Validate()
}

// ParseTime reads a time for --since/--until and the since/until
// parameters: RFC 3339 (2024-05-01T10:00:00Z), 2024-05-01T10:00 or
// 2024-05-01 (UTC), "now", or a duration before now: 90m, 24h, 7d.
func ParseTime(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "now" {
		return now, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n >= 0 && n <= 36500 {
			return now.Add(-time.Duration(n) * 24 * time.Hour), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time (RFC 3339, YYYY-MM-DD[THH:MM], or a duration ago like 90m, 24h, 7d)", s)
}
