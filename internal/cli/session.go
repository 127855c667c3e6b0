package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/smithy-go"
	"github.com/spf13/cobra"

	"github.com/rootguard/rootguard/internal/alert"
	"github.com/rootguard/rootguard/internal/approval"
	"github.com/rootguard/rootguard/internal/notify"
	"github.com/rootguard/rootguard/internal/remediate"
	"github.com/rootguard/rootguard/internal/rootsession"
	"github.com/rootguard/rootguard/internal/store"
)

// sessionOptions are the flags of root session.
type sessionOptions struct {
	io        IO
	logger    func() *slog.Logger
	account   string
	task      string
	emergency bool
	reason    string
	export    string
	renew     bool
	config    string
	table     string
	db        string
	topics    alert.Topics
	lang      string
	now       func() time.Time
}

// minSessionLeft is the shortest session worth opening before an
// approval's window ends.
const minSessionLeft = time.Minute

func newRootSessionCmd(io IO, logger func() *slog.Logger) *cobra.Command {
	o := &sessionOptions{io: io, logger: logger, now: time.Now}
	cmd := &cobra.Command{
		Use:   "session --account A --task T [flags] [-- COMMAND [ARG...]]",
		Short: "Break glass: open a root session under an approval and run a command with it",
		Long: `Session opens a centralized root session (sts:AssumeRoot, at most 900 s, with
the task's root-task policy) on a member account, only under an approval:
one that a second principal approved ('rootguard approval request' and
'approve') for this account, this task and now, requested by the caller
(sts:GetCallerIdentity). Approvals recorded with free-text names (grant,
import) are not enough. The session never outlives the approval's window;
to renew it, run session again while the window is open.

The session's access key id is recorded against the approval (its history
and the table's key item, by which the alert function says "approved by X
for request R") and in the journal ('rootguard root journal'), before the
credentials are used.

With COMMAND, the command runs with the session's credentials in its
environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
AWS_CREDENTIAL_EXPIRATION; AWS_PROFILE removed) and session exits with its
exit code. With --renew, COMMAND gets a credentials endpoint on 127.0.0.1
instead (AWS_CONTAINER_CREDENTIALS_FULL_URI and a one-time
AWS_CONTAINER_AUTHORIZATION_TOKEN, read by the AWS SDKs and CLI), which opens
and records a new session as each one nears its end, until the approval's
window ends. Without COMMAND, --export-credentials process prints them as
'aws configure export-credentials' does (JSON, for credential_process), and
--export-credentials env as export lines. Credentials are never logged or
written anywhere else.

Without an approval it refuses (exit 1), unless --emergency --reason R: the
session opens at once, is recorded as an emergency declared by the caller,
and pages through the alert topics as an unapproved emergency naming the
principal.

Tasks: audit, create-password, delete-credentials, s3-unlock, sqs-unlock.`,
		Example: `  rootguard root session --account 123456789012 --task s3-unlock -- \
    aws s3api delete-bucket-policy --bucket archive
  eval "$(rootguard root session --account 123456789012 --task audit --export-credentials env)"
  rootguard root session --account 123456789012 --task delete-credentials \
    --emergency --reason "leaked root key, INC-4711" -- ./cleanup.sh`,
		RunE: func(cmd *cobra.Command, args []string) error { return runRootSession(cmd.Context(), o, args) },
	}
	f := cmd.Flags()
	f.StringVar(&o.account, "account", "", "the member account (12 digits)")
	f.StringVar(&o.task, "task", "", "audit, create-password, delete-credentials, s3-unlock or sqs-unlock")
	f.BoolVar(&o.emergency, "emergency", false, "without an approval: open the session anyway and page (needs --reason)")
	f.StringVar(&o.reason, "reason", "", "why, for --emergency")
	f.StringVar(&o.export, "export-credentials", "", "without COMMAND: print the credentials as process (JSON) or env")
	f.BoolVar(&o.renew, "renew", false, "give COMMAND a local credentials endpoint that opens a new session as each one expires, within the approved window")
	f.StringVar(&o.config, "config", defaultModeConfig, "the configuration listing the approvers (checked when present)")
	f.StringVar(&o.table, "table", os.Getenv("ROOTGUARD_TABLE"), "the pipeline's DynamoDB table (default $ROOTGUARD_TABLE)")
	f.StringVar(&o.db, "db", "", "journal database (default: rootguard.db under the user's state directory)")
	f.StringVar(&o.topics.Main, "topic-arn", os.Getenv("TOPIC_ARN"), "the alert topic an emergency pages through (default $TOPIC_ARN)")
	f.StringVar(&o.topics.Chatbot, "chatbot-topic-arn", os.Getenv("CHATBOT_TOPIC_ARN"), "the Chatbot topic, if any (default $CHATBOT_TOPIC_ARN)")
	f.StringVar(&o.lang, "lang", cmpOr(os.Getenv("LANGUAGE"), "en"), "language of the emergency page: en, ja or both")
	return cmd
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// usable finds the approval a session may be opened under, or says why
// there is none.
func usable(ctx context.Context, tb *alert.Table, o *sessionOptions, task approval.Task, caller string, now time.Time) (*alert.Approval, error) {
	covering, missed, err := tb.FindApproval(ctx, alert.Lookup{Account: o.account, Task: task, Principal: caller, At: now})
	if err != nil {
		return nil, &exitError{code: ExitError, err: err}
	}
	switch {
	case covering == nil && missed != nil:
		return nil, fmt.Errorf("approval %s for %s %s covers %s to %s, not now", missed.ID, o.account, task,
			missed.From.Format(time.RFC3339), missed.Until.Format(time.RFC3339))
	case covering == nil:
		return nil, fmt.Errorf("no approval covers %s for %s by %s now: ask with 'rootguard approval request --account %s --task %s --for 1h --reason ...'",
			task, o.account, caller, o.account, task)
	case covering.Origin != alert.OriginRequest:
		return nil, fmt.Errorf("approval %s was recorded with free-text names (%s), not approved by identity: request one with 'rootguard approval request'",
			covering.ID, covering.Origin)
	case approval.SamePerson(covering.ApprovedBy, covering.Requester):
		return nil, fmt.Errorf("approval %s was approved by its own requester", covering.ID)
	}
	if cfgApprovers, err := loadApprovers(o.config); err == nil {
		if _, ok := cfgApprovers.Match(covering.ApprovedBy); !ok {
			return nil, fmt.Errorf("approval %s was approved by %s, who is not among the approvers of %s", covering.ID, covering.ApprovedBy, o.config)
		}
	}
	if left := covering.Until.Sub(now); left < minSessionLeft {
		return nil, fmt.Errorf("approval %s ends at %s: too little of its window is left to open a session", covering.ID, covering.Until.Format(time.RFC3339))
	}
	return covering, nil
}

func runRootSession(ctx context.Context, o *sessionOptions, args []string) error {
	now := o.now().UTC().Truncate(time.Second)
	if !accountIDRE.MatchString(o.account) {
		return usageError("--account %q: want a 12-digit account id", o.account)
	}
	task, err := approval.ParseTask(o.task)
	if err != nil {
		return usageError("--task: %v", err)
	}
	if task == approval.TaskConsole {
		return usageError("--task console opens no session: the root user signs in to the console (approval request --task console)")
	}
	if o.emergency && strings.TrimSpace(o.reason) == "" {
		return usageError("--emergency needs --reason: say why root is needed without approval")
	}
	switch {
	case len(args) > 0 && o.export != "":
		return usageError("give COMMAND or --export-credentials, not both")
	case len(args) == 0 && o.export == "":
		return usageError("give COMMAND (after --) or --export-credentials process|env")
	case o.renew && len(args) == 0:
		return usageError("--renew needs COMMAND")
	case o.export != "" && o.export != "process" && o.export != "env":
		return usageError("--export-credentials %q: want process or env", o.export)
	}
	if o.table == "" {
		return usageError("no table: give --table or set ROOTGUARD_TABLE (approvals are kept there)")
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return &exitError{code: ExitError, err: fmt.Errorf("load AWS configuration: %w", err)}
	}
	ao := &approvalOptions{io: o.io, topics: o.topics, lang: o.lang, aws: cfg}
	caller, err := ao.caller(ctx)
	if err != nil {
		return err
	}
	if err := checkSessionAccount(ctx, o, cfg); err != nil {
		return err
	}
	tb := alert.NewTable(dynamodb.NewFromConfig(cfg), o.table)

	appr, err := usable(ctx, tb, o, task, caller, now)
	var ee *exitError
	switch {
	case errors.As(err, &ee):
		return err
	case err != nil && !o.emergency:
		return &exitError{code: ExitError, err: fmt.Errorf("refused: %w", err)}
	case err != nil:
		fmt.Fprintf(o.io.Err, "rootguard: EMERGENCY: %v; opening the session without approval, and paging\n", err)
		appr, err = tb.Declare(ctx, approval.Approval{ID: "E-" + strings.TrimPrefix(newRequestID(now), "R-"), Account: o.account, Task: task,
			From: now, Until: now.Add(rootsession.DefaultDuration), Requester: caller, Reason: strings.TrimSpace(o.reason)}, now)
		if err != nil {
			return &exitError{code: ExitError, err: err}
		}
		page := notify.RenderEmergency(notify.ApprovalChange{ID: appr.ID, Account: o.account, Task: string(task), From: now,
			Until: appr.Until, Requester: caller, Reason: appr.Reason, By: caller}, notify.Lang(o.lang))
		if o.topics.Main == "" {
			fmt.Fprintln(o.io.Err, "rootguard: no topic (--topic-arn or TOPIC_ARN): the emergency is paged only when the alert function sees the session")
		} else if _, err := alert.Publish(ctx, sns.NewFromConfig(cfg), o.topics, page, nil); err != nil {
			// The session still opens: an emergency must not wait on SNS;
			// the alert function pages from CloudTrail too.
			fmt.Fprintf(o.io.Err, "rootguard: the emergency page failed (%v); the alert function pages when it sees the session\n", err)
		}
	}

	st, err := openStore(ctx, o.db)
	if err != nil {
		return &exitError{code: ExitError, err: err}
	}
	defer st.Close()
	plan, _ := json.Marshal(map[string]string{"approval": appr.ID, "account": o.account, "task": string(task), "origin": appr.Origin})
	sum := sha256.Sum256(plan)
	runID := strings.Replace(newRequestID(now), "R-", "session-", 1)
	if err := st.CreateRun(ctx, store.JournalRun{ID: runID, Kind: "root-session", CallerARN: caller, PlanDigest: hex.EncodeToString(sum[:]),
		Plan: plan, StartedAt: now}); err != nil {
		return &exitError{code: ExitError, err: err}
	}
	finish := func(status string) {
		if err := st.FinishRun(ctx, runID, status, o.now()); err != nil {
			fmt.Fprintf(o.io.Err, "rootguard: journal: %v\n", err)
		}
	}
	// open opens one session, at most until the approval's window ends,
	// and records its key (journal, approval) before handing out its
	// credentials.
	open := func(ctx context.Context) (aws.Credentials, error) {
		at := o.now()
		left := appr.Until.Sub(at)
		if left < minSessionLeft {
			return aws.Credentials{}, fmt.Errorf("approval %s ends at %s: no session is opened past its window", appr.ID, appr.Until.Format(time.RFC3339))
		}
		opener, err := rootsession.New(cfg, rootsession.Options{Duration: min(rootsession.DefaultDuration, left.Truncate(time.Second)), Logger: o.logger()})
		if err != nil {
			return aws.Credentials{}, err
		}
		sess, err := opener.Open(ctx, o.account, rootsession.Task(task.TaskPolicy()))
		if err != nil {
			var re *rootsession.Error
			reqID := ""
			if errors.As(err, &re) {
				reqID = re.RequestID
			}
			_, _ = st.AddStep(ctx, store.JournalStep{RunID: runID, Account: o.account, Step: "open", Action: "sts:AssumeRoot", Target: o.account,
				Result: "failed", RequestID: reqID, Error: err.Error(), Attempts: 1, At: o.now()})
			return aws.Credentials{}, fmt.Errorf("account %s: %w", o.account, err)
		}
		akid := sess.Credentials.AccessKeyID
		detail, _ := json.Marshal(map[string]string{"approval": appr.ID, "accessKeyId": akid, "task": task.TaskPolicy(),
			"expires": sess.Expires.UTC().Format(time.RFC3339), "origin": appr.Origin})
		if _, err := st.AddStep(ctx, store.JournalStep{RunID: runID, Account: o.account, Step: "open", Action: "sts:AssumeRoot", Target: o.account,
			Result: "ok", RequestID: sess.RequestID, Detail: string(detail), Attempts: 1, At: o.now()}); err != nil {
			return aws.Credentials{}, err
		}
		// Recorded before the credentials are used: the alert function
		// joins the session's events to the approval by this key.
		if err := tb.RecordUse(ctx, appr.ID, akid, caller, o.now()); err != nil {
			return aws.Credentials{}, fmt.Errorf("the session %s is open, but recording it against approval %s failed; not using it: %w", akid, appr.ID, err)
		}
		creds, err := sess.Credentials.Provider().Retrieve(ctx)
		if err != nil {
			return aws.Credentials{}, err
		}
		creds.CanExpire, creds.Expires = true, sess.Expires
		fmt.Fprintf(o.io.Err, "rootguard: root session %s on %s (%s) under %s %s, until %s\n", akid, o.account, task.TaskPolicy(),
			appr.Origin, appr.ID, sess.Expires.UTC().Format(time.RFC3339))
		return creds, nil
	}
	creds, err := open(ctx)
	if err != nil {
		finish(store.RunIncomplete)
		return &exitError{code: ExitError, err: err}
	}

	if o.export != "" {
		err := exportCredentials(o.io, o.export, creds, creds.Expires)
		if err != nil {
			finish(store.RunIncomplete)
			return &exitError{code: ExitError, err: err}
		}
		finish(store.RunDone)
		return nil
	}
	var code int
	var runErr error
	if o.renew {
		code, runErr = runWithRenewal(ctx, o.io, args, newRenewer(creds, appr.Until, open, o.now), o.account)
	} else {
		code, runErr = runWithCredentials(ctx, o.io, args, creds, creds.Expires, o.account)
	}
	result, errText := "ok", ""
	if runErr != nil || code != 0 {
		result = "failed"
		errText = fmt.Sprintf("exit %d", code)
		if runErr != nil {
			errText = runErr.Error()
		}
	}
	_, _ = st.AddStep(ctx, store.JournalStep{RunID: runID, Account: o.account, Step: "command", Action: "exec", Target: args[0],
		Result: result, Error: errText, Attempts: 1, At: o.now()})
	if runErr != nil {
		finish(store.RunIncomplete)
		return &exitError{code: ExitError, err: runErr}
	}
	finish(store.RunDone)
	if code != 0 {
		return &exitError{code: code, err: fmt.Errorf("%s exited with %d", args[0], code)}
	}
	return nil
}

// checkSessionAccount refuses, before an approval is looked up or an
// emergency is declared and paged, an account the organization says
// cannot be entered: its management account, one it does not have, one
// that is not ACTIVE. When Organizations cannot be read (a caller without
// organizations:DescribeAccount) it says so in one line and goes on:
// sts:AssumeRoot still refuses such an account, and an emergency must not
// wait on a read.
func checkSessionAccount(ctx context.Context, o *sessionOptions, cfg aws.Config) error {
	_, err := remediate.CheckMember(ctx, organizations.NewFromConfig(cfg), o.account)
	var te *remediate.TargetError
	switch {
	case errors.As(err, &te):
		return usageError("--account: %v; nothing was recorded or paged", err)
	case err != nil:
		why := "the organization could not be read"
		var ae smithy.APIError
		if errors.As(err, &ae) {
			why = ae.ErrorCode()
		}
		fmt.Fprintf(o.io.Err, "rootguard: account %s not checked against the organization (%s); sts:AssumeRoot refuses an account it cannot enter\n", o.account, why)
	}
	return nil
}

// exportCredentials prints credentials as `aws configure
// export-credentials` does: --format process (JSON for credential_process)
// or env (export lines).
func exportCredentials(io IO, format string, c aws.Credentials, expires time.Time) error {
	exp := expires.UTC().Format(time.RFC3339)
	if format == "env" {
		_, err := fmt.Fprintf(io.Out, "export AWS_ACCESS_KEY_ID=%s\nexport AWS_SECRET_ACCESS_KEY=%s\nexport AWS_SESSION_TOKEN=%s\nexport AWS_CREDENTIAL_EXPIRATION=%s\n",
			c.AccessKeyID, c.SecretAccessKey, c.SessionToken, exp)
		return err
	}
	b, err := json.Marshal(struct {
		Version         int
		AccessKeyID     string `json:"AccessKeyId"`
		SecretAccessKey string
		SessionToken    string
		Expiration      string
	}{1, c.AccessKeyID, c.SecretAccessKey, c.SessionToken, exp})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(io.Out, "%s\n", b)
	return err
}

// runWithCredentials runs a command with the session's credentials in
// its environment, instead of any others, and returns its exit code.
func runWithCredentials(ctx context.Context, io IO, args []string, c aws.Credentials, expires time.Time, account string) (int, error) {
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = io.In, io.Out, io.Err
	env := withoutCredentials(os.Environ())
	cmd.Env = append(env, "AWS_ACCESS_KEY_ID="+c.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+c.SecretAccessKey,
		"AWS_SESSION_TOKEN="+c.SessionToken, "AWS_CREDENTIAL_EXPIRATION="+expires.UTC().Format(time.RFC3339),
		"ROOTGUARD_ROOT_SESSION_ACCOUNT="+account)
	return exitCode(args[0], cmd.Run())
}
