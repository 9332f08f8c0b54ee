// Package ldap authenticates user names and passwords against an LDAP
// directory or Active Directory and resolves users' groups there (seed 002,
// "Group resolution via LDAP"): it is both an identity.PasswordAuthenticator
// and an identity.GroupResolver. OptionsFromEnv reads Okera's
// OKERA_GROUP_RESOLVER_LDAP_* variables.
//
// Each call opens its own connection, binds, searches and closes it: logins
// and group look-ups are rare next to requests (callers cache their
// results), and a connection per call never carries one call's bind over
// to the next. Referrals are not followed.
package ldap

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/lakegate/lakegate/internal/identity"
)

// Method is Identity.Method for users authenticated here.
const Method = "ldap"

// maxUserName bounds the user names looked up; longer ones are refused.
const maxUserName = 256

// groupPageSize is the page size of group searches (Active Directory
// answers at most 1000 entries without paging).
const groupPageSize = 500

// memberOfAttribute lists, on a user's entry, the DNs of the groups the
// user is in (Active Directory; OpenLDAP's memberof overlay).
const memberOfAttribute = "memberOf"

// Authenticator authenticates against one LDAP server and resolves groups
// there. It is safe for concurrent use.
type Authenticator struct {
	o       Options // with defaults
	network string  // host:port
	ldaps   bool
	tls     *tls.Config // nil without ldaps:// or StartTLS
}

var (
	_ identity.PasswordAuthenticator = (*Authenticator)(nil)
	_ identity.GroupResolver         = (*Authenticator)(nil)
)

// New validates o, fills its defaults and returns an Authenticator. It
// does not contact the server.
func New(o Options) (*Authenticator, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	o = o.withDefaults()
	u, err := url.Parse(o.URL)
	if err != nil { // Validate parsed it already
		return nil, fmt.Errorf("ldap: URL: %w", err)
	}
	a := &Authenticator{o: o, ldaps: u.Scheme == "ldaps"}
	port := u.Port()
	if port == "" {
		port = goldap.DefaultLdapPort
		if a.ldaps {
			port = goldap.DefaultLdapsPort
		}
	}
	a.network = net.JoinHostPort(u.Hostname(), port)
	if a.ldaps || o.StartTLS {
		a.tls = &tls.Config{
			MinVersion:         tls.VersionTLS12,
			ServerName:         u.Hostname(),
			InsecureSkipVerify: o.InsecureSkipVerify, //nolint:gosec // documented as for tests only
		}
		if o.ServerName != "" {
			a.tls.ServerName = o.ServerName
		}
		if o.CAFile != "" {
			if a.tls.RootCAs, err = loadCAs(o.CAFile); err != nil {
				return nil, fmt.Errorf("ldap: CAFile: %w", err)
			}
		}
	}
	return a, nil
}

// AuthenticatePassword implements identity.PasswordAuthenticator. It
// refuses an empty user name or password without contacting the server
// (an empty password would be an anonymous bind). With a service account
// it searches the user's entry, which must be unique, and binds as its DN
// with password; with UserDNTemplate it binds as the template's DN
// directly. Only the server's invalidCredentials answer to the user's bind
// (and a user not found or not unique) wrap identity.ErrUnauthenticated;
// a failing service account, network or TLS is a technical error.
func (a *Authenticator) AuthenticatePassword(ctx context.Context, user, password string) (identity.Identity, error) {
	if user == "" || password == "" {
		return identity.Identity{}, fmt.Errorf("ldap: %w: empty user name or password", identity.ErrUnauthenticated)
	}
	if !validUserName(user) {
		return identity.Identity{}, fmt.Errorf("ldap: %w: user name with control characters, invalid UTF-8 or too long", identity.ErrUnauthenticated)
	}
	var name string
	err := a.session(ctx, func(s *session) error {
		var (
			dn    string
			entry *goldap.Entry
		)
		if a.o.UserDNTemplate != "" {
			dn = fillDN(a.o.UserDNTemplate, user)
		} else {
			if err := s.bindService(); err != nil {
				return err
			}
			var err error
			entry, err = s.findUser(user, a.o.UserNameAttribute)
			if errors.Is(err, errAmbiguous) {
				return fmt.Errorf("%w: %w", identity.ErrUnauthenticated, err)
			}
			if err != nil {
				return err
			}
			if entry == nil {
				return fmt.Errorf("%w: no such user", identity.ErrUnauthenticated)
			}
			dn = entry.DN
		}
		if err := s.bindUser(dn, password); err != nil {
			return err
		}
		if a.o.UserNameAttribute == "" {
			name = user
			return nil
		}
		if entry == nil { // direct bind: read the name as the user
			var err error
			if entry, err = s.readEntry(dn, a.o.UserNameAttribute); err != nil {
				return err
			}
		}
		var err error
		name, err = oneValue(entry, a.o.UserNameAttribute)
		return err
	})
	if err != nil {
		return identity.Identity{}, fmt.Errorf("ldap: authenticating %q: %w", user, err)
	}
	return identity.Identity{User: name, Method: Method}, nil
}

// Groups implements identity.GroupResolver. It needs the service account.
// A user without an entry (or with an empty or unusable name) is in no
// group; a name matching several entries is an error. The groups are those
// GroupSearchFilter finds under GroupSearchBase ({0} being the entry's
// UserNameAttribute when that is set, the name given otherwise) plus those
// the entry's memberOf attribute names (by the value of their DN's first
// RDN), all down-cased as seed 002 says, sorted and without duplicates.
func (a *Authenticator) Groups(ctx context.Context, user string) ([]string, error) {
	if user == "" || !validUserName(user) {
		return nil, nil
	}
	if a.o.BindDN == "" {
		return nil, fmt.Errorf("ldap: groups of %q: resolving groups needs a service account (BindDN)", user)
	}
	var names []string
	err := a.session(ctx, func(s *session) error {
		if err := s.bindService(); err != nil {
			return err
		}
		entry, err := s.findUser(user, memberOfAttribute, a.o.UserNameAttribute)
		if err != nil {
			return err
		}
		if entry == nil {
			return nil
		}
		name := user
		if a.o.UserNameAttribute != "" {
			// {0} is the name as the directory spells it: posixGroup's
			// memberUid matches case-sensitively.
			if name, err = oneValue(entry, a.o.UserNameAttribute); err != nil {
				return err
			}
		}
		for _, g := range entry.GetEqualFoldAttributeValues(memberOfAttribute) {
			if n := rdnValue(g, ""); n != "" {
				names = append(names, n)
			}
		}
		found, err := s.findGroups(name, entry.DN)
		if err != nil {
			return err
		}
		names = append(names, found...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ldap: groups of %q: %w", user, err)
	}
	for i, n := range names {
		names[i] = strings.ToLower(n)
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

// session is one connection, used by one call.
type session struct {
	a    *Authenticator
	ctx  context.Context
	conn *goldap.Conn
}

// session connects, runs f and closes the connection. ctx (bounded by
// Options.Timeout) closes the connection when done, which aborts whatever
// f is waiting for.
func (a *Authenticator) session(ctx context.Context, f func(*session) error) error {
	ctx, cancel := context.WithTimeout(ctx, a.o.Timeout)
	defer cancel()
	s := &session{a: a, ctx: ctx}
	if err := s.connect(); err != nil {
		return s.wrap("connecting to "+a.network, err)
	}
	defer func() { _ = s.conn.Close() }()
	stop := context.AfterFunc(ctx, func() { _ = s.conn.Close() })
	defer stop()
	if a.o.StartTLS {
		if err := s.conn.StartTLS(a.tls); err != nil {
			return s.wrap("StartTLS", err)
		}
	}
	return f(s)
}

func (s *session) connect() error {
	d := &net.Dialer{}
	var (
		nc  net.Conn
		err error
	)
	if s.a.ldaps {
		nc, err = (&tls.Dialer{NetDialer: d, Config: s.a.tls}).DialContext(s.ctx, "tcp", s.a.network)
	} else {
		nc, err = d.DialContext(s.ctx, "tcp", s.a.network)
	}
	if err != nil {
		return err
	}
	s.conn = goldap.NewConn(nc, s.a.ldaps)
	s.conn.Start()
	// A safety net only: the context's deadline, a little earlier, closes
	// the connection and is then reported as the cause.
	if deadline, ok := s.ctx.Deadline(); ok {
		s.conn.SetTimeout(time.Until(deadline) + time.Second)
	}
	return nil
}

// wrap describes a technical failure of step, saying so when it is the
// context's doing (cancelled, or Options.Timeout reached).
func (s *session) wrap(step string, err error) error {
	if cerr := context.Cause(s.ctx); cerr != nil {
		return fmt.Errorf("%s: %w (%w)", step, cerr, err)
	}
	return fmt.Errorf("%s: %w", step, err)
}

func (s *session) bindService() error {
	if err := s.conn.Bind(s.a.o.BindDN, s.a.o.BindPassword); err != nil {
		// Never ErrUnauthenticated: the service account's credentials
		// say nothing about the user's.
		return s.wrap("binding as the service account "+s.a.o.BindDN, err)
	}
	return nil
}

// bindUser binds as the user. Only invalidCredentials (49) is the user's
// fault: Active Directory also answers it, with a sub-code in the
// diagnostic, for locked, disabled and expired accounts.
func (s *session) bindUser(dn, password string) error {
	if dn == "" { // an empty DN with a password must not become anonymous
		return fmt.Errorf("%w: empty DN", identity.ErrUnauthenticated)
	}
	err := s.conn.Bind(dn, password)
	switch {
	case err == nil:
		return nil
	case goldap.IsErrorWithCode(err, goldap.LDAPResultInvalidCredentials) && s.ctx.Err() == nil:
		return fmt.Errorf("%w: invalid credentials", identity.ErrUnauthenticated)
	default:
		return s.wrap("binding as the user", err)
	}
}

// errAmbiguous is returned by findUser when several entries match.
var errAmbiguous = errors.New("the user name matches several entries")

// findUser returns the user's entry with attrs, nil if there is none, or
// errAmbiguous if several entries match.
func (s *session) findUser(user string, attrs ...string) (*goldap.Entry, error) {
	o := s.a.o
	req := goldap.NewSearchRequest(o.BaseDN, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases,
		2, s.timeLimit(), false, fillFilter(o.UserSearchFilter, user, ""), withNoAttrs(attrs), nil)
	res, err := s.conn.Search(req)
	switch {
	case goldap.IsErrorWithCode(err, goldap.LDAPResultSizeLimitExceeded):
		return nil, errAmbiguous
	case goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject):
		return nil, s.wrap("searching the user", fmt.Errorf("BaseDN %q does not exist: %w", o.BaseDN, err))
	case err != nil:
		return nil, s.wrap("searching the user", err)
	case len(res.Entries) == 0:
		return nil, nil
	case len(res.Entries) > 1:
		return nil, errAmbiguous
	}
	return res.Entries[0], nil
}

// readEntry reads attrs of the entry dn (as whoever is bound).
func (s *session) readEntry(dn string, attrs ...string) (*goldap.Entry, error) {
	req := goldap.NewSearchRequest(dn, goldap.ScopeBaseObject, goldap.NeverDerefAliases,
		1, s.timeLimit(), false, "(objectClass=*)", withNoAttrs(attrs), nil)
	res, err := s.conn.Search(req)
	if err != nil {
		return nil, s.wrap("reading "+dn, err)
	}
	if len(res.Entries) != 1 {
		return nil, fmt.Errorf("reading %s: %d entries", dn, len(res.Entries))
	}
	return res.Entries[0], nil
}

// findGroups returns the names of the groups GroupSearchFilter finds.
func (s *session) findGroups(user, dn string) ([]string, error) {
	o := s.a.o
	attr := o.GroupNameAttribute
	req := goldap.NewSearchRequest(o.GroupSearchBase, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases,
		0, s.timeLimit(), false, fillFilter(o.GroupSearchFilter, user, dn), []string{attr}, nil)
	res, err := s.conn.SearchWithPaging(req, groupPageSize)
	if err != nil {
		return nil, s.wrap("searching the groups", err)
	}
	var names []string
	for _, e := range res.Entries {
		if n := rdnValue(e.DN, attr); n != "" {
			names = append(names, n)
			continue
		}
		for _, v := range e.GetEqualFoldAttributeValues(attr) {
			if v != "" {
				names = append(names, v)
			}
		}
	}
	return names, nil
}

// timeLimit is the server-side time limit of a search, in whole seconds
// (at least 1), from what is left of the call's time.
func (s *session) timeLimit() int {
	deadline, ok := s.ctx.Deadline()
	if !ok {
		return 0
	}
	return max(1, int(time.Until(deadline)/time.Second))
}

// withNoAttrs returns attrs, or the "no attributes" selector (RFC 4511
// 4.5.1.8) if it has none.
func withNoAttrs(attrs []string) []string {
	var out []string
	for _, a := range attrs {
		if a != "" {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return []string{"1.1"}
	}
	return out
}

// oneValue returns the single value of attr on e.
func oneValue(e *goldap.Entry, attr string) (string, error) {
	vs := e.GetEqualFoldAttributeValues(attr)
	if len(vs) != 1 || vs[0] == "" {
		return "", fmt.Errorf("the user entry %s has %d values of %s (UserNameAttribute), not one", e.DN, len(vs), attr)
	}
	return vs[0], nil
}

// rdnValue returns the value of the first RDN of dn when its attribute is
// attr (any attribute if attr is empty), "" otherwise or if dn does not
// parse.
func rdnValue(dn, attr string) string {
	d, err := goldap.ParseDN(dn)
	if err != nil || len(d.RDNs) == 0 || len(d.RDNs[0].Attributes) == 0 {
		return ""
	}
	first := d.RDNs[0].Attributes[0]
	if attr != "" && !strings.EqualFold(first.Type, attr) {
		return ""
	}
	return first.Value
}

// validUserName reports whether user may be looked up: valid UTF-8, no
// control characters, not too long. Escaping makes any name safe in a
// filter or DN; this only refuses names no directory holds.
func validUserName(user string) bool {
	if len(user) > maxUserName || !utf8.ValidString(user) {
		return false
	}
	return !strings.ContainsFunc(user, unicode.IsControl)
}
