package gateway

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/md5"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/lakegate/lakegate/internal/audit"
	"github.com/lakegate/lakegate/internal/authz"
	"github.com/lakegate/lakegate/internal/feed"
	"github.com/lakegate/lakegate/internal/nscale"
	"github.com/lakegate/lakegate/internal/s3/sigv4"
	"github.com/lakegate/lakegate/internal/systoken"
)

// tableScript registers tables over bucket "whouse" for group analysts:
// sales in full (ALL), orders readable in full, secret with a column list
// only (restricted); and whouse/scratch through a URI grant.
const tableScript = `
CREATE ROLE analyst; GRANT ROLE analyst TO GROUP analysts;
CREATE DATABASE shop;
CREATE EXTERNAL TABLE shop.sales (id INT, amount DOUBLE) PARTITIONED BY (dt STRING) STORED AS PARQUET LOCATION 's3://whouse/sales';
CREATE EXTERNAL TABLE shop.orders (id INT) STORED AS PARQUET LOCATION 's3://whouse/orders';
CREATE EXTERNAL TABLE shop.secret (id INT, ssn STRING) STORED AS PARQUET LOCATION 's3://whouse/secret';
GRANT ALL ON TABLE shop.sales TO ROLE analyst;
GRANT SELECT ON TABLE shop.orders TO ROLE analyst;
GRANT SELECT(id) ON TABLE shop.secret TO ROLE analyst;
GRANT ALL ON URI 's3://whouse/scratch' TO ROLE analyst;
`

const scanBase = "https://lakegate.example:8083"

// tableUpstream answers like S3: an empty listing for a bucket GET, a
// DeleteResult for a multi-delete, "ok" otherwise.
func tableUpstream() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		switch {
		case r.Method == http.MethodGet && strings.Count(strings.Trim(r.URL.Path, "/"), "/") == 0:
			_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>whouse</Name><Prefix></Prefix><KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated></ListBucketResult>`)
		case r.Method == http.MethodPost && r.URL.Query().Has("delete"):
			_, _ = io.WriteString(w, `<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></DeleteResult>`)
		default:
			_, _ = io.WriteString(w, "ok")
		}
	})
}

// tableProxy runs the gateway for the user of userKey (group analysts)
// over tableScript's catalog, deciding either with the server's engine or
// through an nScale policy server and Remote, with an auditor.
func tableProxy(t *testing.T, viaNScale bool) (send sender, aud *recordingAuditor) {
	t.Helper()
	engine := newEngine(t, tableScript)
	if err := engine.PutUser(context.Background(), userKey, []string{"analysts"}); err != nil {
		t.Fatal(err)
	}
	var authorizer Authorizer = engine
	if viaNScale {
		authorizer = nscaleRemote(t, engine)
	}
	aud = &recordingAuditor{}
	proxy := startProxy(t, tableUpstream(), func(o *Options) {
		o.Verifier = sigv4.NewVerifier(sigv4.Options{Credentials: keys{userKey: userSecret}})
		o.Authorizer = authorizer
		o.Audit = aud
		o.ScanEndpoint = scanBase
	})
	send = signedSender(t, proxy, userKey, userSecret)
	return send, aud
}

// nscaleRemote serves engine's internal API and returns a Remote asking
// it, as `lakegate proxy` does.
func nscaleRemote(t *testing.T, engine *authz.Engine) *nscale.Remote {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(priv)
	key, err := systoken.ParseKey(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	if err != nil {
		t.Fatal(err)
	}
	h, err := nscale.NewHandler(nscale.HandlerOptions{
		System: systoken.NewVerifier(key), Keys: keys{userKey: userSecret}, Engine: engine,
		Upstream: staticCreds{}, Feed: feed.New(0),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	r, err := nscale.NewRemote(nscale.RemoteOptions{Server: srv.URL, Token: systoken.NewMinter(key, time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

type staticCreds struct{}

func (staticCreds) Credentials(context.Context, string) (aws.Credentials, error) {
	return aws.Credentials{AccessKeyID: sysKey, SecretAccessKey: sysSecret}, nil
}

// s3Error is an S3 XML error body.
type s3Error struct {
	Code, Message, RequestID string
}

// TestTableBypassAudit: requests under a table's location, allowed by a
// table grant with no URI grant, are audited with the table and the
// partition of their object, on the server's own proxy and on an nScale
// node proxy (cold and warm).
func TestTableBypassAudit(t *testing.T) {
	for _, mode := range []string{"server", "nscale"} {
		t.Run(mode, func(t *testing.T) {
			send, aud := tableProxy(t, mode == "nscale")
			tests := []struct {
				name, method, path string
				hdr                map[string]string
				body               []byte
				table, partition   string
				sourceTable        string
			}{
				{name: "get", method: http.MethodGet, path: "/whouse/sales/dt%3D2026-12-01/part-0.parquet", table: "shop.sales", partition: "dt=2026-12-01"},
				{name: "get warm, another partition", method: http.MethodGet, path: "/whouse/sales/dt%3D2026-12-02/part-1.parquet", table: "shop.sales", partition: "dt=2026-12-02"},
				{name: "get outside partitions", method: http.MethodGet, path: "/whouse/sales/_SUCCESS", table: "shop.sales"},
				{name: "put", method: http.MethodPut, path: "/whouse/sales/dt%3D2026-12-03/new.parquet", body: []byte("PAR1"), table: "shop.sales", partition: "dt=2026-12-03"},
				{name: "list", method: http.MethodGet, path: "/whouse?list-type=2&prefix=sales/dt=2026-12-01/", table: "shop.sales", partition: "dt=2026-12-01"},
				{name: "copy", method: http.MethodPut, path: "/whouse/sales/dt%3D2026-12-04/copy.parquet",
					hdr: map[string]string{"X-Amz-Copy-Source": "whouse/orders/part-0.parquet"}, table: "shop.sales", partition: "dt=2026-12-04", sourceTable: "shop.orders"},
				{name: "delete objects in one table", method: http.MethodPost, path: "/whouse?delete",
					body:  []byte(`<Delete><Object><Key>sales/dt=1/a</Key></Object><Object><Key>sales/dt=2/b</Key></Object></Delete>`),
					table: "shop.sales"},
				{name: "delete objects in one partition", method: http.MethodPost, path: "/whouse?delete",
					body:  []byte(`<Delete><Object><Key>sales/dt=1/a</Key></Object><Object><Key>sales/dt=1/b</Key></Object></Delete>`),
					table: "shop.sales", partition: "dt=1"},
				{name: "delete objects, a refused key does not count", method: http.MethodPost, path: "/whouse?delete",
					body:  []byte(`<Delete><Object><Key>sales/dt=1/a</Key></Object><Object><Key>orders/b</Key></Object></Delete>`),
					table: "shop.sales", partition: "dt=1"},
				{name: "delete objects not all in a table", method: http.MethodPost, path: "/whouse?delete",
					body: []byte(`<Delete><Object><Key>sales/dt=1/a</Key></Object><Object><Key>scratch/b</Key></Object></Delete>`)},
				{name: "get under a URI grant", method: http.MethodGet, path: "/whouse/scratch/x"},
			}
			for i, tc := range tests {
				hdr := tc.hdr
				if bytes.HasPrefix(tc.body, []byte("<Delete>")) {
					hdr = map[string]string{"Content-MD5": md5b64(tc.body)}
				}
				// Keys are sent as S3 clients send them, '=' escaped.
				resp, body := send(tc.method, tc.path, tc.body, hdr)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("%s: %d %s", tc.name, resp.StatusCode, body)
				}
				c := aud.waitCompletions(t, i+1)
				if len(c) != i+1 {
					t.Fatalf("%s: %d completions, want %d", tc.name, len(c), i+1)
				}
				ev := c[i]
				if ev.Decision != audit.DecisionAllow || ev.Table != tc.table || ev.Partition != tc.partition || ev.SourceTable != tc.sourceTable {
					t.Errorf("%s: audited %s table %q partition %q source %q (%s), want table %q partition %q source %q",
						tc.name, ev.Decision, ev.Table, ev.Partition, ev.SourceTable, ev.Reason, tc.table, tc.partition, tc.sourceTable)
				}
				if mode := map[bool]string{true: audit.ModeBypass, false: audit.ModeProxy}[tc.table != ""]; ev.Mode != mode {
					t.Errorf("%s: mode %q, want %q", tc.name, ev.Mode, mode)
				}
				if tc.method == http.MethodGet && !strings.Contains(tc.path, "?") && (len(ev.URIs) != 1 || ev.URIs[0] != "s3:/"+strings.ReplaceAll(tc.path, "%3D", "=")) {
					t.Errorf("%s: URIs %v, want the file", tc.name, ev.URIs)
				}
			}
		})
	}
}

// TestRestrictedTableRefusal: a user whose grants on a table are
// restricted is refused its files and listings with AccessDenied saying
// so and naming the scan API, and nothing of the policy's reason; the
// refusal is audited with the table and the full reason.
func TestRestrictedTableRefusal(t *testing.T) {
	want := "Access to the files of table shop.secret is restricted for you (column, row or mask policy): " +
		"query it through the scan API at " + scanBase + "/api/scan/shop.secret"
	for _, mode := range []string{"server", "nscale"} {
		t.Run(mode, func(t *testing.T) {
			send, aud := tableProxy(t, mode == "nscale")
			for i, path := range []string{"/whouse/secret/part-0.parquet", "/whouse?list-type=2&prefix=secret/"} {
				resp, body := send(http.MethodGet, path, nil, nil)
				var e s3Error
				if err := xml.Unmarshal(body, &e); err != nil {
					t.Fatalf("%s: %v: %s", path, err, body)
				}
				if resp.StatusCode != http.StatusForbidden || e.Code != "AccessDenied" || e.Message != want {
					t.Errorf("%s: %d %s %q\nwant 403 AccessDenied %q", path, resp.StatusCode, e.Code, e.Message, want)
				}
				for _, leak := range []string{"GRANT", "analyst", "role", "ssn", "s3://whouse", "group"} {
					if bytes.Contains(body, []byte(leak)) {
						t.Errorf("%s: the refusal reveals %q: %s", path, leak, body)
					}
				}
				c := aud.waitCompletions(t, i+1)
				ev := c[len(c)-1]
				if ev.Decision != audit.DecisionDeny || ev.Table != "shop.secret" || ev.Mode != audit.ModeProxy || !strings.Contains(ev.Reason, "GRANT SELECT(id) ON TABLE shop.secret") {
					t.Errorf("%s: audited %s table %q reason %q", path, ev.Decision, ev.Table, ev.Reason)
				}
			}
			// A plain refusal stays plain.
			resp, body := send(http.MethodGet, "/whouse/elsewhere/x", nil, nil)
			var e s3Error
			_ = xml.Unmarshal(body, &e)
			if resp.StatusCode != http.StatusForbidden || e.Message != "Access Denied" {
				t.Errorf("outside every table: %d %q, want plain Access Denied", resp.StatusCode, e.Message)
			}
		})
	}
}

func TestRestrictedErrorWithoutEndpoint(t *testing.T) {
	d := authz.Decision{Restricted: true, Reason: "r"}
	if _, ok := denied(d).(*deniedError); !ok {
		t.Fatal("denied is not a deniedError")
	}
	if denied(d).(*deniedError).restricted {
		t.Error("a restricted decision without a table is worded as one")
	}
}

func md5b64(b []byte) string {
	sum := md5.Sum(b)
	return base64.StdEncoding.EncodeToString(sum[:])
}
