package identity

import (
	"strconv"
	"strings"
)

// SessionKey identifies a user with the groups of its session (nil:
// none) in cache keys: the case rule, then the user and the group names,
// each length-prefixed, so that no two sessions share a key whatever
// their names contain (a NUL or a colon included).
func SessionKey(user string, s *Groups) string {
	var b strings.Builder
	field := func(v string) {
		b.WriteString(strconv.Itoa(len(v)))
		b.WriteByte(':')
		b.WriteString(v)
	}
	switch {
	case s == nil:
		b.WriteByte('n')
	case s.CaseInsensitive:
		b.WriteByte('i')
	default:
		b.WriteByte('s')
	}
	field(user)
	if s != nil {
		for _, n := range s.Names {
			field(n)
		}
	}
	return b.String()
}
