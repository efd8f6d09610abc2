package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/azimuthcd/azimuth/internal/azure"
	"github.com/azimuthcd/azimuth/internal/engine"
	"github.com/azimuthcd/azimuth/internal/ops"
	"github.com/azimuthcd/azimuth/internal/task"
)

// stepDelegate stands in for the delegate hub: it runs a task with a
// delegate's engine (secrets resolved by the server's services).
type stepDelegate struct{ eng *engine.Engine }

func (d stepDelegate) Dispatch(ctx context.Context, spec task.Spec, id string, timeout time.Duration) (*task.Result, error) {
	return d.eng.RunLocal(ctx, spec, id, timeout, nil)
}

// TestConnectorUseRoles: a viewer lists what a connector sees but may not
// use its credential (a script step, a kubeconfig, registry login
// credentials: 403, recorded as denied); an editor may, and each use is in
// the audit trail with who, which connector and cluster, and the script
// only by its hash.
func TestConnectorUseRoles(t *testing.T) {
	e, sim, eng := acrEngineEnv(t, 10)
	o, err := sim.HostOverride("delegate-host")
	if err != nil {
		t.Fatal(err)
	}
	df, err := azure.NewFactory(azure.Options{Override: o, ManagedIdentity: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(df.Close)
	eng.SetDispatcher(stepDelegate{engine.New(engine.Deps{Secrets: e.svc.Secrets, Env: ops.NewEnv(nil, df, "dlg_roles")})})
	e.must(e.createTextSecret(e.admin, "", "", "owner_sp", "demo-owner-secret-0006"))
	owner := azureConnector("owner", "", "", "account.owner_sp")
	spec := owner["connector"].(map[string]any)["spec"].(map[string]any)
	spec["executeOnDelegate"] = false
	spec["credential"].(map[string]any)["spec"] = map[string]any{"applicationId": "30000000-0000-4000-8000-000000000006", "tenantId": acrTenant,
		"auth": map[string]any{"type": "Secret", "spec": map[string]any{"secretRef": "account.owner_sp"}}}
	e.must(e.req("POST", "/ng/api/connectors"+aq(), e.admin, owner))
	viewer, editor := e.createKey("", "", "viewer"), e.createKey("", "", "editor")
	editorID := strings.Split(editor, ".")[2]

	cluster := map[string]any{"subscriptionId": acrSub, "resourceGroup": "rg-containers", "cluster": "aks-local"}
	const script = "echo step-ran; export PLANTED=s3cr3t-in-the-script"
	step := map[string]any{"subscriptionId": acrSub, "resourceGroup": "rg-containers", "cluster": "aks-local", "namespace": "default",
		"script": script, "env": map[string]string{"SOME_NAME": "some-value"}}
	uses := []struct {
		name, method, path string
		body               any
	}{
		{"script step", "POST", "/ng/api/azimuth/steps" + aq("connectorRef", "owner"), step},
		{"kubeconfig", "POST", "/ng/api/azimuth/aks/kubeconfig" + aq("connectorRef", "owner"), cluster},
		{"login credentials", "POST", "/ng/api/azimuth/acr/login-credentials" + aq("connectorRef", "owner", "loginServer", acrLogin), nil},
	}
	for _, u := range uses {
		if r := e.req(u.method, u.path, viewer, u.body); r.Status != 403 || !strings.Contains(r.Body["message"].(string), "needs role editor") {
			t.Errorf("viewer, %s: %s", u.name, r)
		}
		r := e.req(u.method, u.path, editor, u.body)
		if r.Status != 200 {
			t.Errorf("editor, %s: %s", u.name, r)
		}
		if u.name == "script step" && (r.data()["delegateId"] != "dlg_roles" || !strings.Contains(r.data()["output"].(string), "step-ran")) {
			t.Errorf("step result: %s", r)
		}
	}
	// A taskId of the client's own must have the server's form.
	bad := map[string]any{}
	for k, v := range step {
		bad[k] = v
	}
	bad["taskId"] = "tsk_../../x"
	if r := e.req("POST", "/ng/api/azimuth/steps"+aq("connectorRef", "owner"), editor, bad); r.Status != 400 || !strings.Contains(string(r.Raw), "taskId") {
		t.Errorf("bad taskId: %s", r)
	}
	// Listing stays a read.
	for _, path := range []string{
		"/ng/api/azimuth/aks/clusters" + aq("connectorRef", "owner", "subscriptionId", acrSub),
		"/ng/api/azimuth/acr/tags" + aq("connectorRef", "owner", "loginServer", acrLogin, "repository", "team/api"),
		"/ng/api/azure/subscriptions" + aq("connectorRef", "owner"),
	} {
		e.must(e.req("GET", path, viewer, nil))
	}

	evs := events(t, e, e.admin, aq("resourceType", "connector"))
	byAction := map[string][]map[string]any{}
	for _, ev := range evs {
		byAction[ev["action"].(string)] = append(byAction[ev["action"].(string)], ev)
	}
	for _, a := range []string{"connector.step", "connector.kubeconfig", "connector.acrcredentials"} {
		var ok, denied int
		for _, ev := range byAction[a] {
			switch ev["outcome"] {
			case "success":
				ok++
				if ev["actorKeyId"] != editorID || ev["identifier"] != "owner" {
					t.Errorf("%s: %v", a, ev)
				}
			case "denied":
				denied++
			}
		}
		if ok != 1 || denied != 1 {
			t.Errorf("%s: %d success, %d denied events: %v", a, ok, denied, byAction[a])
		}
	}
	for _, ev := range byAction["connector.step"] {
		if ev["outcome"] != "success" {
			continue
		}
		d := ev["detail"].(string)
		for _, want := range []string{"aks-local", "rg-containers", "sha256:", "SOME_NAME", "namespace default", "script step tsk_"} {
			if !strings.Contains(d, want) {
				t.Errorf("step audit detail %q lacks %q", d, want)
			}
		}
		for _, leak := range []string{"s3cr3t", "echo", "some-value"} {
			if strings.Contains(d, leak) {
				t.Errorf("step audit detail %q shows %q", d, leak)
			}
		}
	}
}
