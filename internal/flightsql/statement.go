package flightsql

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/lakegate/lakegate/internal/authz"
	"github.com/lakegate/lakegate/internal/dataplane"
)

func metadataAuthorization(v string) metadata.MD { return metadata.Pairs("authorization", v) }

// checkSQL refuses statement text that is empty, too long or not UTF-8
// before it is sealed.
func (s *Server) checkSQL(sql string) error {
	switch {
	case strings.TrimSpace(sql) == "":
		return status.Error(codes.InvalidArgument, "empty statement")
	case len(sql) > s.o.MaxSQLBytes:
		return status.Errorf(codes.ResourceExhausted, "the statement is longer than %d bytes", s.o.MaxSQLBytes)
	case !utf8.ValidString(sql):
		return status.Error(codes.InvalidArgument, "the statement is not UTF-8")
	}
	return nil
}

// statementInfo answers GetFlightInfo for sql with one endpoint whose
// ticket is sql sealed for the caller.
func (s *Server) statementInfo(ctx context.Context, sql string, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	c, ok := callerFrom(ctx)
	if !ok {
		return nil, errNoCaller
	}
	if err := s.checkSQL(sql); err != nil {
		return nil, err
	}
	handle, err := s.ticket.seal(c.id.User, sql)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	t, err := flightsql.CreateStatementQueryTicket(handle)
	if err != nil {
		return nil, status.Error(codes.Internal, "internal error")
	}
	return &flight.FlightInfo{
		FlightDescriptor: desc,
		Endpoint:         []*flight.FlightEndpoint{{Ticket: &flight.Ticket{Ticket: t}}},
		TotalRecords:     -1,
		TotalBytes:       -1,
	}, nil
}

// GetFlightInfoStatement seals the query for the caller; it runs at DoGet.
func (s *Server) GetFlightInfoStatement(ctx context.Context, q flightsql.StatementQuery, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.statementInfo(ctx, q.GetQuery(), desc)
}

// DoGetStatement runs the query a ticket holds, as the caller, when the
// ticket was sealed for the caller and has not expired.
func (s *Server) DoGetStatement(ctx context.Context, t flightsql.StatementQueryTicket) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	c, ok := callerFrom(ctx)
	if !ok {
		return nil, nil, errNoCaller
	}
	sql, err := s.ticket.open(t.GetStatementHandle(), c.id.User)
	if err != nil {
		s.log.Warn("Flight SQL ticket refused", "user", c.id.User)
		return nil, nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return s.run(ctx, c.p, sql)
}

// CreatePreparedStatement prepares a query without parameters: its handle
// is the sealed query.
func (s *Server) CreatePreparedStatement(ctx context.Context, req flightsql.ActionCreatePreparedStatementRequest) (flightsql.ActionCreatePreparedStatementResult, error) {
	c, ok := callerFrom(ctx)
	if !ok {
		return flightsql.ActionCreatePreparedStatementResult{}, errNoCaller
	}
	if len(req.GetTransactionId()) > 0 {
		return flightsql.ActionCreatePreparedStatementResult{}, status.Error(codes.Unimplemented, "transactions are not supported")
	}
	if err := s.checkSQL(req.GetQuery()); err != nil {
		return flightsql.ActionCreatePreparedStatementResult{}, err
	}
	h, err := s.ticket.seal(c.id.User, req.GetQuery())
	if err != nil {
		return flightsql.ActionCreatePreparedStatementResult{}, status.Error(codes.InvalidArgument, err.Error())
	}
	query := false
	return flightsql.ActionCreatePreparedStatementResult{Handle: h, IsUpdate: &query}, nil
}

// ClosePreparedStatement has nothing to free: handles live in the client.
func (s *Server) ClosePreparedStatement(ctx context.Context, req flightsql.ActionClosePreparedStatementRequest) error {
	return nil
}

// preparedSQL opens a prepared statement's handle for the caller.
func (s *Server) preparedSQL(ctx context.Context, q flightsql.PreparedStatementQuery) (caller, string, error) {
	c, ok := callerFrom(ctx)
	if !ok {
		return caller{}, "", errNoCaller
	}
	sql, err := s.ticket.open(q.GetPreparedStatementHandle(), c.id.User)
	if err != nil {
		return caller{}, "", status.Error(codes.InvalidArgument, err.Error())
	}
	return c, sql, nil
}

// GetFlightInfoPreparedStatement answers with a statement ticket for the
// prepared query.
func (s *Server) GetFlightInfoPreparedStatement(ctx context.Context, q flightsql.PreparedStatementQuery, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	_, sql, err := s.preparedSQL(ctx, q)
	if err != nil {
		return nil, err
	}
	return s.statementInfo(ctx, sql, desc)
}

// DoGetPreparedStatement runs a prepared query.
func (s *Server) DoGetPreparedStatement(ctx context.Context, q flightsql.PreparedStatementQuery) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	c, sql, err := s.preparedSQL(ctx, q)
	if err != nil {
		return nil, nil, err
	}
	return s.run(ctx, c.p, sql)
}

// DoPutPreparedStatementQuery binds parameters: a prepared statement
// without parameters accepts an empty bind only.
func (s *Server) DoPutPreparedStatementQuery(ctx context.Context, q flightsql.PreparedStatementQuery, r flight.MessageReader, _ flight.MetadataWriter) ([]byte, error) {
	if _, _, err := s.preparedSQL(ctx, q); err != nil {
		return nil, err
	}
	for r.Next() {
		if r.RecordBatch().NumCols() > 0 {
			return nil, status.Error(codes.Unimplemented, "statement parameters are not supported")
		}
	}
	return q.GetPreparedStatementHandle(), nil
}

// run runs sql as p and streams its batches.
func (s *Server) run(ctx context.Context, p authz.Principal, sql string) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	if s.o.Queryer == nil {
		return nil, nil, status.Error(codes.Unavailable, "the data plane is not available on this server")
	}
	// A client that stops reading blocks the sends below until the
	// stream ends, which it may never do: QueryTimeout bounds how long
	// the query's resources are held. Past it the query is closed and the
	// stream ends with DeadlineExceeded (delivered if the client reads
	// again), never as if the results were complete.
	qctx, cancel := context.WithTimeout(ctx, s.o.QueryTimeout)
	res, err := s.o.Queryer.Query(qctx, p, sql)
	if err != nil {
		cancel()
		s.logQueryError(p, err)
		return nil, nil, toStatus(err)
	}
	ch := make(chan flight.StreamChunk)
	go func() {
		defer close(ch)
		defer cancel()
		var last flight.StreamChunk
		for res.Next() {
			rb := res.RecordBatch()
			rb.Retain()
			select {
			case ch <- flight.StreamChunk{Data: rb}:
				continue
			case <-qctx.Done():
				rb.Release()
			}
			break
		}
		switch err := res.Err(); {
		case err != nil:
			s.logQueryError(p, err)
			last.Err = toStatus(err)
		case qctx.Err() != nil && ctx.Err() == nil:
			s.log.Info("Flight SQL query stopped: the client did not read its results in time", "user", p.User)
			last.Err = status.Error(codes.DeadlineExceeded, "the results were not read in time")
		}
		_ = res.Close()
		if last.Err != nil {
			select {
			case ch <- last:
			case <-ctx.Done():
			}
		}
	}()
	return res.Schema(), ch, nil
}

// logQueryError logs a failed statement: an internal failure as an
// error, a refusal as information.
func (s *Server) logQueryError(p authz.Principal, err error) {
	if dataplane.Status(err) == 500 {
		s.log.Error("Flight SQL query failed", "user", p.User, "err", err.Error())
		return
	}
	s.log.Info("Flight SQL query refused", "user", p.User, "err", err.Error())
}

// toStatus maps a data plane or policy error to a gRPC status, with the
// data plane's own classification (dataplane.Status) and client-safe
// text (dataplane.PublicError): the reason of a refusal, never internals.
func toStatus(err error) error {
	if _, ok := status.FromError(err); ok {
		return err
	}
	msg := strings.TrimPrefix(dataplane.PublicError(err), authz.ErrInvalid.Error()+": ")
	var c codes.Code
	switch dataplane.Status(err) {
	case 400:
		c = codes.InvalidArgument
	case 403:
		c = codes.PermissionDenied
	case 404:
		c = codes.NotFound
	case 408:
		c = codes.DeadlineExceeded
	case 413:
		c = codes.ResourceExhausted
	case 499:
		c = codes.Canceled
	case 503:
		c = codes.Unavailable
	default:
		return status.Error(codes.Internal, "internal error: the server log says why")
	}
	return status.Error(c, msg)
}
