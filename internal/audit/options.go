package audit

import (
	"github.com/lakegate/lakegate/internal/config"
)

// OptionsFromConfig returns the Options of the audit log (for New) and of
// the server log (for NewServerLog) that cfg describes, S3 endpoint,
// region and addressing included (the upstream's, or the upstream.buckets
// entry of the log bucket). The caller sets S3.Credentials (the upstream
// system credentials) when a bucket is configured, and Logger.
// serverLog.Sinks is empty when no server-log sink is configured: then
// there is no ServerLog to open.
func OptionsFromConfig(cfg *config.Config) (events, serverLog Options) {
	a := cfg.Audit
	base := Options{
		Node:           a.Node,
		FailOpen:       !a.FailClosed,
		FsyncInterval:  a.FsyncInterval,
		SpoolDir:       cfg.AuditSpoolDir(),
		SpoolMaxBytes:  int64(a.SpoolMaxSizeMB) << 20,
		UploadInterval: a.UploadInterval,
	}
	events, serverLog = base, base
	events.Sinks, events.S3 = sinksFromConfig(cfg, cfg.AuditEvents())
	serverLog.Sinks, serverLog.S3 = sinksFromConfig(cfg, cfg.AuditServerLog())
	return events, serverLog
}

func sinksFromConfig(cfg *config.Config, s config.AuditSinks) (Sinks, S3Options) {
	sinks := Sinks{
		Dir: s.Dir, MaxSize: int64(s.MaxSizeMB) << 20, MaxAge: s.MaxAge, Retain: s.Retain,
		S3Bucket: s.S3Bucket, S3Prefix: s.S3Prefix, Stdout: s.Stdout,
	}
	return sinks, BucketS3Options(cfg, s.S3Bucket)
}

// BucketS3Options returns how to reach bucket per cfg's upstream settings:
// endpoint, region and path style, overridden by upstream.buckets.<bucket>.
// Credentials are left to the caller.
func BucketS3Options(cfg *config.Config, bucket string) S3Options {
	u := cfg.Upstream
	o := S3Options{Endpoint: u.Endpoint, Region: u.Region, PathStyle: u.PathStyle}
	if b, ok := u.Buckets[bucket]; ok && bucket != "" {
		if b.Endpoint != "" {
			o.Endpoint = b.Endpoint
		}
		if b.Region != "" {
			o.Region = b.Region
		}
		if b.PathStyle != nil {
			o.PathStyle = *b.PathStyle
		}
	}
	return o
}
