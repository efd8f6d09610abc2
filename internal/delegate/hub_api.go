package delegate

import (
	"context"
	"encoding/json"

	"github.com/azimuthcd/azimuth/internal/access"
	"github.com/azimuthcd/azimuth/internal/scope"
	"github.com/azimuthcd/azimuth/internal/store"
	"github.com/azimuthcd/azimuth/internal/task"
)

// The hub as the API uses it (api.DelegateAdmin).

// CreateDelegateToken creates a token and returns it revealed, once.
func (h *Hub) CreateDelegateToken(ctx context.Context, p access.Principal, sc scope.Scope, name string) (store.DelegateToken, string, error) {
	t, tok, err := h.CreateToken(ctx, p, sc, name)
	return t, tok.Reveal(), err
}

// ListDelegateTokens is ListTokens.
func (h *Hub) ListDelegateTokens(ctx context.Context, p access.Principal, sc scope.Scope, sub bool) ([]store.DelegateToken, error) {
	return h.ListTokens(ctx, p, sc, sub)
}

// RevokeDelegateToken is RevokeToken.
func (h *Hub) RevokeDelegateToken(ctx context.Context, p access.Principal, id string) (store.DelegateToken, error) {
	return h.RevokeToken(ctx, p, id)
}

// ListDelegatesAt is ListDelegates, split into records and connected flags.
func (h *Hub) ListDelegatesAt(ctx context.Context, p access.Principal, sc scope.Scope) ([]store.Delegate, []bool, error) {
	l, err := h.ListDelegates(ctx, p, sc)
	if err != nil {
		return nil, nil, err
	}
	ds, conn := make([]store.Delegate, len(l)), make([]bool, len(l))
	for i, d := range l {
		ds[i], conn[i] = d.Delegate, d.Connected
	}
	return ds, conn, nil
}

// ListTasksAt is ListTasks.
func (h *Hub) ListTasksAt(ctx context.Context, p access.Principal, sc scope.Scope, status, kind, delegateID string, pg store.Page) ([]store.Task, int, error) {
	return h.ListTasks(ctx, p, sc, TaskQuery{Status: status, Kind: kind, DelegateID: delegateID, Page: pg})
}

// GetTaskWithLogs is GetTaskLogs.
func (h *Hub) GetTaskWithLogs(ctx context.Context, p access.Principal, id string, afterSeq int64) (store.Task, []store.TaskLog, bool, error) {
	return h.GetTaskLogs(ctx, p, id, afterSeq)
}

// ProtocolCalls lists the protocol's paths and summaries.
func (h *Hub) ProtocolCalls() [][2]string {
	var out [][2]string
	for _, r := range ProtocolRoutes() {
		out = append(out, [2]string{r.Path, r.Summary})
	}
	return out
}

// ServerDelegateName is the delegate name of tasks the server ran itself.
const ServerDelegateName = "(server)"

// RecordLocal implements engine.Recorder: it stores a task the server ran
// in-process, ended, so the task list shows it (status, timings, error).
// Its parameters are sealed as a dispatched task's are; its output is not
// stored: the caller has it, and nobody reads it back.
func (h *Hub) RecordLocal(ctx context.Context, spec task.Spec, res *task.Result) {
	t := store.Task{ID: res.TaskID, Kind: string(spec.Kind), Scope: spec.Scope, Owner: spec.Owner, Selectors: Selectors(spec),
		Status: string(res.Status), DelegateName: ServerDelegateName, Attempts: 1, MaxAttempts: 1, Runs: 1, Requester: spec.Requester,
		ConnectorVersion: spec.ConnectorVersion, CreatedAt: res.CreatedAt, ClaimedAt: res.StartedAt, StartedAt: res.StartedAt, FinishedAt: res.FinishedAt, Deadline: res.FinishedAt}
	if t.Owner.Account == "" {
		t.Owner = t.Scope
	}
	if spec.Connector != nil {
		t.ConnectorID = spec.Connector.Identifier
		t.ConnectorDoc, _ = json.Marshal(spec.Connector)
	}
	if res.Error != nil {
		t.Error, _ = json.Marshal(res.Error)
	}
	params, err := h.sealParams(res.TaskID, spec.Params)
	if err != nil {
		h.log.Warn("record a task the server ran", "task", res.TaskID, "err", err)
		params = nil // the row keeps none rather than plaintext
	}
	t.Params = params
	if err := h.st.CreateTask(context.WithoutCancel(ctx), &t); err != nil {
		h.log.Warn("record a task the server ran", "task", res.TaskID, "err", err)
	}
}
