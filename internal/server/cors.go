package server

import (
	"github.com/lakegate/lakegate/internal/config"
	"github.com/lakegate/lakegate/internal/gateway"
	"github.com/lakegate/lakegate/internal/nscale"
	"github.com/lakegate/lakegate/internal/s3/cors"
	"github.com/lakegate/lakegate/internal/upstream"
)

// corsOptions answers CORS requests from rules where a bucket has them
// (upstream.buckets.<b>.cors: the server's own, or on an nScale proxy
// the server's as it hands them), else from the backend's bucket
// configuration read through up.
func corsOptions(rules map[string][]cors.Rule, up *upstream.Client) gateway.CORSOptions {
	return gateway.CORSOptions{Source: up, Buckets: rules}
}

// corsRules are the rules of upstream.buckets.<b>.cors, by bucket.
func corsRules(u config.Upstream) map[string][]cors.Rule {
	rules := map[string][]cors.Rule{}
	for name, b := range u.Buckets {
		if r := b.CORSRules(); len(r) > 0 {
			rules[name] = r
		}
	}
	return rules
}

// wireCORS are the rules of upstream.buckets.<b>.cors as the internal API
// hands them to proxies; nil when no bucket has any.
func wireCORS(u config.Upstream) map[string][]nscale.CORSRule {
	var out map[string][]nscale.CORSRule
	for name, rules := range corsRules(u) {
		if out == nil {
			out = map[string][]nscale.CORSRule{}
		}
		for _, r := range rules {
			out[name] = append(out[name], nscale.CORSRule{
				ID: r.ID, AllowedOrigins: r.AllowedOrigins, AllowedMethods: r.AllowedMethods,
				AllowedHeaders: r.AllowedHeaders, ExposeHeaders: r.ExposeHeaders, MaxAgeSeconds: r.MaxAgeSeconds,
			})
		}
	}
	return out
}

// proxyCORSRules are the CORS rules an nScale proxy answers from: the
// policy server's (server, from its settings), like every other upstream
// setting; the proxy's own upstream.buckets.<b>.cors only when the server
// sends no targets (an older version).
func proxyCORSRules(local config.Upstream, server *nscale.Targets) map[string][]cors.Rule {
	if server == nil {
		return corsRules(local)
	}
	rules := make(map[string][]cors.Rule, len(server.CORS))
	for name, wire := range server.CORS {
		for _, r := range wire {
			rules[name] = append(rules[name], cors.Rule{
				ID: r.ID, AllowedOrigins: r.AllowedOrigins, AllowedMethods: r.AllowedMethods,
				AllowedHeaders: r.AllowedHeaders, ExposeHeaders: r.ExposeHeaders, MaxAgeSeconds: r.MaxAgeSeconds,
			})
		}
	}
	return rules
}
