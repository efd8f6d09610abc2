package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/azimuthcd/azimuth/internal/store"
)

const taskCols = `id, kind, account, org, project, owner_org, owner_project, connector, connector_doc, connector_version,
 params, selectors, status, delegate_id, delegate_name, lease_expires, attempts, max_attempts, cancel_requested,
 output, error, note, requester, created_at, claimed_at, started_at, finished_at, deadline, requires, runs`

// qualifiedTaskCols are taskCols prefixed with the table name.
var qualifiedTaskCols = func() string {
	var out []string
	for _, c := range strings.Split(taskCols, ",") {
		out = append(out, "tasks."+strings.TrimSpace(c))
	}
	return strings.Join(out, ", ")
}()

func scanTask(r scanner) (store.Task, error) {
	var t store.Task
	var doc, params, sels, output, errs, requires string
	var lease, created, claimed, started, finished, deadline int64
	var cancel int
	if err := r.Scan(&t.ID, &t.Kind, &t.Scope.Account, &t.Scope.Org, &t.Scope.Project, &t.Owner.Org, &t.Owner.Project,
		&t.ConnectorID, &doc, &t.ConnectorVersion, &params, &sels, &t.Status, &t.DelegateID, &t.DelegateName,
		&lease, &t.Attempts, &t.MaxAttempts, &cancel, &output, &errs, &t.Note, &t.Requester,
		&created, &claimed, &started, &finished, &deadline, &requires, &t.Runs); err != nil {
		return t, err
	}
	t.Owner.Account = t.Scope.Account
	var err error
	if t.Selectors, err = decodeList(sels); err != nil {
		return t, err
	}
	if t.Requires, err = decodeList(requires); err != nil {
		return t, err
	}
	t.ConnectorDoc, t.Params, t.Output, t.Error = bytesOrNil(doc), bytesOrNil(params), bytesOrNil(output), bytesOrNil(errs)
	t.CancelRequested = cancel != 0
	t.LeaseExpires, t.CreatedAt, t.ClaimedAt = fromMS(lease), fromMS(created), fromMS(claimed)
	t.StartedAt, t.FinishedAt, t.Deadline = fromMS(started), fromMS(finished), fromMS(deadline)
	return t, nil
}

func bytesOrNil(s string) []byte {
	if s == "" {
		return nil
	}
	return []byte(s)
}

// CreateTask implements store.Tasks.
func (s *Store) CreateTask(ctx context.Context, t *store.Task) error {
	if t.Status == "" {
		t.Status = store.TaskQueued
	}
	if t.MaxAttempts <= 0 {
		t.MaxAttempts = 1
	}
	_, err := s.wq(ctx).ExecContext(ctx, `INSERT INTO tasks (`+taskCols+`) VALUES
($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30)`,
		t.ID, t.Kind, t.Scope.Account, t.Scope.Org, t.Scope.Project, t.Owner.Org, t.Owner.Project, t.ConnectorID,
		string(t.ConnectorDoc), t.ConnectorVersion, string(t.Params), encodeList(t.Selectors), t.Status, t.DelegateID, t.DelegateName,
		ms(t.LeaseExpires), t.Attempts, t.MaxAttempts, boolInt(t.CancelRequested), string(t.Output), string(t.Error), t.Note, t.Requester,
		ms(t.CreatedAt), ms(t.ClaimedAt), ms(t.StartedAt), ms(t.FinishedAt), ms(t.Deadline), encodeList(t.Requires), t.Runs)
	if err != nil {
		return fmt.Errorf("create task %s: %w", t.ID, s.translate(err))
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// GetTask implements store.Tasks.
func (s *Store) GetTask(ctx context.Context, id string) (store.Task, error) {
	t, err := scanTask(s.rq(ctx).QueryRowContext(ctx, `SELECT `+taskCols+` FROM tasks WHERE id = $1`, id))
	if err != nil {
		return t, fmt.Errorf("get task %s: %w", id, s.translate(err))
	}
	return t, nil
}

// scopeCond renders "the row's scope (account, orgCol, projectCol) lies in
// m", as where.scopes does for the usual columns.
func (w *where) scopeCond(m store.ScopeMatch, orgCol, projectCol string) string {
	parts := []string{"account = " + w.arg(m.Scope.Account)}
	if !m.Subtree || m.Scope.Org != "" {
		parts = append(parts, orgCol+" = "+w.arg(m.Scope.Org))
	}
	if !m.Subtree || m.Scope.Project != "" {
		parts = append(parts, projectCol+" = "+w.arg(m.Scope.Project))
	}
	return "(" + strings.Join(parts, " AND ") + ")"
}

// ListTasks implements store.Tasks: newest first.
func (s *Store) ListTasks(ctx context.Context, f store.TaskFilter) ([]store.Task, int, error) {
	var w where
	if len(f.Scopes) == 0 {
		w.add("1 = 0")
	}
	var ors []string
	for _, m := range f.Scopes {
		ors = append(ors, w.scopeCond(m, "owner_org", "owner_project"), w.scopeCond(m, "org", "project"))
	}
	if len(ors) > 0 {
		w.add("(" + strings.Join(ors, " OR ") + ")")
	}
	if f.Status != "" {
		w.add("status = " + w.arg(f.Status))
	}
	if f.DelegateID != "" {
		w.add("delegate_id = " + w.arg(f.DelegateID))
	}
	if f.Kind != "" {
		w.add("kind = " + w.arg(f.Kind))
	}
	var total int
	if err := s.rq(ctx).QueryRowContext(ctx, `SELECT COUNT(*) FROM tasks`+w.sql(), w.args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count tasks: %w", s.translate(err))
	}
	rows, err := s.rq(ctx).QueryContext(ctx, `SELECT `+taskCols+` FROM tasks`+w.sql()+` ORDER BY created_at DESC, id`+w.limit(f.Page), w.args...)
	if err != nil {
		return nil, 0, fmt.Errorf("list tasks: %w", s.translate(err))
	}
	out, err := s.scanTasks(rows)
	return out, total, err
}

type rowsLike interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close() error
}

func (s *Store) scanTasks(rows rowsLike) ([]store.Task, error) {
	defer rows.Close()
	var out []store.Task
	for rows.Next() {
		t, err := scanTask(rows)
		if err != nil {
			return nil, fmt.Errorf("read tasks: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read tasks: %w", s.translate(err))
	}
	return out, nil
}

// ClaimTasks implements store.Tasks. One statement picks the oldest
// eligible queued rows and moves them to RUNNING atomically. On PostgreSQL
// the pick is FOR UPDATE SKIP LOCKED, so concurrent claimers (replicas,
// delegates) never wait on or take the same row; on SQLite the single
// writer serialises claims, and a read on the reader pool first spares the
// writer the claims that would find nothing. Eligibility is all in SQL:
// scope, selectors among the tags, requirements among the capabilities,
// no cancellation asked for, and the delegate's token not revoked (checked
// in the same statement, so a revocation committed before it is never
// missed).
func (s *Store) ClaimTasks(ctx context.Context, c store.Claim) ([]store.Task, error) {
	if c.Max <= 0 {
		c.Max = 1
	}
	var w where
	lease, now := w.arg(ms(c.Now.Add(c.Lease))), w.arg(ms(c.Now))
	dlg := w.arg(c.DelegateID)
	set := `status = 'RUNNING', delegate_id = ` + dlg + `, delegate_name = ` + w.arg(c.DelegateName) +
		`, lease_expires = ` + lease + `, attempts = attempts + 1, runs = runs + 1, claimed_at = ` + now + `, started_at = ` + now
	w.add("status = 'QUEUED'")
	w.add("cancel_requested = 0")
	w.add("deadline > " + now)
	w.scopes([]store.ScopeMatch{{Scope: c.Scope, Subtree: true}})
	w.add("NOT EXISTS (SELECT 1 FROM delegates dg JOIN delegate_tokens tk ON tk.id = dg.token_id WHERE dg.id = " + dlg + " AND tk.revoked_at <> 0)")
	tags, caps := w.arg(encodeList(c.Tags)), w.arg(encodeList(c.Capabilities))
	lock := ""
	if s.dialect == Postgres {
		w.add("selectors::jsonb <@ " + tags + "::jsonb")
		w.add("requires::jsonb <@ " + caps + "::jsonb")
		lock = " FOR UPDATE SKIP LOCKED"
	} else {
		w.add("NOT EXISTS (SELECT 1 FROM json_each(tasks.selectors) sel WHERE sel.value NOT IN (SELECT value FROM json_each(" + tags + ")))")
		w.add("NOT EXISTS (SELECT 1 FROM json_each(tasks.requires) req WHERE req.value NOT IN (SELECT value FROM json_each(" + caps + ")))")
		if !inTx(ctx) {
			// The same condition, read-only.
			var one int
			err := s.r.QueryRowContext(ctx, `SELECT 1 FROM tasks`+w.sql()+` LIMIT 1`, w.args...).Scan(&one)
			if errors.Is(s.translate(err), store.ErrNotFound) {
				return nil, nil
			}
			if err != nil {
				return nil, fmt.Errorf("look for tasks for delegate %s: %w", c.DelegateID, s.translate(err))
			}
		}
	}
	pick := `SELECT id FROM tasks` + w.sql() + ` ORDER BY created_at, id LIMIT ` + w.arg(c.Max) + lock
	q := `UPDATE tasks SET ` + set + ` WHERE status = 'QUEUED' AND id IN (` + pick + `) RETURNING ` + taskCols
	if s.dialect == Postgres {
		// A locking CTE runs once; an IN subquery may be re-run by the
		// planner and pick more than the limit.
		q = `WITH picked AS (` + pick + `) UPDATE tasks SET ` + set + ` FROM picked WHERE tasks.id = picked.id AND tasks.status = 'QUEUED' RETURNING ` + qualifiedTaskCols
	}
	rows, err := s.wq(ctx).QueryContext(ctx, q, w.args...)
	if err != nil {
		return nil, fmt.Errorf("claim tasks for delegate %s: %w", c.DelegateID, s.translate(err))
	}
	out, err := s.scanTasks(rows)
	if err != nil {
		return nil, fmt.Errorf("claim tasks for delegate %s: %w", c.DelegateID, err)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// ExtendLease implements store.Tasks.
func (s *Store) ExtendLease(ctx context.Context, id, delegateID string, until time.Time) (bool, error) {
	var cancel int
	err := s.wq(ctx).QueryRowContext(ctx, `UPDATE tasks SET lease_expires = $1 WHERE id = $2 AND delegate_id = $3 AND status = 'RUNNING'
RETURNING cancel_requested`, ms(until), id, delegateID).Scan(&cancel)
	if err != nil {
		if errors.Is(s.translate(err), store.ErrNotFound) {
			if _, gerr := s.GetTask(ctx, id); gerr != nil {
				return false, gerr
			}
			return false, fmt.Errorf("extend the lease of task %s: %w", id, store.ErrConflict)
		}
		return false, fmt.Errorf("extend the lease of task %s: %w", id, s.translate(err))
	}
	return cancel != 0, nil
}

// FinishTask implements store.Tasks.
func (s *Store) FinishTask(ctx context.Context, id, delegateID string, t store.Task) error {
	res, err := s.wq(ctx).ExecContext(ctx, `UPDATE tasks SET status = $1, output = $2, error = $3, finished_at = $4,
 started_at = CASE WHEN CAST($5 AS BIGINT) > 0 THEN CAST($5 AS BIGINT) ELSE started_at END, lease_expires = 0
WHERE id = $6 AND delegate_id = $7 AND status = 'RUNNING'`,
		t.Status, string(t.Output), string(t.Error), ms(t.FinishedAt), ms(t.StartedAt), id, delegateID)
	if err != nil {
		return fmt.Errorf("finish task %s: %w", id, s.translate(err))
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	cur, err := s.GetTask(ctx, id)
	if err != nil {
		return err
	}
	if cur.DelegateID == delegateID && cur.Status == t.Status {
		return nil // the same end posted again
	}
	return fmt.Errorf("finish task %s: it is %s under delegate %q: %w", id, cur.Status, cur.DelegateName, store.ErrConflict)
}

// cancelledOnRelease is the error of a task handed back after its
// cancellation was asked for.
const cancelledOnRelease = `{"kind":"CANCELED","message":"the task was cancelled; its delegate stopped it and handed it back"}`

// ReleaseTask implements store.Tasks.
func (s *Store) ReleaseTask(ctx context.Context, id, delegateID, note string, at time.Time) (string, error) {
	var status string
	err := s.wq(ctx).QueryRowContext(ctx, `UPDATE tasks SET
 status = CASE WHEN cancel_requested <> 0 THEN 'CANCELLED' ELSE 'QUEUED' END,
 finished_at = CASE WHEN cancel_requested <> 0 THEN CAST($1 AS BIGINT) ELSE finished_at END,
 error = CASE WHEN cancel_requested <> 0 THEN CAST($2 AS TEXT) ELSE error END,
 delegate_id = CASE WHEN cancel_requested <> 0 THEN delegate_id ELSE '' END,
 delegate_name = CASE WHEN cancel_requested <> 0 THEN delegate_name ELSE '' END,
 attempts = CASE WHEN cancel_requested <> 0 THEN attempts WHEN attempts > 0 THEN attempts - 1 ELSE 0 END,
 lease_expires = 0, note = $3
WHERE id = $4 AND delegate_id = $5 AND status = 'RUNNING'
RETURNING status`, ms(at), cancelledOnRelease, note, id, delegateID).Scan(&status)
	if err != nil {
		if errors.Is(s.translate(err), store.ErrNotFound) {
			return "", fmt.Errorf("release task %s: %w", id, store.ErrConflict)
		}
		return "", fmt.Errorf("release task %s: %w", id, s.translate(err))
	}
	return status, nil
}

// EndTask implements store.Tasks.
func (s *Store) EndTask(ctx context.Context, id, status string, errJSON []byte, at time.Time) (bool, error) {
	res, err := s.wq(ctx).ExecContext(ctx, `UPDATE tasks SET status = $1, error = $2, finished_at = $3, lease_expires = 0
WHERE id = $4 AND status IN ('QUEUED', 'RUNNING')`, status, string(errJSON), ms(at), id)
	if err != nil {
		return false, fmt.Errorf("end task %s: %w", id, s.translate(err))
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// FailQueued implements store.Tasks.
func (s *Store) FailQueued(ctx context.Context, id string, errJSON []byte, at time.Time) (bool, error) {
	res, err := s.wq(ctx).ExecContext(ctx, `UPDATE tasks SET status = 'FAILED', error = $1, finished_at = $2 WHERE id = $3 AND status = 'QUEUED'`,
		string(errJSON), ms(at), id)
	if err != nil {
		return false, fmt.Errorf("fail task %s: %w", id, s.translate(err))
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// RequestCancel implements store.Tasks.
func (s *Store) RequestCancel(ctx context.Context, id string, at time.Time) error {
	return s.InTx(ctx, func(ctx context.Context) error {
		if _, err := s.wq(ctx).ExecContext(ctx, `UPDATE tasks SET status = 'CANCELLED', finished_at = $1,
 error = '{"kind":"CANCELED","message":"the task was cancelled before a delegate started it"}'
WHERE id = $2 AND status = 'QUEUED'`, ms(at), id); err != nil {
			return fmt.Errorf("cancel task %s: %w", id, s.translate(err))
		}
		if _, err := s.wq(ctx).ExecContext(ctx, `UPDATE tasks SET cancel_requested = 1 WHERE id = $1 AND status = 'RUNNING'`, id); err != nil {
			return fmt.Errorf("cancel task %s: %w", id, s.translate(err))
		}
		return nil
	})
}

// ExpireTasks implements store.Tasks. Each row is changed by a statement
// that re-checks its condition, so replicas running this together never
// double-handle a task.
func (s *Store) ExpireTasks(ctx context.Context, now time.Time, failErr func(t store.Task, queued bool) []byte) (store.Expired, error) {
	var out store.Expired
	rows, err := s.rq(ctx).QueryContext(ctx, `SELECT `+taskCols+` FROM tasks
WHERE (status = 'RUNNING' AND lease_expires < $1) OR (status IN ('QUEUED', 'RUNNING') AND deadline <= $1)
 OR (status = 'QUEUED' AND cancel_requested <> 0)
ORDER BY created_at LIMIT 1000`, ms(now))
	if err != nil {
		return out, fmt.Errorf("find expired tasks: %w", s.translate(err))
	}
	cands, err := s.scanTasks(rows)
	if err != nil {
		return out, err
	}
	for _, t := range cands {
		pastDeadline := !t.Deadline.After(now)
		queued := t.Status == store.TaskQueued
		switch {
		case t.CancelRequested:
			// Cancelled: whatever its delegate did, it is not run again.
			t.Error = failErr(t, queued)
			res, err := s.wq(ctx).ExecContext(ctx, `UPDATE tasks SET status = 'CANCELLED', error = $1, finished_at = $2, lease_expires = 0
WHERE id = $3 AND status = $4 AND delegate_id = $5 AND cancel_requested <> 0 AND (status = 'QUEUED' OR lease_expires < $2 OR deadline <= $2)`,
				string(t.Error), ms(now), t.ID, t.Status, t.DelegateID)
			if err != nil {
				return out, fmt.Errorf("cancel expired task %s: %w", t.ID, s.translate(err))
			}
			if n, _ := res.RowsAffected(); n == 1 {
				t.Status = store.TaskCancelled
				out.Cancelled = append(out.Cancelled, t)
			}
			continue
		case t.Status == store.TaskRunning && !pastDeadline && t.Attempts < t.MaxAttempts:
			note := fmt.Sprintf("the lease of delegate %s ran out (attempt %d of %d); queued again", t.DelegateName, t.Attempts, t.MaxAttempts)
			res, err := s.wq(ctx).ExecContext(ctx, `UPDATE tasks SET status = 'QUEUED', delegate_id = '', delegate_name = '', lease_expires = 0, note = $1
WHERE id = $2 AND status = 'RUNNING' AND delegate_id = $3 AND lease_expires < $4 AND cancel_requested = 0`, note, t.ID, t.DelegateID, ms(now))
			if err != nil {
				return out, fmt.Errorf("requeue task %s: %w", t.ID, s.translate(err))
			}
			if n, _ := res.RowsAffected(); n == 1 {
				t.Note = note
				out.Requeued = append(out.Requeued, t)
			}
			continue
		}
		t.Error = failErr(t, queued)
		res, err := s.wq(ctx).ExecContext(ctx, `UPDATE tasks SET status = 'FAILED', error = $1, finished_at = $2, lease_expires = 0
WHERE id = $3 AND status = $4 AND delegate_id = $5 AND (lease_expires < $2 OR deadline <= $2)`, string(t.Error), ms(now), t.ID, t.Status, t.DelegateID)
		if err != nil {
			return out, fmt.Errorf("fail expired task %s: %w", t.ID, s.translate(err))
		}
		if n, _ := res.RowsAffected(); n == 1 {
			t.Status = store.TaskFailed
			out.Failed = append(out.Failed, t)
		}
	}
	return out, nil
}

// ClearTaskOutput implements store.Tasks.
func (s *Store) ClearTaskOutput(ctx context.Context, id string) error {
	if _, err := s.wq(ctx).ExecContext(ctx, `UPDATE tasks SET output = '' WHERE id = $1 AND output <> ''
 AND status IN ('SUCCEEDED', 'FAILED', 'CANCELLED')`, id); err != nil {
		return fmt.Errorf("clear the output of task %s: %w", id, s.translate(err))
	}
	return nil
}

// DropTaskOutputs implements store.Tasks. The partial index tasks_outputs
// holds only the rows with an output, so the sweep costs nothing for the
// task history.
func (s *Store) DropTaskOutputs(ctx context.Context, before time.Time) (int, error) {
	res, err := s.wq(ctx).ExecContext(ctx, `UPDATE tasks SET output = '' WHERE output <> '' AND finished_at < $1
 AND status IN ('SUCCEEDED', 'FAILED', 'CANCELLED')`, ms(before))
	if err != nil {
		return 0, fmt.Errorf("drop the outputs of tasks ended before %s: %w", before.UTC().Format(time.RFC3339), s.translate(err))
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// AppendTaskLogs implements store.Tasks.
func (s *Store) AppendTaskLogs(ctx context.Context, id string, lines []store.TaskLog) error {
	if len(lines) == 0 {
		return nil
	}
	var b strings.Builder
	var w where
	b.WriteString(`INSERT INTO task_logs (task_id, seq, at, line) VALUES `)
	for i, l := range lines {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "(%s, %s, %s, %s)", w.arg(id), w.arg(l.Seq), w.arg(ms(l.At)), w.arg(l.Line))
	}
	b.WriteString(` ON CONFLICT (task_id, seq) DO NOTHING`)
	if _, err := s.wq(ctx).ExecContext(ctx, b.String(), w.args...); err != nil {
		return fmt.Errorf("append logs of task %s: %w", id, s.translate(err))
	}
	return nil
}

// ListTaskLogs implements store.Tasks.
func (s *Store) ListTaskLogs(ctx context.Context, id string, afterSeq int64, limit int) ([]store.TaskLog, error) {
	if limit <= 0 {
		limit = 1000
	}
	rows, err := s.rq(ctx).QueryContext(ctx, `SELECT seq, at, line FROM task_logs WHERE task_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, id, afterSeq, limit)
	if err != nil {
		return nil, fmt.Errorf("list logs of task %s: %w", id, s.translate(err))
	}
	defer rows.Close()
	var out []store.TaskLog
	for rows.Next() {
		var l store.TaskLog
		var at int64
		if err := rows.Scan(&l.Seq, &at, &l.Line); err != nil {
			return nil, fmt.Errorf("list logs of task %s: %w", id, err)
		}
		l.At = fromMS(at)
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list logs of task %s: %w", id, s.translate(err))
	}
	return out, nil
}

// QueuedGroups implements store.Tasks.
func (s *Store) QueuedGroups(ctx context.Context) ([]store.QueuedGroup, error) {
	rows, err := s.rq(ctx).QueryContext(ctx, `SELECT account, org, project, selectors, requires, COUNT(*) FROM tasks
WHERE status = 'QUEUED' AND cancel_requested = 0 GROUP BY account, org, project, selectors, requires`)
	if err != nil {
		return nil, fmt.Errorf("group queued tasks: %w", s.translate(err))
	}
	defer rows.Close()
	var out []store.QueuedGroup
	for rows.Next() {
		var g store.QueuedGroup
		var sels, reqs string
		if err := rows.Scan(&g.Scope.Account, &g.Scope.Org, &g.Scope.Project, &sels, &reqs, &g.Count); err != nil {
			return nil, fmt.Errorf("group queued tasks: %w", err)
		}
		var err error
		if g.Selectors, err = decodeList(sels); err != nil {
			return nil, err
		}
		if g.Requires, err = decodeList(reqs); err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("group queued tasks: %w", s.translate(err))
	}
	return out, nil
}

// QueuedIn implements store.Tasks.
func (s *Store) QueuedIn(ctx context.Context, g store.QueuedGroup, limit int) ([]store.Task, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.rq(ctx).QueryContext(ctx, `SELECT `+taskCols+` FROM tasks
WHERE status = 'QUEUED' AND cancel_requested = 0 AND account = $1 AND org = $2 AND project = $3 AND selectors = $4 AND requires = $5
ORDER BY created_at, id LIMIT $6`, g.Scope.Account, g.Scope.Org, g.Scope.Project, encodeList(g.Selectors), encodeList(g.Requires), limit)
	if err != nil {
		return nil, fmt.Errorf("list queued tasks: %w", s.translate(err))
	}
	return s.scanTasks(rows)
}

// ConnectedDelegates implements store.Delegates. It lives with the task
// queries because it is the dispatcher's question: who may get tasks now.
func (s *Store) ConnectedDelegates(ctx context.Context, scopes []store.ScopeMatch, since, stoppedSince time.Time) ([]store.Delegate, error) {
	var w where
	w.scopes(scopes)
	if stoppedSince.IsZero() {
		w.add("stopped_at = 0")
	} else {
		w.add("(stopped_at = 0 OR stopped_at > " + w.arg(ms(stoppedSince)) + ")")
	}
	w.add("last_heartbeat > " + w.arg(ms(since)))
	w.add("NOT EXISTS (SELECT 1 FROM delegate_tokens tk WHERE tk.id = delegates.token_id AND tk.revoked_at <> 0)")
	return s.queryDelegates(ctx, `SELECT `+delegateCols+` FROM delegates`+w.sql()+` ORDER BY name, id`, w.args...)
}

// RecentDelegates implements store.Delegates.
func (s *Store) RecentDelegates(ctx context.Context, scopes []store.ScopeMatch, limit int) ([]store.Delegate, int, error) {
	var w where
	w.scopes(scopes)
	var total int
	if err := s.rq(ctx).QueryRowContext(ctx, `SELECT COUNT(*) FROM delegates`+w.sql(), w.args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count delegates: %w", s.translate(err))
	}
	if limit <= 0 {
		limit = 10
	}
	out, err := s.queryDelegates(ctx, `SELECT `+delegateCols+` FROM delegates`+w.sql()+` ORDER BY last_heartbeat DESC, name, id LIMIT `+w.arg(limit), w.args...)
	return out, total, err
}

func (s *Store) queryDelegates(ctx context.Context, q string, args ...any) ([]store.Delegate, error) {
	rows, err := s.rq(ctx).QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list delegates: %w", s.translate(err))
	}
	defer rows.Close()
	var out []store.Delegate
	for rows.Next() {
		d, err := scanDelegate(rows)
		if err != nil {
			return nil, fmt.Errorf("list delegates: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list delegates: %w", s.translate(err))
	}
	return out, nil
}

// StopTokenDelegates implements store.Delegates.
func (s *Store) StopTokenDelegates(ctx context.Context, tokenID string, at time.Time) error {
	if _, err := s.wq(ctx).ExecContext(ctx, `UPDATE delegates SET stopped_at = $1 WHERE token_id = $2 AND stopped_at = 0`, ms(at), tokenID); err != nil {
		return fmt.Errorf("stop the delegates of token %q: %w", tokenID, s.translate(err))
	}
	return nil
}

// PruneDelegates implements store.Delegates.
func (s *Store) PruneDelegates(ctx context.Context, before time.Time) (int, error) {
	res, err := s.wq(ctx).ExecContext(ctx, `DELETE FROM delegates WHERE last_heartbeat < $1
 AND NOT EXISTS (SELECT 1 FROM tasks WHERE tasks.delegate_id = delegates.id AND tasks.status = 'RUNNING')`, ms(before))
	if err != nil {
		return 0, fmt.Errorf("prune delegates last seen before %s: %w", before.UTC().Format(time.RFC3339), s.translate(err))
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
