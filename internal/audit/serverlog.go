package audit

import (
	"context"
	"io"
	"log/slog"
)

// ServerLog sends the server's own log lines to the server-log sinks: the
// same kinds as the audit log, under the "server" name (server-*.jsonl
// files, <prefix>/server/… in S3). Every line is scrubbed. Writes never
// wait for the sinks: when the queue is full a line is dropped and
// counted. It is safe for concurrent use.
//
// Use it as the target of a slog handler, next to stderr:
//
//	sl, err := audit.NewServerLog(opts)
//	logger := slog.New(slog.NewJSONHandler(io.MultiWriter(audit.ScrubWriter(os.Stderr), sl), nil))
type ServerLog struct {
	j       *journal
	maxLine int
}

var _ io.Writer = (*ServerLog)(nil)

// NewServerLog opens the sinks of o for the server log. o.Logger must not
// write to the ServerLog itself; FailOpen has no effect.
func NewServerLog(o Options) (*ServerLog, error) {
	j, err := newJournal(&o, "server")
	if err != nil {
		return nil, err
	}
	return &ServerLog{j: j, maxLine: o.MaxRecordBytes}, nil
}

// Write queues p, scrubbed, as one or more lines; a missing final newline
// is added and an over-long line cut. It always reports success: a log
// line that cannot be queued is counted in Stats.Dropped.
func (l *ServerLog) Write(p []byte) (int, error) {
	n := len(p)
	if n == 0 {
		return 0, nil
	}
	s := Scrub(string(p))
	if len(s) >= l.maxLine {
		s = truncateUTF8(s, l.maxLine-1)
	}
	line := make([]byte, 0, len(s)+1)
	line = append(line, s...)
	if line[len(line)-1] != '\n' {
		line = append(line, '\n')
	}
	l.j.enqueue(line, false)
	return n, nil
}

// Handler returns a JSON slog handler writing to l.
func (l *ServerLog) Handler(opts *slog.HandlerOptions) slog.Handler {
	return slog.NewJSONHandler(l, opts)
}

// Close writes what is queued and closes the sinks within ctx, like
// Broker.Close.
func (l *ServerLog) Close(ctx context.Context) error { return l.j.close(ctx) }

// Stats returns counters since NewServerLog.
func (l *ServerLog) Stats() Stats { return l.j.stats() }

// ScrubWriter wraps w so that everything written through it is scrubbed
// (see Scrub): for the server's stderr log. Each Write is scrubbed on its
// own, so a secret split across two writes is not caught; slog handlers
// write one whole record per call.
func ScrubWriter(w io.Writer) io.Writer { return scrubWriter{w} }

type scrubWriter struct{ w io.Writer }

func (s scrubWriter) Write(p []byte) (int, error) {
	clean := Scrub(string(p))
	if _, err := io.WriteString(s.w, clean); err != nil {
		return 0, err
	}
	return len(p), nil
}
