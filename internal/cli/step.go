package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/azimuthcd/azimuth/internal/client"
	"github.com/azimuthcd/azimuth/internal/ops"
)

// stepCmds are `azimuth run` (script steps) and the kubeconfig plugin
// the steps' kubeconfigs run.
func stepCmds(s *streams) []*cobra.Command {
	return []*cobra.Command{newRunCmd(s), newKubeTokenCmd(s)}
}

func newRunCmd(s *streams) *cobra.Command {
	var conn, file string
	var selectors, envs []string
	var timeout time.Duration
	var p ops.KubeconfigParams
	cmd := &cobra.Command{
		Use:   "run --connector ID --subscription SUB --resource-group RG --cluster NAME [flags] -- SCRIPT",
		Short: "Run a script step on a delegate with the cluster's kubeconfig as ${HARNESS_KUBE_CONFIG_PATH}",
		Long: `Run a bash script on a delegate, as a pipeline's shell step does, with the
AKS cluster's kubeconfig in a private temporary file: ${HARNESS_KUBE_CONFIG_PATH}
in the script is replaced by its path, which is also in the environment as
HARNESS_KUBE_CONFIG_PATH and KUBECONFIG. The file is removed when the script
ends. It holds no credential: kubectl gets Entra tokens (or the local
account's credential) from the delegate running the step, so neither
kubelogin nor the Azure CLI is needed on the delegate.

The script is the arguments after --, or --file FILE (- for standard input).
Its output is printed as it runs (followed from the task's log, secrets
masked): the script's lines on stdout, Azimuth's notes ([azimuth] ...) on
stderr. With -o json or yaml only the result is printed, at the end.
azimuth run exits with the script's exit code (7 when it was stopped by
--timeout).

A connector that inherits the delegate's managed identity needs
--delegate-selector naming delegates that run in the AKS cluster.

  azimuth run --connector aks_sp --subscription 2000… --resource-group rg-containers \
    --cluster aks-aad --namespace default -- \
    'export KUBECONFIG=${HARNESS_KUBE_CONFIG_PATH}; kubectl get pods -n default'`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := needConnector(conn); err != nil {
				return err
			}
			if err := needCluster(p); err != nil {
				return err
			}
			script, err := readScript(s, file, args)
			if err != nil {
				return err
			}
			if timeout < 0 || timeout > ops.StepMaxTimeout || timeout%time.Second != 0 {
				return withExit(ExitUsage, fmt.Errorf("--timeout %s: want whole seconds up to %s", timeout, ops.StepMaxTimeout))
			}
			extra := map[string]string{}
			for _, kv := range envs {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return withExit(ExitUsage, fmt.Errorf("--env %q: want NAME=VALUE", kv))
				}
				extra[k] = v
			}
			pr, err := newPrinter(cmd, s)
			if err != nil {
				return err
			}
			t, err := resolveTarget(cmd)
			if err != nil {
				return err
			}
			// The request lasts as long as the script: no client timeout
			// but the step's own (and a margin to report).
			c, err := client.New(client.Options{BaseURL: t.Server, APIKey: t.Key, Account: t.Account, UserAgent: "azimuth-cli/" + Version, Timeout: -1})
			if err != nil {
				return withExit(ExitUsage, err)
			}
			bound := ops.StepDefaultTimeout
			if timeout > 0 {
				bound = timeout
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), bound+5*time.Minute)
			defer cancel()
			q := scopeQuery(c, t)
			q.Set("connectorRef", conn)
			// The step's task id is ours, so its log can be followed while
			// the request waits for the step's end.
			taskID := newStepTaskID()
			body := map[string]any{
				"subscriptionId": p.SubscriptionID, "resourceGroup": p.ResourceGroup, "cluster": p.Cluster,
				"namespace": p.Namespace, "useClusterAdminCredentials": p.UseClusterAdminCredentials,
				"script": script, "timeoutSeconds": int(timeout.Seconds()), "env": extra, "delegateSelectors": selectors,
				"taskId": taskID,
			}
			type result struct {
				TaskID string `json:"taskId"`
				ops.StepResult
			}
			posted := make(chan error, 1)
			var out result
			go func() {
				_, err := c.Do(ctx, client.Request{Method: http.MethodPost, Path: "/ng/api/azimuth/steps", Query: q, JSON: body}, &out)
				posted <- err
			}()
			var f *stepFollower
			if pr.format == formatTable {
				f = &stepFollower{c: c, id: taskID, stdout: s.out, stderr: s.err}
			}
			err = f.follow(ctx, posted)
			if err != nil {
				return err
			}
			if done, err := pr.structured(out); done {
				if err != nil {
					return err
				}
			} else {
				if !f.complete() {
					// The log could not be followed (or not to its end):
					// the result carries the output's last 64 KiB.
					if f.printed > 0 {
						fmt.Fprintln(s.err, "(the log could not be followed to its end; the output's last 64 KiB follow)")
					}
					fmt.Fprint(s.out, out.Output)
					if out.OutputTruncated {
						fmt.Fprintln(s.err, "(output truncated to its last 64 KiB)")
					}
				}
				for _, w := range out.Warnings {
					fmt.Fprintln(s.err, "warning:", w.Message)
				}
				how := fmt.Sprintf("exit code %d", out.ExitCode)
				if out.TimedOut {
					how = "stopped by its timeout"
				}
				fmt.Fprintf(s.err, "step %s on delegate %s: %s (%d ms)\n", out.TaskID, out.DelegateID, how, out.DurationMillis)
			}
			switch {
			case out.TimedOut:
				return withExit(ExitFailed, errors.New("the script ran out of its timeout"))
			case out.ExitCode != 0:
				return withExit(out.ExitCode, fmt.Errorf("the script exited with status %d", out.ExitCode))
			}
			return nil
		},
	}
	connectorFlag(cmd, &conn)
	clusterFlags(cmd, &p)
	cmd.Flags().StringSliceVar(&selectors, "delegate-selector", nil, "run on a delegate with this tag (repeatable; required with a managed-identity connector)")
	cmd.Flags().StringArrayVar(&envs, "env", nil, "NAME=VALUE for the script's environment (repeatable)")
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "stop the script after this long (default 10m, at most 1h)")
	cmd.Flags().StringVarP(&file, "file", "f", "", "read the script from FILE (- for standard input)")
	return cmd
}

// newStepTaskID returns a random task id in the server's form (tsk_ and
// 24 hex digits).
func newStepTaskID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "tsk_" + hex.EncodeToString(b[:])
}

// stepFollowEvery is how often azimuth run reads the step's task log.
const stepFollowEvery = 300 * time.Millisecond

// stepFollower prints a step's task log as it grows: the script's lines
// on stdout, the executor's notes (ops.StepNotePrefix) on stderr. Each
// read asks only for the lines after the last one printed (afterSeq). A
// nil follower only waits.
type stepFollower struct {
	c              *client.Client
	id             string
	stdout, stderr io.Writer
	last           int64 // the seq of the last line printed
	printed        int
	seen           bool // the task was found at least once
	broken         bool // reading the log failed: stop following
}

// follow reads the log every stepFollowEvery until posted (the step's
// request) answers, then once more for the last lines, and returns the
// request's error.
func (f *stepFollower) follow(ctx context.Context, posted <-chan error) error {
	if f == nil {
		select {
		case err := <-posted:
			return err
		case <-ctx.Done():
			return <-posted // the request ends with ctx
		}
	}
	tick := time.NewTicker(stepFollowEvery)
	defer tick.Stop()
	for {
		select {
		case err := <-posted:
			if err == nil {
				f.poll(ctx)
			}
			return err
		case <-ctx.Done():
			return <-posted
		case <-tick.C:
			f.poll(ctx)
		}
	}
}

// poll prints the lines after the last one printed, page after page
// while the server says more follow. Not found means not queued yet; any
// other failure (a server without a delegate hub, a key that may not read
// tasks) stops following, and the output is printed from the result
// instead.
func (f *stepFollower) poll(ctx context.Context) {
	for !f.broken {
		d, err := f.c.GetTaskAfter(ctx, f.id, f.last)
		switch {
		case client.IsNotFound(err):
			return
		case err != nil:
			f.broken = true
			return
		}
		f.seen = true
		for _, l := range d.Logs {
			if l.Seq <= f.last {
				continue
			}
			f.last = l.Seq
			f.printed++
			if strings.HasPrefix(l.Line, ops.StepNotePrefix) {
				fmt.Fprintln(f.stderr, l.Line)
			} else {
				fmt.Fprintln(f.stdout, l.Line)
			}
		}
		if !d.MoreLogs || len(d.Logs) == 0 {
			return
		}
	}
}

// complete reports whether the whole output was printed from the log.
func (f *stepFollower) complete() bool {
	return f != nil && f.seen && !f.broken
}

func readScript(s *streams, file string, args []string) (string, error) {
	switch {
	case file != "" && len(args) > 0:
		return "", withExit(ExitUsage, errors.New("give the script either after -- or with --file, not both"))
	case file == "-":
		b, err := io.ReadAll(io.LimitReader(s.in, 512<<10))
		return string(b), err
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", withExit(ExitUsage, err)
		}
		return string(b), nil
	case len(args) == 0:
		return "", withExit(ExitUsage, errors.New("no script: pass it after --, or with --file"))
	}
	return strings.Join(args, " "), nil
}
