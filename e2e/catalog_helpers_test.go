package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakegate/lakegate/internal/lakefixture"
)

// Helpers for the catalog suites (TestCatalog*): seed 000's transactions
// as real Parquet files, table-granted users, and the checks on a
// refusal's message.

// seedTxnColumns is seed 000's column list of the transactions table.
const seedTxnColumns = `tnxid INT,
tnxdate DATE,
amount DOUBLE,
userid STRING,
ip_address STRING,
address STRING,
country STRING,
region STRING`

// e2eParquetWriter is the writer name in the Parquet files the suites
// write.
const e2eParquetWriter = "lakegate e2e (arrow-go)"

// txnSchema is seed 000's transactions table as arrow-go writes it.
var txnSchema = arrow.NewSchema([]arrow.Field{
	{Name: "tnxid", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	{Name: "tnxdate", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	{Name: "amount", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "userid", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "ip_address", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "address", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "country", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "region", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// txnParquet writes rows transactions, numbered from first, as one
// Parquet file with arrow-go.
func txnParquet(t testing.TB, first, rows int) []byte {
	t.Helper()
	type row struct {
		Tnxid     int32   `json:"tnxid"`
		Tnxdate   string  `json:"tnxdate"`
		Amount    float64 `json:"amount"`
		Userid    string  `json:"userid"`
		IPAddress string  `json:"ip_address"`
		Address   string  `json:"address"`
		Country   string  `json:"country"`
		Region    string  `json:"region"`
	}
	countries := []string{"US", "DE", "JP", "BR"}
	var js bytes.Buffer
	js.WriteString("[")
	for i := range rows {
		n := first + i
		b, err := json.Marshal(row{
			Tnxid: int32(n), Tnxdate: fmt.Sprintf("2024-%02d-%02d", 1+n%12, 1+n%28), Amount: float64(n) * 1.25,
			Userid: fmt.Sprintf("u%05d", n%97), IPAddress: fmt.Sprintf("10.0.%d.%d", n%250, n%200),
			Address: fmt.Sprintf("%d Main St", n), Country: countries[n%len(countries)], Region: fmt.Sprintf("r%d", n%5),
		})
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			js.WriteString(",")
		}
		js.Write(b)
	}
	js.WriteString("]")
	rec, _, err := array.RecordFromJSON(memory.DefaultAllocator, txnSchema, &js)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	data := lakefixture.Parquet(t, rec, e2eParquetWriter)
	if !bytes.HasPrefix(data, []byte("PAR1")) {
		t.Fatal("arrow-go wrote no Parquet magic")
	}
	return data
}

// status sends r as u and returns the HTTP status and the S3 error code.
func (u *s3User) status(t testing.TB, r rawReq) (int, string) {
	t.Helper()
	resp := u.do(t, r)
	e, _ := parseS3Error(resp.Body)
	return resp.Status, e.Code
}

// get is a GetObject of bucket/key as u.
func (u *s3User) get(t testing.TB, bucket, key string) rawResponse {
	t.Helper()
	return u.do(t, rawReq{Method: http.MethodGet, Path: "/" + bucket + "/" + key})
}

// put is a PutObject of body at bucket/key as u.
func (u *s3User) put(t testing.TB, bucket, key string, body []byte) rawResponse {
	t.Helper()
	return u.do(t, rawReq{Method: http.MethodPut, Path: "/" + bucket + "/" + key, Body: body})
}

// wantRestrictedRefusal checks a refusal under a table the user holds
// only restricted grants on: 403 AccessDenied whose message names the
// table and the scan API, and nothing of the policy (role names, grant
// text) that leaked is named in leaks.
func wantRestrictedRefusal(t testing.TB, what string, resp rawResponse, table string, leaks ...string) {
	t.Helper()
	e, err := parseS3Error(resp.Body)
	if resp.Status != http.StatusForbidden || err != nil || e.Code != "AccessDenied" {
		t.Errorf("%s: %d %s (%v), want 403 AccessDenied\n%s", what, resp.Status, e.Code, err, resp.Body)
		return
	}
	if !strings.Contains(e.Message, table) || !strings.Contains(e.Message, "/api/scan/"+table) {
		t.Errorf("%s: message %q does not name the table %s and /api/scan/%s", what, e.Message, table, table)
	}
	lower := strings.ToLower(string(resp.Body))
	for _, l := range leaks {
		if strings.Contains(lower, strings.ToLower(l)) {
			t.Errorf("%s: the refusal names %q of the policy:\n%s", what, l, resp.Body)
		}
	}
}

// catalogUser runs `lakegate users create NAME GROUP` and returns the
// access key, its secret and the REST token it printed.
func catalogUser(t testing.TB, lg *lakegateServer, name, group string) (key, secret, token string) {
	t.Helper()
	out := lg.usersCreate(t, name, group)
	key, secret, token = out["aws_access_key_id"], out["aws_secret_access_key"], out["lakegate_token"]
	registerSecret("secret key and token from lakegate users create", secret, token)
	if key == "" || secret == "" || token == "" {
		t.Fatalf("lakegate users create %s printed no key, secret or token, only %v", name, slices.Sorted(maps.Keys(out)))
	}
	return key, secret, token
}

// restJSON GETs path from the REST API with token and decodes a 200
// answer into v; it returns the answer.
func restJSON(t testing.TB, lg *lakegateServer, path, token string, v any) restResult {
	t.Helper()
	res := lg.rest(t, http.MethodGet, path, bearer(token))
	if res.Status == http.StatusOK && v != nil {
		if err := json.Unmarshal(res.Body, v); err != nil {
			t.Fatalf("GET %s: %v: %s", path, err, res)
		}
	}
	return res
}

// putParquetTable puts n Parquet files of seed 000's transactions under
// bucket/prefix directly on the backend and returns their contents by key.
func putParquetTable(t testing.TB, m *minioServer, bucket, prefix string, n int) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	for i := range n {
		key := fmt.Sprintf("%spart-%05d.parquet", prefix, i)
		files[key] = txnParquet(t, i*50, 50)
		m.put(t, bucket, key, string(files[key]))
	}
	return files
}
