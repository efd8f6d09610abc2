// Package cli holds Azimuth's subcommands. cmd/azimuth only builds a
// signal-aware context and calls Main.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/azimuthcd/azimuth/internal/failure"
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
	if code, ok := kindExit(err); ok {
		return code
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
		newServerCmd(s),
		newDevCmd(s),
		newOperatorCmd(s),
	)
	// Client commands: they talk to a server's API (apiclient.go).
	addClientFlags(root.PersistentFlags())
	root.AddCommand(
		newLoginCmd(s),
		newWhoamiCmd(s),
		newConnectorCmd(s),
		newSecretCmd(s),
		newOrgCmd(s),
		newProjectCmd(s),
		newAPIKeyCmd(s),
		newAuditCmd(s),
		newAzureCmd(s),
	)
	// Each feature's commands live in its own file.
	root.AddCommand(engineCmds(s)...)
	root.AddCommand(stepCmds(s)...)
	usageErrors(root)
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

// kindExit maps an error that carries a failure kind (an API client error
// a command did not wrap) to its exit code.
func kindExit(err error) (int, bool) {
	if _, ok := failure.As(err); !ok {
		return 0, false
	}
	switch failure.KindOf(err) {
	case failure.NotFound:
		return ExitNotFound, true
	case failure.Conflict:
		return ExitConflict, true
	case failure.Unauthenticated, failure.Forbidden:
		return ExitDenied, true
	case failure.Invalid, failure.TooLarge:
		return ExitInvalid, true
	}
	return 0, false
}

// usageErrors makes argument errors usage errors (exit 2) throughout the
// tree, and a group command given an unknown subcommand say so instead of
// printing its help with success.
func usageErrors(c *cobra.Command) {
	if args := c.Args; args != nil {
		c.Args = func(cmd *cobra.Command, a []string) error {
			if err := args(cmd, a); err != nil {
				return usageError{err}
			}
			return nil
		}
	}
	if !c.Runnable() && c.HasSubCommands() && c.HasParent() {
		c.RunE = func(cmd *cobra.Command, a []string) error {
			if len(a) > 0 {
				return usageError{fmt.Errorf("unknown command %q for %q; see %s --help", a[0], cmd.CommandPath(), cmd.CommandPath())}
			}
			return cmd.Help()
		}
	}
	for _, sub := range c.Commands() {
		usageErrors(sub)
	}
}
