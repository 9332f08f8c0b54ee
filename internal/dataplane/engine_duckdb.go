//go:build duckdb_arrow

package dataplane

import (
	"context"

	"github.com/lakegate/lakegate/internal/scan"
)

// NewEngine returns the embedded DuckDB engine (scan.New) as an Engine.
func NewEngine(o EngineOptions) (Engine, error) {
	e, err := scan.New(scan.Options{
		Objects: o.Objects, TokenizeKey: o.TokenizeKey, MaxRows: o.MaxRows, MaxBytes: o.MaxBytes,
		Timeout: o.Timeout, MemoryLimit: o.MemoryLimit, Threads: o.Threads, TempDir: o.TempDir,
	})
	if err != nil {
		return nil, err
	}
	return duckEngine{e}, nil
}

type duckEngine struct{ e *scan.Engine }

func (d duckEngine) Query(ctx context.Context, sql string, resolve Resolver) (Rows, error) {
	r, err := d.e.Query(ctx, scan.Request{SQL: sql, Resolve: scan.ResolveFunc(resolve)})
	if err != nil {
		return nil, err
	}
	return r, nil
}

var (
	_ Rows         = (*scan.Result)(nil)
	_ scan.Objects = Objects(nil)
)

// Available reports whether this build has the scan engine.
func Available() bool { return true }
