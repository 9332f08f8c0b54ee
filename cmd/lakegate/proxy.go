package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/lakegate/lakegate/internal/config"
	"github.com/lakegate/lakegate/internal/server"
	"github.com/lakegate/lakegate/internal/systoken"
)

func newProxyCmd(stderr io.Writer) *cobra.Command {
	var (
		path string
		o    struct {
			server, addr string
			ttl, stale   string
		}
	)
	cmd := &cobra.Command{
		Use:   "proxy --server URL",
		Short: "Run the S3 access proxy alone, deciding through a policy server (nScale mode)",
		Long: `proxy runs the access proxy on a compute node, next to the S3 clients that use
it (seed 001's nScale mode). It holds no database and no cloud credentials: it
authenticates to the policy server with the system token (system.private_key,
Okera's JWT_PRIVATE_KEY, or system.token_file, Okera's SYSTEM_TOKEN), verifies
keys and asks for decisions through the server's internal API behind its caches,
signs with credentials the server hands out for the endpoints, regions and
addressing of the server's configuration (its own upstream.* settings are
ignored), and follows the server's change feed, so that a revocation takes
effect within a second.

With the server unreachable, cached allow decisions and keys stay in use for
proxy.max_staleness; everything else is refused with 503 ServiceUnavailable.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(path, os.LookupEnv)
			if err != nil {
				return err
			}
			if err := applyProxyFlags(cmd, cfg, o.server, o.addr, o.ttl, o.stale); err != nil {
				return err
			}
			s, err := server.NewProxy(cmd.Context(), cfg, server.NewLogger(cfg.Log, stderr))
			if err != nil {
				return err
			}
			return s.Serve(cmd.Context())
		},
	}
	addConfigFlag(cmd, &path)
	f := cmd.Flags()
	f.StringVar(&o.server, "server", "", "policy server REST URL (proxy.server), e.g. https://lakegate:8083")
	f.StringVar(&o.addr, "addr", "", "listen address (proxy.addr; default 127.0.0.1:5010 for this command)")
	f.StringVar(&o.ttl, "user-permission-ttl", "", "longest reuse of an allow decision (proxy.user_permission_ttl, default 1h)")
	f.StringVar(&o.stale, "max-staleness", "", "with the server unreachable, honour cached allows this long (proxy.max_staleness, default 5m)")
	return cmd
}

// applyProxyFlags lays the flags given over cfg. An nScale proxy serves
// the clients on its own node, so it listens on loopback unless told
// otherwise.
func applyProxyFlags(cmd *cobra.Command, cfg *config.Config, srv, addr, ttl, stale string) error {
	f := cmd.Flags()
	if f.Changed("server") {
		cfg.Proxy.Server = srv
	}
	switch {
	case f.Changed("addr"):
		cfg.Proxy.Addr = addr
	case cfg.Proxy.Addr == config.DefaultProxyAddr && os.Getenv(config.EnvPrefix+"PROXY_ADDR") == "":
		cfg.Proxy.Addr = "127.0.0.1:5010"
	}
	for _, d := range []struct {
		name, raw string
		dst       *time.Duration
	}{{"user-permission-ttl", ttl, &cfg.Proxy.UserPermissionTTL}, {"max-staleness", stale, &cfg.Proxy.MaxStaleness}} {
		if !f.Changed(d.name) {
			continue
		}
		v, err := time.ParseDuration(d.raw)
		if err != nil {
			return fmt.Errorf("--%s: %w", d.name, err)
		}
		*d.dst = v
	}
	return nil
}

func newSystemTokenCmd(stdout io.Writer) *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "system-token",
		Short: "Print a system token minted with system.private_key, for a SYSTEM_TOKEN file",
		Long: `system-token mints a system token (subject "lakegate") with the cluster's
private key (system.private_key, Okera's JWT_PRIVATE_KEY), valid for
system.token_duration (SYSTEM_TOKEN_DURATION_MIN), and prints it. Write it to a
file and point system.token_file (SYSTEM_TOKEN) at it on nodes that must not hold
the private key. Treat it as a secret.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(path, os.LookupEnv)
			if err != nil {
				return err
			}
			if cfg.System.PrivateKey == "" {
				return errors.New("system.private_key (JWT_PRIVATE_KEY) is not set")
			}
			src, err := systoken.NewSource(cfg.System.PrivateKey, "", cfg.System.TokenDuration)
			if err != nil {
				return err
			}
			tok, err := src.Token(context.WithoutCancel(cmd.Context()))
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(stdout, tok)
			return err
		},
	}
	addConfigFlag(cmd, &path)
	return cmd
}
