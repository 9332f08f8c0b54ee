package s3xml

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func pageNames(p *Page) []string {
	var out []string
	for _, e := range p.Entries {
		out = append(out, e.Name)
	}
	return out
}

func TestParsePage(t *testing.T) {
	tests := []struct {
		name        string
		kind        ListKind
		body        string
		want        []string
		kinds       []EntryKind
		undecodable int
		truncated   bool
		nextKey     string
		err         error
	}{
		{
			name: "MinIO puts EncodingType last: names are decoded all the same",
			kind: ListObjectsV2,
			body: `<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><IsTruncated>true</IsTruncated>` +
				`<Contents><Key>public/a+b%2Fc</Key><Owner><ID>backend</ID></Owner></Contents><CommonPrefixes><Prefix>public/%E2%82%AC/</Prefix></CommonPrefixes>` +
				`<NextContinuationToken>tok</NextContinuationToken><EncodingType>url</EncodingType></ListBucketResult>`,
			want:      []string{"public/a b/c", "public/€/"},
			kinds:     []EntryKind{EntryObject, EntryPrefix},
			truncated: true,
		},
		{
			name:  "a backend ignoring encoding-type sends raw names and an empty EncodingType: taken as they are",
			kind:  ListObjects,
			body:  `<ListBucketResult><Contents><Key>pub%2Fhidden.txt</Key></Contents><Contents><Key>public/a+b</Key></Contents><EncodingType></EncodingType></ListBucketResult>`,
			want:  []string{"pub%2Fhidden.txt", "public/a+b"},
			kinds: []EntryKind{EntryObject, EntryObject},
		},
		{
			name:        "a name that does not decode is left out",
			kind:        ListObjectsV2,
			body:        `<ListBucketResult><EncodingType>url</EncodingType><Contents><Key>bad%zz</Key></Contents><Contents><Key>ok</Key></Contents></ListBucketResult>`,
			want:        []string{"ok"},
			kinds:       []EntryKind{EntryObject},
			undecodable: 1,
		},
		{
			name: "versions and delete markers keep their order; markers are decoded",
			kind: ListObjectVersions,
			body: `<ListVersionsResult><Version><Key>a</Key><VersionId>3</VersionId><IsLatest>true</IsLatest></Version>` +
				`<DeleteMarker><Key>a</Key><VersionId>2</VersionId></DeleteMarker><Version><Key>a</Key><VersionId>1</VersionId></Version>` +
				`<IsTruncated>true</IsTruncated><NextKeyMarker>a%20b</NextKeyMarker><NextVersionIdMarker>1</NextVersionIdMarker><EncodingType>url</EncodingType></ListVersionsResult>`,
			want:      []string{"a", "a", "a"},
			kinds:     []EntryKind{EntryVersion, EntryDeleteMarker, EntryVersion},
			truncated: true,
			nextKey:   "a b",
		},
		{
			name:  "uploads lose their initiator and owner",
			kind:  ListMultipartUploads,
			body:  `<ListMultipartUploadsResult><Upload><Key>k</Key><UploadId>u</UploadId><Initiator><ID>backend</ID></Initiator></Upload></ListMultipartUploadsResult>`,
			want:  []string{"k"},
			kinds: []EntryKind{EntryUpload},
		},
		{
			name:  "entries of another listing and entries without a name are ignored",
			kind:  ListObjectsV2,
			body:  `<ListBucketResult><Version><Key>v</Key></Version><Contents></Contents><Contents><Key>k</Key></Contents></ListBucketResult>`,
			want:  []string{"k"},
			kinds: []EntryKind{EntryObject},
		},
		{name: "wrong root", kind: ListObjectsV2, body: `<ListVersionsResult></ListVersionsResult>`, err: ErrMalformed},
		{name: "not XML", kind: ListObjects, body: `<ListBucketResult><Contents>`, err: ErrMalformed},
		{name: "undecodable NextKeyMarker", kind: ListObjectVersions, body: `<ListVersionsResult><EncodingType>url</EncodingType><NextKeyMarker>%</NextKeyMarker></ListVersionsResult>`, err: ErrUndecodable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParsePage(strings.NewReader(tc.body), tc.kind)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := pageNames(p); !slices.Equal(got, tc.want) {
				t.Errorf("names %q, want %q", got, tc.want)
			}
			var kinds []EntryKind
			for _, e := range p.Entries {
				kinds = append(kinds, e.Kind)
			}
			if !slices.Equal(kinds, tc.kinds) {
				t.Errorf("kinds %v, want %v", kinds, tc.kinds)
			}
			if p.Undecodable != tc.undecodable || p.IsTruncated != tc.truncated || p.NextKeyMarker != tc.nextKey {
				t.Errorf("undecodable %d truncated %v next key %q, want %d %v %q", p.Undecodable, p.IsTruncated, p.NextKeyMarker, tc.undecodable, tc.truncated, tc.nextKey)
			}
		})
	}
}

func TestParsePageTooLarge(t *testing.T) {
	body := "<ListBucketResult>" + strings.Repeat(" ", MaxPageSize) + "</ListBucketResult>"
	if _, err := ParsePage(strings.NewReader(body), ListObjects); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err %v, want ErrTooLarge", err)
	}
}

// TestParsePageMinIO reads MinIO's recorded answers: every entry has a
// name and none carries an owner into the result.
func TestParsePageMinIO(t *testing.T) {
	for _, tc := range []struct {
		file string
		kind ListKind
	}{
		{"list-v1-url.xml", ListObjects}, {"list-v2-url.xml", ListObjectsV2}, {"versions-url.xml", ListObjectVersions},
		{"uploads.xml", ListMultipartUploads}, {"list-v2-delimited.xml", ListObjectsV2},
	} {
		p, err := ParsePage(strings.NewReader(minio(t, tc.file)), tc.kind)
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if len(p.Entries) == 0 || p.Undecodable != 0 {
			t.Errorf("%s: %d entries, %d undecodable", tc.file, len(p.Entries), p.Undecodable)
		}
		var out bytes.Buffer
		if err := WriteResult(&out, &Result{Kind: tc.kind, Entries: p.Entries}); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out.String(), "Owner") || strings.Contains(out.String(), "Initiator") || strings.Contains(out.String(), "02d6176db174dc93") {
			t.Errorf("%s: the result names the backend's owner:\n%s", tc.file, out.String())
		}
	}
}

func TestWriteResult(t *testing.T) {
	entries := []Entry{
		{Kind: EntryObject, Name: "public/a b+&<é>.txt", ETag: `"e"`, Size: "3", LastModified: "2026-01-01T00:00:00.000Z", StorageClass: "STANDARD"},
		{Kind: EntryPrefix, Name: "public/sub/"},
	}
	for _, enc := range []bool{false, true} {
		var out bytes.Buffer
		res := &Result{Kind: ListObjectsV2, Bucket: "b", Prefix: "public/", Delimiter: "/", URLEncoded: enc, MaxKeys: 2,
			IsTruncated: true, NextContinuationToken: "lg1.x", Entries: entries}
		if err := WriteResult(&out, res); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"<KeyCount>2</KeyCount>", "<MaxKeys>2</MaxKeys>", "<IsTruncated>true</IsTruncated>", "<NextContinuationToken>lg1.x</NextContinuationToken>", `<ETag>"e"</ETag>`} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("encoded %v: no %s in\n%s", enc, want, out.String())
			}
		}
		if enc != strings.Contains(out.String(), "<EncodingType>url</EncodingType>") {
			t.Errorf("encoded %v: EncodingType wrong in\n%s", enc, out.String())
		}
		p, err := ParsePage(&out, ListObjectsV2)
		if err != nil {
			t.Fatal(err)
		}
		if got := pageNames(p); !slices.Equal(got, []string{entries[0].Name, entries[1].Name}) {
			t.Errorf("encoded %v: read back %q", enc, got)
		}
	}
}

func TestEncodeName(t *testing.T) {
	for _, s := range []string{"", "a/b", "a b+c%2F", "é€/\x00\x7f", "~-_.", "&<>\"'"} {
		got, err := url.QueryUnescape(EncodeName(s))
		if err != nil || got != s {
			t.Errorf("EncodeName(%q) = %q, reads back %q, %v", s, EncodeName(s), got, err)
		}
	}
	if got := EncodeName("public/odd key+&=é.txt"); got != "public/odd+key%2B%26%3D%C3%A9.txt" {
		t.Errorf("EncodeName: %q", got)
	}
}

func TestFilterListStripsOwners(t *testing.T) {
	body := `<ListMultipartUploadsResult><Upload><Key>k</Key><Initiator><ID>backendkey</ID><DisplayName>backend</DisplayName></Initiator>` +
		`<Owner><ID>backendkey</ID></Owner><UploadId>u</UploadId></Upload></ListMultipartUploadsResult>`
	var out bytes.Buffer
	if _, err := FilterList(&out, strings.NewReader(body), ListMultipartUploads, allVisible{}, FilterOptions{}); err != nil {
		t.Fatal(err)
	}
	want := `<ListMultipartUploadsResult><Upload><Key>k</Key><UploadId>u</UploadId></Upload></ListMultipartUploadsResult>`
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}

type allVisible struct{}

func (allVisible) Key(string) bool    { return true }
func (allVisible) Prefix(string) bool { return true }

// FuzzParsePage: ParsePage never panics, every entry it returns has a
// valid UTF-8 name, and what WriteResult writes of the entries reads back
// with the same names, encoded or not.
func FuzzParsePage(f *testing.F) {
	for _, body := range []string{
		awsV1Flat, awsV1Delimited, awsV1URL, awsV2, awsV2URL, awsVersions, awsVersionsURL, awsUploads, awsUploadsURL,
		minio(f, "list-v1-url.xml"), minio(f, "list-v2-url.xml"), minio(f, "versions-url.xml"), minio(f, "uploads.xml"),
		`<ListBucketResult><Contents><Key>pub%2Fhidden.txt</Key></Contents><EncodingType></EncodingType></ListBucketResult>`,
	} {
		for kind := range 4 {
			f.Add([]byte(body), uint8(kind))
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, k uint8) {
		kind := ListKind(k%4) + ListObjects
		p, err := ParsePage(bytes.NewReader(body), kind)
		if err != nil {
			return
		}
		for _, e := range p.Entries {
			if e.Name == "" || !utf8.ValidString(e.Name) {
				t.Fatalf("entry name %q", e.Name)
			}
		}
		for _, enc := range []bool{false, true} {
			var out bytes.Buffer
			if err := WriteResult(&out, &Result{Kind: kind, URLEncoded: enc, Entries: p.Entries}); err != nil {
				t.Fatal(err)
			}
			back, err := ParsePage(&out, kind)
			if err != nil {
				t.Fatalf("result does not read back: %v\n%s", err, out.String())
			}
			var want []string
			for _, e := range p.Entries {
				if e.Kind != EntryPrefix {
					want = append(want, e.Name)
				}
			}
			for _, e := range p.Entries {
				if e.Kind == EntryPrefix {
					want = append(want, e.Name)
				}
			}
			if got := pageNames(back); !slices.Equal(got, want) {
				t.Fatalf("encoded %v: names %q read back as %q", enc, want, got)
			}
		}
	})
}

// BenchmarkListPage reads a full upstream page and writes it back as a
// client's page, the work of one filtered listing page. Compare runs with
// benchstat (go test -bench ListPage -count 10 > new.txt).
func BenchmarkListPage(b *testing.B) {
	var entries []Entry
	for i := range 1000 {
		entries = append(entries, Entry{Kind: EntryObject, Name: fmt.Sprintf("public/data/part-%05d.parquet", i),
			ETag: `"0123456789abcdef0123456789abcdef"`, Size: "1048576", LastModified: "2026-01-01T00:00:00.000Z", StorageClass: "STANDARD"})
	}
	var page bytes.Buffer
	if err := WriteResult(&page, &Result{Kind: ListObjectsV2, URLEncoded: true, Entries: entries}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(page.Len()))
	for b.Loop() {
		p, err := ParsePage(bytes.NewReader(page.Bytes()), ListObjectsV2)
		if err != nil {
			b.Fatal(err)
		}
		if err := WriteResult(io.Discard, &Result{Kind: ListObjectsV2, Entries: p.Entries}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestFilterOwnersOfBucketsAndParts(t *testing.T) {
	tests := []struct {
		name, body, want string
		filter           func(w io.Writer, r io.Reader) error
	}{
		{
			name: "ListBuckets",
			body: `<ListAllMyBucketsResult>` + "\n  " + `<Owner><ID>backendkey</ID><DisplayName>backend</DisplayName></Owner>` + "\n  " +
				`<Buckets><Bucket><Name>b</Name></Bucket></Buckets></ListAllMyBucketsResult>`,
			want: `<ListAllMyBucketsResult>` + "\n  " + `<Buckets><Bucket><Name>b</Name></Bucket></Buckets></ListAllMyBucketsResult>`,
			filter: func(w io.Writer, r io.Reader) error {
				_, err := FilterBuckets(w, r, func(string) bool { return true }, nil)
				return err
			},
		},
		{
			name: "ListParts",
			body: `<ListPartsResult><Bucket>b</Bucket><Key>k</Key><Initiator><ID>backendkey</ID></Initiator><Owner><ID>backendkey</ID></Owner>` +
				`<Part><PartNumber>1</PartNumber><ETag>"e"</ETag></Part></ListPartsResult>`,
			want:   `<ListPartsResult><Bucket>b</Bucket><Key>k</Key><Part><PartNumber>1</PartNumber><ETag>"e"</ETag></Part></ListPartsResult>`,
			filter: FilterParts,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := tc.filter(&out, strings.NewReader(tc.body)); err != nil {
				t.Fatal(err)
			}
			if out.String() != tc.want {
				t.Errorf("got\n%s\nwant\n%s", out.String(), tc.want)
			}
		})
	}
}
