package ops_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/azimuthcd/azimuth/internal/azure"
	"github.com/azimuthcd/azimuth/internal/azuresim"
	"github.com/azimuthcd/azimuth/internal/cloud"
	"github.com/azimuthcd/azimuth/internal/connector"
	"github.com/azimuthcd/azimuth/internal/engine"
	"github.com/azimuthcd/azimuth/internal/failure"
	"github.com/azimuthcd/azimuth/internal/ops"
	"github.com/azimuthcd/azimuth/internal/task"
	"github.com/azimuthcd/azimuth/internal/testenv"
)

// TestMain lets this test binary be the kubeconfig's credential plugin:
// a step's kubeconfig runs os.Executable() kube-token, which in tests is
// this binary.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == ops.KubeTokenCommand {
		if err := ops.KubeTokenPlugin(context.Background(), os.Getenv(ops.KubeTokenSocketEnv), os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// The demo world's identities (internal/azuresim/demo.yaml).
const (
	demoTenant  = "10000000-0000-4000-8000-000000000001"
	demoSub     = "20000000-0000-4000-8000-000000000001"
	demoRG      = "rg-containers"
	ownerApp    = "30000000-0000-4000-8000-000000000006"
	ownerSecret = "demo-owner-secret-0006"
	certApp     = "30000000-0000-4000-8000-000000000002"
	uamiClient  = "60000000-0000-4000-8000-000000000002"
	stepHost    = "delegate-host"
)

type lockedBuffer = testenv.Buffer

type stepWorld struct {
	sim     *azuresim.Sim
	certPEM []byte
	logs    *lockedBuffer
}

func newStepWorld(t *testing.T, lifetime time.Duration) *stepWorld {
	t.Helper()
	w, err := azuresim.DemoWorld()
	if err != nil {
		t.Fatal(err)
	}
	s := azuresim.StartForTestWith(t, azuresim.Options{World: w, TokenLifetime: lifetime})
	pemBytes, err := s.CertificatePEM(demoTenant, "azimuth-cert", "main")
	if err != nil {
		t.Fatal(err)
	}
	return &stepWorld{sim: s, certPEM: pemBytes, logs: &lockedBuffer{}}
}

// delegateEnv is the executor environment of a delegate running on the
// simulated host delegate-host (its IMDS gives the managed identities).
func (w *stepWorld) delegateEnv(t *testing.T) *ops.Env {
	t.Helper()
	o, err := w.sim.HostOverride(stepHost)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f, err := azure.NewFactory(azure.Options{Override: o, Logger: logger, ManagedIdentity: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	return ops.NewEnv(logger, f, "dlg_test_1")
}

type identityCase struct {
	name    string
	conn    *connector.Connector
	secrets ops.Secrets
}

func (w *stepWorld) identities() []identityCase {
	sp := func(id, app string, auth *connector.ManualAuth) *connector.Connector {
		return &connector.Connector{Name: id, Identifier: id, Type: connector.TypeAzure, Spec: &connector.AzureSpec{
			AzureEnvironmentType: string(cloud.Public),
			Credential: &connector.Credential{Type: connector.CredentialManual, Manual: &connector.ManualSpec{
				ApplicationID: app, TenantID: demoTenant, Auth: auth}}}}
	}
	mi := func(id string, auth *connector.ManagedIdentityAuth) *connector.Connector {
		return &connector.Connector{Name: id, Identifier: id, Type: connector.TypeAzure, Spec: &connector.AzureSpec{
			DelegateSelectors: []string{"aks"},
			Credential:        &connector.Credential{Type: connector.CredentialInherit, Inherit: &connector.InheritSpec{Auth: auth}}}}
	}
	return []identityCase{
		{"secret", sp("sp_secret", ownerApp, &connector.ManualAuth{Type: connector.AuthSecret, SecretRef: "account.owner"}),
			ops.Secrets{connector.PathSecretRef: []byte(ownerSecret)}},
		{"certificate", sp("sp_cert", certApp, &connector.ManualAuth{Type: connector.AuthCertificate, CertificateRef: "account.pem"}),
			ops.Secrets{connector.PathCertificateRef: w.certPEM}},
		{"system MI", mi("mi_system", &connector.ManagedIdentityAuth{Type: connector.ManagedIdentitySystem}), nil},
		{"user MI", mi("mi_user", &connector.ManagedIdentityAuth{Type: connector.ManagedIdentityUser, ClientID: uamiClient}), nil},
	}
}

// runStep runs a step exactly as a delegate does (engine.Execute) and
// returns its result, output and log.
func runStep(t *testing.T, env *ops.Env, c identityCase, p ops.StepParams, timeout time.Duration) (*task.Result, *ops.StepResult, string) {
	t.Helper()
	params, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	spec := task.Spec{Kind: ops.KindStep, Connector: c.conn, ConnectorVersion: 1, Params: params}
	if engine.Placement(spec) != task.Delegate {
		t.Fatalf("a step is placed on %s", engine.Placement(spec))
	}
	var log lockedBuffer
	res := engine.Execute(context.Background(), env, ops.Registry(), spec, "tsk_step", timeout, c.secrets, &log, nil)
	if res.Status != task.Succeeded {
		t.Fatalf("step %s: %+v\nlog:\n%s", res.Status, res.Error, log.String())
	}
	var out ops.StepResult
	if err := json.Unmarshal(res.Output, &out); err != nil {
		t.Fatal(err)
	}
	return res, &out, log.String()
}

// pathWithout gives a PATH holding bash and kubectl but neither kubelogin
// nor az.
func pathWithout(t *testing.T) string {
	t.Helper()
	kubectl := testenv.Kubectl(t)
	dirs := []string{filepath.Dir(kubectl), "/usr/bin", "/bin"}
	for _, d := range dirs {
		for _, tool := range []string{"kubelogin", "az"} {
			if _, err := os.Stat(filepath.Join(d, tool)); err == nil {
				t.Fatalf("%s is installed in %s: the test needs a PATH without it", tool, d)
			}
		}
	}
	return strings.Join(dirs, ":")
}

func TestStepKubectlEveryIdentity(t *testing.T) {
	t.Setenv("PATH", pathWithout(t))
	w := newStepWorld(t, 0)
	env := w.delegateEnv(t)
	copies := t.TempDir()
	pods := map[string]string{"aks-local": "api-7d9c8b-abcde", "aks-aad": "web-6f7b9d-klmno"}
	for _, c := range w.identities() {
		for _, cluster := range []string{"aks-local", "aks-aad"} {
			t.Run(c.name+"/"+cluster, func(t *testing.T) {
				copyTo := filepath.Join(copies, strings.ReplaceAll(c.name, " ", "_")+"-"+cluster)
				script := strings.Join([]string{
					`if command -v kubelogin || command -v az; then echo "kubelogin or az on PATH"; exit 3; fi`,
					`export KUBECONFIG=${HARNESS_KUBE_CONFIG_PATH}`,
					`echo "kubeconfig at $HARNESS_KUBE_CONFIG_PATH"`,
					`cp "${HARNESS_KUBE_CONFIG_PATH}" ` + copyTo,
					`stat -c '%a' "$HARNESS_KUBE_CONFIG_PATH" "$(dirname "$HARNESS_KUBE_CONFIG_PATH")"`,
					`kubectl get pods -n default`,
				}, "\n")
				res, out, log := runStep(t, env, c, ops.StepParams{KubeconfigParams: ops.KubeconfigParams{
					SubscriptionID: demoSub, ResourceGroup: demoRG, Cluster: cluster, Namespace: "default"}, Script: script}, 2*time.Minute)
				if out.ExitCode != 0 || out.Status != ops.StepSucceeded {
					t.Fatalf("exit %d: %s\nlog:\n%s", out.ExitCode, out.Output, log)
				}
				if !strings.Contains(out.Output, pods[cluster]) || !strings.Contains(log, pods[cluster]) {
					t.Errorf("no pod %s in the output:\n%s", pods[cluster], out.Output)
				}
				if !strings.Contains(out.Output, "600\n700\n") {
					t.Errorf("kubeconfig and its directory are not private:\n%s", out.Output)
				}
				if res.DelegateID != "dlg_test_1" || out.DelegateID != "dlg_test_1" {
					t.Errorf("delegate %q / %q", res.DelegateID, out.DelegateID)
				}
				if out.AAD != (cluster == "aks-aad") || out.TokenRequests == 0 {
					t.Errorf("aad %v, token requests %d", out.AAD, out.TokenRequests)
				}
				// The kubeconfig: no connector secret, no private key,
				// no token; and it is gone.
				kc, err := os.ReadFile(copyTo)
				if err != nil {
					t.Fatal(err)
				}
				for _, bad := range []string{ownerSecret, "PRIVATE KEY", "client-key-data", "token:", "kubelogin", "auth-provider"} {
					if strings.Contains(string(kc), bad) {
						t.Errorf("the kubeconfig holds %q:\n%s", bad, kc)
					}
				}
				for _, v := range c.secrets {
					if bytes.Contains(kc, v) || strings.Contains(log, string(v)) || strings.Contains(string(res.Output), string(v)) {
						t.Error("a connector secret leaked into the kubeconfig, the log or the result")
					}
				}
				path := ""
				for _, line := range strings.Split(out.Output, "\n") {
					if p, ok := strings.CutPrefix(line, "kubeconfig at "); ok {
						path = p
					}
				}
				if path == "" {
					t.Fatal("no kubeconfig path printed")
				}
				if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("the kubeconfig %s is still there: %v", path, err)
				}
				if _, err := os.Stat(filepath.Dir(path)); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("the step directory is still there: %v", err)
				}
			})
		}
	}
	if strings.Contains(w.logs.String(), ownerSecret) {
		t.Error("the secret is in the logs")
	}
}

// A step that outlives its Entra tokens keeps working: kubectl asks for a
// new credential once the old one expires, and gets a fresh token.
func TestStepOutlivesTokens(t *testing.T) {
	testenv.Kubectl(t)
	const life = 15 * time.Second
	w := newStepWorld(t, life)
	env := w.delegateEnv(t)
	for _, c := range w.identities() {
		if c.name != "secret" && c.name != "user MI" {
			continue
		}
		client := ownerApp
		if c.name == "user MI" {
			client = uamiClient
		}
		t.Run(c.name, func(t *testing.T) {
			t.Parallel() // both sleep through a token lifetime
			script := "export KUBECONFIG=${HARNESS_KUBE_CONFIG_PATH}\nkubectl get pods -n default\nsleep " + fmt.Sprint(int((life + 5*time.Second).Seconds())) + "\nkubectl get pods -n default -o name\n"
			_, out, log := runStep(t, env, c, ops.StepParams{KubeconfigParams: ops.KubeconfigParams{
				SubscriptionID: demoSub, ResourceGroup: demoRG, Cluster: "aks-aad"}, Script: script}, 2*time.Minute)
			if out.ExitCode != 0 || !strings.Contains(out.Output, "pod/web-6f7b9d-klmno") {
				t.Fatalf("exit %d:\n%s\nlog:\n%s", out.ExitCode, out.Output, log)
			}
			// The first kubectl's token expired during the sleep (the
			// simulator checks expiry with no leeway), so the second one
			// succeeding means it got a token Azimuth fetched afresh.
			if out.TokenRequests < 2 {
				t.Errorf("%d credentials served to kubectl", out.TokenRequests)
			}
			aks := 0
			for k, n := range w.sim.TokenRequestCounts() {
				if strings.HasPrefix(k.Scope, cloud.DefaultAKS) && strings.EqualFold(k.ClientID, client) {
					aks += n
				}
			}
			if aks < 2 {
				t.Errorf("%d Entra token requests for the AKS server app: no refresh during the step", aks)
			}
		})
	}
}

func TestStepExitCodeTimeoutAndCancel(t *testing.T) {
	w := newStepWorld(t, 0)
	env := w.delegateEnv(t)
	c := w.identities()[0]
	base := ops.KubeconfigParams{SubscriptionID: demoSub, ResourceGroup: demoRG, Cluster: "aks-local"}

	t.Run("exit code", func(t *testing.T) {
		_, out, _ := runStep(t, env, c, ops.StepParams{KubeconfigParams: base, Script: "echo out; echo err >&2; exit 7"}, time.Minute)
		if out.ExitCode != 7 || out.Status != ops.StepFailed || !strings.Contains(out.Output, "out\n") || !strings.Contains(out.Output, "err\n") {
			t.Errorf("%+v", out)
		}
	})
	t.Run("notes and script lines in the log", func(t *testing.T) {
		_, _, log := runStep(t, env, c, ops.StepParams{KubeconfigParams: base, Script: "echo one; printf 'two, no newline'"}, time.Minute)
		var script, notes []string
		for _, line := range strings.Split(strings.TrimSuffix(log, "\n"), "\n") {
			if strings.HasPrefix(line, ops.StepNotePrefix) {
				notes = append(notes, strings.TrimPrefix(line, ops.StepNotePrefix))
			} else {
				script = append(script, line)
			}
		}
		if strings.Join(script, "|") != "one|two, no newline" {
			t.Errorf("script lines %q in log:\n%s", script, log)
		}
		if len(notes) < 3 || !strings.HasPrefix(notes[0], "authenticated as") || notes[len(notes)-1] != "the script succeeded" {
			t.Errorf("notes %q in log:\n%s", notes, log)
		}
	})
	t.Run("secret masked in the output", func(t *testing.T) {
		_, out, log := runStep(t, env, c, ops.StepParams{KubeconfigParams: base, Script: "echo " + ownerSecret}, time.Minute)
		if strings.Contains(out.Output, ownerSecret) || strings.Contains(log, ownerSecret) || !strings.Contains(log, engine.Mask) {
			t.Errorf("output %q log %q", out.Output, log)
		}
	})
	t.Run("step timeout kills the process group", func(t *testing.T) {
		pidFile := filepath.Join(t.TempDir(), "child.pid")
		script := fmt.Sprintf("sleep 30 &\necho $! > %s\nsleep 30\n", pidFile)
		_, out, _ := runStep(t, env, c, ops.StepParams{KubeconfigParams: base, Script: script, TimeoutSeconds: 1}, time.Minute)
		if !out.TimedOut || out.Status != ops.StepFailed {
			t.Errorf("%+v", out)
		}
		b, err := os.ReadFile(pidFile)
		if err != nil {
			t.Fatal(err)
		}
		var pid int
		if _, err := fmt.Sscan(string(b), &pid); err != nil {
			t.Fatal(err)
		}
		// The background child dies with its group (an orphan is reaped
		// by init, hence the wait).
		for i := 0; syscall.Kill(pid, 0) == nil; i++ {
			if i == 100 {
				t.Fatalf("the script's child %d survived the timeout", pid)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
	t.Run("task cancellation", func(t *testing.T) {
		params, _ := json.Marshal(ops.StepParams{KubeconfigParams: base, Script: "echo started; sleep 60"})
		spec := task.Spec{Kind: ops.KindStep, Connector: c.conn, ConnectorVersion: 1, Params: params}
		ctx, cancel := context.WithCancel(context.Background())
		var log lockedBuffer
		done := make(chan *task.Result)
		go func() {
			done <- engine.Execute(ctx, env, ops.Registry(), spec, "tsk_cancel", time.Minute, c.secrets, &log, nil)
		}()
		for !strings.Contains(log.String(), "started") {
			time.Sleep(20 * time.Millisecond)
		}
		cancel()
		res := <-done
		if res.Status != task.Cancelled {
			t.Errorf("status %s %+v", res.Status, res.Error)
		}
	})
	t.Run("not on a delegate", func(t *testing.T) {
		params, _ := json.Marshal(ops.StepParams{KubeconfigParams: base, Script: "true"})
		server := *env
		server.DelegateID = ""
		res := engine.Execute(context.Background(), &server, ops.Registry(), task.Spec{Kind: ops.KindStep, Connector: c.conn, Params: params}, "tsk_srv", time.Minute, c.secrets, nil, nil)
		if res.Status != task.Failed || res.Error.Reason != "StepNeedsDelegate" {
			t.Errorf("%+v", res.Error)
		}
	})
}

func TestAKSKubeconfigAndAdminRefusal(t *testing.T) {
	testenv.Kubectl(t)
	w := newStepWorld(t, 0)
	env := w.delegateEnv(t)
	c := w.identities()[0]
	run := func(t *testing.T, kind task.Kind, p any) *task.Result {
		params, _ := json.Marshal(p)
		return engine.Execute(context.Background(), env, ops.Registry(), task.Spec{Kind: kind, Connector: c.conn, ConnectorVersion: 1, Params: params}, "tsk_k", time.Minute, c.secrets, nil, nil)
	}
	t.Run("clusters", func(t *testing.T) {
		for _, rg := range []string{"", demoRG} {
			res := run(t, ops.KindAKSClusters, ops.AKSClustersParams{SubscriptionID: demoSub, ResourceGroup: rg})
			var out ops.AKSClusterList
			if res.Status != task.Succeeded || json.Unmarshal(res.Output, &out) != nil || len(out.Clusters) != 2 {
				t.Fatalf("%s %+v %s", res.Status, res.Error, res.Output)
			}
			if out.Clusters[0].Cluster != "aks-aad" || !out.Clusters[0].AAD || out.Clusters[0].LocalAccounts || out.Clusters[1].Cluster != "aks-local" || out.Clusters[1].AAD {
				t.Errorf("%+v", out.Clusters)
			}
		}
	})
	for _, tc := range []struct {
		cluster, cred string
		admin         bool
	}{{"aks-local", ops.KubeCredentialToken, false}, {"aks-local", ops.KubeCredentialToken, true}, {"aks-aad", ops.KubeCredentialEntraToken, false}} {
		t.Run(fmt.Sprintf("kubeconfig %s admin=%v", tc.cluster, tc.admin), func(t *testing.T) {
			res := run(t, ops.KindAKSKubeconfig, ops.KubeconfigParams{SubscriptionID: demoSub, ResourceGroup: demoRG, Cluster: tc.cluster, UseClusterAdminCredentials: tc.admin, Namespace: "default"})
			var out ops.Kubeconfig
			if res.Status != task.Succeeded || json.Unmarshal(res.Output, &out) != nil {
				t.Fatalf("%s %+v", res.Status, res.Error)
			}
			if out.Credential != tc.cred || out.Admin != tc.admin || strings.Contains(out.Kubeconfig, ownerSecret) || strings.Contains(out.Kubeconfig, "kubelogin") ||
				strings.Contains(out.Kubeconfig, "client-key-data") {
				t.Errorf("%+v", out)
			}
			path := filepath.Join(t.TempDir(), "kc")
			if err := os.WriteFile(path, []byte(out.Kubeconfig), 0o600); err != nil {
				t.Fatal(err)
			}
			b, err := exec.Command("kubectl", "--kubeconfig", path, "get", "pods").CombinedOutput()
			if err != nil || !strings.Contains(string(b), "Running") {
				t.Errorf("kubectl: %v\n%s", err, b)
			}
		})
	}
	t.Run("no permission", func(t *testing.T) {
		reader := identityCase{conn: w.identities()[0].conn.Clone(), secrets: ops.Secrets{connector.PathSecretRef: []byte("demo-reader-secret-0001")}}
		reader.conn.Identifier = "reader"
		reader.conn.Spec.Credential.Manual.ApplicationID = "30000000-0000-4000-8000-000000000001"
		params, _ := json.Marshal(ops.KubeconfigParams{SubscriptionID: demoSub, ResourceGroup: demoRG, Cluster: "aks-aad"})
		res := engine.Execute(context.Background(), env, ops.Registry(), task.Spec{Kind: ops.KindAKSKubeconfig, Connector: reader.conn, ConnectorVersion: 1, Params: params}, "tsk_r", time.Minute, reader.secrets, nil, nil)
		t.Logf("%+v", res.Error)
		if res.Status != task.Failed || res.Error.Reason != "AuthorizationFailed" || !strings.Contains(res.Error.Message, "listClusterUserCredential") ||
			!strings.Contains(res.Error.Hint, "Azure Kubernetes Service Cluster User Role") {
			t.Errorf("%+v", res.Error)
		}
	})
	t.Run("admin on a cluster without local accounts", func(t *testing.T) {
		res := run(t, ops.KindAKSKubeconfig, ops.KubeconfigParams{SubscriptionID: demoSub, ResourceGroup: demoRG, Cluster: "aks-aad", UseClusterAdminCredentials: true})
		if res.Status != task.Failed || res.Error.Reason != string(ops.ReasonLocalAccountsDisabled) || res.Error.Kind != failure.Invalid.String() ||
			!strings.Contains(res.Error.Message, "Getting static credential is not allowed because this cluster is set to disable local accounts") ||
			!strings.Contains(res.Error.Hint, "use user credentials") {
			t.Errorf("%+v", res.Error)
		}
	})
}

func TestStepPlacementRules(t *testing.T) {
	w := newStepWorld(t, 0)
	ids := w.identities()
	sp, mi := ids[0].conn, ids[2].conn // mi has the connector selector "aks"
	vm := ops.StepDelegate{ID: "d1", Name: "vm", Tags: []string{"aks", "vm"}}
	pod := ops.StepDelegate{ID: "d2", Name: "aks-pod", Tags: []string{"aks"}, Kubernetes: true}
	if err := ops.CheckStepSelectors(mi, nil); err == nil || !strings.Contains(err.Error(), "this step names none") {
		t.Errorf("MI without selector: %v", err)
	} else if fe, _ := failure.As(err); fe.Code != ops.ReasonStepNeedsSelector {
		t.Errorf("code %q", fe.Code)
	}
	if err := ops.CheckStepSelectors(sp, nil); err != nil {
		t.Errorf("SP: %v", err)
	}
	if got, err := ops.ChooseStepDelegates(mi, []string{"aks"}, []ops.StepDelegate{vm, pod}); err != nil || len(got) != 1 || got[0].ID != "d2" {
		t.Errorf("MI with selector: %v %v", got, err)
	}
	if _, err := ops.ChooseStepDelegates(mi, []string{"aks"}, []ops.StepDelegate{vm}); err == nil || !strings.Contains(err.Error(), "does not run in Kubernetes") {
		t.Errorf("MI, only a VM delegate: %v", err)
	}
	if got, err := ops.ChooseStepDelegates(sp, nil, []ops.StepDelegate{vm, pod}); err != nil || len(got) != 2 {
		t.Errorf("SP: %v %v", got, err)
	}
	if _, err := ops.ChooseStepDelegates(sp, []string{"gpu"}, []ops.StepDelegate{vm, pod}); err == nil || !strings.Contains(err.Error(), "lacks the tag(s) gpu") {
		t.Errorf("SP with an unmatched selector: %v", err)
	}
}

// BenchmarkStep measures a whole script step on aks-aad (credentials from
// Azure, the private directory, the token socket, bash) with a script
// that does nothing, and one that runs kubectl once through the plugin.
func BenchmarkStep(b *testing.B) {
	for _, script := range []string{"true", "kubectl get pods -n default >/dev/null"} {
		b.Run(strings.Fields(script)[0], func(b *testing.B) {
			w, err := azuresim.DemoWorld()
			if err != nil {
				b.Fatal(err)
			}
			s, err := azuresim.Start(context.Background(), azuresim.Options{World: w})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			o := s.Override()
			f, err := azure.NewFactory(azure.Options{Override: o, ManagedIdentity: true})
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			env := ops.NewEnv(nil, f, "dlg_bench")
			sw := &stepWorld{sim: s}
			c := sw.identities()[0]
			params, _ := json.Marshal(ops.StepParams{KubeconfigParams: ops.KubeconfigParams{SubscriptionID: demoSub, ResourceGroup: demoRG, Cluster: "aks-aad"}, Script: script})
			spec := task.Spec{Kind: ops.KindStep, Connector: c.conn, ConnectorVersion: 1, Params: params}
			reg := ops.Registry()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				res := engine.Execute(context.Background(), env, reg, spec, "tsk_bench", time.Minute, c.secrets, nil, nil)
				var out ops.StepResult
				if res.Status != task.Succeeded || json.Unmarshal(res.Output, &out) != nil || out.ExitCode != 0 {
					b.Fatalf("%s %+v %s", res.Status, res.Error, out.Output)
				}
			}
		})
	}
}

// A pod whose IMDS answers with a pod-assigned (user-assigned) identity:
// a system-assigned connector gets that identity instead, and the step
// says so.
func TestStepPodIdentityShadowsSystemIdentity(t *testing.T) {
	w, err := azuresim.DemoWorld()
	if err != nil {
		t.Fatal(err)
	}
	w.Tenants[0].Hosts = append(w.Tenants[0].Hosts, &azuresim.Host{Name: "aks-pod", UserAssigned: []string{"delegate-identity"},
		SubscriptionID: demoSub, ResourceGroup: demoRG})
	s := azuresim.StartForTestWith(t, azuresim.Options{World: w})
	o, err := s.HostOverride("aks-pod")
	if err != nil {
		t.Fatal(err)
	}
	f, err := azure.NewFactory(azure.Options{Override: o, ManagedIdentity: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	sw := &stepWorld{sim: s}
	c := sw.identities()[2] // system-assigned
	_, out, log := runStep(t, ops.NewEnv(nil, f, "dlg_pod"), c, ops.StepParams{KubeconfigParams: ops.KubeconfigParams{
		SubscriptionID: demoSub, ResourceGroup: demoRG, Cluster: "aks-local"}, Script: "true"}, time.Minute)
	found := false
	for _, w := range out.Warnings {
		found = found || w.Reason == "PodIdentityShadowsSystemIdentity"
	}
	if !found || !strings.Contains(log, "pod-assigned identity") {
		t.Errorf("warnings %+v\nlog:\n%s", out.Warnings, log)
	}
}

// The engine never runs a step in the server, and refuses a
// managed-identity step without a selector of its own before dispatching.
func TestStepEnginePlacement(t *testing.T) {
	w := &stepWorld{}
	ids := w.identities()
	params, _ := json.Marshal(ops.StepParams{KubeconfigParams: ops.KubeconfigParams{SubscriptionID: demoSub, ResourceGroup: demoRG, Cluster: "aks-local"}, Script: "true"})
	for _, where := range []task.Where{task.Auto, task.Server} {
		if got := engine.Placement(task.Spec{Kind: ops.KindStep, Where: where, Connector: ids[0].conn}); got != task.Delegate {
			t.Errorf("Where %q: placed on %s", where, got)
		}
	}
	e := engine.New(engine.Deps{})
	_, err := e.Run(context.Background(), task.Spec{Kind: ops.KindStep, Connector: ids[2].conn, Params: params})
	if fe, ok := failure.As(err); !ok || fe.Code != ops.ReasonStepNeedsSelector {
		t.Errorf("MI step without a selector: %v", err)
	}
	_, err = e.Run(context.Background(), task.Spec{Kind: ops.KindStep, Connector: ids[0].conn, Params: params})
	if fe, ok := failure.As(err); !ok || fe.Code != "NoDelegate" || !strings.Contains(err.Error(), "runs only on delegates") {
		t.Errorf("SP step without a delegate hub: %v", err)
	}
}
