package azuresim

import "strings"

// CheckAccess evaluates Azure RBAC: whether the principal (tenant id +
// object id) holds action at scope through its role assignments at that
// scope or above it (tenant root, management groups, subscription,
// resource group, parent resources). dataAction selects the roles'
// DataActions, for data-plane checks (ACR pull, Kubernetes with Azure
// RBAC). Other files call it to check their own operations.
func (s *Sim) CheckAccess(tenantID, objectID, action, scope string, dataAction bool) bool {
	return Allowed(s.EffectivePermissions(tenantID, objectID, scope), action, dataAction)
}

// EffectivePermissions returns the permission entries of every role the
// principal holds at scope or above, as Microsoft.Authorization/permissions
// reports them.
func (s *Sim) EffectivePermissions(tenantID, objectID, scope string) []Permission {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t := s.world.tenant(tenantID)
	if t == nil {
		return nil
	}
	var out []Permission
	seen := map[string]bool{}
	for _, ra := range t.RoleAssignments {
		if !strings.EqualFold(ra.principalID, objectID) || !scopeCovers(ra.Scope, scope, t.mgAncestors) {
			continue
		}
		if seen[strings.ToLower(ra.roleID)] {
			continue
		}
		seen[strings.ToLower(ra.roleID)] = true
		if rd := t.role(ra.roleID); rd != nil {
			out = append(out, rd.Permissions...)
		}
	}
	return out
}

// mgAncestors lists the management groups above a scope: for a
// subscription (or anything in it) the group holding it and that group's
// ancestors; for a management group its ancestors. The tenant root group
// (named by the tenant id) is always last.
func (t *Tenant) mgAncestors(scope string) []string {
	parts := strings.Split(strings.Trim(scope, "/"), "/")
	var start string
	switch {
	case len(parts) >= 2 && strings.EqualFold(parts[0], "subscriptions"):
		for _, g := range t.ManagementGroups {
			for _, sid := range g.Subscriptions {
				if strings.EqualFold(sid, parts[1]) {
					start = g.Name
				}
			}
		}
		if start == "" {
			return []string{t.ID}
		}
		return append([]string{start}, t.mgParents(start)...)
	case len(parts) >= 4 && strings.EqualFold(parts[0], "providers") && strings.EqualFold(parts[2], "managementGroups"):
		return t.mgParents(parts[3])
	}
	return nil
}

// mgParents lists the ancestors of a management group, root last.
func (t *Tenant) mgParents(name string) []string {
	var out []string
	for range 32 { // bounded: the world validator does not forbid cycles
		if strings.EqualFold(name, t.ID) {
			return out
		}
		parent := t.ID
		for _, g := range t.ManagementGroups {
			if strings.EqualFold(g.Name, name) && g.Parent != "" {
				parent = g.Parent
			}
		}
		out = append(out, parent)
		name = parent
	}
	return out
}

// hasAnyAssignmentIn reports whether the principal holds any role at a
// subscription, above it or anywhere in it (ARM lists such subscriptions).
func (s *Sim) hasAnyAssignmentIn(tenantID, objectID, subID string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t := s.world.tenant(tenantID)
	if t == nil {
		return false
	}
	scope := subScope(subID)
	for _, ra := range t.RoleAssignments {
		if !strings.EqualFold(ra.principalID, objectID) {
			continue
		}
		if scopeCovers(ra.Scope, scope, t.mgAncestors) || scopeCovers(scope, ra.Scope, nil) {
			return true
		}
	}
	return false
}
