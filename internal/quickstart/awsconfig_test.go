package quickstart_test

import (
	"os"
	"path/filepath"
	"testing"

	awscreds "github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/lakegate/lakegate/internal/quickstart"
)

func staticCreds(id, secret string) awscreds.StaticCredentialsProvider {
	return awscreds.NewStaticCredentialsProvider(id, secret, "")
}

func TestUpsertProfile(t *testing.T) {
	p := quickstart.Profile{Name: "lakegate", EndpointURL: "http://127.0.0.1:5010", AccessKeyID: "LGNEW", SecretAccessKey: "new", Region: "us-east-1"}
	section := p.Section()
	tests := []struct {
		name, before, after string
	}{
		{"new file", "", section},
		{"append", "[default]\nregion = eu-west-1\n", "[default]\nregion = eu-west-1\n\n" + section},
		{"append without final newline", "[default]\nregion = eu-west-1", "[default]\nregion = eu-west-1\n\n" + section},
		{
			"replace in the middle",
			"[default]\nregion = x\n\n[profile lakegate]\nendpoint_url = http://old\naws_access_key_id = LGOLD\ns3 =\n    signature_version = s3v4\n\n[profile other]\nregion = y\n",
			"[default]\nregion = x\n\n" + section + "\n[profile other]\nregion = y\n",
		},
		{
			"replace at the end",
			"[default]\nregion = x\n\n[ profile  lakegate ]\naws_access_key_id = LGOLD\n",
			"[default]\nregion = x\n\n" + section,
		},
		{
			"similar names untouched",
			"[profile lakegate-prod]\nregion = z\n",
			"[profile lakegate-prod]\nregion = z\n\n" + section,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "sub", "config")
			if tt.before != "" {
				if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(tt.before), 0o640); err != nil {
					t.Fatal(err)
				}
			}
			if err := quickstart.UpsertProfile(path, p); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.after {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.after)
			}
			// Idempotent.
			if err := quickstart.UpsertProfile(path, p); err != nil {
				t.Fatal(err)
			}
			if again, _ := os.ReadFile(path); string(again) != tt.after {
				t.Errorf("second upsert changed the file:\n%s", again)
			}
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			want := os.FileMode(0o600)
			if tt.before != "" {
				want = 0o640
			}
			if st.Mode().Perm() != want {
				t.Errorf("mode = %o, want %o", st.Mode().Perm(), want)
			}
		})
	}
}
