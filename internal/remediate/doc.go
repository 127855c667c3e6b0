// Package remediate changes the root users of an AWS Organization's member
// accounts, plan first: it deletes their root credentials (the login
// profile, access keys, signing certificates and MFA devices) and lets the
// owner of an account's root email recover a password again.
//
// Every change goes in two steps. A [Plan] is made by reading each target
// account with an sts:AssumeRoot session limited to the
// IAMAuditRootUserCredentials task policy: what exists, what would be
// done and why, and the [Check]s that would refuse an account. [Apply]
// executes a plan, per account in one root session with the task policy
// that allows exactly that change (IAMDeleteRootUserCredentials,
// IAMCreateRootUserPassword): it records a snapshot first, then each call
// with its AWS request id, in the journal of internal/store, and verifies
// afterwards that nothing survived. A run that stopped (interrupted, or
// faults outlasting the retries) is resumed by [Resume] without repeating
// what was done.
//
// The management account is never a target: AssumeRoot cannot enter it.
// Credentials that AssumeRoot returns are never printed or logged.
package remediate
