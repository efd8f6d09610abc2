package server_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/azimuthcd/azimuth/internal/config"
	"github.com/azimuthcd/azimuth/internal/scope"
	"github.com/azimuthcd/azimuth/internal/server"
	"github.com/azimuthcd/azimuth/internal/store"
	"github.com/azimuthcd/azimuth/internal/testenv"
)

// TestAdminKeyFileBeforeCommit: the first start writes the admin key file
// (0600) before the account exists in the database. When the file cannot
// be written the start fails and creates nothing, so no admin key exists
// that nobody holds; the next start, once the file can be written, creates
// the account and the key in the file works.
func TestAdminKeyFileBeforeCommit(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			cfg := config.Server{Listen: "127.0.0.1:0", DataDir: dir, DatabaseURL: filepath.Join(dir, "azimuth.db"),
				MasterKeyFile: filepath.Join(dir, "master.key"), Account: "acme", LogLevel: "error", LogFormat: "text",
				ShutdownTimeout: 5 * time.Second, Dev: true}
			if dialect == "postgres" {
				cfg.DatabaseURL = testenv.Postgres(t)
			}
			keyFile := filepath.Join(dir, server.AdminKeyFile)
			start := func() (*server.Server, error) {
				s, err := server.New(ctx, cfg, nil)
				if err == nil {
					t.Cleanup(func() { _ = s.Store.Close() })
				}
				return s, err
			}

			// A directory where the file goes: the write fails.
			if err := os.Mkdir(keyFile, 0o700); err != nil {
				t.Fatal(err)
			}
			if _, err := start(); err == nil || !strings.Contains(err.Error(), "admin API key") {
				t.Fatalf("start with an unwritable key file: %v", err)
			}
			// Nothing was committed: the next start bootstraps.
			if err := os.Remove(keyFile); err != nil {
				t.Fatal(err)
			}
			s, err := start()
			if err != nil {
				t.Fatal(err)
			}
			if s.AdminKeyID == "" {
				t.Fatal("the second start did not create the account: the first one committed it")
			}
			fi, err := os.Stat(keyFile)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
			}
			b, err := os.ReadFile(keyFile)
			if err != nil {
				t.Fatal(err)
			}
			if strings.TrimSpace(string(b)) != s.AdminKey.Reveal() {
				t.Fatal("the key file does not hold the key")
			}
			p, err := s.Services.APIKeys.Authenticate(ctx, strings.TrimSpace(string(b)), "test", "acme")
			if err != nil || p.KeyID != s.AdminKeyID {
				t.Fatalf("the key in the file does not authenticate: %v", err)
			}
			// One admin key, the one in the file; a later start creates none
			// and leaves the file alone.
			if err := s.Store.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
				t.Fatal(err)
			}
			again, err := start()
			if err != nil {
				t.Fatal(err)
			}
			if again.AdminKeyID != "" {
				t.Fatal("a later start created another admin key")
			}
			n, total, err := again.Store.ListAPIKeys(ctx, store.ListFilter{Scopes: []store.ScopeMatch{{Scope: scope.Scope{Account: "acme"}, Subtree: true}}})
			if err != nil || total != 1 || n[0].ID != s.AdminKeyID {
				t.Fatalf("API keys after two starts: %v %d %v", n, total, err)
			}
			if b2, _ := os.ReadFile(keyFile); string(b2) != string(b) {
				t.Fatal("a later start changed the key file")
			}
		})
	}
}
