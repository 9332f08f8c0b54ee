package catalog

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Found is one Hive-style partition directory under a table's location.
type Found struct {
	// Spec is the partition's name as Hive writes it, relative to the
	// table's location, without the trailing slash:
	// "year=2024/month=01" (values as found in the directory names,
	// escaped).
	Spec string
	// Values are the partition columns' values, in the columns' order,
	// unescaped.
	Values []string
	// Path is the directory's full prefix, with its trailing slash.
	Path string
}

// ErrTooManyPartitions is DiscoverPartitions going past its bound.
var ErrTooManyPartitions = errors.New("too many partition directories")

// PartitionValueError is a directory for a partition column whose value
// lakegate refuses: empty, "." or "..", or with a "/" or a control
// character once unescaped.
type PartitionValueError struct {
	Path   string
	Reason string
}

func (e *PartitionValueError) Error() string {
	return fmt.Sprintf("partition directory %q: %s", e.Path, e.Reason)
}

// DiscoverPartitions walks the partition directories under root (a key
// prefix; a missing trailing slash is added), one level per partition
// column, in columns' order: root/col1=v/col2=w/. list calls fn with each
// common prefix directly under a prefix (upstream's ListPrefixes, bound to
// a bucket). A directory whose name is not col= for the level's column
// (compared ignoring case, as Hive does) is skipped, as are names
// starting with "_" or "." (_temporary, .hive-staging, _SUCCESS…). Values
// are unescaped the Hive way (%2F is "/", a "%" without two hex digits
// stays itself); a value that is empty, "." or "..", or holds "/" or a
// control character or is not UTF-8 once unescaped fails the walk with a
// *PartitionValueError rather than being skipped, so that no partition is
// quietly missing. More than max partitions, or more than
// max×(len(columns)+1) directories visited on the way (every level of max
// partitions, and as many others), is ErrTooManyPartitions. Results come in listing
// order.
func DiscoverPartitions(ctx context.Context, list func(prefix string, fn func(commonPrefix string) error) error, root string, columns []string, max int) ([]Found, error) {
	if len(columns) == 0 {
		return nil, errors.New("discovering partitions: the table has no partition columns")
	}
	if max <= 0 {
		return nil, fmt.Errorf("discovering partitions: %w (bound %d)", ErrTooManyPartitions, max)
	}
	if root != "" && !strings.HasSuffix(root, "/") {
		root += "/"
	}
	d := &discovery{ctx: ctx, list: list, root: root, columns: columns, max: max, maxDirs: max * (len(columns) + 1)}
	if err := d.walk(root, 0, nil, nil); err != nil {
		return nil, err
	}
	return d.found, nil
}

type discovery struct {
	ctx     context.Context
	list    func(prefix string, fn func(commonPrefix string) error) error
	root    string
	columns []string
	max     int
	maxDirs int // max × (levels + 1): every level of each partition, and as many others
	visited int
	found   []Found
}

func (d *discovery) walk(prefix string, level int, names, values []string) error {
	if err := d.ctx.Err(); err != nil {
		return err
	}
	if level == len(d.columns) {
		if len(d.found) >= d.max {
			return fmt.Errorf("discovering partitions under %q: %w (more than %d)", d.root, ErrTooManyPartitions, d.max)
		}
		d.found = append(d.found, Found{Spec: strings.Join(names, "/"), Values: values, Path: prefix})
		return nil
	}
	// Collect this level first: the lister's callback must not recurse
	// into further listings while a page is open.
	var dirs []string
	err := d.list(prefix, func(cp string) error {
		name, ok := strings.CutPrefix(cp, prefix)
		if !ok {
			return fmt.Errorf("discovering partitions: listing %q answered %q", prefix, cp)
		}
		name, ok = strings.CutSuffix(name, "/")
		if !ok || name == "" || strings.Contains(name, "/") {
			return nil
		}
		if d.visited++; d.visited > d.maxDirs {
			return fmt.Errorf("discovering partitions under %q: %w (more than %d directories)", d.root, ErrTooManyPartitions, d.maxDirs)
		}
		dirs = append(dirs, name)
		return nil
	})
	if err != nil {
		return err
	}
	col := d.columns[level]
	for _, name := range dirs {
		if name[0] == '_' || name[0] == '.' {
			continue
		}
		k, raw, ok := strings.Cut(name, "=")
		if !ok || !strings.EqualFold(unescapeHive(k), col) {
			continue
		}
		path := prefix + name + "/"
		v := unescapeHive(raw)
		if reason := badValue(v); reason != "" {
			return &PartitionValueError{Path: path, Reason: reason}
		}
		if err := d.walk(path, level+1, append(names[:len(names):len(names)], name), append(values[:len(values):len(values)], v)); err != nil {
			return err
		}
	}
	return nil
}

// badValue says why lakegate refuses a partition value, or "".
func badValue(v string) string {
	switch v {
	case "":
		return "empty value"
	case ".", "..":
		return fmt.Sprintf("value %q", v)
	}
	for _, r := range v {
		switch {
		case r == '/':
			return "value contains '/'"
		case r < 0x20 || r == 0x7f:
			return "value contains a control character"
		}
	}
	if !utf8.ValidString(v) {
		return "value is not UTF-8"
	}
	return ""
}

// unescapeHive undoes Hive's path escaping (FileUtils.escapePathName):
// %XX with two hex digits is that byte; anything else is itself.
func unescapeHive(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}
