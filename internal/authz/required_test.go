package authz_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/lakegate/lakegate/internal/authz"
	"github.com/lakegate/lakegate/internal/identity"
)

// requiredEngine is an engine with groups.required set to "lakeusers",
// a catalog admin (group admin, which is not lakeusers), a role of group
// analysts reading s3://bkt/data, and users in the users table.
func requiredEngine(t *testing.T, required string) *authz.Engine {
	t.Helper()
	st := openStore(t, "")
	e, err := authz.New(t.Context(), authz.Options{Store: st, RequiredGroup: required})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Bootstrap(t.Context(), admin.User, "admin"); err != nil {
		t.Fatal(err)
	}
	mustExec(t, e, e.Principal(admin.User), `CREATE ROLE r; GRANT ROLE r TO GROUP analysts; GRANT ROLE r TO GROUP Analysts;
		GRANT SELECT ON URI 's3://bkt/data' TO ROLE r`)
	for user, groups := range map[string][]string{
		"bob":   {"analysts", "lakeusers"},
		"carol": {"analysts"},
		"dave":  {"analysts", "LakeUsers"}, // table names compare exactly
		"erin":  {"lakeusers"},
		"root":  {"admin"},
	} {
		if err := e.PutUser(t.Context(), user, groups); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func TestRequiredGroup(t *testing.T) {
	e := requiredEngine(t, "lakeusers")
	ci := func(names ...string) *identity.Groups {
		return &identity.Groups{Names: names, CaseInsensitive: true}
	}
	cs := func(names ...string) *identity.Groups { return &identity.Groups{Names: names} }
	tests := []struct {
		name, user  string
		session     *identity.Groups
		viaTable    bool // ask Principal(user) as well, which must agree
		wantGroups  []string
		wantMissing bool
		wantAllowed bool // GetObject s3://bkt/data/x
	}{
		{"table user in the required group", "bob", nil, true, []string{"analysts", "lakeusers"}, false, true},
		{"table user outside it gets no groups", "carol", nil, true, []string{}, true, false},
		{"table groups compare exactly", "dave", nil, true, []string{}, true, false},
		{"table user in it without grants", "erin", nil, true, []string{"lakeusers"}, false, false},
		{"catalog admin outside it is exempt", "root", nil, true, []string{"admin"}, false, true},
		{"bootstrap admin is exempt", admin.User, nil, true, []string{"admin"}, false, true},
		{"a session's groups, not the users table's of the same name", "carol", ci("lakeusers", "analysts"), false, []string{"Analysts", "analysts"}, false, true},
		{"a session named like a table admin is no admin", "root", cs("analysts"), false, []string{}, true, false},
		{"case-insensitive session in it, any spelling", "sam", ci("Analysts", "LAKEUSERS"), false, []string{"Analysts", "analysts"}, false, true},
		{"case-insensitive session outside it", "sam", ci("analysts"), false, []string{}, true, false},
		{"case-sensitive session in it", "sam", cs("analysts", "lakeusers"), false, []string{"analysts", "lakeusers"}, false, true},
		{"case-sensitive session, other spelling", "sam", cs("analysts", "LakeUsers"), false, []string{}, true, false},
		{"session holding ALL ON SERVER is exempt", "sam", cs("admin"), false, []string{"admin"}, false, true},
		{"session with no groups", "sam", cs(), false, []string{}, true, false},
		{"unknown user without a session stays groupless", "nobody", nil, true, nil, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ps := map[string]authz.Principal{"SessionPrincipal": e.SessionPrincipal(tc.user, tc.session)}
			if tc.viaTable {
				ps["Principal"] = e.Principal(tc.user)
			}
			for via, p := range ps {
				if p.User != tc.user || !slices.Equal(p.Groups, tc.wantGroups) || (p.MissingGroup != "") != tc.wantMissing {
					t.Errorf("%s(%q, %+v) = %+v; want groups %q, missing the required group: %v", via, tc.user, tc.session, p, tc.wantGroups, tc.wantMissing)
				}
				if tc.wantMissing && p.MissingGroup != "lakeusers" {
					t.Errorf("%s: MissingGroup = %q, want lakeusers", via, p.MissingGroup)
				}
				if tc.wantMissing && e.IsCatalogAdmin(p) {
					t.Errorf("%s: a principal outside the required group is catalog admin", via)
				}
				d, err := e.Check(p, "s3://bkt/data/x", "GetObject")
				if err != nil {
					t.Fatal(err)
				}
				if d.Allowed != tc.wantAllowed {
					t.Errorf("%s: GetObject s3://bkt/data/x allowed = %v (%s), want %v", via, d.Allowed, d.Reason, tc.wantAllowed)
				}
				if want := `not a member of the required group "lakeusers"`; tc.wantMissing && !strings.Contains(d.Reason, want) {
					t.Errorf("%s: reason %q does not say %q", via, d.Reason, want)
				}
				if !tc.wantMissing && strings.Contains(d.Reason, "required group") {
					t.Errorf("%s: reason %q blames the required group", via, d.Reason)
				}
			}
		})
	}
}

// TestRequiredGroupEveryScope: a principal outside the required group is
// refused every kind of operation, with the same reason.
func TestRequiredGroupEveryScope(t *testing.T) {
	e := requiredEngine(t, "lakeusers")
	p := e.Principal("carol")
	for _, c := range []struct{ uri, op string }{
		{"s3://bkt/data/x", "GetObject"},
		{"s3://bkt/data/x", "PutObject"},
		{"s3://bkt/data", "ListObjectsV2"},
		{"s3://bkt", "HeadBucket"},
		{"s3://bkt/data/x", "DeleteObjects"},
		{"s3://", "ListBuckets"},
	} {
		d, err := e.Check(p, c.uri, c.op)
		if err != nil {
			t.Fatalf("Check(%s %s): %v", c.op, c.uri, err)
		}
		if d.Allowed || !strings.Contains(d.Reason, "required group") {
			t.Errorf("carol: %s %s = %+v; want a refusal naming the required group", c.op, c.uri, d)
		}
	}
}

func TestRequiredGroupOff(t *testing.T) {
	e := requiredEngine(t, "")
	if p := e.Principal("carol"); !slices.Equal(p.Groups, []string{"analysts"}) || p.MissingGroup != "" {
		t.Errorf("without a required group, Principal(carol) = %+v; want her table groups", p)
	}
	if p := e.SessionPrincipal("sam", &identity.Groups{Names: []string{"analysts"}}); !slices.Equal(p.Groups, []string{"analysts"}) || p.MissingGroup != "" {
		t.Errorf("without a required group, a session principal = %+v; want its groups", p)
	}
}

func TestRequiredGroupOption(t *testing.T) {
	_, err := authz.New(t.Context(), authz.Options{Store: openStore(t, ""), RequiredGroup: " lakeusers"})
	if err == nil || !strings.Contains(err.Error(), "space") {
		t.Errorf("authz.New with a required group with a leading space: %v; want an error", err)
	}
}
