package dataplane

import (
	"context"
	"io"
	"time"

	"github.com/lakegate/lakegate/internal/upstream"
)

// Objects reads the lake (scan.Objects): *upstream.Client.
type Objects interface {
	ListObjects(ctx context.Context, bucket, prefix, delimiter string, fn func(upstream.Entry) error) error
	NewReaderAt(ctx context.Context, bucket, key string, size int64) io.ReaderAt
}

var _ Objects = (*upstream.Client)(nil)

// EngineOptions configure NewEngine: the fields of scan.Options (zero
// fields take scan's defaults).
type EngineOptions struct {
	// Objects reads the tables' files (required).
	Objects Objects
	// TokenizeKey keys the tokenize mask (TokenizeKey gives the store's).
	TokenizeKey []byte
	// MaxRows bounds the rows of one result (scan.max_rows).
	MaxRows int64
	// MaxBytes bounds the bytes of files one query reads (scan.max_bytes).
	MaxBytes int64
	// Timeout bounds one query (scan.timeout).
	Timeout time.Duration
	// MemoryLimit is DuckDB's memory_limit per query (scan.memory_limit).
	MemoryLimit string
	// Threads is DuckDB's threads per query, 0 the default (scan.threads).
	Threads int
	// TempDir holds each query's spill directory (scan.temp_dir).
	TempDir string
}
