package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/azimuthcd/azimuth/internal/config"
	"github.com/azimuthcd/azimuth/internal/server"
)

// DevInfo is <dev-dir>/dev.json: what a developer or a test needs to talk to
// a running `azimuth dev`. Later features add their parts (the Azure
// simulator, an embedded delegate, seeded connectors) as fields here.
type DevInfo struct {
	URL               string `json:"url"`
	APIKey            string `json:"apiKey"`
	AccountIdentifier string `json:"accountIdentifier"`
	OrgIdentifier     string `json:"orgIdentifier"`
	DataDir           string `json:"dataDir"`
	Database          string `json:"database"`
	MasterKeyFile     string `json:"masterKeyFile"`
	StartedAt         string `json:"startedAt"`
	// The features that add parts to dev mode fill these: the Azure
	// simulator, the embedded delegate, the seeded connectors, and the
	// demo world's registries and clusters.
	Simulator  any `json:"simulator,omitempty"`
	Delegate   any `json:"delegate,omitempty"`
	Connectors any `json:"connectors,omitempty"`
	ACR        any `json:"acr,omitempty"`
	AKS        any `json:"aks,omitempty"`
}

// DevEnv is what a dev-mode part sees.
type DevEnv struct {
	Dir    string
	Config *config.Server // parts that run before the server may change it
	Server *server.Server // nil before the server is built
	Info   *DevInfo
	Log    *slog.Logger
}

// DevPart is one piece of `azimuth dev`. Before runs before the server is
// built (to adjust its configuration, e.g. point clouds at the simulator);
// After runs once it listens (to seed data, start a delegate).
type DevPart struct {
	Name string
	// Order sorts the parts: the simulator (10) before the delegate (20)
	// before the seeded connectors (30) before the rest.
	Order  int
	Before func(ctx context.Context, env *DevEnv) error
	After  func(ctx context.Context, env *DevEnv) error
}

// devParts are the dev-mode parts, in order. Features register theirs in
// an init function of their own file in this package.
var devParts []DevPart

func newDevCmd(s *streams) *cobra.Command {
	var dir, listen, account, logLevel string
	var retest time.Duration
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run Azimuth for trying it out: one process, SQLite in --dir, generated keys",
		Long: `Run Azimuth in one process for development and trying it out.

Everything lives in --dir (default .azimuth-dev): the SQLite database, a
generated master key (mode 0600), the admin API key and dev.json, which
holds the URL, the admin key and the account for scripts and tests.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			abs, err := filepath.Abs(dir)
			if err != nil {
				return withExit(ExitUsage, err)
			}
			cfg := config.Server{Listen: listen, DataDir: abs, Account: account, LogLevel: logLevel, LogFormat: "text",
				ShutdownTimeout: 5 * time.Second, Dev: true, RetestInterval: retest,
				DatabaseURL: filepath.Join(abs, "azimuth.db"), MasterKeyFile: filepath.Join(abs, "master.key")}
			if err := cfg.Validate(); err != nil {
				return withExit(ExitUsage, err)
			}
			return runDev(cmd.Context(), s, cfg)
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "dir", ".azimuth-dev", "directory for all dev-mode state")
	f.StringVar(&listen, "listen", "127.0.0.1:8080", "address to serve on (127.0.0.1:0 picks a free port)")
	f.StringVar(&account, "account", config.DefaultAccount, "account to create")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	f.DurationVar(&retest, "retest-interval", config.DefaultRetestInterval, "how often to re-test every connector in the background (also on secret change); 0 disables")
	return cmd
}

func runDev(ctx context.Context, s *streams, cfg config.Server) error {
	log := newLogger(s.err, cfg)
	env := &DevEnv{Dir: cfg.DataDir, Config: &cfg, Log: log, Info: &DevInfo{}}
	sort.SliceStable(devParts, func(i, j int) bool { return devParts[i].Order < devParts[j].Order })
	for _, p := range devParts {
		if p.Before != nil {
			if err := p.Before(ctx, env); err != nil {
				return fmt.Errorf("dev %s: %w", p.Name, err)
			}
		}
	}
	srv, err := server.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	env.Server = srv
	if err := srv.Listen(); err != nil {
		_ = srv.Store.Close()
		return err
	}
	key := srv.AdminKey.Reveal()
	if key == "" {
		b, err := os.ReadFile(filepath.Join(cfg.DataDir, server.AdminKeyFile))
		if err != nil {
			_ = srv.Store.Close()
			return fmt.Errorf("read the admin key of this dev directory: %w (delete %s to start afresh)", err, cfg.DataDir)
		}
		key = strings.TrimSpace(string(b))
	}
	// Keep what Before parts recorded (the simulator's endpoints); fill
	// in the server's own fields.
	env.Info.URL, env.Info.APIKey, env.Info.AccountIdentifier, env.Info.OrgIdentifier = srv.URL(), key, cfg.Account, "default"
	env.Info.DataDir, env.Info.Database, env.Info.MasterKeyFile = cfg.DataDir, cfg.DatabaseURL, cfg.MasterKeyFile
	env.Info.StartedAt = time.Now().UTC().Format(time.RFC3339)
	for _, p := range devParts {
		if p.After != nil {
			if err := p.After(ctx, env); err != nil {
				_ = srv.Store.Close()
				return fmt.Errorf("dev %s: %w", p.Name, err)
			}
		}
	}
	b, _ := json.MarshalIndent(env.Info, "", "  ")
	infoPath := filepath.Join(cfg.DataDir, "dev.json")
	if err := writePrivate(infoPath, append(b, '\n')); err != nil {
		_ = srv.Store.Close()
		return fmt.Errorf("write %s: %w", infoPath, err)
	}
	fmt.Fprintf(s.out, `Azimuth dev is running.

  URL:      %s   (UI: %s/ui/)
  Account:  %s
  API key:  %s
  State:    %s (dev.json has all of this)

Try:
  curl -s -H "x-api-key: $(jq -r .apiKey %s)" "%s/ng/api/organizations?accountIdentifier=%s"

Ctrl-C stops it.
`, env.Info.URL, env.Info.URL, cfg.Account, key, cfg.DataDir, infoPath, env.Info.URL, cfg.Account)
	return srv.Run(ctx)
}

// writePrivate writes a 0600 file, replacing any previous one.
func writePrivate(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
