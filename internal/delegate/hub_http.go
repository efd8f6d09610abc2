package delegate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/azimuthcd/azimuth/internal/connector"
	"github.com/azimuthcd/azimuth/internal/failure"
	"github.com/azimuthcd/azimuth/internal/protocol"
	"github.com/azimuthcd/azimuth/internal/secret"
	"github.com/azimuthcd/azimuth/internal/store"
	"github.com/azimuthcd/azimuth/internal/task"
)

// Limits of what a delegate may send.
const (
	maxBody        = 4 << 20
	maxLogLines    = 1000
	maxLogLine     = 16 << 10
	maxTags        = 64
	maxConcurrency = 1024
	offerParallel  = 8 // tasks of one poll answer whose secrets resolve at once
)

type secretValue struct {
	path  string
	value secret.Value
}

// protoError is a refusal with a protocol code.
type protoError struct {
	status int
	body   protocol.ErrorBody
}

func (e *protoError) Error() string { return e.body.Code + ": " + e.body.Message }

func perr(status int, code string, kind failure.Kind, format string, args ...any) *protoError {
	return &protoError{status: status, body: protocol.ErrorBody{Code: code, Kind: kind.String(), Message: fmt.Sprintf(format, args...)}}
}

// session is an authenticated call: its token and, after Register, its
// delegate.
type session struct {
	token    store.DelegateToken
	delegate store.Delegate
}

// ProtocolRoutes lists the protocol's calls (method POST each), for the
// route table.
func ProtocolRoutes() []struct{ Path, Summary string } {
	return []struct{ Path, Summary string }{
		{protocol.PathRegister, "Delegate protocol: register with a delegate token"},
		{protocol.PathHeartbeat, "Delegate protocol: heartbeat (answers tasks to cancel)"},
		{protocol.PathPoll, "Delegate protocol: long-poll for tasks (claims them with a lease)"},
		{protocol.PathExtend, "Delegate protocol: extend a task's lease"},
		{protocol.PathLogs, "Delegate protocol: post masked log lines of a task"},
		{protocol.PathResult, "Delegate protocol: post a task's result (idempotent)"},
		{protocol.PathRelease, "Delegate protocol: hand a task back to the queue"},
		{protocol.PathUnregister, "Delegate protocol: say goodbye"},
	}
}

// ServeProtocol serves one protocol call (every path under
// protocol.Base).
func (h *Hub) ServeProtocol(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeErr(w, perr(http.StatusMethodNotAllowed, protocol.CodeInvalid, failure.Invalid, "the delegate protocol uses POST"))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	s, err := h.authenticate(r)
	if err != nil {
		writeErr(w, err)
		return
	}
	var out any
	switch path := r.URL.Path; {
	case path == protocol.PathRegister:
		out, err = h.register(r, s)
	case path == protocol.PathHeartbeat:
		out, err = h.heartbeat(r, s)
	case path == protocol.PathPoll:
		out, err = h.poll(r, s)
	case path == protocol.PathUnregister:
		err = h.st.StopDelegate(r.Context(), s.delegate.ID, h.now())
		out = protocol.Ack{OK: true}
	case strings.HasPrefix(path, protocol.Base+"/tasks/"):
		id, call, _ := strings.Cut(strings.TrimPrefix(path, protocol.Base+"/tasks/"), "/")
		if !validTaskID(id) {
			err = perr(http.StatusNotFound, protocol.CodeNotFound, failure.NotFound, "no task %q", id)
			break
		}
		switch call {
		case "extend":
			out, err = h.extend(r, s, id)
		case "logs":
			out, err = h.logs(r, s, id)
		case "result":
			out, err = h.result(r, s, id)
		case "release":
			out, err = h.release(r, s, id)
		default:
			err = perr(http.StatusNotFound, protocol.CodeNotFound, failure.NotFound, "no such delegate call: %s", path)
		}
	default:
		err = perr(http.StatusNotFound, protocol.CodeNotFound, failure.NotFound, "no such delegate call: %s", path)
	}
	if err != nil {
		writeErr(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(out)
}

func writeErr(w http.ResponseWriter, err error) {
	var pe *protoError
	if !errors.As(err, &pe) {
		kind := failure.KindOf(err)
		code, status := protocol.CodeInternal, http.StatusInternalServerError
		switch {
		case errors.Is(err, store.ErrNotFound) || kind == failure.NotFound:
			code, status = protocol.CodeNotFound, http.StatusNotFound
		case kind == failure.Invalid:
			code, status = protocol.CodeInvalid, http.StatusBadRequest
		case kind == failure.Unavailable, errors.Is(err, context.DeadlineExceeded):
			code, status = protocol.CodeUnavailable, http.StatusServiceUnavailable
		}
		pe = &protoError{status: status, body: protocol.ErrorBody{Code: code, Kind: kind.String(), Message: err.Error()}}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(pe.status)
	_ = json.NewEncoder(w).Encode(pe.body)
}

func decode(r *http.Request, v any) error {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		return perr(http.StatusBadRequest, protocol.CodeInvalid, failure.Invalid, "the request body is not the JSON this call takes: %v", err)
	}
	return nil
}

// dummyHash keeps the work of an unknown token id equal to a known one.
var dummyHash = make([]byte, 32)

// authenticate checks the token on every call (so a revoked token stops a
// delegate at its next contact) and, past Register, the delegate id.
func (h *Hub) authenticate(r *http.Request) (session, error) {
	var s session
	bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	id, tok, ok2 := ParseToken(strings.TrimSpace(bearer))
	if !ok || !ok2 {
		return s, perr(http.StatusUnauthorized, protocol.CodeUnauthenticated, failure.Unauthenticated, "send a delegate token (azd.<account>.<id>.<secret>) as a Bearer token")
	}
	t, err := h.st.GetDelegateToken(r.Context(), id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return s, err
	}
	hash := t.Hash
	if err != nil {
		hash = dummyHash
	}
	if !tok.Matches(hash) || err != nil {
		return s, perr(http.StatusUnauthorized, protocol.CodeUnauthenticated, failure.Unauthenticated, "the delegate token is not valid")
	}
	did := r.Header.Get(protocol.HeaderDelegate)
	if t.Revoked() {
		if validDelegateID(did) {
			if d, err := h.st.GetDelegate(r.Context(), did); err == nil && d.TokenID == t.ID {
				_ = h.st.StopDelegate(r.Context(), did, h.now())
			}
		}
		return s, perr(http.StatusForbidden, protocol.CodeTokenRevoked, failure.Forbidden,
			"delegate token %q was revoked at %s", t.Name, t.RevokedAt.UTC().Format(time.RFC3339))
	}
	s.token = t
	if r.URL.Path == protocol.PathRegister {
		return s, nil
	}
	var d store.Delegate
	if validDelegateID(did) {
		d, err = h.st.GetDelegate(r.Context(), did)
	} else {
		err = store.ErrNotFound
	}
	if err != nil || d.TokenID != t.ID {
		return s, perr(http.StatusConflict, protocol.CodeUnknownDelegate, failure.Conflict, "delegate %q is not registered with this token; register again", did)
	}
	s.delegate = d
	if r.URL.Path != protocol.PathHeartbeat {
		h.seen(r.Context(), d)
	}
	return s, nil
}

func (h *Hub) register(r *http.Request, s session) (any, error) {
	var req protocol.RegisterRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	req.Name = strings.TrimSpace(req.Name)
	var fs failure.Fields
	if req.Name == "" || len(req.Name) > 128 || !utf8.ValidString(req.Name) {
		fs.Add("name", "a delegate name of 1 to 128 characters is required")
	}
	tags := NormalizeTags(req.Tags)
	if len(tags) > maxTags {
		fs.Add("tags", "at most %d tags, got %d", maxTags, len(tags))
	}
	for _, t := range tags {
		if len(t) > 128 {
			fs.Add("tags", "a tag is at most 128 characters")
			break
		}
	}
	if req.Protocol != 0 && req.Protocol != protocol.Version {
		fs.Add("protocol", "this server speaks delegate protocol %d, the delegate %d: run the server's version of azimuth delegate", protocol.Version, req.Protocol)
	}
	if req.Concurrency < 0 || req.Concurrency > maxConcurrency {
		fs.Add("concurrency", "must be between 1 and %d", maxConcurrency)
	}
	if err := fs.Err(); err != nil {
		return nil, perr(http.StatusBadRequest, protocol.CodeInvalid, failure.Invalid, "%s", err.Error())
	}
	now := h.now()
	d := store.Delegate{ID: req.DelegateID, Name: req.Name, Scope: s.token.Scope, TokenID: s.token.ID, Tags: tags,
		Version: req.Version, Capabilities: capabilityMap(req.Capabilities), Concurrency: req.Concurrency, RegisteredAt: now, LastSeen: now}
	if d.ID != "" {
		prev, err := h.st.GetDelegate(r.Context(), d.ID)
		if err != nil || prev.TokenID != s.token.ID {
			d.ID = ""
		} else {
			d.RegisteredAt = prev.RegisteredAt
		}
	}
	if d.ID == "" {
		// A restarted delegate (same token and name, no longer connected)
		// takes its old identity back rather than adding a row per start.
		prev, _, err := h.st.ListDelegates(r.Context(), store.ListFilter{Scopes: []store.ScopeMatch{{Scope: s.token.Scope}}, SearchTerm: d.Name})
		if err != nil {
			return nil, err
		}
		for _, p := range prev {
			if p.TokenID == s.token.ID && p.Name == d.Name && !h.Connected(p) {
				d.ID = p.ID
				break
			}
		}
	}
	if d.ID == "" {
		id, _, err := NewToken(s.token.Scope.Account)
		if err != nil {
			return nil, err
		}
		d.ID = "dlg_" + id
	}
	if err := h.st.UpsertDelegate(r.Context(), &d); err != nil {
		return nil, err
	}
	h.log.Info("delegate registered", "delegate", d.ID, "name", d.Name, "scope", d.Scope.String(), "tags", d.Tags, "version", d.Version)
	return protocol.RegisterResponse{DelegateID: d.ID, Scope: protocol.Scope{Account: d.Scope.Account, Org: d.Scope.Org, Project: d.Scope.Project},
		HeartbeatMillis: protocol.Millis(h.opts.Heartbeat), LeaseMillis: protocol.Millis(h.opts.Lease),
		PollTimeoutMillis: protocol.Millis(h.opts.PollTimeout), ServerVersion: h.opts.Version,
		ConnectedWindowMillis: protocol.Millis(h.ConnectedWindow())}, nil
}

func capabilityMap(c protocol.Capabilities) map[string]string {
	m := map[string]string{"kubernetes": fmt.Sprint(c.Kubernetes)}
	if c.ManagedIdentity != "" {
		m["managedIdentity"] = c.ManagedIdentity
	}
	if c.OS != "" {
		m["os"] = c.OS + "/" + c.Arch
	}
	if len(c.Kinds) > 0 {
		m["kinds"] = strings.Join(c.Kinds, ",")
	}
	return m
}

func (h *Hub) heartbeat(r *http.Request, s session) (any, error) {
	var req protocol.HeartbeatRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if err := h.st.TouchDelegate(r.Context(), s.delegate.ID, h.now()); err != nil {
		return nil, err
	}
	h.mu.Lock()
	h.touched[s.delegate.ID] = h.now()
	h.mu.Unlock()
	out := protocol.HeartbeatResponse{HeartbeatMillis: protocol.Millis(h.opts.Heartbeat)}
	for _, id := range req.Running {
		t, err := h.st.GetTask(r.Context(), id)
		if err != nil || t.DelegateID != s.delegate.ID || t.Status != store.TaskRunning || t.CancelRequested {
			out.Cancel = append(out.Cancel, id)
		}
	}
	return out, nil
}

// poll claims tasks for the delegate, waiting up to the poll timeout for
// one to be queued. It asks for no more than the delegate's registered
// concurrency, however many it asks for. It ends early when the token is
// revoked (a revocation wakes every poll), and hands back what it claimed
// if the delegate's request ended before the answer could reach it.
func (h *Hub) poll(r *http.Request, s session) (any, error) {
	var req protocol.PollRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	received := h.now()
	limit := s.delegate.Concurrency
	if limit <= 0 {
		limit = 1
	}
	req.Max = min(max(req.Max, 1), limit)
	ctx, cancel := context.WithTimeout(r.Context(), h.opts.PollTimeout)
	defer cancel()
	tick := time.NewTicker(h.opts.Recheck)
	defer tick.Stop()
	for {
		wake := h.wakeCh()
		got, err := h.claim(ctx, s.delegate, req.Max)
		if err != nil && ctx.Err() == nil {
			return nil, err
		}
		if len(got) > 0 {
			out, err := h.deliver(r, s, got, received)
			if err != nil || len(out.Tasks) > 0 {
				return out, err
			}
			continue
		}
		select {
		case <-ctx.Done():
			return protocol.PollResponse{Tasks: []protocol.Task{}}, nil
		case <-h.closing:
			return protocol.PollResponse{Tasks: []protocol.Task{}}, nil
		case <-wake:
		case <-tick.C:
		}
		if err := h.stillValid(r.Context(), s); err != nil {
			return nil, err
		}
	}
}

// stillValid re-reads the token of a waiting poll: a revoked one ends it
// (and its delegate) at once.
func (h *Hub) stillValid(ctx context.Context, s session) error {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	t, err := h.st.GetDelegateToken(ctx, s.token.ID)
	if err != nil {
		return fmt.Errorf("check delegate token %s: %w", s.token.ID, err)
	}
	if !t.Revoked() {
		return nil
	}
	sctx, scancel := bounded(ctx)
	_ = h.st.StopDelegate(sctx, s.delegate.ID, h.now())
	scancel()
	return perr(http.StatusForbidden, protocol.CodeTokenRevoked, failure.Forbidden,
		"delegate token %q was revoked at %s", t.Name, t.RevokedAt.UTC().Format(time.RFC3339))
}

// deliver turns claimed tasks into the poll's answer, with their secrets
// resolved for this delegate alone. A task whose secrets cannot be
// resolved fails at once. When the token was revoked since the poll began,
// or the delegate's request ended (its process stopping) before the answer
// was ready, every claimed task is handed back without using an attempt:
// none reached the delegate.
func (h *Hub) deliver(r *http.Request, s session, got []store.Task, received time.Time) (protocol.PollResponse, error) {
	out := protocol.PollResponse{Tasks: make([]protocol.Task, 0, len(got))}
	if err := h.stillValid(r.Context(), s); err != nil {
		h.handBack(r.Context(), s, got, "the delegate's token was revoked before the tasks reached it")
		return out, err
	}
	// Secrets are resolved side by side, each well within the lease the
	// claim started.
	offers := make([]struct {
		pt  protocol.Task
		err error
	}, len(got))
	var wg sync.WaitGroup
	sem := make(chan struct{}, offerParallel)
	for i, t := range got {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			octx, cancel := context.WithTimeout(r.Context(), h.opts.Lease/2)
			defer cancel()
			offers[i].pt, offers[i].err = h.offer(octx, t, received)
		}()
	}
	wg.Wait()
	var pending, late []store.Task
	for i, t := range got {
		pt, err := offers[i].pt, offers[i].err
		switch {
		case err != nil && r.Context().Err() == nil:
			h.log.Warn("task failed before it reached its delegate", "task", t.ID, "delegate", s.delegate.Name, "err", err)
			b, _ := json.Marshal(task.ErrorFrom(err))
			ectx, ecancel := bounded(r.Context())
			_, _ = h.st.EndTask(ectx, t.ID, store.TaskFailed, b, h.now())
			ecancel()
			h.ended(t.ID)
			h.signal(r.Context(), signalEnded, t.ID)
		case err == nil && !h.now().Before(t.LeaseExpires.Add(-leaseMargin(h.opts.Lease))):
			// Too little of the lease is left for the delegate to start
			// it (it would stop it at once): it goes back, unstarted.
			wipe(pt)
			late = append(late, t)
		default:
			pending = append(pending, t)
			if err == nil {
				out.Tasks = append(out.Tasks, pt)
			}
		}
	}
	if len(late) > 0 {
		h.handBack(r.Context(), s, late, "resolving its secrets took most of its lease")
	}
	if err := r.Context().Err(); err != nil {
		for _, pt := range out.Tasks {
			wipe(pt)
		}
		h.handBack(r.Context(), s, pending, "the delegate's poll ended before the tasks reached it")
		return protocol.PollResponse{}, fmt.Errorf("the poll of delegate %s ended: %w", s.delegate.Name, err)
	}
	return out, nil
}

// wipe zeroes the secret values of a task that will not be sent.
func wipe(pt protocol.Task) {
	for _, sec := range pt.Secrets {
		sec.Wipe()
	}
}

// handBack returns claimed tasks to the queue (or ends them, cancelled,
// if cancellation was asked for meanwhile) without using an attempt.
func (h *Hub) handBack(ctx context.Context, s session, ts []store.Task, why string) {
	queued := false
	for _, t := range ts {
		rctx, cancel := bounded(ctx)
		status, err := h.st.ReleaseTask(rctx, t.ID, s.delegate.ID, "not delivered: "+why, h.now())
		cancel()
		if err != nil {
			h.log.Warn("hand back a task that did not reach its delegate", "task", t.ID, "delegate", s.delegate.Name, "err", err)
			continue
		}
		h.log.Info("handed back a task that did not reach its delegate", "task", t.ID, "delegate", s.delegate.Name, "why", why)
		h.mu.Lock()
		delete(h.masks, t.ID)
		h.mu.Unlock()
		if status == store.TaskQueued {
			queued = true
		} else {
			h.ended(t.ID)
			h.signal(ctx, signalEnded, t.ID)
		}
	}
	if queued {
		h.notify()
		h.signal(ctx, signalQueued, "")
	}
}

// offer builds the protocol task of a claim, with its parameters opened
// and its secrets, and keeps their masker for what the delegate sends
// back. The lease goes as the time left of it (LeaseMillis) and as its end
// counted from when the poll was received (LeaseEndMillis): the delegate
// adds the latter to when it sent the poll, which can only be earlier, so
// its idea of the lease's end is never later than the server's, however
// long the poll waited and the secrets took.
func (h *Hub) offer(ctx context.Context, t store.Task, received time.Time) (protocol.Task, error) {
	now := h.now()
	pt := protocol.Task{ID: t.ID, Kind: task.Kind(t.Kind), ConnectorVersion: t.ConnectorVersion,
		TimeoutMillis: protocol.Millis(t.Deadline.Sub(now)), Attempt: t.Attempts}
	// The parameters are sealed at rest (a script and its environment may
	// carry secrets): opened for this delegate's answer only.
	params, err := h.openParams(ctx, t.ID, t.Params)
	if err != nil {
		return pt, err
	}
	pt.Params = params
	var values [][]byte
	if len(t.ConnectorDoc) > 0 {
		pt.Connector = t.ConnectorDoc
		var c connector.Connector
		if err := json.Unmarshal(t.ConnectorDoc, &c); err != nil {
			return pt, fmt.Errorf("read the connector snapshot of task %s: %w", t.ID, err)
		}
		vals, err := h.secretsFor(ctx, t, &c)
		if err != nil {
			return pt, err
		}
		for _, v := range vals {
			pt.Secrets = append(pt.Secrets, protocol.NewSecret(v.path, v.value.Reveal()))
			values = append(values, v.value.Reveal())
		}
	}
	h.remember(t, values)
	now = h.now()
	pt.LeaseMillis = protocol.Millis(t.LeaseExpires.Sub(now))
	pt.LeaseEndMillis = protocol.Millis(t.LeaseExpires.Sub(received))
	return pt, nil
}

func (h *Hub) heldBy(ctx context.Context, s session, id string) (store.Task, error) {
	t, err := h.st.GetTask(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return t, perr(http.StatusNotFound, protocol.CodeNotFound, failure.NotFound, "no task %s", id)
	}
	if err != nil {
		return t, err
	}
	if t.DelegateID != s.delegate.ID || t.Status != store.TaskRunning {
		return t, leaseLost(t, s)
	}
	return t, nil
}

func leaseLost(t store.Task, s session) error {
	return perr(http.StatusConflict, protocol.CodeLeaseLost, failure.Conflict, "delegate %s no longer holds task %s (it is %s)", s.delegate.Name, t.ID, t.Status)
}

// extend moves the lease to a lease from now. The answer's LeaseMillis is
// that lease, counted from when the call arrived: the delegate adds it to
// when it sent the call.
func (h *Hub) extend(r *http.Request, s session, id string) (any, error) {
	until := h.now().Add(h.opts.Lease)
	cancel, err := h.st.ExtendLease(r.Context(), id, s.delegate.ID, until)
	if errors.Is(err, store.ErrConflict) {
		t, _ := h.st.GetTask(r.Context(), id)
		return nil, leaseLost(t, s)
	}
	if err != nil {
		return nil, err
	}
	return protocol.ExtendResponse{LeaseExpiresAt: until, LeaseMillis: protocol.Millis(h.opts.Lease), Cancel: cancel}, nil
}

func (h *Hub) logs(r *http.Request, s session, id string) (any, error) {
	var req protocol.LogsRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if len(req.Lines) > maxLogLines {
		return nil, perr(http.StatusBadRequest, protocol.CodeInvalid, failure.Invalid, "at most %d lines per call", maxLogLines)
	}
	for _, l := range req.Lines {
		if l.Seq < 1 || l.Seq > store.MaxRunLogSeq {
			return nil, perr(http.StatusBadRequest, protocol.CodeInvalid, failure.Invalid, "a log line's seq is between 1 and %d, got %d", int64(store.MaxRunLogSeq), l.Seq)
		}
	}
	t, err := h.heldBy(r.Context(), s, id)
	if err != nil {
		return nil, err
	}
	m := h.maskerFor(r.Context(), t)
	lines := make([]store.TaskLog, 0, len(req.Lines))
	for _, l := range req.Lines {
		if len(l.Line) > maxLogLine {
			l.Line = l.Line[:maxLogLine]
		}
		// The delegate numbers its run's lines from 1; the run this
		// delegate holds (t.Runs) places them after earlier runs' lines.
		lines = append(lines, store.TaskLog{Seq: store.LogSeq(t.Runs, l.Seq), At: l.At, Line: m.Mask(strings.ToValidUTF8(l.Line, "?"))})
	}
	if err := h.st.AppendTaskLogs(r.Context(), id, lines); err != nil {
		return nil, err
	}
	return protocol.Ack{OK: true}, nil
}

func (h *Hub) result(r *http.Request, s session, id string) (any, error) {
	var req protocol.ResultRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	res := req.Result
	if !res.Status.Terminal() {
		return nil, perr(http.StatusBadRequest, protocol.CodeInvalid, failure.Invalid, "a result's status is SUCCEEDED, FAILED or CANCELLED, got %q", res.Status)
	}
	sealed, err := h.sealOutput(id, res.Output)
	if err != nil {
		return nil, err
	}
	t := store.Task{Status: string(res.Status), Output: sealed, StartedAt: res.StartedAt, FinishedAt: res.FinishedAt}
	if t.FinishedAt.IsZero() {
		t.FinishedAt = h.now()
	}
	if res.Error != nil {
		cur, err := h.heldBy(r.Context(), s, id)
		if err == nil {
			maskError(h.maskerFor(r.Context(), cur), res.Error)
		} else if failure.KindOf(err) == failure.Internal {
			return nil, err
		}
		t.Error, _ = json.Marshal(res.Error)
	}
	err = h.st.FinishTask(r.Context(), id, s.delegate.ID, t)
	if errors.Is(err, store.ErrConflict) {
		cur, _ := h.st.GetTask(r.Context(), id)
		return nil, leaseLost(cur, s)
	}
	if err != nil {
		return nil, err
	}
	h.ended(id)
	h.signal(r.Context(), signalEnded, id)
	return protocol.Ack{OK: true}, nil
}

func (h *Hub) release(r *http.Request, s session, id string) (any, error) {
	var req protocol.ReleaseRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	note := fmt.Sprintf("delegate %s handed it back: %s", s.delegate.Name, req.Reason)
	status, err := h.st.ReleaseTask(r.Context(), id, s.delegate.ID, note, h.now())
	if err != nil {
		if errors.Is(err, store.ErrConflict) {
			t, _ := h.st.GetTask(r.Context(), id)
			return nil, leaseLost(t, s)
		}
		return nil, err
	}
	h.mu.Lock()
	delete(h.masks, id)
	h.mu.Unlock()
	if status == store.TaskQueued {
		h.notify()
		h.signal(r.Context(), signalQueued, "")
	} else {
		h.ended(id)
		h.signal(r.Context(), signalEnded, id)
	}
	return protocol.Ack{OK: true}, nil
}
