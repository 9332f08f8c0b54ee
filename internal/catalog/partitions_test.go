package catalog

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// fakeLister answers ListPrefixes from a set of keys, as S3 would with
// delimiter "/": the distinct next-level directories under a prefix, in
// order.
type fakeLister struct {
	keys  []string
	calls int
}

func (f *fakeLister) list(prefix string, fn func(string) error) error {
	f.calls++
	var out []string
	for _, k := range f.keys {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			out = append(out, prefix+rest[:i+1])
		}
	}
	slices.Sort(out)
	for _, p := range slices.Compact(out) {
		if err := fn(p); err != nil {
			return err
		}
	}
	return nil
}

func describeFound(fs []Found) string {
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&b, "%s %q %s\n", f.Spec, f.Values, f.Path)
	}
	return b.String()
}

func TestDiscoverPartitions(t *testing.T) {
	for _, tc := range []struct {
		name    string
		keys    []string
		root    string
		columns []string
		max     int
		want    string
		wantErr string
	}{
		{
			name: "two levels",
			keys: []string{
				"t/year=2024/month=01/a.parquet", "t/year=2024/month=02/b.parquet",
				"t/year=2025/month=01/c.parquet", "t/year=2025/_SUCCESS", "t/_SUCCESS",
			},
			root: "t", columns: []string{"year", "month"}, max: 100,
			want: `year=2024/month=01 ["2024" "01"] t/year=2024/month=01/
year=2024/month=02 ["2024" "02"] t/year=2024/month=02/
year=2025/month=01 ["2025" "01"] t/year=2025/month=01/
`,
		},
		{
			name: "skipped directories",
			keys: []string{
				"t/_temporary/0/year=1/x", "t/.hive-staging_1/year=1/x", "t/_year=1/x", "t/.year=1/x",
				"t/month=1/x", "t/year/x", "t/yearx=1/x", "t/data.parquet", "t/YEAR=7/month=4/x", "t/year=8/x",
				"t/year=2/_temporary/x", "t/year=2/day=3/x", "t/year=2/month=4/x",
			},
			root: "t/", columns: []string{"year", "month"}, max: 100,
			want: `YEAR=7/month=4 ["7" "4"] t/YEAR=7/month=4/
year=2/month=4 ["2" "4"] t/year=2/month=4/
`,
		},
		{
			name: "hive escaping",
			keys: []string{
				"t/city=S%C3%A3o Paulo/x", "t/city=a%3Db%25c/x", "t/city=100%/x", "t/city=%zz/x",
				"t/city=__HIVE_DEFAULT_PARTITION__/x",
			},
			root: "t/", columns: []string{"city"}, max: 100,
			want: `city=%zz ["%zz"] t/city=%zz/
city=100% ["100%"] t/city=100%/
city=S%C3%A3o Paulo ["São Paulo"] t/city=S%C3%A3o Paulo/
city=__HIVE_DEFAULT_PARTITION__ ["__HIVE_DEFAULT_PARTITION__"] t/city=__HIVE_DEFAULT_PARTITION__/
city=a%3Db%25c ["a=b%c"] t/city=a%3Db%25c/
`,
		},
		{name: "root of the bucket", keys: []string{"p=1/x", "p=2/y"}, root: "", columns: []string{"p"}, max: 10,
			want: "p=1 [\"1\"] p=1/\np=2 [\"2\"] p=2/\n"},
		{name: "no partitions", keys: []string{"t/a.parquet"}, root: "t/", columns: []string{"p"}, max: 10, want: ""},
		{name: "escaped slash", keys: []string{"t/p=a%2Fb/x"}, root: "t/", columns: []string{"p"}, max: 10,
			wantErr: `partition directory "t/p=a%2Fb/": value contains '/'`},
		{name: "dot dot", keys: []string{"t/p=%2E%2E/x"}, root: "t/", columns: []string{"p"}, max: 10,
			wantErr: `value ".."`},
		{name: "dot", keys: []string{"t/p=./x"}, root: "t/", columns: []string{"p"}, max: 10, wantErr: `value "."`},
		{name: "control", keys: []string{"t/p=a%0Ab/x"}, root: "t/", columns: []string{"p"}, max: 10,
			wantErr: "control character"},
		{name: "empty value", keys: []string{"t/p=/x"}, root: "t/", columns: []string{"p"}, max: 10, wantErr: "empty value"},
		{name: "not utf-8", keys: []string{"t/p=%FF/x"}, root: "t/", columns: []string{"p"}, max: 10, wantErr: "not UTF-8"},
		{name: "too many partitions", keys: []string{"t/p=1/x", "t/p=2/x", "t/p=3/x"}, root: "t/", columns: []string{"p"}, max: 2,
			wantErr: "too many partition directories (more than 2)"},
		{name: "too many directories", keys: []string{"t/a/x", "t/b/x", "t/c/x", "t/d/x", "t/e/x", "t/f/x", "t/p=1/x"}, root: "t/", columns: []string{"p"}, max: 3,
			wantErr: "more than 6 directories"},
		{name: "no columns", keys: []string{"t/p=1/x"}, root: "t/", max: 3, wantErr: "no partition columns"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeLister{keys: tc.keys}
			got, err := DiscoverPartitions(context.Background(), f.list, tc.root, tc.columns, tc.max)
			switch {
			case tc.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || got != nil {
					t.Errorf("%s, %v; want an error containing %q", describeFound(got), err, tc.wantErr)
				}
			case err != nil:
				t.Fatal(err)
			case describeFound(got) != tc.want:
				t.Errorf("found\n%s\nwant\n%s", describeFound(got), tc.want)
			}
		})
	}
}

// TestDiscoverPartitionsErrors: the lister's errors and the context end
// the walk.
func TestDiscoverPartitionsErrors(t *testing.T) {
	boom := errors.New("upstream down")
	failing := func(string, func(string) error) error { return boom }
	if _, err := DiscoverPartitions(context.Background(), failing, "t/", []string{"p"}, 10); !errors.Is(err, boom) {
		t.Errorf("lister error: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f := &fakeLister{keys: []string{"t/p=1/x"}}
	if _, err := DiscoverPartitions(ctx, f.list, "t/", []string{"p"}, 10); !errors.Is(err, context.Canceled) || f.calls != 0 {
		t.Errorf("canceled: %v after %d listings", err, f.calls)
	}
	liar := func(prefix string, fn func(string) error) error { return fn("elsewhere/p=1/") }
	if _, err := DiscoverPartitions(context.Background(), liar, "t/", []string{"p"}, 10); err == nil {
		t.Error("a prefix outside the one listed was accepted")
	}
}

func TestUnescapeHive(t *testing.T) {
	for in, want := range map[string]string{
		"plain": "plain", "a%2Fb": "a/b", "%3a%3A": "::", "100%": "100%", "%4": "%4", "%%41": "%A", "a+b": "a+b", "%zz": "%zz",
	} {
		if got := unescapeHive(in); got != want {
			t.Errorf("unescapeHive(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzDiscoverPartitions: whatever directory names a bucket holds, every
// partition found is under root, its Spec is its path below root, and
// its values are clean; refusals are PartitionValueErrors.
func FuzzDiscoverPartitions(f *testing.F) {
	f.Add("year=2024/month=%2F/x\nyear=1/month=2/y\n_tmp/year=3/z")
	f.Add("year=a%2Eb/month=%00/x\nYear=%41/Month=%zz/y")
	f.Add("year=../month=./x")
	f.Fuzz(func(t *testing.T, keys string) {
		var ks []string
		for _, k := range strings.Split(keys, "\n") {
			ks = append(ks, "t/"+k)
		}
		fl := &fakeLister{keys: ks}
		found, err := DiscoverPartitions(context.Background(), fl.list, "t", []string{"year", "month"}, 50)
		var pe *PartitionValueError
		if err != nil && !errors.As(err, &pe) && !errors.Is(err, ErrTooManyPartitions) {
			t.Fatalf("unexpected error: %v", err)
		}
		for _, p := range found {
			if p.Path != "t/"+p.Spec+"/" || len(p.Values) != 2 {
				t.Errorf("partition %+v", p)
			}
			for _, v := range p.Values {
				if badValue(v) != "" {
					t.Errorf("partition %+v has value %q", p, v)
				}
			}
		}
	})
}
