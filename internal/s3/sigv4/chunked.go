package sigv4

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/lakegate/lakegate/internal/s3/s3err"
)

// aws-chunked framing limits.
const (
	chunkSigPrefix    = ";chunk-signature="
	trailerSigName    = "x-amz-trailer-signature"
	maxTrailerLines   = 64
	maxTrailerBytes   = 16 << 10
	bufioSize         = 16 << 10
	chunkBufGranule   = 64 << 10
	maxChunkSizeDigit = 16
)

var (
	bufioPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, bufioSize) }}
	chunkPool sync.Pool // *[]byte, capacity a multiple of chunkBufGranule
)

func malformedChunk(msg string) error {
	return s3err.IncompleteBody.WithMessage("Malformed aws-chunked payload: " + msg)
}

// sigSlot is one signature in the aws-chunked framing of the current unit.
type sigSlot struct {
	off     int  // offset of its 64 hex digits in chunkedState.frame
	trailer bool // trailer signature rather than chunk signature
	hash    [sha256.Size]byte
}

// chain computes chained chunk and trailer signatures from a SigningContext.
type chain struct {
	mac           hash.Hash
	prev          [64]byte
	chunkPrefix   []byte // "AWS4-HMAC-SHA256-PAYLOAD\n<date>\n<scope>\n"
	trailerPrefix []byte // "AWS4-HMAC-SHA256-TRAILER\n<date>\n<scope>\n"
	buf           []byte
	sum           []byte
}

func (c *chain) init(sc *SigningContext) {
	c.mac = sc.key.newMAC()
	c.prev = sc.seed
	tail := "\n" + sc.amzDate + "\n" + sc.scope + "\n"
	c.chunkPrefix = []byte(algoV4 + "-PAYLOAD" + tail)
	c.trailerPrefix = []byte(algoV4 + "-TRAILER" + tail)
	c.buf = make([]byte, 0, 256+len(tail))
	c.sum = make([]byte, 0, sha256.Size)
}

// next writes the hex signature of sl, chained to the previous one, to out
// (64 bytes) and makes it the previous signature.
func (c *chain) next(sl *sigSlot, out []byte) {
	b := c.buf[:0]
	if sl.trailer {
		b = append(b, c.trailerPrefix...)
		b = append(b, c.prev[:]...)
		b = append(b, '\n')
	} else {
		b = append(b, c.chunkPrefix...)
		b = append(b, c.prev[:]...)
		b = append(b, '\n')
		b = append(b, emptySHA256Hex...)
		b = append(b, '\n')
	}
	b = hex.AppendEncode(b, sl.hash[:])
	c.buf = b
	c.mac.Reset()
	c.mac.Write(b)
	c.sum = c.mac.Sum(c.sum[:0])
	hex.Encode(out, c.sum)
	copy(c.prev[:], out)
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}

// chunkedState decodes (or, for Resign, re-frames) an aws-chunked body.
//
// The body is processed in units: one chunk header, its data and the CRLF
// after it; the unit holding the last data byte also holds the final
// zero-length chunk and the trailer section, so that everything is verified
// before that byte is handed out. frame keeps the unit's raw framing bytes
// (frame[:preEnd] before the data, the rest after) for Resign.
type chunkedState struct {
	br            *bufio.Reader
	cr            countReader
	contentLength int64
	maxChunk      int64
	signed        bool // chunks carry signatures
	hasTrailer    bool // a trailer section follows the final chunk
	trailerSigned bool
	announced     []string
	want          int64 // x-amz-decoded-content-length
	framed        int64 // data bytes announced by chunk headers so far

	ver chain  // the client's signature chain
	rs  *chain // the upstream chain when re-signing
	raw bool   // Read returns the framing too (Resign)

	frame  []byte
	preEnd int
	slots  []sigSlot
	bufp   *[]byte
	q      [3][]byte // output queue of the current unit
	qi     int
	tbuf   []byte // canonical trailer lines
	sha    hash.Hash
	sigTmp [64]byte

	streaming  bool  // unsigned: passing the current chunk through
	streamLeft int64 // bytes of it still to pass, excluding its last byte
	last       [1]byte

	final   bool // the final chunk has been processed
	eof     bool // Read returned io.EOF
	err     error
	trailer http.Header

	maxAlloc int // largest chunk buffer requested (for tests)
}

func newChunkedState(res *Result, body io.Reader, contentLength int64) *chunkedState {
	s := &chunkedState{
		contentLength: contentLength,
		maxChunk:      int64(res.maxChunkSize),
		signed:        res.Payload != PayloadStreamingUnsignedTrailer,
		hasTrailer:    res.Payload != PayloadStreamingSigned,
		trailerSigned: res.Payload == PayloadStreamingSignedTrailer,
		announced:     res.Trailers,
		want:          res.DecodedContentLength,
		sha:           sha256.New(),
		frame:         make([]byte, 0, 128),
	}
	if s.maxChunk <= 0 {
		s.maxChunk = defaultMaxChunkSize
	}
	if s.signed && res.chain != nil {
		s.ver.init(res.chain)
	}
	s.cr.r = body
	s.br = bufioPool.Get().(*bufio.Reader)
	s.br.Reset(&s.cr)
	return s
}

// release returns pooled buffers once Read has reached a terminal state and
// nothing queued refers to them any more.
func (s *chunkedState) release() {
	if s.br != nil {
		s.br.Reset(nil)
		bufioPool.Put(s.br)
		s.br = nil
	}
	if s.bufp != nil {
		chunkPool.Put(s.bufp)
		s.bufp = nil
	}
}

// chunkBuf returns the chunk buffer with length n, its first keep bytes
// preserved.
func (s *chunkedState) chunkBuf(n, keep int) []byte {
	if n > s.maxAlloc {
		s.maxAlloc = n
	}
	if s.bufp != nil && cap(*s.bufp) >= n {
		return (*s.bufp)[:n]
	}
	old := s.bufp
	// A pooled buffer much larger than needed would be held by a client
	// that has sent little: take it only once a quarter of it is needed.
	if v, ok := chunkPool.Get().(*[]byte); ok && cap(*v) >= n && cap(*v)/4 <= max(n, chunkBufGranule) {
		s.bufp = v
	} else {
		if ok {
			chunkPool.Put(v)
		}
		c := (n + chunkBufGranule - 1) / chunkBufGranule * chunkBufGranule
		b := make([]byte, c)
		s.bufp = &b
	}
	if old != nil {
		copy(*s.bufp, (*old)[:keep])
		chunkPool.Put(old)
	}
	return (*s.bufp)[:n]
}

// readChunkData reads a signed chunk's size bytes. The buffer grows with
// the bytes actually received (doubling from chunkBufGranule), never to
// the declared size up front: a client that announces a large chunk and
// stalls holds only what it sent.
func (s *chunkedState) readChunkData(size int) ([]byte, error) {
	filled := 0
	data := s.chunkBuf(min(size, chunkBufGranule), 0)
	for {
		n, err := io.ReadFull(s.br, data[filled:])
		filled += n
		if err != nil {
			return nil, ioErr(err)
		}
		if filled == size {
			return data, nil
		}
		data = s.chunkBuf(min(size, 2*filled), filled)
	}
}

func (s *chunkedState) read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	for {
		for s.qi < len(s.q) {
			if len(s.q[s.qi]) == 0 {
				s.qi++
				continue
			}
			n := copy(b, s.q[s.qi])
			s.q[s.qi] = s.q[s.qi][n:]
			return n, nil
		}
		if s.err != nil {
			s.release()
			if errors.Is(s.err, io.EOF) {
				s.eof = true
			}
			return 0, s.err
		}
		if s.streaming {
			if s.streamLeft > 0 {
				m := len(b)
				if int64(m) > s.streamLeft {
					m = int(s.streamLeft)
				}
				n, err := s.br.Read(b[:m])
				s.streamLeft -= int64(n)
				if n > 0 || err == nil {
					return n, nil
				}
				s.err = ioErr(err)
				continue
			}
			c, err := s.br.ReadByte()
			if err != nil {
				s.err = ioErr(err)
				continue
			}
			s.last[0] = c
			s.streaming = false
			s.err = s.endUnsignedChunk()
			continue
		}
		if s.final {
			s.err = io.EOF
			continue
		}
		s.err = s.nextUnit()
	}
}

func (s *chunkedState) enqueue(pre, data, post []byte) {
	if !s.raw {
		pre, post = nil, nil
	}
	s.q = [3][]byte{pre, data, post}
	s.qi = 0
}

// readLine reads one line into frame and returns where it starts and its
// content without the line ending. A bare "\n" ending is accepted only when
// !crlf.
func (s *chunkedState) readLine(crlf bool) (int, []byte, error) {
	line, err := s.br.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return 0, nil, malformedChunk("line too long.")
		}
		return 0, nil, ioErr(err)
	}
	start := len(s.frame)
	s.frame = append(s.frame, line...)
	content := s.frame[start : len(s.frame)-1]
	if n := len(content); n > 0 && content[n-1] == '\r' {
		content = content[:n-1]
	} else if crlf {
		return 0, nil, malformedChunk("line not terminated by CRLF.")
	}
	return start, content, nil
}

// readChunkHeader reads "<hex-size>[;chunk-signature=<64 hex>]\r\n" and, for
// the signed forms, appends a slot for its signature.
func (s *chunkedState) readChunkHeader() (int64, error) {
	start, line, err := s.readLine(true)
	if err != nil {
		return 0, err
	}
	size, i, ok := parseChunkSize(line)
	if !ok {
		return 0, malformedChunk("invalid chunk size.")
	}
	rest := line[i:]
	if !s.signed {
		if len(rest) != 0 {
			return 0, malformedChunk("unexpected chunk extension in an unsigned payload.")
		}
		return size, nil
	}
	sig, ok := bytes.CutPrefix(rest, []byte(chunkSigPrefix))
	if !ok || !isLowerHex(sig, 64) {
		return 0, malformedChunk("chunk header must be <hex-size>;chunk-signature=<signature>.")
	}
	s.slots = append(s.slots, sigSlot{off: start + i + len(chunkSigPrefix)})
	return size, nil
}

// parseChunkSize parses the leading hex digits of line: the size, the number
// of digits, and whether there were 1..16 digits.
func parseChunkSize(line []byte) (int64, int, bool) {
	var v uint64
	i := 0
	for ; i < len(line); i++ {
		d, ok := unhex(line[i])
		if !ok {
			break
		}
		if i == maxChunkSizeDigit {
			return 0, i, false
		}
		v = v<<4 | uint64(d)
	}
	if i == 0 || v > 1<<62 {
		return 0, i, false
	}
	return int64(v), i, true
}

func (s *chunkedState) readCRLF() error {
	for _, want := range [2]byte{'\r', '\n'} {
		c, err := s.br.ReadByte()
		if err != nil {
			return ioErr(err)
		}
		if c != want {
			return malformedChunk("chunk data not followed by CRLF.")
		}
	}
	s.frame = append(s.frame, '\r', '\n')
	return nil
}

// verify checks the signature of slot i against the client's chain.
func (s *chunkedState) verify(i int) error {
	sl := &s.slots[i]
	s.ver.next(sl, s.sigTmp[:])
	if subtle.ConstantTimeCompare(s.sigTmp[:], s.frame[sl.off:sl.off+64]) != 1 {
		if sl.trailer {
			return s3err.SignatureDoesNotMatch.WithMessage("The trailer signature we calculated does not match the signature you provided.")
		}
		return s3err.SignatureDoesNotMatch.WithMessage("The chunk signature we calculated does not match the signature you provided.")
	}
	return nil
}

// resign replaces the unit's signatures by the upstream chain's.
func (s *chunkedState) resign() {
	if s.rs == nil {
		return
	}
	for i := range s.slots {
		sl := &s.slots[i]
		s.rs.next(sl, s.frame[sl.off:sl.off+64])
	}
}

func (s *chunkedState) nextUnit() error {
	s.frame = s.frame[:0]
	s.slots = s.slots[:0]
	size, err := s.readChunkHeader()
	if err != nil {
		return err
	}
	if size == 0 {
		if err := s.finish(); err != nil {
			return err
		}
		s.resign()
		s.enqueue(s.frame, nil, nil)
		return nil
	}
	if size > s.want-s.framed {
		return s3err.IncompleteBody.WithMessage("The aws-chunked payload is longer than x-amz-decoded-content-length.")
	}
	s.framed += size
	if !s.signed {
		s.preEnd = len(s.frame)
		s.enqueue(s.frame, nil, nil)
		s.streaming = true
		s.streamLeft = size - 1
		return nil
	}
	if size > s.maxChunk {
		return s3err.InvalidRequest.WithMessage("An aws-chunked chunk exceeds the maximum chunk size of " + strconv.FormatInt(s.maxChunk, 10) + " bytes.")
	}
	data, err := s.readChunkData(int(size))
	if err != nil {
		return err
	}
	s.sha.Reset()
	s.sha.Write(data)
	s.sha.Sum(s.slots[0].hash[:0])
	if err := s.verify(0); err != nil {
		return err
	}
	s.preEnd = len(s.frame)
	if err := s.readCRLF(); err != nil {
		return err
	}
	if s.framed == s.want {
		if err := s.readFinalChunk(); err != nil {
			return err
		}
	}
	s.resign()
	s.enqueue(s.frame[:s.preEnd], data, s.frame[s.preEnd:])
	return nil
}

// endUnsignedChunk runs after the last byte of an unsigned chunk has been
// read into s.last: it reads the CRLF and, after the last data chunk, the
// final chunk and trailers, then queues the byte.
func (s *chunkedState) endUnsignedChunk() error {
	s.frame = s.frame[:0] // the chunk header has been delivered already
	s.slots = s.slots[:0]
	if err := s.readCRLF(); err != nil {
		return err
	}
	if s.framed == s.want {
		if err := s.readFinalChunk(); err != nil {
			return err
		}
	}
	s.enqueue(nil, s.last[:], s.frame)
	return nil
}

// readFinalChunk reads the chunk header that must follow the last data chunk
// and everything after it.
func (s *chunkedState) readFinalChunk() error {
	size, err := s.readChunkHeader()
	if err != nil {
		return err
	}
	if size != 0 {
		return s3err.IncompleteBody.WithMessage("The aws-chunked payload is longer than x-amz-decoded-content-length.")
	}
	return s.finish()
}

// finish processes the final zero-length chunk whose header was just read:
// its signature, the trailer section and the end of the body.
func (s *chunkedState) finish() error {
	if s.framed != s.want {
		return s3err.IncompleteBody.WithMessage("The aws-chunked payload is shorter than x-amz-decoded-content-length.")
	}
	if s.signed {
		sl := &s.slots[len(s.slots)-1]
		sl.hash = emptySHA256
		if err := s.verify(len(s.slots) - 1); err != nil {
			return err
		}
	}
	if s.hasTrailer {
		if err := s.readTrailers(); err != nil {
			return err
		}
	} else if err := s.readCRLF(); err != nil {
		return err
	}
	s.final = true
	return s.expectEOF()
}

var emptySHA256 = sha256.Sum256(nil)

// readTrailers reads "name:value" lines up to an empty line. In the signed
// form the last of them is x-amz-trailer-signature. Two deviations produced
// by minio-go are accepted: trailer lines ended by a bare "\n" followed by an
// empty line before the signature line (empty lines before the signature are
// skipped), and one extra CRLF at the very end.
func (s *chunkedState) readTrailers() error {
	start := len(s.frame)
	s.tbuf = s.tbuf[:0]
	sigOff := -1
	for lines := 0; ; lines++ {
		if lines == maxTrailerLines || len(s.frame)-start > maxTrailerBytes {
			return malformedChunk("trailer section too large.")
		}
		lineStart, line, err := s.readLine(false)
		if err != nil {
			return err
		}
		if len(line) == 0 {
			if s.trailerSigned && sigOff < 0 {
				continue
			}
			break
		}
		if sigOff >= 0 {
			return malformedChunk("trailer after x-amz-trailer-signature.")
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return malformedChunk("trailer line is not name:value.")
		}
		name := strings.ToLower(string(line[:colon]))
		raw := line[colon+1:]
		lead := len(raw) - len(bytes.TrimLeft(raw, " \t"))
		value := bytes.Trim(raw, " \t")
		if s.trailerSigned && name == trailerSigName {
			if !isLowerHex(value, 64) {
				return malformedChunk("malformed x-amz-trailer-signature.")
			}
			sigOff = lineStart + colon + 1 + lead
			continue
		}
		if !s.isAnnounced(name) {
			return s3err.InvalidRequest.WithMessage("The trailer " + safeText(name) + " was not announced in x-amz-trailer.")
		}
		if s.trailer == nil {
			s.trailer = make(http.Header, len(s.announced))
		}
		if _, dup := s.trailer[http.CanonicalHeaderKey(name)]; dup {
			return malformedChunk("trailer " + safeText(name) + " sent twice.")
		}
		s.trailer.Set(name, string(value))
		s.tbuf = append(s.tbuf, name...)
		s.tbuf = append(s.tbuf, ':')
		s.tbuf = append(s.tbuf, value...)
		s.tbuf = append(s.tbuf, '\n')
	}
	if len(s.trailer) != len(s.announced) {
		return s3err.IncompleteBody.WithMessage("The trailers announced in x-amz-trailer were not all sent.")
	}
	if s.trailerSigned {
		if sigOff < 0 {
			return s3err.IncompleteBody.WithMessage("The x-amz-trailer-signature trailer is missing.")
		}
		s.slots = append(s.slots, sigSlot{off: sigOff, trailer: true, hash: sha256.Sum256(s.tbuf)})
		if err := s.verify(len(s.slots) - 1); err != nil {
			return err
		}
	}
	if b, err := s.br.Peek(2); err == nil && b[0] == '\r' && b[1] == '\n' {
		s.frame = append(s.frame, '\r', '\n')
		_, _ = s.br.Discard(2)
	}
	return nil
}

func (s *chunkedState) isAnnounced(name string) bool {
	for _, a := range s.announced {
		if a == name {
			return true
		}
	}
	return false
}

// expectEOF checks that the body ends after the final chunk and that its
// length matched Content-Length.
func (s *chunkedState) expectEOF() error {
	_, err := s.br.ReadByte()
	switch {
	case err == nil:
		return malformedChunk("data after the final chunk.")
	case !errors.Is(err, io.EOF):
		return ioErr(err)
	case s.contentLength >= 0 && s.cr.n != s.contentLength:
		return s3err.IncompleteBody
	}
	return nil
}
