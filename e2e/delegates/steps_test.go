package delegates

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/azimuthcd/azimuth/internal/azuresim"
	"github.com/azimuthcd/azimuth/internal/client"
	"github.com/azimuthcd/azimuth/internal/failure"
	"github.com/azimuthcd/azimuth/internal/ops"
)

// TestManagedIdentityStepRunsInKubernetes (issue 7's rule, through the
// real hub and real delegate processes): a script step whose connector
// inherits the delegate's managed identity is refused at once while the
// only delegate with its selector runs outside Kubernetes, naming that
// delegate and why; once a delegate in Kubernetes with the selector is
// connected, every such step runs there and never on the other.
func TestManagedIdentityStepRunsInKubernetes(t *testing.T) {
	sim := azuresim.StartForTestWith(t, azuresim.Options{})
	dir := t.TempDir()
	serverCfg, hostCfg := writeCloudConfigs(t, sim, dir)
	r := startServer(t, serverOpts{cloudConfig: serverCfg})
	tok := r.token(t, "main")
	startDelegate(t, r.url, tok, "vm", []string{"aks"}, "--cloud-config", hostCfg)
	waitDelegates(t, r, 1)
	r.createConnector(t, connectorDoc("aks_mi", []string{"aks"}, `{"type":"InheritFromDelegate","spec":{"auth":{"type":"SystemAssignedManagedIdentity","spec":{}}}}`))
	step := func() (ops.StepResult, error) {
		var out ops.StepResult
		q := map[string][]string{"accountIdentifier": {account}, "connectorRef": {"aks_mi"}}
		body := map[string]any{"subscriptionId": "20000000-0000-4000-8000-000000000001", "resourceGroup": "rg-containers",
			"cluster": "aks-local", "script": "echo step-ran", "delegateSelectors": []string{"aks"}}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		_, err := r.client.Do(ctx, client.Request{Method: http.MethodPost, Path: "/ng/api/azimuth/steps", Query: q, JSON: body}, &out)
		return out, err
	}
	start := time.Now()
	_, err := step()
	took := time.Since(start)
	for _, want := range []string{"selectors aks", "vm does not run in Kubernetes", "inherits a managed identity"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("a managed-identity step with only a delegate outside Kubernetes: the refusal does not say %q: %v", want, err)
		}
	}
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Kind != failure.Unavailable || ce.StatusCode >= 500 && ce.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("refused as %+v", ce)
	}
	if took > 20*time.Second {
		t.Fatalf("the refusal took %s", took)
	}
	t.Logf("refused in %s: %v", took, err)

	startDelegateEnv(t, r.url, tok, "pod", []string{"aks"}, []string{"KUBERNETES_SERVICE_HOST=10.0.0.1"}, "--cloud-config", hostCfg)
	waitDelegates(t, r, 2)
	ds, err := r.client.ListDelegates(context.Background(), client.Scope{})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, d := range ds {
		ids[d.ID] = d.Name
		if want := map[string]string{"vm": "false", "pod": "true"}[d.Name]; d.Capabilities["kubernetes"] != want {
			t.Fatalf("delegate %s reports kubernetes=%q", d.Name, d.Capabilities["kubernetes"])
		}
	}
	for i := range 6 {
		out, err := step()
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if ids[out.DelegateID] != "pod" || !strings.Contains(out.Output, "step-ran") {
			t.Fatalf("step %d ran on %q (%s): %+v", i, ids[out.DelegateID], out.DelegateID, out)
		}
	}
}
