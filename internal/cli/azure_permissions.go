package cli

import "github.com/spf13/cobra"

// permissionCmds are `azimuth azure permissions …`.
func permissionCmds(s *streams) []*cobra.Command { return nil }
