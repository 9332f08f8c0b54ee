package s3xml

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
)

// MaxPageSize bounds, in bytes, one upstream listing page ParsePage reads.
// A page holds at most 1000 entries of keys of at most 1024 bytes (3 KiB
// URL-encoded) with their metadata, well under it.
const MaxPageSize = 16 << 20

// EntryKind says what a listing entry is.
type EntryKind uint8

// The entries of listing results.
const (
	EntryObject       EntryKind = iota + 1 // <Contents>
	EntryVersion                           // <Version>
	EntryDeleteMarker                      // <DeleteMarker>
	EntryUpload                            // <Upload>
	EntryPrefix                            // <CommonPrefixes>
)

// Entry is one entry of a listing. Name is the object key, or the prefix
// of a common prefix, as S3 stores it (never URL-encoded). The other fields
// are copied as text from the upstream's entry; the owner and initiator of
// an entry, which name backend identities, are never kept.
type Entry struct {
	Kind               EntryKind
	Name               string
	VersionID          string // versions and delete markers
	IsLatest           bool   // versions and delete markers
	UploadID           string // uploads
	LastModified       string
	Initiated          string // uploads
	ETag               string
	Size               string
	StorageClass       string
	ChecksumAlgorithms []string
	ChecksumType       string
}

// Page is one listing result as an upstream sent it, names decoded.
type Page struct {
	// Entries are the entries of the kinds the listing has, in document
	// order. Entries without a name, or whose name does not decode, are
	// left out (see ParsePage).
	Entries     []Entry
	IsTruncated bool
	// NextContinuationToken is the upstream's opaque V2 token.
	NextContinuationToken string
	// NextKeyMarker, NextVersionIDMarker and NextUploadIDMarker page
	// versions and uploads; NextKeyMarker is decoded like the names.
	NextKeyMarker       string
	NextVersionIDMarker string
	NextUploadIDMarker  string
	// Undecodable counts the entries left out because their name did not
	// decode.
	Undecodable int
}

// ErrUndecodable means a marker of an upstream page did not decode, so the
// listing cannot be paged further.
var ErrUndecodable = errors.New("s3xml: a listing marker does not decode")

type xmlPage struct {
	XMLName               xml.Name
	EncodingType          string
	IsTruncated           string
	NextContinuationToken string
	NextKeyMarker         string
	NextVersionIDMarker   string    `xml:"NextVersionIdMarker"`
	NextUploadIDMarker    string    `xml:"NextUploadIdMarker"`
	Items                 []xmlItem `xml:",any"`
}

type xmlItem struct {
	XMLName           xml.Name
	Key               string
	Prefix            string
	VersionID         string `xml:"VersionId"`
	IsLatest          string
	UploadID          string `xml:"UploadId"`
	LastModified      string
	Initiated         string
	ETag              string
	Size              string
	StorageClass      string
	ChecksumAlgorithm []string
	ChecksumType      string
}

// pageEntries are the entry elements of each listing, by local name.
var pageEntries = map[ListKind]map[string]EntryKind{
	ListObjects:          {"Contents": EntryObject, "CommonPrefixes": EntryPrefix},
	ListObjectsV2:        {"Contents": EntryObject, "CommonPrefixes": EntryPrefix},
	ListObjectVersions:   {"Version": EntryVersion, "DeleteMarker": EntryDeleteMarker, "CommonPrefixes": EntryPrefix},
	ListMultipartUploads: {"Upload": EntryUpload, "CommonPrefixes": EntryPrefix},
}

// ParsePage reads one listing result of kind from r, at most MaxPageSize
// bytes (more is ErrTooLarge).
//
// Names (keys, prefixes, NextKeyMarker) are decoded by the document's own
// <EncodingType>, wherever it stands (MinIO puts it last): URL-decoded
// when it says "url", taken as they are otherwise, whatever the request
// asked for, since a backend may ignore encoding-type. An entry whose name
// does not decode is left out and counted, so that it is never shown under
// a reading the backend did not use; a NextKeyMarker that does not decode
// is ErrUndecodable.
func ParsePage(r io.Reader, kind ListKind) (*Page, error) {
	spec := listSpecs[kind]
	if spec == nil {
		return nil, fmt.Errorf("s3xml: unknown list kind %v", kind)
	}
	body, err := io.ReadAll(io.LimitReader(r, MaxPageSize+1))
	if err != nil {
		return nil, err
	}
	if len(body) > MaxPageSize {
		return nil, ErrTooLarge
	}
	var doc xmlPage
	if err := xml.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if doc.XMLName.Local != spec.root {
		return nil, fmt.Errorf("%w: root element <%s>, want <%s>", ErrMalformed, doc.XMLName.Local, spec.root)
	}
	decode := func(s string) (string, bool) { return s, true }
	if strings.EqualFold(strings.TrimSpace(doc.EncodingType), "url") {
		decode = func(s string) (string, bool) {
			d, err := url.QueryUnescape(s)
			return d, err == nil
		}
	}
	p := &Page{
		IsTruncated:           strings.TrimSpace(doc.IsTruncated) == "true",
		NextContinuationToken: doc.NextContinuationToken,
		NextVersionIDMarker:   doc.NextVersionIDMarker,
		NextUploadIDMarker:    doc.NextUploadIDMarker,
	}
	var ok bool
	if p.NextKeyMarker, ok = decode(doc.NextKeyMarker); !ok {
		return nil, ErrUndecodable
	}
	kinds := pageEntries[kind]
	for i := range doc.Items {
		it := &doc.Items[i]
		k := kinds[it.XMLName.Local]
		if k == 0 {
			continue
		}
		raw := it.Key
		if k == EntryPrefix {
			raw = it.Prefix
		}
		name, ok := decode(raw)
		if !ok {
			p.Undecodable++
			continue
		}
		if name == "" {
			continue
		}
		p.Entries = append(p.Entries, Entry{
			Kind: k, Name: name,
			VersionID: it.VersionID, IsLatest: strings.TrimSpace(it.IsLatest) == "true", UploadID: it.UploadID,
			LastModified: it.LastModified, Initiated: it.Initiated, ETag: it.ETag, Size: it.Size,
			StorageClass: it.StorageClass, ChecksumAlgorithms: it.ChecksumAlgorithm, ChecksumType: it.ChecksumType,
		})
	}
	return p, nil
}

// Result is a listing page the proxy composes for a client from entries it
// chose itself. Names are as S3 stores them; WriteResult encodes them when
// URLEncoded is set. Marker fields hold what the client sent (echoed) and
// what it should send next.
type Result struct {
	Kind      ListKind
	Bucket    string
	Prefix    string
	Delimiter string
	// URLEncoded: the client asked for encoding-type=url.
	URLEncoded bool
	// MaxKeys is the page size the client asked for (max-keys,
	// max-uploads), after defaults and caps.
	MaxKeys int
	// Marker is the V1 Marker, V2 StartAfter, or KeyMarker the client sent;
	// SubMarker the VersionIdMarker or UploadIdMarker.
	Marker, SubMarker string
	// ContinuationToken is the V2 token the client sent, echoed.
	ContinuationToken string
	IsTruncated       bool
	// NextMarker is the V1 NextMarker or the NextKeyMarker; NextSubMarker
	// the NextVersionIdMarker or NextUploadIdMarker;
	// NextContinuationToken the V2 token. Each is written only when set.
	NextMarker, NextSubMarker string
	NextContinuationToken     string
	// Entries are the entries in listing order: common prefixes are
	// written after the other entries, as S3 does.
	Entries []Entry
}

// WriteResult writes r as the S3 XML document of its kind.
func WriteResult(w io.Writer, r *Result) error {
	spec := listSpecs[r.Kind]
	if spec == nil {
		return fmt.Errorf("s3xml: unknown list kind %v", r.Kind)
	}
	name := r.name
	o := &elements{b: []byte(xmlDecl + "\n<" + spec.root + ` xmlns="` + Namespace + `">`)}
	el, opt := o.el, o.opt
	common := func() {
		opt("Delimiter", name(r.Delimiter))
		if r.URLEncoded {
			el("EncodingType", "url")
		}
		el("IsTruncated", strconv.FormatBool(r.IsTruncated))
	}
	switch r.Kind {
	case ListObjects:
		el("Name", r.Bucket)
		el("Prefix", name(r.Prefix))
		el("Marker", name(r.Marker))
		opt("NextMarker", name(r.NextMarker))
		el("MaxKeys", strconv.Itoa(r.MaxKeys))
		common()
	case ListObjectsV2:
		el("Name", r.Bucket)
		el("Prefix", name(r.Prefix))
		opt("ContinuationToken", r.ContinuationToken)
		opt("NextContinuationToken", r.NextContinuationToken)
		opt("StartAfter", name(r.Marker))
		el("KeyCount", strconv.Itoa(len(r.Entries)))
		el("MaxKeys", strconv.Itoa(r.MaxKeys))
		common()
	case ListObjectVersions:
		el("Name", r.Bucket)
		el("Prefix", name(r.Prefix))
		el("KeyMarker", name(r.Marker))
		el("VersionIdMarker", r.SubMarker)
		opt("NextKeyMarker", name(r.NextMarker))
		opt("NextVersionIdMarker", r.NextSubMarker)
		el("MaxKeys", strconv.Itoa(r.MaxKeys))
		common()
	case ListMultipartUploads:
		el("Bucket", r.Bucket)
		el("KeyMarker", name(r.Marker))
		el("UploadIdMarker", r.SubMarker)
		opt("NextKeyMarker", name(r.NextMarker))
		opt("NextUploadIdMarker", r.NextSubMarker)
		el("Prefix", name(r.Prefix))
		el("MaxUploads", strconv.Itoa(r.MaxKeys))
		common()
	}
	for _, e := range r.Entries {
		if e.Kind != EntryPrefix {
			r.writeEntry(o, &e)
		}
	}
	for _, e := range r.Entries {
		if e.Kind == EntryPrefix {
			o.b = append(o.b, "<CommonPrefixes>"...)
			el("Prefix", name(e.Name))
			o.b = append(o.b, "</CommonPrefixes>"...)
		}
	}
	o.b = append(o.b, "</"+spec.root+">"...)
	_, err := w.Write(o.b)
	return err
}

// elements gathers a document written element by element.
type elements struct{ b []byte }

// el writes <local>text</local>, text escaped.
func (o *elements) el(local, text string) { o.b = appendElement(o.b, xml.Name{Local: local}, text) }

// opt writes the element unless text is empty.
func (o *elements) opt(local, text string) {
	if text != "" {
		o.el(local, text)
	}
}

// entryElements names the element of each entry kind.
var entryElements = map[EntryKind]string{
	EntryObject: "Contents", EntryVersion: "Version", EntryDeleteMarker: "DeleteMarker", EntryUpload: "Upload",
}

func (r *Result) writeEntry(o *elements, e *Entry) {
	tag := entryElements[e.Kind]
	el, opt := o.el, o.opt
	o.b = append(o.b, "<"+tag+">"...)
	el("Key", r.name(e.Name))
	switch e.Kind {
	case EntryVersion, EntryDeleteMarker:
		el("VersionId", e.VersionID)
		el("IsLatest", strconv.FormatBool(e.IsLatest))
	case EntryUpload:
		el("UploadId", e.UploadID)
		opt("Initiated", e.Initiated)
	}
	opt("LastModified", e.LastModified)
	if e.Kind != EntryDeleteMarker && e.Kind != EntryUpload {
		opt("ETag", e.ETag)
		for _, a := range e.ChecksumAlgorithms {
			opt("ChecksumAlgorithm", a)
		}
		opt("ChecksumType", e.ChecksumType)
		opt("Size", e.Size)
	}
	if e.Kind != EntryDeleteMarker {
		opt("StorageClass", e.StorageClass)
	}
	if e.Kind == EntryUpload {
		for _, a := range e.ChecksumAlgorithms {
			opt("ChecksumAlgorithm", a)
		}
		opt("ChecksumType", e.ChecksumType)
	}
	o.b = append(o.b, "</"+tag+">"...)
}

// name is s as the client asked to read names: URL-encoded or not.
func (r *Result) name(s string) string {
	if !r.URLEncoded {
		return s
	}
	return EncodeName(s)
}

// EncodeName URL-encodes an S3 name as S3 does for encoding-type=url:
// every byte but unreserved characters (A-Z a-z 0-9 - _ . ~) and '/' as
// %XX, a space as '+'. url.QueryUnescape reverses it.
func EncodeName(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9',
			c == '-', c == '_', c == '.', c == '~', c == '/':
			b.WriteByte(c)
		case c == ' ':
			b.WriteByte('+')
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}
