package store

import (
	"context"
	"time"

	"github.com/azimuthcd/azimuth/internal/scope"
)

// DelegateToken is a stored delegate token: never the token, only its hash.
// Delegates registering with it get its scope.
type DelegateToken struct {
	ID        string
	Name      string
	Scope     scope.Scope
	Hash      []byte
	CreatedAt time.Time
	CreatedBy string // the API key that created it
	RevokedAt time.Time
}

// Revoked reports whether the token was revoked.
func (t DelegateToken) Revoked() bool { return !t.RevokedAt.IsZero() }

// Delegate is one registered delegate process.
type Delegate struct {
	ID           string
	Name         string
	Scope        scope.Scope // its token's scope
	TokenID      string
	Tags         []string
	Version      string
	Capabilities map[string]string
	Concurrency  int
	RegisteredAt time.Time
	LastSeen     time.Time // last heartbeat, poll or task call
	StoppedAt    time.Time // it said goodbye; zero while it runs
}

// Task states as stored (task.Status values).
const (
	TaskQueued    = "QUEUED"
	TaskRunning   = "RUNNING"
	TaskSucceeded = "SUCCEEDED"
	TaskFailed    = "FAILED"
	TaskCancelled = "CANCELLED"
)

// Task is a stored task. Its connector snapshot holds secret references,
// never values; Params and Output are stored as the hub gives them (sealed
// with the keyring: parameters may carry secrets, outputs are often
// credentials), Output only until the waiting request has read it; Error
// is a task.Error as JSON, already masked.
type Task struct {
	ID               string
	Kind             string
	Scope            scope.Scope // the connector's scope: which delegates may run it
	Owner            scope.Scope // who asked: who may see it (same account)
	ConnectorID      string
	ConnectorDoc     []byte
	ConnectorVersion int64
	Params           []byte
	Selectors        []string
	// Requires are capabilities its delegate must report as "true" (a
	// managed-identity script step: "kubernetes"); internal/ops decides
	// them.
	Requires     []string
	Status       string
	DelegateID   string
	DelegateName string
	LeaseExpires time.Time
	Attempts     int
	MaxAttempts  int
	// Runs counts the claims: while a delegate holds the task, the number
	// of its run. A hand-back gives the attempt back, never the run.
	Runs            int
	CancelRequested bool
	Output          []byte
	Error           []byte
	Note            string // why it went back to the queue, if it did
	Requester       string
	CreatedAt       time.Time
	ClaimedAt       time.Time
	StartedAt       time.Time
	FinishedAt      time.Time
	Deadline        time.Time // past it, a queued or running task fails
}

// Claim asks for queued tasks a delegate may run: tasks whose scope lies
// in the delegate's scope (or below), whose every selector is among its
// tags and whose every requirement among its capabilities, oldest first.
// A delegate whose token is revoked claims nothing, and a task whose
// cancellation was asked for is never claimed.
type Claim struct {
	DelegateID   string
	DelegateName string
	Scope        scope.Scope
	Tags         []string
	// Capabilities are the capabilities the delegate reports as "true".
	Capabilities []string
	Lease        time.Duration
	Now          time.Time
	Max          int
}

// TaskFilter narrows the task list: tasks whose owner or scope lies in
// one of Scopes (and below).
type TaskFilter struct {
	Scopes     []ScopeMatch
	Status     string
	DelegateID string
	Kind       string
	Page       Page
}

// TaskLog is one masked log line of a task. Seq orders a task's lines
// across its runs: a delegate numbers the lines of its run from 1, and
// the hub stores them as LogSeq(run, n), so a task run again (its first
// delegate was lost) keeps both runs' lines, the second after the first.
type TaskLog struct {
	Seq  int64
	At   time.Time
	Line string
}

// LogRunShift places each run's log lines in a range of their own: run r
// (from 1) holds seq (r-1)<<LogRunShift + 1 onwards.
const LogRunShift = 32

// MaxRunLogSeq is the largest number a delegate may give a line of one
// run.
const MaxRunLogSeq = 1<<LogRunShift - 1

// LogSeq is the stored sequence number of line n (from 1) of run r.
func LogSeq(run int, n int64) int64 {
	return int64(max(run, 1)-1)<<LogRunShift + n
}

// LogRun is the run a stored sequence number belongs to.
func LogRun(seq int64) int { return int(seq>>LogRunShift) + 1 }

// Expired is what ExpireTasks did.
type Expired struct {
	Requeued  []Task // leases that ran out with attempts left
	Failed    []Task // leases out of attempts, or deadlines passed
	Cancelled []Task // cancellation asked for and the lease ran out (or handed back)
}

// QueuedGroup is a set of queued tasks that need the same delegates:
// the same scope, selectors and requirements.
type QueuedGroup struct {
	Scope     scope.Scope
	Selectors []string
	Requires  []string
	Count     int
}

// DelegateTokens stores delegate tokens.
type DelegateTokens interface {
	CreateDelegateToken(ctx context.Context, t *DelegateToken) error
	GetDelegateToken(ctx context.Context, id string) (DelegateToken, error)
	// ListDelegateTokens lists tokens in the scopes of f (Scopes, Page).
	ListDelegateTokens(ctx context.Context, f ListFilter) ([]DelegateToken, int, error)
	// RevokeDelegateToken revokes once; revoking again keeps the first time.
	RevokeDelegateToken(ctx context.Context, id string, at time.Time) error
}

// Delegates stores registered delegates.
type Delegates interface {
	// UpsertDelegate records a registration (a new id, or the same id
	// registering again after a reconnect).
	UpsertDelegate(ctx context.Context, d *Delegate) error
	GetDelegate(ctx context.Context, id string) (Delegate, error)
	// ListDelegates lists delegates in the scopes of f (Scopes, Page).
	ListDelegates(ctx context.Context, f ListFilter) ([]Delegate, int, error)
	// TouchDelegate records contact (a heartbeat).
	TouchDelegate(ctx context.Context, id string, at time.Time) error
	// StopDelegate records a goodbye.
	StopDelegate(ctx context.Context, id string, at time.Time) error
	// ConnectedDelegates lists every delegate in one of scopes that was
	// seen after since, whose token is not revoked and that has not said
	// goodbye (or said it after stoppedSince, when that is not zero: it may
	// be restarting): the delegates that may get tasks. Not paged.
	ConnectedDelegates(ctx context.Context, scopes []ScopeMatch, since, stoppedSince time.Time) ([]Delegate, error)
	// RecentDelegates lists up to limit delegates in one of scopes, the
	// most recently seen first, and how many there are.
	RecentDelegates(ctx context.Context, scopes []ScopeMatch, limit int) ([]Delegate, int, error)
	// StopTokenDelegates records a goodbye for every delegate of a token
	// (it was revoked).
	StopTokenDelegates(ctx context.Context, tokenID string, at time.Time) error
	// PruneDelegates deletes delegates last seen before before that hold
	// no running task, and says how many went.
	PruneDelegates(ctx context.Context, before time.Time) (int, error)
}

// Tasks stores tasks: the queue and its leases. Claims are exclusive: on
// PostgreSQL with FOR UPDATE SKIP LOCKED (replicas claim concurrently), on
// SQLite through its single writer.
type Tasks interface {
	CreateTask(ctx context.Context, t *Task) error
	GetTask(ctx context.Context, id string) (Task, error)
	ListTasks(ctx context.Context, f TaskFilter) ([]Task, int, error)
	// ClaimTasks moves up to c.Max eligible queued tasks to RUNNING under
	// c's delegate with a lease of c.Lease, and returns them.
	ClaimTasks(ctx context.Context, c Claim) ([]Task, error)
	// ExtendLease moves the lease of a task the delegate holds to until and
	// reports whether cancellation was requested; ErrConflict when the
	// delegate no longer holds it (expired, finished, cancelled).
	ExtendLease(ctx context.Context, id, delegateID string, until time.Time) (cancel bool, err error)
	// FinishTask records the end of a task the delegate holds. Posting the
	// same end again is a no-op (idempotent); ErrConflict when another
	// delegate holds it or it ended otherwise.
	FinishTask(ctx context.Context, id, delegateID string, t Task) error
	// ReleaseTask hands a held task back to the queue (a delegate stopping,
	// or a poll that ended before its tasks reached the delegate); the
	// attempt does not count. A task whose cancellation was asked for ends
	// CANCELLED instead. It returns the status the task is left in.
	ReleaseTask(ctx context.Context, id, delegateID, note string, at time.Time) (string, error)
	// EndTask ends a task that is not terminal yet from the server's side
	// (timeout, cancellation, no delegate): status, error JSON and time.
	EndTask(ctx context.Context, id, status string, errJSON []byte, at time.Time) (bool, error)
	// FailQueued fails a task only while it is queued (no delegate holds
	// it); false when it is not.
	FailQueued(ctx context.Context, id string, errJSON []byte, at time.Time) (bool, error)
	// RequestCancel cancels a queued task at once and asks the delegate
	// holding a running one to stop.
	RequestCancel(ctx context.Context, id string, at time.Time) error
	// ExpireTasks re-queues running tasks whose lease ran out (attempts
	// left, deadline not passed, no cancellation asked for) and fails the
	// rest, cancels those whose cancellation was asked for, and fails
	// queued tasks past their deadline. failErr builds the error JSON of a
	// failed or cancelled one (t.CancelRequested says which).
	ExpireTasks(ctx context.Context, now time.Time, failErr func(t Task, queued bool) []byte) (Expired, error)
	// ClearTaskOutput drops the output of an ended task (the request
	// waiting for it has read it); the row stays, with its status,
	// timings and error.
	ClearTaskOutput(ctx context.Context, id string) error
	// DropTaskOutputs drops the outputs of tasks that ended before before
	// (nobody read them: their waiter went away) and says how many.
	DropTaskOutputs(ctx context.Context, before time.Time) (int, error)
	// AppendTaskLogs stores log lines by sequence number; a line already
	// stored (a retried post) is kept.
	AppendTaskLogs(ctx context.Context, id string, lines []TaskLog) error
	ListTaskLogs(ctx context.Context, id string, afterSeq int64, limit int) ([]TaskLog, error)
	// QueuedGroups groups the queued tasks by what they need of a
	// delegate.
	QueuedGroups(ctx context.Context) ([]QueuedGroup, error)
	// QueuedIn lists up to limit queued tasks of a group, oldest first.
	QueuedIn(ctx context.Context, g QueuedGroup, limit int) ([]Task, error)
}
