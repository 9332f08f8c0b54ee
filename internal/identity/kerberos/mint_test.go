package kerberos

import (
	"encoding/base64"
	"testing"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/asn1tools"
	"github.com/jcmturner/gokrb5/v8/gssapi"
	"github.com/jcmturner/gokrb5/v8/iana/chksumtype"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/spnego"
	"github.com/jcmturner/gokrb5/v8/types"
)

// The unit tests mint tickets the way a KDC would, with gokrb5 and a
// keytab standing in for the KDC's database; kdc_test.go does it for real
// against MIT krb5kdc and curl.

const (
	testRealm = "EXAMPLE.COM"
	testSPN   = "HTTP/lakegate.example.com"
)

// principalKey names a keytab entry: a principal without realm, its realm
// and the password its key derives from.
type principalKey struct {
	name, realm, password string
}

// newKeytab returns a keytab with AES-256 keys for the principals.
func newKeytab(t testing.TB, keys ...principalKey) *keytab.Keytab {
	t.Helper()
	kt := keytab.New()
	for _, k := range keys {
		if err := kt.AddEntry(k.name, k.realm, k.password, time.Now(), 1, etypeID.AES256_CTS_HMAC_SHA1_96); err != nil {
			t.Fatal(err)
		}
	}
	return kt
}

func keytabBytes(t testing.TB, kt *keytab.Keytab) []byte {
	t.Helper()
	b, err := kt.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ticket describes a token to mint. Zero fields take defaults: alice of
// EXAMPLE.COM with a ticket for testSPN valid from a minute ago for an
// hour, an authenticator written now, wrapped in SPNEGO with Kerberos as
// the only mechanism.
type ticket struct {
	client, clientRealm string
	authRealm           string // the authenticator's realm; default clientRealm
	service, realm      string
	start, end          time.Time
	ctime               time.Time // the authenticator's time
	mechTypes           []asn1.ObjectIdentifier
	raw                 bool // a bare Kerberos GSS-API token, no SPNEGO
	// ticketCipher and authCipher, when set, replace the ciphertexts of
	// the ticket and the authenticator.
	ticketCipher, authCipher []byte
}

func (tk ticket) withDefaults() ticket {
	now := time.Now().UTC()
	if tk.client == "" {
		tk.client = "alice"
	}
	if tk.clientRealm == "" {
		tk.clientRealm = testRealm
	}
	if tk.authRealm == "" {
		tk.authRealm = tk.clientRealm
	}
	if tk.service == "" {
		tk.service = testSPN
	}
	if tk.realm == "" {
		tk.realm = testRealm
	}
	if tk.start.IsZero() {
		tk.start = now.Add(-time.Minute)
	}
	if tk.end.IsZero() {
		tk.end = now.Add(time.Hour)
	}
	if tk.mechTypes == nil {
		tk.mechTypes = []asn1.ObjectIdentifier{gssapi.OIDKRB5.OID()}
	}
	return tk
}

// mintKRB5 returns the Kerberos GSS-API token (RFC 1964: OID, TOK_ID
// 0x0100, AP-REQ) of a ticket encrypted with the service key in kt.
func mintKRB5(t testing.TB, kt *keytab.Keytab, tk ticket) []byte {
	t.Helper()
	tk = tk.withDefaults()
	cname := types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, tk.client)
	sname := types.NewPrincipalName(nametype.KRB_NT_SRV_INST, tk.service)
	tkt, sessionKey, err := messages.NewTicket(cname, tk.clientRealm, sname, tk.realm, types.NewKrbFlags(),
		kt, etypeID.AES256_CTS_HMAC_SHA1_96, 1, tk.start, tk.start, tk.end, tk.end)
	if err != nil {
		t.Fatal(err)
	}
	auth, err := types.NewAuthenticator(tk.authRealm, cname)
	if err != nil {
		t.Fatal(err)
	}
	if !tk.ctime.IsZero() {
		auth.CTime = tk.ctime.UTC()
	}
	// RFC 4121 section 4.1.1 checksum: length 16, no channel bindings,
	// no flags.
	auth.Cksum = types.Checksum{CksumType: chksumtype.GSSAPI, Checksum: append([]byte{16}, make([]byte, 23)...)}
	apreq, err := messages.NewAPReq(tkt, sessionKey, auth)
	if err != nil {
		t.Fatal(err)
	}
	if tk.ticketCipher != nil {
		apreq.Ticket.EncPart.Cipher = tk.ticketCipher
	}
	if tk.authCipher != nil {
		apreq.EncryptedAuthenticator.Cipher = tk.authCipher
	}
	body, err := apreq.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	oid, err := asn1.Marshal(gssapi.OIDKRB5.OID())
	if err != nil {
		t.Fatal(err)
	}
	b := append(append(oid, 0x01, 0x00), body...)
	return asn1tools.AddASNAppTag(b, 0)
}

// mint returns the base64 Negotiate token for tk.
func mint(t testing.TB, kt *keytab.Keytab, tk ticket) string {
	t.Helper()
	tk = tk.withDefaults()
	mech := mintKRB5(t, kt, tk)
	if tk.raw {
		return base64.StdEncoding.EncodeToString(mech)
	}
	st := spnego.SPNEGOToken{Init: true, NegTokenInit: spnego.NegTokenInit{
		MechTypes:      tk.mechTypes,
		MechTokenBytes: mech,
	}}
	b, err := st.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// negTokenResp returns a client's continuation token (a NegTokenResp
// carrying an AP-REQ), which single-leg Negotiate refuses.
func negTokenResp(t testing.TB, kt *keytab.Keytab) string {
	t.Helper()
	st := spnego.SPNEGOToken{Resp: true, NegTokenResp: spnego.NegTokenResp{
		NegState:      asn1.Enumerated(spnego.NegStateAcceptIncomplete),
		SupportedMech: gssapi.OIDKRB5.OID(),
		ResponseToken: mintKRB5(t, kt, ticket{}),
	}}
	b, err := st.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}
