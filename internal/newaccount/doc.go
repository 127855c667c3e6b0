// Package newaccount secures accounts at birth: the deployed function's
// handler for the events that create an account, move one, or bring one
// into the organization.
//
// The events (Patterns; their documented shapes and sources are in
// testdata/events/SOURCES.md):
//
//   - Organizations CreateAccountResult (CreateAccount finished:
//     serviceEventDetails.createAccountStatus) and AccountJoinedOrganization
//     (an invited account joined), service events;
//   - Organizations MoveAccount, InviteAccountToOrganization and
//     AcceptHandshake, API calls;
//   - Control Tower's lifecycle events CreateManagedAccount and
//     UpdateManagedAccount (Account Factory created or updated an account;
//     a retried creation ends in UpdateManagedAccount, so both count).
//
// Organizations records its events in the management account, in US East
// (N. Virginia) only ("You can view all CloudTrail information for AWS
// Organizations only in the US East (N. Virginia) Region", Organizations
// User Guide); Control Tower records its lifecycle events in the
// management account in its home Region (Control Tower User Guide,
// lifecycle events: "account": the management account, "region": the home
// Region). The deployment's management stack, in us-east-1 and every
// governed Region, forwards them to the Audit account's bus, where a rule
// starts the function. AcceptHandshake is recorded by the invited
// account, which has no forwarding rule yet when it joins; the
// management account's AccountJoinedOrganization covers it.
//
// For each event, [Handle]:
//
//   - ignores what does not make an account a member: a failed creation,
//     a refused call, an invitation (not a member until it accepts), a
//     handshake other than an invitation;
//   - claims the event in the function's DynamoDB table with a
//     conditional write keyed by account and event id (a lease, as the
//     alert handler's deliveries): a redelivered event that was handled
//     does nothing, one being handled fails to be retried;
//   - audits that one account with the audit's code (internal/audit, a
//     root session with IAMAuditRootUserCredentials);
//   - reads rootguard.yaml from where the deployment keeps it (an S3
//     object) and decides the account's mode as `rootguard plan` does
//     (internal/mode);
//   - for a strict OU with enforce: true and root credentials present,
//     deletes them with internal/remediate's steps and verification
//     (DeleteNow: IAMDeleteRootUserCredentials, a root access key used in
//     the last 90 days refuses it), recording the outcome in the journal
//     before anything is sent;
//   - alerts the result once, in English and/or Japanese, through the
//     alert topics: a verified deletion is MEDIUM, a strict OU's account
//     left with credentials pages (HIGH), the rest is INFO. Flexible OUs,
//     and strict ones without enforce, are only reported.
//
// Order, so that a retry neither repeats a deletion nor loses the alert:
// claim, audit, delete, record, alert, mark done. A retry after the
// record alerts from it; only a retry after an alert that went out and a
// mark that failed alerts twice.
package newaccount
