package sigv4

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"net/http"

	"github.com/lakegate/lakegate/internal/s3/s3err"
)

// NewPayloadReader returns a reader over the payload of body that verifies it
// as it is read. contentLength is the request's Content-Length (-1 unknown).
//
//   - PayloadSHA256: the read that would deliver the last byte returns
//     XAmzContentSHA256Mismatch instead when the digest differs, so a
//     consumer never sees a complete wrong body.
//   - Streaming signed: each chunk is read whole (at most MaxChunkSize) and
//     its chained signature checked before any of its bytes are returned;
//     the final zero-length chunk and the trailer (with its signature in the
//     signed-trailer form) are read and verified before the last data byte is
//     returned. Bad signature: SignatureDoesNotMatch; bad framing or a decoded
//     length that differs from DecodedContentLength: IncompleteBody.
//   - Unsigned trailer: framing validated the same way, no signatures.
//   - PayloadUnsigned: bytes pass through unchanged.
//
// Read returns the decoded payload (the aws-chunked framing removed).
//
// In the unsigned-trailer form chunks carry no signature, so they are passed
// through as they arrive instead of being buffered, and MaxChunkSize does not
// apply (clients such as aws-sdk-go-v2 send the whole payload as one chunk);
// the final chunk and trailers are still read before the last byte is
// returned. A chunk larger than MaxChunkSize in a signed form is refused with
// InvalidRequest before anything is allocated for it.
func (res *Result) NewPayloadReader(body io.Reader, contentLength int64) *PayloadReader {
	if body == nil {
		body = http.NoBody
	}
	p := &PayloadReader{mode: res.Payload, src: body, remain: contentLength}
	switch {
	case res.Payload == PayloadSHA256:
		if _, err := hex.Decode(p.want[:], []byte(res.ContentSHA256)); err != nil || len(res.ContentSHA256) != 64 {
			p.err = s3err.InvalidArgument.WithMessage("x-amz-content-sha256 is not a valid sha256 value.")
		}
		p.sha = sha256.New()
	case res.Payload.Streaming():
		p.s = newChunkedState(res, body, contentLength)
		if res.Payload != PayloadStreamingUnsignedTrailer && res.chain == nil {
			p.err = errors.New("sigv4: NewPayloadReader: signed streaming Result was not produced by Verify")
		}
	}
	return p
}

// PayloadReader is the verifying reader returned by NewPayloadReader.
type PayloadReader struct {
	mode PayloadMode
	src  io.Reader
	err  error // sticky terminal state

	// PayloadSHA256.
	sha      hash.Hash
	want     [sha256.Size]byte
	remain   int64 // bytes still expected; -1 when the length is unknown
	held     byte  // unknown length: the byte withheld until EOF
	hasHeld  bool
	verified bool // unknown length: EOF seen and digest matched
	one      [1]byte

	// Streaming forms.
	s *chunkedState
}

func (p *PayloadReader) Read(b []byte) (int, error) {
	if p.err != nil {
		return 0, p.err
	}
	switch {
	case p.s != nil:
		return p.s.read(b)
	case p.mode == PayloadSHA256:
		if len(b) == 0 {
			return 0, nil
		}
		if p.remain >= 0 {
			return p.readSHA256Known(b)
		}
		return p.readSHA256Unknown(b)
	default:
		return p.src.Read(b)
	}
}

// Trailer returns the trailing header fields (e.g. x-amz-checksum-crc64nvme)
// once Read has returned io.EOF; nil before that or when there are none.
func (p *PayloadReader) Trailer() http.Header {
	if p.s == nil || !p.s.eof || len(p.s.trailer) == 0 {
		return nil
	}
	return p.s.trailer
}

func (p *PayloadReader) digestErr() error {
	var sum [sha256.Size]byte
	p.sha.Sum(sum[:0])
	if subtle.ConstantTimeCompare(sum[:], p.want[:]) != 1 {
		return s3err.XAmzContentSHA256Mismatch
	}
	return nil
}

func (p *PayloadReader) readSHA256Known(b []byte) (int, error) {
	if p.remain == 0 {
		p.err = p.digestErr()
		if p.err == nil {
			p.err = io.EOF
		}
		return 0, p.err
	}
	if int64(len(b)) > p.remain {
		b = b[:p.remain]
	}
	n, err := p.src.Read(b)
	p.sha.Write(b[:n])
	p.remain -= int64(n)
	if p.remain == 0 {
		if p.err = p.digestErr(); p.err != nil {
			return 0, p.err // withhold the last byte
		}
		p.err = io.EOF
		return n, nil
	}
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			p.err = errIncompleteBody
			return 0, p.err
		}
		p.err = err
		return n, err
	}
	return n, nil
}

// readSHA256Unknown handles a body of unknown length: one byte is always
// held back until EOF shows whether it is the last.
func (p *PayloadReader) readSHA256Unknown(b []byte) (int, error) {
	if p.verified {
		if p.hasHeld {
			b[0] = p.held
			p.hasHeld = false
			return 1, nil
		}
		p.err = io.EOF
		return 0, io.EOF
	}
	off := 0
	if p.hasHeld {
		off = 1
	}
	scratch := len(b) <= off
	dst := p.one[:]
	if !scratch {
		dst = b[off:]
	}
	n, err := p.src.Read(dst)
	p.sha.Write(dst[:n])
	out := 0
	if scratch {
		if n == 1 { // deliver the held byte, hold the new one
			b[0] = p.held
			p.held = p.one[0]
			out = 1
		}
	} else {
		if p.hasHeld {
			b[0] = p.held
		}
		if total := off + n; total > 0 {
			p.held = b[total-1]
			p.hasHeld = true
			out = total - 1
		}
	}
	if err == nil {
		return out, nil
	}
	if !errors.Is(err, io.EOF) {
		p.err = err
		return out, err
	}
	if p.err = p.digestErr(); p.err != nil {
		return 0, p.err
	}
	p.verified = true
	switch {
	case scratch && out == 0 && p.hasHeld:
		b[0] = p.held
		p.hasHeld = false
		out = 1
	case !scratch && p.hasHeld: // the held byte is already in place in b
		p.hasHeld = false
		out++
	}
	if out == 0 {
		p.err = io.EOF
		return 0, io.EOF
	}
	return out, nil
}

var errIncompleteBody = s3err.IncompleteBody

// ioErr maps a read error of the request body: a premature end is the
// client's IncompleteBody, anything else passes through.
func ioErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return s3err.IncompleteBody.WithMessage("The request body ended before the aws-chunked payload was complete.")
	}
	return err
}
