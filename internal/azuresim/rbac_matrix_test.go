package azuresim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/azimuthcd/azimuth/internal/cloud"
)

// TestRBACMatrix checks identities holding roles at scopes against ARM
// operations, each allowed (it succeeds: a 2xx, or the status the
// operation names) or refused (403 AuthorizationFailed) as Azure would
// decide. An allowed operation failing any other way (404, 409, 400) is
// an error: it would hide a refusal answered with another status.
func TestRBACMatrix(t *testing.T) {
	s := StartForTest(t, nil)
	sub := "/subscriptions/" + demoSub
	rgWeb, rgCon := sub+"/resourceGroups/rg-web", sub+"/resourceGroups/rg-containers"
	registry := rgCon + "/providers/Microsoft.ContainerRegistry/registries/democontoso"
	aksLocal := rgCon + "/providers/Microsoft.ContainerService/managedClusters/aks-local"
	aksAAD := rgCon + "/providers/Microsoft.ContainerService/managedClusters/aks-aad"
	site := rgWeb + "/providers/Microsoft.Web/sites/contoso-web"
	mg := "/providers/Microsoft.Management/managementGroups/contoso-platform"

	template := map[string]any{"properties": map[string]any{"mode": "Incremental", "template": storageTemplate(false), "parameters": map[string]any{"name": map[string]any{"value": "x"}}}}
	type op struct {
		method, path, version string
		body                  any
	}
	ops := map[string]op{
		"list RGs":          {"GET", sub + "/resourcegroups", "2021-04-01", nil},
		"list dev RGs":      {"GET", "/subscriptions/" + demoDevSub + "/resourcegroups", "2021-04-01", nil},
		"get rg-web":        {"GET", rgWeb, "2021-04-01", nil},
		"get rg-vms":        {"GET", sub + "/resourceGroups/rg-vms", "2021-04-01", nil},
		"list registries":   {"GET", sub + "/providers/Microsoft.ContainerRegistry/registries", "2023-07-01", nil},
		"get registry":      {"GET", registry, "2023-07-01", nil},
		"registry creds":    {"POST", registry + "/listCredentials", "2023-07-01", nil},
		"get aks-local":     {"GET", aksLocal, "2025-02-01", nil},
		"get aks-aad":       {"GET", aksAAD, "2025-02-01", nil},
		"user cred local":   {"POST", aksLocal + "/listClusterUserCredential", "2025-02-01", nil},
		"user cred aad":     {"POST", aksAAD + "/listClusterUserCredential", "2025-02-01", nil},
		"admin cred local":  {"POST", aksLocal + "/listClusterAdminCredential", "2025-02-01", nil},
		"get site":          {"GET", site, "2024-04-01", nil},
		"swap":              {"POST", site + "/slotsswap", "2024-04-01", map[string]any{"targetSlot": "staging", "preserveVnet": true}},
		"deploy rg-web":     {"PUT", rgWeb + "/providers/Microsoft.Resources/deployments/d1", "2021-04-01", template},
		"assign at rg-web":  {"PUT", "", "2022-04-01", nil}, // perCaller
		"blueprint on sub":  {"PUT", sub + "/providers/Microsoft.Blueprint/blueprintAssignments/bp", "2018-11-01-preview", map[string]any{"location": "eastus", "identity": map[string]any{"type": "SystemAssigned"}, "properties": map[string]any{"blueprintId": "/providers/Microsoft.Management/managementGroups/contoso-platform/providers/Microsoft.Blueprint/blueprints/b/versions/1"}}},
		"list VMs":          {"GET", sub + "/providers/Microsoft.Compute/virtualMachines", "2025-04-01", nil},
		"get NIC":           {"GET", sub + "/resourceGroups/rg-vms/providers/Microsoft.Network/networkInterfaces/vm-web-01-nic", "2025-01-01", nil},
		"list role assigns": {"GET", rgWeb + "/providers/Microsoft.Authorization/roleAssignments", "2022-04-01", nil},
	}
	// perCaller builds the path and body of an operation for the caller
	// (its object id): one that creates something must not collide with
	// what an earlier case created. Here: a new assignment of Reader to
	// the caller itself.
	perCaller := map[string]func(objectID string) (string, any){
		"assign at rg-web": func(oid string) (string, any) {
			return rgWeb + "/providers/Microsoft.Authorization/roleAssignments/" + newGUID(),
				map[string]any{"properties": map[string]any{"roleDefinitionId": sub + "/providers/Microsoft.Authorization/roleDefinitions/" + RoleReader, "principalId": oid}}
		},
	}
	// success is the status an allowed operation must answer, where one
	// is specific; the others must answer a 2xx.
	success := map[string]int{"assign at rg-web": http.StatusCreated}
	customRole, err := s.AddCustomRole(demoTenant, RoleDefinition{RoleName: "Registry Reader", Permissions: []Permission{{
		Actions: []string{"Microsoft.Resources/subscriptions/resourceGroups/read", "Microsoft.ContainerRegistry/*/read"}}}})
	if err != nil {
		t.Fatal(err)
	}
	type grant struct{ role, scope string }
	tests := []struct {
		name    string
		grants  []grant
		allowed []string
		denied  []string
	}{
		{"Reader on the subscription", []grant{{"Reader", sub}},
			[]string{"list RGs", "get rg-web", "list registries", "get registry", "get aks-local", "get site", "list VMs", "get NIC", "list role assigns"},
			[]string{"registry creds", "user cred local", "admin cred local", "swap", "deploy rg-web", "assign at rg-web", "blueprint on sub", "list dev RGs"}},
		// Subscription-wide lists are filtered, not refused: Reader on a
		// group sees its (here no) registries and VMs (TestListFiltering
		// checks the items).
		{"Reader on one resource group", []grant{{"Reader", rgWeb}},
			[]string{"list RGs", "get rg-web", "get site", "list registries", "list VMs"},
			[]string{"get rg-vms", "get registry"}},
		{"Contributor on rg-containers", []grant{{"Contributor", rgCon}},
			[]string{"registry creds", "user cred local", "admin cred local", "get registry", "list registries"},
			[]string{"deploy rg-web", "get rg-web"}},
		{"Owner on rg-web", []grant{{"Owner", rgWeb}},
			[]string{"assign at rg-web", "deploy rg-web", "swap"},
			[]string{"get registry", "blueprint on sub"}},
		{"User Access Administrator on the subscription", []grant{{"User Access Administrator", sub}},
			[]string{"assign at rg-web", "list RGs"},
			[]string{"deploy rg-web", "swap", "registry creds"}},
		{"AcrPull on the registry", []grant{{"AcrPull", registry}},
			nil,
			[]string{"get registry", "list registries", "list RGs", "registry creds"}},
		{"AKS Cluster User on aks-local", []grant{{"Azure Kubernetes Service Cluster User Role", aksLocal}},
			[]string{"user cred local", "get aks-local"},
			[]string{"admin cred local", "user cred aad", "get aks-aad", "list RGs"}},
		{"AKS Cluster Admin on aks-local", []grant{{"Azure Kubernetes Service Cluster Admin Role", aksLocal}},
			[]string{"admin cred local", "get aks-local"},
			[]string{"user cred local"}},
		{"AKS RBAC Reader on aks-aad (data actions only)", []grant{{"Azure Kubernetes Service RBAC Reader", aksAAD}},
			nil,
			[]string{"get aks-aad", "user cred aad"}},
		{"AKS RBAC Cluster Admin on aks-aad", []grant{{"Azure Kubernetes Service RBAC Cluster Admin", aksAAD}},
			[]string{"user cred aad"},
			[]string{"get aks-aad", "admin cred local"}},
		{"Website Contributor on rg-web", []grant{{"Website Contributor", rgWeb}},
			[]string{"swap", "get site", "deploy rg-web", "get rg-web", "list role assigns"},
			[]string{"get registry", "assign at rg-web", "list VMs"}},
		{"Contributor on the management group", []grant{{"Contributor", mg}},
			[]string{"list RGs", "deploy rg-web", "registry creds"},
			[]string{"list dev RGs", "assign at rg-web", "blueprint on sub"}},
		{"Reader at the root", []grant{{"Reader", "/"}},
			[]string{"list RGs", "list dev RGs", "get registry"},
			[]string{"deploy rg-web"}},
		{"Owner on the subscription", []grant{{"Owner", sub}},
			[]string{"blueprint on sub", "assign at rg-web", "registry creds", "admin cred local"},
			[]string{"list dev RGs"}},
		{"custom role with a mid-path wildcard", []grant{{customRole, sub}},
			[]string{"get registry", "list registries", "list RGs"},
			[]string{"registry creds", "get site", "get aks-local"}},
		{"two roles add up", []grant{{"Reader", rgWeb}, {"AcrPush", registry}},
			[]string{"get rg-web"},
			[]string{"get registry"}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name := fmt.Sprintf("matrix-%d", i)
			_, objectID, err := s.AddApp(demoTenant, App{Name: name})
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range tc.grants {
				if _, err := s.AddRoleAssignment(demoTenant, name, g.role, g.scope); err != nil {
					t.Fatal(err)
				}
			}
			token, _, err := s.IssueToken(demoTenant, name, "https://management.core.windows.net/")
			if err != nil {
				t.Fatal(err)
			}
			check := func(opName string, want bool) {
				o, ok := ops[opName]
				if !ok {
					t.Fatalf("no operation %q", opName)
				}
				path, body := o.path, o.body
				if f := perCaller[opName]; f != nil {
					path, body = f(objectID)
				}
				status, code := armCall1(t, s, token, o.method, path, o.version, body)
				switch {
				case !want && (status != http.StatusForbidden || code != "AuthorizationFailed"):
					t.Errorf("%s: got %d %s, want 403 AuthorizationFailed", opName, status, code)
				case want && success[opName] != 0 && status != success[opName]:
					t.Errorf("%s: got %d %s, want allowed: %d", opName, status, code, success[opName])
				case want && (status < 200 || status > 299):
					t.Errorf("%s: got %d %s, want allowed: a 2xx", opName, status, code)
				}
			}
			for _, o := range tc.allowed {
				check(o, true)
			}
			for _, o := range tc.denied {
				check(o, false)
			}
		})
	}
	// The data-plane decision the ACR file makes: AcrPull grants pull.
	if !s.CheckAccess(demoTenant, "40000000-0000-4000-8000-000000000005", "Microsoft.ContainerRegistry/registries/pull/read", registry, false) {
		t.Fatal("AcrPull must grant pull on its registry")
	}
	if !s.CheckAccess(demoTenant, "40000000-0000-4000-8000-000000000006", "Microsoft.ContainerService/managedClusters/pods/read", aksAAD+"/namespaces/default", true) {
		t.Fatal("RBAC Cluster Admin on aks-aad must grant the pods data action in its namespaces")
	}
}

func armCall1(t *testing.T, s *Sim, token, method, path, version string, body any) (int, string) {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, s.Endpoints(cloud.Public).ResourceManager+path+"?api-version="+version, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&e)
	return resp.StatusCode, e.Error.Code
}
