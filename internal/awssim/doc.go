// Package awssim is a local HTTP server that speaks AWS's wire protocols for
// the root-user management APIs of STS, IAM and Organizations.
//
// No AWS emulator implements sts:AssumeRoot, the root-task policies or the
// centralized root access features of IAM, so rootguard's tests (and the
// sandbox command) run against this server instead. It is held to AWS's
// wire format by the real aws-sdk-go-v2 clients: point them at it with
// BaseEndpoint (what AWS_ENDPOINT_URL does), sign with the credentials from
// [Server.ManagementCredentials], and every call decodes as it would from AWS.
//
// The server identifies the service from the credential scope of the SigV4
// Authorization header (signatures are not verified) and answers
//   - STS and IAM in the query protocol (form-encoded POST, XML replies and
//     <ErrorResponse> errors);
//   - Organizations in JSON 1.1 (X-Amz-Target, {"__type": ...} errors).
//
// Its state comes from a [Scenario], a documented YAML file (see
// testdata/scenario.yaml) or one made by [GenerateScenario]. Write
// operations (deleting root credentials, enabling features) change the
// server's copy, never the Scenario passed to [New]. [Options] adds per-API
// rate limits, latency and a deterministic fault rate for load tests.
//
// Supported operations:
//
//	sts:           GetCallerIdentity, AssumeRole, AssumeRoot
//	iam:           GetAccountSummary, GetUser, GetLoginProfile, CreateLoginProfile,
//	               DeleteLoginProfile, ListAccessKeys, GetAccessKeyLastUsed,
//	               DeleteAccessKey, ListMFADevices, DeactivateMFADevice,
//	               DeleteVirtualMFADevice, ListSigningCertificates,
//	               DeleteSigningCertificate, GenerateCredentialReport,
//	               GetCredentialReport, ListOrganizationsFeatures,
//	               EnableOrganizationsRootCredentialsManagement,
//	               EnableOrganizationsRootSessions, ListVirtualMFADevices
//	organizations: DescribeOrganization, ListRoots, ListOrganizationalUnitsForParent,
//	               ListAccountsForParent, ListAccounts, ListParents, DescribeAccount,
//	               DescribeOrganizationalUnit, ListAWSServiceAccessForOrganization,
//	               ListDelegatedAdministrators, ListPoliciesForTarget, DescribePolicy,
//	               ListPolicies, ListTargetsForPolicy, EnableAWSServiceAccess,
//	               RegisterDelegatedAdministrator, CreateAccount,
//	               DescribeCreateAccountStatus, ListCreateAccountStatus, MoveAccount
//	cloudformation (query protocol): the stack, change-set and StackSet
//	               operations `rootguard deploy` uses (cloudformation*.go),
//	               ActivateOrganizationsAccess, DescribeOrganizationsAccess
//	securityhub (restJson1): BatchImportFindings (create or update by the
//	               documented rules), GetFindings (testdata/securityhub-findings.md)
//	s3 (restXml, path style): ListBuckets, Get/Put/DeleteBucketPolicy,
//	               GetBucketVersioning; ListObjectsV2 and GetObject on the
//	               organization trail's bucket (cloudtrail_bucket.go)
//	sqs (JSON 1.0): ListQueues, GetQueueUrl, GetQueueAttributes, SetQueueAttributes
//	cloudtrail (JSON 1.1): DescribeTrails, GetTrailStatus of the scenario's
//	               organization trail ([Trail], cloudtrail_api.go)
//	account (restJson1): ListRegions (account.go)
//
// Every call answered for an authenticated principal is recorded as the
// CloudTrail record AWS documents for it and delivered as an organization
// trail delivers it ([Server.TrailBucket], [Server.TrailEvents]); see
// cloudtrail.go for the shapes, their sources and the guesses. The
// completion of a CreateAccount request is recorded too, as the
// CreateAccountResult service event the Organizations User Guide shows
// (delivered to EventBridge as "AWS Service Event via CloudTrail").
//
// Guesses of the trail and Region APIs, each settled by one call on a real
// account: account:ListRegions lists the commercial Regions of 2026, those
// AWS introduced before 20 March 2019 ENABLED_BY_DEFAULT, the same in every
// account, and its error messages for an AccountId it refuses are ours
// (account.go); cloudtrail:GetTrailStatus reports logging started when the
// management account joined, and a trail seen outside its home Region or
// account is found by ARN only (cloudtrail_api.go).
//
// Principals: the management credentials belong to an IAM user
// (awssim-admin) in the management account with full permissions. AssumeRole
// into a role the scenario lists (by default OrganizationAccountAccessRole in
// every member account, trusted by the management account) gives a role
// session with full permissions in that account. Organizations answers
// each operation only to the callers its documentation names
// (testdata/organizations-callers.tsv, the sentence quoted from the SDK's
// model, with its source): the management account; for the reads, also a
// delegated administrator; for DescribeOrganization, any account of the
// organization. Any other caller gets AccessDeniedException (403).
// AssumeRoot gives a root session limited by its task policy: the five
// root-task policies as AWS publishes them (internal/awsdocs, with their
// source), evaluated by this package's own policy evaluator (Deny,
// NotAction, NotResource, conditions and policy variables) on every call
// of the session, before the server looks for the operation: an action
// the policy denies is AccessDenied whether or not awssim simulates it.
// The product reads the same documents with its own code
// (internal/detect), so the simulator cannot hide its mistakes. Service
// control policies of the scenario are evaluated for IAM, STS, S3 and SQS
// calls made by principals in member accounts (Deny statements only; see
// [Policy]), with aws:RequestedRegion the Region the call was signed for
// (us-east-1 for IAM and Organizations). sts:AssumeRoot
// is served only at a Regional endpoint (testdata/regions.md).
//
// # Guesses
//
// Where AWS documents nothing, awssim guesses. Each guess, and what would
// settle it on a real account:
//
//   - iam:DeleteVirtualMFADevice acts on the device (its resource type is
//     mfa, arn:aws:iam::ACCOUNT:mfa/NAME), so the second statement of
//     IAMDeleteRootUserCredentials (Deny on NotResource arn:aws:iam::*:root)
//     refuses it in a root session, although the first allows the action.
//     Settle: in an IAMDeleteRootUserCredentials session on a test member
//     account with a virtual MFA device, DeactivateMFADevice then
//     DeleteVirtualMFADevice; success means awssim must allow it.
//   - The other IAM calls of a root session act on the root user
//     (arn:aws:iam::ACCOUNT:root) unless they name a UserName; GetAccountSummary
//     acts on "*". Settle: the resources in CloudTrail records of a root
//     session, and a ListAccessKeys with UserName of an IAM user (AccessDenied).
//   - The text of an AccessDenied a task policy causes ("... with an explicit
//     deny in an identity-based policy: arn:aws:iam::aws:policy/root-task/NAME").
//     Settle: the message of any denied call in a root session.
//   - Organizations and Security Hub answer a denied root session with
//     AccessDeniedException "You don't have permissions to access this
//     resource."; Organizations gives the same message to a caller the
//     operation's documentation does not name (the code is the model's).
//     Settle: organizations list-accounts in a root session, and from a
//     member account that is no delegated administrator.
//   - "A member account that is a delegated administrator", the words
//     with which the documentation lets Organizations reads (ListAccounts,
//     DescribeAccount, ListRoots, ...) be called, is an account registered
//     with RegisterDelegatedAdministrator for any service principal,
//     iam.amazonaws.com included: the sentence names no service, older
//     releases of the model said "a delegated administrator for an Amazon
//     Web Services service", and RegisterDelegatedAdministrator "grants
//     read-only access to Organizations service data". Organizations' own
//     delegation by resource-based policy (PutResourcePolicy) is not
//     simulated. Settle: organizations list-accounts with credentials in
//     an account registered only for iam.amazonaws.com, and in a member
//     account registered for nothing (AccessDeniedException).
//   - sts:GetCallerIdentity works in every root session, as it needs no
//     permission. Settle: sts get-caller-identity with root-session credentials.
//   - DeleteVirtualMFADevice of an assigned device is DeleteConflict (409).
//     Settle: delete an assigned virtual device with an administrator role.
//   - sts:AssumeRoot at the global endpoint (client Region aws-global or
//     none) is refused with HTTP 400 InvalidAction "Unknown Operation":
//     that AWS refuses it is documented, the code and message are as
//     reported from real calls (testdata/regions.md), the status is a
//     guess. Settle: aws sts assume-root --region aws-global (or
//     --endpoint-url https://sts.amazonaws.com) and note the status.
//   - aws:RequestedRegion of an IAM or Organizations call is us-east-1
//     whatever Region the client signed for (AWS signs these global
//     services for us-east-1; awssim, reached through AWS_ENDPOINT_URL,
//     sees the client's Region and corrects it). Settle: an SCP denying
//     iam:* outside eu-west-1, then iam get-user from an eu-west-1 client.
//   - Error codes and statuses are held to the SDK's model by
//     conformance_test.go (every operation awssim serves, every error it
//     answered during the tests, every code and reason in the source).
//     Codes the model does not carry come from AWS's Common Errors pages
//     (testdata/common-errors.tsv); those marked "guess:" there are guesses:
//     AccessDenied (403), Throttling (400) and ExpiredToken (403) of IAM
//     and STS; MissingAuthenticationTokenException (403) and
//     SerializationException (400) of the JSON services. Settle: call
//     each service unsigned, throttled, with expired credentials, with
//     an undecodable body, and without permission, with --debug.
//   - Organizations answers with the statuses of its model's httpError
//     traits in aws-sdk-go-v2 (403, 404, 409, 429), although its API
//     Reference has long listed HTTP 400 for every error. Settle:
//     organizations describe-account --account-id 000000000000 --debug.
//   - cloudformation:ActivateOrganizationsAccess from an account other
//     than the management account (without CallAs DELEGATED_ADMIN) is
//     InvalidOperationException (400), the error its API Reference lists,
//     with awssim's own message. Settle: aws cloudformation
//     activate-organizations-access with a member account's credentials.
//   - cloudformation:DeleteStack (testdata/cloudformation-delete.md for
//     what AWS documents) of a stack that does not exist, or that is
//     already DELETE_IN_PROGRESS or deleted, succeeds and changes nothing;
//     of a stack in another *_IN_PROGRESS status (REVIEW_IN_PROGRESS
//     aside) it is a ValidationError "Stack [NAME] cannot be deleted while
//     in status STATUS"; once deleted, the name is free for a new stack.
//     Settle: aws cloudformation delete-stack --stack-name no-such-stack;
//     delete-stack during an update; create-stack of a deleted stack's name.
//   - GetQueueUrl finds only the caller's own queues in the signed Region
//     (QueueDoesNotExist otherwise). Settle: GetQueueUrl with
//     QueueOwnerAWSAccountId of another account whose queue policy allows it.
package awssim
