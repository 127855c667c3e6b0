// Package cli is rootguard's command line: one file per command, and the
// only place where errors become exit codes.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// Exit codes, documented in docs/cli.md.
const (
	ExitOK       = 0
	ExitError    = 1
	ExitUsage    = 2
	ExitFindings = 3
)

// exitError carries an exit code out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

// usageError marks a mistake in how the command was called.
func usageError(format string, args ...any) error {
	return &exitError{code: ExitUsage, err: fmt.Errorf(format, args...)}
}

// IO is what a command reads and writes.
type IO struct {
	In     io.Reader
	Out    io.Writer
	Err    io.Writer
	OutTTY bool // stdout is a terminal
	ErrTTY bool // stderr is a terminal
}

// StdIO returns the process's standard streams.
func StdIO() IO {
	return IO{In: os.Stdin, Out: os.Stdout, Err: os.Stderr,
		OutTTY: term.IsTerminal(int(os.Stdout.Fd())), ErrTTY: term.IsTerminal(int(os.Stderr.Fd()))}
}

// Main runs rootguard with args (without the program name) and returns
// the process exit code.
func Main(ctx context.Context, args []string, io IO) int {
	root := newRootCmd(io)
	root.SetArgs(args)
	root.SetIn(io.In)
	root.SetOut(io.Out)
	root.SetErr(io.Err)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(io.Err, "rootguard: %v\n", ee.err)
		}
		if ee.code == ExitUsage {
			fmt.Fprintln(io.Err, "Run 'rootguard --help' for usage.")
		}
		return ee.code
	}
	fmt.Fprintf(io.Err, "rootguard: %v\n", err)
	if isFlagError(err) {
		fmt.Fprintln(io.Err, "Run 'rootguard --help' for usage.")
		return ExitUsage
	}
	return ExitError
}

// flagError wraps errors from flag parsing so Main can tell them apart.
type flagError struct{ error }

func isFlagError(err error) bool {
	var fe *flagError
	return errors.As(err, &fe)
}

func newRootCmd(io IO) *cobra.Command {
	var verbose bool
	root := &cobra.Command{
		Use:   "rootguard",
		Short: "Keep the root users of an AWS Organization unused, locked down and watched",
		Long: `rootguard keeps the root user of every account in an AWS Organization
unused, locked down and watched.

Exit codes: 0 ok, 1 error (something could not be read or done),
2 usage, 3 findings that need attention (e.g. unapproved root use).`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().BoolVarP(&verbose, "verbose", "v", false, "log progress and decisions to stderr")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &flagError{err} })
	logger := func() *slog.Logger {
		level := slog.LevelWarn
		if verbose {
			level = slog.LevelDebug
		}
		return slog.New(slog.NewTextHandler(io.Err, &slog.HandlerOptions{Level: level}))
	}
	root.AddCommand(newScanCmd(io, logger))
	root.AddCommand(newAuditCmd(io, logger))
	root.AddCommand(newOrgCmd(io, logger))
	root.AddCommand(newApprovalCmd(io, logger))
	root.AddCommand(newAlertCmd(io, logger))
	root.AddCommand(newDeployCmd(io, logger))
	root.AddCommand(newPlanCmd(io, logger))
	root.AddCommand(newAdviseCmd(io, logger))
	root.AddCommand(newAccountCmd(io, logger))
	root.AddCommand(newSandboxCmd(io, logger))
	root.AddCommand(newRootCredsCmd(io, logger))
	root.AddCommand(newUnlockCmd(io, logger))
	return root
}
