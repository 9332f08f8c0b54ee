package ldaptest

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// Entry is one LDIF record to add.
type Entry struct {
	DN         string
	Attributes []Attribute
}

// Attribute is an attribute of an Entry with its values, in LDIF order.
type Attribute struct {
	Name   string
	Values []string
}

// ParseLDIF parses the LDIF content records (RFC 2849) tests need:
// records separated by blank lines, each "dn: …" then "name: value" or
// "name:: base64" lines; lines starting with a space continue the previous
// one; lines starting with # are comments. Change records, URLs (name:<)
// and options (name;lang-en) are not supported.
func ParseLDIF(ldif string) ([]Entry, error) {
	var (
		entries []Entry
		lines   []string // the logical lines of the current record
	)
	flush := func() error {
		if len(lines) == 0 {
			return nil
		}
		e, err := parseRecord(lines)
		if err != nil {
			return err
		}
		entries = append(entries, e)
		lines = nil
		return nil
	}
	for n, line := range strings.Split(strings.ReplaceAll(ldif, "\r\n", "\n"), "\n") {
		switch {
		case strings.TrimSpace(line) == "":
			if err := flush(); err != nil {
				return nil, err
			}
		case strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, " "):
			if len(lines) == 0 {
				return nil, fmt.Errorf("line %d: continuation without a line to continue", n+1)
			}
			lines[len(lines)-1] += line[1:]
		default:
			lines = append(lines, line)
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return entries, nil
}

func parseRecord(lines []string) (Entry, error) {
	var e Entry
	for i, line := range lines {
		name, value, err := parseLine(line)
		if err != nil {
			return Entry{}, err
		}
		if i == 0 {
			if !strings.EqualFold(name, "dn") {
				return Entry{}, fmt.Errorf("record %q does not start with a dn line", line)
			}
			e.DN = value
			continue
		}
		switch {
		case strings.EqualFold(name, "dn"):
			return Entry{}, fmt.Errorf("%s: a second dn: without a blank line before it", e.DN)
		case strings.EqualFold(name, "changetype"):
			return Entry{}, fmt.Errorf("%s: change records are not supported", e.DN)
		}
		found := false
		for j := range e.Attributes {
			if strings.EqualFold(e.Attributes[j].Name, name) {
				e.Attributes[j].Values = append(e.Attributes[j].Values, value)
				found = true
				break
			}
		}
		if !found {
			e.Attributes = append(e.Attributes, Attribute{Name: name, Values: []string{value}})
		}
	}
	if len(e.Attributes) == 0 {
		return Entry{}, fmt.Errorf("%s: no attributes", e.DN)
	}
	return e, nil
}

// parseLine splits "name: value" or "name:: base64".
func parseLine(line string) (name, value string, err error) {
	name, value, ok := strings.Cut(line, ":")
	if !ok || name == "" || strings.ContainsAny(name, " ;") {
		return "", "", fmt.Errorf("line %q is not name: value", line)
	}
	switch {
	case strings.HasPrefix(value, ":"):
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(value[1:]))
		if err != nil {
			return "", "", fmt.Errorf("line %q: %w", line, err)
		}
		return name, string(b), nil
	case strings.HasPrefix(value, "<"):
		return "", "", fmt.Errorf("line %q: URL values are not supported", line)
	}
	return name, strings.TrimLeft(value, " "), nil
}
