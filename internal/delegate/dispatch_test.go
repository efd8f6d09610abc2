package delegate_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
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
)

// register registers a delegate by hand (a stand-in for one that claims
// and then does whatever the test needs) and returns its id.
func register(t *testing.T, f *fixture, tok, name string, concurrency int, caps protocol.Capabilities, tags ...string) string {
	t.Helper()
	var rr protocol.RegisterResponse
	if err := json.Unmarshal(rawCall(t, f.srv.URL, tok, "", protocol.PathRegister,
		protocol.RegisterRequest{Name: name, Tags: tags, Concurrency: concurrency, Capabilities: caps}), &rr); err != nil {
		t.Fatal(err)
	}
	return rr.DelegateID
}

// pollOnce is one poll by hand: its status, the tasks, the error body.
func pollOnce(ctx context.Context, f *fixture, tok, id string, max int) (int, protocol.PollResponse, protocol.ErrorBody, error) {
	b, _ := json.Marshal(protocol.PollRequest{Max: max})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, f.srv.URL+protocol.PathPoll, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set(protocol.HeaderDelegate, id)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, protocol.PollResponse{}, protocol.ErrorBody{}, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var pr protocol.PollResponse
	var eb protocol.ErrorBody
	if resp.StatusCode == http.StatusOK {
		err = json.Unmarshal(body, &pr)
	} else {
		err = json.Unmarshal(body, &eb)
	}
	return resp.StatusCode, pr, eb, err
}

type outcome struct {
	res *task.Result
	err error
}

// dispatch runs Dispatch in the background.
func dispatch(f *fixture, ctx context.Context, spec task.Spec, id string, timeout time.Duration) <-chan outcome {
	c := make(chan outcome, 1)
	go func() {
		res, err := f.hub.Dispatch(ctx, spec, id, timeout)
		c <- outcome{res, err}
	}()
	return c
}

func waitOutcome(t *testing.T, c <-chan outcome) outcome {
	t.Helper()
	select {
	case o := <-c:
		return o
	case <-time.After(30 * time.Second):
		t.Fatal("the dispatch did not end in 30 s")
		return outcome{}
	}
}

func waitStatus(t *testing.T, f *fixture, id string, statuses ...string) store.Task {
	t.Helper()
	var tk store.Task
	waitFor(t, func() bool {
		var err error
		tk, err = f.st.GetTask(context.Background(), id)
		return err == nil && (len(statuses) == 0 || strings.Contains(strings.Join(statuses, ","), tk.Status))
	})
	return tk
}

// clock is a settable clock for the hub.
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

// TestRevokeEndsOpenPoll: revoking a token ends its delegate's open
// long-poll at once with the revoked code, its delegates no longer count
// as eligible, and the open poll never gets a task (nor its secrets)
// queued after the revocation; a delegate of another token does.
func TestRevokeEndsOpenPoll(t *testing.T) {
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			f := newFixtureOn(t, dialect, delegate.HubOptions{PollTimeout: 20 * time.Second})
			bad, good := f.token(t, f.acc, "bad"), f.token(t, f.acc, "good")
			a := register(t, f, bad, "compromised", 4, protocol.Capabilities{})
			type polled struct {
				status int
				pr     protocol.PollResponse
				eb     protocol.ErrorBody
			}
			pc := make(chan polled, 1)
			go func() {
				st, pr, eb, _ := pollOnce(context.Background(), f, bad, a, 4)
				pc <- polled{st, pr, eb}
			}()
			waitFor(t, func() bool { return f.polls.Load() == 1 })
			id, _, _ := delegate.ParseToken(bad)
			if _, err := f.hub.RevokeToken(context.Background(), access.System("t"), id); err != nil {
				t.Fatal(err)
			}
			// Its delegate no longer counts: with no other, a dispatch
			// fails at once.
			_, err := f.hub.Dispatch(context.Background(), echoSpec(f.acc, nil, `{}`), "tsk_revoked_none", 20*time.Second)
			if fe, ok := failure.As(err); !ok || fe.Code != "NoDelegate" {
				t.Fatalf("dispatch with only a revoked delegate: %v", err)
			}
			b := register(t, f, good, "trusted", 4, protocol.Capabilities{})
			out := dispatch(f, context.Background(), echoSpec(f.acc, nil, `{}`), "tsk_after_revoke", 20*time.Second)
			waitStatus(t, f, "tsk_after_revoke", store.TaskQueued, store.TaskRunning)
			var p polled
			select {
			case p = <-pc:
			case <-time.After(15 * time.Second):
				t.Fatal("the revoked token's open poll was not ended")
			}
			if p.status != http.StatusForbidden || p.eb.Code != protocol.CodeTokenRevoked || len(p.pr.Tasks) != 0 {
				t.Fatalf("the revoked token's open poll ended with %d %+v %+v", p.status, p.eb, p.pr)
			}
			st, pr, _, err := pollOnce(context.Background(), f, good, b, 4)
			if err != nil || st != http.StatusOK || len(pr.Tasks) != 1 || pr.Tasks[0].ID != "tsk_after_revoke" {
				t.Fatalf("the other token's delegate: %d %+v %v", st, pr, err)
			}
			rawCall(t, f.srv.URL, good, b, strings.Replace(protocol.PathResult, "{id}", "tsk_after_revoke", 1),
				protocol.ResultRequest{Result: task.Result{Status: task.Succeeded}})
			if o := waitOutcome(t, out); o.err != nil || o.res.DelegateName != "trusted" {
				t.Fatalf("result %+v %v", o.res, o.err)
			}
			l, _ := f.hub.ListDelegates(context.Background(), access.System("t"), f.acc)
			for _, d := range l {
				if d.Name == "compromised" && d.Connected {
					t.Error("the revoked token's delegate is still listed as connected")
				}
			}
		})
	}
}

// TestOfferSendsRemainingLease: the lease started when the server claimed
// the task; a poll answer sent after slow secret resolution gives the time
// left of it, and its end counted from the poll's arrival.
func TestOfferSendsRemainingLease(t *testing.T) {
	clk := &clock{}
	const lease = 10 * time.Second
	f := newFixture(t, delegate.HubOptions{Lease: lease, Now: clk.now}, func(_ *sqlstore.Store, o *delegate.HubOptions) {
		o.Secrets = resolverFunc(func(ctx context.Context) (string, error) {
			clk.advance(4 * time.Second) // resolving takes 4 s of the lease
			return planted, nil
		})
	})
	tok := f.token(t, f.acc, "main")
	id := register(t, f, tok, "one", 1, protocol.Capabilities{})
	dispatch(f, context.Background(), echoSpec(f.acc, nil, `{}`), "tsk_lease", time.Minute)
	waitStatus(t, f, "tsk_lease", store.TaskQueued)
	_, pr, eb, err := pollOnce(context.Background(), f, tok, id, 1)
	if err != nil || len(pr.Tasks) != 1 {
		t.Fatalf("poll: %+v %+v %v", pr, eb, err)
	}
	got := pr.Tasks[0]
	if left := protocol.Duration(got.LeaseMillis); left > lease-4*time.Second+time.Second || left <= 0 {
		t.Errorf("LeaseMillis = %s: not what is left of a %s lease after 4 s of secret resolution", left, lease)
	}
	if end := protocol.Duration(got.LeaseEndMillis); end < lease-10*time.Millisecond || end > lease+2*time.Second {
		t.Errorf("LeaseEndMillis = %s, want the lease counted from the poll's arrival (%s and the claim's wait)", end, lease)
	}
}

func base64Std(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// TestLateOfferHandedBack: a task whose secrets took most of its lease is
// not sent (its delegate could not start it safely): it goes back to the
// queue without using an attempt, and the next poll gets it.
func TestLateOfferHandedBack(t *testing.T) {
	clk := &clock{}
	var calls atomic.Int64
	f := newFixture(t, delegate.HubOptions{Lease: 10 * time.Second, Now: clk.now}, func(_ *sqlstore.Store, o *delegate.HubOptions) {
		o.Secrets = resolverFunc(func(ctx context.Context) (string, error) {
			if calls.Add(1) == 1 {
				clk.advance(9 * time.Second)
			}
			return planted, nil
		})
	})
	tok := f.token(t, f.acc, "main")
	id := register(t, f, tok, "one", 1, protocol.Capabilities{})
	dispatch(f, context.Background(), echoSpec(f.acc, nil, `{}`), "tsk_late", time.Minute)
	waitStatus(t, f, "tsk_late", store.TaskQueued)
	_, pr, eb, err := pollOnce(context.Background(), f, tok, id, 1)
	if err != nil || len(pr.Tasks) != 1 || pr.Tasks[0].Attempt != 1 {
		t.Fatalf("poll: %+v %+v %v", pr, eb, err)
	}
	if left := protocol.Duration(pr.Tasks[0].LeaseMillis); left < 5*time.Second {
		t.Errorf("delivered with %s of its lease left", left)
	}
	if tk, _ := f.st.GetTask(context.Background(), "tsk_late"); !strings.Contains(tk.Note, "most of its lease") || calls.Load() != 2 {
		t.Fatalf("task %+v, %d resolutions", tk, calls.Load())
	}
}

// resolverFunc resolves every secret use to what fn returns.
type resolverFunc func(ctx context.Context) (string, error)

func (fn resolverFunc) Resolve(ctx context.Context, p access.Principal, owner scope.Scope, uses []connector.SecretUse) ([]service.Resolved, error) {
	v, err := fn(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]service.Resolved, 0, len(uses))
	for _, u := range uses {
		out = append(out, service.Resolved{Use: u, Value: secret.NewValue([]byte(v))})
	}
	return out, nil
}

// TestCancelledTaskNotRerun: a task cancelled while its delegate runs it,
// whose delegate then dies (the lease runs out with an attempt left), ends
// CANCELLED; it is not queued again, and the live delegate never runs it.
func TestCancelledTaskNotRerun(t *testing.T) {
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			f := newFixtureOn(t, dialect, delegate.HubOptions{Lease: time.Second})
			tok := f.token(t, f.acc, "main")
			doomed := register(t, f, tok, "doomed", 1, protocol.Capabilities{})
			var ran atomic.Int64
			execs := ops.Registry()
			execs[ops.KindDiagSleep] = func(ctx context.Context, env *ops.Env, in ops.Input) (any, error) {
				ran.Add(1)
				return ops.DiagSleep(ctx, env, in)
			}
			ctx, cancel := context.WithCancel(context.Background())
			out := dispatch(f, ctx, sleepSpec(f.acc, 10), "tsk_cancel_dead", time.Minute)
			waitStatus(t, f, "tsk_cancel_dead", store.TaskQueued)
			if _, pr, _, err := pollOnce(context.Background(), f, tok, doomed, 1); err != nil || len(pr.Tasks) != 1 {
				t.Fatalf("doomed's poll: %+v %v", pr, err)
			}
			cancel() // the caller goes away: cancellation is asked for
			if o := waitOutcome(t, out); !errors.Is(o.err, context.Canceled) {
				t.Fatalf("dispatch: %+v %v", o.res, o.err)
			}
			f.agentWith(t, delegate.AgentOptions{Server: f.srv.URL, Token: tok, Name: "alive", Concurrency: 2, Executors: execs,
				Env: ops.NewEnv(nil, nil, "alive")})
			tk := waitStatus(t, f, "tsk_cancel_dead", store.TaskCancelled, store.TaskSucceeded, store.TaskFailed)
			if tk.Status != store.TaskCancelled || tk.Attempts != 1 || tk.DelegateName != "doomed" {
				t.Fatalf("task %+v", tk)
			}
			if n := ran.Load(); n != 0 {
				t.Fatalf("the cancelled task ran %d times on the live delegate", n)
			}
		})
	}
}

// TestManyStaleDelegates: more long-gone delegates than a page (named to
// sort first) hide neither a connected eligible delegate nor the message
// of a task none can run, which stays short.
func TestManyStaleDelegates(t *testing.T) {
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			f := newFixtureOn(t, dialect, delegate.HubOptions{})
			tok := f.token(t, f.acc, "main")
			old := time.Now().Add(-48 * time.Hour)
			for i := range 250 {
				if err := f.st.UpsertDelegate(context.Background(), &store.Delegate{ID: fmt.Sprintf("dlg_stale_%03d", i), Name: fmt.Sprintf("a-stale-%03d", i),
					Scope: f.acc, TokenID: "gone", Tags: []string{"x"}, RegisteredAt: old, LastSeen: old}); err != nil {
					t.Fatal(err)
				}
			}
			f.agent(t, tok, "zz-live", "x")
			res, err := f.hub.Dispatch(context.Background(), echoSpec(f.acc, []string{"x"}, `{}`), "tsk_among_stale", 20*time.Second)
			if err != nil || res.Status != task.Succeeded || res.DelegateName != "zz-live" {
				t.Fatalf("with 250 stale delegates: %+v %v", res, err)
			}
			_, err = f.hub.Dispatch(context.Background(), echoSpec(f.acc, []string{"gpu"}, `{}`), "tsk_none_among_stale", 20*time.Second)
			fe, ok := failure.As(err)
			if !ok || fe.Code != "NoDelegate" || !strings.Contains(err.Error(), "zz-live") || !strings.Contains(err.Error(), "more that have not been seen") {
				t.Fatalf("no eligible delegate: %v", err)
			}
			if len(err.Error()) > 4000 {
				t.Fatalf("the message lists every stale delegate (%d characters)", len(err.Error()))
			}
		})
	}
}

// TestQueuedTaskFailsWhenItsDelegateDies: a task queued for the only
// delegate that can run it, which then dies without a word, fails as soon
// as that delegate no longer counts as connected, with the message a
// dispatch gets (selectors, delegates), not at its deadline.
func TestQueuedTaskFailsWhenItsDelegateDies(t *testing.T) {
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			clk := &clock{}
			f := newFixtureOn(t, dialect, delegate.HubOptions{Now: clk.now})
			tok := f.token(t, f.acc, "main")
			register(t, f, tok, "only-one", 1, protocol.Capabilities{}, "only")
			out := dispatch(f, context.Background(), echoSpec(f.acc, []string{"only"}, `{}`), "tsk_orphan", 10*time.Minute)
			waitStatus(t, f, "tsk_orphan", store.TaskQueued)
			clk.advance(f.hub.ConnectedWindow() + time.Second) // it never called again
			o := waitOutcome(t, out)
			if o.err != nil || o.res.Status != task.Failed || o.res.Error == nil || o.res.Error.Reason != "NoDelegate" ||
				!strings.Contains(o.res.Error.Message, "[only]") || !strings.Contains(o.res.Error.Message, "only-one") ||
				!strings.Contains(o.res.Error.Message, "tsk_orphan") {
				t.Fatalf("result %+v %v", o.res, o.err)
			}
		})
	}
}

// TestStepNotRerun: a script step whose delegate dies while it runs is not
// run again on another delegate (a script is not idempotent): it fails
// with DelegateLost saying so.
func TestStepNotRerun(t *testing.T) {
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			f := newFixtureOn(t, dialect, delegate.HubOptions{Lease: time.Second, MaxAttempts: 3})
			tok := f.token(t, f.acc, "main")
			doomed := register(t, f, tok, "doomed", 1, protocol.Capabilities{})
			var ran atomic.Int64
			execs := ops.Registry()
			execs[ops.KindStep] = func(ctx context.Context, env *ops.Env, in ops.Input) (any, error) {
				ran.Add(1)
				return ops.StepResult{Status: ops.StepSucceeded}, nil
			}
			spec := echoSpec(f.acc, nil, `{}`)
			spec.Kind = ops.KindStep
			out := dispatch(f, context.Background(), spec, "tsk_step_lost", time.Minute)
			waitStatus(t, f, "tsk_step_lost", store.TaskQueued)
			if _, pr, _, err := pollOnce(context.Background(), f, tok, doomed, 1); err != nil || len(pr.Tasks) != 1 {
				t.Fatalf("doomed's poll: %+v %v", pr, err)
			}
			f.agentWith(t, delegate.AgentOptions{Server: f.srv.URL, Token: tok, Name: "alive", Concurrency: 2, Executors: execs,
				Env: ops.NewEnv(nil, nil, "alive")})
			o := waitOutcome(t, out)
			if o.err != nil || o.res.Status != task.Failed || o.res.Error == nil || o.res.Error.Reason != "DelegateLost" ||
				!strings.Contains(o.res.Error.Message, "not idempotent") || !strings.Contains(o.res.Error.Message, "doomed") {
				t.Fatalf("result %+v %v", o.res, o.err)
			}
			if n := ran.Load(); n != 0 {
				t.Fatalf("the step ran again on another delegate (%d times)", n)
			}
			if tk, _ := f.st.GetTask(context.Background(), "tsk_step_lost"); tk.MaxAttempts != 1 || tk.Attempts != 1 {
				t.Fatalf("task %+v", tk)
			}
		})
	}
}

// miStep is a script step with a connector inheriting the delegate's
// managed identity, selecting delegates tagged aks.
func miStep(sc scope.Scope) task.Spec {
	c := &connector.Connector{Name: "mi", Identifier: "aks_mi", Type: connector.TypeAzure, Spec: &connector.AzureSpec{
		DelegateSelectors: []string{"aks"},
		Credential:        &connector.Credential{Type: connector.CredentialInherit, Inherit: &connector.InheritSpec{Auth: &connector.ManagedIdentityAuth{Type: connector.ManagedIdentitySystem}}}}}
	return task.Spec{Kind: ops.KindStep, Scope: sc, Connector: c, Selectors: []string{"aks"}, Params: json.RawMessage(`{}`), Timeout: 20 * time.Second}
}

// TestManagedIdentityStepNeedsKubernetes: a managed-identity script step
// runs only on a delegate in Kubernetes: with only one outside, it is
// refused at once naming the selectors and why that delegate cannot run
// it; a delegate outside Kubernetes never claims one queued for another.
func TestManagedIdentityStepNeedsKubernetes(t *testing.T) {
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			f := newFixtureOn(t, dialect, delegate.HubOptions{PollTimeout: time.Second})
			tok := f.token(t, f.acc, "main")
			vm := register(t, f, tok, "vm", 4, protocol.Capabilities{}, "aks")
			_, err := f.hub.Dispatch(context.Background(), miStep(f.acc), "tsk_mi_refused", 20*time.Second)
			fe, ok := failure.As(err)
			if !ok || fe.Code != ops.ReasonStepNoAKSDelegate || !strings.Contains(err.Error(), "vm does not run in Kubernetes") ||
				!strings.Contains(err.Error(), "aks") {
				t.Fatalf("MI step with only a VM delegate: %v", err)
			}
			pod := register(t, f, tok, "pod", 4, protocol.Capabilities{Kubernetes: true}, "aks")
			out := dispatch(f, context.Background(), miStep(f.acc), "tsk_mi", 20*time.Second)
			waitStatus(t, f, "tsk_mi", store.TaskQueued)
			if st, pr, eb, err := pollOnce(context.Background(), f, tok, vm, 4); err != nil || st != http.StatusOK || len(pr.Tasks) != 0 {
				t.Fatalf("the VM delegate's poll: %d %+v %+v %v", st, pr, eb, err)
			}
			st, pr, _, err := pollOnce(context.Background(), f, tok, pod, 4)
			if err != nil || st != http.StatusOK || len(pr.Tasks) != 1 || pr.Tasks[0].ID != "tsk_mi" {
				t.Fatalf("the pod delegate's poll: %d %+v %v", st, pr, err)
			}
			rawCall(t, f.srv.URL, tok, pod, strings.Replace(protocol.PathResult, "{id}", "tsk_mi", 1), protocol.ResultRequest{Result: task.Result{Status: task.Succeeded}})
			if o := waitOutcome(t, out); o.err != nil || o.res.DelegateName != "pod" {
				t.Fatalf("result %+v %v", o.res, o.err)
			}
			// A service-principal step may run anywhere.
			sp := miStep(f.acc)
			sp.Connector = echoSpec(f.acc, []string{"aks"}, `{}`).Connector
			out = dispatch(f, context.Background(), sp, "tsk_sp_step", 20*time.Second)
			waitStatus(t, f, "tsk_sp_step", store.TaskQueued)
			if _, pr, _, err := pollOnce(context.Background(), f, tok, vm, 4); err != nil || len(pr.Tasks) != 1 {
				t.Fatalf("the VM delegate's poll for a service-principal step: %+v %v", pr, err)
			}
			_ = out
		})
	}
}

// TestPollEndedHandsBack: a delegate whose poll request ends after the
// server claimed tasks for it (it is stopping) does not strand them: they
// go back to the queue at once, without using an attempt.
func TestPollEndedHandsBack(t *testing.T) {
	entered := make(chan struct{}, 1)
	f := newFixture(t, delegate.HubOptions{Lease: time.Minute}, func(_ *sqlstore.Store, o *delegate.HubOptions) {
		o.Secrets = resolverFunc(func(ctx context.Context) (string, error) {
			select {
			case entered <- struct{}{}:
			default:
			}
			select {
			case <-ctx.Done():
				return "", ctx.Err()
			case <-time.After(5 * time.Second):
				return planted, nil
			}
		})
	})
	tok := f.token(t, f.acc, "main")
	id := register(t, f, tok, "stopping", 1, protocol.Capabilities{})
	dispatch(f, context.Background(), echoSpec(f.acc, nil, `{}`), "tsk_not_delivered", 5*time.Minute)
	waitStatus(t, f, "tsk_not_delivered", store.TaskQueued)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _, _, _, _ = pollOnce(ctx, f, tok, id, 1); close(done) }()
	select {
	case <-entered: // claimed; its secrets are being resolved
	case <-time.After(20 * time.Second):
		t.Fatal("the task was not claimed")
	}
	cancel()
	<-done
	tk := waitStatus(t, f, "tsk_not_delivered", store.TaskQueued)
	if tk.Attempts != 0 || tk.DelegateID != "" || !strings.Contains(tk.Note, "not delivered") {
		t.Fatalf("task after the poll ended: %+v", tk)
	}
}

// TestOfferBounded: secrets that cannot be resolved within half the lease
// fail the task with a clear error instead of holding the poll.
func TestOfferBounded(t *testing.T) {
	f := newFixture(t, delegate.HubOptions{Lease: 2 * time.Second}, func(_ *sqlstore.Store, o *delegate.HubOptions) {
		o.Secrets = resolverFunc(func(ctx context.Context) (string, error) {
			<-ctx.Done()
			return "", fmt.Errorf("the secrets store did not answer: %w", ctx.Err())
		})
	})
	tok := f.token(t, f.acc, "main")
	f.agent(t, tok, "one")
	o := waitOutcome(t, dispatch(f, context.Background(), echoSpec(f.acc, nil, `{}`), "tsk_slow_secrets", time.Minute))
	if o.err != nil || o.res.Status != task.Failed || o.res.Error == nil || !strings.Contains(o.res.Error.Message, "did not answer") {
		t.Fatalf("result %+v %v", o.res, o.err)
	}
}

// TestPollCappedAtConcurrency: a delegate asking for more tasks than the
// concurrency it registered gets no more than that.
func TestPollCappedAtConcurrency(t *testing.T) {
	f := newFixture(t, delegate.HubOptions{})
	tok := f.token(t, f.acc, "main")
	id := register(t, f, tok, "small", 2, protocol.Capabilities{})
	for i := range 5 {
		dispatch(f, context.Background(), echoSpec(f.acc, nil, `{}`), fmt.Sprintf("tsk_cap_%d", i), time.Minute)
	}
	waitFor(t, func() bool {
		l, n, _ := f.st.ListTasks(context.Background(), store.TaskFilter{Scopes: []store.ScopeMatch{{Scope: f.acc, Subtree: true}}, Status: store.TaskQueued})
		return n == 5 && len(l) == 5
	})
	_, pr, _, err := pollOnce(context.Background(), f, tok, id, 50)
	if err != nil || len(pr.Tasks) != 2 {
		t.Fatalf("a delegate of concurrency 2 asking for 50 got %d tasks (%v)", len(pr.Tasks), err)
	}
}

// TestServerMasksAgain: log lines and an error a delegate sends unmasked
// (an old or faulty delegate) are masked by the server before they are
// stored: each line of the value, its quoted forms, its base64.
func TestServerMasksAgain(t *testing.T) {
	const value = "s3cr<e>t&\"q\"\nline-two-Zq9"
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			f := newFixtureOn(t, dialect, delegate.HubOptions{}, func(_ *sqlstore.Store, o *delegate.HubOptions) {
				o.Secrets = resolver{value}
			})
			tok := f.token(t, f.acc, "main")
			id := register(t, f, tok, "careless", 1, protocol.Capabilities{})
			out := dispatch(f, context.Background(), echoSpec(f.acc, nil, `{}`), "tsk_unmasked", time.Minute)
			waitStatus(t, f, "tsk_unmasked", store.TaskQueued)
			if _, pr, _, err := pollOnce(context.Background(), f, tok, id, 1); err != nil || len(pr.Tasks) != 1 {
				t.Fatalf("poll: %+v %v", pr, err)
			}
			q, _ := json.Marshal(value)
			leaks := []string{value, "s3cr<e>t&\"q\"", "line-two-Zq9", string(q), fmt.Sprintf("%q", value), base64Std("line-two-Zq9")}
			var lines []protocol.LogLine
			for i, l := range leaks {
				lines = append(lines, protocol.LogLine{Seq: int64(i + 1), At: time.Now(), Line: "here: " + l})
			}
			rawCall(t, f.srv.URL, tok, id, strings.Replace(protocol.PathLogs, "{id}", "tsk_unmasked", 1), protocol.LogsRequest{Lines: lines})
			rawCall(t, f.srv.URL, tok, id, strings.Replace(protocol.PathResult, "{id}", "tsk_unmasked", 1), protocol.ResultRequest{Result: task.Result{
				Status: task.Failed, Error: &task.Error{Kind: "INVALID", Message: "failed with " + value, Hint: "try " + string(q)}}})
			o := waitOutcome(t, out)
			_, logs, _ := f.hub.GetTask(context.Background(), access.System("t"), "tsk_unmasked")
			row, _ := f.st.GetTask(context.Background(), "tsk_unmasked")
			all := string(row.Error) + fmt.Sprint(o.res.Error)
			for _, l := range logs {
				all += "\n" + l.Line
			}
			if len(logs) != len(leaks) {
				t.Fatalf("%d lines stored", len(logs))
			}
			for _, l := range leaks {
				if strings.Contains(all, l) {
					t.Errorf("stored unmasked: %q in\n%s", l, all)
				}
			}
			if strings.Contains(all, "line-two") || !strings.Contains(all, "**************") {
				t.Errorf("not masked:\n%s", all)
			}
		})
	}
}
