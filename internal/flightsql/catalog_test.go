package flightsql

import (
	"regexp"
	"strings"
	"testing"
)

func TestArrowType(t *testing.T) {
	for _, tc := range []struct{ hive, want string }{
		{"tinyint", "int8"}, {"smallint", "int16"}, {"int", "int32"}, {"bigint", "int64"},
		{"boolean", "bool"}, {"float", "float32"}, {"double", "float64"},
		{"decimal(38,6)", "decimal(38, 6)"}, {"string", "utf8"}, {"varchar(10)", "utf8"}, {"char(3)", "utf8"},
		{"date", "date32"}, {"timestamp", "timestamp[us]"}, {"binary", "binary"},
		{"array<int>", "list<item: int32, nullable>"},
		{"map<string,bigint>", "map<utf8, int64, items_nullable>"},
		{"struct<a:int,b:array<string>>", "struct<a: int32 nullable, b: list<item: utf8, nullable> nullable>"},
	} {
		t.Run(tc.hive, func(t *testing.T) {
			got, err := ArrowType(tc.hive)
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != tc.want {
				t.Errorf("ArrowType(%q) = %s, want %s", tc.hive, got, tc.want)
			}
		})
	}
	if _, err := ArrowType("nonsense<"); err == nil {
		t.Error("a bad type was accepted")
	}
}

func TestLike(t *testing.T) {
	for _, tc := range []struct {
		s, p string
		want bool
	}{
		{"orders", "orders", true},
		{"orders", "order", false},
		{"orders", "%", true},
		{"", "%", true},
		{"", "", true},
		{"", "_", false},
		{"orders", "o%s", true},
		{"orders", "o%x", false},
		{"orders", "_rders", true},
		{"orders", "%r%r%", true},
		{"orders", "%d_rs", true},
		{"aaa", "a%a%a%a", false},
		{"Orders", "orders", false},
		{"ünï", "_n_", true},
	} {
		if got := like(tc.s, tc.p); got != tc.want {
			t.Errorf("like(%q, %q) = %v, want %v", tc.s, tc.p, got, tc.want)
		}
	}
}

// likeOracle translates the pattern into an anchored regexp.
func likeOracle(s, p string) bool {
	var b strings.Builder
	b.WriteString(`(?s)^`)
	for _, r := range p {
		switch r {
		case '%':
			b.WriteString(`.*`)
		case '_':
			b.WriteString(`.`)
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString(`$`)
	return regexp.MustCompile(b.String()).MatchString(s)
}

func FuzzLike(f *testing.F) {
	for _, seed := range [][2]string{{"orders", "o%s"}, {"aaa", "a%a%a%a"}, {"", "%"}, {"ab_c", "%_%"}, {"x", "_%_"}} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, s, p string) {
		if len(s) > 64 || len(p) > 64 || !utf8Valid(s) || !utf8Valid(p) {
			return
		}
		if got, want := like(s, p), likeOracle(s, p); got != want {
			t.Errorf("like(%q, %q) = %v, oracle %v", s, p, got, want)
		}
	})
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }
