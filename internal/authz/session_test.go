package authz_test

import (
	"slices"
	"testing"

	"github.com/lakegate/lakegate/internal/authz/authztest"
)

func TestSessionPrincipal(t *testing.T) {
	f := authztest.New(t, authztest.Options{Users: map[string][]string{"listed": {"from-table"}}})
	tests := []struct {
		name, user string
		session    []string
		want       []string
	}{
		{"users table wins over the session", "listed", []string{"from-session"}, []string{"from-table"}},
		{"session groups of an unlisted user", "jwt-user", []string{"analysts", "eng"}, []string{"analysts", "eng"}},
		{"a session with no groups", "jwt-user", []string{}, []string{}},
		{"no session and not listed: no groups", "nobody", nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := f.Engine.SessionPrincipal(tc.user, tc.session)
			if p.User != tc.user || !slices.Equal(p.Groups, tc.want) {
				t.Errorf("SessionPrincipal(%q, %v) = %+v, want groups %v", tc.user, tc.session, p, tc.want)
			}
		})
	}
}
