package config_test

import (
	"testing"

	"github.com/lakegate/lakegate/internal/config"
)

func TestRESTURL(t *testing.T) {
	tests := []struct {
		name string
		rest config.REST
		want string
	}{
		{"public url wins", config.REST{Addr: ":8083", PublicURL: "https://lakegate.example:8083/"}, "https://lakegate.example:8083"},
		{"unspecified host", config.REST{Addr: ":8083"}, "http://127.0.0.1:8083"},
		{"unspecified IPv4", config.REST{Addr: "0.0.0.0:9000"}, "http://127.0.0.1:9000"},
		{"unspecified IPv6", config.REST{Addr: "[::]:9000"}, "http://127.0.0.1:9000"},
		{"named host", config.REST{Addr: "lakegate.internal:8083"}, "http://lakegate.internal:8083"},
		{"IPv6 host", config.REST{Addr: "[fd00::1]:8083"}, "http://[fd00::1]:8083"},
		{"TLS", config.REST{Addr: ":8083", TLSCertFile: "c.pem", TLSKeyFile: "k.pem"}, "https://127.0.0.1:8083"},
		{"REST disabled", config.REST{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.rest.RESTURL(); got != tt.want {
				t.Errorf("RESTURL() = %q, want %q", got, tt.want)
			}
		})
	}
}
