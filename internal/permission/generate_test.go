package permission

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/azimuthcd/azimuth/internal/azuresim"
	"github.com/azimuthcd/azimuth/internal/failure"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// goldenUsed records the golden files compared, so that a file no test
// produces any more (a renamed role) is noticed.
var goldenUsed sync.Map

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	goldenUsed.Store(name, true)
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

const (
	assigneeOID = "40000000-0000-4000-8000-0000000000aa"
	groupOID    = "70000000-0000-4000-8000-000000000001"
)

func TestGenerateGolden(t *testing.T) {
	tests := []struct {
		name string
		req  GenerateRequest
	}{
		{"acr-aks-rg", GenerateRequest{Capabilities: []string{"acr", "aks"}, Scope: rgA, Assignee: assigneeOID, AssigneePrincipalType: "ServicePrincipal",
			Namespace: "team", Subjects: []Subject{{Kind: "Group", Name: groupOID}}}},
		{"aks-namespace", GenerateRequest{Capabilities: []string{"aks.deploy"}, Scope: nsA, KubernetesName: "harness-deployer",
			Namespace: "team", Subjects: []Subject{{Kind: "Group", Name: groupOID}, {Kind: "User", Name: assigneeOID}}}},
		{"aks-namespace-cluster-wide", GenerateRequest{Capabilities: []string{"aks"}, Scope: nsA, Assignee: assigneeOID,
			Namespace: "team", Subjects: []Subject{{Kind: "Group", Name: groupOID}}, ClusterWide: true}},
		{"webapp-site", GenerateRequest{Capabilities: []string{"webapp"}, Scope: slotA, RoleName: "Web deployer", Assignee: "deployer@contoso.example"}},
		{"base-vm-blueprint-subscription", GenerateRequest{Capabilities: []string{"base", "vm", "blueprint"}, Scope: subAID}},
		{"arm-management-group", GenerateRequest{Capabilities: []string{"arm"}, Scope: mgA, Assignee: assigneeOID}},
		{"arm-tenant", GenerateRequest{Capabilities: []string{"arm"}, Scope: "/", Assignee: assigneeOID}},
	}
	ran := 0
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ran++
			plan, err := Generate(tc.req)
			if err != nil {
				t.Fatal(err)
			}
			b, err := json.MarshalIndent(plan, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name+".plan.json", append(b, '\n'))
			for _, g := range plan.Grants {
				if g.Custom != nil {
					golden(t, tc.name+"."+g.CustomFile, g.Custom.JSON())
				}
			}
			if plan.Kubernetes != "" {
				golden(t, tc.name+".kubernetes.yaml", []byte(plan.Kubernetes))
			}
		})
	}
	if t.Failed() || ran != len(tests) {
		return // some golden files were not produced: run all to judge
	}
	files, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if _, ok := goldenUsed.Load(f.Name()); !ok {
			if *update {
				_ = os.Remove(filepath.Join("testdata", f.Name()))
				continue
			}
			t.Errorf("testdata/%s is produced by no test any more: delete it (go test -update does)", f.Name())
		}
	}
}

// The role definition is in the form "az role definition create" reads.
func TestRoleDefinitionShape(t *testing.T) {
	plan, err := Generate(GenerateRequest{Capabilities: []string{"acr.pull", "aks.deploy"}, Scope: aksA})
	if err != nil {
		t.Fatal(err)
	}
	var generic map[string]any
	if err := json.Unmarshal(plan.Grants[0].Custom.JSON(), &generic); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"Name", "IsCustom", "Description", "Actions", "NotActions", "DataActions", "NotDataActions", "AssignableScopes"} {
		if _, ok := generic[k]; !ok {
			t.Errorf("the definition has no %s", k)
		}
	}
	if len(generic) != 8 || generic["IsCustom"] != true {
		t.Errorf("definition %v", generic)
	}
	// Resources are not assignable scopes: the resource group is.
	for _, g := range plan.Grants {
		if g.Custom.AssignableScopes[0] != rgA {
			t.Errorf("assignable scopes %v for a grant at %s", g.Custom.AssignableScopes, g.Scope)
		}
	}
	if plan.Grants[0].Scope != rgA || plan.Grants[1].Scope != aksA {
		t.Errorf("acr.pull at a cluster goes to its resource group, aks.deploy stays on the cluster: %s, %s", plan.Grants[0].Scope, plan.Grants[1].Scope)
	}
	if !strings.Contains(strings.Join(plan.Notes, " "), "not a Microsoft.ContainerRegistry/registries") {
		t.Errorf("notes %v", plan.Notes)
	}
}

func opSet(ops []Operation) map[Operation]bool {
	m := map[Operation]bool{}
	for _, op := range ops {
		m[Operation{Name: strings.ToLower(op.Name), Data: op.Data}] = true
	}
	return m
}

// TestGeneratedRolesAreLeastPrivilege: every generated custom role, read
// by this package's evaluator and by the simulator's, grants every
// operation of its capabilities and none of the reference operations they
// do not need.
func TestGeneratedRolesAreLeastPrivilege(t *testing.T) {
	var sets [][]string
	for _, c := range Catalogue() {
		sets = append(sets, []string{c.ID})
	}
	for a := range Aliases() {
		if a != "arm" {
			sets = append(sets, []string{a})
		}
	}
	sets = append(sets, matrixCaps)
	outside := []Operation{
		{Name: "Microsoft.ContainerRegistry/registries/push/write"},
		{Name: "Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action"},
		{Name: "Microsoft.Authorization/roleAssignments/write"},
		{Name: "Microsoft.Web/sites/delete"},
		{Name: "Microsoft.ContainerService/managedClusters/rbac.authorization.k8s.io/roles/write", Data: true},
		{Name: "Microsoft.ContainerService/managedClusters/pods/exec/action", Data: true},
		{Name: "Microsoft.ContainerService/managedClusters/namespaces/write", Data: true},
	}
	checked := 0
	for _, set := range sets {
		scopes := []string{subAID, rgA}
		switch set[0] {
		case "arm.deploy-management-group":
			scopes = []string{mgA}
		case "arm.deploy-tenant":
			continue // no custom role at "/": TestGenerateCommands
		}
		for _, scope := range scopes {
			plan, err := Generate(GenerateRequest{Capabilities: set, Scope: scope})
			if err != nil {
				t.Fatalf("%v at %s: %v", set, scope, err)
			}
			for _, g := range plan.Grants {
				if g.Custom == nil {
					t.Fatalf("%v at %s: no custom role", set, scope)
				}
				perms := []Permission{g.Custom.Permission()}
				var need []Operation
				for _, id := range g.Capabilities {
					need = append(need, byID[id].Operations()...)
				}
				needed := opSet(need)
				for _, op := range append(ReferenceOperations(), outside...) {
					want := needed[Operation{Name: strings.ToLower(op.Name), Data: op.Data}]
					if got := Allowed(perms, op); got != want {
						t.Errorf("%v at %s: the custom role grants %s = %v, want %v", set, scope, op, got, want)
					}
					if got := azuresim.Allowed(toSim(perms), op.Name, op.Data); got != want {
						t.Errorf("%v at %s: the simulator says the custom role grants %s = %v, want %v", set, scope, op, got, want)
					}
					checked++
				}
				for _, op := range need {
					if !Allowed(perms, op) {
						t.Errorf("%v: the custom role lacks %s", set, op)
					}
				}
			}
		}
	}
	if checked < 10000 {
		t.Fatalf("only %d checks", checked)
	}
}

// TestGeneratedRoleInSimulator assigns the generated roles in the
// simulator where the plan says, and checks what they then allow there and
// nowhere else.
func TestGeneratedRoleInSimulator(t *testing.T) {
	plan, err := Generate(GenerateRequest{Capabilities: []string{"acr", "aks", "vm"}, Scope: rgA})
	if err != nil {
		t.Fatal(err)
	}
	// Everything is granted at the resource group: the registry is found
	// in the subscription's list, which ARM filters to what the group's
	// role shows.
	if len(plan.Grants) != 1 || plan.Grants[0].Scope != rgA {
		t.Fatalf("grants %+v", plan.Grants)
	}
	ten := &azuresim.Tenant{ID: tenantA, Domain: "contoso.example",
		Subscriptions: []*azuresim.Subscription{
			{ID: subA, DisplayName: "A", ResourceGroups: []*azuresim.ResourceGroup{{Name: "rg-a"}, {Name: "rg-b"}}},
			{ID: subB, DisplayName: "B", ResourceGroups: []*azuresim.ResourceGroup{{Name: "rg-x"}}},
		},
		Apps: []*azuresim.App{{Name: "deployer", AppID: "30000000-0000-4000-8000-0000000000aa", ObjectID: assigneeOID}},
	}
	for i, g := range plan.Grants {
		id := "90000000-0000-4000-8000-00000000000" + string(rune('1'+i))
		ten.RoleDefinitions = append(ten.RoleDefinitions, &azuresim.RoleDefinition{ID: id, RoleName: g.Custom.Name,
			AssignableScopes: g.Custom.AssignableScopes, Permissions: toSim([]Permission{g.Custom.Permission()})})
		ten.RoleAssignments = append(ten.RoleAssignments, &azuresim.RoleAssignment{Principal: assigneeOID, Role: id, Scope: g.Scope})
	}
	sim := azuresim.StartForTest(t, &azuresim.World{Tenants: []*azuresim.Tenant{ten}})
	for _, g := range plan.Grants {
		for _, id := range g.Capabilities {
			for _, op := range byID[id].Operations() {
				if !sim.CheckAccess(tenantA, assigneeOID, op.Name, g.Scope, op.Data) {
					t.Errorf("%s: %s denied at %s", id, op, g.Scope)
				}
				if sim.CheckAccess(tenantA, assigneeOID, op.Name, "/subscriptions/"+subB, op.Data) {
					t.Errorf("%s: %s allowed in another subscription", id, op)
				}
			}
		}
	}
	// The resource-group role does not reach another group.
	for _, id := range []string{"vm.read", "acr.list-registries"} {
		for _, op := range byID[id].Operations() {
			if sim.CheckAccess(tenantA, assigneeOID, op.Name, rgB, false) {
				t.Errorf("%s allowed in rg-b", op)
			}
		}
	}
	for _, op := range []string{"Microsoft.ContainerRegistry/registries/push/write", "Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action", "Microsoft.Authorization/roleAssignments/write"} {
		if sim.CheckAccess(tenantA, assigneeOID, op, rgA, false) {
			t.Errorf("%s allowed", op)
		}
	}
	// And Check agrees, from the simulator's effective permissions.
	var eff []ScopedPermissions
	scopes, _ := RequiredScopes([]string{"acr", "aks", "vm"}, rgA)
	for _, s := range scopes {
		eff = append(eff, ScopedPermissions{Scope: s, Permissions: fromSim(sim.EffectivePermissions(tenantA, assigneeOID, s))})
	}
	rep, err := Check(Request{Scope: rgA, Capabilities: []string{"acr", "aks", "vm"}, Effective: eff})
	if err != nil || !rep.Allowed {
		t.Fatalf("Check after assigning the generated roles: %+v, %v", rep, err)
	}
}

func TestGenerateCommands(t *testing.T) {
	plan, err := Generate(GenerateRequest{Capabilities: []string{"webapp.swap"}, Scope: siteA, RoleName: "Swapper's role", Assignee: assigneeOID})
	if err != nil {
		t.Fatal(err)
	}
	g := plan.Grants[0]
	want := []string{
		"az role definition create --role-definition @swapper-s-role.json",
		"az role assignment create --assignee " + assigneeOID + ` --role 'Swapper'\''s role' --scope ` + siteA,
	}
	if !slices.Equal(g.Commands, want) {
		t.Fatalf("commands\n%q\nwant\n%q", g.Commands, want)
	}
	if len(g.BuiltIn) != 1 || g.BuiltIn[0].Name != "Website Contributor" ||
		g.BuiltInCommands[0] != "az role assignment create --assignee "+assigneeOID+" --role 'Website Contributor' --scope "+siteA {
		t.Fatalf("built-in %+v %q", g.BuiltIn, g.BuiltInCommands)
	}
	// Without an assignee the commands read the service principal's object
	// id from the environment, and name its kind: az then needs no
	// Microsoft Graph lookup.
	plan, _ = Generate(GenerateRequest{Capabilities: []string{"acr.pull"}, Scope: regA})
	if !strings.Contains(plan.Grants[0].Commands[1], `--assignee-object-id "$ASSIGNEE_OBJECT_ID" --assignee-principal-type ServicePrincipal --role`) || !strings.Contains(strings.Join(plan.Notes, " "), "ASSIGNEE_OBJECT_ID") {
		t.Fatalf("%q %q", plan.Grants[0].Commands, plan.Notes)
	}
	// An object id of a known kind: the same; of an unknown kind, --assignee.
	for _, tc := range []struct{ assignee, kind, want string }{
		{assigneeOID, "ServicePrincipal", "az role assignment create --assignee-object-id " + assigneeOID + " --assignee-principal-type ServicePrincipal --role AcrPull --scope " + regA},
		{groupOID, "Group", "az role assignment create --assignee-object-id " + groupOID + " --assignee-principal-type Group --role AcrPull --scope " + regA},
		{assigneeOID, "", "az role assignment create --assignee " + assigneeOID + " --role AcrPull --scope " + regA},
		{"deployer@contoso.example", "", "az role assignment create --assignee deployer@contoso.example --role AcrPull --scope " + regA},
	} {
		plan, err := Generate(GenerateRequest{Capabilities: []string{"acr.pull"}, Scope: regA, Assignee: tc.assignee, AssigneePrincipalType: tc.kind})
		if err != nil || len(plan.Grants[0].BuiltInCommands) != 1 || plan.Grants[0].BuiltInCommands[0] != tc.want || !strings.HasPrefix(plan.Grants[0].Commands[1], strings.SplitN(tc.want, " --role", 2)[0]) {
			t.Errorf("%s %s: %v %q %q", tc.assignee, tc.kind, err, plan.Grants[0].BuiltInCommands, plan.Grants[0].Commands)
		}
	}
	// At the tenant root only a built-in role can be assigned.
	plan, _ = Generate(GenerateRequest{Capabilities: []string{"arm"}, Scope: "/"})
	if g := plan.Grants[0]; g.Custom != nil || len(g.Commands) != 0 || g.BuiltIn[0].Name != "Contributor" || !strings.HasSuffix(g.BuiltInCommands[0], "--scope /") {
		t.Fatalf("%+v", g)
	}
	for _, tc := range []struct{ in, want string }{
		{"plain-1.2_x@y:z/", "plain-1.2_x@y:z/"},
		{"two words", "'two words'"},
		{"it's", `'it'\''s'`},
		{"$(reboot)", "'$(reboot)'"},
		{"", "''"},
	} {
		if got := shellQuote(tc.in); got != tc.want {
			t.Errorf("shellQuote(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestGenerateRejectsBadInput(t *testing.T) {
	ok := GenerateRequest{Capabilities: []string{"aks"}, Scope: aksA}
	tests := []struct {
		name  string
		edit  func(*GenerateRequest)
		field string
	}{
		{"assignee with shell", func(r *GenerateRequest) { r.Assignee = "x; rm -rf /" }, "assignee"},
		{"assignee with newline", func(r *GenerateRequest) { r.Assignee = "a\nb" }, "assignee"},
		{"role name with a slash", func(r *GenerateRequest) { r.RoleName = "a/b" }, "roleName"},
		{"role name too long", func(r *GenerateRequest) { r.RoleName = strings.Repeat("x", 129) }, "roleName"},
		{"namespace without subjects", func(r *GenerateRequest) { r.Namespace = "team" }, "subjects"},
		{"bad namespace", func(r *GenerateRequest) { r.Namespace = "Team_1"; r.Subjects = []Subject{{"Group", groupOID}} }, "namespace"},
		{"bad subject kind", func(r *GenerateRequest) { r.Namespace = "team"; r.Subjects = []Subject{{"ServiceAccount", "x"}} }, "subjects[0].kind"},
		{"bad subject name", func(r *GenerateRequest) { r.Namespace = "team"; r.Subjects = []Subject{{"User", "a b"}} }, "subjects[0].name"},
		{"bad kubernetes name", func(r *GenerateRequest) { r.KubernetesName = "Deployer" }, "kubernetesName"},
		{"unknown principal type", func(r *GenerateRequest) { r.Assignee = assigneeOID; r.AssigneePrincipalType = "Robot" }, "assigneePrincipalType"},
		{"principal type without an object id", func(r *GenerateRequest) { r.Assignee = "me@contoso.example"; r.AssigneePrincipalType = "User" }, "assigneePrincipalType"},
		{"namespace without Kubernetes capabilities", func(r *GenerateRequest) {
			r.Capabilities = []string{"acr.pull"}
			r.Namespace = "team"
			r.Subjects = []Subject{{"Group", groupOID}}
		}, "namespace"},
		{"bad scope", func(r *GenerateRequest) { r.Scope = "rg-a" }, "scope"},
		{"unknown capability", func(r *GenerateRequest) { r.Capabilities = []string{"aks", "helm"} }, "for"},
	}
	for _, tc := range tests {
		req := ok
		tc.edit(&req)
		_, err := Generate(req)
		e, isFailure := failure.As(err)
		if !failure.Is(err, failure.Invalid) || !isFailure || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: %v (%+v), want Invalid naming %s", tc.name, err, e, tc.field)
		}
	}
	if _, err := Generate(ok); err != nil {
		t.Fatalf("the valid request: %v", err)
	}
}

func TestKubeRules(t *testing.T) {
	c := byID["aks.deploy"]
	ns, cl, err := KubeRules(c.DataActions)
	if err != nil {
		t.Fatal(err)
	}
	// Every data action maps to a rule granting its verbs, in the right
	// kind of role, and nothing else is granted.
	grants := func(rules []KubeRule, group, resource, verb string) bool {
		for _, r := range rules {
			if slices.Contains(r.APIGroups, group) && slices.Contains(r.Resources, resource) && slices.Contains(r.Verbs, verb) {
				return true
			}
		}
		return false
	}
	total := 0
	for _, rules := range [][]KubeRule{ns, cl} {
		for _, r := range rules {
			total += len(r.APIGroups) * len(r.Resources) * len(r.Verbs)
		}
	}
	want := 0
	for _, a := range c.DataActions {
		parts := strings.Split(strings.TrimPrefix(a, aksClusters+"/"), "/")
		group, resource, verb := "", parts[len(parts)-2], parts[len(parts)-1]
		if len(parts) == 3 {
			group = parts[0]
		}
		rules := ns
		if resource == "namespaces" {
			rules = cl
		}
		for _, v := range kubeVerbs[verb] {
			want++
			if !grants(rules, group, resource, v) {
				t.Errorf("%s: no rule grants %s on %s/%s", a, v, group, resource)
			}
		}
	}
	if total != want {
		t.Errorf("the rules grant %d (group, resource, verb) triples, the data actions %d", total, want)
	}
	for _, bad := range []string{"Microsoft.Web/sites/read", aksClusters + "/pods/exec/action", aksClusters + "/*", aksClusters + "/read"} {
		if _, _, err := KubeRules([]string{bad}); err == nil {
			t.Errorf("KubeRules(%q) accepted it", bad)
		}
	}
	// The manifests are valid YAML documents of the expected kinds.
	plan, err := Generate(GenerateRequest{Capabilities: []string{"aks.deploy"}, Scope: nsA, Namespace: "team", Subjects: []Subject{{"Group", groupOID}}})
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(strings.NewReader(plan.Kubernetes))
	var kinds []string
	for {
		var doc map[string]any
		if err := dec.Decode(&doc); err != nil {
			break
		}
		kinds = append(kinds, doc["kind"].(string))
		if md := doc["metadata"].(map[string]any); (doc["kind"] == "Role" || doc["kind"] == "RoleBinding") && md["namespace"] != "team" {
			t.Errorf("%s in namespace %v", doc["kind"], md["namespace"])
		}
	}
	if !slices.Equal(kinds, []string{"Role", "RoleBinding"}) {
		t.Fatalf("kinds %v", kinds)
	}
	// The namespace's Role reads the namespace itself, by name; listing
	// every namespace is left out, and said so.
	var role struct {
		Rules []KubeRule `yaml:"rules"`
	}
	if err := yaml.Unmarshal([]byte(strings.SplitN(plan.Kubernetes, "---", 2)[0]), &role); err != nil {
		t.Fatal(err)
	}
	nsRules := 0
	for _, r := range role.Rules {
		if slices.Contains(r.Resources, "namespaces") {
			nsRules++
			if !slices.Equal(r.ResourceNames, []string{"team"}) || !slices.Equal(r.Verbs, []string{"get"}) || len(r.Resources) != 1 {
				t.Errorf("namespace rule %+v", r)
			}
		} else if len(r.ResourceNames) > 0 {
			t.Errorf("rule %+v names resources", r)
		}
	}
	notes := strings.Join(plan.Notes, " ")
	if nsRules != 1 || !strings.Contains(notes, "list, watch on namespaces") || !strings.Contains(notes, "--cluster-wide") {
		t.Fatalf("%d namespace rules; notes %s", nsRules, notes)
	}
	// aks.deploy alone cannot fetch the kubeconfig: said so.
	if !strings.Contains(notes, "aks.user-credentials") {
		t.Errorf("notes %s", notes)
	}
	// Cluster-wide only when asked.
	plan, err = Generate(GenerateRequest{Capabilities: []string{"aks"}, Scope: nsA, Namespace: "team", Subjects: []Subject{{"Group", groupOID}}, ClusterWide: true})
	if err != nil || strings.Count(plan.Kubernetes, "\nkind: ClusterRole\n") != 1 || !strings.Contains(plan.Kubernetes, "kind: ClusterRoleBinding") ||
		strings.Contains(strings.Join(plan.Notes, " "), "--cluster-wide") || strings.Contains(strings.Join(plan.Notes, " "), "aks.deploy grants only") {
		t.Fatalf("%v\n%s\n%q", err, plan.Kubernetes, plan.Notes)
	}
	if _, err := Generate(GenerateRequest{Capabilities: []string{"aks"}, Scope: nsA, ClusterWide: true}); !failure.Is(err, failure.Invalid) || !strings.Contains(err.Error(), "clusterWide") {
		t.Fatalf("clusterWide without a namespace: %v", err)
	}
}

// TestGeneratedRoleNamesAreUniquePerScope: custom role names are unique in
// a tenant, and scopes share last segments (rg-a in two subscriptions, a
// registry and a cluster both named "app"): the default names differ by a
// hash of the whole scope, the same for any casing of it.
func TestGeneratedRoleNamesAreUniquePerScope(t *testing.T) {
	name := func(scope, roleName string, caps ...string) []string {
		t.Helper()
		plan, err := Generate(GenerateRequest{Capabilities: caps, Scope: scope, RoleName: roleName})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, g := range plan.Grants {
			if len(g.Custom.Name) > 128 {
				t.Errorf("name of %d bytes: %q", len(g.Custom.Name), g.Custom.Name)
			}
			out = append(out, g.Custom.Name)
		}
		return out
	}
	rgInB := "/subscriptions/" + subB + "/resourceGroups/rg-a"
	a, b := name(rgA, "", "vm"), name(rgInB, "", "vm")
	if a[0] == b[0] || !strings.HasPrefix(a[0], "Azimuth vm (rg-a, ") || !strings.Contains(a[0], ScopeHash(MustParseScope(rgA))) {
		t.Fatalf("%q and %q", a, b)
	}
	if upper := name(strings.ToUpper(rgA[:len(rgA)-4])+"rg-a", "", "vm"); upper[0] != a[0] {
		t.Errorf("the same scope in another case: %q, %q", upper, a)
	}
	// A name given for one scope is the caller's; for several, each gets
	// its scope's suffix.
	if got := name(rgA, "Deployers", "vm"); !slices.Equal(got, []string{"Deployers"}) {
		t.Errorf("%q", got)
	}
	several := name(regA, "Deployers", "acr", "arm.deploy-rg")
	if len(several) != 1 {
		several = name(nsA, "Deployers", "aks.deploy", "vm")
	}
	if len(several) < 2 || several[0] == several[1] || !strings.HasPrefix(several[0], "Deployers (") {
		t.Errorf("%q", several)
	}
	// A long name keeps its suffix.
	long := name(nsA, strings.Repeat("é", 100), "vm", "aks.deploy")
	if len(long) != 2 {
		t.Fatalf("%q", long)
	}
	for _, n := range long {
		if !strings.HasSuffix(n, ")") || !utf8.ValidString(n) {
			t.Errorf("%q", n)
		}
	}
}
