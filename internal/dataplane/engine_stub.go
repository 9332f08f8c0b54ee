//go:build !duckdb_arrow

package dataplane

// NewEngine returns ErrNoEngine: this build has no scan engine (build
// with -tags duckdb_arrow).
func NewEngine(EngineOptions) (Engine, error) { return nil, ErrNoEngine }

// Available reports whether this build has the scan engine.
func Available() bool { return false }
