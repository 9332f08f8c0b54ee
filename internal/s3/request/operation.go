package request

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
