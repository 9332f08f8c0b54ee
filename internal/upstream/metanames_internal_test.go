package upstream

import (
	"net/http"
	"reflect"
	"testing"
)

func TestLowerMetaHeaderNames(t *testing.T) {
	tests := []struct {
		name    string
		in, out http.Header
	}{
		{"canonical", http.Header{"X-Amz-Meta-Foo": {"bar"}}, http.Header{"x-amz-meta-foo": {"bar"}}},
		{"already lower", http.Header{"x-amz-meta-foo": {"bar"}}, http.Header{"x-amz-meta-foo": {"bar"}}},
		{"merged", http.Header{"X-Amz-Meta-A": {"1"}, "x-amz-meta-a": {"2"}}, nil},
		{"others kept", http.Header{"X-Amz-Request-Id": {"r"}, "Content-Type": {"t"}, "X-Amz-Metadata-Directive": {"COPY"}},
			http.Header{"X-Amz-Request-Id": {"r"}, "Content-Type": {"t"}, "X-Amz-Metadata-Directive": {"COPY"}}},
		{"prefix alone", http.Header{"X-Amz-Meta-": {"x"}}, http.Header{"X-Amz-Meta-": {"x"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.in.Clone()
			lowerMetaHeaderNames(h)
			if tt.out == nil {
				// Merged values: both, in some order.
				//lint:ignore SA1008 the lower-case name is the point
				if len(h) != 1 || len(h["x-amz-meta-a"]) != 2 {
					t.Errorf("got %v", h)
				}
				return
			}
			if !reflect.DeepEqual(h, tt.out) {
				t.Errorf("got %v, want %v", h, tt.out)
			}
		})
	}
}
