package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/azimuthcd/azimuth/internal/api"
	"github.com/azimuthcd/azimuth/internal/azure"
	"github.com/azimuthcd/azimuth/internal/azuresim"
	"github.com/azimuthcd/azimuth/internal/engine"
	"github.com/azimuthcd/azimuth/internal/ops"
	"github.com/azimuthcd/azimuth/internal/secret"
	"github.com/azimuthcd/azimuth/internal/service"
	"github.com/azimuthcd/azimuth/internal/store/sqlstore"
)

const permSub = "/subscriptions/96000000-0000-4000-8000-000000000001"

func TestPermissionsRoleCommand(t *testing.T) {
	e := newAPIEnv(t)
	aks := permSub + "/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks"
	// Table: the role JSON, the commands, the built-in alternative, the
	// Kubernetes manifests.
	r := e.ok("azure", "permissions", "role", "--for", "aks", "--scope", aks, "--namespace", "team", "--group", "94000000-0000-4000-8000-000000000001", "--write", "out")
	for _, want := range []string{"az role definition create --role-definition @", "az role assignment create", `"DataActions": [`, "kind: RoleBinding", "built-in alternative"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("output lacks %q:\n%s", want, r.out)
		}
	}
	files, _ := filepath.Glob(filepath.Join(e.dir, "out", "*"))
	if len(files) != 2 {
		t.Fatalf("files %v", files)
	}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if strings.HasSuffix(f, ".json") {
			var def map[string]any
			if err := json.Unmarshal(b, &def); err != nil || def["AssignableScopes"] == nil {
				t.Errorf("%s: %v %s", f, err, b)
			}
		}
	}
	// The Role reads the namespace itself; nothing cluster-wide unless
	// asked for.
	if strings.Contains(r.out, "kind: ClusterRole") || !strings.Contains(r.out, "resourceNames:") {
		t.Errorf("cluster-wide output without --cluster-wide:\n%s", r.out)
	}
	if r := e.ok("azure", "permissions", "role", "--for", "aks", "--scope", aks, "--namespace", "team", "--group", "94000000-0000-4000-8000-000000000001", "--cluster-wide"); !strings.Contains(r.out, "kind: ClusterRoleBinding") {
		t.Errorf("--cluster-wide:\n%s", r.out)
	}
	// JSON and YAML.
	r = e.ok("azure", "permissions", "role", "--for", "acr", "--scope", permSub, "-o", "json", "--assignee", "93000000-0000-4000-8000-000000000001")
	var plan struct {
		Grants []struct {
			Scope    string
			Commands []string
		}
	}
	if err := json.Unmarshal([]byte(r.out), &plan); err != nil || len(plan.Grants) == 0 || !strings.Contains(strings.Join(plan.Grants[0].Commands, " "), "--assignee 93000000-0000-4000-8000-000000000001") {
		t.Fatalf("%v %s", err, r.out)
	}
	if r = e.ok("azure", "permissions", "role", "--for", "webapp", "--scope", permSub+"/resourceGroups/rg", "-o", "yaml"); !strings.Contains(r.out, "grants:") {
		t.Fatalf("%s", r.out)
	}
	// The catalogue.
	if r = e.ok("azure", "permissions", "capabilities"); !strings.Contains(r.out, "acr.list-registries") || !strings.Contains(r.out, "subscription") {
		t.Fatalf("%s", r.out)
	}
	// Mistakes of the caller.
	if r = e.cli(e.admin, "", "azure", "permissions", "role", "--for", "nope", "--scope", permSub); r.code != ExitInvalid {
		t.Errorf("unknown capability: %s", r)
	}
	if r = e.cli(e.admin, "", "azure", "permissions", "check", "--for", "acr"); r.code != ExitUsage {
		t.Errorf("check without a connector: %s", r)
	}
}

// newPermAPIEnv is apiEnv with the task engine, whose Azure is the
// simulator, and two connectors (executeOnDelegate: false): "reader"
// (Reader on the subscription) and "puller" (AcrPull on one registry).
func newPermAPIEnv(t *testing.T) *apiEnv {
	t.Helper()
	dir := isolate(t)
	ctx := context.Background()
	const tenant, sub = "91000000-0000-4000-8000-000000000001", "96000000-0000-4000-8000-000000000001"
	apps := []struct{ name, app, object, secret, role, scope string }{
		{"reader", "92000000-0000-4000-8000-000000000001", "93000000-0000-4000-8000-000000000001", "cli-reader-planted-01", "Reader", permSub},
		{"puller", "92000000-0000-4000-8000-000000000002", "93000000-0000-4000-8000-000000000002", "cli-puller-planted-02", "AcrPull", permSub + "/resourceGroups/rg-app/providers/Microsoft.ContainerRegistry/registries/appreg"},
	}
	ten := &azuresim.Tenant{ID: tenant, Domain: "cli.example", Subscriptions: []*azuresim.Subscription{{ID: sub, DisplayName: "Apps",
		ResourceGroups: []*azuresim.ResourceGroup{
			{Name: "rg-app", Registries: []*azuresim.Registry{{Name: "appreg"}}},
			{Name: "rg-other", Registries: []*azuresim.Registry{{Name: "otherreg"}}},
		}}}}
	for _, a := range apps {
		ten.Apps = append(ten.Apps, &azuresim.App{Name: a.name, AppID: a.app, ObjectID: a.object, Secrets: []*azuresim.ClientSecret{{Value: azuresim.Secret(a.secret)}}})
		ten.RoleAssignments = append(ten.RoleAssignments, &azuresim.RoleAssignment{Principal: a.object, Role: a.role, Scope: a.scope})
	}
	sim := azuresim.StartForTestWith(t, azuresim.Options{World: &azuresim.World{Tenants: []*azuresim.Tenant{ten}}})
	st, err := sqlstore.Open(ctx, sqlstore.Options{URL: filepath.Join(t.TempDir(), "azimuth.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	m, _ := secret.GenerateMasterKey()
	kr, err := secret.OpenKeyring(ctx, m, st)
	if err != nil {
		t.Fatal(err)
	}
	svc := service.New(service.Deps{Store: st, Keyring: kr})
	tok, _, _, err := svc.Scopes.Bootstrap(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	f, err := azure.NewFactory(azure.Options{Override: sim.Override()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	eng := engine.New(engine.Deps{Secrets: svc.Secrets, Env: ops.NewEnv(nil, f, "")})
	srv := httptest.NewServer(api.New(api.Deps{Services: svc, Health: st, Version: "test", Tasks: eng}).Handler())
	t.Cleanup(srv.Close)
	e := &apiEnv{t: t, url: srv.URL, admin: tok.Reveal(), st: st, kr: kr, dir: dir}
	for _, a := range apps {
		post := func(path, body string) {
			req, _ := http.NewRequest(http.MethodPost, srv.URL+path+"?accountIdentifier=acme", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("x-api-key", e.admin)
			resp, err := http.DefaultClient.Do(req)
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("POST %s: %v %v", path, err, resp)
			}
			resp.Body.Close()
		}
		post("/ng/api/v2/secrets", fmt.Sprintf(`{"secret":{"type":"SecretText","name":"sp_%[1]s","identifier":"sp_%[1]s","spec":{"secretManagerIdentifier":"harnessSecretManager","valueType":"Inline","value":%[2]q}}}`, a.name, a.secret))
		post("/ng/api/connectors", fmt.Sprintf(`{"connector":{"name":%[1]q,"identifier":%[1]q,"type":"Azure","spec":{"executeOnDelegate":false,"azureEnvironmentType":"AZURE",
 "credential":{"type":"ManualConfig","spec":{"applicationId":%[2]q,"tenantId":%[3]q,"auth":{"type":"Secret","spec":{"secretRef":"account.sp_%[1]s"}}}}}}}`, a.name, a.app, tenant))
	}
	return e
}

func TestPermissionsCheckCommand(t *testing.T) {
	e := newPermAPIEnv(t)
	reg := permSub + "/resourceGroups/rg-app/providers/Microsoft.ContainerRegistry/registries/appreg"
	// Reader on the subscription: everything acr needs to look; exit 0.
	r := e.ok("azure", "permissions", "check", "--connector", "account.reader", "--scope", reg, "--for", "acr.list-registries,acr.read-metadata")
	if !strings.Contains(r.out, "acr.list-registries") || strings.Contains(r.out, "DENIED") {
		t.Fatalf("%s", r)
	}
	// AcrPull on the registry: denied, named, fixed; exit 7.
	r = e.cli(e.admin, "", "azure", "permissions", "check", "--connector", "account.puller", "--scope", reg, "--for", "acr")
	for _, want := range []string{"DENIED", "ACRPULL_INSTEAD_OF_READER", "missing action:      Microsoft.ContainerRegistry/registries/read",
		"az role assignment create --assignee-object-id 93000000-0000-4000-8000-000000000002 --assignee-principal-type ServicePrincipal --role Reader --scope " + reg, "ALLOWED"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("output lacks %q: %s", want, r)
		}
	}
	if r.code != ExitFailed {
		t.Errorf("exit %d, want %d", r.code, ExitFailed)
	}
	if testing.Verbose() {
		t.Logf("%s", r.out)
	}
	r = e.cli(e.admin, "", "azure", "permissions", "check", "--connector", "account.puller", "--scope", reg, "--for", "acr", "-o", "json")
	var out struct {
		Allowed  bool
		Verdicts []struct{ Capability, Status string }
	}
	if err := json.Unmarshal([]byte(r.out), &out); err != nil || out.Allowed || len(out.Verdicts) != 3 || r.code != ExitFailed {
		t.Fatalf("%v %s", err, r)
	}
	// Role generation names the connector's identity.
	if r = e.ok("azure", "permissions", "role", "--for", "acr", "--scope", permSub, "--connector", "account.puller"); !strings.Contains(r.out, "--assignee-object-id 93000000-0000-4000-8000-000000000002 --assignee-principal-type ServicePrincipal") {
		t.Fatalf("%s", r)
	}
	if r = e.cli(e.admin, "", "azure", "permissions", "check", "--connector", "account.nope", "--scope", reg, "--for", "acr"); r.code != ExitNotFound {
		t.Errorf("unknown connector: %s", r)
	}
}
