// Package mode decides how each account's root user is kept — strict or
// flexible, per OU — and checks the organization against it.
//
// The modes:
//
//   - strict: a member account's root user has no credential at all: no
//     password, access key, signing certificate or MFA device (RG.ROOT.1).
//     Root-only tasks are done in centralized root sessions (sts:AssumeRoot)
//     or, for the few that need a sign-in, by recovering a password for the
//     task and deleting it again.
//   - flexible: root credentials may exist, but with MFA (IAM.9, and
//     phishing-resistant: IAM.6), without access keys (IAM.4), and watched:
//     not used in the last 90 days without anyone looking (RG.ROOT.2).
//
// The management account is never strict: sts:AssumeRoot cannot target it
// and IAM's centralized root credentials management does not cover it, so
// its root password (with MFA) is the organization's last way in — to
// recover from a lost or broken identity provider, to fix an SCP that locks
// everyone out, or to close the organization. It is held to flexible.
//
// A [Config] (rootguard.yaml) gives the root's mode, a mode per OU that its
// sub-OUs inherit, and per-account exceptions with a reason. [Plan] compares
// an audit (internal/audit) with the modes and says, per account, what
// drifts and what would close it; [Advise] says per OU what strict mode
// would cost and what flexible mode leaves exposed. [Vendor] creates
// accounts that start secure: no root credentials, in their OU, under a
// root-deny SCP, checked with a root session.
package mode
