package s3xml

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Visibility decides what a listing may reveal. Both methods receive names
// as S3 stores them (already URL-decoded when the listing was URL-encoded).
// They must be safe to call many times per listing and must not block on
// I/O: they run once per entry while the body streams.
type Visibility interface {
	// Key reports whether the object key may be shown.
	Key(key string) bool
	// Prefix reports whether the common prefix (a key prefix ending in
	// the delimiter) may be shown. Showing a prefix reveals only that
	// something visible may lie beneath it, so it should be true only
	// when the client may list under it.
	Prefix(prefix string) bool
}

// ListKind names the listing operation whose result is being filtered.
type ListKind int

// The listing operations FilterList understands.
const (
	ListObjects          ListKind = iota + 1 // GET /bucket (V1): <ListBucketResult>
	ListObjectsV2                            // GET /bucket?list-type=2: <ListBucketResult>
	ListObjectVersions                       // GET /bucket?versions: <ListVersionsResult>
	ListMultipartUploads                     // GET /bucket?uploads: <ListMultipartUploadsResult>
)

func (k ListKind) String() string {
	switch k {
	case ListObjects:
		return "ListObjects"
	case ListObjectsV2:
		return "ListObjectsV2"
	case ListObjectVersions:
		return "ListObjectVersions"
	case ListMultipartUploads:
		return "ListMultipartUploads"
	}
	return "ListKind(" + strconv.Itoa(int(k)) + ")"
}

// FilterOptions tunes FilterList.
type FilterOptions struct {
	// URLEncoded says keys, prefixes and key markers in the body are
	// URL-encoded (S3 encodes a space as "+", so they are decoded as
	// url.QueryUnescape does). Names are decoded before Visibility sees
	// them; a name that does not decode is treated as hidden. Kept
	// elements keep their original, encoded text.
	//
	// A stream cannot know it from the body, whose <EncodingType> may
	// come after the entries (MinIO puts it last), and a backend may
	// ignore encoding-type=url (versitygw does): decoding the raw name
	// pub%2Fhidden.txt would show it as pub/hidden.txt. So where hidden
	// keys are at stake, read whole pages with ParsePage, which decodes
	// by the page's own <EncodingType>; the proxy streams through
	// FilterList only listings whose every key is visible.
	URLEncoded bool
	// Seal turns a marker or continuation token into an opaque string the
	// client may send back (see Sealer.Seal). It is given the decoded
	// value. With Seal nil:
	//   - a hidden key marker (NextMarker, NextKeyMarker, and the
	//     Marker/KeyMarker echoes) is dropped. IsTruncated stays true, so
	//     clients fall back to the last key of the page (V1) or stop
	//     paging early (versions and uploads), which may skip or repeat
	//     entries the client may see;
	//   - continuation tokens pass through unchanged, although upstream
	//     tokens can encode a key name.
	Seal func(string) string
}

// FilterStats counts what a filter did.
type FilterStats struct {
	Kept    int // entries copied to the output
	Dropped int // entries removed from the output
	Sealed  int // markers and tokens replaced by Seal's result
}

// FilterList copies the XML result of a listing operation from r to w,
// removing every entry Visibility rejects and hiding markers that would name
// what it rejects. It streams: memory is bounded by one entry (MaxEntrySize)
// whatever the size of the body.
//
// Entries, decided by the name in the child element shown:
//   - ListObjects, ListObjectsV2: <Contents> (Key), <CommonPrefixes> (Prefix)
//   - ListObjectVersions: <Version>, <DeleteMarker> (Key), <CommonPrefixes>
//   - ListMultipartUploads: <Upload> (Key), <CommonPrefixes>
//
// A dropped entry vanishes with the whitespace before it. An entry is kept
// only if it has a name and every name in it is visible. A kept entry loses
// its <Owner> and <Initiator> children, which name backend identities (the
// upstream's own key id and account), never the client's.
//
// Markers: NextMarker (V1) and NextKeyMarker (versions, uploads) are kept
// when the name is visible (v.Key or v.Prefix) and otherwise replaced by
// o.Seal of the name. Marker and KeyMarker, which upstream echoes from the
// request, are treated the same way: the proxy forwards the opened
// plaintext of a sealed marker, and the echo must not give it away. Empty
// markers are kept. NextContinuationToken and ContinuationToken (V2) are
// always sealed when o.Seal is set. See FilterOptions.Seal for a nil Seal.
//
// For ListObjects, when upstream truncated the page without a NextMarker
// (it sends none without a delimiter) and the page's last entry was
// dropped, FilterList adds a <NextMarker> naming that entry (sealed), so
// that a client paging by its last key neither stalls on a page whose
// entries were all hidden nor lists the hidden tail again.
//
// For ListObjectsV2, <KeyCount> must equal the entries left; S3 sends it
// before the entries, so FilterList holds it back and writes it, corrected,
// just before the root element closes. XML unmarshalling does not depend on
// element order.
//
// Every other element passes through unchanged. Comments, processing
// instructions other than the XML declaration, and DOCTYPE are dropped.
//
// v must not be nil. On error (ErrMalformed, ErrTooLarge, or a read or
// write error) w has received part of the result; a caller that has sent
// headers must abort the response instead of ending it.
func FilterList(w io.Writer, r io.Reader, kind ListKind, v Visibility, o FilterOptions) (FilterStats, error) {
	spec := listSpecs[kind]
	if spec == nil {
		return FilterStats{}, fmt.Errorf("s3xml: unknown list kind %v", kind)
	}
	f := newFilter(w, r, spec)
	f.urlEncoded = o.URLEncoded
	f.seal = o.Seal
	f.keep = func(e *entrySpec, name string) bool {
		if e.prefix {
			return v.Prefix(name)
		}
		return v.Key(name)
	}
	f.markerVisible = func(name string) bool { return v.Key(name) || v.Prefix(name) }
	err := f.run()
	return f.stats, err
}

// FilterBuckets copies a ListBuckets result (<ListAllMyBucketsResult>) from
// r to w, dropping each <Bucket> in <Buckets> whose <Name> allow rejects,
// and the <Owner>, which names the upstream's account.
// A <ContinuationToken> (paginated ListBuckets) is replaced by seal of its
// value when seal is not nil, and passes unchanged otherwise. It streams and
// fails like FilterList.
func FilterBuckets(w io.Writer, r io.Reader, allow func(bucket string) bool, seal func(string) string) (FilterStats, error) {
	f := newFilter(w, r, &bucketsSpec)
	f.seal = seal
	f.keep = func(_ *entrySpec, name string) bool { return allow(name) }
	f.markerVisible = func(string) bool { return false }
	err := f.run()
	return f.stats, err
}

// FilterParts copies a ListParts result (<ListPartsResult>) from r to w
// without its <Initiator> and <Owner>, which name the upstream's
// identities. It streams and fails like FilterList.
func FilterParts(w io.Writer, r io.Reader) error {
	f := newFilter(w, r, &partsSpec)
	f.keep = func(*entrySpec, string) bool { return true }
	f.markerVisible = func(string) bool { return true }
	return f.run()
}

// entrySpec describes one kind of entry: the element holding one listed
// name.
type entrySpec struct {
	field   string // local name of the child element holding the name
	prefix  bool   // decide with Visibility.Prefix rather than Key
	counted bool   // counts towards V2 KeyCount
}

// fieldMode says how a direct child of the root element is treated.
type fieldMode int

const (
	passField       fieldMode = iota
	markerField               // a key name: kept when visible, else sealed or dropped
	nextMarkerField           // V1 NextMarker: as markerField, and noted as present
	tokenField                // an opaque upstream token: sealed when Seal is set
	countField                // V2 KeyCount: held back and rewritten at the end
	truncatedField            // IsTruncated: passed through, its value noted
)

// docSpec describes one kind of document a filter accepts.
type docSpec struct {
	root      string                // local name of the root element
	container string                // root child holding the entries; "" when the root holds them
	entries   map[string]*entrySpec // by local name
	fields    map[string]fieldMode  // root children by local name
	// synthMarker adds a sealed NextMarker to a truncated V1 page whose
	// last entry was dropped.
	synthMarker bool
	// dropped are root children never copied (they name the upstream's
	// identities).
	dropped map[string]bool
}

var (
	contents       = &entrySpec{field: "Key", counted: true}
	commonPrefixes = &entrySpec{field: "Prefix", prefix: true, counted: true}
	keyEntry       = &entrySpec{field: "Key"}
)

var listSpecs = map[ListKind]*docSpec{
	ListObjects: {
		root:        "ListBucketResult",
		entries:     map[string]*entrySpec{"Contents": contents, "CommonPrefixes": commonPrefixes},
		fields:      map[string]fieldMode{"Marker": markerField, "NextMarker": nextMarkerField, "IsTruncated": truncatedField},
		synthMarker: true,
	},
	ListObjectsV2: {
		root:    "ListBucketResult",
		entries: map[string]*entrySpec{"Contents": contents, "CommonPrefixes": commonPrefixes},
		fields:  map[string]fieldMode{"ContinuationToken": tokenField, "NextContinuationToken": tokenField, "KeyCount": countField},
	},
	ListObjectVersions: {
		root:    "ListVersionsResult",
		entries: map[string]*entrySpec{"Version": keyEntry, "DeleteMarker": keyEntry, "CommonPrefixes": commonPrefixes},
		// A version id marker belongs to the key marker beside it, which
		// may be hidden: it is always sealed, so that paging never hands
		// out the version ids of hidden objects.
		fields: map[string]fieldMode{"KeyMarker": markerField, "NextKeyMarker": markerField,
			"VersionIdMarker": tokenField, "NextVersionIdMarker": tokenField},
	},
	ListMultipartUploads: {
		root:    "ListMultipartUploadsResult",
		entries: map[string]*entrySpec{"Upload": keyEntry, "CommonPrefixes": commonPrefixes},
		fields: map[string]fieldMode{"KeyMarker": markerField, "NextKeyMarker": markerField,
			"UploadIdMarker": tokenField, "NextUploadIdMarker": tokenField},
	},
}

// strippedChildren are the children of an entry FilterList never copies:
// they name the upstream's identities.
var strippedChildren = map[string]bool{"Owner": true, "Initiator": true}

var bucketsSpec = docSpec{
	root:      "ListAllMyBucketsResult",
	container: "Buckets",
	entries:   map[string]*entrySpec{"Bucket": {field: "Name"}},
	fields:    map[string]fieldMode{"ContinuationToken": tokenField},
	dropped:   strippedChildren,
}

var partsSpec = docSpec{root: "ListPartsResult", dropped: strippedChildren}

var deleteResultSpec = docSpec{root: "DeleteResult"}

// xmlDecl is the XML declaration S3 sends, without a line end.
const xmlDecl = `<?xml version="1.0" encoding="UTF-8"?>`

// filter is one streaming rewrite of one document.
type filter struct {
	spec          *docSpec
	in            *budgetReader
	dec           *xml.Decoder
	w             io.Writer
	urlEncoded    bool
	seal          func(string) string
	keep          func(e *entrySpec, name string) bool
	markerVisible func(name string) bool
	// atEnd, when set, appends content just before the root closes.
	atEnd func(dst []byte, root xml.Name) []byte

	out      []byte
	stack    []xml.Name // open elements, root first
	rootDone bool
	// ws is whitespace between elements in the root or the entry
	// container, held until the element after it is known to be written.
	ws []byte

	// The entry being read, if any.
	entry      *entrySpec
	skipDepth  int    // len(stack) with a dropped element open; 0 for none
	entryDepth int    // len(stack) with the entry element open
	buf        []byte // the entry as it will be written if kept
	inName     bool   // inside the entry's naming field
	nameText   []byte
	names      int  // naming fields seen in the entry
	visible    bool // every naming field so far is visible
	entryName  string
	entryRaw   string
	entryOK    bool // entryName decoded

	// The root child being captured (a marker, token or count).
	capturing bool
	capMode   fieldMode
	capStart  xml.StartElement
	capText   []byte

	keyCount      *xml.StartElement // held V2 KeyCount
	counted       int
	truncated     bool
	sawNext       bool
	last, lastRaw string // greatest entry name seen, decoded and as sent
	lastDecoded   bool   // last is a decoded name, not undecodable raw text
	haveLast      bool
	lastKept      bool

	stats FilterStats
}

func newFilter(w io.Writer, r io.Reader, spec *docSpec) *filter {
	in := newBudgetReader(r, MaxEntrySize)
	return &filter{spec: spec, in: in, dec: xml.NewDecoder(in), w: w}
}

// run copies the document and returns the first error.
func (f *filter) run() error {
	for {
		if f.entry == nil {
			f.in.reset()
		}
		t, err := f.dec.RawToken()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if f.in.err != nil {
				return f.in.err // a read error, or ErrTooLarge
			}
			return fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		if err := f.token(t); err != nil {
			return err
		}
		if len(f.out) >= flushSize {
			if err := f.flush(); err != nil {
				return err
			}
		}
	}
	if !f.rootDone {
		return fmt.Errorf("%w: document ends before its root element closes", ErrMalformed)
	}
	return f.flush()
}

func (f *filter) flush() error {
	if len(f.out) == 0 {
		return nil
	}
	_, err := f.w.Write(f.out)
	f.out = f.out[:0]
	return err
}

func (f *filter) token(t xml.Token) error {
	switch t := t.(type) {
	case xml.StartElement:
		return f.start(t)
	case xml.EndElement:
		return f.end(t)
	case xml.CharData:
		return f.text(t)
	case xml.ProcInst:
		// A leading XML declaration is written in its canonical form:
		// the decoder has checked the encoding it names is UTF-8, which
		// is what the output is.
		if t.Target == "xml" && len(f.stack) == 0 && !f.rootDone && len(f.out) == 0 {
			f.out = append(f.out, xmlDecl...)
		}
	}
	// Comments, other processing instructions and directives are dropped.
	return nil
}

// holdsWhitespace reports whether whitespace at the current position is
// held rather than written at once.
func (f *filter) holdsWhitespace() bool {
	return len(f.stack) == 1 || f.inContainer()
}

// inContainer reports whether the innermost open element holds entries.
func (f *filter) inContainer() bool {
	if f.spec.container == "" {
		return len(f.stack) == 1
	}
	return len(f.stack) == 2 && f.stack[1].Local == f.spec.container
}

func (f *filter) flushSpace() {
	f.out = append(f.out, f.ws...)
	f.ws = f.ws[:0]
}

func (f *filter) start(t xml.StartElement) error {
	if err := checkStart(t); err != nil {
		return err
	}
	if f.rootDone {
		return fmt.Errorf("%w: content after the root element", ErrMalformed)
	}
	if len(f.stack) >= maxDepth {
		return fmt.Errorf("%w: elements nested too deeply", ErrMalformed)
	}
	if f.capturing {
		return fmt.Errorf("%w: element inside <%s>", ErrMalformed, f.capStart.Name.Local)
	}
	switch {
	case f.skipDepth > 0:
		// Inside a dropped element: nothing is copied.
	case len(f.stack) == 0:
		if t.Name.Local != f.spec.root {
			return fmt.Errorf("%w: root element <%s>, want <%s>", ErrMalformed, t.Name.Local, f.spec.root)
		}
		f.out = appendStart(f.out, t)
	case f.entry != nil:
		if f.inName {
			return fmt.Errorf("%w: element inside <%s>", ErrMalformed, f.entry.field)
		}
		if len(f.stack) == f.entryDepth && strippedChildren[t.Name.Local] {
			f.skipDepth = len(f.stack) + 1
			break
		}
		if len(f.stack) == f.entryDepth && t.Name.Local == f.entry.field {
			f.inName = true
			f.nameText = f.nameText[:0]
		}
		f.buf = appendStart(f.buf, t)
	case f.inContainer() && f.spec.entries[t.Name.Local] != nil:
		f.entry = f.spec.entries[t.Name.Local]
		f.in.reset()
		// The whitespace before the entry goes with it.
		f.buf = append(f.buf[:0], f.ws...)
		f.ws = f.ws[:0]
		f.buf = appendStart(f.buf, t)
		f.names, f.visible = 0, true
		f.entryName, f.entryRaw = "", ""
		f.entryDepth = len(f.stack) + 1
	case len(f.stack) == 1 && f.spec.dropped[t.Name.Local]:
		f.skipDepth = len(f.stack) + 1
		f.ws = f.ws[:0]
	case len(f.stack) == 1 && f.spec.fields[t.Name.Local] != passField:
		f.capturing = true
		f.capMode = f.spec.fields[t.Name.Local]
		f.capStart = t // RawToken allocates names and attributes anew per token
		f.capText = f.capText[:0]
	default:
		f.flushSpace()
		f.out = appendStart(f.out, t)
	}
	f.stack = append(f.stack, t.Name)
	return nil
}

func (f *filter) end(t xml.EndElement) error {
	if !validName(t.Name) {
		return ErrMalformed
	}
	n := len(f.stack)
	if n == 0 || f.stack[n-1] != t.Name {
		return fmt.Errorf("%w: unexpected </%s>", ErrMalformed, t.Name.Local)
	}
	f.stack = f.stack[:n-1]
	switch {
	case f.skipDepth > 0:
		if len(f.stack) < f.skipDepth {
			f.skipDepth = 0
		}
	case f.entry != nil:
		if f.inName && len(f.stack) == f.entryDepth {
			f.inName = false
			f.nameField()
		}
		f.buf = appendEnd(f.buf, t.Name)
		if len(f.stack) < f.entryDepth {
			f.endEntry()
		}
	case f.capturing:
		f.capturing = false
		f.endField()
	case len(f.stack) == 0:
		f.endRoot(t.Name)
	default:
		f.flushSpace()
		f.out = appendEnd(f.out, t.Name)
	}
	return nil
}

func (f *filter) text(t xml.CharData) error {
	if !utf8.Valid(t) {
		return fmt.Errorf("%w: text is not UTF-8", ErrMalformed)
	}
	switch {
	case len(f.stack) == 0:
		if !isSpace(t) {
			return fmt.Errorf("%w: text outside the root element", ErrMalformed)
		}
	case f.skipDepth > 0:
	case f.entry != nil:
		if f.inName {
			f.nameText = append(f.nameText, t...)
		}
		f.buf = appendEscaped(f.buf, t, false)
	case f.capturing:
		if len(f.capText)+len(t) > MaxEntrySize {
			return ErrTooLarge
		}
		f.capText = append(f.capText, t...)
	case f.holdsWhitespace():
		// The root and the entry container hold elements only; text
		// there could merge with other text once entries between are
		// dropped.
		if !isSpace(t) {
			return fmt.Errorf("%w: text in <%s>", ErrMalformed, f.stack[len(f.stack)-1].Local)
		}
		if len(f.ws)+len(t) > MaxEntrySize {
			return ErrTooLarge
		}
		f.ws = append(f.ws, t...)
	default:
		f.flushSpace()
		f.out = appendEscaped(f.out, t, false)
	}
	return nil
}

// decode turns a name as sent into the name S3 stores; ok is false when a
// URL-encoded name does not decode.
func (f *filter) decode(raw string) (name string, ok bool) {
	if !f.urlEncoded {
		return raw, true
	}
	name, err := url.QueryUnescape(raw)
	if err != nil {
		return raw, false
	}
	return name, true
}

// nameField decides on one naming field of the current entry.
func (f *filter) nameField() {
	raw := string(f.nameText)
	name, ok := f.decode(raw)
	if !ok || !f.keep(f.entry, name) {
		f.visible = false
	}
	if f.names == 0 {
		f.entryName, f.entryRaw, f.entryOK = name, raw, ok
	}
	f.names++
}

func (f *filter) endEntry() {
	kept := f.visible && f.names > 0
	if kept {
		f.out = append(f.out, f.buf...)
		f.stats.Kept++
		if f.entry.counted {
			f.counted++
		}
	} else {
		f.stats.Dropped++
	}
	if f.names > 0 && (!f.haveLast || f.entryName >= f.last) {
		f.last, f.lastRaw, f.lastDecoded = f.entryName, f.entryRaw, f.entryOK
		f.haveLast, f.lastKept = true, kept
	}
	f.entry = nil
	f.inName = false
	f.in.reset()
}

// endField writes, rewrites, holds or drops a captured root child.
func (f *filter) endField() {
	raw := string(f.capText)
	switch f.capMode {
	case countField:
		start := f.capStart
		f.keyCount = &start
		f.ws = f.ws[:0]
		return
	case truncatedField:
		f.truncated = strings.TrimSpace(raw) == "true"
	case nextMarkerField, markerField:
		if f.capMode == nextMarkerField {
			f.sawNext = true
		}
		name, ok := f.decode(raw)
		switch {
		case raw == "" || ok && f.markerVisible(name):
		case f.seal != nil:
			raw = f.seal(name)
			f.stats.Sealed++
		default:
			f.ws = f.ws[:0]
			return
		}
	case tokenField:
		if raw != "" && f.seal != nil {
			raw = f.seal(raw)
			f.stats.Sealed++
		}
	}
	f.flushSpace()
	f.out = appendStart(f.out, f.capStart)
	f.out = appendEscaped(f.out, raw, false)
	f.out = appendEnd(f.out, f.capStart.Name)
}

// endRoot writes what was held back, then closes the root.
func (f *filter) endRoot(root xml.Name) {
	if f.keyCount != nil {
		f.out = appendStart(f.out, *f.keyCount)
		f.out = strconv.AppendInt(f.out, int64(f.counted), 10)
		f.out = appendEnd(f.out, f.keyCount.Name)
	}
	if f.spec.synthMarker && f.truncated && !f.sawNext && f.haveLast && !f.lastKept {
		next := xml.Name{Space: root.Space, Local: "NextMarker"}
		switch {
		case f.lastDecoded && f.markerVisible(f.last):
			f.out = appendElement(f.out, next, f.lastRaw)
		case f.seal != nil:
			f.out = appendElement(f.out, next, f.seal(f.last))
			f.stats.Sealed++
		}
	}
	if f.atEnd != nil {
		f.out = f.atEnd(f.out, root)
	}
	f.flushSpace()
	f.out = appendEnd(f.out, root)
	f.rootDone = true
}
