// Command azimuth is the single Azimuth binary: server, delegate, dev mode,
// the Azure simulator and the client commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/azimuthcd/azimuth/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
