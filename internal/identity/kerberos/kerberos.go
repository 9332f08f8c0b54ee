// Package kerberos authenticates HTTP requests that carry a Kerberos
// ticket in an SPNEGO token (RFC 4559, "Authorization: Negotiate <token>"),
// the way `curl --negotiate -u :` sends one, and verifies it with the
// service's keytab.
//
// It is a plain function, not middleware: Negotiate returns the identity or
// an error, and the caller decides what to answer; Challenge adds the
// "WWW-Authenticate: Negotiate" header a 401 should carry.
//
// The exchange is single-leg. The client's first token must hold a Kerberos
// AP-REQ (SPNEGO with Kerberos as the first, optimistic mechanism, or a raw
// RFC 1964 Kerberos token); multi-leg negotiation (NegTokenResp
// continuations, NTLM) is refused. No mutual-authentication token (AP-REP)
// is returned: curl and most browsers do not need one, while a client that
// insists on mutual authentication (for example requests-kerberos with
// mutual_authentication=REQUIRED) will reject the response. gokrb5 cannot
// build an AP-REP.
//
// Replayed authenticators are refused by gokrb5's replay cache, which is
// process-wide and in memory: separate lakegate processes behind one
// service principal do not see each other's tokens.
package kerberos

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/gssapi"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/service"
	"github.com/jcmturner/gokrb5/v8/spnego"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/lakegate/lakegate/internal/identity"
)

// Method is the Identity.Method of users authenticated by this package.
const Method = "kerberos"

// DefaultMaxClockSkew is used when Options.MaxClockSkew is zero; it is
// Kerberos' customary five minutes.
const DefaultMaxClockSkew = 5 * time.Minute

// maxTokenLen bounds the base64 text of a Negotiate header. Windows caps a
// Kerberos token (with a large PAC) at 48,000 bytes, about 64 KiB of base64.
const maxTokenLen = 64 << 10

// minCiphertext is the shortest ticket or authenticator ciphertext
// verified: the largest confounder plus checksum among the encryption
// types gokrb5 supports (aes256-cts-hmac-sha384-192: 16 + 24 bytes).
// gokrb5 slices shorter ones without checking and panics. Real ones are
// far longer (the encrypted ticket part and authenticator alone are).
const minCiphertext = 40

// ErrNoNegotiate is returned (wrapping identity.ErrUnauthenticated) when a
// request carries no "Authorization: Negotiate" header at all, so that a
// caller supporting several schemes can tell "not Kerberos" from "a bad
// Kerberos token".
var ErrNoNegotiate = fmt.Errorf("%w: no Negotiate authorization", identity.ErrUnauthenticated)

// Options configure an Authenticator. Set exactly one of KeytabPath and
// Keytab.
type Options struct {
	// KeytabPath is the file holding the service's keys (ktadd -k FILE).
	KeytabPath string
	// Keytab is the keytab's content, for keys not kept in a file.
	Keytab []byte
	// ServicePrincipal is the principal clients must have a ticket for,
	// such as "HTTP/lakegate.example.com" or, to pin the realm too,
	// "HTTP/lakegate.example.com@EXAMPLE.COM". The keytab must hold a key
	// for it. Escaped "/" and "@" are not supported.
	//
	// When empty, a ticket for any principal whose key is in the keytab is
	// accepted. That is what the seed's "any hostname as the principal"
	// asks for when the keytab holds several HTTP/<host> keys, but it also
	// means every key in the keytab is a key to this service: give the
	// server a keytab with only its own principals in it.
	ServicePrincipal string
	// MaxClockSkew is the largest difference tolerated between this host's
	// clock and the client's (the authenticator's time) or the ticket's
	// validity; zero means DefaultMaxClockSkew.
	MaxClockSkew time.Duration
}

// Validate reports every problem with the options; it reads no files.
func (o Options) Validate() error {
	var errs []error
	switch {
	case o.KeytabPath == "" && len(o.Keytab) == 0:
		errs = append(errs, errors.New("kerberos: a keytab is required (KeytabPath or Keytab)"))
	case o.KeytabPath != "" && len(o.Keytab) != 0:
		errs = append(errs, errors.New("kerberos: set only one of KeytabPath and Keytab"))
	}
	if o.ServicePrincipal != "" {
		if _, err := parsePrincipal(o.ServicePrincipal); err != nil {
			errs = append(errs, err)
		}
	}
	if o.MaxClockSkew < 0 {
		errs = append(errs, fmt.Errorf("kerberos: MaxClockSkew %v is negative", o.MaxClockSkew))
	}
	return errors.Join(errs...)
}

// principal is a parsed ServicePrincipal.
type principal struct {
	components []string
	realm      string // "" matches any realm
}

func parsePrincipal(s string) (principal, error) {
	name, realm, hasRealm := strings.Cut(s, "@")
	if hasRealm && (realm == "" || strings.Contains(realm, "@")) {
		return principal{}, fmt.Errorf("kerberos: ServicePrincipal %q: bad realm", s)
	}
	comps := strings.Split(name, "/")
	if slices.Contains(comps, "") {
		return principal{}, fmt.Errorf("kerberos: ServicePrincipal %q: empty name component", s)
	}
	return principal{components: comps, realm: realm}, nil
}

func (p principal) String() string {
	s := strings.Join(p.components, "/")
	if p.realm != "" {
		s += "@" + p.realm
	}
	return s
}

// matches reports whether a name and realm (a ticket's SName and realm, or
// a keytab entry's) are this principal. Name types are not compared (RFC
// 4120 section 6.2).
func (p principal) matches(components []string, realm string) bool {
	return slices.Equal(p.components, components) && (p.realm == "" || p.realm == realm)
}

// Authenticator verifies Negotiate headers with a keytab. It is safe for
// concurrent use.
type Authenticator struct {
	kt   *keytab.Keytab
	spn  *principal // nil: any principal in kt
	skew time.Duration
}

// New validates the options, loads the keytab and checks that it holds a
// key for the ServicePrincipal.
func New(o Options) (*Authenticator, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	raw := o.Keytab
	if o.KeytabPath != "" {
		b, err := os.ReadFile(o.KeytabPath)
		if err != nil {
			return nil, fmt.Errorf("kerberos: reading keytab: %w", err)
		}
		raw = b
	}
	kt := keytab.New()
	if err := kt.Unmarshal(raw); err != nil {
		return nil, fmt.Errorf("kerberos: parsing keytab: %w", err)
	}
	if len(kt.Entries) == 0 {
		return nil, errors.New("kerberos: the keytab holds no keys")
	}
	a := &Authenticator{kt: kt, skew: o.MaxClockSkew}
	if a.skew == 0 {
		a.skew = DefaultMaxClockSkew
	}
	if o.ServicePrincipal != "" {
		p, _ := parsePrincipal(o.ServicePrincipal) // checked by Validate
		found := false
		for _, e := range kt.Entries {
			found = found || p.matches(e.Principal.Components, e.Principal.Realm)
		}
		if !found {
			return nil, fmt.Errorf("kerberos: the keytab holds no key for %s", p)
		}
		a.spn = &p
	}
	return a, nil
}

// Negotiate authenticates the request's "Authorization: Negotiate" header.
// It returns the ticket's client principal with its realm as the user
// ("alice@EXAMPLE.COM"), Method "kerberos" and the ticket's end time as
// Expires.
//
// Every failure wraps identity.ErrUnauthenticated: ErrNoNegotiate when the
// header is absent (or uses another scheme), otherwise the token was
// malformed, for another service, expired, replayed or not decryptable
// with the keytab. Negotiate writes nothing to any response and never
// panics: a panic inside gokrb5, which parses what the client sent, is
// turned into an error.
func (a *Authenticator) Negotiate(r *http.Request) (id identity.Identity, err error) {
	defer func() {
		if p := recover(); p != nil {
			id, err = identity.Identity{}, unauthenticated("malformed token (gokrb5 panicked: %v)", p)
		}
	}()
	return a.negotiate(r)
}

// negotiate is Negotiate without the recover, for the fuzz targets, which
// must see panics.
func (a *Authenticator) negotiate(r *http.Request) (identity.Identity, error) {
	raw, err := negotiateToken(r.Header)
	if err != nil {
		return identity.Identity{}, err
	}
	apreq, err := parseAPReq(raw)
	if err != nil {
		return identity.Identity{}, fmt.Errorf("%w: kerberos: %w", identity.ErrUnauthenticated, err)
	}
	return a.verify(apreq, r.RemoteAddr)
}

func unauthenticated(format string, args ...any) error {
	return fmt.Errorf("%w: kerberos: %s", identity.ErrUnauthenticated, fmt.Sprintf(format, args...))
}

// verify checks the AP-REQ against the keytab; remoteAddr is matched
// against the ticket's addresses when it has any (MIT tickets usually
// have none: noaddresses defaults to true).
func (a *Authenticator) verify(apreq *messages.APReq, remoteAddr string) (identity.Identity, error) {
	tkt := &apreq.Ticket
	// The ticket's SName travels in the clear, but it also chooses the key
	// the ticket is decrypted with, so a ticket relabelled with our name
	// does not decrypt.
	if a.spn != nil && !a.spn.matches(tkt.SName.NameString, tkt.Realm) {
		return identity.Identity{}, unauthenticated("ticket is for %s@%s, not %s",
			tkt.SName.PrincipalNameString(), tkt.Realm, a.spn)
	}
	if len(tkt.EncPart.Cipher) < minCiphertext || len(apreq.EncryptedAuthenticator.Cipher) < minCiphertext {
		return identity.Identity{}, unauthenticated("ciphertext shorter than %d bytes", minCiphertext)
	}
	settings := []func(*service.Settings){
		// MIT KDCs (1.20+) put PACs in tickets that gokrb5 cannot decode
		// (it expects Active Directory's); the PAC's group SIDs are not used.
		service.DecodePAC(false),
		service.MaxClockSkew(a.skew),
	}
	if h, err := types.GetHostAddress(remoteAddr); err == nil {
		settings = append(settings, service.ClientAddress(h))
	}
	ok, _, err := service.VerifyAPREQ(apreq, service.NewSettings(a.kt, settings...))
	if err != nil {
		return identity.Identity{}, fmt.Errorf("%w: kerberos: %w", identity.ErrUnauthenticated, err)
	}
	if !ok {
		return identity.Identity{}, unauthenticated("AP-REQ not valid")
	}
	// The KDC vouches for the client named inside the ticket; the
	// authenticator is written by the client. gokrb5 compares their names
	// but not their realms.
	enc := &tkt.DecryptedEncPart
	if apreq.Authenticator.CRealm != enc.CRealm {
		return identity.Identity{}, unauthenticated("authenticator realm %q does not match the ticket's %q",
			apreq.Authenticator.CRealm, enc.CRealm)
	}
	if len(enc.CName.NameString) == 0 || enc.CRealm == "" {
		return identity.Identity{}, unauthenticated("ticket names no client")
	}
	return identity.Identity{
		User:    enc.CName.PrincipalNameString() + "@" + enc.CRealm,
		Method:  Method,
		Expires: enc.EndTime,
	}, nil
}

// negotiateToken returns the decoded token of the request's first
// "Authorization: Negotiate" header.
func negotiateToken(h http.Header) ([]byte, error) {
	for _, v := range h.Values("Authorization") {
		scheme, rest, _ := strings.Cut(strings.TrimSpace(v), " ")
		if !strings.EqualFold(scheme, "Negotiate") {
			continue
		}
		tok := strings.TrimSpace(rest)
		switch {
		case tok == "":
			return nil, unauthenticated("Negotiate header without a token")
		case len(tok) > maxTokenLen:
			return nil, unauthenticated("Negotiate token longer than %d bytes", maxTokenLen)
		}
		b, err := base64.StdEncoding.DecodeString(tok)
		if err != nil {
			return nil, unauthenticated("Negotiate token is not base64")
		}
		return b, nil
	}
	return nil, ErrNoNegotiate
}

// parseAPReq extracts the Kerberos AP-REQ from an SPNEGO NegTokenInit whose
// first mechanism is Kerberos, or from a raw Kerberos GSS-API token.
func parseAPReq(b []byte) (*messages.APReq, error) {
	if len(b) == 0 {
		return nil, errors.New("empty token")
	}
	mech := b
	var st spnego.SPNEGOToken
	if err := st.Unmarshal(b); err == nil {
		if !st.Init {
			return nil, errors.New("not an initial SPNEGO token (multi-leg negotiation is not supported)")
		}
		mts := st.NegTokenInit.MechTypes
		if len(mts) == 0 || !isKerberos(mts[0]) {
			return nil, errors.New("the client's preferred SPNEGO mechanism is not Kerberos")
		}
		mech = st.NegTokenInit.MechTokenBytes
	}
	// Otherwise b may be a raw Kerberos token (RFC 1964 section 1.1); the
	// Unmarshal below says if it is not.
	var kt spnego.KRB5Token
	if err := kt.Unmarshal(mech); err != nil {
		return nil, err
	}
	if !kt.IsAPReq() {
		return nil, errors.New("the Kerberos token is not an AP-REQ")
	}
	return &kt.APReq, nil
}

func isKerberos(oid asn1.ObjectIdentifier) bool {
	return oid.Equal(gssapi.OIDKRB5.OID()) || oid.Equal(gssapi.OIDMSLegacyKRB5.OID())
}

// Challenge adds "WWW-Authenticate: Negotiate" to the response headers
// unless it is already there, keeping other schemes' challenges. The
// caller writes the 401 status itself.
func Challenge(w http.ResponseWriter) {
	h := w.Header()
	if slices.ContainsFunc(h.Values("WWW-Authenticate"), func(v string) bool {
		return strings.EqualFold(strings.TrimSpace(v), "Negotiate")
	}) {
		return
	}
	h.Add("WWW-Authenticate", "Negotiate")
}
