// Package delegate is both ends of the delegate protocol
// (internal/protocol): the Hub, in the server, which keeps the registry of
// delegates and their tokens, queues tasks in the store and hands them to
// eligible delegates (it is the engine's Dispatcher); and the Agent, the
// `azimuth delegate` process, which registers, heartbeats, long-polls,
// runs tasks with the same executors as the server and posts results.
package delegate

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/azimuthcd/azimuth/internal/access"
	"github.com/azimuthcd/azimuth/internal/audit"
	"github.com/azimuthcd/azimuth/internal/connector"
	"github.com/azimuthcd/azimuth/internal/engine"
	"github.com/azimuthcd/azimuth/internal/failure"
	"github.com/azimuthcd/azimuth/internal/ops"
	"github.com/azimuthcd/azimuth/internal/scope"
	"github.com/azimuthcd/azimuth/internal/store"
	"github.com/azimuthcd/azimuth/internal/task"
)

// Defaults of HubOptions.
const (
	DefaultHeartbeat   = 10 * time.Second
	DefaultLease       = 30 * time.Second
	DefaultPollTimeout = 25 * time.Second
	DefaultMaxAttempts = 2
	DefaultRecheck     = 250 * time.Millisecond
	// DefaultPruneAfter is how long a delegate row stays after its last
	// contact (the list shows it as gone meanwhile).
	DefaultPruneAfter = 7 * 24 * time.Hour
	// DefaultOutputGrace is HubOptions.OutputGrace's default.
	DefaultOutputGrace = time.Minute
)

// Bounds of the hub's own calls: a store call or a signal to other
// replicas made for a caller gets this long, whatever the caller's own
// deadline.
const (
	storeTimeout  = 10 * time.Second
	signalTimeout = 5 * time.Second
	sweepTimeout  = 30 * time.Second
	pruneEvery    = time.Hour
)

// Store is what the hub needs from persistence.
type Store interface {
	store.Tx
	store.DelegateTokens
	store.Delegates
	store.Tasks
	store.AuditLog
	ScopeExists(ctx context.Context, sc scope.Scope) (bool, error)
}

// Signals carry wake-ups between replicas sharing a database (PostgreSQL
// NOTIFY; sqlstore.Store implements it).
type Signals interface {
	Signal(ctx context.Context, channel, payload string) error
	Listen(ctx context.Context, channels []string, fn func(channel, payload string)) error
}

// The signal channels: a task was queued (wake polls), a task ended
// (payload: its id; wake its waiter).
const (
	signalQueued = "azimuth_task_queued"
	signalEnded  = "azimuth_task_ended"
)

// HubOptions configure a Hub.
type HubOptions struct {
	Store Store
	// Signals, if set, wake other replicas' polls and waiters at once;
	// without them, they find the work on their next recheck.
	Signals Signals
	Secrets engine.SecretResolver
	// Sealer encrypts task outputs at rest (the secrets keyring); nil
	// stores them as they are (tests).
	Sealer  Sealer
	Logger  *slog.Logger
	Version string
	// Heartbeat is the interval delegates heartbeat at; a delegate unseen
	// for three of them is disconnected.
	Heartbeat time.Duration
	// Lease is how long a claim holds without an extension.
	Lease time.Duration
	// PollTimeout bounds one long-poll.
	PollTimeout time.Duration
	// MaxAttempts is how many delegates may try a task whose lease ran out
	// (kinds that are not safe to run again, script steps, get one).
	MaxAttempts int
	// Recheck is how often waiting polls and dispatches look at the store
	// for work another replica did; in-process work wakes them at once.
	Recheck time.Duration
	// PruneAfter is how long after its last contact a delegate's row is
	// deleted (it holds no running task); negative keeps them forever.
	PruneAfter time.Duration
	// OutputGrace is how long, beyond a lease, the output of an ended
	// task is kept for the request waiting for it (which clears it once
	// read): past it the waiter is gone, and the output (a kubeconfig, a
	// registry credential, a page of tags) is dropped. The task's row
	// stays. Default DefaultOutputGrace; the sweep runs at most this
	// often.
	OutputGrace time.Duration
	Now         func() time.Time
}

// Hub is the server side of the delegate protocol and the engine's
// Dispatcher. It is safe for concurrent use; several replicas sharing one
// PostgreSQL database each run one.
type Hub struct {
	st      Store
	secrets engine.SecretResolver
	log     *slog.Logger
	opts    HubOptions
	now     func() time.Time

	mu      sync.Mutex
	wake    chan struct{}            // closed when tasks were queued here
	done    map[string]chan struct{} // per task waited on: closed when it ends here
	touched map[string]time.Time     // delegate -> last contact written to the store
	masks   map[string]maskEntry     // task -> the masker of its secrets, while it runs
	pruned  time.Time                // last PruneDelegates
	swept   time.Time                // last DropTaskOutputs

	closing   chan struct{} // closed by Close: long-polls answer at once
	closeOnce sync.Once
}

var _ engine.Dispatcher = (*Hub)(nil)

// NewHub builds a hub.
func NewHub(o HubOptions) *Hub {
	if o.Heartbeat <= 0 {
		o.Heartbeat = DefaultHeartbeat
	}
	if o.Lease <= 0 {
		o.Lease = DefaultLease
	}
	if o.PollTimeout <= 0 {
		o.PollTimeout = DefaultPollTimeout
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.Recheck <= 0 {
		o.Recheck = DefaultRecheck
	}
	if o.PruneAfter == 0 {
		o.PruneAfter = DefaultPruneAfter
	}
	if o.OutputGrace <= 0 {
		o.OutputGrace = DefaultOutputGrace
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Hub{st: o.Store, secrets: o.Secrets, log: o.Logger.With("component", "delegate-hub"), opts: o, now: o.Now,
		wake: make(chan struct{}), done: map[string]chan struct{}{}, touched: map[string]time.Time{},
		masks: map[string]maskEntry{}, closing: make(chan struct{})}
}

// ConnectedWindow is how long after its last contact a delegate counts as
// connected: three heartbeats and some slack for a busy server.
func (h *Hub) ConnectedWindow() time.Duration { return 3*h.opts.Heartbeat + 5*time.Second }

// seen records contact from d: in the store at most every half heartbeat
// per delegate, so a busy delegate stays connected without a write per
// call.
func (h *Hub) seen(ctx context.Context, d store.Delegate) {
	now := h.now()
	h.mu.Lock()
	last := h.touched[d.ID]
	fresh := now.Sub(last) < h.opts.Heartbeat/2
	if !fresh {
		h.touched[d.ID] = now
	}
	h.mu.Unlock()
	if fresh {
		return
	}
	if err := h.st.TouchDelegate(ctx, d.ID, now); err != nil && ctx.Err() == nil {
		h.log.Warn("record delegate contact", "delegate", d.ID, "err", err)
	}
}

// Connected reports whether d is connected now.
func (h *Hub) Connected(d store.Delegate) bool {
	return d.StoppedAt.IsZero() && h.now().Sub(d.LastSeen) < h.ConnectedWindow()
}

func (h *Hub) wakeCh() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.wake
}

// notify wakes every poll waiting on this replica.
func (h *Hub) notify() {
	h.mu.Lock()
	close(h.wake)
	h.wake = make(chan struct{})
	h.mu.Unlock()
}

// signal tells other replicas (best effort: they recheck anyway). It is
// sent even when the caller has gone, within signalTimeout.
func (h *Hub) signal(ctx context.Context, channel, payload string) {
	if h.opts.Signals == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), signalTimeout)
	defer cancel()
	if err := h.opts.Signals.Signal(ctx, channel, payload); err != nil {
		h.log.Warn("signal other replicas", "channel", channel, "err", err)
	}
}

// bounded gives a store call made for ctx's caller storeTimeout, even if
// the caller has gone (the call must happen).
func bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
}

// ended wakes the dispatch waiting for task id on this replica, if any,
// and forgets the task's masker.
func (h *Hub) ended(id string) {
	h.mu.Lock()
	if ch, ok := h.done[id]; ok {
		close(ch)
		delete(h.done, id)
	}
	delete(h.masks, id)
	h.mu.Unlock()
}

// NormalizeTags trims, lowercases, drops empties and duplicates, and sorts:
// selectors and tags compare case-insensitively.
func NormalizeTags(in []string) []string {
	out := make([]string, 0, len(in))
	for _, t := range in {
		if t = strings.ToLower(strings.TrimSpace(t)); t != "" && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out
}

// Selectors are the selectors a spec's delegate must hold: the
// connector's delegateSelectors and the step's.
func Selectors(spec task.Spec) []string {
	var all []string
	if spec.Connector != nil {
		all = append(all, spec.Connector.DelegateSelectors()...)
	}
	return NormalizeTags(append(all, spec.Selectors...))
}

// Eligible reports whether delegate d may run a task at sc with sels: its
// scope is sc or above it and its tags hold every selector.
func Eligible(d store.Delegate, sc scope.Scope, sels []string) bool {
	if !d.Scope.Contains(sc) {
		return false
	}
	for _, s := range sels {
		if !slices.Contains(d.Tags, s) {
			return false
		}
	}
	return true
}

// Capable reports whether d reports every capability in requires as
// "true" (ops.Requirements decides what a task requires).
func Capable(d store.Delegate, requires []string) bool {
	for _, r := range requires {
		if d.Capabilities[r] != "true" {
			return false
		}
	}
	return true
}

// capabilities are the capabilities d reports as "true", for a claim.
func capabilities(d store.Delegate) []string {
	var out []string
	for k, v := range d.Capabilities {
		if v == "true" {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// need is what a task asks of its delegate, and what a message about it
// names.
type need struct {
	id        string // "" before it is queued
	kind      task.Kind
	scope     scope.Scope
	selectors []string // all of them, normalized
	requires  []string
	connector *connector.Connector // nil for kinds without one
	// stepSelectors are the step's own selectors (a dispatch) or all of
	// them (a queued task), for ops' step rule.
	stepSelectors []string
}

func (n need) eligible(d store.Delegate) bool {
	return Eligible(d, n.scope, n.selectors) && Capable(d, n.requires)
}

func (n need) what() string {
	w := string(n.kind)
	if n.id != "" {
		w = "task " + n.id + " (" + w + ")"
	}
	if n.connector != nil {
		w += " for connector " + n.connector.Identifier
	}
	return w
}

// needOf reads a stored task's needs.
func needOf(t store.Task) need {
	n := need{id: t.ID, kind: task.Kind(t.Kind), scope: t.Scope, selectors: t.Selectors, requires: t.Requires, stepSelectors: t.Selectors}
	if len(t.ConnectorDoc) > 0 {
		var c connector.Connector
		if json.Unmarshal(t.ConnectorDoc, &c) == nil {
			n.connector = &c
		}
	}
	return n
}

// connected lists the delegates that may get tasks at sc now: connected,
// not stopped, their token not revoked, at sc or above it. The store
// filters, so a scope with many long-gone delegates costs nothing here.
// With restarting, a delegate that said goodbye less than the connected
// window ago counts too (it may be restarting: a rolling update).
func (h *Hub) connected(ctx context.Context, sc scope.Scope, restarting bool) ([]store.Delegate, error) {
	var ms []store.ScopeMatch
	for _, a := range sc.Ancestors() {
		ms = append(ms, store.ScopeMatch{Scope: a})
	}
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	since := h.now().Add(-h.ConnectedWindow())
	var stoppedSince time.Time
	if restarting {
		stoppedSince = since
	}
	ds, err := h.st.ConnectedDelegates(ctx, ms, since, stoppedSince)
	if err != nil {
		return nil, fmt.Errorf("list the connected delegates of %s: %w", sc.Describe(), err)
	}
	return ds, nil
}

// Dispatch implements engine.Dispatcher: it fails at once when no
// connected delegate may run spec, queues it otherwise and waits for its
// end, its deadline or ctx.
func (h *Hub) Dispatch(ctx context.Context, spec task.Spec, id string, timeout time.Duration) (*task.Result, error) {
	n := need{kind: spec.Kind, scope: spec.Scope, selectors: Selectors(spec), requires: ops.Requirements(spec.Kind, spec.Connector),
		connector: spec.Connector, stepSelectors: spec.Selectors}
	if err := h.checkEligible(ctx, n); err != nil {
		return nil, err
	}
	attempts := h.opts.MaxAttempts
	if !ops.RerunSafe(spec.Kind) {
		attempts = 1
	}
	now := h.now()
	params, err := h.sealParams(id, spec.Params)
	if err != nil {
		return nil, err
	}
	t := store.Task{ID: id, Kind: string(spec.Kind), Scope: spec.Scope, Owner: spec.Owner, Selectors: n.selectors, Requires: n.requires,
		Status: store.TaskQueued, MaxAttempts: attempts, Requester: spec.Requester, Params: params,
		ConnectorVersion: spec.ConnectorVersion, CreatedAt: now, Deadline: now.Add(timeout)}
	if t.Owner.Account == "" {
		t.Owner = t.Scope
	}
	if spec.Connector != nil {
		doc, err := json.Marshal(spec.Connector)
		if err != nil {
			return nil, fmt.Errorf("encode the connector snapshot of task %s: %w", id, err)
		}
		t.ConnectorID, t.ConnectorDoc = spec.Connector.Identifier, doc
	}
	done := make(chan struct{})
	h.mu.Lock()
	h.done[id] = done
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.done, id)
		h.mu.Unlock()
	}()
	if err := h.st.CreateTask(ctx, &t); err != nil {
		return nil, fmt.Errorf("queue task %s: %w", id, err)
	}
	h.notify()
	h.signal(ctx, signalQueued, "")
	return h.wait(ctx, id, done, t.Deadline)
}

// wait waits for task id to end. It answers when this replica saw the end
// (done), or when a recheck of the store finds it ended elsewhere; past
// the deadline (plus a lease of grace for a result in flight) it fails the
// task; when ctx ends it cancels it. Each store call is bounded; one that
// fails is tried again at the next recheck (the grace bounds the whole).
func (h *Hub) wait(ctx context.Context, id string, done <-chan struct{}, deadline time.Time) (*task.Result, error) {
	tick := time.NewTicker(4 * h.opts.Recheck)
	defer tick.Stop()
	grace := time.NewTimer(deadline.Add(h.opts.Lease / 3).Sub(h.now()))
	defer grace.Stop()
	for {
		select {
		case <-done:
		case <-tick.C:
		case <-grace.C:
			e := task.ErrorFrom(failure.New(failure.Timeout, "task %s ran out of its time without a result from a delegate", id).WithCode("TaskTimeout"))
			b, _ := json.Marshal(e)
			ectx, cancel := bounded(ctx)
			_, err := h.st.EndTask(ectx, id, store.TaskFailed, b, h.now())
			cancel()
			if err != nil {
				return nil, fmt.Errorf("fail task %s past its deadline: %w", id, err)
			}
			h.signal(ctx, signalEnded, id)
		case <-ctx.Done():
			cctx, cancel := bounded(ctx)
			err := h.st.RequestCancel(cctx, id, h.now())
			cancel()
			if err != nil {
				h.log.Warn("cancel task", "task", id, "err", err)
			}
			return nil, ctx.Err()
		}
		gctx, cancel := context.WithTimeout(ctx, storeTimeout)
		t, err := h.st.GetTask(gctx, id)
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				h.log.Warn("read a dispatched task; trying again", "task", id, "err", err)
			}
			continue
		}
		if t.Status != store.TaskQueued && t.Status != store.TaskRunning {
			res := h.resultOf(ctx, t)
			if res.Output != nil {
				// Read: the row keeps no output (a credential, a page
				// of tags) nobody will read again.
				cctx, cancel := bounded(ctx)
				if err := h.st.ClearTaskOutput(cctx, id); err != nil {
					h.log.Warn("clear a task's output once read; the output sweep drops it later", "task", id, "err", err)
				}
				cancel()
			}
			return res, nil
		}
		if done != nil {
			select {
			case <-done:
				done = nil // seen; rely on the ticker from here
			default:
			}
		}
	}
}

// resultOf turns a terminal task row into a result.
func (h *Hub) resultOf(ctx context.Context, t store.Task) *task.Result {
	r := &task.Result{TaskID: t.ID, Kind: task.Kind(t.Kind), Status: task.Status(t.Status), DelegateID: t.DelegateID,
		DelegateName: t.DelegateName, CreatedAt: t.CreatedAt, StartedAt: t.StartedAt, FinishedAt: t.FinishedAt}
	if len(t.Output) > 0 {
		octx, cancel := bounded(ctx)
		out, err := h.openOutput(octx, t.ID, t.Output)
		cancel()
		if err != nil {
			h.log.Error("task output", "task", t.ID, "err", err)
			r.Status = task.Failed
			r.Error = &task.Error{Kind: failure.Internal.String(), Message: fmt.Sprintf("the output of task %s could not be read back; the server log says why", t.ID)}
			return r
		}
		r.Output = json.RawMessage(out)
	}
	if len(t.Error) > 0 {
		var e task.Error
		if err := json.Unmarshal(t.Error, &e); err == nil {
			r.Error = &e
		} else {
			r.Error = &task.Error{Kind: failure.Internal.String(), Message: "the task's stored error could not be read"}
		}
	}
	if r.Status != task.Succeeded && r.Error == nil {
		r.Error = &task.Error{Kind: failure.Internal.String(), Message: fmt.Sprintf("task %s ended %s", t.ID, t.Status)}
	}
	return r
}

// checkEligible fails with NoDelegate when no connected delegate may run a
// task with needs n, naming the selectors and the delegates that exist.
func (h *Hub) checkEligible(ctx context.Context, n need) error {
	live, err := h.connected(ctx, n.scope, false)
	if err != nil {
		return err
	}
	for _, d := range live {
		if n.eligible(d) {
			return nil
		}
	}
	return h.noDelegate(ctx, n, live)
}

// noDelegate is the error of a task no connected delegate (live) may run:
// its selectors and requirements, and the delegates that could serve its
// scope, connected or not. A managed-identity script step whose tags
// match delegates outside Kubernetes says so, in ops' words.
func (h *Hub) noDelegate(ctx context.Context, n need, live []store.Delegate) error {
	if slices.Contains(n.requires, ops.CapabilityKubernetes) && n.connector != nil {
		var tagged []ops.StepDelegate
		for _, d := range live {
			if Eligible(d, n.scope, n.selectors) {
				tagged = append(tagged, ops.StepDelegateOf(d.ID, d.Name, d.Tags, d.Capabilities))
			}
		}
		if len(tagged) > 0 {
			if _, err := ops.ChooseStepDelegates(n.connector, n.stepSelectors, tagged); err != nil {
				fe, ok := failure.As(err)
				if !ok {
					return err
				}
				return failure.New(fe.Kind, "no eligible delegate to run %s at %s or above it: %s", n.what(), n.scope.Describe(), fe.Message).
					WithCode(fe.Code).WithHint("%s", fe.Hint)
			}
		}
	}
	var seen []string
	for _, d := range live {
		seen = append(seen, describeDelegate(d, "connected"))
	}
	var ms []store.ScopeMatch
	for _, a := range n.scope.Ancestors() {
		ms = append(ms, store.ScopeMatch{Scope: a})
	}
	rctx, cancel := context.WithTimeout(ctx, storeTimeout)
	recent, total, err := h.st.RecentDelegates(rctx, ms, len(live)+10)
	cancel()
	if err != nil {
		h.log.Warn("list delegates for a message", "err", err)
	}
	shown := len(live)
	for _, d := range recent {
		if slices.ContainsFunc(live, func(l store.Delegate) bool { return l.ID == d.ID }) || shown >= len(live)+10 {
			continue
		}
		shown++
		state := "disconnected, last seen " + d.LastSeen.UTC().Format(time.RFC3339)
		if !d.StoppedAt.IsZero() {
			state = "stopped at " + d.StoppedAt.UTC().Format(time.RFC3339)
		}
		seen = append(seen, describeDelegate(d, state))
	}
	if total > shown {
		seen = append(seen, fmt.Sprintf("and %d more that have not been seen for longer", total-shown))
	}
	want := "any connected delegate"
	if len(n.selectors) > 0 {
		want = "a connected delegate whose tags include all of the selectors [" + strings.Join(n.selectors, ", ") + "]"
	}
	if slices.Contains(n.requires, ops.CapabilityKubernetes) {
		want += " that runs in Kubernetes (the connector inherits the delegate's managed identity, so a script step with it runs on a delegate in AKS)"
	} else if len(n.requires) > 0 {
		want += " reporting " + strings.Join(n.requires, ", ")
	}
	exist := "no delegate has registered at " + n.scope.Describe() + " or above it"
	if len(seen) > 0 {
		exist = "delegates that could serve this scope: " + strings.Join(seen, "; ")
	}
	return failure.New(failure.Unavailable, "no eligible delegate to run %s: it needs %s at %s or above it; %s",
		n.what(), want, n.scope.Describe(), exist).
		WithCode("NoDelegate").
		WithHint("Start `azimuth delegate --tags %s` with a token of %s or above, or change the connector's delegateSelectors.",
			strings.Join(n.selectors, ","), n.scope.Describe())
}

func describeDelegate(d store.Delegate, state string) string {
	tags := "no tags"
	if len(d.Tags) > 0 {
		tags = "tags [" + strings.Join(d.Tags, ", ") + "]"
	}
	if d.Capabilities[ops.CapabilityKubernetes] == "true" {
		tags += ", in Kubernetes"
	}
	return fmt.Sprintf("%s (%s, %s, %s)", d.Name, d.Scope.Describe(), tags, state)
}

// expiredError builds the stored error of a task ExpireTasks ends.
func (h *Hub) expiredError(t store.Task, queued bool) []byte {
	var fe *failure.Error
	switch {
	case t.CancelRequested && queued:
		fe = failure.New(failure.Canceled, "task %s (%s) was cancelled before a delegate ran it", t.ID, t.Kind).WithCode("Cancelled")
	case t.CancelRequested:
		fe = failure.New(failure.Canceled, "task %s (%s) was cancelled; delegate %s stopped renewing its lease before it confirmed the stop, and the task is not run again",
			t.ID, t.Kind, t.DelegateName).WithCode("Cancelled")
	case queued:
		sels := "any delegate"
		if len(t.Selectors) > 0 {
			sels = "a delegate with tags [" + strings.Join(t.Selectors, ", ") + "]"
		}
		fe = failure.New(failure.Timeout, "task %s (%s) was not picked up within its time: %s at %s was needed", t.ID, t.Kind, sels, t.Scope.Describe()).
			WithCode("TaskTimeout")
	case !t.Deadline.After(h.now()):
		fe = failure.New(failure.Timeout, "task %s (%s) ran out of its time on delegate %s", t.ID, t.Kind, t.DelegateName).WithCode("TaskTimeout")
	case !ops.RerunSafe(task.Kind(t.Kind)):
		fe = failure.New(failure.Unavailable, "delegate %s stopped renewing the lease of task %s (%s) while it ran; a script is not idempotent, so it is not run again on another delegate, and what it did before the delegate was lost is unknown",
			t.DelegateName, t.ID, t.Kind).
			WithCode("DelegateLost").
			WithHint("Check what the script did and whether delegate %s is still running, then run the step again.", t.DelegateName)
	default:
		fe = failure.New(failure.Unavailable, "delegate %s stopped renewing the lease of task %s (%s) and no attempt is left (%d of %d); the task did not finish",
			t.DelegateName, t.ID, t.Kind, t.Attempts, t.MaxAttempts).
			WithCode("DelegateLost").
			WithHint("Check that delegate %s is running and can reach the server; run the task again.", t.DelegateName)
	}
	b, _ := json.Marshal(task.ErrorFrom(fe))
	return b
}

// ExpireLeases re-queues tasks whose delegate stopped extending their
// lease (or fails them, out of attempts or time, or cancels them, if
// cancellation was asked for), fails queued tasks past their deadline and
// queued tasks no connected delegate can run any more, and now and then
// prunes delegates long gone. The server runs it as a job on every
// replica.
func (h *Hub) ExpireLeases(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, sweepTimeout)
	defer cancel()
	ex, err := h.st.ExpireTasks(ctx, h.now(), h.expiredError)
	if err != nil {
		return err
	}
	for _, t := range ex.Requeued {
		h.log.Warn("lease ran out; task queued again", "task", t.ID, "kind", t.Kind, "delegate", t.DelegateName, "attempt", t.Attempts)
		if err := h.failIfStranded(ctx, t); err != nil {
			h.log.Warn("check a requeued task", "task", t.ID, "err", err)
		}
	}
	if len(ex.Requeued) > 0 {
		h.notify()
		h.signal(ctx, signalQueued, "")
	}
	for _, t := range ex.Failed {
		h.log.Warn("task failed without a result", "task", t.ID, "kind", t.Kind, "delegate", t.DelegateName)
		h.ended(t.ID)
		h.signal(ctx, signalEnded, t.ID)
	}
	for _, t := range ex.Cancelled {
		h.log.Info("cancelled task ended without its delegate's word", "task", t.ID, "kind", t.Kind, "delegate", t.DelegateName)
		h.ended(t.ID)
		h.signal(ctx, signalEnded, t.ID)
	}
	if err := h.failStranded(ctx); err != nil {
		h.log.Warn("check queued tasks for a connected delegate", "err", err)
	}
	h.forgetMasks()
	h.prune(ctx)
	h.dropOutputs(ctx)
	return nil
}

// failIfStranded fails a task that went back to the queue when no other
// connected delegate may run it, rather than letting it wait for its
// deadline.
func (h *Hub) failIfStranded(ctx context.Context, t store.Task) error {
	live, err := h.connected(ctx, t.Scope, false)
	if err != nil {
		return err
	}
	n := needOf(t)
	for _, d := range live {
		if d.ID != t.DelegateID && n.eligible(d) {
			return nil
		}
	}
	sels := ""
	if len(t.Selectors) > 0 {
		sels = " with tags [" + strings.Join(t.Selectors, ", ") + "]"
	}
	if slices.Contains(t.Requires, ops.CapabilityKubernetes) {
		sels += " in Kubernetes"
	}
	fe := failure.New(failure.Unavailable, "delegate %s stopped renewing the lease of task %s (%s) and no other connected delegate%s at %s can run it",
		t.DelegateName, t.ID, t.Kind, sels, t.Scope.Describe()).
		WithCode("DelegateLost").
		WithHint("Check that delegate %s is running and can reach the server, or start another one; then run the task again.", t.DelegateName)
	return h.failQueued(ctx, t.ID, fe)
}

// failStranded fails the queued tasks that no connected delegate can run
// any more (the delegate they were queued for died or was revoked since),
// with the message a dispatch gets, rather than letting them wait for
// their deadline. A delegate that said goodbye within the connected window
// still counts (it may be restarting, and the tasks it handed back wait
// for it). Tasks are grouped by what they need, so each group costs one
// look at the delegates.
func (h *Hub) failStranded(ctx context.Context) error {
	groups, err := h.st.QueuedGroups(ctx)
	if err != nil {
		return err
	}
	liveAt := map[scope.Scope][]store.Delegate{}
	for _, g := range groups {
		live, ok := liveAt[g.Scope]
		if !ok {
			if live, err = h.connected(ctx, g.Scope, true); err != nil {
				return err
			}
			liveAt[g.Scope] = live
		}
		gn := need{scope: g.Scope, selectors: g.Selectors, requires: g.Requires}
		if slices.ContainsFunc(live, gn.eligible) {
			continue
		}
		ts, err := h.st.QueuedIn(ctx, g, 100)
		if err != nil {
			return err
		}
		for _, t := range ts {
			err := h.noDelegate(ctx, needOf(t), live)
			fe, ok := failure.As(err)
			if !ok {
				return err
			}
			h.log.Warn("no connected delegate can run a queued task; failing it", "task", t.ID, "kind", t.Kind, "selectors", t.Selectors)
			if err := h.failQueued(ctx, t.ID, fe); err != nil {
				return err
			}
		}
	}
	return nil
}

// failQueued fails a task still queued with fe and wakes its waiters.
func (h *Hub) failQueued(ctx context.Context, id string, fe *failure.Error) error {
	b, _ := json.Marshal(task.ErrorFrom(fe))
	ok, err := h.st.FailQueued(ctx, id, b, h.now())
	if err != nil {
		return err
	}
	if ok {
		h.ended(id)
		h.signal(ctx, signalEnded, id)
	}
	return nil
}

// prune deletes delegates not seen for PruneAfter, at most once an hour.
func (h *Hub) prune(ctx context.Context) {
	if h.opts.PruneAfter < 0 {
		return
	}
	now := h.now()
	h.mu.Lock()
	due := now.Sub(h.pruned) >= pruneEvery
	if due {
		h.pruned = now
	}
	h.mu.Unlock()
	if !due {
		return
	}
	n, err := h.st.PruneDelegates(ctx, now.Add(-h.opts.PruneAfter))
	if err != nil {
		h.log.Warn("prune delegates long gone", "err", err)
		return
	}
	if n > 0 {
		h.log.Info("pruned delegates long gone", "count", n, "unseen for", h.opts.PruneAfter)
	}
}

// dropOutputs drops the outputs of tasks that ended more than a lease and
// OutputGrace ago, at most every OutputGrace: the request that waited for
// each read it and cleared it long before, unless it went away (its
// client or replica died).
func (h *Hub) dropOutputs(ctx context.Context) {
	now := h.now()
	h.mu.Lock()
	due := now.Sub(h.swept) >= h.opts.OutputGrace
	if due {
		h.swept = now
	}
	h.mu.Unlock()
	if !due {
		return
	}
	n, err := h.st.DropTaskOutputs(ctx, now.Add(-h.opts.Lease-h.opts.OutputGrace))
	if err != nil {
		h.log.Warn("drop the outputs nobody read", "err", err)
		return
	}
	if n > 0 {
		h.log.Info("dropped the outputs of ended tasks nobody read", "count", n, "endedMoreThan", h.opts.Lease+h.opts.OutputGrace)
	}
}

// Close makes waiting long-polls answer at once (the server is stopping;
// delegates poll again and find it gone or back).
func (h *Hub) Close() { h.closeOnce.Do(func() { close(h.closing) }) }

// RunExpiry runs ExpireLeases every interval until ctx ends, then closes
// the hub.
func (h *Hub) RunExpiry(ctx context.Context, every time.Duration) error {
	defer h.Close()
	if every <= 0 {
		every = time.Second
	}
	if h.opts.Signals != nil {
		go func() {
			err := h.opts.Signals.Listen(ctx, []string{signalQueued, signalEnded}, func(ch, payload string) {
				switch ch {
				case signalQueued:
					h.notify()
				case signalEnded:
					h.ended(payload)
				}
			})
			if err != nil && ctx.Err() == nil {
				h.log.Warn("listen for other replicas' signals", "err", err)
			}
		}()
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			if err := h.ExpireLeases(ctx); err != nil && ctx.Err() == nil {
				h.log.Warn("expire task leases", "err", err)
			}
		}
	}
}

// claim claims up to max tasks for d (the store refuses a delegate whose
// token is revoked).
func (h *Hub) claim(ctx context.Context, d store.Delegate, max int) ([]store.Task, error) {
	got, err := h.st.ClaimTasks(ctx, store.Claim{DelegateID: d.ID, DelegateName: d.Name, Scope: d.Scope, Tags: d.Tags,
		Capabilities: capabilities(d), Lease: h.opts.Lease, Now: h.now(), Max: max})
	if err != nil {
		return nil, err
	}
	return got, nil
}

// secretsFor decrypts the secrets of a claimed task's connector.
func (h *Hub) secretsFor(ctx context.Context, t store.Task, c *connector.Connector) ([]secretValue, error) {
	if c == nil {
		return nil, nil
	}
	uses := c.SecretUses()
	if len(uses) == 0 {
		return nil, nil
	}
	if h.secrets == nil {
		return nil, failure.New(failure.Internal, "the delegate hub has no secret resolver")
	}
	res, err := h.secrets.Resolve(ctx, access.System("task "+t.ID+" on delegate "+t.DelegateName), t.Scope, uses)
	if err != nil {
		return nil, fmt.Errorf("resolve the secrets of connector %s: %w", c.Identifier, err)
	}
	out := make([]secretValue, 0, len(res))
	for _, r := range res {
		out = append(out, secretValue{path: r.Use.Path, value: r.Value})
	}
	return out, nil
}

// audit records an event of the hub's own (token create and revoke).
func (h *Hub) audited(ctx context.Context, p access.Principal, action string, sc scope.Scope, id, detail string, fn func(ctx context.Context) error) error {
	return h.st.InTx(ctx, func(ctx context.Context) error {
		if err := fn(ctx); err != nil {
			return err
		}
		name := p.Name
		if p.IsSystem() {
			name = audit.SystemActor
		}
		return h.st.AppendAudit(ctx, &audit.Event{Time: h.now(), ActorKeyID: p.KeyID, ActorName: name, Action: action,
			ResourceType: "delegatetoken", Scope: sc, Identifier: id, Outcome: audit.Success, Detail: detail, Source: p.Source})
	})
}
