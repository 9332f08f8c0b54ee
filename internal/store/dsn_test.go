package store_test

import (
	"strings"
	"testing"

	"github.com/lakegate/lakegate/internal/store"
)

func TestRedactDSN(t *testing.T) {
	tests := []struct {
		driver, dsn, want string
	}{
		{"sqlite", "/var/lib/lakegate/lakegate.db", "/var/lib/lakegate/lakegate.db"},
		{"postgres", "postgres://lg:S3cret@db:5432/lakegate?sslmode=verify-full", "postgres://lg:xxxxx@db:5432/lakegate?sslmode=verify-full"},
		{"postgres", "postgresql://lg@db/lakegate?password=S3cret&sslmode=require", "postgresql://lg@db/lakegate?password=xxxxx&sslmode=require"},
		{"postgres", "postgres://db/lakegate", "postgres://db/lakegate"},
		{"postgres", "host=db user=lg password=S3cret dbname=lakegate", "host=db user=lg password=xxxxx dbname=lakegate"},
		{"postgres", "host=db password = 'S3 cret\\' x' dbname=lakegate sslpassword=S3cret", "host=db password=xxxxx dbname=lakegate sslpassword=xxxxx"},
		{"postgres", "postgres://lg:S3cret@db:notaport/x", "(a DSN that does not parse)"},
		{"mysql", "lg:S3cret@tcp(db:3306)/lakegate?tls=true", "lg:xxxxx@tcp(db:3306)/lakegate?tls=true"},
		{"mysql", "lg:S3c@r:e/t@tcp(db:3306)/lakegate", "lg:xxxxx@tcp(db:3306)/lakegate"},
		{"mysql", "lg@tcp(db)/lakegate", "lg@tcp(db)/lakegate"},
		{"mysql", "/lakegate", "/lakegate"},
	}
	for _, tt := range tests {
		got := store.RedactDSN(tt.driver, tt.dsn)
		if got != tt.want {
			t.Errorf("RedactDSN(%s, %q) = %q, want %q", tt.driver, tt.dsn, got, tt.want)
		}
		if strings.Contains(got, "S3") {
			t.Errorf("RedactDSN(%s, %q) = %q shows the password", tt.driver, tt.dsn, got)
		}
	}
}
