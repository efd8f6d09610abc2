package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/azimuthcd/azimuth/internal/config"
	"github.com/azimuthcd/azimuth/internal/server"
)

// newLogger builds the process logger from the configuration: structured,
// to stderr, never the global logger.
func newLogger(w io.Writer, c config.Server) *slog.Logger {
	lvl, _ := config.ParseLevel(c.LogLevel)
	opts := &slog.HandlerOptions{Level: lvl}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func newServerCmd(s *streams) *cobra.Command {
	var cfg config.Server
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the Azimuth control plane (API on --listen, SQLite or PostgreSQL)",
		Long: `Run the Azimuth control plane.

On first start it creates the account (--account) with its "default"
organization and an admin API key, which it prints once and writes to
<data-dir>/admin-api-key (mode 0600). It refuses to start without a master
key (--master-key-file, default <data-dir>/master.key); create one with

  head -c 32 /dev/urandom | base64 > master.key && chmod 600 master.key

SIGTERM or SIGINT stops it gracefully.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := config.Resolve(cmd.Flags(), &cfg, os.Getenv); err != nil {
				return withExit(ExitUsage, err)
			}
			return runServer(cmd.Context(), s, cfg)
		},
	}
	config.AddFlags(cmd.Flags(), &cfg)
	return cmd
}

func runServer(ctx context.Context, s *streams, cfg config.Server) error {
	log := newLogger(s.err, cfg)
	srv, err := server.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	if err := srv.Listen(); err != nil {
		_ = srv.Store.Close()
		return err
	}
	if srv.AdminKeyID != "" {
		printAdminKey(s.out, cfg, srv.AdminKey.Reveal())
	}
	fmt.Fprintf(s.out, "Azimuth is serving on %s\n", srv.URL())
	return srv.Run(ctx)
}

func printAdminKey(w io.Writer, cfg config.Server, key string) {
	fmt.Fprintf(w, "Created account %q with organization \"default\".\n", cfg.Account)
	fmt.Fprintf(w, "Admin API key (shown once; also in %s, mode 0600):\n\n  %s\n\n",
		filepath.Join(cfg.DataDir, server.AdminKeyFile), key)
}
