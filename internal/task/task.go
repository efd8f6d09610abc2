// Package task is the model of Azimuth's unit of work: every Azure operation
// is a task with a kind, a connector snapshot and typed parameters, run either
// inside the server or on a delegate chosen by the connector's selectors. The
// engine (queue, dispatch, leases) builds on these types; the executors live
// in internal/ops. This file does no I/O.
package task

import (
	"encoding/json"
	"time"

	"github.com/azimuthcd/azimuth/internal/connector"
	"github.com/azimuthcd/azimuth/internal/failure"
	"github.com/azimuthcd/azimuth/internal/scope"
)

// Kind names an operation. Kinds are stable strings: they are stored in task
// rows and sent to delegates.
type Kind string

// Status is a task's place in its life.
type Status string

// The statuses. QUEUED → RUNNING → one of the terminal ones.
const (
	Queued    Status = "QUEUED"
	Running   Status = "RUNNING"
	Succeeded Status = "SUCCEEDED"
	Failed    Status = "FAILED"
	Cancelled Status = "CANCELLED"
)

// Terminal reports whether s is final.
func (s Status) Terminal() bool { return s == Succeeded || s == Failed || s == Cancelled }

// Where says where a task runs.
type Where string

// The placements. Auto follows the connector: executeOnDelegate (Harness's
// default true) and InheritFromDelegate send it to a delegate; a task
// without a connector runs in the server unless it names selectors.
const (
	Auto     Where = ""
	Server   Where = "SERVER"
	Delegate Where = "DELEGATE"
)

// Spec is what a caller asks the engine to run.
type Spec struct {
	// ID is the task's id when the caller chose it (engine.NewID's form),
	// so it can follow the task while it runs; empty gives a new one.
	ID   string
	Kind Kind
	// Scope is the scope the task is accounted to: the connector's scope.
	// It decides which delegates may run the task: delegates at this
	// scope or above it.
	Scope scope.Scope
	// Owner is the scope of whoever asked (an API key's request scope); it
	// decides who may see the task. Zero means Scope.
	Owner scope.Scope
	// Where overrides the connector's choice of server or delegate.
	Where Where
	// Connector is a snapshot of the connector the task uses (it holds only
	// secret references, never values); nil for kinds that need none.
	Connector *connector.Connector
	// ConnectorVersion identifies the connector's stored version; with the
	// versions of its secrets it keys the credential cache, so a change to
	// either drops the cached credential.
	ConnectorVersion int64
	// Params are the kind's parameters, JSON.
	Params json.RawMessage
	// Selectors are extra delegate selectors (a step's), ANDed with the
	// connector's delegateSelectors.
	Selectors []string
	// Timeout bounds the run; zero means the kind's default.
	Timeout time.Duration
	// Requester names who asked (API key id), for the audit trail.
	Requester string
}

// Error is a task's failure as it crosses the wire: a kind (failure.Kind's
// string), a stable machine-readable reason, a message and a hint saying
// what to do. It never carries a secret value.
type Error struct {
	Kind    string `json:"kind"`
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message"`
	Hint    string `json:"hint,omitempty"`
}

func (e *Error) Error() string {
	if e.Hint != "" {
		return e.Message + " (" + e.Hint + ")"
	}
	return e.Message
}

// Failure turns a wire error back into a *failure.Error.
func (e *Error) Failure() *failure.Error {
	return &failure.Error{Kind: failure.ParseKind(e.Kind), Code: e.Reason, Message: e.Message, Hint: e.Hint}
}

// ErrorFrom converts any error into its wire form: the kind, code and hint of
// the outermost *failure.Error, and the error's text as the message.
func ErrorFrom(err error) *Error {
	if err == nil {
		return nil
	}
	out := &Error{Kind: failure.KindOf(err).String(), Message: err.Error()}
	if fe, ok := failure.As(err); ok {
		out.Reason = fe.Code
		out.Hint = fe.Hint
	}
	return out
}

// Result is the outcome of a task.
type Result struct {
	TaskID string          `json:"taskId"`
	Kind   Kind            `json:"kind"`
	Status Status          `json:"status"`
	Output json.RawMessage `json:"output,omitempty"`
	Error  *Error          `json:"error,omitempty"`
	// DelegateID and DelegateName name the delegate that ran the task;
	// empty when the server ran it.
	DelegateID   string    `json:"delegateId,omitempty"`
	DelegateName string    `json:"delegateName,omitempty"`
	CreatedAt    time.Time `json:"createdAt"`
	StartedAt    time.Time `json:"startedAt,omitzero"`
	FinishedAt   time.Time `json:"finishedAt,omitzero"`
}
