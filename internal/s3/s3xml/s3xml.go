// Package s3xml shapes the S3 XML bodies that pass through the proxy so that
// they reveal only what a client's grants allow: it filters listings entry by
// entry as they stream (removing owners, which name the upstream's
// identities), seals pagination markers, reads upstream listing pages and
// writes the listing results the proxy composes itself, and parses and
// merges DeleteObjects requests and results.
//
// The package is pure: no network, no logging, no global mutable state.
// Streaming rewrites read with xml.Decoder.RawToken, so namespace prefixes
// and xmlns attributes are copied verbatim rather than re-namespaced, and
// write tokens back by hand, so the root element keeps
// xmlns="http://s3.amazonaws.com/doc/2006-03-01/" exactly as upstream sent it.
package s3xml

import (
	"bufio"
	"encoding/xml"
	"errors"
	"io"
	"unicode/utf8"
)

// Namespace is the XML namespace of S3 REST API documents.
const Namespace = "http://s3.amazonaws.com/doc/2006-03-01/"

// MaxEntrySize bounds, in input bytes, one listing entry (a <Contents>,
// <Version>, <Bucket> …) and any other single token a streaming rewrite
// holds in memory. S3 keys are at most 1024 bytes, so real entries are far
// smaller.
const MaxEntrySize = 64 << 10

// maxDepth bounds element nesting in streamed bodies; S3 documents nest
// four or five levels deep.
const maxDepth = 64

// flushSize is how much output a streaming rewrite gathers before writing.
const flushSize = 32 << 10

var (
	// ErrMalformed means a streamed body is not well-formed XML or is not
	// the document expected (wrong root element, text where elements
	// belong, markup inside a name). The output written so far is
	// incomplete; a caller that has sent response headers must abort the
	// connection rather than end the body normally.
	ErrMalformed = errors.New("s3xml: malformed XML body")
	// ErrTooLarge means one entry or token exceeds MaxEntrySize. As with
	// ErrMalformed, the output written so far is incomplete.
	ErrTooLarge = errors.New("s3xml: XML entry exceeds size limit")
)

// budgetReader hands the decoder one byte at a time and fails with
// ErrTooLarge once more than max bytes were read since the last reset, so
// the decoder never buffers an unbounded token.
type budgetReader struct {
	r    *bufio.Reader
	used int
	max  int
	// err is the first error other than io.EOF this reader returned, so
	// that a read failure is told apart from a syntax error the decoder
	// reports.
	err error
}

func newBudgetReader(r io.Reader, max int) *budgetReader {
	return &budgetReader{r: bufio.NewReader(r), max: max}
}

func (b *budgetReader) reset() { b.used = 0 }

func (b *budgetReader) ReadByte() (byte, error) {
	if b.used >= b.max {
		return 0, b.fail(ErrTooLarge)
	}
	c, err := b.r.ReadByte()
	if err == nil {
		b.used++
	}
	return c, b.fail(err)
}

func (b *budgetReader) fail(err error) error {
	if err != nil && err != io.EOF && b.err == nil {
		b.err = err
	}
	return err
}

// Read is only here to satisfy io.Reader; xml.Decoder uses ReadByte when a
// reader has it.
func (b *budgetReader) Read(p []byte) (int, error) {
	if b.used >= b.max {
		return 0, b.fail(ErrTooLarge)
	}
	if len(p) > b.max-b.used {
		p = p[:b.max-b.used]
	}
	n, err := b.r.Read(p)
	b.used += n
	return n, b.fail(err)
}

// appendName writes a raw (prefix, local) name as it appeared in the input.
func appendName(dst []byte, n xml.Name) []byte {
	if n.Space != "" {
		dst = append(dst, n.Space...)
		dst = append(dst, ':')
	}
	return append(dst, n.Local...)
}

func appendStart(dst []byte, se xml.StartElement) []byte {
	dst = append(dst, '<')
	dst = appendName(dst, se.Name)
	for _, a := range se.Attr {
		dst = append(dst, ' ')
		dst = appendName(dst, a.Name)
		dst = append(dst, '=', '"')
		dst = appendEscaped(dst, a.Value, true)
		dst = append(dst, '"')
	}
	return append(dst, '>')
}

func appendEnd(dst []byte, n xml.Name) []byte {
	dst = append(dst, '<', '/')
	dst = appendName(dst, n)
	return append(dst, '>')
}

// appendElement writes <n>text</n> with text escaped.
func appendElement(dst []byte, n xml.Name, text string) []byte {
	dst = append(dst, '<')
	dst = appendName(dst, n)
	dst = append(dst, '>')
	dst = appendEscaped(dst, text, false)
	return appendEnd(dst, n)
}

// appendEscaped escapes s for character data (attr false) or a double-quoted
// attribute value (attr true). Carriage returns are written as references
// so that a parser's line-end normalisation cannot turn them into newlines;
// in attributes tabs and newlines are too, for the same reason.
func appendEscaped[T ~string | ~[]byte](dst []byte, s T, attr bool) []byte {
	last := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '\r':
			esc = "&#xD;"
		case '"':
			if !attr {
				continue
			}
			esc = "&quot;"
		case '\n':
			if !attr {
				continue
			}
			esc = "&#xA;"
		case '\t':
			if !attr {
				continue
			}
			esc = "&#x9;"
		default:
			continue
		}
		dst = append(dst, s[last:i]...)
		dst = append(dst, esc...)
		last = i + 1
	}
	return append(dst, s[last:]...)
}

// isSpace reports whether b is XML whitespace only.
func isSpace(b []byte) bool {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\n', '\r':
		default:
			return false
		}
	}
	return true
}

// checkStart rejects what RawToken lets through but a conforming parser
// would not: duplicate attributes and names or values that are not UTF-8.
func checkStart(se xml.StartElement) error {
	if !validName(se.Name) {
		return ErrMalformed
	}
	for i, a := range se.Attr {
		if !validName(a.Name) || !utf8.ValidString(a.Value) {
			return ErrMalformed
		}
		for _, b := range se.Attr[:i] {
			if a.Name == b.Name {
				return ErrMalformed
			}
		}
	}
	return nil
}

func validName(n xml.Name) bool {
	return utf8.ValidString(n.Space) && utf8.ValidString(n.Local)
}
