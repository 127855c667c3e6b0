package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rootguard/rootguard/internal/remediate"
	"github.com/rootguard/rootguard/internal/report"
)

func newUnlockCmd(io IO, logger func() *slog.Logger) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "unlock",
		Short: "Find and repair S3 bucket and SQS queue policies that lock everyone out",
		Long: `Unlock finds S3 bucket policies and SQS queue policies that deny every
principal the calls that could repair them (an unconditional Deny of s3:* or
sqs:* to "*"): no role or user of the account can read, change or delete them
any more, only the account's root user. Centralized root access does that
without the root password: an sts:AssumeRoot session from the management
account with the S3UnlockBucketPolicy or SQSUnlockQueuePolicy task policy.

'find' lists them across the organization; 's3' and 'sqs' show one policy,
save it in the journal, then delete it or replace it with a corrected one.

Exit codes: 0 nothing locked (find) or done, 1 an error (an account or
resource could not be read, a change failed), 2 usage, 3 locked policies
found (find).`,
	}
	cmd.AddCommand(newUnlockFindCmd(io, logger), newUnlockResourceCmd(io, logger, remediate.ServiceS3), newUnlockResourceCmd(io, logger, remediate.ServiceSQS))
	return cmd
}

type unlockFindOptions struct {
	io        IO
	logger    func() *slog.Logger
	sel       remediate.Selection
	regions   []string
	output    string
	workers   int
	rate      float64
	region    string
	pathStyle bool
}

func newUnlockFindCmd(io IO, logger func() *slog.Logger) *cobra.Command {
	o := &unlockFindOptions{io: io, logger: logger}
	cmd := &cobra.Command{
		Use:   "find [flags]",
		Short: "List bucket and queue policies that lock everyone but the root user out",
		Long: `Find reads, in each target account, every S3 bucket policy (an
S3UnlockBucketPolicy root session: ListBuckets with each bucket's region, then
GetBucketPolicy in that region) and every SQS queue policy in --regions (an
SQSUnlockQueuePolicy root session: ListQueues, GetQueueAttributes), and lists
those that lock the resource: Deny statements for every principal ("*" or
{"AWS": "*"}), without NotPrincipal or a condition, covering every call that
could repair the policy (s3:PutBucketPolicy and s3:DeleteBucketPolicy;
sqs:SetQueueAttributes). A conditional deny is never reported: whether it
shuts everyone out depends on the requests.

Buckets of every region are listed; --regions keeps those regions (and lists
queues there). Nothing is changed.`,
		Example: `  rootguard unlock find --all --regions us-east-1,eu-west-1
  rootguard unlock find --ou Workloads -o json`,
		Args: changeNoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runUnlockFind(cmd.Context(), o) },
	}
	f := cmd.Flags()
	f.StringArrayVar(&o.sel.Accounts, "account", nil, "a target account id (repeatable)")
	f.StringArrayVar(&o.sel.OUs, "ou", nil, "every account under this OU, by id or path, recursively (repeatable)")
	f.BoolVar(&o.sel.All, "all", false, "every member account")
	f.StringArrayVar(&o.sel.Exclude, "exclude", nil, "leave out this account or OU (repeatable)")
	f.StringSliceVar(&o.regions, "regions", nil, "regions to read queues in and keep buckets of (default: the SDK's region)")
	f.StringVarP(&o.output, "output", "o", "table", "output format: table, json (one object per locked resource or error) or csv")
	f.IntVar(&o.workers, "workers", 16, "accounts read at once")
	f.Float64Var(&o.rate, "assume-root-rate", 50, "sts:AssumeRoot calls per second at most (slows down while throttled)")
	f.BoolVar(&o.pathStyle, "s3-path-style", false, "address S3 buckets by path (for S3-compatible servers)")
	f.StringVar(&o.region, "region", "", "the Region whose STS endpoint opens root sessions (default: the SDK's; AssumeRoot has no global endpoint)")
	return cmd
}

func runUnlockFind(ctx context.Context, o *unlockFindOptions) error {
	format, err := report.ParseFormat(o.output)
	if err != nil {
		return usageError("%v", err)
	}
	if o.sel.Empty() {
		return usageError("name the targets: --account ID, --ou OU or --all")
	}
	if o.workers < 1 || !finitePositive(o.rate) {
		return usageError("--workers and --assume-root-rate must be positive")
	}
	regions, err := parseList("--regions", o.regions, regionRE.MatchString, "a Region name such as eu-west-1")
	if err != nil {
		return err
	}
	cfg, err := loadAWS(ctx)
	if err != nil {
		return err
	}
	opts := remediate.UnlockOptions{
		Options:     remediate.Options{Workers: o.workers, AssumeRootRate: o.rate, Region: o.region, Logger: o.logger()},
		Regions:     regions,
		S3PathStyle: o.pathStyle,
	}
	if o.io.ErrTTY {
		opts.Progress = progressBar(o.io.Err)
	}
	res, err := remediate.FindLocked(ctx, cfg, o.sel, opts)
	if o.io.ErrTTY {
		fmt.Fprint(o.io.Err, "\r\033[K")
	}
	var te *remediate.TargetError
	if errors.As(err, &te) {
		return usageError("%v", err)
	}
	if err != nil {
		return &exitError{code: ExitError, err: err}
	}
	if err := remediate.WriteLocked(o.io.Out, res.Found, string(format), o.io.OutTTY); err != nil {
		return &exitError{code: ExitError, err: fmt.Errorf("write output: %w", err)}
	}
	locked, errs := res.Tally()
	fmt.Fprintf(o.io.Err, "rootguard: organization %s: %d accounts read (%d skipped), %d buckets and %d queues in %s: %d locked, %d could not be read\n",
		res.Organization, res.Accounts, len(res.Skipped), res.Buckets, res.Queues, strings.Join(res.Regions, ", "), locked, errs)
	for _, s := range res.Skipped {
		fmt.Fprintf(o.io.Err, "  %s %s: %s\n", s.Account, s.Name, s.Reason)
	}
	switch {
	case errs > 0:
		return &exitError{code: ExitError, err: fmt.Errorf("%d accounts, regions or resources could not be read (listed above)", errs)}
	case locked > 0:
		fmt.Fprintln(o.io.Err, "rootguard: unlock one with: rootguard unlock s3 --account ID --bucket NAME, or rootguard unlock sqs --account ID --queue-url URL")
		return &exitError{code: ExitFindings}
	}
	return nil
}

type unlockOptions struct {
	io        IO
	logger    func() *slog.Logger
	target    remediate.UnlockTarget
	policy    string
	yes       bool
	output    string
	db        string
	pathStyle bool
	region    string
}

func newUnlockResourceCmd(io IO, logger func() *slog.Logger, service string) *cobra.Command {
	o := &unlockOptions{io: io, logger: logger, target: remediate.UnlockTarget{Service: service}}
	cmd := &cobra.Command{Args: changeNoArgs, RunE: func(cmd *cobra.Command, _ []string) error { return runUnlock(cmd.Context(), o) }}
	f := cmd.Flags()
	f.StringVar(&o.target.Account, "account", "", "the member account that owns the "+map[string]string{remediate.ServiceS3: "bucket", remediate.ServiceSQS: "queue"}[service])
	if service == remediate.ServiceS3 {
		cmd.Use = "s3 --account ID --bucket NAME [flags]"
		cmd.Short = "Show a bucket policy, save it in the journal, then delete or replace it"
		cmd.Long = `S3 repairs one bucket policy with an sts:AssumeRoot session (S3UnlockBucketPolicy)
in the bucket's account: it shows the current policy and why it locks everyone
out, then, with --yes (or after a y/N question on a terminal), saves it in full
in the journal and deletes it, or with --policy FILE replaces it with a
corrected one (PutBucketPolicy is allowed in that session, although the
console can only delete). It reads the policy back to verify. Without --yes
off a terminal it is a dry run. A policy that does not lock everyone out is
left alone unless --force.

The old policy stays in the journal: rootguard root journal RUN-ID -o json
(the save-policy step's detail).`
		cmd.Example = `  rootguard unlock s3 --account 123456789012 --bucket prod-archive
  rootguard unlock s3 --account 123456789012 --bucket prod-archive --policy fixed.json --yes`
		f.StringVar(&o.target.Bucket, "bucket", "", "the bucket")
		f.BoolVar(&o.pathStyle, "s3-path-style", false, "address S3 buckets by path (for S3-compatible servers)")
	} else {
		cmd.Use = "sqs --account ID --queue-url URL [flags]"
		cmd.Short = "Show a queue policy, save it in the journal, then delete or replace it"
		cmd.Long = `SQS repairs one queue policy with an sts:AssumeRoot session (SQSUnlockQueuePolicy)
in the queue's account: it shows the current policy and why it locks everyone
out, then, with --yes (or after a y/N question on a terminal), saves it in full
in the journal and removes it (SetQueueAttributes with an empty Policy), or
with --policy FILE replaces it. It reads the policy back to verify. Without
--yes off a terminal it is a dry run. A policy that does not lock everyone out
is left alone unless --force. The region comes from the queue URL
(https://sqs.REGION.amazonaws.com/ACCOUNT/NAME), else --region.`
		cmd.Example = `  rootguard unlock sqs --account 123456789012 --queue-url https://sqs.eu-west-1.amazonaws.com/123456789012/orders --yes`
		f.StringVar(&o.target.QueueURL, "queue-url", "", "the queue's URL")
		f.StringVar(&o.target.Region, "region", "", "the queue's region when its URL does not name one")
	}
	f.StringVar(&o.region, "session-region", "", "the Region whose STS endpoint opens the root session (default: the SDK's; AssumeRoot has no global endpoint)")
	f.StringVar(&o.policy, "policy", "", "replace the policy with the one in this file instead of deleting it")
	f.BoolVar(&o.target.Force, "force", false, "change the policy even though rootguard does not judge it locked")
	f.BoolVarP(&o.yes, "yes", "y", false, "apply without asking")
	f.StringVarP(&o.output, "output", "o", "table", "output format: table, json or csv")
	f.StringVar(&o.db, "db", "", "journal database (default: rootguard.db under the user's state directory)")
	return cmd
}

func runUnlock(ctx context.Context, o *unlockOptions) error {
	format, err := report.ParseFormat(o.output)
	if err != nil {
		return usageError("%v", err)
	}
	t := o.target
	switch {
	case t.Account == "":
		return usageError("name the account: --account ID")
	case t.Service == remediate.ServiceS3 && t.Bucket == "":
		return usageError("name the bucket: --bucket NAME")
	case t.Service == remediate.ServiceSQS && t.QueueURL == "":
		return usageError("name the queue: --queue-url URL")
	}
	if o.policy != "" {
		b, err := os.ReadFile(o.policy)
		if err != nil {
			return usageError("read --policy: %v", err)
		}
		t.Replacement = strings.TrimSpace(string(b))
		if t.Replacement == "" {
			return usageError("--policy %s is empty (leave --policy out to delete the policy)", o.policy)
		}
	}
	cfg, err := loadAWS(ctx)
	if err != nil {
		return err
	}
	opts := remediate.UnlockOptions{Options: remediate.Options{Region: o.region, Logger: o.logger()}, S3PathStyle: o.pathStyle}
	p, err := remediate.PlanUnlock(ctx, cfg, t, opts)
	var te *remediate.TargetError
	if errors.As(err, &te) {
		return usageError("%v", err)
	}
	if err != nil {
		return &exitError{code: ExitError, err: err}
	}
	showUnlockPlan(o.io.Err, p)
	dryRun := func(msg string) error {
		if err := remediate.WriteUnlockPlan(o.io.Out, p, string(format), o.io.OutTTY); err != nil {
			return &exitError{code: ExitError, err: fmt.Errorf("write output: %w", err)}
		}
		fmt.Fprintln(o.io.Err, "rootguard: "+msg)
		return nil
	}
	switch {
	case p.Action == remediate.UnlockNone:
		return dryRun("nothing to do: " + p.Reason)
	case !o.yes && !changeStdinIsTerminal(o.io.In):
		return dryRun("dry run: nothing was changed (standard input is not a terminal: add --yes to apply)")
	}
	st, err := openStore(ctx, o.db)
	if err != nil {
		return &exitError{code: ExitError, err: err}
	}
	defer st.Close()
	// A live unlock of this service in this organization: refused before
	// the question, not after it (ApplyUnlock takes the lock).
	if err := remediate.CheckNotRunning(ctx, st, p.Organization, p.Kind); err != nil {
		return &exitError{code: ExitError, err: err}
	}
	if !o.yes && !confirmUnlock(ctx, o.io, p) {
		return dryRun("not applied: nothing was changed")
	}
	out, err := remediate.ApplyUnlock(ctx, cfg, p, st, opts)
	if out == nil {
		if errors.As(err, &te) {
			return usageError("%v", err)
		}
		return &exitError{code: ExitError, err: err}
	}
	if werr := remediate.WriteUnlockOutcome(o.io.Out, out, string(format), o.io.OutTTY); werr != nil {
		return &exitError{code: ExitError, err: fmt.Errorf("write output: %w", werr)}
	}
	fmt.Fprintf(o.io.Err, "rootguard: run %s (%s) by %s: %s\n", out.RunID, p.Kind, out.Caller, out.Status)
	fmt.Fprintf(o.io.Err, "rootguard: the old policy is saved in the journal: rootguard root journal %s -o json\n", out.RunID)
	if err != nil {
		return &exitError{code: ExitError, err: err}
	}
	if out.Status != remediate.StatusDone {
		return &exitError{code: ExitError, err: fmt.Errorf("unlock %s failed: %s", out.Resource, out.Error)}
	}
	return nil
}

// showUnlockPlan writes the current policy, why it locks, and what would
// be done, for people (stderr).
func showUnlockPlan(w io.Writer, p *remediate.UnlockPlan) {
	what := map[string]string{remediate.ServiceS3: "bucket", remediate.ServiceSQS: "queue"}[p.Service]
	fmt.Fprintf(w, "rootguard: %s %s of account %s (%s), %s:\n", what, p.Resource, p.Account, p.Name, p.Region)
	if p.Policy == "" {
		fmt.Fprintln(w, "  no policy")
	} else {
		fmt.Fprintln(w, "  current policy:")
		writeIndentedJSON(w, p.Policy)
		if p.Lock.Locked {
			fmt.Fprintf(w, "  locked: %s\n", p.Lock.Why)
		} else {
			fmt.Fprintln(w, "  not judged locked"+map[bool]string{true: ": " + p.Lock.Why}[p.Lock.Why != ""])
		}
	}
	switch p.Action {
	case remediate.UnlockReplace:
		fmt.Fprintln(w, "  would replace it with:")
		writeIndentedJSON(w, p.Replacement)
	case remediate.UnlockDelete:
		fmt.Fprintln(w, "  would delete it")
	}
}

func writeIndentedJSON(w io.Writer, doc string) {
	var buf bytes.Buffer
	if err := json.Indent(&buf, []byte(doc), "    ", "  "); err != nil {
		buf.Reset()
		buf.WriteString(doc)
	}
	fmt.Fprintf(w, "    %s\n", buf.String())
}

// confirmUnlock asks y/N on the terminal; Ctrl-C (ctx) is a no.
func confirmUnlock(ctx context.Context, io IO, p *remediate.UnlockPlan) bool {
	verb := "Delete"
	if p.Action == remediate.UnlockReplace {
		verb = "Replace"
	}
	what := map[string]string{remediate.ServiceS3: "bucket", remediate.ServiceSQS: "queue"}[p.Service]
	return confirm(ctx, io, fmt.Sprintf("%s the policy of %s %s in account %s? The current policy is saved in the journal first. [y/N] ", verb, what, p.Resource, p.Account))
}
