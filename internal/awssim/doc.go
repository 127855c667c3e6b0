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
//	               operations `rootguard deploy` uses (cloudformation*.go)
//	securityhub (restJson1): BatchImportFindings (create or update by the
//	               documented rules), GetFindings (testdata/securityhub-findings.md)
//	s3 (restXml, path style): ListObjectsV2 and GetObject on the organization
//	               trail's bucket (cloudtrail_bucket.go)
//	cloudtrail (JSON 1.1): DescribeTrails, GetTrailStatus of the scenario's
//	               organization trail ([Trail], cloudtrail_api.go)
//
// Every call answered for an authenticated principal is recorded as the
// CloudTrail record AWS documents for it and delivered as an organization
// trail delivers it ([Server.TrailBucket], [Server.TrailEvents]); see
// cloudtrail.go for the shapes, their sources and the guesses.
//
// Principals: the management credentials belong to an IAM user
// (awssim-admin) in the management account with full permissions. AssumeRole
// into a role the scenario lists (by default OrganizationAccountAccessRole in
// every member account, trusted by the management account) gives a role
// session with full permissions in that account. AssumeRoot gives a root
// session limited to what its task policy allows. Service control policies
// of the scenario are evaluated for IAM and STS calls made by principals in
// member accounts (Deny statements only; see [Policy]).
package awssim
