package credentials

import "time"

// SetTokensClock makes t read the time from now, for expiry tests.
func SetTokensClock(t *Tokens, now func() time.Time) { t.now = now }
