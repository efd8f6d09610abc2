package delegate_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/azimuthcd/azimuth/internal/access"
	"github.com/azimuthcd/azimuth/internal/connector"
	"github.com/azimuthcd/azimuth/internal/delegate"
	"github.com/azimuthcd/azimuth/internal/failure"
	"github.com/azimuthcd/azimuth/internal/ops"
	"github.com/azimuthcd/azimuth/internal/protocol"
	"github.com/azimuthcd/azimuth/internal/scope"
	"github.com/azimuthcd/azimuth/internal/secret"
	"github.com/azimuthcd/azimuth/internal/service"
	"github.com/azimuthcd/azimuth/internal/store"
	"github.com/azimuthcd/azimuth/internal/store/sqlstore"
	"github.com/azimuthcd/azimuth/internal/task"
	"github.com/azimuthcd/azimuth/internal/testenv"
)

const planted = "planted-delegate-secret-7f3a9c"

// resolver is a function-field fake of the secrets service.
type resolver struct{ value string }

func (r resolver) Resolve(ctx context.Context, p access.Principal, owner scope.Scope, uses []connector.SecretUse) ([]service.Resolved, error) {
	out := make([]service.Resolved, 0, len(uses))
	for _, u := range uses {
		out = append(out, service.Resolved{Use: u, Value: secret.NewValue([]byte(r.value))})
	}
	return out, nil
}

type fixture struct {
	st    *sqlstore.Store
	hub   *delegate.Hub
	srv   *httptest.Server
	acc   scope.Scope
	ended chan struct{} // of the last agent started
	down  atomic.Bool   // the server answers 502 to everything
	// intercept, if set, sees every call first; true means it answered.
	intercept atomic.Pointer[func(w http.ResponseWriter, r *http.Request) bool]
	polls     atomic.Int64 // polls being served now
}

// dialects are the stores the hub's tests run on.
var dialects = []string{"sqlite", "postgres"}

func newFixture(t *testing.T, o delegate.HubOptions, with ...func(*sqlstore.Store, *delegate.HubOptions)) *fixture {
	t.Helper()
	return newFixtureOn(t, "sqlite", o, with...)
}

// newFixtureOn is newFixture on SQLite or a fresh PostgreSQL database.
func newFixtureOn(t *testing.T, dialect string, o delegate.HubOptions, with ...func(*sqlstore.Store, *delegate.HubOptions)) *fixture {
	t.Helper()
	url := filepath.Join(t.TempDir(), "a.db")
	if dialect == "postgres" {
		url = testenv.Postgres(t)
	}
	st, err := sqlstore.Open(context.Background(), sqlstore.Options{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	acc := scope.Scope{Account: "acme"}
	if err := st.CreateAccount(context.Background(), store.Account{Identifier: "acme", Name: "acme", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	o.Store, o.Secrets = st, resolver{planted}
	for _, w := range with {
		w(st, &o)
	}
	if o.Lease == 0 {
		o.Lease = 3 * time.Second
	}
	if o.Heartbeat == 0 {
		o.Heartbeat = time.Second
	}
	if o.PollTimeout == 0 {
		o.PollTimeout = 2 * time.Second
	}
	hub := delegate.NewHub(o)
	mux := http.NewServeMux()
	mux.HandleFunc(protocol.Base+"/", hub.ServeProtocol)
	f := &fixture{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.down.Load() {
			http.Error(w, "away", http.StatusBadGateway)
			return
		}
		if fn := f.intercept.Load(); fn != nil && (*fn)(w, r) {
			return
		}
		if r.URL.Path == protocol.PathPoll {
			f.polls.Add(1)
			defer f.polls.Add(-1)
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() { _ = hub.RunExpiry(ctx, 200*time.Millisecond) }()
	f.st, f.hub, f.srv, f.acc = st, hub, srv, acc
	return f
}

func (f *fixture) token(t *testing.T, sc scope.Scope, name string) string {
	t.Helper()
	_, tok, err := f.hub.CreateToken(context.Background(), access.System("test"), sc, name)
	if err != nil {
		t.Fatal(err)
	}
	return tok.Reveal()
}

// agent starts an agent and returns a stop function that waits for it.
func (f *fixture) agent(t *testing.T, token, name string, tags ...string) (*delegate.Agent, func() error) {
	t.Helper()
	return f.agentWith(t, delegate.AgentOptions{Server: f.srv.URL, Token: token, Name: name, Tags: tags, Concurrency: 4,
		Env: ops.NewEnv(nil, nil, name), StopGrace: 2 * time.Second})
}

func (f *fixture) agentWith(t *testing.T, o delegate.AgentOptions) (*delegate.Agent, func() error) {
	t.Helper()
	a, err := delegate.NewAgent(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ended := make(chan struct{})
	var rerr error
	go func() { rerr = a.Run(ctx); close(ended) }()
	var once sync.Once
	stop := func() error {
		once.Do(func() { cancel(); <-ended })
		return rerr
	}
	f.ended = ended
	t.Cleanup(func() { _ = stop() })
	if !f.down.Load() {
		waitFor(t, func() bool { return a.ID() != "" })
	}
	return a, stop
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 20 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func echoSpec(sc scope.Scope, sels []string, params string) task.Spec {
	c := &connector.Connector{Name: "c", Identifier: "conn", Type: connector.TypeAzure, Spec: &connector.AzureSpec{
		DelegateSelectors: sels,
		Credential: &connector.Credential{Type: connector.CredentialManual, Manual: &connector.ManualSpec{
			ApplicationID: "app", TenantID: "tenant", Auth: &connector.ManualAuth{Type: connector.AuthSecret, SecretRef: "account.sp"}}}}}
	return task.Spec{Kind: ops.KindDiagEcho, Scope: sc, Connector: c, Params: json.RawMessage(params), Timeout: 20 * time.Second}
}

func TestSelectorsAndMasking(t *testing.T) {
	f := newFixture(t, delegate.HubOptions{})
	tok := f.token(t, f.acc, "main")
	f.agent(t, tok, "plain")
	f.agent(t, tok, "tagged", "X", "vm")
	for range 5 {
		res, err := f.hub.Dispatch(context.Background(), echoSpec(f.acc, []string{"x"}, `{"message":"hi","lines":3,"echoSecrets":true}`), "tsk_"+time.Now().Format("150405.000000000"), 20*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != task.Succeeded || res.DelegateName != "tagged" {
			t.Fatalf("result %+v %v", res, res.Error)
		}
		tk, logs, err := f.hub.GetTask(context.Background(), access.System("t"), res.TaskID)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(tk)
		all := string(b) + string(res.Output)
		for _, l := range logs {
			all += l.Line + "\n"
		}
		if strings.Contains(all, planted) || strings.Contains(all, "cGxhbnRlZC1kZWxlZ2F0ZS1zZWNyZXQtN2YzYTlj") {
			t.Fatalf("planted secret leaked: %s", all)
		}
		if len(logs) < 6 || !strings.Contains(all, "**************") {
			t.Fatalf("logs not shipped or not masked: %v", logs)
		}
	}
}

func TestNoEligibleDelegate(t *testing.T) {
	f := newFixture(t, delegate.HubOptions{})
	tok := f.token(t, f.acc, "main")
	f.agent(t, tok, "plain", "a")
	start := time.Now()
	_, err := f.hub.Dispatch(context.Background(), echoSpec(f.acc, []string{"gpu", "x"}, `{}`), "tsk_none", 20*time.Second)
	fe, ok := failure.As(err)
	if !ok || fe.Code != "NoDelegate" || !strings.Contains(err.Error(), "[gpu, x]") || !strings.Contains(err.Error(), "plain") {
		t.Fatalf("err = %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("took %s", time.Since(start))
	}
}

func TestRevokedToken(t *testing.T) {
	f := newFixture(t, delegate.HubOptions{})
	tok := f.token(t, f.acc, "main")
	_, stop := f.agent(t, tok, "one")
	id, _, _ := delegate.ParseToken(tok)
	if _, err := f.hub.RevokeToken(context.Background(), access.System("t"), id); err != nil {
		t.Fatal(err)
	}
	select {
	case <-f.ended:
	case <-time.After(20 * time.Second):
		t.Fatal("the agent did not stop after its token was revoked")
	}
	err := stop()
	if !errors.Is(err, delegate.ErrStopped) || !strings.Contains(err.Error(), protocol.CodeTokenRevoked) {
		t.Fatalf("agent ended with %v", err)
	}
	a, _ := delegate.NewAgent(delegate.AgentOptions{Server: f.srv.URL, Token: tok, Name: "two", Env: ops.NewEnv(nil, nil, "")})
	if err := a.Run(context.Background()); !errors.Is(err, delegate.ErrStopped) {
		t.Fatalf("new agent with a revoked token: %v", err)
	}
}

// TestAbruptStop: a delegate that vanishes mid-task (no goodbye, no
// result) loses its lease; the task completes on another delegate.
func TestAbruptStop(t *testing.T) {
	f := newFixture(t, delegate.HubOptions{Lease: time.Second})
	tok := f.token(t, f.acc, "main")
	// A fake delegate that claims and then dies: it registers and polls by
	// hand and never extends.
	reg := rawCall(t, f.srv.URL, tok, "", protocol.PathRegister, protocol.RegisterRequest{Name: "doomed", Concurrency: 1})
	var rr protocol.RegisterResponse
	_ = json.Unmarshal(reg, &rr)
	spec := echoSpec(f.acc, nil, `{"message":"survives"}`)
	spec.Kind = ops.KindDiagSleep
	spec.Params = json.RawMessage(`{"millis":10,"message":"survives"}`)
	resc := make(chan *task.Result, 1)
	go func() {
		res, err := f.hub.Dispatch(context.Background(), spec, "tsk_abrupt", 30*time.Second)
		if err != nil {
			t.Error(err)
		}
		resc <- res
	}()
	var pr protocol.PollResponse
	waitFor(t, func() bool {
		_ = json.Unmarshal(rawCall(t, f.srv.URL, tok, rr.DelegateID, protocol.PathPoll, protocol.PollRequest{Max: 1}), &pr)
		return len(pr.Tasks) == 1
	})
	if len(pr.Tasks[0].Secrets) != 1 || string(pr.Tasks[0].Secrets[0].Value()) != planted {
		t.Fatalf("the claiming delegate did not get the secret: %v", pr.Tasks[0].Secrets)
	}
	f.agent(t, tok, "survivor")
	res := <-resc
	if res.Status != task.Succeeded || res.DelegateName != "survivor" {
		t.Fatalf("result %+v %v", res, res.Error)
	}
	tk, _, _ := f.hub.GetTask(context.Background(), access.System("t"), "tsk_abrupt")
	if tk.Attempts != 2 || !strings.Contains(tk.Note, "doomed") {
		t.Fatalf("task %+v", tk)
	}
}

func rawCall(t *testing.T, base, tok, id, path string, in any) []byte {
	t.Helper()
	b, _ := json.Marshal(in)
	req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(string(b)))
	req.Header.Set("Authorization", "Bearer "+tok)
	if id != "" {
		req.Header.Set(protocol.HeaderDelegate, id)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out json.RawMessage
	_ = json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != 200 {
		t.Fatalf("%s: %d %s", path, resp.StatusCode, out)
	}
	return out
}

func sleepSpec(sc scope.Scope, millis int) task.Spec {
	s := echoSpec(sc, nil, fmt.Sprintf(`{"millis":%d}`, millis))
	s.Kind = ops.KindDiagSleep
	return s
}

// TestStrandedTask: the only delegate vanishes mid-task; the task fails
// once its lease runs out, with an error naming the delegate, instead of
// waiting for its deadline.
func TestStrandedTask(t *testing.T) {
	f := newFixture(t, delegate.HubOptions{Lease: time.Second})
	tok := f.token(t, f.acc, "main")
	var rr protocol.RegisterResponse
	_ = json.Unmarshal(rawCall(t, f.srv.URL, tok, "", protocol.PathRegister, protocol.RegisterRequest{Name: "doomed", Concurrency: 1}), &rr)
	errc := make(chan *task.Result, 1)
	start := time.Now()
	go func() {
		res, err := f.hub.Dispatch(context.Background(), sleepSpec(f.acc, 10), "tsk_stranded", time.Minute)
		if err != nil {
			t.Error(err)
		}
		errc <- res
	}()
	waitFor(t, func() bool {
		var pr protocol.PollResponse
		_ = json.Unmarshal(rawCall(t, f.srv.URL, tok, rr.DelegateID, protocol.PathPoll, protocol.PollRequest{Max: 1}), &pr)
		return len(pr.Tasks) == 1
	})
	res := <-errc
	if res == nil || res.Status != task.Failed || res.Error == nil || res.Error.Reason != "DelegateLost" || !strings.Contains(res.Error.Message, "doomed") {
		t.Fatalf("result %+v", res)
	}
	t.Logf("failed after %s: %s", time.Since(start), res.Error.Message)
	if time.Since(start) > 20*time.Second {
		t.Fatalf("took %s", time.Since(start))
	}
}

// TestStopHandsBack: a stopping delegate whose task outlasts the grace
// hands it back; another delegate runs it.
func TestStopHandsBack(t *testing.T) {
	f := newFixture(t, delegate.HubOptions{})
	tok := f.token(t, f.acc, "main")
	a, stop := f.agentWith(t, delegate.AgentOptions{Server: f.srv.URL, Token: tok, Name: "leaving", Concurrency: 2,
		Env: ops.NewEnv(nil, nil, "leaving"), StopGrace: 200 * time.Millisecond})
	resc := make(chan *task.Result, 1)
	go func() {
		res, err := f.hub.Dispatch(context.Background(), sleepSpec(f.acc, 1500), "tsk_handback", time.Minute)
		if err != nil {
			t.Error(err)
		}
		resc <- res
	}()
	// Running on the delegate, not only claimed: a stop while the poll's
	// answer is on its way loses it (the lease then runs out).
	waitFor(t, func() bool {
		tk, err := f.st.GetTask(context.Background(), "tsk_handback")
		return err == nil && tk.Status == store.TaskRunning && a.Running() == 1
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	tk, _ := f.st.GetTask(context.Background(), "tsk_handback")
	if tk.Status != store.TaskQueued || !strings.Contains(tk.Note, "handed it back") {
		t.Fatalf("after the stop: %+v", tk)
	}
	f.agent(t, tok, "staying")
	res := <-resc
	if res.Status != task.Succeeded || res.DelegateName != "staying" {
		t.Fatalf("result %+v", res)
	}
}

// TestStopFinishes: a stopping delegate finishes a task that ends within
// the grace.
func TestStopFinishes(t *testing.T) {
	f := newFixture(t, delegate.HubOptions{})
	tok := f.token(t, f.acc, "main")
	a, stop := f.agentWith(t, delegate.AgentOptions{Server: f.srv.URL, Token: tok, Name: "leaving", Concurrency: 2,
		Env: ops.NewEnv(nil, nil, "leaving"), StopGrace: 10 * time.Second})
	resc := make(chan *task.Result, 1)
	go func() {
		res, _ := f.hub.Dispatch(context.Background(), sleepSpec(f.acc, 500), "tsk_finish", time.Minute)
		resc <- res
	}()
	// Running on the delegate, not only claimed: a stop while the poll's
	// answer is on its way loses it (the lease then runs out).
	waitFor(t, func() bool {
		tk, err := f.st.GetTask(context.Background(), "tsk_finish")
		return err == nil && tk.Status == store.TaskRunning && a.Running() == 1
	})
	_ = stop()
	res := <-resc
	if res == nil || res.Status != task.Succeeded || res.DelegateName != "leaving" {
		t.Fatalf("result %+v", res)
	}
}

// TestCancel: the caller going away cancels the task on its delegate.
func TestCancel(t *testing.T) {
	f := newFixture(t, delegate.HubOptions{Lease: 900 * time.Millisecond})
	tok := f.token(t, f.acc, "main")
	f.agent(t, tok, "worker")
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		waitFor(t, func() bool {
			tk, err := f.st.GetTask(context.Background(), "tsk_cancel")
			return err == nil && tk.Status == store.TaskRunning
		})
		cancel()
	}()
	_, err := f.hub.Dispatch(ctx, sleepSpec(f.acc, 30000), "tsk_cancel", time.Minute)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	waitFor(t, func() bool {
		tk, _ := f.st.GetTask(context.Background(), "tsk_cancel")
		return tk.Status == store.TaskCancelled
	})
}

// TestReconnect: a delegate started while the server is away registers
// when it comes back, and one that loses the server mid-run reconnects.
func TestReconnect(t *testing.T) {
	f := newFixture(t, delegate.HubOptions{})
	tok := f.token(t, f.acc, "main")
	f.down.Store(true)
	a, _ := f.agentWith(t, delegate.AgentOptions{Server: f.srv.URL, Token: tok, Name: "patient", Env: ops.NewEnv(nil, nil, "patient"),
		MaxBackoff: 300 * time.Millisecond})
	time.Sleep(500 * time.Millisecond)
	if a.ID() != "" {
		t.Fatal("registered with a server that is away")
	}
	f.down.Store(false)
	waitFor(t, func() bool { return a.ID() != "" })
	f.down.Store(true)
	time.Sleep(time.Second)
	f.down.Store(false)
	res, err := f.hub.Dispatch(context.Background(), sleepSpec(f.acc, 10), "tsk_after_outage", 30*time.Second)
	if err != nil || res.Status != task.Succeeded || res.DelegateName != "patient" {
		t.Fatalf("after the outage: %+v %v", res, err)
	}
}

// TestRevokeHandsTasksOn: a revoked token's delegate stops its task at its
// next contact; the task goes to a delegate of another token when the
// lease runs out (not before: the two never run it at once).
func TestRevokeHandsTasksOn(t *testing.T) {
	f := newFixture(t, delegate.HubOptions{Lease: 2 * time.Second})
	bad := f.token(t, f.acc, "bad")
	good := f.token(t, f.acc, "good")
	f.agent(t, bad, "compromised")
	resc := make(chan *task.Result, 1)
	go func() {
		res, err := f.hub.Dispatch(context.Background(), sleepSpec(f.acc, 1500), "tsk_revoke", time.Minute)
		if err != nil {
			t.Error(err)
		}
		resc <- res
	}()
	waitFor(t, func() bool {
		tk, err := f.st.GetTask(context.Background(), "tsk_revoke")
		return err == nil && tk.Status == store.TaskRunning
	})
	id, _, _ := delegate.ParseToken(bad)
	if _, err := f.hub.RevokeToken(context.Background(), access.System("t"), id); err != nil {
		t.Fatal(err)
	}
	f.agent(t, good, "trusted")
	res := <-resc
	if res.Status != task.Succeeded || res.DelegateName != "trusted" {
		t.Fatalf("result %+v %v", res, res.Error)
	}
}

// rawStatus is rawCall that returns the status and body.
func rawStatus(t *testing.T, base, tok, id, path string, in any) (int, protocol.ErrorBody) {
	t.Helper()
	b, _ := json.Marshal(in)
	req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(string(b)))
	req.Header.Set("Authorization", "Bearer "+tok)
	if id != "" {
		req.Header.Set(protocol.HeaderDelegate, id)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e protocol.ErrorBody
	_ = json.NewDecoder(resp.Body).Decode(&e)
	return resp.StatusCode, e
}

// TestOtherDelegatesTask: a delegate cannot extend, log to or post the
// result of a task another delegate holds, cannot pose as another
// delegate, and a bad token is refused with a code.
func TestOtherDelegatesTask(t *testing.T) {
	f := newFixture(t, delegate.HubOptions{Lease: 30 * time.Second})
	tok := f.token(t, f.acc, "main")
	other := f.token(t, f.acc, "other")
	reg := func(tok, name string) string {
		var rr protocol.RegisterResponse
		_ = json.Unmarshal(rawCall(t, f.srv.URL, tok, "", protocol.PathRegister, protocol.RegisterRequest{Name: name, Concurrency: 1}), &rr)
		return rr.DelegateID
	}
	a, b, c := reg(tok, "a"), reg(tok, "b"), reg(other, "c")
	go func() { _, _ = f.hub.Dispatch(context.Background(), sleepSpec(f.acc, 10), "tsk_held", time.Minute) }()
	var pr protocol.PollResponse
	waitFor(t, func() bool {
		_ = json.Unmarshal(rawCall(t, f.srv.URL, tok, a, protocol.PathPoll, protocol.PollRequest{Max: 1}), &pr)
		return len(pr.Tasks) == 1
	})
	id := pr.Tasks[0].ID
	for _, call := range []struct {
		path string
		body any
	}{
		{strings.Replace(protocol.PathExtend, "{id}", id, 1), struct{}{}},
		{strings.Replace(protocol.PathLogs, "{id}", id, 1), protocol.LogsRequest{Lines: []protocol.LogLine{{Seq: 1, Line: "forged"}}}},
		{strings.Replace(protocol.PathResult, "{id}", id, 1), protocol.ResultRequest{Result: task.Result{Status: task.Succeeded}}},
		{strings.Replace(protocol.PathRelease, "{id}", id, 1), protocol.ReleaseRequest{Reason: "forged"}},
	} {
		if st, e := rawStatus(t, f.srv.URL, tok, b, call.path, call.body); st != http.StatusConflict || e.Code != protocol.CodeLeaseLost {
			t.Errorf("%s by another delegate: %d %+v", call.path, st, e)
		}
	}
	// c's token cannot speak for a.
	if st, e := rawStatus(t, f.srv.URL, other, a, protocol.PathHeartbeat, protocol.HeartbeatRequest{}); st != http.StatusConflict || e.Code != protocol.CodeUnknownDelegate {
		t.Errorf("posing as another token's delegate: %d %+v", st, e)
	}
	_ = c
	if st, e := rawStatus(t, f.srv.URL, tok[:len(tok)-2]+"xx", a, protocol.PathHeartbeat, protocol.HeartbeatRequest{}); st != http.StatusUnauthorized || e.Code != protocol.CodeUnauthenticated {
		t.Errorf("a wrong token: %d %+v", st, e)
	}
	if st, e := rawStatus(t, f.srv.URL, "", a, protocol.PathPoll, protocol.PollRequest{}); st != http.StatusUnauthorized || e.Code != protocol.CodeUnauthenticated {
		t.Errorf("no token: %d %+v", st, e)
	}
	if tk, _ := f.st.GetTask(context.Background(), id); tk.Status != store.TaskRunning || tk.DelegateID != a {
		t.Fatalf("the held task changed: %+v", tk)
	}
}

// TestRestartKeepsIdentity: a delegate that restarts under the same name
// and token gets its old id back once the old one is gone; a second live
// one with the same name gets its own.
func TestRestartKeepsIdentity(t *testing.T) {
	f := newFixture(t, delegate.HubOptions{})
	tok := f.token(t, f.acc, "main")
	a, stop := f.agent(t, tok, "vm")
	first := a.ID()
	b, _ := f.agent(t, tok, "vm")
	if b.ID() == first {
		t.Fatal("two live delegates share an id")
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	c, _ := f.agent(t, tok, "vm")
	if c.ID() != first {
		t.Fatalf("restarted delegate got %s, not its old id %s", c.ID(), first)
	}
	l, _ := f.hub.ListDelegates(context.Background(), access.System("t"), f.acc)
	if len(l) != 2 {
		t.Fatalf("%d delegates listed", len(l))
	}
}

// TestOutputSealed: a task's output travels back to the caller intact but
// is stored encrypted while it waits for the caller, bound to its task:
// two sealings of the same output differ; once the caller has read it the
// row keeps none.
func TestOutputSealed(t *testing.T) {
	canary := "output-canary-5d1e9b"
	var finished recordedOutputs
	f := newFixture(t, delegate.HubOptions{}, func(st *sqlstore.Store, o *delegate.HubOptions) {
		m, err := secret.GenerateMasterKey()
		if err != nil {
			t.Fatal(err)
		}
		kr, err := secret.OpenKeyring(context.Background(), m, st)
		if err != nil {
			t.Fatal(err)
		}
		o.Sealer = kr
		o.Store = &outputRecorder{Store: st, rec: &finished}
	})
	tok := f.token(t, f.acc, "main")
	f.agent(t, tok, "d1")
	var ids []string
	for range 2 {
		res, err := f.hub.Dispatch(context.Background(), echoSpec(f.acc, nil, `{"message":"`+canary+`"}`), "tsk_"+time.Now().Format("150405.000000000"), 20*time.Second)
		if err != nil || res.Status != task.Succeeded || !strings.Contains(string(res.Output), canary) {
			t.Fatalf("result %+v %v", res, err)
		}
		stored := finished.get(res.TaskID)
		if strings.Contains(string(stored), canary) || !strings.HasPrefix(string(stored), "enc1:") {
			t.Fatalf("output stored in plaintext: %s", stored)
		}
		row, err := f.st.GetTask(context.Background(), res.TaskID)
		if err != nil {
			t.Fatal(err)
		}
		if len(row.Output) != 0 || row.Status != store.TaskSucceeded || row.FinishedAt.IsZero() {
			t.Fatalf("the row after the caller read its output: %+v", row)
		}
		ids = append(ids, res.TaskID)
	}
	if string(finished.get(ids[0])) == string(finished.get(ids[1])) {
		t.Fatal("two sealings of the same output are identical: no fresh nonce")
	}
}

// recordedOutputs are the outputs FinishTask stored, by task.
type recordedOutputs struct {
	mu  sync.Mutex
	out map[string][]byte
}

func (r *recordedOutputs) get(id string) []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.out[id]
}

// outputRecorder is the store, noting the output each FinishTask stores.
type outputRecorder struct {
	delegate.Store
	rec *recordedOutputs
}

func (s *outputRecorder) FinishTask(ctx context.Context, id, delegateID string, t store.Task) error {
	s.rec.mu.Lock()
	if s.rec.out == nil {
		s.rec.out = map[string][]byte{}
	}
	s.rec.out[id] = append([]byte(nil), t.Output...)
	s.rec.mu.Unlock()
	return s.Store.FinishTask(ctx, id, delegateID, t)
}
