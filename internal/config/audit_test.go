package config_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lakegate/lakegate/internal/config"
)

func TestAuditDefaultsAndEnv(t *testing.T) {
	t.Setenv("HOME", "/home/tester")
	cfg, err := config.Load("", env(map[string]string{
		"LAKEGATE_DATA_DIR":                "/var/lib/lakegate",
		"LAKEGATE_AUDIT_FAIL_CLOSED":       "false",
		"LAKEGATE_AUDIT_FSYNC_INTERVAL":    "250ms",
		"LAKEGATE_AUDIT_SERVER_LOG_STDOUT": "true",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	a := cfg.Audit
	if a.FailClosed || a.FsyncInterval != 250*time.Millisecond || !a.ServerLog.Stdout {
		t.Errorf("environment not applied: %+v", a)
	}
	if got := cfg.AuditEvents().Dir; got != filepath.Join("/var/lib/lakegate", config.AuditDir) {
		t.Errorf("default events dir = %q", got)
	}
	if got := cfg.AuditSpoolDir(); got != "/var/lib/lakegate/audit-spool" {
		t.Errorf("default spool dir = %q", got)
	}
	if d := config.Default().Audit; !d.FailClosed || d.FsyncInterval != time.Second {
		t.Errorf("defaults: %+v", d)
	}
	// Any sink set: no implicit directory.
	cfg.Audit.Events.S3Bucket = "logs"
	if got := cfg.AuditEvents().Dir; got != "" {
		t.Errorf("events dir with an S3 sink = %q, want none", got)
	}
}

func TestAuditValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*config.Audit)
		want   string
	}{
		{"negative fsync", func(a *config.Audit) { a.FsyncInterval = -time.Second }, "audit.fsync_interval"},
		{"bad node", func(a *config.Audit) { a.Node = "a/b" }, "audit.node"},
		{"bad bucket", func(a *config.Audit) { a.Events.S3Bucket = "Bad_Bucket" }, "audit.events.s3_bucket"},
		{"prefix without bucket", func(a *config.Audit) { a.ServerLog.S3Prefix = "x" }, "audit.server_log.s3_prefix"},
		{"dirty prefix", func(a *config.Audit) { a.Events.S3Bucket, a.Events.S3Prefix = "logs", "a/../b" }, "audit.events.s3_prefix"},
		{"negative size", func(a *config.Audit) { a.Events.MaxSizeMB = -1 }, "audit.events.max_size_mb"},
		{"negative age", func(a *config.Audit) { a.ServerLog.MaxAge = -time.Hour }, "audit.server_log.max_age"},
		{"zero spool", func(a *config.Audit) { a.SpoolMaxSizeMB = 0 }, "audit.spool_max_size_mb"},
		{"fast uploads", func(a *config.Audit) { a.UploadInterval = time.Millisecond }, "audit.upload_interval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.Store.DSN = "/tmp/x.db"
			tt.mutate(&cfg.Audit)
			err := cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate = %v, want a problem with %s", err, tt.want)
			}
		})
	}
	ok := config.Default()
	ok.Store.DSN = "/tmp/x.db"
	ok.Audit.Events = config.AuditSinks{S3Bucket: "company-logs", S3Prefix: "lakegate/prod", Stdout: true}
	ok.Audit.Node = "proxy-1.example"
	ok.Audit.FsyncInterval = 0
	if err := ok.Validate(); err != nil {
		t.Errorf("valid audit settings refused: %v", err)
	}
}
