// Package nscale connects nScale access proxies (`lakegate proxy`, one per
// compute node, seed 001) to the policy server. The server side (Handler)
// serves /api/internal/* to callers holding the system token; the proxy
// side (Remote) implements the proxy's credential lookup, authorizer and
// upstream credential source over those endpoints, behind seed 004's
// caches, and follows the server's change feed so that revocations reach
// every proxy within a second.
//
// The endpoints, all JSON, all requiring Authorization: Bearer <system
// token>:
//
//	GET  /api/internal/keys/{id}           an access key, to verify SigV4 (404: unknown)
//	POST /api/internal/authorize           one decision (AuthorizeRequest → AuthorizeResponse)
//	POST /api/internal/view                what a user sees of a bucket (ViewRequest → ViewResponse)
//	POST /api/internal/buckets             which buckets ListBuckets shows (Principal → BucketsResponse)
//	GET  /api/internal/upstream?bucket=b   signing credentials for bucket b
//	GET  /api/internal/changes?epoch=&after=&wait=   the change feed (feed.Batch)
//	GET  /api/internal/settings            the listing-marker key and the upstream targets
package nscale

import (
	"time"

	"github.com/lakegate/lakegate/internal/grants"
	"github.com/lakegate/lakegate/internal/identity"
	"github.com/lakegate/lakegate/internal/policy"
	"github.com/lakegate/lakegate/internal/s3/request"
)

// Paths of the internal API.
const (
	PathKeys      = "/api/internal/keys/"
	PathAuthorize = "/api/internal/authorize"
	PathView      = "/api/internal/view"
	PathBuckets   = "/api/internal/buckets"
	PathUpstream  = "/api/internal/upstream"
	PathChanges   = "/api/internal/changes"
	PathSettings  = "/api/internal/settings"
)

// Key is an access key as a proxy needs it to verify requests.
type Key struct {
	AccessKeyID     string    `json:"access_key_id"`
	SecretAccessKey string    `json:"secret_access_key"`
	SessionToken    string    `json:"session_token,omitempty"`
	Expires         time.Time `json:"expires,omitzero"`
	Owner           string    `json:"owner"`
	// SessionGroups are the groups of a session key, nil for none.
	SessionGroups     []string `json:"session_groups"`
	SessionGroupsFold bool     `json:"session_groups_fold,omitempty"`
}

// Principal is the user of a verified key with its session's groups, as
// the server resolves it (authz.Engine.SessionPrincipal).
type Principal struct {
	User string `json:"user"`
	// Session is nil for keys without session groups.
	Session *Session `json:"session,omitempty"`
}

// Session is identity.Groups on the wire.
type Session struct {
	Names []string `json:"names"`
	Fold  bool     `json:"fold,omitempty"`
}

func sessionOf(g *identity.Groups) *Session {
	if g == nil {
		return nil
	}
	return &Session{Names: g.Names, Fold: g.CaseInsensitive}
}

func (s *Session) groups() *identity.Groups {
	if s == nil {
		return nil
	}
	return &identity.Groups{Names: s.Names, CaseInsensitive: s.Fold}
}

// AuthorizeRequest asks one question of the server's policy engine.
type AuthorizeRequest struct {
	Principal Principal     `json:"principal"`
	Scope     request.Scope `json:"scope"`
	// AnyOf is the set of privileges any of which allows (grants.Privileges).
	AnyOf  grants.Privileges `json:"any_of"`
	Bucket string            `json:"bucket"`
	Key    string            `json:"key,omitempty"`
}

// AuthorizeResponse is the decision. For an allowed object or bucket
// question, Privilege and Location say which privilege was granted where,
// so that the proxy may reuse the answer for everything under Location
// (seed 004's user permission cache).
type AuthorizeResponse struct {
	Allowed bool   `json:"allowed"`
	Reason  string `json:"reason"`
	// Privilege is the privilege of AnyOf that was granted.
	Privilege grants.Privilege `json:"privilege,omitempty"`
	// Location is the granted object: Server, or Bucket with Path ("" for
	// the whole bucket). For a DATABASE or TABLE grant it is the location
	// of the table (or partition) the request lies under (Table), never a
	// whole bucket.
	Location *Location `json:"location,omitempty"`
	// Table names the table (and partition) a table grant decided under:
	// the allow's, or with Restricted the table on which the user holds
	// only restricted grants (policy.Decision.Table). A proxy reusing an
	// allow for another key under Location names that key's partition
	// with Table.At.
	Table *policy.TableMatch `json:"table,omitempty"`
	// Restricted marks a refusal because the user's grants on Table are
	// restricted (policy.Decision.Restricted).
	Restricted bool `json:"restricted,omitempty"`
}

// Location is where a grant applies.
type Location struct {
	Server bool   `json:"server,omitempty"`
	Bucket string `json:"bucket,omitempty"`
	Path   string `json:"path,omitempty"`
}

// ViewRequest asks what principal may see of Bucket with Privilege.
type ViewRequest struct {
	Principal Principal        `json:"principal"`
	Bucket    string           `json:"bucket"`
	Privilege grants.Privilege `json:"privilege"`
}

// ViewResponse is a policy.View on the wire.
type ViewResponse struct {
	All   bool     `json:"all,omitempty"`
	Paths []string `json:"paths,omitempty"`
}

// BucketsResponse says which buckets ListBuckets may show to a principal
// (POST /api/internal/buckets with a Principal): all of them, or Buckets.
type BucketsResponse struct {
	All     bool     `json:"all,omitempty"`
	Buckets []string `json:"buckets,omitempty"`
}

// Upstream is a set of signing credentials for one bucket.
type Upstream struct {
	AccessKeyID     string    `json:"access_key_id"`
	SecretAccessKey string    `json:"secret_access_key"`
	SessionToken    string    `json:"session_token,omitempty"`
	Expires         time.Time `json:"expires,omitzero"`
}

// Settings are what a proxy needs from the server once.
type Settings struct {
	// SealKey is the key that seals listing markers, shared so that a
	// listing continues through any proxy.
	SealKey []byte `json:"seal_key"`
	// Upstream is where the server sends each bucket's requests, so that
	// the credentials it hands out are used against the endpoint, region
	// and addressing they are meant for and a proxy needs no upstream
	// configuration of its own. Nil from a server that predates it.
	Upstream *Targets `json:"upstream,omitempty"`
}

// Targets are the server's upstream targets: its default and its
// per-bucket overrides (upstream.buckets, okerafs.<bucket>.region), each
// complete (a bucket's entry already holds what it inherits).
type Targets struct {
	Default Target            `json:"default"`
	Buckets map[string]Target `json:"buckets,omitempty"`
	// CORS are the buckets' CORS rules of the server's configuration
	// (upstream.buckets.<b>.cors), which the proxy answers CORS requests
	// for those buckets from instead of the backend's.
	CORS map[string][]CORSRule `json:"cors,omitempty"`
}

// CORSRule is a CORS rule of a bucket on the wire (config.CORSRule,
// cors.Rule), as configured: the proxy cleans and checks it.
type CORSRule struct {
	ID             string   `json:"id,omitempty"`
	AllowedOrigins []string `json:"allowed_origins"`
	AllowedMethods []string `json:"allowed_methods"`
	AllowedHeaders []string `json:"allowed_headers,omitempty"`
	ExposeHeaders  []string `json:"expose_headers,omitempty"`
	MaxAgeSeconds  *int     `json:"max_age_seconds,omitempty"`
}

// Target is upstream.Target on the wire.
type Target struct {
	// Endpoint is the base URL; empty means AWS S3 for Region.
	Endpoint    string `json:"endpoint,omitempty"`
	Region      string `json:"region,omitempty"`
	PathStyle   bool   `json:"path_style,omitempty"`
	SignPayload bool   `json:"sign_payload,omitempty"`
}
