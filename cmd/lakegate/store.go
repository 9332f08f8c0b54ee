package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lakegate/lakegate/internal/config"
	"github.com/lakegate/lakegate/internal/store"
	"github.com/lakegate/lakegate/internal/storecopy"
)

func newStoreCmd(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "store",
		Short: "Copy the policy store to another database, re-encrypt its secrets",
	}
	cmd.AddCommand(newStoreCopyCmd(stdout), newStoreReencryptCmd(stdout))
	return cmd
}

// storeSideFlags are one side's flags of store copy.
type storeSideFlags struct {
	dsn, driver, keyFile, config string
}

func (f *storeSideFlags) add(cmd *cobra.Command, side, what string) {
	fl := cmd.Flags()
	fl.StringVar(&f.dsn, side, "", what+" store: sqlite://<path> or a file path, postgres://…, mysql://user:pass@host:port/db, or the driver's own DSN with --"+side+"-driver")
	fl.StringVar(&f.driver, side+"-driver", "", "driver of --"+side+" ("+strings.Join(store.Drivers, ", ")+"); default: inferred from the DSN")
	fl.StringVar(&f.keyFile, side+"-encryption-key-file", "", "encryption key file of the "+what+" store (its store.encryption_key_file)")
	fl.StringVar(&f.config, side+"-config", "", "take the "+what+" store's driver, DSN and key file from this configuration file (store.*); the flags above win")
}

// endpoint is the side's store: the flags over its configuration file.
func (f *storeSideFlags) endpoint(side string) (storecopy.Endpoint, error) {
	e := storecopy.Endpoint{DSN: f.dsn, Driver: f.driver, KeyFile: f.keyFile}
	if f.config != "" {
		// The file alone: LAKEGATE_* variables would apply to both sides.
		cfg, err := config.Load(f.config, func(string) (string, bool) { return "", false })
		if err != nil {
			return e, fmt.Errorf("--%s-config: %w", side, err)
		}
		if e.DSN == "" {
			e.DSN, e.Driver = cfg.Store.DSN, cfg.Store.Driver
		}
		if e.KeyFile == "" {
			e.KeyFile = cfg.Store.EncryptionKeyFile
		}
	}
	if e.DSN == "" {
		return e, fmt.Errorf("--%s (or --%s-config) is required", side, side)
	}
	return e, nil
}

func newStoreCopyCmd(stdout io.Writer) *cobra.Command {
	var (
		from, to storeSideFlags
		force    bool
	)
	cmd := &cobra.Command{
		Use:   "copy --from DSN --to DSN",
		Short: "Copy every role, grant, user, key, token and secret to another store",
		Long: `copy moves everything a policy store holds (roles with their grants and
group links, users with their groups, access keys with their session groups,
tokens, secrets and the policy version) from one store to another, e.g. from
quickstart's SQLite to PostgreSQL, in one transaction on the target.

Secrets are decrypted with the source's key file and encrypted with the
target's (plaintext without one). The target must be empty unless --force,
which replaces its content; stop the target's servers first. At the end the
target is read back and the count of each kind printed for both stores; the
command exits 1 when they differ.

DSNs: sqlite:///abs/path, sqlite://rel/path or a plain path (SQLite);
postgres://user:pass@host:5432/db?sslmode=… (PostgreSQL, as pgx takes it);
mysql://user:pass@host:3306/db?params (MySQL/MariaDB, turned into
user:pass@tcp(host:3306)/db?params); or any driver's own DSN with
--from-driver/--to-driver.`,
		Example: `  lakegate store copy --from ~/.lakegate/quickstart/lakegate.db \
    --to 'postgres://lakegate:secret@db:5432/lakegate' --to-encryption-key-file /etc/lakegate/store.keys`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			src, err := from.endpoint("from")
			if err != nil {
				return err
			}
			dst, err := to.endpoint("to")
			if err != nil {
				return err
			}
			r, err := storecopy.Copy(cmd.Context(), storecopy.Options{From: src, To: dst, Replace: force})
			if err != nil && !errors.Is(err, storecopy.ErrMismatch) {
				return err
			}
			if werr := r.WriteTable(stdout); werr != nil {
				return werr
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "copied %s to %s\n", r.From, r.To)
			return nil
		},
	}
	from.add(cmd, "from", "source")
	to.add(cmd, "to", "target")
	cmd.Flags().BoolVar(&force, "force", false, "replace the content of a target that is not empty")
	return cmd
}

func newStoreReencryptCmd(stdout io.Writer) *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "reencrypt",
		Short: "Encrypt every stored secret with the current key of store.encryption_key_file",
		Long: `reencrypt rewrites every secret of the configured store (--config,
LAKEGATE_* variables, as serve reads them) that is plaintext or encrypted with
another key than the current one of store.encryption_key_file. Run it after
turning encryption on, and when rotating: add the new key as a decrypt-only
line and restart every server, make it current and restart every server,
reencrypt, then remove the old key (README, "Secrets at rest"). It is safe
while servers run: a value changed meanwhile is left to its writer.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(path, os.LookupEnv)
			if err != nil {
				return err
			}
			if cfg.Store.EncryptionKeyFile == "" {
				return errors.New("store.encryption_key_file is not set: nothing to encrypt with")
			}
			keys, err := store.LoadKeyring(cfg.Store.EncryptionKeyFile)
			if err != nil {
				return err
			}
			db, err := store.Open(cmd.Context(), cfg.Store.Driver, cfg.Store.DSN)
			if err != nil {
				return err
			}
			defer db.Close()
			res, err := store.NewEncrypted(db, keys).Reencrypt(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "encrypted %d values with key %s; %d already were; %d changed meanwhile (left to their writers)\n",
				res.Encrypted, keys.Current(), res.Current, res.Changed)
			return nil
		},
	}
	addConfigFlag(cmd, &path)
	return cmd
}
