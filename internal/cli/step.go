package cli

import (
	"context"
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
The step's output is printed when it ends; azimuth run exits with the
script's exit code (7 when it was stopped by --timeout).

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
			body := map[string]any{
				"subscriptionId": p.SubscriptionID, "resourceGroup": p.ResourceGroup, "cluster": p.Cluster,
				"namespace": p.Namespace, "useClusterAdminCredentials": p.UseClusterAdminCredentials,
				"script": script, "timeoutSeconds": int(timeout.Seconds()), "env": extra, "delegateSelectors": selectors,
			}
			var out struct {
				TaskID string `json:"taskId"`
				ops.StepResult
			}
			if _, err := c.Do(ctx, client.Request{Method: http.MethodPost, Path: "/ng/api/azimuth/steps", Query: q, JSON: body}, &out); err != nil {
				return err
			}
			if done, err := pr.structured(out); done {
				if err != nil {
					return err
				}
			} else {
				fmt.Fprint(s.out, out.Output)
				if out.OutputTruncated {
					fmt.Fprintln(s.err, "(output truncated to its last 64 KiB)")
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
