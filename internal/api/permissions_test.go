package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
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

const (
	permTenant = "91000000-0000-4000-8000-000000000001"
	permSub    = "96000000-0000-4000-8000-000000000001"
)

var (
	permSubID = "/subscriptions/" + permSub
	permRG    = permSubID + "/resourceGroups/rg-app"
	permReg   = permRG + "/providers/Microsoft.ContainerRegistry/registries/appreg"
	permApps  = []struct{ name, app, object, secret, role, scope string }{
		{"reader", "92000000-0000-4000-8000-000000000001", "93000000-0000-4000-8000-000000000001", "perm-api-reader-planted-01", "Reader", "/subscriptions/" + permSub},
		{"puller", "92000000-0000-4000-8000-000000000002", "93000000-0000-4000-8000-000000000002", "perm-api-puller-planted-02", "AcrPull", "/subscriptions/" + permSub + "/resourceGroups/rg-app/providers/Microsoft.ContainerRegistry/registries/appreg"},
	}
)

// newPermEnv is a real server in-process with the task engine, whose
// Azure is the simulator.
func newPermEnv(t *testing.T) (*env, *azuresim.Sim) {
	t.Helper()
	ctx := context.Background()
	ten := &azuresim.Tenant{ID: permTenant, Domain: "permapi.example", Subscriptions: []*azuresim.Subscription{{ID: permSub, DisplayName: "Apps",
		ResourceGroups: []*azuresim.ResourceGroup{
			{Name: "rg-app", Registries: []*azuresim.Registry{{Name: "appreg"}}},
			{Name: "rg-other", Registries: []*azuresim.Registry{{Name: "otherreg"}}},
		}}}}
	for _, a := range permApps {
		ten.Apps = append(ten.Apps, &azuresim.App{Name: a.name, AppID: a.app, ObjectID: a.object, Secrets: []*azuresim.ClientSecret{{Value: azuresim.Secret(a.secret)}}})
		ten.RoleAssignments = append(ten.RoleAssignments, &azuresim.RoleAssignment{Principal: a.object, Role: a.role, Scope: a.scope})
	}
	sim := azuresim.StartForTestWith(t, azuresim.Options{World: &azuresim.World{Tenants: []*azuresim.Tenant{ten}}})

	e := &env{t: t, logs: &syncBuffer{}}
	e.dbPath = filepath.Join(t.TempDir(), "azimuth.db")
	log := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	st, err := sqlstore.Open(ctx, sqlstore.Options{URL: e.dbPath, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	m, _ := secret.GenerateMasterKey()
	kr, err := secret.OpenKeyring(ctx, m, st)
	if err != nil {
		t.Fatal(err)
	}
	e.st, e.kr = st, kr
	e.svc = service.New(service.Deps{Store: st, Keyring: kr, Logger: log})
	tok, _, _, err := e.svc.Scopes.Bootstrap(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	e.admin = tok.Reveal()
	f, err := azure.NewFactory(azure.Options{Override: sim.Override(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	eng := engine.New(engine.Deps{Secrets: e.svc.Secrets, Env: ops.NewEnv(log, f, ""), Logger: log})
	a := api.New(api.Deps{Services: e.svc, Health: st, Logger: log, Version: "test", Tasks: eng})
	e.srv = httptest.NewServer(a.Handler())
	t.Cleanup(e.srv.Close)

	for _, app := range permApps {
		e.must(e.req("POST", "/ng/api/v2/secrets"+q("", ""), e.admin, secretBody("sp_"+app.name, "SecretText",
			map[string]any{"secretManagerIdentifier": "harnessSecretManager", "valueType": "Inline", "value": app.secret})))
		conn := fmt.Sprintf(`{"connector":{"name":%[1]q,"identifier":%[1]q,"type":"Azure","spec":{"executeOnDelegate":false,"azureEnvironmentType":"AZURE",
 "credential":{"type":"ManualConfig","spec":{"applicationId":%[2]q,"tenantId":%[3]q,"auth":{"type":"Secret","spec":{"secretRef":"account.sp_%[1]s"}}}}}}}`,
			app.name, app.app, permTenant)
		e.must(e.req("POST", "/ng/api/connectors"+q("", ""), e.admin, conn))
	}
	return e, sim
}

func TestPermissionRoutes(t *testing.T) {
	e, sim := newPermEnv(t)
	check := func(ref, scope string, caps ...string) resp {
		return e.req("POST", "/ng/api/azimuth/permissions/check"+q("", ""), e.admin, map[string]any{"connectorRef": ref, "scope": scope, "capabilities": caps})
	}
	type verdict struct {
		Capability, Status, Scope          string
		MissingActions, MissingDataActions []string
		Fix                                *struct {
			Role  struct{ RoleName string }
			Scope string
		}
		Mistakes []struct{ Kind string }
	}
	decode := func(r resp) (allowed bool, vs []verdict) {
		t.Helper()
		var body struct {
			Data struct {
				Allowed  bool
				Verdicts []verdict
				Identity struct{ ObjectID string }
			}
		}
		if err := json.Unmarshal(r.Raw, &body); err != nil {
			t.Fatal(err)
		}
		return body.Data.Allowed, body.Data.Verdicts
	}

	// Each verdict says what the simulator allows the identity at the
	// verdict's scope.
	for i, app := range permApps {
		for _, target := range []string{permSubID, permRG, permReg} {
			r := e.must(check("account."+app.name, target, "acr", "base"))
			allowed, vs := decode(r)
			all := true
			for _, v := range vs {
				var simMissing []string
				c := permCapabilityOps(t, e, v.Capability)
				for _, op := range c {
					if !sim.CheckAccess(permTenant, permApps[i].object, op.name, v.Scope, op.data) &&
						!(op.name == "Microsoft.Resources/subscriptions/read" && app.role != "") {
						simMissing = append(simMissing, op.name)
					}
				}
				got := append(append([]string{}, v.MissingActions...), v.MissingDataActions...)
				if strings.Join(got, ",") != strings.Join(simMissing, ",") {
					t.Errorf("%s: %s at %s: missing %v, simulator refuses %v", app.name, v.Capability, target, got, simMissing)
				}
				if (v.Status == "ALLOWED") != (len(simMissing) == 0) {
					t.Errorf("%s: %s at %s: %s", app.name, v.Capability, target, v.Status)
				}
				all = all && v.Status == "ALLOWED"
			}
			if allowed != all {
				t.Errorf("%s at %s: allowed %v", app.name, target, allowed)
			}
		}
	}
	// The classic mistake, by name, with its fix.
	_, vs := decode(e.must(check("account.puller", permReg, "acr.list-registries")))
	if len(vs) != 1 || vs[0].Status != "DENIED" || vs[0].Fix == nil || vs[0].Fix.Role.RoleName != "Reader" || vs[0].Fix.Scope != permReg ||
		len(vs[0].Mistakes) == 0 || vs[0].Mistakes[0].Kind != "ACRPULL_INSTEAD_OF_READER" {
		t.Fatalf("%+v", vs)
	}

	// Bad requests.
	for name, body := range map[string]any{
		"no connector":       map[string]any{"scope": permSubID, "capabilities": []string{"acr"}},
		"no scope":           map[string]any{"connectorRef": "account.reader", "capabilities": []string{"acr"}},
		"no capabilities":    map[string]any{"connectorRef": "account.reader", "scope": permSubID},
		"unknown capability": map[string]any{"connectorRef": "account.reader", "scope": permSubID, "capabilities": []string{"acr", "nope"}},
		"bad scope":          map[string]any{"connectorRef": "account.reader", "scope": "rg-app", "capabilities": []string{"acr"}},
	} {
		if r := e.req("POST", "/ng/api/azimuth/permissions/check"+q("", ""), e.admin, body); r.Status != http.StatusBadRequest {
			t.Errorf("%s: %s", name, r)
		}
	}
	if r := check("account.missing", permSubID, "acr"); r.Status != http.StatusNotFound {
		t.Errorf("unknown connector: %s", r)
	}

	// Role generation needs no connector.
	r := e.must(e.req("POST", "/ng/api/azimuth/permissions/role"+q("", ""), e.admin, map[string]any{
		"capabilities": []string{"aks"}, "scope": permRG + "/providers/Microsoft.ContainerService/managedClusters/appaks/namespaces/team",
		"namespace": "team", "subjects": []map[string]string{{"kind": "Group", "name": "94000000-0000-4000-8000-000000000001"}}}))
	var plan struct {
		Data struct {
			Grants []struct {
				Scope  string
				Custom *struct {
					Name             string
					DataActions      []string
					AssignableScopes []string
				}
				Commands []string
			}
			Kubernetes string
		}
	}
	if err := json.Unmarshal(r.Raw, &plan); err != nil {
		t.Fatal(err)
	}
	if len(plan.Data.Grants) == 0 || plan.Data.Grants[0].Custom == nil || len(plan.Data.Grants[0].Commands) != 2 ||
		!strings.Contains(plan.Data.Kubernetes, "kind: RoleBinding") || !strings.Contains(plan.Data.Kubernetes, "namespace: team") {
		t.Fatalf("%s", r.Raw)
	}
	if !strings.Contains(plan.Data.Grants[0].Custom.AssignableScopes[0], permSub) {
		t.Errorf("assignable scopes %v", plan.Data.Grants[0].Custom.AssignableScopes)
	}
	// With a connector, the commands name its identity.
	r = e.must(e.req("POST", "/ng/api/azimuth/permissions/role"+q("", ""), e.admin, map[string]any{"capabilities": []string{"acr"}, "scope": permSubID, "connectorRef": "account.puller"}))
	if !strings.Contains(string(r.Raw), "--assignee-object-id "+permApps[1].object+" --assignee-principal-type ServicePrincipal") {
		t.Errorf("commands do not name the connector's identity: %s", r.Raw)
	}
	if r := e.req("POST", "/ng/api/azimuth/permissions/role"+q("", ""), e.admin, map[string]any{"capabilities": []string{"nope"}, "scope": permSubID}); r.Status != http.StatusBadRequest {
		t.Errorf("unknown capability: %s", r)
	}
	e.must(e.req("GET", "/ng/api/azimuth/permissions/capabilities"+q("", ""), e.admin, nil))
	// Another account's scope is not found, as everywhere.
	if r := e.req("POST", "/ng/api/azimuth/permissions/role?accountIdentifier=other", e.admin, map[string]any{"capabilities": []string{"acr"}, "scope": permSubID}); r.Status != http.StatusNotFound && r.Status != http.StatusUnauthorized {
		t.Errorf("another account: %s", r)
	}

	// No secret in any response or log.
	for _, app := range permApps {
		for _, body := range e.responses {
			if strings.Contains(body, app.secret) {
				t.Fatalf("a response carries the secret of %s", app.name)
			}
		}
		if strings.Contains(e.logs.String(), app.secret) {
			t.Fatalf("the log carries the secret of %s", app.name)
		}
	}
}

type permCapOp struct {
	name string
	data bool
}

// permCapabilityOps reads a capability's operations from the catalogue route.
func permCapabilityOps(t *testing.T, e *env, id string) []permCapOp {
	t.Helper()
	r := e.must(e.req("GET", "/ng/api/azimuth/permissions/capabilities"+q("", ""), e.admin, nil))
	var body struct {
		Data struct {
			Capabilities []struct {
				ID          string
				Actions     []string
				DataActions []string
			}
		}
	}
	if err := json.Unmarshal(r.Raw, &body); err != nil {
		t.Fatal(err)
	}
	for _, c := range body.Data.Capabilities {
		if c.ID == id {
			var out []permCapOp
			for _, a := range c.Actions {
				out = append(out, permCapOp{name: a})
			}
			for _, a := range c.DataActions {
				out = append(out, permCapOp{name: a, data: true})
			}
			return out
		}
	}
	t.Fatalf("no capability %s", id)
	return nil
}

// TestDeepConnectionTestBadBody: a testConnection body naming an unknown
// capability, even after a good one or "arm" (whose capability depends on
// the scope), is the caller's mistake: 400 naming it, and nothing is
// recorded on the connector.
func TestDeepConnectionTestBadBody(t *testing.T) {
	e, _ := newPermEnv(t)
	for name, body := range map[string]string{
		"arm then unknown":   `{"scope": "` + permSubID + `", "capabilities": ["arm", "nope"]}`,
		"unknown, no scope":  `{"capabilities": ["arm", "nope"]}`,
		"known then unknown": `{"capabilities": ["acr", "nope"]}`,
	} {
		r := e.req("POST", "/ng/api/connectors/testConnection/reader"+q("", ""), e.admin, body)
		if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Raw), `\"nope\"`) || !strings.Contains(string(r.Raw), "capabilities") {
			t.Errorf("%s: %s", name, r)
		}
	}
	if r := e.req("POST", "/ng/api/connectors/testConnection/reader"+q("", ""), e.admin, `{"scope": "rg-app", "capabilities": ["acr"]}`); r.Status != http.StatusBadRequest || !strings.Contains(string(r.Raw), "scope") {
		t.Errorf("bad scope: %s", r)
	}
	// A good body runs the test; "arm" without a scope takes the only
	// subscription's.
	r := e.must(e.req("POST", "/ng/api/connectors/testConnection/reader"+q("", ""), e.admin, `{"capabilities": ["arm"]}`))
	if !strings.Contains(string(r.Raw), "arm.deploy-subscription") {
		t.Fatalf("%s", r.Raw)
	}
}
