package delegate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/azimuthcd/azimuth/internal/connector"
	"github.com/azimuthcd/azimuth/internal/engine"
	"github.com/azimuthcd/azimuth/internal/failure"
	"github.com/azimuthcd/azimuth/internal/ops"
	"github.com/azimuthcd/azimuth/internal/protocol"
	"github.com/azimuthcd/azimuth/internal/task"
)

// AgentOptions configure an Agent.
type AgentOptions struct {
	Server      string // base URL of the server
	Token       string // the delegate token
	Name        string
	Tags        []string
	Concurrency int // tasks at once; default 8
	// Env is the executors' environment: its Azure factory allows managed
	// identities (azure.Options.ManagedIdentity). An empty DelegateID is
	// set to the id the server gives at the first registration.
	Env          *ops.Env
	Executors    map[task.Kind]ops.Func // default ops.Registry()
	Capabilities protocol.Capabilities
	Version      string
	HTTPClient   *http.Client
	Logger       *slog.Logger
	// StopGrace is how long a stopping agent lets its tasks finish before
	// it cancels them and hands them back; default 10 s.
	StopGrace time.Duration
	// StopWait bounds how long a stopping agent then waits for the
	// cancelled tasks to end and be handed back before it returns anyway
	// (an executor that ignores cancellation must not hold the process);
	// default 10 s. A task left behind keeps its lease until it runs out.
	StopWait time.Duration
	// MaxBackoff caps the wait between reconnection attempts; default 30 s.
	MaxBackoff time.Duration
}

// Agent is the delegate process: register, heartbeat, long-poll, run,
// report. Run it once.
type Agent struct {
	o    AgentOptions
	hc   *http.Client
	log  *slog.Logger
	base string

	mu        sync.Mutex
	id        string
	reg       protocol.RegisterResponse
	running   map[string]*run
	fatal     error
	stopping  bool
	slotFreed chan struct{}
}

type run struct {
	cancel   context.CancelFunc
	done     chan struct{} // closed when the run has ended
	lost     bool          // the server took it back: post nothing
	handBack bool          // stopping: release instead of posting
}

// ErrStopped is returned by Run when the server refused the agent for
// good (revoked or invalid token).
var ErrStopped = errors.New("the server refused this delegate")

// NewAgent builds an agent.
func NewAgent(o AgentOptions) (*Agent, error) {
	if o.Server == "" || o.Token == "" || o.Name == "" {
		return nil, failure.New(failure.Invalid, "a delegate needs --server, --token and --name")
	}
	if _, _, ok := ParseToken(o.Token); !ok {
		return nil, failure.New(failure.Invalid, "the delegate token is not one (it looks like %s.<account>.<id>.<secret>)", protocol.TokenPrefix)
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 8
	}
	if o.Executors == nil {
		o.Executors = ops.Registry()
	}
	if o.StopGrace <= 0 {
		o.StopGrace = 10 * time.Second
	}
	if o.StopWait <= 0 {
		o.StopWait = 10 * time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, MaxIdleConnsPerHost: 64, IdleConnTimeout: 90 * time.Second}}
	}
	if len(o.Capabilities.Kinds) == 0 {
		for k := range o.Executors {
			o.Capabilities.Kinds = append(o.Capabilities.Kinds, string(k))
		}
	}
	return &Agent{o: o, hc: hc, log: o.Logger.With("component", "delegate", "name", o.Name), base: strings.TrimRight(o.Server, "/"),
		running: map[string]*run{}, slotFreed: make(chan struct{}, 1)}, nil
}

// ID is the delegate id the server gave (empty before Register).
func (a *Agent) ID() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.id
}

// Running is the number of tasks in flight.
func (a *Agent) Running() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.running)
}

// callError is a refusal from the server.
type callError struct {
	status int
	body   protocol.ErrorBody
}

func (e *callError) Error() string {
	return fmt.Sprintf("server answered %d %s: %s", e.status, e.body.Code, e.body.Message)
}

func codeOf(err error) string {
	var ce *callError
	if errors.As(err, &ce) {
		return ce.body.Code
	}
	return ""
}

func permanent(err error) bool {
	c := codeOf(err)
	return c == protocol.CodeUnauthenticated || c == protocol.CodeTokenRevoked
}

// call POSTs in to path and decodes the answer into out.
func (a *Agent) call(ctx context.Context, path string, in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.base+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+a.o.Token)
	if id := a.ID(); id != "" {
		req.Header.Set(protocol.HeaderDelegate, id)
	}
	req.Header.Set("User-Agent", "azimuth-delegate/"+a.o.Version)
	resp, err := a.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		ce := &callError{status: resp.StatusCode}
		if json.Unmarshal(body, &ce.body) != nil || ce.body.Code == "" {
			ce.body = protocol.ErrorBody{Code: protocol.CodeUnavailable, Kind: failure.Unavailable.String(), Message: http.StatusText(resp.StatusCode)}
		}
		return ce
	}
	if out != nil {
		return json.Unmarshal(body, out)
	}
	return nil
}

// backoff waits for attempt n's delay (exponential, jittered, capped).
func (a *Agent) backoff(ctx context.Context, n int) error {
	d := 200 * time.Millisecond << min(n, 8)
	if d > a.o.MaxBackoff {
		d = a.o.MaxBackoff
	}
	d = d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// register registers (again), retrying with backoff until it succeeds, the
// server refuses for good, or ctx ends.
func (a *Agent) register(ctx context.Context) error {
	for n := 0; ; n++ {
		req := protocol.RegisterRequest{DelegateID: a.ID(), Name: a.o.Name, Tags: a.o.Tags, Version: a.o.Version,
			Protocol: protocol.Version, Concurrency: a.o.Concurrency, Capabilities: a.o.Capabilities}
		var resp protocol.RegisterResponse
		err := a.call(ctx, protocol.PathRegister, req, &resp)
		if err == nil {
			a.mu.Lock()
			a.id, a.reg = resp.DelegateID, resp
			a.mu.Unlock()
			a.log.Info("registered", "delegate", resp.DelegateID, "scope", resp.Scope, "heartbeat", protocol.Duration(resp.HeartbeatMillis))
			return nil
		}
		if permanent(err) {
			return fmt.Errorf("%w: %v", ErrStopped, err)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		a.log.Warn("register failed; retrying", "attempt", n+1, "err", err)
		if err := a.backoff(ctx, n); err != nil {
			return err
		}
	}
}

func (a *Agent) setFatal(err error) {
	a.mu.Lock()
	if a.fatal == nil {
		a.fatal = err
	}
	a.mu.Unlock()
}

func (a *Agent) fatalErr() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.fatal
}

// Run registers and serves tasks until ctx ends (SIGTERM): then it stops
// polling, lets running tasks finish for StopGrace, hands the rest back
// and says goodbye. It returns ErrStopped (wrapped) when the server
// refuses the token.
func (a *Agent) Run(ctx context.Context) error {
	if err := a.register(ctx); err != nil {
		return err
	}
	if a.o.Env != nil && a.o.Env.DelegateID == "" {
		a.o.Env.DelegateID = a.ID() // before any task reads it
	}
	// Tasks run under runCtx, which outlives ctx by the stop grace.
	runCtx, cancelRuns := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRuns()
	loopCtx, stopLoops := context.WithCancel(ctx)
	defer stopLoops()
	var wg sync.WaitGroup
	var tasks sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		a.heartbeatLoop(loopCtx, stopLoops)
	}()
	a.pollLoop(loopCtx, runCtx, &tasks, stopLoops)
	stopLoops()
	wg.Wait()

	// Stopping: give running tasks the grace, then hand them back.
	a.mu.Lock()
	a.stopping = true
	n := len(a.running)
	a.mu.Unlock()
	if n > 0 && a.fatalErr() == nil {
		a.log.Info("stopping: letting running tasks finish", "running", n, "grace", a.o.StopGrace)
	}
	finished := make(chan struct{})
	go func() { tasks.Wait(); close(finished) }()
	grace := a.o.StopGrace
	if a.fatalErr() != nil {
		grace = 0
	}
	t := time.NewTimer(grace)
	select {
	case <-finished:
		t.Stop()
	case <-t.C:
		a.mu.Lock()
		for _, r := range a.running {
			r.handBack = true
			r.cancel()
		}
		left := len(a.running)
		a.mu.Unlock()
		w := time.NewTimer(a.o.StopWait)
		select {
		case <-finished:
			w.Stop()
		case <-w.C:
			a.log.Error("stopping without waiting longer for cancelled tasks; their leases will run out on the server", "left", left, "waited", a.o.StopWait)
		}
	}
	if a.fatalErr() == nil {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		_ = a.call(uctx, protocol.PathUnregister, struct{}{}, nil)
		cancel()
	}
	if err := a.fatalErr(); err != nil {
		return err
	}
	return nil
}

// heartbeatLoop heartbeats at the server's interval and cancels the tasks
// the server names.
func (a *Agent) heartbeatLoop(ctx context.Context, stop context.CancelFunc) {
	failures := 0
	for {
		a.mu.Lock()
		every := protocol.Duration(a.reg.HeartbeatMillis)
		ids := make([]string, 0, len(a.running))
		for id := range a.running {
			ids = append(ids, id)
		}
		a.mu.Unlock()
		if every <= 0 {
			every = DefaultHeartbeat
		}
		if failures > 0 {
			every = min(every, time.Second<<min(failures, 5))
		}
		t := time.NewTimer(every)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		var resp protocol.HeartbeatResponse
		err := a.call(ctx, protocol.PathHeartbeat, protocol.HeartbeatRequest{Running: ids}, &resp)
		switch {
		case err == nil:
			failures = 0
			a.mu.Lock()
			if resp.HeartbeatMillis > 0 {
				a.reg.HeartbeatMillis = resp.HeartbeatMillis
			}
			for _, id := range resp.Cancel {
				if r, ok := a.running[id]; ok {
					r.lost = true
					r.cancel()
				}
			}
			a.mu.Unlock()
		case permanent(err):
			a.log.Error("the server refused this delegate; stopping", "err", err)
			a.setFatal(fmt.Errorf("%w: %v", ErrStopped, err))
			a.cancelAll()
			stop()
			return
		case codeOf(err) == protocol.CodeUnknownDelegate:
			_ = a.register(ctx)
		case ctx.Err() == nil:
			failures++
			a.log.Warn("heartbeat failed", "err", err)
		}
	}
}

func (a *Agent) cancelAll() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, r := range a.running {
		r.lost = true
		r.cancel()
	}
}

// pollLoop long-polls whenever a slot is free and starts what it gets.
func (a *Agent) pollLoop(ctx, runCtx context.Context, tasks *sync.WaitGroup, stop context.CancelFunc) {
	failures := 0
	for ctx.Err() == nil {
		free := a.o.Concurrency - a.Running()
		if free <= 0 {
			select {
			case <-ctx.Done():
				return
			case <-a.slotFreed:
			}
			continue
		}
		var resp protocol.PollResponse
		sent := time.Now() // the lease of what it claims is counted from here
		err := a.call(ctx, protocol.PathPoll, protocol.PollRequest{Max: free}, &resp)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			switch {
			case permanent(err):
				a.log.Error("the server refused this delegate; stopping", "err", err)
				a.setFatal(fmt.Errorf("%w: %v", ErrStopped, err))
				a.cancelAll()
				stop()
				return
			case codeOf(err) == protocol.CodeUnknownDelegate:
				if err := a.register(ctx); err != nil {
					if errors.Is(err, ErrStopped) {
						a.setFatal(err)
						stop()
					}
					return
				}
				continue
			}
			a.log.Warn("poll failed; reconnecting", "attempt", failures+1, "err", err)
			if err := a.backoff(ctx, failures); err != nil {
				return
			}
			failures++
			continue
		}
		if failures > 0 {
			a.log.Info("reconnected")
			failures = 0
		}
		for _, t := range resp.Tasks {
			a.start(runCtx, tasks, t, sent)
		}
	}
}

// start runs a claimed task in its own goroutine. If this delegate still
// runs the same task (its lease ran out, the server queued it again and
// this delegate claimed it anew), the old run is stopped and posts nothing,
// and the new one starts only once the old one has ended: one task never
// runs twice at once, here either.
func (a *Agent) start(runCtx context.Context, tasks *sync.WaitGroup, t protocol.Task, sent time.Time) {
	tctx, cancel := context.WithCancel(runCtx)
	r := &run{cancel: cancel, done: make(chan struct{})}
	a.mu.Lock()
	prev := a.running[t.ID]
	if prev != nil {
		prev.lost = true
		prev.cancel()
	}
	a.running[t.ID] = r
	a.mu.Unlock()
	if prev != nil {
		a.log.Warn("claimed again a task this delegate still runs (its lease ran out): stopping the old run first", "task", t.ID, "attempt", t.Attempt)
	}
	tasks.Add(1)
	go func() {
		defer tasks.Done()
		defer cancel()
		defer close(r.done)
		if prev != nil {
			select {
			case <-prev.done:
			case <-tctx.Done():
				// Stopping before the old run ended: this one never
				// starts, and its lease runs out on the server.
				prev = nil
			}
		}
		if tctx.Err() == nil {
			a.runTask(tctx, t, r, sent)
		}
		a.mu.Lock()
		if a.running[t.ID] == r {
			delete(a.running, t.ID)
		}
		a.mu.Unlock()
		select {
		case a.slotFreed <- struct{}{}:
		default:
		}
	}()
}

// leaseOf is the lease the server gives (for the extension cadence).
func (a *Agent) leaseOf() time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	if l := protocol.Duration(a.reg.LeaseMillis); l > 0 {
		return l
	}
	return DefaultLease
}

// runTask runs one claimed task: it keeps the lease (and stops the task
// itself if it cannot), streams masked logs, and posts the result. sent
// is when the poll that claimed it was sent: the lease is counted from
// there.
func (a *Agent) runTask(ctx context.Context, t protocol.Task, r *run, sent time.Time) {
	secrets := ops.Secrets{}
	for _, s := range t.Secrets {
		secrets[s.Path] = s.Value()
	}
	defer func() {
		for _, s := range t.Secrets {
			s.Wipe()
		}
	}()
	lease := a.leaseOf()
	var expires time.Time
	switch {
	case t.LeaseEndMillis > 0:
		expires = sent.Add(protocol.Duration(t.LeaseEndMillis))
	case t.LeaseMillis > 0:
		expires = sent.Add(protocol.Duration(t.LeaseMillis))
	default:
		expires = sent.Add(lease)
	}
	if !time.Now().Before(expires.Add(-leaseMargin(lease))) {
		// It arrived with too little of its lease left to be started
		// safely (the server may hand it on before it could extend):
		// give it back unstarted, which only works while this delegate
		// still holds it.
		a.mu.Lock()
		r.lost = true
		a.mu.Unlock()
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), lease)
		defer rcancel()
		err := a.call(rctx, taskPath(protocol.PathRelease, t.ID), protocol.ReleaseRequest{Reason: "it arrived with too little of its lease left to start it"}, nil)
		a.log.Warn("a task arrived with too little of its lease left; handed it back unstarted", "task", t.ID, "err", err)
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	leaseDone := make(chan struct{})
	go func() {
		defer close(leaseDone)
		a.keepLease(ctx, t.ID, lease, expires, r, cancel)
	}()
	logs := newLogShipper(a, t.ID)
	spec := task.Spec{Kind: t.Kind, ConnectorVersion: t.ConnectorVersion, Params: t.Params}
	var res *task.Result
	if len(t.Connector) > 0 && string(t.Connector) != "null" {
		var c connector.Connector
		if err := json.Unmarshal(t.Connector, &c); err != nil {
			res = &task.Result{TaskID: t.ID, Kind: t.Kind, Status: task.Failed, StartedAt: time.Now(), FinishedAt: time.Now(),
				Error: task.ErrorFrom(failure.Wrap(failure.Internal, err, "read the connector of task %s", t.ID))}
		}
		spec.Connector = &c
	}
	if res == nil {
		timeout := protocol.Duration(t.TimeoutMillis)
		if timeout <= 0 {
			timeout = time.Second
		}
		res = engine.Execute(ctx, a.o.Env, a.o.Executors, spec, t.ID, timeout, secrets, logs, nil)
	}
	logs.close(context.WithoutCancel(ctx))
	cancel()
	<-leaseDone
	a.mu.Lock()
	lost, handBack := r.lost, r.handBack
	a.mu.Unlock()
	pctx, pcancel := context.WithTimeout(context.WithoutCancel(ctx), lease)
	defer pcancel()
	switch {
	case lost:
		a.log.Warn("task taken back by the server; its result is dropped", "task", t.ID)
	case handBack && !ops.RerunSafe(t.Kind):
		// A script that was stopped midway must not run again elsewhere.
		res.Status = task.Failed
		res.Error = task.ErrorFrom(failure.New(failure.Unavailable, "delegate %s stopped (it was shut down) while task %s (%s) ran; the script was stopped and is not run again on another delegate, and what it did before is unknown",
			a.o.Name, t.ID, t.Kind).WithCode("DelegateStopped").
			WithHint("%s", "Check what the script did, then run the step again."))
		res.DelegateID, res.DelegateName = a.ID(), a.o.Name
		a.postResult(pctx, t.ID, res)
	case handBack:
		if err := a.call(pctx, taskPath(protocol.PathRelease, t.ID), protocol.ReleaseRequest{Reason: "the delegate is stopping"}, nil); err != nil {
			a.log.Warn("hand back task", "task", t.ID, "err", err)
		} else {
			a.log.Info("handed task back", "task", t.ID)
		}
	default:
		res.DelegateID, res.DelegateName = a.ID(), a.o.Name
		a.postResult(pctx, t.ID, res)
	}
}

// postResult posts a result, retrying (it is idempotent) until the lease
// would have run out.
func (a *Agent) postResult(ctx context.Context, id string, res *task.Result) {
	for n := 0; ; n++ {
		err := a.call(ctx, taskPath(protocol.PathResult, id), protocol.ResultRequest{Result: *res}, nil)
		if err == nil {
			return
		}
		if codeOf(err) == protocol.CodeLeaseLost || permanent(err) {
			a.log.Warn("result refused", "task", id, "err", err)
			return
		}
		if a.backoff(ctx, n) != nil {
			a.log.Error("could not post a result before the lease ran out", "task", id, "err", err)
			return
		}
	}
}

func taskPath(p, id string) string { return strings.Replace(p, "{id}", id, 1) }

// leaseMargin is how long before the lease's end (as this delegate
// counts it) a task whose lease could not be extended is stopped: a fifth
// of the lease, at least a second, at most half of it. It leaves time for
// the task to stop, and for replicas' clocks to differ a little (the
// replica that expires the lease reads its own).
func leaseMargin(lease time.Duration) time.Duration {
	return min(max(lease/5, time.Second), lease/2)
}

// keepLease extends the lease every third of it. It cancels the task when
// the server says so or took the task back, and when it could not extend
// the lease by a margin before its end: the server gives the task to
// another delegate (or fails it) only after the end, so the two never run
// it at once. Each extension is bounded by that stop point, so a server
// that stops answering (a partition) cannot hold it past it.
func (a *Agent) keepLease(ctx context.Context, id string, lease time.Duration, expires time.Time, r *run, cancel context.CancelFunc) {
	margin := leaseMargin(lease)
	every := lease / 3
	retry := max(lease/10, 50*time.Millisecond)
	lose := func(msg string, args ...any) {
		a.log.Warn(msg, append([]any{"task", id}, args...)...)
		a.mu.Lock()
		r.lost = true
		a.mu.Unlock()
		cancel()
	}
	next, failed := time.Now().Add(every), false
	for {
		stopAt := expires.Add(-margin)
		if latest := stopAt.Add(-retry); !failed && next.After(latest) {
			next = latest // leave time for one more try before the stop point
		}
		if next.After(stopAt) {
			next = stopAt
		}
		t := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if !time.Now().Before(stopAt) {
			lose("could not extend the lease of a task in time; stopping it before the server may give it to another delegate", "margin", margin)
			return
		}
		sent := time.Now()
		cctx, ccancel := context.WithDeadline(ctx, stopAt)
		var resp protocol.ExtendResponse
		err := a.call(cctx, taskPath(protocol.PathExtend, id), struct{}{}, &resp)
		ccancel()
		switch {
		case err == nil:
			d := protocol.Duration(resp.LeaseMillis)
			if d <= 0 {
				d = lease
			}
			expires, next, failed = sent.Add(d), sent.Add(every), false
			if resp.Cancel {
				a.log.Info("task cancelled by the server", "task", id)
				cancel()
				return
			}
		case codeOf(err) == protocol.CodeLeaseLost || permanent(err):
			lose("lost the lease of a task; stopping it", "err", err)
			return
		case ctx.Err() != nil:
			return
		default:
			a.log.Warn("extend the lease of a task", "task", id, "err", err)
			// Try again soon (never past the stop point: see the top).
			next, failed = time.Now().Add(retry), true
		}
	}
}

// logShipper buffers a task's (already masked) log lines and posts them
// in batches with sequence numbers.
type logShipper struct {
	a    *Agent
	id   string
	mu   sync.Mutex
	buf  []byte
	seq  int64
	pend []protocol.LogLine
	kick chan struct{}
	done chan struct{}
	stop chan struct{}
}

func newLogShipper(a *Agent, id string) *logShipper {
	l := &logShipper{a: a, id: id, kick: make(chan struct{}, 1), done: make(chan struct{}), stop: make(chan struct{})}
	go l.loop()
	return l
}

func (l *logShipper) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		l.seq++
		l.pend = append(l.pend, protocol.LogLine{Seq: l.seq, At: time.Now().UTC(), Line: string(l.buf[:i])})
		l.buf = l.buf[i+1:]
	}
	n := len(l.pend)
	l.mu.Unlock()
	if n > 0 {
		select {
		case l.kick <- struct{}{}:
		default:
		}
	}
	return len(p), nil
}

func (l *logShipper) loop() {
	defer close(l.done)
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			l.flush(context.Background())
			return
		case <-l.kick:
		case <-t.C:
		}
		l.flush(context.Background())
	}
}

func (l *logShipper) flush(ctx context.Context) {
	l.mu.Lock()
	batch := l.pend
	l.pend = nil
	l.mu.Unlock()
	for len(batch) > 0 {
		n := min(len(batch), maxLogLines)
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := l.a.call(cctx, taskPath(protocol.PathLogs, l.id), protocol.LogsRequest{Lines: batch[:n]}, nil)
		cancel()
		if err != nil {
			l.a.log.Warn("post task logs", "task", l.id, "err", err)
			return
		}
		batch = batch[n:]
	}
}

// close passes on the last partial line and posts what is left.
func (l *logShipper) close(context.Context) {
	l.mu.Lock()
	if len(l.buf) > 0 {
		l.seq++
		l.pend = append(l.pend, protocol.LogLine{Seq: l.seq, At: time.Now().UTC(), Line: string(l.buf)})
		l.buf = nil
	}
	l.mu.Unlock()
	close(l.stop)
	<-l.done
}
