package sigv4

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// postForm builds POST form fields the way a browser-upload helper does,
// signing the policy with the specification's key derivation (independent
// of the package's own).
type postForm struct {
	ak, sk, region string
	at             time.Time
	expiration     time.Time
	conditions     []any // besides the auth-field conditions added below
	extra          []FormField
	rawPolicy      string // used as is when set
	noAuthConds    bool   // leave out the x-amz-* conditions
}

func (p postForm) policy(t testing.TB) string {
	if p.rawPolicy != "" {
		return p.rawPolicy
	}
	conds := append([]any{}, p.conditions...)
	if !p.noAuthConds {
		conds = append(conds,
			map[string]string{"x-amz-algorithm": "AWS4-HMAC-SHA256"},
			map[string]string{"x-amz-credential": p.credential()},
			map[string]string{"x-amz-date": p.at.Format(amzDateLayout)},
		)
	}
	doc, err := json.Marshal(map[string]any{"expiration": p.expiration.UTC().Format("2006-01-02T15:04:05.000Z"), "conditions": conds})
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(doc)
}

func (p postForm) credential() string {
	return p.ak + "/" + p.at.Format("20060102") + "/" + p.region + "/s3/aws4_request"
}

// v4 returns the fields of a SigV4-signed form.
func (p postForm) v4(t testing.TB) []FormField {
	pol := p.policy(t)
	sig := hex.EncodeToString(hmacRaw(specSigningKey(p.sk, p.at.Format("20060102"), p.region), pol))
	f := []FormField{
		{"key", "uploads/photo.jpg"},
		{"x-amz-algorithm", "AWS4-HMAC-SHA256"},
		{"x-amz-credential", p.credential()},
		{"x-amz-date", p.at.Format(amzDateLayout)},
		{"policy", pol},
		{"x-amz-signature", sig},
	}
	return append(f, p.extra...)
}

// v2 returns the fields of a SigV2-signed form.
func (p postForm) v2(t testing.TB) []FormField {
	pol := p.policy(t)
	f := []FormField{
		{"key", "uploads/photo.jpg"},
		{"AWSAccessKeyId", p.ak},
		{"policy", pol},
		{"signature", base64.StdEncoding.EncodeToString(hmacSHA1([]byte(p.sk), []byte(pol)))},
	}
	return append(f, p.extra...)
}

func setField(fields []FormField, name, value string) []FormField {
	out := append([]FormField(nil), fields...)
	for i := range out {
		if strings.EqualFold(out[i].Name, name) {
			out[i].Value = value
			return out
		}
	}
	return append(out, FormField{name, value})
}

func dropField(fields []FormField, name string) []FormField {
	var out []FormField
	for _, f := range fields {
		if !strings.EqualFold(f.Name, name) {
			out = append(out, f)
		}
	}
	return out
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestVerifyPostForm(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	base := postForm{
		ak: testAK, sk: testSK, region: testRegion, at: now.Add(-time.Minute),
		expiration: now.Add(time.Hour),
		conditions: []any{
			map[string]string{"bucket": "photos"},
			[]any{"starts-with", "$key", "uploads/"},
		},
	}
	with := func(mod func(p *postForm)) postForm { p := base; mod(&p); return p }
	keyEq := func(p *postForm) {
		p.conditions = []any{map[string]string{"bucket": "photos"}, []any{"eq", "$key", "uploads/other.jpg"}}
	}

	tests := []struct {
		name    string
		fields  func(t testing.TB) []FormField
		bucket  string // "" means "photos"
		key     string // PostForm.Key: the key the upload writes
		allowV2 bool
		code    string // "" for success
		msg     string // substring of the message
		check   func(t *testing.T, r *Result)
	}{
		{
			name:   "v4 valid",
			fields: base.v4,
			check: func(t *testing.T, r *Result) {
				if r.Kind != PostPolicyV4 || r.AccessKeyID != testAK || r.Region != testRegion || r.Payload != PayloadUnsigned {
					t.Errorf("result %+v", r)
				}
				if !r.RequestTime.Equal(base.at) {
					t.Errorf("request time %v, want %v", r.RequestTime, base.at)
				}
			},
		},
		{
			name:   "field names are case-insensitive",
			fields: func(t testing.TB) []FormField { return upperNames(base.v4(t)) },
		},
		{
			name: "v4 signature of another secret",
			fields: func(t testing.TB) []FormField {
				return with(func(p *postForm) { p.sk = "not-the-secret" }).v4(t)
			},
			code: "SignatureDoesNotMatch",
		},
		{
			name:   "v4 signature not hex",
			fields: func(t testing.TB) []FormField { return setField(base.v4(t), "x-amz-signature", "incorrect_signature") },
			code:   "SignatureDoesNotMatch",
		},
		{
			name: "policy changed after signing",
			fields: func(t testing.TB) []FormField {
				f := base.v4(t)
				other := with(keyEq).policy(t)
				return setField(f, "policy", other)
			},
			code: "SignatureDoesNotMatch",
		},
		{
			name:   "unknown access key",
			fields: with(func(p *postForm) { p.ak = "AKIANOSUCHKEY0000000" }).v4,
			code:   "InvalidAccessKeyId",
		},
		{
			name:   "credential lookup down is technical",
			fields: with(func(p *postForm) { p.ak = brokenAK }).v4,
			code:   "technical: " + errLookupDown.Error(),
		},
		{
			name:   "expired credential",
			fields: with(func(p *postForm) { p.ak = expiredAK }).v4,
			code:   "ExpiredToken",
		},
		{
			name:   "session key without its token",
			fields: with(func(p *postForm) { p.ak, p.sk = tokenAK, tokenSK }).v4,
			code:   "InvalidToken",
		},
		{
			name: "session key with its token",
			fields: with(func(p *postForm) {
				p.ak, p.sk = tokenAK, tokenSK
				p.extra = []FormField{{"x-amz-security-token", testToken}}
				p.conditions = append(p.conditions, map[string]string{"x-amz-security-token": testToken})
			}).v4,
		},
		{
			name:   "policy expired",
			fields: with(func(p *postForm) { p.expiration = now.Add(-time.Second) }).v4,
			code:   "AccessDenied",
			msg:    "Invalid according to Policy: Policy expired.",
		},
		{
			name:   "eq condition failed",
			fields: with(keyEq).v4,
			code:   "AccessDenied",
			msg:    `Invalid according to Policy: Policy Condition failed: ["eq","$key","uploads/other.jpg"]`,
		},
		{
			name: "starts-with condition failed",
			fields: func(t testing.TB) []FormField {
				return setField(base.v4(t), "key", "elsewhere/photo.jpg")
			},
			code: "AccessDenied",
			msg:  `Policy Condition failed: ["starts-with","$key","uploads/"]`,
		},
		{
			name:   "bucket condition against the request bucket",
			fields: base.v4,
			bucket: "other-bucket",
			code:   "AccessDenied",
			msg:    `Policy Condition failed: ["eq", "$bucket", "photos"]`,
		},
		{
			name: "starts-with is not allowed on the credential",
			fields: with(func(p *postForm) {
				p.conditions = append(p.conditions, []any{"starts-with", "$x-amz-credential", testAK})
			}).v4,
			code: "AccessDenied",
			msg:  "Policy Condition failed",
		},
		{
			name: "content-type list: every type must match starts-with",
			fields: with(func(p *postForm) {
				p.conditions = append(p.conditions, []any{"starts-with", "$Content-Type", "image/"})
				p.extra = []FormField{{"Content-Type", "image/png, text/html"}}
			}).v4,
			code: "AccessDenied",
			msg:  `["starts-with","$Content-Type","image/"]`,
		},
		{
			name: "content-type list passes",
			fields: with(func(p *postForm) {
				p.conditions = append(p.conditions, []any{"starts-with", "$Content-Type", "image/"})
				p.extra = []FormField{{"Content-Type", "image/png, image/jpeg"}}
			}).v4,
		},
		{
			name: "starts-with empty matches anything",
			fields: with(func(p *postForm) {
				p.conditions = append(p.conditions, []any{"starts-with", "$x-amz-meta-tag", ""})
				p.extra = []FormField{{"x-amz-meta-tag", "anything"}}
			}).v4,
		},
		{
			// Issue 13: the conditions hold for the key the backend writes,
			// ${filename} substituted, as the conformance suite's
			// ["starts-with", "$key", "foo"] with key ${filename}.
			name: "${filename} key: starts-with on the substituted key",
			fields: func(t testing.TB) []FormField {
				return setField(with(func(p *postForm) {
					p.conditions = []any{map[string]string{"bucket": "photos"}, []any{"starts-with", "$key", "foo"}}
				}).v4(t), "key", "${filename}")
			},
			key: "foo.txt",
		},
		{
			name: "${filename} key: the substituted key fails starts-with",
			fields: func(t testing.TB) []FormField {
				return setField(with(func(p *postForm) {
					p.conditions = []any{map[string]string{"bucket": "photos"}, []any{"starts-with", "$key", "foo"}}
				}).v4(t), "key", "${filename}")
			},
			key:  "bar.txt",
			code: "AccessDenied",
			msg:  `Policy Condition failed: ["starts-with","$key","foo"]`,
		},
		{
			name: "${filename} key: eq on the template is not the written key",
			fields: func(t testing.TB) []FormField {
				return setField(with(func(p *postForm) {
					p.conditions = []any{map[string]string{"bucket": "photos"}, []any{"eq", "$key", "uploads/${filename}"}}
				}).v4(t), "key", "uploads/${filename}")
			},
			key:  "uploads/photo.jpg",
			code: "AccessDenied",
		},
		{
			name: "${filename} key: boto3's starts-with prefix",
			fields: func(t testing.TB) []FormField {
				return setField(base.v4(t), "key", "uploads/${filename}")
			},
			key: "uploads/photo.jpg",
		},
		{
			name: "starts-with on x-amz-server-side-encryption and other x-amz-* fields",
			fields: with(func(p *postForm) {
				p.conditions = append(p.conditions,
					[]any{"starts-with", "$x-amz-server-side-encryption", ""},
					[]any{"starts-with", "$x-amz-server-side-encryption-aws-kms-key-id", "arn:aws:kms:"},
					[]any{"starts-with", "$x-amz-storage-class", "STANDARD"},
					[]any{"starts-with", "$Cache-Control", "max-age"},
					[]any{"starts-with", "$success_action_redirect", "https://example.com/"})
				p.extra = []FormField{{"x-amz-server-side-encryption", "aws:kms"},
					{"x-amz-server-side-encryption-aws-kms-key-id", "arn:aws:kms:us-east-1:1:key/k"},
					{"x-amz-storage-class", "STANDARD_IA"}, {"Cache-Control", "max-age=60"},
					{"success_action_redirect", "https://example.com/done"}}
			}).v4,
		},
		{
			name: "starts-with on x-amz-server-side-encryption fails on another value",
			fields: with(func(p *postForm) {
				p.conditions = append(p.conditions, []any{"starts-with", "$x-amz-server-side-encryption", "aws:"})
				p.extra = []FormField{{"x-amz-server-side-encryption", "AES256"}}
			}).v4,
			code: "AccessDenied",
			msg:  `["starts-with","$x-amz-server-side-encryption","aws:"]`,
		},
		{
			name: "starts-with is not allowed on the date",
			fields: with(func(p *postForm) {
				p.conditions = append(p.conditions, []any{"starts-with", "$x-amz-date", ""})
			}).v4,
			code: "AccessDenied",
			msg:  "Policy Condition failed",
		},
		{
			name: "starts-with is not allowed on the bucket",
			fields: with(func(p *postForm) {
				p.conditions = append(p.conditions, []any{"starts-with", "$bucket", "ph"})
			}).v4,
			code: "AccessDenied",
			msg:  "Policy Condition failed",
		},
		{
			name:   "field without a condition",
			fields: with(func(p *postForm) { p.extra = []FormField{{"x-amz-meta-owner", "eve"}} }).v4,
			code:   "AccessDenied",
			msg:    "Invalid according to Policy: Extra input fields: x-amz-meta-owner",
		},
		{
			name:   "x-ignore- fields need no condition",
			fields: with(func(p *postForm) { p.extra = []FormField{{"x-ignore-submit", "Upload"}} }).v4,
		},
		{
			name:   "auth fields need conditions",
			fields: with(func(p *postForm) { p.noAuthConds = true }).v4,
			code:   "AccessDenied",
			msg:    "Extra input fields: x-amz-algorithm",
		},
		{
			name:   "anonymous form",
			fields: func(testing.TB) []FormField { return []FormField{{"key", "a"}} },
			code:   "AccessDenied",
			msg:    "Anonymous",
		},
		{
			name:   "policy without signature",
			fields: func(t testing.TB) []FormField { return []FormField{{"key", "a"}, {"policy", base.policy(t)}} },
			code:   "InvalidArgument",
			msg:    "field named 'x-amz-signature'",
		},
		{
			name:   "v4 form without x-amz-date",
			fields: func(t testing.TB) []FormField { return dropField(base.v4(t), "x-amz-date") },
			code:   "InvalidArgument",
			msg:    "field named 'x-amz-date'",
		},
		{
			name:   "form without key",
			fields: func(t testing.TB) []FormField { return dropField(base.v4(t), "key") },
			code:   "InvalidArgument",
			msg:    "field named 'key'",
		},
		{
			name:   "unsupported algorithm",
			fields: func(t testing.TB) []FormField { return setField(base.v4(t), "x-amz-algorithm", "HMAC-MD5") },
			code:   "InvalidArgument",
		},
		{
			name:   "malformed credential",
			fields: func(t testing.TB) []FormField { return setField(base.v4(t), "x-amz-credential", "no-slashes") },
			code:   "InvalidArgument",
			msg:    "x-amz-credential",
		},
		{
			name:   "credential date differs from x-amz-date",
			fields: func(t testing.TB) []FormField { return setField(base.v4(t), "x-amz-date", "20200101T000000Z") },
			code:   "InvalidArgument",
			msg:    "Invalid credential date",
		},
		{
			name:   "field given twice",
			fields: func(t testing.TB) []FormField { return append(base.v4(t), FormField{"KEY", "uploads/b"}) },
			code:   "InvalidArgument",
			msg:    "more than once",
		},
		{
			name: "v4 and v2 fields together",
			fields: func(t testing.TB) []FormField {
				return append(base.v4(t), FormField{"AWSAccessKeyId", testAK})
			},
			allowV2: true,
			code:    "InvalidArgument",
		},
		{
			name:    "v2 valid",
			fields:  with(func(p *postForm) { p.noAuthConds = true }).v2,
			allowV2: true,
			check: func(t *testing.T, r *Result) {
				if r.Kind != PostPolicyV2 || r.AccessKeyID != testAK {
					t.Errorf("result %+v", r)
				}
			},
		},
		{
			name:    "v2 wrong secret",
			fields:  with(func(p *postForm) { p.noAuthConds, p.sk = true, "wrong" }).v2,
			allowV2: true,
			code:    "SignatureDoesNotMatch",
		},
		{
			name:   "v2 disabled",
			fields: with(func(p *postForm) { p.noAuthConds = true }).v2,
			code:   "AccessDenied",
			msg:    "Signature Version 2 is disabled",
		},
		{
			name:   "policy not base64",
			fields: with(func(p *postForm) { p.rawPolicy = "not_base64!" }).v4,
			code:   "InvalidPolicyDocument",
			msg:    "Base64",
		},
		{
			name:   "policy not JSON",
			fields: with(func(p *postForm) { p.rawPolicy = b64("invalid json") }).v4,
			code:   "InvalidPolicyDocument",
			msg:    "Invalid JSON",
		},
		{
			name:   "policy without expiration",
			fields: with(func(p *postForm) { p.rawPolicy = b64(`{"conditions":[]}`) }).v4,
			code:   "InvalidPolicyDocument",
			msg:    "missing expiration",
		},
		{
			name:   "policy with a bad expiration",
			fields: with(func(p *postForm) { p.rawPolicy = b64(`{"expiration":"soon","conditions":[]}`) }).v4,
			code:   "InvalidPolicyDocument",
			msg:    "expiration",
		},
		{
			name:   "policy without conditions",
			fields: with(func(p *postForm) { p.rawPolicy = b64(`{"expiration":"2144-11-08T04:19:33Z"}`) }).v4,
			code:   "InvalidPolicyDocument",
			msg:    "missing conditions",
		},
		{
			name: "policy with an unexpected field",
			fields: with(func(p *postForm) {
				p.rawPolicy = b64(`{"expiration":"2144-11-08T04:19:33Z","conditions":[],"extra":1}`)
			}).v4,
			code: "InvalidPolicyDocument",
			msg:  "extra",
		},
		{
			name:   "unknown condition operation",
			fields: with(func(p *postForm) { p.conditions = append(p.conditions, []any{"matches", "$key", ".*"}) }).v4,
			code:   "InvalidPolicyDocument",
			msg:    "unknown operation",
		},
		{
			name:   "condition with four elements",
			fields: with(func(p *postForm) { p.conditions = append(p.conditions, []any{"eq", "$key", "a", "b"}) }).v4,
			code:   "InvalidPolicyDocument",
		},
		{
			name: "simple condition with two properties",
			fields: with(func(p *postForm) {
				p.conditions = append(p.conditions, map[string]string{"acl": "private", "key": "a"})
			}).v4,
			code: "InvalidPolicyDocument",
			msg:  "exactly one property",
		},
		{
			name:   "content-length-range not numbers",
			fields: with(func(p *postForm) { p.conditions = append(p.conditions, []any{"content-length-range", 1, false}) }).v4,
			code:   "InvalidPolicyDocument",
		},
		{
			name:   "field without '$'",
			fields: with(func(p *postForm) { p.conditions = append(p.conditions, []any{"eq", "key", "uploads/photo.jpg"}) }).v4,
			code:   "AccessDenied",
			msg:    "Policy Condition failed",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bucket := tc.bucket
			if bucket == "" {
				bucket = "photos"
			}
			v := newTestVerifier(now, tc.allowV2)
			res, pol, err := v.VerifyPostForm(context.Background(), &PostForm{Bucket: bucket, Fields: tc.fields(t), Key: tc.key})
			if got := codeOf(err); got != tc.code {
				t.Fatalf("code %q (%v), want %q", got, err, tc.code)
			}
			if tc.msg != "" && !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("message %q does not contain %q", err, tc.msg)
			}
			if err != nil {
				return
			}
			if res == nil || pol == nil {
				t.Fatal("nil result or policy")
			}
			if tc.check != nil {
				tc.check(t, res)
			}
		})
	}
}

func upperNames(f []FormField) []FormField {
	out := append([]FormField(nil), f...)
	for i := range out {
		out[i].Name = strings.ToUpper(out[i].Name)
	}
	return out
}

func TestPostFormErrorsHideSecrets(t *testing.T) {
	now := time.Now().UTC()
	p := postForm{ak: tokenAK, sk: tokenSK, region: testRegion, at: now, expiration: now.Add(time.Hour),
		extra: []FormField{{"x-amz-security-token", "forged-token"}}}
	f := p.v4(t)
	_, _, err := newTestVerifier(now, false).VerifyPostForm(context.Background(), &PostForm{Bucket: "b", Fields: f})
	if codeOf(err) != "InvalidToken" {
		t.Fatalf("got %v", err)
	}
	sig := f[len(f)-2].Value
	for _, secret := range []string{tokenSK, testToken, "forged-token", sig} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error %q reveals %q", err, secret)
		}
	}
}

func TestCheckFileSize(t *testing.T) {
	now := time.Now().UTC()
	p := postForm{ak: testAK, sk: testSK, region: testRegion, at: now, expiration: now.Add(time.Hour),
		conditions: []any{map[string]string{"key": "uploads/photo.jpg"},
			[]any{"content-length-range", 10, "100"}, []any{"content-length-range", 0, 50}}}
	_, pol, err := newTestVerifier(now, false).VerifyPostForm(context.Background(), &PostForm{Bucket: "b", Fields: p.v4(t)})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		n        int64
		complete bool
		code     string
	}{
		{"within, streaming", 5, false, ""},
		{"too small once complete", 5, true, "EntityTooSmall"},
		{"lower bound", 10, true, ""},
		{"upper bound of the tighter range", 50, true, ""},
		{"over the tighter range while streaming", 51, false, "EntityTooLarge"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := codeOf(pol.CheckFileSize(tc.n, tc.complete)); got != tc.code {
				t.Errorf("code %q, want %q", got, tc.code)
			}
		})
	}
	if err := (&PostPolicy{}).CheckFileSize(1<<40, true); err != nil {
		t.Errorf("a policy without a range refused a file: %v", err)
	}
}

// TestSignPostPolicyRoundTrip re-issues verified client policies for the
// upstream key and verifies the result as the upstream would.
func TestSignPostPolicyRoundTrip(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	upstream := NewVerifier(Options{Credentials: testCreds()})
	sessionSigner := Signer{AccessKeyID: tokenAK, SecretAccessKey: tokenSK, SessionToken: testToken, Region: "us-east-1"}
	plainSigner := Signer{AccessKeyID: upstreamAK, SecretAccessKey: upstreamSK, Region: "us-east-1"}
	conds := []any{
		[]any{"starts-with", "$key", "uploads/"},
		[]any{"content-length-range", 1, 1024},
		[]any{"eq", "$x-amz-meta-team", "data"},
	}
	client := postForm{ak: testAK, sk: testSK, region: testRegion, at: now, expiration: now.Add(time.Hour),
		conditions: conds, extra: []FormField{{"x-amz-meta-team", "data"}}}
	tests := []struct {
		name   string
		fields []FormField
		v2     bool
		signer Signer
	}{
		{"v4 to v4", client.v4(t), false, plainSigner},
		{"v4 to v4 with a session token", client.v4(t), false, sessionSigner},
		{"v2 to v4", func() []FormField { c := client; c.noAuthConds = true; return c.v2(t) }(), true, plainSigner},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, pol, err := newTestVerifier(now, tc.v2).VerifyPostForm(context.Background(), &PostForm{Bucket: "photos", Fields: tc.fields})
			if err != nil {
				t.Fatal(err)
			}
			a := tc.signer.SignPostPolicy(pol, now)
			var up []FormField
			for _, f := range tc.fields {
				if authFieldIndex(strings.ToLower(f.Name)) < 0 {
					up = append(up, f)
				}
			}
			up = append(up, FormField{"policy", a.Policy}, FormField{"x-amz-algorithm", a.Algorithm},
				FormField{"x-amz-credential", a.Credential}, FormField{"x-amz-date", a.Date}, FormField{"x-amz-signature", a.Signature})
			if a.SecurityToken != "" {
				up = append(up, FormField{"x-amz-security-token", a.SecurityToken})
			}
			res, upPol, err := upstream.VerifyPostForm(context.Background(), &PostForm{Bucket: "photos", Fields: up})
			if err != nil {
				doc, _ := base64.StdEncoding.DecodeString(a.Policy)
				t.Fatalf("upstream refused the re-signed form: %v\npolicy: %s", err, doc)
			}
			if res.AccessKeyID != tc.signer.AccessKeyID || res.Kind != PostPolicyV4 {
				t.Errorf("upstream result %+v", res)
			}
			if upPol.CheckFileSize(1025, false) == nil || upPol.CheckFileSize(0, true) == nil {
				t.Error("the content-length-range condition was lost")
			}
			doc, _ := base64.StdEncoding.DecodeString(a.Policy)
			for _, gone := range []string{testAK, testSK, "AWSAccessKeyId"} {
				if strings.Contains(string(doc), gone) {
					t.Errorf("re-issued policy still mentions %q: %s", gone, doc)
				}
			}
			if !strings.Contains(string(doc), `{"bucket":"photos"}`) {
				t.Errorf("no bucket condition added: %s", doc)
			}
			// Changing a condition-covered field must still fail upstream.
			bad := setField(up, "x-amz-meta-team", "other")
			if _, _, err := upstream.VerifyPostForm(context.Background(), &PostForm{Bucket: "photos", Fields: bad}); codeOf(err) != "AccessDenied" {
				t.Errorf("upstream accepted a field the policy forbids: %v", err)
			}
		})
	}
}

// FuzzPostPolicy checks that no policy document panics the parser and that
// a parsed policy re-issues to one that parses again with the same
// conditions (auth-field conditions aside).
func FuzzPostPolicy(f *testing.F) {
	for _, s := range []string{
		`{"expiration":"2144-11-08T04:19:33Z","conditions":[{"bucket":"b"},["starts-with","$key","u/"],["content-length-range",1,"10"]]}`,
		`{"expiration":"2144-11-08T04:19:33.000Z","conditions":[{"x-amz-credential":"A/20200101/r/s3/aws4_request"},["eq","$x-amz-date","x"]]}`,
		`{"expiration":"2144-11-08T04:19:33Z","conditions":[[]]}`,
		`{"expiration":"2144-11-08T04:19:33Z","conditions":[null,1,"x",{}]}`,
		`{"expiration":true}`,
		`[]`,
	} {
		f.Add(s)
	}
	s := Signer{AccessKeyID: upstreamAK, SecretAccessKey: upstreamSK, Region: "us-east-1"}
	f.Fuzz(func(t *testing.T, doc string) {
		p, err := parsePostPolicy(b64(doc))
		if err != nil {
			if strings.HasPrefix(codeOf(err), "technical") {
				t.Fatalf("parse error without an S3 code: %v", err)
			}
			return
		}
		a := s.SignPostPolicy(p, time.Now())
		q, err := parsePostPolicy(a.Policy)
		if err != nil {
			raw, _ := base64.StdEncoding.DecodeString(a.Policy)
			t.Fatalf("re-issued policy does not parse: %v\n%s", err, raw)
		}
		var before, after []string
		for _, c := range p.conditions {
			if authFieldIndex(c.field) < 0 || c.op == condLengthRange {
				before = append(before, string(c.raw))
			}
		}
		for _, c := range q.conditions {
			if authFieldIndex(c.field) < 0 || c.op == condLengthRange {
				after = append(after, string(c.raw))
			}
		}
		if strings.Join(before, "\n") != strings.Join(after, "\n") {
			t.Fatalf("conditions changed:\n%v\n%v", before, after)
		}
	})
}
