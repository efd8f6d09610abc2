package cli

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/azimuthcd/azimuth/internal/ops"
)

// newKubeTokenCmd is `azimuth kube-token`: the client-go exec credential
// plugin of a script step's kubeconfig. It asks the process running the
// step (over the unix socket named by $AZIMUTH_KUBE_TOKEN_SOCKET, which the
// kubeconfig sets) for an ExecCredential and prints it.
func newKubeTokenCmd(s *streams) *cobra.Command {
	return &cobra.Command{
		Use:    ops.KubeTokenCommand,
		Short:  "kubectl's credential plugin inside a script step (run by the step's kubeconfig)",
		Hidden: true,
		Args:   cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return ops.KubeTokenPlugin(cmd.Context(), os.Getenv(ops.KubeTokenSocketEnv), s.out)
		},
	}
}
