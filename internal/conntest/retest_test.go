package conntest

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/azimuthcd/azimuth/internal/access"
	"github.com/azimuthcd/azimuth/internal/connector"
	"github.com/azimuthcd/azimuth/internal/ops"
	"github.com/azimuthcd/azimuth/internal/scope"
	"github.com/azimuthcd/azimuth/internal/service"
	"github.com/azimuthcd/azimuth/internal/store"
	"github.com/azimuthcd/azimuth/internal/task"
)

// fakeStore knows which connectors use which secret.
type fakeStore struct {
	refs map[store.ConnectorID][]store.ConnectorID // secret -> connectors
}

func (f *fakeStore) ListConnectors(context.Context, store.ListFilter) ([]store.Connector, int, error) {
	return nil, 0, nil
}

func (f *fakeStore) ConnectorsReferencing(_ context.Context, sc scope.Scope, id string) ([]store.ConnectorID, error) {
	return f.refs[store.ConnectorID{Scope: sc, Identifier: id}], nil
}

// syncForgetter records forgotten cache keys; safe for Run's goroutine.
type syncForgetter struct {
	mu  sync.Mutex
	ids []string
}

func (f *syncForgetter) Forget(c *connector.Connector) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ids = append(f.ids, c.AccountIdentifier+"/"+c.OrgIdentifier+"/"+c.ProjectIdentifier+"/"+c.Identifier)
}

func (f *syncForgetter) forgotten() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.ids)
}

// fakeConnectors serves connectors and records the statuses set.
type fakeConnectors struct {
	mu     sync.Mutex
	status map[string]store.ConnectorStatus
}

func (f *fakeConnectors) Get(_ context.Context, _ access.Principal, sc scope.Scope, id string) (service.Connector, error) {
	doc := conn()
	doc.Identifier, doc.AccountIdentifier, doc.OrgIdentifier, doc.ProjectIdentifier = id, sc.Account, sc.Org, sc.Project
	return service.Connector{Connector: store.Connector{Scope: sc, Identifier: id, Type: connector.TypeAzure, Version: 1}, Doc: doc}, nil
}

func (f *fakeConnectors) SetStatus(_ context.Context, _ access.Principal, sc scope.Scope, id string, st store.ConnectorStatus) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.status == nil {
		f.status = map[string]store.ConnectorStatus{}
	}
	f.status[sc.String()+"/"+id] = st
	return nil
}

func (f *fakeConnectors) statusOf(sc scope.Scope, id string) (store.ConnectorStatus, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, ok := f.status[sc.String()+"/"+id]
	return st, ok
}

// okRunner answers every connection test with SUCCESS.
type okRunner struct{}

func (okRunner) Run(_ context.Context, spec task.Spec) (*task.Result, error) {
	out, _ := json.Marshal(ops.ValidationResult{Status: ops.StatusSuccess, TestedAt: time.Now().UnixMilli()})
	return &task.Result{TaskID: "t-" + spec.Connector.Identifier, Kind: spec.Kind, Status: task.Succeeded, Output: out}, nil
}

// runRetester runs r until the test ends.
func runRetester(t *testing.T, r *Retester) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = r.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

// eventually polls cond for up to 10 s (generous: nothing here is slow).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var (
	acctScope = scope.Scope{Account: "acme"}
	projScope = scope.Scope{Account: "acme", Org: "o", Project: "p"}
)

// A secret updated or deleted drops the cached credentials of the
// connectors using it, under both cache keys, and no other's — even with
// background re-tests off.
func TestSecretChangeForgetsCredentials(t *testing.T) {
	for _, op := range []string{"update", "delete"} {
		t.Run(op, func(t *testing.T) {
			st := &fakeStore{refs: map[store.ConnectorID][]store.ConnectorID{
				{Scope: acctScope, Identifier: "sp-secret"}: {{Scope: acctScope, Identifier: "c1"}, {Scope: projScope, Identifier: "c2"}},
				{Scope: acctScope, Identifier: "other"}:     {{Scope: acctScope, Identifier: "c3"}},
			}}
			f := &syncForgetter{}
			r := &Retester{Store: st, Azure: f, Interval: 0}
			runRetester(t, r)
			r.OnChange(service.Change{Resource: "secret", Op: op, Scope: acctScope, Identifier: "sp-secret"})
			want := []string{"acme///c1", "///c1", "acme/o/p/c2", "/o/p/c2"}
			eventually(t, "credentials forgotten", func() bool { return len(f.forgotten()) >= len(want) })
			got := f.forgotten()
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("forgotten %v, want %v", got, want)
			}
		})
	}
}

// A newly created secret re-tests the connectors that refer to it: one
// left failing with SecretMissing after its secret was deleted recovers at
// once instead of at the next periodic round. A key rotation re-tests
// nothing.
func TestCreatedSecretRetestsItsConnectors(t *testing.T) {
	st := &fakeStore{refs: map[store.ConnectorID][]store.ConnectorID{
		{Scope: acctScope, Identifier: "sp-secret"}: {{Scope: projScope, Identifier: "stuck"}},
	}}
	svc := &fakeConnectors{}
	f := &syncForgetter{}
	r := &Retester{Connectors: svc, Store: st, Tasks: okRunner{}, Azure: f, Interval: time.Hour}
	runRetester(t, r)
	r.OnChange(service.Change{Resource: "secret", Op: "rotate"})
	r.OnChange(service.Change{Resource: "secret", Op: "create", Scope: acctScope, Identifier: "sp-secret"})
	eventually(t, "the connector re-tested", func() bool {
		_, ok := svc.statusOf(projScope, "stuck")
		return ok
	})
	if s, _ := svc.statusOf(projScope, "stuck"); s.Status != ops.StatusSuccess {
		t.Fatalf("status %+v", s)
	}
	if n := r.Tested(); n != 1 {
		t.Fatalf("%d re-tests, want 1", n)
	}
	if got := f.forgotten(); !slices.Contains(got, "acme/o/p/stuck") {
		t.Fatalf("forgotten %v", got)
	}
}

// countingStore counts the periodic rounds' listings.
type countingStore struct {
	fakeStore
	mu    sync.Mutex
	lists int
}

func (c *countingStore) ListConnectors(context.Context, store.ListFilter) ([]store.Connector, int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lists++
	return nil, 0, nil
}

func (c *countingStore) listed() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lists
}

// Only the leader runs periodic rounds: a replica that does not lead asks
// again each interval and lists nothing.
func TestPeriodicRoundsOnlyWhereLeading(t *testing.T) {
	var mu sync.Mutex
	lead, asked := false, 0
	leader := func(context.Context) bool {
		mu.Lock()
		defer mu.Unlock()
		asked++
		return lead
	}
	st := &countingStore{}
	r := &Retester{Store: st, Accounts: []string{"acme"}, Interval: 10 * time.Millisecond, Leader: leader}
	runRetester(t, r)
	eventually(t, "the leader asked a few times", func() bool { mu.Lock(); defer mu.Unlock(); return asked >= 3 })
	if n := st.listed(); n != 0 {
		t.Fatalf("a replica that does not lead ran %d rounds", n)
	}
	mu.Lock()
	lead = true
	mu.Unlock()
	eventually(t, "a round once leading", func() bool { return st.listed() > 0 })
}
