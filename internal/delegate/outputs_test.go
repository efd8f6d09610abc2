package delegate_test

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"github.com/azimuthcd/azimuth/internal/delegate"
	"github.com/azimuthcd/azimuth/internal/store"
	"github.com/azimuthcd/azimuth/internal/store/sqlstore"
	"github.com/azimuthcd/azimuth/internal/task"
)

// TestOutputKeptUntilRead: the output of a task run on a delegate stays in
// its row only until the waiting request has read it; the row keeps its
// status, timings and delegate for the task list (both stores).
func TestOutputKeptUntilRead(t *testing.T) {
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			var finished recordedOutputs
			f := newFixtureOn(t, dialect, delegate.HubOptions{}, func(st *sqlstore.Store, o *delegate.HubOptions) {
				o.Store = &outputRecorder{Store: st, rec: &finished}
			})
			tok := f.token(t, f.acc, "main")
			f.agent(t, tok, "d1")
			res, err := f.hub.Dispatch(context.Background(), echoSpec(f.acc, nil, `{"message":"page of tags"}`), "tsk_read_once", 20*time.Second)
			if err != nil || res.Status != task.Succeeded {
				t.Fatalf("result %+v %v", res, err)
			}
			var out struct{ Message string }
			if err := json.Unmarshal(res.Output, &out); err != nil || out.Message != "page of tags" {
				t.Fatalf("output %s: %v", res.Output, err)
			}
			if len(finished.get(res.TaskID)) == 0 {
				t.Fatal("the delegate's output never reached the store")
			}
			row, err := f.st.GetTask(context.Background(), res.TaskID)
			if err != nil {
				t.Fatal(err)
			}
			if len(row.Output) != 0 {
				t.Fatalf("the output is still stored after its request read it: %s", row.Output)
			}
			if row.Status != store.TaskSucceeded || row.DelegateName != "d1" || row.StartedAt.IsZero() || row.FinishedAt.IsZero() {
				t.Fatalf("the row lost more than its output: %+v", row)
			}
		})
	}
}

// TestLocalOutputNotStored: a task the server ran itself is recorded for
// the task list (status, timings, error) without its output: the caller
// has it and nobody reads it back.
func TestLocalOutputNotStored(t *testing.T) {
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			f := newFixtureOn(t, dialect, delegate.HubOptions{})
			start := time.Now().Add(-time.Second)
			spec := echoSpec(f.acc, nil, `{}`)
			f.hub.RecordLocal(context.Background(), spec, &task.Result{TaskID: "tsk_local", Kind: spec.Kind, Status: task.Succeeded,
				Output: json.RawMessage(`{"kubeconfig":"credential"}`), CreatedAt: start, StartedAt: start, FinishedAt: time.Now()})
			f.hub.RecordLocal(context.Background(), spec, &task.Result{TaskID: "tsk_local_failed", Kind: spec.Kind, Status: task.Failed,
				Error: &task.Error{Kind: "INVALID", Message: "no such registry"}, CreatedAt: start, StartedAt: start, FinishedAt: time.Now()})
			row, err := f.st.GetTask(context.Background(), "tsk_local")
			if err != nil {
				t.Fatal(err)
			}
			if len(row.Output) != 0 {
				t.Fatalf("a server-run task's output was stored: %s", row.Output)
			}
			if row.Status != store.TaskSucceeded || row.DelegateName != delegate.ServerDelegateName || row.StartedAt.IsZero() || row.FinishedAt.IsZero() {
				t.Fatalf("row %+v", row)
			}
			failed, err := f.st.GetTask(context.Background(), "tsk_local_failed")
			if err != nil || failed.Status != store.TaskFailed || string(failed.Error) == "" {
				t.Fatalf("failed row %+v %v", failed, err)
			}
		})
	}
}

// TestOutputSweep: the periodic job that expires leases also drops the
// outputs of tasks that ended more than a lease and the output grace ago
// (their waiter died before it read them), and only those: a recent
// output and the rows themselves stay.
func TestOutputSweep(t *testing.T) {
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			t0 := time.Now().Truncate(time.Millisecond)
			var clock atomic.Int64
			clock.Store(t0.UnixNano())
			const lease, grace = 3 * time.Second, time.Minute
			f := newFixtureOn(t, dialect, delegate.HubOptions{Lease: lease, OutputGrace: grace, Now: func() time.Time { return time.Unix(0, clock.Load()) }})
			ctx := context.Background()
			ended := func(id string, at time.Time) {
				tk := store.Task{ID: id, Kind: "diag.echo", Scope: f.acc, Owner: f.acc, Status: store.TaskSucceeded, DelegateName: "gone",
					Output: []byte(`enc1:sealed-output`), Error: nil, CreatedAt: at.Add(-time.Second), StartedAt: at.Add(-time.Second), FinishedAt: at, Deadline: at}
				if err := f.st.CreateTask(ctx, &tk); err != nil {
					t.Fatal(err)
				}
			}
			ended("tsk_unread", t0.Add(-5*time.Minute))
			ended("tsk_recent", t0)
			// The sweep is due once the grace has passed since the last.
			clock.Store(t0.Add(grace).UnixNano())
			waitFor(t, func() bool {
				tk, err := f.st.GetTask(ctx, "tsk_unread")
				return err == nil && len(tk.Output) == 0
			})
			unread, _ := f.st.GetTask(ctx, "tsk_unread")
			recent, _ := f.st.GetTask(ctx, "tsk_recent")
			if unread.Status != store.TaskSucceeded || unread.FinishedAt.IsZero() || unread.DelegateName != "gone" {
				t.Fatalf("the swept row lost more than its output: %+v", unread)
			}
			if string(recent.Output) != "enc1:sealed-output" {
				t.Fatalf("an output ended within the lease and grace was dropped: %+v", recent)
			}
			// Later, the recent one's waiter is gone too.
			clock.Store(t0.Add(2*grace + lease + time.Second).UnixNano())
			waitFor(t, func() bool {
				tk, err := f.st.GetTask(ctx, "tsk_recent")
				return err == nil && len(tk.Output) == 0
			})
		})
	}
}
