//go:build duckdb_arrow

// Package apitest starts the REST API with the scan data plane over a
// small CSV table, for the tests of the API and of its clients. Only tests
// import it; it needs the scan engine, hence the duckdb_arrow build tag.
package apitest

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/lakegate/lakegate/internal/api"
	"github.com/lakegate/lakegate/internal/audit"
	"github.com/lakegate/lakegate/internal/authz/authztest"
	"github.com/lakegate/lakegate/internal/credentials"
	"github.com/lakegate/lakegate/internal/dataplane"
	"github.com/lakegate/lakegate/internal/lakefixture"
)

// PeopleCSV is the table s3://lake/people as ScanServer writes it: id,
// name, ssn and region, two rows in the EU and one in the US.
const PeopleCSV = "1,Alice,123-45-6789,EU\n2,Bob,987-65-4321,US\n3,Carol,555-12-3456,EU\n"

// PeoplePolicy declares PeopleCSV as hr.people and gives the group eu
// its EU rows with ssn masked but the last four characters.
const PeoplePolicy = `
CREATE DATABASE hr;
CREATE EXTERNAL TABLE hr.people (id BIGINT, name STRING, ssn STRING, region STRING)
  ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' STORED AS TEXTFILE LOCATION 's3://lake/people';
CREATE ROLE eu; GRANT ROLE eu TO GROUP eu;
GRANT SELECT ON TABLE hr.people WHERE region = 'EU' TRANSFORM ssn WITH mask_last(4) TO ROLE eu;
`

// ScanOptions configure ScanServer.
type ScanOptions struct {
	// Script is the policy, PeoplePolicy if empty.
	Script string
	// Users are the users and their groups.
	Users map[string][]string
	// MaxRows bounds a scan's answer; 0 is the engine's default.
	MaxRows int64
}

// ScanServer serves the REST API with the data plane over PeopleCSV; it
// stops when the test ends. The fixture issues the users' tokens.
func ScanServer(t testing.TB, opt ScanOptions) (*httptest.Server, *authztest.Fixture) {
	t.Helper()
	root := t.TempDir()
	lakefixture.WriteFile(t, filepath.Join(root, "lake/people/p.csv"), []byte(PeopleCSV))
	if opt.Script == "" {
		opt.Script = PeoplePolicy
	}
	fx := authztest.New(t, authztest.Options{Script: opt.Script, Users: opt.Users})
	go fx.Engine.Run(t.Context()) // keeps the policy Fresh
	eng, err := dataplane.NewEngine(dataplane.EngineOptions{Objects: &lakefixture.Dir{Root: root}, TempDir: t.TempDir(), MaxRows: opt.MaxRows})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := dataplane.New(dataplane.Options{Policy: fx.Engine, Engine: eng, Audit: nopAudit{}})
	if err != nil {
		t.Fatal(err)
	}
	h, err := api.New(api.Options{Engine: fx.Engine, Tokens: fx.Tokens, Keys: credentials.New(fx.Store), Scanner: svc})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, fx
}

// nopAudit accepts every event.
type nopAudit struct{}

func (nopAudit) Decide(context.Context, *audit.Event) error { return nil }
func (nopAudit) Complete(*audit.Event)                      {}
