package permission

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/azimuthcd/azimuth/internal/azuresim"
)

// The examples of Azure's "Understand Azure role definitions" page
// (learn.microsoft.com/azure/role-based-access-control/role-definitions):
// its action-string table, its Actions-minus-NotActions tables, the
// Contributor and Storage Blob Data roles, and the note that NotActions is
// not a deny.
func TestWildcardsFromAzureDocs(t *testing.T) {
	tests := []struct {
		pattern, action string
		want            bool
	}{
		// "*" grants everything; "*/read" every read of every provider.
		{"*", "Microsoft.Web/sites/read", true},
		{"*", "Microsoft.Authorization/roleAssignments/write", true},
		{"*/read", "Microsoft.Compute/virtualMachines/read", true},
		{"*/read", "Microsoft.ContainerRegistry/registries/pull/read", true},
		{"*/read", "Microsoft.Compute/virtualMachines/write", false},
		{"*/read", "Microsoft.Compute/virtualMachines/readonly", false},
		// "Microsoft.Compute/*": every action of the provider, nothing of another.
		{"Microsoft.Compute/*", "Microsoft.Compute/virtualMachines/start/action", true},
		{"Microsoft.Compute/*", "Microsoft.ComputeSchedule/read", false},
		{"Microsoft.Compute/*", "Microsoft.Network/networkInterfaces/read", false},
		// "Microsoft.Network/*/read": reads of one provider, at any depth.
		{"Microsoft.Network/*/read", "Microsoft.Network/networkInterfaces/read", true},
		{"Microsoft.Network/*/read", "Microsoft.Network/virtualNetworks/subnets/read", true},
		{"Microsoft.Network/*/read", "Microsoft.Network/networkInterfaces/write", false},
		// "Microsoft.Compute/virtualMachines/*": the type and its children.
		{"Microsoft.Compute/virtualMachines/*", "Microsoft.Compute/virtualMachines/extensions/read", true},
		{"Microsoft.Compute/virtualMachines/*", "Microsoft.Compute/virtualMachineScaleSets/read", false},
		// "microsoft.web/sites/restart/Action": case does not matter.
		{"microsoft.web/sites/restart/Action", "Microsoft.Web/sites/restart/action", true},
		{"MICROSOFT.WEB/SITES/RESTART/ACTION", "microsoft.web/sites/restart/action", true},
		// Mid-path wildcards of Contributor's NotActions.
		{"Microsoft.Authorization/*/Write", "Microsoft.Authorization/roleAssignments/write", true},
		{"Microsoft.Authorization/*/Write", "Microsoft.Authorization/policyAssignments/privateLinkAssociations/write", true},
		{"Microsoft.Authorization/*/Write", "Microsoft.Authorization/roleAssignments/read", false},
		{"Microsoft.Authorization/*/Delete", "Microsoft.Authorization/locks/delete", true},
		// Several wildcards in one string: "all query permissions".
		{"Microsoft.CostManagement/*/query/*", "Microsoft.CostManagement/externalSubscriptions/query/action", true},
		{"Microsoft.CostManagement/*/query/*", "Microsoft.CostManagement/exports/read", false},
		// A literal matches only itself.
		{"Microsoft.ContainerService/managedClusters/listClusterUserCredential/action", "Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action", false},
		{"Microsoft.Resources/subscriptions/read", "Microsoft.Resources/subscriptions/resourceGroups/read", false},
		{"", "Microsoft.Web/sites/read", false},
		{"Microsoft.Web/sites/read", "", false},
	}
	for _, tc := range tests {
		if got := ActionMatches(tc.pattern, tc.action); got != tc.want {
			t.Errorf("ActionMatches(%q, %q) = %v, want %v", tc.pattern, tc.action, got, tc.want)
		}
		if got := azuresim.ActionMatches(tc.pattern, tc.action); got != tc.want {
			t.Errorf("the simulator disagrees: ActionMatches(%q, %q) = %v, want %v", tc.pattern, tc.action, got, tc.want)
		}
	}
}

func TestActionsMinusNotActionsFromAzureDocs(t *testing.T) {
	exports := []string{
		"Microsoft.CostManagement/exports/action",
		"Microsoft.CostManagement/exports/read",
		"Microsoft.CostManagement/exports/write",
		"Microsoft.CostManagement/exports/delete",
		"Microsoft.CostManagement/exports/run/action",
	}
	all := []Permission{{Actions: []string{"Microsoft.CostManagement/exports/*"}}}
	noDelete := []Permission{{Actions: []string{"Microsoft.CostManagement/exports/*"}, NotActions: []string{"Microsoft.CostManagement/exports/delete"}}}
	for _, a := range exports {
		op := Operation{Name: a}
		if !Allowed(all, op) {
			t.Errorf("exports/* should grant %s", a)
		}
		if want := !strings.HasSuffix(a, "/delete"); Allowed(noDelete, op) != want {
			t.Errorf("exports/* minus exports/delete grants %s = %v, want %v", a, !want, want)
		}
	}

	messages := []string{"read", "write", "delete", "add/action", "process/action"}
	q := "Microsoft.Storage/storageAccounts/queueServices/queues/messages/"
	noDeleteData := []Permission{{DataActions: []string{q + "*"}, NotDataActions: []string{q + "delete"}}}
	for _, m := range messages {
		op := Operation{Name: q + m, Data: true}
		if want := m != "delete"; Allowed(noDeleteData, op) != want {
			t.Errorf("messages/* minus messages/delete grants %s = %v, want %v", m, !want, want)
		}
		if Allowed(noDeleteData, Operation{Name: q + m}) {
			t.Errorf("a data action pattern granted the control-plane action %s", q+m)
		}
	}
}

func TestRolesFromAzureDocs(t *testing.T) {
	role := func(name string) []Permission {
		r, ok := LookupBuiltin(name)
		if !ok {
			t.Fatalf("no built-in role %q", name)
		}
		return r.Permissions
	}
	blobReader := []Permission{{
		Actions:     []string{"Microsoft.Storage/storageAccounts/blobServices/containers/read", "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action"},
		DataActions: []string{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"},
	}}
	blob := "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"
	tests := []struct {
		name  string
		perms []Permission
		op    Operation
		want  bool
	}{
		{"contributor manages everything", role("Contributor"), Operation{Name: "Microsoft.Compute/virtualMachines/write"}, true},
		{"contributor cannot assign roles", role("Contributor"), Operation{Name: "Microsoft.Authorization/roleAssignments/write"}, false},
		{"contributor cannot delete locks", role("Contributor"), Operation{Name: "Microsoft.Authorization/locks/delete"}, false},
		{"contributor cannot elevate", role("Contributor"), Operation{Name: "Microsoft.Authorization/elevateAccess/action"}, false},
		{"contributor reads role assignments", role("Contributor"), Operation{Name: "Microsoft.Authorization/roleAssignments/read"}, true},
		{"contributor cannot assign blueprints", role("Contributor"), Operation{Name: "Microsoft.Blueprint/blueprintAssignments/write"}, false},
		{"contributor reads blueprint assignments", role("Contributor"), Operation{Name: "Microsoft.Blueprint/blueprintAssignments/read"}, true},
		{"contributor writes blueprints", role("Contributor"), Operation{Name: "Microsoft.Blueprint/blueprints/write"}, true},
		// Alice is Owner: all control-plane actions, no blob data.
		{"owner reads containers", role("Owner"), Operation{Name: "Microsoft.Storage/storageAccounts/blobServices/containers/read"}, true},
		{"owner cannot read blobs", role("Owner"), Operation{Name: blob, Data: true}, false},
		{"blob reader reads blobs", blobReader, Operation{Name: blob, Data: true}, true},
		{"a data action is not an action", blobReader, Operation{Name: blob}, false},
		{"reader reads everything", role("Reader"), Operation{Name: "Microsoft.Web/sites/config/Read"}, true},
		{"reader changes nothing", role("Reader"), Operation{Name: "Microsoft.Web/sites/restart/action"}, false},
		// "If a user is assigned a role that excludes an action in NotActions,
		// and is assigned a second role that grants access to the same
		// action, the user is allowed to perform that action."
		{"notActions is not a deny", append(role("Contributor"), role("User Access Administrator")...), Operation{Name: "Microsoft.Authorization/roleAssignments/write"}, true},
		{"notDataActions is not a deny", append(role("Azure Kubernetes Service RBAC Admin"), role("Azure Kubernetes Service RBAC Cluster Admin")...), Operation{Name: aksClusters + "/namespaces/write", Data: true}, true},
		{"notDataActions subtract", role("Azure Kubernetes Service RBAC Admin"), Operation{Name: aksClusters + "/namespaces/write", Data: true}, false},
		{"nothing grants nothing", nil, Operation{Name: "Microsoft.Web/sites/read"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Allowed(tc.perms, tc.op); got != tc.want {
				t.Fatalf("Allowed(%s) = %v, want %v", tc.op, got, tc.want)
			}
			if got := azuresim.Allowed(toSim(tc.perms), tc.op.Name, tc.op.Data); got != tc.want {
				t.Fatalf("the simulator says %v for %s", got, tc.op)
			}
			if len(tc.perms) == 1 && tc.perms[0].Grants(tc.op) != tc.want {
				t.Fatalf("Permission.Grants(%s) = %v", tc.op, !tc.want)
			}
		})
	}
}

func toSim(perms []Permission) []azuresim.Permission {
	out := make([]azuresim.Permission, len(perms))
	for i, p := range perms {
		out[i] = azuresim.Permission{Actions: p.Actions, NotActions: p.NotActions, DataActions: p.DataActions, NotDataActions: p.NotDataActions}
	}
	return out
}

func fromSim(perms []azuresim.Permission) []Permission {
	out := make([]Permission, len(perms))
	for i, p := range perms {
		out[i] = Permission{Actions: p.Actions, NotActions: p.NotActions, DataActions: p.DataActions, NotDataActions: p.NotDataActions}
	}
	return out
}

// randomName builds action names and patterns from the pieces real ones are
// made of, with random case and wildcards, so that matches are common.
type nameGen struct{ r *rand.Rand }

var pieces = []string{"Microsoft.Web", "Microsoft.Authorization", "Microsoft.ContainerService", "sites", "slots", "managedClusters",
	"roleAssignments", "pods", "apps", "deployments", "read", "write", "delete", "action", "slotsswap", "config", "list", "Web", "s"}

func (g nameGen) word() string {
	w := pieces[g.r.IntN(len(pieces))]
	if g.r.IntN(4) == 0 {
		w = strings.ToUpper(w)
	}
	return w
}

func (g nameGen) action() string {
	n := 2 + g.r.IntN(4)
	parts := make([]string, n)
	for i := range parts {
		parts[i] = g.word()
	}
	return strings.Join(parts, "/")
}

func (g nameGen) pattern() string {
	if g.r.IntN(10) == 0 {
		return "*"
	}
	n := 1 + g.r.IntN(4)
	parts := make([]string, n)
	for i := range parts {
		switch g.r.IntN(5) {
		case 0:
			parts[i] = "*"
		case 1:
			parts[i] = g.word()[:1] + "*"
		default:
			parts[i] = g.word()
		}
	}
	return strings.Join(parts, "/")
}

func (g nameGen) list() []string {
	out := make([]string, g.r.IntN(4))
	for i := range out {
		out[i] = g.pattern()
	}
	return out
}

// TestEvaluatorAgreesWithSimulator cross-checks the evaluator against the
// simulator's on random permission sets and operations. The two matchers
// are written differently (a backtracking glob here, an anchored regular
// expression per pattern in the simulator), so agreement is evidence, not
// a copy agreeing with itself.
func TestEvaluatorAgreesWithSimulator(t *testing.T) {
	g := nameGen{rand.New(rand.NewPCG(1, 2))}
	allowed := 0
	const n = 20000
	for i := 0; i < n; i++ {
		perms := make([]Permission, g.r.IntN(4))
		for j := range perms {
			perms[j] = Permission{g.list(), g.list(), g.list(), g.list()}
		}
		op := Operation{Name: g.action(), Data: g.r.IntN(2) == 0}
		got, want := Allowed(perms, op), azuresim.Allowed(toSim(perms), op.Name, op.Data)
		if got != want {
			t.Fatalf("Allowed(%+v, %s) = %v, the simulator says %v", perms, op, got, want)
		}
		if got {
			allowed++
		}
		p, a := g.pattern(), g.action()
		if ActionMatches(p, a) != azuresim.ActionMatches(p, a) {
			t.Fatalf("ActionMatches(%q, %q) = %v, the simulator says the opposite", p, a, ActionMatches(p, a))
		}
	}
	// The generator must exercise both outcomes, or the test proves little.
	if allowed < n/20 || allowed > n-n/20 {
		t.Fatalf("%d of %d random cases allowed: the generator is lopsided", allowed, n)
	}
}

// globRegexp is an independent oracle: the pattern as a regular
// expression, '*' as '.*', case-insensitive.
func globRegexp(p string) *regexp.Regexp {
	parts := strings.Split(p, "*")
	for i, s := range parts {
		parts[i] = regexp.QuoteMeta(s)
	}
	return regexp.MustCompile(`(?is)\A` + strings.Join(parts, ".*") + `\z`)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func FuzzActionMatches(f *testing.F) {
	for _, s := range [][2]string{
		{"*", "Microsoft.Web/sites/read"},
		{"*/read", "Microsoft.Web/sites/write"},
		{"Microsoft.Authorization/*/Write", "microsoft.authorization/roleassignments/write"},
		{"Microsoft.CostManagement/*/query/*", "Microsoft.CostManagement/x/query/y"},
		{"a*b*c", "xaxbxc"},
		{"**", ""},
		{"*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, action string) {
		got := ActionMatches(pattern, action)
		if sim := azuresim.ActionMatches(pattern, action); got != sim {
			t.Fatalf("ActionMatches(%q, %q) = %v, the simulator says %v", pattern, action, got, sim)
		}
		if isASCII(pattern) && isASCII(action) {
			if want := globRegexp(pattern).MatchString(action); got != want {
				t.Fatalf("ActionMatches(%q, %q) = %v, the regular expression says %v", pattern, action, got, want)
			}
		}
	})
}
