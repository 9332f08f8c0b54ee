package config

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Audit configures the audit log (one event per proxy and REST request)
// and where the server's own log goes besides stderr. See
// internal/audit and the "Audit log" section of the README.
type Audit struct {
	// Events are the audit log's sinks. With none set, events go to
	// <data_dir>/audit: the audit log is never off.
	Events AuditSinks `yaml:"events"`
	// ServerLog are the server log's sinks (JSON lines, scrubbed of
	// secrets), in addition to stderr; none by default.
	ServerLog AuditSinks `yaml:"server_log"`
	// FsyncInterval bounds what a power loss can lose: accepted records
	// are fsynced this often. A kill -9 loses nothing accepted whatever
	// the interval; 0 fsyncs before every decision is confirmed.
	FsyncInterval time.Duration `yaml:"fsync_interval"`
	// FailClosed refuses requests whose decision no audit sink accepted.
	FailClosed bool `yaml:"fail_closed"`
	// Node names this process in events and S3 keys; empty means the host
	// name.
	Node string `yaml:"node"`
	// SpoolDir holds S3 batches until they are uploaded; empty means
	// <data_dir>/audit-spool.
	SpoolDir string `yaml:"spool_dir"`
	// SpoolMaxSizeMB bounds the spool when uploads keep failing; a full
	// spool accepts nothing more.
	SpoolMaxSizeMB int `yaml:"spool_max_size_mb"`
	// UploadInterval is how often a batch is cut and uploaded to S3 (also
	// at 64 MiB, and at each hour).
	UploadInterval time.Duration `yaml:"upload_interval"`
	// UnauthenticatedRate bounds the records per second of unauthenticated
	// proxy requests: those refused before they were authenticated (bad
	// or missing signatures) and CORS preflights, allowed or not. They are
	// compacted, and past the rate counted instead of written, the next
	// record saying how many were left out.
	UnauthenticatedRate float64 `yaml:"unauthenticated_rate"`
}

// AuditSinks is where one log goes; any combination may be set.
type AuditSinks struct {
	// Dir holds JSONL files, rotated ones gzip-compressed.
	Dir string `yaml:"dir"`
	// MaxSizeMB rotates the current file at this size; 0 disables.
	MaxSizeMB int `yaml:"max_size_mb"`
	// MaxAge rotates the current file at this age; 0 disables.
	MaxAge time.Duration `yaml:"max_age"`
	// Retain deletes rotated files once every record in them is older
	// than this; 0 keeps them forever.
	Retain time.Duration `yaml:"retain"`
	// S3Bucket and S3Prefix send compressed batches to
	// s3://<bucket>/<prefix>/audit/YYYY/MM/DD/HH/<node>-<seq>.jsonl.gz
	// (server/ for the server log), signed with the upstream system
	// credentials; upstream.buckets.<bucket> may give the bucket its own
	// endpoint or region.
	S3Bucket string `yaml:"s3_bucket"`
	S3Prefix string `yaml:"s3_prefix"`
	// Stdout writes every record to standard output.
	Stdout bool `yaml:"stdout"`
}

// Configured reports whether any sink is set.
func (s AuditSinks) Configured() bool { return s.Dir != "" || s.S3Bucket != "" || s.Stdout }

// Defaults of the audit settings.
const (
	DefaultAuditFsyncInterval  = time.Second
	DefaultAuditMaxSizeMB      = 100
	DefaultAuditMaxAge         = 24 * time.Hour
	DefaultAuditSpoolMaxSizeMB = 4096
	DefaultAuditUploadInterval = time.Minute
	// DefaultAuditUnauthenticatedRate is audit.unauthenticated_rate's
	// default, in records per second.
	DefaultAuditUnauthenticatedRate = 20
	// AuditDir and AuditSpoolDir are the directories inside DataDir used
	// when audit.events has no sink and audit.spool_dir is empty.
	AuditDir      = "audit"
	AuditSpoolDir = "audit-spool"
)

func defaultAudit() Audit {
	sinks := AuditSinks{MaxSizeMB: DefaultAuditMaxSizeMB, MaxAge: DefaultAuditMaxAge}
	return Audit{
		Events:         sinks,
		ServerLog:      sinks,
		FsyncInterval:  DefaultAuditFsyncInterval,
		FailClosed:     true,
		SpoolMaxSizeMB: DefaultAuditSpoolMaxSizeMB,
		UploadInterval: DefaultAuditUploadInterval,

		UnauthenticatedRate: DefaultAuditUnauthenticatedRate,
	}
}

// AuditEvents returns the audit log's sinks with the default applied: with
// no sink configured, files in <data_dir>/audit.
// A leading "~/" is expanded.
func (c *Config) AuditEvents() AuditSinks {
	s := c.Audit.Events
	if !s.Configured() {
		s.Dir = filepath.Join(c.DataDir, AuditDir)
	}
	_ = expandHome(&s.Dir) // on failure the path stays as written
	return s
}

// AuditServerLog returns the server log's sinks, a leading "~/" in the
// directory expanded.
func (c *Config) AuditServerLog() AuditSinks {
	s := c.Audit.ServerLog
	_ = expandHome(&s.Dir)
	return s
}

// AuditSpoolDir returns audit.spool_dir, or <data_dir>/audit-spool; a
// leading "~/" is expanded.
func (c *Config) AuditSpoolDir() string {
	dir := c.Audit.SpoolDir
	if dir == "" {
		dir = filepath.Join(c.DataDir, AuditSpoolDir)
	}
	_ = expandHome(&dir)
	return dir
}

var auditNodeRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// validate adds the audit settings' problems to v.
func (a *Audit) validate(v *validator) {
	if a.FsyncInterval < 0 {
		v.add("audit.fsync_interval", "must not be negative (0 fsyncs every batch)")
	}
	if a.Node != "" && !auditNodeRE.MatchString(a.Node) {
		v.add("audit.node", fmt.Sprintf("%q: use up to 128 letters, digits, '.', '_' and '-'", a.Node))
	}
	if a.UnauthenticatedRate <= 0 {
		v.add("audit.unauthenticated_rate", "must be positive (records per second)")
	}
	if a.SpoolMaxSizeMB <= 0 {
		v.add("audit.spool_max_size_mb", "must be positive")
	}
	if a.UploadInterval < time.Second {
		v.add("audit.upload_interval", "must be at least 1s")
	}
	for _, s := range []struct {
		path  string
		sinks AuditSinks
	}{{"audit.events", a.Events}, {"audit.server_log", a.ServerLog}} {
		if s.sinks.MaxSizeMB < 0 {
			v.add(s.path+".max_size_mb", "must not be negative (0 disables size rotation)")
		}
		if s.sinks.MaxAge < 0 {
			v.add(s.path+".max_age", "must not be negative (0 disables time rotation)")
		}
		if s.sinks.Retain < 0 {
			v.add(s.path+".retain", "must not be negative (0 keeps rotated files forever)")
		}
		if b := s.sinks.S3Bucket; b != "" && !bucketRE.MatchString(b) {
			v.add(s.path+".s3_bucket", fmt.Sprintf("%q is not a valid S3 bucket name", b))
		}
		if p := s.sinks.S3Prefix; p != "" {
			switch {
			case s.sinks.S3Bucket == "":
				v.add(s.path+".s3_prefix", "needs s3_bucket")
			case strings.Contains(p, "//") || strings.Contains("/"+p+"/", "/../") || strings.ContainsAny(p, "\\\x00\n"):
				v.add(s.path+".s3_prefix", fmt.Sprintf("%q is not a clean key prefix", p))
			}
		}
	}
}
