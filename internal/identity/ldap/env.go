package ldap

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// The environment variables OptionsFromEnv reads. Seed 002 spells out
// HOST, BASE_DN, USER and USER_SEARCH_FILTER; PORT, PASSWORD,
// GROUP_SEARCH_FILTER and USE_SSL are the names Okera's configuration used
// alongside them; the rest are lakegate's, named in the same pattern.
const (
	// EnvHost turns LDAP on: a host name, or an ldap:// or ldaps:// URL.
	EnvHost = "OKERA_GROUP_RESOLVER_LDAP_HOST"
	// EnvPort is the port; default 389, or 636 with EnvUseSSL.
	EnvPort = "OKERA_GROUP_RESOLVER_LDAP_PORT"
	// EnvUseSSL ("true"/"false") selects ldaps://.
	EnvUseSSL = "OKERA_GROUP_RESOLVER_LDAP_USE_SSL"
	// EnvUseStartTLS ("true"/"false") selects StartTLS on ldap://.
	EnvUseStartTLS = "OKERA_GROUP_RESOLVER_LDAP_USE_STARTTLS"
	// EnvCAFile is Options.CAFile.
	EnvCAFile = "OKERA_GROUP_RESOLVER_LDAP_CA_FILE"
	// EnvBaseDN is Options.BaseDN.
	EnvBaseDN = "OKERA_GROUP_RESOLVER_LDAP_BASE_DN"
	// EnvUser is the service account's DN, Options.BindDN.
	EnvUser = "OKERA_GROUP_RESOLVER_LDAP_USER"
	// EnvPassword is Options.BindPassword.
	EnvPassword = "OKERA_GROUP_RESOLVER_LDAP_PASSWORD"
	// EnvPasswordFile names a file holding Options.BindPassword (one
	// trailing newline is dropped); it excludes EnvPassword.
	EnvPasswordFile = "OKERA_GROUP_RESOLVER_LDAP_PASSWORD_FILE"
	// EnvUserDNTemplate is Options.UserDNTemplate.
	EnvUserDNTemplate = "OKERA_GROUP_RESOLVER_LDAP_USER_DN_TEMPLATE"
	// EnvUserSearchFilter is Options.UserSearchFilter.
	EnvUserSearchFilter = "OKERA_GROUP_RESOLVER_LDAP_USER_SEARCH_FILTER"
	// EnvUserNameAttribute is Options.UserNameAttribute.
	EnvUserNameAttribute = "OKERA_GROUP_RESOLVER_LDAP_USER_NAME_ATTRIBUTE"
	// EnvGroupSearchBase is Options.GroupSearchBase.
	EnvGroupSearchBase = "OKERA_GROUP_RESOLVER_LDAP_GROUP_SEARCH_BASE"
	// EnvGroupSearchFilter is Options.GroupSearchFilter.
	EnvGroupSearchFilter = "OKERA_GROUP_RESOLVER_LDAP_GROUP_SEARCH_FILTER"
	// EnvGroupNameAttribute is Options.GroupNameAttribute.
	EnvGroupNameAttribute = "OKERA_GROUP_RESOLVER_LDAP_GROUP_NAME_ATTRIBUTE"
	// EnvTimeout is Options.Timeout: a Go duration ("5s") or seconds.
	EnvTimeout = "OKERA_GROUP_RESOLVER_LDAP_TIMEOUT"
)

// envNames are every variable above, EnvHost first.
var envNames = []string{EnvHost, EnvPort, EnvUseSSL, EnvUseStartTLS, EnvCAFile, EnvBaseDN,
	EnvUser, EnvPassword, EnvPasswordFile, EnvUserDNTemplate, EnvUserSearchFilter,
	EnvUserNameAttribute, EnvGroupSearchBase, EnvGroupSearchFilter, EnvGroupNameAttribute, EnvTimeout}

// envOfField names the variable behind each Options field, for messages.
var envOfField = map[string]string{
	"URL": EnvHost + "/" + EnvPort + "/" + EnvUseSSL, "StartTLS": EnvUseStartTLS,
	"CAFile": EnvCAFile, "BaseDN": EnvBaseDN, "BindDN": EnvUser,
	"BindPassword": EnvPassword, "UserDNTemplate": EnvUserDNTemplate,
	"UserSearchFilter": EnvUserSearchFilter, "UserNameAttribute": EnvUserNameAttribute,
	"GroupSearchBase": EnvGroupSearchBase, "GroupSearchFilter": EnvGroupSearchFilter,
	"GroupNameAttribute": EnvGroupNameAttribute, "Timeout": EnvTimeout,
}

// OptionsFromEnv builds Options from Okera's OKERA_GROUP_RESOLVER_LDAP_*
// variables (see the Env constants), as lookup (os.LookupEnv) finds them.
// The bool says whether LDAP is configured at all, which is whether
// EnvHost is set and not empty (seed 002); any other of the variables set
// without it is an error. The error joins every problem, each naming its
// variable, including Options.Validate's; Options are returned even then.
//
// Okera's documentation shows its example filter HTML-escaped, as
// "(&amp;(objectClass=Person)(cn={0}))"; "&amp;" is never valid in a
// filter, so it is read as "&" and the example works when pasted.
func OptionsFromEnv(lookup func(string) (string, bool)) (Options, bool, error) {
	get := func(name string) string {
		v, _ := lookup(name)
		return strings.TrimSpace(v)
	}
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("ldap: %s: %s", name, fmt.Sprintf(format, args...)))
	}
	boolean := func(name string) bool {
		v := get(name)
		if v == "" {
			return false
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			bad(name, "%q is not true or false", v)
		}
		return b
	}

	host := get(EnvHost)
	if host == "" {
		for _, name := range envNames[1:] {
			if get(name) != "" {
				bad(name, "is set but %s is not (LDAP is off without it)", EnvHost)
			}
		}
		return Options{}, false, errors.Join(errs...)
	}

	unamp := strings.NewReplacer("&amp;", "&").Replace
	o := Options{
		StartTLS:           boolean(EnvUseStartTLS),
		CAFile:             get(EnvCAFile),
		BindDN:             get(EnvUser),
		UserDNTemplate:     get(EnvUserDNTemplate),
		BaseDN:             get(EnvBaseDN),
		UserSearchFilter:   unamp(get(EnvUserSearchFilter)),
		UserNameAttribute:  get(EnvUserNameAttribute),
		GroupSearchBase:    get(EnvGroupSearchBase),
		GroupSearchFilter:  unamp(get(EnvGroupSearchFilter)),
		GroupNameAttribute: get(EnvGroupNameAttribute),
	}
	// The password is taken as is: spaces may belong to it.
	password, _ := lookup(EnvPassword)
	switch file := get(EnvPasswordFile); {
	case file != "" && password != "":
		bad(EnvPasswordFile, "and %s are both set", EnvPassword)
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			bad(EnvPasswordFile, "%v", err)
		}
		password = strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	}
	o.BindPassword = password

	useSSL := boolean(EnvUseSSL)
	port := get(EnvPort)
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			bad(EnvPort, "%q is not a port", port)
			port = ""
		}
	}
	if strings.Contains(host, "://") {
		u, err := url.Parse(host)
		switch {
		case err != nil:
			bad(EnvHost, "%q does not parse: %v", host, err)
		case port != "" && u.Port() != "":
			bad(EnvPort, "is set but %s has a port already", EnvHost)
		case useSSL && u.Scheme != "ldaps":
			bad(EnvUseSSL, "is true but %s is %s://", EnvHost, u.Scheme)
		case port != "":
			u.Host = net.JoinHostPort(u.Hostname(), port)
		}
		if u != nil {
			o.URL = u.String()
		}
	} else {
		scheme := "ldap"
		if useSSL {
			scheme = "ldaps"
		}
		if strings.ContainsAny(host, "/?#@") {
			bad(EnvHost, "%q is neither a host name nor an ldap:// or ldaps:// URL", host)
		}
		hostport := host
		if strings.Contains(host, ":") && !strings.HasPrefix(host, "[") {
			hostport = "[" + host + "]" // an IPv6 address
		}
		if port != "" {
			hostport = net.JoinHostPort(host, port)
		}
		o.URL = scheme + "://" + hostport
	}

	if v := get(EnvTimeout); v != "" {
		d, err := time.ParseDuration(v)
		if secs, serr := strconv.Atoi(v); serr == nil {
			d, err = time.Duration(secs)*time.Second, nil
		}
		switch {
		case err != nil:
			bad(EnvTimeout, "%q is neither a duration (10s) nor seconds", v)
		case d <= 0:
			bad(EnvTimeout, "%q must be positive", v)
		default:
			o.Timeout = d
		}
	}
	if err := joinProblems(o.problems(), envOfField); err != nil {
		errs = append(errs, err)
	}
	return o, true, errors.Join(errs...)
}
