package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/lakegate/lakegate/internal/api"
	"github.com/lakegate/lakegate/internal/authz"
	"github.com/lakegate/lakegate/internal/authz/authztest"
	"github.com/lakegate/lakegate/internal/client"
	"github.com/lakegate/lakegate/internal/credentials"
	"github.com/lakegate/lakegate/internal/store"
)

// catalogServer runs the real REST API over SQLite with a catalog:
// database sales with tables orders and refunds; alice (group analysts)
// may SELECT only the id column of sales.orders.
func catalogServer(t *testing.T) (srv *httptest.Server, adminToken, aliceToken string) {
	t.Helper()
	fx := authztest.New(t, authztest.Options{
		Script: "CREATE ROLE analyst; GRANT ROLE analyst TO GROUP analysts; GRANT SELECT(id) ON TABLE sales.orders TO ROLE analyst",
		Users:  map[string][]string{"alice": {"analysts"}},
	})
	ctx := context.WithoutCancel(t.Context())
	cols := []store.Column{{Name: "id", Type: "bigint"}, {Name: "amount", Type: "double"}}
	err := fx.Store.UpdatePolicy(ctx, func(tx store.PolicyTx) error {
		if err := tx.CreateDatabase(ctx, store.Database{Name: "sales"}); err != nil {
			return err
		}
		for _, name := range []string{"orders", "refunds"} {
			err := tx.CreateTable(ctx, store.Table{Database: "sales", Name: name, Location: "s3://lake/sales/" + name, Format: "PARQUET", Columns: cols})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fx.Engine.Exec(ctx, fx.Engine.Principal("admin"), "SHOW ROLES"); err != nil { // reloads the policy
		t.Fatal(err)
	}
	h, err := api.New(api.Options{Engine: fx.Engine, Tokens: fx.Tokens, Keys: credentials.New(fx.Store)})
	if err != nil {
		t.Fatal(err)
	}
	srv = httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, fx.Token(t, "admin"), fx.Token(t, "alice")
}

func TestCatalog(t *testing.T) {
	srv, adminToken, aliceToken := catalogServer(t)
	admin, alice := newClient(t, srv.URL, adminToken), newClient(t, srv.URL, aliceToken)
	ctx := t.Context()

	dbs, err := alice.Databases(ctx)
	if err != nil || len(dbs) != 1 || dbs[0].Name != "sales" {
		t.Errorf("alice's databases: %+v, %v", dbs, err)
	}
	tables, err := alice.Tables(ctx, "sales")
	if err != nil || len(tables) != 1 || tables[0] != (api.TableInfo{Name: "orders", Location: "s3://lake/sales/orders", Format: "PARQUET"}) {
		t.Errorf("alice's tables: %+v, %v", tables, err)
	}
	if tables, err = admin.Tables(ctx, "sales"); err != nil || len(tables) != 2 {
		t.Errorf("admin's tables: %+v, %v", tables, err)
	}
	d, err := alice.Dataset(ctx, "sales.orders")
	if err != nil || len(d.Columns) != 2 || d.Access["select"].Access != authz.AccessRestricted {
		t.Errorf("alice's dataset: %+v, %v", d, err)
	}
	var apiErr *client.APIError
	if _, err := alice.Dataset(ctx, "sales.refunds"); !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotFound {
		t.Errorf("alice's invisible dataset: %v", err)
	}

	res, err := admin.CheckTable(ctx, "alice", nil, "sales.orders", "")
	if err != nil || res.Decision != "RESTRICTED" || res.Privilege != "SELECT" || res.Location != "s3://lake/sales/orders" {
		t.Errorf("check alice on sales.orders: %+v, %v", res, err)
	}
	res, err = admin.CheckTable(ctx, "alice", []string{"admin"}, "sales.refunds", "INSERT")
	if err != nil || res.Decision != "ALLOW" || res.Privilege != "INSERT" {
		t.Errorf("check alice as admin on sales.refunds: %+v, %v", res, err)
	}
	if _, err := alice.CheckTable(ctx, "", nil, "sales.refunds", ""); !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest {
		t.Errorf("alice checks an invisible table: %v", err)
	}
}
