package nscale

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lakegate/lakegate/internal/authz"
	"github.com/lakegate/lakegate/internal/grants"
	"github.com/lakegate/lakegate/internal/s3/request"
)

// tableScript registers tables over the "whouse" bucket and grants them to
// the analyst role of newEnv: sales and orders in full, secret with a
// column list only, and rooted, located at the root of bucket "rootbk".
const tableScript = `
CREATE DATABASE shop;
CREATE EXTERNAL TABLE shop.sales (id INT, amount DOUBLE) PARTITIONED BY (dt STRING) STORED AS PARQUET LOCATION 's3://whouse/sales';
CREATE EXTERNAL TABLE shop.orders (id INT) STORED AS PARQUET LOCATION 's3://whouse/orders';
CREATE EXTERNAL TABLE shop.secret (id INT, ssn STRING) STORED AS PARQUET LOCATION 's3://whouse/secret';
CREATE EXTERNAL TABLE shop.rooted (id INT) STORED AS PARQUET LOCATION 's3://rootbk';
GRANT SELECT ON TABLE shop.sales TO ROLE analyst;
GRANT SELECT ON TABLE shop.orders TO ROLE analyst;
GRANT SELECT(id) ON TABLE shop.secret TO ROLE analyst;
GRANT SELECT ON TABLE shop.rooted TO ROLE analyst;
`

// newTableEnv is newEnv following the feed, with the server publishing
// a policy change whenever the engine's version moves (as lakegate serve
// does, feed.WatchVersion) and the catalog of tableScript.
func newTableEnv(t testing.TB) *env {
	t.Helper()
	e := newEnv(t, true)
	ctx, cancel := context.WithCancel(context.Background())
	e.running.Go(func() { e.feed.WatchVersion(ctx, 50*time.Millisecond, e.fx.Engine.Version, nil) })
	t.Cleanup(cancel)
	e.exec(t, tableScript)
	return e
}

func (e *env) exec(t testing.TB, sql string) {
	t.Helper()
	if _, err := e.fx.Engine.Exec(t.Context(), e.fx.Engine.Principal("admin"), sql); err != nil {
		t.Fatalf("%s: %v", strings.TrimSpace(sql), err)
	}
}

// within waits at most 1 s (the change feed's promise) for cond.
func within(t *testing.T, what string, cond func() bool) {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > time.Second {
			t.Fatalf("%s did not reach the node proxy within 1s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("%s reached the node proxy in %v", what, time.Since(start).Round(time.Millisecond))
}

// TestTableGrantOnNodeProxy: a node proxy allows the files under a
// granted table's location with no URI grant, caches the allow at the
// table's location (the warm decision names the key's own partition),
// never at a bucket for a table at a bucket's root, carries restricted
// refusals, and sees a table moved, dropped or revoked within 1 s.
func TestTableGrantOnNodeProxy(t *testing.T) {
	e := newTableEnv(t)
	p := e.principal()
	hits := func() float64 { return testutil.ToFloat64(e.remote.perms.stats.Hits) }

	d := e.remote.Decide(p, read, "whouse", "sales/dt=2026-12-01/part-0.parquet")
	if !d.Allowed || d.Table == nil || d.Table.Name() != "shop.sales" || d.Table.Partition != "dt=2026-12-01" {
		t.Fatalf("cold read under the table: %+v (table %+v)", d, d.Table)
	}
	if !strings.Contains(d.Reason, "GRANT SELECT ON TABLE shop.sales") || strings.Contains(d.Reason, "partition") {
		t.Errorf("reason %q: want the table grant, without one key's partition", d.Reason)
	}
	calls, h0 := e.calls.Load(), hits()
	for _, tc := range []struct{ key, partition string }{
		{"sales/dt=2026-12-02/part-7.parquet", "dt=2026-12-02"},
		{"sales/_SUCCESS", ""},
		{"sales", ""},
	} {
		d := e.remote.Decide(p, read, "whouse", tc.key)
		if !d.Allowed || d.Table == nil || d.Table.Name() != "shop.sales" || d.Table.Partition != tc.partition {
			t.Errorf("warm %s: %+v (table %+v), want shop.sales partition %q", tc.key, d, d.Table, tc.partition)
		}
	}
	if n := e.calls.Load() - calls; n != 0 {
		t.Errorf("%d server calls for warm keys under the table, want 0", n)
	}
	if n := hits() - h0; n != 3 {
		t.Errorf("%v permission cache hits, want 3", n)
	}
	if d := e.remote.Decide(p, read, "whouse", "sales2/x"); d.Allowed {
		t.Errorf("a sibling of the table's location was allowed: %s", d.Reason)
	}

	// Restricted: refused, saying which table, on the node proxy too.
	d = e.remote.Decide(p, read, "whouse", "secret/part-0.parquet")
	if d.Allowed || !d.Restricted || d.Table == nil || d.Table.Name() != "shop.secret" {
		t.Errorf("restricted table: %+v (table %+v)", d, d.Table)
	}
	list := request.Access{Scope: request.ScopeListing, AnyOf: grants.Privileges(grants.Show) | grants.Privileges(grants.Select)}
	if d := e.remote.Decide(p, list, "whouse", "secret/"); d.Allowed || !d.Restricted {
		t.Errorf("listing under the restricted table: %+v", d)
	}

	// A table at a bucket's root: allowed, never cached bucket-wide.
	if d := e.remote.Decide(p, read, "rootbk", "x.parquet"); !d.Allowed || d.Table == nil || d.Table.Name() != "shop.rooted" {
		t.Fatalf("read in the root table: %+v", d)
	}
	calls = e.calls.Load()
	if d := e.remote.Decide(p, read, "rootbk", "y.parquet"); !d.Allowed {
		t.Fatalf("second read in the root table: %+v", d)
	}
	if e.calls.Load() == calls {
		t.Error("an allow under a table at a bucket's root was answered from the cache (a bucket-wide entry)")
	}
	bucket := request.Access{Scope: request.ScopeBucket, AnyOf: grants.Privileges(grants.Select)}
	if d := e.remote.Decide(p, bucket, "rootbk", ""); d.Allowed {
		t.Errorf("the table grant covered the bucket itself: %s", d.Reason)
	}

	// The table moves: its old location is no longer granted.
	e.exec(t, "ALTER TABLE shop.sales SET LOCATION 's3://whouse/sales_v2'")
	within(t, "a location change", func() bool {
		return !e.remote.Decide(p, read, "whouse", "sales/dt=2026-12-02/part-7.parquet").Allowed
	})
	if d := e.remote.Decide(p, read, "whouse", "sales_v2/dt=2026-12-03/p.parquet"); !d.Allowed || d.Table.Partition != "dt=2026-12-03" {
		t.Errorf("new location: %+v", d)
	}
	// Dropped: gone.
	e.exec(t, "DROP TABLE shop.sales")
	within(t, "a dropped table", func() bool {
		return !e.remote.Decide(p, read, "whouse", "sales_v2/dt=2026-12-03/p.parquet").Allowed
	})
	// Revoked: gone.
	if !e.remote.Decide(p, read, "whouse", "orders/part-0.parquet").Allowed {
		t.Fatal("orders refused before the revoke")
	}
	e.exec(t, "REVOKE SELECT ON TABLE shop.orders FROM ROLE analyst")
	within(t, "a revoked table grant", func() bool {
		return !e.remote.Decide(p, read, "whouse", "orders/part-0.parquet").Allowed
	})
}

// BenchmarkWarmDecideTable is an nScale proxy's warm decision under a
// table's location, allowed by a TABLE grant with no URI grant: answered
// from the user permission cache, naming the key's partition (issue 15's
// target: ≤ 1 µs). Compare runs with benchstat.
func BenchmarkWarmDecideTable(b *testing.B) {
	e := newEnv(b, false)
	e.exec(b, tableScript)
	p := e.principal()
	if !e.remote.Decide(p, read, "whouse", "sales/dt=2026-12-01/warm").Allowed {
		b.Fatal("refused")
	}
	keys := []string{"sales/dt=2026-12-01/part-00000.parquet", "sales/dt=2026-12-02/part-00001.parquet", "sales/_SUCCESS", "sales/dt=2026-12-03/a/b/c"}
	calls := e.calls.Load()
	b.ReportAllocs()
	b.ResetTimer()
	var d authz.Decision
	for i := range b.N {
		if d = e.remote.Decide(p, read, "whouse", keys[i%len(keys)]); !d.Allowed || d.Table == nil {
			b.Fatal("refused")
		}
	}
	b.StopTimer()
	if n := e.calls.Load() - calls; n != 0 {
		b.Fatalf("%d server calls during a warm benchmark", n)
	}
}
