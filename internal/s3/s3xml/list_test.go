package s3xml

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

// grant is a Visibility for a client granted everything under one prefix.
type grant string

var _ Visibility = grant("")

func (g grant) Key(k string) bool { return strings.HasPrefix(k, string(g)) }

// Prefix shows prefixes inside the grant and the ancestors leading to it.
func (g grant) Prefix(p string) bool {
	return strings.HasPrefix(p, string(g)) || strings.HasPrefix(string(g), p)
}

// nothing is a Visibility that hides everything.
type nothing struct{}

func (nothing) Key(string) bool    { return false }
func (nothing) Prefix(string) bool { return false }

var testKey = bytes.Repeat([]byte{7}, 32)

func testSealer(t testing.TB) *Sealer {
	t.Helper()
	s, err := NewSealer(testKey)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const ns = `xmlns="http://s3.amazonaws.com/doc/2006-03-01/"`

const owner = `<Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID><DisplayName>mtd</DisplayName></Owner>`

func awsObject(key string) string {
	return `<Contents><Key>` + key + `</Key><LastModified>2024-05-01T10:00:00.000Z</LastModified>` +
		`<ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag><ChecksumAlgorithm>CRC64NVME</ChecksumAlgorithm>` +
		`<ChecksumType>FULL_OBJECT</ChecksumType><Size>434234</Size>` + owner + `<StorageClass>STANDARD</StorageClass></Contents>`
}

func prefixes(ps ...string) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString(`<CommonPrefixes><Prefix>` + p + `</Prefix></CommonPrefixes>`)
	}
	return b.String()
}

const decl = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"

// Bodies as AWS S3 returns them (after the examples of the S3 API
// reference), for a bucket holding public/a.txt, public/b c&d.txt,
// public/sub/x, secret/plans.txt, secret/z+1.txt and top.txt, and a client
// granted public/. Bodies captured from MinIO are in testdata/minio.
var (
	awsV1Flat = decl + `<ListBucketResult ` + ns + `><Name>b</Name><Prefix></Prefix><Marker></Marker><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>` +
		awsObject("public/a.txt") + awsObject("public/b c&amp;d.txt") + awsObject("public/sub/x") + awsObject("secret/plans.txt") + awsObject("secret/z+1.txt") + awsObject("top.txt") +
		`</ListBucketResult>`
	awsV1Delimited = decl + `<ListBucketResult ` + ns + `><Name>b</Name><Prefix></Prefix><Marker></Marker><NextMarker>secret/</NextMarker><MaxKeys>2</MaxKeys><Delimiter>/</Delimiter><IsTruncated>true</IsTruncated>` +
		prefixes("public/", "secret/") + `</ListBucketResult>`
	// Truncated without a delimiter: no NextMarker, and the page ends in
	// hidden keys.
	awsV1TruncatedHiddenTail = decl + `<ListBucketResult ` + ns + `><Name>b</Name><Prefix></Prefix><Marker></Marker><MaxKeys>3</MaxKeys><IsTruncated>true</IsTruncated>` +
		awsObject("public/sub/x") + awsObject("secret/plans.txt") + awsObject("secret/z+1.txt") + `</ListBucketResult>`
	// The client sent a sealed marker; the proxy forwarded its plaintext,
	// and upstream echoes it.
	awsV1MarkerEcho = decl + `<ListBucketResult ` + ns + `><Name>b</Name><Prefix></Prefix><Marker>secret/plans.txt</Marker><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>` +
		awsObject("secret/z+1.txt") + awsObject("top.txt") + `</ListBucketResult>`
	awsV1URL = decl + `<ListBucketResult ` + ns + `><Name>b</Name><Prefix></Prefix><Marker></Marker><NextMarker>secret%2Fz%2B1.txt</NextMarker><MaxKeys>4</MaxKeys><Delimiter></Delimiter><EncodingType>url</EncodingType><IsTruncated>true</IsTruncated>` +
		awsObject("public/a.txt") + awsObject("public/b+c%26d.txt") + awsObject("secret/plans.txt") + awsObject("secret/z%2B1.txt") + `</ListBucketResult>`
	awsV1Empty = decl + `<ListBucketResult ` + ns + `><Name>b</Name><Prefix>nothing/</Prefix><Marker></Marker><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated></ListBucketResult>`

	awsV2 = decl + `<ListBucketResult ` + ns + `><Name>b</Name><Prefix></Prefix><NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken><KeyCount>4</KeyCount><MaxKeys>4</MaxKeys><Delimiter>/</Delimiter><IsTruncated>true</IsTruncated>` +
		awsObject("top.txt") + prefixes("public/", "secret/", "tmp/") + `</ListBucketResult>`
	awsV2Flat = decl + `<ListBucketResult ` + ns + `><Name>b</Name><Prefix>public/</Prefix><KeyCount>3</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>` +
		awsObject("public/a.txt") + awsObject("public/b c&amp;d.txt") + awsObject("public/sub/x") + `</ListBucketResult>`
	awsV2URL = decl + `<ListBucketResult ` + ns + `><Name>b</Name><Prefix></Prefix><KeyCount>4</KeyCount><MaxKeys>1000</MaxKeys><EncodingType>url</EncodingType><IsTruncated>false</IsTruncated>` +
		awsObject("public/b+c%26d.txt") + awsObject("public/%E2%82%AC.txt") + awsObject("secret/plans.txt") + awsObject("secret/z%2B1.txt") + `</ListBucketResult>`
	awsV2ContinuationEcho = decl + `<ListBucketResult ` + ns + `><Name>b</Name><Prefix></Prefix><ContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</ContinuationToken><KeyCount>1</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>` +
		awsObject("top.txt") + `</ListBucketResult>`
	awsV2Empty = decl + `<ListBucketResult ` + ns + `><Name>b</Name><Prefix>public/none/</Prefix><KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated></ListBucketResult>`
	// A URL-encoded listing whose delimiter and prefixes are encoded too.
	urlV2Prefixes = decl + `<ListBucketResult ` + ns + `><Name>b</Name><Prefix></Prefix><KeyCount>3</KeyCount><MaxKeys>1000</MaxKeys><Delimiter>%2F</Delimiter><IsTruncated>false</IsTruncated>` +
		awsObject("top.txt") + prefixes("public%2F", "secret%2F") + `<EncodingType>url</EncodingType></ListBucketResult>`
	// The example from the S3 API reference, pretty-printed.
	docV2Pretty = decl + `<ListBucketResult ` + ns + `>
  <Name>b</Name>
  <Prefix/>
  <KeyCount>3</KeyCount>
  <MaxKeys>1000</MaxKeys>
  <IsTruncated>false</IsTruncated>
  <Contents>
    <Key>public/a.txt</Key>
    <Size>1</Size>
  </Contents>
  <Contents>
    <Key>secret/plans.txt</Key>
    <Size>2</Size>
  </Contents>
  <Contents>
    <Key>public/sub/x</Key>
    <Size>3</Size>
  </Contents>
</ListBucketResult>
`

	awsVersions = decl + `<ListVersionsResult ` + ns + `><Name>b</Name><Prefix></Prefix><KeyMarker></KeyMarker><VersionIdMarker></VersionIdMarker>` +
		`<NextKeyMarker>secret/plans.txt</NextKeyMarker><NextVersionIdMarker>3/L4kqtJl40Nr8X8gdRQBpUMLUo</NextVersionIdMarker><MaxKeys>4</MaxKeys><IsTruncated>true</IsTruncated>` +
		`<Version><Key>public/a.txt</Key><VersionId>3/L4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo</VersionId><IsLatest>true</IsLatest><LastModified>2009-10-12T17:50:30.000Z</LastModified><ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag><Size>434234</Size><StorageClass>STANDARD</StorageClass>` + owner + `</Version>` +
		`<DeleteMarker><Key>public/b c&amp;d.txt</Key><VersionId>null</VersionId><IsLatest>true</IsLatest><LastModified>2009-11-12T17:50:30.000Z</LastModified>` + owner + `</DeleteMarker>` +
		`<DeleteMarker><Key>secret/old.txt</Key><VersionId>03jpff543dhffds434rfdsFDN943fdsFkdmqnh892</VersionId><IsLatest>true</IsLatest><LastModified>2009-10-15T17:50:30.000Z</LastModified>` + owner + `</DeleteMarker>` +
		`<Version><Key>secret/plans.txt</Key><VersionId>UIORUnfndfhnw89493jJFJ</VersionId><IsLatest>false</IsLatest><LastModified>2009-10-11T12:50:30.000Z</LastModified><ETag>&quot;396fefef536d5ce46c7537ecf978a360&quot;</ETag><Size>217</Size>` + owner + `<StorageClass>STANDARD</StorageClass></Version>` +
		`</ListVersionsResult>`
	awsVersionsURL = decl + `<ListVersionsResult ` + ns + `><Name>b</Name><Prefix></Prefix><KeyMarker>public%2Fa.txt</KeyMarker><VersionIdMarker>null</VersionIdMarker>` +
		`<NextKeyMarker>secret%2Fz%2B1.txt</NextKeyMarker><NextVersionIdMarker>null</NextVersionIdMarker><MaxKeys>2</MaxKeys><EncodingType>url</EncodingType><IsTruncated>true</IsTruncated>` +
		`<Version><Key>public%2Fb+c%26d.txt</Key><VersionId>null</VersionId><IsLatest>true</IsLatest><LastModified>2009-10-12T17:50:30.000Z</LastModified><ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag><Size>1</Size><StorageClass>STANDARD</StorageClass></Version>` +
		`<Version><Key>secret%2Fz%2B1.txt</Key><VersionId>null</VersionId><IsLatest>true</IsLatest><LastModified>2009-10-12T17:50:30.000Z</LastModified><ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag><Size>1</Size><StorageClass>STANDARD</StorageClass></Version>` +
		`</ListVersionsResult>`
	awsUploads = decl + `<ListMultipartUploadsResult ` + ns + `><Bucket>b</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker>` +
		`<NextKeyMarker>secret/big.iso</NextKeyMarker><NextUploadIdMarker>xY2bQ9kZtPfLq</NextUploadIdMarker><MaxUploads>2</MaxUploads><IsTruncated>true</IsTruncated>` +
		`<Upload><Key>public/big.iso</Key><UploadId>VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA</UploadId><Initiator><ID>arn:aws:iam::111122223333:user/user1-11111a31-17b5-4fb7-9df5-b111111f13de</ID><DisplayName>user1</DisplayName></Initiator>` + owner + `<StorageClass>STANDARD</StorageClass><Initiated>2010-11-10T20:48:33.000Z</Initiated></Upload>` +
		`<Upload><Key>secret/big.iso</Key><UploadId>xY2bQ9kZtPfLq</UploadId><Initiator><ID>arn:aws:iam::111122223333:user/user1</ID><DisplayName>user1</DisplayName></Initiator>` + owner + `<StorageClass>STANDARD</StorageClass><Initiated>2010-11-10T20:49:33.000Z</Initiated></Upload>` +
		`</ListMultipartUploadsResult>`
	awsUploadsURL = decl + `<ListMultipartUploadsResult ` + ns + `><Bucket>b</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker><NextKeyMarker>secret%2Fz%2B1.txt</NextKeyMarker><NextUploadIdMarker>u2</NextUploadIdMarker><EncodingType>url</EncodingType><MaxUploads>2</MaxUploads><IsTruncated>true</IsTruncated>` +
		`<Upload><Key>public%2Fb+c%26d.txt</Key><UploadId>u1</UploadId><Initiated>2010-11-10T20:48:33.000Z</Initiated></Upload>` +
		`<Upload><Key>secret%2Fz%2B1.txt</Key><UploadId>u2</UploadId><Initiated>2010-11-10T20:48:33.000Z</Initiated></Upload>` +
		`</ListMultipartUploadsResult>`
)

// hiddenNames are every name in the fixtures a public/ grant must hide.
var hiddenNames = []string{"secret/plans.txt", "secret/z+1.txt", "secret/old.txt", "secret/big.iso", "secret/", "top.txt", "tmp/"}

// minio returns a body captured from MinIO (see testdata/minio/README.md).
func minio(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "minio", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// summary is what a test reads back from an output document.
type summary struct {
	root    xml.Name
	entries []string          // "Element:name" for each entry, in order
	fields  map[string]string // text of each root child that is not an entry
	order   []string          // local names of root children, in order
}

var entryField = map[string]string{
	"Contents": "Key", "Version": "Key", "DeleteMarker": "Key", "Upload": "Key",
	"CommonPrefixes": "Prefix", "Bucket": "Name",
}

// summarize parses out strictly (namespaces resolved, tags matched) and
// fails the test if it is not one well-formed document.
func summarize(t testing.TB, out []byte) summary {
	t.Helper()
	s, err := parseSummary(out)
	if err != nil {
		t.Fatalf("output is not well-formed: %v\n%s", err, out)
	}
	return s
}

func parseSummary(out []byte) (summary, error) {
	s := summary{fields: map[string]string{}}
	d := xml.NewDecoder(bytes.NewReader(out))
	var path []string
	var text strings.Builder
	roots := 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return s, err
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if len(path) == 0 {
				roots++
				s.root = tok.Name
			}
			if len(path) == 1 || len(path) == 2 && path[1] == "Buckets" {
				s.order = append(s.order, tok.Name.Local)
			}
			path = append(path, tok.Name.Local)
			text.Reset()
		case xml.CharData:
			if len(path) == 0 && len(bytes.TrimSpace(tok)) > 0 {
				return s, fmt.Errorf("text outside the root")
			}
			text.Write(tok)
		case xml.EndElement:
			n := len(path)
			switch {
			case n == 3 && entryField[path[1]] == path[2]:
				s.entries = append(s.entries, path[1]+":"+text.String())
			case n == 4 && path[1] == "Buckets" && path[3] == "Name":
				s.entries = append(s.entries, path[2]+":"+text.String())
			case n == 2 && (entryField[path[1]] == "" || path[1] == "Bucket") && path[1] != "Buckets":
				s.fields[path[1]] = text.String()
			}
			path = path[:n-1]
			text.Reset()
		}
	}
	if roots != 1 {
		return s, fmt.Errorf("%d root elements", roots)
	}
	return s, nil
}

// assertHidden fails if a hidden name appears in out in any spelling a
// client could read: as is, XML-escaped, URL-encoded or base64.
func assertHidden(t testing.TB, out []byte, hidden []string) {
	t.Helper()
	for _, h := range hidden {
		var esc bytes.Buffer
		_ = xml.EscapeText(&esc, []byte(h))
		// Base64 of the name's longest prefix of whole 3-byte groups
		// shows in the base64 of any text starting with the name.
		b64 := []byte(h)[:len(h)/3*3]
		forms := []string{h, esc.String(), url.QueryEscape(h), url.PathEscape(h),
			base64.StdEncoding.EncodeToString(b64), base64.URLEncoding.EncodeToString(b64)}
		for _, f := range forms {
			if bytes.Contains(out, []byte(f)) {
				t.Errorf("hidden name %q appears as %q in output:\n%s", h, f, out)
			}
		}
	}
}

const sealed = "sealed:" // want prefix: the field is sealed and opens to the rest

func TestFilterList(t *testing.T) {
	tests := []struct {
		name    string
		kind    ListKind
		url     bool
		body    string
		entries []string
		fields  map[string]string // root child text; sealed+"x" means Seal("x")
		absent  []string          // root children that must not be there
		stats   FilterStats
	}{
		{
			name: "aws v1 flat", kind: ListObjects, body: awsV1Flat,
			entries: []string{"Contents:public/a.txt", "Contents:public/b c&d.txt", "Contents:public/sub/x"},
			fields:  map[string]string{"Name": "b", "Marker": "", "MaxKeys": "1000", "IsTruncated": "false"},
			absent:  []string{"NextMarker"},
			stats:   FilterStats{Kept: 3, Dropped: 3},
		},
		{
			name: "aws v1 delimited, hidden NextMarker sealed", kind: ListObjects, body: awsV1Delimited,
			entries: []string{"CommonPrefixes:public/"},
			fields:  map[string]string{"NextMarker": sealed + "secret/", "Delimiter": "/", "IsTruncated": "true"},
			stats:   FilterStats{Kept: 1, Dropped: 1, Sealed: 1},
		},
		{
			name: "aws v1 truncated without NextMarker, hidden tail", kind: ListObjects, body: awsV1TruncatedHiddenTail,
			entries: []string{"Contents:public/sub/x"},
			fields:  map[string]string{"NextMarker": sealed + "secret/z+1.txt", "IsTruncated": "true"},
			stats:   FilterStats{Kept: 1, Dropped: 2, Sealed: 1},
		},
		{
			name: "aws v1 echoed marker sealed", kind: ListObjects, body: awsV1MarkerEcho,
			entries: []string{},
			fields:  map[string]string{"Marker": sealed + "secret/plans.txt", "IsTruncated": "false"},
			absent:  []string{"NextMarker"},
			stats:   FilterStats{Kept: 0, Dropped: 2, Sealed: 1},
		},
		{
			name: "aws v1 url-encoded", kind: ListObjects, url: true, body: awsV1URL,
			entries: []string{"Contents:public/a.txt", "Contents:public/b+c%26d.txt"},
			fields:  map[string]string{"NextMarker": sealed + "secret/z+1.txt", "EncodingType": "url"},
			stats:   FilterStats{Kept: 2, Dropped: 2, Sealed: 1},
		},
		{
			name: "aws v1 empty", kind: ListObjects, body: awsV1Empty,
			entries: []string{},
			fields:  map[string]string{"Prefix": "nothing/", "Marker": "", "IsTruncated": "false"},
			absent:  []string{"NextMarker"},
		},
		{
			name: "aws v2 delimited", kind: ListObjectsV2, body: awsV2,
			entries: []string{"CommonPrefixes:public/"},
			fields:  map[string]string{"KeyCount": "1", "NextContinuationToken": sealed + "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=", "IsTruncated": "true", "Delimiter": "/"},
			stats:   FilterStats{Kept: 1, Dropped: 3, Sealed: 1},
		},
		{
			name: "aws v2 all visible", kind: ListObjectsV2, body: awsV2Flat,
			entries: []string{"Contents:public/a.txt", "Contents:public/b c&d.txt", "Contents:public/sub/x"},
			fields:  map[string]string{"KeyCount": "3", "Prefix": "public/"},
			absent:  []string{"NextContinuationToken"},
			stats:   FilterStats{Kept: 3},
		},
		{
			name: "aws v2 url-encoded", kind: ListObjectsV2, url: true, body: awsV2URL,
			entries: []string{"Contents:public/b+c%26d.txt", "Contents:public/%E2%82%AC.txt"},
			fields:  map[string]string{"KeyCount": "2", "EncodingType": "url"},
			stats:   FilterStats{Kept: 2, Dropped: 2},
		},
		{
			name: "aws v2 continuation token echo sealed", kind: ListObjectsV2, body: awsV2ContinuationEcho,
			entries: []string{},
			fields:  map[string]string{"KeyCount": "0", "ContinuationToken": sealed + "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM="},
			stats:   FilterStats{Dropped: 1, Sealed: 1},
		},
		{
			name: "aws v2 empty", kind: ListObjectsV2, body: awsV2Empty,
			entries: []string{},
			fields:  map[string]string{"KeyCount": "0", "Prefix": "public/none/"},
		},
		{
			name: "v2 url-encoded prefixes", kind: ListObjectsV2, url: true, body: urlV2Prefixes,
			entries: []string{"CommonPrefixes:public%2F"},
			fields:  map[string]string{"KeyCount": "1", "Delimiter": "%2F", "EncodingType": "url"},
			stats:   FilterStats{Kept: 1, Dropped: 2},
		},
		{
			name: "pretty-printed v2", kind: ListObjectsV2, body: docV2Pretty,
			entries: []string{"Contents:public/a.txt", "Contents:public/sub/x"},
			fields:  map[string]string{"KeyCount": "2"},
			stats:   FilterStats{Kept: 2, Dropped: 1},
		},
		{
			name: "aws versions", kind: ListObjectVersions, body: awsVersions,
			entries: []string{"Version:public/a.txt", "DeleteMarker:public/b c&d.txt"},
			fields:  map[string]string{"KeyMarker": "", "NextKeyMarker": sealed + "secret/plans.txt", "NextVersionIdMarker": sealed + "3/L4kqtJl40Nr8X8gdRQBpUMLUo", "IsTruncated": "true"},
			stats:   FilterStats{Kept: 2, Dropped: 2, Sealed: 2},
		},
		{
			name: "aws versions url-encoded", kind: ListObjectVersions, url: true, body: awsVersionsURL,
			entries: []string{"Version:public%2Fb+c%26d.txt"},
			fields:  map[string]string{"KeyMarker": "public%2Fa.txt", "NextKeyMarker": sealed + "secret/z+1.txt", "VersionIdMarker": sealed + "null"},
			stats:   FilterStats{Kept: 1, Dropped: 1, Sealed: 3},
		},
		{
			name: "aws uploads", kind: ListMultipartUploads, body: awsUploads,
			entries: []string{"Upload:public/big.iso"},
			fields:  map[string]string{"Bucket": "b", "NextKeyMarker": sealed + "secret/big.iso", "NextUploadIdMarker": sealed + "xY2bQ9kZtPfLq", "IsTruncated": "true"},
			stats:   FilterStats{Kept: 1, Dropped: 1, Sealed: 2},
		},
		{
			name: "aws uploads url-encoded", kind: ListMultipartUploads, url: true, body: awsUploadsURL,
			entries: []string{"Upload:public%2Fb+c%26d.txt"},
			fields:  map[string]string{"NextKeyMarker": sealed + "secret/z+1.txt", "EncodingType": "url"},
			stats:   FilterStats{Kept: 1, Dropped: 1, Sealed: 2},
		},
		{
			name: "minio v1 truncated", kind: ListObjects, body: minio(t, "list-v1-truncated.xml"),
			entries: []string{"Contents:public/a.txt", "Contents:public/sub/x", "Contents:public/€.txt"},
			fields:  map[string]string{"NextMarker": sealed + "secret/plans.txt[minio_cache:v2,return:]", "IsTruncated": "true"},
			stats:   FilterStats{Kept: 3, Dropped: 1, Sealed: 1},
		},
		{
			name: "minio v1 delimited", kind: ListObjects, body: minio(t, "list-v1-delimited.xml"),
			entries: []string{"CommonPrefixes:public/"},
			fields:  map[string]string{"NextMarker": sealed + "secret/[minio_cache:v2,return:]", "Delimiter": "/"},
			stats:   FilterStats{Kept: 1, Dropped: 1, Sealed: 1},
		},
		{
			name: "minio v1 url-encoded", kind: ListObjects, url: true, body: minio(t, "list-v1-url.xml"),
			entries: []string{"Contents:public/a.txt", "Contents:public/sub/x", "Contents:public/%E2%82%AC.txt"},
			fields:  map[string]string{"EncodingType": "url", "IsTruncated": "false"},
			absent:  []string{"NextMarker"},
			stats:   FilterStats{Kept: 3, Dropped: 3},
		},
		{
			name: "minio v2 delimited, token encodes a hidden prefix", kind: ListObjectsV2, body: minio(t, "list-v2-delimited.xml"),
			entries: []string{"CommonPrefixes:public/"},
			fields:  map[string]string{"KeyCount": "1", "NextContinuationToken": sealed + "c2VjcmV0L1ttaW5pb19jYWNoZTp2MixyZXR1cm46XQ==", "IsTruncated": "true"},
			stats:   FilterStats{Kept: 1, Dropped: 1, Sealed: 1},
		},
		{
			name: "minio v2 truncated, token encodes a hidden key", kind: ListObjectsV2, body: minio(t, "list-v2-truncated.xml"),
			entries: []string{"Contents:public/a.txt", "Contents:public/sub/x", "Contents:public/€.txt"},
			fields:  map[string]string{"KeyCount": "3", "NextContinuationToken": sealed + "c2VjcmV0L3orMS50eHRbbWluaW9fY2FjaGU6djIscmV0dXJuOl0="},
			stats:   FilterStats{Kept: 3, Dropped: 2, Sealed: 1},
		},
		{
			name: "minio v2 url-encoded", kind: ListObjectsV2, url: true, body: minio(t, "list-v2-url.xml"),
			entries: []string{"Contents:public/a.txt", "Contents:public/sub/x", "Contents:public/%E2%82%AC.txt"},
			fields:  map[string]string{"KeyCount": "3", "EncodingType": "url"},
			stats:   FilterStats{Kept: 3, Dropped: 3},
		},
		{
			name: "minio v2 empty", kind: ListObjectsV2, body: minio(t, "list-v2-empty.xml"),
			entries: []string{},
			fields:  map[string]string{"KeyCount": "0", "Prefix": "nothing/"},
		},
		{
			name: "minio versions truncated", kind: ListObjectVersions, body: minio(t, "versions-truncated.xml"),
			entries: []string{"Version:public/a.txt", "DeleteMarker:public/b c&d.txt", "Version:public/b c&d.txt", "Version:public/sub/x", "Version:public/€.txt"},
			fields:  map[string]string{"NextKeyMarker": sealed + "secret/plans.txt[minio_cache:v2,return:]", "IsTruncated": "true"},
			stats:   FilterStats{Kept: 5, Dropped: 1, Sealed: 2},
		},
		{
			name: "minio versions delimited", kind: ListObjectVersions, body: minio(t, "versions-delimited.xml"),
			entries: []string{"CommonPrefixes:public/"},
			fields:  map[string]string{"Delimiter": "/", "IsTruncated": "false"},
			stats:   FilterStats{Kept: 1, Dropped: 2},
		},
		{
			name: "minio versions url-encoded", kind: ListObjectVersions, url: true, body: minio(t, "versions-url.xml"),
			entries: []string{"Version:public/a.txt", "DeleteMarker:public/b+c%26d.txt", "Version:public/b+c%26d.txt", "Version:public/sub/x", "Version:public/%E2%82%AC.txt"},
			stats:   FilterStats{Kept: 5, Dropped: 4},
		},
		{
			name: "minio uploads", kind: ListMultipartUploads, body: minio(t, "uploads.xml"),
			entries: []string{"Upload:public/big.iso"},
			fields:  map[string]string{"NextKeyMarker": "", "Bucket": "bkt"},
			stats:   FilterStats{Kept: 1, Dropped: 1},
		},
		{
			name: "minio uploads delimited", kind: ListMultipartUploads, body: minio(t, "uploads-delimited.xml"),
			entries: []string{"Upload:public/big.iso"},
			fields:  map[string]string{"Delimiter": "/"},
			stats:   FilterStats{Kept: 1, Dropped: 1},
		},
	}
	sealer := testSealer(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			st, err := FilterList(&out, strings.NewReader(tc.body), tc.kind, grant("public/"), FilterOptions{URLEncoded: tc.url, Seal: sealer.Seal})
			if err != nil {
				t.Fatalf("FilterList: %v", err)
			}
			if st != tc.stats {
				t.Errorf("stats = %+v, want %+v", st, tc.stats)
			}
			s := summarize(t, out.Bytes())
			if s.root.Space != Namespace {
				t.Errorf("root namespace = %q, want %q", s.root.Space, Namespace)
			}
			if !bytes.HasPrefix(out.Bytes(), []byte(`<?xml version="1.0" encoding="UTF-8"?><`)) {
				t.Errorf("output does not start with the XML declaration: %.60q", out.Bytes())
			}
			if !slices.Equal(s.entries, tc.entries) && len(s.entries)+len(tc.entries) > 0 {
				t.Errorf("entries = %q, want %q", s.entries, tc.entries)
			}
			for k, want := range tc.fields {
				got, ok := s.fields[k]
				if !ok {
					t.Errorf("<%s> missing", k)
					continue
				}
				if plain, isSealed := strings.CutPrefix(want, sealed); isSealed {
					opened, ok := sealer.Open(got)
					if !ok || opened != plain {
						t.Errorf("<%s> = %q opens to %q, %v; want sealed %q", k, got, opened, ok, plain)
					}
					continue
				}
				if got != want {
					t.Errorf("<%s> = %q, want %q", k, got, want)
				}
			}
			for _, k := range tc.absent {
				if _, ok := s.fields[k]; ok {
					t.Errorf("<%s> present, want absent", k)
				}
			}
			// Every root child of the input but the dropped entries is
			// still there.
			in := summarize(t, []byte(tc.body))
			for k := range in.fields {
				if _, ok := s.fields[k]; !ok && !slices.Contains(tc.absent, k) {
					t.Errorf("<%s> was dropped", k)
				}
			}
			assertHidden(t, out.Bytes(), hiddenNames)
		})
	}
}

// TestFilterListKeyCountLast checks where the held-back KeyCount goes:
// after the entries, just before the root closes.
func TestFilterListKeyCountLast(t *testing.T) {
	var out bytes.Buffer
	if _, err := FilterList(&out, strings.NewReader(awsV2Flat), ListObjectsV2, grant("public/"), FilterOptions{}); err != nil {
		t.Fatal(err)
	}
	s := summarize(t, out.Bytes())
	if s.order[len(s.order)-1] != "KeyCount" {
		t.Errorf("root children = %v, want KeyCount last", s.order)
	}
	if !strings.HasSuffix(out.String(), "<KeyCount>3</KeyCount></ListBucketResult>") {
		t.Errorf("output ends %q", out.String()[max(0, out.Len()-60):])
	}
}

// TestFilterListWhitespace checks that a dropped entry leaves no trace:
// the output equals the input with the entry and its leading whitespace
// cut out.
func TestFilterListWhitespace(t *testing.T) {
	var out bytes.Buffer
	if _, err := FilterList(&out, strings.NewReader(docV2Pretty), ListObjectsV2, grant("public/"), FilterOptions{}); err != nil {
		t.Fatal(err)
	}
	want := `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult ` + ns + `>
  <Name>b</Name>
  <Prefix></Prefix>
  <MaxKeys>1000</MaxKeys>
  <IsTruncated>false</IsTruncated>
  <Contents>
    <Key>public/a.txt</Key>
    <Size>1</Size>
  </Contents>
  <Contents>
    <Key>public/sub/x</Key>
    <Size>3</Size>
  </Contents><KeyCount>2</KeyCount>
</ListBucketResult>`
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}

// TestFilterListNilSeal checks the fallbacks without a Sealer: hidden key
// markers are dropped, tokens pass unchanged.
func TestFilterListNilSeal(t *testing.T) {
	tests := []struct {
		name   string
		kind   ListKind
		body   string
		fields map[string]string
		absent []string
	}{
		{name: "v1 NextMarker dropped", kind: ListObjects, body: awsV1Delimited, absent: []string{"NextMarker"}, fields: map[string]string{"IsTruncated": "true"}},
		{name: "v1 no marker synthesised", kind: ListObjects, body: awsV1TruncatedHiddenTail, absent: []string{"NextMarker"}},
		{name: "v2 token unchanged", kind: ListObjectsV2, body: awsV2, fields: map[string]string{"NextContinuationToken": "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM="}},
		{name: "versions NextKeyMarker dropped", kind: ListObjectVersions, body: awsVersions, absent: []string{"NextKeyMarker"}, fields: map[string]string{"NextVersionIdMarker": "3/L4kqtJl40Nr8X8gdRQBpUMLUo"}},
		{name: "uploads NextKeyMarker dropped", kind: ListMultipartUploads, body: awsUploads, absent: []string{"NextKeyMarker"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			if _, err := FilterList(&out, strings.NewReader(tc.body), tc.kind, grant("public/"), FilterOptions{}); err != nil {
				t.Fatal(err)
			}
			s := summarize(t, out.Bytes())
			for k, want := range tc.fields {
				if s.fields[k] != want {
					t.Errorf("<%s> = %q, want %q", k, s.fields[k], want)
				}
			}
			for _, k := range tc.absent {
				if _, ok := s.fields[k]; ok {
					t.Errorf("<%s> present", k)
				}
			}
		})
	}
}

// TestFilterListVisibleMarkers checks that markers naming visible things
// pass unchanged, and that an upstream NextMarker is never replaced.
func TestFilterListVisibleMarkers(t *testing.T) {
	body := decl + `<ListBucketResult ` + ns + `><Name>b</Name><Prefix></Prefix><Marker>public/a.txt</Marker><NextMarker>public/sub/</NextMarker><MaxKeys>1</MaxKeys><Delimiter>/</Delimiter><IsTruncated>true</IsTruncated>` +
		prefixes("public/sub/") + `</ListBucketResult>`
	var out bytes.Buffer
	st, err := FilterList(&out, strings.NewReader(body), ListObjects, grant("public/"), FilterOptions{Seal: testSealer(t).Seal})
	if err != nil {
		t.Fatal(err)
	}
	s := summarize(t, out.Bytes())
	if s.fields["Marker"] != "public/a.txt" || s.fields["NextMarker"] != "public/sub/" || st.Sealed != 0 {
		t.Errorf("fields = %v, stats %+v", s.fields, st)
	}
}

// TestFilterListNamespaces checks that prefixes and namespace attributes
// are copied verbatim.
func TestFilterListNamespaces(t *testing.T) {
	body := `<s3:ListBucketResult xmlns:s3="http://s3.amazonaws.com/doc/2006-03-01/" xmlns:x="urn:x"><s3:Name>b</s3:Name><s3:KeyCount>2</s3:KeyCount>` +
		`<s3:Contents x:a="1"><s3:Key>public/a</s3:Key></s3:Contents><s3:Contents><s3:Key>secret/plans.txt</s3:Key></s3:Contents></s3:ListBucketResult>`
	var out bytes.Buffer
	if _, err := FilterList(&out, strings.NewReader(body), ListObjectsV2, grant("public/"), FilterOptions{}); err != nil {
		t.Fatal(err)
	}
	want := `<s3:ListBucketResult xmlns:s3="http://s3.amazonaws.com/doc/2006-03-01/" xmlns:x="urn:x"><s3:Name>b</s3:Name>` +
		`<s3:Contents x:a="1"><s3:Key>public/a</s3:Key></s3:Contents><s3:KeyCount>1</s3:KeyCount></s3:ListBucketResult>`
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
	s := summarize(t, out.Bytes())
	if s.root.Space != Namespace {
		t.Errorf("root namespace %q", s.root.Space)
	}
}

// TestFilterListEscaping checks that text and attributes which need
// escaping come out parsing to the same values.
func TestFilterListEscaping(t *testing.T) {
	key := "public/<&>\"'\r\t\n €/%2F /lead"
	var esc bytes.Buffer
	_ = xml.EscapeText(&esc, []byte(key))
	body := `<ListBucketResult ` + ns + `><Name a="&quot;&#xD;&#xA;&#x9;&lt;">b</Name><Contents><Key>` + esc.String() + `</Key></Contents>` +
		`<Contents><Key><![CDATA[public/cdata<&>]]></Key></Contents></ListBucketResult>`
	var out bytes.Buffer
	if _, err := FilterList(&out, strings.NewReader(body), ListObjectsV2, grant("public/"), FilterOptions{}); err != nil {
		t.Fatal(err)
	}
	s := summarize(t, out.Bytes())
	want := []string{"Contents:" + key, "Contents:public/cdata<&>"}
	if !slices.Equal(s.entries, want) {
		t.Errorf("entries = %q, want %q", s.entries, want)
	}
	var v struct {
		Name struct {
			A string `xml:"a,attr"`
		}
	}
	if err := xml.Unmarshal(out.Bytes(), &v); err != nil || v.Name.A != "\"\r\n\t<" {
		t.Errorf("attribute = %q, %v", v.Name.A, err)
	}
}

func TestFilterListErrors(t *testing.T) {
	big := strings.Repeat("x", MaxEntrySize)
	tests := []struct {
		name string
		kind ListKind
		body string
		want error
	}{
		{name: "empty", kind: ListObjectsV2, body: "", want: ErrMalformed},
		{name: "not xml", kind: ListObjectsV2, body: "hello", want: ErrMalformed},
		{name: "wrong root", kind: ListObjectsV2, body: `<Error><Code>AccessDenied</Code></Error>`, want: ErrMalformed},
		{name: "versions root for v2", kind: ListObjectsV2, body: `<ListVersionsResult></ListVersionsResult>`, want: ErrMalformed},
		{name: "truncated", kind: ListObjectsV2, body: `<ListBucketResult><Contents><Key>public/a</Key>`, want: ErrMalformed},
		{name: "mismatched tags", kind: ListObjectsV2, body: `<ListBucketResult><Contents><Key>a</Contents></Key></ListBucketResult>`, want: ErrMalformed},
		{name: "two roots", kind: ListObjectsV2, body: `<ListBucketResult></ListBucketResult><ListBucketResult></ListBucketResult>`, want: ErrMalformed},
		{name: "text after root", kind: ListObjectsV2, body: `<ListBucketResult></ListBucketResult>secret`, want: ErrMalformed},
		{name: "element in key", kind: ListObjectsV2, body: `<ListBucketResult><Contents><Key>a<b/></Key></Contents></ListBucketResult>`, want: ErrMalformed},
		{name: "element in marker", kind: ListObjects, body: `<ListBucketResult><NextMarker><b/></NextMarker></ListBucketResult>`, want: ErrMalformed},
		{name: "unknown entity", kind: ListObjectsV2, body: `<ListBucketResult><Name>&x;</Name></ListBucketResult>`, want: ErrMalformed},
		{name: "duplicate attribute", kind: ListObjectsV2, body: `<ListBucketResult a="1" a="2"></ListBucketResult>`, want: ErrMalformed},
		{name: "invalid utf-8", kind: ListObjectsV2, body: "<ListBucketResult><Name>\xff</Name></ListBucketResult>", want: ErrMalformed},
		{name: "latin-1 declaration", kind: ListObjectsV2, body: `<?xml version="1.0" encoding="ISO-8859-1"?><ListBucketResult/>`, want: ErrMalformed},
		{name: "too deep", kind: ListObjectsV2, body: `<ListBucketResult>` + strings.Repeat("<a>", 100) + strings.Repeat("</a>", 100) + `</ListBucketResult>`, want: ErrMalformed},
		{name: "entry too large", kind: ListObjectsV2, body: `<ListBucketResult><Contents><Key>public/a</Key><ETag>` + big + `</ETag></Contents></ListBucketResult>`, want: ErrTooLarge},
		{name: "header element too large", kind: ListObjectsV2, body: `<ListBucketResult><Name>` + big + `</Name></ListBucketResult>`, want: ErrTooLarge},
		{name: "marker too large", kind: ListObjects, body: `<ListBucketResult><NextMarker>` + big + `</NextMarker></ListBucketResult>`, want: ErrTooLarge},
		{name: "unknown kind", kind: 0, body: awsV2Flat},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := FilterList(io.Discard, strings.NewReader(tc.body), tc.kind, grant("public/"), FilterOptions{})
			if err == nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestFilterListReadError checks that a read error is returned as is.
func TestFilterListReadError(t *testing.T) {
	boom := errors.New("boom")
	r := io.MultiReader(strings.NewReader(awsV2Flat[:200]), iotest.ErrReader(boom))
	if _, err := FilterList(io.Discard, r, ListObjectsV2, grant("public/"), FilterOptions{}); !errors.Is(err, boom) {
		t.Errorf("err = %v, want boom", err)
	}
}

// TestFilterListStreams checks that the output is written while the input
// is still being read, and that memory stays bounded: a body of many
// entries larger than any buffer passes without error.
func TestFilterListStreams(t *testing.T) {
	pr, pw := io.Pipe()
	go func() {
		_, _ = io.WriteString(pw, `<ListBucketResult `+ns+`><KeyCount>100000</KeyCount>`)
		for i := range 100000 {
			_, _ = io.WriteString(pw, awsObject(fmt.Sprintf("public/%06d", i)))
		}
		_, _ = io.WriteString(pw, `</ListBucketResult>`)
		_ = pw.Close()
	}()
	cw := &countWriter{}
	st, err := FilterList(cw, pr, ListObjectsV2, grant("public/"), FilterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Kept != 100000 || cw.writes < 100 {
		t.Errorf("kept %d in %d writes", st.Kept, cw.writes)
	}
}

type countWriter struct{ writes, n int }

func (c *countWriter) Write(p []byte) (int, error) {
	c.writes++
	c.n += len(p)
	return len(p), nil
}

func TestFilterBuckets(t *testing.T) {
	awsBuckets := decl + `<ListAllMyBucketsResult ` + ns + `><Buckets>` +
		`<Bucket><CreationDate>2019-12-11T23:32:47+00:00</CreationDate><Name>amzn-s3-demo-bucket</Name><BucketRegion>us-east-1</BucketRegion></Bucket>` +
		`<Bucket><CreationDate>2019-11-10T23:32:13+00:00</CreationDate><Name>secret-payroll</Name><BucketRegion>us-east-1</BucketRegion></Bucket>` +
		`</Buckets>` + owner + `<ContinuationToken>c2VjcmV0LXBheXJvbGw=</ContinuationToken><Prefix></Prefix></ListAllMyBucketsResult>`
	pretty := decl + `<ListAllMyBucketsResult ` + ns + `>
  <Buckets>
    <Bucket>
      <Name>secret-payroll</Name>
    </Bucket>
    <Bucket>
      <Name>amzn-s3-demo-bucket</Name>
    </Bucket>
  </Buckets>
</ListAllMyBucketsResult>`
	allow := func(b string) bool { return b == "amzn-s3-demo-bucket" || b == "bkt" }
	sealer := testSealer(t)
	tests := []struct {
		name    string
		body    string
		seal    func(string) string
		entries []string
		dropped int
		token   string // want ContinuationToken text; sealed+"x" for Seal("x")
	}{
		{name: "aws paginated", body: awsBuckets, seal: sealer.Seal, entries: []string{"Bucket:amzn-s3-demo-bucket"}, dropped: 1, token: sealed + "c2VjcmV0LXBheXJvbGw="},
		{name: "aws paginated, no sealer", body: awsBuckets, entries: []string{"Bucket:amzn-s3-demo-bucket"}, dropped: 1, token: "c2VjcmV0LXBheXJvbGw="},
		{name: "minio", body: minio(t, "buckets.xml"), seal: sealer.Seal, entries: []string{"Bucket:bkt"}, dropped: 2},
		{name: "pretty", body: pretty, entries: []string{"Bucket:amzn-s3-demo-bucket"}, dropped: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			st, err := FilterBuckets(&out, strings.NewReader(tc.body), allow, tc.seal)
			if err != nil {
				t.Fatal(err)
			}
			s := summarize(t, out.Bytes())
			if !slices.Equal(s.entries, tc.entries) || st.Kept != len(tc.entries) || st.Dropped != tc.dropped {
				t.Errorf("entries = %q, stats %+v", s.entries, st)
			}
			got := s.fields["ContinuationToken"]
			if plain, ok := strings.CutPrefix(tc.token, sealed); ok {
				if opened, ok := sealer.Open(got); !ok || opened != plain {
					t.Errorf("token %q opens to %q", got, opened)
				}
			} else if got != tc.token {
				t.Errorf("token = %q, want %q", got, tc.token)
			}
			if tc.seal != nil {
				assertHidden(t, out.Bytes(), []string{"secret-payroll", "zeta"})
			} else if bytes.Contains(out.Bytes(), []byte("<Name>secret-payroll")) {
				t.Errorf("hidden bucket in output:\n%s", out.Bytes())
			}
			if tc.name == "pretty" && strings.Contains(out.String(), "    \n") {
				t.Errorf("whitespace left behind:\n%s", out.String())
			}
		})
	}
}

func TestFilterBucketsErrors(t *testing.T) {
	for name, body := range map[string]string{
		"object listing": awsV2Flat,
		"truncated":      `<ListAllMyBucketsResult><Buckets><Bucket><Name>a</Name>`,
		"name element":   `<ListAllMyBucketsResult><Buckets><Bucket><Name><x/></Name></Bucket></Buckets></ListAllMyBucketsResult>`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := FilterBuckets(io.Discard, strings.NewReader(body), func(string) bool { return true }, nil); !errors.Is(err, ErrMalformed) {
				t.Errorf("err = %v", err)
			}
		})
	}
}

// An entry without a name, or with a name that does not URL-decode, is
// dropped: it cannot be checked.
func TestFilterListUncheckable(t *testing.T) {
	tests := []struct {
		name string
		url  bool
		body string
	}{
		{name: "no key", body: `<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>`},
		{name: "bad escape", url: true, body: `<ListBucketResult><Contents><Key>public/%zz</Key></Contents></ListBucketResult>`},
		{name: "second key hidden", body: `<ListBucketResult><Contents><Key>public/a</Key><Key>secret/plans.txt</Key></Contents></ListBucketResult>`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			st, err := FilterList(&out, strings.NewReader(tc.body), ListObjectsV2, grant("public/"), FilterOptions{URLEncoded: tc.url})
			if err != nil || st.Kept != 0 || st.Dropped != 1 {
				t.Errorf("stats %+v, err %v; output %s", st, err, out.Bytes())
			}
		})
	}
}

// BenchmarkFilterListV2 filters one full ListObjectsV2 page (1000 entries,
// half of them hidden). Compare runs with benchstat:
//
//	go test -run '^$' -bench FilterListV2 -count 10 ./internal/s3/s3xml/ > old.txt
//	(change, then the same into new.txt)
//	benchstat old.txt new.txt
func BenchmarkFilterListV2(b *testing.B) {
	var body strings.Builder
	body.WriteString(decl + `<ListBucketResult ` + ns + `><Name>b</Name><Prefix></Prefix><NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken><KeyCount>1000</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated>`)
	for i := range 1000 {
		dir := "public"
		if i%2 == 1 {
			dir = "secret"
		}
		body.WriteString(awsObject(fmt.Sprintf("%s/photos/2024/%06d.jpg", dir, i)))
	}
	body.WriteString(`</ListBucketResult>`)
	in := body.String()
	o := FilterOptions{Seal: testSealer(b).Seal}
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		st, err := FilterList(io.Discard, strings.NewReader(in), ListObjectsV2, grant("public/"), o)
		if err != nil || st.Kept != 500 {
			b.Fatal(st, err)
		}
	}
}
