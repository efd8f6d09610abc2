package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/azimuthcd/azimuth/internal/scope"
	"github.com/azimuthcd/azimuth/internal/store"
	"github.com/azimuthcd/azimuth/internal/store/sqlstore"
	"github.com/azimuthcd/azimuth/internal/testenv"
)

func TestDelegateTokens(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		acc := scope.Scope{Account: "acc"}
		proj := scope.Scope{Account: "acc", Org: "o1", Project: "p1"}
		must(t, s.CreateDelegateToken(ctx, &store.DelegateToken{ID: "t1", Name: "main", Scope: acc, Hash: []byte("h1"), CreatedAt: now}))
		must(t, s.CreateDelegateToken(ctx, &store.DelegateToken{ID: "t2", Name: "main", Scope: proj, Hash: []byte("h2"), CreatedAt: now}))
		wantErr(t, s.CreateDelegateToken(ctx, &store.DelegateToken{ID: "t3", Name: "main", Scope: acc, Hash: []byte("h3"), CreatedAt: now}), store.ErrDuplicate)
		got, err := s.GetDelegateToken(ctx, "t2")
		must(t, err)
		if got.Scope != proj || string(got.Hash) != "h2" || got.Revoked() {
			t.Fatalf("got %+v", got)
		}
		l, n, err := s.ListDelegateTokens(ctx, store.ListFilter{Scopes: []store.ScopeMatch{{Scope: acc, Subtree: true}}})
		must(t, err)
		if n != 2 || len(l) != 2 {
			t.Fatalf("list: %d %v", n, l)
		}
		l, _, err = s.ListDelegateTokens(ctx, store.ListFilter{Scopes: []store.ScopeMatch{{Scope: acc}}})
		must(t, err)
		if len(l) != 1 || l[0].ID != "t1" {
			t.Fatalf("list account only: %v", l)
		}
		must(t, s.RevokeDelegateToken(ctx, "t1", now))
		must(t, s.RevokeDelegateToken(ctx, "t1", now.Add(time.Hour)))
		got, _ = s.GetDelegateToken(ctx, "t1")
		if !got.RevokedAt.Equal(now) {
			t.Fatalf("revoked at %v", got.RevokedAt)
		}
		wantErr(t, s.RevokeDelegateToken(ctx, "nope", now), store.ErrNotFound)
	})
}

func TestDelegatesRegistry(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		d := store.Delegate{ID: "d1", Name: "vm", Scope: scope.Scope{Account: "acc"}, TokenID: "t1", Tags: []string{"x", "vm"},
			Version: "1.0", Capabilities: map[string]string{"managedIdentity": "imds"}, Concurrency: 4, RegisteredAt: now, LastSeen: now}
		must(t, s.UpsertDelegate(ctx, &d))
		d.Tags = []string{"y"}
		d.LastSeen = now.Add(time.Second)
		must(t, s.UpsertDelegate(ctx, &d))
		must(t, s.TouchDelegate(ctx, "d1", now.Add(2*time.Second)))
		wantErr(t, s.TouchDelegate(ctx, "d2", now), store.ErrNotFound)
		got, err := s.GetDelegate(ctx, "d1")
		must(t, err)
		if len(got.Tags) != 1 || got.Tags[0] != "y" || !got.LastSeen.Equal(now.Add(2*time.Second)) || got.Capabilities["managedIdentity"] != "imds" || !got.RegisteredAt.Equal(now) {
			t.Fatalf("got %+v", got)
		}
		must(t, s.StopDelegate(ctx, "d1", now.Add(3*time.Second)))
		l, n, err := s.ListDelegates(ctx, store.ListFilter{Scopes: []store.ScopeMatch{{Scope: scope.Scope{Account: "acc"}, Subtree: true}}})
		must(t, err)
		if n != 1 || l[0].StoppedAt.IsZero() {
			t.Fatalf("list: %+v", l)
		}
	})
}

func newTask(id string, sc scope.Scope, sels ...string) *store.Task {
	return &store.Task{ID: id, Kind: "diag.echo", Scope: sc, Owner: sc, Selectors: sels, MaxAttempts: 2,
		ConnectorDoc: []byte(`{"connector":{}}`), Params: []byte(`{}`), CreatedAt: now, Deadline: now.Add(time.Hour)}
}

func TestTaskClaims(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		acc := scope.Scope{Account: "acc"}
		org := scope.Scope{Account: "acc", Org: "o1"}
		proj := scope.Scope{Account: "acc", Org: "o1", Project: "p1"}
		must(t, s.CreateTask(ctx, newTask("t-acc", acc)))
		must(t, s.CreateTask(ctx, newTask("t-proj-x", proj, "x")))
		must(t, s.CreateTask(ctx, newTask("t-org-xy", org, "x", "y")))
		claim := func(sc scope.Scope, tags ...string) []string {
			t.Helper()
			got, err := s.ClaimTasks(ctx, store.Claim{DelegateID: "d", DelegateName: "d", Scope: sc, Tags: tags, Lease: time.Minute, Now: now, Max: 10})
			must(t, err)
			var ids []string
			for _, x := range got {
				if x.Status != store.TaskRunning || x.Attempts != 1 || !x.LeaseExpires.Equal(now.Add(time.Minute)) {
					t.Fatalf("claimed %+v", x)
				}
				ids = append(ids, x.ID)
			}
			return ids
		}
		// A project delegate sees no account or org task; a tagless one
		// nothing with selectors.
		if got := claim(proj); len(got) != 0 {
			t.Fatalf("project delegate without tags claimed %v", got)
		}
		if got := claim(scope.Scope{Account: "acc", Org: "o2"}, "x", "y"); len(got) != 0 {
			t.Fatalf("other org claimed %v", got)
		}
		if got := claim(org, "x"); fmt.Sprint(got) != "[t-proj-x]" {
			t.Fatalf("org delegate tagged x claimed %v", got)
		}
		if got := claim(acc, "y", "x", "z"); fmt.Sprint(got) != "[t-acc t-org-xy]" {
			t.Fatalf("account delegate tagged x,y,z claimed %v", got)
		}
		if got := claim(acc, "x", "y"); len(got) != 0 {
			t.Fatalf("claimed twice: %v", got)
		}
	})
}

func TestTaskLifecycle(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		acc := scope.Scope{Account: "acc"}
		for _, id := range []string{"a", "b", "c", "d"} {
			must(t, s.CreateTask(ctx, newTask(id, acc)))
		}
		c := store.Claim{DelegateID: "d1", DelegateName: "one", Scope: acc, Lease: time.Minute, Now: now, Max: 3}
		got, err := s.ClaimTasks(ctx, c)
		must(t, err)
		if len(got) != 3 || got[0].ID != "a" {
			t.Fatalf("claimed %v", got)
		}
		// Extend, finish (twice: idempotent), conflicts for others.
		cancel, err := s.ExtendLease(ctx, "a", "d1", now.Add(2*time.Minute))
		must(t, err)
		if cancel {
			t.Fatal("cancel requested")
		}
		_, err = s.ExtendLease(ctx, "a", "d2", now.Add(2*time.Minute))
		wantErr(t, err, store.ErrConflict)
		end := store.Task{Status: store.TaskSucceeded, Output: []byte(`{"ok":true}`), StartedAt: now, FinishedAt: now.Add(time.Second)}
		must(t, s.FinishTask(ctx, "a", "d1", end))
		must(t, s.FinishTask(ctx, "a", "d1", end))
		wantErr(t, s.FinishTask(ctx, "a", "d2", end), store.ErrConflict)
		_, err = s.ExtendLease(ctx, "a", "d1", now.Add(3*time.Minute))
		wantErr(t, err, store.ErrConflict)
		a, _ := s.GetTask(ctx, "a")
		if a.Status != store.TaskSucceeded || string(a.Output) != `{"ok":true}` || !a.FinishedAt.Equal(now.Add(time.Second)) {
			t.Fatalf("a = %+v", a)
		}
		// Cancellation of a running task is asked of its delegate.
		must(t, s.RequestCancel(ctx, "b", now))
		cancel, err = s.ExtendLease(ctx, "b", "d1", now.Add(time.Minute))
		must(t, err)
		if !cancel {
			t.Fatal("cancel not requested")
		}
		must(t, s.FinishTask(ctx, "b", "d1", store.Task{Status: store.TaskCancelled, FinishedAt: now}))
		// Cancelling a queued one ends it.
		must(t, s.RequestCancel(ctx, "d", now))
		if d, _ := s.GetTask(ctx, "d"); d.Status != store.TaskCancelled {
			t.Fatalf("d = %s", d.Status)
		}
		// Release gives c back without counting the attempt.
		st, err := s.ReleaseTask(ctx, "c", "d1", "delegate one stopping", now)
		must(t, err)
		if st != store.TaskQueued {
			t.Fatalf("released c is %s", st)
		}
		_, err = s.ReleaseTask(ctx, "c", "d1", "", now)
		wantErr(t, err, store.ErrConflict)
		cc, _ := s.GetTask(ctx, "c")
		if cc.Status != store.TaskQueued || cc.Attempts != 0 || cc.Runs != 1 || cc.Note == "" {
			t.Fatalf("c = %+v", cc)
		}
		// Lease expiry: c claimed by d2 and abandoned twice -> requeued, then failed.
		failErr := func(t store.Task, queued bool) []byte {
			return []byte(`{"kind":"UNAVAILABLE","message":"lease of ` + t.DelegateName + `"}`)
		}
		for attempt := 1; attempt <= 2; attempt++ {
			at := now.Add(time.Duration(attempt) * 10 * time.Minute)
			got, err := s.ClaimTasks(ctx, store.Claim{DelegateID: "d2", DelegateName: "two", Scope: acc, Lease: time.Minute, Now: at, Max: 1})
			must(t, err)
			// A hand-back gives the attempt back, never the run.
			if len(got) != 1 || got[0].ID != "c" || got[0].Attempts != attempt || got[0].Runs != attempt+1 {
				t.Fatalf("attempt %d claimed %+v", attempt, got)
			}
			ex, err := s.ExpireTasks(ctx, at.Add(2*time.Minute), failErr)
			must(t, err)
			if attempt == 1 && (len(ex.Requeued) != 1 || len(ex.Failed) != 0) {
				t.Fatalf("attempt 1: %+v", ex)
			}
			if attempt == 2 && (len(ex.Requeued) != 0 || len(ex.Failed) != 1 || string(ex.Failed[0].Error) == "") {
				t.Fatalf("attempt 2: %+v", ex)
			}
		}
		cc, _ = s.GetTask(ctx, "c")
		if cc.Status != store.TaskFailed || string(cc.Error) != `{"kind":"UNAVAILABLE","message":"lease of two"}` {
			t.Fatalf("c = %+v", cc)
		}
		// A queued task past its deadline fails.
		late := newTask("late", acc)
		late.Deadline = now.Add(time.Second)
		must(t, s.CreateTask(ctx, late))
		ex, err := s.ExpireTasks(ctx, now.Add(time.Minute), failErr)
		must(t, err)
		if len(ex.Failed) != 1 || ex.Failed[0].ID != "late" {
			t.Fatalf("deadline: %+v", ex)
		}
		ok, err := s.EndTask(ctx, "late", store.TaskCancelled, nil, now)
		must(t, err)
		if ok {
			t.Fatal("ended a terminal task")
		}
		// Logs: retried posts keep the first line.
		must(t, s.AppendTaskLogs(ctx, "a", []store.TaskLog{{Seq: 1, At: now, Line: "one"}, {Seq: 2, At: now, Line: "two"}}))
		must(t, s.AppendTaskLogs(ctx, "a", []store.TaskLog{{Seq: 2, At: now, Line: "again"}, {Seq: 3, At: now, Line: "three"}}))
		logs, err := s.ListTaskLogs(ctx, "a", 0, 0)
		must(t, err)
		if len(logs) != 3 || logs[1].Line != "two" {
			t.Fatalf("logs %+v", logs)
		}
		l, n, err := s.ListTasks(ctx, store.TaskFilter{Scopes: []store.ScopeMatch{{Scope: acc, Subtree: true}}, Status: store.TaskFailed})
		must(t, err)
		if n != 2 || len(l) != 2 {
			t.Fatalf("failed tasks: %d", n)
		}
	})
}

// TestConcurrentClaims: many claimers, every task claimed exactly once.
func TestConcurrentClaims(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		acc := scope.Scope{Account: "acc"}
		const tasks, claimers = 300, 8
		for i := range tasks {
			must(t, s.CreateTask(ctx, newTask(fmt.Sprintf("t%04d", i), acc)))
		}
		var mu sync.Mutex
		seen := map[string]string{}
		var wg sync.WaitGroup
		errs := make(chan error, claimers)
		for c := range claimers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id := fmt.Sprintf("d%d", c)
				for {
					got, err := s.ClaimTasks(ctx, store.Claim{DelegateID: id, DelegateName: id, Scope: acc, Lease: time.Minute, Now: now, Max: 3})
					if err != nil {
						errs <- err
						return
					}
					if len(got) == 0 {
						return
					}
					mu.Lock()
					for _, x := range got {
						if prev, dup := seen[x.ID]; dup {
							errs <- fmt.Errorf("task %s claimed by %s and %s", x.ID, prev, id)
						}
						seen[x.ID] = id
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if !errors.Is(err, context.Canceled) {
				t.Fatal(err)
			}
		}
		if len(seen) != tasks {
			t.Fatalf("claimed %d of %d", len(seen), tasks)
		}
	})
}

// TestSignals: a signal sent through one store reaches a listener on
// another (PostgreSQL NOTIFY); on SQLite both are no-ops.
func TestSignals(t *testing.T) {
	dsn := testenv.Postgres(t)
	open := func() *sqlstore.Store {
		s, err := sqlstore.Open(context.Background(), sqlstore.Options{URL: dsn})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	a, b := open(), open()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan string, 10)
	go func() { _ = b.Listen(ctx, []string{"azimuth_test"}, func(ch, p string) { got <- ch + ":" + p }) }()
	deadline := time.After(20 * time.Second)
	for {
		must(t, a.Signal(ctx, "azimuth_test", "hello"))
		select {
		case g := <-got:
			if g != "azimuth_test:hello" {
				t.Fatalf("got %q", g)
			}
			s := openSQLite(t)
			must(t, s.Signal(ctx, "x", "y"))
			if err := s.Listen(ctx, []string{"x"}, func(string, string) {}); err != nil {
				t.Fatal(err)
			}
			return
		case <-time.After(100 * time.Millisecond): // the listener may not be up yet
		case <-deadline:
			t.Fatal("no signal in 20 s")
		}
	}
}

// seedDelegate registers a delegate of token tok, last seen at seen.
func seedDelegate(t *testing.T, s *sqlstore.Store, id, tok string, seen time.Time, tags ...string) {
	t.Helper()
	must(t, s.UpsertDelegate(context.Background(), &store.Delegate{ID: id, Name: id, Scope: scope.Scope{Account: "acc"}, TokenID: tok,
		Tags: tags, Capabilities: map[string]string{"kubernetes": "false"}, Concurrency: 4, RegisteredAt: seen, LastSeen: seen}))
}

// TestClaimEligibility: what keeps a delegate from claiming a task it
// could otherwise take: its token revoked, the task's cancellation asked
// for, a requirement it lacks.
func TestClaimEligibility(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		acc := scope.Scope{Account: "acc"}
		for _, tok := range []string{"good", "bad"} {
			must(t, s.CreateDelegateToken(ctx, &store.DelegateToken{ID: tok, Name: tok, Scope: acc, Hash: []byte(tok), CreatedAt: now}))
		}
		seedDelegate(t, s, "d-good", "good", now)
		seedDelegate(t, s, "d-bad", "bad", now)
		must(t, s.RevokeDelegateToken(ctx, "bad", now))
		plain := newTask("plain", acc)
		k8s := newTask("k8s", acc)
		k8s.Requires = []string{"kubernetes"}
		cancelled := newTask("cancelled", acc)
		cancelled.CreatedAt = now.Add(-time.Second) // oldest: it would be picked first
		for _, x := range []*store.Task{plain, k8s, cancelled} {
			must(t, s.CreateTask(ctx, x))
		}
		// A queued task whose cancellation was asked for and that is
		// still queued (a hand-back raced with the cancel).
		_, err := s.DB().ExecContext(ctx, `UPDATE tasks SET cancel_requested = 1 WHERE id = 'cancelled'`)
		must(t, err)
		for _, tc := range []struct {
			name      string
			delegate  string
			caps      []string
			wantClaim string
		}{
			{"revoked token claims nothing", "d-bad", []string{"kubernetes"}, ""},
			{"without kubernetes only the plain task", "d-good", nil, "[plain]"},
			{"with kubernetes the one that needs it", "d-good", []string{"kubernetes"}, "[k8s]"},
			{"a cancelled task is never claimed", "d-good", []string{"kubernetes"}, ""},
		} {
			got, err := s.ClaimTasks(ctx, store.Claim{DelegateID: tc.delegate, DelegateName: tc.delegate, Scope: acc, Capabilities: tc.caps,
				Lease: time.Minute, Now: now, Max: 10})
			must(t, err)
			var ids []string
			for _, x := range got {
				ids = append(ids, x.ID)
			}
			if g := fmt.Sprint(ids); (tc.wantClaim == "" && len(ids) > 0) || (tc.wantClaim != "" && g != tc.wantClaim) {
				t.Errorf("%s: claimed %s, want %q", tc.name, g, tc.wantClaim)
			}
		}
		k, _ := s.GetTask(ctx, "k8s")
		if fmt.Sprint(k.Requires) != "[kubernetes]" {
			t.Errorf("requires read back as %v", k.Requires)
		}
	})
}

// TestCancelledNeverRunsAgain: a task whose cancellation was asked for
// and whose delegate then died (lease out, attempts left), or was handed
// back, or is still queued, ends CANCELLED and is never queued again.
func TestCancelledNeverRunsAgain(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		acc := scope.Scope{Account: "acc"}
		for _, id := range []string{"dies", "handed", "queued"} {
			must(t, s.CreateTask(ctx, newTask(id, acc)))
		}
		got, err := s.ClaimTasks(ctx, store.Claim{DelegateID: "d1", DelegateName: "one", Scope: acc, Lease: time.Minute, Now: now, Max: 2})
		must(t, err)
		if len(got) != 2 {
			t.Fatalf("claimed %d", len(got))
		}
		for _, id := range []string{"dies", "handed", "queued"} {
			must(t, s.RequestCancel(ctx, id, now))
		}
		q, _ := s.GetTask(ctx, "queued")
		if q.Status != store.TaskCancelled {
			t.Fatalf("queued task after cancel: %s", q.Status)
		}
		st, err := s.ReleaseTask(ctx, "handed", "d1", "stopping", now)
		must(t, err)
		if st != store.TaskCancelled {
			t.Errorf("a cancelled task handed back is %s", st)
		}
		var cancelledSeen bool
		ex, err := s.ExpireTasks(ctx, now.Add(2*time.Minute), func(t store.Task, queued bool) []byte {
			cancelledSeen = cancelledSeen || t.CancelRequested
			return []byte(`{"kind":"CANCELED","message":"cancelled"}`)
		})
		must(t, err)
		if len(ex.Requeued) != 0 || len(ex.Failed) != 0 || len(ex.Cancelled) != 1 || ex.Cancelled[0].ID != "dies" || !cancelledSeen {
			t.Fatalf("expired: %+v", ex)
		}
		for _, id := range []string{"dies", "handed"} {
			x, _ := s.GetTask(ctx, id)
			if x.Status != store.TaskCancelled || x.FinishedAt.IsZero() || len(x.Error) == 0 {
				t.Errorf("%s: %+v", id, x)
			}
		}
		if got, _ := s.ClaimTasks(ctx, store.Claim{DelegateID: "d2", DelegateName: "two", Scope: acc, Lease: time.Minute, Now: now.Add(3 * time.Minute), Max: 10}); len(got) != 0 {
			t.Fatalf("a cancelled task was claimed again: %+v", got)
		}
	})
}

// TestConnectedDelegates: the dispatcher's view of who may get tasks
// finds a live delegate among many stale ones (more than a page), never
// one that said goodbye or whose token was revoked; old rows are pruned
// unless they hold a running task.
func TestConnectedDelegates(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		acc := scope.Scope{Account: "acc"}
		for _, tok := range []string{"good", "bad"} {
			must(t, s.CreateDelegateToken(ctx, &store.DelegateToken{ID: tok, Name: tok, Scope: acc, Hash: []byte(tok), CreatedAt: now}))
		}
		old := now.Add(-48 * time.Hour)
		for i := range 250 {
			seedDelegate(t, s, fmt.Sprintf("a-stale-%03d", i), "good", old.Add(time.Duration(i)*time.Second))
		}
		seedDelegate(t, s, "z-live", "good", now)
		seedDelegate(t, s, "z-revoked", "bad", now)
		seedDelegate(t, s, "z-gone", "good", now)
		must(t, s.StopDelegate(ctx, "z-gone", now))
		must(t, s.RevokeDelegateToken(ctx, "bad", now))
		ms := []store.ScopeMatch{{Scope: acc}}
		live, err := s.ConnectedDelegates(ctx, ms, now.Add(-time.Minute), time.Time{})
		must(t, err)
		if len(live) != 1 || live[0].ID != "z-live" {
			t.Fatalf("connected: %+v", live)
		}
		// One that said goodbye a moment ago counts when asked (it may be
		// restarting); the revoked one never does.
		live, err = s.ConnectedDelegates(ctx, ms, now.Add(-time.Minute), now.Add(-time.Minute))
		must(t, err)
		if len(live) != 2 || live[0].ID != "z-gone" || live[1].ID != "z-live" {
			t.Fatalf("connected or just stopped: %+v", live)
		}
		recent, total, err := s.RecentDelegates(ctx, ms, 3)
		must(t, err)
		if total != 253 || len(recent) != 3 || recent[0].LastSeen.Before(recent[2].LastSeen) {
			t.Fatalf("recent: %d %+v", total, recent)
		}
		must(t, s.StopTokenDelegates(ctx, "good", now))
		if live, _ := s.ConnectedDelegates(ctx, ms, now.Add(-time.Minute), time.Time{}); len(live) != 0 {
			t.Fatalf("connected after the token's delegates stopped: %+v", live)
		}
		// One stale delegate still holds a running task: it stays.
		must(t, s.CreateTask(ctx, newTask("held", acc)))
		_, err = s.ClaimTasks(ctx, store.Claim{DelegateID: "a-stale-000", DelegateName: "a-stale-000", Scope: acc, Lease: time.Minute, Now: now, Max: 1})
		must(t, err)
		n, err := s.PruneDelegates(ctx, now.Add(-24*time.Hour))
		must(t, err)
		if n != 249 {
			t.Fatalf("pruned %d", n)
		}
		if _, err := s.GetDelegate(ctx, "a-stale-000"); err != nil {
			t.Fatalf("the delegate holding a task was pruned: %v", err)
		}
	})
}

// TestQueuedGroups: queued tasks grouped by what they need of a delegate.
func TestQueuedGroups(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		acc := scope.Scope{Account: "acc"}
		must(t, s.CreateTask(ctx, newTask("a1", acc, "x")))
		must(t, s.CreateTask(ctx, newTask("a2", acc, "x")))
		k := newTask("k", acc, "x")
		k.Requires = []string{"kubernetes"}
		must(t, s.CreateTask(ctx, k))
		must(t, s.CreateTask(ctx, newTask("b", acc)))
		gs, err := s.QueuedGroups(ctx)
		must(t, err)
		if len(gs) != 3 {
			t.Fatalf("groups %+v", gs)
		}
		for _, g := range gs {
			l, err := s.QueuedIn(ctx, g, 10)
			must(t, err)
			if len(l) != g.Count {
				t.Errorf("group %+v lists %d", g, len(l))
			}
			if fmt.Sprint(g.Selectors) == "[x]" && len(g.Requires) == 0 && (g.Count != 2 || l[0].ID != "a1") {
				t.Errorf("group x: %+v %v", g, l)
			}
		}
	})
}

// TestTaskOutputs: an ended task's output is cleared once read, and the
// outputs of tasks ended before a time are dropped; running tasks and the
// rows themselves stay.
func TestTaskOutputs(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		acc := scope.Scope{Account: "acc"}
		for i, id := range []string{"old", "new", "read", "running"} {
			tk := newTask(id, acc)
			tk.Status, tk.Output = store.TaskSucceeded, []byte(`enc1:x`)
			tk.FinishedAt = now.Add(time.Duration(i) * time.Minute)
			if id == "running" {
				tk.Status, tk.FinishedAt = store.TaskRunning, time.Time{}
			}
			must(t, s.CreateTask(ctx, tk))
		}
		must(t, s.ClearTaskOutput(ctx, "read"))
		must(t, s.ClearTaskOutput(ctx, "running")) // not ended: kept
		n, err := s.DropTaskOutputs(ctx, now.Add(30*time.Second))
		must(t, err)
		if n != 1 {
			t.Fatalf("dropped %d outputs, want 1 (old)", n)
		}
		for id, want := range map[string]string{"old": "", "new": "enc1:x", "read": "", "running": "enc1:x"} {
			tk, err := s.GetTask(ctx, id)
			must(t, err)
			if string(tk.Output) != want || tk.Status == "" {
				t.Errorf("%s: output %q status %s, want output %q", id, tk.Output, tk.Status, want)
			}
		}
	})
}

// TestPlaintextParamsDropped: upgrading a database whose ended tasks hold
// their parameters in plaintext (written before parameters were sealed)
// drops those parameters and keeps the rows; a queued task keeps its
// parameters (its delegate needs them), and sealed ones stay.
func TestPlaintextParamsDropped(t *testing.T) {
	for _, d := range []sqlstore.Dialect{sqlstore.SQLite, sqlstore.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			url := filepath.Join(t.TempDir(), "azimuth.db")
			driver, gd, dsn := "sqlite", goose.DialectSQLite3, "file:"+url
			if d == sqlstore.Postgres {
				url = testenv.Postgres(t)
				driver, gd, dsn = "pgx", goose.DialectPostgres, url
			}
			db, err := sql.Open(driver, dsn)
			must(t, err)
			fsys, err := sqlstore.MigrationsFS(d)
			must(t, err)
			p, err := goose.NewProvider(gd, db, fsys)
			must(t, err)
			_, err = p.UpTo(ctx, 11) // the schema before the drop
			must(t, err)
			for _, r := range []struct{ id, status, params string }{
				{"ended", "SUCCEEDED", `{"script":"export TOKEN=plain"}`},
				{"failed", "FAILED", `{"script":"export TOKEN=plain"}`},
				{"queued", "QUEUED", `{"script":"export TOKEN=plain"}`},
				{"sealed", "SUCCEEDED", `enc1:c2VhbGVk`},
			} {
				_, err := db.ExecContext(ctx, `INSERT INTO tasks (id, kind, account, org, project, owner_org, owner_project, params, status, created_at, deadline)
VALUES ($1, 'step.script', 'acc', '', '', '', '', $2, $3, 1, 2)`, r.id, r.params, r.status)
				must(t, err)
			}
			must(t, db.Close())
			s, err := sqlstore.Open(ctx, sqlstore.Options{URL: url})
			must(t, err)
			defer s.Close()
			for id, want := range map[string]string{"ended": "", "failed": "", "queued": `{"script":"export TOKEN=plain"}`, "sealed": "enc1:c2VhbGVk"} {
				tk, err := s.GetTask(ctx, id)
				must(t, err)
				if string(tk.Params) != want {
					t.Errorf("%s: params %q, want %q", id, tk.Params, want)
				}
			}
		})
	}
}
