package conntest

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/azimuthcd/azimuth/internal/access"
	"github.com/azimuthcd/azimuth/internal/connector"
	"github.com/azimuthcd/azimuth/internal/ops"
	"github.com/azimuthcd/azimuth/internal/scope"
	"github.com/azimuthcd/azimuth/internal/service"
	"github.com/azimuthcd/azimuth/internal/store"
	"github.com/azimuthcd/azimuth/internal/task"
)

// DefaultInterval is how often every connector is re-tested, as Harness's
// connector heartbeat does.
const DefaultInterval = 30 * time.Minute

// listPage is how many connectors one listing reads.
const listPage = 200

// Runner runs tasks (the engine).
type Runner interface {
	Run(ctx context.Context, spec task.Spec) (*task.Result, error)
}

// Store is what the re-tester reads directly: every connector of an
// account, and the connectors a secret is used by.
type Store interface {
	ListConnectors(ctx context.Context, f store.ListFilter) ([]store.Connector, int, error)
	ConnectorsReferencing(ctx context.Context, sc scope.Scope, id string) ([]store.ConnectorID, error)
}

// ConnectorService is what the re-tester needs of the connector service
// (*service.Connectors): read a connector, record its status.
type ConnectorService interface {
	Get(ctx context.Context, p access.Principal, sc scope.Scope, id string) (service.Connector, error)
	StatusSetter
}

// Forgetter drops a connector's cached credential (azure.Factory).
type Forgetter interface {
	Forget(c *connector.Connector)
}

// Retester re-tests connectors in the background: every connector of its
// accounts each Interval, and a connector as soon as a secret it refers
// to changes. Whatever changes a connector or one of its secrets drops the
// connector's cached credential. Results are recorded as the connectors'
// status, so a certificate that is about to expire shows as a warning on
// the connector days before a pipeline fails on it.
type Retester struct {
	Connectors ConnectorService
	Store      Store
	Tasks      Runner
	Azure      Forgetter
	// Accounts are the accounts whose connectors are re-tested.
	Accounts []string
	// Interval is the period of the full re-test; 0 disables background
	// re-tests (periodic and on secret change). Credentials are forgotten
	// either way.
	Interval time.Duration
	// Timeout bounds one connector's test (default: the task's own).
	Timeout time.Duration
	// Leader, when set, is asked before each periodic round whether this
	// process runs it: server replicas sharing a database elect one, so
	// each connector is re-tested once per interval, not once per
	// replica. nil: always (one process). Re-tests on secret change run
	// where the change was made, whatever Leader says.
	Leader func(ctx context.Context) bool
	Logger *slog.Logger
	Now    func() time.Time

	mu      sync.Mutex
	pending map[store.ConnectorID]bool
	secrets map[store.ConnectorID]bool // changed secrets, resolved to connectors by Run
	wake    chan struct{}
	// tested counts the tests run (tests).
	tested int
}

func (r *Retester) init() {
	if r.wake == nil {
		r.wake = make(chan struct{}, 1)
		r.pending = map[store.ConnectorID]bool{}
		r.secrets = map[store.ConnectorID]bool{}
	}
}

func (r *Retester) log() *slog.Logger {
	if r.Logger == nil {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return r.Logger
}

func (r *Retester) now() time.Time {
	if r.Now == nil {
		return time.Now()
	}
	return r.Now()
}

// forget drops both spellings of a connector's credential cache key: with
// the account, and as the stored document has it (without).
func (r *Retester) forget(sc scope.Scope, id string) {
	if r.Azure == nil {
		return
	}
	for _, acct := range []string{sc.Account, ""} {
		r.Azure.Forget(&connector.Connector{AccountIdentifier: acct, OrgIdentifier: sc.Org, ProjectIdentifier: sc.Project, Identifier: id})
	}
}

// OnChange is service.Deps.OnChange: it never blocks. A changed or
// deleted connector's credential is dropped at once; a created, changed
// or deleted secret is resolved to the connectors using it by Run, which
// forgets their credentials and re-tests them (a created secret is one a
// connector may have been failing on with SecretMissing since it was
// deleted). A key rotation changes no secret's value and names none.
func (r *Retester) OnChange(c service.Change) {
	r.mu.Lock()
	r.init()
	switch c.Resource {
	case "connector":
		r.forget(c.Scope, c.Identifier)
	case "secret":
		if c.Op != "rotate" && c.Identifier != "" {
			r.secrets[store.ConnectorID{Scope: c.Scope, Identifier: c.Identifier}] = true
		}
	}
	r.mu.Unlock()
	r.signal()
}

func (r *Retester) signal() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Tested is the number of re-tests run so far.
func (r *Retester) Tested() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tested
}

// Run re-tests until ctx ends.
func (r *Retester) Run(ctx context.Context) error {
	r.mu.Lock()
	r.init()
	wake := r.wake
	r.mu.Unlock()
	var tick <-chan time.Time
	if r.Interval > 0 {
		t := time.NewTicker(r.Interval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick:
			if r.Leader == nil || r.Leader(ctx) {
				r.all(ctx)
			} else {
				r.log().Debug("periodic re-test left to the replica that leads them")
			}
		case <-wake:
			r.changed(ctx)
		}
	}
}

// changed handles the queued secret changes and connector re-tests.
func (r *Retester) changed(ctx context.Context) {
	r.mu.Lock()
	secrets := r.secrets
	r.secrets = map[store.ConnectorID]bool{}
	r.mu.Unlock()
	for s := range secrets {
		ids, err := r.Store.ConnectorsReferencing(ctx, s.Scope, s.Identifier)
		if err != nil {
			r.log().Warn("find the connectors using a changed secret", "secret", s.Identifier, "scope", s.Scope.String(), "err", err)
			continue
		}
		r.mu.Lock()
		for _, id := range ids {
			r.forget(id.Scope, id.Identifier)
			if r.Interval > 0 {
				r.pending[id] = true
			}
		}
		r.mu.Unlock()
	}
	for {
		r.mu.Lock()
		var next *store.ConnectorID
		for id := range r.pending {
			id := id
			next = &id
			delete(r.pending, id)
			break
		}
		r.mu.Unlock()
		if next == nil || ctx.Err() != nil {
			return
		}
		r.TestOne(ctx, *next)
	}
}

// all re-tests every connector of the accounts, one at a time (the
// machine's Azure calls stay few; a test takes about a second).
func (r *Retester) all(ctx context.Context) {
	for _, acct := range r.Accounts {
		var ids []store.ConnectorID
		for page := 0; ; page++ {
			recs, total, err := r.Store.ListConnectors(ctx, store.ListFilter{
				Scopes: []store.ScopeMatch{{Scope: scope.Scope{Account: acct}, Subtree: true}},
				Types:  []string{connector.TypeAzure}, Page: store.Page{Index: page, Size: listPage}})
			if err != nil {
				r.log().Warn("list connectors to re-test", "account", acct, "err", err)
				break
			}
			for _, c := range recs {
				ids = append(ids, store.ConnectorID{Scope: c.Scope, Identifier: c.Identifier})
			}
			if len(recs) == 0 || (page+1)*listPage >= total {
				break
			}
		}
		for _, id := range ids {
			if ctx.Err() != nil {
				return
			}
			r.TestOne(ctx, id)
		}
	}
}

// TestOne tests one connector as the server and records the outcome. It
// returns the result (nil when the test could not be run or recorded;
// that is logged).
func (r *Retester) TestOne(ctx context.Context, id store.ConnectorID) *ops.ValidationResult {
	p := access.System("connection re-test")
	c, err := r.Connectors.Get(ctx, p, id.Scope, id.Identifier)
	if err != nil {
		r.log().Debug("connector gone before its re-test", "connector", id.Identifier, "scope", id.Scope.String(), "err", err)
		return nil
	}
	spec := task.Spec{Kind: ops.KindValidate, Scope: c.Scope, Owner: c.Scope, Connector: c.Doc,
		ConnectorVersion: c.Version, Requester: "retest", Timeout: r.Timeout}
	res, runErr := r.Tasks.Run(ctx, spec)
	v, err := FromTask(ctx, c.Doc, res, runErr, r.now())
	if err != nil {
		if ctx.Err() == nil {
			r.log().Warn("re-test connector", "connector", id.Identifier, "scope", id.Scope.String(), "err", err)
		}
		return nil
	}
	if err := Record(ctx, r.Connectors, p, c.Scope, c.Identifier, c.Status, v); err != nil {
		r.log().Warn("record re-test", "connector", id.Identifier, "err", err)
		return nil
	}
	r.mu.Lock()
	r.tested++
	r.mu.Unlock()
	r.log().Info("connector re-tested", "connector", id.Identifier, "scope", id.Scope.String(), "status", v.Status,
		"reason", v.Reason, "warnings", len(v.Warnings))
	return v
}
