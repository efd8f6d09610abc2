// Package permission knows what Azure permissions each use of an Azure
// connector needs, and decides, with Azure's own semantics, whether an
// identity holds them. It is pure: no I/O, no clock, no logging.
//
// Four parts:
//
//   - The catalogue (Catalogue, Lookup, Resolve): capabilities such as
//     "acr.list-registries" or "aks.user-credentials", each with the real
//     Azure actions and data actions it needs, the scope level it must be
//     granted at and why, and the built-in roles Harness's documentation
//     names for it. Short aliases ("acr", "aks", "webapp", "vm", "arm",
//     "blueprint") expand to sets of capabilities.
//
//   - Evaluation (ActionMatches, Allowed, Compile): Azure RBAC's rules. An
//     operation is allowed when one permission entry's Actions match it and
//     the same entry's NotActions do not (NotActions subtract, they never
//     deny what another entry grants); data actions are evaluated against
//     DataActions and NotDataActions only; "*" matches any run of
//     characters, slashes included, anywhere in a pattern; matching is
//     case-insensitive.
//
//   - Verdicts (Check): given the capabilities, the scope being checked and
//     what is known of the identity (its effective permissions per scope
//     from Microsoft.Authorization/permissions, and/or its role assignments
//     with their roles), one Verdict per capability: allowed, or the exact
//     missing actions and data actions, the smallest built-in role that
//     grants them and the scope to assign it at, and the usual mistakes
//     recognised by name (AcrPull where Reader is needed, a role assigned
//     below the scope it is needed at, a role in another subscription or
//     tenant, ...).
//
//   - Generation (Generate): a least-privilege custom role in the JSON that
//     "az role definition create --role-definition" accepts, the az
//     commands to create and assign it and to assign the built-in
//     alternative, and for AKS the Kubernetes Role/RoleBinding confined to
//     a namespace for a group or user (a ClusterRole/ClusterRoleBinding
//     for cluster-scoped reads only when asked for).
//
// The package holds its own table of Azure's built-in roles (BuiltinRoles)
// and a reference list of real operation names (ReferenceOperations), both
// taken from Azure's published role and resource-provider documentation.
// "Smallest" role means the one granting the fewest operations of that
// reference list (see Breadth).
package permission
