package client

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	krbclient "github.com/jcmturner/gokrb5/v8/client"
	krbconfig "github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/credentials"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/spnego"
	"github.com/jcmturner/gokrb5/v8/types"
)

// Environment variables and defaults of MIT Kerberos clients (kinit, curl
// --negotiate) that NewWithKerberos follows.
const (
	// CCacheEnv names the credential cache, e.g. FILE:/tmp/krb5cc_1000.
	CCacheEnv = "KRB5CCNAME"
	// Krb5ConfigEnv names the krb5.conf files (a colon-separated list).
	Krb5ConfigEnv = "KRB5_CONFIG"
	// DefaultKrb5Config is krb5.conf when KRB5_CONFIG is unset.
	DefaultKrb5Config = "/etc/krb5.conf"
)

// KerberosOptions say where NewWithKerberos finds the user's ticket and
// which service principal it asks a ticket for. Zero fields follow the
// environment as kinit does.
type KerberosOptions struct {
	// SPN is the server's service principal, such as HTTP/lakegate.example.com
	// (a trailing @REALM is dropped: the realm comes from krb5.conf's
	// domain_realm, else its default_realm). "" means HTTP/<the server
	// URL's host>.
	SPN string
	// CCache is the credential cache: a path or FILE:path. "" means
	// $KRB5CCNAME, else krb5.conf's default_ccache_name, else
	// /tmp/krb5cc_<uid>. Only file caches can be read.
	CCache string
	// Krb5Conf is the krb5.conf path. "" means the first existing file of
	// $KRB5_CONFIG, else /etc/krb5.conf.
	Krb5Conf string
	// Getenv reads the environment; nil means os.Getenv.
	Getenv func(string) string
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// KerberosError is a Kerberos problem on the client's side (no ticket, an
// expired one, no service ticket for the server), worded for a terminal.
type KerberosError struct {
	Message string
	Err     error // the underlying error, if any
}

func (e *KerberosError) Error() string { return e.Message }
func (e *KerberosError) Unwrap() error { return e.Err }

// ErrNoKerberos is wrapped when the server does not accept Kerberos: it
// answered 401 without offering Negotiate.
var ErrNoKerberos = errors.New("the server does not accept Kerberos")

// NewWithKerberos returns a client that authenticates with the Kerberos
// ticket in the user's credential cache (the one kinit filled), sending
// Authorization: Negotiate (SPNEGO) on every request, as `curl --negotiate
// -u :` does. It reads the cache and krb5.conf at once and fails, with a
// *KerberosError saying what to do, when there is no cache, no
// ticket-granting ticket in it, or the ticket has expired.
func NewWithKerberos(server string, o KerberosOptions) (*Client, error) {
	c, err := New(server, "")
	if err != nil {
		return nil, err
	}
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	spn := o.SPN
	if spn == "" {
		u, _ := url.Parse(c.server) // New parsed it
		spn = "HTTP/" + u.Hostname()
	}
	spn, _, _ = strings.Cut(spn, "@")
	if svc, host, ok := strings.Cut(spn, "/"); !ok || svc == "" || host == "" {
		return nil, &KerberosError{Message: fmt.Sprintf("invalid service principal %q: expected SERVICE/HOST, e.g. HTTP/lakegate.example.com", spn)}
	}

	confPath, err := krb5ConfPath(o.Krb5Conf, getenv)
	if err != nil {
		return nil, err
	}
	conf, err := krbconfig.Load(confPath)
	if err != nil {
		return nil, &KerberosError{Message: fmt.Sprintf("cannot read the Kerberos configuration %s: %v", confPath, err), Err: err}
	}
	ccPath, err := ccachePath(o.CCache, getenv, confPath)
	if err != nil {
		return nil, err
	}
	cc, err := credentials.LoadCCache(ccPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, &KerberosError{Message: fmt.Sprintf("no Kerberos ticket cache at %s: run kinit first (or set %s to your cache)", ccPath, CCacheEnv), Err: err}
	case err != nil:
		return nil, &KerberosError{Message: fmt.Sprintf("cannot read the Kerberos ticket cache %s: %v", ccPath, err), Err: err}
	}
	principal := cc.DefaultPrincipal.PrincipalName.PrincipalNameString() + "@" + cc.DefaultPrincipal.Realm
	tgt, ok := cc.GetEntry(types.PrincipalName{
		NameType:   nametype.KRB_NT_SRV_INST,
		NameString: []string{"krbtgt", cc.DefaultPrincipal.Realm},
	})
	if !ok {
		return nil, &KerberosError{Message: fmt.Sprintf("the Kerberos ticket cache %s holds no ticket-granting ticket for %s: run kinit", ccPath, principal)}
	}
	if t := now(); !tgt.EndTime.After(t) {
		return nil, &KerberosError{Message: fmt.Sprintf("your Kerberos ticket for %s expired at %s: run kinit again", principal, tgt.EndTime.Local().Format(time.RFC3339))}
	}
	krb, err := krbclient.NewFromCCache(cc, conf)
	if err != nil {
		return nil, &KerberosError{Message: fmt.Sprintf("cannot use the Kerberos ticket cache %s: %v", ccPath, err), Err: err}
	}
	c.http = &negotiator{krb: krb, spn: spn, server: c.server, http: &http.Client{
		Timeout: 60 * time.Second,
		// A Negotiate token is for this server only: never re-send it.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	c.kerberosSPN = spn
	return c, nil
}

// krb5ConfPath returns explicit, else the first existing file of
// $KRB5_CONFIG, else DefaultKrb5Config.
func krb5ConfPath(explicit string, getenv func(string) string) (string, error) {
	if explicit != "" {
		return explicit, nil
	}
	env := getenv(Krb5ConfigEnv)
	if env == "" {
		if _, err := os.Stat(DefaultKrb5Config); err != nil {
			return "", &KerberosError{Message: fmt.Sprintf("no Kerberos configuration: %s does not exist (set %s)", DefaultKrb5Config, Krb5ConfigEnv), Err: err}
		}
		return DefaultKrb5Config, nil
	}
	for p := range strings.SplitSeq(env, ":") {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", &KerberosError{Message: fmt.Sprintf("no Kerberos configuration: no file of %s=%s exists", Krb5ConfigEnv, env)}
}

// ccachePath returns the file of the credential cache: explicit, else
// $KRB5CCNAME, else krb5.conf's default_ccache_name, else
// /tmp/krb5cc_<uid>.
func ccachePath(explicit string, getenv func(string) string, confPath string) (string, error) {
	name, from := explicit, "--ccache"
	if name == "" {
		name, from = getenv(CCacheEnv), CCacheEnv
	}
	if name == "" {
		name, from = defaultCCacheName(confPath), confPath+" default_ccache_name"
	}
	if name == "" {
		return "/tmp/krb5cc_" + strconv.Itoa(os.Getuid()), nil
	}
	name = expandCCacheName(name)
	typ, rest, found := strings.Cut(name, ":")
	switch {
	case !found || strings.HasPrefix(name, "/"):
		return name, nil
	case typ == "FILE":
		return rest, nil
	default:
		return "", &KerberosError{Message: fmt.Sprintf("the Kerberos credential cache %s (%s) is of type %s, which lakegate cannot read; "+
			"use a file cache: export %s=FILE:/tmp/krb5cc_%d and run kinit again", name, from, typ, CCacheEnv, os.Getuid())}
	}
}

// defaultCCacheName returns [libdefaults] default_ccache_name of the
// krb5.conf at path ("" when absent or unreadable).
func defaultCCacheName(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	section := ""
	sc := bufio.NewScanner(io.LimitReader(f, 1<<20))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") {
			section = strings.Trim(line, "[] ")
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if ok && section == "libdefaults" && strings.TrimSpace(k) == "default_ccache_name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// expandCCacheName replaces the MIT parameters a cache name commonly uses.
func expandCCacheName(name string) string {
	uid := strconv.Itoa(os.Getuid())
	tmp := os.Getenv("TMPDIR")
	if tmp == "" {
		tmp = "/tmp"
	}
	return strings.NewReplacer("%{uid}", uid, "%{euid}", strconv.Itoa(os.Geteuid()), "%{USERID}", uid, "%{TEMP}", tmp).Replace(name)
}

// negotiator sends requests with Authorization: Negotiate for spn. Unlike
// gokrb5's spnego.Client it authenticates the first request instead of
// waiting for a 401 whose first WWW-Authenticate is exactly "Negotiate"
// (lakegate's REST API offers Bearer first), and never retries, so a
// server that keeps refusing cannot make it loop.
type negotiator struct {
	krb    *krbclient.Client
	spn    string
	server string
	http   *http.Client
}

var _ Doer = (*negotiator)(nil)

func (n *negotiator) Do(req *http.Request) (*http.Response, error) {
	if err := spnego.SetSPNEGOHeader(n.krb, req, n.spn); err != nil {
		return nil, &KerberosError{
			Message: fmt.Sprintf("cannot get a Kerberos service ticket for %s (pass --spn if the server's principal is another): %v", n.spn, err),
			Err:     err,
		}
	}
	resp, err := n.http.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusUnauthorized && !offersNegotiate(resp.Header) {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		return nil, &KerberosError{
			Message: fmt.Sprintf("the lakegate server at %s does not accept Kerberos (it offers no Negotiate): log in with a password, or ask for auth.kerberos.keytab on the server", n.server),
			Err:     ErrNoKerberos,
		}
	}
	return resp, nil
}

// offersNegotiate reports whether a WWW-Authenticate header offers
// Negotiate.
func offersNegotiate(h http.Header) bool {
	for _, v := range h.Values("WWW-Authenticate") {
		for part := range strings.SplitSeq(v, ",") {
			scheme, _, _ := strings.Cut(strings.TrimSpace(part), " ")
			if strings.EqualFold(scheme, "Negotiate") {
				return true
			}
		}
	}
	return false
}
