package cli

import (
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/azimuthcd/azimuth/internal/azuresim"
	"github.com/azimuthcd/azimuth/internal/cloud"
)

// newAzuresimCmd is `azimuth azuresim`: the Azure simulator, standalone.
func newAzuresimCmd(s *streams) *cobra.Command {
	var (
		worldPath, cloudConfig string
		hostConfigs            []string
		tokenLifetime          time.Duration
		pageSize               int
		verbose                bool
	)
	cmd := &cobra.Command{
		Use:   "azuresim",
		Short: "Run the Azure simulator (Entra ID, managed identity, ARM) on loopback",
		Long: `Run the Azure simulator standalone until interrupted.

It serves the world in --world (the embedded demo world when omitted) on
127.0.0.1 with a CA generated at start, writes the cloud override that
points Azimuth at it to --cloud-config, and prints its endpoints. Use
--host-config NAME=FILE to also write the override of a process running on
the simulated host NAME (its managed identity endpoints). See
docs/azuresim.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			hostFiles := map[string]string{}
			for _, hc := range hostConfigs {
				name, path, ok := strings.Cut(hc, "=")
				if !ok || name == "" || path == "" {
					return usageError{fmt.Errorf("--host-config %q: want NAME=FILE", hc)}
				}
				hostFiles[name] = path
			}
			var w *azuresim.World
			var err error
			if worldPath != "" {
				if w, err = azuresim.LoadWorld(worldPath); err != nil {
					return withExit(ExitInvalid, err)
				}
			}
			level := slog.LevelInfo
			if verbose {
				level = slog.LevelDebug
			}
			logger := slog.New(slog.NewTextHandler(s.err, &slog.HandlerOptions{Level: level}))
			sim, err := azuresim.Start(ctx, azuresim.Options{World: w, TokenLifetime: tokenLifetime, PageSize: pageSize, Logger: logger})
			if err != nil {
				return withExit(ExitInvalid, err)
			}
			defer sim.Close()
			if cloudConfig != "" {
				if err := sim.Override().Write(cloudConfig); err != nil {
					return err
				}
			}
			for name, path := range hostFiles {
				o, err := sim.HostOverride(name)
				if err != nil {
					return withExit(ExitNotFound, err)
				}
				if err := o.Write(path); err != nil {
					return err
				}
			}
			printEndpoints(s, sim, cloudConfig, hostFiles)
			<-ctx.Done()
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&worldPath, "world", "", "world file (YAML); the embedded demo world when empty")
	f.StringVar(&cloudConfig, "cloud-config", "", "write the cloud override (endpoints and CA bundle) to this file")
	f.StringArrayVar(&hostConfigs, "host-config", nil, "NAME=FILE: write the override of a process on simulated host NAME (repeatable)")
	f.DurationVar(&tokenLifetime, "token-lifetime", time.Hour, "lifetime of the access tokens it issues")
	f.IntVar(&pageSize, "page-size", 100, "items per ARM list page")
	f.BoolVarP(&verbose, "verbose", "v", false, "log every request")
	return cmd
}

func printEndpoints(s *streams, sim *azuresim.Sim, cloudConfig string, hostFiles map[string]string) {
	o := sim.Override()
	fmt.Fprintln(s.out, "Azure simulator running (Ctrl-C stops it)")
	for _, n := range cloud.Names() {
		e := o.Clouds[n]
		fmt.Fprintf(s.out, "  %-20s entra %s  arm %s\n", n, e.AuthorityHost, e.ResourceManager)
	}
	hosts := make([]string, 0, len(o.Hosts))
	for k := range o.Hosts {
		hosts = append(hosts, k)
	}
	sort.Strings(hosts)
	for _, h := range hosts {
		fmt.Fprintf(s.out, "  host %-34s -> %s\n", h, o.Hosts[h])
	}
	for _, name := range sim.HostNames() {
		ho, err := sim.HostOverride(name)
		if err != nil {
			continue
		}
		fmt.Fprintf(s.out, "  simulated host %s: IMDS %s, App Service %s\n", name, ho.Hosts["169.254.169.254:80"], ho.AppService.Endpoint)
	}
	fmt.Fprintf(s.out, "  control %s/_sim/\n", sim.ControlURL())
	if cloudConfig != "" {
		fmt.Fprintf(s.out, "  cloud override written to %s\n", cloudConfig)
	}
	for name, path := range hostFiles {
		fmt.Fprintf(s.out, "  override of host %s written to %s\n", name, path)
	}
}
