package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/account"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/spf13/cobra"

	"github.com/rootguard/rootguard/internal/deploy"
	"github.com/rootguard/rootguard/internal/newaccount"
	"github.com/rootguard/rootguard/internal/org"
	"github.com/rootguard/rootguard/internal/remediate"
)

func newDeployCmd(io IO, logger func() *slog.Logger) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "deploy",
		Short: "Deploy the real-time pipeline (EventBridge, Lambda, SNS) as CloudFormation",
		Long: `Deploy installs rootguard's real-time pipeline as CloudFormation:

  audit            the Audit account's event bus (admitting the organization
                   only), rules to the alert function, the function, an
                   encrypted SNS topic, a DynamoDB table, a dead-letter queue
                   and alarms; the scheduled audit; the new-account function
                   (stack rootguard-audit, home region)
  audit-region     GuardDuty root findings from the Audit account's default
                   bus in every other region to the bus (rootguard-audit-region)
  management       root-user rules and the account lifecycle events
                   (CreateAccountResult, MoveAccount, Control Tower's account
                   events, ...) in the management account, every region
                   (rootguard-management)
  assumeroot       the AssumeRoot rule alone, in every other Region enabled in
                   the management account and in IAM's delegated
                   administrator (rootguard-assumeroot; --iam-admin-profile
                   or --iam-admin-role-arn for the latter)
  member           the same rules in every member account of the chosen OUs,
                   by the service-managed StackSet rootguard-member, deployed
                   automatically to accounts added later

Regions are us-east-1 (where events of global services arrive), the home
region and --regions (include Control Tower's home Region, where its
lifecycle events arrive). --mode-config s3://BUCKET/KEY names rootguard.yaml:
new accounts in a strict OU with enforce: true get their root credentials
deleted; plan says where that is on. 'deploy print' writes the templates for a pipeline of
your own; 'deploy plan' shows what would change; 'deploy apply' changes it.`,
	}
	cmd.AddCommand(newDeployPrintCmd(io), newDeployRunCmd(io, logger, false), newDeployRunCmd(io, logger, true))
	return cmd
}

func newDeployPrintCmd(io IO) *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "print --dir DIR",
		Short: "Write the CloudFormation templates (JSON) to a directory",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				return usageError("deploy print: --dir is required")
			}
			if err := writeTemplates(io.Out, dir); err != nil {
				return &exitError{code: ExitError, err: err}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "directory to write NAME.json into (created if missing)")
	return cmd
}

func writeTemplates(out io.Writer, dir string) error {
	ts, err := deploy.Templates()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("deploy print: %w", err)
	}
	for _, t := range ts {
		p := filepath.Join(dir, t.Name+".json")
		if err := os.WriteFile(p, t.Body, 0o644); err != nil {
			return fmt.Errorf("deploy print: %w", err)
		}
		fmt.Fprintln(out, p)
	}
	return nil
}

// deployOptions are the flags of deploy plan and deploy apply.
type deployOptions struct {
	cfg             deploy.Config
	auditProfile    string
	auditRoleARN    string
	callAs          string
	stackSetProfile string
	stackSetRoleARN string
	iamAdminProfile string
	iamAdminRoleARN string
	keepRemoved     bool
	s3PathStyle     bool
	output          string
	yes             bool
	poll            time.Duration
	db              string
}

func newDeployRunCmd(io IO, logger func() *slog.Logger, apply bool) *cobra.Command {
	opts := &deployOptions{}
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Show what deploy apply would create or change (changes nothing)",
		Long: `Plan reads the stacks and the StackSet and says, for each, whether it would be
created, updated (with the resources a change set would add, modify or
remove; the change set is deleted again) or left unchanged. For the StackSet
it lists the instances it would add and, account by account, those outside
the OUs and regions given that apply would remove (kept with --keep-removed).
Last come rootguard's own stacks found where the configuration puts none
(rootguard-audit-region, rootguard-management, rootguard-assumeroot, by those
names only, in the Audit and management accounts and IAM's delegated
administrator, in every Region enabled there): action delete, with why
(unchanged, "Keep stack ...", with --keep-removed).`,
		Args: cobra.NoArgs,
	}
	if apply {
		cmd.Use = "apply"
		cmd.Short = "Create or update the stacks and the StackSet (dry run unless --yes)"
		cmd.Long = `Apply creates or updates, in order, the Audit stack (with the Audit account's
credentials: --audit-profile, --audit-role-arn, or the current ones), the
Audit account's regional stacks, the management account's stacks and the
member StackSet (service-managed, automatic deployment). The StackSet's
instances are converged: instances are added in the OUs and regions it
lacks, and only once every addition succeeded are those outside the OUs and
regions given (an OU or a region dropped from the command line) deleted,
unless --keep-removed. Last, and only if every step before succeeded, the
stacks plan lists as delete (a Region no longer governed, or newly governed:
its AssumeRoot stack) are deleted, each waited for to DELETE_COMPLETE,
unless --keep-removed.
Before anything changes, every target is checked: the
current credentials must be the management account's, each --ou an OU (or
the root) of the organization, --audit-account an active account that the
Audit credentials are in (the Audit stack never goes elsewhere), StackSets
trusted access enabled and, with --call-as DELEGATED_ADMIN, the StackSet
credentials a registered delegated administrator; a bad target exits 2 with
nothing changed.
Stacks change through change sets; a change set without changes is not an
error. StackSet operations report progress on stderr, and every account and
region where an instance failed is named. Running it again changes nothing.
Without --yes it shows the plan and asks on a terminal; elsewhere it changes
nothing.

With --call-as DELEGATED_ADMIN the StackSet is administered from an account
registered as StackSets delegated administrator, with the credentials of
--stackset-profile or --stackset-role-arn; the current credentials still
deploy the management account's stacks.
Exit 0: done (or nothing to do); 1: a step failed; 2: a bad flag or target.`
		cmd.Flags().BoolVar(&opts.yes, "yes", false, "apply without asking")
		cmd.Flags().StringVar(&opts.db, "db", "", "journal database holding the run lock (default: rootguard.db under the user's state directory)")
	}
	f := cmd.Flags()
	c := &opts.cfg
	f.StringVar(&c.OrganizationID, "org-id", "", "organization id (default: read from AWS Organizations)")
	f.StringVar(&c.AuditAccountID, "audit-account", "", "the Audit account, which holds the event bus and the function (required)")
	f.StringVar(&c.HomeRegion, "home-region", "", "region of the Audit stack and the StackSet (default: the SDK's region)")
	f.StringSliceVar(&c.Regions, "regions", nil, "governed regions, comma-separated (us-east-1 and the home region are always included)")
	f.StringSliceVar(&c.OUs, "ou", nil, "OUs (or the root r-...) whose accounts get the member stack, comma-separated (required)")
	f.StringVar(&c.Language, "language", "en", "alert language: en, ja or both")
	f.StringSliceVar(&c.Approvers, "approver", nil, "principal ARN pattern of who may approve root use (repeatable; the alert function checks approvals against it)")
	f.StringSliceVar(&c.AuditPrincipals, "audit-principal", nil, "principal ARN pattern of rootguard's scheduled audit: its audit sessions are one digest per run (repeatable)")
	f.StringVar(&c.AlarmTopicARN, "alarm-topic", "", "SNS topic for the CloudWatch alarms (default: the alert topic)")
	f.StringVar(&c.CodeBucket, "code-bucket", "", "S3 bucket of the Lambda function's zip, in the home region (required)")
	f.StringVar(&c.CodeKey, "code-key", "", "S3 key of the Lambda function's zip (required)")
	f.StringVar(&c.AuditSchedule, "audit-schedule", deploy.DefaultAuditSchedule, "when the scheduled audit runs: an EventBridge Scheduler rate() or cron() expression (UTC)")
	f.StringVar(&c.DigestSchedule, "digest-schedule", deploy.DefaultDigestSchedule, "when the weekly digest of the scheduled audit's history is published: a rate() or cron() expression (UTC), or off")
	f.StringSliceVar(&c.StrictOUs, "strict-ou", nil, "OU path whose accounts keep no root credentials (repeatable): the scheduled audit pages when an account leaves it; used only without --mode-config, whose strict OUs count instead")
	f.StringVar(&c.ModeConfig, "mode-config", "", "s3://BUCKET/KEY of rootguard.yaml in the Audit account's home region: new accounts' modes, and enforce: true on the strict OUs whose new accounts get their root credentials deleted (default: none, new accounts are reported only)")
	f.BoolVar(&opts.s3PathStyle, "s3-path-style", false, "address S3 buckets by path (for S3-compatible servers)")
	f.StringVar(&c.EventBusName, "event-bus-name", deploy.DefaultEventBusName, "name of the Audit account's event bus")
	f.StringVar(&opts.auditProfile, "audit-profile", "", "AWS profile with credentials in the Audit account")
	f.StringVar(&opts.auditRoleARN, "audit-role-arn", "", "role in the Audit account to assume from the current credentials")
	f.StringVar(&opts.callAs, "call-as", string(cfntypes.CallAsSelf), "StackSet calls as SELF (the management account) or DELEGATED_ADMIN")
	f.StringVar(&opts.stackSetProfile, "stackset-profile", "", "with --call-as DELEGATED_ADMIN: AWS profile in the delegated administrator account")
	f.StringVar(&opts.stackSetRoleARN, "stackset-role-arn", "", "with --call-as DELEGATED_ADMIN: role in the delegated administrator account to assume")
	f.StringVar(&opts.iamAdminProfile, "iam-admin-profile", "", "AWS profile in the IAM delegated administrator account (for its AssumeRoot stacks)")
	f.StringVar(&opts.iamAdminRoleARN, "iam-admin-role-arn", "", "role in the IAM delegated administrator account to assume (for its AssumeRoot stacks)")
	f.BoolVar(&opts.keepRemoved, "keep-removed", false, "keep the StackSet's instances outside the OUs and regions given, and rootguard's stacks where none belongs (only add)")
	f.StringVarP(&opts.output, "output", "o", "table", "output format: table or json")
	f.DurationVar(&opts.poll, "poll-interval", 5*time.Second, "time between polls of change sets, stacks and StackSet operations")
	_ = f.MarkHidden("poll-interval")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return runDeploy(cmd.Context(), io, logger(), opts, apply)
	}
	return cmd
}

func runDeploy(ctx context.Context, io IO, logger *slog.Logger, opts *deployOptions, apply bool) error {
	if opts.output != "table" && opts.output != "json" {
		return usageError("--output %q: want table or json", opts.output)
	}
	if opts.auditProfile != "" && opts.auditRoleARN != "" {
		return usageError("--audit-profile and --audit-role-arn: give one")
	}
	callAs := cfntypes.CallAs(strings.ToUpper(opts.callAs))
	stackSetCreds := opts.stackSetProfile != "" || opts.stackSetRoleARN != ""
	switch {
	case callAs != cfntypes.CallAsSelf && callAs != cfntypes.CallAsDelegatedAdmin:
		return usageError("--call-as %q: want SELF or DELEGATED_ADMIN", opts.callAs)
	case opts.stackSetProfile != "" && opts.stackSetRoleARN != "":
		return usageError("--stackset-profile and --stackset-role-arn: give one")
	case callAs == cfntypes.CallAsDelegatedAdmin && !stackSetCreds:
		return usageError("--call-as DELEGATED_ADMIN needs --stackset-profile or --stackset-role-arn: credentials in the delegated administrator account (the current ones deploy the management account's stacks)")
	case callAs == cfntypes.CallAsSelf && stackSetCreds:
		return usageError("--stackset-profile and --stackset-role-arn go with --call-as DELEGATED_ADMIN")
	case opts.iamAdminProfile != "" && opts.iamAdminRoleARN != "":
		return usageError("--iam-admin-profile and --iam-admin-role-arn: give one")
	}
	if opts.cfg.AuditAccountID == "" || len(opts.cfg.OUs) == 0 || opts.cfg.CodeBucket == "" || opts.cfg.CodeKey == "" {
		return usageError("--audit-account, --ou, --code-bucket and --code-key are required")
	}
	cfg, err := loadAWS(ctx)
	if err != nil {
		return err
	}
	c := opts.cfg
	if c.HomeRegion == "" {
		c.HomeRegion = cfg.Region
	}
	if c.HomeRegion == "" {
		return usageError("no region: give --home-region or set AWS_REGION")
	}
	o, err := org.Read(ctx, org.NewClients(cfg), org.Setup)
	if err != nil {
		return &exitError{code: ExitError, err: fmt.Errorf("read the organization (its id, IAM's delegated administrator): %w", err)}
	}
	if c.OrganizationID == "" {
		c.OrganizationID = o.ID
	}
	if apply && (opts.yes || io.ErrTTY && io.OutTTY) {
		// One deploy per organization at a time: refused before anything
		// else is read, and long before anything changes.
		release, lctx, err := lockOrgRun(ctx, cfg, opts.db, o.ID, remediate.KindDeploy, logger)
		if err != nil {
			return err
		}
		defer release()
		ctx = lctx
	}
	for _, p := range o.Problems {
		fmt.Fprintf(io.Err, "rootguard: warning: %s\n", p)
	}
	// sts:AssumeRoot works only on Regional endpoints and is logged in
	// the Region that served it: the AssumeRoot rule goes to every Region
	// enabled in the accounts that can call it.
	if c.EnabledRegions, err = deploy.EnabledRegions(ctx, account.NewFromConfig(cfg)); err != nil {
		return &exitError{code: ExitError, err: fmt.Errorf("management account: %w", err)}
	}
	var iamAdminCfg *aws.Config
	switch len(o.DelegatedAdmins) {
	case 0:
		if opts.iamAdminProfile != "" || opts.iamAdminRoleARN != "" {
			return usageError("--iam-admin-profile and --iam-admin-role-arn: the organization has no IAM delegated administrator")
		}
	case 1:
		c.IAMAdminAccountID = o.DelegatedAdmins[0]
		if opts.iamAdminProfile == "" && opts.iamAdminRoleARN == "" {
			break
		}
		ac, err := otherAccount(ctx, cfg, opts.iamAdminProfile, opts.iamAdminRoleARN)
		if err != nil {
			return &exitError{code: ExitError, err: err}
		}
		if c.IAMAdminRegions, err = deploy.EnabledRegions(ctx, account.NewFromConfig(ac)); err != nil {
			return &exitError{code: ExitError, err: fmt.Errorf("IAM delegated administrator %s: %w", c.IAMAdminAccountID, err)}
		}
		iamAdminCfg = &ac
	default:
		return &exitError{code: ExitError, err: fmt.Errorf("IAM has %d delegated administrators (%s); AWS allows one", len(o.DelegatedAdmins), strings.Join(o.DelegatedAdmins, ", "))}
	}
	if err := c.Validate(); err != nil {
		return usageError("%v", err)
	}
	// The scheduled audit runs in the Audit account: say whether it may
	// open root sessions there.
	// One paced client for the checks below: the preflight lists every
	// account of the organization.
	orgc := org.NewOrganizations(cfg)
	if p, err := deploy.CheckAuditAccount(ctx, orgc, c.AuditAccountID); err != nil {
		fmt.Fprintf(io.Err, "rootguard: scheduled audit: could not check which account may open root sessions: %v\n", err)
	} else if p.OK() {
		fmt.Fprintf(io.Err, "rootguard: scheduled audit: %s\n", p)
	} else {
		fmt.Fprintf(io.Err, "rootguard: warning: %s\n", p)
	}
	fmt.Fprintf(io.Err, "rootguard: scheduled audit: %s; weekly digest: %s\n",
		cmp.Or(c.AuditSchedule, deploy.DefaultAuditSchedule), cmp.Or(c.DigestSchedule, deploy.DefaultDigestSchedule))
	auditCfg, err := otherAccount(ctx, cfg, opts.auditProfile, opts.auditRoleARN)
	if err != nil {
		return &exitError{code: ExitError, err: err}
	}
	// Where the Audit account's regional stacks may have been left: the
	// Regions enabled in it.
	if c.AuditRegions, err = deploy.EnabledRegions(ctx, account.NewFromConfig(auditCfg)); err != nil {
		fmt.Fprintf(io.Err, "rootguard: warning: Audit account %s: %v; its %s stacks left in Regions no longer governed are not looked for (allow account:ListRegions to the Audit credentials)\n", c.AuditAccountID, err, deploy.AuditRegionStackName)
	}
	// New accounts: whether the function will delete root credentials,
	// and where, as rootguard.yaml says now.
	fmt.Fprintf(io.Err, "rootguard: new accounts: %s\n", describeEnforcement(ctx, c, cfg,
		s3.NewFromConfig(auditCfg, func(o *s3.Options) { o.Region, o.UsePathStyle = c.HomeRegion, opts.s3PathStyle })))
	client := func(base aws.Config) func(string) deploy.API {
		return func(region string) deploy.API {
			return cloudformation.NewFromConfig(base, func(o *cloudformation.Options) { o.Region = region })
		}
	}
	d := &deploy.Deployer{Config: c, Audit: client(auditCfg), Management: client(cfg), CallAs: callAs,
		KeepRemoved: opts.keepRemoved, Progress: io.Err, Poll: opts.poll, Logger: logger,
		Trails: func(region string) deploy.TrailAPI {
			return cloudtrail.NewFromConfig(cfg, func(o *cloudtrail.Options) { o.Region = region })
		}}
	if iamAdminCfg != nil {
		d.IAMAdmin = client(*iamAdminCfg)
	}
	pre := deploy.Preflight{Org: orgc, Caller: sts.NewFromConfig(cfg), Audit: sts.NewFromConfig(auditCfg)}
	switch {
	case opts.auditRoleARN != "":
		pre.AuditFlag = "--audit-role-arn " + opts.auditRoleARN
	case opts.auditProfile != "":
		pre.AuditFlag = "--audit-profile " + opts.auditProfile
	}
	if iamAdminCfg != nil {
		pre.IAMAdmin = sts.NewFromConfig(*iamAdminCfg)
		pre.IAMAdminFlag = "--iam-admin-role-arn " + opts.iamAdminRoleARN
		if opts.iamAdminProfile != "" {
			pre.IAMAdminFlag = "--iam-admin-profile " + opts.iamAdminProfile
		}
	}
	if stackSetCreds {
		stackSetCfg, err := otherAccount(ctx, cfg, opts.stackSetProfile, opts.stackSetRoleARN)
		if err != nil {
			return &exitError{code: ExitError, err: err}
		}
		d.StackSets = client(stackSetCfg)
		pre.StackSet = sts.NewFromConfig(stackSetCfg)
	}
	// Every target is checked before anything is read for the plan, let
	// alone changed: a mistyped OU, the wrong Audit account, no trusted
	// access are usage errors (exit 2).
	if err := d.Check(ctx, pre); err != nil {
		var te *deploy.TargetError
		if errors.As(err, &te) {
			return usageError("%v", err)
		}
		return &exitError{code: ExitError, err: err}
	}
	for _, w := range d.Warnings {
		fmt.Fprintf(io.Err, "rootguard: warning: %s\n", w)
	}

	steps, err := d.Plan(ctx)
	warnTrail(io.Err, steps)
	warnSkipped(io.Err, steps)
	pending := 0
	for _, s := range steps {
		if s.Pending() {
			pending++
		}
	}
	if !apply || err != nil || pending == 0 {
		printDeploySteps(io.Out, steps, opts.output)
		if err != nil {
			return &exitError{code: ExitError, err: err}
		}
		if apply {
			fmt.Fprintln(io.Err, "rootguard: nothing to change")
		}
		return nil
	}
	yes := opts.yes
	if !yes {
		printDeploySteps(io.Out, steps, opts.output)
		if !io.ErrTTY || !io.OutTTY {
			fmt.Fprintln(io.Err, "rootguard: dry run: nothing changed; run again with --yes to apply")
			return nil
		}
		q := fmt.Sprintf("Apply these %d changes? [y/N] ", pending)
		var deleting []string
		if n := deletedStacks(steps); n > 0 {
			deleting = append(deleting, fmt.Sprintf("the %d stacks (delete)", n))
		}
		if n := removedInstances(steps); n > 0 {
			deleting = append(deleting, fmt.Sprintf("the %d stack instances (Remove account ...)", n))
		}
		if len(deleting) > 0 {
			q = fmt.Sprintf("Apply these %d changes, deleting %s listed above? [y/N] ", pending, strings.Join(deleting, " and "))
		}
		if !confirm(ctx, io, q) {
			fmt.Fprintln(io.Err, "rootguard: nothing changed")
			return nil
		}
	}
	steps, err = d.Apply(ctx)
	printDeploySteps(io.Out, steps, opts.output)
	if err != nil {
		return &exitError{code: ExitError, err: err}
	}
	return nil
}

// describeEnforcement says what the new-account function does with the
// configuration at c.ModeConfig as it reads now; OU ids in it are
// resolved with the management account's credentials (mgmt).
func describeEnforcement(ctx context.Context, c deploy.Config, mgmt aws.Config, s3c newaccount.S3) string {
	loc, _ := newaccount.ParseLocation(c.ModeConfig) // Validate checked it
	if loc.IsZero() {
		return "no --mode-config: every new or moved account is audited and reported; enforcement is off"
	}
	p, err := newaccount.LoadPolicy(ctx, s3c, mgmt, loc)
	if err != nil {
		return fmt.Sprintf("warning: %v; until it can be read (the function's role may read it), every account event fails and is retried, then dead-lettered", err)
	}
	if on := p.Enforced(); len(on) > 0 {
		return fmt.Sprintf("%s: ENFORCEMENT ON: the root credentials of an account created in, moved to or joining %s (strict, enforce: true, and the OUs below that set no mode) are deleted; every other account is audited and reported", loc, strings.Join(on, ", "))
	}
	return fmt.Sprintf("%s: enforcement is off (no strict OU has enforce: true): every new or moved account is audited and reported", loc)
}

// deletedStacks counts the stacks a plan deletes.
func deletedStacks(steps []deploy.Step) int {
	n := 0
	for _, s := range steps {
		if s.Action == deploy.Delete {
			n++
		}
	}
	return n
}

// removedInstances counts the stack instances a plan deletes.
func removedInstances(steps []deploy.Step) int {
	n := 0
	for _, s := range steps {
		for _, c := range s.Changes {
			if strings.HasPrefix(c, "Remove account ") {
				n++
			}
		}
	}
	return n
}

// otherAccount returns the configuration for another account: a profile,
// a role assumed from cfg's credentials, or cfg itself when neither is
// given.
func otherAccount(ctx context.Context, cfg aws.Config, profile, roleARN string) (aws.Config, error) {
	switch {
	case profile != "":
		out, err := config.LoadDefaultConfig(ctx, config.WithSharedConfigProfile(profile))
		if err != nil {
			return aws.Config{}, fmt.Errorf("load AWS profile %s: %w", profile, err)
		}
		return out, nil
	case roleARN != "":
		out := cfg.Copy()
		out.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), roleARN,
			func(o *stscreds.AssumeRoleOptions) { o.RoleSessionName = "rootguard-deploy" }))
		return out, nil
	}
	return cfg, nil
}

func printDeploySteps(w io.Writer, steps []deploy.Step, output string) {
	if output == "json" {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for _, s := range steps {
			_ = enc.Encode(s)
		}
		return
	}
	for _, s := range steps {
		state := string(s.Action)
		if s.Applied {
			state += "d" // created, updated
		}
		fmt.Fprintf(w, "%-10s %-8s %-23s %-10s %s\n", state, s.Kind, s.Name, s.Account, s.Region)
		for _, c := range s.Changes {
			fmt.Fprintf(w, "    %s\n", c)
		}
		for _, m := range s.Missing {
			fmt.Fprintf(w, "    missing: %s\n", m)
		}
		if s.Instances > 0 {
			fmt.Fprintf(w, "    %d stack instances succeeded\n", s.Instances)
		}
		if s.Removed > 0 {
			fmt.Fprintf(w, "    %d stack instances removed\n", s.Removed)
		}
		for _, f := range s.Failures {
			op := ""
			if f.Operation != "" {
				op = " (" + f.Operation + ")"
			}
			fmt.Fprintf(w, "    %s account %s region %s%s: %s\n", f.Status, f.Account, f.Region, op, f.Reason)
		}
		if s.Error != "" {
			fmt.Fprintf(w, "    error: %s\n", s.Error)
		}
	}
}

// warnTrail says on stderr when the trail check found no trail that
// carries the pipeline's events, or could not tell.
func warnTrail(w io.Writer, steps []deploy.Step) {
	for _, s := range steps {
		switch {
		case s.Kind != "trail":
		case s.Action == deploy.TrailMissing:
			fmt.Fprintf(w, "rootguard: warning: no logging, multi-Region organization trail (%d things missing, listed above): EventBridge gets no API call events where no trail logs, so the pipeline's rules would stay silent there\n", len(s.Missing))
		case s.Action == deploy.TrailUnknown:
			fmt.Fprintf(w, "rootguard: warning: could not check for an organization trail: %s\n", s.Error)
		}
	}
}

// warnSkipped says on stderr which stacks could not be deployed for want
// of credentials, and which flag gives them.
func warnSkipped(w io.Writer, steps []deploy.Step) {
	for _, s := range steps {
		if s.Action == deploy.Skipped && s.Account == "iam-admin" {
			fmt.Fprintf(w, "rootguard: warning: %s; give --iam-admin-profile or --iam-admin-role-arn to deploy %s there\n", s.Error, s.Name)
		}
	}
}
