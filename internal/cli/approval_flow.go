package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rootguard/rootguard/internal/alert"
	"github.com/rootguard/rootguard/internal/approval"
	"github.com/rootguard/rootguard/internal/mode"
	"github.com/rootguard/rootguard/internal/notify"
)

type requestOptions struct {
	id, account, task, reason string
	from, until, window       string
	force                     bool
}

func newApprovalRequestCmd(o *approvalOptions) *cobra.Command {
	r := &requestOptions{}
	cmd := &cobra.Command{
		Use:   "request",
		Short: "Ask for root use in one account, for one task and one window",
		Long: `Request stores a request for root use, with the caller's principal ARN
(sts:GetCallerIdentity) as its requester, and sends it to the approvers
through the alert topics. It covers nothing until a second principal, one of
the configured approvers, approves it ('approval approve ID'). The window
starts now (or at --from) and lasts --for (at most 24 hours; --force for
longer); an approval that arrives late does not extend it.

It prints the request, with its id, on stdout.`,
		Example: `  rootguard approval request --account 123456789012 --task s3-unlock --for 1h \
    --reason "the archive bucket policy denies everyone (INC-4711)"
  rootguard approval request --account 123456789012 --task console --for 2h \
    --reason "enable MFA Delete on the archive bucket"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runApprovalRequest(cmd.Context(), o, r) },
	}
	f := cmd.Flags()
	f.StringVar(&r.account, "account", "", "the 12-digit account id")
	f.StringVar(&r.task, "task", "", "audit, create-password, delete-credentials, s3-unlock, sqs-unlock or console")
	f.StringVar(&r.reason, "reason", "", "why root is needed (a ticket, an incident)")
	f.StringVar(&r.window, "for", "", "length of the window, e.g. 1h")
	f.StringVar(&r.from, "from", "", "start of the window, RFC 3339 (default now)")
	f.StringVar(&r.until, "until", "", "end of the window instead of --for, RFC 3339")
	f.StringVar(&r.id, "id", "", "the request's id, e.g. a change ticket (default a new R-<time>-<random>)")
	f.BoolVar(&r.force, "force", false, "allow a window longer than 24 hours")
	return cmd
}

// newRequestID names a request: R-<UTC time>-<4 random bytes>.
func newRequestID(now time.Time) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return "R-" + now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

func runApprovalRequest(ctx context.Context, o *approvalOptions, r *requestOptions) error {
	now := o.now().UTC().Truncate(time.Second)
	task, err := approval.ParseTask(r.task)
	if err != nil {
		return usageError("--task: %v", err)
	}
	if strings.TrimSpace(r.reason) == "" {
		return usageError("--reason: say why root is needed")
	}
	a := approval.Approval{ID: strings.TrimSpace(r.id), Account: r.account, Task: task, Reason: strings.TrimSpace(r.reason)}
	if a.ID == "" {
		a.ID = newRequestID(now)
	}
	if a.From, a.Until, err = checkWindowFlags(now, r.from, r.until, r.window, r.force); err != nil {
		return err
	}
	if a.Until.Before(now) {
		return usageError("the window ended at %s: ask for one that has not", a.Until.Format(time.RFC3339))
	}
	tb, format, err := o.open(ctx)
	if err != nil {
		return err
	}
	if err := checkApprovalAccount(ctx, o, a.Account); err != nil {
		return err
	}
	if a.Requester, err = o.caller(ctx); err != nil {
		return err
	}
	// The rules of the approvals file (with a placeholder approver, which
	// a request does not have yet) and the 24-hour limit, which the flags
	// were held to above, each in its flag's line.
	check := a
	check.Approver = "(approver)"
	if _, err := validateApprovals([]approval.Approval{check}, r.force); err != nil {
		return err
	}
	rec, err := tb.Request(ctx, a, now)
	if err != nil {
		return &exitError{code: ExitError, err: err}
	}
	fmt.Fprintf(o.io.Err, "rootguard: request %s stored; it covers nothing until an approver approves it\n", rec.ID)
	if err := o.tell(ctx, rec, notify.ChangeRequested, rec.Requester, ""); err != nil {
		return err
	}
	return writeApprovals(o.io, format, []alert.Approval{*rec}, now)
}

func newApprovalDecideCmd(o *approvalOptions, approve bool) *cobra.Command {
	var note string
	o.config = defaultModeConfig
	cmd := &cobra.Command{
		Use:  "approve ID",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runApprovalDecide(cmd.Context(), o, args[0], approve, note)
		},
	}
	if approve {
		cmd.Short = "Approve a pending request, as a configured approver who is not the requester"
		cmd.Long = `Approve records the caller's principal ARN (sts:GetCallerIdentity) as the
approver of a pending request. It is refused when the caller is the
requester (the same ARN, or the same IAM Identity Center user in another
permission set), when the caller matches none of the approvers of the
configuration (approvers: in --config), and when the request is not pending
(already decided, revoked or expired). The requester is told through the
alert topics.`
	} else {
		cmd.Use = "deny ID"
		cmd.Short = "Deny a pending request, as a configured approver who is not the requester"
		cmd.Long = `Deny records the caller's principal ARN as having denied a pending request;
the same rules as approve apply. The requester is told through the alert
topics.`
	}
	cmd.Flags().StringVar(&note, "reason", "", "a note kept in the history (required for deny)")
	cmd.Flags().StringVar(&o.config, "config", defaultModeConfig, "the configuration that lists the approvers (approvers:)")
	return cmd
}

func runApprovalDecide(ctx context.Context, o *approvalOptions, id string, approve bool, note string) error {
	if !approve && strings.TrimSpace(note) == "" {
		return usageError("--reason: say why the request is denied")
	}
	approvers, err := loadApprovers(o.config)
	if err != nil {
		return err
	}
	tb, format, err := o.open(ctx)
	if err != nil {
		return err
	}
	by, err := o.caller(ctx)
	if err != nil {
		return err
	}
	now := o.now()
	a, err := tb.Decide(ctx, id, by, approvers, approve, strings.TrimSpace(note), now)
	if err != nil {
		return &exitError{code: ExitError, err: err}
	}
	change := notify.ChangeDenied
	if approve {
		change = notify.ChangeApproved
	}
	if err := o.tell(ctx, a, change, by, note); err != nil {
		return err
	}
	return writeApprovals(o.io, format, []alert.Approval{*a}, now)
}

// loadApprovers reads the approvers of a configuration file.
func loadApprovers(path string) (approval.Approvers, error) {
	cfg, err := mode.Load(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, usageError("no configuration at %s: it lists who may approve (approvers:); give --config", path)
	}
	if err != nil {
		return nil, usageError("%v", err)
	}
	as, err := approval.ParseApprovers(cfg.Approvers)
	if err != nil {
		return nil, usageError("%s: %v", path, err)
	}
	if len(as) == 0 {
		return nil, usageError("%s lists no approvers (approvers:): nobody may approve", path)
	}
	return as, nil
}

func newApprovalHistoryCmd(o *approvalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "history ID",
		Short: "Show every state change of an approval: who, when, and the sessions opened under it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			tb, format, err := o.open(cmd.Context())
			if err != nil {
				return err
			}
			a, err := tb.GetApproval(cmd.Context(), args[0])
			if err != nil {
				return &exitError{code: ExitError, err: err}
			}
			head := []string{"SEQ", "AT", "EVENT", "BY", "ACCESS KEY", "NOTE"}
			type row struct {
				ID string `json:"id"`
				alert.HistoryEvent
			}
			err = writeRows(o.io, format, head, len(a.History), func(i int) []string {
				ev := a.History[i]
				return []string{fmt.Sprint(ev.Seq), ev.At.Format(time.RFC3339), ev.Event, ev.By, ev.AccessKeyID, ev.Note}
			}, func(i int) any { return row{ID: a.ID, HistoryEvent: a.History[i]} })
			if err != nil {
				return &exitError{code: ExitError, err: fmt.Errorf("write output: %w", err)}
			}
			return nil
		},
	}
}
