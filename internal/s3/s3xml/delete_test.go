package s3xml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/lakegate/lakegate/internal/s3/s3err"
)

func deleteBody(objects ...string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` + strings.Join(objects, "") + `</Delete>`
}

func obj(key string) string { return "<Object><Key>" + key + "</Key></Object>" }

func TestParseDelete(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		quiet bool
		want  []ObjectID // Key and VersionID; inner checked separately
		inner []string   // want inner XML per object, when set
	}{
		{
			name: "aws sdk", body: deleteBody(obj("public/a.txt"), `<Object><Key>public/b</Key><VersionId>3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY</VersionId></Object>`, `<Quiet>true</Quiet>`),
			quiet: true, want: []ObjectID{{Key: "public/a.txt"}, {Key: "public/b", VersionID: "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"}},
		},
		{
			name: "no namespace, pretty, quiet false", body: "<Delete>\n  <Quiet>false</Quiet>\n  <Object>\n    <Key>a</Key>\n  </Object>\n</Delete>\n",
			want: []ObjectID{{Key: "a"}},
		},
		{
			name: "prefixed namespace", body: `<s3:Delete xmlns:s3="http://s3.amazonaws.com/doc/2006-03-01/"><s3:Object><s3:Key>a</s3:Key><s3:ETag>"e"</s3:ETag></s3:Object><s3:Quiet>TRUE</s3:Quiet></s3:Delete>`,
			quiet: true, want: []ObjectID{{Key: "a"}}, inner: []string{`<ETag>"e"</ETag>`},
		},
		{
			name: "conditional fields kept in order",
			body: deleteBody(`<Object><ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag><Key>k</Key><LastModifiedTime>2024-05-01T10:00:00.000Z</LastModifiedTime><Size>434234</Size></Object>`),
			want: []ObjectID{{Key: "k"}}, inner: []string{`<ETag>"fba9dede5f27731c9771645a39863328"</ETag><LastModifiedTime>2024-05-01T10:00:00.000Z</LastModifiedTime><Size>434234</Size>`},
		},
		{
			name: "unknown object child kept", body: deleteBody(`<Object><Key>k</Key><Future a="1"><Deep>x&amp;y</Deep></Future></Object>`),
			want: []ObjectID{{Key: "k"}}, inner: []string{`<Future><Deep>x&amp;y</Deep></Future>`},
		},
		{
			name: "keys needing escapes",
			body: deleteBody(obj("a&amp;b"), obj("&lt;tag&gt;"), obj("€uro/日本"), obj("/leading/slash"), obj(" spaces  "), obj("literal%2Fpercent"),
				obj("cr&#13;lf&#10;tab&#9;"), obj("&#x20AC;&#60;"), obj("quote\"'")),
			want: []ObjectID{{Key: "a&b"}, {Key: "<tag>"}, {Key: "€uro/日本"}, {Key: "/leading/slash"}, {Key: " spaces  "}, {Key: "literal%2Fpercent"},
				{Key: "cr\rlf\ntab\t"}, {Key: "€<"}, {Key: "quote\"'"}},
		},
		{
			name: "empty version id is none", body: deleteBody(`<Object><Key>k</Key><VersionId></VersionId></Object>`),
			want: []ObjectID{{Key: "k"}},
		},
		{
			name: "no declaration", body: `<Delete><Object><Key>k</Key></Object></Delete>`,
			want: []ObjectID{{Key: "k"}},
		},
		{
			name: "1000 objects", body: deleteBody(slices.Repeat([]string{obj("k")}, 1000)...),
			want: slices.Repeat([]ObjectID{{Key: "k"}}, 1000),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := ParseDelete(strings.NewReader(tc.body), 1<<20)
			if err != nil {
				t.Fatalf("ParseDelete: %v", err)
			}
			if req.Quiet != tc.quiet {
				t.Errorf("Quiet = %v", req.Quiet)
			}
			if got := ids(req.Objects); !slices.EqualFunc(got, tc.want, sameObject) {
				t.Errorf("objects = %q, want %q", got, tc.want)
			}
			for i, want := range tc.inner {
				if got := string(req.Objects[i].inner); got != want {
					t.Errorf("object %d inner = %q, want %q", i, got, want)
				}
			}
			// Marshal re-parses to the same request, byte for byte on a
			// second round.
			m := req.Marshal()
			again, err := ParseDelete(bytes.NewReader(m), int64(len(m)))
			if err != nil {
				t.Fatalf("re-parsing Marshal output: %v\n%s", err, m)
			}
			if again.Quiet != req.Quiet || !slices.EqualFunc(again.Objects, req.Objects, sameObject) {
				t.Errorf("round trip changed the request:\n%s", m)
			}
			if m2 := again.Marshal(); !bytes.Equal(m, m2) {
				t.Errorf("Marshal not stable:\n%s\n%s", m, m2)
			}
		})
	}
}

func ids(objs []ObjectID) []ObjectID {
	out := make([]ObjectID, len(objs))
	for i, o := range objs {
		out[i] = ObjectID{Key: o.Key, VersionID: o.VersionID}
	}
	return out
}

func sameObject(a, b ObjectID) bool {
	return a.Key == b.Key && a.VersionID == b.VersionID && bytes.Equal(a.inner, b.inner)
}

func TestDeleteMarshal(t *testing.T) {
	req, err := ParseDelete(strings.NewReader(deleteBody(
		`<Object><Key>public/a&amp;b</Key><ETag>"e"</ETag></Object>`,
		`<Object><Key>secret/x</Key></Object>`,
		`<Object><Key>public/c</Key><VersionId>v1</VersionId><Size>3</Size></Object>`,
		`<Quiet>true</Quiet>`)), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	// Forward the allowed subset.
	req.Objects = slices.DeleteFunc(req.Objects, func(o ObjectID) bool { return strings.HasPrefix(o.Key, "secret/") })
	want := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Quiet>true</Quiet>` +
		`<Object><Key>public/a&amp;b</Key><ETag>"e"</ETag></Object>` +
		`<Object><Key>public/c</Key><VersionId>v1</VersionId><Size>3</Size></Object></Delete>`
	if got := string(req.Marshal()); got != want {
		t.Errorf("Marshal:\n%s\nwant:\n%s", got, want)
	}
	// An ObjectID built by a caller has no inner XML.
	built := &DeleteRequest{Objects: []ObjectID{{Key: "k\r", VersionID: "v&"}}}
	if got, want := string(built.Marshal()), `<Object><Key>k&#xD;</Key><VersionId>v&amp;</VersionId></Object></Delete>`; !strings.HasSuffix(got, want) {
		t.Errorf("Marshal = %s", got)
	}
}

func TestParseDeleteErrors(t *testing.T) {
	tests := []struct {
		name string
		body string
		max  int64
		want *s3err.Error
	}{
		{name: "over size", body: deleteBody(obj("k")), max: 50, want: s3err.MaxMessageLengthExceeded},
		{name: "zero max", body: deleteBody(obj("k")), max: 0, want: s3err.MaxMessageLengthExceeded},
		{name: "1001 objects", body: deleteBody(slices.Repeat([]string{obj("k")}, 1001)...), want: s3err.MalformedXML},
		{name: "no objects", body: deleteBody(), want: s3err.MalformedXML},
		{name: "only quiet", body: deleteBody("<Quiet>true</Quiet>"), want: s3err.MalformedXML},
		{name: "empty body", body: "", want: s3err.MalformedXML},
		{name: "not xml", body: "Key=a", want: s3err.MalformedXML},
		{name: "wrong root", body: `<DeleteResult><Object><Key>k</Key></Object></DeleteResult>`, want: s3err.MalformedXML},
		{name: "unclosed", body: `<Delete><Object><Key>k</Key></Object>`, want: s3err.MalformedXML},
		{name: "mismatched", body: `<Delete><Object><Key>k</Object></Key></Delete>`, want: s3err.MalformedXML},
		{name: "second root", body: deleteBody(obj("k")) + `<Delete><Object><Key>j</Key></Object></Delete>`, want: s3err.MalformedXML},
		{name: "text after root", body: deleteBody(obj("k")) + `x`, want: s3err.MalformedXML},
		{name: "unknown child", body: deleteBody(obj("k"), `<Bypass>true</Bypass>`), want: s3err.MalformedXML},
		{name: "text in delete", body: deleteBody(obj("k"), `text`), want: s3err.MalformedXML},
		{name: "no key", body: deleteBody(`<Object><VersionId>v</VersionId></Object>`), want: s3err.MalformedXML},
		{name: "empty key", body: deleteBody(`<Object><Key></Key></Object>`), want: s3err.MalformedXML},
		{name: "two keys", body: deleteBody(`<Object><Key>public/a</Key><Key>secret/b</Key></Object>`), want: s3err.MalformedXML},
		{name: "two version ids", body: deleteBody(`<Object><Key>a</Key><VersionId>1</VersionId><VersionId>2</VersionId></Object>`), want: s3err.MalformedXML},
		{name: "element in key", body: deleteBody(`<Object><Key>a<b/></Key></Object>`), want: s3err.MalformedXML},
		{name: "text in object", body: deleteBody(`<Object>x<Key>a</Key></Object>`), want: s3err.MalformedXML},
		{name: "bad quiet", body: deleteBody(obj("k"), `<Quiet>yes</Quiet>`), want: s3err.MalformedXML},
		{name: "two quiet", body: deleteBody(obj("k"), `<Quiet>false</Quiet><Quiet>true</Quiet>`), want: s3err.MalformedXML},
		{name: "unknown entity", body: deleteBody(obj("&secret;")), want: s3err.MalformedXML},
		{name: "invalid utf-8 key", body: deleteBody(obj("\xff")), want: s3err.MalformedXML},
		{name: "latin-1", body: `<?xml version="1.0" encoding="ISO-8859-1"?><Delete><Object><Key>k</Key></Object></Delete>`, want: s3err.MalformedXML},
		{name: "comment in key", body: deleteBody(`<Object><Key>pub<!-- -->lic/a</Key></Object>`), want: s3err.MalformedXML},
		{name: "comment between objects", body: deleteBody(obj("k"), `<!-- c -->`, obj("j")), want: s3err.MalformedXML},
		{name: "comment after root", body: deleteBody(obj("k")) + `<!-- c -->`, want: s3err.MalformedXML},
		{name: "cdata key", body: deleteBody(obj("<![CDATA[public/a]]>")), want: s3err.MalformedXML},
		{name: "processing instruction", body: deleteBody(`<?php x?>`, obj("k")), want: s3err.MalformedXML},
		{name: "second declaration", body: `<?xml version="1.0"?><?xml version="1.0"?><Delete><Object><Key>k</Key></Object></Delete>`, want: s3err.MalformedXML},
		{name: "doctype", body: `<!DOCTYPE Delete [<!ENTITY k "secret/a">]><Delete><Object><Key>k</Key></Object></Delete>`, want: s3err.MalformedXML},
		{name: "deep object child", body: deleteBody(`<Object><Key>k</Key>` + strings.Repeat("<a>", 20) + strings.Repeat("</a>", 20) + `</Object>`), want: s3err.MalformedXML},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			max := tc.max
			if max == 0 && tc.name != "zero max" {
				max = 1 << 20
			}
			_, err := ParseDelete(strings.NewReader(tc.body), max)
			var e *s3err.Error
			if !errors.As(err, &e) || e != tc.want {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestParseDeleteReadError(t *testing.T) {
	boom := errors.New("boom")
	_, err := ParseDelete(io.MultiReader(strings.NewReader("<Delete>"), iotest.ErrReader(boom)), 1<<20)
	var e *s3err.Error
	if !errors.Is(err, boom) || errors.As(err, &e) {
		t.Errorf("err = %v, want boom and no S3 error", err)
	}
}

// deleteResult is the shape of a DeleteResult as SDKs read it.
type deleteResult struct {
	XMLName xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ DeleteResult"`
	Deleted []struct {
		Key string
	} `xml:"Deleted"`
	Errors []struct {
		Key       string
		VersionID string `xml:"VersionId"`
		Code      string
		Message   string
	} `xml:"Error"`
}

func (r deleteResult) summary() (deleted, failed []string) {
	for _, d := range r.Deleted {
		deleted = append(deleted, d.Key)
	}
	for _, e := range r.Errors {
		failed = append(failed, fmt.Sprintf("%s|%s|%s|%s", e.Key, e.VersionID, e.Code, e.Message))
	}
	return deleted, failed
}

func TestWriteDeleteResult(t *testing.T) {
	denied := []ObjectID{{Key: "secret/a&b <c>"}, {Key: "secret/v", VersionID: "3HL4kq"}}
	deniedWant := []string{"secret/a&b <c>||AccessDenied|Access Denied", "secret/v|3HL4kq|AccessDenied|Access Denied"}
	tests := []struct {
		name     string
		upstream io.Reader
		denied   []ObjectID
		deleted  []string
		failed   []string
	}{
		{
			name: "aws result merged",
			upstream: strings.NewReader(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
				`<Deleted><Key>public/a.txt</Key></Deleted>` +
				`<Deleted><Key>public/b</Key><VersionId>v</VersionId><DeleteMarker>true</DeleteMarker><DeleteMarkerVersionId>x</DeleteMarkerVersionId></Deleted>` +
				`<Error><Key>public/c</Key><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error></DeleteResult>`),
			denied:  denied,
			deleted: []string{"public/a.txt", "public/b"},
			failed:  append([]string{"public/c||InternalError|We encountered an internal error. Please try again."}, deniedWant...),
		},
		{
			name:     "quiet upstream, self-closing",
			upstream: strings.NewReader(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"/>`),
			denied:   denied,
			failed:   deniedWant,
		},
		{
			name:     "pretty, nothing denied",
			upstream: strings.NewReader("<DeleteResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\n  <Deleted>\n    <Key>public/a.txt</Key>\n  </Deleted>\n</DeleteResult>\n"),
			deleted:  []string{"public/a.txt"},
		},
		{
			name:     "minio result merged",
			upstream: strings.NewReader(minio(t, "delete-result.xml")),
			denied:   denied,
			deleted:  []string{"public/a.txt"},
			failed:   append([]string{"public/sub/x|nonexistent|NoSuchVersion|The specified version does not exist. (invalid UUID length: 11)"}, deniedWant...),
		},
		{
			name:   "nothing forwarded",
			denied: denied,
			failed: deniedWant,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := WriteDeleteResult(&out, tc.upstream, tc.denied); err != nil {
				t.Fatal(err)
			}
			summarize(t, out.Bytes())
			var r deleteResult
			if err := xml.Unmarshal(out.Bytes(), &r); err != nil {
				t.Fatalf("unmarshal: %v\n%s", err, out.Bytes())
			}
			deleted, failed := r.summary()
			if !slices.Equal(deleted, tc.deleted) || !slices.Equal(failed, tc.failed) {
				t.Errorf("deleted %q, failed %q; want %q, %q\n%s", deleted, failed, tc.deleted, tc.failed, out.Bytes())
			}
		})
	}
}

func TestWriteDeleteResultPrefixed(t *testing.T) {
	up := `<s3:DeleteResult xmlns:s3="http://s3.amazonaws.com/doc/2006-03-01/"><s3:Deleted><s3:Key>a</s3:Key></s3:Deleted></s3:DeleteResult>`
	var out bytes.Buffer
	if err := WriteDeleteResult(&out, strings.NewReader(up), []ObjectID{{Key: "b"}}); err != nil {
		t.Fatal(err)
	}
	var r deleteResult
	if err := xml.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	if _, failed := r.summary(); !slices.Equal(failed, []string{"b||AccessDenied|Access Denied"}) {
		t.Errorf("failed = %q\n%s", failed, out.Bytes())
	}
}

func TestWriteDeleteResultErrors(t *testing.T) {
	for name, body := range map[string]string{
		"error document": `<Error><Code>AccessDenied</Code></Error>`,
		"truncated":      `<DeleteResult><Deleted>`,
		"empty":          ``,
	} {
		t.Run(name, func(t *testing.T) {
			if err := WriteDeleteResult(io.Discard, strings.NewReader(body), nil); !errors.Is(err, ErrMalformed) {
				t.Errorf("err = %v", err)
			}
		})
	}
}
