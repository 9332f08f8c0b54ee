package audit

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// segment is one append-only JSONL file being written. Appends are whole
// batches of lines in one write(2); a failed append is cut back off so the
// file never holds half a record followed by good ones.
type segment struct {
	path string

	mu   sync.Mutex // guards f against sync from another goroutine
	f    *os.File
	size int64
}

// openSegment opens path for appending, creating it (and fsyncing its
// directory) when missing. An existing file's torn tail, the bytes after
// its last newline, is truncated first.
func openSegment(path string) (*segment, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600) // #nosec G304 -- path built from the configured directory
	if err != nil {
		return nil, err
	}
	size, err := cutTornTail(f)
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("%s: recover: %w", path, err)
	}
	if size == 0 {
		if err := syncDir(filepath.Dir(path)); err != nil {
			_ = f.Close()
			return nil, err
		}
	}
	return &segment{path: path, f: f, size: size}, nil
}

// cutTornTail truncates f after its last newline and returns the new size.
func cutTornTail(f *os.File) (int64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	size := st.Size()
	end := size
	buf := make([]byte, 64<<10)
	for end > 0 {
		n := int64(len(buf))
		if end < n {
			n = end
		}
		if _, err := f.ReadAt(buf[:n], end-n); err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			end = end - n + int64(i) + 1
			break
		}
		end -= n
	}
	if end == size {
		return size, nil
	}
	if err := f.Truncate(end); err != nil {
		return 0, err
	}
	return end, f.Sync()
}

// errSegmentBroken means an append failed and could not be undone; the
// segment must be closed and a new one started.
var errSegmentBroken = errors.New("audit: log file left with a partial record")

// append writes p (whole lines) in one write. On failure it truncates the
// file back to its previous size; if that fails too it returns an error
// wrapping errSegmentBroken.
func (s *segment) append(p []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return os.ErrClosed
	}
	n, err := s.f.Write(p)
	if err == nil {
		s.size += int64(n)
		return nil
	}
	if n > 0 {
		if terr := s.f.Truncate(s.size); terr != nil {
			return fmt.Errorf("%w: %w (truncate: %w)", errSegmentBroken, err, terr)
		}
	}
	return err
}

// sync fsyncs the file. Safe to call concurrently with append.
func (s *segment) sync() error {
	s.mu.Lock()
	f := s.f
	s.mu.Unlock()
	if f == nil {
		return nil
	}
	// Outside the lock: fsync may take a while and must not hold up
	// appends. A concurrent close makes it fail with ErrClosed after the
	// closer has synced itself.
	if err := f.Sync(); err != nil && !errors.Is(err, os.ErrClosed) {
		return err
	}
	return nil
}

// close fsyncs and closes the file.
func (s *segment) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := s.f.Sync()
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	s.f = nil
	return err
}

func (s *segment) bytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.size
}

// syncDir fsyncs a directory so that a created or renamed entry survives a
// power loss.
func syncDir(dir string) error {
	d, err := os.Open(dir) // #nosec G304 -- configured directory
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// compressFile writes the whole lines of src, gzip-compressed, to dst
// (through dst+".tmp", fsynced and renamed) and removes src. A torn final
// line is left out. When dst already exists (a crash after the rename),
// src is only removed. It returns the size of dst.
func compressFile(src, dst string, maxLine int) (int64, error) {
	if st, err := os.Stat(dst); err == nil {
		return st.Size(), os.Remove(src)
	}
	in, err := os.Open(src) // #nosec G304 -- a file of our own directory
	if err != nil {
		return 0, err
	}
	defer in.Close()
	tmp := dst + ".tmp"
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600) // #nosec G304 -- ours
	if err != nil {
		return 0, err
	}
	fail := func(err error) (int64, error) {
		_ = out.Close()
		_ = os.Remove(tmp)
		return 0, err
	}
	zw := gzip.NewWriter(out)
	lr := newLineReader(in, maxLine)
	for {
		line, err := lr.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fail(err)
		}
		if _, err := zw.Write(line); err != nil {
			return fail(err)
		}
		if _, err := zw.Write(newline); err != nil {
			return fail(err)
		}
	}
	if err := zw.Close(); err != nil {
		return fail(err)
	}
	if err := out.Sync(); err != nil {
		return fail(err)
	}
	st, err := out.Stat()
	if err != nil {
		return fail(err)
	}
	if err := out.Close(); err != nil {
		_ = os.Remove(tmp)
		return 0, err
	}
	if err := os.Rename(tmp, dst); err != nil {
		_ = os.Remove(tmp)
		return 0, err
	}
	if err := syncDir(filepath.Dir(dst)); err != nil {
		return 0, err
	}
	return st.Size(), os.Remove(src)
}

var newline = []byte{'\n'}
