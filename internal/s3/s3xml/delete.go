package s3xml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/lakegate/lakegate/internal/s3/s3err"
)

// MaxDeleteObjects is the most objects one DeleteObjects request may name.
const MaxDeleteObjects = 1000

// ObjectID is one <Object> of a DeleteObjects request.
type ObjectID struct {
	// Key is the object key as S3 stores it (entity-decoded XML text).
	Key string
	// VersionID is the version to delete; "" when none was given (an
	// empty <VersionId/> is treated as none).
	VersionID string
	// inner holds the other children of <Object> (ETag,
	// LastModifiedTime, Size for conditional deletes, and any child
	// unknown here), re-rendered without namespace prefixes or
	// attributes, in their original order. Key and VersionID are never in
	// it: Marshal writes them from the fields, so the key a policy checked
	// is the key forwarded.
	inner []byte
}

// DeleteRequest is a parsed DeleteObjects (POST /bucket?delete) body.
type DeleteRequest struct {
	Quiet   bool
	Objects []ObjectID
}

// malformed is the error for a body S3 would reject as MalformedXML; the
// detail stays for logs and never reaches the client through s3err.
func malformed(format string, args ...any) error {
	return errors.Join(s3err.MalformedXML, fmt.Errorf("s3xml: DeleteObjects: "+format, args...))
}

// ParseDelete reads a DeleteObjects body of at most max bytes. A longer
// body is s3err.MaxMessageLengthExceeded. A body that is not well-formed,
// is not a <Delete> document, names zero or more than MaxDeleteObjects
// objects, has an <Object> without exactly one <Key> or with more than one
// <VersionId>, or holds an element this package does not know directly in
// <Delete>, is s3err.MalformedXML (joined with a detail for logs; match with
// errors.Is or errors.As). An error reading r is returned wrapped.
//
// Element names are matched by local name, whatever their namespace, as
// S3 accepts <Delete> with or without its namespace; a second <Key> in
// another namespace is a second <Key>.
//
// Markup that no S3 client sends and that another XML parser might read
// differently is MalformedXML too: comments, processing instructions other
// than the XML declaration, DOCTYPE, and CDATA sections. Otherwise the key a
// policy checks could differ from the key S3 deletes, should the original
// body be forwarded.
func ParseDelete(r io.Reader, max int64) (*DeleteRequest, error) {
	limit := max
	if limit < math.MaxInt64 {
		limit++
	}
	body, err := io.ReadAll(io.LimitReader(r, limit))
	if err != nil {
		return nil, fmt.Errorf("s3xml: reading DeleteObjects body: %w", err)
	}
	if int64(len(body)) > max {
		return nil, s3err.MaxMessageLengthExceeded
	}
	return parseDelete(body)
}

func parseDelete(body []byte) (*DeleteRequest, error) {
	if bytes.Contains(body, []byte("<![CDATA[")) {
		return nil, malformed("CDATA section")
	}
	ts := &tokens{d: xml.NewDecoder(bytes.NewReader(body))}
	req := &DeleteRequest{}
	var rootSeen, rootDone, quietSeen bool
	for {
		t, err := ts.next(true)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := t.(type) {
		case xml.StartElement:
			switch {
			case !rootSeen:
				if t.Name.Local != "Delete" {
					return nil, malformed("root element <%s>", t.Name.Local)
				}
				rootSeen = true
			case rootDone:
				return nil, malformed("content after </Delete>")
			case t.Name.Local == "Object":
				if len(req.Objects) == MaxDeleteObjects {
					return nil, malformed("more than %d objects", MaxDeleteObjects)
				}
				o, err := parseObject(ts)
				if err != nil {
					return nil, err
				}
				req.Objects = append(req.Objects, o)
			case t.Name.Local == "Quiet" && !quietSeen:
				quietSeen = true
				s, err := readText(ts)
				if err != nil {
					return nil, err
				}
				q, err := strconv.ParseBool(strings.TrimSpace(s))
				if err != nil {
					return nil, malformed("<Quiet> is %q", s)
				}
				req.Quiet = q
			default:
				return nil, malformed("unexpected <%s>", t.Name.Local)
			}
		case xml.EndElement:
			// The decoder has matched it; the only end left to see is
			// the root's.
			rootDone = true
		case xml.CharData:
			if !isSpace(t) {
				return nil, malformed("text outside <Object>")
			}
		}
	}
	if !rootDone {
		return nil, malformed("no <Delete> element")
	}
	if len(req.Objects) == 0 {
		return nil, malformed("no objects")
	}
	return req, nil
}

// tokens reads a DeleteObjects body for the parser.
type tokens struct {
	d    *xml.Decoder
	read int // tokens read so far
}

// next returns the next element or text. Anything else but a leading XML
// declaration is MalformedXML, and so is the end of the body unless top
// says it may end here.
func (ts *tokens) next(top bool) (xml.Token, error) {
	t, err := ts.d.Token()
	ts.read++
	switch {
	case top && errors.Is(err, io.EOF):
		return nil, err
	case err != nil:
		return nil, malformed("%v", err)
	}
	switch t := t.(type) {
	case xml.StartElement, xml.EndElement, xml.CharData:
		return t, nil
	case xml.ProcInst:
		if t.Target == "xml" && ts.read == 1 {
			return t, nil
		}
	}
	return nil, malformed("comment, processing instruction or DOCTYPE")
}

// parseObject reads the children of an <Object> whose start was just read.
func parseObject(ts *tokens) (ObjectID, error) {
	var o ObjectID
	var keys, versions int
	for {
		t, err := ts.next(false)
		if err != nil {
			return o, err
		}
		switch t := t.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "Key":
				keys++
				if o.Key, err = readText(ts); err != nil {
					return o, err
				}
			case "VersionId":
				versions++
				if o.VersionID, err = readText(ts); err != nil {
					return o, err
				}
			default:
				if o.inner, err = copyElement(ts, o.inner, t.Name.Local, 1); err != nil {
					return o, err
				}
			}
		case xml.EndElement:
			if keys != 1 || o.Key == "" || versions > 1 {
				return o, malformed("an <Object> needs one non-empty <Key> and at most one <VersionId>")
			}
			return o, nil
		case xml.CharData:
			if !isSpace(t) {
				return o, malformed("text inside <Object>")
			}
		}
	}
}

// readText returns the text of an element whose start was just read,
// rejecting child elements.
func readText(ts *tokens) (string, error) {
	var b []byte
	for {
		t, err := ts.next(false)
		if err != nil {
			return "", err
		}
		switch t := t.(type) {
		case xml.CharData:
			b = append(b, t...)
		case xml.StartElement:
			return "", malformed("<%s> inside a text element", t.Name.Local)
		case xml.EndElement:
			if !utf8.Valid(b) {
				return "", malformed("text is not UTF-8")
			}
			return string(b), nil
		}
	}
}

// maxObjectDepth bounds nesting inside <Object>; S3's children of <Object>
// are all text elements.
const maxObjectDepth = 8

// copyElement appends an element whose start was just read, with its
// content, to dst under its local name, dropping attributes, comments and
// processing instructions. depth is the element's nesting below <Object>.
func copyElement(ts *tokens, dst []byte, local string, depth int) ([]byte, error) {
	if depth > maxObjectDepth {
		return nil, malformed("elements nested too deeply in <Object>")
	}
	dst = append(dst, '<')
	dst = append(dst, local...)
	dst = append(dst, '>')
	for {
		t, err := ts.next(false)
		if err != nil {
			return nil, err
		}
		switch t := t.(type) {
		case xml.CharData:
			if !utf8.Valid(t) {
				return nil, malformed("text is not UTF-8")
			}
			dst = appendEscaped(dst, t, false)
		case xml.StartElement:
			if dst, err = copyElement(ts, dst, t.Name.Local, depth+1); err != nil {
				return nil, err
			}
		case xml.EndElement:
			dst = append(dst, '<', '/')
			dst = append(dst, local...)
			return append(dst, '>'), nil
		}
	}
}

// Marshal renders the request as a DeleteObjects body in the S3 namespace,
// used to forward the allowed subset. Each object is written with its Key,
// its VersionID if any, then the other children it was parsed with
// (conditional-delete fields survive). <Quiet>true</Quiet> is written when
// Quiet is set. The caller must recompute Content-MD5 or the checksum header
// for the new body.
func (d *DeleteRequest) Marshal() []byte {
	b := []byte(xml.Header)
	b = append(b, `<Delete xmlns="`+Namespace+`">`...)
	if d.Quiet {
		b = append(b, "<Quiet>true</Quiet>"...)
	}
	for _, o := range d.Objects {
		b = append(b, "<Object><Key>"...)
		b = appendEscaped(b, o.Key, false)
		b = append(b, "</Key>"...)
		if o.VersionID != "" {
			b = append(b, "<VersionId>"...)
			b = appendEscaped(b, o.VersionID, false)
			b = append(b, "</VersionId>"...)
		}
		b = append(b, o.inner...)
		b = append(b, "</Object>"...)
	}
	return append(b, "</Delete>"...)
}

// WriteDeleteResult writes a <DeleteResult> to w: the upstream result
// streamed through unchanged, followed by, for each denied object,
//
//	<Error><Key>…</Key>[<VersionId>…</VersionId>]<Code>AccessDenied</Code><Message>Access Denied</Message></Error>
//
// just before the root closes. Upstream is nil when nothing was forwarded;
// the result then holds only the denied errors. Denied errors are written
// in Quiet mode too, as S3 reports errors whatever Quiet says. An upstream
// body that is not a <DeleteResult> document is ErrMalformed; as with
// FilterList, w may then have received part of the result.
func WriteDeleteResult(w io.Writer, upstream io.Reader, denied []ObjectID) error {
	if upstream == nil {
		b := []byte(xml.Header)
		b = append(b, `<DeleteResult xmlns="`+Namespace+`">`...)
		b = appendDenied(b, xml.Name{}, denied)
		b = append(b, "</DeleteResult>"...)
		_, err := w.Write(b)
		return err
	}
	f := newFilter(w, upstream, &deleteResultSpec)
	f.atEnd = func(dst []byte, root xml.Name) []byte {
		return appendDenied(dst, root, denied)
	}
	return f.run()
}

// appendDenied writes one <Error> per denied object, with the namespace
// prefix of root so the errors sit in the result's namespace.
func appendDenied(dst []byte, root xml.Name, denied []ObjectID) []byte {
	name := func(local string) xml.Name { return xml.Name{Space: root.Space, Local: local} }
	for _, o := range denied {
		dst = append(dst, '<')
		dst = appendName(dst, name("Error"))
		dst = append(dst, '>')
		dst = appendElement(dst, name("Key"), o.Key)
		if o.VersionID != "" {
			dst = appendElement(dst, name("VersionId"), o.VersionID)
		}
		dst = appendElement(dst, name("Code"), s3err.AccessDenied.Code)
		dst = appendElement(dst, name("Message"), s3err.AccessDenied.Message)
		dst = appendEnd(dst, name("Error"))
	}
	return dst
}
