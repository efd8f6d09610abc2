package permission

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/azimuthcd/azimuth/internal/failure"
)

// Capability is one thing an Azure connector is used for, with the Azure
// permissions it needs. Action names are Azure's real ones (see the
// resource provider operations reference); tests check each of them
// against Azure's built-in role definitions and the reference list.
type Capability struct {
	// ID is stable: API clients, stored connectors and the CLI use it.
	ID          string `json:"id"`
	Description string `json:"description"`
	// Actions and DataActions are what the operations behind the
	// capability are authorised against.
	Actions     []string `json:"actions,omitempty"`
	DataActions []string `json:"dataActions,omitempty"`
	// Level is the narrowest scope a grant still works at; a grant at a
	// broader scope works too. LevelReason says why.
	Level       Level  `json:"level"`
	LevelReason string `json:"levelReason"`
	// ResourceType is, for LevelResource, the type of resource the grant
	// goes on; ChildTypes are child types a grant may narrow to (an AKS
	// namespace).
	ResourceType string   `json:"resourceType,omitempty"`
	ChildTypes   []string `json:"childTypes,omitempty"`
	// Roles are the built-in roles Harness's documentation names for this
	// use.
	Roles []string `json:"roles,omitempty"`
	// OpenEnded is set when the real operation needs more than the
	// catalogue can list (the resources an ARM template creates): the
	// built-in role suggested is then chosen among Roles only.
	OpenEnded bool     `json:"openEnded,omitempty"`
	Notes     []string `json:"notes,omitempty"`

	confusions []confusion
}

// confusion is a role people assign for a capability that does not serve
// it, recognised by name in verdicts.
type confusion struct {
	role    string // built-in role name
	kind    MistakeKind
	message string // completes "<role> at <scope> ..."
}

// Operations returns the capability's actions and data actions.
func (c *Capability) Operations() []Operation {
	ops := make([]Operation, 0, len(c.Actions)+len(c.DataActions))
	for _, a := range c.Actions {
		ops = append(ops, Operation{Name: a})
	}
	for _, a := range c.DataActions {
		ops = append(ops, Operation{Name: a, Data: true})
	}
	return ops
}

const (
	acrRegistries = "Microsoft.ContainerRegistry/registries"
	aksClusters   = "Microsoft.ContainerService/managedClusters"
	webSites      = "Microsoft.Web/sites"
)

func k8s(suffixes ...string) []string {
	out := make([]string, len(suffixes))
	for i, s := range suffixes {
		out[i] = aksClusters + "/" + s
	}
	return out
}

func rwd(resources ...string) []string {
	var out []string
	for _, r := range resources {
		out = append(out, r+"/read", r+"/write", r+"/delete")
	}
	return out
}

// deploymentActions are what an ARM template deployment does at its scope:
// validate, what-if, create (PUT), then poll the deployment, its operations
// and its operation statuses.
var deploymentActions = []string{
	"Microsoft.Resources/deployments/read",
	"Microsoft.Resources/deployments/write",
	"Microsoft.Resources/deployments/validate/action",
	"Microsoft.Resources/deployments/whatIf/action",
	"Microsoft.Resources/deployments/operations/read",
	"Microsoft.Resources/deployments/operationstatuses/read",
}

const armNote = "Only the deployment itself is listed: the resources the template creates need their own permissions, which depend on the template; that is why the built-in role suggested is Contributor, not the smallest role granting the deployment actions."

var acrPullConfusions = []confusion{
	{"AcrPull", MistakeAcrPullInsteadOfReader, "grants only pulling images (Microsoft.ContainerRegistry/registries/pull/read), not reading or listing registries (Microsoft.ContainerRegistry/registries/read), which Reader grants"},
	{"AcrPush", MistakeAcrPullInsteadOfReader, "grants only pushing and pulling images, not reading or listing registries (Microsoft.ContainerRegistry/registries/read), which Reader grants"},
}

var catalogue = []*Capability{
	{
		ID:          "subscriptions.read",
		Description: "Read the subscription (list subscriptions, get one): what the connection test and the subscription pickers do.",
		Actions:     []string{"Microsoft.Resources/subscriptions/read"},
		Level:       LevelSubscription,
		LevelReason: "subscriptions are read at their own scope; any role assigned in a subscription makes it appear in the list",
		Roles:       []string{"Reader"},
	},
	{
		ID:          "resourcegroups.read",
		Description: "List and read the resource groups of a subscription (the resource group pickers).",
		Actions:     []string{"Microsoft.Resources/subscriptions/resourceGroups/read"},
		Level:       LevelSubscription,
		LevelReason: "listing resource groups is an operation on the subscription; a grant on one group shows only that group",
		Roles:       []string{"Reader"},
	},
	{
		ID:           "acr.list-registries",
		Description:  "List the container registries of the subscription and find one by name, as Harness does before every ACR artifact operation.",
		Actions:      []string{"Microsoft.ContainerRegistry/registries/read"},
		Level:        LevelResource,
		ResourceType: acrRegistries,
		LevelReason:  "Harness lists the registries of the subscription and picks the one named; ARM filters that list down to the registries the identity may read, so the registry is found when registries/read is granted on it, on its resource group or on the subscription; checked at a resource group or a subscription, every registry there must be readable (the registry pickers list them all); without registries/read anywhere in the subscription the list is refused and Harness says \"No registry found with given Subscription\"",
		Roles:        []string{"Reader"},
		Notes: []string{
			"Harness's documentation asks for Reader on the subscription or on the registry's resource group. Reader on the registry alone also lets Harness find it (ARM filters the subscription's list rather than refusing it), but the registry pickers then show only that registry.",
			"AcrPull alone is not enough: it grants no Microsoft.ContainerRegistry/registries/read, so listing the registries is refused.",
		},
		confusions: acrPullConfusions,
	},
	{
		ID:          "acr.read-metadata",
		Description: "Read a registry and list its repositories and tags (the artifact source's repository and tag pickers, tag regexes, digests).",
		Actions: []string{
			"Microsoft.ContainerRegistry/registries/read",
			"Microsoft.ContainerRegistry/registries/pull/read",
		},
		Level:        LevelResource,
		ResourceType: acrRegistries,
		LevelReason:  "the registry's properties (its login server) and its data plane are authorised on the registry itself",
		Roles:        []string{"Reader"},
		Notes: []string{
			"On registries in the \"RBAC Registry Permissions\" mode the ACR token service authorises catalog and tag listing with Microsoft.ContainerRegistry/registries/pull/read; registries in the \"RBAC Registry + ABAC Repository Permissions\" mode check the repositories/metadata/read and repositories/content/read data actions instead, which this capability does not cover.",
		},
		confusions: acrPullConfusions,
	},
	{
		ID:           "acr.pull",
		Description:  "Pull images (manifests and blobs) from a registry, and hand pull credentials to a deployment.",
		Actions:      []string{"Microsoft.ContainerRegistry/registries/pull/read"},
		Level:        LevelResource,
		ResourceType: acrRegistries,
		LevelReason:  "pulling is authorised on the registry; a grant on the registry is enough",
		Roles:        []string{"AcrPull"},
	},
	{
		ID:           "aks.read",
		Description:  "Read an AKS cluster (its FQDN, version, Entra and local-account settings).",
		Actions:      []string{aksClusters + "/read"},
		Level:        LevelResource,
		ResourceType: aksClusters,
		LevelReason:  "the cluster is read at its own resource scope",
		Roles:        []string{"Azure Kubernetes Service Cluster User Role"},
	},
	{
		ID:           "aks.user-credentials",
		Description:  "Fetch the cluster user kubeconfig (listClusterUserCredential), which Harness does for every AKS deployment unless useClusterAdminCredentials is set.",
		Actions:      []string{aksClusters + "/listClusterUserCredential/action"},
		Level:        LevelResource,
		ResourceType: aksClusters,
		LevelReason:  "the credential is listed on the cluster resource",
		Roles:        []string{"Azure Kubernetes Service Cluster User Role"},
		Notes: []string{
			"The user kubeconfig of an Entra-integrated cluster authenticates as the identity itself: what it may do inside the cluster is then decided by Kubernetes RBAC, or by Azure RBAC data actions when the cluster uses Azure RBAC for Kubernetes authorization (see aks.deploy).",
		},
		confusions: []confusion{
			{"Reader", MistakeReaderInsteadOfAKSUserRole, "can read the cluster but not list its credentials (Microsoft.ContainerService/managedClusters/listClusterUserCredential/action), which the Azure Kubernetes Service Cluster User Role grants"},
		},
	},
	{
		ID:           "aks.admin-credentials",
		Description:  "Fetch the cluster admin kubeconfig (listClusterAdminCredential), used when useClusterAdminCredentials is set.",
		Actions:      []string{aksClusters + "/listClusterAdminCredential/action"},
		Level:        LevelResource,
		ResourceType: aksClusters,
		LevelReason:  "the credential is listed on the cluster resource",
		Roles:        []string{"Azure Kubernetes Service Cluster Admin Role"},
		Notes: []string{
			"A cluster with local accounts disabled (disableLocalAccounts) refuses admin credentials whatever the role: Azure answers 400 BadRequest.",
		},
		confusions: []confusion{
			{"Azure Kubernetes Service Cluster User Role", MistakeUserRoleInsteadOfAdminRole, "grants the user credential only; admin credentials need Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action (Azure Kubernetes Service Cluster Admin Role)"},
			{"Azure Kubernetes Service RBAC Admin", MistakeUserRoleInsteadOfAdminRole, "grants the user credential and data actions, not the admin credential (Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action)"},
			{"Azure Kubernetes Service RBAC Cluster Admin", MistakeUserRoleInsteadOfAdminRole, "grants the user credential and data actions, not the admin credential (Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action)"},
			{"Reader", MistakeReaderInsteadOfAKSUserRole, "can read the cluster but not list its admin credential (Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action)"},
		},
	},
	{
		ID:          "aks.deploy",
		Description: "Deploy a workload into a namespace of a cluster that uses Azure RBAC for Kubernetes authorization: read the namespace, its quotas and limits; create, update and delete deployments, replica sets, stateful sets, pods, services, config maps and secrets (Harness's release history lives in config maps or secrets); read events.",
		DataActions: slices.Concat(
			k8s("namespaces/read", "resourcequotas/read", "limitranges/read", "events/read"),
			k8s(rwd("pods", "services", "configmaps", "secrets", "apps/deployments", "apps/replicasets", "apps/statefulsets")...),
		),
		Level:        LevelResource,
		ResourceType: aksClusters,
		ChildTypes:   []string{"namespaces"},
		LevelReason:  "Kubernetes data actions are granted on the cluster, or on one namespace of it (…/managedClusters/{name}/namespaces/{ns}) to confine the deployment to that namespace",
		Roles:        []string{"Azure Kubernetes Service RBAC Writer"},
		Notes: []string{
			"Data actions are checked only on clusters with Azure RBAC for Kubernetes authorization (aadProfile.enableAzureRBAC). On other clusters Kubernetes RBAC decides: bind the identity with the generated Role and RoleBinding instead.",
			"Owner and Contributor grant no data actions: on an Azure-RBAC cluster they can fetch a kubeconfig but not deploy with it.",
			"Helm keeps its release history in secrets of the namespace (covered here); charts that create service accounts, roles or cluster-wide objects need more.",
		},
	},
	{
		ID:          "webapp.read",
		Description: "List the web apps of a resource group and their deployment slots, and read one.",
		Actions: []string{
			webSites + "/read",
			webSites + "/slots/read",
		},
		Level:       LevelResourceGroup,
		LevelReason: "the app and slot pickers list the web apps of a resource group",
		Roles:       []string{"Contributor"},
	},
	{
		ID:          "webapp.deploy",
		Description: "Deploy to a deployment slot or to production (the web app itself, which Harness lists as a synthetic slot named after the app): read and update the slot's or the app's configuration and app settings (container image, startup command), stop, start and restart it, publish a package with its publishing profile, and follow the deployment.",
		Actions: []string{
			webSites + "/read",
			// Production: the web app itself.
			webSites + "/write",
			webSites + "/config/read",
			webSites + "/config/write",
			webSites + "/config/list/action",
			webSites + "/stop/action",
			webSites + "/start/action",
			webSites + "/restart/action",
			webSites + "/publish/action",
			webSites + "/publishxml/action",
			webSites + "/deployments/read",
			// Deployment slots.
			webSites + "/slots/read",
			webSites + "/slots/write",
			webSites + "/slots/config/read",
			webSites + "/slots/config/write",
			webSites + "/slots/config/list/action",
			webSites + "/slots/stop/action",
			webSites + "/slots/start/action",
			webSites + "/slots/restart/action",
			webSites + "/slots/publish/action",
			webSites + "/slots/publishxml/action",
			webSites + "/slots/deployments/read",
		},
		Level:        LevelResource,
		ResourceType: webSites,
		LevelReason:  "slots are child resources of the web app: a grant on the app covers all its slots and production (the app itself)",
		Roles:        []string{"Contributor"},
		Notes:        []string{"Harness's documentation asks for Contributor; the actions listed are what a deployment to a slot, or to production (the web app itself), performs."},
	},
	{
		ID:          "webapp.swap",
		Description: "Swap a deployment slot with production or with another slot, and poll the swap until it completes.",
		Actions: []string{
			webSites + "/read",
			webSites + "/slots/read",
			webSites + "/slotsswap/action",
			webSites + "/slots/slotsswap/action",
			webSites + "/operationresults/read",
			webSites + "/slots/operationresults/read",
		},
		Level:        LevelResource,
		ResourceType: webSites,
		LevelReason:  "a swap is an action on the web app (production) or on one of its slots",
		Roles:        []string{"Contributor"},
	},
	{
		ID:          "webapp.traffic",
		Description: "Shift a percentage of production traffic to a slot (routing rules in the web app's configuration).",
		Actions: []string{
			webSites + "/config/read",
			webSites + "/config/write",
		},
		Level:        LevelResource,
		ResourceType: webSites,
		LevelReason:  "traffic routing is part of the web app's own configuration",
		Roles:        []string{"Contributor"},
	},
	{
		ID:          "vm.read",
		Description: "Find the virtual machines of an SSH or WinRM deployment and their addresses: list the VMs of a resource group, then their network interfaces and public IP addresses.",
		Actions: []string{
			"Microsoft.Compute/virtualMachines/read",
			"Microsoft.Network/networkInterfaces/read",
			"Microsoft.Network/publicIPAddresses/read",
		},
		Level:       LevelResourceGroup,
		LevelReason: "VMs are listed per resource group (filtered by tags) and their NICs and public IPs are read alongside; NICs and IPs in another resource group need the grant there too",
		Roles:       []string{"Reader"},
	},
	{
		ID:          "arm.deploy-rg",
		Description: "Run an ARM template deployment at resource-group scope: validate, what-if, create, and poll it.",
		Actions:     append([]string{"Microsoft.Resources/subscriptions/resourceGroups/read"}, deploymentActions...),
		Level:       LevelResourceGroup,
		LevelReason: "resource-group deployments are created in the group (…/resourceGroups/{rg}/providers/Microsoft.Resources/deployments/{name})",
		Roles:       []string{"Contributor"},
		OpenEnded:   true,
		Notes:       []string{armNote},
	},
	{
		ID:          "arm.deploy-subscription",
		Description: "Run an ARM template deployment at subscription scope: validate, what-if, create, and poll it.",
		Actions:     append([]string{"Microsoft.Resources/subscriptions/read"}, deploymentActions...),
		Level:       LevelSubscription,
		LevelReason: "subscription deployments are created on the subscription (/subscriptions/{s}/providers/Microsoft.Resources/deployments/{name})",
		Roles:       []string{"Contributor"},
		OpenEnded:   true,
		Notes:       []string{armNote},
	},
	{
		ID:          "arm.deploy-management-group",
		Description: "Run an ARM template deployment at management-group scope: validate, what-if, create, and poll it.",
		Actions:     deploymentActions,
		Level:       LevelManagementGroup,
		LevelReason: "management-group deployments are created on the group (/providers/Microsoft.Management/managementGroups/{mg}/providers/Microsoft.Resources/deployments/{name})",
		Roles:       []string{"Contributor"},
		OpenEnded:   true,
		Notes:       []string{armNote},
	},
	{
		ID:          "arm.deploy-tenant",
		Description: "Run an ARM template deployment at tenant scope: validate, what-if, create, and poll it.",
		Actions:     deploymentActions,
		Level:       LevelTenant,
		LevelReason: "tenant deployments are created at the root scope (/providers/Microsoft.Resources/deployments/{name}); a custom role cannot be assigned there, so a built-in role is the only way",
		Roles:       []string{"Contributor", "Owner"},
		OpenEnded:   true,
		Notes: []string{
			armNote,
			"Granting anything at \"/\" first needs a Global Administrator to elevate access (User Access Administrator at the root); templates that create role assignments need Owner there.",
		},
	},
	{
		ID:          "blueprint.assign",
		Description: "Assign a published blueprint version as Harness does: read the blueprint definition and the published version named, read any existing assignment, ask Azure Blueprints who it is (for a system-assigned identity), create or update the assignment and follow its provisioning.",
		Actions: []string{
			// Harness reads the definition and the published version first;
			// without them it takes the version for unpublished and tries
			// to create and publish the blueprint itself.
			"Microsoft.Blueprint/blueprints/read",
			"Microsoft.Blueprint/blueprints/versions/read",
			"Microsoft.Blueprint/blueprintAssignments/read",
			"Microsoft.Blueprint/blueprintAssignments/write",
			"Microsoft.Blueprint/blueprintAssignments/assignmentOperations/read",
			"Microsoft.Blueprint/blueprintAssignments/whoisblueprint/action",
		},
		Level:       LevelSubscription,
		LevelReason: "blueprint assignments are made on a subscription (or a management group above it), and a blueprint defined in the subscription is read there",
		Roles:       []string{"Blueprint Operator", "Owner"},
		Notes: []string{
			"Contributor cannot assign blueprints: its NotActions exclude Microsoft.Blueprint/blueprintAssignments/write and /delete.",
			"The blueprint definition and its published versions are read where the blueprint is defined: a blueprint stored on a management group needs Microsoft.Blueprint/blueprints/read and blueprints/versions/read granted on that management group (or above it) — a grant on the subscription does not reach up. Blueprint Operator grants neither: pair it with Reader where the blueprint is defined.",
			"When the version named is not published yet, Harness creates or updates the definition and its artifacts and publishes it (Microsoft.Blueprint/blueprints/write, blueprints/artifacts/write, blueprints/versions/write: Blueprint Contributor where it is defined), which this capability does not cover.",
			"Blueprint Operator works only for assignments made with a user-assigned managed identity; with a system-assigned identity Azure Blueprints must be able to grant that identity Owner, so the caller needs Owner.",
			"Azure Blueprints is being retired (from July 2026, fully by January 2027); Deployment Stacks and Template Specs replace it.",
		},
		confusions: []confusion{
			{"Contributor", MistakeContributorCannotAssignBlueprints, "cannot assign blueprints: Contributor's NotActions exclude Microsoft.Blueprint/blueprintAssignments/write"},
		},
	},
}

// aliases expand to sets of capabilities. "arm" is special: it expands to
// the deployment capability of the scope's level (see Resolve).
var aliases = map[string][]string{
	"base":      {"subscriptions.read", "resourcegroups.read"},
	"acr":       {"acr.list-registries", "acr.read-metadata", "acr.pull"},
	"aks":       {"aks.read", "aks.user-credentials", "aks.deploy"},
	"aks-admin": {"aks.read", "aks.admin-credentials", "aks.deploy"},
	"webapp":    {"webapp.read", "webapp.deploy", "webapp.swap", "webapp.traffic"},
	"vm":        {"vm.read"},
	"blueprint": {"blueprint.assign"},
}

var armByLevel = map[Level]string{
	LevelTenant:          "arm.deploy-tenant",
	LevelManagementGroup: "arm.deploy-management-group",
	LevelSubscription:    "arm.deploy-subscription",
	LevelResourceGroup:   "arm.deploy-rg",
	LevelResource:        "arm.deploy-rg",
}

var byID = func() map[string]*Capability {
	m := make(map[string]*Capability, len(catalogue))
	for _, c := range catalogue {
		m[c.ID] = c
	}
	return m
}()

// Catalogue returns every capability, in a stable order. The values are
// copies: changing them changes nothing here.
func Catalogue() []Capability {
	out := make([]Capability, len(catalogue))
	for i, c := range catalogue {
		out[i] = *c
		out[i].Actions = slices.Clone(c.Actions)
		out[i].DataActions = slices.Clone(c.DataActions)
		out[i].Roles = slices.Clone(c.Roles)
		out[i].Notes = slices.Clone(c.Notes)
		out[i].ChildTypes = slices.Clone(c.ChildTypes)
	}
	return out
}

// Lookup returns the capability with id (case-insensitive).
func Lookup(id string) (Capability, bool) {
	c, ok := byID[strings.ToLower(id)]
	if !ok {
		return Capability{}, false
	}
	return *c, true
}

// Aliases returns the aliases and what each expands to ("arm" depends on
// the scope and is listed as the resource-group one).
func Aliases() map[string][]string {
	out := make(map[string][]string, len(aliases)+1)
	for k, v := range aliases {
		out[k] = slices.Clone(v)
	}
	out["arm"] = []string{"arm.deploy-rg", "arm.deploy-subscription", "arm.deploy-management-group", "arm.deploy-tenant"}
	return out
}

// Resolve expands names (capability ids and aliases, case-insensitive,
// comma-separated lists accepted) into capability ids, without duplicates,
// in catalogue order. The "arm" alias picks the deployment capability
// matching the level of scope (a resource means its resource group). An
// unknown name is a failure.Invalid naming what is allowed.
func Resolve(names []string, scope Scope) ([]string, error) {
	want := map[string]bool{}
	var unknown []string
	n := 0
	for _, raw := range names {
		for _, name := range strings.Split(raw, ",") {
			name = strings.ToLower(strings.TrimSpace(name))
			if name == "" {
				continue
			}
			n++
			switch {
			case name == "arm":
				if scope.IsZero() {
					return nil, failure.InvalidField("for", "the \"arm\" alias needs a scope to choose between %s", strings.Join(Aliases()["arm"], ", "))
				}
				want[armByLevel[scope.Level()]] = true
			case aliases[name] != nil:
				for _, id := range aliases[name] {
					want[id] = true
				}
			case byID[name] != nil:
				want[name] = true
			default:
				unknown = append(unknown, name)
			}
		}
	}
	if len(unknown) > 0 {
		return nil, failure.InvalidField("for", "unknown capability %s; known: %s", quoteList(unknown), knownNames())
	}
	if n == 0 {
		return nil, failure.InvalidField("for", "name at least one capability or alias; known: %s", knownNames())
	}
	var out []string
	for _, c := range catalogue {
		if want[c.ID] {
			out = append(out, c.ID)
		}
	}
	return out, nil
}

func quoteList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

func knownNames() string {
	var names []string
	for k := range Aliases() {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, c := range catalogue {
		names = append(names, c.ID)
	}
	return strings.Join(names, ", ")
}

// GrantScope is where a capability must be granted for it to serve target:
// the target itself when it is at or below the capability's level (for a
// resource-level capability: the target resource of the capability's type,
// or its parent of that type, or an allowed child such as an AKS
// namespace), else the target's ancestor at the capability's level. When
// the target is a resource of another type, the grant goes on its resource
// group and note says so. A management-group capability needs a
// management-group or tenant target.
func (c *Capability) GrantScope(target Scope) (scope Scope, note string, err error) {
	if target.IsZero() {
		return Scope{}, "", failure.InvalidField("scope", "a scope is required")
	}
	if c.Level == LevelManagementGroup && target.Level() > LevelManagementGroup {
		return Scope{}, "", failure.InvalidField("scope", "%s runs at a management group: give the management group scope (/providers/Microsoft.Management/managementGroups/{name}), not %s", c.ID, target)
	}
	if target.Level() <= c.Level && c.Level != LevelResource {
		return target, "", nil
	}
	if c.Level != LevelResource {
		s, err := target.Up(c.Level)
		return s, "", err
	}
	if target.Level() < LevelResource {
		return target, "", nil
	}
	// A resource target: find the resource of our type, from the target up.
	for s := target; s.Level() == LevelResource; s = s.Parent() {
		if strings.EqualFold(s.ResourceType(), c.ResourceType) {
			if s.Equal(target) {
				return target, "", nil
			}
			if p := target.Parent(); p.Equal(s) && slices.ContainsFunc(c.ChildTypes, func(t string) bool {
				return strings.EqualFold(target.ResourceType(), c.ResourceType+"/"+t)
			}) {
				return target, "", nil
			}
			return s, "", nil
		}
	}
	rg, _ := target.Up(LevelResourceGroup)
	return rg, fmt.Sprintf("%s is a %s, not a %s: %s is checked on its resource group", target.Name(), target.ResourceType(), c.ResourceType, c.ID), nil
}
