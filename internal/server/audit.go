package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/lakegate/lakegate/internal/audit"
	"github.com/lakegate/lakegate/internal/config"
	"github.com/lakegate/lakegate/internal/upstream"
)

// auditCloseTimeout bounds flushing the audit and server logs at shutdown
// (uploads of the S3 spool included; what is left goes at the next start).
const auditCloseTimeout = 20 * time.Second

// logCredentials signs the log bucket's uploads with the credentials that
// sign its other requests (the bucket's role, if it has one).
func logCredentials(up *upstream.Client, bucket string) aws.CredentialsProvider {
	return aws.CredentialsProviderFunc(func(ctx context.Context) (aws.Credentials, error) {
		return up.Credentials(ctx, bucket)
	})
}

// openAudit opens the audit log cfg describes and registers its closing.
func (s *Server) openAudit(cfg *config.Config, up *upstream.Client, logger *slog.Logger) (*audit.Broker, error) {
	o, _ := audit.OptionsFromConfig(cfg)
	if o.Sinks.S3Bucket != "" {
		o.S3.Credentials = logCredentials(up, o.Sinks.S3Bucket)
	}
	o.Logger = logger.With("component", "audit")
	b, err := audit.New(o)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	s.closers = append(s.closers, b.Close)
	s.auditor = b
	return b, nil
}

// attachServerLog adds the server-log sinks (audit.server_log.*) to logger,
// when configured, and registers their closing.
func (s *Server) attachServerLog(cfg *config.Config, up *upstream.Client, logger *slog.Logger) (*slog.Logger, error) {
	_, o := audit.OptionsFromConfig(cfg)
	if o.Sinks.Empty() {
		return logger, nil
	}
	if o.Sinks.S3Bucket != "" {
		o.S3.Credentials = logCredentials(up, o.Sinks.S3Bucket)
	}
	o.Logger = logger.With("component", "server-log") // stderr only: never back into itself
	sl, err := audit.NewServerLog(o)
	if err != nil {
		return nil, fmt.Errorf("server log: %w", err)
	}
	s.closers = append(s.closers, sl.Close)
	return slog.New(slog.NewMultiHandler(logger.Handler(), sl.Handler(&slog.HandlerOptions{Level: logLevel(cfg.Log)}))), nil
}

// auditQuery answers GET /api/audit over the configured audit sinks.
func auditQuery(cfg *config.Config, up *upstream.Client) (http.Handler, error) {
	o, _ := audit.OptionsFromConfig(cfg)
	q := &audit.Query{}
	if o.Sinks.Dir != "" {
		q.Dirs = []string{o.Sinks.Dir}
	}
	if b := o.Sinks.S3Bucket; b != "" {
		o.S3.Credentials = logCredentials(up, b)
		src, err := audit.NewS3Source(b, o.Sinks.S3Prefix, o.S3)
		if err != nil {
			return nil, fmt.Errorf("audit log bucket: %w", err)
		}
		q.S3 = []*audit.S3Source{src}
	}
	return audit.QueryHandler(q), nil
}

// auditREST records one event per REST request: who (the API fills in the
// caller once authenticated), what, and how it ended. REST requests change
// nothing before their handler has decided, so their decision is recorded
// with the outcome, in one record.
func auditREST(b *audit.Broker, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ev := &audit.Event{
			Time: start, Source: audit.SourceREST, Operation: r.Method + " " + r.URL.Path,
			ClientIP: audit.ClientIP(r.RemoteAddr), UserAgent: r.UserAgent(),
		}
		rw := &audit.ResponseRecorder{ResponseWriter: w}
		in := audit.CountBody(r)
		next.ServeHTTP(rw, r.WithContext(audit.NewContext(r.Context(), ev)))
		ev.Status, ev.BytesIn, ev.BytesOut = rw.Status, in.N(), rw.Bytes
		if ev.Status == 0 {
			ev.Status = http.StatusOK
		}
		ev.DurationMS = float64(time.Since(start).Microseconds()) / 1000
		switch {
		case ev.Status < 400:
			ev.Decision, ev.Reason = audit.DecisionAllow, fmt.Sprintf("answered %d", ev.Status)
		case ev.Status < 500:
			ev.Decision, ev.Reason = audit.DecisionDeny, fmt.Sprintf("refused %d %s", ev.Status, http.StatusText(ev.Status))
		default:
			ev.Decision, ev.Reason = audit.DecisionError, fmt.Sprintf("failed %d %s", ev.Status, http.StatusText(ev.Status))
		}
		b.Complete(ev)
	})
}
