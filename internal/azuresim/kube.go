package azuresim

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// A minimal Kubernetes API per cluster, enough for kubectl: /version,
// legacy discovery (/api, /apis, /api/v1, authorization.k8s.io/v1; a
// request for aggregated discovery gets the legacy form, which clients
// accept), namespaces, pods and configmaps (list and get, in a namespace or
// across all; Table or JSON), and SelfSubjectAccessReview for
// `kubectl auth can-i`.
//
// Authentication: a client certificate signed by the cluster's CA (only
// while local accounts are enabled), the static token of a local account,
// or, on Entra clusters, an Entra access token for the AKS server
// application (audience 6dae42f8-4368-4678-94ff-3960e28e3630, or
// api://6dae42f8-...) of the cluster's tenant, checked with no leeway so
// that an expired token gets 401 and the client refreshes.
//
// Authorization: system:masters (local accounts) may do everything. An
// Entra caller is a cluster admin when its object id is listed in the
// cluster's aadProfile.adminGroupObjectIDs (the simulator has no groups:
// list a principal's object id to make it a member); otherwise, with
// enableAzureRBAC, Azure RBAC decides through data actions
// (Microsoft.ContainerService/managedClusters/pods/read, ...) at the
// cluster's scope or its namespace sub-scope; without Azure RBAC it is
// refused (403, Kubernetes' Status). Every authenticated caller may read
// discovery and create SelfSubjectAccessReviews.
//
// Route names (counters, faults) are "kube.<cluster>.<operation>", e.g.
// "kube.aks-local.pods.list".

const kubeResourceVersion = "1000"

func writeKubeErrorShape(w http.ResponseWriter, _ *http.Request, status int, code, message string) {
	reason := map[int]string{
		400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed",
		406: "NotAcceptable", 429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable",
	}[status]
	if reason == "" {
		reason = code
	}
	writeKubeStatus(w, kubeStatus{Code: status, Reason: reason, Message: message})
}

type kubeStatus struct {
	Code    int
	Reason  string
	Message string
	Details map[string]string
}

func writeKubeStatus(w http.ResponseWriter, st kubeStatus) {
	body := map[string]any{
		"kind": "Status", "apiVersion": "v1", "metadata": map[string]any{},
		"status": "Failure", "message": st.Message, "reason": st.Reason, "code": st.Code,
	}
	if st.Details != nil {
		body["details"] = st.Details
	}
	writeJSON(w, st.Code, body)
}

// kubeUser is an authenticated caller.
type kubeUser struct {
	name   string
	groups []string
	aad    bool // an Entra principal (name is its object id)
}

func (u *kubeUser) in(group string) bool {
	for _, g := range u.groups {
		if g == group {
			return true
		}
	}
	return false
}

// kubeAttrs describe a request for authorization, as Kubernetes does.
type kubeAttrs struct {
	verb, group, resource, subresource, namespace, name string
	path                                                string // non-resource requests
}

func (kc *kubeCluster) router() *router {
	rt := newRouter("kube")
	nonResource := func(r *http.Request) kubeAttrs { return kubeAttrs{verb: "get", path: r.URL.Path} }
	kc.route(rt, http.MethodGet, "/version", "version", nonResource, kc.version)
	for _, p := range []string{"/healthz", "/livez", "/readyz"} {
		kc.route(rt, http.MethodGet, p, "health", nonResource, func(w http.ResponseWriter, r *http.Request, _ *kubeUser) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = io.WriteString(w, "ok")
		})
	}
	kc.route(rt, http.MethodGet, "/api", "discovery", nonResource, kc.discoveryAPI)
	kc.route(rt, http.MethodGet, "/apis", "discovery", nonResource, kc.discoveryAPIs)
	kc.route(rt, http.MethodGet, "/api/v1", "discovery", nonResource, kc.discoveryV1)
	kc.route(rt, http.MethodGet, "/apis/authorization.k8s.io", "discovery", nonResource, kc.discoveryAuthzGroup)
	kc.route(rt, http.MethodGet, "/apis/authorization.k8s.io/v1", "discovery", nonResource, kc.discoveryAuthzV1)
	kc.route(rt, http.MethodPost, "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", "selfsubjectaccessreviews.create",
		func(*http.Request) kubeAttrs {
			return kubeAttrs{verb: "create", group: "authorization.k8s.io", resource: "selfsubjectaccessreviews"}
		}, kc.selfSubjectAccessReview)
	for _, res := range kubeResources {
		if res.namespaced {
			kc.route(rt, http.MethodGet, "/api/v1/"+res.name, res.name+".list", kc.attrs(res, "list"), kc.list(res))
			kc.route(rt, http.MethodGet, "/api/v1/namespaces/{namespace}/"+res.name, res.name+".list", kc.attrs(res, "list"), kc.list(res))
			kc.route(rt, http.MethodGet, "/api/v1/namespaces/{namespace}/"+res.name+"/{name}", res.name+".get", kc.attrs(res, "get"), kc.get(res))
		} else {
			kc.route(rt, http.MethodGet, "/api/v1/"+res.name, res.name+".list", kc.attrs(res, "list"), kc.list(res))
			kc.route(rt, http.MethodGet, "/api/v1/"+res.name+"/{name}", res.name+".get", kc.attrs(res, "get"), kc.get(res))
		}
	}
	return rt
}

func (kc *kubeCluster) attrs(res *kubeResource, verb string) func(*http.Request) kubeAttrs {
	return func(r *http.Request) kubeAttrs {
		a := kubeAttrs{verb: verb, resource: res.name, name: pathParam(r, "name")}
		if w := r.URL.Query().Get("watch"); w == "true" || w == "1" {
			a.verb = "watch"
		}
		if res.namespaced {
			a.namespace = pathParam(r, "namespace")
		}
		return a
	}
}

// route adds an operation: authenticate, count, authorize, then handle.
func (kc *kubeCluster) route(rt *router, method, pattern, op string, attrs func(*http.Request) kubeAttrs, h func(http.ResponseWriter, *http.Request, *kubeUser)) {
	rt.handle(method, pattern, "kube."+kc.name+"."+op, func(w http.ResponseWriter, r *http.Request) {
		u, token := kc.authenticate(r)
		if u == nil {
			writeKubeStatus(w, kubeStatus{Code: http.StatusUnauthorized, Reason: "Unauthorized", Message: "Unauthorized"})
			return
		}
		kc.mu.Lock()
		kc.callers[strings.ToLower(u.name)]++
		if token != "" {
			kc.tokenUses[sha256.Sum256([]byte(token))]++
		}
		kc.mu.Unlock()
		a := attrs(r)
		if ok, reason := kc.authorize(u, a); !ok {
			kc.forbid(w, u, a, reason)
			return
		}
		if a.verb == "watch" {
			writeKubeStatus(w, kubeStatus{Code: http.StatusMethodNotAllowed, Reason: "MethodNotAllowed", Message: "the simulator does not serve watches"})
			return
		}
		h(w, r, u)
	})
}

// authenticate identifies the caller: client certificate, static token or
// Entra token. It returns the bearer token presented, if any.
func (kc *kubeCluster) authenticate(r *http.Request) (*kubeUser, string) {
	kc.s.mu.RLock()
	disabled := kc.c.DisableLocalAccounts
	aad := kc.c.AADProfile
	var aadTenant string
	if aad != nil {
		aadTenant = aad.TenantID
	}
	kc.s.mu.RUnlock()
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		if disabled {
			return nil, ""
		}
		c := r.TLS.PeerCertificates[0] // verified against the cluster CA by the TLS layer
		return &kubeUser{name: c.Subject.CommonName, groups: append(append([]string{}, c.Subject.Organization...), "system:authenticated")}, ""
	}
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	tok = strings.TrimSpace(tok)
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return nil, ""
	}
	if lc := kc.staticToken(tok); lc != nil {
		if disabled {
			return nil, ""
		}
		return &kubeUser{name: lc.user, groups: lc.groups}, tok
	}
	if aad == nil {
		return nil, ""
	}
	ends := kc.s.Endpoints(kc.cloud)
	caller, terr := kc.s.ValidateToken(tok, ends.AKSServerAppID, "api://"+ends.AKSServerAppID)
	if terr != nil || !strings.EqualFold(caller.TenantID, aadTenant) {
		return nil, ""
	}
	if !kc.s.Now().Before(time.Unix(caller.Claims.ExpiresAt, 0)) {
		return nil, "" // no leeway: clients refresh on 401
	}
	return &kubeUser{name: strings.ToLower(caller.ObjectID), groups: []string{"system:authenticated"}, aad: true}, tok
}

// discoveryPaths are readable by every authenticated caller
// (system:discovery, system:basic-user).
func discoveryPath(p string) bool {
	switch p {
	case "/version", "/healthz", "/livez", "/readyz", "/api", "/apis", "/api/v1",
		"/apis/authorization.k8s.io", "/apis/authorization.k8s.io/v1":
		return true
	}
	return false
}

// authorize decides a request; reason explains a refusal (Azure RBAC).
func (kc *kubeCluster) authorize(u *kubeUser, a kubeAttrs) (bool, string) {
	if u.in("system:masters") {
		return true, ""
	}
	if a.path != "" {
		return a.verb == "get" && discoveryPath(a.path), ""
	}
	if a.group == "authorization.k8s.io" && a.resource == "selfsubjectaccessreviews" && a.verb == "create" {
		return true, ""
	}
	if !u.aad {
		return false, ""
	}
	kc.s.mu.RLock()
	prof := kc.c.AADProfile
	var admin, azureRBAC bool
	if prof != nil {
		azureRBAC = prof.EnableAzureRBAC
		for _, id := range prof.AdminGroupObjectIDs {
			admin = admin || strings.EqualFold(id, u.name)
		}
	}
	kc.s.mu.RUnlock()
	if admin {
		return true, ""
	}
	if !azureRBAC {
		return false, ""
	}
	scope := kc.id
	if a.namespace != "" {
		scope += "/namespaces/" + a.namespace
	}
	if kc.s.CheckAccess(kc.tenantID, u.name, kubeDataAction(a), scope, true) {
		return true, ""
	}
	return false, "User does not have access to the resource in Azure. Update role assignment to allow access."
}

// kubeDataAction is the Azure RBAC data action of a Kubernetes request:
// Microsoft.ContainerService/managedClusters/[group/]resource[/sub]/(read|write|delete|verb/action).
func kubeDataAction(a kubeAttrs) string {
	res := a.resource
	if a.group != "" {
		res = a.group + "/" + res
	}
	if a.subresource != "" {
		res += "/" + a.subresource
	}
	switch a.verb {
	case "get", "list", "watch":
		return "Microsoft.ContainerService/managedClusters/" + res + "/read"
	case "create", "update", "patch":
		return "Microsoft.ContainerService/managedClusters/" + res + "/write"
	case "delete", "deletecollection":
		return "Microsoft.ContainerService/managedClusters/" + res + "/delete"
	}
	return "Microsoft.ContainerService/managedClusters/" + res + "/" + a.verb + "/action"
}

func (kc *kubeCluster) forbid(w http.ResponseWriter, u *kubeUser, a kubeAttrs, reason string) {
	var msg string
	if a.path != "" {
		msg = fmt.Sprintf("forbidden: User %q cannot %s path %q", u.name, a.verb, a.path)
	} else {
		subject := a.resource
		if a.name != "" {
			subject = fmt.Sprintf("%s %q", a.resource, a.name)
		}
		where := "at the cluster scope"
		if a.namespace != "" {
			where = fmt.Sprintf("in the namespace %q", a.namespace)
		}
		msg = fmt.Sprintf("%s is forbidden: User %q cannot %s resource %q in API group %q %s", subject, u.name, a.verb, a.resource, a.group, where)
	}
	if reason != "" {
		msg += ": " + reason
	}
	d := map[string]string{"kind": a.resource}
	if a.name != "" {
		d["name"] = a.name
	}
	if a.group != "" {
		d["group"] = a.group
	}
	writeKubeStatus(w, kubeStatus{Code: http.StatusForbidden, Reason: "Forbidden", Message: msg, Details: d})
}

// ---- discovery ----

// legacyJSON answers a discovery document in its legacy form. A client
// asking for aggregated discovery lists application/json as a fallback; a
// request accepting no plain JSON gets 406.
func legacyJSON(w http.ResponseWriter, r *http.Request, v any) {
	if !acceptsPlainJSON(r) {
		writeKubeStatus(w, kubeStatus{Code: http.StatusNotAcceptable, Reason: "NotAcceptable", Message: "only the following media types are accepted: application/json"})
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func acceptsPlainJSON(r *http.Request) bool {
	accept := strings.Join(r.Header.Values("Accept"), ",")
	if strings.TrimSpace(accept) == "" {
		return true
	}
	for _, part := range strings.Split(accept, ",") {
		fields := strings.Split(part, ";")
		mt := strings.TrimSpace(fields[0])
		params := false
		for _, f := range fields[1:] {
			if k, _, _ := strings.Cut(strings.TrimSpace(f), "="); k == "as" || k == "g" || k == "v" {
				params = true
			}
		}
		if (mt == "application/json" && !params) || mt == "*/*" || mt == "application/*" {
			return true
		}
	}
	return false
}

func (kc *kubeCluster) version(w http.ResponseWriter, r *http.Request, _ *kubeUser) {
	kc.s.mu.RLock()
	v := kc.c.KubernetesVersion
	kc.s.mu.RUnlock()
	major, minor, _ := strings.Cut(v, ".")
	minor, _, _ = strings.Cut(minor, ".")
	sum := sha256.Sum256([]byte(v))
	writeJSON(w, http.StatusOK, map[string]string{
		"major": major, "minor": minor, "gitVersion": "v" + v, "gitCommit": hex.EncodeToString(sum[:20]),
		"gitTreeState": "clean", "buildDate": "2024-11-01T00:00:00Z", "goVersion": "go1.22.8",
		"compiler": "gc", "platform": "linux/amd64",
	})
}

func (kc *kubeCluster) discoveryAPI(w http.ResponseWriter, r *http.Request, _ *kubeUser) {
	kc.s.mu.RLock()
	fqdn := kc.c.FQDN
	kc.s.mu.RUnlock()
	legacyJSON(w, r, map[string]any{
		"kind": "APIVersions", "versions": []string{"v1"},
		"serverAddressByClientCIDRs": []map[string]string{{"clientCIDR": "0.0.0.0/0", "serverAddress": fqdn + ":443"}},
	})
}

var authzGroup = map[string]any{
	"name":             "authorization.k8s.io",
	"versions":         []map[string]string{{"groupVersion": "authorization.k8s.io/v1", "version": "v1"}},
	"preferredVersion": map[string]string{"groupVersion": "authorization.k8s.io/v1", "version": "v1"},
}

func (kc *kubeCluster) discoveryAPIs(w http.ResponseWriter, r *http.Request, _ *kubeUser) {
	legacyJSON(w, r, map[string]any{"kind": "APIGroupList", "apiVersion": "v1", "groups": []any{authzGroup}})
}

func (kc *kubeCluster) discoveryAuthzGroup(w http.ResponseWriter, r *http.Request, _ *kubeUser) {
	g := map[string]any{"kind": "APIGroup", "apiVersion": "v1"}
	for k, v := range authzGroup {
		g[k] = v
	}
	legacyJSON(w, r, g)
}

func (kc *kubeCluster) discoveryV1(w http.ResponseWriter, r *http.Request, _ *kubeUser) {
	var res []map[string]any
	for _, kr := range kubeResources {
		res = append(res, map[string]any{
			"name": kr.name, "singularName": kr.singular, "namespaced": kr.namespaced, "kind": kr.kind,
			"verbs": []string{"get", "list"}, "shortNames": kr.short, "categories": kr.categories,
		})
	}
	legacyJSON(w, r, map[string]any{"kind": "APIResourceList", "groupVersion": "v1", "resources": res})
}

func (kc *kubeCluster) discoveryAuthzV1(w http.ResponseWriter, r *http.Request, _ *kubeUser) {
	legacyJSON(w, r, map[string]any{
		"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "authorization.k8s.io/v1",
		"resources": []map[string]any{{
			"name": "selfsubjectaccessreviews", "singularName": "selfsubjectaccessreview", "namespaced": false,
			"kind": "SelfSubjectAccessReview", "verbs": []string{"create"},
		}},
	})
}

// ---- SelfSubjectAccessReview ----

type ssarSpec struct {
	ResourceAttributes *struct {
		Namespace   string `json:"namespace,omitempty"`
		Verb        string `json:"verb,omitempty"`
		Group       string `json:"group,omitempty"`
		Version     string `json:"version,omitempty"`
		Resource    string `json:"resource,omitempty"`
		Subresource string `json:"subresource,omitempty"`
		Name        string `json:"name,omitempty"`
	} `json:"resourceAttributes,omitempty"`
	NonResourceAttributes *struct {
		Path string `json:"path,omitempty"`
		Verb string `json:"verb,omitempty"`
	} `json:"nonResourceAttributes,omitempty"`
}

func (kc *kubeCluster) selfSubjectAccessReview(w http.ResponseWriter, r *http.Request, u *kubeUser) {
	var req struct {
		APIVersion string   `json:"apiVersion"`
		Kind       string   `json:"kind"`
		Spec       ssarSpec `json:"spec"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
		writeKubeStatus(w, kubeStatus{Code: http.StatusBadRequest, Reason: "BadRequest", Message: "the body is not a SelfSubjectAccessReview: " + err.Error()})
		return
	}
	var a kubeAttrs
	switch sp := req.Spec; {
	case sp.ResourceAttributes != nil:
		ra := sp.ResourceAttributes
		a = kubeAttrs{verb: ra.Verb, group: ra.Group, resource: ra.Resource, subresource: ra.Subresource, namespace: ra.Namespace, name: ra.Name}
	case sp.NonResourceAttributes != nil:
		a = kubeAttrs{verb: sp.NonResourceAttributes.Verb, path: sp.NonResourceAttributes.Path}
	default:
		writeKubeStatus(w, kubeStatus{Code: 422, Reason: "Invalid", Message: `SelfSubjectAccessReview.authorization.k8s.io "" is invalid: spec: Invalid value: null: exactly one of nonResourceAttributes or resourceAttributes must be specified`})
		return
	}
	allowed, reason := kc.authorize(u, a)
	status := map[string]any{"allowed": allowed}
	if reason != "" {
		status["reason"] = reason
	}
	if !allowed && reason != "" {
		status["denied"] = true
	}
	writeJSON(w, http.StatusCreated, map[string]any{
		"kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
		"metadata": map[string]any{"creationTimestamp": nil}, "spec": req.Spec, "status": status,
	})
}

// ---- resources ----

type kubeResource struct {
	name, singular, kind string
	namespaced           bool
	short, categories    []string
	columns              []map[string]any
	// objects lists a namespace's objects ("" = every namespace, or the
	// cluster-scoped objects); call under s.mu.
	objects func(kc *kubeCluster, ns string) []kubeObject
}

// kubeObject is one object and its Table cells.
type kubeObject struct {
	namespace, name string
	obj             map[string]any
	cells           []any
}

func column(name, typ, format, desc string, priority int) map[string]any {
	return map[string]any{"name": name, "type": typ, "format": format, "description": desc, "priority": priority}
}

var kubeResources = []*kubeResource{
	{
		name: "configmaps", singular: "configmap", kind: "ConfigMap", namespaced: true, short: []string{"cm"},
		columns: []map[string]any{
			column("Name", "string", "name", "Name of the object, unique within its namespace.", 0),
			column("Data", "string", "", "Number of data entries.", 0),
			column("Age", "string", "", "Time since the object was created.", 0),
		},
		objects: (*kubeCluster).configMaps,
	},
	{
		name: "namespaces", singular: "namespace", kind: "Namespace", short: []string{"ns"},
		columns: []map[string]any{
			column("Name", "string", "name", "Name of the namespace.", 0),
			column("Status", "string", "", "Phase of the namespace.", 0),
			column("Age", "string", "", "Time since the object was created.", 0),
		},
		objects: (*kubeCluster).namespaces,
	},
	{
		name: "pods", singular: "pod", kind: "Pod", namespaced: true, short: []string{"po"}, categories: []string{"all"},
		columns: []map[string]any{
			column("Name", "string", "name", "Name of the pod, unique within its namespace.", 0),
			column("Ready", "string", "", "Ready containers out of all containers.", 0),
			column("Status", "string", "", "Phase or reason of the pod.", 0),
			column("Restarts", "string", "", "Container restarts.", 0),
			column("Age", "string", "", "Time since the object was created.", 0),
			column("IP", "string", "", "IP address of the pod.", 1),
			column("Node", "string", "", "Node the pod runs on.", 1),
			column("Nominated Node", "string", "", "Node nominated by preemption.", 1),
			column("Readiness Gates", "string", "", "Readiness gates passed out of all.", 1),
		},
		objects: (*kubeCluster).pods,
	},
}

// uid derives a stable UID for an object.
func (kc *kubeCluster) uid(kind, ns, name string) string {
	sum := sha256.Sum256([]byte(kc.id + "/" + kind + "/" + ns + "/" + name))
	h := hex.EncodeToString(sum[:16])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func (kc *kubeCluster) meta(kind, ns, name string, labels map[string]string) map[string]any {
	m := map[string]any{
		"name": name, "uid": kc.uid(kind, ns, name), "resourceVersion": kubeResourceVersion,
		"creationTimestamp": kc.created.Format(time.RFC3339),
	}
	if ns != "" {
		m["namespace"] = ns
	}
	if len(labels) > 0 {
		m["labels"] = labels
	}
	return m
}

// age prints a duration as kubectl does (5d, 3h, 12m).
func age(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return strconv.Itoa(int(d.Hours()/24)) + "d"
	case d >= 2*time.Hour:
		return strconv.Itoa(int(d.Hours())) + "h"
	case d >= 2*time.Minute:
		return strconv.Itoa(int(d.Minutes())) + "m"
	}
	return strconv.Itoa(max(int(d.Seconds()), 0)) + "s"
}

func (kc *kubeCluster) age() string { return age(kc.s.Now().Sub(kc.created)) }

func (kc *kubeCluster) namespaces(string) []kubeObject {
	var out []kubeObject
	for _, ns := range kc.c.Namespaces {
		obj := map[string]any{
			"metadata": kc.meta("Namespace", "", ns.Name, map[string]string{"kubernetes.io/metadata.name": ns.Name}),
			"spec":     map[string]any{"finalizers": []string{"kubernetes"}},
			"status":   map[string]any{"phase": "Active"},
		}
		out = append(out, kubeObject{name: ns.Name, obj: obj, cells: []any{ns.Name, "Active", kc.age()}})
	}
	return out
}

func (kc *kubeCluster) inNamespaces(ns string, f func(*Namespace)) {
	for _, n := range kc.c.Namespaces {
		if ns == "" || n.Name == ns {
			f(n)
		}
	}
}

func (kc *kubeCluster) pods(ns string) []kubeObject {
	var out []kubeObject
	kc.inNamespaces(ns, func(n *Namespace) {
		for _, p := range n.Pods {
			sum := sha256.Sum256([]byte(kc.id + "/" + n.Name + "/" + p.Name))
			ip := fmt.Sprintf("10.244.%d.%d", sum[0]%4, 2+sum[1]%250)
			node := fmt.Sprintf("aks-nodepool1-%08d-vmss%06d", int(sum[2])<<16|int(sum[3])<<8|int(sum[4]), sum[5]%3)
			ready := p.Phase == "Running"
			readyStr := "0/1"
			if ready {
				readyStr = "1/1"
			}
			container := strings.SplitN(p.Name, "-", 2)[0]
			started := kc.created.Format(time.RFC3339)
			state := map[string]any{"waiting": map[string]any{"reason": "ContainerCreating"}}
			if ready {
				state = map[string]any{"running": map[string]any{"startedAt": started}}
			}
			obj := map[string]any{
				"metadata": kc.meta("Pod", n.Name, p.Name, p.Labels),
				"spec": map[string]any{
					"containers": []map[string]any{{"name": container, "image": p.Image}},
					"nodeName":   node, "restartPolicy": "Always", "dnsPolicy": "ClusterFirst",
				},
				"status": map[string]any{
					"phase": p.Phase, "hostIP": "10.224.0.4", "podIP": ip, "podIPs": []map[string]string{{"ip": ip}},
					"startTime":  started,
					"conditions": []map[string]any{{"type": "Ready", "status": conditionStatus(ready)}},
					"containerStatuses": []map[string]any{{
						"name": container, "image": p.Image, "ready": ready, "started": ready, "restartCount": 0, "state": state,
					}},
				},
			}
			out = append(out, kubeObject{namespace: n.Name, name: p.Name, obj: obj,
				cells: []any{p.Name, readyStr, p.Phase, "0", kc.age(), ip, node, "<none>", "<none>"}})
		}
	})
	return out
}

func (kc *kubeCluster) configMaps(ns string) []kubeObject {
	var out []kubeObject
	kc.inNamespaces(ns, func(n *Namespace) {
		for _, cm := range n.ConfigMaps {
			data := map[string]string{}
			for k, v := range cm.Data {
				data[k] = v
			}
			obj := map[string]any{"metadata": kc.meta("ConfigMap", n.Name, cm.Name, nil), "data": data}
			out = append(out, kubeObject{namespace: n.Name, name: cm.Name, obj: obj, cells: []any{cm.Name, len(cm.Data), kc.age()}})
		}
	})
	return out
}

func conditionStatus(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// tableVersion reports whether the request asks for a Table and in which
// meta.k8s.io version, taking the first acceptable media range.
func tableVersion(r *http.Request) string {
	accept := strings.Join(r.Header.Values("Accept"), ",")
	for _, part := range strings.Split(accept, ",") {
		fields := strings.Split(part, ";")
		mt := strings.TrimSpace(fields[0])
		p := map[string]string{}
		for _, f := range fields[1:] {
			k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
			p[k] = v
		}
		switch {
		case mt == "application/json" && p["as"] == "Table" && p["g"] == "meta.k8s.io" && (p["v"] == "v1" || p["v"] == "v1beta1"):
			return p["v"]
		case (mt == "application/json" && p["as"] == "") || mt == "*/*":
			return ""
		}
	}
	return ""
}

func (kc *kubeCluster) list(res *kubeResource) func(http.ResponseWriter, *http.Request, *kubeUser) {
	return func(w http.ResponseWriter, r *http.Request, _ *kubeUser) {
		q := r.URL.Query()
		sel, err := parseLabelSelector(q.Get("labelSelector"))
		if err != nil {
			writeKubeStatus(w, kubeStatus{Code: http.StatusBadRequest, Reason: "BadRequest", Message: "unable to parse requirement: " + err.Error()})
			return
		}
		fieldName, fieldNS, err := parseFieldSelector(q.Get("fieldSelector"))
		if err != nil {
			writeKubeStatus(w, kubeStatus{Code: http.StatusBadRequest, Reason: "BadRequest", Message: err.Error()})
			return
		}
		kc.s.mu.RLock()
		objs := res.objects(kc, pathParam(r, "namespace"))
		kc.s.mu.RUnlock()
		var keep []kubeObject
		for _, o := range objs {
			labels, _ := o.obj["metadata"].(map[string]any)["labels"].(map[string]string)
			if sel.matches(labels) && (fieldName == "" || o.name == fieldName) && (fieldNS == "" || o.namespace == fieldNS) {
				keep = append(keep, o)
			}
		}
		sort.SliceStable(keep, func(i, j int) bool {
			if keep[i].namespace != keep[j].namespace {
				return keep[i].namespace < keep[j].namespace
			}
			return keep[i].name < keep[j].name
		})
		// limit/continue chunking (kubectl asks for 500 at a time).
		start := 0
		if c := q.Get("continue"); c != "" {
			b, err := base64.RawURLEncoding.DecodeString(c)
			n, err2 := strconv.Atoi(string(b))
			if err != nil || err2 != nil || n < 0 || n > len(keep) {
				writeKubeStatus(w, kubeStatus{Code: http.StatusBadRequest, Reason: "BadRequest", Message: "continue key is not valid"})
				return
			}
			start = n
		}
		end := len(keep)
		listMeta := map[string]any{"resourceVersion": kubeResourceVersion}
		if l, err := strconv.Atoi(q.Get("limit")); err == nil && l > 0 && start+l < len(keep) {
			end = start + l
			listMeta["continue"] = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end)))
			listMeta["remainingItemCount"] = len(keep) - end
		}
		page := keep[start:end]
		if v := tableVersion(r); v != "" {
			writeJSON(w, http.StatusOK, kc.table(res, v, page, listMeta, q.Get("includeObject")))
			return
		}
		items := make([]map[string]any, 0, len(page))
		for _, o := range page {
			items = append(items, o.obj)
		}
		writeJSON(w, http.StatusOK, map[string]any{"kind": res.kind + "List", "apiVersion": "v1", "metadata": listMeta, "items": items})
	}
}

func (kc *kubeCluster) get(res *kubeResource) func(http.ResponseWriter, *http.Request, *kubeUser) {
	return func(w http.ResponseWriter, r *http.Request, _ *kubeUser) {
		ns, name := pathParam(r, "namespace"), pathParam(r, "name")
		kc.s.mu.RLock()
		objs := res.objects(kc, ns)
		kc.s.mu.RUnlock()
		for _, o := range objs {
			if o.name != name || (res.namespaced && o.namespace != ns) {
				continue
			}
			if v := tableVersion(r); v != "" {
				writeJSON(w, http.StatusOK, kc.table(res, v, []kubeObject{o}, map[string]any{"resourceVersion": kubeResourceVersion}, r.URL.Query().Get("includeObject")))
				return
			}
			obj := map[string]any{"kind": res.kind, "apiVersion": "v1"}
			for k, v := range o.obj {
				obj[k] = v
			}
			writeJSON(w, http.StatusOK, obj)
			return
		}
		writeKubeStatus(w, kubeStatus{Code: http.StatusNotFound, Reason: "NotFound",
			Message: fmt.Sprintf("%s %q not found", res.name, name), Details: map[string]string{"name": name, "kind": res.name}})
	}
}

// table renders objects as a meta.k8s.io Table; each row carries the
// object's metadata (includeObject=Metadata, the default), the whole
// object (Object) or nothing (None).
func (kc *kubeCluster) table(res *kubeResource, version string, objs []kubeObject, listMeta map[string]any, include string) map[string]any {
	rows := make([]map[string]any, 0, len(objs))
	for _, o := range objs {
		row := map[string]any{"cells": o.cells}
		switch include {
		case "None":
		case "Object":
			obj := map[string]any{"kind": res.kind, "apiVersion": "v1"}
			for k, v := range o.obj {
				obj[k] = v
			}
			row["object"] = obj
		default:
			row["object"] = map[string]any{"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/" + version, "metadata": o.obj["metadata"]}
		}
		rows = append(rows, row)
	}
	return map[string]any{
		"kind": "Table", "apiVersion": "meta.k8s.io/" + version, "metadata": listMeta,
		"columnDefinitions": res.columns, "rows": rows,
	}
}

// ---- selectors ----

type labelReq struct {
	key, op string // op: "=", "!=", "exists", "!exists"
	value   string
}

type labelSelector []labelReq

// parseLabelSelector reads equality-based selectors: k=v, k==v, k!=v, k, !k.
func parseLabelSelector(s string) (labelSelector, error) {
	var out labelSelector
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		switch {
		case part == "":
		case strings.Contains(part, "!="):
			k, v, _ := strings.Cut(part, "!=")
			out = append(out, labelReq{strings.TrimSpace(k), "!=", strings.TrimSpace(v)})
		case strings.Contains(part, "=="):
			k, v, _ := strings.Cut(part, "==")
			out = append(out, labelReq{strings.TrimSpace(k), "=", strings.TrimSpace(v)})
		case strings.Contains(part, "="):
			k, v, _ := strings.Cut(part, "=")
			out = append(out, labelReq{strings.TrimSpace(k), "=", strings.TrimSpace(v)})
		case strings.HasPrefix(part, "!"):
			out = append(out, labelReq{strings.TrimSpace(part[1:]), "!exists", ""})
		case strings.ContainsAny(part, " ()"):
			return nil, fmt.Errorf("%q: the simulator supports only equality-based selectors", part)
		default:
			out = append(out, labelReq{part, "exists", ""})
		}
	}
	return out, nil
}

func (sel labelSelector) matches(labels map[string]string) bool {
	for _, r := range sel {
		v, ok := labels[r.key]
		switch r.op {
		case "=":
			if !ok || v != r.value {
				return false
			}
		case "!=":
			if ok && v == r.value {
				return false
			}
		case "exists":
			if !ok {
				return false
			}
		case "!exists":
			if ok {
				return false
			}
		}
	}
	return true
}

// parseFieldSelector supports metadata.name and metadata.namespace.
func parseFieldSelector(s string) (name, namespace string, err error) {
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		v = strings.TrimPrefix(v, "=")
		switch {
		case ok && k == "metadata.name":
			name = v
		case ok && k == "metadata.namespace":
			namespace = v
		default:
			return "", "", fmt.Errorf("field label not supported: %s", k)
		}
	}
	return name, namespace, nil
}
