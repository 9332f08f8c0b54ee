package audit

import (
	"regexp"
)

// redacted replaces every secret Scrub finds.
const redacted = "REDACTED"

// scrubRule replaces matches of re with repl (regexp.Expand syntax).
type scrubRule struct {
	re   *regexp.Regexp
	repl string
}

// scrubRules are applied in order. Values stop at the characters that end
// them in query strings, headers, JSON and prose.
var scrubRules = []scrubRule{
	// Presigned URLs and SigV4/SigV2 headers: X-Amz-Signature=…,
	// Signature=…, X-Amz-Security-Token=… (also as a header).
	{regexp.MustCompile(`(?i)((?:x-amz-)?signature=)[^&\s"',;]+`), "${1}" + redacted},
	{regexp.MustCompile(`(?i)(x-amz-security-token["']?\s*[=:]\s*["']?)[^&\s"',;]+`), "${1}" + redacted},
	// X-Amz-Credential=AKID/date/region/s3/aws4_request: the key id may
	// stay (events record it anyway), the rest goes.
	{regexp.MustCompile(`(?i)(x-amz-credential=[A-Za-z0-9]*)(?:/|%2F)[^&\s"',;]*`), "${1}/" + redacted},
	// SigV2 header: Authorization: AWS AKID:signature.
	{regexp.MustCompile(`\b(AWS\s+[A-Za-z0-9]{16,128}):[A-Za-z0-9+/=]{8,}`), "${1}:" + redacted},
	// Bearer tokens.
	{regexp.MustCompile(`(?i)\b(bearer\s+)[A-Za-z0-9\-._~+/]+=*`), "${1}" + redacted},
	// JWTs: three base64url segments, the first a JSON object ("eyJ").
	{regexp.MustCompile(`eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*`), redacted},
	// lakegate tokens.
	{regexp.MustCompile(`(?i)\blgt_[A-Za-z0-9_-]+`), "lgt_" + redacted},
	// Named secrets: aws_secret_access_key=…, "SecretAccessKey": "…",
	// session tokens, passwords, client secrets, also YAML style (key: v).
	{regexp.MustCompile(`(?i)((?:aws_)?secret_?access_?key|(?:aws_)?session_?token|client_?secret|password|passwd)(["']?\s*[=:]\s*["']?)[^\s"'&,;}]+`), "${1}${2}" + redacted},
	// Any other key naming a secret, token or password, as key=value or
	// JSON "key": "value" (not "key: value", which is mostly prose).
	{regexp.MustCompile(`(?i)\b([A-Za-z0-9_.-]*(?:secret|token|password)[A-Za-z0-9_.-]*)(=["']?|["']\s*:\s*["'])[^\s"'&,;}]+`), "${1}${2}" + redacted},
}

// scrubTriggers are lower-case words one of which every rule's match
// contains; a string without any is returned as is, cheaply.
var scrubTriggers = []string{"signature", "x-amz-", "aws ", "bearer", "eyj", "lgt_", "secret", "token", "passw"}

// Scrub returns s with everything that looks like a secret replaced by
// REDACTED: presigned-URL and header signatures (X-Amz-Signature=,
// Signature=), security tokens (X-Amz-Security-Token=), the scope of
// X-Amz-Credential, SigV2 "AWS key:signature", bearer tokens, JWTs,
// lakegate tokens (lgt_…) and named secrets (aws_secret_access_key=…,
// "SecretAccessKey": "…", session_token, password, client_secret). It is a
// safety net applied to free-text fields and log lines, not a licence to
// put secrets in them.
func Scrub(s string) string {
	if !hasTrigger(s) {
		return s
	}
	for _, r := range scrubRules {
		s = r.re.ReplaceAllString(s, r.repl)
	}
	return s
}

// triggersByFirst indexes scrubTriggers by their first byte, both cases.
var triggersByFirst = func() (t [256][]string) {
	for _, w := range scrubTriggers {
		t[w[0]] = append(t[w[0]], w)
		if c := w[0]; 'a' <= c && c <= 'z' {
			t[c-'a'+'A'] = append(t[c-'a'+'A'], w)
		}
	}
	return t
}()

func hasTrigger(s string) bool {
	for i := 0; i < len(s); i++ {
		for _, w := range triggersByFirst[s[i]] {
			if len(s)-i >= len(w) && equalFoldLower(s[i:i+len(w)], w) {
				return true
			}
		}
	}
	return false
}

// equalFoldLower reports whether s equals the lower-case ASCII word w,
// ignoring ASCII case.
func equalFoldLower(s, w string) bool {
	for j := 0; j < len(w); j++ {
		c := s[j]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != w[j] {
			return false
		}
	}
	return true
}
