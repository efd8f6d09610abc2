// Package engine runs tasks: it decides where a task runs (in the server or
// on a delegate), resolves the connector's secrets for the run and only for
// it, runs the kind's executor (internal/ops) under the kind's timeout and
// returns a task.Result. It implements api.Tasks.
//
// Tasks that run in the server are executed here, in-process. Tasks that
// must run on a delegate are handed to a Dispatcher (the delegate hub);
// without one they fail at once with a message saying a delegate is needed.
package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/azimuthcd/azimuth/internal/access"
	"github.com/azimuthcd/azimuth/internal/connector"
	"github.com/azimuthcd/azimuth/internal/failure"
	"github.com/azimuthcd/azimuth/internal/ops"
	"github.com/azimuthcd/azimuth/internal/scope"
	"github.com/azimuthcd/azimuth/internal/service"
	"github.com/azimuthcd/azimuth/internal/task"
)

// DefaultTimeout bounds a task whose kind names no timeout of its own.
const DefaultTimeout = 5 * time.Minute

// Timeouts per kind. The connection test gets 2 minutes, as in Harness.
var Timeouts = map[task.Kind]time.Duration{
	ops.KindValidate: 2 * time.Minute,
	// A permission check makes a handful of reads; generation none.
	ops.KindPermissionsCheck: 2 * time.Minute,
	ops.KindPermissionsRole:  time.Minute,
	ops.KindStep:             ops.StepTaskTimeout,
}

// SecretResolver decrypts the secrets a connector refers to
// (service.Secrets).
type SecretResolver interface {
	Resolve(ctx context.Context, p access.Principal, owner scope.Scope, uses []connector.SecretUse) ([]service.Resolved, error)
}

// Dispatcher runs a task on a delegate: the delegate hub. It owns the
// task's life from there (queue, claim, lease, result).
type Dispatcher interface {
	Dispatch(ctx context.Context, spec task.Spec, id string, timeout time.Duration) (*task.Result, error)
}

// Deps are what the engine needs.
type Deps struct {
	Secrets   SecretResolver
	Env       *ops.Env
	Executors map[task.Kind]ops.Func // default ops.Registry()
	Delegates Dispatcher             // nil: no delegate can run tasks
	Logger    *slog.Logger
	Now       func() time.Time
}

// Engine runs tasks. It is safe for concurrent use.
type Engine struct {
	secrets   SecretResolver
	env       *ops.Env
	executors map[task.Kind]ops.Func
	delegates Dispatcher
	log       *slog.Logger
	now       func() time.Time
	recorder  Recorder // record.go
}

// New builds an engine.
func New(d Deps) *Engine {
	if d.Executors == nil {
		d.Executors = ops.Registry()
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Engine{secrets: d.Secrets, env: d.Env, executors: d.Executors, delegates: d.Delegates,
		log: d.Logger.With("component", "engine"), now: d.Now}
}

// SetDispatcher installs the delegate hub (it is built after the engine).
func (e *Engine) SetDispatcher(d Dispatcher) { e.delegates = d }

// Executors returns the executor table (the delegate hub's agents run the
// same one).
func (e *Engine) Executors() map[task.Kind]ops.Func { return e.executors }

// TimeoutOf is the timeout a spec runs under.
func TimeoutOf(spec task.Spec) time.Duration {
	if spec.Timeout > 0 {
		return spec.Timeout
	}
	if d, ok := Timeouts[spec.Kind]; ok {
		return d
	}
	return DefaultTimeout
}

// NewID returns a new task id.
func NewID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "tsk_" + hex.EncodeToString(b[:])
}

// Placement decides where spec runs: Server or Delegate.
func Placement(spec task.Spec) task.Where {
	if ops.DelegateOnly(spec.Kind) {
		return task.Delegate
	}
	if spec.Where != task.Auto {
		return spec.Where
	}
	if spec.Connector == nil {
		if len(spec.Selectors) > 0 {
			return task.Delegate
		}
		return task.Server
	}
	if spec.Connector.CredentialType() == connector.CredentialInherit || spec.Connector.ExecutesOnDelegate() || len(spec.Selectors) > 0 {
		return task.Delegate
	}
	return task.Server
}

// Run runs spec to its end. A task that ran and failed is a Result with
// status FAILED; err is for a task that could not be run at all.
func (e *Engine) Run(ctx context.Context, spec task.Spec) (*task.Result, error) {
	if _, ok := e.executors[spec.Kind]; !ok {
		return nil, failure.New(failure.Invalid, "unknown task kind %q", spec.Kind)
	}
	if spec.Owner == (scope.Scope{}) {
		spec.Owner = spec.Scope
	}
	id := spec.ID
	if id == "" {
		id = NewID()
	}
	timeout := TimeoutOf(spec)
	if Placement(spec) == task.Delegate {
		if err := ops.CheckPlacement(spec.Kind, spec.Connector, spec.Selectors); err != nil {
			return nil, err
		}
		if e.delegates == nil && ops.DelegateOnly(spec.Kind) {
			return nil, failure.New(failure.Unavailable, "%s runs only on delegates, and none can run it", spec.Kind).
				WithCode("NoDelegate").
				WithHint("%s", "Run `azimuth delegate` with a token of this account (with the step's and the connector's selectors as its tags).")
		}
		if e.delegates == nil {
			return nil, failure.New(failure.Unavailable, "%s needs a delegate: the connector %s", spec.Kind, needsDelegateWhy(spec)).
				WithCode("NoDelegate").
				WithHint("%s", "Run `azimuth delegate` with a token of this account (and the connector's selectors as its tags), or set executeOnDelegate: false to connect through the server.")
		}
		return e.delegates.Dispatch(ctx, spec, id, timeout)
	}
	res, err := e.RunLocal(ctx, spec, id, timeout, nil)
	if err == nil && e.recorder != nil {
		e.recorder.RecordLocal(ctx, spec, res)
	}
	return res, err
}

func needsDelegateWhy(spec task.Spec) string {
	c := spec.Connector
	switch {
	case c != nil && c.CredentialType() == connector.CredentialInherit:
		return "inherits its credentials from the delegate (InheritFromDelegate)"
	case c != nil && c.ExecutesOnDelegate():
		if s := c.DelegateSelectors(); len(s) > 0 {
			return "connects through a delegate (executeOnDelegate: true, selectors " + strings.Join(s, ", ") + ")"
		}
		return "connects through a delegate (executeOnDelegate: true)"
	default:
		return "names delegate selectors " + strings.Join(spec.Selectors, ", ")
	}
}

// RunLocal runs spec in this process: resolve its secrets, run the
// executor under timeout, and return the result. log receives the task's
// log lines (nil discards). Delegates call it too, with secrets already
// resolved by the server (see Execute).
func (e *Engine) RunLocal(ctx context.Context, spec task.Spec, id string, timeout time.Duration, log io.Writer) (*task.Result, error) {
	var secrets ops.Secrets
	if spec.Connector != nil {
		uses := spec.Connector.SecretUses()
		if len(uses) > 0 {
			if e.secrets == nil {
				return nil, failure.New(failure.Internal, "engine has no secret resolver")
			}
			resolved, err := e.secrets.Resolve(ctx, access.System("task "+id), spec.Scope, uses)
			if err != nil {
				return nil, fmt.Errorf("resolve the secrets of connector %s: %w", spec.Connector.Identifier, err)
			}
			secrets = ops.Secrets{}
			for _, r := range resolved {
				secrets[r.Use.Path] = r.Value.Reveal()
			}
			defer func() {
				for _, r := range resolved {
					r.Value.Wipe()
				}
			}()
		}
	}
	return Execute(ctx, e.env, e.executors, spec, id, timeout, secrets, log, e.now), nil
}

// Execute runs one task with its secrets already resolved: the code both
// the server and delegates run. It never fails: every error becomes the
// result's.
func Execute(ctx context.Context, env *ops.Env, executors map[task.Kind]ops.Func, spec task.Spec, id string, timeout time.Duration,
	secrets ops.Secrets, log io.Writer, now func() time.Time) *task.Result {
	if now == nil {
		now = time.Now
	}
	res := &task.Result{TaskID: id, Kind: spec.Kind, CreatedAt: now(), StartedAt: now()}
	if env != nil {
		res.DelegateID = env.DelegateID
	}
	fn, ok := executors[spec.Kind]
	if !ok {
		res.Status, res.FinishedAt = task.Failed, now()
		res.Error = task.ErrorFrom(failure.New(failure.Invalid, "this process cannot run task kind %q", spec.Kind))
		return res
	}
	if log == nil {
		log = io.Discard
	}
	if len(secrets) > 0 {
		mw := NewMasker(secretValues(secrets)).Writer(log)
		defer func() { _ = mw.Flush() }()
		log = mw
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	in := ops.Input{TaskID: id, Kind: spec.Kind, Connector: spec.Connector, Secrets: secrets,
		CredentialKey: fmt.Sprintf("v%d", spec.ConnectorVersion), Params: spec.Params, Log: log}
	out, err := runGuarded(ctx, fn, env, in)
	res.FinishedAt = now()
	switch {
	case err == nil:
		b, merr := marshalOutput(out)
		if merr != nil {
			res.Status, res.Error = task.Failed, task.ErrorFrom(merr)
			return res
		}
		res.Status, res.Output = task.Succeeded, b
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil:
		res.Status = task.Failed
		res.Error = task.ErrorFrom(failure.Wrap(failure.Timeout, err, "task %s (%s) ran out of its %s", id, spec.Kind, timeout).WithCode("TaskTimeout"))
	case errors.Is(err, context.Canceled):
		res.Status, res.Error = task.Cancelled, task.ErrorFrom(err)
	default:
		res.Status, res.Error = task.Failed, task.ErrorFrom(err)
	}
	if res.Error != nil && secrets != nil {
		res.Error = maskError(res.Error, secrets)
	}
	return res
}

// runGuarded turns an executor's panic into an internal failure, so one bad
// task cannot take the process down.
func runGuarded(ctx context.Context, fn ops.Func, env *ops.Env, in ops.Input) (out any, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = failure.New(failure.Internal, "task %s (%s) panicked: %v", in.TaskID, in.Kind, r)
		}
	}()
	return fn(ctx, env, in)
}

// maskError removes any secret value an error message might carry.
func maskError(e *task.Error, secrets ops.Secrets) *task.Error {
	m := NewMasker(secretValues(secrets))
	out := *e
	out.Message = m.Mask(out.Message)
	out.Hint = m.Mask(out.Hint)
	return &out
}

func secretValues(s ops.Secrets) [][]byte {
	out := make([][]byte, 0, len(s))
	for _, v := range s {
		out = append(out, v)
	}
	return out
}
