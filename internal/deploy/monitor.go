package deploy

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/cloudformation/iam"
	"github.com/awslabs/goformation/v7/cloudformation/logs"
	"github.com/awslabs/goformation/v7/cloudformation/policies"
	"github.com/awslabs/goformation/v7/cloudformation/s3"
	"github.com/awslabs/goformation/v7/cloudformation/scheduler"
)

// Parameters of the scheduled audit, in the audit template.
const (
	// ParamAuditSchedule is the EventBridge Scheduler expression of the
	// scheduled audit (rate(...) or cron(...)).
	ParamAuditSchedule = "AuditSchedule"
	// ParamStrictOUs are comma-separated OU paths whose accounts keep no
	// root credentials: an account leaving one pages.
	ParamStrictOUs = "StrictOUs"
)

// DefaultAuditSchedule runs the scheduled audit once a day.
const DefaultAuditSchedule = "rate(1 day)"

// auditScheduleInput is what the schedule sends the audit function
// (monitor.Command).
const auditScheduleInput = `{"rootguard":"audit"}`

// Settings of the scheduled audit.
const (
	// auditTimeout is Lambda's maximum: a run audits every account.
	auditTimeout = 900
	auditMemory  = 1024
	// historyNoncurrentDays keeps an overwritten or deleted audit object
	// this long in the versioned bucket.
	historyNoncurrentDays = 365
	// scheduleRetries: a run that failed is retried by the schedule; the
	// run pages before it writes, so a retry never loses a page.
	scheduleRetries      = 2
	scheduleMaxAgeSecond = 3600
)

// rootAuditTaskPolicy is the AWS managed policy that scopes the audit's
// root sessions ("IAMAuditRootUserCredentials", IAM User Guide,
// security-iam-awsmanpol).
var rootAuditTaskPolicy = sub("arn:${AWS::Partition}:iam::aws:policy/root-task/IAMAuditRootUserCredentials")

// addScheduledAudit adds the scheduled audit to the audit template: a
// second function from the same code (the binary's audit handler), run
// by an EventBridge Scheduler schedule, keeping each run in a versioned,
// KMS-encrypted S3 bucket and paging through the alert topic. A second
// function rather than the alert function: its own role (root audit
// sessions, Organizations reads, Security Hub imports), Lambda's
// 15-minute timeout and more memory, one run at a time, and a long audit
// never delays an alert.
func addScheduledAudit(t *cloudformation.Template) {
	t.Parameters[ParamAuditSchedule] = cloudformation.Parameter{Type: "String", Default: DefaultAuditSchedule,
		Description:    str("When the scheduled audit runs: an EventBridge Scheduler rate() or cron() expression (UTC)."),
		AllowedPattern: str(`^(rate|cron)\(.+\)$`), ConstraintDescription: str("rate(...) or cron(...)")}
	t.Parameters[ParamStrictOUs] = cloudformation.Parameter{Type: "String", Default: "",
		Description: str("Comma-separated OU paths (as rootguard audit reports them) whose accounts keep no root credentials; an account leaving one pages. Used only when ModeConfigBucket is empty: rootguard.yaml's strict OUs count instead.")}

	t.Resources["HistoryBucket"] = &s3.Bucket{
		VersioningConfiguration: &s3.Bucket_VersioningConfiguration{Status: "Enabled"},
		BucketEncryption: &s3.Bucket_BucketEncryption{ServerSideEncryptionConfiguration: []s3.Bucket_ServerSideEncryptionRule{{
			BucketKeyEnabled: boolean(true),
			ServerSideEncryptionByDefault: &s3.Bucket_ServerSideEncryptionByDefault{
				SSEAlgorithm: "aws:kms", KMSMasterKeyID: getAttPtr("Key", "Arn")},
		}}},
		PublicAccessBlockConfiguration: &s3.Bucket_PublicAccessBlockConfiguration{
			BlockPublicAcls: boolean(true), BlockPublicPolicy: boolean(true), IgnorePublicAcls: boolean(true), RestrictPublicBuckets: boolean(true)},
		OwnershipControls: &s3.Bucket_OwnershipControls{Rules: []s3.Bucket_OwnershipControlsRule{{ObjectOwnership: str("BucketOwnerEnforced")}}},
		LifecycleConfiguration: &s3.Bucket_LifecycleConfiguration{Rules: []s3.Bucket_Rule{{
			Id: str("expire-old-versions"), Status: "Enabled",
			NoncurrentVersionExpiration: &s3.Bucket_NoncurrentVersionExpiration{NoncurrentDays: historyNoncurrentDays},
		}}},
		AWSCloudFormationDeletionPolicy:      policies.DeletionPolicy("Retain"),
		AWSCloudFormationUpdateReplacePolicy: policies.UpdateReplacePolicy("Retain"),
	}
	t.Resources["HistoryBucketPolicy"] = &s3.BucketPolicy{
		Bucket: ref("HistoryBucket"),
		PolicyDocument: document(statement{
			Sid: "DenyInsecureTransport", Effect: "Deny", Principal: "*",
			Action:    []string{"s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:DeleteObject"},
			Resource:  []any{getAtt("HistoryBucket", "Arn"), sub("${HistoryBucket.Arn}/*")},
			Condition: map[string]map[string]any{"Bool": {"aws:SecureTransport": "false"}},
		}),
	}
	t.Resources["AuditLogGroup"] = &logs.LogGroup{RetentionInDays: integer(logRetentionDays)}
	t.Resources["AuditFunctionRole"] = &iam.Role{
		Description:              str("rootguard: the scheduled audit function's execution role"),
		AssumeRolePolicyDocument: servicePrincipalTrust("lambda.amazonaws.com", false),
	}
	t.Resources["AuditFunctionPolicy"] = &iam.RolePolicy{
		RoleName:   ref("AuditFunctionRole"),
		PolicyName: "rootguard-scheduled-audit",
		PolicyDocument: document(
			allow("WriteLogs", []string{"logs:CreateLogStream", "logs:PutLogEvents"}, getAtt("AuditLogGroup", "Arn")),
			allow("PublishAlerts", []string{"sns:Publish"}, ref("AlertTopic")),
			allow("KeepHistory", []string{"s3:GetObject", "s3:PutObject"}, sub("${HistoryBucket.Arn}/*")),
			allow("ListHistory", []string{"s3:ListBucket"}, getAtt("HistoryBucket", "Arn")),
			// The organization, its OUs, accounts and SCPs, as `rootguard
			// audit` reads them: Organizations answers the management
			// account or a delegated administrator.
			allow("ReadOrganization", readOrganizationActions, "*"),
			// Root sessions scoped to reading root's credentials, and only
			// those ("sts:TaskPolicyArn", IAM User Guide, centralized root
			// access).
			statement{Sid: "AuditRootSessions", Effect: "Allow", Action: []string{"sts:AssumeRoot"}, Resource: "*",
				Condition: map[string]map[string]any{"StringEquals": {"sts:TaskPolicyArn": rootAuditTaskPolicy}}},
			allow("SecurityHubFindings", []string{"securityhub:BatchImportFindings", "securityhub:GetFindings"}, "*"),
			allow("DeadLetters", []string{"sqs:SendMessage"}, getAtt("DeadLetterQueue", "Arn")),
		),
	}
	fn := goFunction("rootguard: the scheduled audit of every account's root user",
		"AuditFunctionRole", "AuditFunctionPolicy", "AuditLogGroup", auditMemory, auditTimeout, map[string]string{
			"HISTORY":    sub("s3://${HistoryBucket}/${OrganizationId}"),
			"TOPIC_ARN":  ref("AlertTopic"),
			"LANGUAGE":   ref(ParamLanguage),
			"STRICT_OUS": ref(ParamStrictOUs),
		})
	// One run at a time: a second tick waits for (or is retried after)
	// the first.
	fn.ReservedConcurrentExecutions = integer(1)
	t.Resources["AuditFunction"] = fn
	// The schedule invokes asynchronously: Lambda retries nothing, the
	// schedule's retry policy does, then its dead-letter queue.
	t.Resources["AuditFunctionEventInvokeConfig"] = asyncInvokeConfig("AuditFunction", "AuditFunctionPolicy", 0)
	t.Resources["SchedulerRole"] = &iam.Role{
		Description:              str("rootguard: lets EventBridge Scheduler start the scheduled audit, and nothing else"),
		AssumeRolePolicyDocument: servicePrincipalTrust("scheduler.amazonaws.com", true),
	}
	// A separate resource, as the functions' policies: the key policy
	// names the role.
	t.Resources["SchedulerPolicy"] = &iam.RolePolicy{
		RoleName:   ref("SchedulerRole"),
		PolicyName: "invoke-audit-function",
		PolicyDocument: document(
			allow("InvokeAudit", []string{"lambda:InvokeFunction"}, getAtt("AuditFunction", "Arn")),
			// "Configuring a schedule's dead-letter queue", EventBridge
			// Scheduler User Guide: the execution role sends to it.
			allow("DeadLetters", []string{"sqs:SendMessage"}, getAtt("DeadLetterQueue", "Arn")),
		),
	}
	t.Resources["AuditRunSchedule"] = auditFunctionSchedule("rootguard: starts the scheduled audit of every account's root user", ParamAuditSchedule, auditScheduleInput)
	t.Resources["AuditFunctionErrorsAlarm"] = functionErrorsAlarm("AuditFunction", "rootguard: the scheduled audit failed; the organization's root state was not checked")
	t.Outputs["HistoryBucketName"] = cloudformation.Output{Value: ref("HistoryBucket"),
		Description: str("The scheduled audit's history: rootguard audit history --from s3://BUCKET/ORGANIZATION_ID")}
	t.Outputs["AuditFunctionName"] = cloudformation.Output{Value: ref("AuditFunction")}
}

// OrganizationsAPI is the part of the Organizations client
// CheckAuditAccount calls; *organizations.Client implements it.
type OrganizationsAPI interface {
	DescribeOrganization(context.Context, *organizations.DescribeOrganizationInput, ...func(*organizations.Options)) (*organizations.DescribeOrganizationOutput, error)
	ListDelegatedAdministrators(context.Context, *organizations.ListDelegatedAdministratorsInput, ...func(*organizations.Options)) (*organizations.ListDelegatedAdministratorsOutput, error)
}

// iamServicePrincipal is the service whose delegated administrator may
// open root sessions (sts:AssumeRoot) in member accounts.
const iamServicePrincipal = "iam.amazonaws.com"

// AuditPlacement says whether the Audit account, where the scheduled
// audit runs, may open root sessions: "You must use credentials from an
// Organizations management account or a delegated administrator account
// for IAM to call AssumeRoot" (AssumeRoot, AWS STS API Reference).
type AuditPlacement struct {
	AuditAccount      string   `json:"auditAccount"`
	ManagementAccount string   `json:"managementAccount"`
	IAMDelegatedAdmin []string `json:"iamDelegatedAdministrators"`
	// As is "delegated-administrator", "management" or "" (it may not).
	As string `json:"as"`
}

// OK reports whether the scheduled audit can open root sessions from
// the Audit account.
func (p AuditPlacement) OK() bool { return p.As != "" }

// String says which account opens the scheduled audit's root sessions,
// or what to do.
func (p AuditPlacement) String() string {
	switch p.As {
	case "delegated-administrator":
		return fmt.Sprintf("the scheduled audit runs in the Audit account %s, the IAM delegated administrator for centralized root access (recommended)", p.AuditAccount)
	case "management":
		return fmt.Sprintf("the scheduled audit runs in the management account %s, which may open root sessions; AWS recommends a delegated administrator (the Audit account) instead", p.AuditAccount)
	}
	who := "no account is"
	if len(p.IAMDelegatedAdmin) > 0 {
		who = strings.Join(p.IAMDelegatedAdmin, ", ") + " is"
	}
	return fmt.Sprintf("the Audit account %s may not open root sessions: %s the IAM delegated administrator and %s is the management account; "+
		"register it (aws organizations register-delegated-administrator --service-principal %s --account-id %s) or deploy with --audit-account set to one that is; "+
		"until then every scheduled audit fails", p.AuditAccount, who, p.ManagementAccount, iamServicePrincipal, p.AuditAccount)
}

// CheckAuditAccount reads, with credentials in the management account
// (or an Organizations delegated administrator), which account may open
// root sessions, and says whether the Audit account is one.
func CheckAuditAccount(ctx context.Context, api OrganizationsAPI, auditAccount string) (AuditPlacement, error) {
	p := AuditPlacement{AuditAccount: auditAccount}
	org, err := api.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	if err != nil {
		return p, fmt.Errorf("deploy: describe the organization: %w", err)
	}
	p.ManagementAccount = aws.ToString(org.Organization.MasterAccountId)
	pg := organizations.NewListDelegatedAdministratorsPaginator(api, &organizations.ListDelegatedAdministratorsInput{ServicePrincipal: aws.String(iamServicePrincipal)})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return p, fmt.Errorf("deploy: list the delegated administrators of %s: %w", iamServicePrincipal, err)
		}
		for _, d := range page.DelegatedAdministrators {
			p.IAMDelegatedAdmin = append(p.IAMDelegatedAdmin, aws.ToString(d.Id))
		}
	}
	switch {
	case slices.Contains(p.IAMDelegatedAdmin, auditAccount):
		p.As = "delegated-administrator"
	case auditAccount == p.ManagementAccount:
		p.As = "management"
	}
	return p, nil
}

// auditFunctionSchedule starts the audit function with input on the
// schedule the parameter param gives, through the scheduler's role,
// retrying and then dead-lettering a start that fails.
func auditFunctionSchedule(description, param, input string) *scheduler.Schedule {
	return &scheduler.Schedule{
		Description:        str(description),
		ScheduleExpression: ref(param),
		FlexibleTimeWindow: &scheduler.Schedule_FlexibleTimeWindow{Mode: "OFF"},
		State:              str("ENABLED"),
		Target: &scheduler.Schedule_Target{
			Arn:     getAtt("AuditFunction", "Arn"),
			RoleArn: getAtt("SchedulerRole", "Arn"),
			Input:   str(input),
			RetryPolicy: &scheduler.Schedule_RetryPolicy{
				MaximumRetryAttempts: float(scheduleRetries), MaximumEventAgeInSeconds: float(scheduleMaxAgeSecond)},
			DeadLetterConfig: &scheduler.Schedule_DeadLetterConfig{Arn: getAttPtr("DeadLetterQueue", "Arn")},
		},
		AWSCloudFormationDependsOn: []string{"SchedulerPolicy"},
	}
}
