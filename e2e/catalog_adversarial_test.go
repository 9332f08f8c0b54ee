package e2e

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The catalog's adversarial suite: users whose only grants are on tables
// (dynamic bypass, no URI grant) try to reach files beside, above and
// through the tables' locations, and follow the tables as they move,
// are renamed, dropped and recreated, and gain and lose partitions
// outside their root. Every probe checks the backend's state, not only
// the status: a refused request reaches nothing upstream and changes
// nothing, an allowed write changes only what it names, and no answer
// carries the content (or, in a listing, the name) of a file outside
// what the user holds.

// catOutcome is what a probe expects.
type catOutcome int

const (
	// catAllow: 2xx, and the request reached the backend.
	catAllow catOutcome = iota
	// catDeny: 403 or 400, nothing forwarded, nothing changed.
	catDeny
	// catListOnly: a listing refused as catDeny, or answered 200 naming
	// only keys and prefixes under the probe's scope.
	catListOnly
	// catInsideOrDeny: refused as catDeny, or answered 200 with exactly
	// the probe's body (a dot segment that stays inside the location).
	catInsideOrDeny
)

// catProbe is one request of one user.
type catProbe struct {
	name string
	u    *s3User
	req  rawReq
	want catOutcome
	// body, when set, is what an allowed GET must return.
	body string
	// scope is the key prefix an allowed write may change and a listing
	// may name.
	scope string
	// lists are keys or common prefixes an allowed listing must name.
	lists []string
	// after checks the backend once the request is answered.
	after func(t *testing.T) error
}

// catWorld is one backend's bucket of tables.
type catWorld struct {
	st      *stack
	b       string
	content map[string]string // key → content
}

// catKeys are the bucket's fixtures: the tables' locations and their
// neighbours, sharing string prefixes with them.
var catKeys = []string{
	"t/a.parquet", "t/sub/b.parquet", "t2/x", "t.bak/x", "tx", "secret/x", "root.txt",
	"w/existing.parquet", "w/del.parquet", "wx/y", "w2/x",
	"pt/p=0/f.parquet", "elsewhere/p1/f.parquet", "elsewhere/p2/f.parquet", "elsewhere/p10/f.parquet",
	"moved/m.parquet", "late/x.parquet", "late2/x",
}

// path is key's request path, escaped as S3 servers canonicalize it
// ('=' of a Hive partition directory as %3D) so that it verifies as
// signed; '.' and '/' stay, so dot segments reach the proxy as written.
func (w *catWorld) path(key string) string { return "/" + w.b + "/" + s3PathEscape(key) }

// outcome runs p once and returns what is wrong with the answer.
func (w *catWorld) outcome(t *testing.T, p catProbe) []string {
	t.Helper()
	m := w.st.MinIO
	before := m.snapshot(t, w.b)
	n := w.st.Rec.Len()
	resp := p.u.do(t, p.req)
	settle(t, w.st.Rec)
	after := m.snapshot(t, w.b)
	forwarded := w.st.Rec.Since(n)
	var errs []string
	show := fmt.Sprintf("%s as %s → %d %s", p.req, p.u.Name, resp.Status, tail(string(resp.Body), 600))
	refused := resp.Status == http.StatusForbidden || resp.Status == http.StatusBadRequest
	checkRefused := func() {
		for _, r := range forwarded {
			errs = append(errs, "refused, but the backend saw "+r.String())
		}
		for _, d := range snapshotDiff(before, after, nil) {
			errs = append(errs, "refused, but the backend changed: "+d)
		}
	}
	// No answer but an allowed GET of the file itself carries file content.
	for k, c := range w.content {
		if strings.Contains(string(resp.Body), c) && (p.want != catAllow || c != p.body) && !(p.want == catInsideOrDeny && c == p.body) {
			errs = append(errs, "the answer carries the content of "+k)
		}
	}
	switch p.want {
	case catAllow:
		if resp.Status/100 != 2 {
			errs = append(errs, "want 2xx: "+show)
			break
		}
		if len(forwarded) == 0 {
			errs = append(errs, "allowed, but nothing reached the backend: "+show)
		}
		if p.body != "" && string(resp.Body) != p.body {
			errs = append(errs, fmt.Sprintf("body %q, want %q", tail(string(resp.Body), 200), p.body))
		}
		for _, d := range snapshotDiff(before, after, func(e string) bool {
			return p.scope != "" && strings.HasPrefix(e, w.b+"/"+p.scope)
		}) {
			errs = append(errs, "allowed, but changed outside "+p.scope+": "+d)
		}
	case catDeny:
		if !refused {
			errs = append(errs, "want 403 or 400: "+show)
		}
		checkRefused()
	case catListOnly:
		if refused {
			checkRefused()
			break
		}
		if resp.Status != http.StatusOK {
			errs = append(errs, "want 200 or a refusal: "+show)
			break
		}
		var l listXML
		if err := xml.Unmarshal(resp.Body, &l); err != nil {
			errs = append(errs, "listing is not XML: "+err.Error())
		}
		for _, k := range append(l.keys(), l.prefixes()...) {
			if !strings.HasPrefix(k, p.scope) && !strings.HasPrefix(p.scope, k) {
				errs = append(errs, "the listing names "+k+", outside "+p.scope)
			}
		}
		named := map[string]bool{}
		for _, k := range append(l.keys(), l.prefixes()...) {
			named[k] = true
		}
		for _, k := range p.lists {
			if !named[k] {
				errs = append(errs, "the listing does not name "+k+": "+show)
			}
		}
		if len(l.Buckets) > 0 {
			errs = append(errs, "the listing names buckets")
		}
	case catInsideOrDeny:
		switch {
		case refused:
			checkRefused()
		case resp.Status == http.StatusOK && string(resp.Body) == p.body:
		default:
			errs = append(errs, "want a refusal or the file inside the location: "+show)
		}
	}
	if p.after != nil {
		if err := p.after(t); err != nil {
			errs = append(errs, err.Error())
		}
	}
	for i := range errs {
		errs[i] = p.name + ": " + errs[i]
	}
	if len(errs) == 0 {
		t.Logf("%s: %s %s as %s → %d", p.name, p.req.Method, p.req.Path+"?"+p.req.Query, p.u.Name, resp.Status)
	}
	return errs
}

// run runs each probe, retrying one that fails for up to 3 s: a catalog
// change made just before reaches the proxy through the change feed.
func (w *catWorld) run(t *testing.T, probes ...catProbe) {
	t.Helper()
	for _, p := range probes {
		var errs []string
		start := time.Now()
		deadline := start.Add(3 * time.Second)
		for tries := 1; ; tries++ {
			if errs = w.outcome(t, p); len(errs) == 0 || time.Now().After(deadline) {
				if len(errs) == 0 && tries > 1 {
					t.Logf("%s answered as expected after %d tries (%v)", p.name, tries, time.Since(start).Round(time.Millisecond))
				}
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		for _, e := range errs {
			t.Error(e)
		}
	}
}

// exists returns an after-check that bucket key exists (or not).
func (w *catWorld) exists(t *testing.T, key string, want bool) func(*testing.T) error {
	return func(t *testing.T) error {
		if got := w.st.MinIO.objectExists(t, w.b, key); got != want {
			return fmt.Errorf("%s exists: %v, want %v", key, got, want)
		}
		return nil
	}
}

// TestCatalogAdversarial: on MinIO and the embedded backend, users with
// table grants only (SELECT on d.t at s3://B/t, ALL and INSERT on d.w at
// s3://B/w, SELECT on the partitioned d.pt, SELECT on database e, and one
// with no grant) try siblings (t2/, t.bak/, tx), the bucket itself
// (listing its root, bucket policy and tagging), dot segments and encoded
// slashes, and follow the tables through ALTER TABLE SET LOCATION, RENAME
// TO, DROP and CREATE again, ADD PARTITION outside the root and DROP
// PARTITION, and a table created after a DATABASE grant.
func TestCatalogAdversarial(t *testing.T) {
	forEachBackend(t, lakegateOptions{}, func(t *testing.T, kind backendKind, st *stack) {
		start := time.Now()
		lg := st.LG
		w := &catWorld{st: st, b: bucketName("cat"), content: map[string]string{}}
		st.MinIO.makeBucket(t, w.b, false)
		for _, k := range catKeys {
			w.content[k] = "CONTENT-OF:" + k + ";"
			st.MinIO.put(t, w.b, k, w.content[k])
		}
		loc := func(p string) string { return "'s3://" + w.b + "/" + p + "'" }
		lg.sql(t, "CREATE DATABASE d",
			"CREATE EXTERNAL TABLE d.t (id INT) STORED AS PARQUET LOCATION "+loc("t"),
			"CREATE EXTERNAL TABLE d.w (id INT) STORED AS PARQUET LOCATION "+loc("w"),
			"CREATE EXTERNAL TABLE d.pt (id INT) PARTITIONED BY (p STRING) STORED AS PARQUET LOCATION "+loc("pt"),
			"CREATE DATABASE e")
		sel := grantUser(t, lg, "sel", "SELECT ON TABLE d.t")
		all := grantUser(t, lg, "allu", "ALL ON TABLE d.w")
		ins := grantUser(t, lg, "ins", "INSERT ON TABLE d.w")
		part := grantUser(t, lg, "part", "SELECT ON TABLE d.pt")
		dbu := grantUser(t, lg, "dbu", "SELECT ON DATABASE e")
		nkey, nsecret := lg.createUser(t, "nobody", "nobody_g")
		nobody := newS3User(lg, "nobody", nkey, nsecret)

		get := func(key string) rawReq { return rawReq{Method: http.MethodGet, Path: w.path(key)} }
		head := func(key string) rawReq { return rawReq{Method: http.MethodHead, Path: w.path(key)} }
		put := func(key string) rawReq {
			return rawReq{Method: http.MethodPut, Path: w.path(key), Body: []byte("written:" + key)}
		}
		del := func(key string) rawReq { return rawReq{Method: http.MethodDelete, Path: w.path(key)} }
		list := func(q string) rawReq { return rawReq{Method: http.MethodGet, Path: "/" + w.b, Query: q} }
		tagging := []byte(`<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>`)

		t.Run("select_table", func(t *testing.T) {
			w.run(t,
				catProbe{name: "get_inside", u: sel, req: get("t/a.parquet"), want: catAllow, body: w.content["t/a.parquet"]},
				catProbe{name: "get_inside_deeper", u: sel, req: get("t/sub/b.parquet"), want: catAllow, body: w.content["t/sub/b.parquet"]},
				catProbe{name: "head_inside", u: sel, req: head("t/a.parquet"), want: catAllow},
				catProbe{name: "list_location", u: sel, req: list("list-type=2&prefix=t%2F"), want: catListOnly, scope: "t/",
					lists: []string{"t/a.parquet", "t/sub/b.parquet"}},
				catProbe{name: "list_location_delim", u: sel, req: list("list-type=2&prefix=t%2F&delimiter=%2F"), want: catListOnly, scope: "t/",
					lists: []string{"t/a.parquet", "t/sub/"}},
				catProbe{name: "sibling_t2", u: sel, req: get("t2/x"), want: catDeny},
				catProbe{name: "sibling_t.bak", u: sel, req: get("t.bak/x"), want: catDeny},
				catProbe{name: "sibling_tx", u: sel, req: get("tx"), want: catDeny},
				catProbe{name: "other_prefix", u: sel, req: get("secret/x"), want: catDeny},
				catProbe{name: "bucket_root_key", u: sel, req: get("root.txt"), want: catDeny},
				catProbe{name: "list_sibling", u: sel, req: list("list-type=2&prefix=t2%2F"), want: catDeny},
				catProbe{name: "list_prefix_t_no_slash", u: sel, req: list("list-type=2&prefix=t"), want: catListOnly, scope: "t/"},
				catProbe{name: "list_bucket_root", u: sel, req: list("list-type=2"), want: catListOnly, scope: "t/"},
				catProbe{name: "list_bucket_root_v1", u: sel, req: list(""), want: catListOnly, scope: "t/"},
				catProbe{name: "list_bucket_root_delim", u: sel, req: list("list-type=2&delimiter=%2F"), want: catListOnly, scope: "t/"},
				catProbe{name: "get_bucket_policy", u: sel, req: list("policy="), want: catDeny},
				catProbe{name: "get_bucket_acl", u: sel, req: list("acl="), want: catDeny},
				catProbe{name: "put_bucket_tagging", u: sel, req: rawReq{Method: http.MethodPut, Path: "/" + w.b, Query: "tagging=", Body: tagging}, want: catDeny},
				catProbe{name: "delete_bucket", u: sel, req: rawReq{Method: http.MethodDelete, Path: "/" + w.b}, want: catDeny},
				catProbe{name: "dotdot", u: sel, req: get("t/../secret/x"), want: catDeny},
				catProbe{name: "dotdot_to_sibling", u: sel, req: get("t/../t2/x"), want: catDeny},
				catProbe{name: "dot", u: sel, req: get("t/./a.parquet"), want: catInsideOrDeny, body: w.content["t/a.parquet"]},
				catProbe{name: "pct2F_dotdot", u: sel, req: rawReq{Method: http.MethodGet, Path: "/" + w.b + "/t%2F..%2Fsecret/x", SignPath: w.path("t/../secret/x")}, want: catDeny},
				catProbe{name: "pct2F_dotdot_signed_raw", u: sel, req: rawReq{Method: http.MethodGet, Path: "/" + w.b + "/t%2F..%2Fsecret/x"}, want: catDeny},
				catProbe{name: "select_does_not_write", u: sel, req: put("t/new.parquet"), want: catDeny},
				catProbe{name: "select_does_not_delete", u: sel, req: del("t/a.parquet"), want: catDeny},
				catProbe{name: "copy_secret_into_location", u: sel, req: rawReq{Method: http.MethodPut, Path: w.path("t/copy"),
					Header: headerOf("X-Amz-Copy-Source", "/"+w.b+"/secret/x")}, want: catDeny},
			)
		})

		t.Run("all_and_insert", func(t *testing.T) {
			spark := "w/_temporary/0/_temporary/attempt_202401010000_0001_m_000000_1/part-00000.parquet"
			w.run(t,
				catProbe{name: "all_put", u: all, req: put("w/new.parquet"), want: catAllow, scope: "w/", after: w.exists(t, "w/new.parquet", true)},
				catProbe{name: "all_put_spark_temporary", u: all, req: put(spark), want: catAllow, scope: "w/", after: w.exists(t, spark, true)},
				catProbe{name: "all_get", u: all, req: get("w/existing.parquet"), want: catAllow, body: w.content["w/existing.parquet"]},
				catProbe{name: "all_list", u: all, req: list("list-type=2&prefix=w%2F"), want: catListOnly, scope: "w/",
					lists: []string{"w/existing.parquet", "w/new.parquet"}},
				catProbe{name: "all_delete_spark_temporary", u: all, req: del(spark), want: catAllow, scope: "w/", after: w.exists(t, spark, false)},
				catProbe{name: "all_delete", u: all, req: del("w/del.parquet"), want: catAllow, scope: "w/", after: w.exists(t, "w/del.parquet", false)},
				catProbe{name: "all_delete_objects_mixed", u: all, req: rawReq{Method: http.MethodPost, Path: "/" + w.b, Query: "delete=",
					Body: deleteObjectsBody("w/new.parquet", "secret/x", "wx/y")}, want: catAllow, scope: "w/",
					after: func(t *testing.T) error {
						for _, k := range []string{"secret/x", "wx/y"} {
							if !st.MinIO.objectExists(t, w.b, k) {
								return fmt.Errorf("DeleteObjects deleted %s outside the table", k)
							}
						}
						return w.exists(t, "w/new.parquet", false)(t)
					}},
				catProbe{name: "all_put_sibling_wx", u: all, req: put("wx/evil"), want: catDeny},
				catProbe{name: "all_put_sibling_w2", u: all, req: put("w2/evil"), want: catDeny},
				catProbe{name: "all_put_bucket_root", u: all, req: put("evil"), want: catDeny},
				catProbe{name: "all_delete_outside", u: all, req: del("secret/x"), want: catDeny},
				catProbe{name: "all_put_dotdot", u: all, req: put("w/../secret/evil"), want: catDeny},
				catProbe{name: "all_put_bucket_tagging", u: all, req: rawReq{Method: http.MethodPut, Path: "/" + w.b, Query: "tagging=", Body: tagging}, want: catDeny},
				catProbe{name: "all_get_bucket_policy", u: all, req: list("policy="), want: catDeny},
				catProbe{name: "all_delete_bucket", u: all, req: rawReq{Method: http.MethodDelete, Path: "/" + w.b}, want: catDeny},
				catProbe{name: "all_copy_outside_in", u: all, req: rawReq{Method: http.MethodPut, Path: w.path("w/copied"),
					Header: headerOf("X-Amz-Copy-Source", "/"+w.b+"/secret/x")}, want: catDeny},
				catProbe{name: "all_copy_inside_out", u: all, req: rawReq{Method: http.MethodPut, Path: w.path("wx/copied"),
					Header: headerOf("X-Amz-Copy-Source", "/"+w.b+"/w/existing.parquet")}, want: catDeny},
				catProbe{name: "insert_put", u: ins, req: put("w/ins.parquet"), want: catAllow, scope: "w/", after: w.exists(t, "w/ins.parquet", true)},
				catProbe{name: "insert_does_not_read", u: ins, req: get("w/existing.parquet"), want: catDeny},
				catProbe{name: "insert_does_not_delete", u: ins, req: del("w/existing.parquet"), want: catDeny},
				catProbe{name: "insert_put_outside", u: ins, req: put("wx/ins"), want: catDeny},
			)
		})

		t.Run("partitions", func(t *testing.T) {
			w.run(t, catProbe{name: "root_partition_dir", u: part, req: get("pt/p=0/f.parquet"), want: catAllow, body: w.content["pt/p=0/f.parquet"]},
				catProbe{name: "outside_before_add", u: part, req: get("elsewhere/p1/f.parquet"), want: catDeny})
			lg.sql(t, "ALTER TABLE d.pt RECOVER PARTITIONS")
			if out := lg.sql(t, "SHOW PARTITIONS d.pt"); !strings.Contains(out, "p=0") {
				t.Errorf("SHOW PARTITIONS d.pt after RECOVER PARTITIONS lacks p=0:\n%s", out)
			}
			lg.sql(t, "ALTER TABLE d.pt ADD PARTITION (p='1') LOCATION "+loc("elsewhere/p1"))
			w.run(t,
				catProbe{name: "partition_outside_root", u: part, req: get("elsewhere/p1/f.parquet"), want: catAllow, body: w.content["elsewhere/p1/f.parquet"]},
				catProbe{name: "partition_sibling_p2", u: part, req: get("elsewhere/p2/f.parquet"), want: catDeny},
				catProbe{name: "partition_sibling_p10", u: part, req: get("elsewhere/p10/f.parquet"), want: catDeny},
				catProbe{name: "partition_parent_list", u: part, req: list("list-type=2&prefix=elsewhere%2F"), want: catListOnly, scope: "elsewhere/p1/"},
				catProbe{name: "partition_list", u: part, req: list("list-type=2&prefix=elsewhere%2Fp1%2F"), want: catListOnly, scope: "elsewhere/p1/",
					lists: []string{"elsewhere/p1/f.parquet"}},
				catProbe{name: "partition_select_does_not_write", u: part, req: put("elsewhere/p1/new"), want: catDeny},
			)
			uri := "s3://" + w.b + "/elsewhere/p1/f.parquet"
			e, _, ok := catalogAudit(t, lg, func(e catalogAuditEvent) bool {
				return e.Operation == "GetObject" && e.Decision == "allow" && len(e.URIs) > 0 && e.URIs[0] == uri
			}, "--user", "part")
			if !ok || e.Table != "d.pt" || !strings.Contains(e.Partition, "p=1") {
				t.Errorf("audit of the partition GET: found %v, table %q partition %q; want d.pt and p=1", ok, e.Table, e.Partition)
			}
			lg.sql(t, "ALTER TABLE d.pt DROP PARTITION (p='1')")
			w.run(t, catProbe{name: "partition_dropped", u: part, req: get("elsewhere/p1/f.parquet"), want: catDeny},
				catProbe{name: "root_after_drop", u: part, req: get("pt/p=0/f.parquet"), want: catAllow, body: w.content["pt/p=0/f.parquet"]})
		})

		t.Run("set_location", func(t *testing.T) {
			lg.sql(t, "ALTER TABLE d.t SET LOCATION "+loc("moved"))
			w.run(t,
				catProbe{name: "old_location", u: sel, req: get("t/a.parquet"), want: catDeny},
				catProbe{name: "old_location_list", u: sel, req: list("list-type=2&prefix=t%2F"), want: catDeny},
				catProbe{name: "new_location", u: sel, req: get("moved/m.parquet"), want: catAllow, body: w.content["moved/m.parquet"]},
			)
		})
		t.Run("rename", func(t *testing.T) {
			lg.sql(t, "ALTER TABLE d.t RENAME TO d.t_renamed")
			w.run(t, catProbe{name: "renamed_table_still_granted", u: sel, req: get("moved/m.parquet"), want: catAllow, body: w.content["moved/m.parquet"]})
			if out := lg.sql(t, "SHOW GRANTS ON ROLE sel_role"); !strings.Contains(out, "d.t_renamed") {
				t.Errorf("SHOW GRANTS ON ROLE sel_role after the rename:\n%s", out)
			}
		})
		t.Run("drop_and_recreate", func(t *testing.T) {
			lg.sql(t, "DROP TABLE d.t_renamed",
				"CREATE EXTERNAL TABLE d.t_renamed (id INT) STORED AS PARQUET LOCATION "+loc("moved"))
			w.run(t, catProbe{name: "recreated_table_not_granted", u: sel, req: get("moved/m.parquet"), want: catDeny},
				catProbe{name: "recreated_list", u: sel, req: list("list-type=2&prefix=moved%2F"), want: catDeny})
			if out := lg.sql(t, "SHOW GRANTS ON ROLE sel_role"); strings.Contains(out, "d.t_renamed") {
				t.Errorf("the grant survived DROP TABLE:\n%s", out)
			}
		})
		t.Run("database_grant_covers_later_table", func(t *testing.T) {
			w.run(t, catProbe{name: "before_create", u: dbu, req: get("late/x.parquet"), want: catDeny})
			lg.sql(t, "CREATE EXTERNAL TABLE e.late (id INT) STORED AS PARQUET LOCATION "+loc("late"))
			w.run(t,
				catProbe{name: "later_table", u: dbu, req: get("late/x.parquet"), want: catAllow, body: w.content["late/x.parquet"]},
				catProbe{name: "later_table_sibling", u: dbu, req: get("late2/x"), want: catDeny},
				catProbe{name: "other_database", u: dbu, req: get("w/existing.parquet"), want: catDeny},
				catProbe{name: "select_does_not_write", u: dbu, req: put("late/new"), want: catDeny},
			)
		})
		t.Run("nobody", func(t *testing.T) {
			var probes []catProbe
			for _, k := range []string{"t/a.parquet", "moved/m.parquet", "w/existing.parquet", "late/x.parquet", "pt/p=0/f.parquet", "root.txt"} {
				probes = append(probes, catProbe{name: "get_" + k, u: nobody, req: get(k), want: catDeny},
					catProbe{name: "put_" + k, u: nobody, req: put(k), want: catDeny})
			}
			probes = append(probes,
				catProbe{name: "list_root", u: nobody, req: list("list-type=2"), want: catDeny},
				catProbe{name: "list_w", u: nobody, req: list("list-type=2&prefix=w%2F"), want: catDeny})
			w.run(t, probes...)
			resp := nobody.do(t, rawReq{Method: http.MethodGet, Path: "/"})
			if resp.Status == http.StatusOK && strings.Contains(string(resp.Body), w.b) {
				t.Errorf("ListBuckets as a user with no grant names %s:\n%s", w.b, resp.Body)
			}
		})
		t.Logf("%s: %v", kind, time.Since(start).Round(time.Millisecond))
	})
}
