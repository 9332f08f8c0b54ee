//go:build duckdb_arrow

package scan

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/minio/minio-go/v7"
	miniocreds "github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/lakegate/lakegate/internal/s3/miniotest"
	"github.com/lakegate/lakegate/internal/upstream"
)

// TestThroughMinIO runs the EU policy over the fixture uploaded to a real
// MinIO, read through lakegate's upstream client (ListObjects,
// NewReaderAt): the same rows as from the directory-backed fake.
func TestThroughMinIO(t *testing.T) {
	ctx := context.Background()
	m := miniotest.Start(t)
	mc, err := minio.New(strings.TrimPrefix(m.Endpoint, "http://"), &minio.Options{
		Creds: miniocreds.NewStaticV4(m.AccessKey, m.SecretKey, ""), Region: "us-east-1", BucketLookup: minio.BucketLookupPath})
	if err != nil {
		t.Fatal(err)
	}
	if err := mc.MakeBucket(ctx, "lake", minio.MakeBucketOptions{Region: "us-east-1"}); err != nil {
		t.Fatal(err)
	}
	f := newFixture(t)
	base := filepath.Join(f.objects.Root, "lake")
	err = filepath.WalkDir(base, func(p string, de fs.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			return err
		}
		body, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(base, p)
		_, err = mc.PutObject(ctx, "lake", filepath.ToSlash(rel), bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := upstream.New(upstream.Options{
		Default:     upstream.Target{Endpoint: m.Endpoint, PathStyle: true},
		Credentials: credentials.NewStaticCredentialsProvider(m.AccessKey, m.SecretKey, ""),
	})
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(Options{Objects: c, TokenizeKey: testKey, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{
		"SELECT * FROM d.people ORDER BY id",
		"SELECT id, name, ssn, region, birth_date FROM d.people_csv ORDER BY id",
		"SELECT * FROM d.people_json ORDER BY id",
	} {
		rows, _, err := run(t, e, f.resolver(t, nil), sql)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		if want := euRows(); !slices.Equal(rows, want) {
			t.Errorf("%s\n got %q\nwant %q", sql, rows, want)
		}
	}
}
