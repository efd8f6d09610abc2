package delegate_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/azimuthcd/azimuth/internal/delegate"
	"github.com/azimuthcd/azimuth/internal/ops"
	"github.com/azimuthcd/azimuth/internal/protocol"
	"github.com/azimuthcd/azimuth/internal/store"
	"github.com/azimuthcd/azimuth/internal/store/sqlstore"
	"github.com/azimuthcd/azimuth/internal/task"
)

// interval is one run of a task's executor on one delegate.
type interval struct {
	task, delegate string
	start, end     time.Time
}

// recorder records executor runs.
type recorder struct {
	mu   sync.Mutex
	runs []interval
}

// executors returns the executor table of delegate name: diag.sleep
// records when it starts and when it has stopped.
func (rc *recorder) executors(name string) map[task.Kind]ops.Func {
	execs := ops.Registry()
	execs[ops.KindDiagSleep] = func(ctx context.Context, env *ops.Env, in ops.Input) (any, error) {
		iv := interval{task: in.TaskID, delegate: name, start: time.Now()}
		defer func() {
			iv.end = time.Now()
			rc.mu.Lock()
			rc.runs = append(rc.runs, iv)
			rc.mu.Unlock()
		}()
		return ops.DiagSleep(ctx, env, in)
	}
	return execs
}

// overlaps returns the pairs of runs of one task that overlap in time,
// and how many tasks ran more than once.
func (rc *recorder) overlaps() (bad []string, rerun int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	by := map[string][]interval{}
	for _, r := range rc.runs {
		by[r.task] = append(by[r.task], r)
	}
	for id, rs := range by {
		if len(rs) > 1 {
			rerun++
		}
		sort.Slice(rs, func(i, j int) bool { return rs[i].start.Before(rs[j].start) })
		for i := 1; i < len(rs); i++ {
			if rs[i].start.Before(rs[i-1].end) {
				bad = append(bad, fmt.Sprintf("%s: on %s %s–%s and on %s from %s", id, rs[i-1].delegate, rs[i-1].start.Format("15:04:05.000"),
					rs[i-1].end.Format("15:04:05.000"), rs[i].delegate, rs[i].start.Format("15:04:05.000")))
			}
		}
	}
	return bad, rerun
}

// TestNoOverlappingRuns: whatever happens to leases — a delegate cut off
// from the server while it keeps running its tasks (its calls hang), its
// lease extensions failing, the secrets taking most of the lease — no two
// runs of one task overlap in time. Each run's start and end are recorded
// by the executor itself.
func TestNoOverlappingRuns(t *testing.T) {
	const lease = 2 * time.Second
	cases := []struct {
		name string
		// secrets delays secret resolution (after the claim).
		secrets time.Duration
		// cut decides, for a call of delegate name, whether it hangs
		// (partition) or fails (503) — or goes through.
		cut func(name, path string, n int64) (hang, fail bool)
	}{
		{name: "partitioned while running", cut: func(name, path string, n int64) (bool, bool) {
			return name == "cut-off" && n > 0, false
		}},
		// Its extensions (and polls, so it does not take the tasks back)
		// fail; the rest goes through.
		{name: "extensions fail", cut: func(name, path string, n int64) (bool, bool) {
			return false, name == "cut-off" && (strings.HasSuffix(path, "/extend") || path == protocol.PathPoll)
		}},
		{name: "slow secrets and a partition", secrets: lease * 4 / 10, cut: func(name, path string, n int64) (bool, bool) {
			return name == "cut-off" && n > 0, false
		}},
	}
	for _, dialect := range dialects {
		for _, tc := range cases {
			t.Run(dialect+"/"+tc.name, func(t *testing.T) {
				f := newFixtureOn(t, dialect, delegate.HubOptions{Lease: lease, MaxAttempts: 5, PollTimeout: time.Second},
					func(_ *sqlstore.Store, o *delegate.HubOptions) {
						o.Secrets = resolverFunc(func(ctx context.Context) (string, error) {
							select {
							case <-time.After(tc.secrets):
							case <-ctx.Done():
								return "", ctx.Err()
							}
							return planted, nil
						})
					})
				tok := f.token(t, f.acc, "main")
				var rc recorder
				// The partition: once cut-off holds a task, its calls hang
				// (or fail) until the test heals it.
				var cutting atomic.Bool
				healed := make(chan struct{})
				ids := map[string]string{} // delegate id -> name
				var idsMu sync.Mutex
				var cutCalls atomic.Int64
				fn := func(w http.ResponseWriter, r *http.Request) bool {
					idsMu.Lock()
					name := ids[r.Header.Get(protocol.HeaderDelegate)]
					idsMu.Unlock()
					if !cutting.Load() || name == "" {
						return false
					}
					hang, fail := tc.cut(name, r.URL.Path, cutCalls.Add(1))
					switch {
					case hang:
						select {
						case <-healed:
						case <-r.Context().Done():
						}
						http.Error(w, "partitioned", http.StatusBadGateway)
						return true
					case fail:
						w.WriteHeader(http.StatusServiceUnavailable)
						_ = json.NewEncoder(w).Encode(protocol.ErrorBody{Code: protocol.CodeUnavailable, Kind: "UNAVAILABLE", Message: "try later"})
						return true
					}
					return false
				}
				f.intercept.Store(&fn)
				cutOff, _ := f.agentWith(t, delegate.AgentOptions{Server: f.srv.URL, Token: tok, Name: "cut-off", Concurrency: 4,
					Executors: rc.executors("cut-off"), Env: ops.NewEnv(nil, nil, "cut-off"), StopGrace: time.Second, StopWait: time.Second})
				idsMu.Lock()
				ids[cutOff.ID()] = "cut-off"
				idsMu.Unlock()
				const n = 4
				outs := make([]<-chan outcome, n)
				for i := range n {
					outs[i] = dispatch(f, context.Background(), sleepSpec(f.acc, 3000), fmt.Sprintf("tsk_overlap_%d", i), 2*time.Minute)
				}
				// Once cut-off runs them all, bring up a delegate that can
				// take them over, and cut cut-off off.
				waitFor(t, func() bool { return cutOff.Running() == n })
				f.agentWith(t, delegate.AgentOptions{Server: f.srv.URL, Token: tok, Name: "healthy", Concurrency: 4,
					Executors: rc.executors("healthy"), Env: ops.NewEnv(nil, nil, "healthy")})
				cutting.Store(true)
				for i, c := range outs {
					o := waitOutcome(t, c)
					if o.err != nil {
						t.Fatalf("task %d: %v", i, o.err)
					}
				}
				close(healed)
				bad, rerun := rc.overlaps()
				for _, b := range bad {
					t.Error("two runs overlap: " + b)
				}
				if rerun == 0 {
					t.Fatal("no task ran twice: the leases were never lost, the test proves nothing")
				}
				for i := range n {
					tk, _ := f.st.GetTask(context.Background(), fmt.Sprintf("tsk_overlap_%d", i))
					if tk.Status != store.TaskSucceeded || tk.Attempts < 2 {
						t.Errorf("task %s: %s after %d attempts: %s", tk.ID, tk.Status, tk.Attempts, tk.Error)
					}
				}
				t.Logf("%d tasks, %d ran again after a lease was lost; no runs overlapped", n, rerun)
			})
		}
	}
}

// fakeServer speaks the protocol to one agent: it hands out the same
// task twice (as if its lease ran out and the server queued it again),
// and records the results posted.
type fakeServer struct {
	times    int64 // how many polls hand out the task
	leaseEnd int64 // its LeaseEndMillis
	polls    atomic.Int64
	released atomic.Int64
	mu       sync.Mutex
	results  []task.Result
}

func (fs *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var out any = protocol.Ack{OK: true}
	switch p := r.URL.Path; {
	case p == protocol.PathRegister:
		out = protocol.RegisterResponse{DelegateID: "dlg_fake", HeartbeatMillis: 60000, LeaseMillis: 30000, PollTimeoutMillis: 1000}
	case p == protocol.PathHeartbeat:
		out = protocol.HeartbeatResponse{HeartbeatMillis: 60000}
	case p == protocol.PathPoll:
		if fs.polls.Add(1) <= fs.times {
			out = protocol.PollResponse{Tasks: []protocol.Task{{ID: "tsk_twice", Kind: ops.KindDiagSleep, Params: json.RawMessage(`{"millis":1500}`),
				TimeoutMillis: 60000, LeaseMillis: fs.leaseEnd, LeaseEndMillis: fs.leaseEnd, Attempt: int(fs.polls.Load())}}}
		} else {
			select {
			case <-r.Context().Done():
			case <-time.After(200 * time.Millisecond):
			}
			out = protocol.PollResponse{Tasks: []protocol.Task{}}
		}
	case strings.HasSuffix(p, "/extend"):
		out = protocol.ExtendResponse{LeaseMillis: 30000}
	case strings.HasSuffix(p, "/release"):
		fs.released.Add(1)
	case strings.HasSuffix(p, "/result"):
		var rr protocol.ResultRequest
		_ = json.NewDecoder(r.Body).Decode(&rr)
		fs.mu.Lock()
		fs.results = append(fs.results, rr.Result)
		fs.mu.Unlock()
	}
	_ = json.NewEncoder(w).Encode(out)
}

// TestReclaimStopsOldRun: when the server hands a delegate a task it still
// runs, the old run is stopped and posts nothing, and the new one starts
// only after it: one result, no overlap, nothing left running.
func TestReclaimStopsOldRun(t *testing.T) {
	fs := &fakeServer{times: 2, leaseEnd: 30000}
	var rc recorder
	a := runFakeAgent(t, fs, &rc)
	waitFor(t, func() bool {
		fs.mu.Lock()
		defer fs.mu.Unlock()
		return len(fs.results) > 0 && a.Running() == 0 && fs.polls.Load() > 3
	})
	bad, _ := rc.overlaps()
	for _, b := range bad {
		t.Error("two runs overlap: " + b)
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(fs.results) != 1 || fs.results[0].Status != task.Succeeded || len(rc.runs) != 2 {
		t.Fatalf("results %+v; runs %+v", fs.results, rc.runs)
	}
}

// runFakeAgent runs an agent against fs.
func runFakeAgent(t *testing.T, fs *fakeServer, rc *recorder) *delegate.Agent {
	t.Helper()
	srv := httptest.NewServer(fs)
	t.Cleanup(srv.Close)
	a, err := delegate.NewAgent(delegate.AgentOptions{Server: srv.URL, Token: "azd.acme.tokid.secret", Name: "one", Concurrency: 4,
		Executors: rc.executors("one"), Env: ops.NewEnv(nil, nil, "one")})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return a
}

// TestLateTaskNotStarted: a task that reaches the delegate with less of
// its lease left than the margin is handed back unstarted.
func TestLateTaskNotStarted(t *testing.T) {
	fs := &fakeServer{times: 1, leaseEnd: 200} // 200 ms of a 30 s lease
	var rc recorder
	a := runFakeAgent(t, fs, &rc)
	waitFor(t, func() bool { return fs.released.Load() == 1 && a.Running() == 0 })
	rc.mu.Lock()
	defer rc.mu.Unlock()
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if len(rc.runs) != 0 || len(fs.results) != 0 {
		t.Fatalf("a task with 200 ms of its lease left ran (%d) or posted (%d)", len(rc.runs), len(fs.results))
	}
}

// TestStopBounded: a stopping agent whose task ignores cancellation
// returns anyway once StopWait has passed.
func TestStopBounded(t *testing.T) {
	f := newFixture(t, delegate.HubOptions{})
	tok := f.token(t, f.acc, "main")
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	execs := ops.Registry()
	started := make(chan struct{}, 1)
	execs[ops.KindDiagSleep] = func(ctx context.Context, env *ops.Env, in ops.Input) (any, error) {
		started <- struct{}{}
		<-release // deaf to ctx
		return nil, nil
	}
	_, stop := f.agentWith(t, delegate.AgentOptions{Server: f.srv.URL, Token: tok, Name: "stuck", Executors: execs,
		Env: ops.NewEnv(nil, nil, "stuck"), StopGrace: 100 * time.Millisecond, StopWait: 300 * time.Millisecond})
	dispatch(f, context.Background(), sleepSpec(f.acc, 10), "tsk_deaf", time.Minute)
	<-started
	stopped := make(chan struct{})
	go func() { _ = stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(20 * time.Second):
		t.Fatal("the agent did not return with a task deaf to cancellation")
	}
}
