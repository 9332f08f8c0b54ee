package server

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/lakegate/lakegate/internal/authz"
	"github.com/lakegate/lakegate/internal/config"
	"github.com/lakegate/lakegate/internal/dataplane"
	"github.com/lakegate/lakegate/internal/flightsql"
	"github.com/lakegate/lakegate/internal/store"
	"github.com/lakegate/lakegate/internal/upstream"
)

// newDataPlane builds the data plane (REST /api/scan, Flight SQL) over
// the upstream client, the policy engine and the audit log. It returns
// nil, nil in a build without the scan engine (no duckdb_arrow tag): the
// scan endpoints then answer 404 and Flight SQL statements Unavailable.
func (s *Server) newDataPlane(ctx context.Context, cfg *config.Config, engine *authz.Engine, up *upstream.Client,
	st store.PolicyStore, logger *slog.Logger) (*dataplane.Service, error) {
	if !dataplane.Available() {
		logger.Info("the scan service is off: " + dataplane.ErrNoEngine.Error())
		return nil, nil
	}
	key, err := dataplane.TokenizeKey(ctx, st)
	if err != nil {
		return nil, err
	}
	tmp := cfg.Scan.TempDir
	if tmp == "" {
		tmp = filepath.Join(cfg.DataDir, "scan")
	}
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return nil, fmt.Errorf("scan.temp_dir: %w", err)
	}
	eng, err := dataplane.NewEngine(dataplane.EngineOptions{
		Objects: up, TokenizeKey: key, MaxRows: cfg.Scan.MaxRows, MaxBytes: cfg.Scan.MaxBytes,
		Timeout: cfg.Scan.Timeout, MemoryLimit: cfg.Scan.MemoryLimit, Threads: cfg.Scan.Threads, TempDir: tmp,
	})
	if err != nil {
		return nil, err
	}
	return dataplane.New(dataplane.Options{Policy: engine, Engine: eng, Audit: s.auditor,
		Logger: logger.With("component", "scan")})
}

// planeQueryer is the data plane as Flight SQL's Queryer; nil without one.
func planeQueryer(plane *dataplane.Service) flightsql.Queryer {
	if plane == nil {
		return nil
	}
	return flightsql.QueryFunc(func(ctx context.Context, p authz.Principal, sql string) (flightsql.Records, error) {
		r, err := plane.Query(ctx, p, sql)
		if err != nil {
			return nil, err // not a typed nil in the interface
		}
		return r, nil
	})
}
