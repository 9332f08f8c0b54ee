package s3xml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// fuzzSeal stands in for a Sealer: a constant, so filtering is
// deterministic and a sealed value is recognisable.
func fuzzSeal(string) string { return "lg1.sealed" }

// texts maps each element path (local names joined by "/") to the texts of
// the elements found there, each text being all character data directly
// inside one element.
type texts map[string][]string

// leafTexts reads doc with RawToken, as FilterList does, and returns the
// texts of its elements. ok is false if doc cannot be read that way.
func leafTexts(doc []byte) (texts, bool) {
	out := texts{}
	d := xml.NewDecoder(bytes.NewReader(doc))
	var path []string
	var text [][]byte
	for {
		tok, err := d.RawToken()
		if errors.Is(err, io.EOF) {
			return out, true
		}
		if err != nil {
			return nil, false
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			path = append(path, tok.Name.Local)
			text = append(text, nil)
		case xml.CharData:
			if len(text) > 0 {
				text[len(text)-1] = append(text[len(text)-1], tok...)
			}
		case xml.EndElement:
			if len(path) == 0 {
				return nil, false
			}
			p := strings.Join(path, "/")
			out[p] = append(out[p], string(text[len(text)-1]))
			path, text = path[:len(path)-1], text[:len(text)-1]
		}
	}
}

// decidedPaths are, for each kind (as the fuzz target numbers them), the
// root children FilterList decides on rather than copies: entries and
// markers.
var decidedPaths = [5][]string{
	{"Contents", "CommonPrefixes", "Marker", "NextMarker"},
	{"Contents", "CommonPrefixes", "ContinuationToken", "NextContinuationToken", "KeyCount"},
	{"Version", "DeleteMarker", "CommonPrefixes", "KeyMarker", "NextKeyMarker"},
	{"Upload", "CommonPrefixes", "KeyMarker", "NextKeyMarker"},
	{"Buckets/Bucket", "ContinuationToken"},
}

// decided reports whether path (root first) lies in an entry or a marker.
func decided(kind int, path string) bool {
	_, below, ok := strings.Cut(path, "/")
	if !ok {
		return false
	}
	for _, e := range decidedPaths[kind] {
		if below == e || strings.HasPrefix(below, e+"/") {
			return true
		}
	}
	return false
}

func FuzzFilterList(f *testing.F) {
	for _, body := range []string{
		awsV1Flat, awsV1Delimited, awsV1TruncatedHiddenTail, awsV1MarkerEcho, awsV1URL, awsV1Empty,
		awsV2, awsV2Flat, awsV2URL, awsV2ContinuationEcho, urlV2Prefixes, docV2Pretty,
		awsVersions, awsVersionsURL, awsUploads, awsUploadsURL,
		minio(f, "list-v1-truncated.xml"), minio(f, "list-v1-delimited.xml"), minio(f, "list-v1-url.xml"),
		minio(f, "list-v2-delimited.xml"), minio(f, "list-v2-truncated.xml"), minio(f, "list-v2-url.xml"),
		minio(f, "versions-truncated.xml"), minio(f, "versions-url.xml"), minio(f, "versions-delimited.xml"),
		minio(f, "uploads.xml"), minio(f, "buckets.xml"),
		`<ListBucketResult><Contents><Key>a<!--x-->b</Key></Contents></ListBucketResult>`,
		`<s3:ListBucketResult xmlns:s3="http://s3.amazonaws.com/doc/2006-03-01/"><s3:Contents><s3:Key>k</s3:Key></s3:Contents></s3:ListBucketResult>`,
		`<ListAllMyBucketsResult><Buckets><Bucket><Name>b</Name></Bucket></Buckets><ContinuationToken>t</ContinuationToken></ListAllMyBucketsResult>`,
	} {
		for kind := range 5 {
			f.Add([]byte(body), uint8(kind), strings.Contains(body, "EncodingType>url"))
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, kind uint8, urlEncoded bool) {
		k := int(kind % 5)
		run := func(in []byte, v Visibility) ([]byte, FilterStats, error) {
			var out bytes.Buffer
			var st FilterStats
			var err error
			if k < 4 {
				st, err = FilterList(&out, bytes.NewReader(in), ListObjects+ListKind(k), v, FilterOptions{URLEncoded: urlEncoded, Seal: fuzzSeal})
			} else {
				st, err = FilterBuckets(&out, bytes.NewReader(in), func(b string) bool { return v.Key(b) }, fuzzSeal)
			}
			return out.Bytes(), st, err
		}

		// Hiding everything: the output is well-formed, has no entries,
		// and every text in it is whitespace, copied from outside the
		// entries and markers of the input, a sealed value, or a count.
		out, st, err := run(body, nothing{})
		if err != nil {
			return
		}
		s, err := parseSummary(out)
		if err != nil {
			t.Fatalf("output not well-formed: %v\ninput:\n%s\noutput:\n%s", err, body, out)
		}
		if st.Kept != 0 || len(s.entries) != 0 {
			t.Fatalf("kept %d, entries %q\ninput:\n%s\noutput:\n%s", st.Kept, s.entries, body, out)
		}
		in, ok := leafTexts(body)
		if !ok {
			t.Fatalf("FilterList accepted what RawToken rejects:\n%s", body)
		}
		copied := map[string]bool{}
		for p, ts := range in {
			if !decided(k, p) {
				for _, s := range ts {
					copied[s] = true
				}
			}
		}
		got, ok := leafTexts(out)
		if !ok {
			t.Fatalf("output unreadable:\n%s", out)
		}
		for p, ts := range got {
			for _, s := range ts {
				if isSpace([]byte(s)) || copied[s] || s == "lg1.sealed" {
					continue
				}
				if _, err := strconv.Atoi(s); err == nil && strings.HasSuffix(p, "/KeyCount") {
					continue
				}
				t.Fatalf("text %q at %s is not from the input's copied parts\ninput:\n%s\noutput:\n%s", s, p, body, out)
			}
		}

		// Filtering is idempotent: the output filtered again with a
		// partial grant comes out the same.
		half := grant("a")
		once, _, err := run(body, half)
		if err != nil {
			t.Fatalf("second visibility failed where the first did not: %v", err)
		}
		twice, _, err := run(once, half)
		if err != nil {
			t.Fatalf("filtering the output failed: %v\n%s", err, once)
		}
		if !bytes.Equal(once, twice) {
			t.Fatalf("not idempotent:\ninput:\n%s\nonce:\n%s\ntwice:\n%s", body, once, twice)
		}
	})
}

func FuzzParseDelete(f *testing.F) {
	for _, body := range []string{
		deleteBody(obj("public/a.txt"), `<Object><Key>public/b</Key><VersionId>v</VersionId></Object>`, `<Quiet>true</Quiet>`),
		deleteBody(`<Object><Key>k</Key><ETag>"e"</ETag><LastModifiedTime>2024-05-01T10:00:00.000Z</LastModifiedTime><Size>1</Size></Object>`),
		deleteBody(obj("a&amp;b"), obj("&lt;t&gt;"), obj("cr&#13;"), obj("&#x20AC;"), obj(" €/%2F ")),
		`<s3:Delete xmlns:s3="http://s3.amazonaws.com/doc/2006-03-01/"><s3:Object><s3:Key>a</s3:Key><s3:Future a="1"><s3:X>y</s3:X></s3:Future></s3:Object></s3:Delete>`,
		"<Delete>\n <Quiet>1</Quiet>\n <Object> <Key>a</Key> </Object>\n</Delete>",
		`<Delete><Object><Key>a</Key></Object></Delete><!-- c -->`,
		`<Delete><Object><Key><![CDATA[a]]></Key></Object></Delete>`,
	} {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := ParseDelete(bytes.NewReader(body), 1<<20)
		if err != nil {
			return
		}
		if len(req.Objects) == 0 || len(req.Objects) > MaxDeleteObjects {
			t.Fatalf("accepted %d objects", len(req.Objects))
		}
		m := req.Marshal()
		again, err := ParseDelete(bytes.NewReader(m), int64(len(m)))
		if err != nil {
			t.Fatalf("Marshal output does not parse: %v\ninput:\n%s\nmarshalled:\n%s", err, body, m)
		}
		if again.Quiet != req.Quiet || !slices.EqualFunc(again.Objects, req.Objects, sameObject) {
			t.Fatalf("round trip changed the request\ninput:\n%s\nmarshalled:\n%s", body, m)
		}
		if m2 := again.Marshal(); !bytes.Equal(m, m2) {
			t.Fatalf("Marshal not stable:\n%s\n%s", m, m2)
		}
	})
}
