package authz_test

import (
	"slices"
	"testing"

	"github.com/lakegate/lakegate/internal/authz/authztest"
	"github.com/lakegate/lakegate/internal/identity"
)

func TestSessionPrincipal(t *testing.T) {
	f := authztest.New(t, authztest.Options{
		Script: "CREATE ROLE r; GRANT ROLE r TO GROUP Analysts; GRANT ROLE r TO GROUP analysts; GRANT ROLE r TO GROUP eng",
		Users:  map[string][]string{"listed": {"from-table"}},
	})
	tests := []struct {
		name, user string
		session    *identity.Groups
		want       []string
	}{
		{"a session's groups, never the users table's of the same name", "listed", &identity.Groups{Names: []string{"from-session"}}, []string{"from-session"}},
		{"a session named like the bootstrap admin is no admin", "admin", &identity.Groups{Names: []string{}}, []string{}},
		{"no session: the users table's groups", "listed", nil, []string{"from-table"}},
		{"case-sensitive session groups are kept as they are", "u", &identity.Groups{Names: []string{"ANALYSTS", "eng"}}, []string{"ANALYSTS", "eng"}},
		{"case-insensitive groups match every spelling in the policy", "u",
			&identity.Groups{Names: []string{"analysts", "ENG", "unknown"}, CaseInsensitive: true}, []string{"Analysts", "analysts", "eng"}},
		{"a session with no groups", "u", &identity.Groups{Names: []string{}}, []string{}},
		{"no session and not listed: no groups", "nobody", nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := f.Engine.SessionPrincipal(tc.user, tc.session)
			if p.User != tc.user || !slices.Equal(p.Groups, tc.want) {
				t.Errorf("SessionPrincipal(%q, %+v) = %+v, want groups %v", tc.user, tc.session, p, tc.want)
			}
		})
	}
}
