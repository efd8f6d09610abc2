// Package conntest is the connection test around its executor
// (ops.Validate): it turns a task's outcome — including a task that could
// not run, such as a connector that needs a delegate — into Harness's
// ConnectorValidationResult, records it as the connector's status, and
// re-tests connectors in the background (periodically and when a secret
// they use changes).
package conntest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/azimuthcd/azimuth/internal/access"
	"github.com/azimuthcd/azimuth/internal/azure"
	"github.com/azimuthcd/azimuth/internal/connector"
	"github.com/azimuthcd/azimuth/internal/failure"
	"github.com/azimuthcd/azimuth/internal/ops"
	"github.com/azimuthcd/azimuth/internal/scope"
	"github.com/azimuthcd/azimuth/internal/store"
	"github.com/azimuthcd/azimuth/internal/task"
)

// LevelWarning marks a status entry that is a warning, not an error.
const LevelWarning = "WARNING"

// Reasons of failures the engine, not Azure, produced.
const (
	// ReasonTaskFailed is a task that ended without a result (it
	// panicked, or its output could not be read).
	ReasonTaskFailed = "TaskFailed"
	// ReasonNotRun is a test that could not be started (a secret it
	// needs is gone, for instance) and named no more specific reason.
	ReasonNotRun = "TaskNotRun"
)

// FromTask turns the outcome of an azure.validate task into its result.
// res and runErr are what Tasks.Run returned; c is the connector the task
// used. A task that could not run for a reason of the connector (it needs
// a delegate, a secret is missing), or that ran out of time, is a FAILURE
// result with that reason and hint: it is the connector's outcome. The
// error return is for what is not the connector's outcome — the request
// cancelled, or parameters the executor refused — and the caller answers
// it as an error without recording anything. runErr must come from a run
// whose connector was loaded: an Invalid or NotFound runErr is then a
// secret the connector refers to that cannot be resolved.
func FromTask(ctx context.Context, c *connector.Connector, res *task.Result, runErr error, now time.Time) (*ops.ValidationResult, error) {
	if runErr != nil {
		if ctx.Err() != nil || errors.Is(runErr, context.Canceled) {
			return nil, runErr
		}
		fe, _ := failure.As(runErr)
		reason, hint := ReasonNotRun, ""
		switch failure.KindOf(runErr) {
		case failure.NotFound, failure.Invalid:
			// The connector was loaded and the engine knows the kind, so
			// what is missing is a secret the connector refers to.
			reason = string(azure.ReasonSecretMissing)
			hint = "Create the secret the connector refers to, or point the connector's secretRef / certificateRef at an existing secret (a reference without a prefix names a secret in the connector's own scope; use account. or org. for the others)."
		default:
			if fe == nil {
				break
			}
			hint = fe.Hint
			if fe.Code != "" {
				reason = fe.Code
			}
		}
		return Failure(c, "", reason, runErr.Error(), hint, failure.KindOf(runErr), now), nil
	}
	if res == nil {
		return nil, failure.New(failure.Internal, "the engine returned no result")
	}
	switch res.Status {
	case task.Succeeded:
		var v ops.ValidationResult
		if err := json.Unmarshal(res.Output, &v); err != nil {
			return nil, fmt.Errorf("decode the result of connection test %s: %w", res.TaskID, err)
		}
		if v.TaskID == "" {
			v.TaskID = res.TaskID
		}
		if v.DelegateID == nil && res.DelegateID != "" {
			id := res.DelegateID
			v.DelegateID = &id
		}
		return &v, nil
	case task.Cancelled:
		return nil, failure.New(failure.Canceled, "connection test %s was cancelled", res.TaskID)
	}
	e := res.Error
	if e == nil {
		e = &task.Error{Kind: failure.Internal.String(), Message: fmt.Sprintf("connection test %s ended %s", res.TaskID, res.Status)}
	}
	kind := failure.ParseKind(e.Kind)
	if kind == failure.Invalid && e.Reason == "" {
		return nil, e.Failure()
	}
	reason := e.Reason
	if reason == "" {
		reason = ReasonTaskFailed
	}
	v := Failure(c, res.TaskID, reason, e.Message, e.Hint, kind, now)
	if res.DelegateID != "" {
		id := res.DelegateID
		v.DelegateID = &id
	}
	return v, nil
}

// Failure builds a FAILURE result in Harness's shape with Azimuth's
// reason and hint.
func Failure(c *connector.Connector, taskID, reason, msg, hint string, kind failure.Kind, now time.Time) *ops.ValidationResult {
	summary := fmt.Sprintf("%s (%s)", reason, msg)
	v := &ops.ValidationResult{
		Status: ops.StatusFailure, TaskID: taskID, TestedAt: now.UnixMilli(),
		Errors:       []ops.ErrorDetail{{Reason: reason, Message: msg, Code: kind.HTTPStatus()}},
		ErrorSummary: &summary, Reason: reason, Hint: hint,
	}
	if c != nil {
		v.Cloud = string(c.Cloud())
		v.CredentialType = c.CredentialType()
	}
	return v
}

// Status is the connector status a result records. prev is the status
// before the test: a failed test keeps its lastConnectedAt. Warnings
// (a certificate about to expire) are entries of level WARNING after the
// errors, so a SUCCESS status can carry them.
func Status(v *ops.ValidationResult, prev store.ConnectorStatus) store.ConnectorStatus {
	t := time.UnixMilli(v.TestedAt)
	if v.TestedAt == 0 {
		t = time.Now()
	}
	st := store.ConnectorStatus{Status: v.Status, TestedAt: t, LastTestedAt: t, LastConnectedAt: prev.LastConnectedAt}
	if v.Status == ops.StatusSuccess {
		st.LastConnectedAt = t
	}
	for _, e := range v.Errors {
		st.Errors = append(st.Errors, store.ConnectorError{Reason: e.Reason, Message: e.Message, Code: e.Code, Hint: v.Hint})
	}
	for _, w := range v.Warnings {
		st.Errors = append(st.Errors, store.ConnectorError{Reason: string(w.Reason), Message: w.Message, Hint: w.Hint, Level: LevelWarning})
	}
	if v.ErrorSummary != nil {
		st.ErrorSummary = *v.ErrorSummary
	}
	return st
}

// StatusSetter records a connector's status (*service.Connectors).
type StatusSetter interface {
	SetStatus(ctx context.Context, p access.Principal, sc scope.Scope, id string, st store.ConnectorStatus) error
}

// Record stores a result as the connector's status, acting as p.
func Record(ctx context.Context, svc StatusSetter, p access.Principal, sc scope.Scope, id string, prev store.ConnectorStatus, v *ops.ValidationResult) error {
	if err := svc.SetStatus(ctx, p, sc, id, Status(v, prev)); err != nil {
		return fmt.Errorf("record the connection test of connector %s: %w", id, err)
	}
	return nil
}
