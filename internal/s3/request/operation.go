package request

import (
	"net/http"
	"net/url"
)

// Operation is an S3 API action name as used in IAM and CloudTrail.
type Operation string

// Unknown is the operation of a request lakegate cannot classify; it is
// always denied once authorization is enforced.
const Unknown Operation = "Unknown"

// bucketSubresources maps a bucket-level query flag to the suffix of its
// Get/Put/Delete operation names, e.g. "tagging" → GetBucketTagging.
var bucketSubresources = []struct{ param, name string }{
	{"accelerate", "AccelerateConfiguration"},
	{"acl", "Acl"},
	{"analytics", "AnalyticsConfiguration"},
	{"cors", "Cors"},
	{"encryption", "Encryption"},
	{"intelligent-tiering", "IntelligentTieringConfiguration"},
	{"inventory", "InventoryConfiguration"},
	{"lifecycle", "LifecycleConfiguration"},
	{"logging", "Logging"},
	{"metrics", "MetricsConfiguration"},
	{"notification", "NotificationConfiguration"},
	{"object-lock", "ObjectLockConfiguration"},
	{"ownershipControls", "OwnershipControls"},
	{"policy", "Policy"},
	{"policyStatus", "PolicyStatus"},
	{"publicAccessBlock", "PublicAccessBlock"},
	{"replication", "Replication"},
	{"requestPayment", "RequestPayment"},
	{"tagging", "Tagging"},
	{"versioning", "Versioning"},
	{"website", "Website"},
}

// objectSubresources are the object-level query flags with their own
// operations.
var objectSubresources = []struct{ param, name string }{
	{"acl", "Acl"},
	{"attributes", "Attributes"},
	{"legal-hold", "LegalHold"},
	{"retention", "Retention"},
	{"tagging", "Tagging"},
	{"torrent", "Torrent"},
}

func classify(method string, q url.Values, h http.Header, bucket, key string) Operation {
	has := func(p string) bool { _, ok := q[p]; return ok }
	switch {
	case bucket == "":
		if method == http.MethodGet {
			return "ListBuckets"
		}
		return Unknown
	case key == "":
		return classifyBucket(method, q, has)
	default:
		return classifyObject(method, h, has)
	}
}

func classifyBucket(method string, q url.Values, has func(string) bool) Operation {
	for _, s := range bucketSubresources {
		if !has(s.param) {
			continue
		}
		switch method {
		case http.MethodGet:
			return Operation("GetBucket" + s.name)
		case http.MethodPut:
			return Operation("PutBucket" + s.name)
		case http.MethodDelete:
			return Operation("DeleteBucket" + s.name)
		}
		return Unknown
	}
	switch method {
	case http.MethodGet:
		switch {
		case has("location"):
			return "GetBucketLocation"
		case has("uploads"):
			return "ListMultipartUploads"
		case has("versions"):
			return "ListObjectVersions"
		case q.Get("list-type") == "2":
			return "ListObjectsV2"
		case has("list-type"):
			return Unknown
		}
		return "ListObjects"
	case http.MethodHead:
		return "HeadBucket"
	case http.MethodPut:
		return "CreateBucket"
	case http.MethodDelete:
		return "DeleteBucket"
	case http.MethodPost:
		if has("delete") {
			return "DeleteObjects"
		}
		return "PostObject"
	}
	return Unknown
}

func classifyObject(method string, h http.Header, has func(string) bool) Operation {
	copySource := h.Get("X-Amz-Copy-Source") != ""
	switch method {
	case http.MethodGet, http.MethodHead:
		if method == http.MethodHead {
			return "HeadObject"
		}
		if has("uploadId") {
			return "ListParts"
		}
		for _, s := range objectSubresources {
			if has(s.param) {
				return Operation("GetObject" + s.name)
			}
		}
		return "GetObject"
	case http.MethodPut:
		if has("partNumber") || has("uploadId") {
			if copySource {
				return "UploadPartCopy"
			}
			return "UploadPart"
		}
		for _, s := range objectSubresources {
			if has(s.param) {
				return Operation("PutObject" + s.name)
			}
		}
		if copySource {
			return "CopyObject"
		}
		return "PutObject"
	case http.MethodPost:
		switch {
		case has("uploads"):
			return "CreateMultipartUpload"
		case has("uploadId"):
			return "CompleteMultipartUpload"
		case has("select"):
			return "SelectObjectContent"
		case has("restore"):
			return "RestoreObject"
		}
		return Unknown
	case http.MethodDelete:
		switch {
		case has("uploadId"):
			return "AbortMultipartUpload"
		case has("tagging"):
			return "DeleteObjectTagging"
		}
		return "DeleteObject"
	}
	return Unknown
}
