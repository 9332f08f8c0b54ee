package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/lakegate/lakegate/internal/audit"
	"github.com/lakegate/lakegate/internal/config"
	"github.com/lakegate/lakegate/internal/upstream"
)

func newAuditCmd(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Read the audit log",
	}
	cmd.AddCommand(newAuditQueryCmd(stdout))
	return cmd
}

// auditQueryFlags are the flags of lakegate audit query.
type auditQueryFlags struct {
	config                                string
	user, since, until, decision, uri, op string
	dirs, s3                              []string
	limit                                 int
	asJSON                                bool
}

func newAuditQueryCmd(stdout io.Writer) *cobra.Command {
	var f auditQueryFlags
	cmd := &cobra.Command{
		Use:   "query [--user U] [--since T] [--until T] [--decision allow|deny|error] [--uri-prefix s3://b/p] [--operation OP] [--dir DIR] [--s3 s3://bucket/prefix] [--json]",
		Short: "Show audit events from local log files and S3 log buckets, oldest first",
		Long: `query reads audit events from local log directories (current and rotated
files) and S3 log buckets, merges each request's decision and completion into
one event, and prints those matching the filters in time order.

Without --dir and --s3 it reads the audit sinks of the configuration
(--config, default $LAKEGATE_CONFIG): audit.events.dir, else
<data_dir>/audit, and audit.events.s3_bucket. Buckets are read with the
upstream credentials, endpoint and region of the configuration.

Times are RFC 3339 (2025-05-01T10:00:00Z), YYYY-MM-DD[THH:MM] in UTC, or a
duration ago: 90m, 24h, 7d. --since is inclusive, --until exclusive.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAuditQuery(cmd, stdout, &f)
		},
	}
	fl := cmd.Flags()
	addConfigFlag(cmd, &f.config)
	fl.StringVar(&f.user, "user", "", "only this user")
	fl.StringVar(&f.since, "since", "", "only events at or after this time")
	fl.StringVar(&f.until, "until", "", "only events before this time")
	fl.StringVar(&f.decision, "decision", "", "only allow, deny or error")
	fl.StringVar(&f.uri, "uri-prefix", "", "only events with a URI under this s3://bucket/prefix")
	fl.StringVar(&f.op, "operation", "", "only this operation (GetObject, PutObject, …; any case)")
	fl.StringArrayVar(&f.dirs, "dir", nil, "local audit log directory (repeatable)")
	fl.StringArrayVar(&f.s3, "s3", nil, "S3 log location s3://bucket/prefix (repeatable)")
	fl.IntVar(&f.limit, "limit", 0, "stop after this many events (0: all)")
	fl.BoolVar(&f.asJSON, "json", false, "print one JSON event per line")
	return cmd
}

func runAuditQuery(cmd *cobra.Command, stdout io.Writer, f *auditQueryFlags) error {
	ctx := cmd.Context()
	now := time.Now()
	filter := audit.Filter{User: f.user, Decision: f.decision, URIPrefix: f.uri, Operation: f.op, Limit: f.limit}
	var err error
	if f.since != "" {
		if filter.Since, err = audit.ParseTime(f.since, now); err != nil {
			return fmt.Errorf("--since: %w", err)
		}
	}
	if f.until != "" {
		if filter.Until, err = audit.ParseTime(f.until, now); err != nil {
			return fmt.Errorf("--until: %w", err)
		}
	}
	if err := filter.Validate(); err != nil {
		return err
	}

	cfg, err := config.Load(f.config, os.LookupEnv)
	if err != nil {
		return err
	}
	q := &audit.Query{Dirs: f.dirs}
	locations := f.s3
	if len(f.dirs) == 0 && len(f.s3) == 0 {
		sinks := cfg.AuditEvents()
		if sinks.Dir != "" {
			q.Dirs = []string{sinks.Dir}
		}
		if sinks.S3Bucket != "" {
			locations = []string{"s3://" + sinks.S3Bucket + "/" + sinks.S3Prefix}
		}
		if len(q.Dirs) == 0 && len(locations) == 0 {
			return errors.New("the configuration has no audit log to read (stdout only); pass --dir or --s3")
		}
	}
	for _, loc := range locations {
		bucket, prefix, err := audit.ParseS3URL(loc)
		if err != nil {
			return err
		}
		opts, err := logBucketOptions(cmd, cfg, bucket)
		if err != nil {
			return err
		}
		src, err := audit.NewS3Source(bucket, prefix, opts)
		if err != nil {
			return err
		}
		q.S3 = append(q.S3, src)
	}

	var print func(*audit.Event) error
	var tw *tabwriter.Writer
	if f.asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)
		print = func(e *audit.Event) error { return enc.Encode(e) }
	} else {
		tw = tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TIME\tUSER\tDECISION\tSTATUS\tOPERATION\tURI\tREASON")
		print = func(e *audit.Event) error {
			_, err := fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
				e.Time.UTC().Format("2006-01-02T15:04:05.000Z"), cell(e.User), e.Decision, status(e),
				cell(e.Operation), uris(e.URIs), cell(e.Reason))
			return err
		}
	}
	sum, err := q.Run(ctx, filter, print)
	if tw != nil {
		if ferr := tw.Flush(); err == nil {
			err = ferr
		}
	}
	if err != nil {
		return err
	}
	if !f.asJSON || sum.Skipped > 0 {
		fmt.Fprintf(cmd.ErrOrStderr(), "%d event%s (%d incomplete", sum.Events, plural(sum.Events), sum.Incomplete)
		if sum.Skipped > 0 {
			fmt.Fprintf(cmd.ErrOrStderr(), ", %d unreadable line%s skipped", sum.Skipped, plural(sum.Skipped))
		}
		fmt.Fprintln(cmd.ErrOrStderr(), ")")
	}
	return nil
}

// logBucketOptions reaches bucket like the server does: the upstream
// endpoint, region and addressing (an upstream.buckets entry wins) and the
// upstream system credentials.
func logBucketOptions(cmd *cobra.Command, cfg *config.Config, bucket string) (audit.S3Options, error) {
	o := audit.BucketS3Options(cfg, bucket)
	u := cfg.Upstream
	creds, err := upstream.LoadCredentials(cmd.Context(), upstream.StaticCredentials{
		AccessKeyID: u.AccessKeyID, SecretAccessKey: u.SecretAccessKey, SessionToken: u.SessionToken,
	}, u.Profile)
	if err != nil {
		return o, err
	}
	o.Credentials = creds
	return o, nil
}

// cell keeps a table cell on one line.
func cell(s string) string {
	if s == "" {
		return "-"
	}
	return strings.Join(strings.Fields(s), " ")
}

func status(e *audit.Event) string {
	if e.Incomplete {
		return "incomplete"
	}
	return fmt.Sprint(e.Status)
}

func uris(u []string) string {
	switch len(u) {
	case 0:
		return "-"
	case 1:
		return cell(u[0])
	}
	return fmt.Sprintf("%s (+%d)", cell(u[0]), len(u)-1)
}
