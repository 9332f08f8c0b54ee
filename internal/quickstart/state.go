package quickstart

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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
	if err := writeFileAtomic(path, append(data, '\n'), 0o600); err != nil {
		return v, false, err
	}
	return v, true, nil
}

// writeFileAtomic writes data to a temporary file next to path and renames
// it over path, so readers never see a partial file.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if err := f.Chmod(perm); err != nil {
		_ = f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
