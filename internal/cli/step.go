package cli

import "github.com/spf13/cobra"

// stepCmds are `azimuth run` (script steps).
func stepCmds(s *streams) []*cobra.Command { return nil }
