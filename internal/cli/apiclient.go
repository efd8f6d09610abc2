package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"sigs.k8s.io/yaml"

	"github.com/azimuthcd/azimuth/internal/client"
	"github.com/azimuthcd/azimuth/internal/failure"
)

// The client commands' environment variables.
const (
	EnvServer     = "AZIMUTH_SERVER"
	EnvAPIKey     = "AZIMUTH_API_KEY"
	EnvAPIKeyFile = "AZIMUTH_API_KEY_FILE"
	EnvOrg        = "AZIMUTH_ORG"
	EnvProject    = "AZIMUTH_PROJECT"
	EnvConfig     = "AZIMUTH_CONFIG"
	// The account shares AZIMUTH_ACCOUNT with the server (config.EnvAccount).
)

// devInfoPath is where `azimuth dev` leaves dev.json by default, relative to
// the directory it ran in.
var devInfoPath = filepath.Join(".azimuth-dev", "dev.json")

// addClientFlags registers the flags every client command shares, on the
// root command (so commands added later inherit them). A command with a
// local flag of the same name (server --account) keeps its own.
func addClientFlags(f *pflag.FlagSet) {
	f.String("server", "", "Azimuth server URL (env "+EnvServer+")")
	f.String("api-key", "", "API key (env "+EnvAPIKey+"; prefer --api-key-file: a flag shows in ps and shell history)")
	f.String("api-key-file", "", "file holding the API key (env "+EnvAPIKeyFile+")")
	f.String("account", "", "account identifier (env AZIMUTH_ACCOUNT; default: the API key's account)")
	f.String("org", "", "organization identifier (env "+EnvOrg+")")
	f.String("project", "", "project identifier, with --org (env "+EnvProject+")")
	f.StringP("output", "o", "table", "output format: table, json or yaml")
	f.String("config", "", "client configuration file (env "+EnvConfig+"; default ~/.config/azimuth/config.yaml, written by `azimuth login`)")
}

// clientConfig is the configuration file `azimuth login` writes.
type clientConfig struct {
	Server     string `json:"server"`
	APIKey     string `json:"apiKey,omitempty"`
	APIKeyFile string `json:"apiKeyFile,omitempty"`
	Account    string `json:"account,omitempty"`
	Org        string `json:"org,omitempty"`
	Project    string `json:"project,omitempty"`
}

// defaultConfigPath is ~/.config/azimuth/config.yaml (XDG_CONFIG_HOME when
// set).
func defaultConfigPath() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "azimuth", "config.yaml")
}

// configPath is the configuration file a command uses and whether it was
// named explicitly.
func configPath(cmd *cobra.Command) (string, bool) {
	if p := flagString(cmd, "config"); p != "" {
		return p, true
	}
	if p := os.Getenv(EnvConfig); p != "" {
		return p, true
	}
	return defaultConfigPath(), false
}

// loadConfig reads the configuration file; a missing default file is no
// error. A file others can read is refused when it holds a key.
func loadConfig(path string, explicit bool) (*clientConfig, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && !explicit {
		return nil, nil
	}
	if err != nil {
		return nil, withExit(ExitUsage, fmt.Errorf("read the configuration file: %w", err))
	}
	var c clientConfig
	if err := yaml.UnmarshalStrict(b, &c); err != nil {
		return nil, withExit(ExitUsage, fmt.Errorf("configuration file %s: %v", path, err))
	}
	if c.APIKey != "" {
		if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
			return nil, withExit(ExitUsage, fmt.Errorf("configuration file %s holds an API key but others can read it (mode %o): chmod 600 %s", path, fi.Mode().Perm(), path))
		}
	}
	return &c, nil
}

// findDevInfo looks for .azimuth-dev/dev.json in the working directory and
// its parents.
func findDevInfo() (*DevInfo, string) {
	dir, err := os.Getwd()
	if err != nil {
		return nil, ""
	}
	for {
		p := filepath.Join(dir, devInfoPath)
		if b, err := os.ReadFile(p); err == nil {
			var d DevInfo
			if json.Unmarshal(b, &d) == nil && d.URL != "" {
				return &d, p
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return nil, ""
		}
		dir = parent
	}
}

// target is where a client command sends its requests and as what.
type target struct {
	Server, ServerFrom string
	Key, KeyFrom       string
	Account            string
	Org, Project       string
}

func flagString(cmd *cobra.Command, name string) string {
	f := cmd.Flags().Lookup(name)
	if f == nil {
		return ""
	}
	return strings.TrimSpace(f.Value.String())
}

func flagChanged(cmd *cobra.Command, name string) bool {
	f := cmd.Flags().Lookup(name)
	return f != nil && f.Changed
}

func readKeyFile(path, what string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", withExit(ExitUsage, fmt.Errorf("%s: %w", what, err))
	}
	k := strings.TrimSpace(string(b))
	if k == "" {
		return "", withExit(ExitUsage, fmt.Errorf("%s: the file %s is empty", what, path))
	}
	return k, nil
}

// resolveTarget works out the server, key and scope: flags, then the
// environment, then the configuration file, then (when none of them names
// a server) the dev.json of an `azimuth dev` running from this directory.
func resolveTarget(cmd *cobra.Command) (target, error) {
	var t target
	path, explicit := configPath(cmd)
	cfg, err := loadConfig(path, explicit)
	if err != nil {
		return t, err
	}
	if cfg == nil {
		cfg = &clientConfig{}
	}
	pick := func(flag, env, fromCfg string) (string, string) {
		if v := flagString(cmd, flag); v != "" {
			return v, "--" + flag
		}
		if env != "" {
			if v := strings.TrimSpace(os.Getenv(env)); v != "" {
				return v, env
			}
		}
		if fromCfg != "" {
			return fromCfg, path
		}
		return "", ""
	}
	t.Server, t.ServerFrom = pick("server", EnvServer, cfg.Server)
	t.Account, _ = pick("account", "AZIMUTH_ACCOUNT", cfg.Account)
	t.Org, _ = pick("org", EnvOrg, cfg.Org)
	t.Project, _ = pick("project", EnvProject, cfg.Project)

	switch {
	case flagString(cmd, "api-key") != "":
		t.Key, t.KeyFrom = flagString(cmd, "api-key"), "--api-key"
	case flagString(cmd, "api-key-file") != "":
		p := flagString(cmd, "api-key-file")
		if t.Key, err = readKeyFile(p, "--api-key-file"); err != nil {
			return t, err
		}
		t.KeyFrom = p
	case os.Getenv(EnvAPIKey) != "":
		t.Key, t.KeyFrom = strings.TrimSpace(os.Getenv(EnvAPIKey)), EnvAPIKey
	case os.Getenv(EnvAPIKeyFile) != "":
		p := os.Getenv(EnvAPIKeyFile)
		if t.Key, err = readKeyFile(p, EnvAPIKeyFile); err != nil {
			return t, err
		}
		t.KeyFrom = p
	case cfg.APIKey != "":
		t.Key, t.KeyFrom = cfg.APIKey, path
	case cfg.APIKeyFile != "":
		if t.Key, err = readKeyFile(cfg.APIKeyFile, "apiKeyFile of "+path); err != nil {
			return t, err
		}
		t.KeyFrom = cfg.APIKeyFile
	}

	if t.Server == "" {
		if d, p := findDevInfo(); d != nil {
			t.Server, t.ServerFrom = d.URL, p
			if t.Key == "" {
				t.Key, t.KeyFrom = d.APIKey, p
			}
			if t.Account == "" {
				t.Account = d.AccountIdentifier
			}
		}
	}
	if t.Server == "" {
		return t, withExit(ExitUsage, errors.New("no server: pass --server URL, set "+EnvServer+", run `azimuth login --server URL --api-key-file FILE`, or start `azimuth dev` in this directory"))
	}
	if t.Key == "" {
		return t, withExit(ExitUsage, errors.New("no API key: pass --api-key-file FILE, set "+EnvAPIKey+" or "+EnvAPIKeyFile+", or run `azimuth login`"))
	}
	if t.Project != "" && t.Org == "" {
		return t, withExit(ExitUsage, errors.New("--project needs --org: a project lives in an organization"))
	}
	return t, nil
}

// scope is the command's scope below the account.
func (t target) scope() client.Scope { return client.Scope{Org: t.Org, Project: t.Project} }

// newAPIClient builds the API client for a client command from the shared
// flags, the environment, the configuration file or dev.json. Commands in
// other files (delegates, tasks) use it the same way.
func newAPIClient(cmd *cobra.Command) (*client.Client, target, error) {
	t, err := resolveTarget(cmd)
	if err != nil {
		return nil, t, err
	}
	c, err := client.New(client.Options{BaseURL: t.Server, APIKey: t.Key, Account: t.Account, UserAgent: "azimuth-cli/" + Version})
	if err != nil {
		return nil, t, withExit(ExitUsage, fmt.Errorf("%w (server from %s, key from %s)", err, t.ServerFrom, t.KeyFrom))
	}
	return c, t, nil
}

// apiError gives an error of the API client its exit code; a refused key
// also says where the key came from.
func apiError(t target, err error) error {
	if err == nil {
		return nil
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return err
	}
	switch client.KindOf(err) {
	case failure.NotFound:
		return withExit(ExitNotFound, err)
	case failure.Conflict:
		return withExit(ExitConflict, err)
	case failure.Unauthenticated:
		return withExit(ExitDenied, fmt.Errorf("%w (the API key came from %s)", err, t.KeyFrom))
	case failure.Forbidden:
		return withExit(ExitDenied, err)
	case failure.Invalid, failure.TooLarge:
		return withExit(ExitInvalid, err)
	case failure.Unavailable:
		if t.ServerFrom != "" && t.ServerFrom != "--server" {
			return fmt.Errorf("%w (the server URL came from %s)", err, t.ServerFrom)
		}
	}
	return err
}
