package api

import (
	"testing"

	"github.com/lakegate/lakegate/internal/identity"
)

// TestTokenKeyDistinct: get-token's reuse cache never hands the token of
// one session to another, however their group names are spelt.
func TestTokenKeyDistinct(t *testing.T) {
	ci := func(names ...string) *identity.Groups {
		return &identity.Groups{Names: names, CaseInsensitive: true}
	}
	for _, tc := range []struct {
		name string
		a, b tokenKey
	}{
		{"a NUL inside a name", newTokenKey("u", ci("a\x00b")), newTokenKey("u", ci("a", "b"))},
		{"no session and no groups", newTokenKey("u", nil), newTokenKey("u", ci())},
		{"case rule", newTokenKey("u", ci("a")), newTokenKey("u", &identity.Groups{Names: []string{"a"}})},
		{"user and group", newTokenKey("u\x00a", ci()), newTokenKey("u", ci("a"))},
	} {
		if tc.a == tc.b {
			t.Errorf("%s: %q and %q share a reuse key", tc.name, tc.a, tc.b)
		}
	}
}
