package cli

import "github.com/spf13/cobra"

// aksCmds are `azimuth azure aks …`.
func aksCmds(s *streams) []*cobra.Command { return nil }
