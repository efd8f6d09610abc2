package openapi_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/azimuthcd/azimuth/internal/azuresim"
	"github.com/azimuthcd/azimuth/internal/client"
)

// TestPermissionResponsesMatchDocument drives the permission routes of the
// real composition root, whose Azure is the simulator, and checks their
// requests and responses against the document.
func TestPermissionResponsesMatchDocument(t *testing.T) {
	const tenant, sub = "a1000000-0000-4000-8000-000000000001", "a6000000-0000-4000-8000-000000000001"
	const app, object, secret = "a2000000-0000-4000-8000-000000000001", "a3000000-0000-4000-8000-000000000001", "openapi-perm-planted-1"
	ten := &azuresim.Tenant{ID: tenant, Domain: "openapi.example",
		Apps:            []*azuresim.App{{Name: "puller", AppID: app, ObjectID: object, Secrets: []*azuresim.ClientSecret{{Value: secret}}}},
		Subscriptions:   []*azuresim.Subscription{{ID: sub, DisplayName: "Apps", ResourceGroups: []*azuresim.ResourceGroup{{Name: "rg", Registries: []*azuresim.Registry{{Name: "appreg"}}}}}},
		RoleAssignments: []*azuresim.RoleAssignment{{Principal: object, Role: "AcrPull", Scope: "/subscriptions/" + sub + "/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/appreg"}},
	}
	sim := azuresim.StartForTestWith(t, azuresim.Options{World: &azuresim.World{Tenants: []*azuresim.Tenant{ten}}})
	srv, admin := startServer(t, sim)
	ctx := context.Background()

	v := newValidator(t)
	c, err := client.New(client.Options{BaseURL: srv.URL(), APIKey: admin, HTTPClient: &http.Client{Transport: v}})
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err = c.CreateTextSecret(ctx, client.Scope{}, client.SecretMeta{Identifier: "sp"}, []byte(secret))
	must(err)
	_, err = c.CreateConnector(ctx, []byte(fmt.Sprintf(`{"connector":{"name":"puller","identifier":"puller","type":"Azure","spec":{"executeOnDelegate":false,"azureEnvironmentType":"AZURE",
 "credential":{"type":"ManualConfig","spec":{"applicationId":%q,"tenantId":%q,"auth":{"type":"Secret","spec":{"secretRef":"account.sp"}}}}}}}`, app, tenant)))
	must(err)
	post := func(path string, body any) error {
		_, err := c.Do(ctx, client.Request{Method: http.MethodPost, Path: path, JSON: body}, nil)
		return err
	}
	reg := "/subscriptions/" + sub + "/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/appreg"
	must(post("/ng/api/azimuth/permissions/check", map[string]any{"connectorRef": "puller", "scope": reg, "capabilities": []string{"acr", "aks.read"}}))
	must(post("/ng/api/azimuth/permissions/check", map[string]any{"connectorRef": "puller", "scope": "/subscriptions/" + sub, "capabilities": []string{"base", "arm"}}))
	if err := post("/ng/api/azimuth/permissions/check", map[string]any{"connectorRef": "nope", "scope": reg, "capabilities": []string{"acr"}}); client.KindOf(err).String() != "NOT_FOUND" {
		t.Errorf("unknown connector: %v", err)
	}
	if err := post("/ng/api/azimuth/permissions/check", map[string]any{"connectorRef": "puller", "scope": reg, "capabilities": []string{"nope"}}); client.KindOf(err).String() != "INVALID" {
		t.Errorf("unknown capability: %v", err)
	}
	must(post("/ng/api/azimuth/permissions/role", map[string]any{"capabilities": []string{"aks"}, "scope": "/subscriptions/" + sub + "/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/k/namespaces/team",
		"namespace": "team", "subjects": []map[string]string{{"kind": "User", "name": "dev@example.com"}}}))
	must(post("/ng/api/azimuth/permissions/role", map[string]any{"capabilities": []string{"arm"}, "scope": "/"}))
	must(post("/ng/api/azimuth/permissions/role", map[string]any{"capabilities": []string{"acr"}, "scope": "/subscriptions/" + sub, "connectorRef": "puller"}))
	_, err = c.Do(ctx, client.Request{Method: http.MethodGet, Path: "/ng/api/azimuth/permissions/capabilities"}, nil)
	must(err)
	for _, e := range v.errs {
		t.Error(e)
	}
	if len(v.seen) < 5 {
		t.Errorf("only %d operation/status pairs checked: %v", len(v.seen), v.seen)
	}
}
