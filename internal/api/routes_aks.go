package api

import (
	"net/http"
	"strings"

	"github.com/azimuthcd/azimuth/internal/access"
	"github.com/azimuthcd/azimuth/internal/failure"
	"github.com/azimuthcd/azimuth/internal/ops"
)

// aksRoutes are AKS clusters, kubeconfigs and script steps.
func (a *API) aksRoutes() []Route {
	h := func(method, path, summary string, fn Handler) Route {
		return Route{Method: method, Path: path, Summary: summary, handle: fn}
	}
	return []Route{
		// Harness NG: the clusters of a resource group.
		h(http.MethodGet, "/ng/api/azure/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/clusters", "List the AKS clusters of a resource group", a.listAKSClustersHarness),
		// Azimuth: clusters of a subscription or resource group, a
		// kubeconfig, a script step.
		h(http.MethodGet, "/ng/api/azimuth/aks/clusters", "List the AKS clusters of a subscription or resource group", a.listAKSClusters),
		h(http.MethodPost, "/ng/api/azimuth/aks/kubeconfig", "Get a kubeconfig of an AKS cluster", a.getAKSKubeconfig),
		h(http.MethodPost, "/ng/api/azimuth/steps", "Run a script step on a delegate with the cluster's kubeconfig", a.runStep),
	}
}

func connectorRef(r *http.Request) string {
	return strings.TrimSpace(r.URL.Query().Get("connectorRef"))
}

func (a *API) listAKSClustersHarness(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	return a.aksClusters(w, r, p, r.PathValue("subscriptionId"), r.PathValue("resourceGroupName"))
}

func (a *API) listAKSClusters(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	q := r.URL.Query()
	return a.aksClusters(w, r, p, q.Get("subscriptionId"), q.Get("resourceGroup"))
}

func (a *API) aksClusters(w http.ResponseWriter, r *http.Request, p access.Principal, sub, rg string) error {
	owner, err := ownerScope(r)
	if err != nil {
		return err
	}
	if strings.TrimSpace(sub) == "" {
		return failure.InvalidField("subscriptionId", "is required.")
	}
	if _, _, err := connectorScope(owner, connectorRef(r)); err != nil {
		return err
	}
	var out ops.AKSClusterList
	if _, err := a.runConnectorOp(r.Context(), p, ConnectorTask{Owner: owner, Ref: connectorRef(r), Kind: ops.KindAKSClusters,
		Params: ops.AKSClustersParams{SubscriptionID: sub, ResourceGroup: rg}}, &out); err != nil {
		return err
	}
	ok(w, r, out)
	return nil
}

func (a *API) getAKSKubeconfig(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	owner, err := ownerScope(r)
	if err != nil {
		return err
	}
	var in ops.KubeconfigParams
	if err := decodeBody(r, &in); err != nil {
		return err
	}
	if err := in.Check(); err != nil {
		return err
	}
	if _, _, err := connectorScope(owner, connectorRef(r)); err != nil {
		return err
	}
	var out ops.Kubeconfig
	if _, err := a.runConnectorOp(r.Context(), p, ConnectorTask{Owner: owner, Ref: connectorRef(r), Kind: ops.KindAKSKubeconfig, Params: in}, &out); err != nil {
		return err
	}
	ok(w, r, out)
	return nil
}

// stepRequest is a script step: the step's parameters and its delegate
// selectors.
type stepRequest struct {
	ops.StepParams
	DelegateSelectors []string `json:"delegateSelectors,omitempty"`
}

// stepResponse is the step's result with its task.
type stepResponse struct {
	TaskID string `json:"taskId"`
	ops.StepResult
}

func (a *API) runStep(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	owner, err := ownerScope(r)
	if err != nil {
		return err
	}
	var in stepRequest
	if err := decodeBody(r, &in); err != nil {
		return err
	}
	if _, err := in.Check(); err != nil {
		return err
	}
	// The seed's rule, before anything runs: a managed-identity step
	// names the delegates (in AKS) whose identity it means.
	sc, id, err := connectorScope(owner, connectorRef(r))
	if err != nil {
		return err
	}
	c, err := a.svc.Connectors.Get(r.Context(), p, sc, id)
	if err != nil {
		return err
	}
	if err := ops.CheckStepSelectors(c.Doc, in.DelegateSelectors); err != nil {
		return err
	}
	var out stepResponse
	res, err := a.runConnectorOp(r.Context(), p, ConnectorTask{Owner: owner, Ref: connectorRef(r), Kind: ops.KindStep,
		Params: in.StepParams, Selectors: in.DelegateSelectors}, &out.StepResult)
	if err != nil {
		return err
	}
	out.TaskID = res.TaskID
	if out.DelegateID == "" {
		out.DelegateID = res.DelegateID
	}
	ok(w, r, out)
	return nil
}
