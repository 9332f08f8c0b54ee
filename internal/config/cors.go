package config

import (
	"errors"

	"github.com/lakegate/lakegate/internal/s3/cors"
)

// CORSRules returns b's CORS rules as internal/s3/cors takes them (not yet
// cleaned: cors.Clean trims and checks them).
func (b Bucket) CORSRules() []cors.Rule {
	if len(b.CORS) == 0 {
		return nil
	}
	rules := make([]cors.Rule, 0, len(b.CORS))
	for _, r := range b.CORS {
		rules = append(rules, cors.Rule{
			ID: r.ID, AllowedOrigins: r.AllowedOrigins, AllowedMethods: r.AllowedMethods,
			AllowedHeaders: r.AllowedHeaders, ExposeHeaders: r.ExposeHeaders, MaxAgeSeconds: r.MaxAgeSeconds,
		})
	}
	return rules
}

// cors reports every problem of a bucket's CORS rules (S3's checks of
// PutBucketCors, after trimming), one per problem.
func (v *validator) cors(path string, b Bucket) {
	if len(b.CORS) == 0 {
		return
	}
	_, err := cors.Clean(b.CORSRules())
	if err == nil {
		return
	}
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) {
		v.add(path, err.Error())
		return
	}
	for _, e := range joined.Unwrap() {
		v.add(path, e.Error())
	}
}
