package ldap

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lakegate/lakegate/internal/identity"
)

func validOptions() Options {
	return Options{
		URL:          "ldap://ldap.example.com",
		BindDN:       "cn=lakegate,dc=example,dc=com",
		BindPassword: "secret",
		BaseDN:       "dc=example,dc=com",
	}
}

func TestValidate(t *testing.T) {
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, []byte("not PEM"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		edit func(*Options)
		want []string // substrings, one per expected problem, in order
	}{
		{"valid", func(*Options) {}, nil},
		{"direct bind only", func(o *Options) {
			*o = Options{URL: "ldaps://ldap.example.com:1636", UserDNTemplate: "uid={0},ou=people,dc=example,dc=com"}
		}, nil},
		{"empty", func(o *Options) { *o = Options{} }, []string{
			"URL: is required",
			"BindDN: set a service account",
		}},
		{"bad URL scheme", func(o *Options) { o.URL = "http://x" }, []string{"URL: \"http://x\": the scheme must be"}},
		{"URL with a DN", func(o *Options) { o.URL = "ldap://x/dc=example,dc=com" }, []string{"URL: \"ldap://x/dc=example,dc=com\": nothing may follow"}},
		{"URL without host", func(o *Options) { o.URL = "ldap://" }, []string{"has no host"}},
		{"URL with bad port", func(o *Options) { o.URL = "ldap://x:99999" }, []string{"bad port"}},
		{"StartTLS with ldaps", func(o *Options) { o.URL, o.StartTLS = "ldaps://x", true }, []string{"StartTLS: cannot be used with ldaps://"}},
		{"TLS options without TLS", func(o *Options) { o.ServerName, o.InsecureSkipVerify = "x", true }, []string{
			"ServerName: has no effect", "InsecureSkipVerify: has no effect",
		}},
		{"CA file both bad and contradicted", func(o *Options) {
			o.StartTLS, o.CAFile, o.InsecureSkipVerify = true, caFile, true
		}, []string{"InsecureSkipVerify: contradicts CAFile", "CAFile: " + caFile + " holds no PEM"}},
		{"missing CA file", func(o *Options) { o.URL, o.CAFile = "ldaps://x", "/nonexistent/ca.pem" }, []string{"CAFile: open /nonexistent/ca.pem"}},
		{"bind DN without password", func(o *Options) { o.BindPassword = "" }, []string{"BindPassword: is required with BindDN (lakegate never binds anonymously)"}},
		{"password without bind DN", func(o *Options) {
			o.BindDN, o.UserDNTemplate = "", "uid={0},dc=x"
		}, []string{"BindPassword: is set but BindDN is not"}},
		{"bad DNs", func(o *Options) { o.BindDN, o.BaseDN, o.GroupSearchBase = "lakegate", "example.com", "=x" }, []string{
			"BindDN: \"lakegate\" is not a DN", "BaseDN: \"example.com\" is not a DN", "GroupSearchBase: \"=x\" is not a DN",
		}},
		{"service account without base DN", func(o *Options) { o.BaseDN = "" }, []string{"BaseDN: is required with BindDN"}},
		{"template without placeholder", func(o *Options) { o.UserDNTemplate = "uid=alice,dc=x" }, []string{"UserDNTemplate: \"uid=alice,dc=x\" does not contain {0}"}},
		{"template not a DN", func(o *Options) { o.UserDNTemplate = "{0}" }, []string{"UserDNTemplate: \"user\" is not a DN"}},
		{"filters", func(o *Options) {
			o.UserSearchFilter, o.GroupSearchFilter = "(uid=alice)", "(member={dn}"
		}, []string{
			"UserSearchFilter: \"(uid=alice)\" contains none of {0}",
			"GroupSearchFilter: \"(member={dn}\" is not an LDAP filter",
		}},
		{"DN placeholder in the user filter", func(o *Options) { o.UserSearchFilter = "(&(uid={0})(x={dn}))" }, []string{
			"UserSearchFilter: \"(&(uid={0})(x={dn}))\": {1} and {dn}",
		}},
		{"Okera's HTML-escaped filter", func(o *Options) { o.UserSearchFilter = "(&amp;(objectClass=Person)(cn={0}))" }, []string{
			"UserSearchFilter: \"(&amp;(objectClass=Person)(cn={0}))\" is not an LDAP filter",
		}},
		{"attribute names", func(o *Options) { o.UserNameAttribute, o.GroupNameAttribute = "u id", "cn)(x" }, []string{
			"UserNameAttribute: \"u id\"", "GroupNameAttribute: \"cn)(x\"",
		}},
		{"OID attribute", func(o *Options) { o.GroupNameAttribute = "2.5.4.3" }, nil},
		{"negative timeout", func(o *Options) { o.Timeout = -time.Second }, []string{"Timeout: must not be negative"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := validOptions()
			tc.edit(&o)
			before := o
			err := o.Validate()
			if o != before {
				t.Errorf("Validate changed the options")
			}
			checkProblems(t, err, tc.want)
			if a, nerr := New(o); (nerr == nil) != (err == nil) || (nerr == nil && a == nil) {
				t.Errorf("New = %v, %v; Validate = %v", a, nerr, err)
			}
		})
	}
}

// checkProblems checks that err holds exactly the problems want, in order.
func checkProblems(t *testing.T, err error, want []string) {
	t.Helper()
	if len(want) == 0 {
		if err != nil {
			t.Fatalf("err = %v, want none", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("err = nil, want %q", want)
	}
	got := strings.Split(err.Error(), "\n")
	if len(got) != len(want) {
		t.Fatalf("problems:\n%s\nwant %d: %q", err, len(want), want)
	}
	for i := range want {
		if !strings.Contains(got[i], want[i]) {
			t.Errorf("problem %d = %q, want it to contain %q", i, got[i], want[i])
		}
	}
}

func TestDefaults(t *testing.T) {
	o := validOptions().withDefaults()
	if o.UserSearchFilter != DefaultUserSearchFilter || o.UserNameAttribute != "uid" ||
		o.GroupSearchFilter != DefaultGroupSearchFilter || o.GroupSearchBase != o.BaseDN ||
		o.GroupNameAttribute != "cn" || o.Timeout != DefaultTimeout {
		t.Errorf("defaults = %+v", o)
	}
	// A filter of one's own keeps the name as typed unless told otherwise.
	o = validOptions()
	o.UserSearchFilter = "(cn={0})"
	if o = o.withDefaults(); o.UserNameAttribute != "" {
		t.Errorf("UserNameAttribute = %q with a custom filter, want empty", o.UserNameAttribute)
	}
	o = Options{UserDNTemplate: "uid={0},dc=x"}
	if o = o.withDefaults(); o.UserNameAttribute != "" {
		t.Errorf("UserNameAttribute = %q with a DN template, want empty", o.UserNameAttribute)
	}
}

func TestFill(t *testing.T) {
	for _, tc := range []struct{ filter, user, dn, want string }{
		{"(uid={0})", "alice", "", "(uid=alice)"},
		{"(uid={0})", "*", "", `(uid=\2a)`},
		{"(uid={0})", "alice)(uid=*", "", `(uid=alice\29\28uid=\2a)`},
		{"(uid={0})", `\00`, "", `(uid=\5c00)`},
		{"(uid={0})", "a\x00", "", `(uid=a\00)`},
		{"(uid={0})", "é", "", `(uid=\c3\a9)`},
		// One pass: a placeholder in the user name is not replaced.
		{"(|(memberUid={0})(member={dn}))", "{dn}", "uid=x,dc=y", `(|(memberUid={dn})(member=uid=x,dc=y))`},
		{"(member={1})", "u", `cn=a\,b (c),dc=y`, `(member=cn=a\5c,b \28c\29,dc=y)`},
	} {
		if got := fillFilter(tc.filter, tc.user, tc.dn); got != tc.want {
			t.Errorf("fillFilter(%q, %q, %q) = %q, want %q", tc.filter, tc.user, tc.dn, got, tc.want)
		}
	}
	for _, tc := range []struct{ user, want string }{
		{"alice", "uid=alice,dc=x"},
		{"alice,ou=admins", `uid=alice\,ou=admins,dc=x`}, // "=" needs no escape in a value
		{"a+cn=b", `uid=a\+cn=b,dc=x`},
		{" a ", `uid=\ a\ ,dc=x`},
		{"#a", `uid=\#a,dc=x`},
		{"{0}", "uid={0},dc=x"},
	} {
		if got := fillDN("uid={0},dc=x", tc.user); got != tc.want {
			t.Errorf("fillDN(%q) = %q, want %q", tc.user, got, tc.want)
		}
	}
}

func TestRDNValue(t *testing.T) {
	for _, tc := range []struct{ dn, attr, want string }{
		{"cn=Analysts,ou=groups,dc=example,dc=com", "cn", "Analysts"},
		{"CN=Domain Users,CN=Users,DC=corp,DC=example", "cn", "Domain Users"},
		{"CN=Domain Users,CN=Users,DC=corp,DC=example", "", "Domain Users"},
		{`cn=a\,b,dc=x`, "cn", "a,b"},
		{"ou=x,dc=y", "cn", ""},
		{"ou=x,dc=y", "", "x"},
		{"not a dn", "", ""},
		{"", "", ""},
	} {
		if got := rdnValue(tc.dn, tc.attr); got != tc.want {
			t.Errorf("rdnValue(%q, %q) = %q, want %q", tc.dn, tc.attr, got, tc.want)
		}
	}
}

// TestTimeout: a server that accepts connections and never answers is a
// technical error after Options.Timeout, and so is a refused connection.
func TestTimeout(t *testing.T) {
	var lc net.ListenConfig
	l, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer func() { _ = c.Close() }()
		}
	}()
	o := validOptions()
	o.URL = "ldap://" + l.Addr().String()
	o.Timeout = 300 * time.Millisecond
	a, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = a.AuthenticatePassword(t.Context(), "alice", "secret")
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, identity.ErrUnauthenticated) {
		t.Errorf("err = %v, want a deadline and not ErrUnauthenticated", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s with a timeout of %s", d, o.Timeout)
	}
	if _, err := a.Groups(t.Context(), "alice"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Groups: err = %v, want a deadline", err)
	}

	// Nothing listens at the address once l is closed.
	_ = l.Close()
	_, err = a.AuthenticatePassword(t.Context(), "alice", "secret")
	if err == nil || errors.Is(err, identity.ErrUnauthenticated) {
		t.Errorf("refused connection: err = %v, want a technical error", err)
	}
	// An empty password is refused without a connection.
	if _, err = a.AuthenticatePassword(t.Context(), "alice", ""); !errors.Is(err, identity.ErrUnauthenticated) {
		t.Errorf("empty password: err = %v, want ErrUnauthenticated", err)
	}
}

func TestOptionsFromEnv(t *testing.T) {
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("from file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	seed := map[string]string{ // seed 002's example
		EnvHost:             "ldap.lab.okera.com",
		EnvBaseDN:           "dc=lab,dc=okera,dc=com",
		EnvUserSearchFilter: "(&amp;(objectClass=Person)(cn={0}))",
		EnvUser:             "cn=admin,dc=lab,dc=okera,dc=com",
		EnvPassword:         "secret",
	}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range seed {
			m[k] = v
		}
		for k, v := range extra {
			if v == "-" {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		return m
	}
	for _, tc := range []struct {
		name           string
		env            map[string]string
		wantConfigured bool
		check          func(*testing.T, Options)
		want           []string
	}{
		{name: "unset", env: map[string]string{}},
		{name: "empty host", env: map[string]string{EnvHost: " "}},
		{name: "orphans", env: map[string]string{EnvBaseDN: "dc=x", EnvUseSSL: "true"}, want: []string{
			EnvUseSSL + ": is set but " + EnvHost + " is not", EnvBaseDN + ": is set but",
		}},
		{name: "seed example", env: seed, wantConfigured: true, check: func(t *testing.T, o Options) {
			want := Options{
				URL: "ldap://ldap.lab.okera.com", BindDN: "cn=admin,dc=lab,dc=okera,dc=com", BindPassword: "secret",
				BaseDN: "dc=lab,dc=okera,dc=com", UserSearchFilter: "(&(objectClass=Person)(cn={0}))",
			}
			if o != want {
				t.Errorf("options = %+v\nwant      %+v", o, want)
			}
		}},
		{name: "everything", env: with(map[string]string{
			EnvPort: "1636", EnvUseSSL: "TRUE", EnvPassword: "-", EnvPasswordFile: pwFile,
			EnvUserNameAttribute: "uid", EnvGroupSearchBase: "ou=groups,dc=lab,dc=okera,dc=com",
			EnvGroupSearchFilter: "(&amp;(objectClass=posixGroup)(memberUid={0}))", EnvGroupNameAttribute: "cn",
			EnvTimeout: "3",
		}), wantConfigured: true, check: func(t *testing.T, o Options) {
			if o.URL != "ldaps://ldap.lab.okera.com:1636" || o.BindPassword != "from file" || o.Timeout != 3*time.Second ||
				o.GroupSearchFilter != "(&(objectClass=posixGroup)(memberUid={0}))" || o.UserNameAttribute != "uid" ||
				o.GroupSearchBase != "ou=groups,dc=lab,dc=okera,dc=com" {
				t.Errorf("options = %+v", o)
			}
		}},
		{name: "URL host with port", env: with(map[string]string{EnvHost: "ldaps://ad.example.com:3269"}), wantConfigured: true,
			check: func(t *testing.T, o Options) {
				if o.URL != "ldaps://ad.example.com:3269" {
					t.Errorf("URL = %q", o.URL)
				}
			}},
		{name: "URL host plus port", env: with(map[string]string{EnvHost: "ldap://ad.example.com", EnvPort: "3268", EnvUseStartTLS: "true"}),
			wantConfigured: true, check: func(t *testing.T, o Options) {
				if o.URL != "ldap://ad.example.com:3268" || !o.StartTLS {
					t.Errorf("URL = %q, StartTLS %v", o.URL, o.StartTLS)
				}
			}},
		{name: "IPv6 host", env: with(map[string]string{EnvHost: "::1"}), wantConfigured: true, check: func(t *testing.T, o Options) {
			if o.URL != "ldap://[::1]" {
				t.Errorf("URL = %q", o.URL)
			}
		}},
		{name: "direct bind", env: map[string]string{EnvHost: "ldap", EnvUserDNTemplate: "uid={0},ou=people,dc=x"}, wantConfigured: true},
		{name: "bad values", env: with(map[string]string{
			EnvPort: "ldap", EnvUseSSL: "yes please", EnvTimeout: "soon", EnvPasswordFile: pwFile,
		}), wantConfigured: true, want: []string{
			EnvPasswordFile + ": and " + EnvPassword + " are both set",
			EnvUseSSL + ": \"yes please\" is not true or false",
			EnvPort + ": \"ldap\" is not a port",
			EnvTimeout + ": \"soon\" is neither",
		}},
		{name: "zero timeout", env: with(map[string]string{EnvTimeout: "0"}), wantConfigured: true, want: []string{
			EnvTimeout + ": \"0\" must be positive",
		}},
		{name: "SSL with ldap URL", env: with(map[string]string{EnvHost: "ldap://x", EnvUseSSL: "true"}), wantConfigured: true, want: []string{
			EnvUseSSL + ": is true but " + EnvHost + " is ldap://",
		}},
		{name: "host with a path", env: with(map[string]string{EnvHost: "x/y"}), wantConfigured: true, want: []string{
			EnvHost + ": \"x/y\" is neither",
			// Validate's own finding, named by the variables behind URL.
			EnvHost + "/" + EnvPort + "/" + EnvUseSSL + ": \"ldap://x/y\": nothing may follow",
		}},
		{name: "validation problems name the variables", env: map[string]string{EnvHost: "x", EnvUser: "cn=admin"}, wantConfigured: true, want: []string{
			EnvPassword + ": is required with BindDN", EnvBaseDN + ": is required with BindDN",
		}},
		{name: "missing password file", env: with(map[string]string{EnvPassword: "-", EnvPasswordFile: "/nonexistent/pw"}), wantConfigured: true, want: []string{
			EnvPasswordFile + ": open /nonexistent/pw", EnvPassword + ": is required with BindDN",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, configured, err := OptionsFromEnv(func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
			if configured != tc.wantConfigured {
				t.Errorf("configured = %v, want %v", configured, tc.wantConfigured)
			}
			checkProblems(t, err, tc.want)
			if tc.check != nil {
				tc.check(t, o)
			}
		})
	}
}
