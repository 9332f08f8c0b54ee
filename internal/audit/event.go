package audit

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"
	"unicode/utf8"
)

// Values of Event.Source, Event.Decision and Event.Mode.
const (
	SourceProxy = "proxy"
	SourceREST  = "rest"
	// SourceScan is a data plane scan (REST /api/scan, Flight SQL,
	// lakegate query): one event per query.
	SourceScan = "scan"

	DecisionAllow = "allow"
	DecisionDeny  = "deny"
	DecisionError = "error"

	ModeProxy  = "proxy"
	ModeBypass = "bypass"
)

// Event is one proxy or REST request. It is a whitelist: every field is
// safe to store, and nothing else is. Never put a secret key, a signature
// or a token in any field; Scrub is only a safety net.
type Event struct {
	// Time is when the request arrived; Decide sets it when zero.
	Time time.Time `json:"time"`
	// RequestID ties the decision and completion records together; Decide
	// sets a random one when empty.
	RequestID string `json:"request_id"`
	// Source is SourceProxy, SourceREST or SourceScan.
	Source string `json:"source"`
	// Node is the lakegate process that recorded the event; the broker
	// sets it.
	Node       string   `json:"node"`
	User       string   `json:"user"`
	Groups     []string `json:"groups"`
	AuthMethod string   `json:"auth_method"`
	ClientIP   string   `json:"client_ip"`
	// AccessKeyID identifies the key that signed the request (never the
	// secret). A value that is not letters and digits is replaced.
	AccessKeyID string `json:"access_key_id"`
	// Operation is the S3 operation (GetObject, …) or the REST operation.
	Operation string `json:"operation"`
	// URIs are what the request acts on, as s3://bucket/key, without query
	// strings: the object, the copy source, each key of a DeleteObjects.
	URIs []string `json:"uris"`
	// Table is the catalog table ("db.table") under whose location the
	// request's object lies when a table grant decided it (dynamic
	// bypass: the allow, or the refusal of a user whose grants on it are
	// restricted); for CopyObject, the destination's. Partition is the
	// partition of the object in that table ("k=v/k2=w"), when known.
	// SourceTable is a copy source's table. The object itself stays in
	// URIs.
	Table       string `json:"table,omitempty"`
	Partition   string `json:"partition,omitempty"`
	SourceTable string `json:"source_table,omitempty"`
	Privilege   string `json:"privilege"`
	// Decision is DecisionAllow, DecisionDeny or DecisionError.
	Decision string `json:"decision"`
	// Reason is the grant that allowed the request or why it was denied.
	Reason     string  `json:"reason"`
	Status     int     `json:"status"`
	BytesIn    int64   `json:"bytes_in"`
	BytesOut   int64   `json:"bytes_out"`
	DurationMS float64 `json:"duration_ms"`
	// Mode is ModeProxy or ModeBypass for proxy requests (ModeBypass: the
	// files of a table, allowed by a table grant; Table names it), empty
	// for REST.
	Mode      string `json:"mode"`
	UserAgent string `json:"user_agent"`
	// Truncated is set when fields were shortened or URIs left out to keep
	// the record within Options.MaxRecordBytes; URIsOmitted counts the
	// URIs left out.
	Truncated   bool `json:"truncated,omitempty"`
	URIsOmitted int  `json:"uris_omitted,omitempty"`
	// Query is a scan's statement (SourceScan).
	Query string `json:"query,omitempty"`
	// Tables are the catalog tables a scan read ("db.table").
	Tables []string `json:"tables,omitempty"`
	// Columns are the columns a scan returned.
	Columns []string `json:"columns,omitempty"`
	// Policy is the effective policy a scan applied to each table (row
	// filters, masks, hidden columns).
	Policy string `json:"policy,omitempty"`
	// Rows counts the rows a scan returned; RowsTruncated says the row
	// limit stopped it.
	Rows          int64 `json:"rows,omitempty"`
	RowsTruncated bool  `json:"rows_truncated,omitempty"`
	// Incomplete is set by the reader on a decision that has no completion
	// record (the process stopped while the request ran). Never written.
	Incomplete bool `json:"incomplete,omitempty"`
}

// Record kinds on disk (the "record" field of each JSON line).
const (
	recordDecision   = "decision"
	recordCompletion = "completion"
	// recordPrefix starts every record line; the reader uses it to find a
	// good record glued to the end of a torn one.
	recordPrefix = `{"record":"`
)

// wireRecord is one line of the log: the record kind, then the event.
type wireRecord struct {
	Record string `json:"record"`
	Event
}

// Limits applied to every event before it is written.
const (
	// DefaultMaxRecordBytes bounds one encoded record. A DeleteObjects of
	// 1,000 keys of 1 KiB each fits.
	DefaultMaxRecordBytes = 2 << 20
	maxStringLen          = 4 << 10
	maxReasonLen          = 16 << 10
	maxURILen             = 4 << 10
	maxGroups             = 1024
	maxURIs               = 2000
	maxRequestIDLen       = 128
	minRecordBytes        = 64 << 10
)

// ErrInvalidEvent is returned for an event whose Source, Decision or Mode is
// not one of the defined values.
var ErrInvalidEvent = errors.New("audit: invalid event")

// encodeRecord validates, scrubs and bounds a copy of ev and returns it as
// one JSON line of the given kind, ending in '\n'.
func encodeRecord(ev *Event, kind, node string, maxBytes int) ([]byte, error) {
	switch ev.Source {
	case SourceProxy, SourceREST, SourceScan:
	default:
		return nil, fmt.Errorf("%w: source %q", ErrInvalidEvent, ev.Source)
	}
	switch ev.Decision {
	case DecisionAllow, DecisionDeny, DecisionError:
	default:
		return nil, fmt.Errorf("%w: decision %q", ErrInvalidEvent, ev.Decision)
	}
	switch ev.Mode {
	case "", ModeProxy, ModeBypass:
	default:
		return nil, fmt.Errorf("%w: mode %q", ErrInvalidEvent, ev.Mode)
	}
	r := wireRecord{Record: kind, Event: *ev}
	e := &r.Event
	e.Time = e.Time.UTC()
	e.Node = node
	e.Incomplete = false
	trunc := false
	clip := func(s string, n int) string {
		s = Scrub(s)
		if len(s) > n {
			trunc = true
			return truncateUTF8(s, n)
		}
		return s
	}
	e.RequestID = clip(e.RequestID, maxRequestIDLen)
	e.User = clip(e.User, maxStringLen)
	e.AuthMethod = clip(e.AuthMethod, maxStringLen)
	e.ClientIP = clip(e.ClientIP, maxStringLen)
	e.Operation = clip(e.Operation, maxStringLen)
	e.Privilege = clip(e.Privilege, maxStringLen)
	e.Table = clip(e.Table, maxStringLen)
	e.Partition = clip(e.Partition, maxStringLen)
	e.SourceTable = clip(e.SourceTable, maxStringLen)
	e.Reason = clip(e.Reason, maxReasonLen)
	e.UserAgent = clip(e.UserAgent, maxStringLen)
	e.Query = clip(e.Query, maxReasonLen)
	e.Policy = clip(e.Policy, maxReasonLen)
	e.Tables = clipList(e.Tables, clip, &trunc)
	e.Columns = clipList(e.Columns, clip, &trunc)
	if !isAccessKeyID(e.AccessKeyID) {
		e.AccessKeyID = redacted
	}
	if len(e.Groups) > maxGroups {
		e.Groups, trunc = e.Groups[:maxGroups], true
	}
	groups := make([]string, len(e.Groups))
	for i, g := range e.Groups {
		groups[i] = clip(g, maxStringLen)
	}
	e.Groups = groups
	if len(e.URIs) > maxURIs {
		e.URIsOmitted += len(e.URIs) - maxURIs
		e.URIs, trunc = e.URIs[:maxURIs], true
	}
	uris := make([]string, len(e.URIs))
	for i, u := range e.URIs {
		uris[i] = clip(u, maxURILen)
	}
	e.URIs = uris
	if e.DurationMS < 0 || math.IsNaN(e.DurationMS) || math.IsInf(e.DurationMS, 0) {
		e.DurationMS = 0
	}
	e.DurationMS = math.Round(e.DurationMS*1000) / 1000
	e.Truncated = e.Truncated || trunc

	line, err := marshalLine(&r)
	if err != nil {
		return nil, err
	}
	// Still too large: leave URIs out, halving until it fits.
	for len(line) > maxBytes && len(e.URIs) > 0 {
		keep := len(e.URIs) / 2
		e.URIsOmitted += len(e.URIs) - keep
		e.URIs = e.URIs[:keep]
		e.Truncated = true
		if line, err = marshalLine(&r); err != nil {
			return nil, err
		}
	}
	if len(line) > maxBytes {
		return nil, fmt.Errorf("audit: record of %d bytes exceeds the limit of %d", len(line), maxBytes)
	}
	return line, nil
}

// marshalLine encodes r as one JSON line (appendRecord: the bytes
// encoding/json would write, without its reflection).
func marshalLine(r *wireRecord) ([]byte, error) {
	return appendRecord(make([]byte, 0, 1024), r), nil
}

// decodeRecord parses one line (without its newline). It returns false for
// anything that is not a whole, well-formed record.
func decodeRecord(line []byte) (wireRecord, bool) {
	var r wireRecord
	if !bytes.HasPrefix(line, []byte(recordPrefix)) || json.Unmarshal(line, &r) != nil {
		return r, false
	}
	if (r.Record != recordDecision && r.Record != recordCompletion) || r.RequestID == "" {
		return r, false
	}
	r.Incomplete = false
	return r, true
}

// truncateUTF8 cuts s to at most n bytes without splitting a rune.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// isAccessKeyID accepts what access key ids look like (letters and digits,
// at most 128); anything else might be a secret pasted in the wrong field.
func isAccessKeyID(s string) bool {
	if len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') {
			return false
		}
	}
	return true
}

// NewRequestID returns a random request id (32 hex digits).
func NewRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

type ctxKey struct{}

// NewContext returns ctx carrying ev, the event of the request being
// served, so that handlers deeper down can fill in what they learn (who
// the caller is).
func NewContext(ctx context.Context, ev *Event) context.Context {
	return context.WithValue(ctx, ctxKey{}, ev)
}

// FromContext returns the event NewContext put in ctx, or nil.
func FromContext(ctx context.Context) *Event {
	ev, _ := ctx.Value(ctxKey{}).(*Event)
	return ev
}

// clipList bounds a list of names (a scan's tables or columns) to
// maxGroups entries of maxStringLen bytes each.
func clipList(list []string, clip func(string, int) string, trunc *bool) []string {
	if len(list) == 0 {
		return nil
	}
	if len(list) > maxGroups {
		list, *trunc = list[:maxGroups], true
	}
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = clip(s, maxStringLen)
	}
	return out
}
