package cli

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/azimuthcd/azimuth/internal/ops"
)

// TestNewAgentSweepsStaleStepDirs: building a delegate removes the step
// directories a delegate killed mid-step left behind (older than
// ops.StepDirMaxAge), keeps a running step's, and logs what it removed.
func TestNewAgentSweepsStaleStepDirs(t *testing.T) {
	tmp, err := os.MkdirTemp("/tmp", "sweep-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(tmp) })
	t.Setenv("TMPDIR", tmp)
	stale, fresh := filepath.Join(tmp, "azimuth-step-111"), filepath.Join(tmp, "azimuth-step-222")
	for _, d := range []string{stale, fresh} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "kubeconfig"), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-ops.StepDirMaxAge - time.Minute)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	a, closeFn, err := NewAgent(context.Background(), AgentConfig{Server: "http://127.0.0.1:1", Token: "azd.acme.abcdefgh.secret", Name: "sweeper",
		Logger: slog.New(slog.NewTextHandler(&logs, nil)), Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	_ = a
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("the stale step directory is still there: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("a running step's directory was removed: %v", err)
	}
	if !strings.Contains(logs.String(), stale) || !strings.Contains(logs.String(), "count=1") {
		t.Errorf("the sweep was not logged: %s", logs.String())
	}
}
