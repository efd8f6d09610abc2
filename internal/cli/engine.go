package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/azimuthcd/azimuth/internal/azure"
	"github.com/azimuthcd/azimuth/internal/client"
	"github.com/azimuthcd/azimuth/internal/cloud"
	"github.com/azimuthcd/azimuth/internal/config"
	"github.com/azimuthcd/azimuth/internal/delegate"
	"github.com/azimuthcd/azimuth/internal/ops"
)

// EnvDelegateToken holds the delegate token when --token is not given.
const EnvDelegateToken = "AZIMUTH_DELEGATE_TOKEN"

// engineCmds are `azimuth delegate`, delegate tokens and tasks.
func engineCmds(s *streams) []*cobra.Command {
	return []*cobra.Command{newDelegateCmd(s), newTaskCmd(s)}
}

// AgentConfig is what a delegate process runs with.
type AgentConfig struct {
	Server      string
	Token       string
	Name        string
	Tags        []string
	Concurrency int
	// Override is the cloud override (--cloud-config); nil for Azure.
	Override *cloud.Override
	Logger   *slog.Logger
	// Getenv reads the host's environment (App Service identity endpoint,
	// KUBERNETES_SERVICE_HOST); os.Getenv when nil.
	Getenv func(string) string
}

// NewAgent builds a delegate: its own Azure factory, which may use the
// host's managed identity, the server's executors, and what it detects it
// can offer. It removes the step directories delegates of this user left
// behind when they were killed mid-step (ops.SweepStaleStepDirs), and logs
// each.
func NewAgent(ctx context.Context, c AgentConfig) (*delegate.Agent, func(), error) {
	if c.Getenv == nil {
		c.Getenv = os.Getenv
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	mi := azure.ManagedIdentityEndpointFromEnv(c.Getenv)
	f, err := azure.NewFactory(azure.Options{Override: c.Override, Logger: c.Logger, UserAgent: "azimuth-delegate/" + Version,
		ManagedIdentity: true, ManagedIdentityEndpoint: mi})
	if err != nil {
		return nil, nil, err
	}
	caps := delegate.DetectCapabilities(ctx, c.Override, mi, c.Getenv)
	a, err := delegate.NewAgent(delegate.AgentOptions{Server: c.Server, Token: c.Token, Name: c.Name, Tags: c.Tags,
		Concurrency: c.Concurrency, Env: ops.NewEnv(c.Logger, f, ""), Capabilities: caps, Version: Version, Logger: c.Logger})
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	// A delegate killed mid-step left its step's private directory (the
	// kubeconfig, the script, the socket) behind; every step of this
	// user on this host that may still run has a younger one.
	if n := ops.SweepStaleStepDirs(c.Logger); n > 0 {
		c.Logger.Info("removed the step directories of delegates that stopped mid-step", "count", n, "olderThan", ops.StepDirMaxAge)
	}
	return a, f.Close, nil
}

func newDelegateCmd(s *streams) *cobra.Command {
	var token, tokenFile, name, cloudConfig, logLevel string
	var tags []string
	var concurrency int
	cmd := &cobra.Command{
		Use:   "delegate --server URL --token TOKEN --name NAME [--tags a,b]",
		Short: "Run a delegate: it runs the tasks of connectors that connect through a delegate",
		Long: `Run a delegate: an agent, inside your network or cluster, that runs the
tasks of connectors which connect through a delegate (executeOnDelegate,
the default) or inherit their credentials from it (InheritFromDelegate,
its managed identity).

It registers with the server using a delegate token (create one with
` + "`azimuth delegate token create`" + `), heartbeats, long-polls for work and
runs only tasks whose selectors are all among its --tags. It connects out
only; it reconnects with backoff when the server is away. On SIGTERM it
lets running tasks finish for a while and hands the rest back.

The token is read from --token, --token-file or ` + EnvDelegateToken + `.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			server := flagString(cmd, "server")
			if server == "" {
				server = strings.TrimSpace(os.Getenv(EnvServer))
			}
			if server == "" {
				// The client configuration, or the dev.json of an
				// `azimuth dev` running from this directory.
				if t, err := resolveTarget(cmd); err == nil {
					server = t.Server
				}
			}
			switch {
			case token != "":
			case tokenFile != "":
				t, err := readKeyFile(tokenFile, "--token-file")
				if err != nil {
					return err
				}
				token = t
			default:
				token = strings.TrimSpace(os.Getenv(EnvDelegateToken))
			}
			if name == "" {
				name, _ = os.Hostname()
			}
			if server == "" || token == "" || name == "" {
				return withExit(ExitUsage, errors.New("a delegate needs --server, --token (or --token-file, or "+EnvDelegateToken+") and --name"))
			}
			var o *cloud.Override
			if cloudConfig != "" {
				var err error
				if o, err = cloud.Load(cloudConfig); err != nil {
					return withExit(ExitUsage, err)
				}
			}
			log := newLogger(s.err, config.Server{LogLevel: logLevel, LogFormat: "text"})
			a, closeFn, err := NewAgent(cmd.Context(), AgentConfig{Server: server, Token: token, Name: name, Tags: tags,
				Concurrency: concurrency, Override: o, Logger: log})
			if err != nil {
				return withExit(ExitUsage, err)
			}
			defer closeFn()
			fmt.Fprintf(s.err, "delegate %s connecting to %s (tags %s, concurrency %d)\n", name, server, strings.Join(tags, ","), concurrency)
			if err := a.Run(cmd.Context()); err != nil && !errors.Is(err, context.Canceled) {
				if errors.Is(err, delegate.ErrStopped) {
					return withExit(ExitDenied, err)
				}
				return err
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&token, "token", "", "the delegate token (azd.<account>.<id>.<secret>)")
	f.StringVar(&tokenFile, "token-file", "", "a file holding the delegate token")
	f.StringVar(&name, "name", "", "the delegate's name (default: the host name)")
	f.StringSliceVar(&tags, "tags", nil, "tags (comma-separated): connectors' delegateSelectors pick delegates by them")
	f.IntVar(&concurrency, "concurrency", 8, "how many tasks to run at once")
	f.StringVar(&cloudConfig, "cloud-config", "", "cloud override file (endpoints, CA bundle, managed-identity endpoints), e.g. written by azimuth azuresim --host-config")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	cmd.AddCommand(newDelegateTokenCmd(s), newDelegateListCmd(s))
	return cmd
}

func newDelegateTokenCmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Manage delegate tokens (an admin key is needed)",
		Long: `Manage delegate tokens. A token belongs to a scope (the account, --org, or
--org and --project); delegates that register with it serve that scope and
the scopes below it. It is shown once; the server keeps only its hash.`,
	}
	create := &cobra.Command{
		Use:   "create --name NAME",
		Short: "Create a delegate token and print it (once) on standard output",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			name := flagString(cmd, "name")
			if name == "" {
				return withExit(ExitUsage, errors.New("--name is required"))
			}
			p, err := newPrinter(cmd, s)
			if err != nil {
				return err
			}
			c, t, err := newAPIClient(cmd)
			if err != nil {
				return err
			}
			dt, tok, err := c.CreateDelegateToken(cmd.Context(), t.scope(), name)
			if err != nil {
				return apiError(t, err)
			}
			if ok, err := p.structured(struct {
				DelegateToken client.DelegateToken `json:"delegateToken"`
				Token         string               `json:"token"`
			}{dt, tok}); ok {
				return err
			}
			fmt.Fprintf(s.err, "Created delegate token %s (id %s at %s). It is shown only this once:\n", dt.Name, dt.ID,
				scopeString(dt.OrgIdentifier, dt.ProjectIdentifier))
			_, err = fmt.Fprintln(s.out, tok)
			return err
		},
	}
	create.Flags().String("name", "", "a name saying which delegates use the token")
	var sub bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List the delegate tokens of a scope (never the tokens themselves)",
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
			items, err := c.ListDelegateTokens(cmd.Context(), t.scope(), sub)
			if err != nil {
				return apiError(t, err)
			}
			if items == nil {
				items = []client.DelegateToken{}
			}
			if ok, err := p.structured(items); ok {
				return err
			}
			tb := newTable(s.out, "ID", "NAME", "SCOPE", "CREATED", "CREATED BY", "REVOKED")
			for _, k := range items {
				tb.row(k.ID, k.Name, scopeString(k.OrgIdentifier, k.ProjectIdentifier), when(k.CreatedAt), k.CreatedBy, when(k.RevokedAt))
			}
			return tb.flush()
		},
	}
	list.Flags().BoolVar(&sub, "sub-scopes", false, "include the tokens of every scope below this one")
	revoke := &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke a delegate token: its delegates are refused at their next contact",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, t, err := newAPIClient(cmd)
			if err != nil {
				return err
			}
			k, err := c.RevokeDelegateToken(cmd.Context(), args[0])
			if err != nil {
				return apiError(t, err)
			}
			_, err = fmt.Fprintf(s.out, "Revoked delegate token %s (%s).\n", k.ID, k.Name)
			return err
		},
	}
	cmd.AddCommand(create, list, revoke)
	return cmd
}

func newDelegateListCmd(s *streams) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List delegates: tags, scope, version, capabilities, last heartbeat, connected",
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
			items, err := c.ListDelegates(cmd.Context(), t.scope())
			if err != nil {
				return apiError(t, err)
			}
			if items == nil {
				items = []client.Delegate{}
			}
			if ok, err := p.structured(items); ok {
				return err
			}
			tb := newTable(s.out, "NAME", "ID", "SCOPE", "TAGS", "VERSION", "CAPABILITIES", "LAST HEARTBEAT", "CONNECTED")
			for _, d := range items {
				tb.row(d.Name, d.ID, scopeString(d.OrgIdentifier, d.ProjectIdentifier), strings.Join(d.Tags, ","), d.Version,
					capsString(d.Capabilities), when(d.LastHeartbeat), fmt.Sprint(d.Connected))
			}
			return tb.flush()
		},
	}
}

func capsString(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		if k != "kinds" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, " ")
}

func newTaskCmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "task",
		Aliases: []string{"tasks"},
		Short:   "List tasks and show one with its (masked) log",
	}
	var l listFlags
	var f client.TaskFilter
	list := &cobra.Command{
		Use:   "list",
		Short: "List tasks: type, connector, delegate, status, timings, error",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runList(cmd, s, &l, listing[client.Task]{
				what:   "tasks",
				header: []string{"ID", "TYPE", "CONNECTOR", "DELEGATE", "STATUS", "CREATED", "DURATION", "ERROR"},
				row: func(x client.Task) []string {
					dur := ""
					if x.DurationMillis > 0 || x.FinishedAt != 0 {
						dur = (time.Duration(x.DurationMillis) * time.Millisecond).String()
					}
					msg := ""
					if x.Error != nil {
						msg = x.Error.Message
						if len(msg) > 80 {
							msg = msg[:77] + "..."
						}
					}
					return []string{x.ID, x.Type, x.ConnectorIdentifier, x.DelegateName, x.Status, when(x.CreatedAt), dur, msg}
				},
				fetch: func(c *client.Client, t target, o client.ListOptions) (client.Page[client.Task], error) {
					return c.ListTasks(cmd.Context(), t.scope(), f, o)
				},
			})
		},
	}
	l.add(list, false)
	list.Flags().StringVar(&f.Status, "status", "", "QUEUED, RUNNING, SUCCEEDED, FAILED or CANCELLED")
	list.Flags().StringVar(&f.Type, "type", "", "a task kind, e.g. azure.validate")
	list.Flags().StringVar(&f.DelegateID, "delegate", "", "a delegate id")
	get := &cobra.Command{
		Use:   "get ID",
		Short: "Show a task and its log (secret values masked)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := newPrinter(cmd, s)
			if err != nil {
				return err
			}
			c, t, err := newAPIClient(cmd)
			if err != nil {
				return err
			}
			x, err := c.GetTask(cmd.Context(), args[0])
			if err != nil {
				return apiError(t, err)
			}
			// The server answers a page of the log at a time: read on to
			// its end.
			for x.MoreLogs && len(x.Logs) > 0 {
				next, err := c.GetTaskAfter(cmd.Context(), args[0], x.Logs[len(x.Logs)-1].Seq)
				if err != nil {
					return apiError(t, err)
				}
				x.Logs, x.MoreLogs = append(x.Logs, next.Logs...), next.MoreLogs
			}
			if ok, err := p.structured(x); ok {
				return err
			}
			msg := ""
			if x.Error != nil {
				msg = x.Error.Message
				if x.Error.Hint != "" {
					msg += " (" + x.Error.Hint + ")"
				}
			}
			if err := fields(s.out, "ID", x.ID, "Type", x.Type, "Status", x.Status, "Connector", x.ConnectorIdentifier,
				"Selectors", strings.Join(x.Selectors, ","), "Delegate", x.DelegateName, "Attempts", fmt.Sprint(x.Attempts),
				"Created", when(x.CreatedAt), "Started", when(x.StartedAt), "Finished", when(x.FinishedAt), "Note", x.Note, "Error", msg); err != nil {
				return err
			}
			for _, line := range x.Logs {
				fmt.Fprintf(s.out, "  | %s\n", clean(line.Line))
			}
			return nil
		},
	}
	cmd.AddCommand(list, get)
	return cmd
}
