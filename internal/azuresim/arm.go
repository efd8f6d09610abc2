package azuresim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/azimuthcd/azimuth/internal/cloud"
)

// ARM (azure-protocols §4). Every route is authenticated, counted,
// fault-injectable and makes an RBAC decision; the route table is shared
// by the ARM listeners of all clouds.

// armRouteSpec is one ARM operation.
type armRouteSpec struct {
	method  string
	pattern string
	name    string // counter / fault key
	action  string // the RBAC action, for documentation and the 403 message
	h       func(*armCall)
}

// armRoute adds an ARM operation (for this file and the files extending
// the simulator, from their start hooks). The handler must make an RBAC
// decision through armCall.authorize, armCall.visible or armCall.noRBAC;
// a handler that makes none answers 500, so a forgotten check fails tests.
func (s *Sim) armRoute(method, pattern, name, action string, h func(*armCall)) {
	s.arm = append(s.arm, armRouteSpec{method: method, pattern: pattern, name: name, action: action, h: h})
}

func (s *Sim) armRouter(n cloud.Name) *router {
	rt := newRouter("arm")
	for i := range s.arm {
		spec := &s.arm[i]
		rt.handle(spec.method, spec.pattern, spec.name, func(w http.ResponseWriter, r *http.Request) { s.armServe(n, spec, w, r) })
	}
	return rt
}

// armCall is the context of one ARM request.
type armCall struct {
	s       *Sim
	w       http.ResponseWriter
	r       *http.Request
	cloud   cloud.Name
	caller  *Caller
	spec    *armRouteSpec
	decided bool
	written bool
}

var apiVersionRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}(-(preview|beta|alpha|privatepreview))?$`)

func (s *Sim) armServe(n cloud.Name, spec *armRouteSpec, w http.ResponseWriter, r *http.Request) {
	c := &armCall{s: s, w: w, r: r, cloud: n, spec: spec}
	caller, terr := s.Authenticate(r, armAudiences(n)...)
	if terr == nil && s.tenantCloud(caller.TenantID) != n {
		terr = &TokenError{Code: "InvalidAuthenticationToken", Message: "The access token is invalid."}
	}
	if terr != nil {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer authorization_uri="https://login.windows.net/", error="invalid_token", error_description=%q`, terr.Message))
		c.fail(http.StatusUnauthorized, terr.Code, terr.Message)
		return
	}
	c.caller = caller
	v := r.URL.Query().Get("api-version")
	if v == "" {
		c.fail(http.StatusBadRequest, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.")
		return
	}
	if !apiVersionRE.MatchString(v) {
		supported := allARMVersions()
		if api, ok := armAPIs[routeArea(spec.name)]; ok && api.versions != nil {
			supported = api.versions
		}
		c.fail(http.StatusBadRequest, "InvalidApiVersionParameter", fmt.Sprintf("The api-version '%s' is invalid. The supported versions are '%s'.", v, strings.Join(supported, ",")))
		return
	}
	if !c.checkAPIVersion(v) {
		return
	}
	spec.h(c)
	if !c.decided && !c.written {
		c.fail(http.StatusInternalServerError, "SimulatorBug", "route "+spec.name+" made no RBAC decision")
	} else if !c.decided {
		s.log.Error("ARM route answered without an RBAC decision", "route", spec.name)
	}
}

func (c *armCall) param(name string) string { return pathParam(c.r, name) }

func (c *armCall) fail(status int, code, msg string) {
	c.written = true
	c.w.Header().Set("x-ms-failure-cause", "gateway")
	writeARMErrorShape(c.w, c.r, status, code, msg)
}

func (c *armCall) reply(status int, v any) {
	c.written = true
	writeJSON(c.w, status, v)
}

// noRBAC records that an operation needs no role (only authentication).
func (c *armCall) noRBAC() { c.decided = true }

// can evaluates RBAC without answering.
func (c *armCall) can(action, scope string) bool {
	return c.s.CheckAccess(c.caller.TenantID, c.caller.ObjectID, action, scope, false)
}

// authorize answers 403 AuthorizationFailed unless the caller holds
// action at scope; it reports whether the request may go on.
func (c *armCall) authorize(action, scope string) bool {
	c.decided = true
	if c.can(action, scope) {
		return true
	}
	c.forbid(action, scope)
	return false
}

func (c *armCall) forbid(action, scope string) {
	c.fail(http.StatusForbidden, "AuthorizationFailed", fmt.Sprintf(
		"The client '%s' with object id '%s' does not have authorization to perform action '%s' over scope '%s' or the scope is invalid. If access was recently granted, please refresh your credentials.",
		c.caller.ClientID, c.caller.ObjectID, action, scope))
}

// visible filters a collection as ARM does: a caller holding the read
// action at the collection's scope sees every item; one holding it on some
// items sees those; one holding it at some scope inside the collection's
// scope but on none of the items (Reader on a resource group without
// registries, listing the subscription's registries) gets an empty list;
// one holding it nowhere at or inside the scope gets 403 (ok false,
// answered) — an AcrPull-only identity listing registries.
func (c *armCall) visible(action, scope string, ids []string) (keep []bool, ok bool) {
	c.decided = true
	keep = make([]bool, len(ids))
	if c.can(action, scope) {
		for i := range keep {
			keep[i] = true
		}
		return keep, true
	}
	any := false
	for i, id := range ids {
		if c.can(action, id) {
			keep[i], any = true, true
		}
	}
	if !any && !c.holdsInside(action, scope) {
		c.forbid(action, scope)
		return nil, false
	}
	return keep, true
}

// holdsInside reports whether the caller holds action through a role
// assigned at scope or at a scope inside it (a resource group or resource
// of a subscription, a resource of a group).
func (c *armCall) holdsInside(action, scope string) bool {
	c.s.mu.RLock()
	defer c.s.mu.RUnlock()
	t := c.s.world.tenant(c.caller.TenantID)
	if t == nil {
		return false
	}
	for _, ra := range t.RoleAssignments {
		if !strings.EqualFold(ra.principalID, c.caller.ObjectID) || !scopeCovers(scope, ra.Scope, nil) {
			continue
		}
		if rd := t.role(ra.roleID); rd != nil && Allowed(rd.Permissions, action, false) {
			return true
		}
	}
	return false
}

// page answers one page of a list ({"value":[...],"nextLink":...}); the
// next link repeats the request's URL with $skiptoken.
func (c *armCall) page(items []any) {
	c.pageOf(len(items), func(i int) any { return items[i] })
}

// pageOf is page for n items rendered on demand: only the page's items
// are built.
func (c *armCall) pageOf(n int, render func(i int) any) {
	if body, ok := c.pageBody(n, render); ok {
		c.reply(http.StatusOK, body)
	}
}

// pageBody builds one page (answering 400 for a bad $skiptoken), so that
// callers can render under the world's lock and write after releasing it.
func (c *armCall) pageBody(n int, render func(i int) any) (map[string]any, bool) {
	size := c.s.opts.PageSize
	q := c.r.URL.Query()
	if top, err := strconv.Atoi(q.Get("$top")); err == nil && top > 0 && top < size {
		size = top
	}
	start := 0
	if tok := q.Get("$skiptoken"); tok != "" {
		b, err := base64.RawURLEncoding.DecodeString(tok)
		skip, err2 := strconv.Atoi(string(b))
		if err != nil || err2 != nil || skip < 0 || skip > n {
			c.fail(http.StatusBadRequest, "InvalidSkipToken", "The provided skip token is invalid.")
			return nil, false
		}
		start = skip
	}
	end := min(start+size, n)
	value := make([]any, 0, end-start)
	for i := start; i < end; i++ {
		value = append(value, render(i))
	}
	body := map[string]any{"value": value}
	if end < n {
		q.Set("$skiptoken", base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end))))
		u := url.URL{Scheme: "https", Host: c.r.Host, Path: c.r.URL.Path, RawQuery: q.Encode()}
		body["nextLink"] = u.String()
	}
	return body, true
}

// decode reads a JSON body into v, answering 400 on error.
func (c *armCall) decode(v any) bool {
	b, err := io.ReadAll(http.MaxBytesReader(c.w, c.r.Body, 4<<20))
	if err != nil {
		c.fail(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "The request body is too large.")
		return false
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		c.fail(http.StatusBadRequest, "InvalidRequestContent", "The request content was invalid and could not be deserialized: 'The request body is empty.'.")
		return false
	}
	if err := json.Unmarshal(b, v); err != nil {
		c.fail(http.StatusBadRequest, "InvalidRequestContent", fmt.Sprintf("The request content was invalid and could not be deserialized: '%v'.", err))
		return false
	}
	return true
}

// subscription finds the route's {subscriptionId} in this cloud; it answers
// 404 SubscriptionNotFound, or 401 when the token's tenant is not the
// subscription's.
func (c *armCall) subscription() (*Tenant, *Subscription, bool) {
	id := c.param("subscriptionId")
	c.s.mu.RLock()
	t, sub := c.s.world.subscription(id)
	c.s.mu.RUnlock()
	if sub == nil || t.Cloud != c.cloud {
		c.decided = true
		c.fail(http.StatusNotFound, "SubscriptionNotFound", fmt.Sprintf("The subscription '%s' could not be found.", id))
		return nil, nil, false
	}
	if !strings.EqualFold(t.ID, c.caller.TenantID) {
		c.decided = true
		c.fail(http.StatusUnauthorized, "InvalidAuthenticationTokenTenant", fmt.Sprintf(
			"The access token is from the wrong issuer '%s'. It must match the tenant '%s' associated with this subscription. Please use the authority (URL) 'https://login.windows.net/%s' to get the token. Note, if the subscription is transferred to another tenant there is no impact to the services, but information about new tenant could take time to propagate (up to an hour). If you just transferred your subscription and see this error message, please try back later.",
			issuerFor(c.caller.TenantID), issuerFor(t.ID), t.ID))
		return nil, nil, false
	}
	return t, sub, true
}

// resourceGroup finds the route's {resourceGroupName} (answers 404).
func (c *armCall) resourceGroup(sub *Subscription) (*ResourceGroup, bool) {
	name := c.param("resourceGroupName")
	c.s.mu.RLock()
	g := sub.resourceGroup(name)
	c.s.mu.RUnlock()
	if g == nil {
		c.fail(http.StatusNotFound, "ResourceGroupNotFound", fmt.Sprintf("Resource group '%s' could not be found.", name))
		return nil, false
	}
	return g, true
}

func (c *armCall) resourceNotFound(typ, name, rg string) {
	c.fail(http.StatusNotFound, "ResourceNotFound", fmt.Sprintf(
		"The Resource '%s/%s' under resource group '%s' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix", typ, name, rg))
}

func subScope(subID string) string { return "/subscriptions/" + subID }

func rgScope(subID, rg string) string { return "/subscriptions/" + subID + "/resourceGroups/" + rg }

func resScope(subID, rg, provider, name string) string {
	return rgScope(subID, rg) + "/providers/" + provider + "/" + name
}

// registerARMRoutes builds the core ARM route table.
func (s *Sim) registerARMRoutes() {
	s.registerResourceManagerRoutes()
	s.registerAuthorizationRoutes()
	s.registerContainerRoutes()
	s.registerWebRoutes()
	s.registerComputeRoutes()
	s.registerDeploymentRoutes()
}
