package delegates

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/azimuthcd/azimuth/internal/azuresim"
	"github.com/azimuthcd/azimuth/internal/client"
	"github.com/azimuthcd/azimuth/internal/ops"
	"github.com/azimuthcd/azimuth/internal/testenv"
)

// The demo world's names (internal/azuresim/demo.yaml).
const (
	usesTenant   = "10000000-0000-4000-8000-000000000001"
	usesSub      = "20000000-0000-4000-8000-000000000001"
	usesRG       = "rg-containers"
	usesLogin    = "democontoso.azurecr.io"
	usesManyTags = "load/many-tags-0"
)

// startUsesDelegate runs a real `azimuth delegate` process on the
// simulated host of cloudConfig, with a PATH holding bash and kubectl but
// neither kubelogin nor az, and KUBERNETES_SERVICE_HOST set when
// kubernetes (a delegate in a pod, as the hub requires of a
// managed-identity step's delegate).
func startUsesDelegate(t *testing.T, serverURL, token, name string, tags []string, kubernetes bool, cloudConfig, path string) *proc {
	t.Helper()
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AZIMUTH_") || strings.HasPrefix(k, "IDENTITY_") || k == "KUBERNETES_SERVICE_HOST" || k == "PATH" {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "PATH="+path)
	if kubernetes {
		env = append(env, "KUBERNETES_SERVICE_HOST=10.0.0.1")
	}
	return startDelegateProc(t, env, serverURL, token, name, tags, "--cloud-config", cloudConfig, "--log-level", "info")
}

// usesPath is a PATH with bash and kubectl and without kubelogin or az.
func usesPath(t *testing.T) string {
	t.Helper()
	dirs := []string{filepath.Dir(testenv.Kubectl(t)), "/usr/bin", "/bin"}
	for _, d := range dirs {
		for _, tool := range []string{"kubelogin", "az"} {
			if _, err := os.Stat(filepath.Join(d, tool)); err == nil {
				t.Fatalf("%s is installed in %s: the test needs a PATH without it", tool, d)
			}
		}
	}
	return strings.Join(dirs, ":")
}

// TestDelegateUses (issues 6 and 7 through the real hub and real delegate
// processes): with a service principal's secret, its certificate, and the
// delegate host's system- and user-assigned managed identities, every tag
// of a large repository is listed page by page through the API, each page
// a task run by a delegate; kubeconfigs are fetched; and a script step
// runs kubectl through ${HARNESS_KUBE_CONFIG_PATH} on the cluster with
// local accounts and on the Entra cluster. Each step's result names the
// delegate that ran it, always the one with the step's selector, never
// the other.
func TestDelegateUses(t *testing.T) {
	path := usesPath(t)
	const tags = 5000
	world, err := azuresim.DemoWorld()
	if err != nil {
		t.Fatal(err)
	}
	world.Tenants[0].Subscriptions[0].ResourceGroups[0].Registries[0].Generate.TagsPerRepository = tags
	sim := azuresim.StartForTestWith(t, azuresim.Options{World: world})
	certPEM, err := sim.CertificatePEM(usesTenant, "azimuth-cert", "main")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	serverCfg, hostCfg := writeCloudConfigs(t, sim, dir)
	r := startServer(t, serverOpts{cloudConfig: serverCfg})
	tok := r.token(t, "main")
	// Both delegates run on the simulated host delegate-host (its IMDS
	// answers for its identities); only "pod" carries the tag aks and
	// runs in Kubernetes.
	startUsesDelegate(t, r.url, tok, "pod", []string{"aks", "delegate-host"}, true, hostCfg, path)
	startUsesDelegate(t, r.url, tok, "vm", []string{"delegate-host"}, false, hostCfg, path)
	waitDelegates(t, r, 2)
	ds, err := r.client.ListDelegates(context.Background(), client.Scope{})
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	for _, d := range ds {
		names[d.ID] = d.Name
	}

	ctx := context.Background()
	if _, err := r.client.CreateTextSecret(ctx, client.Scope{}, client.SecretMeta{Identifier: "owner_sp"}, []byte("demo-owner-secret-0006")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.client.CreateFileSecret(ctx, client.Scope{}, client.SecretMeta{Identifier: "cert_pem"}, certPEM); err != nil {
		t.Fatal(err)
	}
	manual := func(app, auth string) string {
		return `{"type":"ManualConfig","spec":{"applicationId":"` + app + `","tenantId":"` + usesTenant + `","auth":` + auth + `}}`
	}
	identities := []struct{ name, conn, credential string }{
		{"secret", "u_secret", manual("30000000-0000-4000-8000-000000000006", `{"type":"Secret","spec":{"secretRef":"account.owner_sp"}}`)},
		{"certificate", "u_cert", manual("30000000-0000-4000-8000-000000000002", `{"type":"Certificate","spec":{"certificateRef":"account.cert_pem"}}`)},
		{"system-assigned identity", "u_sysmi", `{"type":"InheritFromDelegate","spec":{"auth":{"type":"SystemAssignedManagedIdentity","spec":{}}}}`},
		{"user-assigned identity", "u_usermi", `{"type":"InheritFromDelegate","spec":{"auth":{"type":"UserAssignedManagedIdentity","spec":{"clientId":"60000000-0000-4000-8000-000000000002"}}}}`},
	}
	for _, id := range identities {
		// Every connector connects through a delegate with the host's tag,
		// which both delegates carry.
		r.createConnector(t, connectorDoc(id.conn, []string{"delegate-host"}, id.credential))
	}
	call := func(method, path string, q url.Values, body, out any) error {
		q.Set("accountIdentifier", account)
		cctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
		defer cancel()
		_, err := r.client.Do(cctx, client.Request{Method: method, Path: path, Query: q, JSON: body}, out)
		return err
	}

	for _, id := range identities {
		t.Run("acr tags/"+id.name, func(t *testing.T) {
			seen := make(map[string]bool, tags)
			var prev time.Time
			token, pages := "", 0
			for {
				var page ops.TagPage
				q := url.Values{"connectorRef": {id.conn}, "loginServer": {usesLogin}, "repository": {usesManyTags}, "pageSize": {"1000"}, "pageToken": {token}}
				if err := call(http.MethodGet, "/ng/api/azimuth/acr/tags", q, nil, &page); err != nil {
					t.Fatalf("page %d: %v", pages, err)
				}
				pages++
				for _, tg := range page.Tags {
					if seen[tg.Name] || tg.Digest == "" || (!prev.IsZero() && tg.LastUpdateTime.After(prev)) {
						t.Fatalf("tag %+v repeated, without digest or out of order", tg)
					}
					seen[tg.Name], prev = true, tg.LastUpdateTime
				}
				if token = page.NextPageToken; token == "" {
					break
				}
			}
			if len(seen) != tags || pages != tags/1000 {
				t.Fatalf("%d tags in %d pages", len(seen), pages)
			}
			// Every page was a task a delegate ran.
			l, err := r.client.ListTasks(ctx, client.Scope{}, client.TaskFilter{Type: string(ops.KindACRTags)}, client.ListOptions{PageSize: 100})
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, tk := range l.Content {
				if tk.ConnectorIdentifier == id.conn {
					n++
					if tk.Status != "SUCCEEDED" || (tk.DelegateName != "pod" && tk.DelegateName != "vm") {
						t.Errorf("task %s: %s on %q", tk.ID, tk.Status, tk.DelegateName)
					}
				}
			}
			if n != pages {
				t.Errorf("%d acr.tags tasks for %d pages", n, pages)
			}
		})
	}

	t.Run("kubeconfig", func(t *testing.T) {
		for _, cluster := range []string{"aks-local", "aks-aad"} {
			var kc ops.Kubeconfig
			body := map[string]any{"subscriptionId": usesSub, "resourceGroup": usesRG, "cluster": cluster, "namespace": "default"}
			if err := call(http.MethodPost, "/ng/api/azimuth/aks/kubeconfig", url.Values{"connectorRef": {"u_secret"}}, body, &kc); err != nil {
				t.Fatalf("%s: %v", cluster, err)
			}
			if kc.Cluster != cluster || kc.Server == "" || !strings.Contains(kc.Kubeconfig, "current-context") || kc.AAD != (cluster == "aks-aad") ||
				strings.Contains(kc.Kubeconfig, "demo-owner-secret-0006") || strings.Contains(kc.Kubeconfig, "kubelogin") {
				t.Errorf("%s: %+v", cluster, kc)
			}
		}
		body := map[string]any{"subscriptionId": usesSub, "resourceGroup": usesRG, "cluster": "aks-aad", "useClusterAdminCredentials": true}
		err := call(http.MethodPost, "/ng/api/azimuth/aks/kubeconfig", url.Values{"connectorRef": {"u_secret"}}, body, nil)
		if err == nil || !strings.Contains(err.Error(), "disable local accounts") {
			t.Errorf("admin credentials of aks-aad: %v", err)
		}
	})

	pods := map[string]string{"aks-local": "api-7d9c8b-abcde", "aks-aad": "web-6f7b9d-klmno"}
	for _, id := range identities {
		for _, cluster := range []string{"aks-local", "aks-aad"} {
			t.Run("step/"+id.name+"/"+cluster, func(t *testing.T) {
				script := `if command -v kubelogin || command -v az; then echo "kubelogin or az on PATH"; exit 3; fi
export KUBECONFIG=${HARNESS_KUBE_CONFIG_PATH}
kubectl get pods -n default`
				body := map[string]any{"subscriptionId": usesSub, "resourceGroup": usesRG, "cluster": cluster, "namespace": "default",
					"script": script, "delegateSelectors": []string{"aks"}}
				var out struct {
					TaskID string `json:"taskId"`
					ops.StepResult
				}
				if err := call(http.MethodPost, "/ng/api/azimuth/steps", url.Values{"connectorRef": {id.conn}}, body, &out); err != nil {
					t.Fatal(err)
				}
				if out.ExitCode != 0 || !strings.Contains(out.Output, pods[cluster]) {
					b, _ := json.MarshalIndent(out, "", "  ")
					t.Fatalf("step: %s", b)
				}
				if names[out.DelegateID] != "pod" {
					t.Fatalf("the step ran on %q (%s), not on the delegate with the tag aks", names[out.DelegateID], out.DelegateID)
				}
				d, err := r.client.GetTask(ctx, out.TaskID)
				if err != nil || d.DelegateName != "pod" || d.Status != "SUCCEEDED" {
					t.Fatalf("task %s: %+v %v", out.TaskID, d.Task, err)
				}
			})
		}
	}

	t.Run("the delegate without the tag ran no step", func(t *testing.T) {
		l, err := r.client.ListTasks(ctx, client.Scope{}, client.TaskFilter{Type: string(ops.KindStep)}, client.ListOptions{PageSize: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Content) != 2*len(identities) {
			t.Errorf("%d step tasks, want %d", len(l.Content), 2*len(identities))
		}
		for _, tk := range l.Content {
			if tk.DelegateName != "pod" {
				t.Errorf("step task %s ran on %q", tk.ID, tk.DelegateName)
			}
		}
	})
}
