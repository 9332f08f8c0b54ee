package authz

import (
	"fmt"
	"strings"

	"github.com/lakegate/lakegate/internal/grants"
	"github.com/lakegate/lakegate/internal/policy"
	"github.com/lakegate/lakegate/internal/s3/request"
)

// Decision is an authorization answer with its reason.
type Decision = policy.Decision

// Decide answers whether p may perform an operation that needs a, on
// bucket and key. For ScopeListing, key is the listing's prefix; for
// ScopeEachKey it is one of the keys (call Decide once per key). A
// principal outside the required group (Principal.MissingGroup) is refused
// everything, with that as the reason; while the policy is not Fresh,
// everyone is, as Unavailable.
func (e *Engine) Decide(p Principal, a request.Access, bucket, key string) Decision {
	if d := e.staleDecision(); d != nil {
		return *d
	}
	if p.MissingGroup != "" && len(p.Groups) == 0 {
		return Decision{Reason: fmt.Sprintf("user %s is not a member of the required group %q (groups.required) and is not a catalog admin, so holds no grant",
			p.User, p.MissingGroup)}
	}
	pol := e.cur.Load().pol
	switch a.Scope {
	case request.ScopeObject, request.ScopeEachKey:
		return evaluateAny(pol, p, a.AnyOf, uri(bucket, key))
	case request.ScopeBucket:
		return evaluateAny(pol, p, a.AnyOf, uri(bucket, ""))
	case request.ScopeBucketAny:
		if pol.HasAnyGrantInBucket(p.Groups, bucket) {
			return Decision{Allowed: true, Reason: fmt.Sprintf("groups %v hold a grant in %s", p.Groups, uri(bucket, ""))}
		}
		return Decision{Reason: fmt.Sprintf("no role granted to groups %v holds any grant in %s", p.Groups, uri(bucket, ""))}
	case request.ScopeListing:
		return decideListing(pol, p, a.AnyOf, bucket, key)
	case request.ScopeService:
		return Decision{Allowed: true, Reason: "every user may list buckets; the result shows only buckets in which the user holds a grant"}
	}
	return Decision{Reason: "the operation is not supported by the access proxy"}
}

// evaluateAny allows when any privilege of any covers target, explaining
// with the first that does.
func evaluateAny(pol *policy.Policy, p Principal, any grants.Privileges, target string) Decision {
	privs := any.List()
	var last Decision
	for _, priv := range privs {
		last = pol.Evaluate(policy.Request{User: p.User, Groups: p.Groups, Privilege: priv, URI: target})
		if last.Allowed {
			return last
		}
	}
	if last.Restricted {
		// Under a table the user holds only restricted grants on, whatever
		// the privilege: the refusal says so (the proxy names the scan
		// endpoint), for any of them.
		return last
	}
	if len(privs) > 1 && len(p.Groups) > 0 {
		return Decision{Reason: fmt.Sprintf("no role granted to groups %v holds %s on %s",
			p.Groups, strings.ReplaceAll(any.String(), ", ", " or "), target)}
	}
	if len(privs) == 0 {
		return Decision{Reason: "the operation needs no privilege the policy can grant"}
	}
	return last
}

// decideListing allows a listing under prefix when a privilege of any
// covers the prefix, or when the view of any (policy.ViewAny, the one the
// proxy filters through) reaches below it: the listing is then filtered
// down to it.
func decideListing(pol *policy.Policy, p Principal, any grants.Privileges, bucket, prefix string) Decision {
	d := evaluateAny(pol, p, any, uri(bucket, prefix))
	if d.Allowed {
		return d
	}
	// The view the proxy filters the listing through (policy.ViewAny),
	// with the privileges that reach below the prefix for the reason.
	var below []grants.Privilege
	view := policy.ViewAny(any, func(priv grants.Privilege) *policy.View {
		v := pol.View(p.Groups, bucket, priv)
		if v.Prefix(prefix) {
			below = append(below, priv)
		}
		return v
	})
	if !view.Prefix(prefix) || len(below) == 0 {
		return d
	}
	return Decision{Allowed: true, Reason: fmt.Sprintf(
		"groups %v hold %s below %s; the listing shows only what those grants cover", p.Groups, below[0], uri(bucket, prefix))}
}

// View returns what p may see of bucket with priv, for filtering listings;
// nothing while the policy is not Fresh.
func (e *Engine) View(p Principal, bucket string, priv grants.Privilege) *policy.View {
	groups := p.Groups
	if e.Fresh() != nil {
		groups = nil
	}
	return e.cur.Load().pol.View(groups, bucket, priv)
}

// BucketVisible reports whether ListBuckets may show bucket to p; no
// bucket is visible while the policy is not Fresh.
func (e *Engine) BucketVisible(p Principal, bucket string) bool {
	return e.Fresh() == nil && e.cur.Load().pol.HasAnyGrantInBucket(p.Groups, bucket)
}

func uri(bucket, key string) string {
	if key == "" {
		return "s3://" + bucket
	}
	return "s3://" + bucket + "/" + key
}

// Check explains whether p may perform operation on target (s3://bucket
// or s3://bucket/key; s3a:// accepted). For listings the key is the prefix.
func (e *Engine) Check(p Principal, target, operation string) (Decision, error) {
	if err := e.Fresh(); err != nil {
		return Decision{}, err
	}
	op, ok := request.ParseOperation(operation)
	if !ok {
		return Decision{}, fmt.Errorf("%w: unknown S3 operation %q (use an API action name such as GetObject, PutObject, ListObjectsV2)", ErrInvalid, operation)
	}
	scheme, rest, found := strings.Cut(target, "://")
	if !found || !(strings.EqualFold(scheme, "s3") || strings.EqualFold(scheme, "s3a")) {
		return Decision{}, fmt.Errorf("%w: invalid URI %q: expected s3://bucket[/key]", ErrInvalid, target)
	}
	bucket, key, _ := strings.Cut(rest, "/")
	a := op.Access()
	if bucket == "" && a.Scope != request.ScopeService {
		return Decision{}, fmt.Errorf("%w: invalid URI %q: a bucket is required for %s", ErrInvalid, target, op)
	}
	if (a.Scope == request.ScopeObject || a.Scope == request.ScopeEachKey) && key == "" {
		return Decision{}, fmt.Errorf("%w: %s acts on an object: give s3://bucket/key", ErrInvalid, op)
	}
	d := e.Decide(p, a, bucket, key)
	if a.Scope == request.ScopeDenied {
		d.Reason = string(op) + " is not supported by the access proxy"
	}
	return d, nil
}
