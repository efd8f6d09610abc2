// Package delegates holds the end-to-end tests of delegates and the task
// engine (issue 5): in-process servers (the real composition root) on
// SQLite or PostgreSQL, real `azimuth delegate` processes (or in-process
// agents where many are needed), and the Azure simulator.
//
//	go test -count=1 -v ./e2e/delegates/
//	AZIMUTH_SCALE_TASKS=10000 go test -count=1 -run ScaleOut -timeout 30m ./e2e/delegates/
//	go test -run '^$' -bench . -benchtime 1x ./e2e/delegates/
package delegates

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/azimuthcd/azimuth/internal/access"
	"github.com/azimuthcd/azimuth/internal/azuresim"
	"github.com/azimuthcd/azimuth/internal/client"
	"github.com/azimuthcd/azimuth/internal/config"
	"github.com/azimuthcd/azimuth/internal/delegate"
	"github.com/azimuthcd/azimuth/internal/ops"
	"github.com/azimuthcd/azimuth/internal/scope"
	"github.com/azimuthcd/azimuth/internal/server"
	"github.com/azimuthcd/azimuth/internal/task"
	"github.com/azimuthcd/azimuth/internal/testenv"
)

const account = "acme"

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// azimuthBinary builds cmd/azimuth once for the test binary.
func azimuthBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "azimuth-delegates-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "azimuth")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/azimuthcd/azimuth/cmd/azimuth").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// syncBuffer collects logs from several goroutines.
type syncBuffer = testenv.Buffer

// replica is one in-process `azimuth server`.
type replica struct {
	srv    *server.Server
	url    string
	key    string
	logs   *syncBuffer
	client *client.Client
}

type serverOpts struct {
	dataDir, dbURL string
	lease          time.Duration
	cloudConfig    string
	adminKey       string // for a second replica of a database
}

// startServer runs the composition root in-process.
func startServer(t testing.TB, o serverOpts) *replica {
	t.Helper()
	if o.dataDir == "" {
		o.dataDir = t.TempDir()
	}
	if o.dbURL == "" {
		o.dbURL = filepath.Join(o.dataDir, "azimuth.db")
	}
	if o.lease == 0 {
		o.lease = 3 * time.Second
	}
	cfg := config.Server{Listen: "127.0.0.1:0", DataDir: o.dataDir, DatabaseURL: o.dbURL, MasterKeyFile: filepath.Join(o.dataDir, "master.key"),
		Account: account, LogLevel: "debug", LogFormat: "text", ShutdownTimeout: 5 * time.Second, Dev: true,
		DelegateLease: o.lease, DelegateHeartbeat: time.Second, CloudConfig: o.cloudConfig}
	logs := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
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
	key := srv.AdminKey.Reveal()
	if o.adminKey != "" {
		key = o.adminKey
	}
	c, err := client.New(client.Options{BaseURL: srv.URL(), APIKey: key, Account: account})
	if err != nil {
		t.Fatal(err)
	}
	return &replica{srv: srv, url: srv.URL(), key: key, logs: logs, client: c}
}

func (r *replica) token(t testing.TB, name string) string {
	t.Helper()
	_, tok, err := r.client.CreateDelegateToken(context.Background(), client.Scope{}, name)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// proc is a real `azimuth delegate` process.
type proc struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan error
}

func startDelegate(t testing.TB, serverURL, token, name string, tags []string, extra ...string) *proc {
	t.Helper()
	return startDelegateEnv(t, serverURL, token, name, tags, nil, extra...)
}

// agent is an in-process delegate (many of them cost less than processes).
type agent struct {
	a    *delegate.Agent
	stop func()
}

func startAgent(t testing.TB, serverURL, token, name string, tags []string, concurrency int, executors map[task.Kind]ops.Func) *agent {
	t.Helper()
	a, err := delegate.NewAgent(delegate.AgentOptions{Server: serverURL, Token: token, Name: name, Tags: tags, Concurrency: concurrency,
		Env: ops.NewEnv(nil, nil, name), Executors: executors, StopGrace: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = a.Run(ctx); close(done) }()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return &agent{a: a, stop: stop}
}

// waitDelegates waits until n delegates are connected.
func waitDelegates(t testing.TB, r *replica, n int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ds, err := r.client.ListDelegates(context.Background(), client.Scope{})
		if err != nil {
			t.Fatal(err)
		}
		c := 0
		for _, d := range ds {
			if d.Connected {
				c++
			}
		}
		if c >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d delegates connected after 60 s: %+v", c, n, ds)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// connectorDoc is an Azure connector document.
func connectorDoc(id string, selectors []string, credential string) []byte {
	sels, _ := json.Marshal(selectors)
	return []byte(fmt.Sprintf(`{"connector":{"name":%q,"identifier":%q,"type":"Azure","spec":{"credential":%s,"delegateSelectors":%s,"azureEnvironmentType":"AZURE","executeOnDelegate":true}}}`,
		id, id, credential, sels))
}

func secretCredential(ref string) string {
	return `{"type":"ManualConfig","spec":{"applicationId":"30000000-0000-4000-8000-000000000001","tenantId":"10000000-0000-4000-8000-000000000001","auth":{"type":"Secret","spec":{"secretRef":"` + ref + `"}}}}`
}

func (r *replica) createConnector(t testing.TB, doc []byte) {
	t.Helper()
	if _, err := r.client.CreateConnector(context.Background(), doc); err != nil {
		t.Fatal(err)
	}
}

// run runs kind with the stored connector id at the account through the
// replica's engine (what every connector route does).
func (r *replica) run(ctx context.Context, id string, kind task.Kind, params string) (*task.Result, error) {
	return r.runAt(ctx, scope.Scope{Account: account}, id, kind, params)
}

// runAt runs kind with the connector id stored at sc.
func (r *replica) runAt(ctx context.Context, sc scope.Scope, id string, kind task.Kind, params string) (*task.Result, error) {
	c, err := r.srv.Services.Connectors.Get(ctx, access.System("e2e"), sc, id)
	if err != nil {
		return nil, err
	}
	var p json.RawMessage
	if params != "" {
		p = json.RawMessage(params)
	}
	return r.srv.Engine.Run(ctx, task.Spec{Kind: kind, Scope: c.Scope, Connector: c.Doc, ConnectorVersion: c.Version, Params: p})
}

func mustSucceed(t testing.TB, res *task.Result, err error) *task.Result {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != task.Succeeded {
		t.Fatalf("task %s ended %s: %+v", res.TaskID, res.Status, res.Error)
	}
	return res
}

func (r *replica) mustRun(t testing.TB, id string, kind task.Kind, params string) *task.Result {
	t.Helper()
	res, err := r.run(context.Background(), id, kind, params)
	return mustSucceed(t, res, err)
}

// startDelegateEnv is startDelegate with extra environment variables
// (KUBERNETES_SERVICE_HOST=… makes a delegate that reports running in
// Kubernetes).
func startDelegateEnv(t testing.TB, serverURL, token, name string, tags, env []string, extra ...string) *proc {
	t.Helper()
	base := append(os.Environ(), "AZIMUTH_SERVER=", "AZIMUTH_DELEGATE_TOKEN=", "IDENTITY_ENDPOINT=", "IDENTITY_HEADER=", "KUBERNETES_SERVICE_HOST=")
	return startDelegateProc(t, append(base, env...), serverURL, token, name, tags, extra...)
}

// startDelegateProc runs `azimuth delegate` with exactly the environment
// env, and stops it (SIGTERM, then kill) when the test ends.
func startDelegateProc(t testing.TB, env []string, serverURL, token, name string, tags []string, extra ...string) *proc {
	t.Helper()
	args := []string{"delegate", "--server", serverURL, "--token", token, "--name", name, "--log-level", "debug"}
	if len(tags) > 0 {
		args = append(args, "--tags", strings.Join(tags, ","))
	}
	args = append(args, extra...)
	cmd := exec.Command(azimuthBinary(t), args...)
	cmd.Env = env
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, out: out, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("delegate %s output:\n%s", name, out.String())
		}
	})
	return p
}

// writeCloudConfigs writes the simulator's cloud configuration for the
// server and the one of its simulated host delegate-host (whose IMDS
// answers for that host's managed identities) into dir.
func writeCloudConfigs(t testing.TB, sim *azuresim.Sim, dir string) (serverCfg, hostCfg string) {
	t.Helper()
	serverCfg, hostCfg = filepath.Join(dir, "server-cloud.json"), filepath.Join(dir, "host.json")
	if err := sim.Override().Write(serverCfg); err != nil {
		t.Fatal(err)
	}
	ho, err := sim.HostOverride("delegate-host")
	if err != nil {
		t.Fatal(err)
	}
	if err := ho.Write(hostCfg); err != nil {
		t.Fatal(err)
	}
	return serverCfg, hostCfg
}
