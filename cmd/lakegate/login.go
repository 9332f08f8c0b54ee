package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/lakegate/lakegate/internal/client"
)

func newCredentialsCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "credentials",
		Short: "Print AWS credentials for credential_process (from your lakegate token)",
		Long: `credentials prints the JSON an AWS SDK's credential_process expects, with
AWS-style keys the server issues for your token. Use it in ~/.aws/config:

  [profile lakegate]
  endpoint_url = http://127.0.0.1:5010
  credential_process = lakegate credentials

The keys are cached in ~/.lakegate until shortly before they expire. When
there is no token, or the server refuses it, the executable named by
LAKEGATE_TOKEN_RETRIEVAL_SCRIPT (or OKERA_TOKEN_RETRIEVAL_SCRIPT) is run
and the token it prints is kept in ~/.lakegate/token.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			server, err := f.serverURL()
			if err != nil {
				return err
			}
			cp := client.CredentialProcess{Server: server, Getenv: os.Getenv}
			creds, err := cp.Credentials(cmd.Context())
			if err != nil {
				return err
			}
			return json.NewEncoder(stdout).Encode(creds)
		},
	}
	f.add(cmd)
	cmd.AddCommand(newRevokeCmd(stdout))
	return cmd
}

func newRevokeCmd(stdout io.Writer) *cobra.Command {
	var (
		f    clientFlags
		user string
	)
	cmd := &cobra.Command{
		Use:   "revoke [--user USER]",
		Short: "Delete every access key and token of a user (default: yourself)",
		Long: `revoke makes every AWS-style key and lakegate token of the user stop
working. Revoking another user's credentials needs catalog admin.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			rev, err := c.RevokeCredentials(cmd.Context(), user)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "revoked %d access key(s) and %d token(s) of %s\n", rev.Keys, rev.Tokens, rev.User)
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&user, "user", "", "the user (default: the token's user)")
	return cmd
}

func newLoginCmd(stdout, stderr io.Writer) *cobra.Command {
	var (
		f             clientFlags
		user          string
		passwordStdin bool
		useKerberos   bool
		spn           string
	)
	cmd := &cobra.Command{
		Use:   "login [--user NAME [--password-stdin]] | --kerberos [--spn HTTP/HOST]",
		Short: "Get a token with your password or Kerberos ticket and keep it in ~/.lakegate/token",
		Long: `login gets a token from the lakegate server and writes it to
~/.lakegate/token, where lakegate sql, check and credentials find it.

With a password (the default), the server checks your user name and
password with its SSO endpoint (SSO_URL, auth.sso_url) when it has one, and
the token is the one that endpoint issued; otherwise it checks them against
LDAP/Active Directory and issues a lakegate token. The password is read
from the terminal without echo, or from standard input with
--password-stdin.

With --kerberos, the Kerberos ticket kinit left in your credential cache
($KRB5CCNAME, else /tmp/krb5cc_<uid>; krb5.conf from $KRB5_CONFIG, else
/etc/krb5.conf) authenticates you, as curl --negotiate -u : would. The
server's principal is HTTP/<the --server host> unless --spn names another.

login says which method the server used.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			server, err := f.serverURL()
			if err != nil {
				return err
			}
			home := os.Getenv("HOME")
			if home == "" {
				return errors.New("HOME is not set: nowhere to keep the token")
			}
			var c *client.Client
			switch {
			case useKerberos:
				if user != "" || passwordStdin {
					return errors.New("--kerberos logs in with your Kerberos ticket: it takes no --user or --password-stdin")
				}
				if c, err = client.NewWithKerberos(server, client.KerberosOptions{SPN: spn}); err != nil {
					return err
				}
			case spn != "":
				return errors.New("--spn is for --kerberos")
			default:
				if user == "" {
					user = os.Getenv("USER")
				}
				if user == "" {
					return errors.New("no user name: pass --user")
				}
				password, err := readPassword(cmd.InOrStdin(), stderr, passwordStdin)
				if err != nil {
					return err
				}
				if c, err = client.NewWithPassword(server, user, password); err != nil {
					return err
				}
			}
			tok, err := c.GetToken(cmd.Context())
			if err != nil {
				return fmt.Errorf("login failed: %w", err)
			}
			if err := client.SaveToken(home, tok.Token); err != nil {
				return err
			}
			who := tok.User
			if who == "" {
				who = user
			}
			fmt.Fprintf(stdout, "logged in as %s%s; token saved in ~/.lakegate/token%s\n", who, methodPhrase(tok.Method), expiresPhrase(tok.Expires))
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&user, "user", "", "user name (default $USER)")
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from standard input")
	cmd.Flags().BoolVar(&useKerberos, "kerberos", false, "log in with the Kerberos ticket in your credential cache (kinit)")
	cmd.Flags().StringVar(&spn, "spn", "", "with --kerberos, the server's service principal (default HTTP/<server host>)")
	return cmd
}

// methodPhrase says how the server authenticated the login, from
// get-token's auth_method ("" when the server does not say).
func methodPhrase(method string) string {
	switch method {
	case "":
		return ""
	case "sso":
		return " (password checked by the server's SSO endpoint, SSO_URL; the token is the one it issued)"
	case "ldap":
		return " (password checked by LDAP; lakegate token)"
	case "kerberos":
		return " (Kerberos ticket; lakegate token)"
	}
	return " (" + method + ")"
}

// expiresPhrase is ", valid until …" for an RFC 3339 expiry, else "".
func expiresPhrase(expires string) string {
	t, err := time.Parse(time.RFC3339, expires)
	if err != nil {
		return ""
	}
	return ", valid until " + t.Local().Format("2006-01-02 15:04 MST")
}

// readPassword reads a password from the terminal without echo, or the
// first line of in.
func readPassword(in io.Reader, prompt io.Writer, fromStdin bool) (string, error) {
	if f, ok := in.(*os.File); ok && !fromStdin && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(prompt, "Password: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(prompt)
		if err != nil {
			return "", err
		}
		return string(b), nil
	}
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	password := strings.TrimRight(line, "\r\n")
	if password == "" {
		return "", errors.New("no password given")
	}
	return password, nil
}
