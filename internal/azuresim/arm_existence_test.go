package azuresim

import (
	"net/http"
	"testing"
)

// RBAC before existence, as ARM decides: a caller without the action at a
// scope gets 403 whether the resource group (or management group) there
// exists or not, so it learns nothing of what exists; a caller holding the
// action learns that it does not (404).
func TestRBACBeforeExistence(t *testing.T) {
	s := StartForTest(t, nil)
	sub := "/subscriptions/" + demoSub
	for name, grant := range map[string]string{"rg-reader": sub + "/resourceGroups/rg-web", "sub-reader": sub} {
		if _, _, err := s.AddApp(demoTenant, App{Name: name}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddRoleAssignment(demoTenant, name, "Reader", grant); err != nil {
			t.Fatal(err)
		}
	}
	token := func(name string) string {
		tok, _, err := s.IssueToken(demoTenant, name, "https://management.core.windows.net/")
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	rgReader, subReader := token("rg-reader"), token("sub-reader")
	mgNope := "/providers/Microsoft.Management/managementGroups/no-such-group"
	tests := []struct {
		name, path, version string
		missing             string // the 404 code a caller with access gets
	}{
		{"registries of a missing group", sub + "/resourceGroups/rg-nope/providers/Microsoft.ContainerRegistry/registries", "2023-07-01", "ResourceGroupNotFound"},
		{"clusters of a missing group", sub + "/resourceGroups/rg-nope/providers/Microsoft.ContainerService/managedClusters", "2025-02-01", "ResourceGroupNotFound"},
		{"sites of a missing group", sub + "/resourceGroups/rg-nope/providers/Microsoft.Web/sites", "2024-04-01", "ResourceGroupNotFound"},
		{"VMs of a missing group", sub + "/resourceGroups/rg-nope/providers/Microsoft.Compute/virtualMachines", "2025-04-01", "ResourceGroupNotFound"},
		{"role assignments at a missing group", sub + "/resourceGroups/rg-nope/providers/Microsoft.Authorization/roleAssignments", "2022-04-01", "ResourceGroupNotFound"},
		{"role definitions at a missing group", sub + "/resourceGroups/rg-nope/providers/Microsoft.Authorization/roleDefinitions", "2022-04-01", "ResourceGroupNotFound"},
		{"deployments at a missing group", sub + "/resourcegroups/rg-nope/providers/Microsoft.Resources/deployments", "2021-04-01", "ResourceGroupNotFound"},
		{"role assignments at a missing management group", mgNope + "/providers/Microsoft.Authorization/roleAssignments", "2022-04-01", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if status, code := armCall1(t, s, rgReader, http.MethodGet, tc.path, tc.version, nil); status != http.StatusForbidden || code != "AuthorizationFailed" {
				t.Errorf("a caller without access: %d %s, want 403 AuthorizationFailed", status, code)
			}
			if tc.missing == "" {
				return
			}
			if status, code := armCall1(t, s, subReader, http.MethodGet, tc.path, tc.version, nil); status != http.StatusNotFound || code != tc.missing {
				t.Errorf("a caller with access: %d %s, want 404 %s", status, code, tc.missing)
			}
		})
	}
	// An existing group the caller may not read answers the same 403.
	if status, code := armCall1(t, s, rgReader, http.MethodGet, sub+"/resourceGroups/rg-vms/providers/Microsoft.Authorization/roleAssignments", "2022-04-01", nil); status != http.StatusForbidden || code != "AuthorizationFailed" {
		t.Errorf("an existing group without access: %d %s", status, code)
	}
}
