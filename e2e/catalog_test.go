package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// catalogAuditEvent is the part of an audit event the catalog tests read:
// the request and the table (and partition) a table grant decided under.
type catalogAuditEvent struct {
	User      string   `json:"user"`
	Operation string   `json:"operation"`
	URIs      []string `json:"uris"`
	Decision  string   `json:"decision"`
	Status    int      `json:"status"`
	Table     string   `json:"table"`
	Partition string   `json:"partition"`
}

// catalogAudit polls the server's local audit files (`lakegate audit query
// --json --dir`) until match holds for an event, for up to 15 s.
func catalogAudit(t *testing.T, lg *lakegateServer, match func(catalogAuditEvent) bool, args ...string) (catalogAuditEvent, []catalogAuditEvent, bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		home := t.TempDir()
		full := append([]string{"audit", "query", "--json", "--config", lg.ConfigFile, "--dir", filepath.Join(lg.DataDir, "audit")}, args...)
		stdout, stderr, code := runCmd(ctx, baseEnv(home), home, lakegateBin, full...)
		cancel()
		if code != 0 {
			t.Fatalf("lakegate %s: exit %d\n%s", strings.Join(full, " "), code, stderr)
		}
		var all []catalogAuditEvent
		sc := bufio.NewScanner(strings.NewReader(stdout))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var e catalogAuditEvent
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				t.Fatalf("audit query printed a line that is not an event: %v: %q", err, sc.Text())
			}
			all = append(all, e)
			if match(e) {
				return e, all, true
			}
		}
		if time.Now().After(deadline) {
			return catalogAuditEvent{}, all, false
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// catalogBoto3Script reads a table's files as one user with boto3: it lists
// the prefix (list_objects_v2) and gets every object listed, printing
// "STEP list KEY…", "STEP get:KEY SHA256" and, for E2E_DENIED, "STEP
// denied:KEY CODE".
const catalogBoto3Script = `
import hashlib, os, sys
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

s3 = boto3.client("s3", endpoint_url=os.environ["E2E_ENDPOINT"],
    aws_access_key_id=os.environ["E2E_KEY"], aws_secret_access_key=os.environ["E2E_SECRET"],
    region_name="us-east-1",
    config=Config(s3={"addressing_style": "path"}, retries={"mode": "standard", "max_attempts": 1}))
bucket, prefix = os.environ["E2E_BUCKET"], os.environ["E2E_PREFIX"]
r = s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
keys = [o["Key"] for o in r.get("Contents", [])]
print("STEP list " + " ".join(keys), flush=True)
for k in keys:
    body = s3.get_object(Bucket=bucket, Key=k)["Body"].read()
    print("STEP get:%s %s" % (k, hashlib.sha256(body).hexdigest()), flush=True)
for d in os.environ.get("E2E_DENIED", "").split():
    b, k = d.split("/", 1)
    try:
        s3.get_object(Bucket=b, Key=k)
        print("STEP denied:%s ALLOWED" % d, flush=True)
    except ClientError as e:
        print("STEP denied:%s %s" % (d, e.response.get("Error", {}).get("Code")), flush=True)
`

// runCatalogBoto3 runs catalogBoto3Script as key/secret against endpoint.
func runCatalogBoto3(t *testing.T, endpoint, key, secret, bucket, prefix string, denied ...string) map[string]string {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not found")
	}
	home := t.TempDir()
	script := filepath.Join(home, "catalog.py")
	if err := os.WriteFile(script, []byte(catalogBoto3Script), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(baseEnv(home), "E2E_ENDPOINT="+endpoint, "E2E_KEY="+key, "E2E_SECRET="+secret,
		"E2E_BUCKET="+bucket, "E2E_PREFIX="+prefix, "E2E_DENIED="+strings.Join(denied, " "),
		"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	stdout, stderr, code := runCmd(ctx, env, home, py, script)
	if code != 0 {
		t.Fatalf("boto3 script: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, tail(stderr, 4000))
	}
	return stepResults(stdout)
}

// catalogWorld is seed 000's data: Parquet files under
// s3://controlled-data/transactions/ written through the proxy by the
// admin, a sibling prefix transactions2/ and a bucket anotherbucket.
type catalogWorld struct {
	st    *stack
	admin *s3User
	files map[string][]byte // key in controlled-data → content
}

const (
	txnBucket   = "controlled-data"
	txnPrefix   = "transactions/"
	txnLocation = "s3://controlled-data/transactions"
	txnTable    = "source.transactions"
)

func newCatalogWorld(t *testing.T, st *stack) *catalogWorld {
	t.Helper()
	w := &catalogWorld{st: st, admin: newS3User(st.LG, "admin", st.LG.AdminKey, st.LG.AdminSecret), files: map[string][]byte{}}
	for _, b := range []string{txnBucket, "anotherbucket"} {
		if code, s3code := w.admin.status(t, rawReq{Method: http.MethodPut, Path: "/" + b}); code != http.StatusOK {
			t.Fatalf("admin CreateBucket %s through the proxy: %d %s", b, code, s3code)
		}
	}
	put := func(bucket, key string, body []byte) {
		if resp := w.admin.put(t, bucket, key, body); resp.Status != http.StatusOK {
			t.Fatalf("admin PUT %s/%s through the proxy: %d\n%s", bucket, key, resp.Status, resp.Body)
		}
	}
	for i := range 2 {
		key := fmt.Sprintf("%spart-%05d.parquet", txnPrefix, i)
		w.files[key] = txnParquet(t, i*100, 100)
		put(txnBucket, key, w.files[key])
	}
	put(txnBucket, "transactions2/part-00000.parquet", txnParquet(t, 1000, 10))
	put(txnBucket, "transactions.bak/x", []byte("backup"))
	put("anotherbucket", "transactions/part-00000.parquet", txnParquet(t, 2000, 10))
	// The files reached the backend as written.
	for k, b := range w.files {
		if got := st.MinIO.get(t, txnBucket, k); got != string(b) {
			t.Fatalf("%s on the backend differs from what the admin wrote", k)
		}
	}
	return w
}

// TestCatalogSeed000Flow is issue 15's "Done when", seed 000's flow: the
// admin writes Parquet files through the proxy, registers them as
// source.transactions (column list, and once LIKE PARQUET), grants SELECT
// ON TABLE to a role of group user_b, with no URI grant; user_b reads the
// files with the AWS CLI and boto3 (dynamic bypass) and is refused
// anotherbucket, the sibling transactions2/ and any write; the audit log
// names the table; a REVOKE reaches a node proxy within a second.
func TestCatalogSeed000Flow(t *testing.T) {
	if findTool("aws") == "" {
		t.Skip("aws CLI not found on PATH")
	}
	systemKey := writeSystemKey(t)
	forEachBackend(t, lakegateOptions{SystemKey: systemKey}, func(t *testing.T, kind backendKind, st *stack) {
		start := time.Now()
		lg := st.LG
		w := newCatalogWorld(t, st)

		if !step(t, "seed_ddl_and_grants", func(t *testing.T) {
			lg.sql(t, "CREATE DATABASE source", "CREATE EXTERNAL TABLE source.transactions (\n"+seedTxnColumns+" )\nSTORED AS PARQUET LOCATION '"+txnLocation+"'",
				"CREATE ROLE analysts", "GRANT ROLE analysts TO GROUP user_b",
				"GRANT SELECT ON TABLE source.transactions TO ROLE analysts")
			out := lg.sql(t, "SHOW GRANTS ON ROLE analysts")
			if strings.Contains(strings.ToLower(out), "uri") || !strings.Contains(out, txnTable) {
				t.Errorf("SHOW GRANTS ON ROLE analysts should hold the table grant and no URI grant:\n%s", out)
			}
			if out := lg.sql(t, "SHOW TABLES IN source"); !strings.Contains(out, "transactions") || strings.Contains(out, "transactions_like") {
				t.Errorf("SHOW TABLES IN source: %s", out)
			}
		}) {
			return
		}
		step(t, "like_parquet", func(t *testing.T) {
			lg.sql(t, "CREATE EXTERNAL TABLE source.transactions_like LIKE PARQUET '"+txnLocation+"/part-00000.parquet' STORED AS PARQUET LOCATION '"+txnLocation+"'")
			out := lg.sql(t, "DESCRIBE source.transactions_like")
			for _, c := range strings.Split(seedTxnColumns, ",\n") {
				name, typ, _ := strings.Cut(c, " ")
				if !describes(out, name, typ) {
					t.Errorf("DESCRIBE of the LIKE PARQUET table lacks %s %s:\n%s", name, typ, out)
				}
			}
			lg.sql(t, "DROP TABLE source.transactions_like")
		})
		key, secret := lg.createUser(t, "user_b", "user_b")
		ub := newS3User(lg, "user_b", key, secret)
		cli := userCLI(t, st, key, secret)

		step(t, "aws_cli_reads", func(t *testing.T) {
			out := cli.run(t, time.Minute, "s3", "ls", "s3://"+txnBucket+"/"+txnPrefix)
			for k := range w.files {
				if !strings.Contains(out, filepath.Base(k)) {
					t.Errorf("aws s3 ls of the location lacks %s:\n%s", k, out)
				}
			}
			dir := t.TempDir()
			one := txnPrefix + "part-00000.parquet"
			dst1 := filepath.Join(dir, "one.parquet")
			cli.run(t, time.Minute, "s3", "cp", "--no-progress", "s3://"+txnBucket+"/"+one, dst1)
			if got, err := os.ReadFile(dst1); err != nil || string(got) != string(w.files[one]) {
				t.Errorf("aws s3 cp %s: %d bytes (%v), want the %d bytes written", one, len(got), err, len(w.files[one]))
			}
			dst := filepath.Join(dir, "rec")
			cli.run(t, time.Minute, "s3", "cp", "--no-progress", "--recursive", "s3://"+txnBucket+"/"+txnPrefix, dst)
			want := map[string]string{}
			for k, b := range w.files {
				want[strings.TrimPrefix(k, txnPrefix)] = sha256Hex(b)
			}
			compareTree(t, want, dst)
		})
		step(t, "boto3_reads", func(t *testing.T) {
			res := runCatalogBoto3(t, lg.ProxyURL, key, secret, txnBucket, txnPrefix,
				"anotherbucket/transactions/part-00000.parquet", txnBucket+"/transactions2/part-00000.parquet")
			var want []string
			for k, b := range w.files {
				want = append(want, k)
				if got := res["get:"+k]; got != sha256Hex(b) {
					t.Errorf("boto3 get_object %s: sha256 %q, want %s", k, got, sha256Hex(b))
				}
			}
			if got := strings.Fields(res["list"]); strings.Join(sorted(got), " ") != strings.Join(sorted(want), " ") {
				t.Errorf("boto3 list_objects_v2 Prefix=%s: %v, want %v", txnPrefix, got, sorted(want))
			}
			for _, d := range []string{"anotherbucket/transactions/part-00000.parquet", txnBucket + "/transactions2/part-00000.parquet"} {
				if got := res["denied:"+d]; got != "AccessDenied" {
					t.Errorf("boto3 get_object %s: %q, want AccessDenied", d, got)
				}
			}
		})
		step(t, "refused_outside", func(t *testing.T) {
			before := st.Rec.Len()
			for _, c := range []struct {
				what string
				r    rawReq
			}{
				{"GET anotherbucket", rawReq{Method: http.MethodGet, Path: "/anotherbucket/transactions/part-00000.parquet"}},
				{"list anotherbucket", rawReq{Method: http.MethodGet, Path: "/anotherbucket", Query: "list-type=2&prefix=transactions%2F"}},
				{"GET sibling transactions2/", rawReq{Method: http.MethodGet, Path: "/" + txnBucket + "/transactions2/part-00000.parquet"}},
				{"GET sibling transactions.bak/", rawReq{Method: http.MethodGet, Path: "/" + txnBucket + "/transactions.bak/x"}},
				{"list sibling transactions2/", rawReq{Method: http.MethodGet, Path: "/" + txnBucket, Query: "list-type=2&prefix=transactions2%2F"}},
				{"PUT under the location (SELECT does not write)", rawReq{Method: http.MethodPut, Path: "/" + txnBucket + "/" + txnPrefix + "new.parquet", Body: []byte("PAR1")}},
				{"DELETE under the location", rawReq{Method: http.MethodDelete, Path: "/" + txnBucket + "/" + txnPrefix + "part-00000.parquet"}},
			} {
				if code, s3code := ub.status(t, c.r); code != http.StatusForbidden || s3code != "AccessDenied" {
					t.Errorf("user_b %s (%s): %d %s, want 403 AccessDenied", c.what, c.r, code, s3code)
				}
			}
			stdout, stderr, code := cli.exec(time.Minute, "s3", "ls", "s3://anotherbucket/")
			if code == 0 || !deniedOutput(stderr) {
				t.Errorf("aws s3 ls s3://anotherbucket/: exit %d, want Access Denied\n%s\n%s", code, stdout, stderr)
			}
			settle(t, st.Rec)
			for _, r := range st.Rec.Since(before) {
				t.Errorf("a refused request reached the backend: %s", r)
			}
			if st.MinIO.objectExists(t, txnBucket, txnPrefix+"new.parquet") || !st.MinIO.objectExists(t, txnBucket, txnPrefix+"part-00000.parquet") {
				t.Error("the refused PUT or DELETE changed the location on the backend")
			}
		})
		step(t, "audit_names_table", func(t *testing.T) {
			uri := "s3://" + txnBucket + "/" + txnPrefix + "part-00000.parquet"
			e, all, ok := catalogAudit(t, lg, func(e catalogAuditEvent) bool {
				return e.Operation == "GetObject" && e.Decision == "allow" && len(e.URIs) > 0 && e.URIs[0] == uri
			}, "--user", "user_b")
			if !ok {
				t.Fatalf("no allowed GetObject of %s by user_b in the audit log (%d events)", uri, len(all))
			}
			if e.Table != txnTable {
				t.Errorf("audit event of user_b's GET %s: table %q, want %s", uri, e.Table, txnTable)
			}
			// The table filter finds the same reads.
			if _, _, ok := catalogAudit(t, lg, func(e catalogAuditEvent) bool { return e.User == "user_b" && e.Operation == "GetObject" },
				"--table", txnTable); !ok {
				t.Errorf("lakegate audit query --table %s finds no GetObject of user_b", txnTable)
			}
		})
		step(t, "revoke_reaches_node_proxy", func(t *testing.T) {
			node := startNScaleProxy(t, st, "node1", systemKey, time.Minute)
			nu := node.user(lg, "user_b", key, secret)
			get := rawReq{Method: http.MethodGet, Path: "/" + txnBucket + "/" + txnPrefix + "part-00001.parquet"}
			took, ok := poll(10*time.Second, 20*time.Millisecond, func() bool {
				code, _ := nu.status(t, get)
				return code == http.StatusOK
			})
			if !ok {
				code, s3code := nu.status(t, get)
				t.Fatalf("user_b's GET under the table location on the node proxy: %d %s after %v, want 200", code, s3code, took)
			}
			for range 3 { // warm
				if resp := nu.do(t, get); resp.Status != http.StatusOK || string(resp.Body) != string(w.files[txnPrefix+"part-00001.parquet"]) {
					t.Fatalf("warm GET on the node proxy: %d (%d bytes)", resp.Status, len(resp.Body))
				}
			}
			lg.sql(t, "REVOKE SELECT ON TABLE source.transactions FROM ROLE analysts")
			revoked := time.Now()
			_, ok = poll(10*time.Second, 20*time.Millisecond, func() bool {
				code, _ := nu.status(t, get)
				return code == http.StatusForbidden
			})
			lat := time.Since(revoked)
			if !ok {
				t.Fatalf("REVOKE SELECT ON TABLE: the node proxy still serves user_b %v later", lat)
			}
			t.Logf("%s: REVOKE SELECT ON TABLE reached the node proxy in %v", kind, lat.Round(time.Millisecond))
			if lat > propagationBound {
				t.Errorf("REVOKE took %v to reach the node proxy (bound %v)", lat, propagationBound)
			}
			if code, _ := ub.status(t, get); code != http.StatusForbidden {
				t.Errorf("after the REVOKE the server's proxy answers %d, want 403", code)
			}
		})
		t.Logf("%s: %v", kind, time.Since(start).Round(time.Millisecond))
	})
}

// describes reports whether DESCRIBE output has a row naming column name
// with type typ (case-insensitive).
func describes(out, name, typ string) bool {
	for line := range strings.SplitSeq(out, "\n") {
		f := strings.Fields(strings.NewReplacer("|", " ", "\t", " ").Replace(line))
		if len(f) >= 2 && strings.EqualFold(f[0], name) && strings.EqualFold(f[1], typ) {
			return true
		}
	}
	return false
}

// TestCatalogRestricted: users whose SELECT on source.transactions has a
// column list or a row filter may not read its files directly: a GET, a
// HEAD and a listing under the location get 403 AccessDenied whose message
// names the table and the scan API and nothing else of the policy (no
// role, group, column or predicate); nothing reaches the backend, and the
// audit records the refusal under the table.
func TestCatalogRestricted(t *testing.T) {
	st := newPolicyStack(t, lakegateOptions{})
	lg := st.LG
	st.MinIO.makeBucket(t, txnBucket, false)
	files := putParquetTable(t, st.MinIO, txnBucket, txnPrefix, 2)
	lg.sql(t, "CREATE DATABASE source", "CREATE EXTERNAL TABLE source.transactions (\n"+seedTxnColumns+" )\nSTORED AS PARQUET LOCATION '"+txnLocation+"'")
	users := []struct {
		name, role, group, grant string
		leaks                    []string
	}{
		{"cole", "colrole_zeta", "colgroup_kappa", "SELECT (tnxid, amount) ON TABLE source.transactions",
			[]string{"colrole_zeta", "colgroup_kappa", "tnxid", "amount", "GRANT", "column list"}},
		{"rowan", "rowrole_omega", "rowgroup_sigma", "SELECT ON TABLE source.transactions WHERE country = 'US'",
			[]string{"rowrole_omega", "rowgroup_sigma", "country", "WHERE", "'US'", "GRANT", "row filter"}},
	}
	for _, u := range users {
		t.Run(u.name, func(t *testing.T) {
			lg.sql(t, "CREATE ROLE "+u.role, "GRANT ROLE "+u.role+" TO GROUP "+u.group, "GRANT "+u.grant+" TO ROLE "+u.role)
			key, secret := lg.createUser(t, u.name, u.group)
			c := newS3User(lg, u.name, key, secret)
			before := st.Rec.Len()
			for k := range files {
				wantRestrictedRefusal(t, "GET "+k, c.get(t, txnBucket, k), txnTable, u.leaks...)
			}
			wantRestrictedRefusal(t, "ListObjectsV2 prefix="+txnPrefix,
				c.do(t, rawReq{Method: http.MethodGet, Path: "/" + txnBucket, Query: "list-type=2&prefix=transactions%2F"}), txnTable, u.leaks...)
			// A HEAD carries no body: the status is what there is.
			if code, _ := c.status(t, rawReq{Method: http.MethodHead, Path: "/" + txnBucket + "/" + txnPrefix + "part-00000.parquet"}); code != http.StatusForbidden {
				t.Errorf("HEAD under the location: %d, want 403", code)
			}
			// Outside the table the refusal is the plain one: nothing
			// points at a table.
			resp := c.get(t, txnBucket, "elsewhere/x")
			if e, _ := parseS3Error(resp.Body); resp.Status != http.StatusForbidden || strings.Contains(e.Message, "/api/scan/") {
				t.Errorf("GET outside the location: %d %q, want a plain 403", resp.Status, e.Message)
			}
			settle(t, st.Rec)
			for _, r := range st.Rec.Since(before) {
				t.Errorf("a refused request reached the backend: %s", r)
			}
			uri := "s3://" + txnBucket + "/" + txnPrefix + "part-00000.parquet"
			e, all, ok := catalogAudit(t, lg, func(e catalogAuditEvent) bool {
				return e.Operation == "GetObject" && len(e.URIs) > 0 && e.URIs[0] == uri
			}, "--user", u.name)
			switch {
			case !ok:
				t.Errorf("no GetObject of %s by %s in the audit log (%d events)", uri, u.name, len(all))
			case e.Decision != "deny" || e.Table != txnTable:
				t.Errorf("audit of the refused GET: decision %q table %q, want deny under %s", e.Decision, e.Table, txnTable)
			}
		})
	}
}

// catalogDataset is the part of GET /api/datasets/{db.table} the test reads.
type catalogDataset struct {
	Database string `json:"database"`
	Name     string `json:"name"`
	Location string `json:"location"`
	Columns  []struct {
		Name, Type string
	} `json:"columns"`
	Access map[string]struct {
		Access string `json:"access"`
		Files  bool   `json:"files"`
	} `json:"access"`
}

// TestCatalogREST: GET /api/databases, /api/databases/{db}/tables and
// /api/datasets/{db.table} show user_b only what they hold a grant on
// (another database, and a table of source without a grant, answer 404 as
// if they did not exist, never 403), and the admin everything; `lakegate
// check --table` says ALLOW, RESTRICTED or DENY.
func TestCatalogREST(t *testing.T) {
	st := newPolicyStack(t, lakegateOptions{})
	lg := st.LG
	st.MinIO.makeBucket(t, txnBucket, false)
	putParquetTable(t, st.MinIO, txnBucket, txnPrefix, 1)
	lg.sql(t, "CREATE DATABASE source", "CREATE DATABASE secretdb",
		"CREATE EXTERNAL TABLE source.transactions (\n"+seedTxnColumns+" )\nSTORED AS PARQUET LOCATION '"+txnLocation+"'",
		"CREATE EXTERNAL TABLE source.other (id INT) STORED AS PARQUET LOCATION 's3://controlled-data/other'",
		"CREATE EXTERNAL TABLE secretdb.hidden (id INT) STORED AS PARQUET LOCATION 's3://controlled-data/hidden'",
		"CREATE ROLE analysts", "GRANT ROLE analysts TO GROUP user_b",
		"GRANT SELECT ON TABLE source.transactions TO ROLE analysts",
		"CREATE ROLE narrow", "GRANT ROLE narrow TO GROUP user_c",
		"GRANT SELECT (tnxid) ON TABLE source.transactions TO ROLE narrow")
	_, _, tokenB := catalogUser(t, lg, "user_b", "user_b")
	catalogUser(t, lg, "user_c", "user_c")
	catalogUser(t, lg, "user_d", "nobody")

	names := func(path, token, field string) []string {
		t.Helper()
		var v map[string]json.RawMessage
		if res := restJSON(t, lg, path, token, &v); res.Status != http.StatusOK {
			t.Fatalf("GET %s: %s", path, res)
		}
		var items []struct{ Name string }
		if err := json.Unmarshal(v[field], &items); err != nil {
			t.Fatalf("GET %s: %s is not a list of names: %v", path, field, err)
		}
		var out []string
		for _, it := range items {
			out = append(out, it.Name)
		}
		return sorted(out)
	}
	t.Run("user_b", func(t *testing.T) {
		if got := names("/api/databases", tokenB, "databases"); strings.Join(got, ",") != "source" {
			t.Errorf("user_b's /api/databases: %v, want [source]", got)
		}
		if got := names("/api/databases/source/tables", tokenB, "tables"); strings.Join(got, ",") != "transactions" {
			t.Errorf("user_b's /api/databases/source/tables: %v, want [transactions]", got)
		}
		var ds catalogDataset
		if res := restJSON(t, lg, "/api/datasets/source.transactions", tokenB, &ds); res.Status != http.StatusOK {
			t.Fatalf("user_b's /api/datasets/source.transactions: %s", res)
		}
		if ds.Location != txnLocation || len(ds.Columns) != 8 || ds.Columns[0].Name != "tnxid" || !strings.EqualFold(ds.Columns[1].Type, "date") {
			t.Errorf("dataset: location %q, columns %v", ds.Location, ds.Columns)
		}
		if a := ds.Access["select"]; a.Access != "full" || !a.Files {
			t.Errorf("dataset access select: %+v, want full with files", a)
		}
		if a := ds.Access["insert"]; a.Access != "none" || a.Files {
			t.Errorf("dataset access insert: %+v, want none", a)
		}
		// Invisible and missing answer alike: 404, same words.
		missing := restJSON(t, lg, "/api/datasets/nosuchdb.nosuch", tokenB, nil)
		for _, path := range []string{"/api/databases/secretdb/tables", "/api/datasets/secretdb.hidden", "/api/datasets/source.other", "/api/databases/nosuchdb/tables"} {
			res := restJSON(t, lg, path, tokenB, nil)
			if res.Status != http.StatusNotFound {
				t.Errorf("user_b GET %s: %s, want 404", path, res)
			}
			if strings.Contains(string(res.Body), "hidden\"") || strings.Contains(strings.ToLower(string(res.Body)), "permission") {
				t.Errorf("user_b GET %s tells more than 'does not exist': %s", path, res)
			}
		}
		if missing.Status != http.StatusNotFound {
			t.Errorf("GET /api/datasets/nosuchdb.nosuch: %s, want 404", missing)
		}
	})
	t.Run("admin", func(t *testing.T) {
		if got := names("/api/databases", lg.AdminToken, "databases"); strings.Join(got, ",") != "secretdb,source" {
			t.Errorf("admin's /api/databases: %v", got)
		}
		if got := names("/api/databases/source/tables", lg.AdminToken, "tables"); strings.Join(got, ",") != "other,transactions" {
			t.Errorf("admin's /api/databases/source/tables: %v", got)
		}
		var ds catalogDataset
		if res := restJSON(t, lg, "/api/datasets/secretdb.hidden", lg.AdminToken, &ds); res.Status != http.StatusOK || ds.Location != "s3://controlled-data/hidden" {
			t.Errorf("admin's /api/datasets/secretdb.hidden: %s", res)
		}
	})
	t.Run("check_table", func(t *testing.T) {
		for _, c := range []struct{ user, want string }{
			{"user_b", "ALLOW"}, {"user_c", "RESTRICTED"}, {"user_d", "DENY"},
		} {
			stdout, stderr, code := lg.client(t, []string{"check"}, "--user", c.user, "--table", txnTable)
			first, rest, _ := strings.Cut(strings.TrimSpace(stdout), "\n")
			if code != 0 || strings.TrimSpace(first) != c.want || strings.TrimSpace(rest) == "" {
				t.Errorf("lakegate check --user %s --table %s: exit %d, %q, want %s and a reason\nstderr: %s", c.user, txnTable, code, stdout, c.want, stderr)
			}
		}
	})
}

// TestCatalogLikeParquetErrors: CREATE EXTERNAL TABLE … LIKE PARQUET on a
// CSV object and on a missing object fails through `lakegate sql` with a
// message that names the problem, and creates nothing.
func TestCatalogLikeParquetErrors(t *testing.T) {
	st := newPolicyStack(t, lakegateOptions{})
	lg := st.LG
	st.MinIO.makeBucket(t, txnBucket, false)
	st.MinIO.put(t, txnBucket, "csv/data.csv", "tnxid,amount\n1,2.5\n2,3.5\n")
	st.MinIO.put(t, txnBucket, "parquet/ok.parquet", string(txnParquet(t, 0, 5)))
	lg.sql(t, "CREATE DATABASE d")
	for _, c := range []struct {
		name, uri string
		want      []string // any of these, case-insensitive
	}{
		{"csv", "s3://controlled-data/csv/data.csv", []string{"not a parquet", "not parquet", "magic"}},
		{"missing", "s3://controlled-data/parquet/missing.parquet", []string{"not found", "does not exist", "no such"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			stdout, stderr, code := lg.client(t, []string{"sql"}, "CREATE EXTERNAL TABLE d.t_"+c.name+" LIKE PARQUET '"+c.uri+"';")
			low := strings.ToLower(stderr)
			named := false
			for _, w := range c.want {
				named = named || strings.Contains(low, w)
			}
			if code == 0 || !named || !strings.Contains(stderr, c.uri) {
				t.Errorf("LIKE PARQUET %s: exit %d, stderr %q; want a failure naming %s and one of %q\nstdout: %s", c.uri, code, stderr, c.uri, c.want, stdout)
			}
			t.Logf("LIKE PARQUET %s: exit %d: %s", c.uri, code, strings.TrimSpace(stderr))
			if out := lg.sql(t, "SHOW TABLES IN d"); strings.Contains(out, "t_"+c.name) {
				t.Errorf("the failed LIKE PARQUET created d.t_%s:\n%s", c.name, out)
			}
		})
	}
	t.Run("parquet_ok", func(t *testing.T) {
		lg.sql(t, "CREATE EXTERNAL TABLE d.t_ok LIKE PARQUET 's3://controlled-data/parquet/ok.parquet'")
		if out := lg.sql(t, "DESCRIBE d.t_ok"); !describes(out, "tnxdate", "date") || !describes(out, "amount", "double") {
			t.Errorf("DESCRIBE d.t_ok:\n%s", out)
		}
	})
}
