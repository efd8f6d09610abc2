package cli

import "github.com/spf13/cobra"

// newAzureCmd groups the commands that use Azure through a connector.
func newAzureCmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "azure",
		Short: "Use Azure through a connector: subscriptions, ACR, AKS, permissions",
	}
	for _, part := range [][]*cobra.Command{azureAccountCmds(s), acrCmds(s), aksCmds(s), permissionCmds(s)} {
		cmd.AddCommand(part...)
	}
	return cmd
}
