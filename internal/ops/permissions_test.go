package ops

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/azimuthcd/azimuth/internal/azure"
	"github.com/azimuthcd/azimuth/internal/azuresim"
	"github.com/azimuthcd/azimuth/internal/cloud"
	"github.com/azimuthcd/azimuth/internal/connector"
	"github.com/azimuthcd/azimuth/internal/failure"
	"github.com/azimuthcd/azimuth/internal/permission"
)

// The permission check runs against the simulator: identities holding
// Reader, AcrPull, Contributor, Owner, a custom role created from the
// generated JSON, or nothing, at subscription, resource-group and resource
// scope. For every target and capability, the executor's verdict must name
// exactly the operations the simulator then refuses when they are tried:
// over HTTP where the simulator serves the operation (a list must show
// every item), through its RBAC decision otherwise.

const (
	pTenant   = "81000000-0000-4000-8000-000000000001"
	pTenant2  = "81000000-0000-4000-8000-000000000002"
	pSub      = "86000000-0000-4000-8000-000000000001"
	pSub2     = "86000000-0000-4000-8000-000000000002"
	pSubOther = "86000000-0000-4000-8000-000000000003" // in pTenant2
	pCustomID = "89000000-0000-4000-8000-000000000001"
)

var (
	pSubID   = "/subscriptions/" + pSub
	pRG      = pSubID + "/resourceGroups/rg-app"
	pRGOther = pSubID + "/resourceGroups/rg-other"
	pReg     = pRG + "/providers/Microsoft.ContainerRegistry/registries/appreg"
	pAKS     = pRG + "/providers/Microsoft.ContainerService/managedClusters/appaks"
	pNS      = pAKS + "/namespaces/team"
	pSite    = pRG + "/providers/Microsoft.Web/sites/appsite"
	pSlot    = pSite + "/slots/staging"
	pMG      = "/providers/Microsoft.Management/managementGroups/platform"

	pRoles  = []string{"Reader", "AcrPull", "Contributor", "Owner", "Custom", "none"}
	pLevels = []string{"subscription", "resourceGroup", "resource"}
	// pCaps are the capabilities of the matrix and of the custom role.
	pCaps = []string{"base", "acr", "aks", "aks.admin-credentials", "webapp", "vm", "blueprint", "arm.deploy-rg", "arm.deploy-subscription"}
)

type pIdentity struct {
	role, at    string
	app, object string
	secret      string
}

func (id pIdentity) name() string { return id.role + "@" + id.at }

func pAssignmentScopes(at string) []string {
	switch at {
	case "subscription":
		return []string{pSubID}
	case "resourceGroup":
		return []string{pRG}
	}
	return []string{pReg, pAKS, pSite}
}

func pApp(n int) (app, object, secret string) {
	return fmt.Sprintf("82000000-0000-4000-8000-%012d", n), fmt.Sprintf("83000000-0000-4000-8000-%012d", n), fmt.Sprintf("perm-secret-planted-%04d", n)
}

// permWorld is the matrix's world: every identity exists; the built-in
// roles are assigned in it, the custom role is created and assigned later
// over ARM, as az would.
func permWorld() (*azuresim.World, []pIdentity, pIdentity) {
	tr := true
	rg := func(name string, extra bool) *azuresim.ResourceGroup {
		g := &azuresim.ResourceGroup{Name: name,
			Registries: []*azuresim.Registry{
				{Name: strings.ReplaceAll(name, "rg-", "") + "reg", Repositories: []*azuresim.Repository{{Name: pRepo, Tags: []*azuresim.Tag{{Name: "v1"}}}}},
				{Name: strings.ReplaceAll(name, "rg-", "") + "reg2"},
			},
			// Two of each, so that a list showing only what a grant on one
			// resource reveals is seen to be partial.
			WebApps:           []*azuresim.WebApp{{Name: strings.ReplaceAll(name, "rg-", "") + "site", Slots: []*azuresim.Slot{{Name: "staging"}}}, {Name: strings.ReplaceAll(name, "rg-", "") + "site2"}},
			NetworkInterfaces: []*azuresim.NetworkInterface{{Name: "nic-1", PublicIPAddress: "pip-1"}, {Name: "nic-2"}},
			PublicIPAddresses: []*azuresim.PublicIPAddress{{Name: "pip-1", IPAddress: "20.0.0.1"}, {Name: "pip-2", IPAddress: "20.0.0.2"}},
			VirtualMachines:   []*azuresim.VirtualMachine{{Name: "vm-1", NetworkInterfaces: []string{"nic-1"}}, {Name: "vm-2", NetworkInterfaces: []string{"nic-2"}}},
		}
		if extra {
			g.Clusters = []*azuresim.Cluster{{Name: "appaks", AADProfile: &azuresim.AADProfile{Managed: true, EnableAzureRBAC: true}, EnableRBAC: &tr,
				Namespaces: []*azuresim.Namespace{{Name: "team"}}}}
		}
		return g
	}
	ten := &azuresim.Tenant{ID: pTenant, Domain: "perm.example",
		ManagementGroups: []*azuresim.ManagementGroup{{Name: "platform", Subscriptions: []string{pSub}}},
		Subscriptions: []*azuresim.Subscription{
			{ID: pSub, DisplayName: "Apps", ResourceGroups: []*azuresim.ResourceGroup{rg("rg-app", true), rg("rg-other", false)}},
			{ID: pSub2, DisplayName: "Sandbox", ResourceGroups: []*azuresim.ResourceGroup{{Name: "rg-sandbox"}}},
		}}
	other := &azuresim.Tenant{ID: pTenant2, Domain: "other.example",
		Subscriptions: []*azuresim.Subscription{{ID: pSubOther, DisplayName: "Elsewhere"}}}
	var ids []pIdentity
	n := 0
	add := func(role, at string) pIdentity {
		n++
		app, obj, sec := pApp(n)
		id := pIdentity{role: role, at: at, app: app, object: obj, secret: sec}
		ten.Apps = append(ten.Apps, &azuresim.App{Name: fmt.Sprintf("app-%d", n), AppID: app, ObjectID: obj,
			Secrets: []*azuresim.ClientSecret{{Value: azuresim.Secret(sec)}}})
		return id
	}
	for _, role := range pRoles {
		for _, at := range pLevels {
			id := add(role, at)
			if role != "none" && role != "Custom" {
				for _, sc := range pAssignmentScopes(at) {
					ten.RoleAssignments = append(ten.RoleAssignments, &azuresim.RoleAssignment{Principal: id.object, Role: role, Scope: sc})
				}
			}
			ids = append(ids, id)
		}
	}
	// Reader in another subscription only.
	elsewhere := add("Reader", "other-subscription")
	ten.RoleAssignments = append(ten.RoleAssignments, &azuresim.RoleAssignment{Principal: elsewhere.object, Role: "Reader", Scope: "/subscriptions/" + pSub2})
	ids = append(ids, elsewhere)
	// Reader on the management group above the subscription: inherited.
	mgReader := add("Reader", "management-group")
	ten.RoleAssignments = append(ten.RoleAssignments, &azuresim.RoleAssignment{Principal: mgReader.object, Role: "Reader", Scope: pMG})
	ids = append(ids, mgReader)
	// The administrator who creates the custom role and assigns it.
	admin := add("Owner", "admin")
	ten.RoleAssignments = append(ten.RoleAssignments, &azuresim.RoleAssignment{Principal: admin.object, Role: "Owner", Scope: pSubID})
	// Identities for the generated-role test.
	for range 8 {
		ids = append(ids, add("Generated", "later"))
	}
	return &azuresim.World{Tenants: []*azuresim.Tenant{ten, other}}, ids, admin
}

type permHarness struct {
	sim     *azuresim.Sim
	env     *Env
	factory *azure.Factory
	mu      sync.Mutex
	clients map[string]*arm.Client
	// assigned counts the role assignments created (their names).
	assigned int
	// kube calls the cluster's Kubernetes API; kubeReviews counts the
	// access reviews it answered.
	kube        *http.Client
	kubeServer  string
	kubeReviews int
	// acrTries counts the catalog listings tried on the registry.
	acrTries int
}

func newPermHarness(t *testing.T) (*permHarness, []pIdentity, pIdentity) {
	t.Helper()
	return newPermHarnessTB(t)
}

func newPermHarnessTB(t testing.TB) (*permHarness, []pIdentity, pIdentity) {
	t.Helper()
	w, ids, admin := permWorld()
	sim := azuresim.StartForTestWith(t, azuresim.Options{World: w})
	f, err := azure.NewFactory(azure.Options{Override: sim.Override()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	return &permHarness{sim: sim, env: NewEnv(nil, f, ""), factory: f, clients: map[string]*arm.Client{}}, ids, admin
}

func pConnector(id pIdentity) *connector.Connector {
	return &connector.Connector{Name: id.name(), Identifier: "c" + id.object[len(id.object)-4:], Type: connector.TypeAzure, Spec: &connector.AzureSpec{
		AzureEnvironmentType: string(cloud.Public),
		Credential: &connector.Credential{Type: connector.CredentialManual, Manual: &connector.ManualSpec{
			ApplicationID: id.app, TenantID: pTenant, Auth: &connector.ManualAuth{Type: connector.AuthSecret, SecretRef: "account.sp"}}}}}
}

func pInput(id pIdentity, kind string, params any) Input {
	b, _ := json.Marshal(params)
	return Input{TaskID: "task-" + id.object[len(id.object)-4:], Connector: pConnector(id),
		Secrets: Secrets{connector.PathSecretRef: []byte(id.secret)}, CredentialKey: "v1", Params: b}
}

// check runs the executor as the engine does.
func (h *permHarness) check(t *testing.T, id pIdentity, scope string, caps ...string) *PermissionsCheckResult {
	t.Helper()
	var log bytes.Buffer
	in := pInput(id, string(KindPermissionsCheck), PermissionsCheckParams{Scope: scope, Capabilities: caps})
	in.Log = &log
	out, err := PermissionsCheck(context.Background(), h.env, in)
	if err != nil {
		t.Fatalf("%s: check %v at %s: %v", id.name(), caps, scope, err)
	}
	b, _ := json.Marshal(out)
	if strings.Contains(string(b), id.secret) || strings.Contains(log.String(), id.secret) {
		t.Fatalf("the secret leaked")
	}
	return out.(*PermissionsCheckResult)
}

// arm is an ARM client signed in as id.
func (h *permHarness) arm(t *testing.T, id pIdentity) *arm.Client {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	if c, ok := h.clients[id.object]; ok {
		return c
	}
	cred, err := h.factory.Credential(pConnector(id), map[string][]byte{connector.PathSecretRef: []byte(id.secret)}, "probe")
	if err != nil {
		t.Fatal(err)
	}
	c, err := arm.NewClient("azimuth/probe", "v1.0.0", cred, cred.ARMOptions())
	if err != nil {
		t.Fatal(err)
	}
	h.clients[id.object] = c
	return c
}

// call sends one ARM request as id and returns the status and body.
func (h *permHarness) call(t *testing.T, id pIdentity, method, path string, body any) (int, []byte) {
	t.Helper()
	c := h.arm(t, id)
	req, err := runtime.NewRequest(context.Background(), method, runtime.JoinPaths(c.Endpoint(), path))
	if err != nil {
		t.Fatal(err)
	}
	q := req.Raw().URL.Query()
	q.Set("api-version", pAPIVersion(path))
	req.Raw().URL.RawQuery = q.Encode()
	if body != nil {
		if err := runtime.MarshalAsJSON(req, body); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := c.Pipeline().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// probe is an operation the simulator serves over HTTP, authorised with
// action at the scope it is sent to. full, for lists, is the number of
// items a caller allowed at that scope sees.
type permProbe struct {
	method, path string
	body         any
	full         int
}

var permDeploymentBody = map[string]any{"properties": map[string]any{"mode": "Incremental", "template": map[string]any{
	"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#", "contentVersion": "1.0.0.0", "resources": []any{}}}}

// permProbesAt are the HTTP probes of the actions authorised exactly at scope.
func permProbesAt(scope string) map[string]permProbe {
	dep := func(at string) map[string]permProbe {
		return map[string]permProbe{
			"Microsoft.Resources/deployments/read":            {method: http.MethodGet, path: at + "/providers/Microsoft.Resources/deployments"},
			"Microsoft.Resources/deployments/write":           {method: http.MethodPut, path: at + "/providers/Microsoft.Resources/deployments/probe", body: permDeploymentBody},
			"Microsoft.Resources/deployments/validate/action": {method: http.MethodPost, path: at + "/providers/Microsoft.Resources/deployments/probe/validate", body: permDeploymentBody},
			"Microsoft.Resources/deployments/whatIf/action":   {method: http.MethodPost, path: at + "/providers/Microsoft.Resources/deployments/probe/whatIf", body: permDeploymentBody},
		}
	}
	out := map[string]permProbe{}
	switch scope {
	case pSubID:
		out = dep(pSubID)
		out["Microsoft.Resources/subscriptions/read"] = permProbe{method: http.MethodGet, path: pSubID}
		out["Microsoft.Resources/subscriptions/resourceGroups/read"] = permProbe{method: http.MethodGet, path: pSubID + "/resourcegroups", full: 2}
		out["Microsoft.ContainerRegistry/registries/read"] = permProbe{method: http.MethodGet, path: pSubID + "/providers/Microsoft.ContainerRegistry/registries", full: 4}
		out["Microsoft.Blueprint/blueprintAssignments/read"] = permProbe{method: http.MethodGet, path: pSubID + "/providers/Microsoft.Blueprint/blueprintAssignments"}
		out["Microsoft.Authorization/roleAssignments/write"] = permProbe{method: http.MethodPut, path: pSubID + "/providers/Microsoft.Authorization/roleAssignments/8a000000-0000-4000-8000-000000000001",
			body: map[string]any{"properties": map[string]any{"roleDefinitionId": pSubID + "/providers/Microsoft.Authorization/roleDefinitions/" + permission.RoleReader, "principalId": "83000000-0000-4000-8000-000000009999"}}}
	case pRG:
		out = dep(pRG)
		out["Microsoft.Resources/subscriptions/resourceGroups/read"] = permProbe{method: http.MethodGet, path: pRG}
		out["Microsoft.Web/sites/read"] = permProbe{method: http.MethodGet, path: pRG + "/providers/Microsoft.Web/sites", full: 2}
		out["Microsoft.Compute/virtualMachines/read"] = permProbe{method: http.MethodGet, path: pRG + "/providers/Microsoft.Compute/virtualMachines", full: 2}
		out["Microsoft.Network/networkInterfaces/read"] = permProbe{method: http.MethodGet, path: pRG + "/providers/Microsoft.Network/networkInterfaces", full: 2}
		out["Microsoft.Network/publicIPAddresses/read"] = permProbe{method: http.MethodGet, path: pRG + "/providers/Microsoft.Network/publicIPAddresses", full: 2}
	case pReg:
		out["Microsoft.ContainerRegistry/registries/read"] = permProbe{method: http.MethodGet, path: pReg}
		out["Microsoft.ContainerRegistry/registries/listCredentials/action"] = permProbe{method: http.MethodPost, path: pReg + "/listCredentials"}
	case pAKS:
		out["Microsoft.ContainerService/managedClusters/read"] = permProbe{method: http.MethodGet, path: pAKS}
		out["Microsoft.ContainerService/managedClusters/listClusterUserCredential/action"] = permProbe{method: http.MethodPost, path: pAKS + "/listClusterUserCredential"}
		out["Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action"] = permProbe{method: http.MethodPost, path: pAKS + "/listClusterAdminCredential"}
	case pSite:
		out["Microsoft.Web/sites/read"] = permProbe{method: http.MethodGet, path: pSite}
		out["Microsoft.Web/sites/slots/read"] = permProbe{method: http.MethodGet, path: pSite + "/slots"}
	}
	return out
}

// simDenies tries op at scope as id: over HTTP when a probe serves it
// (http reports so), else through the simulator's RBAC decision.
func (h *permHarness) simDenies(t *testing.T, id pIdentity, op permission.Operation, scope string) (denied, viaHTTP bool) {
	t.Helper()
	if !op.Data {
		for action, p := range permProbesAt(scope) {
			if !strings.EqualFold(action, op.Name) {
				continue
			}
			status, body := h.call(t, id, p.method, p.path, p.body)
			if status == http.StatusNotFound && p.path == pSubID {
				// ARM hides a subscription from whoever holds no role in it.
				return true, true
			}
			if status == http.StatusForbidden {
				if !strings.Contains(strings.ToLower(string(body)), strings.ToLower(op.Name)) {
					t.Fatalf("%s %s refused another action than %s: %s", p.method, p.path, op.Name, body)
				}
				return true, true
			}
			if status >= 500 || status == http.StatusUnauthorized {
				t.Fatalf("%s %s as %s: %d %s", p.method, p.path, id.name(), status, body)
			}
			if p.full > 0 {
				var l struct {
					Value []json.RawMessage `json:"value"`
				}
				_ = json.Unmarshal(body, &l)
				return len(l.Value) < p.full, true
			}
			return false, true
		}
	}
	if d, ok := h.kubeDenies(t, id, op, scope); ok {
		return d, true
	}
	if !op.Data && scope == pReg && strings.EqualFold(op.Name, "Microsoft.ContainerRegistry/registries/pull/read") {
		return h.acrDenies(t, id), true
	}
	return !h.sim.CheckAccess(pTenant, id.object, op.Name, scope, op.Data), false
}

// acrDenies tries the registry's data plane as id: exchange an Entra
// token for an ACR refresh token, ask for a catalog token, list the
// catalog. Pulling and reading metadata need the same permission
// (Microsoft.ContainerRegistry/registries/pull/read).
func (h *permHarness) acrDenies(t *testing.T, id pIdentity) bool {
	t.Helper()
	cred, err := h.factory.Credential(pConnector(id), map[string][]byte{connector.PathSecretRef: []byte(id.secret)}, "probe")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{"https://containerregistry.azure.net/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	const login = "appreg.azurecr.io"
	c := h.sim.HTTPClient()
	form := func(path string, v url.Values) (map[string]any, int) {
		resp, err := c.PostForm("https://"+login+path, v)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("%s: %d %v", path, resp.StatusCode, out)
		}
		return out, resp.StatusCode
	}
	h.mu.Lock()
	h.acrTries++
	h.mu.Unlock()
	rt, status := form("/oauth2/exchange", url.Values{"grant_type": {"access_token"}, "service": {login}, "access_token": {tok.Token}})
	if status != http.StatusOK {
		return true
	}
	// The token service refuses a scope the identity may not use.
	at, status := form("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "service": {login}, "scope": {"registry:catalog:*"}, "refresh_token": {fmt.Sprint(rt["refresh_token"])}})
	if status != http.StatusOK {
		return true
	}
	req, _ := http.NewRequest(http.MethodGet, "https://"+login+"/acr/v1/_catalog", nil)
	req.Header.Set("Authorization", "Bearer "+fmt.Sprint(at["access_token"]))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return false
	case http.StatusUnauthorized, http.StatusForbidden:
		return true
	}
	t.Fatalf("catalog: %d", resp.StatusCode)
	return false
}

// kubeDenies asks the cluster's Kubernetes API, as id (an Entra token for
// the AKS server application), whether the Kubernetes request behind a
// data action is allowed at scope (the cluster, or its namespace): a
// SelfSubjectAccessReview, authorised like the request itself.
func (h *permHarness) kubeDenies(t *testing.T, id pIdentity, op permission.Operation, scope string) (denied, ok bool) {
	t.Helper()
	const prefix = "Microsoft.ContainerService/managedClusters/"
	if !op.Data || (scope != pAKS && scope != pNS) || !strings.HasPrefix(op.Name, prefix) {
		return false, false
	}
	parts := strings.Split(strings.TrimPrefix(op.Name, prefix), "/")
	group := ""
	if parts[0] == "apps" {
		group, parts = "apps", parts[1:]
	}
	if len(parts) != 2 {
		return false, false
	}
	verb := map[string]string{"read": "get", "write": "create", "delete": "delete"}[parts[1]]
	ns := ""
	if scope == pNS {
		ns = "team"
	}
	h.mu.Lock()
	if h.kube == nil {
		kc, err := h.sim.KubeCluster("appaks")
		if err != nil {
			h.mu.Unlock()
			t.Fatal(err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(kc.CAPEM)
		c := h.sim.HTTPClient()
		c.Transport.(*http.Transport).TLSClientConfig.RootCAs = pool
		h.kube, h.kubeServer = c, kc.Server
	}
	client, server := h.kube, h.kubeServer
	h.mu.Unlock()
	cred, err := h.factory.Credential(pConnector(id), map[string][]byte{connector.PathSecretRef: []byte(id.secret)}, "probe")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{cloud.DefaultAKS + "/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
		"spec": map[string]any{"resourceAttributes": map[string]any{"namespace": ns, "verb": verb, "group": group, "resource": parts[0]}}})
	req, _ := http.NewRequest(http.MethodPost, server+"/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var review struct {
		Status struct {
			Allowed bool `json:"allowed"`
		} `json:"status"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&review); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("SelfSubjectAccessReview for %s: %d %v", op, resp.StatusCode, err)
	}
	h.mu.Lock()
	h.kubeReviews++
	h.mu.Unlock()
	return !review.Status.Allowed, true
}

// createCustomRole creates a generated role over ARM as admin and assigns
// it to id at each scope.
func (h *permHarness) createCustomRole(t *testing.T, admin pIdentity, roleID string, def permission.RoleDefinition, id pIdentity, scopes []string) {
	t.Helper()
	// The generated JSON is the body az role definition create turns into
	// ARM's shape.
	var az permission.RoleDefinition
	if err := json.Unmarshal(def.JSON(), &az); err != nil {
		t.Fatal(err)
	}
	body := map[string]any{"properties": map[string]any{
		"roleName": az.Name, "description": az.Description, "type": "CustomRole", "assignableScopes": az.AssignableScopes,
		"permissions": []any{map[string]any{"actions": az.Actions, "notActions": az.NotActions, "dataActions": az.DataActions, "notDataActions": az.NotDataActions}},
	}}
	at := az.AssignableScopes[0]
	if status, b := h.call(t, admin, http.MethodPut, at+"/providers/Microsoft.Authorization/roleDefinitions/"+roleID, body); status != http.StatusCreated && status != http.StatusOK {
		t.Fatalf("create role %s: %d %s", az.Name, status, b)
	}
	for _, sc := range scopes {
		h.mu.Lock()
		h.assigned++
		name := fmt.Sprintf("8b000000-0000-4000-8000-%012d", h.assigned)
		h.mu.Unlock()
		ra := map[string]any{"properties": map[string]any{"roleDefinitionId": "/subscriptions/" + pSub + "/providers/Microsoft.Authorization/roleDefinitions/" + roleID, "principalId": id.object}}
		if status, b := h.call(t, admin, http.MethodPut, sc+"/providers/Microsoft.Authorization/roleAssignments/"+name, ra); status != http.StatusCreated {
			t.Fatalf("assign role %s at %s: %d %s", az.Name, sc, status, b)
		}
	}
}

// pRegistriesOf is where Harness looks for registries when a capability
// is checked at target: the registry itself, or every registry of a
// resource group or subscription; a target of another type (a cluster, a
// web app) means the registries of its resource group.
func pRegistriesOf(target string) string {
	switch {
	case strings.EqualFold(target, pSubID), strings.EqualFold(target, pRG), strings.EqualFold(target, pReg):
		return target
	case strings.HasPrefix(strings.ToLower(target), strings.ToLower(pRG)+"/"):
		return pRG
	}
	return target
}

// permTargetsOf are the scopes a capability is checked at.
func permTargetsOf(capID string) []string {
	ts := []string{pSubID, pRG}
	switch {
	case strings.HasPrefix(capID, "acr."):
		ts = append(ts, pReg)
	case strings.HasPrefix(capID, "aks."):
		ts = append(ts, pAKS, pNS)
	case strings.HasPrefix(capID, "webapp."):
		ts = append(ts, pSite, pSlot)
	}
	return ts
}

func TestPermissionsCheckAgreesWithSimulator(t *testing.T) {
	h, ids, admin := newPermHarness(t)
	plan, err := permission.Generate(permission.GenerateRequest{Capabilities: pCaps, Scope: pSubID, RoleName: "Azimuth matrix"})
	if err != nil || len(plan.Grants) != 1 || plan.Grants[0].Custom == nil {
		t.Fatalf("generate: %v %+v", err, plan)
	}
	caps, err := permission.Resolve(pCaps, permission.MustParseScope(pSubID))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if id.role == "Custom" {
			h.createCustomRole(t, admin, pCustomID, *plan.Grants[0].Custom, id, pAssignmentScopes(id.at))
		}
	}
	type key struct{ object, op, scope string }
	seen := map[key]bool{}
	checked, denied, overHTTP, atTarget, endToEnd := 0, 0, 0, 0, 0
	for _, id := range ids {
		if id.role == "Generated" {
			continue
		}
		for _, target := range []string{pSubID, pRG, pReg, pAKS, pNS, pSite, pSlot} {
			var want []string
			for _, c := range caps {
				if slices.Contains(permTargetsOf(c), target) {
					want = append(want, c)
				}
			}
			res := h.check(t, id, target, want...)
			if len(res.Verdicts) != len(want) {
				t.Fatalf("%s at %s: %d verdicts for %d capabilities", id.name(), target, len(res.Verdicts), len(want))
			}
			status := map[string]permission.Status{}
			for _, v := range res.Verdicts {
				status[v.Capability] = v.Status
				c, _ := permission.Lookup(v.Capability)
				where := fmt.Sprintf("%s: %s at %s (granted at %s)", id.name(), v.Capability, target, v.Scope)
				var simMissing []string
				for _, op := range c.Operations() {
					d, viaHTTP := h.simDenies(t, id, op, v.Scope)
					if v.Capability == "acr.list-registries" {
						// What Harness does, whatever scope the verdict
						// chose: list the subscription's registries and
						// find the target's by name.
						d, _ = h.findRegistriesDenies(t, id, pRegistriesOf(target))
						viaHTTP = true
					}
					if viaHTTP && !seen[key{id.object, op.Name, v.Scope}] {
						seen[key{id.object, op.Name, v.Scope}] = true
						overHTTP++
					}
					if d {
						simMissing = append(simMissing, op.Name)
					} else if !strings.EqualFold(target, v.Scope) && !strings.EqualFold(op.Name, "Microsoft.Resources/subscriptions/read") {
						// Granted where the verdict looked: it must then
						// work at the target too (reading the subscription
						// is ARM's visibility, not a grant at a scope).
						if d, _ := h.simDenies(t, id, op, target); d {
							t.Errorf("%s: %s is allowed at %s but refused at the target", where, op, v.Scope)
						}
						atTarget++
					}
				}
				got := append(slices.Clone(v.MissingActions), v.MissingDataActions...)
				if !slices.Equal(got, simMissing) {
					t.Errorf("%s: verdict %s missing %v; the simulator refuses %v", where, v.Status, got, simMissing)
					continue
				}
				if (v.Status == permission.StatusAllowed) != (len(simMissing) == 0) || v.Status == permission.StatusUnknown {
					t.Errorf("%s: status %s, simulator refuses %v", where, v.Status, simMissing)
					continue
				}
				checked++
				if v.Status == permission.StatusDenied {
					denied++
					if v.Fix == nil || v.Fix.Scope != v.Scope {
						t.Errorf("%s: no fix at the grant scope: %+v", where, v.Fix)
					}
				}
			}
			// Harness's own operations at the target, end to end: they
			// work exactly when the verdicts say so.
			e2e := func(what string, simDenied bool, caps ...string) {
				allowed := true
				for _, c := range caps {
					allowed = allowed && status[c] == permission.StatusAllowed
				}
				if simDenied == allowed {
					t.Errorf("%s at %s: %s %s in the simulator, but the verdicts say %v", id.name(), target, what, map[bool]string{true: "fails", false: "works"}[simDenied], status)
				}
				endToEnd++
			}
			switch target {
			case pReg:
				e2e("finding the registry by name and listing its tags", h.acrArtifactDenies(t, id), "acr.list-registries", "acr.read-metadata")
			case pAKS, pNS:
				e2e("fetching a kubeconfig with user credentials", h.kubeconfigDenies(t, id), "aks.user-credentials")
			}
		}
	}
	t.Logf("%d verdicts checked against the simulator, %d denied, %d distinct operations tried over HTTP (%d Kubernetes access reviews, %d registry catalog listings), %d allowed operations tried again at the target, %d Harness operations end to end",
		checked, denied, overHTTP, h.kubeReviews, h.acrTries, atTarget, endToEnd)
	if checked < 500 || denied < checked/5 || denied > checked*4/5 || overHTTP < 200 || h.kubeReviews < 500 || h.acrTries < 20 || atTarget < 100 || endToEnd < 50 {
		t.Fatalf("%d verdicts, %d denied, %d over HTTP: the matrix does not exercise both outcomes", checked, denied, overHTTP)
	}
}

// TestPermissionsCheckNamesMistakes: the verdicts for the cases,
// stated independently of the simulator.
func TestPermissionsCheckNamesMistakes(t *testing.T) {
	h, ids, _ := newPermHarness(t)
	find := func(role, at string) pIdentity {
		for _, id := range ids {
			if id.role == role && id.at == at {
				return id
			}
		}
		t.Fatalf("no identity %s@%s", role, at)
		return pIdentity{}
	}
	verdict := func(res *PermissionsCheckResult, capID string) permission.Verdict {
		for _, v := range res.Verdicts {
			if v.Capability == capID {
				return v
			}
		}
		t.Fatalf("no verdict for %s: %+v", capID, res.Verdicts)
		return permission.Verdict{}
	}
	hasMistake := func(v permission.Verdict, k permission.MistakeKind) bool {
		return slices.ContainsFunc(v.Mistakes, func(m permission.Mistake) bool { return m.Kind == k })
	}

	t.Run("AcrPull on the registry", func(t *testing.T) {
		res := h.check(t, find("AcrPull", "resource"), pReg, "acr")
		v := verdict(res, "acr.list-registries")
		if v.Status != permission.StatusDenied || v.Scope != pReg || !slices.Equal(v.MissingActions, []string{"Microsoft.ContainerRegistry/registries/read"}) {
			t.Fatalf("%+v", v)
		}
		if v.Fix == nil || v.Fix.Role.Name != "Reader" || v.Fix.Scope != pReg {
			t.Errorf("fix %+v", v.Fix)
		}
		if !hasMistake(v, permission.MistakeAcrPullInsteadOfReader) {
			t.Errorf("AcrPull not recognised (it may not list its assignments; the role comes from its effective permissions): %+v", v.Mistakes)
		}
		// Reader on the registry lets Harness find it in the subscription's
		// (filtered) list and read its metadata: one assignment fixes both.
		if len(res.Fixes) != 1 || res.Fixes[0].Role.Name != "Reader" || res.Fixes[0].Scope != pReg {
			t.Errorf("fixes %+v", res.Fixes)
		}
		if p := verdict(res, "acr.pull"); p.Status != permission.StatusAllowed {
			t.Errorf("acr.pull %+v", p)
		}
		if !slices.ContainsFunc(res.Reads, func(r PermissionRead) bool {
			return r.Source == sourceRoleAssignments && r.Reason == string(azure.ReasonAuthorizationFailed)
		}) {
			t.Errorf("reads %+v", res.Reads)
		}
	})
	t.Run("Reader on the registry", func(t *testing.T) {
		// Enough to find that registry: the subscription's list is
		// filtered, not refused.
		v := verdict(h.check(t, find("Reader", "resource"), pReg, "acr.list-registries"), "acr.list-registries")
		if v.Status != permission.StatusAllowed {
			t.Fatalf("%+v", v)
		}
		// Not enough to list every registry of its resource group (the
		// group holds another). The identity may not list its role
		// assignments at the subscription, so the registry's Reader is not
		// named here (internal/permission's tests name it SCOPE_TOO_NARROW).
		v = verdict(h.check(t, find("Reader", "resource"), pRG, "acr.list-registries"), "acr.list-registries")
		if v.Status != permission.StatusDenied || v.Fix == nil || v.Fix.Role.Name != "Reader" || v.Fix.Scope != pRG {
			t.Fatalf("%+v", v)
		}
	})
	t.Run("Reader on the resource group finds the registry", func(t *testing.T) {
		res := h.check(t, find("Reader", "resourceGroup"), pReg, "acr.list-registries", "acr.read-metadata")
		for _, v := range res.Verdicts {
			if v.Status != permission.StatusAllowed || len(v.Mistakes) > 0 {
				t.Fatalf("%+v", v)
			}
		}
	})
	t.Run("Reader on the cluster", func(t *testing.T) {
		v := verdict(h.check(t, find("Reader", "resource"), pAKS, "aks.user-credentials"), "aks.user-credentials")
		if v.Status != permission.StatusDenied || !hasMistake(v, permission.MistakeReaderInsteadOfAKSUserRole) || v.Fix == nil || v.Fix.Role.Name != "Azure Kubernetes Service Cluster User Role" {
			t.Fatalf("%+v", v)
		}
	})
	t.Run("Owner has no Kubernetes data actions", func(t *testing.T) {
		v := verdict(h.check(t, find("Owner", "subscription"), pNS, "aks.deploy"), "aks.deploy")
		if v.Status != permission.StatusDenied || len(v.MissingDataActions) == 0 || len(v.MissingActions) != 0 || !hasMistake(v, permission.MistakeControlPlaneRoleForDataActions) {
			t.Fatalf("%+v", v)
		}
	})
	t.Run("Reader in another subscription", func(t *testing.T) {
		v := verdict(h.check(t, find("Reader", "other-subscription"), pSubID, "acr.list-registries"), "acr.list-registries")
		if v.Status != permission.StatusDenied || !hasMistake(v, permission.MistakeOtherSubscription) {
			t.Fatalf("%+v", v)
		}
	})
	t.Run("a subscription of another tenant", func(t *testing.T) {
		res := h.check(t, find("Owner", "subscription"), "/subscriptions/"+pSubOther, "acr.list-registries", "base")
		for _, v := range res.Verdicts {
			if v.Status != permission.StatusDenied || !hasMistake(v, permission.MistakeOtherTenant) || !strings.Contains(v.Mistakes[0].Message, pTenant2) {
				t.Fatalf("%+v", v)
			}
		}
	})
	t.Run("Contributor cannot assign blueprints", func(t *testing.T) {
		v := verdict(h.check(t, find("Contributor", "subscription"), pSubID, "blueprint"), "blueprint.assign")
		if v.Status != permission.StatusDenied || !hasMistake(v, permission.MistakeContributorCannotAssignBlueprints) {
			t.Fatalf("%+v", v)
		}
	})
	t.Run("nothing", func(t *testing.T) {
		res := h.check(t, find("none", "subscription"), pRG, "webapp", "vm")
		if res.Allowed || len(res.Fixes) == 0 {
			t.Fatalf("%+v", res.Report)
		}
		for _, v := range res.Verdicts {
			if v.Status != permission.StatusDenied {
				t.Errorf("%+v", v)
			}
		}
	})
	t.Run("management group and tenant deployments", func(t *testing.T) {
		owner := find("Owner", "subscription")
		res := h.check(t, owner, "/", "arm")
		t.Logf("reads at /: %+v", res.Reads)
		if len(res.Verdicts) != 1 || res.Verdicts[0].Capability != "arm.deploy-tenant" || res.Verdicts[0].Status != permission.StatusDenied || res.Verdicts[0].Scope != "/" {
			t.Fatalf("%+v %+v", res.Verdicts, res.Reads)
		}
		res = h.check(t, owner, "/providers/Microsoft.Management/managementGroups/platform", "arm")
		if len(res.Verdicts) != 1 || res.Verdicts[0].Capability != "arm.deploy-management-group" || res.Verdicts[0].Status != permission.StatusDenied {
			t.Fatalf("%+v %+v", res.Verdicts, res.Reads)
		}
	})
	t.Run("bad parameters", func(t *testing.T) {
		for _, p := range []PermissionsCheckParams{{}, {Scope: pSubID}, {Scope: "subscriptions", Capabilities: []string{"acr"}}, {Scope: pSubID, Capabilities: []string{"nope"}}} {
			_, err := PermissionsCheck(context.Background(), h.env, pInput(find("Reader", "subscription"), "", p))
			if !failure.Is(err, failure.Invalid) {
				t.Errorf("%+v: %v", p, err)
			}
		}
	})
}

// TestManagementGroupRolesWithoutEffectivePermissions: when Azure does not
// answer the effective permissions, the role assignments decide; a role on
// the management group above the subscription is listed there and counts,
// rather than showing as assigned elsewhere.
func TestManagementGroupRolesWithoutEffectivePermissions(t *testing.T) {
	h, ids, _ := newPermHarness(t)
	var mgReader pIdentity
	for _, id := range ids {
		if id.at == "management-group" {
			mgReader = id
		}
	}
	if _, err := h.sim.AddFault(azuresim.Fault{Route: "arm.permissions.list", Status: http.StatusForbidden}); err != nil {
		t.Fatal(err)
	}
	res := h.check(t, mgReader, pRG, "vm.read", "acr.list-registries")
	for _, v := range res.Verdicts {
		if v.Status != permission.StatusAllowed || v.Source != "role assignments" || !slices.Contains(v.GrantedBy, "Reader") || len(v.Mistakes) > 0 {
			t.Errorf("%+v (reads %+v)", v, res.Reads)
		}
	}
	// And the simulator agrees.
	for _, op := range []string{"Microsoft.Compute/virtualMachines/read", "Microsoft.ContainerRegistry/registries/read"} {
		if !h.sim.CheckAccess(pTenant, mgReader.object, op, pRG, false) {
			t.Errorf("the simulator refuses %s", op)
		}
	}
}

// TestGeneratedRolesInSimulator: each generated custom role, created and
// assigned over ARM, makes the check allow its capabilities, lets every
// operation of them through, and nothing else: every reference operation
// outside them and every HTTP probe of another action is refused.
func TestGeneratedRolesInSimulator(t *testing.T) {
	h, ids, admin := newPermHarness(t)
	var fresh []pIdentity
	for _, id := range ids {
		if id.role == "Generated" {
			fresh = append(fresh, id)
		}
	}
	cases := []struct {
		caps  []string
		scope string
	}{
		{[]string{"acr"}, pReg},
		{[]string{"aks"}, pNS},
		{[]string{"aks-admin"}, pAKS},
		{[]string{"webapp"}, pSite},
		{[]string{"vm"}, pRG},
		{[]string{"arm.deploy-rg"}, pRG},
		{[]string{"base", "blueprint", "arm.deploy-subscription"}, pSubID},
		{pCaps, pRG},
	}
	refused := 0
	for i, tc := range cases {
		id := fresh[i]
		plan, err := permission.Generate(permission.GenerateRequest{Capabilities: tc.caps, Scope: tc.scope, RoleName: fmt.Sprintf("Azimuth case %d", i), Assignee: id.object})
		if err != nil {
			t.Fatal(err)
		}
		var allowed []permission.Operation
		var grantScopes []string
		for j, g := range plan.Grants {
			roleID := fmt.Sprintf("89000000-0000-4000-8000-0000000%02d%03d", i, j)
			h.createCustomRole(t, admin, roleID, *g.Custom, id, []string{g.Scope})
			grantScopes = append(grantScopes, g.Scope)
			for _, a := range g.Custom.Actions {
				allowed = append(allowed, permission.Operation{Name: a})
			}
			for _, a := range g.Custom.DataActions {
				allowed = append(allowed, permission.Operation{Name: a, Data: true})
			}
		}
		res := h.check(t, id, tc.scope, tc.caps...)
		if !res.Allowed {
			t.Errorf("case %d %v at %s: not allowed: %+v", i, tc.caps, tc.scope, res.Verdicts)
		}
		for _, v := range res.Verdicts {
			c, _ := permission.Lookup(v.Capability)
			for _, op := range c.Operations() {
				if d, _ := h.simDenies(t, id, op, v.Scope); d {
					t.Errorf("case %d: the simulator refuses %s at %s", i, op, v.Scope)
				}
			}
		}
		// Nothing outside: every reference operation the role does not
		// list is refused at every grant scope, and so is every probe of
		// another action.
		need := map[string]bool{}
		for _, op := range allowed {
			need[strings.ToLower(op.String())] = true
		}
		for _, sc := range append(grantScopes, pSubID, pRG, pReg, pAKS, pSite) {
			for _, op := range permission.ReferenceOperations() {
				if need[strings.ToLower(op.String())] {
					continue
				}
				if h.sim.CheckAccess(pTenant, id.object, op.Name, sc, op.Data) {
					t.Errorf("case %d: the generated role lets %s through at %s", i, op, sc)
				}
				// Kubernetes requests outside the role, tried on the
				// cluster's API.
				if d, ok := h.kubeDenies(t, id, op, sc); ok && !d {
					t.Errorf("case %d: the cluster lets %s through at %s", i, op, sc)
				}
				refused++
			}
			for action, p := range permProbesAt(sc) {
				// Reading the subscription is ARM's to grant: any role in
				// it shows it.
				if need[strings.ToLower(action)] || strings.EqualFold(action, "Microsoft.Resources/subscriptions/read") {
					continue
				}
				if status, body := h.call(t, id, p.method, p.path, p.body); status != http.StatusForbidden {
					t.Errorf("case %d: %s %s (%s) answered %d %s", i, p.method, p.path, action, status, body)
				}
				refused++
			}
		}
	}
	t.Logf("%d operations outside the generated roles refused; %d Kubernetes access reviews asked of the cluster's API in all", refused, h.kubeReviews)
}

// TestDeepConnectionTest: the connection test with a scope and
// capabilities (from its parameters or the connector's tags) reports the
// check and fails when a capability is denied.
func TestDeepConnectionTest(t *testing.T) {
	h, ids, _ := newPermHarness(t)
	find := func(role, at string) pIdentity {
		for _, id := range ids {
			if id.role == role && id.at == at {
				return id
			}
		}
		t.Fatalf("no identity %s@%s", role, at)
		return pIdentity{}
	}
	run := func(in Input) *ValidationResult {
		t.Helper()
		out, err := Validate(context.Background(), h.env, in)
		if err != nil {
			t.Fatal(err)
		}
		return out.(*ValidationResult)
	}
	// AcrPull on the registry: authenticates, but cannot list registries.
	in := pInput(find("AcrPull", "resource"), "", ValidateParams{Scope: pReg, Capabilities: []string{"acr"}})
	res := run(in)
	if res.Status != StatusFailure || res.Reason != ReasonPermissionsMissing || res.Permissions == nil || res.Permissions.Allowed || res.Identity == nil {
		t.Fatalf("%+v", res)
	}
	if len(res.Errors) != 2 || !strings.Contains(res.Errors[0].Message, "acr.list-registries needs Microsoft.ContainerRegistry/registries/read at "+pReg) ||
		!strings.Contains(res.Errors[0].Message, "assign Reader") || res.Errors[0].Code != 403 || res.ErrorSummary == nil {
		t.Fatalf("errors %+v", res.Errors)
	}
	// Reader on the subscription: everything acr needs to look.
	res = run(pInput(find("Reader", "subscription"), "", ValidateParams{Scope: pSubID, Capabilities: []string{"acr.list-registries", "acr.read-metadata"}}))
	if res.Status != StatusSuccess || res.Permissions == nil || !res.Permissions.Allowed || res.Errors != nil {
		t.Fatalf("%+v", res)
	}
	// Stored in the connector's tags; no body.
	in = pInput(find("Contributor", "resourceGroup"), "", nil)
	in.Params = nil
	in.Connector.Tags = map[string]string{TagCapabilities: "webapp,vm", TagScope: pRG}
	res = run(in)
	if res.Status != StatusSuccess || res.Permissions == nil || len(res.Permissions.Verdicts) != 5 || res.Permissions.Scope != pRG {
		t.Fatalf("%+v", res)
	}
	// Without a scope and with one visible subscription: that one, for the
	// capabilities granted there; those granted on a resource are not
	// judged at the whole subscription. Owner on the cluster is set up
	// right for it: no false PermissionsMissing telling it to assign roles
	// at the subscription, but a warning asking for the cluster's scope.
	res = run(pInput(find("Owner", "resource"), "", ValidateParams{Capabilities: []string{"aks.read", "aks.user-credentials"}}))
	if res.Status != StatusSuccess || res.Permissions == nil || res.Permissions.Scope != pSubID || res.Permissions.Allowed ||
		!slices.Equal(res.Permissions.Unscoped, []string{"aks.read", "aks.user-credentials"}) {
		t.Fatalf("%+v %+v", res, res.Permissions)
	}
	for _, v := range res.Permissions.Verdicts {
		if v.Status != permission.StatusUnknown || v.Fix != nil || !strings.Contains(strings.Join(v.Notes, " "), "give the resource's id as the scope") {
			t.Errorf("%+v", v)
		}
	}
	if len(res.Warnings) != 1 || res.Warnings[0].Reason != "PermissionsNeedScope" || !strings.Contains(res.Warnings[0].Message, "aks.read, aks.user-credentials") {
		t.Errorf("warnings %+v", res.Warnings)
	}
	// Given the cluster, the same identity passes.
	res = run(pInput(find("Owner", "resource"), "", ValidateParams{Scope: pAKS, Capabilities: []string{"aks.read", "aks.user-credentials"}}))
	if res.Status != StatusSuccess || !res.Permissions.Allowed || len(res.Warnings) != 0 {
		t.Fatalf("%+v %+v", res, res.Permissions)
	}
	// Subscription-level capabilities are still checked at the default,
	// and still fail there; the others wait for a scope.
	res = run(pInput(find("Reader", "resourceGroup"), "", ValidateParams{Capabilities: []string{"base", "aks"}}))
	if res.Status != StatusFailure || res.Reason != ReasonPermissionsMissing || !slices.Equal(res.Permissions.Unscoped, []string{"aks.read", "aks.user-credentials", "aks.deploy"}) ||
		len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Message, "resourcegroups.read") {
		t.Fatalf("%+v %+v", res, res.Permissions)
	}
	// Bad capabilities are the caller's mistake, named, even after "arm"
	// (whose capability depends on the scope) and before anything is sent
	// to Azure (this connector's secret is wrong).
	bad := pInput(find("Reader", "subscription"), "", ValidateParams{Capabilities: []string{"arm", "nope"}})
	bad.Secrets = Secrets{connector.PathSecretRef: []byte("not-the-secret")}
	for _, in := range []Input{bad, pInput(find("Reader", "subscription"), "", ValidateParams{Scope: pSubID, Capabilities: []string{"nope"}})} {
		if _, err := Validate(context.Background(), h.env, in); !failure.Is(err, failure.Invalid) || !strings.Contains(err.Error(), `"nope"`) {
			t.Fatalf("%v", err)
		}
	}
	// A connector whose tags name no valid check is still tested; its
	// permissions are not.
	in = pInput(find("Reader", "subscription"), "", nil)
	in.Params = nil
	in.Connector.Tags = map[string]string{TagCapabilities: "acr,helm"}
	if res = run(in); res.Status != StatusSuccess || res.Permissions != nil || len(res.Warnings) != 1 || res.Warnings[0].Reason != "PermissionsNotChecked" {
		t.Fatalf("%+v", res)
	}
	// A plain test stays a plain test.
	if res = run(pInput(find("Reader", "subscription"), "", nil)); res.Status != StatusSuccess || res.Permissions != nil {
		t.Fatalf("%+v", res)
	}
}

// TestWildcardRolesThroughARM: custom roles written with Azure's wildcard
// forms, created and assigned over ARM, read back through
// Microsoft.Authorization/permissions: the verdicts follow Azure's rules
// ("*" spans segments, case does not matter, NotActions and NotDataActions
// subtract within their own role and deny nothing another role grants),
// and the simulator agrees operation by operation.
func TestWildcardRolesThroughARM(t *testing.T) {
	h, ids, admin := newPermHarness(t)
	var fresh []pIdentity
	for _, id := range ids {
		if id.role == "Generated" {
			fresh = append(fresh, id)
		}
	}
	aksData := "Microsoft.ContainerService/managedClusters/"
	cases := []struct {
		name   string
		roles  []permission.RoleDefinition
		scope  string
		caps   []string
		status map[string]permission.Status
		// missing, when set, is the exact list for that capability.
		missing map[string][]string
	}{
		{
			name:  "*/read reads everything, pull included",
			roles: []permission.RoleDefinition{{Actions: []string{"*/read"}}},
			scope: pRG, caps: []string{"acr.pull", "aks.read", "aks.user-credentials"},
			status: map[string]permission.Status{"acr.pull": permission.StatusAllowed, "aks.read": permission.StatusAllowed, "aks.user-credentials": permission.StatusDenied},
		},
		{
			name:  "provider wildcard minus pull",
			roles: []permission.RoleDefinition{{Actions: []string{"Microsoft.ContainerRegistry/*"}, NotActions: []string{"Microsoft.ContainerRegistry/registries/pull/read"}}},
			scope: pReg, caps: []string{"acr.read-metadata", "acr.pull"},
			status:  map[string]permission.Status{"acr.read-metadata": permission.StatusDenied, "acr.pull": permission.StatusDenied},
			missing: map[string][]string{"acr.read-metadata": {"Microsoft.ContainerRegistry/registries/pull/read"}},
		},
		{
			name:  "mid-path wildcard, any case",
			roles: []permission.RoleDefinition{{Actions: []string{"microsoft.containerservice/MANAGEDCLUSTERS/*/action"}}},
			scope: pAKS, caps: []string{"aks.read", "aks.user-credentials", "aks.admin-credentials"},
			status: map[string]permission.Status{"aks.read": permission.StatusDenied, "aks.user-credentials": permission.StatusAllowed, "aks.admin-credentials": permission.StatusAllowed},
		},
		{
			name:  "data wildcard minus secrets",
			roles: []permission.RoleDefinition{{DataActions: []string{aksData + "*"}, NotDataActions: []string{aksData + "secrets/*"}}},
			scope: pNS, caps: []string{"aks.deploy"},
			status:  map[string]permission.Status{"aks.deploy": permission.StatusDenied},
			missing: map[string][]string{"aks.deploy": {aksData + "secrets/read", aksData + "secrets/write", aksData + "secrets/delete"}},
		},
		{
			name: "NotActions deny nothing another role grants",
			roles: []permission.RoleDefinition{
				{Actions: []string{aksData + "*"}, NotActions: []string{aksData + "listClusterAdminCredential/action"}},
				{Actions: []string{aksData + "listClusterAdminCredential/action"}},
			},
			scope: pAKS, caps: []string{"aks.admin-credentials", "aks.user-credentials"},
			status: map[string]permission.Status{"aks.admin-credentials": permission.StatusAllowed, "aks.user-credentials": permission.StatusAllowed},
		},
		{
			name:  "data actions are not actions",
			roles: []permission.RoleDefinition{{DataActions: []string{"*"}}},
			scope: pAKS, caps: []string{"aks.read", "aks.deploy"},
			status: map[string]permission.Status{"aks.read": permission.StatusDenied, "aks.deploy": permission.StatusAllowed},
		},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := fresh[i]
			for j, r := range tc.roles {
				r.Name = fmt.Sprintf("Wildcard %d.%d", i, j)
				r.IsCustom, r.AssignableScopes = true, []string{pSubID}
				for _, l := range []*[]string{&r.Actions, &r.NotActions, &r.DataActions, &r.NotDataActions} {
					if *l == nil {
						*l = []string{}
					}
				}
				h.createCustomRole(t, admin, fmt.Sprintf("8c000000-0000-4000-8000-0000000%02d%03d", i, j), r, id, []string{tc.scope})
			}
			res := h.check(t, id, tc.scope, tc.caps...)
			for _, v := range res.Verdicts {
				if want, ok := tc.status[v.Capability]; ok && v.Status != want {
					t.Errorf("%s: %s, want %s (missing %v %v)", v.Capability, v.Status, want, v.MissingActions, v.MissingDataActions)
				}
				got := append(slices.Clone(v.MissingActions), v.MissingDataActions...)
				if want, ok := tc.missing[v.Capability]; ok && !slices.Equal(got, want) {
					t.Errorf("%s: missing %v, want %v", v.Capability, got, want)
				}
				c, _ := permission.Lookup(v.Capability)
				var simMissing []string
				for _, op := range c.Operations() {
					if d, _ := h.simDenies(t, id, op, v.Scope); d {
						simMissing = append(simMissing, op.Name)
					}
				}
				if !slices.Equal(got, simMissing) {
					t.Errorf("%s: missing %v, the simulator refuses %v", v.Capability, got, simMissing)
				}
			}
		})
	}
}
