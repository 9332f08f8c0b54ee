package s3xml

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// sdkClient returns an aws-sdk-go-v2 S3 client whose every request is
// answered with the body that respond returns. It is built from s3.Options
// directly, not config.LoadDefaultConfig, so the machine's AWS_CA_BUNDLE and
// profiles play no part.
func sdkClient(t *testing.T, respond func(r *http.Request) []byte) *s3.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := respond(r)
		w.Header().Set("Content-Type", "application/xml")
		w.Header().Set("x-amz-request-id", "TEST")
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return s3.New(s3.Options{
		BaseEndpoint:     aws.String(srv.URL),
		UsePathStyle:     true,
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""),
		HTTPClient:       srv.Client(),
		RetryMaxAttempts: 1,
	})
}

// filtered runs FilterList over body for a public/ grant.
func filtered(t *testing.T, kind ListKind, body string, o FilterOptions) []byte {
	t.Helper()
	var out bytes.Buffer
	if _, err := FilterList(&out, strings.NewReader(body), kind, grant("public/"), o); err != nil {
		t.Fatalf("FilterList: %v", err)
	}
	return out.Bytes()
}

// TestSDKParsesFilteredListObjectsV2 proves that the SDK reads a filtered
// V2 page, KeyCount moved to the end included.
func TestSDKParsesFilteredListObjectsV2(t *testing.T) {
	sealer := testSealer(t)
	tests := []struct {
		name      string
		body      string
		url       bool
		keyCount  int32
		keys      []string
		prefixes  []string
		truncated bool
		token     string // plaintext of the sealed NextContinuationToken
	}{
		{name: "aws delimited", body: awsV2, keyCount: 1, prefixes: []string{"public/"}, truncated: true, token: "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM="},
		{name: "minio truncated", body: minio(t, "list-v2-truncated.xml"), keyCount: 3, keys: []string{"public/a.txt", "public/sub/x", "public/€.txt"}, truncated: true, token: "c2VjcmV0L3orMS50eHRbbWluaW9fY2FjaGU6djIscmV0dXJuOl0="},
		{name: "minio delimited", body: minio(t, "list-v2-delimited.xml"), keyCount: 1, prefixes: []string{"public/"}, truncated: true, token: "c2VjcmV0L1ttaW5pb19jYWNoZTp2MixyZXR1cm46XQ=="},
		{name: "minio url-encoded", body: minio(t, "list-v2-url.xml"), url: true, keyCount: 3, keys: []string{"public/a.txt", "public/sub/x", "public/%E2%82%AC.txt"}},
		{name: "aws url-encoded", body: awsV2URL, url: true, keyCount: 2, keys: []string{"public/b+c%26d.txt", "public/%E2%82%AC.txt"}},
		{name: "pretty", body: docV2Pretty, keyCount: 2, keys: []string{"public/a.txt", "public/sub/x"}},
		{name: "empty", body: awsV2Empty, keyCount: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := filtered(t, ListObjectsV2, tc.body, FilterOptions{URLEncoded: tc.url, Seal: sealer.Seal})
			c := sdkClient(t, func(*http.Request) []byte { return body })
			out, err := c.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String("b")})
			if err != nil {
				t.Fatalf("ListObjectsV2: %v", err)
			}
			if got := aws.ToInt32(out.KeyCount); got != tc.keyCount {
				t.Errorf("KeyCount = %d, want %d", got, tc.keyCount)
			}
			var keys, prefixes []string
			for _, o := range out.Contents {
				keys = append(keys, aws.ToString(o.Key))
			}
			for _, p := range out.CommonPrefixes {
				prefixes = append(prefixes, aws.ToString(p.Prefix))
			}
			if !slices.Equal(keys, tc.keys) || !slices.Equal(prefixes, tc.prefixes) {
				t.Errorf("keys %q prefixes %q, want %q %q", keys, prefixes, tc.keys, tc.prefixes)
			}
			if int(aws.ToInt32(out.KeyCount)) != len(keys)+len(prefixes) {
				t.Errorf("KeyCount %d for %d entries", aws.ToInt32(out.KeyCount), len(keys)+len(prefixes))
			}
			if aws.ToBool(out.IsTruncated) != tc.truncated {
				t.Errorf("IsTruncated = %v", aws.ToBool(out.IsTruncated))
			}
			token := aws.ToString(out.NextContinuationToken)
			if tc.token == "" {
				if token != "" {
					t.Errorf("NextContinuationToken = %q", token)
				}
			} else if plain, ok := sealer.Open(token); !ok || plain != tc.token {
				t.Errorf("NextContinuationToken %q opens to %q, %v", token, plain, ok)
			}
		})
	}
}

// TestSDKPaginatesSealedTokens runs the SDK's paginator across two filtered
// pages: the sealed token the SDK sends back opens to upstream's token.
func TestSDKPaginatesSealedTokens(t *testing.T) {
	sealer := testSealer(t)
	page1 := decl + `<ListBucketResult ` + ns + `><Name>b</Name><Prefix></Prefix><NextContinuationToken>upstream-token-secret/m</NextContinuationToken><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys><IsTruncated>true</IsTruncated>` +
		awsObject("public/a") + awsObject("secret/m") + `</ListBucketResult>`
	page2 := decl + `<ListBucketResult ` + ns + `><Name>b</Name><Prefix></Prefix><ContinuationToken>upstream-token-secret/m</ContinuationToken><KeyCount>1</KeyCount><MaxKeys>2</MaxKeys><IsTruncated>false</IsTruncated>` +
		awsObject("public/z") + `</ListBucketResult>`
	var sent []string
	c := sdkClient(t, func(r *http.Request) []byte {
		tok := r.URL.Query().Get("continuation-token")
		sent = append(sent, tok)
		if tok == "" {
			return filtered(t, ListObjectsV2, page1, FilterOptions{Seal: sealer.Seal})
		}
		if plain, ok := sealer.Open(tok); !ok || plain != "upstream-token-secret/m" {
			t.Errorf("client sent token %q, opens to %q, %v", tok, plain, ok)
		}
		return filtered(t, ListObjectsV2, page2, FilterOptions{Seal: sealer.Seal})
	})
	var keys []string
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String("b")})
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range out.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	if !slices.Equal(keys, []string{"public/a", "public/z"}) || len(sent) != 2 {
		t.Errorf("keys %q after requests with tokens %q", keys, sent)
	}
}

// TestSDKParsesFilteredListObjectVersions proves that the SDK reads a
// filtered versions page, with a sealed NextKeyMarker.
func TestSDKParsesFilteredListObjectVersions(t *testing.T) {
	sealer := testSealer(t)
	tests := []struct {
		name          string
		body          string
		url           bool
		versions      []string
		deleteMarkers []string
		prefixes      []string
		truncated     bool
		nextKey       string // plaintext of the sealed NextKeyMarker
	}{
		{name: "aws", body: awsVersions, versions: []string{"public/a.txt"}, deleteMarkers: []string{"public/b c&d.txt"}, truncated: true, nextKey: "secret/plans.txt"},
		{name: "aws url-encoded", body: awsVersionsURL, url: true, versions: []string{"public%2Fb+c%26d.txt"}, truncated: true, nextKey: "secret/z+1.txt"},
		{name: "minio truncated", body: minio(t, "versions-truncated.xml"), versions: []string{"public/a.txt", "public/b c&d.txt", "public/sub/x", "public/€.txt"}, deleteMarkers: []string{"public/b c&d.txt"},
			truncated: true, nextKey: "secret/plans.txt[minio_cache:v2,return:]"},
		{name: "minio delimited", body: minio(t, "versions-delimited.xml"), prefixes: []string{"public/"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := filtered(t, ListObjectVersions, tc.body, FilterOptions{URLEncoded: tc.url, Seal: sealer.Seal})
			c := sdkClient(t, func(*http.Request) []byte { return body })
			out, err := c.ListObjectVersions(context.Background(), &s3.ListObjectVersionsInput{Bucket: aws.String("b")})
			if err != nil {
				t.Fatalf("ListObjectVersions: %v", err)
			}
			var versions, markers, prefixes []string
			for _, v := range out.Versions {
				versions = append(versions, aws.ToString(v.Key))
			}
			for _, d := range out.DeleteMarkers {
				markers = append(markers, aws.ToString(d.Key))
			}
			for _, p := range out.CommonPrefixes {
				prefixes = append(prefixes, aws.ToString(p.Prefix))
			}
			if !slices.Equal(versions, tc.versions) || !slices.Equal(markers, tc.deleteMarkers) || !slices.Equal(prefixes, tc.prefixes) {
				t.Errorf("versions %q delete markers %q prefixes %q", versions, markers, prefixes)
			}
			if aws.ToBool(out.IsTruncated) != tc.truncated {
				t.Errorf("IsTruncated = %v", aws.ToBool(out.IsTruncated))
			}
			if tc.nextKey != "" {
				if plain, ok := sealer.Open(aws.ToString(out.NextKeyMarker)); !ok || plain != tc.nextKey {
					t.Errorf("NextKeyMarker %q opens to %q, %v", aws.ToString(out.NextKeyMarker), plain, ok)
				}
			}
			// Version ID markers are sealed: they may belong to a hidden key.
			want := summarize(t, []byte(tc.body)).fields["NextVersionIdMarker"]
			if plain, ok := sealer.Open(aws.ToString(out.NextVersionIdMarker)); want != "" && (!ok || plain != want) {
				t.Errorf("NextVersionIdMarker %q opens to %q, %v; want %q", aws.ToString(out.NextVersionIdMarker), plain, ok, want)
			}
		})
	}
}

// TestSDKParsesMergedDeleteResult proves that the SDK reads a DeleteResult
// with the denied objects added.
func TestSDKParsesMergedDeleteResult(t *testing.T) {
	upstream := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Deleted><Key>public/a.txt</Key></Deleted></DeleteResult>`
	var body bytes.Buffer
	if err := WriteDeleteResult(&body, strings.NewReader(upstream), []ObjectID{{Key: "secret/x&y", VersionID: "v1"}}); err != nil {
		t.Fatal(err)
	}
	c := sdkClient(t, func(*http.Request) []byte { return body.Bytes() })
	out, err := c.DeleteObjects(context.Background(), &s3.DeleteObjectsInput{
		Bucket: aws.String("b"),
		Delete: &types.Delete{Objects: []types.ObjectIdentifier{{Key: aws.String("public/a.txt")}, {Key: aws.String("secret/x&y"), VersionId: aws.String("v1")}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Deleted) != 1 || aws.ToString(out.Deleted[0].Key) != "public/a.txt" {
		t.Errorf("Deleted = %+v", out.Deleted)
	}
	if len(out.Errors) != 1 || aws.ToString(out.Errors[0].Key) != "secret/x&y" || aws.ToString(out.Errors[0].VersionId) != "v1" ||
		aws.ToString(out.Errors[0].Code) != "AccessDenied" || aws.ToString(out.Errors[0].Message) != "Access Denied" {
		t.Errorf("Errors = %+v", out.Errors)
	}
}

// TestSDKDeleteRequestParses checks that ParseDelete reads the body the
// SDK sends for DeleteObjects, and that Marshal keeps the conditional
// fields the SDK wrote.
func TestSDKDeleteRequestParses(t *testing.T) {
	var req *DeleteRequest
	c := sdkClient(t, func(r *http.Request) []byte {
		var err error
		if req, err = ParseDelete(r.Body, 1<<20); err != nil {
			t.Errorf("ParseDelete: %v", err)
		}
		return []byte(`<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"/>`)
	})
	_, err := c.DeleteObjects(context.Background(), &s3.DeleteObjectsInput{
		Bucket: aws.String("b"),
		Delete: &types.Delete{Quiet: aws.Bool(true), Objects: []types.ObjectIdentifier{
			{Key: aws.String("public/a&b <c>.txt"), ETag: aws.String(`"fba9dede5f27731c9771645a39863328"`), Size: aws.Int64(12)},
			{Key: aws.String("/lead/€ %2F"), VersionId: aws.String("v1")},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if req == nil || !req.Quiet || !slices.EqualFunc(ids(req.Objects), []ObjectID{{Key: "public/a&b <c>.txt"}, {Key: "/lead/€ %2F", VersionID: "v1"}}, sameObject) {
		t.Fatalf("parsed %+v", req)
	}
	if m := string(req.Marshal()); !strings.Contains(m, `<ETag>"fba9dede5f27731c9771645a39863328"</ETag>`) || !strings.Contains(m, `<Size>12</Size>`) {
		t.Errorf("Marshal lost conditional fields:\n%s", m)
	}
}
