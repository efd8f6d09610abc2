package delegate_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/azimuthcd/azimuth/internal/delegate"
	"github.com/azimuthcd/azimuth/internal/protocol"
	"github.com/azimuthcd/azimuth/internal/secret"
	"github.com/azimuthcd/azimuth/internal/store/sqlstore"
	"github.com/azimuthcd/azimuth/internal/task"
)

// TestParamsSealed: a task's parameters are stored sealed with the
// keyring and reach the delegate that claimed it intact; sealed
// parameters moved to another task's row cannot be opened for it, and
// that task fails rather than run with them (both stores).
func TestParamsSealed(t *testing.T) {
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			const canary = "params-canary-93c1e7"
			f := newFixtureOn(t, dialect, delegate.HubOptions{}, func(st *sqlstore.Store, o *delegate.HubOptions) {
				m, err := secret.GenerateMasterKey()
				if err != nil {
					t.Fatal(err)
				}
				kr, err := secret.OpenKeyring(context.Background(), m, st)
				if err != nil {
					t.Fatal(err)
				}
				o.Sealer = kr
			})
			ctx := context.Background()
			tok := f.token(t, f.acc, "main")
			var rr protocol.RegisterResponse
			_ = json.Unmarshal(rawCall(t, f.srv.URL, tok, "", protocol.PathRegister, protocol.RegisterRequest{Name: "raw", Concurrency: 1}), &rr)
			poll := func() []protocol.Task {
				var pr protocol.PollResponse
				_ = json.Unmarshal(rawCall(t, f.srv.URL, tok, rr.DelegateID, protocol.PathPoll, protocol.PollRequest{Max: 1}), &pr)
				return pr.Tasks
			}
			params := `{"message":"` + canary + `"}`
			go func() { _, _ = f.hub.Dispatch(ctx, echoSpec(f.acc, nil, params), "tsk_sealed_a", time.Minute) }()
			var got []protocol.Task
			waitFor(t, func() bool { got = poll(); return len(got) == 1 })
			if string(got[0].Params) != params {
				t.Fatalf("the delegate got the parameters %s", got[0].Params)
			}
			a, err := f.st.GetTask(ctx, "tsk_sealed_a")
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(a.Params), canary) || !strings.HasPrefix(string(a.Params), "enc1:") {
				t.Fatalf("parameters stored in plaintext: %s", a.Params)
			}
			// A task the server ran itself is recorded with its
			// parameters sealed too.
			local := echoSpec(f.acc, nil, params)
			f.hub.RecordLocal(ctx, local, &task.Result{TaskID: "tsk_sealed_local", Kind: local.Kind, Status: task.Succeeded,
				CreatedAt: time.Now(), StartedAt: time.Now(), FinishedAt: time.Now()})
			l, err := f.st.GetTask(ctx, "tsk_sealed_local")
			if err != nil || strings.Contains(string(l.Params), canary) || !strings.HasPrefix(string(l.Params), "enc1:") {
				t.Fatalf("a server-run task's parameters: %s %v", l.Params, err)
			}
			// B is queued; A's sealed parameters are put in its row.
			resc := make(chan *task.Result, 1)
			go func() {
				res, err := f.hub.Dispatch(ctx, echoSpec(f.acc, nil, `{"message":"b"}`), "tsk_sealed_b", time.Minute)
				if err != nil {
					t.Error(err)
				}
				resc <- res
			}()
			waitFor(t, func() bool { _, err := f.st.GetTask(ctx, "tsk_sealed_b"); return err == nil })
			if _, err := f.st.DB().ExecContext(ctx, `UPDATE tasks SET params = (SELECT params FROM tasks WHERE id = 'tsk_sealed_a') WHERE id = 'tsk_sealed_b'`); err != nil {
				t.Fatal(err)
			}
			for _, pt := range poll() {
				t.Fatalf("task %s was offered with parameters %s", pt.ID, pt.Params)
			}
			res := <-resc
			if res == nil || res.Status != task.Failed || res.Error == nil || !strings.Contains(res.Error.Message, "parameters of task tsk_sealed_b") {
				t.Fatalf("B ran with A's parameters or failed otherwise: %+v %+v", res, res.Error)
			}
		})
	}
}
