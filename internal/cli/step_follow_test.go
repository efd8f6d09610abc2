package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/azimuthcd/azimuth/internal/client"
	"github.com/azimuthcd/azimuth/internal/ops"
)

// TestStepFollowerAsksForNewLinesOnly: azimuth run reads the step's log
// with afterSeq set to the last line it printed, so the server sends each
// line once, and it follows the pages the server says follow (moreLogs)
// past any page size. A log that grows between reads is printed whole, in
// order, with no line twice; the notes go to stderr.
func TestStepFollowerAsksForNewLinesOnly(t *testing.T) {
	const page = 4
	var mu sync.Mutex
	var lines []client.TaskLog // the log so far
	var asked []string         // afterSeq of each read
	sent := 0                  // lines sent, over every read
	add := func(n int) {
		mu.Lock()
		defer mu.Unlock()
		for range n {
			seq := int64(len(lines) + 1)
			line := fmt.Sprintf("line %d", seq)
			if seq%5 == 0 {
				line = ops.StepNotePrefix + line
			}
			lines = append(lines, client.TaskLog{Seq: seq, Line: line})
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/ng/api/azimuth/tasks/tsk_follow" {
			http.NotFound(w, r)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		v := r.URL.Query().Get("afterSeq")
		asked = append(asked, v)
		after, _ := strconv.ParseInt(v, 10, 64)
		var out client.TaskDetail
		for _, l := range lines {
			if l.Seq > after && len(out.Logs) < page {
				out.Logs = append(out.Logs, l)
			}
		}
		out.MoreLogs = len(out.Logs) > 0 && out.Logs[len(out.Logs)-1].Seq < int64(len(lines))
		sent += len(out.Logs)
		_ = json.NewEncoder(w).Encode(map[string]any{"status": "SUCCESS", "data": out})
	}))
	defer srv.Close()
	c, err := client.New(client.Options{BaseURL: srv.URL, APIKey: "azk.acme.abc.def", Account: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	f := &stepFollower{c: c, id: "tsk_follow", stdout: &stdout, stderr: &stderr}
	ctx := context.Background()
	f.poll(ctx) // nothing yet
	add(10)     // more than a page
	f.poll(ctx)
	add(3)
	f.poll(ctx)
	f.poll(ctx) // nothing new
	add(7)
	f.poll(ctx)
	var wantOut, wantErr strings.Builder
	for i := 1; i <= 20; i++ {
		if i%5 == 0 {
			fmt.Fprintf(&wantErr, "%sline %d\n", ops.StepNotePrefix, i)
		} else {
			fmt.Fprintf(&wantOut, "line %d\n", i)
		}
	}
	if stdout.String() != wantOut.String() || stderr.String() != wantErr.String() {
		t.Fatalf("stdout\n%s\nstderr\n%s", stdout.String(), stderr.String())
	}
	if sent != 20 || !f.complete() || f.printed != 20 {
		t.Fatalf("%d lines sent for 20 (reads with afterSeq %q); complete %v", sent, asked, f.complete())
	}
	if want := []string{"", "", "4", "8", "10", "13", "13", "17"}; strings.Join(asked, ",") != strings.Join(want, ",") {
		t.Fatalf("afterSeq of the reads: %q, want %q", asked, want)
	}
}
