package api

import (
	"net/http"

	"github.com/azimuthcd/azimuth/internal/access"
	"github.com/azimuthcd/azimuth/internal/ops"
	"github.com/azimuthcd/azimuth/internal/task"
)

// azureRoutes are the connection test and Harness's /ng/api/azure helpers (subscriptions, resource groups).
func (a *API) azureRoutes() []Route {
	return nil
}

// azureHelperRoutes are Harness's /ng/api/azure helpers: the subscriptions
// and resource groups a connector sees. (acrRoutes adds them, so the
// connection test can own azureRoutes.)
func (a *API) azureHelperRoutes() []Route {
	h := func(method, path, summary string, fn Handler) Route {
		return Route{Method: method, Path: path, Summary: summary, handle: fn}
	}
	return []Route{
		h(http.MethodGet, "/ng/api/azure/subscriptions", "List the subscriptions a connector sees", a.azureSubscriptions),
		h(http.MethodGet, "/ng/api/azure/subscriptions/{subscriptionId}/resourceGroups", "List the resource groups of a subscription", a.azureResourceGroups),
	}
}

// azureSubscriptionDTO is Harness's AzureSubscriptionDTO, plus the state.
type azureSubscriptionDTO struct {
	SubscriptionID   string `json:"subscriptionId"`
	SubscriptionName string `json:"subscriptionName"`
	State            string `json:"state,omitempty"`
	TenantID         string `json:"tenantId,omitempty"`
}

// azureResourceGroupDTO is Harness's AzureResourceGroupDTO, plus the
// location.
type azureResourceGroupDTO struct {
	ResourceGroup string `json:"resourceGroup"`
	Location      string `json:"location,omitempty"`
}

func (a *API) azureSubscriptions(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	var out ops.Subscriptions
	if err := a.queryConnectorOp(r, p, ops.KindSubscriptions, nil, &out); err != nil {
		return err
	}
	subs := make([]azureSubscriptionDTO, 0, len(out.Subscriptions))
	for _, s := range out.Subscriptions {
		subs = append(subs, azureSubscriptionDTO{SubscriptionID: s.SubscriptionID, SubscriptionName: s.DisplayName, State: s.State, TenantID: s.TenantID})
	}
	ok(w, r, map[string]any{"subscriptions": subs})
	return nil
}

func (a *API) azureResourceGroups(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	var out ops.ResourceGroups
	if err := a.queryConnectorOp(r, p, ops.KindResourceGroups, ops.ResourceGroupsParams{SubscriptionID: r.PathValue("subscriptionId")}, &out); err != nil {
		return err
	}
	rgs := make([]azureResourceGroupDTO, 0, len(out.ResourceGroups))
	for _, g := range out.ResourceGroups {
		rgs = append(rgs, azureResourceGroupDTO{ResourceGroup: g.Name, Location: g.Location})
	}
	ok(w, r, map[string]any{"resourceGroups": rgs})
	return nil
}

// queryConnectorOp runs a connector task for a request that names its
// connector in the connectorRef query parameter, Harness's way, and
// decodes the task's output into out.
func (a *API) queryConnectorOp(r *http.Request, p access.Principal, kind task.Kind, params, out any) error {
	sc, err := ownerScope(r)
	if err != nil {
		return err
	}
	ref := r.URL.Query().Get("connectorRef")
	if _, _, err := connectorScope(sc, ref); err != nil {
		return err // the request's own mistake, before anything runs
	}
	_, err = a.runConnectorOp(r.Context(), p, ConnectorTask{Owner: sc, Ref: ref, Kind: kind, Params: params}, out)
	return err
}
