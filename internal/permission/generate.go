package permission

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/azimuthcd/azimuth/internal/failure"
)

// GenerateRequest asks for the roles that grant capabilities at a scope.
type GenerateRequest struct {
	// Capabilities are capability ids and aliases (see Resolve).
	Capabilities []string `json:"capabilities"`
	// Scope is the subscription, resource group, resource, management
	// group or "/" the capabilities are wanted at.
	Scope string `json:"scope"`
	// RoleName names the custom role(s); default "Azimuth <families>
	// (<scope name>, <ScopeHash>)". Custom role names must be unique in a
	// tenant; a name given for capabilities granted at several scopes gets
	// the same suffix per scope.
	RoleName string `json:"roleName,omitempty"`
	// Assignee is the object id (or app id, or sign-in name) the roles are
	// for; empty leaves "$ASSIGNEE_OBJECT_ID" (a service principal's or
	// managed identity's object id) in the commands.
	Assignee string `json:"assignee,omitempty"`
	// AssigneePrincipalType is the assignee's kind when known
	// (ServicePrincipal — managed identities included —, User, Group,
	// ForeignGroup): with an object id, the commands then use
	// --assignee-object-id and --assignee-principal-type, which need no
	// Microsoft Graph lookup (and so no Graph permission, and no wait for
	// a new service principal to replicate).
	AssigneePrincipalType string `json:"assigneePrincipalType,omitempty"`
	// Namespace and Subjects ask for the Kubernetes RBAC manifests of the
	// capabilities' Kubernetes data actions, for clusters authorised by
	// Kubernetes RBAC rather than Azure RBAC.
	Namespace string    `json:"namespace,omitempty"`
	Subjects  []Subject `json:"subjects,omitempty"`
	// KubernetesName names the Role, RoleBinding and the rest; default
	// "azimuth-deployer".
	KubernetesName string `json:"kubernetesName,omitempty"`
	// ClusterWide adds, to the namespace's Role (which may read the
	// namespace itself), a ClusterRole and ClusterRoleBinding for the
	// cluster-scoped rest of the data actions: listing and watching every
	// namespace. Off by default: deploying into one namespace needs none
	// of it.
	ClusterWide bool `json:"clusterWide,omitempty"`
}

// Subject is who a Kubernetes binding is for: an Entra group (Kind
// "Group", Name its object id) or a user or service principal (Kind
// "User", Name its user principal name or object id).
type Subject struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
}

// RoleDefinition is a custom role in the JSON shape "az role definition
// create --role-definition" accepts.
type RoleDefinition struct {
	Name             string   `json:"Name"`
	IsCustom         bool     `json:"IsCustom"`
	Description      string   `json:"Description"`
	Actions          []string `json:"Actions"`
	NotActions       []string `json:"NotActions"`
	DataActions      []string `json:"DataActions"`
	NotDataActions   []string `json:"NotDataActions"`
	AssignableScopes []string `json:"AssignableScopes"`
}

// JSON renders the definition, indented, with a final newline.
func (d RoleDefinition) JSON() []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(d); err != nil {
		panic(err) // strings and bools only
	}
	return b.Bytes()
}

// Permission returns the definition as one permission entry, for
// evaluation.
func (d RoleDefinition) Permission() Permission {
	return Permission{Actions: d.Actions, NotActions: d.NotActions, DataActions: d.DataActions, NotDataActions: d.NotDataActions}
}

// Grant is what to assign at one scope.
type Grant struct {
	Scope        string   `json:"scope"`
	Capabilities []string `json:"capabilities"`
	// Custom is the least-privilege custom role; nil where a custom role
	// cannot be assigned (the tenant root "/"). CustomFile is the file
	// name the commands read it from.
	Custom     *RoleDefinition `json:"custom,omitempty"`
	CustomFile string          `json:"customFile,omitempty"`
	// Commands create and assign the custom role.
	Commands []string `json:"commands,omitempty"`
	// BuiltIn is the built-in alternative (one role when one suffices)
	// and BuiltInCommands assign it.
	BuiltIn         []RoleChoice `json:"builtIn,omitempty"`
	BuiltInCommands []string     `json:"builtInCommands,omitempty"`
}

// Plan is the outcome of Generate.
type Plan struct {
	Scope        string   `json:"scope"`
	Capabilities []string `json:"capabilities"`
	Grants       []Grant  `json:"grants"`
	// Kubernetes holds the Role/RoleBinding (and, with ClusterWide,
	// ClusterRole/ClusterRoleBinding) YAML, when a namespace was given.
	Kubernetes string   `json:"kubernetes,omitempty"`
	Notes      []string `json:"notes,omitempty"`
}

var (
	assigneeRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,254}$`)
	dns1123RE  = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	roleNameRE = regexp.MustCompile(`^[^\x00-\x1f\x7f<>%&\\?/]{1,128}$`)
)

// Generate builds least-privilege custom roles (one per scope the
// capabilities must be granted at), the az commands to create and assign
// them, the smallest built-in alternative, and, when asked, Kubernetes RBAC
// manifests. Errors are failure.Invalid and name the field.
func Generate(req GenerateRequest) (*Plan, error) {
	target, err := ParseScope(req.Scope)
	if err != nil {
		return nil, err
	}
	ids, err := Resolve(req.Capabilities, target)
	if err != nil {
		return nil, err
	}
	var fs failure.Fields
	if req.Assignee != "" && !assigneeRE.MatchString(req.Assignee) {
		fs.Add("assignee", "must be an object id, an app id or a sign-in name (letters, digits and . _ @ -)")
	}
	switch req.AssigneePrincipalType {
	case "", PrincipalServicePrincipal, PrincipalUser, PrincipalGroup, PrincipalForeignGroup:
		if req.AssigneePrincipalType != "" && req.Assignee != "" && !guidRE.MatchString(req.Assignee) {
			fs.Add("assigneePrincipalType", "goes with the assignee's object id (a GUID), not %q", req.Assignee)
		}
	default:
		fs.Add("assigneePrincipalType", "must be ServicePrincipal, User, Group or ForeignGroup, not %q", req.AssigneePrincipalType)
	}
	if req.RoleName != "" && !roleNameRE.MatchString(req.RoleName) {
		fs.Add("roleName", "must be 1 to 128 characters without control characters or any of < > %% & \\ ? /")
	}
	kname := req.KubernetesName
	if kname == "" {
		kname = "azimuth-deployer"
	}
	if len(kname) > 200 || !dns1123RE.MatchString(kname) {
		fs.Add("kubernetesName", "must be lower-case letters, digits and '-', starting and ending with a letter or digit")
	}
	if req.Namespace != "" && (len(req.Namespace) > 63 || !dns1123RE.MatchString(req.Namespace)) {
		fs.Add("namespace", "must be a Kubernetes namespace name: at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit")
	}
	if req.Namespace != "" && len(req.Subjects) == 0 {
		fs.Add("subjects", "name at least one group or user to bind in namespace %q", req.Namespace)
	}
	for i, s := range req.Subjects {
		if s.Kind != "Group" && s.Kind != "User" {
			fs.Add(fmt.Sprintf("subjects[%d].kind", i), "must be Group or User, not %q", s.Kind)
		}
		if !assigneeRE.MatchString(s.Name) {
			fs.Add(fmt.Sprintf("subjects[%d].name", i), "must be an object id or a user principal name")
		}
	}
	if err := fs.Err(); err != nil {
		return nil, err
	}

	plan := &Plan{Scope: target.String(), Capabilities: ids}
	if req.Assignee == "" {
		plan.Notes = append(plan.Notes, "Set ASSIGNEE_OBJECT_ID to the object id of the connector's service principal or managed identity before running the commands.")
	}

	// Group the capabilities by the scope they must be granted at.
	type group struct {
		scope Scope
		caps  []*Capability
	}
	var groups []*group
	for _, id := range ids {
		c := byID[id]
		sc, note, err := c.GrantScope(target)
		if err != nil {
			return nil, err
		}
		if note != "" {
			plan.Notes = append(plan.Notes, note)
		}
		var g *group
		for _, x := range groups {
			if x.scope.Equal(sc) {
				g = x
			}
		}
		if g == nil {
			g = &group{scope: sc}
			groups = append(groups, g)
		}
		g.caps = append(g.caps, c)
	}
	for _, g := range groups {
		var capIDs []string
		var ops []Operation
		for _, c := range g.caps {
			capIDs = append(capIDs, c.ID)
			for _, op := range c.Operations() {
				ops = appendOp(ops, op)
			}
		}
		gr := Grant{Scope: g.scope.String(), Capabilities: capIDs}
		if g.scope.Level() != LevelTenant {
			def := customRole(req.RoleName, len(groups) > 1, g.scope, g.caps, ops)
			gr.Custom = &def
			gr.CustomFile = slug(def.Name) + ".json"
			gr.Commands = []string{
				"az role definition create --role-definition @" + shellQuote(gr.CustomFile),
				AssignCommand(req.Assignee, req.AssigneePrincipalType, def.Name, gr.Scope),
			}
		} else {
			plan.Notes = append(plan.Notes, "A custom role cannot be assigned at the tenant root \"/\" (only built-in roles have \"/\" among their assignable scopes): use the built-in role.")
		}
		for _, f := range chooseRoles(g.caps, ops, g.scope) {
			gr.BuiltIn = append(gr.BuiltIn, f.Role)
			gr.BuiltInCommands = append(gr.BuiltInCommands, AssignCommand(req.Assignee, req.AssigneePrincipalType, f.Role.Name, gr.Scope))
		}
		plan.Grants = append(plan.Grants, gr)
	}

	for _, id := range ids {
		for _, n := range byID[id].Notes {
			if !slices.Contains(plan.Notes, n) {
				plan.Notes = append(plan.Notes, n)
			}
		}
	}
	if slices.Contains(ids, "aks.deploy") && !slices.Contains(ids, "aks.user-credentials") && !slices.Contains(ids, "aks.admin-credentials") {
		plan.Notes = append(plan.Notes, "aks.deploy grants only Kubernetes data actions: Harness first fetches the cluster's kubeconfig, which needs aks.user-credentials (Microsoft.ContainerService/managedClusters/listClusterUserCredential/action on the cluster) — ask for \"aks\" (aks.read, aks.user-credentials, aks.deploy) unless the identity already holds it.")
	}
	var data []string
	for _, id := range ids {
		for _, a := range byID[id].DataActions {
			if strings.HasPrefix(strings.ToLower(a), strings.ToLower(aksClusters)+"/") && !slices.Contains(data, a) {
				data = append(data, a)
			}
		}
	}
	switch {
	case len(data) > 0 && req.Namespace != "":
		y, leftOut, err := kubernetesManifests(kname, req.Namespace, req.Subjects, data, req.ClusterWide)
		if err != nil {
			return nil, err
		}
		plan.Kubernetes = y
		if len(leftOut) > 0 {
			plan.Notes = append(plan.Notes, fmt.Sprintf("The Kubernetes Role grants reading namespace %q itself; %s across the cluster would need a ClusterRole over every namespace, which deploying into one namespace does not need: it was left out (ask for it with clusterWide, --cluster-wide).", req.Namespace, strings.Join(leftOut, "; ")))
		}
	case req.ClusterWide:
		return nil, failure.InvalidField("clusterWide", "applies to the Kubernetes manifests: give a namespace and subjects")
	case len(data) > 0:
		plan.Notes = append(plan.Notes, "For a cluster authorised by Kubernetes RBAC instead of Azure RBAC, give a namespace and a group or user to get the Kubernetes Role and RoleBinding.")
	case req.Namespace != "":
		return nil, failure.InvalidField("namespace", "none of %s needs Kubernetes permissions; a namespace applies to aks.deploy", strings.Join(ids, ", "))
	}
	return plan, nil
}

// The principal types az role assignment create takes with
// --assignee-principal-type. A managed identity is a ServicePrincipal.
const (
	PrincipalServicePrincipal = "ServicePrincipal"
	PrincipalUser             = "User"
	PrincipalGroup            = "Group"
	PrincipalForeignGroup     = "ForeignGroup"
)

// AssigneeArgs are the arguments naming who "az role assignment create"
// assigns to: --assignee-object-id with --assignee-principal-type when the
// assignee is an object id of a known kind (az then makes no Microsoft
// Graph lookup, which needs Graph permissions and fails for a service
// principal created moments ago); "$ASSIGNEE_OBJECT_ID", a service
// principal's object id, when none is given; else --assignee, which az
// resolves through Graph.
func AssigneeArgs(assignee, principalType string) string {
	switch {
	case assignee == "":
		return `--assignee-object-id "$ASSIGNEE_OBJECT_ID" --assignee-principal-type ` + PrincipalServicePrincipal
	case principalType != "" && guidRE.MatchString(assignee):
		return "--assignee-object-id " + shellQuote(assignee) + " --assignee-principal-type " + shellQuote(principalType)
	}
	return "--assignee " + shellQuote(assignee)
}

// AssignCommand is the az command assigning role at scope (see
// AssigneeArgs).
func AssignCommand(assignee, principalType, role, scope string) string {
	return fmt.Sprintf("az role assignment create %s --role %s --scope %s", AssigneeArgs(assignee, principalType), shellQuote(role), shellQuote(scope))
}

// customRole builds the least-privilege definition for ops at scope.
func customRole(name string, several bool, scope Scope, caps []*Capability, ops []Operation) RoleDefinition {
	var fams, capIDs []string
	for _, c := range caps {
		capIDs = append(capIDs, c.ID)
		fam, _, _ := strings.Cut(c.ID, ".")
		if !slices.Contains(fams, fam) {
			fams = append(fams, fam)
		}
	}
	// Custom role names are unique per tenant, and the last segment of a
	// scope is not (rg-app in two subscriptions, two clusters named aks):
	// the default names carry a short hash of the whole scope.
	suffix := fmt.Sprintf(" (%s, %s)", scope.Name(), ScopeHash(scope))
	switch {
	case name == "":
		name = "Azimuth " + strings.Join(fams, ", ")
	case !several:
		suffix = ""
	}
	if len(name)+len(suffix) > 128 {
		name = strings.TrimSpace(truncate(name, 128-len(suffix)))
	}
	name += suffix
	assignable := scope
	if scope.Level() == LevelResource {
		// Azure advises against resource ids in AssignableScopes; the
		// assignment itself stays on the resource.
		assignable, _ = scope.Up(LevelResourceGroup)
	}
	def := RoleDefinition{
		Name:     name,
		IsCustom: true,
		Description: fmt.Sprintf("Generated by Azimuth: least privilege for %s, to be assigned at %s.",
			strings.Join(capIDs, ", "), scope),
		Actions:          []string{},
		NotActions:       []string{},
		DataActions:      []string{},
		NotDataActions:   []string{},
		AssignableScopes: []string{assignable.String()},
	}
	for _, op := range ops {
		if op.Data {
			def.DataActions = append(def.DataActions, op.Name)
		} else {
			def.Actions = append(def.Actions, op.Name)
		}
	}
	sortFold(def.Actions)
	sortFold(def.DataActions)
	return def
}

// ScopeHash is a short, stable hash of a scope (case-insensitive, as
// Azure compares scopes), which tells apart the role names generated for
// scopes with the same last segment.
func ScopeHash(s Scope) string {
	sum := sha256.Sum256([]byte(strings.ToLower(s.String())))
	return hex.EncodeToString(sum[:4])
}

// truncate cuts s to at most n bytes without splitting a character.
func truncate(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func sortFold(ss []string) {
	sort.Slice(ss, func(i, j int) bool { return strings.ToLower(ss[i]) < strings.ToLower(ss[j]) })
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./@:", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// slug turns a role name into a file name stem.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}
