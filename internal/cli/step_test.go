package cli

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/azimuthcd/azimuth/internal/azuresim"
	"github.com/azimuthcd/azimuth/internal/client"
	"github.com/azimuthcd/azimuth/internal/cloud"
	"github.com/azimuthcd/azimuth/internal/config"
	"github.com/azimuthcd/azimuth/internal/delegate"
	"github.com/azimuthcd/azimuth/internal/ops"
	"github.com/azimuthcd/azimuth/internal/scope"
	"github.com/azimuthcd/azimuth/internal/server"
	"github.com/azimuthcd/azimuth/internal/testenv"
)

// TestMain lets this test binary be `azimuth kube-token`, the credential
// plugin a step's kubeconfig runs (os.Executable() kube-token).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == ops.KubeTokenCommand {
		os.Exit(Main(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// stepAgent runs a real delegate (NewAgent, what `azimuth delegate`
// runs) in-process against srv, its Azure factory on the simulated host
// delegate-host; kubernetes says whether it believes it runs in a pod
// (KUBERNETES_SERVICE_HOST), which the hub requires of a managed-identity
// step's delegate.
func stepAgent(t *testing.T, srv *server.Server, o *cloud.Override, token, name string, tags []string, kubernetes bool) *delegate.Agent {
	t.Helper()
	getenv := func(k string) string {
		if k == "KUBERNETES_SERVICE_HOST" && kubernetes {
			return "10.0.0.1"
		}
		return ""
	}
	a, closeFactory, err := NewAgent(context.Background(), AgentConfig{Server: srv.URL(), Token: token, Name: name, Tags: tags, Override: o, Getenv: getenv})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = a.Run(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
		closeFactory()
	})
	return a
}

const (
	demoSubID  = "20000000-0000-4000-8000-000000000001"
	ownerValue = "demo-owner-secret-0006"
)

// TestRunAndAKSCommands drives the commands against a real server whose
// clouds are the simulator's, with two real delegates connected to its
// hub (selectors, the managed-identity rule and the task log are the
// hub's own).
func TestRunAndAKSCommands(t *testing.T) {
	testenv.Kubectl(t)
	dir := isolate(t)
	sim := azuresim.StartForTest(t, nil)
	cloudConfig := filepath.Join(dir, "cloud.json")
	if err := sim.Override().Write(cloudConfig); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, config.Server{Listen: "127.0.0.1:0", DataDir: dir, DatabaseURL: filepath.Join(dir, "azimuth.db"),
		MasterKeyFile: filepath.Join(dir, "master.key"), Account: "acme", LogLevel: "error", LogFormat: "text",
		ShutdownTimeout: 5 * time.Second, Dev: true, CloudConfig: cloudConfig}, nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	o, err := sim.HostOverride("delegate-host")
	if err != nil {
		t.Fatal(err)
	}
	admin := srv.AdminKey.Reveal()
	// Two real delegates through the server's hub: "vm" (no tags, not in
	// Kubernetes) and "pod" (tags aks and delegate-host, in Kubernetes).
	api, err := client.New(client.Options{BaseURL: srv.URL(), APIKey: admin, Account: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	_, tok, err := api.CreateDelegateToken(context.Background(), client.Scope{}, "cli-steps")
	if err != nil {
		t.Fatal(err)
	}
	vm := stepAgent(t, srv, o, tok, "vm", nil, false)
	pod := stepAgent(t, srv, o, tok, "pod", []string{"aks", "delegate-host"}, true)
	for vm.ID() == "" || pod.ID() == "" {
		select {
		case <-time.After(20 * time.Millisecond):
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
	}

	cli := func(args ...string) result {
		t.Helper()
		return runWith("", append([]string{"--server", srv.URL(), "--api-key", admin}, args...)...)
	}
	ok := func(args ...string) result {
		t.Helper()
		r := cli(args...)
		if r.code != 0 {
			t.Fatalf("azimuth %s: %s", strings.Join(args, " "), r)
		}
		return r
	}
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ok("secret", "create", "text", "owner-secret", "--value-file", write("v", ownerValue))
	ok("connector", "create", "-f", write("sp.yaml", `connector:
  name: aks-sp
  identifier: aks_sp
  type: Azure
  spec:
    credential:
      type: ManualConfig
      spec:
        applicationId: 30000000-0000-4000-8000-000000000006
        tenantId: 10000000-0000-4000-8000-000000000001
        auth: {type: Secret, spec: {secretRef: account.owner-secret}}
    azureEnvironmentType: AZURE
    executeOnDelegate: false
`))
	ok("connector", "create", "-f", write("mi.yaml", `connector:
  name: aks-mi
  identifier: aks_mi
  type: Azure
  spec:
    credential:
      type: InheritFromDelegate
      spec:
        auth: {type: UserAssignedManagedIdentity, spec: {clientId: 60000000-0000-4000-8000-000000000002}}
    delegateSelectors: [delegate-host]
    azureEnvironmentType: AZURE
`))
	cluster := []string{"--subscription", demoSubID, "--resource-group", "rg-containers"}

	t.Run("clusters", func(t *testing.T) {
		r := ok(append([]string{"azure", "aks", "clusters", "--connector", "aks_sp", "-o", "json"}, cluster[:2]...)...)
		var out ops.AKSClusterList
		if err := json.Unmarshal([]byte(r.out), &out); err != nil || len(out.Clusters) != 2 {
			t.Fatalf("%v %s", err, r)
		}
		r = ok(append([]string{"azure", "aks", "clusters", "--connector", "aks_sp"}, cluster...)...)
		if !strings.Contains(r.out, "aks-aad") || !strings.Contains(r.out, "LOCAL ACCOUNTS") {
			t.Error(r)
		}
	})
	t.Run("Harness's clusters route", func(t *testing.T) {
		c, err := client.New(client.Options{BaseURL: srv.URL(), APIKey: admin, Account: "acme"})
		if err != nil {
			t.Fatal(err)
		}
		var out struct {
			Clusters []struct {
				Cluster string `json:"cluster"`
			} `json:"clusters"`
		}
		if _, err := c.Do(context.Background(), client.Request{Method: http.MethodGet,
			Path:  "/ng/api/azure/subscriptions/" + demoSubID + "/resourceGroups/rg-containers/clusters",
			Query: url.Values{"connectorRef": {"account.aks_sp"}}}, &out); err != nil {
			t.Fatal(err)
		}
		if len(out.Clusters) != 2 || out.Clusters[0].Cluster != "aks-aad" || out.Clusters[1].Cluster != "aks-local" {
			t.Errorf("%+v", out)
		}
	})
	t.Run("kubeconfig", func(t *testing.T) {
		path := filepath.Join(dir, "kc")
		ok(append([]string{"azure", "aks", "kubeconfig", "--connector", "aks_sp", "--cluster", "aks-aad", "--file", path}, cluster...)...)
		if mode(t, path) != 0o600 {
			t.Errorf("mode %v", mode(t, path))
		}
		r := runWith("", "--server", srv.URL(), "--api-key", admin, "azure", "aks", "kubeconfig", "--connector", "aks_sp", "--cluster", "aks-aad", "--admin", "--subscription", demoSubID, "--resource-group", "rg-containers")
		if r.code != ExitInvalid || !strings.Contains(r.err, "disable local accounts") || !strings.Contains(r.err, "use user credentials") {
			t.Errorf("admin on aks-aad: %s", r)
		}
	})
	script := "export KUBECONFIG=${HARNESS_KUBE_CONFIG_PATH}; kubectl get pods -n default"
	t.Run("run with a service principal", func(t *testing.T) {
		for cl, podName := range map[string]string{"aks-local": "api-7d9c8b-abcde", "aks-aad": "web-6f7b9d-klmno"} {
			r := ok(append([]string{"run", "--connector", "aks_sp", "--cluster", cl, "--namespace", "default"}, append(cluster, "--", script)...)...)
			ranOn := strings.Contains(r.err, "on delegate "+vm.ID()+": exit code 0") || strings.Contains(r.err, "on delegate "+pod.ID()+": exit code 0")
			if !strings.Contains(r.out, podName) || !ranOn || strings.Contains(r.out+r.err, ownerValue) {
				t.Errorf("%s: %s", cl, r)
			}
			// The script's lines on stdout, Azimuth's notes on stderr.
			if strings.Contains(r.out, ops.StepNotePrefix) || !strings.Contains(r.err, ops.StepNotePrefix+"authenticated as") {
				t.Errorf("%s: notes and output mixed: %s", cl, r)
			}
		}
		// A selector no delegate carries: refused, naming it.
		r := cli(append([]string{"run", "--connector", "aks_sp", "--cluster", "aks-local", "--delegate-selector", "gpu"}, append(cluster, "--", "echo never")...)...)
		if r.code == 0 || strings.Contains(r.out, "never") || !strings.Contains(r.err, "gpu") {
			t.Errorf("selector gpu: %s", r)
		}
		r = cli(append([]string{"run", "--connector", "aks_sp", "--cluster", "aks-local"}, append(cluster, "--", "echo failing; exit 5")...)...)
		if r.code != 5 || !strings.Contains(r.out, "failing") {
			t.Errorf("exit code: %s", r)
		}
	})
	t.Run("managed identity needs a selector", func(t *testing.T) {
		r := cli(append([]string{"run", "--connector", "aks_mi", "--cluster", "aks-aad"}, append(cluster, "--", script)...)...)
		if r.code != ExitInvalid || !strings.Contains(r.err, "this step names none") || !strings.Contains(r.err, "--delegate-selector") {
			t.Errorf("%s", r)
		}
		r = ok(append([]string{"run", "--connector", "aks_mi", "--cluster", "aks-aad", "--delegate-selector", "aks"}, append(cluster, "--", script)...)...)
		if !strings.Contains(r.out, "web-6f7b9d-klmno") || !strings.Contains(r.err, "on delegate "+pod.ID()+":") {
			t.Errorf("%s", r)
		}
		// A selector that matches no delegate: the hub refuses the step
		// before it runs, whatever the CLI checks.
		r = cli(append([]string{"run", "--connector", "aks_mi", "--cluster", "aks-aad", "--delegate-selector", "nosuch"}, append(cluster, "--", "echo never")...)...)
		if r.code == 0 || strings.Contains(r.out, "never") || !strings.Contains(r.err, "nosuch") {
			t.Errorf("selector nosuch: %s", r)
		}
	})
	t.Run("a task id in use is refused", func(t *testing.T) {
		q := url.Values{"connectorRef": {"aks_sp"}}
		body := map[string]any{"subscriptionId": demoSubID, "resourceGroup": "rg-containers", "cluster": "aks-local",
			"script": "echo once", "taskId": "tsk_0123456789abcdef01234567"}
		var out ops.StepResult
		if _, err := api.Do(ctx, client.Request{Method: http.MethodPost, Path: "/ng/api/azimuth/steps", Query: q, JSON: body}, &out); err != nil || !strings.Contains(out.Output, "once") {
			t.Fatalf("%v %+v", err, out)
		}
		_, err := api.Do(ctx, client.Request{Method: http.MethodPost, Path: "/ng/api/azimuth/steps", Query: q, JSON: body}, &out)
		if !client.IsConflict(err) || !strings.Contains(err.Error(), "already in use") {
			t.Errorf("the same task id again: %v", err)
		}
	})
	t.Run("output is streamed while the step runs", func(t *testing.T) {
		gate := filepath.Join(dir, "gate")
		var out, errb syncBuf
		done := make(chan int, 1)
		args := append([]string{"--server", srv.URL(), "--api-key", admin, "run", "--connector", "aks_sp", "--cluster", "aks-local"}, cluster...)
		args = append(args, "--", "echo first-line; while [ ! -e "+gate+" ]; do sleep 0.05; done; echo second-line")
		go func() { done <- Main(context.Background(), args, strings.NewReader(""), &out, &errb) }()
		// The script waits for the gate, which is made only once its
		// first line has reached azimuth run's stdout: so that line was
		// printed while the step still ran.
		deadline := time.After(2 * time.Minute)
		for !strings.Contains(out.String(), "first-line") {
			select {
			case code := <-done:
				t.Fatalf("the step ended (exit %d) without its first line printed: %s %s", code, out.String(), errb.String())
			case <-deadline:
				t.Fatalf("no first line: stdout %q stderr %q", out.String(), errb.String())
			case <-time.After(20 * time.Millisecond):
			}
		}
		if strings.Contains(out.String(), "second-line") {
			t.Fatal("the second line came before the gate")
		}
		if err := os.WriteFile(gate, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		select {
		case code := <-done:
			if code != 0 || out.String() != "first-line\nsecond-line\n" {
				t.Errorf("exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
			}
		case <-deadline:
			t.Fatalf("the step did not end: %q %q", out.String(), errb.String())
		}
	})
}

func TestDevAKSPart(t *testing.T) {
	env := &DevEnv{Config: &config.Server{}, Info: &DevInfo{}}
	if err := devAKS(context.Background(), env); err != nil || env.Info.AKS != nil {
		t.Fatalf("without the simulator: %v %v", err, env.Info.AKS)
	}
	env.Config.CloudConfig = "cloud.json"
	if err := devAKS(context.Background(), env); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(env.Info.AKS)
	var got struct{ Clusters []DevAKSCluster }
	if err := json.Unmarshal(b, &got); err != nil || len(got.Clusters) != 2 {
		t.Fatalf("%v %s", err, b)
	}
	for _, c := range got.Clusters {
		if c.Name == "aks-aad" && (!c.AAD || c.LocalAccounts) || c.Name == "aks-local" && (c.AAD || !c.LocalAccounts) || !strings.Contains(c.Try, "--cluster "+c.Name) {
			t.Errorf("%+v", c)
		}
	}
}

func TestDevAKSSeedsAConnector(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	cfg := config.Server{Listen: "127.0.0.1:0", DataDir: dir, Account: "acme", LogLevel: "info", LogFormat: "text",
		ShutdownTimeout: time.Second, Dev: true, DatabaseURL: filepath.Join(dir, "azimuth.db"), MasterKeyFile: filepath.Join(dir, "master.key")}
	srv, err := server.New(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Store.Close() })
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	e := &apiEnv{t: t, url: hs.URL, admin: srv.AdminKey.Reveal(), st: srv.Store, kr: srv.Keyring, dir: dir}
	cfg.CloudConfig = "cloud.json" // what the simulator part sets
	env := &DevEnv{Config: &cfg, Server: srv, Info: &DevInfo{URL: e.url, APIKey: e.admin, AccountIdentifier: "acme"}}
	for range 2 { // a restarted dev server finds them in place
		if err := devAKS(context.Background(), env); err != nil {
			t.Fatal(err)
		}
	}
	r := e.ok("connector", "get", "aks_demo", "-o", "json")
	if !strings.Contains(r.out, "30000000-0000-4000-8000-000000000006") || !strings.Contains(r.out, "account.aks-demo-owner-secret") {
		t.Error(r)
	}
	if e.stored(scope.New("acme", "", ""), "aks-demo-owner-secret") != "demo-owner-secret-0006" {
		t.Error("the seeded secret is not azimuth-owner's")
	}
	b, _ := json.Marshal(env.Info.AKS)
	if !strings.Contains(string(b), `"connector":"aks_demo"`) || !strings.Contains(string(b), "azimuth run --connector aks_demo") {
		t.Errorf("%s", b)
	}
}
