// Package cli is rootguard's command line: one file per command, and the
// only place where errors become exit codes.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/rootguard/rootguard/internal/escape"
)

// Exit codes, documented in docs/cli.md.
const (
	ExitOK       = 0
	ExitError    = 1
	ExitUsage    = 2
	ExitFindings = 3
	// ExitInterrupted is returned when the run was interrupted (Ctrl-C,
	// SIGTERM), as shells report a process ended by SIGINT.
	ExitInterrupted = 130
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
	if ctx.Err() != nil {
		// Interrupted: one line, not one per account. A command's own
		// account of what it left (a run to resume) is kept.
		if errors.As(err, &ee) && ee.err != nil && !errors.Is(ee.err, context.Canceled) && !errors.Is(ee.err, context.DeadlineExceeded) {
			fmt.Fprintf(io.Err, "rootguard: %s\n", escape.Lines(ee.err.Error()))
		}
		fmt.Fprintln(io.Err, "rootguard: interrupted")
		return ExitInterrupted
	}
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(io.Err, "rootguard: %s\n", escape.Lines(ee.err.Error()))
		}
		if ee.code == ExitUsage {
			fmt.Fprintln(io.Err, "Run 'rootguard --help' for usage.")
		}
		return ee.code
	}
	fmt.Fprintf(io.Err, "rootguard: %s\n", escape.Lines(err.Error()))
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
	root.AddCommand(newServeCmd(io, logger))
	guardUnknownCommands(root)
	return root
}

// guardUnknownCommands makes every command that has subcommands refuse an
// unknown one as a usage error (exit 2) with a suggestion, instead of
// printing help and exiting 0: a cron job must not read a typo as success.
func guardUnknownCommands(cmd *cobra.Command) {
	for _, c := range cmd.Commands() {
		guardUnknownCommands(c)
	}
	inner := cmd.Args
	if !cmd.HasSubCommands() {
		if inner != nil {
			cmd.Args = func(c *cobra.Command, args []string) error {
				err := inner(c, args)
				var ee *exitError
				if err != nil && !errors.As(err, &ee) {
					return &exitError{code: ExitUsage, err: err}
				}
				return err
			}
		}
		return
	}
	cmd.Args = func(c *cobra.Command, args []string) error {
		if len(args) > 0 && (inner == nil || c.RunE == nil) {
			return unknownCommand(c, args[0])
		}
		if inner != nil {
			if err := inner(c, args); err != nil {
				var ee *exitError
				if errors.As(err, &ee) {
					return err
				}
				return unknownCommand(c, args[0])
			}
		}
		return nil
	}
	if cmd.RunE == nil && cmd.Run == nil {
		cmd.RunE = func(c *cobra.Command, _ []string) error { return c.Help() }
	}
}

// unknownCommand is the usage error for a subcommand name cmd does not have,
// with the nearest names below cmd (one or two levels down) as suggestions.
func unknownCommand(cmd *cobra.Command, name string) error {
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2
	}
	var near []string
	for _, s := range cmd.SuggestionsFor(name) {
		near = append(near, cmd.CommandPath()+" "+s)
	}
	if len(near) == 0 {
		for _, c := range cmd.Commands() {
			if !c.IsAvailableCommand() {
				continue
			}
			c.SuggestionsMinimumDistance = 2
			for _, s := range c.SuggestionsFor(name) {
				near = append(near, c.CommandPath()+" "+s)
			}
		}
	}
	msg := fmt.Sprintf("unknown command %q for %q", name, cmd.CommandPath())
	if len(near) > 0 {
		msg += "; did you mean " + strings.Join(quoteAll(near), " or ") + "?"
	} else {
		msg += fmt.Sprintf("; '%s --help' lists its commands", cmd.CommandPath())
	}
	return &exitError{code: ExitUsage, err: errors.New(msg)}
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = "'" + s + "'"
	}
	return out
}

// loadAWS loads the SDK's standard configuration and checks, before any
// call, that it yields credentials: without them the user gets one line
// saying how to provide them, not the last provider's error.
func loadAWS(ctx context.Context, optFns ...func(*config.LoadOptions) error) (aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(ctx, optFns...)
	if err != nil {
		return aws.Config{}, &exitError{code: ExitUsage, err: fmt.Errorf("load AWS configuration: %w", err)}
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		if ctx.Err() != nil {
			return aws.Config{}, ctx.Err()
		}
		slog.Default().Debug("no credentials", "err", err)
		return aws.Config{}, &exitError{code: ExitError, err: ErrNoCredentials}
	}
	return cfg, nil
}

// ErrNoCredentials says how to give rootguard AWS credentials.
var ErrNoCredentials = errors.New("no AWS credentials found: set AWS_PROFILE to a profile that has them (aws configure, aws sso login), " +
	"or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; for the local sandbox, source the file 'rootguard sandbox --env-file FILE' writes")

// finitePositive reports whether a rate flag is a number rootguard can
// pace by: flags read "NaN" and "Inf" as floats, and neither is a rate.
func finitePositive(r float64) bool { return r > 0 && !math.IsInf(r, 0) }
