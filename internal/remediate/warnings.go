package remediate

// What applying a plan means, said before it is applied and kept in the
// plan.
const (
	// DeleteWarning is shown before root credentials are deleted.
	DeleteWarning = `Deleting root credentials cannot be undone: the password, access keys,
signing certificates and MFA devices are deleted, not deactivated (there is
no deactivate-first path), and their secrets are gone for good.
Afterwards nobody can sign in as these accounts' root users, so they lose
the tasks only root credentials can do: enabling MFA Delete on S3 buckets,
registering as a seller in the Reserved Instance Marketplace, activating
IAM access to billing, some support-plan changes, closing the account
from inside it, and the other root-only tasks AWS lists. Centralized root
sessions from the management account still unlock S3 and SQS policies.
A root password can come back only through 'rootguard root allow-recovery'
followed by the owner of the root email address recovering it.`

	// RecoveryWarning is shown before password recovery is allowed.
	RecoveryWarning = `Allowing recovery creates a login profile without a password for the root
user: whoever controls the account's root email address can then use
"Forgot password" on the sign-in page, set a password and sign in as root,
with full control of the account (and no MFA until they add one). Make sure
the right person owns that mailbox, and delete the credentials again
('rootguard root delete-credentials') when the root task is done.`
)
