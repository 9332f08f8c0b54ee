package audit

import (
	"encoding/json"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// appendRecord appends r as encoding/json's Encoder (HTML escaping off)
// would write it, newline included, without reflection: every proxy
// request writes two records, so this is on the request path.
// TestAppendRecordMatchesEncodingJSON and FuzzAppendRecord hold it to
// the same bytes.
func appendRecord(b []byte, r *wireRecord) []byte {
	e := &r.Event
	b = append(b, `{"record":`...)
	b = appendJSONString(b, r.Record)
	b = append(b, `,"time":"`...)
	b = e.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","request_id":`...)
	b = appendJSONString(b, e.RequestID)
	b = append(b, `,"source":`...)
	b = appendJSONString(b, e.Source)
	b = append(b, `,"node":`...)
	b = appendJSONString(b, e.Node)
	b = append(b, `,"user":`...)
	b = appendJSONString(b, e.User)
	b = append(b, `,"groups":`...)
	b = appendJSONStrings(b, e.Groups)
	b = append(b, `,"auth_method":`...)
	b = appendJSONString(b, e.AuthMethod)
	b = append(b, `,"client_ip":`...)
	b = appendJSONString(b, e.ClientIP)
	b = append(b, `,"access_key_id":`...)
	b = appendJSONString(b, e.AccessKeyID)
	b = append(b, `,"operation":`...)
	b = appendJSONString(b, e.Operation)
	b = append(b, `,"uris":`...)
	b = appendJSONStrings(b, e.URIs)
	if e.Table != "" {
		b = append(b, `,"table":`...)
		b = appendJSONString(b, e.Table)
	}
	if e.Partition != "" {
		b = append(b, `,"partition":`...)
		b = appendJSONString(b, e.Partition)
	}
	if e.SourceTable != "" {
		b = append(b, `,"source_table":`...)
		b = appendJSONString(b, e.SourceTable)
	}
	b = append(b, `,"privilege":`...)
	b = appendJSONString(b, e.Privilege)
	b = append(b, `,"decision":`...)
	b = appendJSONString(b, e.Decision)
	b = append(b, `,"reason":`...)
	b = appendJSONString(b, e.Reason)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(e.Status), 10)
	b = append(b, `,"bytes_in":`...)
	b = strconv.AppendInt(b, e.BytesIn, 10)
	b = append(b, `,"bytes_out":`...)
	b = strconv.AppendInt(b, e.BytesOut, 10)
	b = append(b, `,"duration_ms":`...)
	b = appendJSONFloat(b, e.DurationMS)
	b = append(b, `,"mode":`...)
	b = appendJSONString(b, e.Mode)
	b = append(b, `,"user_agent":`...)
	b = appendJSONString(b, e.UserAgent)
	if e.Truncated {
		b = append(b, `,"truncated":true`...)
	}
	if e.URIsOmitted != 0 {
		b = append(b, `,"uris_omitted":`...)
		b = strconv.AppendInt(b, int64(e.URIsOmitted), 10)
	}
	if e.Query != "" {
		b = append(b, `,"query":`...)
		b = appendJSONString(b, e.Query)
	}
	if len(e.Tables) > 0 {
		b = append(b, `,"tables":`...)
		b = appendJSONStrings(b, e.Tables)
	}
	if len(e.Columns) > 0 {
		b = append(b, `,"columns":`...)
		b = appendJSONStrings(b, e.Columns)
	}
	if e.Policy != "" {
		b = append(b, `,"policy":`...)
		b = appendJSONString(b, e.Policy)
	}
	if e.Rows != 0 {
		b = append(b, `,"rows":`...)
		b = strconv.AppendInt(b, e.Rows, 10)
	}
	if e.RowsTruncated {
		b = append(b, `,"rows_truncated":true`...)
	}
	if e.Incomplete {
		b = append(b, `,"incomplete":true`...)
	}
	return append(b, "}\n"...)
}

func appendJSONStrings(b []byte, ss []string) []byte {
	if ss == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	return append(b, ']')
}

// appendJSONFloat formats f as encoding/json does, for the values an
// event holds (finite, rounded to microseconds); anything else goes
// through encoding/json itself.
func appendJSONFloat(b []byte, f float64) []byte {
	if a := math.Abs(f); math.IsNaN(f) || math.IsInf(f, 0) || (a != 0 && (a < 1e-6 || a >= 1e21)) {
		out, err := json.Marshal(f)
		if err != nil {
			return append(b, '0')
		}
		return append(b, out...)
	}
	return strconv.AppendFloat(b, f, 'f', -1, 64)
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s as encoding/json does with HTML escaping off:
// '"' and '\\' escaped, control characters as \b \f \n \r \t or \u00XX,
// invalid UTF-8 as \ufffd, U+2028 and U+2029 escaped.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
