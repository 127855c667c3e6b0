package deploy

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cfn "github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/smithy-go"

	"github.com/rootguard/rootguard/internal/approval"
	"github.com/rootguard/rootguard/internal/mode"
	"github.com/rootguard/rootguard/internal/newaccount"
	"github.com/rootguard/rootguard/internal/notify"
)

// Stack and StackSet names.
const (
	AuditStackName       = "rootguard-audit"
	AuditRegionStackName = "rootguard-audit-region"
	ManagementStackName  = "rootguard-management"
	AssumeRootStackName  = "rootguard-assumeroot"
	StackSetName         = "rootguard-member"
)

// GlobalRegion is where CloudTrail delivers the events of global services
// (IAM, STS's global endpoint, sign-in, Organizations) to EventBridge:
// every deployment covers it.
const GlobalRegion = "us-east-1"

// StackSet operation preferences: a few failing accounts do not stop the
// rollout to the others; they are named in the result.
const (
	failureTolerancePercentage = 10
	maxConcurrentPercentage    = 25
)

// API is the part of the CloudFormation client the deployer calls.
type API interface {
	DescribeStacks(context.Context, *cfn.DescribeStacksInput, ...func(*cfn.Options)) (*cfn.DescribeStacksOutput, error)
	CreateChangeSet(context.Context, *cfn.CreateChangeSetInput, ...func(*cfn.Options)) (*cfn.CreateChangeSetOutput, error)
	DescribeChangeSet(context.Context, *cfn.DescribeChangeSetInput, ...func(*cfn.Options)) (*cfn.DescribeChangeSetOutput, error)
	ExecuteChangeSet(context.Context, *cfn.ExecuteChangeSetInput, ...func(*cfn.Options)) (*cfn.ExecuteChangeSetOutput, error)
	DeleteChangeSet(context.Context, *cfn.DeleteChangeSetInput, ...func(*cfn.Options)) (*cfn.DeleteChangeSetOutput, error)
	DeleteStack(context.Context, *cfn.DeleteStackInput, ...func(*cfn.Options)) (*cfn.DeleteStackOutput, error)
	DescribeStackSet(context.Context, *cfn.DescribeStackSetInput, ...func(*cfn.Options)) (*cfn.DescribeStackSetOutput, error)
	CreateStackSet(context.Context, *cfn.CreateStackSetInput, ...func(*cfn.Options)) (*cfn.CreateStackSetOutput, error)
	UpdateStackSet(context.Context, *cfn.UpdateStackSetInput, ...func(*cfn.Options)) (*cfn.UpdateStackSetOutput, error)
	CreateStackInstances(context.Context, *cfn.CreateStackInstancesInput, ...func(*cfn.Options)) (*cfn.CreateStackInstancesOutput, error)
	ListStackInstances(context.Context, *cfn.ListStackInstancesInput, ...func(*cfn.Options)) (*cfn.ListStackInstancesOutput, error)
	DeleteStackInstances(context.Context, *cfn.DeleteStackInstancesInput, ...func(*cfn.Options)) (*cfn.DeleteStackInstancesOutput, error)
	DescribeStackSetOperation(context.Context, *cfn.DescribeStackSetOperationInput, ...func(*cfn.Options)) (*cfn.DescribeStackSetOperationOutput, error)
	ListStackSetOperationResults(context.Context, *cfn.ListStackSetOperationResultsInput, ...func(*cfn.Options)) (*cfn.ListStackSetOperationResultsOutput, error)
}

// Config is what a deployment needs to know.
type Config struct {
	OrganizationID string
	AuditAccountID string
	// HomeRegion holds the Audit stack (bus, function, topic, table) and
	// administers the StackSet.
	HomeRegion string
	// Regions are the governed regions; GlobalRegion is always added.
	Regions []string
	// OUs receive the member stacks, now and in every account added
	// later.
	OUs           []string
	Language      string // en (default), ja or both
	AlarmTopicARN string // empty: the alert topic
	CodeBucket    string
	CodeKey       string
	EventBusName  string // DefaultEventBusName when empty
	// EnabledRegions are the Regions enabled in the management account
	// (account:ListRegions); IAMAdminAccountID and IAMAdminRegions the IAM
	// delegated administrator, if any, and the Regions enabled in it. Each
	// of those accounts gets the AssumeRoot rule (AssumeRootTemplate) in
	// every such Region that AllRegions leaves out: AssumeRoot, which only
	// these two accounts can call, is logged in the Region of the STS
	// endpoint that served it, and every enabled Region has one. (In
	// AllRegions the management stack, and the member StackSet for the
	// delegated administrator, which must be under one of OUs, carry the
	// rule.)
	EnabledRegions    []string
	IAMAdminAccountID string
	IAMAdminRegions   []string
	// AuditRegions are the Regions enabled in the Audit account
	// (account:ListRegions). Plan looks there, as in the other two
	// accounts' enabled Regions, for rootguard's stacks where this
	// configuration puts none (see Deployer.Apply); when empty, in the
	// governed Regions only.
	AuditRegions []string
	// Approvers and AuditPrincipals are principal ARN patterns (see
	// ParamApprovers, ParamAuditPrincipals).
	Approvers       []string
	AuditPrincipals []string
	// AuditSchedule is when the scheduled audit runs (an EventBridge
	// Scheduler rate() or cron() expression); DefaultAuditSchedule when
	// empty. StrictOUs are OU paths whose accounts keep no root
	// credentials: an account leaving one pages.
	AuditSchedule string
	StrictOUs     []string
	// ModeConfig is where the deployment keeps rootguard.yaml
	// (s3://BUCKET/KEY, in the Audit account's home Region): the mode of
	// each new account's OU, and enforce: true on the strict OUs whose new
	// accounts get their root credentials deleted. Empty: new accounts are
	// reported only.
	ModeConfig string
	// DigestSchedule is when the weekly digest is published (a rate() or
	// cron() expression, or DigestOff); DefaultDigestSchedule when empty.
	DigestSchedule string
}

// The patterns are compiled on first use (sync.OnceValue), not at package
// load, where they cost every rootguard command, `rootguard scan` included
// (GODEBUG=inittrace=1).
var (
	reAccount = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^\d{12}$`) })
	reOrg     = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^o-[a-z0-9]{10,32}$`) })
	reOU      = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^(ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}|r-[a-z0-9]{4,32})$`)
	})
	reRegion = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d+$`) })
	// reSchedule: EventBridge Scheduler's recurring expressions, "rate(value
	// unit)" and "cron(fields)" (Schedule types, EventBridge Scheduler
	// User Guide; ScheduleExpression, Scheduler API: "A rate expression
	// consists of a value as a positive integer, and a unit with the
	// following options: minute | minutes | hour | hours | day | days";
	// "A cron expression consists of six fields separated by white
	// spaces", each of values and the wildcards , - * ? / L W #).
	reSchedule = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^(rate\([1-9][0-9]* (minute|minutes|hour|hours|day|days)\)|cron\([0-9A-Za-z,*?/#-]+( [0-9A-Za-z,*?/#-]+){5}\))$`)
	})
)

// Validate names every bad field.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if !reOrg().MatchString(c.OrganizationID) {
		bad("organization id %q: want o- and 10 to 32 letters or digits", c.OrganizationID)
	}
	if !reAccount().MatchString(c.AuditAccountID) {
		bad("audit account %q: want 12 digits", c.AuditAccountID)
	}
	if !reRegion().MatchString(c.HomeRegion) {
		bad("home region %q is not a region name", c.HomeRegion)
	}
	for _, r := range slices.Concat(c.Regions, c.EnabledRegions, c.IAMAdminRegions, c.AuditRegions) {
		if !reRegion().MatchString(r) {
			bad("region %q is not a region name", r)
		}
	}
	// A governed Region must be one the management account has enabled
	// (account:ListRegions): a misspelt or disabled Region is refused here,
	// before the first stack, not when its stack instance fails.
	if len(c.EnabledRegions) > 0 {
		for _, r := range slices.Concat([]string{c.HomeRegion}, c.Regions) {
			if reRegion().MatchString(r) && !slices.Contains(c.EnabledRegions, r) {
				bad("region %q is not enabled in the management account (account:ListRegions lists %s)", r, strings.Join(c.EnabledRegions, ", "))
			}
		}
	}
	if c.IAMAdminAccountID != "" && !reAccount().MatchString(c.IAMAdminAccountID) {
		bad("IAM delegated administrator %q: want 12 digits", c.IAMAdminAccountID)
	}
	if len(c.OUs) == 0 {
		bad("no OU: name the OUs (or the root) whose accounts get the member stack")
	}
	for _, ou := range c.OUs {
		if !reOU().MatchString(ou) {
			bad("OU %q: want ou-... or r-...", ou)
		}
	}
	switch notify.Lang(c.Language) {
	case "", notify.English, notify.Japanese, notify.Both:
	default:
		bad("language %q: want en, ja or both", c.Language)
	}
	if _, err := approval.ParseApprovers(c.Approvers); err != nil {
		bad("approvers: %v", err)
	}
	if _, err := approval.ParseApprovers(c.AuditPrincipals); err != nil {
		bad("audit principals: %v", err)
	}
	if c.AuditSchedule != "" && !reSchedule().MatchString(c.AuditSchedule) {
		bad("audit schedule %q: want rate(N unit) or cron(fields)", c.AuditSchedule)
	}
	if c.DigestSchedule != "" && c.DigestSchedule != DigestOff && !reSchedule().MatchString(c.DigestSchedule) {
		bad("digest schedule %q: want rate(N unit), cron(fields) or off", c.DigestSchedule)
	}
	for _, ou := range c.StrictOUs {
		if strings.Contains(ou, ",") {
			bad("strict OU %q: want one OU path such as Root/Workloads/Prod", ou)
		} else if err := mode.CheckOUPath(ou); err != nil {
			bad("strict OU %v", err)
		}
	}
	if _, err := newaccount.ParseLocation(c.ModeConfig); err != nil {
		bad("mode config %v", err)
	}
	if c.CodeBucket == "" || c.CodeKey == "" {
		bad("the Lambda code location (S3 bucket and key) is required")
	}
	if len(errs) > 0 {
		return fmt.Errorf("deploy: %w", errors.Join(errs...))
	}
	return nil
}

// AllRegions returns GlobalRegion, the home region and the governed
// regions, each once.
func (c *Config) AllRegions() []string {
	out := []string{GlobalRegion}
	for _, r := range append([]string{c.HomeRegion}, c.Regions...) {
		if r != "" && !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

// OutsideRegions returns the Regions of enabled that AllRegions leaves
// out, in order.
func (c *Config) OutsideRegions(enabled []string) []string {
	var out []string
	for _, r := range enabled {
		if !slices.Contains(c.AllRegions(), r) && !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

func (c *Config) busName() string {
	if c.EventBusName == "" {
		return DefaultEventBusName
	}
	return c.EventBusName
}

func (c *Config) forwarderParams() []cfntypes.Parameter {
	return params(ParamAuditAccountID, c.AuditAccountID, ParamEventBusName, c.busName(), ParamHomeRegion, c.HomeRegion)
}

func (c *Config) auditParams() []cfntypes.Parameter {
	lang := c.Language
	if lang == "" {
		lang = string(notify.English)
	}
	out := params(ParamOrganizationID, c.OrganizationID, ParamEventBusName, c.busName(), ParamLanguage, lang,
		ParamAlarmTopicARN, c.AlarmTopicARN, ParamCodeBucket, c.CodeBucket, ParamCodeKey, c.CodeKey,
		ParamApprovers, strings.Join(c.Approvers, ","), ParamAuditPrincipals, strings.Join(c.AuditPrincipals, ","),
		ParamAuditSchedule, cmp.Or(c.AuditSchedule, DefaultAuditSchedule), ParamStrictOUs, strings.Join(c.StrictOUs, ","),
		ParamDigestSchedule, cmp.Or(c.DigestSchedule, DefaultDigestSchedule))
	loc, _ := newaccount.ParseLocation(c.ModeConfig) // Validate checked it
	return append(out, params(ParamModeConfigBucket, loc.Bucket, ParamModeConfigKey, cmp.Or(loc.Key, DefaultModeConfigKey))...)
}

func params(kv ...string) []cfntypes.Parameter {
	var out []cfntypes.Parameter
	for i := 0; i < len(kv); i += 2 {
		out = append(out, cfntypes.Parameter{ParameterKey: aws.String(kv[i]), ParameterValue: aws.String(kv[i+1])})
	}
	return out
}

// Deployer plans and applies a deployment.
type Deployer struct {
	Config Config
	// Audit returns a client in the Audit account for a region, Management
	// one in the management account.
	Audit      func(region string) API
	Management func(region string) API
	// StackSets returns the client that administers the member StackSet:
	// Management when nil. With CallAs DELEGATED_ADMIN it is a client in
	// an account registered as StackSets delegated administrator.
	StackSets func(region string) API
	// IAMAdmin returns a client in the IAM delegated administrator
	// (Config.IAMAdminAccountID) for its AssumeRoot stacks. When it is nil
	// and there is such an administrator, Plan and Apply report a skipped
	// step saying so.
	IAMAdmin func(region string) API
	// Trails returns a CloudTrail client in the management account; when
	// set, Plan and Apply first check that a logging, multi-Region
	// organization trail exists (CheckTrail), and report it as a step of
	// kind "trail" that never fails the run.
	Trails func(region string) TrailAPI
	// CallAs is passed on every StackSet call: SELF (the default: the
	// management account) or DELEGATED_ADMIN.
	CallAs cfntypes.CallAs
	// KeepRemoved leaves the StackSet's instances outside Config's OUs and
	// regions, and rootguard's stacks where Config puts none (strays), in
	// place (Plan lists them as kept); by default Apply deletes them.
	KeepRemoved bool
	// OUParents is the organization's OU tree (OU or root id -> parent
	// id, "" for the root), as Check read it. When set, a change that
	// drops an OU containing a given one is refused: deleting the dropped
	// OU's instances would reach the given OU's accounts too.
	OUParents map[string]string
	// Warnings are what Check found that does not stop a deployment but
	// leaves something unwatched, one sentence each with its fix.
	Warnings []string
	// Progress receives a line per wait; nil for none.
	Progress io.Writer
	// Poll is the time between two polls of a change set, a stack or an
	// operation; 5 s when zero.
	Poll   time.Duration
	Logger *slog.Logger
	// Now names change sets; time.Now when nil.
	Now func() time.Time
}

// Action is what a step does or would do.
type Action string

// Actions.
const (
	Create    Action = "create"
	Update    Action = "update"
	Unchanged Action = "unchanged"
	Failed    Action = "failed"
	// Skipped: a stack that should exist but cannot be deployed with the
	// credentials given; Step.Error says why and what to give.
	Skipped Action = "skipped"
	// Delete: one of rootguard's stacks in a Region where the
	// configuration puts none (Step.Changes says why). Apply deletes it
	// last, and only when every other step succeeded.
	Delete Action = "delete"
)

// Step is one stack or the StackSet: what would be done (Plan) or what
// was done (Apply).
type Step struct {
	Kind    string   `json:"kind"`    // stack or stackset
	Name    string   `json:"name"`    // stack or StackSet name
	Account string   `json:"account"` // audit, management, iam-admin or delegated-admin: whose credentials
	Region  string   `json:"region"`
	Action  Action   `json:"action"`
	Applied bool     `json:"applied"`           // Apply did it
	Changes []string `json:"changes,omitempty"` // "Add RuleRootUser (AWS::Events::Rule)"
	// Instances counts the StackSet instances an update or a creation
	// succeeded in, Removed those a deletion removed; Failures names the
	// others.
	Instances int        `json:"instances,omitempty"`
	Removed   int        `json:"removed,omitempty"`
	Failures  []Instance `json:"failures,omitempty"`
	Error     string     `json:"error,omitempty"`
	// Missing says, on the "trail" step, what the organization's trail
	// lacks for the pipeline's events to exist (see CheckTrail).
	Missing []string `json:"missing,omitempty"`
}

// Instance is a StackSet instance an operation did not succeed in.
type Instance struct {
	Account string `json:"account"`
	Region  string `json:"region"`
	OU      string `json:"ou,omitempty"`
	// Operation is what failed there: update, create instances or delete
	// instances.
	Operation string `json:"operation,omitempty"`
	Status    string `json:"status"`
	Reason    string `json:"reason,omitempty"`
}

// Pending reports whether the step would change something.
func (s Step) Pending() bool { return s.Action == Create || s.Action == Update || s.Action == Delete }

// target is one stack to deploy.
type target struct {
	name, template, account, region string
	api                             API
	params                          []cfntypes.Parameter
}

func (d *Deployer) targets() []target {
	c := &d.Config
	ts := []target{{name: AuditStackName, template: AuditTemplate, account: "audit", region: c.HomeRegion,
		api: d.Audit(c.HomeRegion), params: c.auditParams()}}
	for _, r := range c.AllRegions() {
		if r != c.HomeRegion {
			ts = append(ts, target{name: AuditRegionStackName, template: AuditRegionTemplate, account: "audit", region: r,
				api: d.Audit(r), params: c.forwarderParams()})
		}
	}
	for _, r := range c.AllRegions() {
		ts = append(ts, target{name: ManagementStackName, template: ManagementTemplate, account: "management", region: r,
			api: d.Management(r), params: c.forwarderParams()})
	}
	for _, r := range c.OutsideRegions(c.EnabledRegions) {
		ts = append(ts, target{name: AssumeRootStackName, template: AssumeRootTemplate, account: "management", region: r,
			api: d.Management(r), params: c.forwarderParams()})
	}
	if d.IAMAdmin != nil && c.IAMAdminAccountID != "" {
		for _, r := range c.OutsideRegions(c.IAMAdminRegions) {
			ts = append(ts, target{name: AssumeRootStackName, template: AssumeRootTemplate, account: "iam-admin", region: r,
				api: d.IAMAdmin(r), params: c.forwarderParams()})
		}
	}
	return ts
}

// Plan says what Apply would do. It changes nothing: for a stack that
// exists it creates a change set to read the changes, then deletes it.
func (d *Deployer) Plan(ctx context.Context) ([]Step, error) {
	return d.run(ctx, false)
}

// Apply creates or updates every stack and the StackSet, in order: the
// Audit stack, the Audit account's regional stacks, the management
// account's stacks, the AssumeRoot stacks, the StackSet. Then, only if
// all of those succeeded (detection is never taken away before its
// replacement stands), it deletes rootguard's stacks found where the
// configuration puts none (see strays), one by one, each waited for to
// DELETE_COMPLETE. A step that fails is reported in its Step and the
// others still run; the error says how many failed.
func (d *Deployer) Apply(ctx context.Context) ([]Step, error) {
	return d.run(ctx, true)
}

func (d *Deployer) run(ctx context.Context, apply bool) ([]Step, error) {
	if err := d.Config.Validate(); err != nil {
		return nil, err
	}
	switch d.CallAs {
	case "", cfntypes.CallAsSelf, cfntypes.CallAsDelegatedAdmin:
	default:
		return nil, fmt.Errorf("deploy: CallAs %q: want SELF or DELEGATED_ADMIN", d.CallAs)
	}
	bodies := map[string]string{}
	for _, name := range []string{AuditTemplate, AuditRegionTemplate, ManagementTemplate, AssumeRootTemplate, MemberTemplate} {
		b, err := Render(name)
		if err != nil {
			return nil, err
		}
		if b, err = Compact(b); err != nil {
			return nil, fmt.Errorf("deploy: template %s: %w", name, err)
		}
		bodies[name] = string(b)
	}
	var steps []Step
	if d.Trails != nil {
		steps = append(steps, CheckTrail(ctx, d.Trails(d.Config.HomeRegion), d.Config.HomeRegion))
	}
	failed := 0
	for _, t := range d.targets() {
		if err := ctx.Err(); err != nil {
			return steps, err
		}
		s := d.stack(ctx, t, bodies[t.template], apply)
		if s.Action == Failed {
			failed++
		}
		steps = append(steps, s)
	}
	if c := d.Config; c.IAMAdminAccountID != "" && d.IAMAdmin == nil {
		// The IAM delegated administrator can open root sessions too, in
		// any Region enabled in it; without its credentials its
		// AssumeRoot stacks cannot be deployed, and that must be said.
		steps = append(steps, Step{Kind: "stack", Name: AssumeRootStackName, Account: "iam-admin", Region: "*", Action: Skipped,
			Error: fmt.Sprintf("no credentials for the IAM delegated administrator %s: sts:AssumeRoot calls it makes in Regions outside %s are not forwarded", c.IAMAdminAccountID, strings.Join(c.AllRegions(), ","))})
	}
	if err := ctx.Err(); err != nil {
		return steps, err
	}
	s := d.stackSet(ctx, bodies[MemberTemplate], apply)
	if s.Action == Failed || len(s.Failures) > 0 {
		failed++
	}
	steps = append(steps, s)
	if err := ctx.Err(); err != nil {
		return steps, err
	}
	// Deletions last, and none unless everything else stands.
	before := failed
	for _, st := range d.strays(ctx) {
		switch {
		case st.step.Action == Failed:
			failed++
		case !apply || st.step.Action != Delete:
		case before > 0:
			st.step.Error = fmt.Sprintf("kept: %d of the steps above failed, and a stack is deleted only once every other step has succeeded; fix them and run deploy apply again", before)
		default:
			if err := ctx.Err(); err != nil {
				return append(steps, st.step), err
			}
			if st.step = d.deleteStack(ctx, st); st.step.Action == Failed {
				failed++
			}
		}
		steps = append(steps, st.step)
	}
	if failed > 0 {
		return steps, fmt.Errorf("deploy: %d of %d steps failed", failed, len(steps))
	}
	return steps, nil
}

// stray is one of rootguard's stacks where the configuration puts none.
type stray struct {
	step Step
	api  API
	id   string // the stack's id, which still finds it once deleted
}

// strays finds rootguard's stacks, by their exact names, in the Regions
// where the configuration (targets) puts none: in the Audit account,
// AuditRegionStackName; in the management account, ManagementStackName
// and AssumeRootStackName; in the IAM delegated administrator (with its
// credentials), AssumeRootStackName. Each account is searched in the
// Regions enabled in it (Config's EnabledRegions, AuditRegions,
// IAMAdminRegions) and the governed ones: a Region that left the
// governed set, was dropped, or joined it (its AssumeRoot stack is then
// beside the management stack). No other name and no other account is
// ever looked at. A stack found is a step of action Delete (Unchanged,
// "Keep stack ...", with KeepRemoved), one that cannot be read or is busy
// with another operation a Failed step.
func (d *Deployer) strays(ctx context.Context) []stray {
	c := &d.Config
	want := map[[3]string]bool{}
	for _, t := range d.targets() {
		want[[3]string{t.account, t.region, t.name}] = true
	}
	governed := c.AllRegions()
	type search struct {
		account string
		api     func(string) API
		regions []string
		names   []string
	}
	// Only Regions known to be enabled in the account (and the governed
	// ones, which its stacks need): CloudFormation cannot be called in
	// another, and a failed call would fail the plan.
	iamAdminRegions := c.IAMAdminRegions
	if len(iamAdminRegions) == 0 {
		iamAdminRegions = governed
	}
	searches := []search{
		{"audit", d.Audit, union(governed, c.AuditRegions), []string{AuditRegionStackName}},
		{"management", d.Management, union(governed, c.EnabledRegions), []string{ManagementStackName, AssumeRootStackName}},
	}
	if d.IAMAdmin != nil && c.IAMAdminAccountID != "" {
		searches = append(searches, search{"iam-admin", d.IAMAdmin, iamAdminRegions, []string{AssumeRootStackName}})
	}
	var out []stray
	for _, se := range searches {
		for _, name := range se.names {
			for _, r := range se.regions {
				if want[[3]string{se.account, r, name}] {
					continue
				}
				if ctx.Err() != nil {
					return out
				}
				api := se.api(r)
				s := Step{Kind: "stack", Name: name, Account: se.account, Region: r}
				st, err := d.describeStack(ctx, api, name)
				switch {
				case err != nil:
					s.Action, s.Error = Failed, fmt.Sprintf("could not check for a stack left where none belongs: describe stack: %v", err)
				case st == nil:
					continue
				case st.StackStatus != cfntypes.StackStatusDeleteInProgress && st.StackStatus != cfntypes.StackStatusReviewInProgress &&
					strings.HasSuffix(string(st.StackStatus), "_IN_PROGRESS"):
					s.Action, s.Error = Failed, fmt.Sprintf("stack is %s, where none belongs (%s): another operation is running; run again when it ends", st.StackStatus, d.whyStray(name, se.account, r))
				case d.KeepRemoved:
					s.Action = Unchanged
					s.Changes = []string{"Keep stack (" + string(st.StackStatus) + "): " + d.whyStray(name, se.account, r) + "; kept (--keep-removed)"}
				default:
					s.Action = Delete
					s.Changes = []string{"Delete stack (" + string(st.StackStatus) + ") and its resources: " + d.whyStray(name, se.account, r)}
				}
				if s.Action == Failed {
					d.logger().Warn("deploy: stray stack", "stack", name, "account", se.account, "region", r, "err", s.Error)
				}
				var id string
				if st != nil {
					id = aws.ToString(st.StackId)
				}
				out = append(out, stray{step: s, api: api, id: id})
			}
		}
	}
	return out
}

// whyStray says why a stack of rootguard's does not belong in a Region.
func (d *Deployer) whyStray(name, account, region string) string {
	c := &d.Config
	governed := strings.Join(c.AllRegions(), ", ")
	switch {
	case name == AuditRegionStackName && region == c.HomeRegion:
		return region + " is the home Region, where the Audit stack (" + AuditStackName + ") does this"
	case name == AssumeRootStackName && slices.Contains(c.AllRegions(), region) && account == "iam-admin":
		return region + " is governed (" + governed + "): the member StackSet carries the AssumeRoot rule there"
	case name == AssumeRootStackName && slices.Contains(c.AllRegions(), region):
		return region + " is governed (" + governed + "): " + ManagementStackName + " carries the AssumeRoot rule there"
	case name == ManagementStackName && slices.Contains(c.OutsideRegions(c.EnabledRegions), region):
		return region + " is not governed (" + governed + "): " + AssumeRootStackName + " takes its place there"
	}
	return region + " is not governed (" + governed + ")"
}

// deleteStack deletes a stray stack and waits for DELETE_COMPLETE.
func (d *Deployer) deleteStack(ctx context.Context, st stray) Step {
	s := st.step
	fail := func(format string, args ...any) Step {
		s.Action, s.Error = Failed, fmt.Sprintf(format, args...)
		d.logger().Warn("deploy: delete stack failed", "stack", s.Name, "account", s.Account, "region", s.Region, "err", s.Error)
		return s
	}
	if _, err := st.api.DeleteStack(ctx, &cfn.DeleteStackInput{StackName: aws.String(st.id)}); err != nil {
		return fail("delete stack: %v", err)
	}
	for {
		cur, err := d.describeStack(ctx, st.api, st.id)
		if err != nil {
			return fail("describe stack: %v", err)
		}
		if cur == nil || cur.StackStatus == cfntypes.StackStatusDeleteComplete {
			break
		}
		if cur.StackStatus != cfntypes.StackStatusDeleteInProgress {
			return fail("stack ended %s: %s", cur.StackStatus, aws.ToString(cur.StackStatusReason))
		}
		d.progress("%s %s (%s): %s", s.Name, s.Region, s.Account, cur.StackStatus)
		if err := d.sleep(ctx); err != nil {
			return fail("%v", err)
		}
	}
	s.Applied = true
	return s
}

// union returns a's elements, then b's not in a.
func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, x := range b {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

func (d *Deployer) logger() *slog.Logger {
	if d.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return d.Logger
}

func (d *Deployer) progress(format string, args ...any) {
	if d.Progress != nil {
		fmt.Fprintf(d.Progress, "rootguard: "+format+"\n", args...)
	}
}

func (d *Deployer) poll() time.Duration {
	if d.Poll <= 0 {
		return 5 * time.Second
	}
	return d.Poll
}

// sleep waits one poll interval or until ctx is done.
func (d *Deployer) sleep(ctx context.Context) error {
	t := time.NewTimer(d.poll())
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (d *Deployer) changeSetName() string {
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	return fmt.Sprintf("rootguard-%d", now().UnixNano())
}

// stackNotFound reports DescribeStacks' answer for a stack that does not
// exist: a ValidationError, which CloudFormation also gives for other bad
// input, so its message is the only way to tell.
func stackNotFound(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "ValidationError" && strings.Contains(ae.ErrorMessage(), "does not exist")
}

// noChanges reports a change set that failed because the template and
// parameters are those of the stack: CloudFormation says so only in the
// status reason.
func noChanges(reason string) bool {
	return strings.Contains(reason, "didn't contain changes") || strings.Contains(reason, "No updates are to be performed")
}

func (d *Deployer) describeStack(ctx context.Context, api API, name string) (*cfntypes.Stack, error) {
	out, err := api.DescribeStacks(ctx, &cfn.DescribeStacksInput{StackName: aws.String(name)})
	if stackNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if len(out.Stacks) == 0 {
		return nil, nil
	}
	return &out.Stacks[0], nil
}

// stack plans or applies one stack through a change set.
func (d *Deployer) stack(ctx context.Context, t target, body string, apply bool) Step {
	s := Step{Kind: "stack", Name: t.name, Account: t.account, Region: t.region}
	fail := func(format string, args ...any) Step {
		s.Action, s.Error = Failed, fmt.Sprintf(format, args...)
		d.logger().Warn("deploy: stack failed", "stack", t.name, "account", t.account, "region", t.region, "err", s.Error)
		return s
	}
	st, err := d.describeStack(ctx, t.api, t.name)
	if err != nil {
		return fail("describe stack: %v", err)
	}
	csType := cfntypes.ChangeSetTypeUpdate
	s.Action = Update
	if st == nil || st.StackStatus == cfntypes.StackStatusReviewInProgress {
		csType, s.Action = cfntypes.ChangeSetTypeCreate, Create
	} else if !updatable(st.StackStatus) {
		return fail("stack is %s: %s", st.StackStatus, stackGuidance(st.StackStatus))
	}
	if !apply && csType == cfntypes.ChangeSetTypeCreate {
		// Creating a CREATE change set would create the stack (in
		// REVIEW_IN_PROGRESS): read the resources from the template.
		s.Changes = templateResources(body)
		return s
	}
	name := d.changeSetName()
	created, err := t.api.CreateChangeSet(ctx, &cfn.CreateChangeSetInput{
		StackName:     aws.String(t.name),
		ChangeSetName: aws.String(name),
		ChangeSetType: csType,
		TemplateBody:  aws.String(body),
		Parameters:    t.params,
		Capabilities:  []cfntypes.Capability{cfntypes.CapabilityCapabilityIam},
		Description:   aws.String("rootguard deploy"),
		Tags:          []cfntypes.Tag{{Key: aws.String("rootguard"), Value: aws.String(t.template)}},
	})
	if err != nil {
		return fail("create change set: %v", err)
	}
	id := aws.ToString(created.Id)
	cs, err := d.waitChangeSet(ctx, t, id)
	if err != nil {
		return fail("%v", err)
	}
	if cs.Status == cfntypes.ChangeSetStatusFailed {
		reason := aws.ToString(cs.StatusReason)
		if !noChanges(reason) {
			return fail("change set %s failed: %s", name, reason)
		}
		s.Action = Unchanged
		d.deleteChangeSet(ctx, t, id)
		return s
	}
	s.Changes = describeChanges(cs.Changes)
	if !apply {
		d.deleteChangeSet(ctx, t, id)
		return s
	}
	if _, err := t.api.ExecuteChangeSet(ctx, &cfn.ExecuteChangeSetInput{ChangeSetName: aws.String(id)}); err != nil {
		return fail("execute change set: %v", err)
	}
	final, err := d.waitStack(ctx, t)
	if err != nil {
		return fail("%v", err)
	}
	if final.StackStatus != cfntypes.StackStatusCreateComplete && final.StackStatus != cfntypes.StackStatusUpdateComplete {
		return fail("stack ended %s: %s", final.StackStatus, aws.ToString(final.StackStatusReason))
	}
	s.Applied = true
	return s
}

func (d *Deployer) deleteChangeSet(ctx context.Context, t target, id string) {
	if _, err := t.api.DeleteChangeSet(ctx, &cfn.DeleteChangeSetInput{ChangeSetName: aws.String(id)}); err != nil {
		// A left-over change set costs nothing and changes nothing.
		d.logger().Warn("deploy: delete change set", "stack", t.name, "region", t.region, "err", err)
	}
}

// updatable reports whether a change set may be made for a stack in
// this state.
func updatable(st cfntypes.StackStatus) bool {
	switch st {
	case cfntypes.StackStatusCreateComplete, cfntypes.StackStatusUpdateComplete,
		cfntypes.StackStatusUpdateRollbackComplete, cfntypes.StackStatusImportComplete,
		cfntypes.StackStatusImportRollbackComplete:
		return true
	}
	return false
}

func stackGuidance(st cfntypes.StackStatus) string {
	switch {
	case st == cfntypes.StackStatusRollbackComplete || st == cfntypes.StackStatusRollbackFailed || st == cfntypes.StackStatusCreateFailed:
		return "its creation failed; delete the stack and run again"
	case strings.HasSuffix(string(st), "_IN_PROGRESS"):
		return "another operation is running; run again when it ends"
	}
	return "fix the stack and run again"
}

func (d *Deployer) waitChangeSet(ctx context.Context, t target, id string) (*cfn.DescribeChangeSetOutput, error) {
	for {
		out, err := t.api.DescribeChangeSet(ctx, &cfn.DescribeChangeSetInput{ChangeSetName: aws.String(id)})
		if err != nil {
			return nil, fmt.Errorf("describe change set: %w", err)
		}
		switch out.Status {
		case cfntypes.ChangeSetStatusCreateComplete, cfntypes.ChangeSetStatusFailed:
			// Changes are paginated; the rest are read and appended.
			for tok := out.NextToken; tok != nil; {
				more, err := t.api.DescribeChangeSet(ctx, &cfn.DescribeChangeSetInput{ChangeSetName: aws.String(id), NextToken: tok})
				if err != nil {
					return nil, fmt.Errorf("describe change set: %w", err)
				}
				out.Changes = append(out.Changes, more.Changes...)
				tok = more.NextToken
			}
			return out, nil
		}
		d.progress("%s %s (%s): change set %s", t.name, t.region, t.account, out.Status)
		if err := d.sleep(ctx); err != nil {
			return nil, err
		}
	}
}

func (d *Deployer) waitStack(ctx context.Context, t target) (*cfntypes.Stack, error) {
	for {
		st, err := d.describeStack(ctx, t.api, t.name)
		if err != nil {
			return nil, fmt.Errorf("describe stack: %w", err)
		}
		if st == nil {
			return nil, fmt.Errorf("stack %s vanished", t.name)
		}
		if !strings.HasSuffix(string(st.StackStatus), "_IN_PROGRESS") {
			return st, nil
		}
		d.progress("%s %s (%s): %s", t.name, t.region, t.account, st.StackStatus)
		if err := d.sleep(ctx); err != nil {
			return nil, err
		}
	}
}

func describeChanges(cs []cfntypes.Change) []string {
	var out []string
	for _, c := range cs {
		rc := c.ResourceChange
		if rc == nil {
			continue
		}
		line := fmt.Sprintf("%s %s (%s)", rc.Action, aws.ToString(rc.LogicalResourceId), aws.ToString(rc.ResourceType))
		if rc.Replacement == cfntypes.ReplacementTrue {
			line += " replacing it"
		}
		out = append(out, line)
	}
	return out
}

// templateResources lists a template's resources as a change set for a
// new stack would.
func templateResources(body string) []string {
	v, err := decode([]byte(body))
	if err != nil {
		return nil
	}
	res, _ := v.(map[string]any)["Resources"].(map[string]any)
	var out []string
	for id, r := range res {
		typ, _ := r.(map[string]any)["Type"].(string)
		out = append(out, fmt.Sprintf("Add %s (%s)", id, typ))
	}
	slices.Sort(out)
	return out
}

// batch is the target of one CreateStackInstances or DeleteStackInstances
// call: every account under the OUs, in the regions.
type batch struct{ ous, regions []string }

// stackSet plans or applies the member StackSet: created with automatic
// deployment if missing; otherwise rid of its instances outside the OUs
// and regions given (unless KeepRemoved), updated if its template,
// parameters or settings differ, and given instances in the OUs and
// regions it lacks. Removals come last, and only when the update and the
// additions succeeded everywhere: detection is never taken away before
// its replacement stands. A given OU nested in a dropped one is refused
// (with OUParents known): deleting the dropped OU's instances would reach
// its accounts too.
func (d *Deployer) stackSet(ctx context.Context, body string, apply bool) Step {
	c := &d.Config
	api := d.stackSetAPI(c.HomeRegion)
	s := Step{Kind: "stackset", Name: StackSetName, Account: "management", Region: c.HomeRegion}
	callAs := d.CallAs
	if callAs == "" {
		callAs = cfntypes.CallAsSelf
	}
	if callAs == cfntypes.CallAsDelegatedAdmin {
		s.Account = "delegated-admin"
	}
	fail := func(format string, args ...any) Step {
		s.Action, s.Error = Failed, fmt.Sprintf(format, args...)
		d.logger().Warn("deploy: stack set failed", "stackset", StackSetName, "call_as", string(callAs), "err", s.Error)
		return s
	}
	regions := c.AllRegions()
	out, err := api.DescribeStackSet(ctx, &cfn.DescribeStackSetInput{StackSetName: aws.String(StackSetName), CallAs: callAs})
	var notFound *cfntypes.StackSetNotFoundException
	if err != nil && !errors.As(err, &notFound) {
		return fail("describe stack set: %v", err)
	}
	params := c.forwarderParams()
	auto := &cfntypes.AutoDeployment{Enabled: aws.Bool(true), RetainStacksOnAccountRemoval: aws.Bool(false)}
	prefs := &cfntypes.StackSetOperationPreferences{
		FailureTolerancePercentage: aws.Int32(failureTolerancePercentage),
		MaxConcurrentPercentage:    aws.Int32(maxConcurrentPercentage),
		RegionConcurrencyType:      cfntypes.RegionConcurrencyTypeParallel,
	}
	// Instances to add: new OUs in every region, and every old OU in
	// new regions, so that no call names an instance that exists.
	var adds, removes []batch
	update := false
	if err != nil {
		s.Action = Create
		adds = []batch{{c.OUs, regions}}
		s.Changes = append(s.Changes, fmt.Sprintf("Create stack set (service-managed, automatic deployment) with %d template resources", len(templateResources(body))))
	} else {
		ss := out.StackSet
		have, err := d.stackInstances(ctx, api, callAs)
		if err != nil {
			return fail("%v", err)
		}
		var outside []cfntypes.StackInstanceSummary
		removes, outside = removals(ss.OrganizationalUnitIds, ss.Regions, have, c.OUs, regions)
		if d.KeepRemoved {
			removes = nil
		}
		for _, b := range removes {
			for _, dropped := range b.ous {
				for _, ou := range c.OUs {
					if d.within(ou, dropped) {
						return fail("--ou %s is inside %s, which the StackSet targets and this deployment drops: deleting %s's instances would remove %s's too; "+
							"nothing was changed. Give both OUs, or --keep-removed, to keep detection (narrowing to an inner OU means deleting the outer OU's instances "+
							"yourself first, which leaves its accounts unwatched until deploy apply adds them again)",
							ou, dropped, dropped, ou)
					}
				}
			}
		}
		for _, b := range removes {
			s.Changes = append(s.Changes, fmt.Sprintf("Remove instances in OUs %s, regions %s", strings.Join(b.ous, ","), strings.Join(b.regions, ",")))
		}
		for _, in := range outside {
			verb, why := "Remove", ""
			if d.KeepRemoved {
				verb, why = "Keep", ": outside the OUs and regions given"
			}
			s.Changes = append(s.Changes, fmt.Sprintf("%s account %s region %s (OU %s, %s)%s", verb, aws.ToString(in.Account), aws.ToString(in.Region),
				aws.ToString(in.OrganizationalUnitId), instanceStatus(in), why))
		}
		update = aws.ToString(ss.TemplateBody) != body || !sameParams(ss.Parameters, params) ||
			ss.AutoDeployment == nil || !aws.ToBool(ss.AutoDeployment.Enabled) || aws.ToBool(ss.AutoDeployment.RetainStacksOnAccountRemoval) ||
			!slices.Contains(ss.Capabilities, cfntypes.CapabilityCapabilityIam)
		if update {
			s.Changes = append(s.Changes, "Update template and parameters of every instance")
		}
		var newOUs, newRegions []string
		for _, ou := range c.OUs {
			if !slices.Contains(ss.OrganizationalUnitIds, ou) {
				newOUs = append(newOUs, ou)
			}
		}
		for _, r := range regions {
			if !slices.Contains(ss.Regions, r) {
				newRegions = append(newRegions, r)
			}
		}
		if len(newOUs) > 0 {
			adds = append(adds, batch{newOUs, regions})
		}
		if oldOUs := without(c.OUs, newOUs); len(newRegions) > 0 && len(oldOUs) > 0 {
			adds = append(adds, batch{oldOUs, newRegions})
		}
		s.Action = Unchanged
		if update || len(adds) > 0 || len(removes) > 0 {
			s.Action = Update
		}
	}
	for _, b := range adds {
		s.Changes = append(s.Changes, fmt.Sprintf("Add instances in OUs %s, regions %s", strings.Join(b.ous, ","), strings.Join(b.regions, ",")))
	}
	if !apply || s.Action == Unchanged {
		return s
	}

	if s.Action == Create {
		_, err := api.CreateStackSet(ctx, &cfn.CreateStackSetInput{
			StackSetName:     aws.String(StackSetName),
			Description:      aws.String("rootguard: forwards root-user events from member accounts to the Audit account"),
			TemplateBody:     aws.String(body),
			Parameters:       params,
			Capabilities:     []cfntypes.Capability{cfntypes.CapabilityCapabilityIam},
			PermissionModel:  cfntypes.PermissionModelsServiceManaged,
			AutoDeployment:   auto,
			ManagedExecution: &cfntypes.ManagedExecution{Active: aws.Bool(true)},
			CallAs:           callAs,
		})
		if err != nil {
			return fail("create stack set: %v", err)
		}
	}
	if update {
		op, err := api.UpdateStackSet(ctx, &cfn.UpdateStackSetInput{
			StackSetName:         aws.String(StackSetName),
			TemplateBody:         aws.String(body),
			Parameters:           params,
			Capabilities:         []cfntypes.Capability{cfntypes.CapabilityCapabilityIam},
			PermissionModel:      cfntypes.PermissionModelsServiceManaged,
			AutoDeployment:       auto,
			ManagedExecution:     &cfntypes.ManagedExecution{Active: aws.Bool(true)},
			OperationPreferences: prefs,
			CallAs:               callAs,
		})
		if err != nil {
			return fail("update stack set: %v", err)
		}
		if err := d.waitOperation(ctx, api, callAs, aws.ToString(op.OperationId), "update", &s, &s.Instances); err != nil {
			return fail("%v", err)
		}
	}
	for _, b := range adds {
		op, err := api.CreateStackInstances(ctx, &cfn.CreateStackInstancesInput{
			StackSetName:         aws.String(StackSetName),
			DeploymentTargets:    &cfntypes.DeploymentTargets{OrganizationalUnitIds: b.ous},
			Regions:              b.regions,
			OperationPreferences: prefs,
			CallAs:               callAs,
		})
		if err != nil {
			return fail("create stack instances: %v", err)
		}
		if err := d.waitOperation(ctx, api, callAs, aws.ToString(op.OperationId), "create instances", &s, &s.Instances); err != nil {
			return fail("%v", err)
		}
	}
	// Removals only once the replacement stands: an addition or update
	// that failed anywhere leaves every old instance in place.
	if len(removes) > 0 && len(s.Failures) > 0 {
		s.Applied = true
		s.Error = fmt.Sprintf("%d stack instances failed; the instances outside the OUs and regions given were kept (removed only after every addition succeeds): fix the failures and run deploy apply again", len(s.Failures))
		return s
	}
	for _, b := range removes {
		op, err := api.DeleteStackInstances(ctx, &cfn.DeleteStackInstancesInput{
			StackSetName:         aws.String(StackSetName),
			DeploymentTargets:    &cfntypes.DeploymentTargets{OrganizationalUnitIds: b.ous},
			Regions:              b.regions,
			RetainStacks:         aws.Bool(false),
			OperationPreferences: prefs,
			CallAs:               callAs,
		})
		if err != nil {
			return fail("delete stack instances: %v", err)
		}
		if err := d.waitOperation(ctx, api, callAs, aws.ToString(op.OperationId), "delete instances", &s, &s.Removed); err != nil {
			return fail("%v", err)
		}
	}
	s.Applied = true
	if len(s.Failures) > 0 {
		s.Error = fmt.Sprintf("%d stack instances failed", len(s.Failures))
	}
	return s
}

func (d *Deployer) stackSetAPI(region string) API {
	if d.StackSets != nil {
		return d.StackSets(region)
	}
	return d.Management(region)
}

// stackInstances lists the StackSet's instances: for a service-managed
// StackSet, one per account and region, with the OU it came through.
func (d *Deployer) stackInstances(ctx context.Context, api API, callAs cfntypes.CallAs) ([]cfntypes.StackInstanceSummary, error) {
	var out []cfntypes.StackInstanceSummary
	pages := cfn.NewListStackInstancesPaginator(api, &cfn.ListStackInstancesInput{StackSetName: aws.String(StackSetName), CallAs: callAs})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list stack instances: %w", err)
		}
		out = append(out, page.Summaries...)
	}
	return out, nil
}

// removals groups the instances outside the OUs and regions wanted into
// DeleteStackInstances calls: the dropped OUs in every region the StackSet
// covers, then the OUs kept in the dropped regions. A call names every
// account under its OUs, so each names only OUs and regions none of whose
// instances is wanted; a dropped OU without instances is still named, so
// that automatic deployment stops adding accounts there. targetOUs and
// targetRegions are the StackSet's (DescribeStackSet); the instances the
// calls remove are returned sorted by account and region.
func removals(targetOUs, targetRegions []string, have []cfntypes.StackInstanceSummary, ous, regions []string) ([]batch, []cfntypes.StackInstanceSummary) {
	curOUs, curRegions := slices.Clone(targetOUs), slices.Clone(targetRegions)
	for _, in := range have {
		if ou := aws.ToString(in.OrganizationalUnitId); ou != "" && !slices.Contains(curOUs, ou) {
			curOUs = append(curOUs, ou)
		}
		if r := aws.ToString(in.Region); r != "" && !slices.Contains(curRegions, r) {
			curRegions = append(curRegions, r)
		}
	}
	droppedOUs, droppedRegions := without(curOUs, ous), without(curRegions, regions)
	keptOUs := without(curOUs, droppedOUs)
	var bs []batch
	if len(droppedOUs) > 0 {
		bs = append(bs, batch{droppedOUs, curRegions})
	}
	if len(droppedRegions) > 0 && len(keptOUs) > 0 {
		bs = append(bs, batch{keptOUs, droppedRegions})
	}
	var gone []cfntypes.StackInstanceSummary
	for _, in := range have {
		ou, r := aws.ToString(in.OrganizationalUnitId), aws.ToString(in.Region)
		if ou != "" && (slices.Contains(droppedOUs, ou) || slices.Contains(droppedRegions, r)) {
			gone = append(gone, in)
		}
	}
	slices.SortFunc(gone, func(a, b cfntypes.StackInstanceSummary) int {
		return strings.Compare(aws.ToString(a.Account)+"/"+aws.ToString(a.Region), aws.ToString(b.Account)+"/"+aws.ToString(b.Region))
	})
	return bs, gone
}

// instanceStatus is an instance's status as the console shows it:
// CURRENT, or OUTDATED with the detailed status (FAILED, ...).
func instanceStatus(in cfntypes.StackInstanceSummary) string {
	st := string(in.Status)
	if in.StackInstanceStatus != nil && in.StackInstanceStatus.DetailedStatus != "" && in.Status != cfntypes.StackInstanceStatusCurrent {
		st += " " + string(in.StackInstanceStatus.DetailedStatus)
	}
	return st
}

func without(all, some []string) []string {
	var out []string
	for _, x := range all {
		if !slices.Contains(some, x) {
			out = append(out, x)
		}
	}
	return out
}

func sameParams(have, want []cfntypes.Parameter) bool {
	m := map[string]string{}
	for _, p := range have {
		m[aws.ToString(p.ParameterKey)] = aws.ToString(p.ParameterValue)
	}
	if len(m) != len(want) {
		return false
	}
	for _, p := range want {
		if v, ok := m[aws.ToString(p.ParameterKey)]; !ok || v != aws.ToString(p.ParameterValue) {
			return false
		}
	}
	return true
}

// waitOperation polls a StackSet operation to its end, reporting progress,
// then reads its results into s: instances that succeeded are counted in
// succeeded, the others named with their account and region.
func (d *Deployer) waitOperation(ctx context.Context, api API, callAs cfntypes.CallAs, id, what string, s *Step, succeeded *int) error {
	start := time.Now()
	var op *cfntypes.StackSetOperation
	for {
		out, err := api.DescribeStackSetOperation(ctx, &cfn.DescribeStackSetOperationInput{
			StackSetName: aws.String(StackSetName), OperationId: aws.String(id), CallAs: callAs})
		if err != nil {
			return fmt.Errorf("describe stack set operation %s: %w", id, err)
		}
		op = out.StackSetOperation
		if op == nil {
			return fmt.Errorf("describe stack set operation %s: no operation in the answer", id)
		}
		failedSoFar := int32(0)
		if op.StatusDetails != nil {
			failedSoFar = aws.ToInt32(op.StatusDetails.FailedStackInstancesCount)
		}
		d.progress("%s %s: %s %s after %s, %d instances failed so far", StackSetName, what, id, op.Status,
			time.Since(start).Round(time.Second), failedSoFar)
		switch op.Status {
		case cfntypes.StackSetOperationStatusSucceeded, cfntypes.StackSetOperationStatusFailed, cfntypes.StackSetOperationStatusStopped:
		default:
			if err := d.sleep(ctx); err != nil {
				return err
			}
			continue
		}
		break
	}
	pages := cfn.NewListStackSetOperationResultsPaginator(api, &cfn.ListStackSetOperationResultsInput{
		StackSetName: aws.String(StackSetName), OperationId: aws.String(id), CallAs: callAs})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list results of stack set operation %s: %w", id, err)
		}
		for _, r := range page.Summaries {
			if r.Status == cfntypes.StackSetOperationResultStatusSucceeded {
				*succeeded++
				continue
			}
			s.Failures = append(s.Failures, Instance{
				Account: aws.ToString(r.Account), Region: aws.ToString(r.Region), OU: aws.ToString(r.OrganizationalUnitId),
				Operation: what, Status: string(r.Status), Reason: aws.ToString(r.StatusReason),
			})
		}
	}
	if op.Status != cfntypes.StackSetOperationStatusSucceeded && len(s.Failures) == 0 {
		return fmt.Errorf("stack set operation %s %s: %s", id, op.Status, aws.ToString(op.StatusReason))
	}
	return nil
}
