package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/spf13/cobra"
)

func newQueryCmd(stdout io.Writer) *cobra.Command {
	var (
		f      clientFlags
		file   string
		format string
	)
	cmd := &cobra.Command{
		Use:   `query [--server URL] "SELECT …" | -f FILE [--format table|csv|json]`,
		Short: "Query catalog tables through the data plane, your policy applied",
		Long: `query runs one SELECT over catalog tables (named database.table) on the
server's data plane (POST /api/scan): only the columns, rows and masked values
your grants show come back. The table format aligns the columns like
lakegate sql; csv has a header line; json is an array of records. With -f -
the statement is read from standard input.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch format {
			case "table", "csv", "json":
			default:
				return fmt.Errorf("--format %q: want table, csv or json", format)
			}
			stmt, err := sqlScript(args, file, cmd.InOrStdin())
			if err != nil {
				return errors.New(strings.ReplaceAll(err.Error(), "lakegate sql", "lakegate query"))
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			wire := format
			if wire == "table" {
				wire = "arrow"
			}
			s, err := c.Query(cmd.Context(), stmt, wire)
			if err != nil {
				return err
			}
			defer s.Close()
			if format != "table" {
				if _, err := io.Copy(stdout, s); err != nil {
					return fmt.Errorf("reading the result: %w", err)
				}
			} else if err := printArrowTable(stdout, s); err != nil {
				return err
			}
			if s.Truncated() {
				fmt.Fprintln(cmd.ErrOrStderr(), "lakegate: the result was cut at the server's row limit (scan.max_rows)")
			}
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().StringVarP(&file, "file", "f", "", "read the statement from FILE (- for standard input)")
	cmd.Flags().StringVar(&format, "format", "table", "output format: table, csv or json")
	return cmd
}

// printArrowTable prints an Arrow IPC stream as aligned columns, NULL for
// nulls, and the row count.
func printArrowTable(w io.Writer, r io.Reader) error {
	rd, err := ipc.NewReader(r)
	if err != nil {
		return fmt.Errorf("reading the result: %w", err)
	}
	defer rd.Release()
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	names := make([]string, rd.Schema().NumFields())
	for i, fd := range rd.Schema().Fields() {
		names[i] = fd.Name
	}
	fmt.Fprintln(tw, strings.Join(names, "\t"))
	n := 0
	for rd.Next() {
		rec := rd.RecordBatch()
		for i := range int(rec.NumRows()) {
			vals := make([]string, rec.NumCols())
			for j := range vals {
				col := rec.Column(j)
				if col.IsNull(i) {
					vals[j] = "NULL"
				} else {
					vals[j] = cellText(col.ValueStr(i))
				}
			}
			fmt.Fprintln(tw, strings.Join(vals, "\t"))
			n++
		}
	}
	if err := rd.Err(); err != nil {
		return fmt.Errorf("reading the result: %w", err)
	}
	fmt.Fprintf(tw, "(%d row%s)\n", n, plural(n))
	return tw.Flush()
}

// cellText keeps a value on its line and column: tabs and line breaks
// are escaped.
func cellText(s string) string {
	return strings.NewReplacer("\t", `\t`, "\n", `\n`, "\r", `\r`).Replace(s)
}
