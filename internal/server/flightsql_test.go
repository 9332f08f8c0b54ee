package server_test

import (
	"bytes"
	"crypto/tls"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	grpccreds "google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/lakegate/lakegate/internal/credentials"
	"github.com/lakegate/lakegate/internal/dataplane"
)

// TestFlightSQLListener: sql.addr serves Flight SQL over TLS with the REST
// API's tokens; the catalog answers as the policy says; statements answer
// Unavailable while no data plane is wired; the listener stops with the
// server.
func TestFlightSQLListener(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	cfg := testConfig(t, nil)
	cfg.SQL.Addr = "127.0.0.1:0"
	cfg.SQL.TLSCertFile, cfg.SQL.TLSKeyFile = certFile, keyFile
	cfg.Admin.Token = credentials.TokenPrefix + credentials.RandomToken(40)
	s := newServer(t, t.Context(), cfg, slog.New(slog.DiscardHandler))
	addrs := s.Addrs()
	if !strings.HasPrefix(addrs.SQL, "127.0.0.1:") || strings.HasSuffix(addrs.SQL, ":0") {
		t.Fatalf("Addrs = %+v", addrs)
	}
	serve(t, s)

	req, _ := http.NewRequest(http.MethodPost, "http://"+addrs.REST+"/api/sql",
		bytes.NewReader([]byte(`{"sql": "CREATE DATABASE sales; CREATE DATABASE hr"}`)))
	req.Header.Set("Authorization", "Bearer "+cfg.Admin.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /api/sql: %s", resp.Status)
	}

	c, err := flightsql.NewClient(addrs.SQL, nil, nil,
		grpc.WithTransportCredentials(grpccreds.NewTLS(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	ctx := metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer "+cfg.Admin.Token)

	if _, err := c.GetDBSchemas(t.Context(), nil); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("without credentials: %v", err)
	}
	info, err := c.GetDBSchemas(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	rd, err := c.DoGet(ctx, info.Endpoint[0].Ticket)
	if err != nil {
		t.Fatal(err)
	}
	var dbs []string
	for rd.Next() {
		rb := rd.RecordBatch()
		for i := range int(rb.NumRows()) {
			dbs = append(dbs, rb.Column(1).ValueStr(i))
		}
	}
	rd.Release()
	if strings.Join(dbs, ",") != "hr,sales" {
		t.Errorf("databases %q", dbs)
	}
	info, err = c.Execute(ctx, "SELECT 1")
	if err != nil {
		t.Fatal(err)
	}
	if dataplane.Available() {
		// Built with the scan engine: the statement runs.
		rd, err := c.DoGet(ctx, info.Endpoint[0].Ticket)
		if err != nil {
			t.Fatalf("a statement through the data plane: %v", err)
		}
		defer rd.Release()
		if !rd.Next() || rd.RecordBatch().NumRows() != 1 {
			t.Fatalf("SELECT 1 through the data plane: no row (%v)", rd.Err())
		}
		return
	}
	if rd, err := c.DoGet(ctx, info.Endpoint[0].Ticket); status.Code(err) != codes.Unavailable {
		if err == nil {
			rd.Release()
		}
		t.Fatalf("a statement without a data plane: %v", err)
	}
}
