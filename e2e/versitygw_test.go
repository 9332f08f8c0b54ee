package e2e

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// TestVersitygwConformance runs versitygw's `full-flow` S3 conformance suite
// once against MinIO directly and once through lakegate (admin key, path
// style) in front of another MinIO, and fails for every test that passes
// directly but fails through the proxy.
//
// full-flow aborts at the first test that panics (v1.8.0 panics in
// ListObjects_with_checksum against MinIO), so the test list is read from
// the versitygw source (TestFullFlow in tests/integration/group-tests.go,
// with the default options) and each test runs as its own
// `versitygw test NAME` process. When the source cannot be found the whole
// `full-flow` command runs instead.
func TestVersitygwConformance(t *testing.T) {
	skipInBaseline(t)
	skipShort(t)
	bin := findTool("versitygw")
	if bin == "" {
		t.Skip("versitygw not found on PATH or in ~/go/bin; install with " +
			"GOTOOLCHAIN=local go install github.com/versity/versitygw/cmd/versitygw@v1.8.0")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Minute)
	defer cancel()

	names, srcErr := versitygwFullFlowTests(ctx, bin)
	if srcErr != nil {
		t.Logf("running `full-flow` as one command: %v", srcErr)
	} else {
		t.Logf("full-flow has %d tests (from the versitygw source)", len(names))
	}

	direct := startMinIO(t)
	st := newStack(t, lakegateOptions{})

	type target struct {
		name, endpoint, key, secret string
		store                       *minioServer
		res                         map[string]vgwResult
		took                        time.Duration
		log                         string
		cleanErrs                   []string
		resets                      int
	}
	targets := []*target{
		{name: "direct", endpoint: direct.Endpoint, key: direct.AccessKey, secret: direct.SecretKey, store: direct},
		{name: "proxy", endpoint: st.LG.ProxyURL, key: st.LG.AdminKey, secret: st.LG.AdminSecret, store: st.MinIO},
	}
	var wg sync.WaitGroup
	for _, tg := range targets {
		wg.Go(func() {
			dir, err := versitygwWorkDir(bin)
			if err != nil {
				tg.log = err.Error()
				return
			}
			defer os.RemoveAll(dir)
			start := time.Now()
			r := &versitygwRunner{bin: bin, dir: dir, endpoint: tg.endpoint, key: tg.key, secret: tg.secret}
			if srcErr == nil {
				// Every test process names its bucket test-bucket-1; one
				// left behind would fail every later test, so the MinIO
				// behind the target is emptied after each test.
				r.clean = func(ctx context.Context) error {
					if err := emptyMinIO(ctx, tg.store); err == nil {
						return nil
					}
					// Compliance-mode locks outlive the test: start over.
					tg.resets++
					err := tg.store.reset()
					if tg.name == "proxy" {
						st.Rec.tr.CloseIdleConnections()
					}
					return err
				}
				tg.res = r.runEach(ctx, names)
				tg.cleanErrs = r.cleanErrs
			} else {
				tg.res, tg.log = r.runFullFlow(ctx)
			}
			tg.took = time.Since(start)
		})
	}
	wg.Wait()

	d, p := targets[0], targets[1]
	for _, tg := range targets {
		pass, fail := countResults(tg.res)
		t.Logf("%s: %d tests, %d pass, %d fail, took %s", tg.name, len(tg.res), pass, fail, tg.took.Round(time.Second))
		t.Logf("%s: most common failure messages:\n%s", tg.name, topMessages(tg.res, 8))
		if tg.resets > 0 {
			t.Logf("%s: MinIO restarted empty %d times (buckets that could not be emptied)", tg.name, tg.resets)
		}
		if len(tg.cleanErrs) > 0 {
			t.Errorf("%s: %d cleanups failed, e.g. %s", tg.name, len(tg.cleanErrs), tg.cleanErrs[0])
		}
		if tg.log != "" {
			t.Logf("%s output (tail):\n%s", tg.name, tail(tg.log, 3000))
		}
	}
	if len(d.res) == 0 {
		t.Fatalf("versitygw produced no results against MinIO directly")
	}

	var proxyOnly, proxyBetter, missing []string
	for _, name := range sortedKeys(d.res) {
		dr := d.res[name]
		pr, ok := p.res[name]
		switch {
		case dr.Pass && !ok:
			missing = append(missing, name)
		case dr.Pass && !pr.Pass:
			proxyOnly = append(proxyOnly, fmt.Sprintf("%s: %s", name, pr.Msg))
		case !dr.Pass && ok && pr.Pass:
			proxyBetter = append(proxyBetter, name)
		}
	}
	if len(proxyBetter) > 0 {
		t.Logf("%d tests fail against MinIO but pass through the proxy: %s", len(proxyBetter), strings.Join(proxyBetter, ", "))
	}
	if len(missing) > 0 {
		t.Errorf("%d tests that pass directly did not run through the proxy: %s", len(missing), strings.Join(missing, ", "))
	}
	if len(proxyOnly) > 0 {
		t.Errorf("%d tests pass against MinIO directly but fail through lakegate:\n  %s",
			len(proxyOnly), strings.Join(proxyOnly, "\n  "))
	}
}

// vgwResult is one versitygw test outcome.
type vgwResult struct {
	Pass bool
	Msg  string
}

func countResults(m map[string]vgwResult) (pass, fail int) {
	for _, r := range m {
		if r.Pass {
			pass++
		} else {
			fail++
		}
	}
	return pass, fail
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// versitygwWorkDir makes a working directory holding ./versitygw, which a
// few tests execute by that relative path.
func versitygwWorkDir(bin string) (string, error) {
	dir, err := os.MkdirTemp("", "lakegate-e2e-vgw-")
	if err != nil {
		return "", err
	}
	if err := os.Symlink(bin, filepath.Join(dir, "versitygw")); err != nil {
		return "", err
	}
	return dir, nil
}

type versitygwRunner struct {
	bin, dir, endpoint, key, secret string
	// clean, if set, runs after each test.
	clean     func(context.Context) error
	cleanErrs []string
}

func (r *versitygwRunner) env() []string {
	// No AWS_CA_BUNDLE: versitygw's SDK client refuses it ("unable to add
	// custom RootCAs"), and the targets are plain http anyway.
	return baseEnv(r.dir)
}

func (r *versitygwRunner) args(test string) []string {
	return []string{"test", "-a", r.key, "-s", r.secret, "-e", r.endpoint, test}
}

var (
	ansiRE      = regexp.MustCompile(`\x1b\[[0-9;]*m`)
	vgwResultRE = regexp.MustCompile(`^(PASS|FAIL|SKIP)\s+([A-Za-z0-9_]+)(?::\s*(.*))?$`)
)

// parseVersitygw reads RUN/PASS/FAIL lines. A test that started but has no
// result (the process panicked in it) fails with the panic text.
func parseVersitygw(out string) map[string]vgwResult {
	res := map[string]vgwResult{}
	var running string
	lines := strings.Split(ansiRE.ReplaceAllString(out, ""), "\n")
	for i, line := range lines {
		line = strings.TrimSpace(line)
		if name, ok := strings.CutPrefix(line, "RUN "); ok {
			running = strings.TrimSpace(name)
			continue
		}
		if strings.HasPrefix(line, "panic:") && running != "" {
			res[running] = vgwResult{Msg: strings.Join(lines[i:min(i+3, len(lines))], " | ")}
			running = ""
			continue
		}
		m := vgwResultRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		switch m[1] {
		case "PASS":
			res[m[2]] = vgwResult{Pass: true}
		case "FAIL":
			res[m[2]] = vgwResult{Msg: m[3]}
		case "SKIP":
			// Skipped tests count as neither.
		}
		if m[2] == running {
			running = ""
		}
	}
	return res
}

// runEach runs every test as its own process, so a panic costs one test.
func (r *versitygwRunner) runEach(ctx context.Context, names []string) map[string]vgwResult {
	res := map[string]vgwResult{}
	for _, name := range names {
		if ctx.Err() != nil {
			res[name] = vgwResult{Msg: "not run: " + ctx.Err().Error()}
			continue
		}
		tctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
		stdout, stderr, code := runCmd(tctx, r.env(), r.dir, r.bin, r.args(name)...)
		if r.clean != nil {
			if err := r.clean(tctx); err != nil {
				r.cleanErrs = append(r.cleanErrs, name+": "+err.Error())
			}
		}
		cancel()
		got := parseVersitygw(stdout + "\n" + stderr)
		if v, ok := got[name]; ok {
			res[name] = v
			continue
		}
		msg := fmt.Sprintf("no result line (exit %d): %s", code, tail(strings.TrimSpace(stdout+" "+stderr), 400))
		res[name] = vgwResult{Msg: msg}
	}
	return res
}

// runFullFlow runs the whole suite in one process.
func (r *versitygwRunner) runFullFlow(ctx context.Context) (map[string]vgwResult, string) {
	stdout, stderr, _ := runCmd(ctx, r.env(), r.dir, r.bin, r.args("full-flow")...)
	out := stdout + "\n" + stderr
	return parseVersitygw(out), out
}

// versitygwFullFlowTests lists the tests `versitygw test full-flow` runs
// with default options, in order, from the source of the installed
// version.
func versitygwFullFlowTests(ctx context.Context, bin string) ([]string, error) {
	out, err := exec.CommandContext(ctx, goTool(), "version", "-m", bin).Output()
	if err != nil {
		return nil, fmt.Errorf("go version -m %s: %w", bin, err)
	}
	var version string
	for line := range strings.SplitSeq(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == "mod" && f[1] == "github.com/versity/versitygw" {
			version = f[2]
		}
	}
	if version == "" || version == "(devel)" {
		return nil, fmt.Errorf("no module version in %s", bin)
	}
	dir, err := moduleSource(ctx, "github.com/versity/versitygw", version)
	if err != nil {
		return nil, err
	}
	return parseFullFlow(filepath.Join(dir, "tests", "integration"))
}

// moduleSource finds (or downloads into the module cache) a module's source.
func moduleSource(ctx context.Context, path, version string) (string, error) {
	out, err := exec.CommandContext(ctx, goTool(), "env", "GOMODCACHE").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMODCACHE: %w", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), path+"@"+version)
	if _, err := os.Stat(dir); err == nil {
		return dir, nil
	}
	tmp, err := os.MkdirTemp("", "lakegate-e2e-moddl-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.CommandContext(ctx, goTool(), "mod", "download", path+"@"+version)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local", "GOFLAGS=")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go mod download %s@%s: %w\n%s", path, version, err, b)
	}
	if _, err := os.Stat(dir); err != nil {
		return "", err
	}
	return dir, nil
}

// parseFullFlow walks TestFullFlow: calls of group functions `TestX(ts)`
// and `ts.Run(Name)`, following if statements on ts.conf flags with every
// flag at its default (false).
func parseFullFlow(dir string) ([]string, error) {
	fset := token.NewFileSet()
	funcs := map[string]*ast.FuncDecl{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && fd.Body != nil {
				funcs[fd.Name.Name] = fd
			}
		}
	}
	root, ok := funcs["TestFullFlow"]
	if !ok {
		return nil, errors.New("TestFullFlow not found in " + dir)
	}
	var names []string
	seen := map[string]bool{}
	var walk func(stmts []ast.Stmt, depth int) error
	walk = func(stmts []ast.Stmt, depth int) error {
		if depth > 10 {
			return errors.New("group functions nest too deep")
		}
		for _, s := range stmts {
			switch s := s.(type) {
			case *ast.ExprStmt:
				call, ok := s.X.(*ast.CallExpr)
				if !ok {
					continue
				}
				switch fn := call.Fun.(type) {
				case *ast.SelectorExpr: // ts.Run(Name)
					if fn.Sel.Name == "Run" && len(call.Args) == 1 {
						if id, ok := call.Args[0].(*ast.Ident); ok && !seen[id.Name] {
							seen[id.Name] = true
							names = append(names, id.Name)
						}
					}
				case *ast.Ident: // TestGroup(ts)
					if g, ok := funcs[fn.Name]; ok && strings.HasPrefix(fn.Name, "Test") {
						if err := walk(g.Body.List, depth+1); err != nil {
							return err
						}
					}
				}
			case *ast.IfStmt:
				v, err := evalConfCond(s.Cond)
				if err != nil {
					return err
				}
				if v {
					if err := walk(s.Body.List, depth); err != nil {
						return err
					}
				} else if s.Else != nil {
					switch e := s.Else.(type) {
					case *ast.BlockStmt:
						if err := walk(e.List, depth); err != nil {
							return err
						}
					case *ast.IfStmt:
						if err := walk([]ast.Stmt{e}, depth); err != nil {
							return err
						}
					}
				}
			case *ast.BlockStmt:
				if err := walk(s.List, depth); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(root.Body.List, 0); err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, errors.New("no tests found in TestFullFlow")
	}
	return names, nil
}

// evalConfCond evaluates conditions over ts.conf.<flag> with every flag
// false.
func evalConfCond(e ast.Expr) (bool, error) {
	switch e := e.(type) {
	case *ast.ParenExpr:
		return evalConfCond(e.X)
	case *ast.UnaryExpr:
		if e.Op == token.NOT {
			v, err := evalConfCond(e.X)
			return !v, err
		}
	case *ast.BinaryExpr:
		l, err := evalConfCond(e.X)
		if err != nil {
			return false, err
		}
		r, err := evalConfCond(e.Y)
		if err != nil {
			return false, err
		}
		switch e.Op {
		case token.LAND:
			return l && r, nil
		case token.LOR:
			return l || r, nil
		}
	case *ast.SelectorExpr:
		if x, ok := e.X.(*ast.SelectorExpr); ok && x.Sel.Name == "conf" {
			return false, nil
		}
	}
	return false, fmt.Errorf("unsupported condition in TestFullFlow at %T", e)
}

// topMessages summarises failure messages (first 90 characters) by count.
func topMessages(res map[string]vgwResult, n int) string {
	counts := map[string]int{}
	for _, r := range res {
		if !r.Pass {
			m := r.Msg
			if len(m) > 90 {
				m = m[:90]
			}
			counts[m]++
		}
	}
	keys := sortedKeys(counts)
	slices.SortStableFunc(keys, func(a, b string) int { return counts[b] - counts[a] })
	var b strings.Builder
	for _, k := range keys[:min(n, len(keys))] {
		fmt.Fprintf(&b, "  %4d  %s\n", counts[k], k)
	}
	return b.String()
}

// emptyMinIO deletes every bucket on m with everything in it (versions,
// delete markers, governance-locked objects, incomplete uploads).
func emptyMinIO(ctx context.Context, m *minioServer) error {
	buckets, err := m.Client.ListBuckets(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, b := range buckets {
		if err := m.Client.RemoveBucketWithOptions(ctx, b.Name, minio.RemoveBucketOptions{ForceDelete: true}); err == nil {
			continue
		}
		for o := range m.Client.ListObjects(ctx, b.Name, minio.ListObjectsOptions{Recursive: true, WithVersions: true}) {
			if o.Err != nil {
				break
			}
			_ = m.Client.RemoveObject(ctx, b.Name, o.Key, minio.RemoveObjectOptions{VersionID: o.VersionID, GovernanceBypass: true})
		}
		for u := range m.Client.ListIncompleteUploads(ctx, b.Name, "", true) {
			if u.Err != nil {
				break
			}
			_ = m.Client.RemoveIncompleteUpload(ctx, b.Name, u.Key)
		}
		if err := m.Client.RemoveBucket(ctx, b.Name); err != nil {
			errs = append(errs, fmt.Errorf("bucket %s: %w", b.Name, err))
		}
	}
	return errors.Join(errs...)
}
