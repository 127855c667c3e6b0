// Package audit reports the state of every root user in an AWS
// Organization from the management account: password, MFA (and its kind),
// access keys, signing certificates and last use, and the controls that
// say whether each account is where the organization wants it.
//
// Member accounts are read through centralized root access: one
// sts:AssumeRoot session with the IAMAuditRootUserCredentials task policy
// per account, so no role is needed in any member. Organizations without
// root sessions can fall back to a role and the IAM credential report.
package audit

import (
	"time"

	"github.com/rootguard/rootguard/internal/org"
)

// Method says how an account's root user was read.
type Method string

// The methods.
const (
	MethodAssumeRoot       Method = "assume-root"
	MethodManagement       Method = "management-account"
	MethodCredentialReport Method = "credential-report"
	MethodNone             Method = "not-read"
)

// Report is one audit of an organization.
type Report struct {
	StartedAt    time.Time  `json:"startedAt"`
	FinishedAt   time.Time  `json:"finishedAt"`
	Organization OrgInfo    `json:"organization"`
	OrgControls  []Control  `json:"orgControls"`
	Accounts     []*Account `json:"accounts"`
	Summary      Summary    `json:"summary"`
}

// OrgInfo is the organization-wide setup that root access depends on.
type OrgInfo struct {
	ID                  string   `json:"id"`
	ManagementAccountID string   `json:"managementAccountId"`
	FeatureSet          string   `json:"featureSet"`
	EnabledFeatures     []string `json:"enabledFeatures"` // RootCredentialsManagement, RootSessions
	IAMTrustedAccess    bool     `json:"iamTrustedAccess"`
	IAMDelegatedAdmins  []string `json:"iamDelegatedAdmins,omitempty"`
	// Error is set when the organization-wide setup could not be read.
	Error string `json:"error,omitempty"`
}

// Account is one account's root user and the controls evaluated on it.
type Account struct {
	ID         string    `json:"account"`
	Name       string    `json:"name"`
	Email      string    `json:"email"`
	OUPath     string    `json:"ouPath"`
	State      string    `json:"state"`
	Management bool      `json:"management"`
	Method     Method    `json:"method"`
	Root       *Root     `json:"root,omitempty"`
	Controls   []Control `json:"controls"`
	// SCPs are the root-deny service control policies that apply to the
	// account, with whether each exempts centralized root sessions.
	RootDenySCPs []RootDenySCP `json:"rootDenyScps,omitempty"`
	// SessionBlocks are the root-session tasks the account's SCPs refuse,
	// judged by evaluating its SCP chain against each call of each task
	// (RG.SCP.1). SCPsChecked says the evaluation ran; SCPError why not.
	SessionBlocks []SessionBlock `json:"sessionBlocks,omitempty"`
	SCPsChecked   bool           `json:"scpsChecked,omitempty"`
	SCPError      string         `json:"scpError,omitempty"`
	Error         string         `json:"error,omitempty"`
}

// SessionBlock is a root-session task that the account's SCPs refuse:
// the first of the task's calls they refuse, and the policy statement
// (or the level without an Allow) that does it.
type SessionBlock struct {
	Task     string `json:"task"`   // the task policy: IAMAuditRootUserCredentials ...
	Action   string `json:"action"` // iam:GetLoginProfile
	Decision string `json:"decision"`
	// Policy, PolicyName, Statement and Target name the Deny statement
	// (explicit-deny); Target alone names the level with no Allow
	// (implicit-deny).
	Policy     string   `json:"policy,omitempty"`
	PolicyName string   `json:"policyName,omitempty"`
	Statement  string   `json:"statement,omitempty"`
	Target     string   `json:"target,omitempty"`
	Resources  []string `json:"resources,omitempty"`
	Reason     string   `json:"reason"`
}

// Root is what the account's root user holds.
type Root struct {
	Password            bool          `json:"password"`
	PasswordLastUsed    time.Time     `json:"passwordLastUsed,omitzero"`
	MFADevices          []MFADevice   `json:"mfaDevices"`
	AccessKeys          []AccessKey   `json:"accessKeys"`
	SigningCertificates []Certificate `json:"signingCertificates"`
	// LastUsed is the latest use of the password or any access key.
	LastUsed time.Time `json:"lastUsed,omitzero"`
	// Notes say what could not be read exactly (the credential report
	// does not say whether root has a password, for example).
	Notes []string `json:"notes,omitempty"`
}

// HasCredentials reports whether the root user can sign in or call APIs
// at all: a password, an access key or a signing certificate.
func (r *Root) HasCredentials() bool {
	return r.Password || len(r.AccessKeys) > 0 || len(r.SigningCertificates) > 0
}

// MFAKind is the kind of an MFA device, read from its serial number.
type MFAKind string

// The kinds.
const (
	MFAVirtual  MFAKind = "virtual"
	MFAPasskey  MFAKind = "passkey" // passkey or FIDO security key: phishing-resistant
	MFAHardware MFAKind = "hardware"
	// MFANotVirtual is a device known not to be virtual (a hardware token
	// or a passkey) when only the credential report and the list of
	// virtual devices could be read.
	MFANotVirtual MFAKind = "hardware-or-passkey"
	// MFAUnknownKind is a device known to exist (the credential report or
	// GetAccountSummary says MFA is on) whose kind could not be read.
	MFAUnknownKind MFAKind = "unknown"
)

// MFADevice is one MFA device of the root user.
type MFADevice struct {
	Serial     string    `json:"serial"`
	Kind       MFAKind   `json:"kind"`
	EnableDate time.Time `json:"enableDate,omitzero"`
}

// AccessKey is one root access key. Its secret is never read.
type AccessKey struct {
	ID              string    `json:"id"`
	Status          string    `json:"status"`
	Created         time.Time `json:"created,omitzero"`
	LastUsed        time.Time `json:"lastUsed,omitzero"`
	LastUsedService string    `json:"lastUsedService,omitempty"`
	LastUsedRegion  string    `json:"lastUsedRegion,omitempty"`
}

// Certificate is one root signing certificate.
type Certificate struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

// RootDenySCP is a service control policy that denies the root user.
type RootDenySCP = org.RootDenySCP

// Outcome is a control's result.
type Outcome string

// The outcomes.
const (
	Pass          Outcome = "pass"
	Fail          Outcome = "fail"
	NotApplicable Outcome = "not-applicable"
	Unknown       Outcome = "unknown" // the account could not be read
)

// Control is one control's result on one account.
type Control struct {
	ID      string  `json:"id"`
	Title   string  `json:"title"`
	Outcome Outcome `json:"outcome"`
	Detail  string  `json:"detail"`
}

// Summary counts the outcomes across the organization.
type Summary struct {
	Accounts            int              `json:"accounts"`
	Audited             int              `json:"audited"`
	Failed              int              `json:"failed"` // accounts that could not be audited
	RootCredentialsGone int              `json:"rootCredentialsAbsent"`
	ByControl           map[string]Tally `json:"byControl"`
}

// Tally counts one control's outcomes.
type Tally struct {
	Pass          int `json:"pass"`
	Fail          int `json:"fail"`
	NotApplicable int `json:"notApplicable"`
	Unknown       int `json:"unknown"`
}
