package azuresim

import (
	"fmt"
	"net/http"
	"strings"
)

// Microsoft.Web: sites, deployment slots and slot swaps (raw arm.Client in
// Azimuth; the armappservice module is not served). A swap exchanges what
// two slots run (their content, i.e. linuxFxVersion, and state) while each
// keeps its host names, as App Service does.

const webProvider = "Microsoft.Web/sites"

func (s *Sim) registerWebRoutes() {
	s.armRoute(http.MethodGet, "/subscriptions/{subscriptionId}/providers/Microsoft.Web/sites", "arm.sites.list", "Microsoft.Web/sites/read", s.armListSites)
	s.armRoute(http.MethodGet, "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Web/sites", "arm.sites.listbyrg", "Microsoft.Web/sites/read", s.armListSites)
	s.armRoute(http.MethodGet, "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Web/sites/{name}", "arm.sites.get", "Microsoft.Web/sites/read", s.armGetSite)
	s.armRoute(http.MethodGet, "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Web/sites/{name}/slots", "arm.slots.list", "Microsoft.Web/sites/slots/read", s.armListSlots)
	s.armRoute(http.MethodGet, "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Web/sites/{name}/slots/{slot}", "arm.slots.get", "Microsoft.Web/sites/slots/read", s.armGetSlot)
	s.armRoute(http.MethodPost, "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Web/sites/{name}/slotsswap", "arm.sites.slotsswap", "Microsoft.Web/sites/slotsswap/action", s.armSwap(false))
	s.armRoute(http.MethodPost, "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Web/sites/{name}/slots/{slot}/slotsswap", "arm.slots.slotsswap", "Microsoft.Web/sites/slots/slotsswap/action", s.armSwap(true))
}

func sites(g *ResourceGroup) []*WebApp { return g.WebApps }
func siteName(a *WebApp) string        { return a.Name }

func siteJSON(l located[*WebApp]) any {
	a := l.res
	return map[string]any{
		"id":       l.id,
		"name":     a.Name,
		"type":     webProvider,
		"kind":     a.Kind,
		"location": a.Location,
		"tags":     map[string]string{},
		"properties": map[string]any{
			"name":              a.Name,
			"state":             a.State,
			"hostNames":         a.HostNames,
			"enabledHostNames":  append(append([]string(nil), a.HostNames...), strings.Replace(a.HostNames[0], ".azurewebsites.net", ".scm.azurewebsites.net", 1)),
			"defaultHostName":   a.HostNames[0],
			"enabled":           a.State == "Running",
			"resourceGroup":     l.rg.Name,
			"serverFarmId":      rgScope(l.sub.ID, l.rg.Name) + "/providers/Microsoft.Web/serverfarms/" + a.Name + "-plan",
			"reserved":          strings.Contains(a.Kind, "linux"),
			"siteConfig":        map[string]any{"linuxFxVersion": a.Content, "numberOfWorkers": 1},
			"httpsOnly":         true,
			"usageState":        "Normal",
			"availabilityState": "Normal",
		},
	}
}

func slotJSON(l located[*WebApp], sl *Slot) any {
	a := l.res
	return map[string]any{
		"id":       l.id + "/slots/" + sl.Name,
		"name":     a.Name + "/" + sl.Name,
		"type":     webProvider + "/slots",
		"kind":     a.Kind,
		"location": a.Location,
		"properties": map[string]any{
			"name":            a.Name + "(" + sl.Name + ")",
			"state":           sl.State,
			"hostNames":       sl.HostNames,
			"defaultHostName": sl.HostNames[0],
			"enabled":         sl.State == "Running",
			"resourceGroup":   l.rg.Name,
			"siteConfig":      map[string]any{"linuxFxVersion": sl.Content, "numberOfWorkers": 1},
			"httpsOnly":       true,
		},
	}
}

func (s *Sim) armListSites(c *armCall) {
	_, sub, ok := c.subscription()
	if !ok {
		return
	}
	all, ok := collect(c, sub, webProvider, sites, siteName)
	if !ok {
		return
	}
	if c.r.URL.Query().Get("includeSlots") != "true" {
		listVisible(c, sub, all, siteJSON)
		return
	}
	// includeSlots: each site followed by its slots.
	ids := make([]string, len(all))
	for i, l := range all {
		ids[i] = l.id
	}
	scope := subScope(sub.ID)
	if c.param("resourceGroupName") != "" {
		scope = rgScope(sub.ID, c.param("resourceGroupName"))
	}
	keep, ok := c.visible(c.spec.action, scope, ids)
	if !ok {
		return
	}
	items := []any{}
	s.mu.RLock()
	for i, l := range all {
		if keep[i] {
			items = append(items, siteJSON(l))
			for _, sl := range l.res.Slots {
				items = append(items, slotJSON(l, sl))
			}
		}
	}
	s.mu.RUnlock()
	c.page(items)
}

func (s *Sim) armGetSite(c *armCall) {
	l, ok := getOne(c, webProvider, webProvider, sites, siteName)
	if !ok {
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	c.reply(http.StatusOK, siteJSON(l))
}

func (s *Sim) armListSlots(c *armCall) {
	_, sub, ok := c.subscription()
	if !ok {
		return
	}
	site := resScope(sub.ID, c.param("resourceGroupName"), webProvider, c.param("name"))
	if !c.authorize(c.spec.action, site) {
		return
	}
	g, ok := c.resourceGroup(sub)
	if !ok {
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, a := range g.WebApps {
		if strings.EqualFold(a.Name, c.param("name")) {
			l := located[*WebApp]{sub: sub, rg: g, res: a, id: resScope(sub.ID, g.Name, webProvider, a.Name)}
			items := []any{}
			for _, sl := range a.Slots {
				items = append(items, slotJSON(l, sl))
			}
			c.page(items)
			return
		}
	}
	c.resourceNotFound(webProvider, c.param("name"), g.Name)
}

func (s *Sim) findSlot(c *armCall, read bool) (located[*WebApp], *Slot, bool) {
	_, sub, ok := c.subscription()
	if !ok {
		return located[*WebApp]{}, nil, false
	}
	site := resScope(sub.ID, c.param("resourceGroupName"), webProvider, c.param("name"))
	target := site
	if c.param("slot") != "" {
		target += "/slots/" + c.param("slot")
	}
	if !c.authorize(c.spec.action, target) {
		return located[*WebApp]{}, nil, false
	}
	g, ok := c.resourceGroup(sub)
	if !ok {
		return located[*WebApp]{}, nil, false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, a := range g.WebApps {
		if !strings.EqualFold(a.Name, c.param("name")) {
			continue
		}
		l := located[*WebApp]{sub: sub, rg: g, res: a, id: resScope(sub.ID, g.Name, webProvider, a.Name)}
		if c.param("slot") == "" {
			return l, nil, true
		}
		for _, sl := range a.Slots {
			if strings.EqualFold(sl.Name, c.param("slot")) {
				return l, sl, true
			}
		}
		c.fail(http.StatusNotFound, "ResourceNotFound", fmt.Sprintf("The Resource '%s/%s/slots/%s' under resource group '%s' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix", webProvider, a.Name, c.param("slot"), g.Name))
		return l, nil, false
	}
	c.resourceNotFound(webProvider, c.param("name"), g.Name)
	return located[*WebApp]{}, nil, false
}

func (s *Sim) armGetSlot(c *armCall) {
	l, sl, ok := s.findSlot(c, true)
	if !ok {
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	c.reply(http.StatusOK, slotJSON(l, sl))
}

// armSwap swaps a slot with production (POST .../sites/{name}/slotsswap,
// targetSlot = the slot) or two slots (POST .../slots/{slot}/slotsswap,
// targetSlot = the other slot or "production"). It is long-running: the
// swap is applied at once and the operation completes after the
// configured number of polls.
func (s *Sim) armSwap(fromSlot bool) func(*armCall) {
	return func(c *armCall) {
		l, src, ok := s.findSlot(c, false)
		if !ok {
			return
		}
		var body struct {
			TargetSlot   string `json:"targetSlot"`
			PreserveVnet *bool  `json:"preserveVnet"`
		}
		if !c.decode(&body) {
			return
		}
		if body.TargetSlot == "" || body.PreserveVnet == nil {
			c.fail(http.StatusBadRequest, "BadRequest", "The parameters 'targetSlot' and 'preserveVnet' are required.")
			return
		}
		s.mu.Lock()
		a := l.res
		var dst *Slot
		for _, sl := range a.Slots {
			if strings.EqualFold(sl.Name, body.TargetSlot) {
				dst = sl
			}
		}
		targetIsProd := strings.EqualFold(body.TargetSlot, "production")
		switch {
		case dst == nil && !targetIsProd:
			s.mu.Unlock()
			c.fail(http.StatusNotFound, "NotFound", fmt.Sprintf("Cannot find the slot '%s' of site '%s'.", body.TargetSlot, a.Name))
			return
		case !fromSlot && targetIsProd, fromSlot && dst == src:
			s.mu.Unlock()
			c.fail(http.StatusBadRequest, "BadRequest", "A slot cannot be swapped with itself.")
			return
		}
		// Exchange what runs; host names stay with their slot.
		swap := func(c1, st1 *string, c2, st2 *string) { *c1, *c2 = *c2, *c1; *st1, *st2 = *st2, *st1 }
		switch {
		case !fromSlot: // production <-> dst
			swap(&a.Content, &a.State, &dst.Content, &dst.State)
		case targetIsProd: // src <-> production
			swap(&src.Content, &src.State, &a.Content, &a.State)
		default: // src <-> dst
			swap(&src.Content, &src.State, &dst.Content, &dst.State)
		}
		s.mu.Unlock()
		base := l.id
		if fromSlot {
			base += "/slots/" + src.Name
		}
		readAction := "Microsoft.Web/sites/read"
		if fromSlot {
			readAction = "Microsoft.Web/sites/slots/read"
		}
		op := s.startOperation(c.caller.TenantID, readAction, base, nil, nil, nil)
		c.lroHeaders(op, base)
		c.written = true
		c.w.WriteHeader(http.StatusAccepted)
	}
}
