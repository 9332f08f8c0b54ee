package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/lakegate/lakegate/internal/audit"
	"github.com/lakegate/lakegate/internal/authz"
	"github.com/lakegate/lakegate/internal/policy"
	"github.com/lakegate/lakegate/internal/s3/request"
	"github.com/lakegate/lakegate/internal/s3/s3err"
	"github.com/lakegate/lakegate/internal/s3/sigv4"
)

// Auditor records one event per request (audit.Broker): the decision
// before anything is forwarded, the outcome when the response ends.
type Auditor interface {
	// Decide returns once the decision is durably accepted; an error
	// means the request must be refused.
	Decide(ctx context.Context, ev *audit.Event) error
	// Complete records the outcome; without a prior Decide it records the
	// whole event at once (requests refused before a decision).
	Complete(ev *audit.Event)
}

var _ Auditor = (*audit.Broker)(nil)

// errAuditUnavailable refuses a request whose decision the audit log did
// not accept (audit.fail_closed).
var errAuditUnavailable = s3err.ServiceUnavailable.WithMessage("The request was refused because the audit log could not record it. Please retry.")

// exchange is one request's audit event with the response writer that
// measures its outcome. Handlers find it through the writer they are given.
type exchange struct {
	audit.ResponseRecorder
	ev      audit.Event
	start   time.Time
	decided bool // the decision record was accepted
	in      *audit.CountingBody
	req     *http.Request
	// failure is the error a refused request was answered with.
	failure error
}

// begin starts the audit of r; the returned exchange is the writer the
// request must be served through.
func (h *Handler) begin(w http.ResponseWriter, r *http.Request) *exchange {
	x := &exchange{ResponseRecorder: audit.ResponseRecorder{ResponseWriter: w}, start: time.Now()}
	x.ev = audit.Event{
		Time: x.start, RequestID: h.requestID(), Source: audit.SourceProxy, Mode: audit.ModeProxy,
		ClientIP: audit.ClientIP(r.RemoteAddr), UserAgent: r.UserAgent(), Operation: r.Method,
	}
	x.req = r
	x.in = audit.CountBody(r)
	return x
}

// parsed records what the request acts on.
func (x *exchange) parsed(req *request.Request) {
	if x == nil {
		return
	}
	x.ev.Operation = string(req.Operation)
	if req.Bucket != "" {
		x.ev.URIs = append(x.ev.URIs[:0], s3URI(req.Bucket, req.Key))
	}
}

// verified records who sent the request.
func (x *exchange) verified(auth *sigv4.Result) {
	if x == nil {
		return
	}
	c := auth.Credential
	x.ev.User, x.ev.AccessKeyID, x.ev.AuthMethod = c.Owner, c.AccessKeyID, authMethod(auth.Kind)
	if c.SessionGroups != nil {
		x.ev.Groups = c.SessionGroups
	}
}

// principal records the groups the decision was made for.
func (x *exchange) principal(p authz.Principal) {
	if x != nil && len(p.Groups) > 0 {
		x.ev.Groups = p.Groups
	}
}

// table records the table (and partition) under whose location the
// request was allowed by a table grant: the files of a table read or
// written directly, which is seed 004's bypass mode.
func (x *exchange) table(m *policy.TableMatch) {
	if x == nil || m == nil {
		return
	}
	x.ev.Table, x.ev.Partition, x.ev.Mode = m.Name(), m.Partition, audit.ModeBypass
}

// refusedTable records the table under whose location a request was
// refused (a user whose grants on it are restricted).
func (x *exchange) refusedTable(m *policy.TableMatch) {
	if x == nil || m == nil {
		return
	}
	x.ev.Table, x.ev.Partition = m.Name(), m.Partition
}

// xOf returns the exchange w belongs to, nil when auditing is off.
func xOf(w http.ResponseWriter) *exchange {
	x, _ := w.(*exchange)
	return x
}

// admit records that the request is allowed, for reason, before it is
// forwarded; false means the audit log refused it and the request has
// been answered.
func (h *Handler) admit(w http.ResponseWriter, r *http.Request, privilege, reason string, uris ...string) bool {
	x := xOf(w)
	if x == nil {
		return true
	}
	x.ev.Decision, x.ev.Privilege, x.ev.Reason = audit.DecisionAllow, privilege, reason
	if len(uris) > 0 {
		x.ev.URIs = append(x.ev.URIs, uris...)
	}
	if err := h.opts.Audit.Decide(r.Context(), &x.ev); err != nil {
		h.log.Error("audit log refused a decision; request refused", "request_id", x.ev.RequestID, "err", err)
		h.fail(w, r, errors.Join(errAuditUnavailable, err))
		return false
	}
	x.decided = true
	return true
}

// finish records the outcome of the request.
func (h *Handler) finish(x *exchange) {
	ev := &x.ev
	ev.Status, ev.BytesOut, ev.BytesIn = x.Status, x.Bytes, x.in.N()
	ev.DurationMS = float64(time.Since(x.start).Microseconds()) / 1000
	if ev.AccessKeyID == "" {
		// Refused before verification: attribute the attempt to the key it
		// named.
		ev.AccessKeyID = claimedKeyID(x.req)
	}
	if !x.decided {
		switch {
		case x.failure != nil:
			ev.Decision = audit.DecisionDeny
			if ev.Status >= 500 || ev.Status == 0 {
				ev.Decision = audit.DecisionError
			}
			ev.Reason = x.failure.Error()
		case ev.Decision == "":
			ev.Decision, ev.Reason = audit.DecisionError, "the request ended before a decision"
		}
		if ev.User == "" && !h.unauthenticated.record(ev) {
			return
		}
	}
	h.opts.Audit.Complete(ev)
}

// Records of unauthenticated requests (refused before they were
// authenticated, and CORS preflights, allowed or not) cost an attacker
// nothing to cause, so they are kept small and few: each is compacted to
// unauthRecordBytes-sized fields, and past the rate
// (Options.UnauthenticatedAuditRate) they are counted instead of written;
// the next one written says how many were left out.
const (
	unauthFieldBytes         = 256
	defaultUnauthAuditRate   = 20 // records per second
	defaultUnauthAuditBurst  = 200
	unauthSuppressedTemplate = "; %d unauthenticated requests (refusals and CORS preflights) before this one were not recorded (rate limit)"
)

type unauthLimiter struct {
	lim        *rate.Limiter
	suppressed atomic.Int64
}

func newUnauthLimiter(perSecond float64) *unauthLimiter {
	if perSecond <= 0 {
		perSecond = defaultUnauthAuditRate
	}
	burst := max(defaultUnauthAuditBurst, int(perSecond))
	return &unauthLimiter{lim: rate.NewLimiter(rate.Limit(perSecond), burst)}
}

// record compacts ev, an unauthenticated request's (a refusal or a CORS
// preflight), and reports whether it is to be written.
func (l *unauthLimiter) record(ev *audit.Event) bool {
	if !l.lim.Allow() {
		l.suppressed.Add(1)
		return false
	}
	clip := func(s string) string {
		if len(s) > unauthFieldBytes {
			ev.Truncated = true
			return strings.ToValidUTF8(s[:unauthFieldBytes], "")
		}
		return s
	}
	ev.UserAgent, ev.Reason, ev.AccessKeyID = clip(ev.UserAgent), clip(ev.Reason), clip(ev.AccessKeyID)
	if len(ev.URIs) > 1 {
		ev.URIsOmitted, ev.URIs, ev.Truncated = len(ev.URIs)-1, ev.URIs[:1], true
	}
	for i := range ev.URIs {
		ev.URIs[i] = clip(ev.URIs[i])
	}
	if n := l.suppressed.Swap(0); n > 0 {
		ev.Reason += fmt.Sprintf(unauthSuppressedTemplate, n)
	}
	return true
}

func s3URI(bucket, key string) string {
	if key == "" {
		return "s3://" + bucket
	}
	return "s3://" + bucket + "/" + key
}

func authMethod(k sigv4.AuthKind) string {
	switch k {
	case sigv4.HeaderV4:
		return "sigv4"
	case sigv4.PresignedV4:
		return "sigv4-presigned"
	case sigv4.HeaderV2:
		return "sigv2"
	case sigv4.PresignedV2:
		return "sigv2-presigned"
	case sigv4.PostPolicyV4:
		return "post-policy-v4"
	case sigv4.PostPolicyV2:
		return "post-policy-v2"
	}
	return ""
}

// claimedKeyID is the access key id a request names, before it is
// verified, so that refused attempts are attributed too (the audit log
// keeps it only if it looks like a key id).
func claimedKeyID(r *http.Request) string {
	if a := r.Header.Get("Authorization"); a != "" {
		if _, cred, ok := strings.Cut(a, "Credential="); ok {
			id, _, _ := strings.Cut(cred, "/")
			return id
		}
		if rest, ok := strings.CutPrefix(a, "AWS "); ok {
			id, _, _ := strings.Cut(rest, ":")
			return id
		}
		return ""
	}
	q := r.URL.Query()
	if c := q.Get("X-Amz-Credential"); c != "" {
		id, _, _ := strings.Cut(c, "/")
		return id
	}
	return q.Get("AWSAccessKeyId")
}
