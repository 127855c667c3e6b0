package deploy

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/cloudformation/cloudwatch"
	"github.com/awslabs/goformation/v7/cloudformation/dynamodb"
	"github.com/awslabs/goformation/v7/cloudformation/events"
	"github.com/awslabs/goformation/v7/cloudformation/iam"
	"github.com/awslabs/goformation/v7/cloudformation/kms"
	"github.com/awslabs/goformation/v7/cloudformation/lambda"
	"github.com/awslabs/goformation/v7/cloudformation/logs"
	"github.com/awslabs/goformation/v7/cloudformation/policies"
	"github.com/awslabs/goformation/v7/cloudformation/sns"
	"github.com/awslabs/goformation/v7/cloudformation/sqs"

	"github.com/rootguard/rootguard/internal/detect"
	"github.com/rootguard/rootguard/internal/newaccount"
	"github.com/rootguard/rootguard/internal/notify"
)

// Template names. `rootguard deploy print` writes each as NAME.json.
const (
	AuditTemplate          = "audit"           // Audit account, home region
	AuditRegionTemplate    = "audit-region"    // Audit account, every other governed region
	MemberTemplate         = "member"          // member accounts, through the StackSet
	ManagementTemplate     = "management"      // management account, every governed region
	MemberStackSetTemplate = "member-stackset" // the StackSet as a resource, for pipelines
	// AssumeRootTemplate holds the AssumeRoot rule alone, for the enabled
	// Regions of the management account and of the IAM delegated
	// administrator that the governed regions leave out: CloudTrail logs
	// sts:AssumeRoot in the Region of the STS endpoint that served it,
	// and AssumeRoot has only Regional endpoints, so a root session opened
	// in any enabled Region is seen only by a rule in that Region.
	AssumeRootTemplate = "assumeroot"
)

// TemplateNames lists the templates in the order they are deployed.
var TemplateNames = []string{AuditTemplate, AuditRegionTemplate, ManagementTemplate, AssumeRootTemplate, MemberTemplate, MemberStackSetTemplate}

// Template parameters.
const (
	ParamOrganizationID = "OrganizationId"
	ParamAuditAccountID = "AuditAccountId"
	ParamEventBusName   = "EventBusName"
	ParamHomeRegion     = "HomeRegion"
	ParamLanguage       = "Language"
	ParamAlarmTopicARN  = "AlarmTopicArn"
	ParamCodeBucket     = "CodeS3Bucket"
	ParamCodeKey        = "CodeS3Key"
	ParamOUs            = "OrganizationalUnitIds"
	ParamRegions        = "Regions"
	// ParamApprovers and ParamAuditPrincipals are comma-separated principal
	// ARN patterns: who may approve root use (checked again by the alert
	// function), and rootguard's scheduled-audit principals, whose
	// IAMAuditRootUserCredentials sessions a standing approval covers.
	ParamApprovers       = "Approvers"
	ParamAuditPrincipals = "AuditPrincipals"
)

// DefaultEventBusName names the Audit account's event bus when the
// EventBusName parameter is not given.
const DefaultEventBusName = "rootguard"

// RuleState is the state of every rule: a rule in the plain ENABLED state
// never receives read-only management events, and root's read-only calls
// are findings too.
const RuleState = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"

// MaxTemplateBody is the largest template CloudFormation takes inline
// (TemplateBody), in bytes.
const MaxTemplateBody = 51200

// Retry and retention settings.
const (
	dlqRetentionSeconds   = 14 * 24 * 3600 // SQS's maximum
	lambdaTargetRetries   = 8
	lambdaTargetMaxAgeSec = 3600
	asyncRetries          = 2
	logRetentionDays      = 365
)

// Template is a rendered template.
type Template struct {
	Name string
	Body []byte // indented JSON
}

// Templates builds and renders every template, in TemplateNames order.
func Templates() ([]Template, error) {
	var out []Template
	for _, name := range TemplateNames {
		body, err := Render(name)
		if err != nil {
			return nil, err
		}
		out = append(out, Template{Name: name, Body: body})
	}
	return out, nil
}

// Render builds the named template and renders it as indented JSON.
func Render(name string) ([]byte, error) {
	t, err := Build(name)
	if err != nil {
		return nil, err
	}
	return render(t)
}

// Build returns the named template.
func Build(name string) (*cloudformation.Template, error) {
	switch name {
	case AuditTemplate:
		return auditTemplate(), nil
	case AuditRegionTemplate:
		return forwarderTemplate("rootguard: forwards GuardDuty's root-credential findings from this region's default event bus in the Audit account to the rootguard event bus in the home region.",
			guardDutyPatterns(detect.EventPatterns())), nil
	case MemberTemplate:
		return forwarderTemplate("rootguard: forwards root-user activity and root-access governance events from this member account and region to the Audit account's rootguard event bus. Deployed by a service-managed StackSet.",
			detect.EventPatterns()), nil
	case ManagementTemplate:
		return forwarderTemplate("rootguard: forwards root-user activity, root-access governance events and account lifecycle events (Organizations, Control Tower) from the management account in this region to the Audit account's rootguard event bus.",
			unionPatterns(detect.EventPatterns(), detect.ManagementPatterns(), newaccount.Patterns())), nil
	case AssumeRootTemplate:
		return forwarderTemplate("rootguard: forwards sts:AssumeRoot calls (root sessions issued) made in this account and region to the Audit account's rootguard event bus, for regions outside the governed ones.",
			assumeRootPatterns(detect.ManagementPatterns())), nil
	case MemberStackSetTemplate:
		member, err := Render(MemberTemplate)
		if err != nil {
			return nil, err
		}
		body, err := Compact(member)
		if err != nil {
			return nil, err
		}
		return stackSetTemplate(string(body)), nil
	}
	return nil, fmt.Errorf("deploy: unknown template %q", name)
}

// Compact returns a rendered template without insignificant white space,
// as it is sent to CloudFormation. It fails if the result is over
// MaxTemplateBody.
func Compact(body []byte) ([]byte, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, body); err != nil {
		return nil, fmt.Errorf("deploy: compact template: %w", err)
	}
	if buf.Len() > MaxTemplateBody {
		return nil, fmt.Errorf("deploy: template is %d bytes, over CloudFormation's %d for an inline template", buf.Len(), MaxTemplateBody)
	}
	return buf.Bytes(), nil
}

// unionPatterns returns the patterns of all sets, each once, in order.
func unionPatterns(sets ...[]detect.Pattern) []detect.Pattern {
	var out []detect.Pattern
	var seen []string
	for _, set := range sets {
		for _, p := range set {
			b, _ := json.Marshal(p) // patterns are plain data
			if !slices.Contains(seen, string(b)) {
				seen = append(seen, string(b))
				out = append(out, p)
			}
		}
	}
	return out
}

// assumeRootPatterns selects the patterns that admit sts:AssumeRoot.
func assumeRootPatterns(ps []detect.Pattern) []detect.Pattern {
	var out []detect.Pattern
	for _, p := range ps {
		detail, _ := p["detail"].(map[string]any)
		if slices.Contains(patternStrings(detail["eventName"]), "AssumeRoot") {
			out = append(out, p)
		}
	}
	return out
}

// guardDutyPatterns selects the patterns for GuardDuty findings.
func guardDutyPatterns(ps []detect.Pattern) []detect.Pattern {
	var out []detect.Pattern
	for _, p := range ps {
		if slices.Contains(patternStrings(p["source"]), "aws.guardduty") {
			out = append(out, p)
		}
	}
	return out
}

func patternStrings(v any) []string {
	switch v := v.(type) {
	case []string:
		return v
	case []any:
		var out []string
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// ruleIDs names the rule of each pattern for its logical id, so that ids
// stay put when a pattern is added: RootUser for the root user's own
// activity, else the event sources (Sts, Iam, Guardduty), else the event
// types; repeated names get a number.
func ruleIDs(prefix string, ps []detect.Pattern) []string {
	var ids []string
	for i, p := range ps {
		detail, _ := p["detail"].(map[string]any)
		var name string
		switch {
		case detail["userIdentity"] != nil:
			name = "RootUser"
		case len(patternStrings(p["source"])) > 0:
			for _, s := range patternStrings(p["source"]) {
				name += camel(strings.TrimPrefix(s, "aws."))
			}
		case len(patternStrings(detail["eventType"])) > 0:
			name = "EventType"
			for _, s := range patternStrings(detail["eventType"]) {
				name += camel(s)
			}
		default:
			name = fmt.Sprintf("Pattern%d", i+1)
		}
		id := prefix + name
		for n := 2; slices.Contains(ids, id); n++ {
			id = fmt.Sprintf("%s%s%d", prefix, name, n)
		}
		ids = append(ids, id)
	}
	return ids
}

// camel turns "guard-duty.x" into "GuardDutyX".
func camel(s string) string {
	var b strings.Builder
	up := true
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			up = true
			continue
		}
		if up {
			r = unicode.ToUpper(r)
			up = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// The intrinsic functions used in typed string fields: goformation encodes
// them, render decodes them.
var (
	ref    = cloudformation.Ref
	refPtr = cloudformation.RefPtr
	getAtt = cloudformation.GetAtt
	sub    = cloudformation.Sub
)

func getAttPtr(id, attr string) *string { return cloudformation.GetAttPtr(id, attr) }
func str(s string) *string              { return &s }
func integer(n int) *int                { return &n }
func boolean(b bool) *bool              { return &b }
func float(f float64) *float64          { return &f }

func accountIDParameter(desc string) cloudformation.Parameter {
	return cloudformation.Parameter{Type: "String", Description: str(desc),
		AllowedPattern: str(`^\d{12}$`), ConstraintDescription: str("a 12-digit account id")}
}

func eventBusNameParameter() cloudformation.Parameter {
	return cloudformation.Parameter{Type: "String", Default: DefaultEventBusName,
		Description:    str("The name of the custom event bus in the Audit account."),
		AllowedPattern: str(`^[A-Za-z0-9._-]{1,256}$`)}
}

func forwarderParameters() cloudformation.Parameters {
	return cloudformation.Parameters{
		ParamAuditAccountID: accountIDParameter("The Audit account, which holds the rootguard event bus."),
		ParamEventBusName:   eventBusNameParameter(),
		ParamHomeRegion: {Type: "String", Description: str("The region of the rootguard event bus in the Audit account."),
			AllowedPattern: str(`^[a-z]{2}(-[a-z]+)+-\d+$`), ConstraintDescription: str("a region name such as us-east-1")},
	}
}

// auditBusARN is the ARN of the Audit account's bus, from the forwarder
// parameters.
var auditBusARN = sub("arn:${AWS::Partition}:events:${HomeRegion}:${AuditAccountId}:event-bus/${EventBusName}")

// forwarderTemplate builds the rules of a member, management or
// audit-region stack: one rule per pattern on the default bus, each
// sending to the Audit account's bus through a role that may put events
// on that bus only, with a dead-letter queue in this account and region.
// (EventBridge takes no retry policy for an event-bus target.)
func forwarderTemplate(desc string, patterns []detect.Pattern) *cloudformation.Template {
	t := cloudformation.NewTemplate()
	t.Description = desc
	t.Parameters = forwarderParameters()
	ids := ruleIDs("Rule", patterns)
	var ruleARNs []any
	for i, p := range patterns {
		t.Resources[ids[i]] = &events.Rule{
			Description:  str("rootguard: forwards the events of pattern " + strings.TrimPrefix(ids[i], "Rule") + " to the Audit account's event bus"),
			EventPattern: p,
			State:        str(RuleState),
			Targets: []events.Rule_Target{{
				Id:               "audit-event-bus",
				Arn:              auditBusARN,
				RoleArn:          getAttPtr("ForwardRole", "Arn"),
				DeadLetterConfig: &events.Rule_DeadLetterConfig{Arn: getAttPtr("DeadLetterQueue", "Arn")},
			}},
		}
		ruleARNs = append(ruleARNs, getAtt(ids[i], "Arn"))
	}
	t.Resources["ForwardRole"] = &iam.Role{
		Description:              str("rootguard: lets EventBridge put events on the Audit account's rootguard bus, and nowhere else"),
		AssumeRolePolicyDocument: servicePrincipalTrust("events.amazonaws.com", true),
		Policies: []iam.Role_Policy{{
			PolicyName:     "put-events-on-audit-bus",
			PolicyDocument: document(allow("PutEventsOnAuditBus", []string{"events:PutEvents"}, auditBusARN)),
		}},
	}
	t.Resources["DeadLetterQueue"] = &sqs.Queue{
		SqsManagedSseEnabled:   boolean(true),
		MessageRetentionPeriod: integer(dlqRetentionSeconds),
	}
	t.Resources["DeadLetterQueuePolicy"] = &sqs.QueuePolicy{
		Queues: []string{ref("DeadLetterQueue")},
		PolicyDocument: document(statement{
			Sid: "EventBridgeDeadLetters", Effect: "Allow",
			Principal: map[string]any{"Service": "events.amazonaws.com"},
			Action:    []string{"sqs:SendMessage"},
			Resource:  getAtt("DeadLetterQueue", "Arn"),
			Condition: map[string]map[string]any{"ArnEquals": {"aws:SourceArn": ruleARNs}},
		}),
	}
	forwarderAlarms(t, ids)
	t.Outputs = cloudformation.Outputs{
		"DeadLetterQueueUrl": {Value: ref("DeadLetterQueue"), Description: str("Events EventBridge could not deliver to the Audit account's bus")},
	}
	return t
}

// forwarderAlarms adds a forwarder stack's alarms, so that a pipeline that
// went silent is seen: one on the rules' FailedInvocations (AWS/Events,
// dimension RuleName: "the number of invocations that failed permanently",
// sent only when not zero, hence notBreaching when missing), summed over
// the rules by metric math in one alarm, and one on the dead-letter queue's
// depth. They notify the optional AlarmTopicArn, an SNS topic in the same
// Region that lets cloudwatch.amazonaws.com publish; without it the alarms
// only change state, in this account's CloudWatch.
func forwarderAlarms(t *cloudformation.Template, rules []string) {
	t.Parameters[ParamAlarmTopicARN] = cloudformation.Parameter{Type: "String", Default: "",
		Description:    str("An SNS topic in this Region the forwarding alarms notify; empty for none (the alarms then only change state)."),
		AllowedPattern: str(alarmTopicPattern)}
	t.Conditions = map[string]any{"HasAlarmTopic": hasAlarmTopic}
	actions := []string{cloudformation.If("HasAlarmTopic", ref(ParamAlarmTopicARN), ref("AWS::NoValue"))}
	var metrics []cloudwatch.Alarm_MetricDataQuery
	var mids []string
	for i, id := range rules {
		mid := fmt.Sprintf("failed%d", i+1)
		mids = append(mids, mid)
		metrics = append(metrics, cloudwatch.Alarm_MetricDataQuery{
			Id: mid, Label: str("FailedInvocations of " + id), ReturnData: boolean(false),
			MetricStat: &cloudwatch.Alarm_MetricStat{
				Metric: &cloudwatch.Alarm_Metric{Namespace: str("AWS/Events"), MetricName: str("FailedInvocations"),
					Dimensions: []cloudwatch.Alarm_Dimension{{Name: "RuleName", Value: ref(id)}}},
				Period: 300, Stat: "Sum",
			},
		})
	}
	metrics = append(metrics, cloudwatch.Alarm_MetricDataQuery{
		Id: "failed", Label: str("FailedInvocations of the forwarding rules"), ReturnData: boolean(true),
		Expression: str("SUM([" + strings.Join(mids, ",") + "])"),
	})
	t.Resources["ForwardingFailedAlarm"] = &cloudwatch.Alarm{
		AlarmDescription:   str("rootguard: events failed to reach the Audit account's event bus; root-user activity may go unalerted"),
		Metrics:            metrics,
		EvaluationPeriods:  1,
		Threshold:          float(1),
		ComparisonOperator: "GreaterThanOrEqualToThreshold",
		TreatMissingData:   str("notBreaching"),
		AlarmActions:       actions,
	}
	t.Resources["DeadLetterQueueAlarm"] = &cloudwatch.Alarm{
		AlarmDescription:   str("rootguard: events wait in this stack's dead-letter queue; they did not reach the Audit account"),
		Namespace:          str("AWS/SQS"),
		MetricName:         str("ApproximateNumberOfMessagesVisible"),
		Dimensions:         []cloudwatch.Alarm_Dimension{{Name: "QueueName", Value: getAtt("DeadLetterQueue", "QueueName")}},
		Statistic:          str("Maximum"),
		Period:             integer(300),
		EvaluationPeriods:  1,
		Threshold:          float(1),
		ComparisonOperator: "GreaterThanOrEqualToThreshold",
		TreatMissingData:   str("notBreaching"),
		AlarmActions:       actions,
	}
}

// alarmTopicPattern admits an SNS topic ARN or nothing.
const alarmTopicPattern = `^(arn:[a-z-]+:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256})?$`

// hasAlarmTopic is the condition HasAlarmTopic: AlarmTopicArn is set.
var hasAlarmTopic = map[string]any{"Fn::Not": []any{map[string]any{"Fn::Equals": []any{map[string]any{"Ref": ParamAlarmTopicARN}, ""}}}}

// auditTemplate builds the Audit account's stack: the bus, its rules, the
// Lambda function and what it writes to.
func auditTemplate() *cloudformation.Template {
	t := cloudformation.NewTemplate()
	t.Description = "rootguard: the Audit account's event bus, the Lambda function that classifies root-user events and alerts through an encrypted SNS topic, its state table, dead-letter queue and alarms; the scheduled audit (EventBridge Scheduler, a second function from the same code) and its history bucket."
	langs := []any{string(notify.English), string(notify.Japanese), string(notify.Both)}
	t.Parameters = cloudformation.Parameters{
		ParamOrganizationID: {Type: "String", Description: str("The organization whose accounts may put events on the bus."),
			AllowedPattern: str(`^o-[a-z0-9]{10,32}$`), ConstraintDescription: str("an organization id such as o-a1b2c3d4e5")},
		ParamEventBusName: eventBusNameParameter(),
		ParamLanguage: {Type: "String", Default: string(notify.English), AllowedValues: langs,
			Description: str("The language of the alerts: en, ja, or both.")},
		ParamApprovers: {Type: "String", Default: "",
			Description: str("Comma-separated principal ARN patterns of who may approve root use, e.g. arn:aws:sts::*:assumed-role/AWSReservedSSO_SecurityApprover_*/*; the alert function treats approvals by anyone else as not valid.")},
		ParamAuditPrincipals: {Type: "String", Default: "",
			Description: str("Comma-separated principal ARN patterns of rootguard's scheduled audit: their IAMAuditRootUserCredentials sessions are covered by a standing approval and reported as one digest per run.")},
		ParamAlarmTopicARN: {Type: "String", Default: "",
			Description:    str("The SNS topic the CloudWatch alarms notify; empty for the rootguard alert topic."),
			AllowedPattern: str(alarmTopicPattern)},
		ParamCodeBucket: {Type: "String", MinLength: integer(3), Description: str("The S3 bucket holding the Lambda function's zip (a bootstrap for provided.al2023, arm64), in this stack's Region.")},
		ParamCodeKey:    {Type: "String", MinLength: integer(1), Description: str("The S3 key of the Lambda function's zip.")},
	}
	t.Conditions = map[string]any{"HasAlarmTopic": hasAlarmTopic}

	t.Resources["EventBus"] = &events.EventBus{Name: ref(ParamEventBusName)}
	t.Resources["EventBusPolicy"] = &events.EventBusPolicy{
		EventBusName: refPtr("EventBus"),
		StatementId:  "rootguard-organization-put-events",
		Statement: statement{
			Sid: "rootguard-organization-put-events", Effect: "Allow",
			Principal: "*",
			Action:    []string{"events:PutEvents"},
			Resource:  getAtt("EventBus", "Arn"),
			Condition: map[string]map[string]any{"StringEquals": {"aws:PrincipalOrgID": ref(ParamOrganizationID)}},
		},
	}

	// Rules on the bus for everything the member and management stacks
	// forward, and on this region's default bus for GuardDuty findings
	// (a GuardDuty administrator account receives its members' findings
	// there).
	busPatterns := unionPatterns(detect.EventPatterns(), detect.ManagementPatterns())
	gdPatterns := guardDutyPatterns(busPatterns)
	var rules []string
	for i, id := range ruleIDs("Rule", busPatterns) {
		t.Resources[id] = lambdaRule(ref("EventBus"), busPatterns[i], "the rootguard bus")
		rules = append(rules, id)
	}
	for i, id := range ruleIDs("DefaultBusRule", gdPatterns) {
		t.Resources[id] = lambdaRule("", gdPatterns[i], "this region's default bus")
		rules = append(rules, id)
	}
	// Held actions of a root session are summarised once the session is
	// quiet: the function checks on this schedule (internal/alert).
	t.Resources["FlushSchedule"] = &events.Rule{
		Description:        str("rootguard: asks the alert function to send the summaries of quiet root sessions"),
		ScheduleExpression: str(FlushSchedule),
		State:              str("ENABLED"),
		Targets: []events.Rule_Target{{
			Id:    "alert-function-flush",
			Arn:   getAtt("Function", "Arn"),
			Input: str(`{"rootguard":"flush"}`),
			RetryPolicy: &events.Rule_RetryPolicy{
				MaximumRetryAttempts:     integer(lambdaTargetRetries),
				MaximumEventAgeInSeconds: integer(lambdaTargetMaxAgeSec),
			},
			DeadLetterConfig: &events.Rule_DeadLetterConfig{Arn: getAttPtr("DeadLetterQueue", "Arn")},
		}},
	}
	rules = append(rules, "FlushSchedule")
	var ruleARNs []any
	for _, id := range rules {
		t.Resources[id+"Permission"] = &lambda.Permission{
			Action:       "lambda:InvokeFunction",
			FunctionName: getAtt("Function", "Arn"),
			Principal:    "events.amazonaws.com",
			SourceArn:    getAttPtr(id, "Arn"),
		}
		ruleARNs = append(ruleARNs, getAtt(id, "Arn"))
	}

	t.Resources["Key"] = &kms.Key{
		Description:       str("rootguard: encrypts the alert topic, the dead-letter queue and the audit history"),
		EnableKeyRotation: boolean(true),
		KeyPolicy:         keyPolicy(),
	}
	t.Resources["AlertTopic"] = &sns.Topic{
		DisplayName:    str("rootguard"),
		KmsMasterKeyId: refPtr("Key"),
	}
	t.Resources["AlertTopicPolicy"] = &sns.TopicPolicy{
		Topics: []string{ref("AlertTopic")},
		PolicyDocument: document(statement{
			Sid: "CloudWatchAlarms", Effect: "Allow",
			Principal: map[string]any{"Service": "cloudwatch.amazonaws.com"},
			Action:    []string{"sns:Publish"},
			Resource:  ref("AlertTopic"),
			Condition: map[string]map[string]any{
				"ArnLike":      {"aws:SourceArn": sub("arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:*")},
				"StringEquals": {"aws:SourceAccount": ref("AWS::AccountId")},
			},
		}),
	}
	t.Resources["Table"] = &dynamodb.Table{
		AttributeDefinitions: []dynamodb.Table_AttributeDefinition{
			{AttributeName: "pk", AttributeType: "S"}, {AttributeName: "sk", AttributeType: "S"}},
		KeySchema: []dynamodb.Table_KeySchema{
			{AttributeName: "pk", KeyType: "HASH"}, {AttributeName: "sk", KeyType: "RANGE"}},
		BillingMode:                          str("PAY_PER_REQUEST"),
		TimeToLiveSpecification:              &dynamodb.Table_TimeToLiveSpecification{AttributeName: str("expiresAt"), Enabled: true},
		PointInTimeRecoverySpecification:     &dynamodb.Table_PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: boolean(true)},
		SSESpecification:                     &dynamodb.Table_SSESpecification{SSEEnabled: true},
		AWSCloudFormationDeletionPolicy:      policies.DeletionPolicy("Retain"),
		AWSCloudFormationUpdateReplacePolicy: policies.UpdateReplacePolicy("Retain"),
	}
	t.Resources["DeadLetterQueue"] = &sqs.Queue{
		KmsMasterKeyId:         refPtr("Key"),
		MessageRetentionPeriod: integer(dlqRetentionSeconds),
	}
	t.Resources["DeadLetterQueuePolicy"] = &sqs.QueuePolicy{
		Queues: []string{ref("DeadLetterQueue")},
		PolicyDocument: document(statement{
			Sid: "EventBridgeDeadLetters", Effect: "Allow",
			Principal: map[string]any{"Service": "events.amazonaws.com"},
			Action:    []string{"sqs:SendMessage"},
			Resource:  getAtt("DeadLetterQueue", "Arn"),
			Condition: map[string]map[string]any{"ArnEquals": {"aws:SourceArn": ruleARNs}},
		}),
	}
	t.Resources["LogGroup"] = &logs.LogGroup{RetentionInDays: integer(logRetentionDays)}

	t.Resources["FunctionRole"] = &iam.Role{
		Description:              str("rootguard: the alert function's execution role"),
		AssumeRolePolicyDocument: servicePrincipalTrust("lambda.amazonaws.com", false),
	}
	// The role's permissions are a separate resource: the key policy
	// names the role, and the role's policy names resources encrypted
	// with the key.
	t.Resources["FunctionPolicy"] = &iam.RolePolicy{
		RoleName:   ref("FunctionRole"),
		PolicyName: "rootguard-alerts",
		PolicyDocument: document(
			allow("WriteLogs", []string{"logs:CreateLogStream", "logs:PutLogEvents"}, getAtt("LogGroup", "Arn")),
			allow("PublishAlerts", []string{"sns:Publish"}, ref("AlertTopic")),
			allow("KeepState", []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query"}, getAtt("Table", "Arn")),
			// Account names and OU paths for the alerts. Organizations answers
			// these only to the management account or a delegated
			// administrator (the IAM one for centralized root access is);
			// elsewhere the alert goes out with the raw account id and says
			// enrichment failed.
			allow("EnrichAccounts", []string{"organizations:DescribeAccount", "organizations:ListParents", "organizations:DescribeOrganizationalUnit"}, "*"),
			allow("DeadLetters", []string{"sqs:SendMessage"}, getAtt("DeadLetterQueue", "Arn")),
		),
	}
	t.Resources["Function"] = goFunction("rootguard: classifies root-user events and alerts",
		"FunctionRole", "FunctionPolicy", "LogGroup", 256, 60, map[string]string{
			"TOPIC_ARN":  ref("AlertTopic"),
			"TABLE_NAME": ref("Table"),
			"LANGUAGE":   ref(ParamLanguage),
			"APPROVERS":  ref(ParamApprovers),
			// The standing approval of the scheduled audit, declared here.
			"STANDING_AUDIT_PRINCIPALS": ref(ParamAuditPrincipals),
		})
	t.Resources["FunctionEventInvokeConfig"] = asyncInvokeConfig("Function", "FunctionPolicy", asyncRetries)

	alarmActions := []string{cloudformation.If("HasAlarmTopic", ref(ParamAlarmTopicARN), ref("AlertTopic"))}
	t.Resources["FunctionErrorsAlarm"] = functionErrorsAlarm("Function", "rootguard: the alert function failed; root-user events may not have been alerted")
	t.Resources["DeadLetterQueueAlarm"] = &cloudwatch.Alarm{
		AlarmDescription:   str("rootguard: events wait in the dead-letter queue; they were not alerted"),
		Namespace:          str("AWS/SQS"),
		MetricName:         str("ApproximateNumberOfMessagesVisible"),
		Dimensions:         []cloudwatch.Alarm_Dimension{{Name: "QueueName", Value: getAtt("DeadLetterQueue", "QueueName")}},
		Statistic:          str("Maximum"),
		Period:             integer(300),
		EvaluationPeriods:  1,
		Threshold:          float(1),
		ComparisonOperator: "GreaterThanOrEqualToThreshold",
		TreatMissingData:   str("notBreaching"),
		AlarmActions:       alarmActions,
	}
	t.Outputs = cloudformation.Outputs{
		"EventBusArn":        {Value: getAtt("EventBus", "Arn")},
		"AlertTopicArn":      {Value: ref("AlertTopic")},
		"TableName":          {Value: ref("Table")},
		"FunctionName":       {Value: ref("Function")},
		"DeadLetterQueueUrl": {Value: ref("DeadLetterQueue")},
	}
	addScheduledAudit(t)
	addNewAccounts(t)
	addWeeklyDigest(t)
	return t
}

// FlushSchedule is how often the function is asked to send the summaries
// of quiet root sessions.
const FlushSchedule = "rate(5 minutes)"

// lambdaRule is a rule sending to the function with a retry policy and the
// dead-letter queue; bus "" is the default bus.
func lambdaRule(bus string, p detect.Pattern, where string) *events.Rule {
	r := &events.Rule{
		Description:  str("rootguard: sends matching events on " + where + " to the alert function"),
		EventPattern: p,
		State:        str(RuleState),
		Targets: []events.Rule_Target{{
			Id:  "alert-function",
			Arn: getAtt("Function", "Arn"),
			RetryPolicy: &events.Rule_RetryPolicy{
				MaximumRetryAttempts:     integer(lambdaTargetRetries),
				MaximumEventAgeInSeconds: integer(lambdaTargetMaxAgeSec),
			},
			DeadLetterConfig: &events.Rule_DeadLetterConfig{Arn: getAttPtr("DeadLetterQueue", "Arn")},
		}},
	}
	if bus != "" {
		r.EventBusName = &bus
	}
	return r
}

// keyPolicy lets the account administer the key (each action named) and
// read the dead-letter queue through SQS, every principal of the account
// publish to the topic through SNS, the function use it for the topic and
// the queue, and EventBridge and CloudWatch use it to write to them from
// this account.
//
// Publishing to a topic encrypted with a customer managed key needs
// kms:GenerateDataKey and kms:Decrypt on the key for the publisher ("Allow
// a user to send messages to a topic with SSE", Amazon SNS Developer Guide,
// sns-key-management), and IAM cannot grant key use the key policy does
// not allow. The statement is the shape of the AWS managed key aws/sns:
// any principal whose own policies allow sns:Publish on the topic, in this
// account (kms:CallerAccount), and only through SNS in this Region
// (kms:ViaService, "sns.<region>.amazonaws.com", AWS KMS Developer Guide,
// conditions-kms-via-service). It is what lets `rootguard alert test`, run
// with an operator's credentials in the Audit account, publish.
func keyPolicy() policyDocument {
	account := map[string]any{"AWS": sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")}
	thisAccount := map[string]map[string]any{"StringEquals": {"aws:SourceAccount": ref("AWS::AccountId")}}
	return document(
		statement{Sid: "AccountAdministersKey", Effect: "Allow", Principal: account, Resource: "*",
			Action: []string{"kms:CancelKeyDeletion", "kms:CreateAlias", "kms:DeleteAlias", "kms:DescribeKey",
				"kms:DisableKey", "kms:DisableKeyRotation", "kms:EnableKey", "kms:EnableKeyRotation",
				"kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags", "kms:PutKeyPolicy",
				"kms:ScheduleKeyDeletion", "kms:TagResource", "kms:UntagResource", "kms:UpdateAlias",
				"kms:UpdateKeyDescription"}},
		statement{Sid: "AccountReadsDeadLettersThroughSQS", Effect: "Allow", Principal: account, Resource: "*",
			Action:    []string{"kms:Decrypt"},
			Condition: map[string]map[string]any{"StringEquals": {"kms:ViaService": sub("sqs.${AWS::Region}.amazonaws.com")}}},
		statement{Sid: "AccountPublishesThroughSNS", Effect: "Allow", Principal: map[string]any{"AWS": "*"}, Resource: "*",
			Action: []string{"kms:Decrypt", "kms:GenerateDataKey"},
			Condition: map[string]map[string]any{"StringEquals": {
				"kms:CallerAccount": ref("AWS::AccountId"),
				"kms:ViaService":    sub("sns.${AWS::Region}.amazonaws.com"),
			}}},
		statement{Sid: "FunctionsUseKey", Effect: "Allow", Resource: "*",
			Principal: map[string]any{"AWS": []any{getAtt("FunctionRole", "Arn"), getAtt("AuditFunctionRole", "Arn"), getAtt("SchedulerRole", "Arn")}},
			Action:    []string{"kms:Decrypt", "kms:GenerateDataKey"}},
		// rootguard audit history --from s3://...: an operator whose IAM
		// policies allow s3:GetObject on the history reads it.
		statement{Sid: "AccountReadsHistoryThroughS3", Effect: "Allow", Principal: account, Resource: "*",
			Action:    []string{"kms:Decrypt"},
			Condition: map[string]map[string]any{"StringEquals": {"kms:ViaService": sub("s3.${AWS::Region}.amazonaws.com")}}},
		statement{Sid: "EventBridgeWritesDeadLetters", Effect: "Allow", Resource: "*",
			Principal: map[string]any{"Service": "events.amazonaws.com"},
			Action:    []string{"kms:Decrypt", "kms:GenerateDataKey"}, Condition: thisAccount},
		statement{Sid: "CloudWatchPublishesAlarms", Effect: "Allow", Resource: "*",
			Principal: map[string]any{"Service": "cloudwatch.amazonaws.com"},
			Action:    []string{"kms:Decrypt", "kms:GenerateDataKey"}, Condition: thisAccount},
	)
}

// stackSetTemplate wraps the member template in a service-managed
// StackSet. goformation types DeploymentTargets.OrganizationalUnitIds and
// Regions as []string, which cannot hold a Ref to a CommaDelimitedList, so
// the resource is untyped, with the properties spelled out; the schema
// test checks them like any other.
func stackSetTemplate(memberBody string) *cloudformation.Template {
	t := cloudformation.NewTemplate()
	t.Description = "rootguard: the member-account StackSet (service-managed, deployed automatically to new accounts in the chosen OUs). Deploy in the management account or a StackSets delegated administrator."
	t.Parameters = forwarderParameters()
	t.Parameters[ParamOUs] = cloudformation.Parameter{Type: "CommaDelimitedList",
		Description: str("The OUs (or the organization root) whose accounts get the member stack.")}
	t.Parameters[ParamRegions] = cloudformation.Parameter{Type: "CommaDelimitedList", Default: "us-east-1",
		Description: str("The regions of the member stacks; include us-east-1, where events of global services arrive.")}
	var params []any
	for _, k := range []string{ParamAuditAccountID, ParamEventBusName, ParamHomeRegion} {
		params = append(params, map[string]any{"ParameterKey": k, "ParameterValue": ref(k)})
	}
	t.Resources["MemberStackSet"] = &untypedResource{
		Type: "AWS::CloudFormation::StackSet",
		Properties: map[string]any{
			"StackSetName":     StackSetName,
			"Description":      "rootguard: forwards root-user events from member accounts to the Audit account",
			"PermissionModel":  "SERVICE_MANAGED",
			"AutoDeployment":   map[string]any{"Enabled": true, "RetainStacksOnAccountRemoval": false},
			"ManagedExecution": map[string]any{"Active": true},
			"Capabilities":     []string{"CAPABILITY_IAM"},
			"OperationPreferences": map[string]any{
				"FailureTolerancePercentage": failureTolerancePercentage,
				"MaxConcurrentPercentage":    maxConcurrentPercentage,
				"RegionConcurrencyType":      "PARALLEL",
			},
			"Parameters":   params,
			"TemplateBody": memberBody,
			"StackInstancesGroup": []any{map[string]any{
				"DeploymentTargets": map[string]any{"OrganizationalUnitIds": map[string]any{"Ref": ParamOUs}},
				"Regions":           map[string]any{"Ref": ParamRegions},
			}},
		},
	}
	return t
}

// untypedResource is a resource whose properties are plain data. Unlike
// goformation's CustomResource it writes no "Version" attribute, which a
// resource of a registered type may not have (cfn-lint E3001).
type untypedResource struct {
	Type       string
	Properties map[string]any
}

// AWSCloudFormationType implements cloudformation.Resource.
func (r *untypedResource) AWSCloudFormationType() string { return r.Type }

// policyDocument is an IAM policy document.
type policyDocument struct {
	Version   string      `json:"Version"`
	Statement []statement `json:"Statement"`
}

// statement is one statement of a policy. Principal is "*" or a map;
// Resource a string or a list.
type statement struct {
	Sid       string                    `json:"Sid,omitempty"`
	Effect    string                    `json:"Effect"`
	Principal any                       `json:"Principal,omitempty"`
	Action    []string                  `json:"Action"`
	Resource  any                       `json:"Resource,omitempty"`
	Condition map[string]map[string]any `json:"Condition,omitempty"`
}

func document(s ...statement) policyDocument {
	return policyDocument{Version: "2012-10-17", Statement: s}
}

func allow(sid string, actions []string, resource any) statement {
	return statement{Sid: sid, Effect: "Allow", Action: actions, Resource: resource}
}

// servicePrincipalTrust lets a service assume the role; sourceAccount
// limits it to requests on behalf of this account.
func servicePrincipalTrust(service string, sourceAccount bool) policyDocument {
	s := statement{Effect: "Allow", Principal: map[string]any{"Service": service}, Action: []string{"sts:AssumeRole"}}
	if sourceAccount {
		s.Condition = map[string]map[string]any{"StringEquals": {"aws:SourceAccount": ref("AWS::AccountId")}}
	}
	// A trust policy has no Resource.
	return document(s)
}

// render marshals a template and turns goformation's encoded intrinsic
// functions back into objects. Unlike goformation's Template.JSON it
// evaluates nothing (that would resolve Fn::If and Ref in policy
// documents), keeps numbers as written and does not escape HTML.
func render(t *cloudformation.Template) ([]byte, error) {
	raw, err := json.Marshal(t)
	if err != nil {
		return nil, fmt.Errorf("deploy: marshal template: %w", err)
	}
	v, err := decode(raw)
	if err != nil {
		return nil, fmt.Errorf("deploy: marshal template: %w", err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(expand(v)); err != nil {
		return nil, fmt.Errorf("deploy: marshal template: %w", err)
	}
	return buf.Bytes(), nil
}

func decode(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// expand replaces every string that encodes an intrinsic function with
// the function's object, recursively.
func expand(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			v[k] = expand(x)
		}
		return v
	case []any:
		for i, x := range v {
			v[i] = expand(x)
		}
		return v
	case string:
		if fn, ok := intrinsic(v); ok {
			return expand(fn)
		}
	}
	return v
}

// intrinsic decodes goformation's base64 encoding of an intrinsic
// function: a JSON object with one key, Ref, Condition or Fn::*.
func intrinsic(s string) (any, bool) {
	if len(s) < 8 || len(s)%4 != 0 {
		return nil, false
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || !bytes.HasPrefix(bytes.TrimSpace(b), []byte("{")) {
		return nil, false
	}
	v, err := decode(b)
	m, ok := v.(map[string]any)
	if err != nil || !ok || len(m) != 1 {
		return nil, false
	}
	for k := range m {
		if k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::") {
			return m, true
		}
	}
	return nil, false
}

// readOrganizationActions are what the audit calls to read the
// organization, its OUs, accounts and SCPs: Organizations answers them to
// the management account or a delegated administrator.
var readOrganizationActions = []string{"organizations:DescribeOrganization", "organizations:ListRoots",
	"organizations:ListOrganizationalUnitsForParent", "organizations:ListAccountsForParent",
	"organizations:ListPolicies", "organizations:ListPoliciesForTarget", "organizations:ListTargetsForPolicy",
	"organizations:DescribePolicy", "organizations:ListAWSServiceAccessForOrganization",
	"organizations:ListDelegatedAdministrators", "iam:ListOrganizationsFeatures"}

// goFunction is a function running rootguard's Lambda code (one zip, its
// handler chosen by env) with the execution role role, whose permissions
// are the separate resource policy, logging as JSON to logGroup.
func goFunction(description, role, policy, logGroup string, memory, timeout int, env map[string]string) *lambda.Function {
	return &lambda.Function{
		Description:                str(description),
		Runtime:                    str("provided.al2023"),
		Architectures:              []string{"arm64"},
		Handler:                    str("bootstrap"),
		Code:                       &lambda.Function_Code{S3Bucket: refPtr(ParamCodeBucket), S3Key: refPtr(ParamCodeKey)},
		Role:                       getAtt(role, "Arn"),
		MemorySize:                 integer(memory),
		Timeout:                    integer(timeout),
		Environment:                &lambda.Function_Environment{Variables: env},
		LoggingConfig:              &lambda.Function_LoggingConfig{LogGroup: refPtr(logGroup), LogFormat: str("JSON")},
		AWSCloudFormationDependsOn: []string{policy},
	}
}

// functionErrorsAlarm alarms on the Audit stack's alarm topic as soon as
// function fails once in five minutes.
func functionErrorsAlarm(function, description string) *cloudwatch.Alarm {
	return &cloudwatch.Alarm{
		AlarmDescription:   str(description),
		Namespace:          str("AWS/Lambda"),
		MetricName:         str("Errors"),
		Dimensions:         []cloudwatch.Alarm_Dimension{{Name: "FunctionName", Value: ref(function)}},
		Statistic:          str("Sum"),
		Period:             integer(300),
		EvaluationPeriods:  1,
		Threshold:          float(1),
		ComparisonOperator: "GreaterThanOrEqualToThreshold",
		TreatMissingData:   str("notBreaching"),
		AlarmActions:       []string{cloudformation.If("HasAlarmTopic", ref(ParamAlarmTopicARN), ref("AlertTopic"))},
	}
}

// asyncInvokeConfig retries an asynchronous invocation of function
// retries times, then sends it to the dead-letter queue.
func asyncInvokeConfig(function, policy string, retries int) *lambda.EventInvokeConfig {
	return &lambda.EventInvokeConfig{
		FunctionName:             ref(function),
		Qualifier:                "$LATEST",
		MaximumRetryAttempts:     integer(retries),
		MaximumEventAgeInSeconds: integer(lambdaTargetMaxAgeSec),
		DestinationConfig: &lambda.EventInvokeConfig_DestinationConfig{
			OnFailure: &lambda.EventInvokeConfig_OnFailure{Destination: getAtt("DeadLetterQueue", "Arn")},
		},
		AWSCloudFormationDependsOn: []string{policy},
	}
}
