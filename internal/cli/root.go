package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/rootguard/rootguard/internal/remediate"
	"github.com/rootguard/rootguard/internal/report"
	"github.com/rootguard/rootguard/internal/store"
)

// changeStdinIsTerminal says whether confirmation can be asked on r (tests
// replace it).
var changeStdinIsTerminal = func(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func newRootCredsCmd(io IO, logger func() *slog.Logger) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "root",
		Short: "Change member accounts' root users: delete credentials, allow password recovery",
		Long: `Root changes the root users of member accounts through centralized root access
(sts:AssumeRoot from the management account or the IAM delegated
administrator), plan first: 'plan' writes what would be done per account and
why, 'apply' executes a plan, and every step is recorded with its AWS request
id in the journal ('rootguard root journal').

Exit codes: 0 every account done (or nothing to do), 1 an account failed or
could not be read (the others are still done), 2 usage.`,
	}
	cmd.AddCommand(newChangeCmd(io, logger, remediate.KindDeleteCredentials), newChangeCmd(io, logger, remediate.KindAllowRecovery), newRootJournalCmd(io), newRootSessionCmd(io, logger))
	return cmd
}

// changeOptions are the flags of delete-credentials and allow-recovery.
type changeOptions struct {
	io      IO
	logger  func() *slog.Logger
	kind    remediate.Kind
	sel     remediate.Selection
	force   []string
	yes     bool
	out     string
	output  string
	workers int
	rate    float64
	region  string
	db      string
	resume  string
	maxAge  time.Duration
	// mfaDeleteRole and s3PathStyle let the s3-mfa-delete check read S3.
	mfaDeleteRole string
	s3PathStyle   bool
}

func (o *changeOptions) noun() string {
	if o.kind == remediate.KindAllowRecovery {
		return "allow-recovery"
	}
	return "delete-credentials"
}

func newChangeCmd(io IO, logger func() *slog.Logger, kind remediate.Kind) *cobra.Command {
	o := &changeOptions{io: io, logger: logger, kind: kind}
	cmd := &cobra.Command{Use: string(kind) + " [flags]", Args: changeNoArgs}
	if kind == remediate.KindDeleteCredentials {
		cmd.Short = "Delete member accounts' root credentials (plan, then apply)"
		cmd.Long = `Delete-credentials deletes the root user's password, access keys, signing
certificates and MFA devices in member accounts, in one sts:AssumeRoot session
(IAMDeleteRootUserCredentials) per account: a snapshot of what exists goes to
the journal first, then each deletion, then a verification in the same session
with the reads its task policy allows (GetLoginProfile, ListAccessKeys,
ListSigningCertificates, ListMFADevices) that nothing is left; anything left
fails the account. A virtual MFA device the root session may not delete
(AccessDenied) is reported as deactivated and kept, not as a failure.

Without a subcommand it plans, shows the plan and, with --yes (or after a y/N
question on a terminal), applies it; without --yes off a terminal it is a dry
run. 'plan --out FILE' writes the plan for review; 'apply FILE' executes it.

` + remediate.DeleteWarning + `

Checks refuse an account when deletion would break something: ` + remediate.CheckAccessKeyInUse + ` (a root
access key used in the last 90 days), ` + remediate.CheckS3MFADelete + ` (a bucket with MFA Delete enabled,
or whose versioning could not be read); --force CHECK overrides. No root
session can read MFA Delete (no root-task policy allows
s3:GetBucketVersioning): ` + remediate.CheckS3MFADelete + ` is checked only with --mfa-delete-role ROLE,
a role in every member account it reads S3 through, and is NOT checked
otherwise. IAM access to billing is NOT checked (no API reads it).`
		cmd.Example = `  rootguard root delete-credentials plan --ou Workloads --exclude 123456789012 --out plan.json
  rootguard root delete-credentials apply plan.json --yes
  rootguard root delete-credentials apply --resume 20261129T101500Z-3f9a2c --yes
  rootguard root delete-credentials --all --yes -o json`
	} else {
		cmd.Short = "Let the root email owner recover a root password (plan, then apply)"
		cmd.Long = `Allow-recovery gives a member account's root user a login profile without a
password, in one sts:AssumeRoot session (IAMCreateRootUserPassword), so that
the owner of the root email address can recover a password and sign in as
root for a task that needs it.

` + remediate.RecoveryWarning
		cmd.Example = `  rootguard root allow-recovery --account 123456789012          # plan, then ask
  rootguard root allow-recovery plan --account 123456789012 --out recover.json
  rootguard root allow-recovery apply recover.json --yes`
	}
	cmd.RunE = func(cmd *cobra.Command, _ []string) error { return runChange(cmd.Context(), o, false) }
	bindChangeTargets(cmd, o)
	cmd.Flags().BoolVarP(&o.yes, "yes", "y", false, "apply without asking")
	cmd.Flags().StringVar(&o.out, "out", "", "also write the plan to this file")

	plan := &cobra.Command{
		Use:   "plan [flags]",
		Short: "Write what would be done in each account, and why; change nothing",
		Args:  changeNoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return runChange(cmd.Context(), o, true) },
	}
	bindChangeTargets(plan, o)
	plan.Flags().StringVar(&o.out, "out", "", "write the plan to this file (for apply)")

	apply := &cobra.Command{
		Use:   "apply PLAN-FILE | --resume RUN-ID",
		Short: "Execute a plan file, or resume an unfinished run",
		Long: `Apply executes a plan written by 'plan --out'. An unfinished run of the same
plan file (interrupted, or an account failed) is resumed rather than started
again; --resume RUN-ID resumes a run from the journal. Steps already done are
not repeated. Without --yes it asks on a terminal and refuses elsewhere.`,
		Args: func(_ *cobra.Command, args []string) error {
			switch {
			case len(args) > 1:
				return usageError("apply takes one plan file")
			case len(args) == 1 && o.resume != "":
				return usageError("give a plan file or --resume, not both")
			case len(args) == 0 && o.resume == "":
				return usageError("apply needs a plan file (from 'plan --out') or --resume RUN-ID")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			file := ""
			if len(args) == 1 {
				file = args[0]
			}
			return runApplyFile(cmd.Context(), o, file)
		},
	}
	apply.Flags().BoolVarP(&o.yes, "yes", "y", false, "apply without asking")
	apply.Flags().StringVar(&o.resume, "resume", "", "resume this run from the journal")
	bindChangeRunFlags(apply, o)
	cmd.AddCommand(plan, apply)
	return cmd
}

func changeNoArgs(_ *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageError("unexpected argument %q (targets are flags: --account, --ou, --all)", args[0])
	}
	return nil
}

func bindChangeTargets(cmd *cobra.Command, o *changeOptions) {
	f := cmd.Flags()
	f.StringArrayVar(&o.sel.Accounts, "account", nil, "a target account id (repeatable)")
	if o.kind == remediate.KindDeleteCredentials {
		f.StringArrayVar(&o.sel.OUs, "ou", nil, "every account under this OU, by id or path (Workloads/Prod), recursively (repeatable)")
		f.BoolVar(&o.sel.All, "all", false, "every member account")
		f.StringArrayVar(&o.sel.Exclude, "exclude", nil, "leave out this account or OU (repeatable)")
		f.StringArrayVar(&o.force, "force", nil, "delete even where this check refuses (repeatable): "+strings.Join(remediate.CheckIDs(remediate.DefaultChecks()), ", "))
		f.StringVar(&o.mfaDeleteRole, "mfa-delete-role", "", "check S3 MFA Delete through this role in each member account (e.g. OrganizationAccountAccessRole)")
		f.BoolVar(&o.s3PathStyle, "s3-path-style", false, "address S3 buckets by path (for S3-compatible servers)")
	}
	f.DurationVar(&o.maxAge, "max-age", remediate.DefaultMaxAge, "how long the plan may be applied after it is made")
	bindChangeRunFlags(cmd, o)
}

func bindChangeRunFlags(cmd *cobra.Command, o *changeOptions) {
	f := cmd.Flags()
	f.StringVarP(&o.output, "output", "o", "table", "output format: table, json (one object per account) or csv")
	f.IntVar(&o.workers, "workers", 64, "accounts handled at once")
	f.Float64Var(&o.rate, "assume-root-rate", 50, "sts:AssumeRoot calls per second at most (slows down while throttled)")
	f.StringVar(&o.region, "region", "", "the Region whose STS endpoint opens root sessions (default: the SDK's; AssumeRoot has no global endpoint)")
	f.StringVar(&o.db, "db", "", "journal database (default: rootguard.db under the user's state directory)")
}

func (o *changeOptions) format() (string, error) {
	f, err := report.ParseFormat(o.output)
	if err != nil {
		return "", usageError("%v", err)
	}
	return string(f), nil
}

func (o *changeOptions) remediateOptions() remediate.Options {
	opts := remediate.Options{Workers: o.workers, AssumeRootRate: o.rate, Region: o.region, MaxAge: o.maxAge, Logger: o.logger()}
	if o.io.ErrTTY {
		opts.Progress = progressBar(o.io.Err)
	}
	return opts
}

func (o *changeOptions) endProgress() {
	if o.io.ErrTTY {
		fmt.Fprint(o.io.Err, "\r\033[K")
	}
}

// runChange plans (planOnly) or plans and applies when confirmed.
func runChange(ctx context.Context, o *changeOptions, planOnly bool) error {
	format, err := o.format()
	if err != nil {
		return err
	}
	if o.sel.Empty() {
		if o.kind == remediate.KindAllowRecovery {
			return usageError("name the accounts: --account ID")
		}
		return usageError("name the targets: --account ID, --ou OU or --all")
	}
	if o.workers < 1 || !finitePositive(o.rate) {
		return usageError("--workers and --assume-root-rate must be positive")
	}
	cfg, err := loadAWS(ctx)
	if err != nil {
		return err
	}
	if !planOnly && (o.yes || changeStdinIsTerminal(o.io.In)) {
		// Plan, then apply: a live run of this operation on this
		// organization is refused before the plan opens a single root
		// session, not after.
		if err := checkNotRunningEarly(ctx, cfg, o.db, o.kind); err != nil {
			return err
		}
	}
	var p *remediate.Plan
	if o.kind == remediate.KindAllowRecovery {
		p, err = remediate.PlanAllowRecovery(ctx, cfg, o.sel, o.remediateOptions())
	} else {
		opts := o.remediateOptions()
		opts.Checks = remediate.DeletionChecks(cfg, o.mfaDeleteRole, o.s3PathStyle, opts)
		p, err = remediate.PlanDeleteCredentials(ctx, cfg, o.sel, o.force, opts)
	}
	o.endProgress()
	if ctx.Err() != nil {
		return ctx.Err() // interrupted: a partial plan is neither written nor offered
	}
	var te *remediate.TargetError
	if errors.As(err, &te) {
		return usageError("%v", err)
	}
	if err != nil {
		return &exitError{code: ExitError, err: err}
	}
	doc, err := p.Encode()
	if err != nil {
		return &exitError{code: ExitError, err: err}
	}
	if o.out != "" {
		if err := writePrivate(o.out, doc); err != nil {
			return &exitError{code: ExitError, err: fmt.Errorf("write plan: %w", err)}
		}
	}
	changes := changePlanSummary(o.io.Err, p)
	if o.out != "" {
		fmt.Fprintf(o.io.Err, "rootguard: plan written to %s; apply it with: rootguard root %s apply %s\n", o.out, o.noun(), o.out)
	}
	unread := p.Tally()[remediate.ActionError]
	dryRun := func(msg string) error {
		if err := remediate.WritePlan(o.io.Out, p, format, o.io.OutTTY); err != nil {
			return &exitError{code: ExitError, err: fmt.Errorf("write output: %w", err)}
		}
		if msg != "" {
			fmt.Fprintln(o.io.Err, "rootguard: "+msg)
		}
		if unread > 0 {
			return &exitError{code: ExitError, err: fmt.Errorf("%d accounts could not be read (listed above)", unread)}
		}
		return nil
	}
	switch {
	case planOnly:
		return dryRun("")
	case changes == 0:
		return dryRun("nothing to change")
	case !o.yes && !changeStdinIsTerminal(o.io.In):
		return dryRun("dry run: nothing was changed (standard input is not a terminal: add --yes to apply)")
	}
	st, err := openStore(ctx, o.db)
	if err != nil {
		return &exitError{code: ExitError, err: err}
	}
	defer st.Close()
	// A live run of this operation on this organization: refused before
	// the question, not after it.
	if err := remediate.CheckNotRunning(ctx, st, p.Organization, p.Kind); err != nil {
		return &exitError{code: ExitError, err: err}
	}
	warnChange(o.io.Err, p)
	if !o.yes {
		if !confirmChange(ctx, o.io, p, changes) {
			return dryRun("not applied: nothing was changed")
		}
	}
	out, err := remediate.Apply(ctx, cfg, doc, st, o.remediateOptions())
	o.endProgress()
	return finishChange(o, format, out, err)
}

// runApplyFile applies a plan file, or resumes a run (file == "").
func runApplyFile(ctx context.Context, o *changeOptions, file string) error {
	format, err := o.format()
	if err != nil {
		return err
	}
	st, err := openStore(ctx, o.db)
	if err != nil {
		return &exitError{code: ExitError, err: err}
	}
	defer st.Close()
	var (
		p     *remediate.Plan
		doc   []byte
		fresh = true // a new run, not a resumed one
	)
	if file != "" {
		if doc, err = os.ReadFile(file); err != nil {
			return usageError("read plan: %v", err)
		}
		if p, err = remediate.DecodePlan(doc); err != nil {
			return usageError("%s: %v", file, err)
		}
		if runs, err := st.UnfinishedRuns(ctx, remediate.Digest(doc)); err == nil && len(runs) > 0 {
			fmt.Fprintf(o.io.Err, "rootguard: %s has an unfinished run, %s (%s, started %s): resuming it\n",
				file, runs[0].ID, runs[0].Status, runs[0].StartedAt.Format("2006-01-02T15:04:05Z"))
			fresh = false
		}
	} else {
		run, rp, err := remediate.LoadRunPlan(ctx, st, o.resume)
		if errors.Is(err, store.ErrRunNotFound) {
			return usageError("--resume %s: no such run in %s (rootguard root journal lists them)", o.resume, st.Path())
		}
		if err != nil {
			return &exitError{code: ExitError, err: err}
		}
		if !run.Resumable() {
			return &exitError{code: ExitError, err: fmt.Errorf("run %s is done: nothing to resume (rootguard root journal %s shows it)", run.ID, run.ID)}
		}
		p, fresh = rp, false
	}
	if p.Kind != o.kind {
		return usageError("this is a %s plan: use rootguard root %s apply", p.Kind, p.Kind)
	}
	if err := remediate.CheckNotRunning(ctx, st, p.Organization, p.Kind); err != nil {
		return &exitError{code: ExitError, err: err}
	}
	cfg, err := loadAWS(ctx)
	if err != nil {
		return err
	}
	// Every account of the plan is checked against the organization
	// before the plan is shown or anything is asked: a refused plan is one
	// line, not a question followed by a refusal.
	if err := remediate.CheckPlan(ctx, cfg, p, fresh, o.remediateOptions()); err != nil {
		return finishChange(o, format, nil, err)
	}
	changes := changePlanSummary(o.io.Err, p)
	if changes > 0 {
		warnChange(o.io.Err, p)
		if !o.yes {
			if !changeStdinIsTerminal(o.io.In) {
				return usageError("refusing to apply without --yes: standard input is not a terminal")
			}
			if !confirmChange(ctx, o.io, p, changes) {
				fmt.Fprintln(o.io.Err, "rootguard: not applied: nothing was changed")
				return nil
			}
		}
	}
	var out *remediate.Outcome
	if file != "" {
		out, err = remediate.Apply(ctx, cfg, doc, st, o.remediateOptions())
	} else {
		out, err = remediate.Resume(ctx, cfg, o.resume, st, o.remediateOptions())
	}
	o.endProgress()
	return finishChange(o, format, out, err)
}

// changePlanSummary writes what a plan does to w and returns how many steps it
// would take.
func changePlanSummary(w io.Writer, p *remediate.Plan) int {
	t := p.Tally()
	steps := 0
	for _, a := range p.Accounts {
		steps += len(a.Steps)
	}
	fmt.Fprintf(w, "rootguard: %s plan for organization %s (by %s, %s): %d accounts: %d to change (%d steps), %d nothing to do, %d skipped, %d refused, %d could not be read\n",
		p.Kind, p.Organization, p.CreatedBy, p.CreatedAt.Format("2006-01-02T15:04:05Z"), len(p.Accounts),
		t[remediate.ActionDelete]+t[remediate.ActionAllowRecovery], steps, t[remediate.ActionNone], t[remediate.ActionSkip],
		t[remediate.ActionRefuse], t[remediate.ActionError])
	for _, a := range p.Accounts {
		switch {
		case a.Action == remediate.ActionRefuse:
			fmt.Fprintf(w, "  %s %s: %s\n", a.Account, a.Name, a.Reason)
		case a.Action == remediate.ActionError:
			fmt.Fprintf(w, "  %s\n", a.Error)
		case a.Action == remediate.ActionSkip && a.Account == p.ManagementAccount:
			fmt.Fprintf(w, "  %s %s: %s\n", a.Account, a.Name, a.Reason)
		}
	}
	return steps
}

// warnChange says plainly what applying means, before it happens.
func warnChange(w io.Writer, p *remediate.Plan) {
	fmt.Fprintln(w)
	for _, s := range p.Warnings {
		for _, line := range strings.Split(s, "\n") {
			fmt.Fprintln(w, "  "+line)
		}
		fmt.Fprintln(w)
	}
}

// confirmChange shows the accounts that would change, then asks y/N on
// the terminal; Ctrl-C (ctx) is a no.
func confirmChange(ctx context.Context, io IO, p *remediate.Plan, steps int) bool {
	showChanges(io.Err, p)
	n := p.Tally()[remediate.ActionDelete] + p.Tally()[remediate.ActionAllowRecovery]
	q := fmt.Sprintf("Delete the root credentials of %d accounts (%d steps)? This cannot be undone. [y/N] ", n, steps)
	if p.Kind == remediate.KindAllowRecovery {
		q = fmt.Sprintf("Allow root password recovery in %d accounts? [y/N] ", n)
	}
	return confirm(ctx, io, q)
}

// showChanges lists the accounts a plan changes, with what identifies
// each (the plan is bound to these names and emails) and what it does.
func showChanges(w io.Writer, p *remediate.Plan) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ACCOUNT\tNAME\tEMAIL\tOU\tCHANGES")
	for _, a := range p.Accounts {
		if !a.Action.Changes() {
			continue
		}
		var steps []string
		for _, s := range a.Steps {
			steps = append(steps, s.String())
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.Account, a.Name, a.Email, a.OUPath, strings.Join(steps, ", "))
	}
	tw.Flush()
	fmt.Fprintln(w)
}

// finishChange prints a run's results and summary and chooses the exit code.
func finishChange(o *changeOptions, format string, out *remediate.Outcome, err error) error {
	if out == nil {
		var te *remediate.TargetError
		if errors.As(err, &te) || errors.Is(err, remediate.ErrInvalidPlan) || errors.Is(err, remediate.ErrWrongOrganization) || errors.Is(err, remediate.ErrNotAsReviewed) {
			return usageError("%v", err)
		}
		return &exitError{code: ExitError, err: err}
	}
	if werr := remediate.WriteResults(o.io.Out, out.Results, format, o.io.OutTTY); werr != nil {
		return &exitError{code: ExitError, err: fmt.Errorf("write output: %w", werr)}
	}
	t := out.Tally()
	verb := "started"
	if out.Resumed {
		verb = "resumed"
	}
	fmt.Fprintf(o.io.Err, "rootguard: run %s (%s) %s by %s: %s: %d done, %d no change, %d skipped, %d refused, %d failed, %d interrupted\n",
		out.RunID, out.Kind, verb, out.Caller, out.Status, t[remediate.StatusDone], t[remediate.StatusNoChange],
		t[remediate.StatusSkipped], t[remediate.StatusRefused], t[remediate.StatusFailed], t[remediate.StatusInterrupted])
	var bad []string
	for _, r := range out.Results {
		if r.Status == remediate.StatusFailed || (r.Status == remediate.StatusInterrupted && r.Error != "" && !strings.HasPrefix(r.Error, "not started")) {
			bad = append(bad, r.Error)
		}
	}
	for _, b := range bad {
		fmt.Fprintf(o.io.Err, "  %s\n", b)
	}
	fmt.Fprintf(o.io.Err, "rootguard: evidence: rootguard root journal %s\n", out.RunID)
	if err != nil {
		return &exitError{code: ExitError, err: err}
	}
	if out.Status != store.RunDone {
		return &exitError{code: ExitError, err: fmt.Errorf("run %s is %s: %d accounts failed, %d interrupted; resume with: rootguard root %s apply --resume %s",
			out.RunID, out.Status, t[remediate.StatusFailed], t[remediate.StatusInterrupted], o.noun(), out.RunID)}
	}
	return nil
}

func newRootJournalCmd(io IO) *cobra.Command {
	var db, output string
	var limit int
	cmd := &cobra.Command{
		Use:   "journal [RUN-ID]",
		Short: "Show the remediation runs, or one run's steps with their AWS request ids",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usageError("journal takes at most one run id")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := report.ParseFormat(output)
			if err != nil {
				return usageError("%v", err)
			}
			st, err := openStore(cmd.Context(), db)
			if err != nil {
				return &exitError{code: ExitError, err: err}
			}
			defer st.Close()
			if len(args) == 0 {
				runs, err := st.Runs(cmd.Context(), limit)
				if err != nil {
					return &exitError{code: ExitError, err: err}
				}
				return remediate.WriteRuns(io.Out, runs, string(format), io.OutTTY)
			}
			run, err := st.Run(cmd.Context(), args[0])
			if errors.Is(err, store.ErrRunNotFound) {
				return &exitError{code: ExitError, err: fmt.Errorf("no run %s in %s", args[0], st.Path())}
			}
			if err != nil {
				return &exitError{code: ExitError, err: err}
			}
			steps, err := st.Steps(cmd.Context(), run.ID)
			if err != nil {
				return &exitError{code: ExitError, err: err}
			}
			finished := "not finished"
			if !run.FinishedAt.IsZero() {
				finished = "finished " + run.FinishedAt.Format("2006-01-02T15:04:05Z")
			}
			fmt.Fprintf(io.Err, "rootguard: run %s: %s of organization %s by %s, started %s, %s, status %s, resumed %d times, plan %s\n",
				run.ID, run.Kind, run.OrgID, run.CallerARN, run.StartedAt.Format("2006-01-02T15:04:05Z"), finished, run.Status, run.Resumes, run.PlanDigest)
			return remediate.WriteSteps(io.Out, steps, string(format), io.OutTTY)
		},
	}
	cmd.Flags().StringVar(&db, "db", "", "journal database (default: rootguard.db under the user's state directory)")
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table, json or csv")
	cmd.Flags().IntVar(&limit, "limit", 20, "how many runs, newest first (0: all)")
	return cmd
}

// writePrivate writes a file only its owner can read (0600), as plans
// are: an existing file is truncated and its mode tightened too.
func writePrivate(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
