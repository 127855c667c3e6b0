package deploy

import (
	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/cloudformation/events"
	"github.com/awslabs/goformation/v7/cloudformation/iam"
	"github.com/awslabs/goformation/v7/cloudformation/kms"
	"github.com/awslabs/goformation/v7/cloudformation/lambda"
	"github.com/awslabs/goformation/v7/cloudformation/logs"
	"github.com/awslabs/goformation/v7/cloudformation/sqs"

	"github.com/rootguard/rootguard/internal/newaccount"
)

// Parameters of new-account handling, in the audit template: where
// rootguard.yaml is kept (an S3 object in the Audit account's home
// Region). No bucket: every new account is audited and reported, none is
// enforced.
const (
	ParamModeConfigBucket = "ModeConfigBucket"
	ParamModeConfigKey    = "ModeConfigKey"
)

// DefaultModeConfigKey is the object key of rootguard.yaml when only
// the bucket is given.
const DefaultModeConfigKey = "rootguard.yaml"

// Settings of the account function: an audit of one account and a
// deletion take seconds; the rest is retries.
const (
	accountTimeout = 300
	accountMemory  = 512
)

// rootDeleteTaskPolicy scopes the account function's deletions
// ("IAMDeleteRootUserCredentials", IAM User Guide, security-iam-awsmanpol).
var rootDeleteTaskPolicy = sub("arn:${AWS::Partition}:iam::aws:policy/root-task/IAMDeleteRootUserCredentials")

// modeConfigRead lets a function read rootguard.yaml; without one, an
// object of the stack's own bucket that nothing writes.
var modeConfigRead = allow("ReadModeConfig", []string{"s3:GetObject"}, cloudformation.If("HasModeConfig",
	sub("arn:${AWS::Partition}:s3:::${ModeConfigBucket}/${ModeConfigKey}"),
	sub("${HistoryBucket.Arn}/no-mode-config")))

// addNewAccounts adds new-account handling to the audit template: a third
// function from the same code (ACCOUNT_EVENTS=true, internal/newaccount),
// the rules on the bus for the account lifecycle events the management
// stack forwards (newaccount.Patterns), and what it needs: the table (its
// journal), the alert topic, rootguard.yaml, and the only role of the
// deployment that may open IAMDeleteRootUserCredentials sessions. A
// function of its own so that a deletion never waits for a scheduled
// audit (which runs one at a time for up to 15 minutes) and no other
// function's role can delete root credentials.
func addNewAccounts(t *cloudformation.Template) {
	t.Parameters[ParamModeConfigBucket] = cloudformation.Parameter{Type: "String", Default: "",
		Description:    str("The S3 bucket, in this account and Region, holding rootguard.yaml (the file of rootguard plan): each new account's mode, and enforce: true on the strict OUs whose new accounts get their root credentials deleted. Empty: new accounts are reported only."),
		AllowedPattern: str(`^([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])?$`), ConstraintDescription: str("an S3 bucket name, or empty")}
	t.Parameters[ParamModeConfigKey] = cloudformation.Parameter{Type: "String", Default: DefaultModeConfigKey, MinLength: integer(1),
		Description: str("The key of rootguard.yaml in ModeConfigBucket.")}
	t.Conditions["HasModeConfig"] = map[string]any{"Fn::Not": []any{map[string]any{"Fn::Equals": []any{map[string]any{"Ref": ParamModeConfigBucket}, ""}}}}

	t.Resources["AccountLogGroup"] = &logs.LogGroup{RetentionInDays: integer(logRetentionDays)}
	t.Resources["AccountFunctionRole"] = &iam.Role{
		Description:              str("rootguard: the new-account function's execution role, the only one that may delete root credentials"),
		AssumeRolePolicyDocument: servicePrincipalTrust("lambda.amazonaws.com", false),
	}
	t.Resources["AccountFunctionPolicy"] = &iam.RolePolicy{
		RoleName:   ref("AccountFunctionRole"),
		PolicyName: "rootguard-new-accounts",
		PolicyDocument: document(
			allow("WriteLogs", []string{"logs:CreateLogStream", "logs:PutLogEvents"}, getAtt("AccountLogGroup", "Arn")),
			allow("PublishAlerts", []string{"sns:Publish"}, ref("AlertTopic")),
			// The journal: one item per account and event.
			allow("Journal", []string{"dynamodb:GetItem", "dynamodb:UpdateItem"}, getAtt("Table", "Arn")),
			modeConfigRead,
			// The organization, its OUs, accounts and SCPs, as the audit
			// reads them for one account.
			allow("ReadOrganization", readOrganizationActions, "*"),
			// Root sessions: reading the credentials, and deleting them
			// (IAM User Guide, centralized root access: sts:TaskPolicyArn).
			statement{Sid: "RootSessions", Effect: "Allow", Action: []string{"sts:AssumeRoot"}, Resource: "*",
				Condition: map[string]map[string]any{"StringEquals": {"sts:TaskPolicyArn": []any{rootAuditTaskPolicy, rootDeleteTaskPolicy}}}},
			allow("DeadLetters", []string{"sqs:SendMessage"}, getAtt("DeadLetterQueue", "Arn")),
		),
	}
	t.Resources["AccountFunction"] = goFunction("rootguard: audits each new or moved account, and deletes its root credentials in a strict OU with enforce: true",
		"AccountFunctionRole", "AccountFunctionPolicy", "AccountLogGroup", accountMemory, accountTimeout, map[string]string{
			"ACCOUNT_EVENTS": "true",
			"TABLE_NAME":     ref("Table"),
			"TOPIC_ARN":      ref("AlertTopic"),
			"LANGUAGE":       ref(ParamLanguage),
			"MODE_CONFIG":    cloudformation.If("HasModeConfig", sub("s3://${ModeConfigBucket}/${ModeConfigKey}"), ""),
		})
	t.Resources["AccountFunctionEventInvokeConfig"] = asyncInvokeConfig("AccountFunction", "AccountFunctionPolicy", asyncRetries)
	var ruleARNs []any
	ps := newaccount.Patterns()
	for i, id := range ruleIDs("AccountRule", ps) {
		t.Resources[id] = &events.Rule{
			Description:  str("rootguard: sends the account lifecycle events the management stack forwards to the new-account function"),
			EventBusName: refPtr("EventBus"),
			EventPattern: ps[i],
			State:        str(RuleState),
			Targets: []events.Rule_Target{{
				Id:  "account-function",
				Arn: getAtt("AccountFunction", "Arn"),
				RetryPolicy: &events.Rule_RetryPolicy{
					MaximumRetryAttempts:     integer(lambdaTargetRetries),
					MaximumEventAgeInSeconds: integer(lambdaTargetMaxAgeSec),
				},
				DeadLetterConfig: &events.Rule_DeadLetterConfig{Arn: getAttPtr("DeadLetterQueue", "Arn")},
			}},
		}
		t.Resources[id+"Permission"] = &lambda.Permission{
			Action:       "lambda:InvokeFunction",
			FunctionName: getAtt("AccountFunction", "Arn"),
			Principal:    "events.amazonaws.com",
			SourceArn:    getAttPtr(id, "Arn"),
		}
		ruleARNs = append(ruleARNs, getAtt(id, "Arn"))
	}
	// The rules' dead letters go to the stack's queue, whose policy names
	// every rule allowed to send.
	if qp, ok := t.Resources["DeadLetterQueuePolicy"].(*sqs.QueuePolicy); ok {
		if doc, ok := qp.PolicyDocument.(policyDocument); ok && len(doc.Statement) > 0 {
			if arns, ok := doc.Statement[0].Condition["ArnEquals"]["aws:SourceArn"].([]any); ok {
				doc.Statement[0].Condition["ArnEquals"]["aws:SourceArn"] = append(arns, ruleARNs...)
			}
		}
	}
	// Publishing to the encrypted topic and queue needs the key.
	if k, ok := t.Resources["Key"].(*kms.Key); ok {
		if doc, ok := k.KeyPolicy.(policyDocument); ok {
			doc.Statement = append(doc.Statement, statement{Sid: "AccountFunctionUsesKey", Effect: "Allow", Resource: "*",
				Principal: map[string]any{"AWS": getAtt("AccountFunctionRole", "Arn")},
				Action:    []string{"kms:Decrypt", "kms:GenerateDataKey"}})
			k.KeyPolicy = doc
		}
	}
	t.Resources["AccountFunctionErrorsAlarm"] = functionErrorsAlarm("AccountFunction", "rootguard: the new-account function failed; a new account may not have been audited or secured")
	t.Outputs["AccountFunctionName"] = cloudformation.Output{Value: ref("AccountFunction")}

	// The scheduled audit reads the same file: its strict OUs are those
	// an account must not leave (StrictOUs serves only without it).
	if f, ok := t.Resources["AuditFunction"].(*lambda.Function); ok && f.Environment != nil {
		f.Environment.Variables["MODE_CONFIG"] = cloudformation.If("HasModeConfig", sub("s3://${ModeConfigBucket}/${ModeConfigKey}"), "")
	}
	if rp, ok := t.Resources["AuditFunctionPolicy"].(*iam.RolePolicy); ok {
		if doc, ok := rp.PolicyDocument.(policyDocument); ok {
			doc.Statement = append(doc.Statement, modeConfigRead)
			rp.PolicyDocument = doc
		}
	}
}
