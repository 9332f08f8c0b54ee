package quickstart

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/lakegate/lakegate/internal/atomicfile"
)

// awsConfigPath returns explicit, else $AWS_CONFIG_FILE, else ~/.aws/config.
func awsConfigPath(explicit string) (string, error) {
	if explicit != "" {
		return explicit, nil
	}
	if env := os.Getenv("AWS_CONFIG_FILE"); env != "" {
		return env, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".aws", "config"), nil
}

// UpsertProfile replaces the [profile <name>] section of the AWS config file
// at path with p, or appends it when absent, leaving everything else as it
// was. A missing file (and directory) is created with mode 0600 (0700); an
// existing file keeps its mode. The file is replaced atomically.
func UpsertProfile(path string, p Profile) error {
	var (
		old  []byte
		perm os.FileMode = 0o600
	)
	switch st, err := os.Stat(path); {
	case err == nil:
		perm = st.Mode().Perm()
		if old, err = os.ReadFile(path); err != nil {
			return err
		}
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return err
		}
	default:
		return err
	}
	return atomicfile.Write(path, []byte(upsertSection(string(old), p.Name, p.Section())), perm)
}

// upsertSection returns content with the section [profile name] replaced by
// section (which ends in a newline), or section appended after a blank line.
func upsertSection(content, name, section string) string {
	lines := strings.SplitAfter(content, "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	start, end := -1, len(lines)
	for i, line := range lines {
		header, ok := sectionHeader(line)
		if !ok {
			continue
		}
		if start >= 0 {
			end = i
			break
		}
		if header == "profile "+name {
			start = i
		}
	}
	if start < 0 {
		var b strings.Builder
		b.WriteString(content)
		if content != "" {
			if !strings.HasSuffix(content, "\n") {
				b.WriteString("\n")
			}
			if !strings.HasSuffix(content, "\n\n") {
				b.WriteString("\n")
			}
		}
		b.WriteString(section)
		return b.String()
	}
	var b strings.Builder
	for _, l := range lines[:start] {
		b.WriteString(l)
	}
	b.WriteString(section)
	if end < len(lines) {
		b.WriteString("\n")
		for _, l := range lines[end:] {
			b.WriteString(l)
		}
	}
	return b.String()
}

// sectionHeader parses "[ profile  x ]" into "profile x".
func sectionHeader(line string) (string, bool) {
	t := strings.TrimSpace(line)
	if !strings.HasPrefix(t, "[") || !strings.HasSuffix(t, "]") {
		return "", false
	}
	return strings.Join(strings.Fields(t[1:len(t)-1]), " "), true
}
