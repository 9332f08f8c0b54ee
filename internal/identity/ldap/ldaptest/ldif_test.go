package ldaptest

import (
	"crypto/sha1" //nolint:gosec // {SSHA} is SHA-1 by definition
	"encoding/base64"
	"reflect"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
)

func TestParseLDIF(t *testing.T) {
	got, err := ParseLDIF("# comment\n\n\ndn: cn=a,dc=x\nobjectClass: top\nobjectclass: person\ncn:  a\ndescription:: aMOpbGxv\n" +
		"sn: long\n  value\n\r\ndn: cn=b,dc=x\ncn: b")
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{
		{DN: "cn=a,dc=x", Attributes: []Attribute{
			{"objectClass", []string{"top", "person"}}, {"cn", []string{"a"}},
			{"description", []string{"héllo"}}, {"sn", []string{"long value"}},
		}},
		{DN: "cn=b,dc=x", Attributes: []Attribute{{"cn", []string{"b"}}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseLDIF =\n%+v\nwant\n%+v", got, want)
	}
	for _, bad := range []string{
		"cn: a",                            // no dn
		"dn: cn=a\n",                       // no attributes
		" x",                               // continuation of nothing
		"dn: cn=a\ncn a",                   // no colon
		"dn: cn=a\ncn:: !!",                // bad base64
		"dn: cn=a\njpegPhoto:< file:///x",  // URL
		"dn: cn=a\nchangetype: add\ncn: a", // change record
		"dn: cn=a\ncn: a\ndn: cn=b\ncn: b", // two records run together
		"dn: cn=a\ncn;lang-en: a",          // option
	} {
		if _, err := ParseLDIF(bad); err == nil {
			t.Errorf("ParseLDIF(%q) succeeded", bad)
		}
	}
	if _, err := ParseLDIF(Example()); err != nil {
		t.Errorf("Example: %v", err)
	}
}

func TestSSHA(t *testing.T) {
	h := SSHA("secret")
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(h, "{SSHA}"))
	if !strings.HasPrefix(h, "{SSHA}") || err != nil || len(raw) != sha1.Size+8 {
		t.Fatalf("SSHA = %q (%v)", h, err)
	}
	sum := sha1.Sum(append([]byte("secret"), raw[sha1.Size:]...)) //nolint:gosec // see the import
	if string(sum[:]) != string(raw[:sha1.Size]) {
		t.Errorf("SSHA = %q does not verify", h)
	}
	if SSHA("secret") == h {
		t.Errorf("SSHA is not salted")
	}
}

// TestStart checks the harness itself: slapd answers, anonymous users see
// nothing, and Stop stops it.
func TestStart(t *testing.T) {
	s := Start(t, Options{LDIF: Example()})
	c := s.Conn(t)
	res, err := c.WhoAmI(nil)
	if err != nil || res.AuthzID != "dn:"+RootDN {
		t.Fatalf("WhoAmI = %+v, %v", res, err)
	}
	anon, err := s.dial(time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = anon.Close() }()
	if err := anon.UnauthenticatedBind(""); err != nil {
		t.Fatal(err)
	}
	sr, err := anon.Search(goldap.NewSearchRequest(Suffix, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases,
		0, 0, false, "(objectClass=*)", nil, nil))
	if err == nil && len(sr.Entries) > 0 {
		t.Errorf("anonymous search found %d entries", len(sr.Entries))
	}
	s.Stop()
	s.Stop() // idempotent
	if _, err := s.rootConn(); err == nil {
		t.Errorf("slapd still answers after Stop")
	}
}
