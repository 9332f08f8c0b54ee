package catalog

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// A Parquet footer is a Thrift compact-protocol FileMetaData. Decoding one
// with the generated Thrift code allocates by the list sizes the file
// declares (up to 100 million elements each) before reading any of them,
// so a small hostile file could make the server allocate gigabytes. And
// schema inference needs only the schema, not the row groups, which make
// up most of a large file's footer.
//
// schemaOnly walks the whole footer once without allocating, checking
// that every declared length fits in the bytes that remain and that
// nesting stays shallow, and returns a new, small FileMetaData holding the
// version, the schema and the row count, with an empty row-group list
// (the fields the format requires). Only that is given to arrow-go.

// Compact protocol types.
const (
	ctStop     = 0
	ctTrue     = 1
	ctFalse    = 2
	ctByte     = 3
	ctI16      = 4
	ctI32      = 5
	ctI64      = 6
	ctDouble   = 7
	ctBinary   = 8
	ctList     = 9
	ctSet      = 10
	ctMap      = 11
	ctStruct   = 12
	ctUUID     = 13
	maxNesting = 64
)

// FileMetaData's fields kept.
const (
	fieldVersion   = 1
	fieldSchema    = 2
	fieldNumRows   = 3
	fieldRowGroups = 4
)

var errMalformedFooter = errors.New("malformed footer")

type walker struct {
	b   []byte
	pos int
}

func (w *walker) byte() (byte, error) {
	if w.pos >= len(w.b) {
		return 0, errMalformedFooter
	}
	c := w.b[w.pos]
	w.pos++
	return c, nil
}

func (w *walker) uvarint() (uint64, error) {
	v, n := binary.Uvarint(w.b[w.pos:])
	if n <= 0 {
		return 0, errMalformedFooter
	}
	w.pos += n
	return v, nil
}

// length reads a varint length and checks that at least min(length,
// perItem*length) bytes remain for it.
func (w *walker) length(perItem int) (int, error) {
	v, err := w.uvarint()
	if err != nil {
		return 0, err
	}
	if v > uint64(len(w.b)-w.pos)/uint64(perItem) {
		return 0, errMalformedFooter
	}
	return int(v), nil
}

func (w *walker) skip(n int) error {
	if n < 0 || n > len(w.b)-w.pos {
		return errMalformedFooter
	}
	w.pos += n
	return nil
}

// fieldHeader reads a field header: its id and type (ctStop at the end of
// a struct).
func (w *walker) fieldHeader(last int16) (id int16, typ byte, err error) {
	h, err := w.byte()
	if err != nil || h == ctStop {
		return 0, ctStop, err
	}
	typ = h & 0x0f
	if delta := h >> 4; delta != 0 {
		return last + int16(delta), typ, nil
	}
	v, err := w.uvarint()
	if err != nil || v > 0xffff {
		return 0, 0, errMalformedFooter
	}
	return int16(uint16(v>>1) ^ -uint16(v&1)), typ, nil //nolint:gosec // zigzag i16, range checked
}

// listHeader reads a list or set header: its size and element type.
func (w *walker) listHeader() (size int, elem byte, err error) {
	h, err := w.byte()
	if err != nil {
		return 0, 0, err
	}
	elem = h & 0x0f
	size = int(h >> 4)
	if size == 15 {
		if size, err = w.length(1); err != nil {
			return 0, 0, err
		}
	} else if size > len(w.b)-w.pos {
		return 0, 0, errMalformedFooter
	}
	return size, elem, nil
}

// value skips one value of compact type typ; inList says it is a list
// element (where booleans take a byte).
func (w *walker) value(typ byte, inList bool, depth int) error {
	if depth > maxNesting {
		return fmt.Errorf("%w: nested more than %d levels", errMalformedFooter, maxNesting)
	}
	switch typ {
	case ctTrue, ctFalse:
		if inList {
			return w.skip(1)
		}
		return nil
	case ctByte:
		return w.skip(1)
	case ctI16, ctI32, ctI64:
		_, err := w.uvarint()
		return err
	case ctDouble:
		return w.skip(8)
	case ctUUID:
		return w.skip(16)
	case ctBinary:
		n, err := w.length(1)
		if err != nil {
			return err
		}
		return w.skip(n)
	case ctList, ctSet:
		size, elem, err := w.listHeader()
		if err != nil {
			return err
		}
		for range size {
			if err := w.value(elem, true, depth+1); err != nil {
				return err
			}
		}
		return nil
	case ctMap:
		size, err := w.length(2)
		if err != nil || size == 0 {
			return err
		}
		kv, err := w.byte()
		if err != nil {
			return err
		}
		for range size {
			if err := w.value(kv>>4, true, depth+1); err != nil {
				return err
			}
			if err := w.value(kv&0x0f, true, depth+1); err != nil {
				return err
			}
		}
		return nil
	case ctStruct:
		var last int16
		for {
			id, t, err := w.fieldHeader(last)
			if err != nil {
				return err
			}
			if t == ctStop {
				return nil
			}
			if err := w.value(t, false, depth+1); err != nil {
				return err
			}
			last = id
		}
	}
	return errMalformedFooter
}

// schemaOnly checks footer and returns the trimmed FileMetaData described
// above. maxElements bounds the schema's elements.
func schemaOnly(footer []byte, maxElements int) ([]byte, error) {
	w := &walker{b: footer}
	out := make([]byte, 0, 1024)
	var last int16
	seen := map[int16]bool{}
	for {
		id, typ, err := w.fieldHeader(last)
		if err != nil {
			return nil, err
		}
		if typ == ctStop {
			break
		}
		start := w.pos
		if id == fieldSchema && typ == ctList {
			size, _, err := w.listHeader()
			if err != nil {
				return nil, err
			}
			if size > maxElements {
				return nil, fmt.Errorf("%w: %d schema elements, more than %d", errTooLarge, size, maxElements)
			}
			w.pos = start
		}
		if err := w.value(typ, false, 1); err != nil {
			return nil, err
		}
		switch {
		case id == fieldVersion && typ == ctI32, id == fieldSchema && typ == ctList, id == fieldNumRows && typ == ctI64:
			if seen[id] {
				return nil, errMalformedFooter
			}
			seen[id] = true
			// Long-form header: the type, then the zigzag field id.
			out = append(out, typ)
			out = binary.AppendUvarint(out, uint64(id)<<1) //nolint:gosec // id is 1..3
			out = append(out, footer[start:w.pos]...)
		}
		last = id
	}
	if !seen[fieldVersion] || !seen[fieldSchema] || !seen[fieldNumRows] {
		return nil, errMalformedFooter
	}
	// The required row_groups, empty: a list header of size 0, structs.
	out = append(out, ctList)
	out = binary.AppendUvarint(out, uint64(fieldRowGroups)<<1)
	out = append(out, ctStruct, ctStop)
	return out, nil
}
