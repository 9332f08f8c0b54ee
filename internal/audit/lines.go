package audit

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// lineReader yields the newline-terminated lines of r, without their
// newline. A final line without a newline is torn (a crash cut it) and is
// skipped, as is any line longer than max, which is discarded without being
// held in memory.
type lineReader struct {
	r       *bufio.Reader
	max     int
	buf     []byte
	skipped int // lines too long, plus a torn tail
}

func newLineReader(r io.Reader, max int) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, 64<<10), max: max}
}

// next returns the next whole line; io.EOF at the end. The slice is valid
// until the next call.
func (l *lineReader) next() ([]byte, error) {
	for {
		l.buf = l.buf[:0]
		tooLong := false
		for {
			chunk, err := l.r.ReadSlice('\n')
			if !tooLong {
				if len(l.buf)+len(chunk) > l.max+1 {
					tooLong = true
					l.buf = l.buf[:0]
				} else {
					l.buf = append(l.buf, chunk...)
				}
			}
			if err == nil {
				break
			}
			if errors.Is(err, bufio.ErrBufferFull) {
				continue
			}
			if errors.Is(err, io.EOF) {
				if len(chunk) > 0 || tooLong || len(l.buf) > 0 {
					l.skipped++ // torn tail
				}
				return nil, io.EOF
			}
			return nil, err
		}
		if tooLong {
			l.skipped++
			continue
		}
		return l.buf[:len(l.buf)-1], nil
	}
}

// parseLine decodes one line into records. A line that is not a record is
// usually a torn record with a good one glued to its end (a crash, then an
// append without recovery); every record start after the first byte is
// tried, and the records found are returned.
func parseLine(line []byte, emit func(wireRecord)) (bad bool) {
	if r, ok := decodeRecord(line); ok {
		emit(r)
		return false
	}
	bad = true
	rest := line
	for {
		i := bytes.Index(rest[min(1, len(rest)):], []byte(recordPrefix))
		if i < 0 {
			return bad
		}
		rest = rest[i+min(1, len(rest)):]
		if r, ok := decodeRecord(rest); ok {
			emit(r)
			return bad
		}
	}
}
