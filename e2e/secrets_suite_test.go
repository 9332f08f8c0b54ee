package e2e

import (
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// The whole suite's secret check: every secret a test hands out or is
// handed (secret keys, tokens, JWTs, passwords, MinIO's root secret) is
// registered here, and so is every log the suite produces (each process's
// output, commands' standard error, the files lakegate writes its logs to);
// when every test has run, TestMain searches all of the logs for all of the
// secrets and fails the run on any hit. secretWatch does the same per test
// with a precise report; this catches what no test thought to watch.
var suite struct {
	mu      sync.Mutex
	secrets map[string]string // secret → what it is
	logs    []suiteLog
}

type suiteLog struct {
	name string
	read func() string
}

// registerSecret adds secrets to the suite-wide check; kind names them in
// a failure report. Secrets shorter than 8 characters are ignored.
func registerSecret(kind string, secrets ...string) {
	suite.mu.Lock()
	defer suite.mu.Unlock()
	if suite.secrets == nil {
		suite.secrets = map[string]string{}
	}
	for _, s := range secrets {
		if len(s) < 8 {
			continue
		}
		suite.secrets[s] = kind
		// A JWT's signature alone is what makes a leaked token usable.
		if parts := strings.Split(s, "."); len(parts) == 3 && len(parts[2]) >= 16 {
			suite.secrets[parts[2]] = kind + " (signature)"
		}
	}
}

// registerLog adds a log to the suite-wide check; read is called at the end.
func registerLog(name string, read func() string) {
	suite.mu.Lock()
	defer suite.mu.Unlock()
	suite.logs = append(suite.logs, suiteLog{name: name, read: read})
}

// registerLogText adds a finished log (a command's standard error).
func registerLogText(name, text string) {
	if text != "" {
		registerLog(name, func() string { return text })
	}
}

// registerLogFiles reads every file under dir now (gzip files
// decompressed) into the check, for directories that will not outlive the
// test.
func registerLogFiles(dir string) {
	_ = filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			registerLogText(path, readLogFile(path))
		}
		return nil
	})
}

// checkSuiteSecrets searches every registered log for every registered
// secret and returns one line per leak, naming the secret by kind and
// first characters only.
func checkSuiteSecrets() []string {
	suite.mu.Lock()
	logs := append([]suiteLog(nil), suite.logs...)
	secrets := make(map[string]string, len(suite.secrets))
	for s, k := range suite.secrets {
		secrets[s] = k
	}
	suite.mu.Unlock()
	var leaks []string
	for _, l := range logs {
		text := l.read()
		for s, kind := range secrets {
			if n := strings.Count(text, s); n > 0 {
				leaks = append(leaks, fmt.Sprintf("%s: %s %s… (%d characters) appears %d time(s)", l.name, kind, s[:4], len(s), n))
			}
		}
	}
	sort.Strings(leaks)
	return leaks
}

func readLogFile(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return ""
		}
		r = zr
	}
	b, _ := io.ReadAll(io.LimitReader(r, 256<<20))
	return string(b)
}

// suiteSecretsReport runs the check after the tests and reports leaks on
// stderr; it returns false when there were any.
func suiteSecretsReport() bool {
	leaks := checkSuiteSecrets()
	suite.mu.Lock()
	nSecrets, nLogs := len(suite.secrets), len(suite.logs)
	suite.mu.Unlock()
	if len(leaks) == 0 {
		if nLogs > 0 {
			fmt.Fprintf(os.Stderr, "e2e: no secret in any log: %d secrets searched in %d logs (process output, commands' stderr, audit logs)\n", nSecrets, nLogs)
		}
		return true
	}
	fmt.Fprintf(os.Stderr, "e2e: FAIL: secrets found in the suite's logs:\n  %s\n", strings.Join(leaks, "\n  "))
	return false
}
