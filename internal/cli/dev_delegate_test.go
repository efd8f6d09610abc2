package cli

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/azimuthcd/azimuth/internal/access"
	"github.com/azimuthcd/azimuth/internal/azuresim"
	"github.com/azimuthcd/azimuth/internal/config"
	"github.com/azimuthcd/azimuth/internal/ops"
	"github.com/azimuthcd/azimuth/internal/scope"
	"github.com/azimuthcd/azimuth/internal/server"
	"github.com/azimuthcd/azimuth/internal/task"
)

// TestDevDelegate: the dev parts start a delegate on the simulator's
// managed-identity host (found through dev.json's simulator entry,
// whatever its shape) and seed connectors whose connection tests pass
// through it; another part's connectors in dev.json are kept.
func TestDevDelegate(t *testing.T) {
	sim := azuresim.StartForTestWith(t, azuresim.Options{})
	dir := t.TempDir()
	cc := filepath.Join(dir, "cloud.json")
	if err := sim.Override().Write(cc); err != nil {
		t.Fatal(err)
	}
	cfg := config.Server{Listen: "127.0.0.1:0", DataDir: dir, DatabaseURL: filepath.Join(dir, "a.db"), MasterKeyFile: filepath.Join(dir, "master.key"),
		Account: "default", LogLevel: "error", LogFormat: "text", ShutdownTimeout: 5 * time.Second, Dev: true, CloudConfig: cc}
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
	env := &DevEnv{Dir: dir, Config: &cfg, Server: srv, Log: slog.New(slog.DiscardHandler), Info: &DevInfo{URL: srv.URL(),
		Simulator:  map[string]any{"control": map[string]string{"url": sim.ControlURL() + "/_sim/"}, "controlURL": sim.ControlURL()},
		Connectors: []DevConnector{{Identifier: "someone_elses"}}}}
	if err := startDevDelegate(ctx, env); err != nil {
		t.Fatal(err)
	}
	if err := seedDelegateConnectors(ctx, env); err != nil {
		t.Fatal(err)
	}
	if d := env.Info.Delegate.(DevDelegate); d.Host != devDelegateHost {
		t.Fatalf("delegate %+v", d)
	}
	b, _ := json.Marshal(env.Info.Connectors)
	var listed []map[string]any
	if err := json.Unmarshal(b, &listed); err != nil || len(listed) != 4 || listed[0]["identifier"] != "someone_elses" {
		t.Fatalf("connectors in dev.json: %s", b)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		ds, err := srv.Hub.ListDelegates(ctx, access.System("t"), scope.Scope{Account: "default"})
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) == 1 && ds[0].Connected {
			if ds[0].Capabilities["managedIdentity"] != "appService" {
				t.Fatalf("capabilities %v", ds[0].Capabilities)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the dev delegate did not connect")
		}
	}
	for _, id := range []string{"delegate_system_identity", "delegate_user_identity", "delegate_service_principal"} {
		c, err := srv.Services.Connectors.Get(ctx, access.System("t"), scope.Scope{Account: "default"}, id)
		if err != nil {
			t.Fatal(err)
		}
		res, err := srv.Engine.Run(ctx, task.Spec{Kind: ops.KindValidate, Scope: c.Scope, Connector: c.Doc, ConnectorVersion: c.Version})
		if err != nil {
			t.Fatal(err)
		}
		var v ops.ValidationResult
		_ = json.Unmarshal(res.Output, &v)
		if res.Status != task.Succeeded || v.Status != ops.StatusSuccess || res.DelegateName != devDelegateName {
			t.Fatalf("%s: %s on %q: %s %+v", id, res.Status, res.DelegateName, v.Status, v.Errors)
		}
	}
	// Restarting dev over the same directory seeds nothing twice.
	if err := seedDelegateConnectors(ctx, env); err != nil {
		t.Fatal(err)
	}
}
