package delegate

import (
	"context"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/azimuthcd/azimuth/internal/access"
	"github.com/azimuthcd/azimuth/internal/failure"
	"github.com/azimuthcd/azimuth/internal/scope"
	"github.com/azimuthcd/azimuth/internal/store"
)

// The hub's management operations, called by the API with the caller's
// principal: delegate tokens need the admin role at their scope, listing
// delegates and tasks the viewer role.

func tokenNotFound(id string) error {
	return failure.New(failure.NotFound, "delegate token [%s] not found", id).WithCode("RESOURCE_NOT_FOUND_EXCEPTION")
}

func scopeNotFound(sc scope.Scope) error {
	return failure.New(failure.NotFound, "%s not found", sc.Describe()).WithCode("RESOURCE_NOT_FOUND_EXCEPTION")
}

func (h *Hub) authorize(p access.Principal, sc scope.Scope, a access.Action) error {
	if err := sc.Validate(); err != nil {
		return err
	}
	err := p.Authorize(sc, a)
	if errors.Is(err, access.ErrInvisible) {
		return scopeNotFound(sc)
	}
	return err
}

// CreateToken makes a delegate token at sc; the token is returned once.
func (h *Hub) CreateToken(ctx context.Context, p access.Principal, sc scope.Scope, name string) (store.DelegateToken, Token, error) {
	if err := h.authorize(p, sc, access.Manage); err != nil {
		return store.DelegateToken{}, Token{}, err
	}
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 128 || !utf8.ValidString(name) {
		return store.DelegateToken{}, Token{}, failure.InvalidField("name", "a token name of 1 to 128 characters is required")
	}
	ok, err := h.st.ScopeExists(ctx, sc)
	if err != nil {
		return store.DelegateToken{}, Token{}, err
	}
	if !ok {
		return store.DelegateToken{}, Token{}, scopeNotFound(sc)
	}
	id, tok, err := NewToken(sc.Account)
	if err != nil {
		return store.DelegateToken{}, Token{}, err
	}
	t := store.DelegateToken{ID: id, Name: name, Scope: sc, Hash: tok.Hash(), CreatedAt: h.now(), CreatedBy: p.KeyID}
	err = h.audited(ctx, p, "delegatetoken.create", sc, id, "name "+name, func(ctx context.Context) error {
		return h.st.CreateDelegateToken(ctx, &t)
	})
	if errors.Is(err, store.ErrDuplicate) {
		return store.DelegateToken{}, Token{}, failure.New(failure.Conflict, "a delegate token named %q already exists at %s", name, sc.Describe()).
			WithCode("DUPLICATE_FIELD")
	}
	if err != nil {
		return store.DelegateToken{}, Token{}, err
	}
	return t, tok, nil
}

// ListTokens lists the tokens at sc (and below it with sub).
func (h *Hub) ListTokens(ctx context.Context, p access.Principal, sc scope.Scope, sub bool) ([]store.DelegateToken, error) {
	if err := h.authorize(p, sc, access.Manage); err != nil {
		return nil, err
	}
	l, _, err := h.st.ListDelegateTokens(ctx, store.ListFilter{Scopes: []store.ScopeMatch{{Scope: sc, Subtree: sub}}})
	return l, err
}

// RevokeToken revokes a token: its delegates are refused at their next
// call, claim nothing more (the claim itself checks the token), no longer
// count as connected, and their waiting polls end at once (on every
// replica: the polls are woken and re-read the token). Tasks they run keep
// their leases until their next extension is refused: a task never runs on
// two delegates at once.
func (h *Hub) RevokeToken(ctx context.Context, p access.Principal, id string) (store.DelegateToken, error) {
	t, err := h.st.GetDelegateToken(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return t, tokenNotFound(id)
	}
	if err != nil {
		return t, err
	}
	if err := p.Authorize(t.Scope, access.Manage); err != nil {
		if errors.Is(err, access.ErrInvisible) {
			return store.DelegateToken{}, tokenNotFound(id)
		}
		return store.DelegateToken{}, err
	}
	now := h.now()
	err = h.audited(ctx, p, "delegatetoken.revoke", t.Scope, id, "name "+t.Name, func(ctx context.Context) error {
		if err := h.st.RevokeDelegateToken(ctx, id, now); err != nil {
			return err
		}
		return h.st.StopTokenDelegates(ctx, id, now)
	})
	if err != nil {
		return store.DelegateToken{}, err
	}
	h.notify()
	h.signal(ctx, signalQueued, "revoked "+id)
	return h.st.GetDelegateToken(ctx, id)
}

// DelegateInfo is a delegate as listed: its record and whether it is
// connected now.
type DelegateInfo struct {
	store.Delegate
	Connected bool
}

// ListDelegates lists the delegates at sc and below it.
func (h *Hub) ListDelegates(ctx context.Context, p access.Principal, sc scope.Scope) ([]DelegateInfo, error) {
	if err := h.authorize(p, sc, access.Read); err != nil {
		return nil, err
	}
	l, _, err := h.st.ListDelegates(ctx, store.ListFilter{Scopes: []store.ScopeMatch{{Scope: sc, Subtree: true}}})
	if err != nil {
		return nil, err
	}
	out := make([]DelegateInfo, 0, len(l))
	for _, d := range l {
		out = append(out, DelegateInfo{Delegate: d, Connected: h.Connected(d)})
	}
	return out, nil
}

// TaskQuery filters the task list.
type TaskQuery struct {
	Status, Kind, DelegateID string
	Page                     store.Page
}

// ListTasks lists the tasks asked for at sc or running at sc, and below.
func (h *Hub) ListTasks(ctx context.Context, p access.Principal, sc scope.Scope, q TaskQuery) ([]store.Task, int, error) {
	if err := h.authorize(p, sc, access.Read); err != nil {
		return nil, 0, err
	}
	if q.Page.Size <= 0 {
		q.Page.Size = 100
	}
	return h.st.ListTasks(ctx, store.TaskFilter{Scopes: []store.ScopeMatch{{Scope: sc, Subtree: true}}, Status: strings.ToUpper(q.Status),
		Kind: q.Kind, DelegateID: q.DelegateID, Page: q.Page})
}

// TaskLogPage is the most log lines one read of a task returns.
const TaskLogPage = 10000

// GetTask returns one task and its first TaskLogPage log lines.
func (h *Hub) GetTask(ctx context.Context, p access.Principal, id string) (store.Task, []store.TaskLog, error) {
	t, logs, _, err := h.GetTaskLogs(ctx, p, id, 0)
	return t, logs, err
}

// GetTaskLogs returns one task and up to TaskLogPage of its log lines
// after afterSeq (0: from the start), and whether more follow them: a
// reader following a running task asks with the last seq it has.
func (h *Hub) GetTaskLogs(ctx context.Context, p access.Principal, id string, afterSeq int64) (store.Task, []store.TaskLog, bool, error) {
	t, err := h.readableTask(ctx, p, id)
	if err != nil {
		return t, nil, false, err
	}
	logs, err := h.st.ListTaskLogs(ctx, id, max(afterSeq, 0), TaskLogPage+1)
	if err != nil {
		return t, nil, false, err
	}
	more := len(logs) > TaskLogPage
	if more {
		logs = logs[:TaskLogPage]
	}
	return t, logs, more, nil
}

// readableTask reads task id if p may see it.
func (h *Hub) readableTask(ctx context.Context, p access.Principal, id string) (store.Task, error) {
	notFound := failure.New(failure.NotFound, "task [%s] not found", strings.ToValidUTF8(id, "?")).WithCode("RESOURCE_NOT_FOUND_EXCEPTION")
	if !validTaskID(id) {
		return store.Task{}, notFound
	}
	t, err := h.st.GetTask(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return t, notFound
	}
	if err != nil {
		return t, err
	}
	if !p.IsSystem() && !p.Scope.Contains(t.Owner) && !p.Scope.Contains(t.Scope) {
		return store.Task{}, notFound
	}
	return t, nil
}
