package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/lakegate/lakegate/internal/config"
)

func TestUpstreamRoles(t *testing.T) {
	t.Setenv("HOME", "/home/tester")
	tests := []struct {
		name    string
		yaml    string
		env     map[string]string
		check   func(*config.Config) bool
		wantErr []string
	}{
		{
			name: "defaults",
			check: func(c *config.Config) bool {
				u := c.Upstream
				return u.RoleARN == "" && u.STSEndpoint == "" && u.RoleSessionDuration == time.Hour && u.RoleSessionName == "lakegate"
			},
		},
		{
			name: "bucket role map and fallback from YAML",
			yaml: `upstream:
  role_arn: arn:aws:iam::123456789012:role/odap-iam-role
  role_session_duration: 2h
  role_session_name: lakegate-prod
  buckets:
    finance:
      role_arn: arn:aws:iam::210987654321:role/path/finance-reader
    logs:
      region: eu-west-1
`,
			check: func(c *config.Config) bool {
				u := c.Upstream
				return u.RoleARN == "arn:aws:iam::123456789012:role/odap-iam-role" &&
					u.RoleSessionDuration == 2*time.Hour && u.RoleSessionName == "lakegate-prod" &&
					u.Buckets["finance"].RoleARN == "arn:aws:iam::210987654321:role/path/finance-reader" &&
					u.Buckets["logs"].RoleARN == ""
			},
		},
		{
			name: "OKERA_SYSTEM_IAM_ROLE_ARN",
			env:  map[string]string{"OKERA_SYSTEM_IAM_ROLE_ARN": "arn:aws-us-gov:iam::123456789012:role/okera"},
			check: func(c *config.Config) bool {
				return c.Upstream.RoleARN == "arn:aws-us-gov:iam::123456789012:role/okera"
			},
		},
		{
			name: "LAKEGATE_ name wins over the Okera alias",
			env: map[string]string{
				"OKERA_SYSTEM_IAM_ROLE_ARN":  "arn:aws:iam::123456789012:role/okera",
				"LAKEGATE_UPSTREAM_ROLE_ARN": "arn:aws:iam::123456789012:role/lakegate",
			},
			check: func(c *config.Config) bool { return c.Upstream.RoleARN == "arn:aws:iam::123456789012:role/lakegate" },
		},
		{
			name: "short sessions with an STS endpoint",
			env: map[string]string{
				"LAKEGATE_UPSTREAM_STS_ENDPOINT":          "http://127.0.0.1:5000",
				"LAKEGATE_UPSTREAM_ROLE_SESSION_DURATION": "30s",
			},
			check: func(c *config.Config) bool {
				return c.Upstream.STSEndpoint == "http://127.0.0.1:5000" && c.Upstream.RoleSessionDuration == 30*time.Second
			},
		},
		{
			name:    "short sessions against AWS",
			env:     map[string]string{"LAKEGATE_UPSTREAM_ROLE_SESSION_DURATION": "10m"},
			wantErr: []string{"upstream.role_session_duration: 10m0s is below AWS STS's minimum of 15m0s"},
		},
		{
			name: "bad values",
			yaml: `upstream:
  role_arn: arn:aws:iam::1234:role/x
  sts_endpoint: sts.amazonaws.com
  role_session_duration: 13h
  role_session_name: "has space"
  buckets:
    finance:
      role_arn: arn:aws:iam::123456789012:user/finance
`,
			wantErr: []string{
				`upstream.role_arn: "arn:aws:iam::1234:role/x" is not an IAM role ARN`,
				`upstream.sts_endpoint: "sts.amazonaws.com" is not an http(s) URL`,
				"upstream.role_session_duration: 13h0m0s exceeds AWS STS's maximum of 12h0m0s",
				"upstream.role_session_name: must be 2 to 64",
				`upstream.buckets.finance.role_arn: "arn:aws:iam::123456789012:user/finance" is not an IAM role ARN`,
			},
		},
		{
			name: "fractional seconds",
			env: map[string]string{
				"LAKEGATE_UPSTREAM_STS_ENDPOINT":          "http://127.0.0.1:5000",
				"LAKEGATE_UPSTREAM_ROLE_SESSION_DURATION": "1500ms",
			},
			wantErr: []string{"upstream.role_session_duration: must be a positive whole number of seconds"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Load(writeYAML(t, tt.yaml), env(tt.env))
			if err == nil {
				cfg.DataDir, cfg.Store.DSN = "/data", "/data/lakegate.db"
				err = cfg.Validate()
			}
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("Load succeeded, want errors %q", tt.wantErr)
				}
				for _, want := range tt.wantErr {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not mention %q", err, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !tt.check(cfg) {
				t.Errorf("unexpected upstream: %+v", cfg.Upstream)
			}
		})
	}
}
