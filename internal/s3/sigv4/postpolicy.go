package sigv4

// Browser-based uploads ("POST Object"): the request carries no
// Authorization header; the form carries a base64 JSON policy and its
// signature. Specification: "Authenticating Requests in Browser-Based
// Uploads Using POST (AWS Signature Version 4)", "Creating a POST Policy"
// and "POST Object" in the Amazon S3 API reference.

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // SigV2 POST policies are signed with HMAC-SHA1.
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/lakegate/lakegate/internal/s3/s3err"
)

// FormField is one field of a browser-based POST upload form, as sent.
type FormField struct{ Name, Value string }

// PostForm is what VerifyPostForm authenticates: the bucket the request URL
// names and the form fields that precede the file, in the order sent.
type PostForm struct {
	Bucket string
	Fields []FormField
	// Key is the object key the upload writes: the key field with
	// ${filename} replaced by the file's name, which the policy's
	// conditions on $key must hold for. Empty means the key field as sent.
	Key string
}

// PostPolicy is a verified POST policy document. Its content-length-range
// condition concerns the file, which verification does not see: the caller
// enforces it with CheckFileSize while the file streams. Signer.SignPostPolicy
// re-issues it for another key.
type PostPolicy struct {
	expiration json.RawMessage // the JSON string as sent
	conditions []postCondition
	// minLength and maxLength bound the file when hasRange is set.
	minLength, maxLength int64
	hasRange             bool
	// bucket is the request's bucket, which the policy was verified for.
	bucket string
}

// Condition operators.
const (
	condEq          = "eq"
	condStartsWith  = "starts-with"
	condLengthRange = "content-length-range"
)

type postCondition struct {
	raw   json.RawMessage // compacted, as sent
	op    string          // condEq, condStartsWith or condLengthRange
	name  string          // the field as written, "$key" (also for {"key": …})
	field string          // lower-cased, without the '$'
	value string
}

// errInvalidPolicyDocument is S3's error for a policy that is not a valid
// document (as opposed to one whose conditions fail).
var errInvalidPolicyDocument = &s3err.Error{Code: "InvalidPolicyDocument", Message: "Invalid Policy.", Status: 400}

func invalidPolicy(msg string) error {
	return errInvalidPolicyDocument.WithMessage("Invalid Policy: " + msg)
}

var (
	errPolicyExpired  = s3err.AccessDenied.WithMessage("Invalid according to Policy: Policy expired.")
	errPostMultiAuth  = s3err.InvalidArgument.WithMessage("Only one auth mechanism allowed; a POST form carries either x-amz-signature (AWS Signature Version 4) or AWSAccessKeyId and signature (Version 2).")
	errEntityTooSmall = &s3err.Error{Code: "EntityTooSmall", Message: "Your proposed upload is smaller than the minimum allowed size", Status: 400}
)

func missingFormField(name string) error {
	return s3err.InvalidArgument.WithMessage("Bucket POST must contain a field named '" + name + "'.  If it is specified, please check the order of the fields.")
}

// conditionFailed echoes the condition as S3 does: a list condition as
// sent (compacted), a simple one as the equivalent list.
func conditionFailed(c *postCondition) error {
	echo := `["` + c.op + `", "` + safeText(c.name) + `", "` + safeText(c.value) + `"]`
	if len(c.raw) > 0 && c.raw[0] == '[' && len(c.raw) <= 256 {
		echo = strings.Map(func(r rune) rune {
			if r < 0x20 || r == 0x7f {
				return '?'
			}
			return r
		}, string(c.raw))
	}
	return s3err.AccessDenied.WithMessage("Invalid according to Policy: Policy Condition failed: " + echo)
}

// VerifyPostForm authenticates a browser-based POST upload from its fields:
// the policy signature (SigV4: x-amz-algorithm, x-amz-credential,
// x-amz-date, x-amz-signature; SigV2, when allowed: AWSAccessKeyId and
// signature), the credential's expiry and session token
// (x-amz-security-token), then the policy's expiration and its conditions
// against the fields and f.Bucket, and that every field is covered by a
// condition. Field names are matched case-insensitively; a field given twice
// is refused.
//
// Errors are as for Verify: *s3err.Error values for client-caused failures
// (AccessDenied "Invalid according to Policy: …" for an expired policy or a
// failed condition, InvalidPolicyDocument for a malformed one), anything
// else a technical failure. A form without policy and signature is
// anonymous and returns AccessDenied.
func (v *Verifier) VerifyPostForm(ctx context.Context, f *PostForm) (*Result, *PostPolicy, error) {
	fields := make(map[string]string, len(f.Fields))
	for _, fl := range f.Fields {
		name := strings.ToLower(fl.Name)
		if _, dup := fields[name]; dup {
			return nil, nil, s3err.InvalidArgument.WithMessage("The POST form field '" + safeText(fl.Name) + "' appears more than once.")
		}
		fields[name] = fl.Value
	}
	has := func(name string) bool { _, ok := fields[name]; return ok }
	isV4 := has("x-amz-signature") || has("x-amz-algorithm") || has("x-amz-credential")
	isV2 := has("awsaccesskeyid") || has("signature")

	var (
		res *Result
		err error
	)
	switch {
	case isV4 && isV2:
		return nil, nil, errPostMultiAuth
	case isV4:
		res, err = v.verifyPostV4(ctx, fields)
	case isV2:
		if !v.opts.AllowSigV2 {
			return nil, nil, errV2Disabled
		}
		res, err = v.verifyPostV2(ctx, fields)
	case has("policy"):
		return nil, nil, missingFormField("x-amz-signature")
	default:
		return nil, nil, errAnonymous
	}
	if err != nil {
		return nil, nil, err
	}

	if !has("key") {
		return nil, nil, missingFormField("key")
	}
	p, err := parsePostPolicy(fields["policy"])
	if err != nil {
		return nil, nil, err
	}
	if err := p.check(f, fields, res.Kind, v.opts.Now()); err != nil {
		return nil, nil, err
	}
	p.bucket = f.Bucket
	return res, p, nil
}

func (v *Verifier) verifyPostV4(ctx context.Context, fields map[string]string) (*Result, error) {
	for _, name := range [...]string{"x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature", "policy"} {
		if fields[name] == "" {
			return nil, missingFormField(name)
		}
	}
	switch fields["x-amz-algorithm"] {
	case algoV4:
	case algoV4ECDSA:
		return nil, s3err.NotImplemented.WithMessage("Signature Version 4A (AWS4-ECDSA-P256-SHA256) is not supported; use AWS4-HMAC-SHA256.")
	default:
		return nil, s3err.InvalidArgument.WithMessage(`x-amz-algorithm only supports "AWS4-HMAC-SHA256".`)
	}
	cred, ok := parseCredential(fields["x-amz-credential"])
	if !ok {
		return nil, s3err.InvalidArgument.WithMessage("Error parsing the x-amz-credential field; " + msgCredentialMalformed)
	}
	if cred.service != serviceS3 {
		return nil, s3err.InvalidArgument.WithMessage("Error parsing the x-amz-credential field; incorrect service \"" + safeText(cred.service) + "\". This endpoint belongs to \"s3\".")
	}
	amzDate := fields["x-amz-date"]
	t, err := parseAmzDate(amzDate)
	if err != nil {
		return nil, s3err.InvalidArgument.WithMessage(`x-amz-date must be in the ISO8601 Long Format "yyyyMMdd'T'HHmmss'Z'".`)
	}
	if cred.date != amzDate[:8] {
		return nil, s3err.InvalidArgument.WithMessage("Error parsing the x-amz-credential field; Invalid credential date. Date is not the same as x-amz-date.")
	}

	c, err := v.lookup(ctx, cred.accessKeyID)
	if err != nil {
		return nil, err
	}
	key := keys.get(c.SecretAccessKey, cred.date, cred.region, cred.service)
	var want [64]byte
	hex.Encode(want[:], key.mac(make([]byte, 0, 32), []byte(fields["policy"])))
	if subtle.ConstantTimeCompare(want[:], []byte(fields["x-amz-signature"])) != 1 {
		return nil, s3err.SignatureDoesNotMatch
	}
	token, hasToken := fields["x-amz-security-token"]
	if err := v.checkCredential(&c, token, hasToken); err != nil {
		return nil, err
	}
	return &Result{
		AccessKeyID:          cred.accessKeyID,
		Credential:           c,
		Kind:                 PostPolicyV4,
		Payload:              PayloadUnsigned,
		DecodedContentLength: -1,
		Region:               cred.region,
		RequestTime:          t,
		maxChunkSize:         v.opts.MaxChunkSize,
	}, nil
}

func (v *Verifier) verifyPostV2(ctx context.Context, fields map[string]string) (*Result, error) {
	for _, name := range [...]string{"AWSAccessKeyId", "signature", "policy"} {
		if fields[strings.ToLower(name)] == "" {
			return nil, missingFormField(name)
		}
	}
	akid := fields["awsaccesskeyid"]
	c, err := v.lookup(ctx, akid)
	if err != nil {
		return nil, err
	}
	m := hmac.New(sha1.New, []byte(c.SecretAccessKey))
	m.Write([]byte(fields["policy"]))
	want := base64.StdEncoding.AppendEncode(make([]byte, 0, 28), m.Sum(nil))
	if subtle.ConstantTimeCompare(want, []byte(fields["signature"])) != 1 {
		return nil, s3err.SignatureDoesNotMatch
	}
	token, hasToken := fields["x-amz-security-token"]
	if err := v.checkCredential(&c, token, hasToken); err != nil {
		return nil, err
	}
	return &Result{
		AccessKeyID:          akid,
		Credential:           c,
		Kind:                 PostPolicyV2,
		Payload:              PayloadUnsigned,
		DecodedContentLength: -1,
		RequestTime:          v.opts.Now(),
		maxChunkSize:         v.opts.MaxChunkSize,
	}, nil
}

// maxPolicyConditions bounds the work one policy can cause.
const maxPolicyConditions = 1000

// parsePostPolicy decodes the base64 policy field. Line breaks and spaces
// some encoders insert are ignored (the signature covers the field as sent).
func parsePostPolicy(b64 string) (*PostPolicy, error) {
	b64 = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, b64)
	doc, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, invalidPolicy("Invalid Base64 Encoding.")
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(doc, &top); err != nil {
		return nil, invalidPolicy("Invalid JSON.")
	}
	for k := range top {
		if k != "expiration" && k != "conditions" {
			return nil, invalidPolicy("Unexpected field '" + safeText(k) + "'.")
		}
	}
	p := &PostPolicy{maxLength: -1}
	exp, ok := top["expiration"]
	if !ok {
		return nil, invalidPolicy("Policy missing expiration.")
	}
	var expS string
	if err := json.Unmarshal(exp, &expS); err != nil {
		return nil, invalidPolicy("Invalid JSON.")
	}
	if _, err := time.Parse(time.RFC3339Nano, expS); err != nil {
		return nil, invalidPolicy("Invalid 'expiration' value: '" + safeText(expS) + "'")
	}
	p.expiration = mustCompact(exp)
	rawConds, ok := top["conditions"]
	if !ok {
		return nil, invalidPolicy("Policy missing conditions.")
	}
	var conds []json.RawMessage
	if err := json.Unmarshal(rawConds, &conds); err != nil {
		return nil, invalidPolicy("Invalid 'conditions' value: must be a list.")
	}
	if len(conds) > maxPolicyConditions {
		return nil, invalidPolicy("Too many conditions.")
	}
	for _, raw := range conds {
		c, err := parseCondition(raw)
		if err != nil {
			return nil, err
		}
		if c.op == condLengthRange {
			lo, hi := c.lengthRange()
			if !p.hasRange || lo > p.minLength {
				p.minLength = lo
			}
			if !p.hasRange || hi < p.maxLength {
				p.maxLength = hi
			}
			p.hasRange = true
		}
		p.conditions = append(p.conditions, c)
	}
	return p, nil
}

func mustCompact(raw json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return raw // cannot happen: raw came from a successful Unmarshal
	}
	return b.Bytes()
}

func parseCondition(raw json.RawMessage) (postCondition, error) {
	c := postCondition{raw: mustCompact(raw)}
	switch bytes.TrimLeft(raw, " \t\r\n")[0] {
	case '{':
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			return c, invalidPolicy("Invalid JSON.")
		}
		if len(m) != 1 {
			return c, invalidPolicy("Invalid Simple-Condition: Simple-Conditions must have exactly one property specified.")
		}
		for k, v := range m {
			if err := json.Unmarshal(v, &c.value); err != nil {
				return c, invalidPolicy("Invalid Simple-Condition: value must be a string.")
			}
			c.op, c.name, c.field = condEq, "$"+k, strings.ToLower(k)
		}
		return c, nil
	case '[':
		var a []json.RawMessage
		if err := json.Unmarshal(raw, &a); err != nil {
			return c, invalidPolicy("Invalid JSON.")
		}
		if len(a) == 0 {
			return c, invalidPolicy("Invalid Condition: missing operation identifier.")
		}
		var op string
		if err := json.Unmarshal(a[0], &op); err != nil {
			return c, invalidPolicy("Invalid JSON.")
		}
		c.op = strings.ToLower(op)
		switch c.op {
		case condEq, condStartsWith:
			if len(a) != 3 {
				return c, invalidPolicy("Invalid Condition: wrong number of arguments for '" + safeText(op) + "'.")
			}
			if json.Unmarshal(a[1], &c.name) != nil || json.Unmarshal(a[2], &c.value) != nil {
				return c, invalidPolicy("Invalid JSON.")
			}
			field, ok := strings.CutPrefix(c.name, "$")
			if !ok {
				return c, conditionFailed(&c)
			}
			c.field = strings.ToLower(field)
			return c, nil
		case condLengthRange:
			if len(a) != 3 {
				return c, invalidPolicy("Invalid Condition: wrong number of arguments for 'content-length-range'.")
			}
			lo, ok1 := jsonLength(a[1])
			hi, ok2 := jsonLength(a[2])
			if !ok1 || !ok2 {
				return c, invalidPolicy("Invalid JSON.")
			}
			c.value = strconv.FormatInt(lo, 10) + "," + strconv.FormatInt(hi, 10)
			return c, nil
		default:
			return c, invalidPolicy("Invalid Condition: unknown operation '" + safeText(op) + "'.")
		}
	default:
		return c, invalidPolicy("Invalid Condition: must be an object or a list.")
	}
}

// jsonLength reads a non-negative integer written as a JSON number or a
// string of digits.
func jsonLength(raw json.RawMessage) (int64, bool) {
	s := string(raw)
	if len(s) >= 2 && s[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n >= 0
}

// lengthRange returns the bounds of a content-length-range condition.
func (c *postCondition) lengthRange() (lo, hi int64) {
	a, b, _ := strings.Cut(c.value, ",")
	lo, _ = strconv.ParseInt(a, 10, 64)
	hi, _ = strconv.ParseInt(b, 10, 64)
	return lo, hi
}

// exactOnly are the fields whose conditions must be exact matches: the
// bucket, the tag set, and the fields of the signature itself. Every other
// field takes starts-with, as in MinIO and Ceph RGW (AWS documents it for
// key, acl, the REST headers, success_action_redirect, redirect and
// x-amz-meta-*; servers accept it on x-amz-server-side-encryption*,
// x-amz-storage-class and the others too).
var exactOnly = map[string]bool{
	"bucket": true, "tagging": true,
	"x-amz-algorithm": true, "x-amz-credential": true, "x-amz-date": true, "x-amz-security-token": true,
}

// check applies the expiration and the conditions to the form.
func (p *PostPolicy) check(f *PostForm, fields map[string]string, kind AuthKind, now time.Time) error {
	var expS string
	_ = json.Unmarshal(p.expiration, &expS)
	exp, _ := time.Parse(time.RFC3339Nano, expS)
	if !now.Before(exp) {
		return errPolicyExpired
	}
	covered := make(map[string]bool, len(p.conditions))
	for i := range p.conditions {
		c := &p.conditions[i]
		if c.op == condLengthRange {
			continue
		}
		got := fields[c.field]
		switch c.field {
		case "bucket":
			got = f.Bucket
		case "key":
			if f.Key != "" {
				got = f.Key
			}
		}
		ok := false
		switch {
		case c.op == condEq:
			ok = got == c.value
		case exactOnly[c.field]:
			ok = false
		case c.field == "content-type":
			// A list of content types passes when each of them does.
			ok = true
			for part := range strings.SplitSeq(got, ",") {
				ok = ok && strings.HasPrefix(strings.TrimSpace(part), c.value)
			}
		default:
			ok = strings.HasPrefix(got, c.value)
		}
		if !ok {
			return conditionFailed(c)
		}
		covered[c.field] = true
	}
	for _, fl := range f.Fields {
		name := strings.ToLower(fl.Name)
		if covered[name] || exemptFromPolicy(name, kind) {
			continue
		}
		return s3err.AccessDenied.WithMessage("Invalid according to Policy: Extra input fields: " + safeText(fl.Name))
	}
	return nil
}

// exemptFromPolicy reports whether a form field needs no condition.
func exemptFromPolicy(name string, kind AuthKind) bool {
	switch name {
	case "policy", "x-amz-signature", "file":
		return true
	case "awsaccesskeyid", "signature":
		return kind == PostPolicyV2
	}
	return strings.HasPrefix(name, "x-ignore-")
}

// CheckFileSize applies the content-length-range condition to a file of n
// bytes: EntityTooLarge when n exceeds the maximum, which a caller may check
// as the file streams with the size so far, and, once complete is set,
// EntityTooSmall when n is below the minimum. Both are *s3err.Error values.
func (p *PostPolicy) CheckFileSize(n int64, complete bool) error {
	switch {
	case !p.hasRange:
		return nil
	case n > p.maxLength:
		return s3err.EntityTooLarge
	case complete && n < p.minLength:
		return errEntityTooSmall
	}
	return nil
}

// PostFormAuth is the authentication of a POST form made by
// Signer.SignPostPolicy: the values of the policy, x-amz-algorithm,
// x-amz-credential, x-amz-date, x-amz-security-token (omitted when empty)
// and x-amz-signature fields.
type PostFormAuth struct {
	Policy, Algorithm, Credential, Date, SecurityToken, Signature string
}

// postAuthFields are the fields whose conditions SignPostPolicy rewrites
// (the first four) or drops (the others, which no condition may constrain
// once the form is re-signed).
var postAuthFields = [...]string{
	"x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-security-token",
	"x-amz-signature", "policy", "awsaccesskeyid", "signature",
}

// SignPostPolicy re-issues p for s's key at now and signs it (SigV4): the
// same expiration and conditions, except that the conditions on
// x-amz-algorithm, x-amz-credential, x-amz-date and x-amz-security-token
// become exact matches of the new values (added where p had none; the token
// condition is dropped when s has no session token) and conditions on the
// client's signature fields are dropped. A policy without a bucket
// condition gets one for the bucket it was verified for (the request names
// it anyway), since some servers (MinIO) require one.
func (s *Signer) SignPostPolicy(p *PostPolicy, now time.Time) PostFormAuth {
	service := s.Service
	if service == "" {
		service = serviceS3
	}
	amzDate := now.UTC().Format(amzDateLayout)
	date := amzDate[:8]
	a := PostFormAuth{
		Algorithm:     algoV4,
		Credential:    s.AccessKeyID + "/" + date + "/" + s.Region + "/" + service + "/" + scopeTerminator,
		Date:          amzDate,
		SecurityToken: s.SessionToken,
	}
	values := [...]string{a.Algorithm, a.Credential, a.Date, a.SecurityToken}
	var placed [len(values)]bool

	var b bytes.Buffer
	items := 0
	item := func(raw []byte) {
		if items > 0 {
			b.WriteByte(',')
		}
		items++
		b.Write(raw)
	}
	simple := func(field, value string) []byte {
		k, _ := json.Marshal(field)
		v, _ := json.Marshal(value)
		return []byte(`{` + string(k) + `:` + string(v) + `}`)
	}
	auth := func(i int) {
		if values[i] != "" && !placed[i] {
			placed[i] = true
			item(simple(postAuthFields[i], values[i]))
		}
	}

	b.WriteString(`{"expiration":`)
	b.Write(p.expiration)
	b.WriteString(`,"conditions":[`)
	for i := range p.conditions {
		c := &p.conditions[i]
		j := authFieldIndex(c.field)
		switch {
		case j < 0 || c.op == condLengthRange:
			item(c.raw)
		case j < len(values):
			auth(j) // rewritten in place
		}
	}
	for i := range values {
		auth(i)
	}
	if !p.hasBucketCondition() && p.bucket != "" {
		item(simple("bucket", p.bucket))
	}
	b.WriteString(`]}`)
	a.Policy = base64.StdEncoding.EncodeToString(b.Bytes())

	key := keys.get(s.SecretAccessKey, date, s.Region, service)
	a.Signature = hex.EncodeToString(key.mac(nil, []byte(a.Policy)))
	return a
}

func (p *PostPolicy) hasBucketCondition() bool {
	for i := range p.conditions {
		if p.conditions[i].field == "bucket" {
			return true
		}
	}
	return false
}

func authFieldIndex(field string) int {
	for i, f := range postAuthFields {
		if f == field {
			return i
		}
	}
	return -1
}
