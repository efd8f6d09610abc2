package openapi_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/azimuthcd/azimuth/internal/azuresim"
	"github.com/azimuthcd/azimuth/internal/client"
)

// TestConnectionTestMatchesDocument: testConnection's SUCCESS and FAILURE
// results (with warnings-free and failure fields), the connector status
// it records and its 404, from the real server pointed at the simulator,
// match the document.
func TestConnectionTestMatchesDocument(t *testing.T) {
	sim := azuresim.StartForTest(t, nil)
	srv, admin := startServer(t, sim)
	ctx := context.Background()

	v := newValidator(t)
	c, err := client.New(client.Options{BaseURL: srv.URL(), APIKey: admin, HTTPClient: &http.Client{Transport: v}})
	if err != nil {
		t.Fatal(err)
	}
	for id, value := range map[string]string{"ok": "demo-reader-secret-0001", "expired": "demo-expired-secret-0003"} {
		app := map[string]string{"ok": "30000000-0000-4000-8000-000000000001", "expired": "30000000-0000-4000-8000-000000000003"}[id]
		if _, err := c.CreateTextSecret(ctx, client.Scope{}, client.SecretMeta{Identifier: id + "-secret"}, []byte(value)); err != nil {
			t.Fatal(err)
		}
		doc := []byte(`{"connector":{"name":"` + id + `","identifier":"` + id + `","type":"Azure","spec":{"azureEnvironmentType":"AZURE","executeOnDelegate":false,
"credential":{"type":"ManualConfig","spec":{"applicationId":"` + app + `","tenantId":"10000000-0000-4000-8000-000000000001",
"auth":{"type":"Secret","spec":{"secretRef":"account.` + id + `-secret"}}}}}}}`)
		if _, err := c.CreateConnector(ctx, doc); err != nil {
			t.Fatal(err)
		}
		res, err := c.TestConnector(ctx, client.Scope{}, id, nil)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]string{"ok": "SUCCESS", "expired": "FAILURE"}[id]; res.Status != want {
			t.Fatalf("%s: %s %s", id, res.Status, res.Reason)
		}
		if _, err := c.GetConnector(ctx, client.Scope{}, id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.TestConnector(ctx, client.Scope{}, "nope", map[string]any{}); client.KindOf(err).String() != "NOT_FOUND" {
		t.Fatalf("unknown connector: %v", err)
	}
	for _, e := range v.errs {
		t.Error(e)
	}
	for _, k := range []string{"POST /ng/api/connectors/testConnection/{identifier} 200", "POST /ng/api/connectors/testConnection/{identifier} 404"} {
		if !v.seen[k] {
			t.Errorf("%s not checked", k)
		}
	}
}
