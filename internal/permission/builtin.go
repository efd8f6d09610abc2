package permission

import (
	"slices"
	"sort"
	"strings"
	"sync"
)

// BuiltinRole is one of Azure's built-in roles, with its real id (the same
// in every cloud) and permission list as Azure publishes them.
type BuiltinRole struct {
	ID          string       `json:"id"`
	Name        string       `json:"roleName"`
	Description string       `json:"description"`
	Permissions []Permission `json:"permissions"`
}

// DefinitionID is the role's id as a subscription sees it.
func (r BuiltinRole) DefinitionID(subscriptionID string) string {
	return "/subscriptions/" + subscriptionID + "/providers/Microsoft.Authorization/roleDefinitions/" + r.ID
}

// Well-known built-in role ids.
const (
	RoleOwner                   = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
	RoleContributor             = "b24988ac-6180-42a0-ab88-20f7382dd24c"
	RoleReader                  = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
	RoleUserAccessAdministrator = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"
	RoleAcrPull                 = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
	RoleAcrPush                 = "8311e382-0749-4cb8-b61a-304f252e45ec"
	RoleAKSClusterUser          = "4abbcc35-e782-43d8-92c5-2d3f1bd2253f"
	RoleAKSClusterAdmin         = "0ab0b1a8-8aac-4efd-b8c2-3ee1fb270be8"
	RoleAKSContributor          = "ed7f3fbd-7b88-4dd4-9017-9adb7ce333f8"
	RoleAKSRBACReader           = "7f6c6a51-bcf8-42ba-9220-52d62157d7db"
	RoleAKSRBACWriter           = "a7ffa36f-339b-4b5c-8bdf-e2c188b2c0eb"
	RoleAKSRBACAdmin            = "3498e952-d568-435e-9b2c-8d77e338d7f7"
	RoleAKSRBACClusterAdmin     = "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b"
	RoleWebsiteContributor      = "de139f84-1756-47ae-9be6-808fbbe84772"
	RoleBlueprintContributor    = "41077137-e803-4205-871c-5a86e6a753b4"
	RoleBlueprintOperator       = "437d2ced-4a38-4302-8479-ed2bcb43d090"
)

var aksRBACActions = []string{
	"Microsoft.Authorization/*/read",
	"Microsoft.Resources/subscriptions/operationresults/read",
	"Microsoft.Resources/subscriptions/read",
	"Microsoft.Resources/subscriptions/resourceGroups/read",
}

// builtinRoles are the built-in roles relevant to the catalogue: the ones
// Harness's documentation names, the ones users assign by mistake, and the
// narrower ones Azure offers for the same jobs. Suggestions are chosen
// among them.
var builtinRoles = []BuiltinRole{
	{ID: RoleOwner, Name: "Owner",
		Description: "Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.",
		Permissions: []Permission{{Actions: []string{"*"}}}},
	{ID: RoleContributor, Name: "Contributor",
		Description: "Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC, manage assignments in Azure Blueprints, or share image galleries.",
		Permissions: []Permission{{Actions: []string{"*"}, NotActions: []string{
			"Microsoft.Authorization/*/Delete",
			"Microsoft.Authorization/*/Write",
			"Microsoft.Authorization/elevateAccess/Action",
			"Microsoft.Blueprint/blueprintAssignments/write",
			"Microsoft.Blueprint/blueprintAssignments/delete",
			"Microsoft.Compute/galleries/share/action",
			"Microsoft.Purview/consents/write",
			"Microsoft.Purview/consents/delete",
			"Microsoft.Resources/deploymentStacks/manageDenySetting/action",
			"Microsoft.Subscription/cancel/action",
			"Microsoft.Subscription/enable/action",
		}}}},
	{ID: RoleReader, Name: "Reader",
		Description: "View all resources, but does not allow you to make any changes.",
		Permissions: []Permission{{Actions: []string{"*/read"}}}},
	{ID: RoleUserAccessAdministrator, Name: "User Access Administrator",
		Description: "Lets you manage user access to Azure resources.",
		Permissions: []Permission{{Actions: []string{"*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"}}}},
	{ID: RoleAcrPull, Name: "AcrPull", Description: "acr pull",
		Permissions: []Permission{{Actions: []string{"Microsoft.ContainerRegistry/registries/pull/read"}}}},
	{ID: RoleAcrPush, Name: "AcrPush", Description: "acr push",
		Permissions: []Permission{{Actions: []string{"Microsoft.ContainerRegistry/registries/pull/read", "Microsoft.ContainerRegistry/registries/push/write"}}}},
	{ID: RoleAKSClusterUser, Name: "Azure Kubernetes Service Cluster User Role", Description: "List cluster user credential action.",
		Permissions: []Permission{{Actions: k8s("listClusterUserCredential/action", "read")}}},
	{ID: RoleAKSClusterAdmin, Name: "Azure Kubernetes Service Cluster Admin Role", Description: "List cluster admin credential action.",
		Permissions: []Permission{{Actions: k8s("listClusterAdminCredential/action", "accessProfiles/listCredential/action", "read", "runcommand/action")}}},
	{ID: RoleAKSContributor, Name: "Azure Kubernetes Service Contributor Role",
		Description: "Grants access to read and write Azure Kubernetes Service clusters",
		Permissions: []Permission{{Actions: []string{
			"Microsoft.Authorization/*/read",
			"Microsoft.ContainerService/locations/*",
			"Microsoft.ContainerService/managedClusters/*",
			"Microsoft.ContainerService/managedclustersnapshots/*",
			"Microsoft.ContainerService/snapshots/*",
			"Microsoft.Insights/alertRules/*",
			"Microsoft.Resources/deployments/*",
			"Microsoft.Resources/subscriptions/resourceGroups/read",
		}}}},
	{ID: RoleAKSRBACReader, Name: "Azure Kubernetes Service RBAC Reader",
		Description: "Allows read-only access to see most objects in a namespace. It does not allow viewing roles or role bindings. This role does not allow viewing Secrets.",
		Permissions: []Permission{{Actions: aksRBACActions, DataActions: k8s(
			"apps/controllerrevisions/read", "apps/daemonsets/read", "apps/deployments/read", "apps/replicasets/read",
			"apps/statefulsets/read", "autoscaling/horizontalpodautoscalers/read", "batch/cronjobs/read", "batch/jobs/read",
			"configmaps/read", "discovery.k8s.io/endpointslices/read", "endpoints/read", "events.k8s.io/events/read",
			"events/read", "extensions/daemonsets/read", "extensions/deployments/read", "extensions/ingresses/read",
			"extensions/networkpolicies/read", "extensions/replicasets/read", "limitranges/read", "metrics.k8s.io/pods/read",
			"metrics.k8s.io/nodes/read", "namespaces/read", "networking.k8s.io/ingresses/read",
			"networking.k8s.io/networkpolicies/read", "persistentvolumeclaims/read", "pods/read",
			"policy/poddisruptionbudgets/read", "replicationcontrollers/read", "resourcequotas/read",
			"serviceaccounts/read", "services/read")}}},
	{ID: RoleAKSRBACWriter, Name: "Azure Kubernetes Service RBAC Writer",
		Description: "Allows read/write access to most objects in a namespace. This role does not allow viewing or modifying roles or role bindings.",
		Permissions: []Permission{{Actions: aksRBACActions, DataActions: k8s(
			"apps/controllerrevisions/read", "apps/daemonsets/*", "apps/deployments/*", "apps/replicasets/*",
			"apps/statefulsets/*", "autoscaling/horizontalpodautoscalers/*", "batch/cronjobs/*",
			"coordination.k8s.io/leases/read", "coordination.k8s.io/leases/write", "coordination.k8s.io/leases/delete",
			"discovery.k8s.io/endpointslices/read", "batch/jobs/*", "configmaps/*", "endpoints/*",
			"events.k8s.io/events/read", "events/*", "extensions/daemonsets/*", "extensions/deployments/*",
			"extensions/ingresses/*", "extensions/networkpolicies/*", "extensions/replicasets/*", "limitranges/read",
			"metrics.k8s.io/pods/read", "metrics.k8s.io/nodes/read", "namespaces/read", "networking.k8s.io/ingresses/*",
			"networking.k8s.io/networkpolicies/*", "persistentvolumeclaims/*", "pods/*", "policy/poddisruptionbudgets/*",
			"replicationcontrollers/*", "resourcequotas/read", "secrets/*", "serviceaccounts/*", "services/*")}}},
	{ID: RoleAKSRBACAdmin, Name: "Azure Kubernetes Service RBAC Admin",
		Description: "Lets you manage all resources under cluster/namespace, except update or delete resource quotas and namespaces.",
		Permissions: []Permission{{
			Actions:        append(slices.Clone(aksRBACActions), "Microsoft.ContainerService/managedClusters/listClusterUserCredential/action"),
			DataActions:    k8s("*"),
			NotDataActions: k8s("resourcequotas/write", "resourcequotas/delete", "namespaces/write", "namespaces/delete"),
		}}},
	{ID: RoleAKSRBACClusterAdmin, Name: "Azure Kubernetes Service RBAC Cluster Admin",
		Description: "Lets you manage all resources in the cluster.",
		Permissions: []Permission{{
			Actions:     append(slices.Clone(aksRBACActions), "Microsoft.ContainerService/managedClusters/listClusterUserCredential/action"),
			DataActions: k8s("*"),
		}}},
	{ID: RoleWebsiteContributor, Name: "Website Contributor",
		Description: "Lets you manage websites (not web plans), but not access to them.",
		Permissions: []Permission{{Actions: []string{
			"Microsoft.Authorization/*/read",
			"Microsoft.Insights/alertRules/*",
			"Microsoft.Insights/components/*",
			"Microsoft.ResourceHealth/availabilityStatuses/read",
			"Microsoft.Resources/deployments/*",
			"Microsoft.Resources/subscriptions/resourceGroups/read",
			"Microsoft.Support/*",
			"Microsoft.Web/certificates/*",
			"Microsoft.Web/listSitesAssignedToHostName/read",
			"Microsoft.Web/serverFarms/join/action",
			"Microsoft.Web/serverFarms/read",
			"Microsoft.Web/sites/*",
		}}}},
	{ID: RoleBlueprintContributor, Name: "Blueprint Contributor",
		Description: "Can manage blueprint definitions, but not assign them.",
		Permissions: []Permission{{Actions: []string{
			"Microsoft.Authorization/*/read",
			"Microsoft.Blueprint/blueprints/*",
			"Microsoft.Resources/subscriptions/resourceGroups/read",
			"Microsoft.Resources/deployments/*",
			"Microsoft.Support/*",
		}}}},
	{ID: RoleBlueprintOperator, Name: "Blueprint Operator",
		Description: "Can assign existing published blueprints, but cannot create new blueprints. NOTE: this only works if the assignment is done with a user-assigned managed identity.",
		Permissions: []Permission{{Actions: []string{
			"Microsoft.Authorization/*/read",
			"Microsoft.Blueprint/blueprintAssignments/*",
			"Microsoft.Resources/subscriptions/resourceGroups/read",
			"Microsoft.Resources/deployments/*",
			"Microsoft.Support/*",
		}}}},
}

func cloneRole(r BuiltinRole) BuiltinRole {
	c := r
	c.Permissions = make([]Permission, len(r.Permissions))
	for i, p := range r.Permissions {
		c.Permissions[i] = Permission{slices.Clone(p.Actions), slices.Clone(p.NotActions), slices.Clone(p.DataActions), slices.Clone(p.NotDataActions)}
	}
	return c
}

// BuiltinRoles returns copies of the built-in roles the package knows.
func BuiltinRoles() []BuiltinRole {
	out := make([]BuiltinRole, len(builtinRoles))
	for i, r := range builtinRoles {
		out[i] = cloneRole(r)
	}
	return out
}

// LookupBuiltin finds a built-in role by GUID, by full role definition id
// (…/providers/Microsoft.Authorization/roleDefinitions/{guid}) or by name,
// case-insensitively.
func LookupBuiltin(ref string) (BuiltinRole, bool) {
	r := builtinRef(ref)
	if r == nil {
		return BuiltinRole{}, false
	}
	return cloneRole(*r), true
}

func builtinRef(ref string) *BuiltinRole {
	ref = strings.TrimSpace(ref)
	if i := strings.LastIndex(ref, "/"); i >= 0 {
		ref = ref[i+1:]
	}
	for i := range builtinRoles {
		if strings.EqualFold(builtinRoles[i].ID, ref) || strings.EqualFold(builtinRoles[i].Name, ref) {
			return &builtinRoles[i]
		}
	}
	return nil
}

// Breadth is how many permissions a role grants, the measure "smallest"
// uses: the number of operations of ReferenceOperations the role's
// permissions grant, plus one for every action or data action pattern that
// grants none of them (each grants at least one real operation the list
// does not name). Owner ("*") is broadest; a role naming two actions
// scores 2.
func Breadth(perms []Permission) int {
	set := Compile(perms)
	n := 0
	for _, op := range referenceOps() {
		if set.Allows(op) {
			n++
		}
	}
	for _, p := range perms {
		for _, pat := range p.Actions {
			if !patternHits(pat, false) {
				n++
			}
		}
		for _, pat := range p.DataActions {
			if !patternHits(pat, true) {
				n++
			}
		}
	}
	return n
}

func patternHits(pattern string, data bool) bool {
	lp := strings.ToLower(pattern)
	for _, op := range referenceOps() {
		if op.Data == data && glob(lp, strings.ToLower(op.Name)) {
			return true
		}
	}
	return false
}

// roleTraits are what the choice of a role looks at, computed once.
type roleTraits struct {
	set        *Set
	breadth    int
	grantsData bool // some data action
	readOnly   bool // every reference operation it grants is a read
}

var (
	traitsOnce sync.Once
	traits     map[string]roleTraits // by role id
)

func traitsOf(r *BuiltinRole) roleTraits {
	traitsOnce.Do(func() {
		traits = make(map[string]roleTraits, len(builtinRoles))
		for i := range builtinRoles {
			b := &builtinRoles[i]
			set := Compile(b.Permissions)
			t := roleTraits{set: set, breadth: Breadth(b.Permissions), readOnly: true}
			for _, op := range referenceOps() {
				if !set.Allows(op) {
					continue
				}
				if op.Data {
					t.grantsData = true
				}
				if !isRead(op) {
					t.readOnly = false
				}
			}
			for _, p := range b.Permissions {
				if len(p.DataActions) > 0 {
					t.grantsData = true
				}
			}
			traits[b.ID] = t
		}
	})
	return traits[r.ID]
}

func roleBreadth(r *BuiltinRole) int { return traitsOf(r).breadth }

func isRead(op Operation) bool {
	return strings.HasSuffix(strings.ToLower(op.Name), "/read")
}

// RoleChoice is a built-in role chosen to grant some operations.
type RoleChoice struct {
	ID      string `json:"id"`
	Name    string `json:"roleName"`
	Breadth int    `json:"breadth"`
}

// SmallestRole returns the built-in role chosen to grant ops: among the
// roles that grant every operation of ops on their own, that grant no data
// action unless ops has one, and that grant only reads when every
// operation of ops is a read (a gap is never fixed with a new kind of
// access), the one with the smallest Breadth; ties go to fewer permission
// patterns, then to the name. Among, when given, restricts the candidates
// to those role names. ok is false when no role qualifies.
func SmallestRole(ops []Operation, among []string) (RoleChoice, bool) {
	needData := slices.ContainsFunc(ops, func(op Operation) bool { return op.Data })
	onlyReads := len(ops) > 0 && !slices.ContainsFunc(ops, func(op Operation) bool { return !isRead(op) })
	var best *BuiltinRole
	bestB, bestP := 0, 0
	for i := range builtinRoles {
		r := &builtinRoles[i]
		if len(among) > 0 && !slices.ContainsFunc(among, func(n string) bool { return strings.EqualFold(n, r.Name) }) {
			continue
		}
		t := traitsOf(r)
		if (t.grantsData && !needData) || (onlyReads && !t.readOnly) {
			continue
		}
		if len(t.set.Missing(ops)) > 0 {
			continue
		}
		b, p := t.breadth, patternCount(r.Permissions)
		if best == nil || b < bestB || (b == bestB && (p < bestP || (p == bestP && r.Name < best.Name))) {
			best, bestB, bestP = r, b, p
		}
	}
	if best == nil {
		return RoleChoice{}, false
	}
	return RoleChoice{ID: best.ID, Name: best.Name, Breadth: bestB}, true
}

func patternCount(perms []Permission) int {
	n := 0
	for _, p := range perms {
		n += len(p.Actions) + len(p.DataActions)
	}
	return n
}

// rolesByBreadth lists the built-in role names, smallest first (for docs
// and tests).
func rolesByBreadth() []string {
	names := make([]string, len(builtinRoles))
	for i := range builtinRoles {
		names[i] = builtinRoles[i].Name
	}
	sort.SliceStable(names, func(i, j int) bool {
		return roleBreadth(builtinRef(names[i])) < roleBreadth(builtinRef(names[j]))
	})
	return names
}
