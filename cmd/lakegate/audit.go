package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/lakegate/lakegate/internal/audit"
	"github.com/lakegate/lakegate/internal/client"
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
	clientFlags
	config                                string
	user, since, until, decision, uri, op string
	table                                 string
	dirs, s3                              []string
	limit                                 int
	asJSON                                bool
}

func newAuditQueryCmd(stdout io.Writer) *cobra.Command {
	var f auditQueryFlags
	cmd := &cobra.Command{
		Use:   "query [--user U] [--since T] [--until T] [--decision allow|deny|error] [--uri-prefix s3://b/p] [--operation OP] [--table DB.TABLE] [--dir DIR] [--s3 s3://bucket/prefix] [--json]",
		Short: "Show audit events from local log files and S3 log buckets, oldest first",
		Long: `query reads audit events from local log directories (current and rotated
files) and S3 log buckets, merges each request's decision and completion into
one event, and prints those matching the filters in time order.

With --server, or when none of --dir, --s3 and a configuration (--config,
$LAKEGATE_CONFIG) is given and there is a token ($LAKEGATE_TOKEN,
~/.lakegate/token), it asks the server ($LAKEGATE_SERVER, else
http://127.0.0.1:8083) for its audit log (GET /api/audit, catalog admins),
so it finds quickstart's wherever quickstart keeps it; at most 10000 events.

Otherwise, without --dir and --s3 it reads the audit sinks of the
configuration: audit.events.dir, else <data_dir>/audit, and
audit.events.s3_bucket. Buckets are read with the upstream credentials,
endpoint and region of the configuration.

Times are RFC 3339 (2025-05-01T10:00:00Z), YYYY-MM-DD[THH:MM] in UTC, or a
duration ago: 90m, 24h, 7d. --since is inclusive, --until exclusive.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAuditQuery(cmd, stdout, &f)
		},
	}
	fl := cmd.Flags()
	addConfigFlag(cmd, &f.config)
	f.add(cmd)
	fl.StringVar(&f.user, "user", "", "only this user")
	fl.StringVar(&f.since, "since", "", "only events at or after this time")
	fl.StringVar(&f.until, "until", "", "only events before this time")
	fl.StringVar(&f.decision, "decision", "", "only allow, deny or error")
	fl.StringVar(&f.uri, "uri-prefix", "", "only events with a URI under this s3://bucket/prefix")
	fl.StringVar(&f.op, "operation", "", "only this operation (GetObject, PutObject, …; any case)")
	fl.StringVar(&f.table, "table", "", "only events under this catalog table's location (db.table)")
	fl.StringArrayVar(&f.dirs, "dir", nil, "local audit log directory (repeatable)")
	fl.StringArrayVar(&f.s3, "s3", nil, "S3 log location s3://bucket/prefix (repeatable)")
	fl.IntVar(&f.limit, "limit", 0, "stop after this many events (0: all)")
	fl.BoolVar(&f.asJSON, "json", false, "print one JSON event per line")
	return cmd
}

func runAuditQuery(cmd *cobra.Command, stdout io.Writer, f *auditQueryFlags) error {
	ctx := cmd.Context()
	now := time.Now()
	filter := audit.Filter{User: f.user, Decision: f.decision, URIPrefix: f.uri, Operation: f.op, Table: f.table, Limit: f.limit}
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
	if remote, err := f.askServer(cmd); err != nil || remote {
		if err != nil {
			return err
		}
		return runRemoteAuditQuery(cmd, stdout, f)
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

	print, flush := eventPrinter(stdout, f.asJSON)
	sum, err := q.Run(ctx, filter, print)
	if ferr := flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return err
	}
	printSummary(cmd.ErrOrStderr(), f.asJSON, sum.Events, sum.Incomplete, sum.Skipped)
	return nil
}

// askServer reports whether the audit log is to be read through the REST
// server: --server given, or no local source (--dir, --s3, a
// configuration) named and a token at hand.
func (f *auditQueryFlags) askServer(cmd *cobra.Command) (bool, error) {
	if cmd.Flags().Changed("server") {
		return true, nil
	}
	if len(f.dirs) > 0 || len(f.s3) > 0 || f.config != "" {
		return false, nil
	}
	token, err := client.FindToken(os.Getenv)
	return token != "", err
}

// runRemoteAuditQuery prints the events the server's GET /api/audit
// answers for f's filters.
func runRemoteAuditQuery(cmd *cobra.Command, stdout io.Writer, f *auditQueryFlags) error {
	c, err := f.client()
	if err != nil {
		return err
	}
	limit := f.limit
	if limit <= 0 || limit > audit.MaxQueryLimit {
		limit = audit.MaxQueryLimit
	}
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	for name, v := range map[string]string{
		"user": f.user, "since": f.since, "until": f.until, "decision": f.decision, "uri_prefix": f.uri, "operation": f.op,
		"table": f.table,
	} {
		if v != "" {
			q.Set(name, v)
		}
	}
	page, err := c.Audit(cmd.Context(), q)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	print, flush := eventPrinter(stdout, f.asJSON)
	for i := range page.Events {
		if err := print(&page.Events[i]); err != nil {
			return err
		}
	}
	if err := flush(); err != nil {
		return err
	}
	printSummary(cmd.ErrOrStderr(), f.asJSON, page.Count, page.Incomplete, page.Skipped)
	if page.Truncated && (f.limit <= 0 || f.limit > audit.MaxQueryLimit) {
		fmt.Fprintf(cmd.ErrOrStderr(), "more events matched than the server answers at once (%d): narrow with --since/--until, or read the files with --dir\n", audit.MaxQueryLimit)
	}
	if page.Error != "" {
		return fmt.Errorf("audit: the server stopped reading its log: %s", page.Error)
	}
	return nil
}

// eventPrinter prints events as a table or as JSON lines; call flush at
// the end.
func eventPrinter(stdout io.Writer, asJSON bool) (print func(*audit.Event) error, flush func() error) {
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)
		return func(e *audit.Event) error { return enc.Encode(e) }, func() error { return nil }
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tUSER\tDECISION\tSTATUS\tOPERATION\tURI\tREASON")
	return func(e *audit.Event) error {
		_, err := fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			e.Time.UTC().Format("2006-01-02T15:04:05.000Z"), cell(e.User), e.Decision, status(e),
			cell(e.Operation), uris(e.URIs), cell(e.Reason))
		return err
	}, tw.Flush
}

// printSummary writes how many events were printed (always for the table,
// for JSON only when lines were skipped).
func printSummary(w io.Writer, asJSON bool, events, incomplete, skipped int) {
	if asJSON && skipped == 0 {
		return
	}
	fmt.Fprintf(w, "%d event%s (%d incomplete", events, plural(events), incomplete)
	if skipped > 0 {
		fmt.Fprintf(w, ", %d unreadable line%s skipped", skipped, plural(skipped))
	}
	fmt.Fprintln(w, ")")
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
