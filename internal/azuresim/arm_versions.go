package azuresim

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
)

// api-versions per ARM route. ARM routes a request by resource type and
// api-version: a version the type does not have is refused before any
// authorization, with ARM's own error for Microsoft.Resources types
// (InvalidApiVersionParameter) and the resource provider's for the others
// (NoRegisteredProviderFound), both listing the supported versions.

// armAPI is one resource type's api-versions.
type armAPI struct {
	namespace string   // the resource provider
	typ       string   // the resource type, as ARM names it in messages
	versions  []string // accepted, newest first
}

// armAPIs are the api-versions each ARM route accepts, keyed by the area
// of its name (arm.<area>.<op>): the versions the SDK modules in go.mod
// send, and those of Azimuth's raw arm.Client requests (Microsoft.Web,
// Blueprints, permissions at subscription scope; azure-protocols §4.1).
// An area without an entry accepts every well-formed version
// (TestARMRoutesDeclareAPIVersions keeps that from happening).
var armAPIs = map[string]armAPI{
	"subscriptions":        {"Microsoft.Resources", "subscriptions", []string{"2022-12-01"}},                // armsubscriptions v1.3.0
	"tenants":              {"Microsoft.Resources", "tenants", []string{"2022-12-01"}},                      // armsubscriptions v1.3.0
	"resourcegroups":       {"Microsoft.Resources", "resourceGroups", []string{"2021-04-01"}},               // armresources v1.2.0
	"deployments":          {"Microsoft.Resources", "deployments", []string{"2021-04-01"}},                  // armresources v1.2.0
	"registries":           {"Microsoft.ContainerRegistry", "registries", []string{"2023-07-01"}},           // armcontainerregistry v1.2.0
	"managedclusters":      {"Microsoft.ContainerService", "managedClusters", []string{"2025-02-01"}},       // armcontainerservice v6.6.0
	"sites":                {"Microsoft.Web", "sites", []string{"2024-04-01"}},                              // raw (WebApps.json 2024-04-01)
	"slots":                {"Microsoft.Web", "sites/slots", []string{"2024-04-01"}},                        // raw
	"virtualmachines":      {"Microsoft.Compute", "virtualMachines", []string{"2025-04-01"}},                // armcompute v7.3.0
	"networkinterfaces":    {"Microsoft.Network", "networkInterfaces", []string{"2025-01-01"}},              // armnetwork v7.2.0
	"publicipaddresses":    {"Microsoft.Network", "publicIPAddresses", []string{"2025-01-01"}},              // armnetwork v7.2.0
	"roledefinitions":      {"Microsoft.Authorization", "roleDefinitions", []string{"2022-04-01"}},          // armauthorization v2.2.0
	"roleassignments":      {"Microsoft.Authorization", "roleAssignments", []string{"2022-04-01"}},          // armauthorization v2.2.0
	"permissions":          {"Microsoft.Authorization", "permissions", []string{"2022-04-01"}},              // armauthorization v2.2.0; raw at subscription scope
	"blueprintassignments": {"Microsoft.Blueprint", "blueprintAssignments", []string{"2018-11-01-preview"}}, // raw
	// Operation status and result URLs carry the api-version of the
	// operation that started them: any of the above.
	"operations": {"Microsoft.Resources", "operations", nil},
}

// routeArea is the area of an ARM route name: arm.<area>.<op>.
func routeArea(name string) string {
	parts := strings.SplitN(name, ".", 3)
	if len(parts) < 2 {
		return ""
	}
	return parts[1]
}

// allARMVersions is every version of the table, newest first.
func allARMVersions() []string {
	var out []string
	for _, a := range armAPIs {
		for _, v := range a.versions {
			if !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(out)))
	return out
}

// checkAPIVersion answers 400 unless the route accepts v (present and
// well formed: armServe checked that); it reports whether the request
// may go on.
func (c *armCall) checkAPIVersion(v string) bool {
	api, ok := armAPIs[routeArea(c.spec.name)]
	if !ok {
		return true
	}
	versions := api.versions
	if versions == nil {
		versions = allARMVersions()
	}
	for _, sv := range versions {
		if strings.EqualFold(sv, v) {
			return true
		}
	}
	if api.namespace == "Microsoft.Resources" {
		c.fail(http.StatusBadRequest, "InvalidApiVersionParameter", fmt.Sprintf("The api-version '%s' is invalid. The supported versions are '%s'.", v, strings.Join(versions, ",")))
		return false
	}
	loc, locs := c.apiLocations()
	c.fail(http.StatusBadRequest, "NoRegisteredProviderFound", fmt.Sprintf(
		"No registered resource provider found for location '%s' and API version '%s' for type '%s'. The supported api-versions are '%s'. The supported locations are '%s'.",
		loc, v, api.typ, strings.Join(versions, ", "), strings.Join(locs, ", ")))
	return false
}

// apiLocations names the location a request addressed (its resource
// group's; "global" when it names none, or one that does not exist) and
// the locations of this cloud's world, for NoRegisteredProviderFound.
func (c *armCall) apiLocations() (string, []string) {
	subID, rg := c.param("subscriptionId"), c.param("resourceGroupName")
	if parts := strings.Split(strings.Trim(c.param("scope"), "/"), "/"); subID == "" && len(parts) >= 2 && strings.EqualFold(parts[0], "subscriptions") {
		subID = parts[1]
		if len(parts) >= 4 && strings.EqualFold(parts[2], "resourceGroups") {
			rg = parts[3]
		}
	}
	c.s.mu.RLock()
	defer c.s.mu.RUnlock()
	loc := "global"
	if _, sub := c.s.world.subscription(subID); sub != nil && rg != "" {
		if g := sub.resourceGroup(rg); g != nil && g.Location != "" {
			loc = strings.ToLower(g.Location)
		}
	}
	var locs []string
	for _, t := range c.s.world.Tenants {
		if t.Cloud != c.cloud {
			continue
		}
		for _, sub := range t.Subscriptions {
			for _, g := range sub.ResourceGroups {
				if l := strings.ToLower(g.Location); l != "" && !slices.Contains(locs, l) {
					locs = append(locs, l)
				}
			}
		}
	}
	sort.Strings(locs)
	return loc, locs
}
