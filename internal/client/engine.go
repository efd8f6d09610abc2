package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
)

// DelegateToken is a delegate token's record (never the token itself).
type DelegateToken struct {
	ID                string `json:"id"`
	Name              string `json:"name"`
	AccountIdentifier string `json:"accountIdentifier"`
	OrgIdentifier     string `json:"orgIdentifier,omitempty"`
	ProjectIdentifier string `json:"projectIdentifier,omitempty"`
	CreatedAt         Millis `json:"createdAt"`
	CreatedBy         string `json:"createdBy,omitempty"`
	Revoked           bool   `json:"revoked"`
	RevokedAt         Millis `json:"revokedAt,omitempty"`
}

// Delegate is a registered delegate.
type Delegate struct {
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
	RegisteredAt      Millis            `json:"registeredAt"`
	LastHeartbeat     Millis            `json:"lastHeartbeat"`
	StoppedAt         Millis            `json:"stoppedAt,omitempty"`
	Connected         bool              `json:"connected"`
}

// TaskError is a task's failure.
type TaskError struct {
	Kind    string `json:"kind"`
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message"`
	Hint    string `json:"hint,omitempty"`
}

// Task is a task as listed.
type Task struct {
	ID                  string     `json:"id"`
	Type                string     `json:"type"`
	Status              string     `json:"status"`
	AccountIdentifier   string     `json:"accountIdentifier"`
	OrgIdentifier       string     `json:"orgIdentifier,omitempty"`
	ProjectIdentifier   string     `json:"projectIdentifier,omitempty"`
	ConnectorIdentifier string     `json:"connectorIdentifier,omitempty"`
	Selectors           []string   `json:"selectors"`
	DelegateID          string     `json:"delegateId,omitempty"`
	DelegateName        string     `json:"delegateName,omitempty"`
	Attempts            int        `json:"attempts"`
	Note                string     `json:"note,omitempty"`
	CreatedAt           Millis     `json:"createdAt"`
	StartedAt           Millis     `json:"startedAt,omitempty"`
	FinishedAt          Millis     `json:"finishedAt,omitempty"`
	DurationMillis      int64      `json:"durationMs,omitempty"`
	Error               *TaskError `json:"error,omitempty"`
}

// TaskLog is one masked log line. Seq orders a task's lines across its
// runs; Run says which run (from 1) wrote it.
type TaskLog struct {
	Seq  int64  `json:"seq"`
	Run  int    `json:"run"`
	At   Millis `json:"at"`
	Line string `json:"line"`
}

// TaskDetail is a task with a page of its log.
type TaskDetail struct {
	Task
	Logs []TaskLog `json:"logs"`
	// MoreLogs: more lines follow Logs (read them with GetTaskAfter).
	MoreLogs bool `json:"moreLogs"`
}

// TaskFilter narrows the task list.
type TaskFilter struct {
	Status, Type, DelegateID string
}

// CreateDelegateToken creates a delegate token at sc and returns its
// record and the token (shown once).
func (c *Client) CreateDelegateToken(ctx context.Context, sc Scope, name string) (DelegateToken, string, error) {
	var out struct {
		DelegateToken DelegateToken `json:"delegateToken"`
		Token         string        `json:"token"`
	}
	_, err := c.Do(ctx, Request{Method: http.MethodPost, Path: "/ng/api/azimuth/delegate-tokens", Query: c.query(sc),
		JSON: map[string]string{"name": name}}, &out)
	return out.DelegateToken, out.Token, err
}

// ListDelegateTokens lists the delegate tokens of sc (and below, with sub).
func (c *Client) ListDelegateTokens(ctx context.Context, sc Scope, sub bool) ([]DelegateToken, error) {
	q := c.query(sc)
	if sub {
		q.Set("includeSubScopes", "true")
	}
	var out Page[DelegateToken]
	_, err := c.Do(ctx, Request{Method: http.MethodGet, Path: "/ng/api/azimuth/delegate-tokens", Query: q}, &out)
	return out.Content, err
}

// RevokeDelegateToken revokes a delegate token.
func (c *Client) RevokeDelegateToken(ctx context.Context, id string) (DelegateToken, error) {
	var out DelegateToken
	_, err := c.Do(ctx, Request{Method: http.MethodDelete, Path: "/ng/api/azimuth/delegate-tokens/" + pathEscape(id)}, &out)
	return out, err
}

// ListDelegates lists the delegates of sc and below.
func (c *Client) ListDelegates(ctx context.Context, sc Scope) ([]Delegate, error) {
	var out []Delegate
	_, err := c.Do(ctx, Request{Method: http.MethodGet, Path: "/ng/api/azimuth/delegates", Query: c.query(sc)}, &out)
	return out, err
}

// ListTasks lists tasks of sc and below, newest first.
func (c *Client) ListTasks(ctx context.Context, sc Scope, f TaskFilter, o ListOptions) (Page[Task], error) {
	q := c.query(sc)
	o.apply(q)
	setIf(q, "status", f.Status)
	setIf(q, "type", f.Type)
	setIf(q, "delegateId", f.DelegateID)
	var out Page[Task]
	_, err := c.Do(ctx, Request{Method: http.MethodGet, Path: "/ng/api/azimuth/tasks", Query: q}, &out)
	return out, err
}

// GetTask reads a task and (the first page of) its log.
func (c *Client) GetTask(ctx context.Context, id string) (TaskDetail, error) {
	return c.GetTaskAfter(ctx, id, 0)
}

// GetTaskAfter reads a task and the page of its log after the line
// afterSeq: a reader following a running task passes the last seq it
// has, and gets only newer lines.
func (c *Client) GetTaskAfter(ctx context.Context, id string, afterSeq int64) (TaskDetail, error) {
	var q url.Values
	if afterSeq > 0 {
		q = url.Values{"afterSeq": {strconv.FormatInt(afterSeq, 10)}}
	}
	var out TaskDetail
	_, err := c.Do(ctx, Request{Method: http.MethodGet, Path: "/ng/api/azimuth/tasks/" + pathEscape(id), Query: q}, &out)
	return out, err
}

func setIf(q url.Values, k, v string) {
	if v != "" {
		q.Set(k, v)
	}
}
