package server

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/lakegate/lakegate/internal/config"
)

// TestNewUpstreamRoles checks the wiring of upstream.role_arn,
// upstream.buckets.<name>.role_arn, sts_endpoint and the session settings
// into the upstream client: each bucket is signed by a session of its role
// (the real STS behaviour is tested in internal/upstream against moto).
func TestNewUpstreamRoles(t *testing.T) {
	var (
		mu    sync.Mutex
		asked = map[string]string{} // role ARN → DurationSeconds/RoleSessionName
	)
	sts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Error(err)
		}
		arn := r.PostForm.Get("RoleArn")
		mu.Lock()
		asked[arn] = r.PostForm.Get("DurationSeconds") + "/" + r.PostForm.Get("RoleSessionName")
		n := len(asked)
		mu.Unlock()
		fmt.Fprintf(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>
<Credentials><AccessKeyId>ASIAROLE%08d</AccessKeyId><SecretAccessKey>s</SecretAccessKey><SessionToken>t</SessionToken><Expiration>%s</Expiration></Credentials>
<AssumedRoleUser><Arn>x</Arn><AssumedRoleId>y</AssumedRoleId></AssumedRoleUser></AssumeRoleResult></AssumeRoleResponse>`,
			n, time.Now().Add(time.Minute).UTC().Format(time.RFC3339))
	}))
	defer sts.Close()

	const sysRole, finance = "arn:aws:iam::123456789012:role/system", "arn:aws:iam::123456789012:role/finance"
	u := config.Upstream{
		Endpoint: "http://127.0.0.1:9", Region: "us-east-1", PathStyle: true,
		AccessKeyID: "AKIABASEBASEBASE", SecretAccessKey: "base-secret",
		RoleARN: sysRole, STSEndpoint: sts.URL, RoleSessionDuration: time.Minute, RoleSessionName: "lg-test",
		Buckets: map[string]config.Bucket{"finance": {RoleARN: finance}, "logs": {Region: "eu-west-1"}},
	}
	c, err := newUpstream(context.Background(), u, nil)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]string{}
	for _, b := range []string{"finance", "logs", "other"} {
		creds, err := c.Credentials(context.Background(), b)
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		keys[b] = creds.AccessKeyID
	}
	if keys["finance"] == keys["logs"] || keys["logs"] != keys["other"] || keys["logs"] == "AKIABASEBASEBASE" {
		t.Errorf("keys per bucket %v: want finance's role for finance, the system role for the others", keys)
	}
	want := map[string]string{sysRole: "60/lg-test", finance: "60/lg-test"}
	if fmt.Sprint(asked) != fmt.Sprint(want) {
		t.Errorf("AssumeRole calls %v, want %v", asked, want)
	}

	u.RoleARN, u.Buckets = "", nil
	c, err = newUpstream(context.Background(), u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if creds, err := c.Credentials(context.Background(), "finance"); err != nil || creds.AccessKeyID != "AKIABASEBASEBASE" {
		t.Errorf("without roles: %v %v, want the static key", creds.AccessKeyID, err)
	}
}
