//go:build !unix

package audit

import "errors"

// dirLock is a no-op where flock(2) is missing: run one process per
// directory.
type dirLock struct{}

// ErrLocked means another process writes the same log or spool directory.
var ErrLocked = errors.New("audit: directory in use by another process")

func lockDir(string, string) (*dirLock, error) { return &dirLock{}, nil }

func (*dirLock) release() {}
