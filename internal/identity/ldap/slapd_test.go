package ldap_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/lakegate/lakegate/internal/identity"
	"github.com/lakegate/lakegate/internal/identity/ldap"
	"github.com/lakegate/lakegate/internal/identity/ldap/ldaptest"
)

// These tests run against a real slapd (package ldaptest) holding
// ldaptest.Example's directory.

// outcome is what a call must end in.
type outcome int

const (
	ok        outcome = iota
	unauth            // wraps identity.ErrUnauthenticated
	technical         // an error not wrapping identity.ErrUnauthenticated
)

func (w outcome) check(t *testing.T, err error) {
	t.Helper()
	switch w {
	case ok:
		if err != nil {
			t.Fatalf("err = %v, want none", err)
		}
	case unauth:
		if !errors.Is(err, identity.ErrUnauthenticated) {
			t.Fatalf("err = %v, want one wrapping ErrUnauthenticated", err)
		}
	case technical:
		if err == nil || errors.Is(err, identity.ErrUnauthenticated) {
			t.Fatalf("err = %v, want a technical error (not ErrUnauthenticated)", err)
		}
	}
}

func serviceOptions(srv *ldaptest.Server) ldap.Options {
	return ldap.Options{
		URL:          srv.URL,
		BindDN:       ldaptest.ServiceDN,
		BindPassword: ldaptest.ServicePassword,
		BaseDN:       ldaptest.Suffix,
		Timeout:      5 * time.Second,
	}
}

func mustNew(t *testing.T, o ldap.Options) *ldap.Authenticator {
	t.Helper()
	a, err := ldap.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

type loginCase struct {
	name, user, password string
	want                 outcome
	wantUser             string
}

func runLogins(t *testing.T, a *ldap.Authenticator, cases []loginCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id, err := a.AuthenticatePassword(t.Context(), tc.user, tc.password)
			tc.want.check(t, err)
			if tc.want != ok {
				if id.User != "" || id.Method != "" {
					t.Errorf("identity = %+v with an error, want the zero value", id)
				}
				return
			}
			if id.User != tc.wantUser || id.Method != "ldap" || id.Groups != nil || !id.Expires.IsZero() {
				t.Errorf("identity = %+v, want User %q, Method ldap, no groups, no expiry", id, tc.wantUser)
			}
		})
	}
}

// injections are user names that would match other entries if they were
// put in a filter or DN unescaped.
var injections = []string{"*", "a*", "alice*", "alice)(uid=*", "*)(|(uid=*", "alice)(|(objectClass=*",
	`\00`, `alice\00`, "alice\x00", `\2a`, "uid=alice,ou=people,dc=example,dc=com", "alice,ou=people", "{dn}", "{1}"}

func TestSlapdSearchAndBind(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.Options{LDIF: ldaptest.Example()})
	a := mustNew(t, serviceOptions(srv))

	cases := []loginCase{
		{name: "alice", user: "alice", password: ldaptest.AlicePassword, want: ok, wantUser: "alice"},
		{name: "bob", user: "bob", password: ldaptest.BobPassword, want: ok, wantUser: "bob"},
		// LDAP matches uid case- and space-insensitively; the identity
		// is the entry's uid, not what was typed.
		{name: "upper case is alice", user: "ALICE", password: ldaptest.AlicePassword, want: ok, wantUser: "alice"},
		{name: "spaces are alice", user: " alice ", password: ldaptest.AlicePassword, want: ok, wantUser: "alice"},
		{name: "wrong password", user: "alice", password: "wrong", want: unauth},
		{name: "another user's password", user: "alice", password: ldaptest.BobPassword, want: unauth},
		{name: "unknown user", user: "mallory", password: "x", want: unauth},
		{name: "empty password", user: "alice", password: "", want: unauth},
		{name: "empty user", user: "", password: ldaptest.AlicePassword, want: unauth},
		{name: "both empty", want: unauth},
		{name: "root DN as user name", user: ldaptest.RootDN, password: ldaptest.RootPassword, want: unauth},
		{name: "service account as user name", user: "lakegate", password: ldaptest.ServicePassword, want: unauth},
		{name: "too long", user: string(make([]byte, 300)), password: "x", want: unauth},
		{name: "invalid UTF-8", user: "alice\xff", password: ldaptest.AlicePassword, want: unauth},
	}
	for _, inj := range injections {
		cases = append(cases, loginCase{name: "injection " + inj, user: inj, password: ldaptest.AlicePassword, want: unauth})
	}
	runLogins(t, a, cases)

	t.Run("groups", func(t *testing.T) {
		for _, tc := range []struct {
			user string
			want []string
		}{
			{"alice", []string{"analysts"}},      // groupOfNames cn=Analysts, by member DN
			{"bob", []string{"engineers"}},       // posixGroup cn=ENGINEERS, by memberUid
			{"BOB", []string{"engineers"}},       // memberUid is bob's uid, not what was asked
			{"carol", nil},                       // in no group
			{"mallory", nil},                     // no entry
			{"", nil},                            // no name
			{"*", nil},                           // escaped: matches no uid
			{"bob)(memberUid=*", nil},            // escaped
			{"*)(|(objectClass=*", nil},          // escaped
			{"{dn}", nil},                        // not a placeholder once put in
			{"alice\x00", nil},                   // unusable name
			{"Alice Liddell", nil},               // uid, not cn
			{ldaptest.AliceDN, nil},              // a DN is not a uid
			{"alice)(uid=bob", nil},              // escaped
			{`\61lice`, nil},                     // a backslash is a backslash
			{"cn=Analysts", nil},                 // not a user
			{"analysts", nil},                    // not a user
			{"ENGINEERS", nil},                   // not a user
			{"lakegate", nil},                    // the service account has no uid
			{"nobody)(uid=alice", nil},           // escaped
			{"alice)(memberUid=bob", nil},        // escaped
			{"bob)(objectClass=posixGroup", nil}, // escaped
		} {
			got, err := a.Groups(t.Context(), tc.user)
			if err != nil {
				t.Errorf("Groups(%q): %v", tc.user, err)
				continue
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Groups(%q) = %q, want %q", tc.user, got, tc.want)
			}
		}
	})

	t.Run("wrong service password is technical", func(t *testing.T) {
		o := serviceOptions(srv)
		o.BindPassword = "wrong"
		b := mustNew(t, o)
		_, err := b.AuthenticatePassword(t.Context(), "alice", ldaptest.AlicePassword)
		technical.check(t, err)
		_, err = b.Groups(t.Context(), "alice")
		technical.check(t, err)
	})

	t.Run("missing base DN is technical", func(t *testing.T) {
		o := serviceOptions(srv)
		o.BaseDN = "ou=nowhere," + ldaptest.Suffix
		b := mustNew(t, o)
		_, err := b.AuthenticatePassword(t.Context(), "alice", ldaptest.AlicePassword)
		technical.check(t, err)
	})

	t.Run("cancelled context is technical", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := a.AuthenticatePassword(ctx, "alice", ldaptest.AlicePassword)
		technical.check(t, err)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	})

	t.Run("concurrent", func(t *testing.T) {
		errs := make(chan error, 20)
		for i := range 20 {
			go func() {
				user, password := "alice", ldaptest.AlicePassword
				if i%2 == 1 {
					user, password = "bob", ldaptest.BobPassword
				}
				id, err := a.AuthenticatePassword(context.Background(), user, password)
				if err == nil && id.User != user {
					err = errors.New("got " + id.User + " for " + user)
				}
				errs <- err
			}()
		}
		for range 20 {
			if err := <-errs; err != nil {
				t.Error(err)
			}
		}
	})
}

// TestSlapdOkeraFilter uses the filter of seed 002's example, HTML
// escaping and all, through OptionsFromEnv.
func TestSlapdOkeraFilter(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.Options{LDIF: ldaptest.Example()})
	env := map[string]string{
		ldap.EnvHost:             srv.URL,
		ldap.EnvBaseDN:           ldaptest.Suffix,
		ldap.EnvUserSearchFilter: "(&amp;(objectClass=Person)(cn={0}))",
		ldap.EnvUser:             ldaptest.ServiceDN,
		ldap.EnvPassword:         ldaptest.ServicePassword,
	}
	o, configured, err := ldap.OptionsFromEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil || !configured {
		t.Fatalf("OptionsFromEnv = %v, %v", configured, err)
	}
	a := mustNew(t, o)
	runLogins(t, a, []loginCase{
		// No UserNameAttribute: the name as typed.
		{name: "bob by cn", user: "Bob Builder", password: ldaptest.BobPassword, want: ok, wantUser: "Bob Builder"},
		{name: "bob by uid", user: "bob", password: ldaptest.BobPassword, want: unauth},
		// alice and carol share their cn: refused even with the right password.
		{name: "ambiguous cn", user: "Alice Liddell", password: ldaptest.AlicePassword, want: unauth},
		{name: "wildcard cn", user: "Bob*", password: ldaptest.BobPassword, want: unauth},
	})
	got, err := a.Groups(t.Context(), "Bob Builder")
	// {0} is "Bob Builder" here, which no memberUid holds; that is
	// what UserNameAttribute is for (below).
	if err != nil || len(got) != 0 {
		t.Errorf(`Groups("Bob Builder") = %q, %v; want none`, got, err)
	}
	_, err = a.Groups(t.Context(), "Alice Liddell")
	technical.check(t, err)

	o.UserNameAttribute = "uid"
	a = mustNew(t, o)
	runLogins(t, a, []loginCase{
		{name: "bob by cn is bob", user: "bob builder", password: ldaptest.BobPassword, want: ok, wantUser: "bob"},
	})
	if got, err := a.Groups(t.Context(), "Bob Builder"); err != nil || !slices.Equal(got, []string{"engineers"}) {
		t.Errorf(`Groups("Bob Builder") = %q, %v; want [engineers]`, got, err)
	}
}

func TestSlapdDirectBind(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.Options{LDIF: ldaptest.Example()})
	o := ldap.Options{URL: srv.URL, UserDNTemplate: "uid={0}," + ldaptest.PeopleDN}
	a := mustNew(t, o)
	cases := []loginCase{
		{name: "alice", user: "alice", password: ldaptest.AlicePassword, want: ok, wantUser: "alice"},
		{name: "wrong password", user: "alice", password: "wrong", want: unauth},
		{name: "unknown user", user: "mallory", password: "x", want: unauth},
		{name: "empty password", user: "alice", want: unauth},
		{name: "DN in the name", user: "alice,ou=people", password: ldaptest.AlicePassword, want: unauth},
		{name: "RDN in the name", user: "alice+cn=x", password: ldaptest.AlicePassword, want: unauth},
	}
	for _, inj := range injections {
		cases = append(cases, loginCase{name: "injection " + inj, user: inj, password: ldaptest.AlicePassword, want: unauth})
	}
	runLogins(t, a, cases)
	_, err := a.Groups(t.Context(), "alice")
	technical.check(t, err)

	// UserNameAttribute is read as the user, after the bind.
	o.UserNameAttribute = "uid"
	runLogins(t, mustNew(t, o), []loginCase{
		{name: "upper case is alice", user: "ALICE", password: ldaptest.AlicePassword, want: ok, wantUser: "alice"},
	})
}

func TestSlapdTLS(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.Options{LDIF: ldaptest.Example(), TLS: true})
	for _, tc := range []struct {
		name string
		edit func(*ldap.Options)
		want outcome
	}{
		{"ldaps with the CA", func(o *ldap.Options) { o.URL, o.CAFile = srv.LDAPSURL, srv.CAFile }, ok},
		{"StartTLS with the CA", func(o *ldap.Options) { o.StartTLS, o.CAFile = true, srv.CAFile }, ok},
		{"ldaps by name localhost", func(o *ldap.Options) {
			o.URL, o.CAFile, o.ServerName = srv.LDAPSURL, srv.CAFile, "localhost"
		}, ok},
		{"ldaps without the CA", func(o *ldap.Options) { o.URL = srv.LDAPSURL }, technical},
		{"StartTLS without the CA", func(o *ldap.Options) { o.StartTLS = true }, technical},
		{"ldaps, wrong server name", func(o *ldap.Options) {
			o.URL, o.CAFile, o.ServerName = srv.LDAPSURL, srv.CAFile, "ldap.example.com"
		}, technical},
		{"ldaps, verification off", func(o *ldap.Options) { o.URL, o.InsecureSkipVerify = srv.LDAPSURL, true }, ok},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := serviceOptions(srv)
			tc.edit(&o)
			a := mustNew(t, o)
			id, err := a.AuthenticatePassword(t.Context(), "alice", ldaptest.AlicePassword)
			tc.want.check(t, err)
			if tc.want == ok && id.User != "alice" {
				t.Errorf("User = %q, want alice", id.User)
			}
			groups, err := a.Groups(t.Context(), "alice")
			tc.want.check(t, err)
			if tc.want == ok && !slices.Equal(groups, []string{"analysts"}) {
				t.Errorf("Groups = %q, want [analysts]", groups)
			}
		})
	}
}

// TestSlapdStopped: once the server is gone, nothing may be concluded
// about the credentials.
func TestSlapdStopped(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.Options{LDIF: ldaptest.Example()})
	a := mustNew(t, serviceOptions(srv))
	if _, err := a.AuthenticatePassword(t.Context(), "alice", ldaptest.AlicePassword); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	for _, password := range []string{ldaptest.AlicePassword, "wrong"} {
		_, err := a.AuthenticatePassword(t.Context(), "alice", password)
		technical.check(t, err)
	}
	_, err := a.Groups(t.Context(), "alice")
	technical.check(t, err)
	// Refused before any connection is attempted.
	_, err = a.AuthenticatePassword(t.Context(), "alice", "")
	unauth.check(t, err)
}
