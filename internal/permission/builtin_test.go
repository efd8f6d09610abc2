package permission

import (
	"slices"
	"strings"
	"testing"

	"github.com/azimuthcd/azimuth/internal/azuresim"
)

func lowerSorted(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.ToLower(s)
	}
	slices.Sort(out)
	return out
}

// TestBuiltinRolesMatchSimulator: the package's table and the simulator's
// were written separately from Azure's published definitions; they must
// agree on every role they share, and the simulator must know every role
// this package may suggest.
func TestBuiltinRolesMatchSimulator(t *testing.T) {
	sim := map[string]azuresim.RoleDefinition{}
	for _, r := range azuresim.BuiltinRoles() {
		sim[strings.ToLower(r.ID)] = r
	}
	for _, r := range BuiltinRoles() {
		s, ok := sim[strings.ToLower(r.ID)]
		if !ok {
			t.Errorf("the simulator has no %s (%s)", r.Name, r.ID)
			continue
		}
		if s.RoleName != r.Name || len(s.Permissions) != len(r.Permissions) {
			t.Errorf("%s: the simulator calls it %q with %d entries, here %d", r.ID, s.RoleName, len(s.Permissions), len(r.Permissions))
			continue
		}
		for i, p := range r.Permissions {
			sp := s.Permissions[i]
			for _, pair := range [][2][]string{{p.Actions, sp.Actions}, {p.NotActions, sp.NotActions}, {p.DataActions, sp.DataActions}, {p.NotDataActions, sp.NotDataActions}} {
				if !slices.Equal(lowerSorted(pair[0]), lowerSorted(pair[1])) {
					t.Errorf("%s entry %d: %v here, %v in the simulator", r.Name, i, pair[0], pair[1])
				}
			}
		}
	}
	for _, ref := range []string{RoleReader, "/subscriptions/" + subA + "/providers/Microsoft.Authorization/roleDefinitions/" + RoleAcrPull, "azure kubernetes service cluster user role"} {
		if _, ok := LookupBuiltin(ref); !ok {
			t.Errorf("LookupBuiltin(%q) found nothing", ref)
		}
	}
	if _, ok := LookupBuiltin("Reader and Data Access"); ok {
		t.Error("LookupBuiltin found a role the table does not hold")
	}
	r, _ := LookupBuiltin("Reader")
	r.Permissions[0].Actions[0] = "*"
	if again, _ := LookupBuiltin("Reader"); again.Permissions[0].Actions[0] != "*/read" {
		t.Fatal("LookupBuiltin returned the table's own slices")
	}
}

func TestBreadth(t *testing.T) {
	b := func(name string) int { r, _ := LookupBuiltin(name); return Breadth(r.Permissions) }
	order := []string{"AcrPull", "Azure Kubernetes Service Cluster User Role", "Reader", "Contributor", "Owner"}
	for i := 1; i < len(order); i++ {
		if b(order[i-1]) >= b(order[i]) {
			t.Errorf("Breadth(%s) = %d, not below Breadth(%s) = %d", order[i-1], b(order[i-1]), order[i], b(order[i]))
		}
	}
	if got := b("AcrPull"); got != 1 {
		t.Errorf("AcrPull grants one operation, Breadth says %d", got)
	}
	// Patterns that name operations outside the reference list still count.
	if got := Breadth([]Permission{{Actions: []string{"Microsoft.Foo/bars/read", "Microsoft.Foo/bars/write"}}}); got != 2 {
		t.Errorf("two unknown actions: Breadth %d, want 2", got)
	}
	if got := Breadth(nil); got != 0 {
		t.Errorf("Breadth(nil) = %d", got)
	}
	if got := rolesByBreadth(); got[0] != "AcrPull" || got[len(got)-1] != "Owner" {
		t.Errorf("roles by breadth: %v", got)
	}
}

func TestSmallestRole(t *testing.T) {
	a := func(names ...string) []Operation {
		var ops []Operation
		for _, n := range names {
			ops = append(ops, Operation{Name: n})
		}
		return ops
	}
	capOps := func(ids ...string) []Operation {
		var ops []Operation
		for _, id := range ids {
			ops = append(ops, byID[id].Operations()...)
		}
		return ops
	}
	tests := []struct {
		name  string
		ops   []Operation
		among []string
		want  string
	}{
		{"list registries: Reader, as Harness says", a("Microsoft.ContainerRegistry/registries/read"), nil, "Reader"},
		{"pull: AcrPull", a("Microsoft.ContainerRegistry/registries/pull/read"), nil, "AcrPull"},
		{"push", a("Microsoft.ContainerRegistry/registries/push/write"), nil, "AcrPush"},
		{"user kubeconfig", a(aksClusters + "/listClusterUserCredential/action"), nil, "Azure Kubernetes Service Cluster User Role"},
		{"admin kubeconfig", a(aksClusters + "/listClusterAdminCredential/action"), nil, "Azure Kubernetes Service Cluster Admin Role"},
		{"deploy into a namespace", capOps("aks.deploy"), nil, "Azure Kubernetes Service RBAC Writer"},
		{"deploy and fetch the kubeconfig", capOps("aks.deploy", "aks.user-credentials"), nil, "Azure Kubernetes Service RBAC Admin"},
		{"create namespaces", []Operation{{Name: aksClusters + "/namespaces/write", Data: true}}, nil, "Azure Kubernetes Service RBAC Cluster Admin"},
		{"assign blueprints", a("Microsoft.Blueprint/blueprintAssignments/write", "Microsoft.Blueprint/blueprintAssignments/whoisblueprint/action", "Microsoft.Blueprint/blueprintAssignments/read"), nil, "Blueprint Operator"},
		// Reading the blueprint and its published version too: only Owner
		// alone (chooseRoles prefers Reader with Blueprint Operator).
		{"read blueprints and assign them", capOps("blueprint.assign"), nil, "Owner"},
		{"assign roles", a("Microsoft.Authorization/roleAssignments/write"), nil, "User Access Administrator"},
		{"swap slots", capOps("webapp.swap"), nil, "Website Contributor"},
		{"read subscriptions: not an AKS RBAC role (no data access to fix a read)", a("Microsoft.Resources/subscriptions/read"), nil, "Reader"},
		{"read resource groups: not Blueprint Operator (no writes to fix a read)", a("Microsoft.Resources/subscriptions/resourceGroups/read"), nil, "Reader"},
		{"web and role assignments: only Owner", a("Microsoft.Web/sites/write", "Microsoft.Authorization/roleAssignments/write"), nil, "Owner"},
		{"ARM among the recommended roles", capOps("arm.deploy-rg"), []string{"Contributor"}, "Contributor"},
		{"unknown actions: the wildcard roles", a("Microsoft.Foo/bars/write"), nil, "Contributor"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := SmallestRole(tc.ops, tc.among)
			if !ok || got.Name != tc.want {
				t.Fatalf("SmallestRole = %+v, %v; want %s", got, ok, tc.want)
			}
			r, _ := LookupBuiltin(got.ID)
			if m := Compile(r.Permissions).Missing(tc.ops); len(m) > 0 {
				t.Fatalf("%s does not grant %v", got.Name, m)
			}
			// The simulator agrees that the role grants them.
			for _, op := range tc.ops {
				if !azuresim.Allowed(toSim(r.Permissions), op.Name, op.Data) {
					t.Fatalf("the simulator says %s does not grant %s", got.Name, op)
				}
			}
		})
	}
	if _, ok := SmallestRole([]Operation{{Name: aksClusters + "/pods/read", Data: true}}, []string{"Owner"}); ok {
		t.Error("Owner grants no data action, yet was chosen")
	}
}
