// Package cli holds Azimuth's subcommands. cmd/azimuth only builds a
// signal-aware context and calls Main.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// Exit codes. Scripts can rely on them.
const (
	ExitOK       = 0
	ExitError    = 1 // anything not listed below
	ExitUsage    = 2 // bad flags or arguments
	ExitNotFound = 3 // the named thing does not exist
	ExitConflict = 4 // it already exists, or is still referenced
	ExitDenied   = 5 // not authenticated or not allowed
	ExitInvalid  = 6 // the server refused the input
	ExitFailed   = 7 // the operation ran and failed (e.g. a connection test)
)

// Version is set at build time with -ldflags "-X .../internal/cli.Version=...".
var Version = "dev"

// exitError carries an exit code out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// withExit attaches an exit code to err.
func withExit(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
}

// streams are the process's standard streams, passed down instead of using
// os.Stdin/os.Stdout directly so commands can be tested.
type streams struct {
	in       io.Reader
	out, err io.Writer
}

// Main runs the command line and returns the process exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	s := &streams{in: stdin, out: stdout, err: stderr}
	root := newRootCmd(s)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	fmt.Fprintln(stderr, "Error:", err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if isUsageError(err) {
		return ExitUsage
	}
	return ExitError
}

func newRootCmd(s *streams) *cobra.Command {
	root := &cobra.Command{
		Use:           "azimuth",
		Short:         "Azimuth connects CD pipelines to Microsoft Azure",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       Version,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(
		newVersionCmd(s),
		newAzuresimCmd(s),
	)
	return root
}

type usageError struct{ error }

func (u usageError) Unwrap() error { return u.error }

func isUsageError(err error) bool {
	var u usageError
	return errors.As(err, &u)
}

func newVersionCmd(s *streams) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(s.out, "azimuth", Version)
			return err
		},
	}
}
