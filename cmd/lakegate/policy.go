package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/lakegate/lakegate/internal/authz"
	"github.com/lakegate/lakegate/internal/client"
	"github.com/lakegate/lakegate/internal/config"
)

// serverEnv names the environment variable that supplies --server.
const serverEnv = "LAKEGATE_SERVER"

// clientFlags are the flags every REST client command shares.
type clientFlags struct {
	server string
}

func (f *clientFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.server, "server", "",
		"lakegate REST server (default $"+serverEnv+", else rest.addr of $"+configEnv+", else "+client.DefaultServer+")")
}

// serverURL is --server, else $LAKEGATE_SERVER, else the REST address of
// the configuration $LAKEGATE_CONFIG names, else the local default.
func (f *clientFlags) serverURL() (string, error) {
	if f.server != "" {
		return f.server, nil
	}
	if s := os.Getenv(serverEnv); s != "" {
		return s, nil
	}
	path := os.Getenv(configEnv)
	if path == "" {
		return client.DefaultServer, nil
	}
	cfg, err := config.Load(path, os.LookupEnv)
	if err != nil {
		return "", err
	}
	if cfg.REST.Addr == "" {
		return "", errors.New("the configuration in $" + configEnv + " has no rest.addr; pass --server")
	}
	host, port, err := net.SplitHostPort(cfg.REST.Addr)
	if err != nil {
		return "", fmt.Errorf("rest.addr %q: %w", cfg.REST.Addr, err)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	scheme := "http"
	if cfg.REST.TLSCertFile != "" {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, port), nil
}

func (f *clientFlags) client() (*client.Client, error) {
	token, err := client.FindToken(os.Getenv)
	if err != nil {
		return nil, err
	}
	if token == "" {
		return nil, errors.New("no token: set " + client.TokenEnv + " or write it to ~/.lakegate/token")
	}
	server, err := f.serverURL()
	if err != nil {
		return nil, err
	}
	return client.New(server, token)
}

func newSQLCmd(stdout io.Writer) *cobra.Command {
	var (
		f    clientFlags
		file string
	)
	cmd := &cobra.Command{
		Use:   `sql [--server URL] "STATEMENT; …" | -f FILE`,
		Short: "Run grant-language statements (CREATE ROLE, GRANT, REVOKE, SHOW …)",
		Long: `sql sends statements to the policy server and prints their results. All
changes of one invocation are applied together or, when any statement fails,
not at all. Changes need catalog admin (ALL ON SERVER). With -f - the script
is read from standard input.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			script, err := sqlScript(args, file, cmd.InOrStdin())
			if err != nil {
				return err
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			results, err := c.SQL(cmd.Context(), script)
			if err != nil {
				return err
			}
			return printResults(stdout, results)
		},
	}
	f.add(cmd)
	cmd.Flags().StringVarP(&file, "file", "f", "", "read statements from FILE (- for standard input)")
	return cmd
}

func sqlScript(args []string, file string, stdin io.Reader) (string, error) {
	switch {
	case file != "" && len(args) > 0:
		return "", errors.New("give statements or -f FILE, not both")
	case file == "-":
		b, err := io.ReadAll(stdin)
		return string(b), err
	case file != "":
		b, err := os.ReadFile(file)
		return string(b), err
	case len(args) == 1:
		return args[0], nil
	}
	return "", errors.New(`no statements: lakegate sql "SHOW ROLES" or lakegate sql -f policy.sql`)
}

// printResults prints messages as lines and SHOW results as tables.
func printResults(w io.Writer, results []authz.Result) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for i, r := range results {
		if r.Columns == nil {
			fmt.Fprintf(tw, "%s\n", r.Message)
			continue
		}
		if i > 0 {
			fmt.Fprintln(tw)
		}
		fmt.Fprintln(tw, strings.Join(r.Columns, "\t"))
		for _, row := range r.Rows {
			fmt.Fprintln(tw, strings.Join(row, "\t"))
		}
		fmt.Fprintf(tw, "(%d row%s)\n", len(r.Rows), plural(len(r.Rows)))
	}
	return tw.Flush()
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func newUsersCmd(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "users",
		Short: "Manage users and their groups (until an identity provider resolves them)",
	}
	var cf clientFlags
	create := &cobra.Command{
		Use:   "create USER [GROUP…]",
		Short: "Create a user in groups (or replace its groups) and print a new access key and token",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client()
			if err != nil {
				return err
			}
			u, err := c.CreateUser(cmd.Context(), args[0], args[1:])
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "user = %s\ngroups = %s\naws_access_key_id = %s\naws_secret_access_key = %s\nlakegate_token = %s\n",
				u.User, strings.Join(u.Groups, ","), u.AccessKeyID, u.SecretAccessKey, u.Token)
			return nil
		},
	}
	cf.add(create)
	var df clientFlags
	del := &cobra.Command{
		Use:   "delete USER",
		Short: "Delete a user with its access keys and tokens",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := df.client()
			if err != nil {
				return err
			}
			if err := c.DeleteUser(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "user %s deleted\n", args[0])
			return nil
		},
	}
	df.add(del)
	cmd.AddCommand(create, del)
	return cmd
}

func newCheckCmd(stdout io.Writer) *cobra.Command {
	var (
		f      clientFlags
		user   string
		groups string
		table  string
	)
	cmd := &cobra.Command{
		Use:   "check --user USER [--groups g,…] (URI OPERATION | --table DB.TABLE [PRIVILEGE])",
		Short: "Explain whether a user may perform an S3 operation on a URI, or use a catalog table",
		Long: `check prints ALLOW or DENY and the reason: the grant that allows the
operation, or what is missing. OPERATION is an S3 API action such as
GetObject, PutObject, ListObjectsV2 or DeleteObject; for listings the URI's
key is the listed prefix. Without --groups the user's own groups are used.

With --table DB.TABLE, check explains the user's access to a catalog table
with PRIVILEGE (SELECT when not given; INSERT, SHOW, DELETE, ALL, or the
catalog privileges CREATE, DROP, ALTER) and prints ALLOW (full access: the
table's files through the access proxy), RESTRICTED (a column list or row
filter applies: the files are refused and the data is read through the
scan service) or DENY, then the reason and the table's location. Users who
are not catalog admins may check only themselves, on tables they can see.`,
		Example: `  lakegate check --user alice s3://lake/sales/orders/part-0.parquet GetObject
  lakegate check --user alice --table sales.orders
  lakegate check --user bob --groups etl --table sales.orders INSERT`,
		Args: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("table") {
				return cobra.MaximumNArgs(1)(cmd, args)
			}
			return cobra.ExactArgs(2)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			var gs []string
			if cmd.Flags().Changed("groups") {
				gs = []string{}
				for g := range strings.SplitSeq(groups, ",") {
					if g = strings.TrimSpace(g); g != "" {
						gs = append(gs, g)
					}
				}
			}
			if cmd.Flags().Changed("table") {
				priv := ""
				if len(args) == 1 {
					priv = args[0]
				}
				res, err := c.CheckTable(cmd.Context(), user, gs, table, priv)
				if err != nil {
					return err
				}
				fmt.Fprintf(stdout, "%s\n%s\nlocation: %s\n", res.Decision, res.Reason, res.Location)
				if res.Access.Policy != "" {
					fmt.Fprintln(stdout, strings.TrimRight(res.Access.Policy, "\n"))
				}
				return nil
			}
			res, err := c.Check(cmd.Context(), user, gs, args[0], args[1])
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%s\n%s\n", res.Decision, res.Reason)
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&user, "user", "", "the user to check (default: the token's user)")
	cmd.Flags().StringVar(&groups, "groups", "", "comma-separated groups to check with instead of the user's own")
	cmd.Flags().StringVar(&table, "table", "", "a catalog table, database.table, to check instead of a URI and operation")
	return cmd
}
