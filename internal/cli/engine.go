package cli

import "github.com/spf13/cobra"

// engineCmds are `azimuth delegate`, delegate tokens and tasks.
func engineCmds(s *streams) []*cobra.Command { return nil }
