package server

import (
	"github.com/lakegate/lakegate/internal/config"
	"github.com/lakegate/lakegate/internal/gateway"
	"github.com/lakegate/lakegate/internal/upstream"
)

// corsOptions answers CORS requests from the rules of
// upstream.buckets.<b>.cors where set, else from the backend's bucket
// configuration read through up.
func corsOptions(u config.Upstream, up *upstream.Client) gateway.CORSOptions {
	o := gateway.CORSOptions{Source: up, Buckets: map[string][]gateway.CORSRule{}}
	for name, b := range u.Buckets {
		if len(b.CORS) == 0 {
			continue
		}
		rules := make([]gateway.CORSRule, 0, len(b.CORS))
		for _, r := range b.CORS {
			rules = append(rules, gateway.CORSRule{
				ID: r.ID, AllowedOrigins: r.AllowedOrigins, AllowedMethods: r.AllowedMethods,
				AllowedHeaders: r.AllowedHeaders, ExposeHeaders: r.ExposeHeaders, MaxAgeSeconds: r.MaxAgeSeconds,
			})
		}
		o.Buckets[name] = rules
	}
	return o
}
