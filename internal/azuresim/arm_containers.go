package azuresim

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Microsoft.ContainerRegistry (registries) and Microsoft.ContainerService
// (managed clusters) in ARM. The registries' data plane and the clusters'
// Kubernetes API live in files of their own.

const (
	acrProvider = "Microsoft.ContainerRegistry/registries"
	aksProvider = "Microsoft.ContainerService/managedClusters"
)

func (s *Sim) registerContainerRoutes() {
	s.armRoute(http.MethodGet, "/subscriptions/{subscriptionId}/providers/Microsoft.ContainerRegistry/registries", "arm.registries.list", "Microsoft.ContainerRegistry/registries/read", s.armListRegistries)
	s.armRoute(http.MethodGet, "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ContainerRegistry/registries", "arm.registries.listbyrg", "Microsoft.ContainerRegistry/registries/read", s.armListRegistries)
	s.armRoute(http.MethodGet, "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ContainerRegistry/registries/{name}", "arm.registries.get", "Microsoft.ContainerRegistry/registries/read", s.armGetRegistry)
	s.armRoute(http.MethodPost, "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ContainerRegistry/registries/{name}/listCredentials", "arm.registries.listcredentials", "Microsoft.ContainerRegistry/registries/listCredentials/action", s.armListRegistryCredentials)

	s.armRoute(http.MethodGet, "/subscriptions/{subscriptionId}/providers/Microsoft.ContainerService/managedClusters", "arm.managedclusters.list", "Microsoft.ContainerService/managedClusters/read", s.armListClusters)
	s.armRoute(http.MethodGet, "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ContainerService/managedClusters", "arm.managedclusters.listbyrg", "Microsoft.ContainerService/managedClusters/read", s.armListClusters)
	s.armRoute(http.MethodGet, "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ContainerService/managedClusters/{name}", "arm.managedclusters.get", "Microsoft.ContainerService/managedClusters/read", s.armGetCluster)
	s.armRoute(http.MethodPost, "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ContainerService/managedClusters/{name}/listClusterUserCredential", "arm.managedclusters.usercredential", "Microsoft.ContainerService/managedClusters/listClusterUserCredential/action", s.armClusterCredential(false))
	s.armRoute(http.MethodPost, "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ContainerService/managedClusters/{name}/listClusterAdminCredential", "arm.managedclusters.admincredential", "Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action", s.armClusterCredential(true))
}

// located is a resource found in the world with where it lives.
type located[T any] struct {
	sub *Subscription
	rg  *ResourceGroup
	res T
	id  string
}

// collect gathers a resource type across a subscription, or one resource
// group when the route names one. For an unknown group it decides RBAC at
// the group's scope first (403 to a caller without the route's action
// there, as for any group: RBAC before existence, as ARM does), then
// answers 404.
func collect[T any](c *armCall, sub *Subscription, provider string, pick func(*ResourceGroup) []T, name func(T) string) ([]located[T], bool) {
	rgName := c.param("resourceGroupName")
	c.s.mu.RLock()
	var out []located[T]
	found := rgName == ""
	for _, g := range sub.ResourceGroups {
		if rgName != "" && !strings.EqualFold(g.Name, rgName) {
			continue
		}
		found = true
		for _, r := range pick(g) {
			out = append(out, located[T]{sub: sub, rg: g, res: r, id: resScope(sub.ID, g.Name, provider, name(r))})
		}
	}
	c.s.mu.RUnlock()
	if !found {
		if !c.authorize(c.spec.action, rgScope(sub.ID, rgName)) {
			return nil, false
		}
		c.fail(http.StatusNotFound, "ResourceGroupNotFound", fmt.Sprintf("Resource group '%s' could not be found.", rgName))
		return nil, false
	}
	return out, true
}

// listVisible answers a filtered, paged list of located resources.
func listVisible[T any](c *armCall, sub *Subscription, all []located[T], render func(located[T]) any) {
	ids := make([]string, len(all))
	for i, l := range all {
		ids[i] = l.id
	}
	scope := subScope(sub.ID)
	if rg := c.param("resourceGroupName"); rg != "" {
		scope = rgScope(sub.ID, all0RG(all, rg))
	}
	keep, ok := c.visible(c.spec.action, scope, ids)
	if !ok {
		return
	}
	var shown []located[T]
	for i, l := range all {
		if keep[i] {
			shown = append(shown, l)
		}
	}
	c.s.mu.RLock()
	body, ok := c.pageBody(len(shown), func(i int) any { return render(shown[i]) })
	c.s.mu.RUnlock()
	if ok {
		c.reply(http.StatusOK, body)
	}
}

func all0RG[T any](all []located[T], fallback string) string {
	if len(all) > 0 {
		return all[0].rg.Name
	}
	return fallback
}

// getOne authorizes the read of one resource (RBAC before existence, as ARM
// does) and finds it.
func getOne[T any](c *armCall, provider, typ string, pick func(*ResourceGroup) []T, name func(T) string) (located[T], bool) {
	var zero located[T]
	_, sub, ok := c.subscription()
	if !ok {
		return zero, false
	}
	rgName, resName := c.param("resourceGroupName"), c.param("name")
	if !c.authorize(c.spec.action, resScope(sub.ID, rgName, provider, resName)) {
		return zero, false
	}
	g, ok := c.resourceGroup(sub)
	if !ok {
		return zero, false
	}
	c.s.mu.RLock()
	defer c.s.mu.RUnlock()
	for _, r := range pick(g) {
		if strings.EqualFold(name(r), resName) {
			return located[T]{sub: sub, rg: g, res: r, id: resScope(sub.ID, g.Name, provider, name(r))}, true
		}
	}
	c.resourceNotFound(typ, resName, g.Name)
	return zero, false
}

func registries(g *ResourceGroup) []*Registry { return g.Registries }
func registryName(r *Registry) string         { return r.Name }
func clusters(g *ResourceGroup) []*Cluster    { return g.Clusters }
func clusterName(r *Cluster) string           { return r.Name }

func skuTier(sku string) string {
	switch strings.ToLower(sku) {
	case "basic":
		return "Basic"
	case "premium":
		return "Premium"
	default:
		return "Standard"
	}
}

func registryJSON(l located[*Registry]) any {
	r := l.res
	created := r.CreatedAt.UTC().Format(time.RFC3339Nano)
	return map[string]any{
		"id":       l.id,
		"name":     r.Name,
		"type":     acrProvider,
		"location": r.Location,
		"tags":     map[string]string{},
		"sku":      map[string]string{"name": skuTier(r.SKU), "tier": skuTier(r.SKU)},
		"systemData": map[string]any{
			"createdAt": created, "createdByType": "User", "lastModifiedAt": created, "lastModifiedByType": "User",
		},
		"properties": map[string]any{
			"loginServer":              r.LoginServer,
			"creationDate":             created,
			"provisioningState":        "Succeeded",
			"adminUserEnabled":         r.AdminUserEnabled,
			"publicNetworkAccess":      "Enabled",
			"networkRuleBypassOptions": "AzureServices",
			"zoneRedundancy":           "Disabled",
			"anonymousPullEnabled":     false,
			"dataEndpointEnabled":      false,
			"encryption":               map[string]string{"status": "disabled"},
			"policies": map[string]any{
				"quarantinePolicy": map[string]string{"status": "disabled"},
				"trustPolicy":      map[string]string{"type": "Notary", "status": "disabled"},
				"retentionPolicy":  map[string]any{"days": 7, "status": "disabled"},
				"exportPolicy":     map[string]string{"status": "enabled"},
			},
		},
	}
}

func (s *Sim) armListRegistries(c *armCall) {
	_, sub, ok := c.subscription()
	if !ok {
		return
	}
	all, ok := collect(c, sub, acrProvider, registries, registryName)
	if !ok {
		return
	}
	listVisible(c, sub, all, registryJSON)
}

func (s *Sim) armGetRegistry(c *armCall) {
	l, ok := getOne(c, acrProvider, acrProvider, registries, registryName)
	if !ok {
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	c.reply(http.StatusOK, registryJSON(l))
}

func (s *Sim) armListRegistryCredentials(c *armCall) {
	l, ok := getOne(c, acrProvider, acrProvider, registries, registryName)
	if !ok {
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	r := l.res
	if !r.AdminUserEnabled {
		c.fail(http.StatusBadRequest, "BadRequest", fmt.Sprintf("Admin user is disabled for registry '%s'. Enable the admin user to list its credentials.", r.Name))
		return
	}
	pw := []map[string]string{}
	for i, p := range r.AdminPasswords[:2] {
		name := "password"
		if i == 1 {
			name = "password2"
		}
		pw = append(pw, map[string]string{"name": name, "value": p.Reveal()})
	}
	c.reply(http.StatusOK, map[string]any{"username": r.Name, "passwords": pw})
}

func clusterJSON(l located[*Cluster]) any {
	cl := l.res
	props := map[string]any{
		"provisioningState":        "Succeeded",
		"powerState":               map[string]string{"code": cl.PowerState},
		"kubernetesVersion":        cl.KubernetesVersion,
		"currentKubernetesVersion": cl.KubernetesVersion,
		"dnsPrefix":                cl.DNSPrefix,
		"fqdn":                     cl.FQDN,
		"azurePortalFQDN":          strings.Replace(cl.FQDN, ".hcp.", ".portal.hcp.", 1),
		"enableRBAC":               *cl.EnableRBAC,
		"disableLocalAccounts":     cl.DisableLocalAccounts,
		"nodeResourceGroup":        fmt.Sprintf("MC_%s_%s_%s", l.rg.Name, cl.Name, cl.Location),
		"maxAgentPools":            100,
		"agentPoolProfiles": []map[string]any{{
			"name": "nodepool1", "count": 3, "vmSize": "Standard_D4s_v5", "osType": "Linux", "osSKU": "Ubuntu",
			"mode": "System", "type": "VirtualMachineScaleSets", "provisioningState": "Succeeded",
			"powerState": map[string]string{"code": cl.PowerState}, "orchestratorVersion": cl.KubernetesVersion,
		}},
		"networkProfile": map[string]any{"networkPlugin": "azure", "loadBalancerSku": "standard", "outboundType": "loadBalancer"},
	}
	if a := cl.AADProfile; a != nil {
		props["aadProfile"] = map[string]any{
			"managed": a.Managed, "enableAzureRBAC": a.EnableAzureRBAC,
			"adminGroupObjectIDs": nonNil(a.AdminGroupObjectIDs), "tenantID": a.TenantID,
		}
	}
	return map[string]any{
		"id":         l.id,
		"name":       cl.Name,
		"type":       aksProvider,
		"location":   cl.Location,
		"sku":        map[string]string{"name": "Base", "tier": "Free"},
		"identity":   map[string]string{"type": "SystemAssigned"},
		"properties": props,
	}
}

func (s *Sim) armListClusters(c *armCall) {
	_, sub, ok := c.subscription()
	if !ok {
		return
	}
	all, ok := collect(c, sub, aksProvider, clusters, clusterName)
	if !ok {
		return
	}
	listVisible(c, sub, all, clusterJSON)
}

func (s *Sim) armGetCluster(c *armCall) {
	l, ok := getOne(c, aksProvider, aksProvider, clusters, clusterName)
	if !ok {
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	c.reply(http.StatusOK, clusterJSON(l))
}

// ClusterCredentialRequest is what the credential routes hand to the
// kubeconfig builder of the AKS file, after RBAC and the local-accounts
// rule have been checked.
type ClusterCredentialRequest struct {
	Caller         *Caller
	TenantID       string
	SubscriptionID string
	ResourceGroup  string
	Cluster        *Cluster // read it under Sim.View or the Sim's lock
	Admin          bool
	Format         string // "", "azure" or "exec" (user credentials of AAD clusters)
	ServerFQDN     string
}

// errNotServed is returned by a missing kubeconfig builder.
var errNotServed = errors.New("the simulator serves no Kubernetes API yet")

// clusterKubeconfig builds a kubeconfig for a credential request; the AKS
// file replaces it in its init. It returns the kubeconfig's name
// (clusterUser, clusterAdmin) and its YAML.
var clusterKubeconfig = func(s *Sim, req ClusterCredentialRequest) (string, []byte, error) {
	return "", nil, errNotServed
}

func (s *Sim) armClusterCredential(admin bool) func(*armCall) {
	return func(c *armCall) {
		l, ok := getOne(c, aksProvider, aksProvider, clusters, clusterName)
		if !ok {
			return
		}
		q := c.r.URL.Query()
		format := strings.ToLower(q.Get("format"))
		if format != "" && format != "azure" && format != "exec" {
			c.fail(http.StatusBadRequest, "InvalidParameter", fmt.Sprintf("The value '%s' of parameter 'format' is invalid. Allowed values are 'azure' and 'exec'.", q.Get("format")))
			return
		}
		s.mu.RLock()
		disabled := l.res.DisableLocalAccounts
		s.mu.RUnlock()
		if admin && disabled {
			c.fail(http.StatusBadRequest, "BadRequest", "Getting static credential is not allowed because this cluster is set to disable local accounts.")
			return
		}
		name, kubeconfig, err := clusterKubeconfig(s, ClusterCredentialRequest{
			Caller: c.caller, TenantID: c.caller.TenantID, SubscriptionID: l.sub.ID, ResourceGroup: l.rg.Name,
			Cluster: l.res, Admin: admin, Format: format, ServerFQDN: q.Get("server-fqdn"),
		})
		switch {
		case errors.Is(err, errNotServed):
			c.fail(http.StatusNotImplemented, "NotImplemented", "The simulator does not serve this cluster's Kubernetes API.")
			return
		case err != nil:
			c.fail(http.StatusInternalServerError, "InternalServerError", "Building the kubeconfig failed: "+err.Error())
			return
		}
		c.reply(http.StatusOK, map[string]any{"kubeconfigs": []map[string]any{{"name": name, "value": kubeconfig}}})
	}
}
