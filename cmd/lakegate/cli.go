package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/lakegate/lakegate/internal/config"
	"github.com/lakegate/lakegate/internal/quickstart"
	"github.com/lakegate/lakegate/internal/server"
)

// version is set at build time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

// configEnv names the environment variable that supplies --config.
const configEnv = "LAKEGATE_CONFIG"

// run executes the command line args and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintf(stderr, "lakegate: %v\n", err)
		return 1
	}
	return 0
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "lakegate",
		Short: "Governed access to an S3 data lake",
		Long: `lakegate is an S3 access proxy and policy server: users get short-lived
AWS-style keys, point any S3 client at the proxy, and every request is
authenticated, authorized and re-signed with the real credentials.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(
		newServeCmd(stderr),
		newProxyCmd(stderr),
		newSystemTokenCmd(stdout),
		newQuickstartCmd(stdout, stderr),
		newConfigCmd(stdout, stderr),
		newSQLCmd(stdout),
		newQueryCmd(stdout),
		newUsersCmd(stdout),
		newCheckCmd(stdout),
		newAuditCmd(stdout),
		newLoginCmd(stdout, stderr),
		newCredentialsCmd(stdout),
		newStoreCmd(stdout),
		newVersionCmd(stdout),
	)
	return root
}

// addConfigFlag registers --config, defaulting to $LAKEGATE_CONFIG.
func addConfigFlag(cmd *cobra.Command, path *string) {
	cmd.Flags().StringVar(path, "config", os.Getenv(configEnv),
		"YAML configuration file (default $"+configEnv+"; none: defaults and LAKEGATE_* variables)")
}

func newServeCmd(stderr io.Writer) *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the S3 access proxy and the REST server",
		Long: `serve runs the access proxy and the REST server from the configuration
(--config, LAKEGATE_* and Okera's variables). The catalog admin is user admin,
with admin.access_key_id/secret_access_key and admin.token; with none of them
set, serve creates a token in <data_dir>/admin-token (mode 0600) on its first
start and logs the file's path: export LAKEGATE_TOKEN=$(cat that file) for
lakegate sql, users, check and audit query. admin.groups names the directory
groups whose members are catalog admins too.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(path, os.LookupEnv)
			if err != nil {
				return err
			}
			s, err := server.New(cmd.Context(), cfg, server.NewLogger(cfg.Log, stderr))
			if err != nil {
				return err
			}
			return s.Serve(cmd.Context())
		},
	}
	addConfigFlag(cmd, &path)
	return cmd
}

func newQuickstartCmd(stdout, stderr io.Writer) *cobra.Command {
	var (
		o                            quickstart.Options
		path                         string
		dataDir, proxyAddr, restAddr string
	)
	cmd := &cobra.Command{
		Use:   "quickstart",
		Short: "Run everything locally with an embedded S3 backend and print an AWS CLI profile",
		Long: `quickstart runs lakegate with an embedded S3 backend storing buckets under
the data directory, SQLite for its state, and an admin access key created on
the first run and reused afterwards. It prints a profile for ~/.aws/config
and runs until interrupted.

It reads the configuration like serve (--config, LAKEGATE_* and Okera's
variables such as JWT_PUBLIC_KEY): authentication, groups, audit, logging and
proxy settings apply. What quickstart embeds replaces the configuration's
upstream.*, store.* and admin key and token, with a warning naming them; the
flags below win over data_dir, proxy.addr and rest.addr.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(path, os.LookupEnv)
			if err != nil {
				return err
			}
			f := cmd.Flags()
			for _, fl := range []struct {
				name     string
				val, dst *string
			}{{"data-dir", &dataDir, &o.DataDir}, {"proxy-addr", &proxyAddr, &o.ProxyAddr}, {"rest-addr", &restAddr, &o.RESTAddr}} {
				if f.Changed(fl.name) {
					*fl.dst = *fl.val
				}
			}
			o.Config = cfg
			o.Stdout = stdout
			o.Logger = server.NewLogger(cfg.Log, stderr)
			return quickstart.Run(cmd.Context(), o)
		},
	}
	addConfigFlag(cmd, &path)
	f := cmd.Flags()
	f.StringVar(&dataDir, "data-dir", quickstart.DefaultDataDir, "directory for buckets, keys and the database (never the configuration's data_dir, which may hold a serve's store)")
	f.StringVar(&proxyAddr, "proxy-addr", quickstart.DefaultProxyAddr, "S3 access proxy listen address, port 0: any free port (default: proxy.addr when the configuration sets it)")
	f.StringVar(&restAddr, "rest-addr", quickstart.DefaultRESTAddr, "REST API listen address, port 0: any free port (default: rest.addr when the configuration sets it)")
	f.BoolVar(&o.WriteAWSConfig, "write-aws-config", false,
		"add or replace [profile "+quickstart.ProfileName+"] in $AWS_CONFIG_FILE or ~/.aws/config")
	return cmd
}

func newConfigCmd(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Inspect the configuration",
	}
	var path string
	printCmd := &cobra.Command{
		Use:   "print",
		Short: "Print the effective configuration (file, then LAKEGATE_* variables) with secrets redacted",
		Long: `print shows the configuration serve would use, as YAML, with secret values
replaced by REDACTED. Problems found by validation are listed on stderr and
make the command fail.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			cfg, err := config.Load(path, os.LookupEnv)
			if err != nil {
				return err
			}
			if err := cfg.Print(stdout); err != nil {
				return err
			}
			if err := cfg.Validate(); err != nil {
				fmt.Fprintf(stderr, "\nconfiguration problems:\n%v\n", err)
				return errors.New("invalid configuration")
			}
			return nil
		},
	}
	addConfigFlag(printCmd, &path)
	cmd.AddCommand(printCmd)
	return cmd
}

func newVersionCmd(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(*cobra.Command, []string) {
			fmt.Fprintf(stdout, "lakegate %s%s %s %s/%s\n", version, revision(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
		},
	}
}

// revision returns " (<vcs revision>)" when the binary was built with VCS
// stamping, else "".
func revision() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	var rev, dirty string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if rev == "" {
		return ""
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	return " (" + rev + dirty + ")"
}
