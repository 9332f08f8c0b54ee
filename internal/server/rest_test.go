package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestRESTHandler(t *testing.T) {
	h := restHandler()
	tests := []struct {
		name, method, path string
		wantStatus         int
		wantBody           map[string]string
		wantAllow          string
	}{
		{"health", http.MethodGet, "/api/health", http.StatusOK, map[string]string{"health": "ok"}, ""},
		{"unknown path", http.MethodGet, "/api/nope", http.StatusNotFound, map[string]string{"error": "no such endpoint"}, ""},
		{"root", http.MethodGet, "/", http.StatusNotFound, map[string]string{"error": "no such endpoint"}, ""},
		{"wrong method", http.MethodPost, "/api/health", http.StatusMethodNotAllowed, map[string]string{"error": "method not allowed"}, "GET, HEAD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			if rec.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d", rec.Code, tt.wantStatus)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			if got := rec.Header().Get("Allow"); got != tt.wantAllow {
				t.Errorf("Allow = %q, want %q", got, tt.wantAllow)
			}
			var body map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q is not JSON: %v", rec.Body, err)
			}
			if len(body) != len(tt.wantBody) {
				t.Errorf("body = %v, want %v", body, tt.wantBody)
			}
			for k, v := range tt.wantBody {
				if body[k] != v {
					t.Errorf("body[%q] = %q, want %q", k, body[k], v)
				}
			}
		})
	}
}
