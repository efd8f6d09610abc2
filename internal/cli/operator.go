package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/azimuthcd/azimuth/internal/access"
	"github.com/azimuthcd/azimuth/internal/config"
	"github.com/azimuthcd/azimuth/internal/secret"
	"github.com/azimuthcd/azimuth/internal/service"
	"github.com/azimuthcd/azimuth/internal/store/sqlstore"
)

func newOperatorCmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "operator",
		Short: "Operate an Azimuth installation (key rotation)",
	}
	cmd.AddCommand(newRotateKeyCmd(s))
	return cmd
}

func newRotateKeyCmd(s *streams) *cobra.Command {
	var serverURL, apiKey string
	var offline bool
	var cfg config.Server
	cmd := &cobra.Command{
		Use:   "rotate-key",
		Short: "Install a new data key and re-encrypt every secret under it",
		Long: `Install a new data key in the secrets keyring and re-encrypt every secret.

Online (the default) it asks the running server, as an account admin:
  azimuth operator rotate-key --url http://host:8080 --api-key "$(cat admin-api-key)"
(or AZIMUTH_URL, AZIMUTH_API_KEY / AZIMUTH_API_KEY_FILE, AZIMUTH_ACCOUNT).
The server keeps serving throughout; other replicas pick the new key up
within 30 seconds, and older keys stay readable.

--offline works on the database directly, with the server's own flags
(--data-dir, --database-url, --master-key-file), for when no server runs.
Either way it is safe to run again: a second run finishes what a crash
interrupted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if offline {
				if err := config.Resolve(cmd.Flags(), &cfg, os.Getenv); err != nil {
					return withExit(ExitUsage, err)
				}
				return rotateOffline(cmd.Context(), s, cfg)
			}
			if serverURL == "" {
				serverURL = os.Getenv("AZIMUTH_URL")
			}
			if apiKey == "" {
				apiKey = os.Getenv("AZIMUTH_API_KEY")
			}
			if apiKey == "" {
				if p := os.Getenv("AZIMUTH_API_KEY_FILE"); p != "" {
					b, err := os.ReadFile(p)
					if err != nil {
						return withExit(ExitUsage, fmt.Errorf("AZIMUTH_API_KEY_FILE: %w", err))
					}
					apiKey = strings.TrimSpace(string(b))
				}
			}
			account := cfg.Account
			if !cmd.Flags().Changed("account") && os.Getenv(config.EnvAccount) != "" {
				account = os.Getenv(config.EnvAccount)
			}
			if serverURL == "" || apiKey == "" {
				return withExit(ExitUsage, errors.New("need the server URL and an admin API key: --url and --api-key (or AZIMUTH_URL and AZIMUTH_API_KEY), or --offline"))
			}
			return rotateOnline(cmd.Context(), s, serverURL, apiKey, account)
		},
	}
	f := cmd.Flags()
	f.StringVar(&serverURL, "url", "", "server URL (env AZIMUTH_URL)")
	f.StringVar(&apiKey, "api-key", "", "an account admin API key (env AZIMUTH_API_KEY or AZIMUTH_API_KEY_FILE)")
	f.BoolVar(&offline, "offline", false, "rotate directly in the database (no server needed)")
	config.AddFlags(f, &cfg)
	for _, n := range []string{"listen", "log-level", "log-format", "shutdown-timeout"} {
		_ = f.MarkHidden(n)
	}
	return cmd
}

func printRotation(s *streams, r service.RotateResult) {
	fmt.Fprintf(s.out, "Data key %d is active (was %d); %d secrets re-encrypted", r.ActiveKeyID, r.PreviousKeyID, r.Reencrypted)
	if r.Skipped > 0 {
		fmt.Fprintf(s.out, ", %d changed meanwhile", r.Skipped)
	}
	fmt.Fprintln(s.out, ".")
	for _, k := range r.Keys {
		state := "retired"
		if k.Active {
			state = "active"
		}
		fmt.Fprintf(s.out, "  key %d  %-7s  %d secrets\n", k.ID, state, k.Secrets)
	}
}

func rotateOffline(ctx context.Context, s *streams, cfg config.Server) error {
	master, err := secret.LoadMasterKeyFile(cfg.MasterKeyFile)
	if err != nil {
		return withExit(ExitUsage, err)
	}
	st, err := sqlstore.Open(ctx, sqlstore.Options{URL: cfg.DatabaseURL})
	if err != nil {
		return err
	}
	defer st.Close()
	kr, err := secret.OpenKeyring(ctx, master, st)
	if err != nil {
		return withExit(ExitDenied, err)
	}
	svc := service.New(service.Deps{Store: st, Keyring: kr})
	res, err := svc.Keys.Rotate(ctx, access.System("operator rotate-key --offline"))
	if err != nil {
		return withExit(ExitFailed, err)
	}
	printRotation(s, res)
	return nil
}

func rotateOnline(ctx context.Context, s *streams, base, key, account string) error {
	u := strings.TrimRight(base, "/") + "/ng/api/azimuth/keyring/rotate?accountIdentifier=" + url.QueryEscape(account)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
	if err != nil {
		return withExit(ExitUsage, fmt.Errorf("server URL: %w", err))
	}
	req.Header.Set("x-api-key", key)
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("reach the server: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("read the server's answer: %w", err)
	}
	var env struct {
		Status  string               `json:"status"`
		Data    service.RotateResult `json:"data"`
		Message string               `json:"message"`
	}
	_ = json.Unmarshal(body, &env)
	if resp.StatusCode != http.StatusOK {
		msg := env.Message
		if msg == "" {
			msg = resp.Status
		}
		code := ExitError
		switch resp.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			code = ExitDenied
		case http.StatusNotFound:
			code = ExitNotFound
		}
		return withExit(code, fmt.Errorf("rotate-key: %s", msg))
	}
	printRotation(s, env.Data)
	return nil
}
