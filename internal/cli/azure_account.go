package cli

import "github.com/spf13/cobra"

// azureAccountCmds are `azimuth azure subscriptions|resource-groups`.
func azureAccountCmds(s *streams) []*cobra.Command { return nil }
