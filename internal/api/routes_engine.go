package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/azimuthcd/azimuth/internal/access"
	"github.com/azimuthcd/azimuth/internal/failure"
	"github.com/azimuthcd/azimuth/internal/scope"
	"github.com/azimuthcd/azimuth/internal/service"
	"github.com/azimuthcd/azimuth/internal/store"
)

// DelegateAdmin is the delegate hub as the API sees it: delegate tokens,
// the delegate registry, the task list, and the delegate protocol itself.
type DelegateAdmin interface {
	CreateDelegateToken(ctx context.Context, p access.Principal, sc scope.Scope, name string) (store.DelegateToken, string, error)
	ListDelegateTokens(ctx context.Context, p access.Principal, sc scope.Scope, sub bool) ([]store.DelegateToken, error)
	RevokeDelegateToken(ctx context.Context, p access.Principal, id string) (store.DelegateToken, error)
	// ListDelegatesAt lists the delegates at sc and below, with whether
	// each is connected now.
	ListDelegatesAt(ctx context.Context, p access.Principal, sc scope.Scope) ([]store.Delegate, []bool, error)
	ListTasksAt(ctx context.Context, p access.Principal, sc scope.Scope, status, kind, delegateID string, pg store.Page) ([]store.Task, int, error)
	// GetTaskWithLogs returns a task and a page of its log lines after
	// afterSeq, and whether more lines follow the page.
	GetTaskWithLogs(ctx context.Context, p access.Principal, id string, afterSeq int64) (store.Task, []store.TaskLog, bool, error)
	// ServeProtocol serves the delegate protocol (internal/protocol); it
	// authenticates with delegate tokens, not API keys.
	ServeProtocol(w http.ResponseWriter, r *http.Request)
	// ProtocolCalls lists the protocol's paths (POST) and summaries.
	ProtocolCalls() [][2]string
}

// SetDelegates installs the delegate hub before Handler is called.
func (a *API) SetDelegates(d DelegateAdmin) { a.delegates = d }

// protocolBodyLimit admits a full batch of log lines.
const protocolBodyLimit = 4 << 20

// engineRoutes are tasks, delegate tokens and the delegate protocol:
// served when the delegate hub is installed (SetDelegates).
func (a *API) engineRoutes() []Route {
	if a.delegates == nil {
		return nil
	}
	h := func(method, path, summary string, fn Handler) Route {
		return Route{Method: method, Path: path, Summary: summary, handle: fn}
	}
	out := []Route{
		h(http.MethodPost, "/ng/api/azimuth/delegate-tokens", "Create a delegate token (the token is shown once)", a.createDelegateToken),
		h(http.MethodGet, "/ng/api/azimuth/delegate-tokens", "List delegate tokens", a.listDelegateTokens),
		h(http.MethodDelete, "/ng/api/azimuth/delegate-tokens/{id}", "Revoke a delegate token", a.revokeDelegateToken),
		h(http.MethodGet, "/ng/api/azimuth/delegates", "List delegates (tags, scope, version, capabilities, heartbeat, connected)", a.listDelegates),
		h(http.MethodGet, "/ng/api/azimuth/tasks", "List tasks (type, connector, delegate, status, timings, error)", a.listTasks),
		h(http.MethodGet, "/ng/api/azimuth/tasks/{id}", "Get a task and its masked log", a.getTask),
	}
	for _, c := range a.delegates.ProtocolCalls() {
		out = append(out, Route{Method: http.MethodPost, Path: c[0], Summary: c[1], Public: true, MaxBody: protocolBodyLimit, raw: a.serveProtocol})
	}
	return out
}

func (a *API) serveProtocol(w http.ResponseWriter, r *http.Request) {
	if a.delegates == nil {
		fail(w, r, a.log, failure.New(failure.Unavailable, "this server runs no delegate hub"))
		return
	}
	a.delegates.ServeProtocol(w, r)
}

func (a *API) hub() (DelegateAdmin, error) {
	if a.delegates == nil {
		return nil, failure.New(failure.Unavailable, "this server runs no delegate hub")
	}
	return a.delegates, nil
}

type delegateTokenDTO struct {
	ID                string `json:"id"`
	Name              string `json:"name"`
	AccountIdentifier string `json:"accountIdentifier"`
	OrgIdentifier     string `json:"orgIdentifier,omitempty"`
	ProjectIdentifier string `json:"projectIdentifier,omitempty"`
	CreatedAt         int64  `json:"createdAt"`
	CreatedBy         string `json:"createdBy,omitempty"`
	Revoked           bool   `json:"revoked"`
	RevokedAt         int64  `json:"revokedAt,omitempty"`
}

func toDelegateToken(t store.DelegateToken) delegateTokenDTO {
	return delegateTokenDTO{ID: t.ID, Name: t.Name, AccountIdentifier: t.Scope.Account, OrgIdentifier: t.Scope.Org,
		ProjectIdentifier: t.Scope.Project, CreatedAt: t.CreatedAt.UnixMilli(), CreatedBy: t.CreatedBy, Revoked: t.Revoked(), RevokedAt: ms(t.RevokedAt)}
}

type delegateTokenCreated struct {
	DelegateToken delegateTokenDTO `json:"delegateToken"`
	// Token is the token itself, shown this once.
	Token string `json:"token"`
}

type delegateDTO struct {
	ID                string            `json:"id"`
	Name              string            `json:"name"`
	AccountIdentifier string            `json:"accountIdentifier"`
	OrgIdentifier     string            `json:"orgIdentifier,omitempty"`
	ProjectIdentifier string            `json:"projectIdentifier,omitempty"`
	TokenID           string            `json:"tokenId"`
	Tags              []string          `json:"tags"`
	Version           string            `json:"version"`
	Capabilities      map[string]string `json:"capabilities"`
	Concurrency       int               `json:"concurrency"`
	RegisteredAt      int64             `json:"registeredAt"`
	LastHeartbeat     int64             `json:"lastHeartbeat"`
	StoppedAt         int64             `json:"stoppedAt,omitempty"`
	Connected         bool              `json:"connected"`
}

func toDelegate(d store.Delegate, connected bool) delegateDTO {
	tags := d.Tags
	if tags == nil {
		tags = []string{}
	}
	return delegateDTO{ID: d.ID, Name: d.Name, AccountIdentifier: d.Scope.Account, OrgIdentifier: d.Scope.Org, ProjectIdentifier: d.Scope.Project,
		TokenID: d.TokenID, Tags: tags, Version: d.Version, Capabilities: d.Capabilities, Concurrency: d.Concurrency,
		RegisteredAt: ms(d.RegisteredAt), LastHeartbeat: ms(d.LastSeen), StoppedAt: ms(d.StoppedAt), Connected: connected}
}

type taskErrorDTO struct {
	Kind    string `json:"kind"`
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message"`
	Hint    string `json:"hint,omitempty"`
}

type taskDTO struct {
	ID                  string        `json:"id"`
	Type                string        `json:"type"`
	Status              string        `json:"status"`
	AccountIdentifier   string        `json:"accountIdentifier"`
	OrgIdentifier       string        `json:"orgIdentifier,omitempty"`
	ProjectIdentifier   string        `json:"projectIdentifier,omitempty"`
	ConnectorIdentifier string        `json:"connectorIdentifier,omitempty"`
	Selectors           []string      `json:"selectors"`
	DelegateID          string        `json:"delegateId,omitempty"`
	DelegateName        string        `json:"delegateName,omitempty"`
	Attempts            int           `json:"attempts"`
	Note                string        `json:"note,omitempty"`
	CreatedAt           int64         `json:"createdAt"`
	StartedAt           int64         `json:"startedAt,omitempty"`
	FinishedAt          int64         `json:"finishedAt,omitempty"`
	DurationMillis      int64         `json:"durationMs,omitempty"`
	Error               *taskErrorDTO `json:"error,omitempty"`
}

func toTask(t store.Task) taskDTO {
	sels := t.Selectors
	if sels == nil {
		sels = []string{}
	}
	out := taskDTO{ID: t.ID, Type: t.Kind, Status: t.Status, AccountIdentifier: t.Scope.Account, OrgIdentifier: t.Scope.Org,
		ProjectIdentifier: t.Scope.Project, ConnectorIdentifier: t.ConnectorID, Selectors: sels, DelegateID: t.DelegateID,
		DelegateName: t.DelegateName, Attempts: t.Attempts, Note: t.Note, CreatedAt: ms(t.CreatedAt), StartedAt: ms(t.StartedAt),
		FinishedAt: ms(t.FinishedAt)}
	if !t.FinishedAt.IsZero() {
		out.DurationMillis = t.FinishedAt.Sub(t.CreatedAt).Milliseconds()
	}
	if len(t.Error) > 0 {
		var e taskErrorDTO
		if json.Unmarshal(t.Error, &e) == nil {
			out.Error = &e
		}
	}
	return out
}

type taskLogDTO struct {
	Seq  int64  `json:"seq"`
	Run  int    `json:"run"`
	At   int64  `json:"at"`
	Line string `json:"line"`
}

type taskDetailDTO struct {
	taskDTO
	Logs []taskLogDTO `json:"logs"`
	// MoreLogs: more lines follow these; ask again with afterSeq set to
	// the last one's seq.
	MoreLogs bool `json:"moreLogs"`
}

type delegateTokenRequest struct {
	Name string `json:"name"`
}

func (a *API) createDelegateToken(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	d, err := a.hub()
	if err != nil {
		return err
	}
	sc, err := queryScope(r)
	if err != nil {
		return err
	}
	var req delegateTokenRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	t, tok, err := d.CreateDelegateToken(r.Context(), p, sc, req.Name)
	if err != nil {
		return err
	}
	ok(w, r, delegateTokenCreated{DelegateToken: toDelegateToken(t), Token: tok})
	return nil
}

func (a *API) listDelegateTokens(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	d, err := a.hub()
	if err != nil {
		return err
	}
	sc, err := queryScope(r)
	if err != nil {
		return err
	}
	sub, err := queryBool(r, "includeSubScopes")
	if err != nil {
		return err
	}
	l, err := d.ListDelegateTokens(r.Context(), p, sc, sub)
	if err != nil {
		return err
	}
	ok(w, r, newPage(service.List[store.DelegateToken]{Items: l, Total: len(l), PageSize: max(len(l), 1)}, toDelegateToken))
	return nil
}

func (a *API) revokeDelegateToken(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	d, err := a.hub()
	if err != nil {
		return err
	}
	if _, err := account(r); err != nil {
		return err
	}
	t, err := d.RevokeDelegateToken(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	ok(w, r, toDelegateToken(t))
	return nil
}

func (a *API) listDelegates(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	d, err := a.hub()
	if err != nil {
		return err
	}
	sc, err := queryScope(r)
	if err != nil {
		return err
	}
	l, connected, err := d.ListDelegatesAt(r.Context(), p, sc)
	if err != nil {
		return err
	}
	out := make([]delegateDTO, 0, len(l))
	for i, x := range l {
		out = append(out, toDelegate(x, connected[i]))
	}
	ok(w, r, out)
	return nil
}

func (a *API) listTasks(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	d, err := a.hub()
	if err != nil {
		return err
	}
	sc, err := queryScope(r)
	if err != nil {
		return err
	}
	pr, err := queryPage(r)
	if err != nil {
		return err
	}
	if pr.Size == 0 {
		pr.Size = service.DefaultPageSize
	}
	if pr.Size > service.MaxPageSize || pr.Index < 0 {
		return failure.InvalidField("pageSize", "must be between 1 and %d.", service.MaxPageSize)
	}
	q := r.URL.Query()
	status := strings.ToUpper(strings.TrimSpace(q.Get("status")))
	switch status {
	case "", store.TaskQueued, store.TaskRunning, store.TaskSucceeded, store.TaskFailed, store.TaskCancelled:
	default:
		return failure.InvalidField("status", "must be one of QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED; got %q.", status)
	}
	l, total, err := d.ListTasksAt(r.Context(), p, sc, status, q.Get("type"), q.Get("delegateId"), store.Page{Index: pr.Index, Size: pr.Size})
	if err != nil {
		return err
	}
	ok(w, r, newPage(service.List[store.Task]{Items: l, Total: total, PageIndex: pr.Index, PageSize: pr.Size}, toTask))
	return nil
}

func (a *API) getTask(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	d, err := a.hub()
	if err != nil {
		return err
	}
	if _, err := account(r); err != nil {
		return err
	}
	after, err := queryAfterSeq(r)
	if err != nil {
		return err
	}
	t, logs, more, err := d.GetTaskWithLogs(r.Context(), p, r.PathValue("id"), after)
	if err != nil {
		return err
	}
	out := taskDetailDTO{taskDTO: toTask(t), Logs: make([]taskLogDTO, 0, len(logs)), MoreLogs: more}
	for _, l := range logs {
		out.Logs = append(out.Logs, taskLogDTO{Seq: l.Seq, Run: store.LogRun(l.Seq), At: l.At.UnixMilli(), Line: l.Line})
	}
	ok(w, r, out)
	return nil
}

// queryAfterSeq reads afterSeq: only log lines after this seq are
// returned (0, the default: from the first).
func queryAfterSeq(r *http.Request) (int64, error) {
	v := strings.TrimSpace(r.URL.Query().Get("afterSeq"))
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, failure.InvalidField("afterSeq", "must be the seq of a log line already read (a whole number, 0 or more), got %q.", v)
	}
	return n, nil
}
