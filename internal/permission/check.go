package permission

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/azimuthcd/azimuth/internal/failure"
)

// ScopedPermissions is what Microsoft.Authorization/permissions returned
// for one scope: the effective permission entries of every role the
// identity holds there (assigned at that scope or above).
type ScopedPermissions struct {
	Scope       string       `json:"scope"`
	Permissions []Permission `json:"permissions"`
}

// Assignment is one role assignment of the identity, as
// Microsoft.Authorization/roleAssignments lists it, with what is known of
// its role.
type Assignment struct {
	// Scope is where the role is assigned: "/", a management group, a
	// subscription, a resource group or a resource.
	Scope string `json:"scope"`
	// RoleDefinitionID is the role's id (a GUID or a full role definition
	// id); RoleName its display name. One of them is enough for a built-in
	// role.
	RoleDefinitionID string `json:"roleDefinitionId,omitempty"`
	RoleName         string `json:"roleName,omitempty"`
	// Permissions are the role's permissions (from its role definition);
	// empty means "look the role up among the built-in roles".
	Permissions []Permission `json:"permissions,omitempty"`
	// TenantID is the tenant the assignment lives in, when known (an
	// identity of a multi-tenant app can hold roles in several tenants).
	TenantID string `json:"tenantId,omitempty"`
	// Condition is an ABAC condition on the assignment; the evaluator does
	// not evaluate conditions and says so.
	Condition string `json:"condition,omitempty"`
}

// IdentityKind is how the connector authenticates, for the notes that
// depend on it.
type IdentityKind string

// The identity kinds.
const (
	IdentityUnknown          IdentityKind = ""
	IdentityServicePrincipal IdentityKind = "ServicePrincipal"
	IdentitySystemAssigned   IdentityKind = "SystemAssignedManagedIdentity"
	IdentityUserAssigned     IdentityKind = "UserAssignedManagedIdentity"
	IdentityWorkload         IdentityKind = "WorkloadIdentity" // OIDC federation
)

// Request is what Check needs.
type Request struct {
	// Scope is what is being checked: a subscription, a resource group, a
	// resource (or a management group or "/" for ARM deployments there).
	Scope string `json:"scope"`
	// Capabilities are capability ids and aliases (see Resolve).
	Capabilities []string `json:"capabilities"`
	// TenantID is the tenant of the subscription being checked, when
	// known; assignments from another tenant are then recognised.
	TenantID string `json:"tenantId,omitempty"`
	// Effective holds Microsoft.Authorization/permissions results, one per
	// scope read. When a capability's grant scope has an entry, it decides.
	Effective []ScopedPermissions `json:"effective,omitempty"`
	// Assignments are the identity's role assignments, when they could be
	// listed (also in other subscriptions and tenants, which is how those
	// mistakes are found). Without an Effective entry for a grant scope,
	// the assignments that cover it decide; either way they explain a
	// denial.
	Assignments []Assignment `json:"assignments,omitempty"`
	// AssignmentsListed says the assignments were listed, so that an empty
	// list means "none" rather than "not known" (implied when Assignments
	// is not empty).
	AssignmentsListed bool `json:"assignmentsListed,omitempty"`
	// ManagementGroups lists, innermost first, the management groups above
	// the subscription being checked, so that assignments on them count.
	ManagementGroups []string `json:"managementGroups,omitempty"`
	// Identity is how the connector authenticates (notes only).
	Identity IdentityKind `json:"identity,omitempty"`
	// VisibleSubscriptions are the subscriptions ARM lists for the
	// identity: those where it holds any role, at the subscription, above
	// it or on anything inside it. ARM lets such an identity read the
	// subscription itself whatever its roles grant, so
	// Microsoft.Resources/subscriptions/read is not missing there.
	VisibleSubscriptions []string `json:"visibleSubscriptions,omitempty"`
}

// subscriptionRead is the action ARM grants by visibility.
const subscriptionRead = "Microsoft.Resources/subscriptions/read"

// Status is a capability's outcome.
type Status string

// The statuses.
const (
	StatusAllowed Status = "ALLOWED"
	StatusDenied  Status = "DENIED"
	StatusUnknown Status = "UNKNOWN" // nothing was known at the grant scope
)

// Verdict is the outcome for one capability.
type Verdict struct {
	Capability string `json:"capability"`
	Status     Status `json:"status"`
	// Scope is where the capability must be granted, and where it was
	// evaluated.
	Scope string `json:"scope"`
	// Source says what decided: "effective permissions" or "role
	// assignments".
	Source             string   `json:"source,omitempty"`
	MissingActions     []string `json:"missingActions,omitempty"`
	MissingDataActions []string `json:"missingDataActions,omitempty"`
	// GrantedBy names the roles (from the assignments) that grant some of
	// the capability's operations at Scope, when assignments are known.
	GrantedBy []string `json:"grantedBy,omitempty"`
	// Fix is the smallest built-in role granting what is missing and where
	// to assign it.
	Fix      *Fix      `json:"fix,omitempty"`
	Mistakes []Mistake `json:"mistakes,omitempty"`
	Notes    []string  `json:"notes,omitempty"`
}

// Fix is a role assignment that would grant what is missing.
type Fix struct {
	Role  RoleChoice `json:"role"`
	Scope string     `json:"scope"`
	// Why says how the role was chosen.
	Why string `json:"why"`
}

// MistakeKind names a common mistake; the strings are stable.
type MistakeKind string

// The mistakes recognised.
const (
	// A role that would grant what is missing is assigned below the scope
	// where it is needed (Reader on a registry when listing needs the
	// subscription).
	MistakeScopeTooNarrow MistakeKind = "SCOPE_TOO_NARROW"
	// ... assigned on a sibling scope in the same subscription (another
	// resource group or resource).
	MistakeOtherScope MistakeKind = "OTHER_SCOPE"
	// ... assigned in another subscription.
	MistakeOtherSubscription MistakeKind = "OTHER_SUBSCRIPTION"
	// ... assigned in another tenant.
	MistakeOtherTenant MistakeKind = "OTHER_TENANT"
	// AcrPull (or AcrPush) where Reader is needed.
	MistakeAcrPullInsteadOfReader MistakeKind = "ACRPULL_INSTEAD_OF_READER"
	// Reader where the AKS Cluster User Role is needed.
	MistakeReaderInsteadOfAKSUserRole MistakeKind = "READER_INSTEAD_OF_AKS_USER_ROLE"
	// The AKS user role where admin credentials are asked.
	MistakeUserRoleInsteadOfAdminRole MistakeKind = "USER_ROLE_INSTEAD_OF_ADMIN_ROLE"
	// A control-plane role (Owner, Contributor, the AKS credential roles)
	// where Kubernetes data actions are needed.
	MistakeControlPlaneRoleForDataActions MistakeKind = "CONTROL_PLANE_ROLE_FOR_DATA_ACTIONS"
	// Contributor where blueprint assignments are written.
	MistakeContributorCannotAssignBlueprints MistakeKind = "CONTRIBUTOR_CANNOT_ASSIGN_BLUEPRINTS"
)

// Mistake is a recognised mistake in the identity's role assignments.
type Mistake struct {
	Kind    MistakeKind `json:"kind"`
	Message string      `json:"message"`
	// Role and AssignedAt identify the assignment concerned.
	Role       string `json:"role,omitempty"`
	AssignedAt string `json:"assignedAt,omitempty"`
}

// Report is the outcome of Check.
type Report struct {
	Scope    string    `json:"scope"`
	Allowed  bool      `json:"allowed"` // every capability allowed
	Verdicts []Verdict `json:"verdicts"`
	// Fixes groups what is missing by grant scope: for each scope, the
	// smallest built-in role(s) granting everything missing there.
	Fixes []Fix `json:"fixes,omitempty"`
}

// RequiredScopes returns, for capabilities (ids or aliases) at target, the
// distinct scopes where they must be granted: where a caller should read
// Microsoft.Authorization/permissions before calling Check.
func RequiredScopes(capabilities []string, target string) ([]string, error) {
	t, err := ParseScope(target)
	if err != nil {
		return nil, err
	}
	ids, err := Resolve(capabilities, t)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, id := range ids {
		s, _, err := byID[id].GrantScope(t)
		if err != nil {
			return nil, err
		}
		if !slices.ContainsFunc(out, func(o string) bool { return strings.EqualFold(o, s.String()) }) {
			out = append(out, s.String())
		}
	}
	return out, nil
}

// resolvedAssignment is an Assignment with its scope parsed and its
// permissions known.
type resolvedAssignment struct {
	a     Assignment
	scope Scope
	name  string // role name for messages
	set   *Set
	perms []Permission
}

func resolveAssignments(in []Assignment) ([]resolvedAssignment, error) {
	var out []resolvedAssignment
	for i, a := range in {
		sc, err := ParseScope(a.Scope)
		if err != nil {
			return nil, fmt.Errorf("assignments[%d]: %w", i, err)
		}
		r := resolvedAssignment{a: a, scope: sc, name: a.RoleName, perms: a.Permissions}
		if b := builtinRef(a.RoleDefinitionID); b != nil && a.RoleDefinitionID != "" {
			if r.name == "" {
				r.name = b.Name
			}
			if len(r.perms) == 0 {
				r.perms = b.Permissions
			}
		} else if b := builtinRef(a.RoleName); b != nil && a.RoleName != "" && len(r.perms) == 0 {
			r.perms = b.Permissions
		}
		if r.name == "" {
			r.name = a.RoleDefinitionID
		}
		if r.name == "" {
			return nil, failure.InvalidField(fmt.Sprintf("assignments[%d]", i), "needs a roleDefinitionId or a roleName")
		}
		r.set = Compile(r.perms)
		out = append(out, r)
	}
	return out, nil
}

func (r resolvedAssignment) known() bool { return len(r.perms) > 0 }

func (r resolvedAssignment) inTenant(tenant string) bool {
	return tenant == "" || r.a.TenantID == "" || strings.EqualFold(r.a.TenantID, tenant)
}

// Check evaluates every capability of req and returns one verdict each.
// Errors are failure.Invalid for a bad scope, an unknown capability or a
// malformed assignment.
func Check(req Request) (*Report, error) {
	target, err := ParseScope(req.Scope)
	if err != nil {
		return nil, err
	}
	ids, err := Resolve(req.Capabilities, target)
	if err != nil {
		return nil, err
	}
	effective := map[string]*Set{}
	for i, e := range req.Effective {
		sc, err := ParseScope(e.Scope)
		if err != nil {
			return nil, fmt.Errorf("effective[%d]: %w", i, err)
		}
		key := strings.ToLower(sc.String())
		if prev, ok := effective[key]; ok {
			// Two reads of the same scope: their union.
			prev.entries = append(prev.entries, Compile(e.Permissions).entries...)
			continue
		}
		effective[key] = Compile(e.Permissions)
	}
	assignments, err := resolveAssignments(req.Assignments)
	if err != nil {
		return nil, err
	}
	rep := &Report{Scope: target.String(), Allowed: true}
	for _, id := range ids {
		v, err := checkOne(byID[id], target, req, effective, assignments)
		if err != nil {
			return nil, err
		}
		if v.Status != StatusAllowed {
			rep.Allowed = false
		}
		rep.Verdicts = append(rep.Verdicts, v)
	}
	rep.Fixes = groupFixes(rep.Verdicts)
	return rep, nil
}

func checkOne(c *Capability, target Scope, req Request, effective map[string]*Set, assignments []resolvedAssignment) (Verdict, error) {
	scope, scopeNote, err := c.GrantScope(target)
	if err != nil {
		return Verdict{}, err
	}
	v := Verdict{Capability: c.ID, Scope: scope.String()}
	if scopeNote != "" {
		v.Notes = append(v.Notes, scopeNote)
	}
	mgs := req.ManagementGroups
	if scope.Level() < LevelSubscription {
		mgs = nil
	}
	// Who grants at the scope, per the assignments.
	var applying []resolvedAssignment
	unknownRoles := false
	for _, a := range assignments {
		if a.inTenant(req.TenantID) && a.scope.Contains(scope, mgs) {
			applying = append(applying, a)
			if !a.known() {
				unknownRoles = true
			}
		}
	}
	ops := c.Operations()
	var set *Set
	switch {
	case effective[strings.ToLower(scope.String())] != nil:
		set, v.Source = effective[strings.ToLower(scope.String())], "effective permissions"
	case len(req.Assignments) > 0 || req.AssignmentsListed:
		var perms []Permission
		for _, a := range applying {
			perms = append(perms, a.perms...)
		}
		set, v.Source = Compile(perms), "role assignments"
		if unknownRoles {
			v.Notes = append(v.Notes, "some role assignments name custom roles whose permissions were not given; they were counted as granting nothing")
		}
		if scope.Level() >= LevelSubscription && len(mgs) == 0 && slices.ContainsFunc(assignments, func(a resolvedAssignment) bool {
			return a.scope.Level() == LevelManagementGroup && a.inTenant(req.TenantID)
		}) {
			v.Notes = append(v.Notes, fmt.Sprintf("roles assigned on management groups were not counted: which management groups %s sits in was not given, and a role inherited from one of them may grant what is missing here", scope))
		}
	default:
		v.Status = StatusUnknown
		v.Notes = append(v.Notes, fmt.Sprintf("nothing is known of the identity's permissions at %s: read Microsoft.Authorization/permissions there", scope))
		v.Notes = append(v.Notes, c.Notes...)
		return v, nil
	}
	for _, a := range applying {
		if a.known() && slices.ContainsFunc(ops, a.set.Allows) && !slices.Contains(v.GrantedBy, a.name) {
			v.GrantedBy = append(v.GrantedBy, a.name)
		}
		if a.a.Condition != "" {
			v.Notes = append(v.Notes, fmt.Sprintf("the %s assignment at %s carries an ABAC condition, which is not evaluated here", a.name, a.scope))
		}
	}
	missing := set.Missing(ops)
	if sub := scope.SubscriptionID(); sub != "" && slices.ContainsFunc(req.VisibleSubscriptions, func(v string) bool { return strings.EqualFold(v, sub) }) {
		before := len(missing)
		missing = slices.DeleteFunc(missing, func(op Operation) bool { return !op.Data && strings.EqualFold(op.Name, subscriptionRead) })
		if len(missing) < before {
			v.Notes = append(v.Notes, fmt.Sprintf("%s is not granted by a role at %s, but ARM shows a subscription to every identity holding a role in it, so the identity can read it.", subscriptionRead, scope))
		}
	}
	for _, op := range missing {
		if op.Data {
			v.MissingDataActions = append(v.MissingDataActions, op.Name)
		} else {
			v.MissingActions = append(v.MissingActions, op.Name)
		}
	}
	if len(missing) == 0 {
		v.Status = StatusAllowed
		v.Notes = append(v.Notes, identityNotes(c, req.Identity)...)
		return v, nil
	}
	v.Status = StatusDenied
	v.Fix = fixFor([]*Capability{c}, missing, scope)
	v.Mistakes = diagnose(c, scope, missing, req.TenantID, mgs, assignments)
	v.Notes = append(v.Notes, c.Notes...)
	v.Notes = append(v.Notes, identityNotes(c, req.Identity)...)
	return v, nil
}

// fixFor chooses the smallest built-in role granting missing (see
// SmallestRole); open-ended capabilities restrict the choice to their
// named roles.
func fixFor(caps []*Capability, missing []Operation, scope Scope) *Fix {
	var among []string
	restricted := false
	for _, c := range caps {
		if !c.OpenEnded {
			continue
		}
		if !restricted {
			among, restricted = slices.Clone(c.Roles), true
			continue
		}
		among = slices.DeleteFunc(among, func(r string) bool { return !slices.Contains(c.Roles, r) })
	}
	why := "the built-in role granting every missing operation that grants the fewest operations overall"
	if restricted && len(among) > 0 {
		why = "among the roles recommended for this use (the real operation needs more than the operations listed), the one granting the fewest operations overall"
	} else {
		among = nil
	}
	choice, ok := SmallestRole(missing, among)
	if !ok && among != nil {
		choice, ok = SmallestRole(missing, nil)
	}
	if !ok {
		return nil
	}
	return &Fix{Role: choice, Scope: scope.String(), Why: why}
}

// chooseRoles picks built-in roles granting missing at scope for caps: one
// role when one suffices, unless a pair — a read-only role for the reads
// and the smallest role for the rest — grants it all with less (Reader
// and Blueprint Operator rather than Owner); else the roles chosen for
// each capability's share, without those the others make redundant.
func chooseRoles(caps []*Capability, missing []Operation, scope Scope) []Fix {
	if f := fixFor(caps, missing, scope); f != nil {
		if pair := readWriteSplit(caps, missing, scope); len(pair) == 2 && pair[0].Role.Breadth+pair[1].Role.Breadth < f.Role.Breadth {
			return pair
		}
		return []Fix{*f}
	}
	return perCapability(caps, missing, scope)
}

// readWriteSplit is the read-only role granting missing's reads and the
// role granting its other operations, when both exist and neither makes
// the other redundant.
func readWriteSplit(caps []*Capability, missing []Operation, scope Scope) []Fix {
	var reads, rest []Operation
	for _, op := range missing {
		if isRead(op) {
			reads = append(reads, op)
		} else {
			rest = append(rest, op)
		}
	}
	if len(reads) == 0 || len(rest) == 0 {
		return nil
	}
	w := fixFor(caps, rest, scope)
	if w == nil || len(Compile(builtinRef(w.Role.ID).Permissions).Missing(reads)) == 0 {
		return nil // one role already does it all
	}
	r := fixFor(caps, reads, scope)
	if r == nil {
		return nil
	}
	why := "a read-only role for the reads and the role granting the fewest operations for the rest: together they grant less than any one built-in role granting everything missing"
	r.Why, w.Why = why, why
	return []Fix{*r, *w}
}

// perCapability is the roles chosen for each capability's share of
// missing, without those the others make redundant.
func perCapability(caps []*Capability, missing []Operation, scope Scope) []Fix {
	var fixes []Fix
	for _, c := range caps {
		var share []Operation
		for _, op := range c.Operations() {
			if slices.ContainsFunc(missing, func(m Operation) bool { return m.Data == op.Data && strings.EqualFold(m.Name, op.Name) }) {
				share = append(share, op)
			}
		}
		if len(share) == 0 {
			continue
		}
		if f := fixFor([]*Capability{c}, share, scope); f != nil {
			fixes = appendFix(fixes, *f)
		}
	}
	// Drop a role when the others already grant everything missing,
	// broadest first.
	sort.SliceStable(fixes, func(i, j int) bool { return fixes[i].Role.Breadth > fixes[j].Role.Breadth })
	for i := 0; i < len(fixes); {
		var perms []Permission
		for j, f := range fixes {
			if j != i {
				perms = append(perms, builtinRef(f.Role.ID).Permissions...)
			}
		}
		if len(fixes) > 1 && len(Compile(perms).Missing(missing)) == 0 {
			fixes = slices.Delete(fixes, i, i+1)
			continue
		}
		i++
	}
	sort.SliceStable(fixes, func(i, j int) bool { return fixes[i].Role.Breadth < fixes[j].Role.Breadth })
	return fixes
}

// groupFixes merges what is missing per grant scope into as few built-in
// role assignments as possible.
func groupFixes(vs []Verdict) []Fix {
	type group struct {
		scope   Scope
		caps    []*Capability
		missing []Operation
	}
	var groups []*group
	for _, v := range vs {
		if v.Status != StatusDenied {
			continue
		}
		sc := MustParseScope(v.Scope)
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
		g.caps = append(g.caps, byID[v.Capability])
		for _, a := range v.MissingActions {
			g.missing = appendOp(g.missing, Operation{Name: a})
		}
		for _, a := range v.MissingDataActions {
			g.missing = appendOp(g.missing, Operation{Name: a, Data: true})
		}
	}
	fixes := make([][]Fix, len(groups))
	for i, g := range groups {
		fixes[i] = chooseRoles(g.caps, g.missing, g.scope)
	}
	// A group needs no assignment of its own when a role assigned for a
	// broader group already grants what it misses (Reader on the
	// subscription covers the registry's Reader).
	var out []Fix
	for i, g := range groups {
		covered := false
		for j, h := range groups {
			if i == j || h.scope.Equal(g.scope) || !h.scope.Contains(g.scope, nil) {
				continue
			}
			var perms []Permission
			for _, f := range fixes[j] {
				if r := builtinRef(f.Role.ID); r != nil {
					perms = append(perms, r.Permissions...)
				}
			}
			if len(perms) > 0 && len(Compile(perms).Missing(g.missing)) == 0 {
				covered = true
				break
			}
		}
		if !covered {
			out = append(out, fixes[i]...)
		}
	}
	return out
}

func appendOp(ops []Operation, op Operation) []Operation {
	for _, o := range ops {
		if o.Data == op.Data && strings.EqualFold(o.Name, op.Name) {
			return ops
		}
	}
	return append(ops, op)
}

func appendFix(fs []Fix, f Fix) []Fix {
	for _, x := range fs {
		if x.Role.ID == f.Role.ID && x.Scope == f.Scope {
			return fs
		}
	}
	return append(fs, f)
}

// identityNotes are the seed's notes on managed identities and AKS.
func identityNotes(c *Capability, kind IdentityKind) []string {
	if !strings.HasPrefix(c.ID, "aks.") && !strings.HasPrefix(c.ID, "acr.") {
		return nil
	}
	switch kind {
	case IdentitySystemAssigned:
		if strings.HasPrefix(c.ID, "aks.") {
			return []string{
				"A system-assigned identity on a delegate running in AKS is the cluster's kubelet identity (<cluster>-agentpool): that is the identity that needs these roles, and AcrPull on the registry for image pulls; the cluster's control-plane identity (<cluster>) needs Reader on the cluster.",
				"Pod-assigned managed identities and the system-assigned identity cannot both be used on one cluster.",
			}
		}
		return []string{"A system-assigned identity on a delegate running in AKS is the cluster's kubelet identity (<cluster>-agentpool): grant the roles to it."}
	case IdentityUserAssigned:
		if strings.HasPrefix(c.ID, "aks.") {
			return []string{"Pod-assigned managed identities and the system-assigned identity cannot both be used on one cluster."}
		}
	}
	return nil
}

// diagnose recognises the usual mistakes among the assignments.
func diagnose(c *Capability, scope Scope, missing []Operation, tenant string, mgs []string, assignments []resolvedAssignment) []Mistake {
	var out []Mistake
	add := func(m Mistake) {
		for _, x := range out {
			if x.Kind == m.Kind && x.Role == m.Role && x.AssignedAt == m.AssignedAt {
				return
			}
		}
		out = append(out, m)
	}
	hasData := slices.ContainsFunc(missing, func(op Operation) bool { return op.Data })
	for _, a := range assignments {
		applies := a.inTenant(tenant) && a.scope.Contains(scope, mgs)
		// Relevant: it applies, or it sits below the grant scope (the
		// classic AcrPull on the registry when the subscription is needed).
		relevant := applies || (a.inTenant(tenant) && scope.Contains(a.scope, nil))
		where := a.scope.String()
		if relevant {
			for _, cf := range c.confusions {
				if strings.EqualFold(cf.role, a.name) {
					add(Mistake{Kind: cf.kind, Role: a.name, AssignedAt: where,
						Message: fmt.Sprintf("%s at %s %s.", a.name, where, cf.message)})
				}
			}
			if hasData && a.known() && !roleHasDataActions(a.perms) &&
				a.set.Allows(Operation{Name: aksClusters + "/read"}) && strings.HasPrefix(c.ID, "aks.") {
				add(Mistake{Kind: MistakeControlPlaneRoleForDataActions, Role: a.name, AssignedAt: where,
					Message: fmt.Sprintf("%s at %s grants control-plane actions only: a cluster using Azure RBAC for Kubernetes authorization checks data actions (Microsoft.ContainerService/managedClusters/...), which an \"Azure Kubernetes Service RBAC\" role grants.", a.name, where)})
			}
		}
		if applies {
			continue
		}
		if !a.known() || !slices.ContainsFunc(missing, a.set.Allows) {
			continue
		}
		// The role would help, but it is assigned elsewhere.
		m := Mistake{Role: a.name, AssignedAt: where}
		switch {
		case !a.inTenant(tenant):
			m.Kind = MistakeOtherTenant
			m.Message = fmt.Sprintf("%s is assigned at %s in tenant %s, but %s is in tenant %s: role assignments do not cross tenants; assign it in %s.", a.name, where, a.a.TenantID, scope, tenant, tenant)
		case a.scope.SubscriptionID() != "" && scope.SubscriptionID() != "" && a.scope.SubscriptionID() != scope.SubscriptionID():
			m.Kind = MistakeOtherSubscription
			m.Message = fmt.Sprintf("%s is assigned at %s, in subscription %s, but %s needs it in subscription %s.", a.name, where, a.scope.SubscriptionID(), c.ID, scope.SubscriptionID())
		case a.scope.Level() == LevelManagementGroup && len(mgs) == 0:
			m.Kind = MistakeOtherScope
			m.Message = fmt.Sprintf("%s is assigned on management group %s; whether %s is under it is not known here (the management groups above the subscription were not given).", a.name, a.scope.ManagementGroup(), scope)
		case scope.Contains(a.scope, nil):
			m.Kind = MistakeScopeTooNarrow
			m.Message = fmt.Sprintf("%s is assigned at %s (a %s), but %s needs it at %s (the %s) or above: %s.", a.name, where, a.scope.Level(), c.ID, scope, scope.Level(), c.LevelReason)
		default:
			m.Kind = MistakeOtherScope
			m.Message = fmt.Sprintf("%s is assigned at %s, which does not cover %s where %s needs it.", a.name, where, scope, c.ID)
		}
		add(m)
	}
	return out
}

func roleHasDataActions(perms []Permission) bool {
	for _, p := range perms {
		if len(p.DataActions) > 0 {
			return true
		}
	}
	return false
}
