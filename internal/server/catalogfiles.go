package server

import (
	"context"
	"strings"

	"github.com/lakegate/lakegate/internal/authz"
	"github.com/lakegate/lakegate/internal/catalog"
	"github.com/lakegate/lakegate/internal/store"
	"github.com/lakegate/lakegate/internal/upstream"
)

// maxRecoveredPartitions bounds one ALTER TABLE … RECOVER PARTITIONS.
const maxRecoveredPartitions = 100_000

// catalogFiles reads the data lake for the policy engine's catalog
// statements (LIKE PARQUET, RECOVER PARTITIONS) through the upstream, with
// each bucket's own credentials.
type catalogFiles struct {
	up *upstream.Client
}

var _ authz.Files = catalogFiles{}

// ParquetSchema implements authz.Files: it reads the file's footer, never
// the whole object.
func (f catalogFiles) ParquetSchema(ctx context.Context, bucket, key string) ([]store.Column, error) {
	info, err := f.up.Stat(ctx, bucket, key)
	if err != nil {
		return nil, err
	}
	cols, err := catalog.ParquetSchema(f.up.NewReaderAt(ctx, bucket, key, info.Size), info.Size)
	if err != nil {
		return nil, err
	}
	out := make([]store.Column, len(cols))
	for i, c := range cols {
		out[i] = store.Column{Name: c.Name, Type: c.Type, Comment: c.Comment}
	}
	return out, nil
}

// Partitions implements authz.Files.
func (f catalogFiles) Partitions(ctx context.Context, bucket, root string, columns []string) ([]authz.FoundPartition, error) {
	list := func(prefix string, fn func(string) error) error { return f.up.ListPrefixes(ctx, bucket, prefix, fn) }
	found, err := catalog.DiscoverPartitions(ctx, list, root, columns, maxRecoveredPartitions)
	if err != nil {
		return nil, err
	}
	out := make([]authz.FoundPartition, len(found))
	for i, p := range found {
		out[i] = authz.FoundPartition{Values: p.Values, Path: strings.TrimSuffix(p.Path, "/")}
	}
	return out, nil
}
