package delegate_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/azimuthcd/azimuth/internal/access"
	"github.com/azimuthcd/azimuth/internal/delegate"
	"github.com/azimuthcd/azimuth/internal/protocol"
	"github.com/azimuthcd/azimuth/internal/store"
	"github.com/azimuthcd/azimuth/internal/task"
)

// TestRerunKeepsEveryLogLine: a delegate numbers its run's log lines from
// 1. A task whose first delegate dies after logging runs again on another
// delegate, which numbers its lines from 1 too: every line of the second
// run is kept (none is taken for a retried post of the first run's), after
// the first run's, on both stores.
func TestRerunKeepsEveryLogLine(t *testing.T) {
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			f := newFixtureOn(t, dialect, delegate.HubOptions{Lease: time.Second})
			tok := f.token(t, f.acc, "main")
			var rr protocol.RegisterResponse
			_ = json.Unmarshal(rawCall(t, f.srv.URL, tok, "", protocol.PathRegister, protocol.RegisterRequest{Name: "doomed", Concurrency: 1}), &rr)
			const id = "tsk_rerun_logs"
			resc := make(chan *task.Result, 1)
			go func() {
				res, err := f.hub.Dispatch(context.Background(), echoSpec(f.acc, nil, `{"message":"second run","lines":5}`), id, time.Minute)
				if err != nil {
					t.Error(err)
				}
				resc <- res
			}()
			waitFor(t, func() bool {
				var pr protocol.PollResponse
				_ = json.Unmarshal(rawCall(t, f.srv.URL, tok, rr.DelegateID, protocol.PathPoll, protocol.PollRequest{Max: 1}), &pr)
				return len(pr.Tasks) == 1
			})
			// The first run logs three lines (one posted twice: a retry)
			// and dies: it never extends its lease.
			var first []protocol.LogLine
			for i := range 3 {
				first = append(first, protocol.LogLine{Seq: int64(i + 1), At: time.Now(), Line: fmt.Sprintf("first run line %d", i+1)})
			}
			logs := strings.Replace(protocol.PathLogs, "{id}", id, 1)
			rawCall(t, f.srv.URL, tok, rr.DelegateID, logs, protocol.LogsRequest{Lines: first})
			rawCall(t, f.srv.URL, tok, rr.DelegateID, logs, protocol.LogsRequest{Lines: first[2:]})
			f.agent(t, tok, "survivor")
			res := <-resc
			if res == nil || res.Status != task.Succeeded || res.DelegateName != "survivor" {
				t.Fatalf("result %+v", res)
			}
			tk, got, err := f.hub.GetTask(context.Background(), access.System("t"), id)
			if err != nil {
				t.Fatal(err)
			}
			var lines []string
			for _, l := range got {
				lines = append(lines, l.Line)
			}
			want := []string{"first run line 1", "first run line 2", "first run line 3",
				"second run line 1", "second run line 2", "second run line 3", "second run line 4", "second run line 5"}
			if strings.Join(lines, "|") != strings.Join(want, "|") {
				t.Fatalf("task %s (runs %d) kept the lines\n%s\nwant\n%s", id, tk.Runs, strings.Join(lines, "\n"), strings.Join(want, "\n"))
			}
			if tk.Runs != 2 || store.LogRun(got[0].Seq) != 1 || store.LogRun(got[3].Seq) != 2 {
				t.Fatalf("runs %d, seqs %d and %d", tk.Runs, got[0].Seq, got[3].Seq)
			}
			// A line numbered outside a run's range is refused.
			if st, e := rawStatus(t, f.srv.URL, tok, rr.DelegateID, logs, protocol.LogsRequest{Lines: []protocol.LogLine{{Seq: 0, Line: "x"}}}); st != 400 || e.Code != protocol.CodeInvalid {
				t.Errorf("seq 0: %d %+v", st, e)
			}
		})
	}
}
