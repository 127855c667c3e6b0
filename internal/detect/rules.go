package detect

import (
	"slices"
	"strings"
)

// Rule is one detection rule. The event sources and names are data so that
// other consumers (event patterns for EventBridge, documentation) derive
// from the same definitions.
type Rule struct {
	ID          string
	Category    Category
	Description string
	// Sources and Names restrict the rule to these eventSource and
	// eventName values; empty means any.
	Sources []string
	Names   []string
	// EventTypes, when set, also admit an event whose eventType is one of
	// these even if its eventSource is not in Sources: sign-in events are
	// known by eventType AwsConsoleSignIn as well as by their source.
	EventTypes []string
	// AnyIdentity makes the rule match whoever the caller is; otherwise
	// only a person using the root user matches.
	AnyIdentity bool
	// When, if set, must also hold.
	When func(*Event) bool
	// Severity rates a match.
	Severity func(*Event) Severity
}

func (r *Rule) matches(e *Event, rootPerson bool) bool {
	if !r.AnyIdentity && !rootPerson {
		return false
	}
	if len(r.Sources) > 0 && !slices.Contains(r.Sources, e.EventSource) && !slices.Contains(r.EventTypes, e.EventType) {
		return false
	}
	if len(r.Names) > 0 && !slices.Contains(r.Names, e.EventName) {
		return false
	}
	return r.When == nil || r.When(e)
}

func fixed(s Severity) func(*Event) Severity { return func(*Event) Severity { return s } }

const (
	srcIAM     = "iam.amazonaws.com"
	srcSignin  = "signin.amazonaws.com"
	srcSTS     = "sts.amazonaws.com"
	srcAccount = "account.amazonaws.com"
)

// Rules are evaluated in order; the first that matches decides the category.
// The last rule catches every other action of the root user.
var Rules = []*Rule{
	{
		ID: "governance-root-access-features", Category: GovernanceChange, AnyIdentity: true,
		Description: "Anyone enabling or disabling centralized root access (root credentials management or root sessions) for the organization.",
		Sources:     []string{srcIAM},
		Names: []string{"EnableOrganizationsRootCredentialsManagement", "DisableOrganizationsRootCredentialsManagement",
			"EnableOrganizationsRootSessions", "DisableOrganizationsRootSessions"},
		Severity: func(e *Event) Severity {
			if strings.HasPrefix(e.EventName, "Disable") {
				return Critical
			}
			return Medium
		},
	},
	{
		ID: "root-session-issued", Category: RootSessionIssued, AnyIdentity: true,
		Description: "sts:AssumeRoot called in the management or delegated-administrator account: a privileged root session on a member account.",
		Sources:     []string{srcSTS}, Names: []string{"AssumeRoot"},
		Severity: fixed(High),
	},
	{
		ID: "primary-email-change", Category: EmailChange, AnyIdentity: true,
		Description: "The primary (root) email address of an account changed through the Account Management API.",
		Sources:     []string{srcAccount}, Names: []string{"AcceptPrimaryEmailUpdate"},
		Severity: fixed(Critical),
	},
	{
		ID: "root-console-login", Category: ConsoleLogin,
		Description: "The root user signed in to the console.",
		Sources:     []string{srcSignin}, EventTypes: []string{"AwsConsoleSignIn"}, Names: []string{"ConsoleLogin", "ExternalIdPDirectoryLogin"},
		When: func(e *Event) bool { return !loginFailed(e) },
		Severity: func(e *Event) Severity {
			if consoleMFA(e) {
				return High
			}
			return Critical
		},
	},
	{
		ID: "root-console-login-failure", Category: ConsoleLoginFailure,
		Description: "A failed attempt to sign in as the root user.",
		Sources:     []string{srcSignin}, EventTypes: []string{"AwsConsoleSignIn"}, Names: []string{"ConsoleLogin", "ExternalIdPDirectoryLogin"},
		When:     loginFailed,
		Severity: fixed(Medium),
	},
	{
		ID: "root-password-recovery", Category: PasswordRecovery,
		Description: "Root password recovery was requested or completed.",
		Sources:     []string{srcSignin}, EventTypes: []string{"AwsConsoleSignIn"}, Names: []string{"PasswordRecoveryRequested", "PasswordRecoveryCompleted"},
		Severity: fixed(Critical),
	},
	{
		ID: "root-password-change", Category: PasswordChange,
		Description: "The root user changed its password.",
		Sources:     []string{srcSignin}, EventTypes: []string{"AwsConsoleSignIn"}, Names: []string{"PasswordUpdated"},
		Severity: fixed(High),
	},
	{
		ID: "root-email-change", Category: EmailChange,
		Description: "The root user changed the account's email address.",
		Sources:     []string{srcSignin}, EventTypes: []string{"AwsConsoleSignIn"}, Names: []string{"EmailUpdated"},
		Severity: fixed(Critical),
	},
	{
		ID: "root-access-key-change", Category: AccessKeyChange,
		Description: "The root user created, updated or deleted one of its own access keys.",
		Sources:     []string{srcIAM}, Names: []string{"CreateAccessKey", "UpdateAccessKey", "DeleteAccessKey"},
		When: ownCredential,
		Severity: func(e *Event) Severity {
			if e.EventName == "DeleteAccessKey" {
				return High
			}
			return Critical
		},
	},
	{
		ID: "root-signing-certificate-change", Category: SigningCertificateChange,
		Description: "The root user uploaded, updated or deleted one of its own signing certificates.",
		Sources:     []string{srcIAM}, Names: []string{"UploadSigningCertificate", "UpdateSigningCertificate", "DeleteSigningCertificate"},
		When:     ownCredential,
		Severity: fixed(High),
	},
	{
		ID: "root-mfa-change", Category: MFAChange,
		Description: "The root user created, enabled, resynchronised, deactivated or deleted an MFA device of its own.",
		Sources:     []string{srcIAM},
		Names:       []string{"CreateVirtualMFADevice", "EnableMFADevice", "ResyncMFADevice", "DeactivateMFADevice", "DeleteVirtualMFADevice"},
		When:        ownCredential,
		Severity: func(e *Event) Severity {
			if e.EventName == "DeactivateMFADevice" || e.EventName == "DeleteVirtualMFADevice" {
				return Critical
			}
			return High
		},
	},
	{
		ID: "root-api-call", Category: APICall,
		Description: "Any other action by the root user, read-only and failed ones included.",
		Severity: func(e *Event) Severity {
			if e.ReadOnly {
				return Medium
			}
			return High
		},
	},
}

// RuleByID returns the rule with that id, or nil.
func RuleByID(id string) *Rule {
	for _, r := range Rules {
		if r.ID == id {
			return r
		}
	}
	return nil
}

// rootPerson reports whether a person used the root user for the event:
// the identity is the root user and no AWS service acted on its behalf.
// A console request (invokedBy signin.amazonaws.com) is a person.
func rootPerson(e *Event) bool {
	if e.UserIdentity.Type != "Root" || e.EventType == "AwsServiceEvent" {
		return false
	}
	switch e.UserIdentity.InvokedBy {
	case "", "signin.amazonaws.com", "console.amazonaws.com":
		return true
	}
	return false
}

// ownCredential reports whether an IAM credential call acted on the
// caller's own credentials rather than on a named IAM user's.
func ownCredential(e *Event) bool {
	if !e.hasParam("userName") {
		return true
	}
	u := strings.ToLower(e.param("userName"))
	return u == "aws root user" || u == "root"
}

func loginFailed(e *Event) bool {
	for _, k := range []string{"ConsoleLogin", "ExternalIdPDirectoryLogin"} {
		if strings.EqualFold(e.response(k), "Failure") {
			return true
		}
	}
	return e.ErrorMessage != "" || e.ErrorCode != ""
}

func consoleMFA(e *Event) bool {
	return strings.EqualFold(e.additional("MFAUsed"), "yes")
}

// mfaUsed says whether MFA backed the request.
func mfaUsed(e *Event) bool {
	if v := e.additional("MFAUsed"); v != "" {
		return strings.EqualFold(v, "yes")
	}
	return bool(e.UserIdentity.SessionContext.Attributes.MFAAuthenticated)
}

// denied reports whether AWS refused the request for lack of permission
// (an SCP, a permissions boundary, a task policy).
func denied(e *Event) bool {
	c := e.ErrorCode
	return strings.Contains(c, "AccessDenied") || strings.Contains(c, "UnauthorizedOperation") ||
		strings.Contains(c, "UnauthorizedAccess") || c == "Forbidden" || c == "NotAuthorized"
}

// Classify returns the rule an event matches, or nil when it is not root
// activity.
func Classify(e *Event) *Rule {
	if e.EventType == "AwsServiceEvent" {
		return nil
	}
	rp := rootPerson(e)
	for _, r := range Rules {
		if r.matches(e, rp) {
			return r
		}
	}
	return nil
}

// MayMatch reports whether Classify could return a rule for an event with
// these values of userIdentity.type, userIdentity.invokedBy, eventType,
// eventSource and eventName: false means it certainly returns nil, so a
// scanner that read only these five values may skip the full decode. It
// is Classify without the rules' When conditions (which read the rest of
// the record), on byte slices so that no string is allocated; nil is "".
func MayMatch(typ, invokedBy, eventType, source, name []byte) bool {
	if string(eventType) == "AwsServiceEvent" {
		return false
	}
	if string(typ) == "Root" && containsBytes(personInvokers, invokedBy) {
		return true // rootPerson: the last rule matches whatever the rest
	}
	for _, r := range Rules {
		if r.AnyIdentity && r.mayMatch(eventType, source, name) {
			return true
		}
	}
	return false
}

// mayMatch is matches for a rule that admits any identity, without When.
func (r *Rule) mayMatch(eventType, source, name []byte) bool {
	if len(r.Sources) > 0 && !containsBytes(r.Sources, source) && !containsBytes(r.EventTypes, eventType) {
		return false
	}
	return len(r.Names) == 0 || containsBytes(r.Names, name)
}

func containsBytes(list []string, b []byte) bool {
	for _, s := range list {
		if string(b) == s {
			return true
		}
	}
	return false
}
