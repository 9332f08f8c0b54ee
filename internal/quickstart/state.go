package quickstart

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/lakegate/lakegate/internal/atomicfile"
)

// loadOrCreateJSON reads path as JSON into a T, or, when the file does not
// exist, writes create() there (mode 0600, atomically) and returns it with
// created true.
func loadOrCreateJSON[T any](path string, create func() T) (v T, created bool, err error) {
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(data, &v); err != nil {
			return v, false, fmt.Errorf("%s: %w", path, err)
		}
		return v, false, nil
	case !errors.Is(err, fs.ErrNotExist):
		return v, false, err
	}
	v = create()
	data, err = json.MarshalIndent(v, "", "  ")
	if err != nil {
		return v, false, err
	}
	if err := atomicfile.Write(path, append(data, '\n'), 0o600); err != nil {
		return v, false, err
	}
	return v, true, nil
}
