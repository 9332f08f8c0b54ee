package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

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
	)
	cmd := &cobra.Command{
		Use:   "login [--user NAME [--password-stdin]]",
		Short: "Get a lakegate token with your LDAP password and keep it in ~/.lakegate/token",
		Long: `login authenticates to the lakegate server with your user name and password
(checked against LDAP/Active Directory), asks for a token and writes it to
~/.lakegate/token, where lakegate sql, check and credentials find it. The
password is read from the terminal without echo, or from standard input with
--password-stdin.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			server, err := f.serverURL()
			if err != nil {
				return err
			}
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
			c, err := client.NewWithPassword(server, user, password)
			if err != nil {
				return err
			}
			token, err := c.GetToken(cmd.Context())
			if err != nil {
				return err
			}
			home := os.Getenv("HOME")
			if home == "" {
				return errors.New("HOME is not set: nowhere to keep the token")
			}
			if err := client.SaveToken(home, token); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "logged in as %s; token saved in ~/.lakegate/token\n", user)
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&user, "user", "", "user name (default $USER)")
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from standard input")
	return cmd
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
