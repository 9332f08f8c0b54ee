package ldap

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
)

// Defaults applied by New (and assumed by Validate) to empty fields.
const (
	// DefaultUserSearchFilter finds an inetOrgPerson/posixAccount by uid.
	DefaultUserSearchFilter = "(&(objectClass=person)(uid={0}))"
	// DefaultUserNameAttribute is the attribute whose value becomes
	// Identity.User; it is only the default when UserSearchFilter is the
	// default too (see Options.UserNameAttribute).
	DefaultUserNameAttribute = "uid"
	// DefaultGroupSearchFilter finds the groupOfNames and
	// groupOfUniqueNames that list the user's DN and the posixGroups that
	// list the user's name.
	DefaultGroupSearchFilter = "(|(&(objectClass=groupOfNames)(member={dn}))" +
		"(&(objectClass=groupOfUniqueNames)(uniqueMember={dn}))" +
		"(&(objectClass=posixGroup)(memberUid={0})))"
	// DefaultGroupNameAttribute names a group.
	DefaultGroupNameAttribute = "cn"
	// DefaultTimeout bounds one call (connect, binds and searches).
	DefaultTimeout = 10 * time.Second
)

// Options configure an Authenticator. The zero value of every field but
// URL and one of BindDN or UserDNTemplate has a usable default.
//
// Filters and templates take placeholders, replaced in one pass (a value
// put in is never searched for placeholders again):
//
//	{0}        the user name, escaped for its context (RFC 4515 in filters,
//	           RFC 4514 in UserDNTemplate)
//	{1}, {dn}  the user entry's DN, escaped for filters (GroupSearchFilter only)
//
// Injection is therefore impossible: "*", "alice)(uid=*" or a NUL byte in
// a user name reach the server as the literal characters.
type Options struct {
	// URL is the server: ldap://host[:port] (port 389 by default) or
	// ldaps://host[:port] (636). Nothing may follow the host but "/".
	URL string
	// StartTLS upgrades an ldap:// connection with the StartTLS operation
	// before anything is sent. Without ldaps:// or StartTLS, passwords
	// cross the network in the clear.
	StartTLS bool
	// CAFile is a PEM file of the certificate authorities trusted for
	// ldaps:// and StartTLS; empty means the system's.
	CAFile string
	// ServerName is the name the server's certificate must carry; empty
	// means the URL's host.
	ServerName string
	// InsecureSkipVerify accepts any server certificate. It exists for
	// tests; never set it in production.
	InsecureSkipVerify bool

	// BindDN and BindPassword are the service account that searches users
	// and groups (Okera's OKERA_GROUP_RESOLVER_LDAP_USER). lakegate never
	// binds anonymously, so BindPassword must be set with BindDN.
	BindDN       string
	BindPassword string
	// UserDNTemplate, such as "uid={0},ou=people,dc=example,dc=com", makes
	// AuthenticatePassword bind directly as the user's DN, without a search.
	// It is the only way to authenticate without a service account; with
	// one, it still replaces the user search when authenticating (Groups
	// always searches).
	UserDNTemplate string

	// BaseDN is where users are searched (subtree). Required with BindDN.
	BaseDN string
	// UserSearchFilter finds the user's entry; it must contain {0}.
	// Default DefaultUserSearchFilter. Okera's example is
	// "(&(objectClass=Person)(cn={0}))".
	UserSearchFilter string
	// UserNameAttribute is the attribute of the user's entry whose value
	// becomes Identity.User, so that "ALICE" or " alice", which LDAP
	// matches like "alice", are all known as "alice" (and a filter may let
	// users log in with another attribute, such as mail). It must have one
	// value. Empty means the name as typed. Default DefaultUserNameAttribute
	// when UserSearchFilter and UserDNTemplate are both empty, empty
	// otherwise.
	UserNameAttribute string

	// GroupSearchBase is where groups are searched (subtree); default
	// BaseDN.
	GroupSearchBase string
	// GroupSearchFilter finds the user's groups; it must contain {0}, {1}
	// or {dn}. Default DefaultGroupSearchFilter.
	GroupSearchFilter string
	// GroupNameAttribute names a found group; default "cn". When the
	// group's DN starts with this attribute (cn=Analysts,…), that value is
	// the name; otherwise every value of the attribute is.
	GroupNameAttribute string

	// Timeout bounds one AuthenticatePassword or Groups call as a whole:
	// connecting, TLS, binds and searches. Default DefaultTimeout.
	Timeout time.Duration
}

// withDefaults returns o with its empty fields defaulted.
func (o Options) withDefaults() Options {
	if o.UserSearchFilter == "" {
		o.UserSearchFilter = DefaultUserSearchFilter
		if o.UserNameAttribute == "" && o.UserDNTemplate == "" {
			o.UserNameAttribute = DefaultUserNameAttribute
		}
	}
	if o.GroupSearchBase == "" {
		o.GroupSearchBase = o.BaseDN
	}
	if o.GroupSearchFilter == "" {
		o.GroupSearchFilter = DefaultGroupSearchFilter
	}
	if o.GroupNameAttribute == "" {
		o.GroupNameAttribute = DefaultGroupNameAttribute
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	return o
}

// problem is one thing wrong with Options: the field and what is wrong.
type problem struct{ field, msg string }

// Validate reports every problem with o (after defaults), joined with
// errors.Join, each prefixed with the field it concerns. It changes
// nothing; it reads CAFile.
func (o Options) Validate() error {
	return joinProblems(o.problems(), nil)
}

// joinProblems joins ps into one error; rename, when not nil, maps a field
// to the name the user configured it by.
func joinProblems(ps []problem, rename map[string]string) error {
	errs := make([]error, 0, len(ps))
	for _, p := range ps {
		field := p.field
		if r, ok := rename[field]; ok {
			field = r
		}
		errs = append(errs, fmt.Errorf("ldap: %s: %s", field, p.msg))
	}
	return errors.Join(errs...)
}

// attributeRE matches an attribute description: a name or an OID.
var attributeRE = regexp.MustCompile(`^(?:[A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)+)$`)

func (o Options) problems() []problem {
	o = o.withDefaults()
	var ps []problem
	add := func(field, format string, args ...any) {
		ps = append(ps, problem{field, fmt.Sprintf(format, args...)})
	}

	tlsUsed := false
	if o.URL == "" {
		add("URL", "is required")
	} else if u, err := url.Parse(o.URL); err != nil {
		add("URL", "%q does not parse: %v", o.URL, err)
	} else {
		switch {
		case u.Scheme != "ldap" && u.Scheme != "ldaps":
			add("URL", "%q: the scheme must be ldap:// or ldaps://", o.URL)
		case u.Hostname() == "":
			add("URL", "%q has no host", o.URL)
		case u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "":
			add("URL", "%q: nothing may follow the host and port (the DNs and filters are options of their own)", o.URL)
		}
		if p := u.Port(); p != "" {
			if _, err := net.LookupPort("tcp", p); err != nil {
				add("URL", "%q: bad port %q", o.URL, p)
			}
		}
		if u.Scheme == "ldaps" && o.StartTLS {
			add("StartTLS", "cannot be used with ldaps:// (the connection is TLS already)")
		}
		tlsUsed = u.Scheme == "ldaps" || o.StartTLS
	}
	if !tlsUsed {
		for _, f := range []struct {
			field string
			set   bool
		}{{"CAFile", o.CAFile != ""}, {"ServerName", o.ServerName != ""}, {"InsecureSkipVerify", o.InsecureSkipVerify}} {
			if f.set {
				add(f.field, "has no effect without ldaps:// or StartTLS")
			}
		}
	}
	if o.CAFile != "" {
		if o.InsecureSkipVerify {
			add("InsecureSkipVerify", "contradicts CAFile")
		}
		if _, err := loadCAs(o.CAFile); err != nil {
			add("CAFile", "%v", err)
		}
	}

	switch {
	case o.BindDN == "" && o.UserDNTemplate == "":
		add("BindDN", "set a service account (BindDN and BindPassword) or UserDNTemplate")
	case o.BindDN != "" && o.BindPassword == "":
		add("BindPassword", "is required with BindDN (lakegate never binds anonymously)")
	case o.BindDN == "" && o.BindPassword != "":
		add("BindPassword", "is set but BindDN is not")
	}
	checkDN := func(field, dn string) {
		if dn == "" {
			return
		}
		if _, err := goldap.ParseDN(dn); err != nil {
			add(field, "%q is not a DN: %v", dn, err)
		}
	}
	checkDN("BindDN", o.BindDN)
	checkDN("BaseDN", o.BaseDN)
	checkDN("GroupSearchBase", o.GroupSearchBase)
	if o.BindDN != "" && o.BaseDN == "" {
		add("BaseDN", "is required with BindDN (users and groups are searched under it)")
	}
	if o.UserDNTemplate != "" {
		if !strings.Contains(o.UserDNTemplate, "{0}") {
			add("UserDNTemplate", "%q does not contain {0} (the user name)", o.UserDNTemplate)
		} else {
			checkDN("UserDNTemplate", fillDN(o.UserDNTemplate, "user"))
		}
	}

	checkFilter := func(field, filter string, placeholders ...string) {
		if !containsAny(filter, placeholders) {
			add(field, "%q contains none of %s", filter, strings.Join(placeholders, ", "))
			return
		}
		if _, err := goldap.CompileFilter(fillFilter(filter, "user", "uid=user,dc=example")); err != nil {
			add(field, "%q is not an LDAP filter: %v", filter, err)
		}
	}
	checkFilter("UserSearchFilter", o.UserSearchFilter, "{0}")
	if strings.Contains(o.UserSearchFilter, "{1}") || strings.Contains(o.UserSearchFilter, "{dn}") {
		add("UserSearchFilter", "%q: {1} and {dn} (the user's DN) are only known in GroupSearchFilter", o.UserSearchFilter)
	}
	checkFilter("GroupSearchFilter", o.GroupSearchFilter, "{0}", "{1}", "{dn}")

	for _, a := range [][2]string{{"UserNameAttribute", o.UserNameAttribute}, {"GroupNameAttribute", o.GroupNameAttribute}} {
		if a[1] != "" && !attributeRE.MatchString(a[1]) {
			add(a[0], "%q is not an attribute name", a[1])
		}
	}
	if o.Timeout < 0 {
		add("Timeout", "must not be negative")
	}
	return ps
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// loadCAs reads a PEM file of certificates into a pool.
func loadCAs(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", file)
	}
	return pool, nil
}

// fillFilter replaces the placeholders of a filter in one pass: {0} by
// user and {1} and {dn} by dn, both escaped as filter values (RFC 4515).
func fillFilter(filter, user, dn string) string {
	return strings.NewReplacer(
		"{0}", goldap.EscapeFilter(user),
		"{1}", goldap.EscapeFilter(dn),
		"{dn}", goldap.EscapeFilter(dn),
	).Replace(filter)
}

// fillDN replaces {0} in a DN template by user, escaped as an attribute
// value (RFC 4514).
func fillDN(template, user string) string {
	return strings.ReplaceAll(template, "{0}", goldap.EscapeDN(user))
}
