package audit

import "time"

// SetTestHooks lets external tests replace the clock and shorten the S3
// upload backoff.
func SetTestHooks(o *Options, now func() time.Time, uploadBackoff time.Duration) {
	o.now = now
	o.uploadBackoffMin = uploadBackoff
}
