package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/azimuthcd/azimuth/internal/client"
)

func newWhoamiCmd(s *streams) *cobra.Command {
	return &cobra.Command{
		Use:   "whoami",
		Short: "Show the API key in use: its name, role, scope and server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := newPrinter(cmd, s)
			if err != nil {
				return err
			}
			c, t, err := newAPIClient(cmd)
			if err != nil {
				return err
			}
			w, err := c.Whoami(cmd.Context())
			if err != nil {
				return apiError(t, err)
			}
			if ok, err := p.structured(w); ok {
				return err
			}
			return fields(s.out, "Key", w.Name, "Key id", w.KeyID, "Role", w.Role, "Account", w.AccountIdentifier,
				"Scope", scopeString(w.OrgIdentifier, w.ProjectIdentifier),
				"Server", c.BaseURL()+" (from "+t.ServerFrom+")", "Key from", t.KeyFrom)
		},
	}
}

func newLoginCmd(s *streams) *cobra.Command {
	var keyStdin bool
	cmd := &cobra.Command{
		Use:   "login --server URL --api-key-file FILE",
		Short: "Check a server and key, and save them in the client configuration file",
		Long: `Check that the server answers to the API key, then save both in the client
configuration file (default ~/.config/azimuth/config.yaml, mode 0600), so
later commands need neither flag. --org and --project, when given, are
saved as the default scope. The key comes from --api-key-file,
--api-key-stdin or AZIMUTH_API_KEY(_FILE).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			server := flagString(cmd, "server")
			if server == "" {
				server = strings.TrimSpace(os.Getenv(EnvServer))
			}
			if server == "" {
				return withExit(ExitUsage, errors.New("--server URL is required"))
			}
			var key, from string
			switch {
			case keyStdin:
				b, err := readLimited(s.in, "standard input")
				if err != nil {
					return err
				}
				key, from = strings.TrimSpace(string(b)), "standard input"
			case flagString(cmd, "api-key-file") != "":
				k, err := readKeyFile(flagString(cmd, "api-key-file"), "--api-key-file")
				if err != nil {
					return err
				}
				key, from = k, flagString(cmd, "api-key-file")
			case flagString(cmd, "api-key") != "":
				key, from = flagString(cmd, "api-key"), "--api-key"
			case os.Getenv(EnvAPIKey) != "":
				key, from = strings.TrimSpace(os.Getenv(EnvAPIKey)), EnvAPIKey
			case os.Getenv(EnvAPIKeyFile) != "":
				k, err := readKeyFile(os.Getenv(EnvAPIKeyFile), EnvAPIKeyFile)
				if err != nil {
					return err
				}
				key, from = k, os.Getenv(EnvAPIKeyFile)
			default:
				return withExit(ExitUsage, errors.New("the API key is required: --api-key-file FILE or --api-key-stdin"))
			}
			account := flagString(cmd, "account")
			t := target{Server: server, ServerFrom: "--server", Key: key, KeyFrom: from, Account: account}
			c, err := client.New(client.Options{BaseURL: server, APIKey: key, Account: account, UserAgent: "azimuth-cli/" + Version})
			if err != nil {
				return withExit(ExitUsage, err)
			}
			w, err := c.Whoami(cmd.Context())
			if err != nil {
				return apiError(t, err)
			}
			cfg := clientConfig{Server: c.BaseURL(), APIKey: key, Account: w.AccountIdentifier,
				Org: flagString(cmd, "org"), Project: flagString(cmd, "project")}
			if cfg.Project != "" && cfg.Org == "" {
				return withExit(ExitUsage, errors.New("--project needs --org"))
			}
			path, _ := configPath(cmd)
			if path == "" {
				return errors.New("no configuration directory: pass --config FILE")
			}
			if err := writeConfig(path, cfg); err != nil {
				return err
			}
			_, err = fmt.Fprintf(s.out, "Logged in to %s as %s (%s at %s of account %s); saved in %s.\n", c.BaseURL(), w.Name, w.Role,
				scopeString(w.OrgIdentifier, w.ProjectIdentifier), w.AccountIdentifier, path)
			return err
		},
	}
	cmd.Flags().BoolVar(&keyStdin, "api-key-stdin", false, "read the API key from standard input")
	return cmd
}

// writeConfig writes the client configuration, owner-only.
func writeConfig(path string, c clientConfig) error {
	b, err := yaml.Marshal(c)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	if err := writePrivate(path, b); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
