package api

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/azimuthcd/azimuth/internal/access"
	"github.com/azimuthcd/azimuth/internal/failure"
	"github.com/azimuthcd/azimuth/internal/ops"
	"github.com/azimuthcd/azimuth/internal/service"
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
	// A kubeconfig carries a credential of the cluster: a use of the
	// connector, not a read (Connectors.Use: editor, audited).
	creds := "user"
	if in.UseClusterAdminCredentials {
		creds = "admin"
	}
	use := &service.ConnectorUse{Action: "connector.kubeconfig", What: "getting a kubeconfig",
		Detail: fmt.Sprintf("kubeconfig (%s credentials) of AKS cluster %s in resource group %s, subscription %s", creds, in.Cluster, in.ResourceGroup, in.SubscriptionID)}
	var out ops.Kubeconfig
	if _, err := a.runConnectorOp(r.Context(), p, ConnectorTask{Owner: owner, Ref: connectorRef(r), Kind: ops.KindAKSKubeconfig, Params: in, Use: use}, &out); err != nil {
		return err
	}
	ok(w, r, out)
	return nil
}

// stepRequest is a script step: the step's parameters, its delegate
// selectors and, optionally, the id its task is to get.
type stepRequest struct {
	ops.StepParams
	DelegateSelectors []string `json:"delegateSelectors,omitempty"`
	// TaskID, when given, is the step's task id: tsk_ and 24 lower-case
	// hex digits chosen at random by the client, so it can follow the
	// task's log (GET /ng/api/azimuth/tasks/{taskId}) while the step runs.
	TaskID string `json:"taskId,omitempty"`
}

// stepResponse is the step's result with its task.
type stepResponse struct {
	TaskID string `json:"taskId"`
	ops.StepResult
}

var taskIDRE = regexp.MustCompile(`^tsk_[0-9a-f]{24}$`)

// newTaskID returns a task id of engine.NewID's form.
func newTaskID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "tsk_" + hex.EncodeToString(b[:])
}

// stepAuditDetail says who ran what where, for the audit trail: the
// cluster, the delegate selectors, the names (never the values) of the
// extra environment variables, and the script by its SHA-256 and length.
// The script's text is not recorded: scripts carry secrets inline often
// enough (export TOKEN=...) that neither the text nor a prefix of it may
// sit in the trail; the hash lets an auditor check a script in hand
// against what ran.
func stepAuditDetail(id string, in stepRequest) string {
	sum := sha256.Sum256([]byte(in.Script))
	env := make([]string, 0, len(in.Env))
	for k := range in.Env {
		env = append(env, k)
	}
	slices.Sort(env)
	ns := in.Namespace
	if ns == "" {
		ns = "(none)"
	}
	creds := "user"
	if in.UseClusterAdminCredentials {
		creds = "admin"
	}
	return fmt.Sprintf("script step %s on AKS cluster %s in resource group %s, subscription %s (namespace %s, %s credentials), delegate selectors [%s], env [%s], script sha256:%s (%d bytes)",
		id, in.Cluster, in.ResourceGroup, in.SubscriptionID, ns, creds, strings.Join(in.DelegateSelectors, ", "), strings.Join(env, ", "),
		hex.EncodeToString(sum[:]), len(in.Script))
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
	id := strings.TrimSpace(in.TaskID)
	switch {
	case id == "":
		id = newTaskID()
	case !taskIDRE.MatchString(id):
		return failure.InvalidField("taskId", "must be tsk_ and 24 lower-case hex digits, chosen at random; got %q.", id)
	case a.delegates != nil:
		if _, _, _, err := a.delegates.GetTaskWithLogs(r.Context(), access.System("step"), id, math.MaxInt64); err == nil {
			return failure.New(failure.Conflict, "task id %s is already in use; choose another at random", id).WithCode("DUPLICATE_FIELD")
		} else if failure.KindOf(err) != failure.NotFound {
			return err
		}
	}
	// The seed's rule, before anything runs: a managed-identity step
	// names the delegates (in AKS) whose identity it means.
	sc, cid, err := connectorScope(owner, connectorRef(r))
	if err != nil {
		return err
	}
	c, err := a.svc.Connectors.Get(r.Context(), p, sc, cid)
	if err != nil {
		return err
	}
	if err := ops.CheckStepSelectors(c.Doc, in.DelegateSelectors); err != nil {
		return err
	}
	// Running a script with the connector's credential is a use of it:
	// editor role, and an audit event (Connectors.Use).
	use := &service.ConnectorUse{Action: "connector.step", What: "running a script step", Detail: stepAuditDetail(id, in)}
	var out stepResponse
	res, err := a.runConnectorOp(r.Context(), p, ConnectorTask{Owner: owner, Ref: connectorRef(r), Kind: ops.KindStep,
		Params: in.StepParams, Selectors: in.DelegateSelectors, Use: use, ID: id}, &out.StepResult)
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
