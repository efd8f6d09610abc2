package azuresim

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestActionMatches(t *testing.T) {
	tests := []struct {
		pattern, action string
		want            bool
	}{
		{"*", "Microsoft.Web/sites/read", true},
		{"*/read", "Microsoft.Web/sites/read", true},
		{"*/read", "Microsoft.Web/sites/write", false},
		{"*/read", "Microsoft.ContainerRegistry/registries/pull/read", true},
		{"Microsoft.Web/*", "Microsoft.Web/sites/slots/slotsswap/action", true},
		{"Microsoft.Web/*", "Microsoft.WebX/sites/read", false},
		{"Microsoft.Web/sites/*", "Microsoft.Web/serverFarms/read", false},
		{"Microsoft.Authorization/*/Write", "Microsoft.Authorization/roleAssignments/write", true},
		{"Microsoft.Authorization/*/Write", "Microsoft.Authorization/roleAssignments/read", false},
		{"Microsoft.Authorization/*/Write", "Microsoft.Authorization/locks/nested/write", true},
		{"Microsoft.Authorization/*/read", "Microsoft.Authorization/permissions/read", true},
		{"microsoft.resources/subscriptions/resourcegroups/read", "Microsoft.Resources/subscriptions/resourceGroups/read", true},
		{"Microsoft.Resources/subscriptions/read", "Microsoft.Resources/subscriptions/resourceGroups/read", false},
		{"Microsoft.ContainerService/managedClusters/*", "Microsoft.ContainerService/managedClusters/pods/read", true},
		{"Microsoft.ContainerService/managedClusters/listClusterUserCredential/action", "Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action", false},
		{"", "Microsoft.Web/sites/read", false},
		{"*a*b*c", "xxaxxbxxc", true},
		{"*a*b*c", "xxaxxcxxb", false},
		// Regular-expression characters in a pattern are literal.
		{"Microsoft.Web/sites/read", "MicrosoftXWeb/sites/read", false},
		{"a.b(c)+[d]?$^|{1}", "A.B(C)+[D]?$^|{1}", true},
		{"a\\b", "a\\b", true},
		{"**", "", true},
		{"*x", "a\nx", true},
	}
	for _, tc := range tests {
		if got := ActionMatches(tc.pattern, tc.action); got != tc.want {
			t.Errorf("ActionMatches(%q, %q) = %v, want %v", tc.pattern, tc.action, got, tc.want)
		}
	}
	// The compiled patterns are cached, and the cache stays bounded.
	for i := range 3 * maxActionRegexps {
		p := fmt.Sprintf("Microsoft.P%d/*/read", i)
		if !ActionMatches(p, fmt.Sprintf("microsoft.p%d/x/y/READ", i)) || ActionMatches(p, fmt.Sprintf("Microsoft.P%d/x/write", i)) {
			t.Fatalf("pattern %q", p)
		}
	}
	if n := actionRegexpsN.Load(); n < 1 || n > maxActionRegexps {
		t.Fatalf("%d patterns cached", n)
	}
}

func TestAllowed(t *testing.T) {
	role := func(name string) []Permission { return builtinRole(name).Permissions }
	combine := func(names ...string) []Permission {
		var out []Permission
		for _, n := range names {
			out = append(out, role(n)...)
		}
		return out
	}
	tests := []struct {
		name   string
		perms  []Permission
		action string
		data   bool
		want   bool
	}{
		{"reader reads", role("Reader"), "Microsoft.ContainerRegistry/registries/read", false, true},
		{"reader cannot write", role("Reader"), "Microsoft.Resources/deployments/write", false, false},
		{"reader cannot list credentials", role("Reader"), "Microsoft.ContainerService/managedClusters/listClusterUserCredential/action", false, false},
		{"contributor deploys", role("Contributor"), "Microsoft.Resources/deployments/write", false, true},
		{"contributor cannot assign roles", role("Contributor"), "Microsoft.Authorization/roleAssignments/write", false, false},
		{"contributor cannot write blueprint assignments", role("Contributor"), "Microsoft.Blueprint/blueprintAssignments/write", false, false},
		{"contributor reads role assignments", role("Contributor"), "Microsoft.Authorization/roleAssignments/read", false, true},
		{"owner assigns roles", role("Owner"), "Microsoft.Authorization/roleAssignments/write", false, true},
		{"owner has no data actions", role("Owner"), "Microsoft.ContainerService/managedClusters/pods/read", true, false},
		{"UAA assigns roles", role("User Access Administrator"), "Microsoft.Authorization/roleAssignments/write", false, true},
		{"UAA cannot deploy", role("User Access Administrator"), "Microsoft.Resources/deployments/write", false, false},
		{"acrpull pulls", role("AcrPull"), "Microsoft.ContainerRegistry/registries/pull/read", false, true},
		{"acrpull cannot read the registry", role("AcrPull"), "Microsoft.ContainerRegistry/registries/read", false, false},
		{"acrpush pushes", role("AcrPush"), "Microsoft.ContainerRegistry/registries/push/write", false, true},
		{"aks user lists user credential", role("Azure Kubernetes Service Cluster User Role"), "Microsoft.ContainerService/managedClusters/listClusterUserCredential/action", false, true},
		{"aks user cannot list admin credential", role("Azure Kubernetes Service Cluster User Role"), "Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action", false, false},
		{"aks admin lists admin credential", role("Azure Kubernetes Service Cluster Admin Role"), "Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action", false, true},
		{"rbac reader reads pods", role("Azure Kubernetes Service RBAC Reader"), "Microsoft.ContainerService/managedClusters/pods/read", true, true},
		{"rbac reader cannot read secrets", role("Azure Kubernetes Service RBAC Reader"), "Microsoft.ContainerService/managedClusters/secrets/read", true, false},
		{"rbac reader pods read is not a control action", role("Azure Kubernetes Service RBAC Reader"), "Microsoft.ContainerService/managedClusters/pods/read", false, false},
		{"rbac writer writes configmaps", role("Azure Kubernetes Service RBAC Writer"), "Microsoft.ContainerService/managedClusters/configmaps/write", true, true},
		{"rbac writer cannot write roles", role("Azure Kubernetes Service RBAC Writer"), "Microsoft.ContainerService/managedClusters/rbac.authorization.k8s.io/roles/write", true, false},
		{"rbac admin cannot write namespaces", role("Azure Kubernetes Service RBAC Admin"), "Microsoft.ContainerService/managedClusters/namespaces/write", true, false},
		{"rbac admin writes roles", role("Azure Kubernetes Service RBAC Admin"), "Microsoft.ContainerService/managedClusters/rbac.authorization.k8s.io/roles/write", true, true},
		{"rbac cluster admin writes namespaces", role("Azure Kubernetes Service RBAC Cluster Admin"), "Microsoft.ContainerService/managedClusters/namespaces/write", true, true},
		{"website contributor swaps", role("Website Contributor"), "Microsoft.Web/sites/slots/slotsswap/action", false, true},
		{"website contributor cannot read VMs", role("Website Contributor"), "Microsoft.Compute/virtualMachines/read", false, false},
		{"notActions do not deny another role's grant", combine("Contributor", "User Access Administrator"), "Microsoft.Authorization/roleAssignments/write", false, true},
		{"nothing grants nothing", nil, "Microsoft.Web/sites/read", false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Allowed(tc.perms, tc.action, tc.data); got != tc.want {
				t.Fatalf("Allowed(%q, data=%v) = %v, want %v", tc.action, tc.data, got, tc.want)
			}
		})
	}
}

func TestScopeCovers(t *testing.T) {
	w, err := DemoWorld()
	if err != nil {
		t.Fatal(err)
	}
	if err := w.prepare(time.Now()); err != nil {
		t.Fatal(err)
	}
	ten := w.Tenants[0]
	sub := "/subscriptions/" + demoSub
	rg := sub + "/resourceGroups/rg-web"
	site := rg + "/providers/Microsoft.Web/sites/contoso-web"
	tests := []struct {
		a, t string
		want bool
	}{
		{"/", site, true},
		{sub, site, true},
		{sub, "/subscriptions/" + demoDevSub, false},
		{strings.ToUpper(rg), site, true},
		{site, site + "/slots/staging", true},
		{site + "/slots/staging", site, false},
		{rg, sub + "/resourceGroups/rg-web2", false},
		{"/providers/Microsoft.Management/managementGroups/contoso-platform", site, true},
		{"/providers/Microsoft.Management/managementGroups/contoso-platform", "/subscriptions/" + demoDevSub, false},
		{"/providers/Microsoft.Management/managementGroups/" + demoTenant, "/subscriptions/" + demoDevSub, true},
		{"/providers/Microsoft.Management/managementGroups/" + demoTenant, "/providers/Microsoft.Management/managementGroups/contoso-platform", true},
	}
	for _, tc := range tests {
		if got := scopeCovers(tc.a, tc.t, ten.mgAncestors); got != tc.want {
			t.Errorf("scopeCovers(%q, %q) = %v, want %v", tc.a, tc.t, got, tc.want)
		}
	}
}

func TestBlueprintAndAKSContributorRoles(t *testing.T) {
	role := func(name string) []Permission { return builtinRole(name).Permissions }
	tests := []struct {
		role, action string
		want         bool
	}{
		{"Blueprint Operator", "Microsoft.Blueprint/blueprintAssignments/write", true},
		{"Blueprint Operator", "Microsoft.Blueprint/blueprints/write", false},
		{"Blueprint Contributor", "Microsoft.Blueprint/blueprints/versions/write", true},
		{"Blueprint Contributor", "Microsoft.Blueprint/blueprintAssignments/write", false},
		{"Azure Kubernetes Service Contributor Role", "Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action", true},
		{"Azure Kubernetes Service Contributor Role", "Microsoft.ContainerRegistry/registries/read", false},
	}
	for _, tc := range tests {
		if got := Allowed(role(tc.role), tc.action, false); got != tc.want {
			t.Errorf("%s grants %s = %v, want %v", tc.role, tc.action, got, tc.want)
		}
	}
}
