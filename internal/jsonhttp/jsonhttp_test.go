package jsonhttp

import "testing"

func TestIsJSON(t *testing.T) {
	tests := []struct {
		contentType string
		want        bool
	}{
		{"application/json", true},
		{"application/json; charset=utf-8", true},
		{"Application/JSON", true},
		{"", false},
		{"text/plain", false},
		{"application/x-www-form-urlencoded", false},
		{"multipart/form-data; boundary=x", false},
		{"application/jsonp", false},
		{"application/json-seq", false},
		{"application/json;", true}, // an empty parameter list
		{"text/plain; application/json", false},
	}
	for _, tt := range tests {
		t.Run(tt.contentType, func(t *testing.T) {
			if got := IsJSON(tt.contentType); got != tt.want {
				t.Errorf("IsJSON(%q) = %v, want %v", tt.contentType, got, tt.want)
			}
		})
	}
}
