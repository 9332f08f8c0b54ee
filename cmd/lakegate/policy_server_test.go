package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestServerURL(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain.yaml")
	if err := os.WriteFile(plain, []byte("rest:\n  addr: 0.0.0.0:9999\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, flag, env, config, want string
	}{
		{"flag wins", "http://flag:1", "http://env:2", plain, "http://flag:1"},
		{"environment", "", "http://env:2", plain, "http://env:2"},
		{"configuration, unspecified host made local", "", "", plain, "http://127.0.0.1:9999"},
		{"default", "", "", "", "http://127.0.0.1:8083"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(serverEnv, tc.env)
			t.Setenv(configEnv, tc.config)
			f := clientFlags{server: tc.flag}
			got, err := f.serverURL()
			if err != nil || got != tc.want {
				t.Errorf("serverURL() = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}
