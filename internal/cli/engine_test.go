package cli

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/azimuthcd/azimuth/internal/client"
	"github.com/azimuthcd/azimuth/internal/config"
	"github.com/azimuthcd/azimuth/internal/ops"
	"github.com/azimuthcd/azimuth/internal/scope"
	"github.com/azimuthcd/azimuth/internal/server"
	"github.com/azimuthcd/azimuth/internal/task"
)

// TestDelegateCommands: token create/list/revoke, a delegate run by the
// CLI, delegate list, task list and get, and the delegate's exit when its
// token is revoked.
func TestDelegateCommands(t *testing.T) {
	dir := isolate(t)
	cfg := config.Server{Listen: "127.0.0.1:0", DataDir: dir, DatabaseURL: filepath.Join(dir, "a.db"), MasterKeyFile: filepath.Join(dir, "master.key"),
		Account: "acme", LogLevel: "error", LogFormat: "text", ShutdownTimeout: 5 * time.Second, Dev: true, DelegateHeartbeat: time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := server.New(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() { cancel(); <-done }()
	key := srv.AdminKey.Reveal()
	run := func(args ...string) result {
		t.Helper()
		r := runWith("", append([]string{"--server", srv.URL(), "--api-key", key}, args...)...)
		if r.code != 0 {
			t.Fatalf("azimuth %s: %s", strings.Join(args, " "), r)
		}
		return r
	}
	tok := strings.TrimSpace(run("delegate", "token", "create", "--name", "cli").out)
	if !strings.HasPrefix(tok, "azd.acme.") {
		t.Fatalf("token %q", tok)
	}
	var toks []client.DelegateToken
	if err := json.Unmarshal([]byte(run("delegate", "token", "list", "-o", "json").out), &toks); err != nil || len(toks) != 1 || toks[0].Name != "cli" {
		t.Fatalf("token list: %v %+v", err, toks)
	}
	if strings.Contains(run("delegate", "token", "list").out, tok) {
		t.Fatal("the token list shows the token")
	}
	dctx, dcancel := context.WithCancel(context.Background())
	defer dcancel()
	dres := make(chan result, 1)
	go func() {
		var out, errb syncBuf
		code := Main(dctx, []string{"delegate", "--server", srv.URL(), "--token", tok, "--name", "cli-d", "--tags", "a,B", "--log-level", "error"},
			strings.NewReader(""), &out, &errb)
		dres <- result{code, out.String(), errb.String()}
	}()
	var ds []client.Delegate
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		_ = json.Unmarshal([]byte(run("delegate", "list", "-o", "json").out), &ds)
		if len(ds) == 1 && ds[0].Connected {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("delegate list: %+v", ds)
		}
	}
	if ds[0].Name != "cli-d" || strings.Join(ds[0].Tags, ",") != "a,b" || ds[0].Capabilities["kubernetes"] != "false" {
		t.Fatalf("delegate %+v", ds[0])
	}
	if table := run("delegate", "list").out; !strings.Contains(table, "cli-d") || !strings.Contains(table, "CONNECTED") {
		t.Fatalf("delegate list table:\n%s", table)
	}
	res, err := srv.Engine.Run(ctx, task.Spec{Kind: ops.KindDiagEcho, Scope: scope.Scope{Account: "acme"}, Selectors: []string{"b"},
		Params: json.RawMessage(`{"message":"from the cli test","lines":2}`)})
	if err != nil || res.Status != task.Succeeded {
		t.Fatalf("task: %+v %v", res, err)
	}
	if l := run("task", "list").out; !strings.Contains(l, res.TaskID) || !strings.Contains(l, "cli-d") || !strings.Contains(l, "SUCCEEDED") {
		t.Fatalf("task list:\n%s", l)
	}
	local, err := srv.Engine.Run(ctx, task.Spec{Kind: ops.KindDiagEcho, Scope: scope.Scope{Account: "acme"}})
	if err != nil || local.Status != task.Succeeded || local.DelegateName != "" {
		t.Fatalf("server task: %+v %v", local, err)
	}
	if l := run("task", "list").out; !strings.Contains(l, local.TaskID) || !strings.Contains(l, "(server)") {
		t.Fatalf("task list without the server's task:\n%s", l)
	}
	if g := run("task", "get", res.TaskID).out; !strings.Contains(g, "from the cli test line 2") {
		t.Fatalf("task get:\n%s", g)
	}
	// A log longer than a page of the task endpoint is printed whole.
	long, err := srv.Engine.Run(ctx, task.Spec{Kind: ops.KindDiagEcho, Scope: scope.Scope{Account: "acme"}, Selectors: []string{"b"},
		Params: json.RawMessage(`{"message":"long","lines":10003}`)})
	if err != nil || long.Status != task.Succeeded {
		t.Fatalf("long task: %+v %v", long, err)
	}
	if g := run("task", "get", long.TaskID).out; strings.Count(g, "  | long line ") != 10003 || !strings.Contains(g, "  | long line 10003\n") {
		t.Fatalf("task get of a 10,003-line log printed %d lines", strings.Count(g, "  | long line "))
	}
	run("delegate", "token", "revoke", toks[0].ID)
	select {
	case r := <-dres:
		if r.code != ExitDenied || !strings.Contains(r.err, "revoked") {
			t.Fatalf("the delegate ended with %s", r)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the delegate still runs 30 s after its token was revoked")
	}
	if r := runWith("", "delegate", "--name", "x"); r.code != ExitUsage {
		t.Fatalf("delegate without server and token: %s", r)
	}
}
