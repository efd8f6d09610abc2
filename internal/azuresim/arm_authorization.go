package azuresim

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// Microsoft.Authorization: role definitions, role assignments and
// effective permissions, at any scope.

const authzProvider = "/providers/Microsoft.Authorization"

func (s *Sim) registerAuthorizationRoutes() {
	s.armRoute(http.MethodGet, "/{scope...}/providers/Microsoft.Authorization/roleDefinitions", "arm.roledefinitions.list", "Microsoft.Authorization/roleDefinitions/read", s.armListRoleDefinitions)
	s.armRoute(http.MethodGet, "/{scope...}/providers/Microsoft.Authorization/roleDefinitions/{roleId}", "arm.roledefinitions.get", "Microsoft.Authorization/roleDefinitions/read", s.armGetRoleDefinition)
	s.armRoute(http.MethodPut, "/{scope...}/providers/Microsoft.Authorization/roleDefinitions/{roleId}", "arm.roledefinitions.put", "Microsoft.Authorization/roleDefinitions/write", s.armPutRoleDefinition)
	s.armRoute(http.MethodGet, "/{scope...}/providers/Microsoft.Authorization/roleAssignments", "arm.roleassignments.list", "Microsoft.Authorization/roleAssignments/read", s.armListRoleAssignments)
	s.armRoute(http.MethodGet, "/{scope...}/providers/Microsoft.Authorization/roleAssignments/{name}", "arm.roleassignments.get", "Microsoft.Authorization/roleAssignments/read", s.armGetRoleAssignment)
	s.armRoute(http.MethodPut, "/{scope...}/providers/Microsoft.Authorization/roleAssignments/{name}", "arm.roleassignments.put", "Microsoft.Authorization/roleAssignments/write", s.armPutRoleAssignment)
	s.armRoute(http.MethodDelete, "/{scope...}/providers/Microsoft.Authorization/roleAssignments/{name}", "arm.roleassignments.delete", "Microsoft.Authorization/roleAssignments/delete", s.armDeleteRoleAssignment)
	s.armRoute(http.MethodGet, "/{scope...}/providers/Microsoft.Authorization/permissions", "arm.permissions.list", "", s.armListPermissions)
}

// resolveScope checks a scope captured from a path: its subscription must
// exist (404 otherwise) and belong to the caller's tenant; then, when
// action is given, the caller must hold it at the scope (403); only then
// must its resource group or management group exist (404), so that a
// caller without access learns nothing of what exists: RBAC before
// existence, as ARM decides. It returns the caller's tenant and the scope
// without a trailing slash.
func (c *armCall) resolveScope(raw, action string) (*Tenant, string, bool) {
	scope := "/" + strings.Trim(raw, "/")
	parts := strings.Split(strings.Trim(scope, "/"), "/")
	c.s.mu.RLock()
	t := c.s.world.tenant(c.caller.TenantID)
	c.s.mu.RUnlock()
	switch {
	case scope == "/":
		if action != "" && !c.authorize(action, scope) {
			return nil, "", false
		}
		return t, scope, true
	case len(parts) >= 2 && strings.EqualFold(parts[0], "subscriptions"):
		c.r = withParam(c.r, "subscriptionId", parts[1])
		if _, _, ok := c.subscription(); !ok {
			return nil, "", false
		}
		if action != "" && !c.authorize(action, scope) {
			return nil, "", false
		}
		if len(parts) >= 4 && strings.EqualFold(parts[2], "resourceGroups") {
			c.s.mu.RLock()
			_, sub := c.s.world.subscription(parts[1])
			g := sub.resourceGroup(parts[3])
			c.s.mu.RUnlock()
			if g == nil {
				c.decided = true
				c.fail(http.StatusNotFound, "ResourceGroupNotFound", fmt.Sprintf("Resource group '%s' could not be found.", parts[3]))
				return nil, "", false
			}
		}
		return t, scope, true
	case len(parts) == 4 && strings.EqualFold(parts[0], "providers") && strings.EqualFold(parts[1], "Microsoft.Management") && strings.EqualFold(parts[2], "managementGroups"):
		if action != "" && !c.authorize(action, scope) {
			return nil, "", false
		}
		c.s.mu.RLock()
		mg := t.managementGroup(parts[3])
		c.s.mu.RUnlock()
		if mg == "" {
			c.decided = true
			c.fail(http.StatusNotFound, "ManagementGroupNotFound", fmt.Sprintf("Management group '%s' could not be found.", parts[3]))
			return nil, "", false
		}
		return t, scope, true
	}
	c.decided = true
	c.fail(http.StatusBadRequest, "InvalidScope", fmt.Sprintf("The scope '%s' is not valid.", scope))
	return nil, "", false
}

// roleDefinitionID is the id ARM gives a role definition listed under a
// scope: subscription-qualified below a subscription, tenant-level above.
func roleDefinitionID(scope, roleID string) string {
	parts := strings.Split(strings.Trim(scope, "/"), "/")
	if len(parts) >= 2 && strings.EqualFold(parts[0], "subscriptions") {
		return "/subscriptions/" + parts[1] + authzProvider + "/roleDefinitions/" + roleID
	}
	return authzProvider + "/roleDefinitions/" + roleID
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func permissionsJSON(perms []Permission) []Permission {
	out := make([]Permission, len(perms))
	for i, p := range perms {
		out[i] = Permission{Actions: nonNil(p.Actions), NotActions: nonNil(p.NotActions), DataActions: nonNil(p.DataActions), NotDataActions: nonNil(p.NotDataActions)}
	}
	return out
}

func roleDefinitionJSON(scope string, rd *RoleDefinition) map[string]any {
	return map[string]any{
		"id":   roleDefinitionID(scope, rd.ID),
		"name": rd.ID,
		"type": "Microsoft.Authorization/roleDefinitions",
		"properties": map[string]any{
			"roleName":         rd.RoleName,
			"type":             rd.Type,
			"description":      rd.Description,
			"assignableScopes": nonNil(rd.AssignableScopes),
			"permissions":      permissionsJSON(rd.Permissions),
			"createdOn":        "2015-02-02T21:55:09.8806423Z",
			"updatedOn":        "2024-01-01T00:00:00.0000000Z",
			"createdBy":        nil,
			"updatedBy":        nil,
		},
	}
}

// roleUsableAt reports whether a role may be assigned at scope: built-ins
// everywhere, custom roles within their assignable scopes.
func (t *Tenant) roleUsableAt(rd *RoleDefinition, scope string) bool {
	for _, as := range rd.AssignableScopes {
		if scopeCovers(as, scope, t.mgAncestors) {
			return true
		}
	}
	return false
}

var roleNameFilterRE = regexp.MustCompile(`(?i)^\s*roleName\s+eq\s+'(.*)'\s*$`)
var typeFilterRE = regexp.MustCompile(`(?i)^\s*type\s+eq\s+'(.*)'\s*$`)

func (s *Sim) armListRoleDefinitions(c *armCall) {
	t, scope, ok := c.resolveScope(c.param("scope"), c.spec.action)
	if !ok {
		return
	}
	filter := c.r.URL.Query().Get("$filter")
	var byName, byType string
	switch {
	case filter == "" || strings.EqualFold(strings.TrimSpace(filter), "atScopeAndBelow()"):
	case roleNameFilterRE.MatchString(filter):
		byName = roleNameFilterRE.FindStringSubmatch(filter)[1]
	case typeFilterRE.MatchString(filter):
		byType = typeFilterRE.FindStringSubmatch(filter)[1]
	default:
		c.fail(http.StatusBadRequest, "InvalidFilter", fmt.Sprintf("The filter '%s' is not supported. Supported filters are roleName eq '{value}', type eq 'BuiltInRole|CustomRole' and atScopeAndBelow().", filter))
		return
	}
	items := []any{}
	s.mu.RLock()
	for _, rd := range t.roles() {
		if (byName != "" && !strings.EqualFold(rd.RoleName, byName)) || (byType != "" && !strings.EqualFold(rd.Type, byType)) {
			continue
		}
		if t.roleUsableAt(rd, scope) {
			items = append(items, roleDefinitionJSON(scope, rd))
		}
	}
	s.mu.RUnlock()
	c.page(items)
}

func (s *Sim) armGetRoleDefinition(c *armCall) {
	t, scope, ok := c.resolveScope(c.param("scope"), c.spec.action)
	if !ok {
		return
	}
	id := c.param("roleId")
	s.mu.RLock()
	defer s.mu.RUnlock()
	rd := t.role(id)
	if rd == nil || !strings.EqualFold(rd.ID, id) {
		c.fail(http.StatusNotFound, "RoleDefinitionDoesNotExist", fmt.Sprintf("The specified role definition with ID '%s' does not exist.", id))
		return
	}
	c.reply(http.StatusOK, roleDefinitionJSON(scope, rd))
}

type roleDefinitionBody struct {
	Properties struct {
		RoleName         string       `json:"roleName"`
		Description      string       `json:"description"`
		Type             string       `json:"type"`
		Permissions      []Permission `json:"permissions"`
		AssignableScopes []string     `json:"assignableScopes"`
	} `json:"properties"`
}

func (s *Sim) armPutRoleDefinition(c *armCall) {
	t, scope, ok := c.resolveScope(c.param("scope"), c.spec.action)
	if !ok {
		return
	}
	id := c.param("roleId")
	if !isGUID(id) {
		c.fail(http.StatusBadRequest, "InvalidRoleDefinitionId", fmt.Sprintf("The role definition ID '%s' is not valid. The role definition ID must be a GUID.", id))
		return
	}
	var body roleDefinitionBody
	if !c.decode(&body) {
		return
	}
	p := body.Properties
	if p.RoleName == "" || len(p.Permissions) == 0 {
		c.fail(http.StatusBadRequest, "InvalidRoleDefinition", "The role definition needs a roleName and at least one permission.")
		return
	}
	if len(p.AssignableScopes) == 0 {
		p.AssignableScopes = []string{scope}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, as := range p.AssignableScopes {
		cs, err := t.canonicalScope(as)
		if err != nil || cs == "/" {
			c.fail(http.StatusBadRequest, "InvalidAssignableScope", fmt.Sprintf("The assignable scope '%s' is not valid for a custom role.", as))
			return
		}
		p.AssignableScopes[i] = cs
	}
	if builtinRole(id) != nil {
		c.fail(http.StatusConflict, "RoleDefinitionBuiltIn", "Built-in role definitions cannot be changed.")
		return
	}
	if other := t.role(p.RoleName); other != nil && !strings.EqualFold(other.ID, id) {
		c.fail(http.StatusConflict, "RoleDefinitionWithSameNameExists", fmt.Sprintf("A custom role with the same name '%s' already exists in this directory.", p.RoleName))
		return
	}
	rd := &RoleDefinition{ID: id, RoleName: p.RoleName, Description: p.Description, Type: "CustomRole", AssignableScopes: p.AssignableScopes, Permissions: p.Permissions}
	status := http.StatusCreated
	replaced := false
	for i, old := range t.RoleDefinitions {
		if strings.EqualFold(old.ID, id) {
			t.RoleDefinitions[i], replaced, status = rd, true, http.StatusOK
		}
	}
	if !replaced {
		t.RoleDefinitions = append(t.RoleDefinitions, rd)
	}
	c.reply(status, roleDefinitionJSON(scope, rd))
}

func roleAssignmentJSON(ra *RoleAssignment, principalType string) map[string]any {
	ts := ra.CreatedOn.UTC().Format(time.RFC3339Nano)
	return map[string]any{
		"id":   strings.TrimSuffix(ra.Scope, "/") + authzProvider + "/roleAssignments/" + ra.ID,
		"name": ra.ID,
		"type": "Microsoft.Authorization/roleAssignments",
		"properties": map[string]any{
			"roleDefinitionId": roleDefinitionID(ra.Scope, ra.roleID),
			"principalId":      ra.principalID,
			"principalType":    principalType,
			"scope":            ra.Scope,
			"condition":        nil,
			"conditionVersion": nil,
			"createdOn":        ts,
			"updatedOn":        ts,
			"createdBy":        nil,
			"updatedBy":        nil,
			"description":      nil,
		},
	}
}

var (
	principalFilterRE  = regexp.MustCompile(`(?i)^\s*principalId\s+eq\s+'([^']*)'\s*$`)
	assignedToFilterRE = regexp.MustCompile(`(?i)^\s*assignedTo\('([^']*)'\)\s*$`)
	atScopeFilterRE    = regexp.MustCompile(`(?i)^\s*atScope\(\)\s*$`)
)

// armListRoleAssignments lists the assignments that apply at a scope (at
// it or above) and those below it; atScope() keeps only the first kind;
// principalId eq / assignedTo() keep one principal's.
func (s *Sim) armListRoleAssignments(c *armCall) {
	t, scope, ok := c.resolveScope(c.param("scope"), c.spec.action)
	if !ok {
		return
	}
	filter := c.r.URL.Query().Get("$filter")
	atScope, principal := false, ""
	for _, clause := range strings.Split(filter, " and ") {
		switch {
		case strings.TrimSpace(clause) == "":
		case atScopeFilterRE.MatchString(clause):
			atScope = true
		case principalFilterRE.MatchString(clause):
			principal = principalFilterRE.FindStringSubmatch(clause)[1]
		case assignedToFilterRE.MatchString(clause):
			principal = assignedToFilterRE.FindStringSubmatch(clause)[1]
		default:
			c.fail(http.StatusBadRequest, "UnsupportedQuery", fmt.Sprintf("The filter '%s' is not supported. Supported filters are atScope(), principalId eq '{value}' and assignedTo('{value}').", filter))
			return
		}
	}
	items := []any{}
	s.mu.RLock()
	for _, ra := range t.RoleAssignments {
		above := scopeCovers(ra.Scope, scope, t.mgAncestors)
		below := scopeCovers(scope, ra.Scope, t.mgAncestors)
		if !(above || (below && !atScope)) {
			continue
		}
		if principal != "" && !strings.EqualFold(ra.principalID, principal) {
			continue
		}
		items = append(items, roleAssignmentJSON(ra, "ServicePrincipal"))
	}
	s.mu.RUnlock()
	c.page(items)
}

func (s *Sim) findAssignment(t *Tenant, scope, name string) *RoleAssignment {
	for _, ra := range t.RoleAssignments {
		if strings.EqualFold(ra.ID, name) && strings.EqualFold(strings.TrimSuffix(ra.Scope, "/"), strings.TrimSuffix(scope, "/")) {
			return ra
		}
	}
	return nil
}

func (s *Sim) armGetRoleAssignment(c *armCall) {
	t, scope, ok := c.resolveScope(c.param("scope"), c.spec.action)
	if !ok {
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	ra := s.findAssignment(t, scope, c.param("name"))
	if ra == nil {
		c.fail(http.StatusNotFound, "RoleAssignmentNotFound", fmt.Sprintf("The role assignment '%s' is not found.", c.param("name")))
		return
	}
	c.reply(http.StatusOK, roleAssignmentJSON(ra, "ServicePrincipal"))
}

type roleAssignmentBody struct {
	Properties struct {
		RoleDefinitionID string `json:"roleDefinitionId"`
		PrincipalID      string `json:"principalId"`
		PrincipalType    string `json:"principalType"`
	} `json:"properties"`
}

func (s *Sim) armPutRoleAssignment(c *armCall) {
	t, scope, ok := c.resolveScope(c.param("scope"), c.spec.action)
	if !ok {
		return
	}
	name := c.param("name")
	if !isGUID(name) {
		c.fail(http.StatusBadRequest, "InvalidRoleAssignmentId", fmt.Sprintf("The role assignment ID '%s' is not valid. The role assignment ID must be a GUID.", name))
		return
	}
	var body roleAssignmentBody
	if !c.decode(&body) {
		return
	}
	p := body.Properties
	s.mu.Lock()
	defer s.mu.Unlock()
	principal := t.principalByRef(p.PrincipalID)
	if principal == nil || !strings.EqualFold(principal.ObjectID, p.PrincipalID) {
		c.fail(http.StatusBadRequest, "PrincipalNotFound", fmt.Sprintf("Principal %s does not exist in the directory %s. Check that you have the correct principal ID.", strings.ReplaceAll(p.PrincipalID, "-", ""), t.ID))
		return
	}
	rd := t.role(p.RoleDefinitionID)
	if rd == nil || p.RoleDefinitionID == "" {
		c.fail(http.StatusBadRequest, "RoleDefinitionDoesNotExist", fmt.Sprintf("The specified role definition with ID '%s' does not exist.", p.RoleDefinitionID))
		return
	}
	if !t.roleUsableAt(rd, scope) {
		c.fail(http.StatusBadRequest, "InvalidRoleAssignmentScope", fmt.Sprintf("The role '%s' cannot be assigned at scope '%s'; it is not among its assignable scopes.", rd.RoleName, scope))
		return
	}
	if existing := s.findAssignment(t, scope, name); existing != nil {
		if strings.EqualFold(existing.principalID, principal.ObjectID) && strings.EqualFold(existing.roleID, rd.ID) {
			c.reply(http.StatusCreated, roleAssignmentJSON(existing, "ServicePrincipal"))
			return
		}
		c.fail(http.StatusConflict, "RoleAssignmentUpdateNotPermitted", "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.")
		return
	}
	for _, ra := range t.RoleAssignments {
		if strings.EqualFold(ra.principalID, principal.ObjectID) && strings.EqualFold(ra.roleID, rd.ID) && strings.EqualFold(ra.Scope, scope) {
			c.fail(http.StatusConflict, "RoleAssignmentExists", "The role assignment already exists.")
			return
		}
	}
	ra := &RoleAssignment{ID: strings.ToLower(name), Principal: principal.ObjectID, Role: rd.ID, Scope: scope,
		CreatedOn: s.Now().UTC(), principalID: principal.ObjectID, roleID: rd.ID}
	t.RoleAssignments = append(t.RoleAssignments, ra)
	c.reply(http.StatusCreated, roleAssignmentJSON(ra, "ServicePrincipal"))
}

func (s *Sim) armDeleteRoleAssignment(c *armCall) {
	t, scope, ok := c.resolveScope(c.param("scope"), c.spec.action)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, ra := range t.RoleAssignments {
		if strings.EqualFold(ra.ID, c.param("name")) && strings.EqualFold(ra.Scope, scope) {
			t.RoleAssignments = append(t.RoleAssignments[:i], t.RoleAssignments[i+1:]...)
			c.reply(http.StatusOK, roleAssignmentJSON(ra, "ServicePrincipal"))
			return
		}
	}
	c.written = true
	c.w.WriteHeader(http.StatusNoContent)
}

// armListPermissions answers the caller's effective permissions at a
// scope. Like ARM it needs no role: a caller without any gets an empty list.
func (s *Sim) armListPermissions(c *armCall) {
	_, scope, ok := c.resolveScope(c.param("scope"), "")
	if !ok {
		return
	}
	c.noRBAC()
	items := []any{}
	for _, p := range permissionsJSON(s.EffectivePermissions(c.caller.TenantID, c.caller.ObjectID, scope)) {
		items = append(items, p)
	}
	c.page(items)
}
