package cli

import "github.com/spf13/cobra"

// acrCmds are `azimuth azure acr …`.
func acrCmds(s *streams) []*cobra.Command { return nil }
