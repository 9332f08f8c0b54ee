package store

import (
	"net/url"
	"regexp"
	"strings"
)

// redactedPassword replaces passwords in RedactDSN's output.
const redactedPassword = "xxxxx"

// keywordPassword matches a password in libpq's keyword=value form, quoted
// or not.
var keywordPassword = regexp.MustCompile(`\b((?:ssl)?password)\s*=\s*('(?:[^'\\]|\\.)*'?|\S*)`)

// RedactDSN returns dsn with every password it holds replaced by xxxxx, for
// messages and `config print`: the URL's user password and password or
// sslpassword parameters, libpq's password= and sslpassword= keywords, and
// the password of go-sql-driver/mysql's user:password@protocol(address)/db.
// A URL that does not parse is replaced whole.
func RedactDSN(driver, dsn string) string {
	switch {
	case driver == "sqlite" || dsn == "":
		return dsn
	case strings.Contains(dsn, "://"):
		u, err := url.Parse(dsn)
		if err != nil {
			return "(a DSN that does not parse)"
		}
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), redactedPassword)
		}
		q := u.Query()
		for _, k := range []string{"password", "sslpassword"} {
			if q.Has(k) {
				q.Set(k, redactedPassword)
				u.RawQuery = q.Encode()
			}
		}
		return u.String()
	case driver == "mysql":
		// As go-sql-driver reads it: the database after the last '/',
		// the user before the last '@' ahead of it, the password after
		// the user's first ':'.
		slash := strings.LastIndex(dsn, "/")
		if slash < 0 {
			slash = len(dsn)
		}
		at := strings.LastIndex(dsn[:slash], "@")
		if at < 0 {
			return dsn
		}
		if user, _, ok := strings.Cut(dsn[:at], ":"); ok {
			return user + ":" + redactedPassword + dsn[at:]
		}
		return dsn
	default:
		return keywordPassword.ReplaceAllString(dsn, "${1}="+redactedPassword)
	}
}
