package azuresim

import (
	"net/http"
	"strings"
)

// Subscriptions, tenants and resource groups.

func (s *Sim) registerResourceManagerRoutes() {
	s.armRoute(http.MethodGet, "/subscriptions", "arm.subscriptions.list", "Microsoft.Resources/subscriptions/read", s.armListSubscriptions)
	s.armRoute(http.MethodGet, "/subscriptions/{subscriptionId}", "arm.subscriptions.get", "Microsoft.Resources/subscriptions/read", s.armGetSubscription)
	s.armRoute(http.MethodGet, "/tenants", "arm.tenants.list", "", s.armListTenants)
	s.armRoute(http.MethodGet, "/subscriptions/{subscriptionId}/resourcegroups", "arm.resourcegroups.list", "Microsoft.Resources/subscriptions/resourceGroups/read", s.armListResourceGroups)
	s.armRoute(http.MethodGet, "/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}", "arm.resourcegroups.get", "Microsoft.Resources/subscriptions/resourceGroups/read", s.armGetResourceGroup)
}

func subscriptionJSON(t *Tenant, sub *Subscription) map[string]any {
	return map[string]any{
		"id":                  subScope(sub.ID),
		"subscriptionId":      sub.ID,
		"tenantId":            t.ID,
		"displayName":         sub.DisplayName,
		"state":               sub.State,
		"authorizationSource": "RoleBased",
		"managedByTenants":    []any{},
		"tags":                map[string]string{},
		"subscriptionPolicies": map[string]any{
			"locationPlacementId": "Public_2014-09-01",
			"quotaId":             "PayAsYouGo_2014-09-01",
			"spendingLimit":       "Off",
		},
	}
}

// ARM lists the subscriptions in which the caller holds any role, at the
// subscription, above it or on something inside it.
func (s *Sim) armListSubscriptions(c *armCall) {
	c.decided = true
	s.mu.RLock()
	t := s.world.tenant(c.caller.TenantID)
	var subs []*Subscription
	if t != nil {
		subs = append(subs, t.Subscriptions...)
	}
	s.mu.RUnlock()
	items := []any{}
	for _, sub := range subs {
		if s.hasAnyAssignmentIn(c.caller.TenantID, c.caller.ObjectID, sub.ID) {
			s.mu.RLock()
			items = append(items, subscriptionJSON(t, sub))
			s.mu.RUnlock()
		}
	}
	c.page(items)
}

func (s *Sim) armGetSubscription(c *armCall) {
	t, sub, ok := c.subscription()
	if !ok {
		return
	}
	c.decided = true
	if !s.hasAnyAssignmentIn(c.caller.TenantID, c.caller.ObjectID, sub.ID) {
		c.fail(http.StatusNotFound, "SubscriptionNotFound", "The subscription '"+sub.ID+"' could not be found.")
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	c.reply(http.StatusOK, subscriptionJSON(t, sub))
}

func (s *Sim) armListTenants(c *armCall) {
	c.noRBAC() // every authenticated principal may list its tenants
	s.mu.RLock()
	t := s.world.tenant(c.caller.TenantID)
	s.mu.RUnlock()
	items := []any{}
	if t != nil {
		items = append(items, map[string]any{
			"id":                    "/tenants/" + t.ID,
			"tenantId":              t.ID,
			"countryCode":           t.CountryCode,
			"displayName":           t.DisplayName,
			"defaultDomain":         t.Domain,
			"domains":               []string{t.Domain},
			"tenantCategory":        "Home",
			"tenantType":            "AAD",
			"tenantBrandingLogoUrl": nil,
		})
	}
	c.page(items)
}

func rgJSON(subID string, g *ResourceGroup) map[string]any {
	out := map[string]any{
		"id":         rgScope(subID, g.Name),
		"name":       g.Name,
		"type":       "Microsoft.Resources/resourceGroups",
		"location":   g.Location,
		"properties": map[string]any{"provisioningState": "Succeeded"},
	}
	if len(g.Tags) > 0 {
		out["tags"] = g.Tags
	}
	return out
}

func (s *Sim) armListResourceGroups(c *armCall) {
	_, sub, ok := c.subscription()
	if !ok {
		return
	}
	s.mu.RLock()
	groups := append([]*ResourceGroup(nil), sub.ResourceGroups...)
	s.mu.RUnlock()
	ids := make([]string, len(groups))
	for i, g := range groups {
		ids[i] = rgScope(sub.ID, g.Name)
	}
	keep, ok := c.visible(c.spec.action, subScope(sub.ID), ids)
	if !ok {
		return
	}
	filter := strings.TrimSpace(c.r.URL.Query().Get("$filter"))
	s.mu.RLock()
	var shown []*ResourceGroup
	for i, g := range groups {
		if keep[i] && rgMatchesFilter(g, filter) {
			shown = append(shown, g)
		}
	}
	body, ok := c.pageBody(len(shown), func(i int) any { return rgJSON(sub.ID, shown[i]) })
	s.mu.RUnlock()
	if ok {
		c.reply(http.StatusOK, body)
	}
}

// rgMatchesFilter supports the tag filters of the RG list:
// "tagName eq 'k' and tagValue eq 'v'".
func rgMatchesFilter(g *ResourceGroup, filter string) bool {
	if filter == "" {
		return true
	}
	var name, value string
	for _, clause := range strings.Split(filter, " and ") {
		k, v, ok := strings.Cut(strings.TrimSpace(clause), " eq ")
		if !ok {
			continue
		}
		v = strings.Trim(strings.TrimSpace(v), "'")
		switch strings.TrimSpace(k) {
		case "tagName":
			name = v
		case "tagValue":
			value = v
		}
	}
	if name == "" {
		return true
	}
	got, ok := g.Tags[name]
	return ok && (value == "" || got == value)
}

func (s *Sim) armGetResourceGroup(c *armCall) {
	_, sub, ok := c.subscription()
	if !ok {
		return
	}
	if !c.authorize(c.spec.action, rgScope(sub.ID, c.param("resourceGroupName"))) {
		return
	}
	g, ok := c.resourceGroup(sub)
	if !ok {
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	c.reply(http.StatusOK, rgJSON(sub.ID, g))
}
