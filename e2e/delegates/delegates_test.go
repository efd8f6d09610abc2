package delegates

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/azimuthcd/azimuth/internal/azuresim"
	"github.com/azimuthcd/azimuth/internal/client"
	"github.com/azimuthcd/azimuth/internal/failure"
	"github.com/azimuthcd/azimuth/internal/ops"
	"github.com/azimuthcd/azimuth/internal/scope"
	"github.com/azimuthcd/azimuth/internal/store"
	"github.com/azimuthcd/azimuth/internal/task"
	"github.com/azimuthcd/azimuth/internal/testenv"
)

// TestSelectors: a connector with selectors [x] runs only on the delegate
// tagged x; with no eligible delegate the task fails at once, naming the
// selectors and the delegates that exist.
func TestSelectors(t *testing.T) {
	r := startServer(t, serverOpts{})
	tok := r.token(t, "main")
	startDelegate(t, r.url, tok, "alpha", []string{"x", "linux"})
	startDelegate(t, r.url, tok, "beta", nil)
	waitDelegates(t, r, 2)
	if _, err := r.client.CreateTextSecret(context.Background(), client.Scope{}, client.SecretMeta{Identifier: "sp"}, []byte("demo-reader-secret-0001")); err != nil {
		t.Fatal(err)
	}
	r.createConnector(t, connectorDoc("withx", []string{"X"}, secretCredential("account.sp")))
	r.createConnector(t, connectorDoc("anyone", nil, secretCredential("account.sp")))
	r.createConnector(t, connectorDoc("nobody", []string{"gpu", "x"}, secretCredential("account.sp")))
	for i := range 10 {
		res := r.mustRun(t, "withx", ops.KindDiagEcho, `{"message":"hi"}`)
		if res.DelegateName != "alpha" {
			t.Fatalf("run %d of a connector with selectors [x] ran on %q", i, res.DelegateName)
		}
	}
	seen := map[string]bool{}
	for range 20 {
		res := r.mustRun(t, "anyone", ops.KindDiagEcho, `{}`)
		seen[res.DelegateName] = true
	}
	if !seen["alpha"] && !seen["beta"] {
		t.Fatalf("no delegate ran the selector-less tasks: %v", seen)
	}
	start := time.Now()
	_, err := r.run(context.Background(), "nobody", ops.KindDiagEcho, `{}`)
	took := time.Since(start)
	fe, ok := failure.As(err)
	if !ok || fe.Code != "NoDelegate" {
		t.Fatalf("no eligible delegate: err = %v", err)
	}
	for _, want := range []string{"[gpu, x]", "alpha", "beta", "tags [linux, x]"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not name %q: %v", want, err)
		}
	}
	t.Logf("no eligible delegate: failed in %s: %v", took, err)
	if took > 10*time.Second {
		t.Fatalf("no eligible delegate took %s to fail", took)
	}
}

// TestKillDelegateMidTask: kill -9 of the delegate running a task; the
// task completes on another delegate once the lease runs out.
func TestKillDelegateMidTask(t *testing.T) {
	const lease = 2 * time.Second
	r := startServer(t, serverOpts{lease: lease})
	tok := r.token(t, "main")
	doomed := startDelegate(t, r.url, tok, "doomed", []string{"k"})
	waitDelegates(t, r, 1)
	r.createConnector(t, connectorDoc("plain", []string{"k"}, `{"type":"InheritFromDelegate","spec":{"auth":{"type":"SystemAssignedManagedIdentity","spec":{}}}}`))
	type out struct {
		res *task.Result
		err error
	}
	resc := make(chan out, 1)
	go func() {
		res, err := r.run(context.Background(), "plain", ops.KindDiagSleep, `{"millis":1500,"message":"slow"}`)
		resc <- out{res, err}
	}()
	var id string
	deadline := time.Now().Add(30 * time.Second)
	for id == "" {
		l, _, err := r.srv.Store.ListTasks(context.Background(), store.TaskFilter{Scopes: []store.ScopeMatch{{Scope: scope.Scope{Account: account}, Subtree: true}}, Status: store.TaskRunning})
		if err != nil {
			t.Fatal(err)
		}
		if len(l) == 1 && l[0].DelegateName == "doomed" {
			id = l[0].ID
		}
		if time.Now().After(deadline) {
			t.Fatal("the task never ran on the doomed delegate")
		}
		time.Sleep(20 * time.Millisecond)
	}
	startDelegate(t, r.url, tok, "survivor", []string{"k"})
	if err := doomed.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	o := <-resc
	res := mustSucceed(t, o.res, o.err)
	if res.DelegateName != "survivor" {
		t.Fatalf("the task finished on %q", res.DelegateName)
	}
	tk, _ := r.srv.Store.GetTask(context.Background(), id)
	t.Logf("task %s finished on %s %s after the kill; attempts %d; note %q", id, res.DelegateName, time.Since(killed), tk.Attempts, tk.Note)
	if tk.Attempts != 2 || !strings.Contains(tk.Note, "doomed") {
		t.Fatalf("task row %+v", tk)
	}
	if d := time.Since(killed); d > lease+5*time.Second {
		t.Fatalf("recovered %s after the kill; lease %s", d, lease)
	}
}

// TestRevokedToken: revoking the token stops its delegate at its next
// contact; a new delegate with it is refused.
func TestRevokedToken(t *testing.T) {
	r := startServer(t, serverOpts{})
	tok := r.token(t, "doomed")
	p := startDelegate(t, r.url, tok, "one", nil)
	waitDelegates(t, r, 1)
	ts, err := r.client.ListDelegateTokens(context.Background(), client.Scope{}, false)
	if err != nil || len(ts) != 1 {
		t.Fatalf("tokens %v %v", ts, err)
	}
	if _, err := r.client.RevokeDelegateToken(context.Background(), ts[0].ID); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() == 0 || !strings.Contains(p.out.String(), "DELEGATE_TOKEN_REVOKED") {
			t.Fatalf("the delegate ended with %v:\n%s", err, p.out.String())
		}
		p.done <- err // for the cleanup
	case <-time.After(30 * time.Second):
		t.Fatalf("the delegate still runs 30 s after its token was revoked:\n%s", p.out.String())
	}
	cmd := exec.Command(azimuthBinary(t), "delegate", "--server", r.url, "--token", tok, "--name", "two")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || !strings.Contains(string(out), "revoked") {
		t.Fatalf("a new delegate with a revoked token: %v\n%s", err, out)
	}
	ds, _ := r.client.ListDelegates(context.Background(), client.Scope{})
	for _, d := range ds {
		if d.Connected {
			t.Fatalf("delegate %s still shown connected", d.Name)
		}
	}
}

// TestPlantedSecret: a secret value reaches the delegate that runs the
// task and nothing else: no task row, log line, API response or process
// log holds it (as it is, or base64-encoded).
func TestPlantedSecret(t *testing.T) {
	const planted = "planted-e2e-secret-Zx81\nsecond-line-Qw62"
	r := startServer(t, serverOpts{})
	tok := r.token(t, "main")
	d := startDelegate(t, r.url, tok, "runner", nil)
	waitDelegates(t, r, 1)
	if _, err := r.client.CreateTextSecret(context.Background(), client.Scope{}, client.SecretMeta{Identifier: "planted"}, []byte(planted)); err != nil {
		t.Fatal(err)
	}
	r.createConnector(t, connectorDoc("leaky", nil, secretCredential("account.planted")))
	res := r.mustRun(t, "leaky", ops.KindDiagEcho, `{"echoSecrets":true,"lines":2,"message":"echo"}`)
	failed, err := r.run(context.Background(), "leaky", ops.KindDiagEcho, `{"echoSecrets":true,"fail":true}`)
	if err != nil || failed.Status != task.Failed || failed.Error == nil {
		t.Fatalf("failing task: %+v %v", failed, err)
	}
	var out ops.DiagOutput
	_ = json.Unmarshal(res.Output, &out)
	if out.Secrets != 1 {
		t.Fatalf("the delegate got %d secrets", out.Secrets)
	}
	var everything strings.Builder
	everything.WriteString(fmt.Sprintf("%+v %s %+v\n", res, res.Output, failed.Error))
	// Task rows and log lines as stored.
	db := r.srv.Store.DB()
	for _, q := range []string{"SELECT * FROM tasks", "SELECT * FROM task_logs"} {
		rows, err := db.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				fmt.Fprintf(&everything, "%s\n", v)
			}
		}
		rows.Close()
	}
	// API responses.
	for _, path := range []string{"/ng/api/azimuth/tasks", "/ng/api/azimuth/tasks/" + res.TaskID, "/ng/api/azimuth/tasks/" + failed.TaskID, "/ng/api/azimuth/delegates"} {
		req, _ := http.NewRequest(http.MethodGet, r.url+path+"?accountIdentifier="+account, nil)
		req.Header.Set("x-api-key", r.key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
		}
		everything.Write(b)
	}
	detail, err := r.client.GetTask(context.Background(), res.TaskID)
	if err != nil {
		t.Fatal(err)
	}
	if len(detail.Logs) < 5 || !strings.Contains(fmt.Sprint(detail.Logs), "**************") {
		t.Fatalf("the log was not shipped or not masked: %+v", detail.Logs)
	}
	everything.WriteString(r.logs.String())
	everything.WriteString(d.out.String())
	all := everything.String()
	for _, bad := range []string{planted, "planted-e2e-secret-Zx81", "second-line-Qw62", base64.StdEncoding.EncodeToString([]byte(planted)), strconv.Quote(planted)} {
		if strings.Contains(all, bad) {
			i := strings.Index(all, bad)
			t.Fatalf("the planted secret (%q) leaked: ...%s...", bad, all[max(0, i-200):min(len(all), i+200)])
		}
	}
}

// TestInheritFromDelegate: connection tests of connectors that inherit the
// delegate's system- and user-assigned managed identities, on delegates
// reaching the simulator's App Service endpoint and its IMDS.
func TestInheritFromDelegate(t *testing.T) {
	sim := azuresim.StartForTestWith(t, azuresim.Options{})
	dir := t.TempDir()
	serverCfg := filepath.Join(dir, "server-cloud.json")
	if err := sim.Override().Write(serverCfg); err != nil {
		t.Fatal(err)
	}
	ho, err := sim.HostOverride("delegate-host")
	if err != nil {
		t.Fatal(err)
	}
	appSvc := filepath.Join(dir, "appsvc.json")
	if err := ho.Write(appSvc); err != nil {
		t.Fatal(err)
	}
	ho.AppService = nil
	imds := filepath.Join(dir, "imds.json")
	if err := ho.Write(imds); err != nil {
		t.Fatal(err)
	}
	r := startServer(t, serverOpts{cloudConfig: serverCfg})
	tok := r.token(t, "main")
	startDelegate(t, r.url, tok, "vm-appsvc", []string{"appsvc"}, "--cloud-config", appSvc)
	startDelegate(t, r.url, tok, "vm-imds", []string{"imds"}, "--cloud-config", imds)
	waitDelegates(t, r, 2)
	ds, _ := r.client.ListDelegates(context.Background(), client.Scope{})
	caps := map[string]string{}
	for _, d := range ds {
		caps[d.Name] = d.Capabilities["managedIdentity"]
	}
	if caps["vm-appsvc"] != "appService" || caps["vm-imds"] != "imds" {
		t.Fatalf("capabilities: %v", caps)
	}
	system := `{"type":"InheritFromDelegate","spec":{"auth":{"type":"SystemAssignedManagedIdentity","spec":{}}}}`
	user := `{"type":"InheritFromDelegate","spec":{"auth":{"type":"UserAssignedManagedIdentity","spec":{"clientId":"60000000-0000-4000-8000-000000000002"}}}}`
	for _, c := range []struct{ id, sel, cred, wantDelegate string }{
		{"sys_appsvc", "appsvc", system, "vm-appsvc"},
		{"user_appsvc", "appsvc", user, "vm-appsvc"},
		{"sys_imds", "imds", system, "vm-imds"},
		{"user_imds", "imds", user, "vm-imds"},
	} {
		r.createConnector(t, connectorDoc(c.id, []string{c.sel}, c.cred))
		res := r.mustRun(t, c.id, ops.KindValidate, "")
		var v ops.ValidationResult
		if err := json.Unmarshal(res.Output, &v); err != nil {
			t.Fatal(err)
		}
		if v.Status != ops.StatusSuccess || res.DelegateName != c.wantDelegate {
			t.Fatalf("%s on %s: %s %+v %s", c.id, res.DelegateName, v.Status, v.Errors, res.Output)
		}
		t.Logf("%s: %s on %s, identity %+v", c.id, v.Status, res.DelegateName, v.Identity)
	}
	// The server itself refuses them (no managed identity there).
	no := connectorDoc("server_side", nil, system)
	no = []byte(strings.Replace(string(no), `"executeOnDelegate":true`, `"executeOnDelegate":false`, 1))
	if _, err := r.client.CreateConnector(context.Background(), no); err == nil {
		res, err := r.run(context.Background(), "server_side", ops.KindValidate, "")
		if err == nil && res.DelegateName == "" {
			t.Fatalf("an InheritFromDelegate connector ran in the server: %+v", res)
		}
	}
}

// TestScaleOut: two server replicas on one PostgreSQL database, ten
// delegates (five on each), many tasks submitted through both: each task
// runs exactly once, and tasks created through one replica run on
// delegates connected to the other. AZIMUTH_SCALE_TASKS sets the count
// (10000 for the check; 600 by default).
func TestScaleOut(t *testing.T) {
	n := 600
	if v := os.Getenv("AZIMUTH_SCALE_TASKS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			t.Fatalf("AZIMUTH_SCALE_TASKS=%q", v)
		}
	}
	dsn := testenv.Postgres(t)
	dir := t.TempDir()
	a := startServer(t, serverOpts{dataDir: dir, dbURL: dsn})
	b := startServer(t, serverOpts{dataDir: dir, dbURL: dsn, adminKey: a.key})
	tok := a.token(t, "fleet")
	var mu sync.Mutex
	runs := map[string]int{}
	ranOn := map[string]string{}
	counting := ops.Registry()
	counting[ops.KindDiagEcho] = func(ctx context.Context, env *ops.Env, in ops.Input) (any, error) {
		mu.Lock()
		runs[in.TaskID]++
		ranOn[in.TaskID] = env.DelegateID
		mu.Unlock()
		return ops.DiagEcho(ctx, env, in)
	}
	for i := range 10 {
		r := a
		if i%2 == 1 {
			r = b
		}
		startAgent(t, r.url, tok, fmt.Sprintf("d%02d-%s", i, map[bool]string{true: "a", false: "b"}[r == a]), []string{"fleet"}, 16, counting)
	}
	waitDelegates(t, a, 10)
	a.createConnector(t, connectorDoc("fleet", []string{"fleet"}, `{"type":"InheritFromDelegate","spec":{"auth":{"type":"SystemAssignedManagedIdentity","spec":{}}}}`))
	var wg sync.WaitGroup
	var failed atomic.Int64
	createdOn := make([]string, n)
	ids := make([]string, n)
	sem := make(chan struct{}, 64)
	start := time.Now()
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			r, name := a, "a"
			if i%2 == 1 {
				r, name = b, "b"
			}
			res, err := r.run(context.Background(), "fleet", ops.KindDiagEcho, `{}`)
			if err != nil || res.Status != task.Succeeded {
				failed.Add(1)
				if err == nil {
					err = fmt.Errorf("%s: %+v", res.Status, res.Error)
				}
				t.Errorf("task %d: %v", i, err)
				return
			}
			createdOn[i], ids[i] = name, res.TaskID
		}()
	}
	wg.Wait()
	took := time.Since(start)
	if failed.Load() > 0 {
		t.Fatalf("%d of %d tasks failed", failed.Load(), n)
	}
	cross := 0
	for i, id := range ids {
		if runs[id] != 1 {
			t.Fatalf("task %s ran %d times", id, runs[id])
		}
		if !strings.HasSuffix(ranOn[id], "-"+createdOn[i]) {
			cross++
		}
	}
	var rowsOnce, total int
	_ = a.srv.Store.DB().QueryRow(`SELECT COUNT(*) FROM tasks WHERE status = 'SUCCEEDED' AND attempts = 1`).Scan(&rowsOnce)
	_ = a.srv.Store.DB().QueryRow(`SELECT COUNT(*) FROM tasks`).Scan(&total)
	if rowsOnce != n || total != n || len(runs) != n {
		t.Fatalf("%d tasks, %d rows, %d succeeded at the first attempt, %d executions", n, total, rowsOnce, len(runs))
	}
	if cross == 0 {
		t.Fatal("no task created through one replica ran on a delegate of the other")
	}
	t.Logf("%d tasks through 2 replicas on 10 delegates in %s (%.0f/s); each ran once; %d ran on a delegate of the other replica", n, took, float64(n)/took.Seconds(), cross)
}

// TestScopes: a project delegate serves its project's connectors, not the
// account's; an account delegate serves both.
func TestScopes(t *testing.T) {
	r := startServer(t, serverOpts{})
	ctx := context.Background()
	if _, err := r.client.CreateProject(ctx, "default", client.ProjectInfo{OrgIdentifier: "default", Identifier: "p1", Name: "p1"}); err != nil {
		t.Fatal(err)
	}
	_, projTok, err := r.client.CreateDelegateToken(ctx, client.Scope{Org: "default", Project: "p1"}, "p1-token")
	if err != nil {
		t.Fatal(err)
	}
	startDelegate(t, r.url, projTok, "in-project", []string{"s"})
	waitDelegates(t, r, 1)
	cred := `{"type":"InheritFromDelegate","spec":{"auth":{"type":"SystemAssignedManagedIdentity","spec":{}}}}`
	projDoc := []byte(`{"connector":{"name":"pc","identifier":"pc","orgIdentifier":"default","projectIdentifier":"p1","type":"Azure","spec":{"credential":` + cred + `,"delegateSelectors":["s"],"executeOnDelegate":true}}}`)
	r.createConnector(t, projDoc)
	r.createConnector(t, connectorDoc("ac", []string{"s"}, cred))
	proj := scope.Scope{Account: account, Org: "default", Project: "p1"}
	res, err := r.runAt(ctx, proj, "pc", ops.KindDiagEcho, `{}`)
	res = mustSucceed(t, res, err)
	if res.DelegateName != "in-project" {
		t.Fatalf("project connector ran on %q", res.DelegateName)
	}
	_, err = r.run(ctx, "ac", ops.KindDiagEcho, `{}`)
	if fe, ok := failure.As(err); !ok || fe.Code != "NoDelegate" || !strings.Contains(err.Error(), "no delegate has registered at account acme") {
		t.Fatalf("an account connector with only a project delegate: %v", err)
	}
	startDelegate(t, r.url, r.token(t, "acc-token"), "in-account", []string{"s"})
	waitDelegates(t, r, 2)
	res = r.mustRun(t, "ac", ops.KindDiagEcho, `{}`)
	if res.DelegateName != "in-account" {
		t.Fatalf("account connector ran on %q", res.DelegateName)
	}
	tasks, err := r.client.ListTasks(ctx, client.Scope{Org: "default", Project: "p1"}, client.TaskFilter{}, client.ListOptions{})
	if err != nil || len(tasks.Content) != 1 || tasks.Content[0].DelegateName != "in-project" || tasks.Content[0].ConnectorIdentifier != "pc" {
		t.Fatalf("project's tasks: %+v %v", tasks, err)
	}
}

// TestTaskLogAfterSeq: GET /ng/api/azimuth/tasks/{id} with afterSeq
// returns only the lines after it, a page at a time (moreLogs says more
// follow), so a reader following a task never reads a line twice; a bad
// afterSeq is refused.
func TestTaskLogAfterSeq(t *testing.T) {
	// A lease long enough for ten thousand lines to be posted on a busy
	// machine under the race detector (the test is about the log).
	r := startServer(t, serverOpts{lease: 30 * time.Second})
	tok := r.token(t, "main")
	startAgent(t, r.url, tok, "runner", nil, 4, nil)
	waitDelegates(t, r, 1)
	if _, err := r.client.CreateTextSecret(context.Background(), client.Scope{}, client.SecretMeta{Identifier: "sp"}, []byte("demo-reader-secret-0001")); err != nil {
		t.Fatal(err)
	}
	r.createConnector(t, connectorDoc("echo", nil, secretCredential("account.sp")))
	const n = 10005 // more than a page
	res := r.mustRun(t, "echo", ops.KindDiagEcho, fmt.Sprintf(`{"message":"log","lines":%d}`, n))
	ctx := context.Background()
	first, err := r.client.GetTask(ctx, res.TaskID)
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Logs) != 10000 || !first.MoreLogs || first.Logs[0].Line != "log line 1" {
		t.Fatalf("first page: %d lines, moreLogs %v", len(first.Logs), first.MoreLogs)
	}
	last := first.Logs[len(first.Logs)-1].Seq
	rest, err := r.client.GetTaskAfter(ctx, res.TaskID, last)
	if err != nil {
		t.Fatal(err)
	}
	if len(rest.Logs) != n-10000 || rest.MoreLogs || rest.Logs[0].Line != "log line 10001" || rest.Logs[len(rest.Logs)-1].Line != fmt.Sprintf("log line %d", n) {
		t.Fatalf("after seq %d: %d lines, moreLogs %v: %+v", last, len(rest.Logs), rest.MoreLogs, rest.Logs)
	}
	none, err := r.client.GetTaskAfter(ctx, res.TaskID, rest.Logs[len(rest.Logs)-1].Seq)
	if err != nil || len(none.Logs) != 0 || none.MoreLogs || none.Status != "SUCCEEDED" {
		t.Fatalf("after the last line: %+v %v", none, err)
	}
	for _, bad := range []string{"-1", "x", "1.5"} {
		_, err := r.client.Do(ctx, client.Request{Method: http.MethodGet, Path: "/ng/api/azimuth/tasks/" + res.TaskID,
			Query: map[string][]string{"afterSeq": {bad}}}, nil)
		if client.KindOf(err) != failure.Invalid || !strings.Contains(err.Error(), "afterSeq") {
			t.Errorf("afterSeq=%s: %v", bad, err)
		}
	}
}
