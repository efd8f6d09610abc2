package permission

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/azimuthcd/azimuth/internal/azuresim"
	"github.com/azimuthcd/azimuth/internal/failure"
)

// grantedByBuiltinNotBareStar reports the simulator's built-in role that
// grants op through a pattern other than the bare "*" (so a typo in a name
// cannot hide behind Owner's or Contributor's wildcard), or "".
func grantedByBuiltinNotBareStar(op Operation) string {
	for _, r := range azuresim.BuiltinRoles() {
		for _, p := range r.Permissions {
			allow, deny := p.Actions, p.NotActions
			if op.Data {
				allow, deny = p.DataActions, p.NotDataActions
			}
			for _, pat := range allow {
				if pat != "*" && azuresim.ActionMatches(pat, op.Name) && !slices.ContainsFunc(deny, func(d string) bool { return azuresim.ActionMatches(d, op.Name) }) {
					return r.RoleName + " (" + pat + ")"
				}
			}
		}
	}
	return ""
}

func inReference(op Operation) bool {
	for _, r := range ReferenceOperations() {
		if r.Data == op.Data && strings.EqualFold(r.Name, op.Name) {
			return true
		}
	}
	return false
}

// TestCatalogueNamesAreReal: every action and data action of the catalogue
// is granted by one of Azure's built-in roles (as the simulator defines
// them) through an entry other than the bare "*", and is listed verbatim
// in the reference operations transcribed from Azure's operations pages.
func TestCatalogueNamesAreReal(t *testing.T) {
	n := 0
	for _, c := range Catalogue() {
		for _, op := range c.Operations() {
			n++
			if by := grantedByBuiltinNotBareStar(op); by == "" {
				t.Errorf("%s: %s is granted by no built-in role other than through \"*\": is it a real name?", c.ID, op)
			}
			if !inReference(op) {
				t.Errorf("%s: %s is not in the reference operations", c.ID, op)
			}
		}
	}
	if n < 60 {
		t.Fatalf("only %d operations checked", n)
	}
	// The check catches typos: the seed's wrong name, and near misses.
	for _, bad := range []Operation{
		{Name: "Microsoft.Resource/subscriptions/resourceGroup/read"},
		{Name: "Microsoft.ContainerRegistry/registry/pull/read"},
		{Name: "Microsoft.ContainerService/managedClusters/listClusterUserCredentials/action"},
		{Name: "Microsoft.ContainerService/managedClusters/pod/read", Data: true},
	} {
		if inReference(bad) {
			t.Errorf("%s is in the reference operations", bad)
		}
	}
	// The role check alone misses a typo under a role's wildcard
	// (managedClusters/* grants any name below it): hence the reference list.
	if by := grantedByBuiltinNotBareStar(Operation{Name: "Microsoft.Web/site/slotsswap/action"}); by != "" {
		t.Errorf("a misspelt action is granted by %s", by)
	}
}

// TestCatalogueCoversSimulatorRoutes: the actions the simulator (like ARM)
// authorises each operation with are part of the capability that performs
// it.
func TestCatalogueCoversSimulatorRoutes(t *testing.T) {
	routes := map[string][]string{
		"subscriptions.read":          {"Microsoft.Resources/subscriptions/read"},
		"resourcegroups.read":         {"Microsoft.Resources/subscriptions/resourceGroups/read"},
		"acr.list-registries":         {"Microsoft.ContainerRegistry/registries/read"},
		"acr.read-metadata":           {"Microsoft.ContainerRegistry/registries/read"},
		"aks.read":                    {"Microsoft.ContainerService/managedClusters/read"},
		"aks.user-credentials":        {"Microsoft.ContainerService/managedClusters/listClusterUserCredential/action"},
		"aks.admin-credentials":       {"Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action"},
		"webapp.read":                 {"Microsoft.Web/sites/read", "Microsoft.Web/sites/slots/read"},
		"webapp.swap":                 {"Microsoft.Web/sites/read", "Microsoft.Web/sites/slots/read", "Microsoft.Web/sites/slotsswap/action", "Microsoft.Web/sites/slots/slotsswap/action"},
		"vm.read":                     {"Microsoft.Compute/virtualMachines/read", "Microsoft.Network/networkInterfaces/read", "Microsoft.Network/publicIPAddresses/read"},
		"arm.deploy-rg":               {"Microsoft.Resources/deployments/read", "Microsoft.Resources/deployments/write", "Microsoft.Resources/deployments/validate/action", "Microsoft.Resources/deployments/whatIf/action"},
		"arm.deploy-subscription":     {"Microsoft.Resources/deployments/read", "Microsoft.Resources/deployments/write", "Microsoft.Resources/deployments/validate/action", "Microsoft.Resources/deployments/whatIf/action"},
		"arm.deploy-management-group": {"Microsoft.Resources/deployments/read", "Microsoft.Resources/deployments/write"},
		"arm.deploy-tenant":           {"Microsoft.Resources/deployments/read", "Microsoft.Resources/deployments/write"},
		"blueprint.assign":            {"Microsoft.Blueprint/blueprintAssignments/read", "Microsoft.Blueprint/blueprintAssignments/write"},
	}
	for id, actions := range routes {
		c, ok := Lookup(id)
		if !ok {
			t.Errorf("no capability %s", id)
			continue
		}
		for _, a := range actions {
			if !slices.ContainsFunc(c.Actions, func(x string) bool { return strings.EqualFold(x, a) }) {
				t.Errorf("%s does not list %s", id, a)
			}
		}
	}
}

func TestCatalogueShape(t *testing.T) {
	idRE := regexp.MustCompile(`^[a-z]+(\.[a-z-]+)$`)
	seen := map[string]bool{}
	for _, c := range Catalogue() {
		if !idRE.MatchString(c.ID) || seen[c.ID] {
			t.Errorf("bad or duplicate id %q", c.ID)
		}
		seen[c.ID] = true
		if c.Description == "" || c.LevelReason == "" || c.Level == 0 {
			t.Errorf("%s: description, level and level reason are required", c.ID)
		}
		if len(c.Actions)+len(c.DataActions) == 0 {
			t.Errorf("%s needs no permission", c.ID)
		}
		if (c.Level == LevelResource) != (c.ResourceType != "") {
			t.Errorf("%s: a resource type goes with the resource level", c.ID)
		}
		if len(c.Roles) == 0 {
			t.Errorf("%s names no role", c.ID)
		}
		for _, r := range c.Roles {
			if _, ok := LookupBuiltin(r); !ok {
				t.Errorf("%s names %q, which is no known built-in role", c.ID, r)
			}
		}
		for _, cf := range c.confusions {
			if _, ok := LookupBuiltin(cf.role); !ok {
				t.Errorf("%s: confusion with unknown role %q", c.ID, cf.role)
			}
		}
		for _, lists := range [][]string{c.Actions, c.DataActions} {
			for i, a := range lists {
				if slices.ContainsFunc(lists[:i], func(b string) bool { return strings.EqualFold(a, b) }) || strings.Contains(a, "*") {
					t.Errorf("%s: %q is repeated or a wildcard", c.ID, a)
				}
			}
		}
	}
	for alias, ids := range Aliases() {
		for _, id := range ids {
			if _, ok := Lookup(id); !ok {
				t.Errorf("alias %s names unknown %s", alias, id)
			}
		}
	}
	// Copies: changing what Catalogue returns changes nothing.
	cs := Catalogue()
	cs[0].Actions[0] = "changed"
	if Catalogue()[0].Actions[0] == "changed" {
		t.Fatal("Catalogue returned the package's own slices")
	}
	// The seed's notes are carried: AcrPull is not enough for ACR. The
	// registry is found in a list ARM filters, so a grant covering the
	// registry is enough.
	if c, _ := Lookup("acr.list-registries"); c.Level != LevelResource || c.ResourceType != acrRegistries || !slices.Contains(c.Roles, "Reader") ||
		!slices.ContainsFunc(c.confusions, func(cf confusion) bool { return cf.kind == MistakeAcrPullInsteadOfReader }) {
		t.Fatalf("acr.list-registries: %+v", c)
	}
}

func TestResolve(t *testing.T) {
	sub, rg, reg := MustParseScope(subAID), MustParseScope(rgA), MustParseScope(regA)
	tests := []struct {
		names []string
		scope Scope
		want  []string
	}{
		{[]string{"acr"}, sub, []string{"acr.list-registries", "acr.read-metadata", "acr.pull"}},
		{[]string{"ACR.pull", " acr.pull "}, sub, []string{"acr.pull"}},
		{[]string{"aks,vm"}, rg, []string{"aks.read", "aks.user-credentials", "aks.deploy", "vm.read"}},
		{[]string{"vm", "base"}, rg, []string{"subscriptions.read", "resourcegroups.read", "vm.read"}},
		{[]string{"arm"}, rg, []string{"arm.deploy-rg"}},
		{[]string{"arm"}, reg, []string{"arm.deploy-rg"}},
		{[]string{"arm"}, sub, []string{"arm.deploy-subscription"}},
		{[]string{"arm"}, MustParseScope(mgA), []string{"arm.deploy-management-group"}},
		{[]string{"arm"}, TenantScope(), []string{"arm.deploy-tenant"}},
		{[]string{"blueprint", "webapp"}, sub, []string{"webapp.read", "webapp.deploy", "webapp.swap", "webapp.traffic", "blueprint.assign"}},
	}
	for _, tc := range tests {
		got, err := Resolve(tc.names, tc.scope)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("Resolve(%q, %s) = %v, %v; want %v", tc.names, tc.scope, got, err, tc.want)
		}
	}
	for _, bad := range [][]string{{"acr", "nope"}, {""}, nil, {" , "}} {
		_, err := Resolve(bad, sub)
		if !failure.Is(err, failure.Invalid) || !strings.Contains(err.Error(), "acr.list-registries") {
			t.Errorf("Resolve(%q) = %v, want an Invalid error listing the known names", bad, err)
		}
	}
	if _, err := Resolve([]string{"arm"}, Scope{}); !failure.Is(err, failure.Invalid) {
		t.Errorf("arm without a scope: %v", err)
	}
}

func TestGrantScope(t *testing.T) {
	tests := []struct {
		cap, target, want string
		note              bool
	}{
		// Harness finds the registry in the subscription's list, which ARM
		// filters: a grant on the registry, or above it, finds it.
		{"acr.list-registries", regA, regA, false},
		{"acr.list-registries", rgA, rgA, false},
		{"acr.list-registries", subAID, subAID, false},
		{"acr.list-registries", aksA, rgA, true},
		{"acr.list-registries", mgA, mgA, false},
		{"acr.pull", regA, regA, false},
		{"acr.pull", rgA, rgA, false},
		{"acr.pull", aksA, rgA, true},
		{"aks.user-credentials", nsA, aksA, false},
		{"aks.deploy", nsA, nsA, false},
		{"aks.deploy", aksA, aksA, false},
		{"webapp.swap", slotA, siteA, false},
		{"webapp.read", slotA, rgA, false},
		{"vm.read", subAID, subAID, false},
		{"arm.deploy-rg", regA, rgA, false},
		{"arm.deploy-tenant", rgA, "/", false},
		{"arm.deploy-management-group", mgA, mgA, false},
		{"arm.deploy-management-group", "/", "/", false},
		{"blueprint.assign", rgA, subAID, false},
	}
	for _, tc := range tests {
		c := byID[tc.cap]
		got, note, err := c.GrantScope(MustParseScope(tc.target))
		if err != nil || got.String() != tc.want || (note != "") != tc.note {
			t.Errorf("%s at %s = %s (note %q), %v; want %s (note %v)", tc.cap, tc.target, got, note, err, tc.want, tc.note)
		}
	}
	if _, _, err := byID["arm.deploy-management-group"].GrantScope(MustParseScope(subAID)); !failure.Is(err, failure.Invalid) {
		t.Errorf("a management-group deployment checked at a subscription: %v", err)
	}
}
