package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/rootguard/rootguard/internal/alert"
	"github.com/rootguard/rootguard/internal/approval"
	"github.com/rootguard/rootguard/internal/notify"
	"github.com/rootguard/rootguard/internal/remediate"
	"github.com/rootguard/rootguard/internal/report"
)

// maxApprovalWindow is the longest window granted without --force.
const maxApprovalWindow = 24 * time.Hour

type approvalOptions struct {
	io     IO
	logger func() *slog.Logger
	table  string
	output string
	topics alert.Topics
	lang   string
	config string
	now    func() time.Time

	// set by open
	aws aws.Config
}

func newApprovalCmd(io IO, logger func() *slog.Logger) *cobra.Command {
	o := &approvalOptions{io: io, logger: logger, now: time.Now}
	cmd := &cobra.Command{
		Use:   "approval",
		Short: "Request, approve, deny, list and revoke approvals of root use",
		Long: `Approval governs root use: one principal requests it for one account, one task
and one window, a second principal approves it, and 'rootguard root session'
opens a root session only under an active approval. The real-time pipeline
(rootguard-lambda) reads the same DynamoDB table: an alert about a root
session under an approval says APPROVED with who approved which request;
any other pages as UNAPPROVED.

Identities, not names: request, approve, deny and revoke record the
caller's principal ARN from sts:GetCallerIdentity. An approver must match
the approvers of the configuration (approvers: in rootguard.yaml, principal
ARN patterns such as
arn:aws:sts::*:assumed-role/AWSReservedSSO_SecurityApprover_*/*) and must
not be the requester: the same ARN, or the same IAM Identity Center user in
another permission set, is refused.

Tasks: audit, create-password, delete-credentials, s3-unlock, sqs-unlock (the
five root-task policies of sts:AssumeRoot) and console (a root console
sign-in in an account a flexible OU keeps).

Every state change is appended to the approval's history (who, when), with
a conditional write: nothing is overwritten, and of two approvers deciding
at once only one lands. 'approval history ID' shows it.

A request, and each decision, is sent to the alert topics (--topic-arn or
TOPIC_ARN, --chatbot-topic-arn or CHATBOT_TOPIC_ARN) in --lang (LANGUAGE):
en, ja or both. Its message attributes say page=false.

grant and import record approvals made elsewhere (a change ticket) with
free-text names; the history names the principal that recorded them.

The table comes from --table or ROOTGUARD_TABLE; AWS access from the SDK's
standard configuration. Exit 0: done; 1: AWS failed, the approval exists
with other contents, or a change was refused; 2: usage or an invalid
approval.`,
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&o.table, "table", os.Getenv("ROOTGUARD_TABLE"), "the pipeline's DynamoDB table (default $ROOTGUARD_TABLE)")
	pf.StringVarP(&o.output, "output", "o", "table", "output format: table, json or csv")
	pf.StringVar(&o.topics.Main, "topic-arn", os.Getenv("TOPIC_ARN"), "the alert topic requests and decisions are sent to (default $TOPIC_ARN)")
	pf.StringVar(&o.topics.Chatbot, "chatbot-topic-arn", os.Getenv("CHATBOT_TOPIC_ARN"), "the Chatbot topic, if any (default $CHATBOT_TOPIC_ARN)")
	pf.StringVar(&o.lang, "lang", cmp.Or(os.Getenv("LANGUAGE"), "en"), "language of the messages: en, ja or both (default $LANGUAGE or en)")
	cmd.AddCommand(newApprovalRequestCmd(o), newApprovalDecideCmd(o, true), newApprovalDecideCmd(o, false),
		newApprovalListCmd(o), newApprovalRevokeCmd(o), newApprovalHistoryCmd(o), newApprovalGrantCmd(o), newApprovalImportCmd(o))
	return cmd
}

// caller returns the principal ARN of the AWS credentials in use.
func (o *approvalOptions) caller(ctx context.Context) (string, error) {
	out, err := sts.NewFromConfig(o.aws).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", &exitError{code: ExitError, err: fmt.Errorf("who is calling (sts:GetCallerIdentity): %w", err)}
	}
	return aws.ToString(out.Arn), nil
}

// tell sends an approval change to the topics; without a topic it says
// that nobody was told.
func (o *approvalOptions) tell(ctx context.Context, a *alert.Approval, change notify.Change, by, note string) error {
	if o.topics.Main == "" {
		fmt.Fprintf(o.io.Err, "rootguard: no topic (--topic-arn or TOPIC_ARN): nobody was told that approval %s was %s\n", a.ID, change)
		return nil
	}
	msg := notify.RenderApprovalChange(notify.ApprovalChange{
		Change: change, ID: a.ID, Account: a.Account, Task: string(a.Task), From: a.From, Until: a.Until,
		Requester: a.Requester, Reason: a.Reason, By: by, Note: note,
	}, notify.Lang(o.lang))
	if _, err := alert.Publish(ctx, sns.NewFromConfig(o.aws), o.topics, msg, nil); err != nil {
		return &exitError{code: ExitError, err: fmt.Errorf("approval %s was %s, but telling the topic failed: %w", a.ID, change, err)}
	}
	return nil
}

// open checks the common flags and returns the table.
func (o *approvalOptions) open(ctx context.Context) (*alert.Table, report.Format, error) {
	format, err := report.ParseFormat(o.output)
	if err != nil {
		return nil, "", usageError("%v", err)
	}
	if o.table == "" {
		return nil, "", usageError("no table: give --table or set ROOTGUARD_TABLE")
	}
	if !notify.Lang(o.lang).Valid() {
		return nil, "", usageError("--lang %q: want en, ja or both", o.lang)
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, "", &exitError{code: ExitError, err: fmt.Errorf("load AWS configuration: %w", err)}
	}
	o.aws = cfg
	return alert.NewTable(dynamodb.NewFromConfig(cfg), o.table), format, nil
}

// checkApprovalAccount checks an approval's account before anything is
// recorded: its form, and, where Organizations can be read, that the
// organization has it and it is active (exit 2 naming it). Where the
// organization cannot be read (from an account that is neither the
// management account nor a delegated administrator, or a role without
// organizations:DescribeAccount) one line says so and the command goes on. The management
// account is accepted: root use there (the console) can be approved.
func checkApprovalAccount(ctx context.Context, o *approvalOptions, account string) error {
	if err := checkApprovalAccountForm(account); err != nil {
		return err
	}
	_, err := remediate.CheckMember(ctx, organizations.NewFromConfig(o.aws), account)
	var te *remediate.TargetError
	switch {
	case errors.Is(err, remediate.ErrManagementAccount):
	case errors.As(err, &te):
		return usageError("--account: %v; nothing was recorded", err)
	case err != nil:
		why := "the organization could not be read"
		var ae smithy.APIError
		if errors.As(err, &ae) {
			why = ae.ErrorCode()
		}
		fmt.Fprintf(o.io.Err, "rootguard: account %s not checked against the organization (%s)\n", account, why)
	}
	return nil
}

// checkApprovalAccountForm refuses a malformed --account in the one line
// checkApprovalAccount gives it, before anything else is read or checked.
func checkApprovalAccountForm(account string) error {
	if !accountIDRE.MatchString(account) {
		return usageError("--account: %v; nothing was recorded", &remediate.TargetError{Target: account, Err: remediate.ErrMalformedAccount})
	}
	return nil
}

type grantOptions struct {
	approval.Approval
	from, until, window string
	force               bool
}

func newApprovalGrantCmd(o *approvalOptions) *cobra.Command {
	g := &grantOptions{}
	cmd := &cobra.Command{
		Use:   "grant",
		Short: "Record an approval made elsewhere (free-text names; prefer request and approve)",
		Example: `  rootguard approval grant --id CHG-1234 --account 123456789012 --for 2h \
    --requester sato --approver ccoe-lead --reason "enable MFA Delete on the archive bucket"
  rootguard approval grant --id CHG-1235 --account 123456789012 \
    --from 2026-10-08T01:00:00Z --until 2026-10-08T03:00:00Z --requester sato --approver ccoe-lead --reason "..."`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runApprovalGrant(cmd.Context(), o, g) },
	}
	f := cmd.Flags()
	f.StringVar(&g.ID, "id", "", "the approval's id, e.g. the change ticket (unique)")
	f.StringVar(&g.Account, "account", "", "the 12-digit account id")
	f.StringVar(&g.from, "from", "", "start of the window, RFC 3339 (default now)")
	f.StringVar(&g.until, "until", "", "end of the window, RFC 3339")
	f.StringVar(&g.window, "for", "", "length of the window instead of --until, e.g. 2h")
	f.StringVar(&g.Requester, "requester", "", "who asked for root use")
	f.StringVar(&g.Approver, "approver", "", "who approved it (not the requester)")
	f.StringVar(&g.Reason, "reason", "", "why root is needed")
	f.BoolVar(&g.force, "force", false, "allow a window longer than 24 hours")
	return cmd
}

func runApprovalGrant(ctx context.Context, o *approvalOptions, g *grantOptions) error {
	now := o.now().UTC().Truncate(time.Second)
	a, err := checkGrantFlags(now, g)
	if err != nil {
		return err
	}
	valid, err := validateApprovals([]approval.Approval{a}, g.force)
	if err != nil {
		return err
	}
	tb, format, err := o.open(ctx)
	if err != nil {
		return err
	}
	if err := checkApprovalAccount(ctx, o, a.Account); err != nil {
		return err
	}
	by, err := o.caller(ctx)
	if err != nil {
		return err
	}
	created, err := tb.Grant(ctx, valid[0], by, now)
	if err != nil {
		return &exitError{code: ExitError, err: err}
	}
	if !created {
		fmt.Fprintf(o.io.Err, "rootguard: approval %s was already in %s with the same contents\n", a.ID, tb.Name())
	}
	stored, err := tb.GetApproval(ctx, a.ID)
	if err != nil {
		return &exitError{code: ExitError, err: err}
	}
	return writeApprovals(o.io, format, []alert.Approval{*stored}, now)
}

// checkGrantFlags holds grant's flags to the rules of the approvals file
// and the 24-hour limit, in that order, and refuses the first that breaks
// one in one line naming its flag (exit 2), as request does: not in the
// approvals file's message (entry number, YAML quoting, on two lines),
// which validateApprovals keeps for import. It returns the approval to
// record, its window kept to the second as the table keeps it.
func checkGrantFlags(now time.Time, g *grantOptions) (approval.Approval, error) {
	a := g.Approval
	a.ID = strings.TrimSpace(a.ID)
	refuse := func(flag, format string, args ...any) (approval.Approval, error) {
		return a, usageError("%s: %s; nothing was recorded", flag, fmt.Sprintf(format, args...))
	}
	if a.ID == "" {
		return refuse("--id", "missing: give the approval's id, e.g. the change ticket")
	}
	if err := checkApprovalAccountForm(a.Account); err != nil {
		return a, err
	}
	var err error
	if a.From, a.Until, err = checkWindowFlags(now, g.from, g.until, g.window, g.force); err != nil {
		return a, err
	}
	requester, approver := strings.TrimSpace(a.Requester), strings.TrimSpace(a.Approver)
	switch {
	case requester == "":
		return refuse("--requester", "missing: say who asked for root use")
	case approver == "":
		return refuse("--approver", "missing: say who approved it")
	case strings.EqualFold(approver, requester):
		return refuse("--approver", "%q must differ from the requester (%q)", a.Approver, a.Requester)
	}
	return a, nil
}

// checkWindowFlags reads --from, --until and --for (parseWindow), kept to
// the second as the table keeps them, and holds the window to the
// approvals file's rules (a start; an end after it) and the 24-hour limit
// (unless --force): each refusal one line naming its flag.
func checkWindowFlags(now time.Time, from, until, window string, force bool) (time.Time, time.Time, error) {
	start, end, err := parseWindow(now, from, until, window)
	if err != nil {
		return start, end, usageError("%v; nothing was recorded", errors.Unwrap(err))
	}
	start, end = start.UTC().Truncate(time.Second), end.UTC().Truncate(time.Second)
	endFlag := "--until"
	if window != "" {
		endFlag = "--for"
	}
	switch d := end.Sub(start); {
	case start.IsZero():
		return start, end, usageError("--from: %q is the zero time, no start; nothing was recorded", from)
	case d <= 0:
		return start, end, usageError("%s: the window must end after it starts (%s); nothing was recorded", endFlag, start.Format(time.RFC3339))
	case d > maxApprovalWindow && !force:
		return start, end, usageError("%s: a window of %s is longer than 24h (use --force); nothing was recorded", endFlag, d)
	}
	return start, end, nil
}

// parseWindow reads --from (default now) and --until or --for.
func parseWindow(now time.Time, from, until, window string) (time.Time, time.Time, error) {
	start, end := now, time.Time{}
	if from != "" {
		t, err := time.Parse(time.RFC3339, from)
		if err != nil {
			return start, end, usageError("--from %q: want an RFC 3339 time", from)
		}
		start = t
	}
	switch {
	case until != "" && window != "":
		return start, end, usageError("give --until or --for, not both")
	case until != "":
		t, err := time.Parse(time.RFC3339, until)
		if err != nil {
			return start, end, usageError("--until %q: want an RFC 3339 time", until)
		}
		end = t
	case window != "":
		d, err := time.ParseDuration(window)
		if err != nil || d <= 0 {
			return start, end, usageError("--for %q: want a duration such as 2h", window)
		}
		end = start.Add(d)
	default:
		return start, end, usageError("give --until or --for")
	}
	return start, end, nil
}

// validateApprovals holds approvals to the rules of the approvals file
// (internal/approval parses them as a file would be parsed, so the
// messages are the same) and to the 24-hour limit. Times are kept to the
// second, as the table keeps them.
func validateApprovals(as []approval.Approval, force bool) ([]approval.Approval, error) {
	for i := range as {
		as[i].From = as[i].From.UTC().Truncate(time.Second)
		as[i].Until = as[i].Until.UTC().Truncate(time.Second)
	}
	b, err := yaml.Marshal(map[string][]approval.Approval{"approvals": as})
	if err != nil {
		return nil, usageError("%v", err)
	}
	set, err := approval.Parse(b)
	if err != nil {
		return nil, &exitError{code: ExitUsage, err: fmt.Errorf("invalid approval:\n%w", err)}
	}
	var long []string
	for _, a := range set.Items() {
		if d := a.Until.Sub(a.From); d > maxApprovalWindow && !force {
			long = append(long, fmt.Sprintf("approval %s: window of %s is longer than 24h (use --force)", a.ID, d))
		}
	}
	if len(long) > 0 {
		return nil, &exitError{code: ExitUsage, err: errors.New(strings.Join(long, "\n"))}
	}
	return set.Items(), nil
}

func newApprovalListCmd(o *approvalOptions) *cobra.Command {
	var account string
	var all bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List pending, active, scheduled and used approvals (--all: also expired, denied, revoked)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if account != "" && !accountIDRE.MatchString(account) {
				return usageError("--account %q: want a 12-digit account id", account)
			}
			tb, format, err := o.open(cmd.Context())
			if err != nil {
				return err
			}
			as, err := tb.Approvals(cmd.Context(), account)
			if err != nil {
				return &exitError{code: ExitError, err: err}
			}
			now := o.now()
			shown := as[:0]
			for _, a := range as {
				if s := a.Status(now); all || s == alert.StatusPending || s == alert.StatusActive || s == alert.StatusScheduled ||
					(s == alert.StatusUsed && !now.After(a.Until)) {
					shown = append(shown, a)
				}
			}
			return writeApprovals(o.io, format, shown, now)
		},
	}
	cmd.Flags().StringVar(&account, "account", "", "only this account")
	cmd.Flags().BoolVar(&all, "all", false, "also list ended approvals: expired, used, denied, revoked, emergency")
	return cmd
}

var accountIDRE = regexp.MustCompile(`^[0-9]{12}$`)

func newApprovalRevokeCmd(o *approvalOptions) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "revoke ID",
		Short: "End an approval, or withdraw a request: from now on it covers nothing",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			tb, format, err := o.open(ctx)
			if err != nil {
				return err
			}
			by, err := o.caller(ctx)
			if err != nil {
				return err
			}
			now := o.now()
			a, err := tb.RevokeApproval(ctx, args[0], by, now)
			if err != nil {
				return &exitError{code: ExitError, err: err}
			}
			if err := o.tell(ctx, a, notify.ChangeRevoked, by, reason); err != nil {
				return err
			}
			return writeApprovals(o.io, format, []alert.Approval{*a}, now)
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why it is revoked")
	return cmd
}

func newApprovalImportCmd(o *approvalOptions) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Store every approval of an approvals YAML file (the --approvals format of scan)",
		Long: `Import validates the whole file first (as scan --approvals does, plus the
24-hour limit) and writes nothing if any entry is invalid. Approvals already
in the table with the same contents are left as they are; an id the table
holds with other contents is a conflict, reported, and the rest is written.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			set, err := approval.Load(args[0])
			if err != nil {
				return &exitError{code: ExitUsage, err: err}
			}
			valid, err := validateApprovals(set.Items(), force)
			if err != nil {
				return err
			}
			tb, format, err := o.open(cmd.Context())
			if err != nil {
				return err
			}
			return runApprovalImport(cmd.Context(), o, tb, format, valid)
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "allow windows longer than 24 hours")
	return cmd
}

func runApprovalImport(ctx context.Context, o *approvalOptions, tb *alert.Table, format report.Format, as []approval.Approval) error {
	type row struct {
		ID      string    `json:"id"`
		Account string    `json:"account"`
		From    time.Time `json:"from"`
		Until   time.Time `json:"until"`
		Result  string    `json:"result"`
	}
	var rows []row
	var errs []error
	by, err := o.caller(ctx)
	if err != nil {
		return err
	}
	for _, a := range as {
		created, err := tb.Grant(ctx, a, by, o.now())
		r := row{ID: a.ID, Account: a.Account, From: a.From, Until: a.Until, Result: "created"}
		var conflict *alert.ApprovalConflictError
		switch {
		case errors.As(err, &conflict):
			r.Result = "conflict"
			errs = append(errs, err)
		case err != nil:
			return &exitError{code: ExitError, err: err}
		case !created:
			r.Result = "unchanged"
		}
		rows = append(rows, r)
	}
	head := []string{"ID", "ACCOUNT", "FROM", "UNTIL", "RESULT"}
	err = writeRows(o.io, format, head, len(rows), func(i int) []string {
		r := rows[i]
		return []string{r.ID, r.Account, r.From.Format(time.RFC3339), r.Until.Format(time.RFC3339), r.Result}
	}, func(i int) any { return rows[i] })
	if err != nil {
		return &exitError{code: ExitError, err: err}
	}
	if len(errs) > 0 {
		return &exitError{code: ExitError, err: errors.Join(errs...)}
	}
	return nil
}

// approvalJSON is an approval on the --output json contract: the stored
// fields and its status now.
type approvalJSON struct {
	alert.Approval
	Status string `json:"status"`
}

func writeApprovals(io IO, format report.Format, as []alert.Approval, now time.Time) error {
	head := []string{"ID", "ACCOUNT", "TASK", "FROM", "UNTIL", "STATUS", "REQUESTER", "APPROVER", "SESSIONS", "REASON"}
	err := writeRows(io, format, head, len(as), func(i int) []string {
		a := as[i]
		return []string{a.ID, a.Account, cmp.Or(string(a.Task), "any"), a.From.Format(time.RFC3339), a.Until.Format(time.RFC3339), a.Status(now),
			a.Requester, a.Approver, strconv.Itoa(len(a.Sessions)), a.Reason}
	}, func(i int) any { return approvalJSON{Approval: as[i], Status: as[i].Status(now)} })
	if err != nil {
		return &exitError{code: ExitError, err: fmt.Errorf("write output: %w", err)}
	}
	return nil
}

// writeRows writes rows as docs/cli.md says: an aligned table on a
// terminal, tab-separated lines otherwise, CSV with a lower-case header, or
// JSON Lines.
func writeRows(io IO, format report.Format, head []string, n int, row func(int) []string, obj func(int) any) error {
	if format == report.JSON {
		objs := make([]any, n)
		for i := range n {
			objs[i] = obj(i)
		}
		return report.JSONLines(io.Out, objs)
	}
	return report.Rows(io.Out, report.Options{Format: format, Pretty: io.OutTTY}, head, n, row)
}
