package mode

// RootTask is a task that only an account's root user can do, and how it
// is done when the account is strict (has no root credentials).
type RootTask struct {
	ID   string `json:"id"`
	Task string `json:"task"`
	// InStrict says how the task is done without standing root
	// credentials: in a centralized root session (no credential needed),
	// from the management account, or by recovering a password for the
	// task and deleting the credentials again.
	InStrict string `json:"inStrict"`
	// NeedsSignIn is true when the task needs a root sign-in (a password,
	// and for some MFA), so strict mode makes it a recover-then-delete
	// cycle.
	NeedsSignIn bool `json:"needsSignIn"`
}

// recoverCycle is how a sign-in task is done in a strict account.
const recoverCycle = "rootguard root allow-recovery --account ID; the root email owner recovers a password, adds MFA, does the task; then rootguard root delete-credentials --account ID"

// RootTasks are the tasks AWS documents as needing the root user, as they
// stand with centralized root access. They are what strict mode costs:
// each one marked NeedsSignIn turns into a password recovery by whoever
// holds the account's root email address.
var RootTasks = []RootTask{
	{"s3-mfa-delete", "Enable or disable MFA Delete on an S3 bucket (needs the root user's own MFA device)", recoverCycle, true},
	{"ri-marketplace", "Register as a seller in the EC2 Reserved Instance Marketplace", recoverCycle, true},
	{"billing-iam-access", "Activate IAM user and role access to the Billing and Cost Management console", "set at creation: rootguard account create uses IamUserAccessToBilling=ALLOW; otherwise " + recoverCycle, true},
	{"account-settings", "Change the account name, root email address or root password", recoverCycle + " (the management account can change a member's name and email through the Account API)", true},
	{"tax-invoices", "View certain tax invoices", recoverCycle, true},
	{"restore-iam", "Restore IAM permissions when the only administrator locked themselves out", recoverCycle + " (or fix it from the management account: an SCP or a role it can assume)", true},
	{"govcloud", "Sign up for AWS GovCloud (US)", recoverCycle, true},
	{"cloudfront-key-pair", "Create a CloudFront key pair (legacy signed URLs; trusted key groups need no root)", recoverCycle, true},
	{"s3-unlock", "Delete an S3 bucket policy that denies every principal", "root session, no credential needed: sts:AssumeRoot with S3UnlockBucketPolicy", false},
	{"sqs-unlock", "Delete an SQS queue policy that denies every principal", "root session, no credential needed: sts:AssumeRoot with SQSUnlockQueuePolicy", false},
	{"close-account", "Close the account", "from the management account: organizations:CloseAccount, no root needed", false},
}
