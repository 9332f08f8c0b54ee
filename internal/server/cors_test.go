package server

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/lakegate/lakegate/internal/config"
)

type noCredentials struct{}

func (noCredentials) Credentials(context.Context, string) (aws.Credentials, error) {
	return aws.Credentials{}, nil
}

// TestProxyCORSRules: an nScale proxy answers CORS requests from the
// rules of the policy server's upstream.buckets.<b>.cors, handed with the
// other upstream settings, not from its own configuration, and warns when
// its own differ; from its own only when the server sends no targets.
func TestProxyCORSRules(t *testing.T) {
	rule := func(origin string) []config.CORSRule {
		return []config.CORSRule{{AllowedOrigins: []string{origin}, AllowedMethods: []string{"PUT"}, AllowedHeaders: []string{"Content-Type"}}}
	}
	server := config.Default().Upstream
	server.Endpoint = "http://127.0.0.1:9000"
	server.Buckets = map[string]config.Bucket{"web": {CORS: rule("https://app.test")}}
	wire := wireTargets(server)

	rules := proxyCORSRules(config.Default().Upstream, wire)
	if r := rules["web"]; len(r) != 1 || r[0].AllowedOrigins[0] != "https://app.test" || r[0].AllowedHeaders[0] != "Content-Type" {
		t.Errorf("a node without buckets of its own: rules %+v, want the server's", rules)
	}
	local := server
	local.Buckets = map[string]config.Bucket{"web": {CORS: rule("https://other.test")}, "own": {CORS: rule("https://own.test")}}
	rules = proxyCORSRules(local, wire)
	if len(rules) != 1 || rules["web"][0].AllowedOrigins[0] != "https://app.test" {
		t.Errorf("a node with rules of its own: %+v, want only the server's", rules)
	}
	if rules := proxyCORSRules(local, nil); len(rules) != 2 || rules["web"][0].AllowedOrigins[0] != "https://other.test" {
		t.Errorf("a server that sends no targets: %+v, want the node's own", rules)
	}

	for _, c := range []struct {
		name  string
		local config.Upstream
		warn  bool
	}{
		{"same configuration", server, false},
		{"other CORS rules", local, true},
	} {
		var buf bytes.Buffer
		if _, err := proxyUpstream(t.Context(), c.local, wire, noCredentials{}, slog.New(slog.NewTextHandler(&buf, nil))); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(buf.String(), "are ignored"); got != c.warn {
			t.Errorf("%s: warned %v, want %v: %s", c.name, got, c.warn, buf.String())
		}
	}
}
