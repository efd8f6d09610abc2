package azuresim

import "strings"

// The built-in roles the simulator knows, with their real ids and
// permission lists (Azure's published built-in role definitions). Tests
// and the RBAC evaluator check real action names against them.
const (
	RoleOwner                   = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
	RoleContributor             = "b24988ac-6180-42a0-ab88-20f7382dd24c"
	RoleReader                  = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
	RoleUserAccessAdministrator = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"
	RoleAcrPull                 = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
	RoleAcrPush                 = "8311e382-0749-4cb8-b61a-304f252e45ec"
	RoleAKSClusterUser          = "4abbcc35-e782-43d8-92c5-2d3f1bd2253f"
	RoleAKSClusterAdmin         = "0ab0b1a8-8aac-4efd-b8c2-3ee1fb270be8"
	RoleAKSRBACReader           = "7f6c6a51-bcf8-42ba-9220-52d62157d7db"
	RoleAKSRBACWriter           = "a7ffa36f-339b-4b5c-8bdf-e2c188b2c0eb"
	RoleAKSRBACAdmin            = "3498e952-d568-435e-9b2c-8d77e338d7f7"
	RoleAKSRBACClusterAdmin     = "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b"
	RoleWebsiteContributor      = "de139f84-1756-47ae-9be6-808fbbe84772"
)

var aksReadBase = []string{
	"Microsoft.Authorization/*/read",
	"Microsoft.Resources/subscriptions/operationresults/read",
	"Microsoft.Resources/subscriptions/read",
	"Microsoft.Resources/subscriptions/resourceGroups/read",
}

func mc(suffixes ...string) []string {
	out := make([]string, len(suffixes))
	for i, s := range suffixes {
		out[i] = "Microsoft.ContainerService/managedClusters/" + s
	}
	return out
}

var builtinRoles = []*RoleDefinition{
	{ID: RoleOwner, RoleName: "Owner", Type: "BuiltInRole",
		Description: "Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.",
		Permissions: []Permission{{Actions: []string{"*"}}}},
	{ID: RoleContributor, RoleName: "Contributor", Type: "BuiltInRole",
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
	{ID: RoleReader, RoleName: "Reader", Type: "BuiltInRole",
		Description: "View all resources, but does not allow you to make any changes.",
		Permissions: []Permission{{Actions: []string{"*/read"}}}},
	{ID: RoleUserAccessAdministrator, RoleName: "User Access Administrator", Type: "BuiltInRole",
		Description: "Lets you manage user access to Azure resources.",
		Permissions: []Permission{{Actions: []string{"*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"}}}},
	{ID: RoleAcrPull, RoleName: "AcrPull", Type: "BuiltInRole", Description: "acr pull",
		Permissions: []Permission{{Actions: []string{"Microsoft.ContainerRegistry/registries/pull/read"}}}},
	{ID: RoleAcrPush, RoleName: "AcrPush", Type: "BuiltInRole", Description: "acr push",
		Permissions: []Permission{{Actions: []string{"Microsoft.ContainerRegistry/registries/pull/read", "Microsoft.ContainerRegistry/registries/push/write"}}}},
	{ID: RoleAKSClusterUser, RoleName: "Azure Kubernetes Service Cluster User Role", Type: "BuiltInRole",
		Description: "List cluster user credential action.",
		Permissions: []Permission{{Actions: mc("listClusterUserCredential/action", "read")}}},
	{ID: RoleAKSClusterAdmin, RoleName: "Azure Kubernetes Service Cluster Admin Role", Type: "BuiltInRole",
		Description: "List cluster admin credential action.",
		Permissions: []Permission{{Actions: mc("listClusterAdminCredential/action", "accessProfiles/listCredential/action", "read", "runcommand/action")}}},
	{ID: RoleAKSRBACReader, RoleName: "Azure Kubernetes Service RBAC Reader", Type: "BuiltInRole",
		Description: "Allows read-only access to see most objects in a namespace. It does not allow viewing roles or role bindings. This role does not allow viewing Secrets.",
		Permissions: []Permission{{Actions: aksReadBase, DataActions: mc(
			"apps/controllerrevisions/read", "apps/daemonsets/read", "apps/deployments/read", "apps/replicasets/read",
			"apps/statefulsets/read", "autoscaling/horizontalpodautoscalers/read", "batch/cronjobs/read", "batch/jobs/read",
			"configmaps/read", "discovery.k8s.io/endpointslices/read", "endpoints/read", "events.k8s.io/events/read",
			"events/read", "extensions/daemonsets/read", "extensions/deployments/read", "extensions/ingresses/read",
			"extensions/networkpolicies/read", "extensions/replicasets/read", "limitranges/read", "metrics.k8s.io/pods/read",
			"metrics.k8s.io/nodes/read", "namespaces/read", "networking.k8s.io/ingresses/read",
			"networking.k8s.io/networkpolicies/read", "persistentvolumeclaims/read", "pods/read",
			"policy/poddisruptionbudgets/read", "replicationcontrollers/read", "resourcequotas/read",
			"serviceaccounts/read", "services/read")}}},
	{ID: RoleAKSRBACWriter, RoleName: "Azure Kubernetes Service RBAC Writer", Type: "BuiltInRole",
		Description: "Allows read/write access to most objects in a namespace. This role does not allow viewing or modifying roles or role bindings.",
		Permissions: []Permission{{Actions: aksReadBase, DataActions: mc(
			"apps/controllerrevisions/read", "apps/daemonsets/*", "apps/deployments/*", "apps/replicasets/*",
			"apps/statefulsets/*", "autoscaling/horizontalpodautoscalers/*", "batch/cronjobs/*",
			"coordination.k8s.io/leases/read", "coordination.k8s.io/leases/write", "coordination.k8s.io/leases/delete",
			"discovery.k8s.io/endpointslices/read", "batch/jobs/*", "configmaps/*", "endpoints/*",
			"events.k8s.io/events/read", "events/*", "extensions/daemonsets/*", "extensions/deployments/*",
			"extensions/ingresses/*", "extensions/networkpolicies/*", "extensions/replicasets/*", "limitranges/read",
			"metrics.k8s.io/pods/read", "metrics.k8s.io/nodes/read", "namespaces/read", "networking.k8s.io/ingresses/*",
			"networking.k8s.io/networkpolicies/*", "persistentvolumeclaims/*", "pods/*", "policy/poddisruptionbudgets/*",
			"replicationcontrollers/*", "resourcequotas/read", "secrets/*", "serviceaccounts/*", "services/*")}}},
	{ID: RoleAKSRBACAdmin, RoleName: "Azure Kubernetes Service RBAC Admin", Type: "BuiltInRole",
		Description: "Lets you manage all resources under cluster/namespace, except update or delete resource quotas and namespaces.",
		Permissions: []Permission{{
			Actions:        append(append([]string(nil), aksReadBase...), "Microsoft.ContainerService/managedClusters/listClusterUserCredential/action"),
			DataActions:    mc("*"),
			NotDataActions: mc("resourcequotas/write", "resourcequotas/delete", "namespaces/write", "namespaces/delete"),
		}}},
	{ID: RoleAKSRBACClusterAdmin, RoleName: "Azure Kubernetes Service RBAC Cluster Admin", Type: "BuiltInRole",
		Description: "Lets you manage all resources in the cluster.",
		Permissions: []Permission{{
			Actions:     append(append([]string(nil), aksReadBase...), "Microsoft.ContainerService/managedClusters/listClusterUserCredential/action"),
			DataActions: mc("*"),
		}}},
	{ID: RoleWebsiteContributor, RoleName: "Website Contributor", Type: "BuiltInRole",
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
}

func init() {
	for _, rd := range builtinRoles {
		rd.AssignableScopes = []string{"/"}
	}
}

// builtinRole finds a built-in role by GUID or name (case-insensitive).
func builtinRole(ref string) *RoleDefinition {
	for _, rd := range builtinRoles {
		if strings.EqualFold(rd.ID, ref) || strings.EqualFold(rd.RoleName, ref) {
			return rd
		}
	}
	return nil
}

// BuiltinRoles returns copies of the built-in role definitions.
func BuiltinRoles() []RoleDefinition {
	out := make([]RoleDefinition, len(builtinRoles))
	for i, rd := range builtinRoles {
		out[i] = *rd
	}
	return out
}
