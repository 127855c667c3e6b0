// Package detect decides which CloudTrail events and GuardDuty findings are
// uses of an AWS account's root user, and of what kind.
//
// Rules are data: each carries the event sources and names it matches, a
// predicate for what the names alone cannot say, and fixtures that a test
// checks. The same rules drive the scanner and the real-time pipeline.
package detect

// Category is the stable vocabulary findings are reported in.
type Category string

// The categories. Their names are part of rootguard's output contract.
const (
	ConsoleLogin                 Category = "console-login"
	ConsoleLoginFailure          Category = "console-login-failure"
	PasswordRecovery             Category = "password-recovery"
	PasswordChange               Category = "password-change"
	EmailChange                  Category = "email-change"
	AccessKeyChange              Category = "access-key-change"
	SigningCertificateChange     Category = "signing-certificate-change"
	MFAChange                    Category = "mfa-change"
	APICall                      Category = "api-call"
	RootSessionIssued            Category = "root-session-issued"
	RootSessionActivity          Category = "root-session-activity"
	GovernanceChange             Category = "governance-change"
	GuardDutyRootCredentialUsage Category = "guardduty-root-credential-usage"
)

// Categories lists every category in documentation order.
var Categories = []Category{
	ConsoleLogin, ConsoleLoginFailure, PasswordRecovery, PasswordChange, EmailChange,
	AccessKeyChange, SigningCertificateChange, MFAChange, APICall, RootSessionIssued,
	RootSessionActivity, GovernanceChange, GuardDutyRootCredentialUsage,
}

// Severity ranks how urgently a finding needs a person.
type Severity string

// Severities, from most to least urgent.
const (
	Critical Severity = "critical"
	High     Severity = "high"
	Medium   Severity = "medium"
	Low      Severity = "low"
)

// Rank orders severities: higher is more urgent.
func (s Severity) Rank() int {
	switch s {
	case Critical:
		return 4
	case High:
		return 3
	case Medium:
		return 2
	case Low:
		return 1
	}
	return 0
}
