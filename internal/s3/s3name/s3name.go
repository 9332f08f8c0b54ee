// Package s3name holds the rules for S3 bucket names and object keys that
// every layer of lakegate must agree on: the request parser, the copy-source
// parser and the grant language.
package s3name

import "strings"

// ValidBucket accepts S3 bucket names, including the legacy forms
// (upper case, underscores) that older buckets and MinIO-compatible stores
// still use, but never a name that could change the meaning of a path or a
// host: no '/', no "..", no empty labels at the ends, 3..255 characters.
func ValidBucket(b string) bool {
	if len(b) < 3 || len(b) > 255 {
		return false
	}
	if b[0] == '.' || b[len(b)-1] == '.' || b[0] == '-' || strings.Contains(b, "..") {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '.', c == '_':
		default:
			return false
		}
	}
	return true
}

// HasDotSegment reports whether key has a "." or ".." segment between
// slashes.
func HasDotSegment(key string) bool {
	for seg := range strings.SplitSeq(key, "/") {
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}
