package azuresim

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6"
	"sigs.k8s.io/yaml"

	"github.com/azimuthcd/azimuth/internal/cloud"
	"github.com/azimuthcd/azimuth/internal/testenv"
)

const (
	aksRG        = "rg-containers"
	aksLocalID   = "/subscriptions/" + demoSub + "/resourceGroups/rg-containers/providers/Microsoft.ContainerService/managedClusters/aks-local"
	aksAADID     = "/subscriptions/" + demoSub + "/resourceGroups/rg-containers/providers/Microsoft.ContainerService/managedClusters/aks-aad"
	noroleObject = "40000000-0000-4000-8000-000000000004"
)

func aksClient(t *testing.T, s *Sim, clientID, secret string) *armcontainerservice.ManagedClustersClient {
	t.Helper()
	return aksClientWith(t, s, secretCred(t, s, demoTenant, clientID, secret))
}

func aksClientWith(t *testing.T, s *Sim, cred azcore.TokenCredential) *armcontainerservice.ManagedClustersClient {
	t.Helper()
	c, err := armcontainerservice.NewManagedClustersClient(demoSub, cred,
		&arm.ClientOptions{ClientOptions: clientOptions(s, cloud.Public), DisableRPRegistration: true})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// userCredential fetches a user kubeconfig with the SDK.
func userCredential(t *testing.T, c *armcontainerservice.ManagedClustersClient, cluster string, format armcontainerservice.Format) (string, []byte) {
	t.Helper()
	opts := &armcontainerservice.ManagedClustersClientListClusterUserCredentialsOptions{}
	if format != "" {
		opts.Format = to.Ptr(format)
	}
	res, err := c.ListClusterUserCredentials(context.Background(), aksRG, cluster, opts)
	if err != nil {
		t.Fatalf("ListClusterUserCredentials %s: %v", cluster, err)
	}
	if len(res.Kubeconfigs) != 1 {
		t.Fatalf("%d kubeconfigs", len(res.Kubeconfigs))
	}
	return *res.Kubeconfigs[0].Name, res.Kubeconfigs[0].Value
}

func adminCredential(t *testing.T, c *armcontainerservice.ManagedClustersClient, cluster string) ([]byte, error) {
	t.Helper()
	res, err := c.ListClusterAdminCredentials(context.Background(), aksRG, cluster, nil)
	if err != nil {
		return nil, err
	}
	if len(res.Kubeconfigs) != 1 || *res.Kubeconfigs[0].Name != "clusterAdmin" {
		t.Fatalf("kubeconfigs %+v", res.Kubeconfigs)
	}
	return res.Kubeconfigs[0].Value, nil
}

func parseKubeconfig(t *testing.T, b []byte) kubeconfig {
	t.Helper()
	var kc kubeconfig
	if err := yaml.UnmarshalStrict(b, &kc); err != nil {
		t.Fatalf("kubeconfig does not parse: %v\n%s", err, b)
	}
	if len(kc.Clusters) != 1 || len(kc.Users) != 1 || len(kc.Contexts) != 1 || kc.CurrentContext != kc.Contexts[0].Name {
		t.Fatalf("kubeconfig shape:\n%s", b)
	}
	return kc
}

func certOf(t *testing.T, pemBytes []byte) *x509.Certificate {
	t.Helper()
	blk, _ := pem.Decode(pemBytes)
	if blk == nil {
		t.Fatalf("no PEM in %q", pemBytes)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestAKSCredentials(t *testing.T) {
	s := StartForTest(t, nil)
	reader := aksClient(t, s, readerAppID, readerSecret)
	owner := aksClient(t, s, ownerAppID, ownerSecret)
	local, err := s.KubeCluster("aks-local")
	if err != nil {
		t.Fatal(err)
	}
	if all := s.KubeClusters(); len(all) != 2 || all[0].Server == all[1].Server {
		t.Fatalf("KubeClusters %+v", all)
	}

	t.Run("user credentials of a local-accounts cluster are a certificate", func(t *testing.T) {
		name, b := userCredential(t, reader, "aks-local", "")
		kc := parseKubeconfig(t, b)
		if name != "clusterUser" || kc.Users[0].Name != "clusterUser_rg-containers_aks-local" || kc.CurrentContext != "aks-local" {
			t.Errorf("names: %s, %s, %s", name, kc.Users[0].Name, kc.CurrentContext)
		}
		if kc.Clusters[0].Cluster.Server != local.Server || !strings.HasPrefix(local.Server, "https://127.0.0.1:") {
			t.Errorf("server %s, want %s", kc.Clusters[0].Cluster.Server, local.Server)
		}
		ca := certOf(t, kc.Clusters[0].Cluster.CertificateAuthorityData)
		cert := certOf(t, kc.Users[0].User.ClientCertificateData)
		if err := cert.CheckSignatureFrom(ca); err != nil {
			t.Errorf("client certificate is not signed by the cluster CA: %v", err)
		}
		if cert.Subject.CommonName != "clusterUser" || !slices.Equal(cert.Subject.Organization, []string{"system:masters"}) {
			t.Errorf("subject %v", cert.Subject)
		}
		if !strings.Contains(string(kc.Users[0].User.ClientKeyData), "RSA PRIVATE KEY") || kc.Users[0].User.Token == "" {
			t.Errorf("user %+v", kc.Users[0].User)
		}
		_, again := userCredential(t, reader, "aks-local", "")
		if string(again) != string(b) {
			t.Error("local credentials are static in Azure: a second call must return the same kubeconfig")
		}
	})

	t.Run("admin credentials", func(t *testing.T) {
		b, err := adminCredential(t, owner, "aks-local")
		if err != nil {
			t.Fatal(err)
		}
		kc := parseKubeconfig(t, b)
		if kc.Users[0].Name != "clusterAdmin_rg-containers_aks-local" || kc.CurrentContext != "aks-local-admin" {
			t.Errorf("names %s %s", kc.Users[0].Name, kc.CurrentContext)
		}
		if cn := certOf(t, kc.Users[0].User.ClientCertificateData).Subject.CommonName; cn != "masterclient" {
			t.Errorf("CN %s", cn)
		}
	})

	t.Run("admin credentials refused with local accounts disabled", func(t *testing.T) {
		_, err := adminCredential(t, owner, "aks-aad")
		var re *azcore.ResponseError
		if !errors.As(err, &re) || re.StatusCode != 400 || re.ErrorCode != "BadRequest" ||
			!strings.Contains(err.Error(), "Getting static credential is not allowed because this cluster is set to disable local accounts.") {
			t.Fatalf("got %v", err)
		}
	})

	t.Run("Entra cluster: exec, azure and the default format", func(t *testing.T) {
		for _, tc := range []struct {
			format armcontainerservice.Format
			exec   bool
		}{{"", true}, {armcontainerservice.FormatExec, true}, {armcontainerservice.FormatAzure, false}} {
			_, b := userCredential(t, owner, "aks-aad", tc.format)
			kc := parseKubeconfig(t, b)
			u := kc.Users[0].User
			if len(u.ClientCertificateData) > 0 || len(u.ClientKeyData) > 0 || u.Token != "" {
				t.Errorf("format %q: an Entra user kubeconfig must hold no secret:\n%s", tc.format, b)
			}
			if tc.exec {
				want := []string{"get-token", "--environment", "AzurePublicCloud", "--server-id", cloud.DefaultAKS,
					"--client-id", AKSClientAppID, "--tenant-id", demoTenant, "--login", "devicecode"}
				if u.Exec == nil || u.Exec.Command != "kubelogin" || !slices.Equal(u.Exec.Args, want) || u.Exec.APIVersion != "client.authentication.k8s.io/v1beta1" {
					t.Errorf("format %q: exec %+v", tc.format, u.Exec)
				}
				continue
			}
			want := map[string]string{"apiserver-id": cloud.DefaultAKS, "client-id": AKSClientAppID, "config-mode": "1",
				"environment": "AzurePublicCloud", "tenant-id": demoTenant}
			if u.AuthProvider == nil || u.AuthProvider.Name != "azure" || len(u.AuthProvider.Config) != len(want) {
				t.Fatalf("auth-provider %+v", u.AuthProvider)
			}
			for k, v := range want {
				if u.AuthProvider.Config[k] != v {
					t.Errorf("auth-provider %s = %q, want %q", k, u.AuthProvider.Config[k], v)
				}
			}
		}
	})

	t.Run("no role", func(t *testing.T) {
		_, err := aksClient(t, s, noroleAppID, noroleSecret).ListClusterUserCredentials(context.Background(), aksRG, "aks-local", nil)
		var re *azcore.ResponseError
		if !errors.As(err, &re) || re.StatusCode != 403 || re.ErrorCode != "AuthorizationFailed" {
			t.Fatalf("got %v", err)
		}
	})
}

// kubectlRun runs the real kubectl with a kubeconfig; it returns the
// combined output and the error.
func kubectlRun(t *testing.T, kubeconfig []byte, args ...string) (string, error) {
	t.Helper()
	bin := testenv.Kubectl(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(path, kubeconfig, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"--kubeconfig", path, "--request-timeout", "30s"}, args...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func mustKubectl(t *testing.T, kubeconfig []byte, args ...string) string {
	t.Helper()
	out, err := kubectlRun(t, kubeconfig, args...)
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func wantLines(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

func TestKubectlLocalAccounts(t *testing.T) {
	testenv.Kubectl(t)
	s := StartForTest(t, nil)
	_, user := userCredential(t, aksClient(t, s, readerAppID, readerSecret), "aks-local", "")
	admin, err := adminCredential(t, aksClient(t, s, ownerAppID, ownerSecret), "aks-local")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		config []byte
		caller string
	}{{"user", user, "clusterUser"}, {"admin", admin, "masterclient"}} {
		t.Run(tc.name, func(t *testing.T) {
			out := mustKubectl(t, tc.config, "get", "namespaces,pods,configmaps", "-n", "default")
			wantLines(t, out, "namespace/default", "namespace/kube-system", "pod/api-7d9c8b-abcde", "pod/api-7d9c8b-fghij", "configmap/api-config", "Running", "1/1")
			if strings.Contains(out, "coredns") {
				t.Errorf("kube-system pods listed in default:\n%s", out)
			}
			out = mustKubectl(t, tc.config, "get", "pods", "-A", "-o", "wide")
			wantLines(t, out, "kube-system", "coredns-5d78c9869d-x2x8q", "10.244.", "aks-nodepool1-")
			out = mustKubectl(t, tc.config, "get", "configmap", "api-config", "-n", "default", "-o", "jsonpath={.data.LOG_LEVEL}")
			if out != "info" {
				t.Errorf("configmap data %q", out)
			}
			out = mustKubectl(t, tc.config, "get", "pods", "-n", "default", "-o", "json")
			var list struct {
				Kind  string
				Items []json.RawMessage
			}
			if err := json.Unmarshal([]byte(out), &list); err != nil || list.Kind != "List" || len(list.Items) != 2 {
				t.Errorf("-o json: %v\n%s", err, out)
			}
			if out := mustKubectl(t, tc.config, "auth", "can-i", "get", "pods"); strings.TrimSpace(out) != "yes" {
				t.Errorf("can-i: %q", out)
			}
			out, err := kubectlRun(t, tc.config, "get", "pod", "nope", "-n", "default")
			if err == nil || !strings.Contains(out, `pods "nope" not found`) {
				t.Errorf("missing pod: %v %s", err, out)
			}
			if n := s.KubeRequests("aks-local", tc.caller); n == 0 {
				t.Errorf("no request counted for %s", tc.caller)
			}
		})
	}
	t.Run("static token", func(t *testing.T) {
		kc := parseKubeconfig(t, admin)
		kc.Users[0].User.ClientCertificateData, kc.Users[0].User.ClientKeyData = nil, nil
		b, _ := yaml.Marshal(kc)
		out := mustKubectl(t, b, "get", "ns")
		wantLines(t, out, "default")
		if s.KubeTokenUses("aks-local", kc.Users[0].User.Token) == 0 {
			t.Error("token use not counted")
		}
	})
}

// tokenKubeconfig turns a kubeconfig into one authenticating with an exec
// plugin that prints an ExecCredential holding token (what Azimuth will do
// instead of kubelogin), or with a plain bearer token when exec is false.
func tokenKubeconfig(t *testing.T, base []byte, token string, exec bool) []byte {
	t.Helper()
	kc := parseKubeconfig(t, base)
	u := &kc.Users[0].User
	u.Exec, u.AuthProvider, u.ClientCertificateData, u.ClientKeyData, u.Token = nil, nil, nil, nil, ""
	if !exec {
		u.Token = token
	} else {
		cred, _ := json.Marshal(map[string]any{
			"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential",
			"status": map[string]any{"token": token},
		})
		script := filepath.Join(t.TempDir(), "get-token")
		if err := os.WriteFile(script, []byte("#!/bin/sh\ncat <<'EOF'\n"+string(cred)+"\nEOF\n"), 0o700); err != nil {
			t.Fatal(err)
		}
		u.Exec = &execConfig{APIVersion: "client.authentication.k8s.io/v1beta1", Command: script, Args: []string{}}
	}
	b, err := yaml.Marshal(kc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestKubectlEntraCluster(t *testing.T) {
	testenv.Kubectl(t)
	s := StartForTest(t, nil)
	_, base := userCredential(t, aksClient(t, s, ownerAppID, ownerSecret), "aks-aad", armcontainerservice.FormatExec)
	issue := func(principal string) string {
		tok, _, err := s.IssueToken(demoTenant, principal, cloud.DefaultAKS)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	// azimuth-norole gets the RBAC Reader role on the default namespace only.
	if _, err := s.AddRoleAssignment(demoTenant, "azimuth-norole", "Azure Kubernetes Service RBAC Reader", aksAADID+"/namespaces/default"); err != nil {
		t.Fatal(err)
	}

	t.Run("RBAC Cluster Admin through an exec plugin", func(t *testing.T) {
		tok := issue("azimuth-owner")
		cfg := tokenKubeconfig(t, base, tok, true)
		out := mustKubectl(t, cfg, "get", "namespaces,pods,configmaps", "-n", "default")
		wantLines(t, out, "namespace/default", "pod/web-6f7b9d-klmno", "configmap/web-config")
		if out := mustKubectl(t, cfg, "auth", "can-i", "delete", "configmaps", "-n", "kube-system"); strings.TrimSpace(out) != "yes" {
			t.Errorf("can-i: %q", out)
		}
		if s.KubeTokenUses("aks-aad", tok) == 0 || s.KubeRequests("aks-aad", "azimuth-owner") == 0 {
			t.Error("the token's use was not counted")
		}
	})

	t.Run("namespace-scoped RBAC Reader", func(t *testing.T) {
		cfg := tokenKubeconfig(t, base, issue("azimuth-norole"), false)
		wantLines(t, mustKubectl(t, cfg, "get", "pods", "-n", "default"), "web-6f7b9d-klmno")
		for _, args := range [][]string{{"get", "pods", "-n", "kube-system"}, {"get", "namespaces"}} {
			out, err := kubectlRun(t, cfg, args...)
			if err == nil || !strings.Contains(out, "Forbidden") || !strings.Contains(out, "User does not have access to the resource in Azure") {
				t.Errorf("kubectl %v: %v\n%s", args, err, out)
			}
		}
		if out := mustKubectl(t, cfg, "auth", "can-i", "get", "pods", "-n", "default"); strings.TrimSpace(out) != "yes" {
			t.Errorf("can-i in default: %q", out)
		}
		out, err := kubectlRun(t, cfg, "auth", "can-i", "get", "pods", "-n", "kube-system")
		if err == nil || !strings.HasPrefix(strings.TrimSpace(out), "no") {
			t.Errorf("can-i in kube-system: %v %q", err, out)
		}
		out, err = kubectlRun(t, cfg, "auth", "can-i", "create", "pods", "-n", "default")
		if err == nil || !strings.HasPrefix(strings.TrimSpace(out), "no") {
			t.Errorf("can-i create: %v %q", err, out)
		}
	})

	t.Run("no role", func(t *testing.T) {
		cfg := tokenKubeconfig(t, base, issue("azimuth-acrpull"), false)
		out, err := kubectlRun(t, cfg, "get", "pods", "-n", "default")
		if err == nil || !strings.Contains(out, `User "40000000-0000-4000-8000-000000000005" cannot list resource "pods"`) {
			t.Errorf("%v\n%s", err, out)
		}
	})

	t.Run("expired token is 401", func(t *testing.T) {
		cfg := tokenKubeconfig(t, base, issue("azimuth-owner"), false)
		s.SetClockSkew(2 * time.Hour)
		defer s.SetClockSkew(0)
		out, err := kubectlRun(t, cfg, "get", "pods", "-n", "default")
		if err == nil || !strings.Contains(out, "You must be logged in to the server") {
			t.Errorf("%v\n%s", err, out)
		}
	})

	t.Run("a token for another audience is refused", func(t *testing.T) {
		arm, _, err := s.IssueToken(demoTenant, "azimuth-owner", "https://management.core.windows.net/")
		if err != nil {
			t.Fatal(err)
		}
		out, err := kubectlRun(t, tokenKubeconfig(t, base, arm, false), "get", "ns")
		if err == nil || !strings.Contains(out, "You must be logged in to the server") {
			t.Errorf("%v\n%s", err, out)
		}
	})
}

// aadLocalWorld: an Entra cluster without Azure RBAC, local accounts on,
// whose admin list names one app.
const aadLocalWorld = `
tenants:
- id: 10000000-0000-4000-8000-0000000000b1
  domain: kubetest.onmicrosoft.com
  apps:
  - {name: admin, appId: 30000000-0000-4000-8000-0000000000b1, objectId: 40000000-0000-4000-8000-0000000000b1}
  - {name: dev, appId: 30000000-0000-4000-8000-0000000000b2, objectId: 40000000-0000-4000-8000-0000000000b2}
  subscriptions:
  - id: 20000000-0000-4000-8000-0000000000b1
    displayName: Kube tests
    resourceGroups:
    - name: rg
      clusters:
      - name: aad-k8s-rbac
        kubernetesVersion: 1.23.12
        aadProfile: {managed: true, adminGroupObjectIDs: [40000000-0000-4000-8000-0000000000b1]}
        namespaces:
        - name: default
          pods:
          - {name: app-1, image: nginx, labels: {app: web}}
          - {name: app-2, image: nginx, phase: Pending, labels: {app: worker}}
  roleAssignments:
  - {principal: dev, role: Azure Kubernetes Service RBAC Cluster Admin, scope: /subscriptions/20000000-0000-4000-8000-0000000000b1}
`

func TestKubeAPIRaw(t *testing.T) {
	w, err := ParseWorld([]byte(aadLocalWorld))
	if err != nil {
		t.Fatal(err)
	}
	s := StartForTest(t, w)
	kc, err := s.KubeCluster("aad-k8s-rbac")
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(kc.CAPEM)
	client := s.HTTPClient()
	client.Transport.(*http.Transport).TLSClientConfig.RootCAs = pool
	issue := func(principal string) string {
		tok, _, err := s.IssueToken("kubetest.onmicrosoft.com", principal, cloud.DefaultAKS)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	do := func(method, path, token, accept, body string) (*http.Response, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, kc.Server+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&v)
		return resp, v
	}
	admin := issue("admin")

	t.Run("unauthenticated is 401 with a Status", func(t *testing.T) {
		resp, v := do("GET", "/api/v1/namespaces", "", "", "")
		if resp.StatusCode != 401 || v["kind"] != "Status" || v["reason"] != "Unauthorized" || v["code"] != float64(401) {
			t.Errorf("%d %v", resp.StatusCode, v)
		}
	})

	t.Run("aggregated discovery falls back to the legacy form", func(t *testing.T) {
		agg := "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
		resp, v := do("GET", "/apis", admin, agg, "")
		if resp.StatusCode != 200 || v["kind"] != "APIGroupList" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Errorf("%d %v", resp.StatusCode, v)
		}
		resp, _ = do("GET", "/apis", admin, "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList", "")
		if resp.StatusCode != 406 {
			t.Errorf("aggregated only: %d, want 406", resp.StatusCode)
		}
	})

	t.Run("admin list member; table output", func(t *testing.T) {
		resp, v := do("GET", "/api/v1/namespaces/default/pods?limit=500", admin, "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json", "")
		if resp.StatusCode != 200 || v["kind"] != "Table" || v["apiVersion"] != "meta.k8s.io/v1" {
			t.Fatalf("%d %v", resp.StatusCode, v)
		}
		rows := v["rows"].([]any)
		cells := rows[1].(map[string]any)["cells"].([]any)
		if len(rows) != 2 || cells[0] != "app-2" || cells[1] != "0/1" || cells[2] != "Pending" {
			t.Errorf("rows %v", rows)
		}
		if obj := rows[0].(map[string]any)["object"].(map[string]any); obj["kind"] != "PartialObjectMetadata" {
			t.Errorf("row object %v", obj)
		}
	})

	t.Run("label selector and chunking", func(t *testing.T) {
		_, v := do("GET", "/api/v1/pods?labelSelector=app%3Dweb", admin, "", "")
		if items := v["items"].([]any); len(items) != 1 || v["kind"] != "PodList" {
			t.Errorf("%v", v)
		}
		_, v = do("GET", "/api/v1/namespaces/default/pods?limit=1", admin, "", "")
		meta := v["metadata"].(map[string]any)
		if len(v["items"].([]any)) != 1 || meta["continue"] == nil {
			t.Fatalf("%v", v)
		}
		_, v = do("GET", "/api/v1/namespaces/default/pods?limit=1&continue="+meta["continue"].(string), admin, "", "")
		if items := v["items"].([]any); len(items) != 1 || items[0].(map[string]any)["metadata"].(map[string]any)["name"] != "app-2" {
			t.Errorf("second chunk %v", v)
		}
	})

	t.Run("without Azure RBAC a non-admin is refused, even with an Azure role", func(t *testing.T) {
		dev := issue("dev")
		resp, v := do("GET", "/api/v1/namespaces/default/pods", dev, "", "")
		if resp.StatusCode != 403 || v["reason"] != "Forbidden" ||
			v["message"] != `pods is forbidden: User "40000000-0000-4000-8000-0000000000b2" cannot list resource "pods" in API group "" in the namespace "default"` {
			t.Errorf("%d %v", resp.StatusCode, v)
		}
		resp, v = do("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", dev, "",
			`{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectAccessReview","spec":{"resourceAttributes":{"namespace":"default","verb":"list","resource":"pods"}}}`)
		if resp.StatusCode != 201 || v["status"].(map[string]any)["allowed"] != false {
			t.Errorf("SSAR %d %v", resp.StatusCode, v)
		}
		resp, _ = do("GET", "/version", dev, "", "")
		if resp.StatusCode != 200 {
			t.Errorf("discovery for a non-admin: %d", resp.StatusCode)
		}
	})

	t.Run("faults and per-cluster counters", func(t *testing.T) {
		if _, err := s.AddFault(Fault{Route: "kube.aad-k8s-rbac.pods.list", Status: 429, Times: 1}); err != nil {
			t.Fatal(err)
		}
		s.ResetCounters()
		resp, v := do("GET", "/api/v1/namespaces/default/pods", admin, "", "")
		if resp.StatusCode != 429 || v["kind"] != "Status" || v["reason"] != "TooManyRequests" {
			t.Errorf("%d %v", resp.StatusCode, v)
		}
		resp, _ = do("GET", "/api/v1/namespaces/default/pods", admin, "", "")
		if resp.StatusCode != 200 || s.RequestCount("kube.aad-k8s-rbac.pods.list") != 2 {
			t.Errorf("%d, count %d", resp.StatusCode, s.RequestCount("kube.aad-k8s-rbac.pods.list"))
		}
	})

	t.Run("user credentials of a pre-1.24 Entra cluster default to the azure format", func(t *testing.T) {
		var c *Cluster
		s.View(func(w *World) { c = w.Tenants[0].Subscriptions[0].ResourceGroups[0].Clusters[0] })
		_, b, err := buildKubeconfig(s, ClusterCredentialRequest{Cluster: c})
		if err != nil {
			t.Fatal(err)
		}
		if u := parseKubeconfig(t, b).Users[0].User; u.AuthProvider == nil || u.Exec != nil {
			t.Errorf("user %+v", u)
		}
	})
}

// TestDemoWorldScriptStepIdentities checks what issue 7's script steps
// need from the demo world: each identity kind gets a user kubeconfig of
// both clusters through the SDK, and kubectl lists pods with it (the
// certificate kubeconfig of aks-local; on aks-aad an exec plugin printing
// a token the same credential obtained for the AKS server app).
func TestDemoWorldScriptStepIdentities(t *testing.T) {
	testenv.Kubectl(t)
	s := StartForTest(t, nil)
	pemBytes, err := s.CertificatePEM(demoTenant, "azimuth-cert", "main")
	if err != nil {
		t.Fatal(err)
	}
	creds := map[string]azcore.TokenCredential{
		"secret":        secretCred(t, s, demoTenant, ownerAppID, ownerSecret),
		"certificate":   certCred(t, s, pemBytes, "", nil),
		"system MI":     imdsCred(t, s, nil),
		"user-assigned": imdsCred(t, s, azidentity.ClientID(uamiClientID)),
	}
	for name, cred := range creds {
		t.Run(name, func(t *testing.T) {
			c := aksClientWith(t, s, cred)
			_, local := userCredential(t, c, "aks-local", "")
			wantLines(t, mustKubectl(t, local, "get", "pods", "-n", "default"), "api-7d9c8b-abcde")

			_, aad := userCredential(t, c, "aks-aad", armcontainerservice.FormatExec)
			tok, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{cloud.DefaultAKS + "/.default"}})
			if err != nil {
				t.Fatal(err)
			}
			wantLines(t, mustKubectl(t, tokenKubeconfig(t, aad, tok.Token, true), "get", "pods", "-n", "default"), "web-6f7b9d-klmno")
			if s.KubeTokenUses("aks-aad", tok.Token) == 0 {
				t.Error("the token's use was not counted")
			}
		})
	}
	// azimuth-reader (a secret) serves aks-local only.
	if _, err := aksClient(t, s, readerAppID, readerSecret).ListClusterUserCredentials(context.Background(), aksRG, "aks-aad", nil); err == nil {
		t.Error("azimuth-reader got aks-aad credentials")
	}
}
