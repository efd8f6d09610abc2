package ops

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armsubscriptions"

	"github.com/azimuthcd/azimuth/internal/azure"
	"github.com/azimuthcd/azimuth/internal/failure"
	"github.com/azimuthcd/azimuth/internal/permission"
)

// PermissionsCheckTimeout bounds the Azure calls of one check.
const PermissionsCheckTimeout = 90 * time.Second

// permissionsAPIVersion is the Microsoft.Authorization API version of the
// effective-permissions reads (the one armauthorization v2 uses).
const permissionsAPIVersion = "2022-04-01"

// maxOtherSubscriptions bounds the other subscriptions whose role
// assignments are listed to recognise "assigned in the wrong subscription".
const maxOtherSubscriptions = 10

// PermissionsCheckParams are the parameters of permissions.check (and the
// optional part of the connection test): the scope checked and the
// capabilities (ids or aliases, see internal/permission).
type PermissionsCheckParams struct {
	Scope        string   `json:"scope"`
	Capabilities []string `json:"capabilities"`
}

// PermissionsCheckResult is the outcome of permissions.check: the identity
// checked, one verdict per capability (permission.Report: scope, allowed,
// verdicts, fixes), and what was read from Azure to decide.
type PermissionsCheckResult struct {
	Identity       *azure.Identity `json:"identity,omitempty"`
	CredentialType string          `json:"credentialType,omitempty"`
	*permission.Report
	// Reads are the Azure reads the verdicts rest on, in order.
	Reads []PermissionRead `json:"reads"`
	Notes []string         `json:"notes,omitempty"`
	// Unscoped names the capabilities a deep connection test did not
	// check because no scope was given and they are granted below the
	// subscription it defaulted to (their verdicts are UNKNOWN).
	Unscoped []string `json:"unscoped,omitempty"`
}

// PermissionRead is one read: the effective permissions at a scope
// (Microsoft.Authorization/permissions) or the identity's role assignments
// (Microsoft.Authorization/roleAssignments) in a subscription.
type PermissionRead struct {
	Scope  string `json:"scope"`
	Source string `json:"source"` // "permissions" or "roleAssignments"
	// Entries counts the permission entries or assignments read.
	Entries int `json:"entries"`
	// Reason and Message say why the read failed (Azimuth's reason).
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
}

// Read sources.
const (
	sourcePermissions     = "permissions"
	sourceRoleAssignments = "roleAssignments"
)

// PermissionsCheck is permissions.check: for the connector's identity, read
// its effective permissions at the scope (and where each capability must be
// granted), its role assignments when it may list them, and decide per
// capability with internal/permission. Azure refusing a read is part of the
// answer, not a task failure; bad parameters and an identity that cannot
// authenticate are failures.
func PermissionsCheck(ctx context.Context, env *Env, in Input) (any, error) {
	if env == nil || env.Azure == nil {
		return nil, failure.New(failure.Internal, "permissions.check: the executor environment has no Azure factory")
	}
	if in.Connector == nil {
		return nil, failure.New(failure.Invalid, "permissions.check needs a connector")
	}
	var p PermissionsCheckParams
	if err := decodeParams(in.Params, &p); err != nil {
		return nil, err
	}
	if err := p.validate(); err != nil {
		return nil, err
	}
	cred, err := env.Azure.Credential(in.Connector, in.Secrets, in.CredentialKey)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, PermissionsCheckTimeout)
	defer cancel()
	id, err := cred.Identity(ctx)
	if err != nil {
		return nil, err
	}
	res, err := checkPermissions(ctx, env, in, cred, id, p)
	if err != nil {
		return nil, err
	}
	env.logger().Info("permissions check", "task", in.TaskID, "connector", in.Connector, "scope", res.Scope, "allowed", res.Allowed)
	return res, nil
}

// validate checks the scope and capabilities before anything is read.
func (p *PermissionsCheckParams) validate() error {
	var fs failure.Fields
	sc, err := permission.ParseScope(p.Scope)
	if err != nil {
		fs.Add("scope", "%s", permFieldText(err))
	}
	if len(p.Capabilities) == 0 {
		fs.Add("capabilities", "name at least one capability or alias (acr, aks, webapp, vm, arm, blueprint, base, ...)")
	} else {
		if sc.IsZero() {
			// The names are checked all the same ("arm" then stands for
			// any deployment capability).
			sc = permission.TenantScope()
		}
		if _, err := permission.Resolve(p.Capabilities, sc); err != nil {
			fs.Add("capabilities", "%s", permFieldText(err))
		}
	}
	return fs.Err()
}

func permFieldText(err error) string {
	if fe, ok := failure.As(err); ok {
		if len(fe.Fields) > 0 {
			return fe.Fields[0].Message
		}
		if fe.Message != "" {
			return fe.Message
		}
	}
	return err.Error()
}

// checkPermissions reads what Azure says of id at p.Scope and evaluates it.
func checkPermissions(ctx context.Context, env *Env, in Input, cred *azure.Credential, id *azure.Identity, p PermissionsCheckParams) (*PermissionsCheckResult, error) {
	target, err := permission.ParseScope(p.Scope)
	if err != nil {
		return nil, err
	}
	grants, err := permission.RequiredScopes(p.Capabilities, p.Scope)
	if err != nil {
		return nil, err
	}
	rd, err := newRBACReader(cred)
	if err != nil {
		return nil, err
	}
	res := &PermissionsCheckResult{Identity: id, CredentialType: string(cred.Kind), Reads: []PermissionRead{}}
	req := permission.Request{Scope: target.String(), Capabilities: p.Capabilities, TenantID: id.TenantID, Identity: permIdentityKind(cred.Kind)}

	// Effective permissions: along the target's chain (subscription,
	// resource group, resource...) and at every grant scope.
	scopes := scopeChain(target)
	for _, g := range grants {
		if !slices.ContainsFunc(scopes, func(s permission.Scope) bool { return strings.EqualFold(s.String(), g) }) {
			scopes = append(scopes, permission.MustParseScope(g))
		}
	}
	// Role assignments, where the identity may list them, name the roles
	// and where they are assigned when that is the mistake. At the tenant
	// root ("/") only the effective permissions are read: the SDK cannot
	// address role assignments there, and they are rare (elevated access).
	listScope := target
	if target.Level() >= permission.LevelSubscription {
		listScope, _ = target.Up(permission.LevelSubscription)
	}
	list := listScope.Level() != permission.LevelTenant

	// The reads are independent: they run at once.
	type permRead struct {
		perms []permission.Permission
		err   error
	}
	perms := make([]permRead, len(scopes))
	var assigned []permission.Assignment
	var assignErr, subsErr error
	var wg sync.WaitGroup
	for i, sc := range scopes {
		wg.Go(func() {
			p, err := rd.permissions(ctx, sc.String())
			perms[i] = permRead{p, err}
		})
	}
	if list {
		wg.Go(func() { assigned, assignErr = rd.assignments(ctx, listScope.String(), id.ObjectID, id.TenantID) })
	}
	wg.Go(func() { _, subsErr = rd.subscriptions(ctx) })
	wg.Wait()
	if ctx.Err() != nil {
		return nil, failure.Wrap(failure.KindOf(ctx.Err()), ctx.Err(), "permissions check")
	}

	read := map[string][]permission.Permission{}
	var wrongTenant *azure.Error
	for i, sc := range scopes {
		r := PermissionRead{Scope: sc.String(), Source: sourcePermissions, Entries: len(perms[i].perms)}
		logf(in.Log, "effective permissions at %s: %d entries", sc, len(perms[i].perms))
		if err := perms[i].err; err != nil {
			e := cred.Classify(err)
			r.Reason, r.Message = string(e.Reason), e.Message
			if e.Code == "InvalidAuthenticationTokenTenant" && wrongTenant == nil {
				wrongTenant = e
			}
			logf(in.Log, "  %s: %s", e.Reason, e.Message)
		} else {
			read[strings.ToLower(sc.String())] = perms[i].perms
			req.Effective = append(req.Effective, permission.ScopedPermissions{Scope: sc.String(), Permissions: perms[i].perms})
		}
		res.Reads = append(res.Reads, r)
	}
	var listed bool
	if list && wrongTenant == nil {
		r := PermissionRead{Scope: listScope.String(), Source: sourceRoleAssignments, Entries: len(assigned)}
		logf(in.Log, "role assignments of %s at %s: %d", id.ObjectID, listScope, len(assigned))
		if assignErr != nil {
			e := cred.Classify(assignErr)
			r.Reason, r.Message, r.Entries = string(e.Reason), e.Message, 0
			logf(in.Log, "  %s: %s", e.Reason, e.Message)
		} else {
			listed = true
			req.Assignments, req.AssignmentsListed = assigned, true
			if listScope.Level() == permission.LevelSubscription {
				req.ManagementGroups = managementGroupsAbove(assigned)
			}
		}
		res.Reads = append(res.Reads, r)
	}
	allRead := true
	for _, g := range grants {
		if _, ok := read[strings.ToLower(g)]; !ok {
			allRead = false
		}
	}
	if !listed && allRead && wrongTenant == nil {
		// The roles behind the effective permissions, recognised among the
		// built-in roles: enough to name AcrPull on a registry when Reader
		// on the subscription is needed.
		if inferred := inferAssignments(scopeChain(target), read); len(inferred) > 0 {
			req.Assignments = inferred
			res.Notes = append(res.Notes, "The identity may not list its role assignments (Microsoft.Authorization/roleAssignments/read); the roles named in the verdicts were recognised from its effective permissions along the scope's path.")
		}
	}
	if wrongTenant != nil {
		// Nothing is granted to this identity there: its tenant's roles do
		// not reach a subscription of another tenant.
		req.Effective, req.Assignments, req.AssignmentsListed = nil, nil, false
		for _, g := range grants {
			req.Effective = append(req.Effective, permission.ScopedPermissions{Scope: g})
		}
	}

	if wrongTenant == nil && subsErr == nil {
		// ARM shows a subscription to anyone holding a role in it.
		req.VisibleSubscriptions = rd.subs
	}
	rep, err := permission.Check(req)
	if err != nil {
		return nil, err
	}
	if !rep.Allowed && allRead && wrongTenant == nil && target.Level() >= permission.LevelSubscription {
		// Look for the missing roles in the identity's other subscriptions.
		if others := otherAssignments(ctx, in, rd, target.SubscriptionID(), id); len(others) > 0 {
			req.Assignments = append(req.Assignments, others...)
			if rep, err = permission.Check(req); err != nil {
				return nil, err
			}
		}
	}
	if wrongTenant != nil {
		tenantMistake(rep, wrongTenant, id.TenantID)
	}
	res.Report = rep
	for _, v := range rep.Verdicts {
		switch v.Status {
		case permission.StatusAllowed:
			logf(in.Log, "%s: allowed at %s", v.Capability, v.Scope)
		case permission.StatusDenied:
			logf(in.Log, "%s: denied at %s: missing %s", v.Capability, v.Scope, strings.Join(append(slices.Clone(v.MissingActions), v.MissingDataActions...), ", "))
		default:
			logf(in.Log, "%s: unknown at %s", v.Capability, v.Scope)
		}
	}
	return res, nil
}

// managementGroupsAbove names the management groups of the assignments
// listed at a subscription. ARM lists there the assignments at the
// subscription, below it and above it — and above it means the tenant root
// and the management groups the subscription sits in — so every
// management-group assignment of that list is on an ancestor of the
// subscription. Reading the hierarchy itself (Microsoft.Management) would
// need a role on the groups; this needs none beyond listing assignments.
// Ancestors on which the identity holds no role stay unknown, which does
// not matter: only assignments make a group count.
func managementGroupsAbove(assigned []permission.Assignment) []string {
	var out []string
	for _, a := range assigned {
		sc, err := permission.ParseScope(a.Scope)
		if err != nil || sc.Level() != permission.LevelManagementGroup {
			continue
		}
		if !slices.ContainsFunc(out, func(m string) bool { return strings.EqualFold(m, sc.ManagementGroup()) }) {
			out = append(out, sc.ManagementGroup())
		}
	}
	return out
}

// chainOf is target's path from its subscription down (for targets above a
// subscription: target alone).
func scopeChain(target permission.Scope) []permission.Scope {
	var out []permission.Scope
	for s := target; !s.IsZero() && s.Level() >= permission.LevelSubscription; s = s.Parent() {
		out = append(out, s)
		if s.Level() == permission.LevelSubscription {
			break
		}
	}
	if len(out) == 0 {
		return []permission.Scope{target}
	}
	slices.Reverse(out)
	return out
}

func permIdentityKind(k azure.Kind) permission.IdentityKind {
	switch k {
	case azure.KindClientSecret, azure.KindClientCertificate:
		return permission.IdentityServicePrincipal
	case azure.KindSystemAssignedIdentity:
		return permission.IdentitySystemAssigned
	case azure.KindUserAssignedIdentity:
		return permission.IdentityUserAssigned
	}
	return permission.IdentityUnknown
}

var tenantInMessageRE = regexp.MustCompile(`associated with this subscription[^']*'https?://[^/]+/([0-9a-fA-F-]{36})/?'`)
var tenantAuthorityRE = regexp.MustCompile(`login\.windows\.net/([0-9a-fA-F-]{36})`)

// tenantMistake names the wrong-tenant mistake on every verdict.
func tenantMistake(rep *permission.Report, e *azure.Error, ours string) {
	other := ""
	if m := tenantInMessageRE.FindStringSubmatch(e.Message); m != nil {
		other = m[1]
	} else if m := tenantAuthorityRE.FindStringSubmatch(e.Message); m != nil {
		other = m[1]
	}
	where := "another tenant"
	if other != "" {
		where = "tenant " + other
	}
	for i := range rep.Verdicts {
		v := &rep.Verdicts[i]
		sub := permission.MustParseScope(v.Scope).SubscriptionID()
		msg := fmt.Sprintf("Subscription %s belongs to %s, but the connector's identity signs in to tenant %s: roles never cross tenants, so nothing assigned in tenant %s applies there. Point the connector at %s (its tenantId), or check the subscription id.", sub, where, ours, ours, where)
		v.Mistakes = append([]permission.Mistake{{Kind: permission.MistakeOtherTenant, Message: msg, AssignedAt: v.Scope}}, v.Mistakes...)
	}
}

// otherAssignments lists the identity's role assignments in the other
// subscriptions it can see (at most maxOtherSubscriptions), best effort.
func otherAssignments(ctx context.Context, in Input, rd *rbacReader, current string, id *azure.Identity) []permission.Assignment {
	subs, err := rd.subscriptions(ctx)
	if err != nil {
		return nil
	}
	var out []permission.Assignment
	n := 0
	for _, s := range subs {
		if strings.EqualFold(s, current) || n >= maxOtherSubscriptions {
			continue
		}
		n++
		as, err := rd.assignments(ctx, "/subscriptions/"+s, id.ObjectID, id.TenantID)
		if err != nil {
			continue
		}
		logf(in.Log, "%d role assignment(s) in subscription %s", len(as), s)
		out = append(out, as...)
	}
	return out
}

// inferAssignments recognises the roles behind effective permissions:
// entries that appear at a scope of the chain but not at its parent were
// assigned there; an entry equal to a built-in role's permissions is that
// role. Entries at the chain's top are attributed to it (they may come from
// above).
func inferAssignments(chain []permission.Scope, read map[string][]permission.Permission) []permission.Assignment {
	var out []permission.Assignment
	var parent []permission.Permission
	for _, sc := range chain {
		perms, ok := read[strings.ToLower(sc.String())]
		if !ok {
			return out
		}
		left := map[string]int{}
		for _, p := range parent {
			left[permKey(p)]++
		}
		for _, p := range perms {
			k := permKey(p)
			if left[k] > 0 {
				left[k]--
				continue
			}
			a := permission.Assignment{Scope: sc.String(), Permissions: []permission.Permission{p}}
			if r, ok := builtinFor(p); ok {
				a.RoleDefinitionID, a.RoleName = r.ID, r.Name
			} else {
				a.RoleName = "a custom role"
			}
			out = append(out, a)
		}
		parent = perms
	}
	return out
}

func permKey(p permission.Permission) string {
	norm := func(ss []string) string {
		c := make([]string, len(ss))
		for i, s := range ss {
			c[i] = strings.ToLower(s)
		}
		sort.Strings(c)
		return strings.Join(c, ",")
	}
	return norm(p.Actions) + "|" + norm(p.NotActions) + "|" + norm(p.DataActions) + "|" + norm(p.NotDataActions)
}

var builtinKeys = func() map[string]permission.BuiltinRole {
	m := map[string]permission.BuiltinRole{}
	for _, r := range permission.BuiltinRoles() {
		if len(r.Permissions) == 1 {
			k := permKey(r.Permissions[0])
			if _, dup := m[k]; !dup {
				m[k] = r
			}
		}
	}
	return m
}()

func builtinFor(p permission.Permission) (permission.BuiltinRole, bool) {
	r, ok := builtinKeys[permKey(p)]
	return r, ok
}

// rbacReader reads Microsoft.Authorization through the SDK pipeline.
type rbacReader struct {
	cred  *azure.Credential
	raw   *arm.Client
	roles *armauthorization.RoleDefinitionsClient
	// defs caches the custom role definitions read during one check.
	defs map[string]customRoleDef
	subs []string
}

type customRoleDef struct {
	name  string
	perms []permission.Permission
}

func newRBACReader(cred *azure.Credential) (*rbacReader, error) {
	raw, err := azure.Client(cred, "arm.raw.authorization", func(c *azure.Credential) (*arm.Client, error) {
		return arm.NewClient("azimuth/permissions", "v1.0.0", c, c.ARMOptions())
	})
	if err != nil {
		return nil, fmt.Errorf("authorization client: %w", err)
	}
	roles, err := azure.Client(cred, "armauthorization.roledefinitions", func(c *azure.Credential) (*armauthorization.RoleDefinitionsClient, error) {
		return armauthorization.NewRoleDefinitionsClient(c, c.ARMOptions())
	})
	if err != nil {
		return nil, fmt.Errorf("role definitions client: %w", err)
	}
	return &rbacReader{cred: cred, raw: raw, roles: roles, defs: map[string]customRoleDef{}}, nil
}

// permissions reads GET {scope}/providers/Microsoft.Authorization/permissions,
// every page. It works at any scope (the SDK's PermissionsClient covers
// resource groups and resources only) and needs no role.
func (r *rbacReader) permissions(ctx context.Context, scope string) ([]permission.Permission, error) {
	endpoint := runtime.JoinPaths(r.raw.Endpoint(), strings.TrimSuffix(scope, "/"), "/providers/Microsoft.Authorization/permissions")
	out := []permission.Permission{}
	next := ""
	for page := 0; page < 100; page++ {
		req, err := runtime.NewRequest(ctx, http.MethodGet, endpoint)
		if next != "" {
			req, err = runtime.NewRequestForNextLink(ctx, http.MethodGet, endpoint, next)
		}
		if err != nil {
			return nil, err
		}
		if next == "" {
			q := req.Raw().URL.Query()
			q.Set("api-version", permissionsAPIVersion)
			req.Raw().URL.RawQuery = q.Encode()
		}
		req.Raw().Header["Accept"] = []string{"application/json"}
		resp, err := r.raw.Pipeline().Do(req)
		if err != nil {
			return nil, err
		}
		if !runtime.HasStatusCode(resp, http.StatusOK) {
			return nil, runtime.NewResponseError(resp)
		}
		var body armauthorization.PermissionGetResult
		if err := runtime.UnmarshalAsJSON(resp, &body); err != nil {
			return nil, fmt.Errorf("decode the permissions at %s: %w", scope, err)
		}
		for _, p := range body.Value {
			if p != nil {
				out = append(out, permissionFromSDK(p))
			}
		}
		if body.NextLink == nil || *body.NextLink == "" {
			return out, nil
		}
		next = *body.NextLink
	}
	return out, nil
}

func permissionFromSDK(p *armauthorization.Permission) permission.Permission {
	strs := func(in []*string) []string {
		out := []string{}
		for _, s := range in {
			if s != nil {
				out = append(out, *s)
			}
		}
		return out
	}
	return permission.Permission{Actions: strs(p.Actions), NotActions: strs(p.NotActions), DataActions: strs(p.DataActions), NotDataActions: strs(p.NotDataActions)}
}

// assignments lists the principal's role assignments at, above and below
// scope, with their roles' permissions (built-in roles from the package's
// table, custom roles read from Azure; an unreadable custom role stays
// without permissions, which Check reports).
func (r *rbacReader) assignments(ctx context.Context, scope, principal, tenant string) ([]permission.Assignment, error) {
	client, err := azure.Client(r.cred, "armauthorization.roleassignments", func(c *azure.Credential) (*armauthorization.RoleAssignmentsClient, error) {
		return armauthorization.NewRoleAssignmentsClient("", c, c.ARMOptions())
	})
	if err != nil {
		return nil, fmt.Errorf("role assignments client: %w", err)
	}
	// The SDK sends $filter unencoded: encode it here.
	filter := strings.ReplaceAll(url.QueryEscape(fmt.Sprintf("principalId eq '%s'", principal)), "+", "%20")
	pager := client.NewListForScopePager(strings.TrimPrefix(scope, "/"), &armauthorization.RoleAssignmentsClientListForScopeOptions{Filter: &filter})
	out := []permission.Assignment{}
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, ra := range page.Value {
			if ra == nil || ra.Properties == nil {
				continue
			}
			p := ra.Properties
			a := permission.Assignment{Scope: deref(p.Scope), RoleDefinitionID: deref(p.RoleDefinitionID), TenantID: tenant, Condition: deref(p.Condition)}
			if a.Scope == "" {
				continue
			}
			if b, ok := permission.LookupBuiltin(a.RoleDefinitionID); ok {
				a.RoleName = b.Name
			} else if name, perms := r.definition(ctx, a.RoleDefinitionID); perms != nil {
				a.RoleName, a.Permissions = name, perms
			}
			out = append(out, a)
		}
	}
	return out, nil
}

// definition reads a custom role definition by its full id, once per check.
func (r *rbacReader) definition(ctx context.Context, id string) (string, []permission.Permission) {
	if id == "" {
		return "", nil
	}
	key := strings.ToLower(id)
	if d, ok := r.defs[key]; ok {
		return d.name, d.perms
	}
	resp, err := r.roles.GetByID(ctx, id, nil)
	if err != nil || resp.Properties == nil {
		return "", nil
	}
	var perms []permission.Permission
	for _, p := range resp.Properties.Permissions {
		if p != nil {
			perms = append(perms, permissionFromSDK(p))
		}
	}
	d := customRoleDef{name: deref(resp.Properties.RoleName), perms: perms}
	r.defs[key] = d
	return d.name, d.perms
}

// subscriptions lists the ids of the subscriptions the identity can see
// (once per check).
func (r *rbacReader) subscriptions(ctx context.Context) ([]string, error) {
	if r.subs != nil {
		return r.subs, nil
	}
	client, err := azure.Client(r.cred, "armsubscriptions", func(c *azure.Credential) (*armsubscriptions.Client, error) {
		return armsubscriptions.NewClient(c, c.ARMOptions())
	})
	if err != nil {
		return nil, err
	}
	var out []string
	pager := client.NewListPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, s := range page.Value {
			if s != nil && s.SubscriptionID != nil {
				out = append(out, *s.SubscriptionID)
			}
		}
	}
	if out == nil {
		out = []string{}
	}
	r.subs = out
	return out, nil
}

var _ Func = PermissionsCheck
