package detect

import "strings"

// taskPolicies lists, for each AWS managed root-task policy, the IAM
// actions it allows (as AWS publishes them under
// arn:aws:iam::aws:policy/root-task/).
var taskPolicies = map[string][]string{
	"IAMAuditRootUserCredentials": {
		"iam:GetAccountSummary", "iam:GetAccessKeyLastUsed", "iam:GetLoginProfile", "iam:GetUser",
		"iam:ListAccessKeys", "iam:ListMFADevices", "iam:ListSigningCertificates",
	},
	"IAMCreateRootUserPassword": {
		"iam:CreateLoginProfile", "iam:GetLoginProfile", "iam:GetUser",
	},
	"IAMDeleteRootUserCredentials": {
		"iam:DeleteAccessKey", "iam:DeleteLoginProfile", "iam:DeleteSigningCertificate",
		"iam:DeactivateMFADevice", "iam:DeleteVirtualMFADevice", "iam:GetAccessKeyLastUsed",
		"iam:GetAccountSummary", "iam:GetLoginProfile", "iam:GetUser", "iam:ListAccessKeys",
		"iam:ListMFADevices", "iam:ListSigningCertificates",
	},
	"S3UnlockBucketPolicy": {
		"s3:DeleteBucketPolicy", "s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:ListAllMyBuckets",
	},
	"SQSUnlockQueuePolicy": {
		"sqs:GetQueueAttributes", "sqs:SetQueueAttributes", "sqs:ListQueues",
	},
}

// TaskPolicies returns the names of the root-task policies.
func TaskPolicies() []string {
	return []string{"IAMAuditRootUserCredentials", "IAMCreateRootUserPassword",
		"IAMDeleteRootUserCredentials", "S3UnlockBucketPolicy", "SQSUnlockQueuePolicy"}
}

// TaskPolicyName returns the short name of a root-task policy ARN
// (arn:aws:iam::aws:policy/root-task/NAME), or the input if it is not one.
func TaskPolicyName(arn string) string {
	if i := strings.LastIndex(arn, "/root-task/"); i >= 0 {
		return arn[i+len("/root-task/"):]
	}
	return arn
}

// cloudTrailAction maps a CloudTrail event to the IAM action it authorises.
// Most events share their API's name; the exceptions are listed.
func cloudTrailAction(source, name string) string {
	svc := strings.TrimSuffix(source, ".amazonaws.com")
	switch svc + ":" + name {
	case "s3:ListBuckets":
		return "s3:ListAllMyBuckets"
	}
	return svc + ":" + name
}

// AllowedByTaskPolicy reports whether the task policy allows the action an
// event records. An unknown task policy allows nothing.
func AllowedByTaskPolicy(policy, eventSource, eventName string) bool {
	action := cloudTrailAction(eventSource, eventName)
	for _, a := range taskPolicies[policy] {
		if strings.EqualFold(a, action) {
			return true
		}
	}
	return false
}
