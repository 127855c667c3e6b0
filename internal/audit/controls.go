package audit

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Control ids. Security Hub's ids are used where one exists.
const (
	CtlNoAccessKeys     = "IAM.4"
	CtlRootMFA          = "IAM.9"
	CtlHardwareMFA      = "IAM.6"
	CtlCredentialsGone  = "RG.ROOT.1"
	CtlNotUsedRecently  = "RG.ROOT.2"
	CtlSCPRootSessions  = "RG.SCP.1"
	CtlOrgRootAccess    = "RG.ORG.1"
	CtlOrgTrustedAccess = "RG.ORG.2"
)

// ControlInfo describes a control for documentation and reports.
type ControlInfo struct {
	ID, Title, Remediation string
	OrgLevel               bool
}

// Controls lists every control in report order.
var Controls = []ControlInfo{
	{CtlNoAccessKeys, "Root user has no access keys", "Delete the root access keys (rootguard root delete-credentials, or IAMDeleteRootUserCredentials).", false},
	{CtlRootMFA, "Root user has MFA", "Enable MFA on the root user, or delete its credentials centrally.", false},
	{CtlHardwareMFA, "Hardware MFA is enabled for the root user", "Register a hardware TOTP token or a FIDO security key / passkey for the root user and remove every virtual MFA device.", false},
	{CtlCredentialsGone, "Root credentials absent (strict mode target)", "Delete the root credentials centrally (IAMDeleteRootUserCredentials).", false},
	{CtlNotUsedRecently, "Root user not used in the last 90 days", "Find out who used root and why (rootguard scan); rotate or delete the credentials used.", false},
	{CtlSCPRootSessions, "SCPs leave centralized root sessions working", "Exempt root sessions from the statement named (a condition such as Null aws:AssumedRoot true on a root deny), or allow the calls at the level named.", false},
	{CtlOrgRootAccess, "Centralized root access enabled", "Enable root credentials management and root sessions (rootguard org enable).", true},
	{CtlOrgTrustedAccess, "IAM trusted access enabled in Organizations", "Enable trusted access for iam.amazonaws.com.", true},
}

// ControlByID returns a control's description.
func ControlByID(id string) (ControlInfo, bool) {
	for _, c := range Controls {
		if c.ID == id {
			return c, true
		}
	}
	return ControlInfo{}, false
}

func control(id string, o Outcome, detail string, args ...any) Control {
	info, _ := ControlByID(id)
	return Control{ID: id, Title: info.Title, Outcome: o, Detail: fmt.Sprintf(detail, args...)}
}

// UnusedWindow is how recent a use of root fails RG.ROOT.2.
const UnusedWindow = 90 * 24 * time.Hour

// Evaluate computes an account's controls from what was read. An account
// whose root user could not be read gets Unknown outcomes.
func Evaluate(a *Account, now time.Time) []Control {
	var cs []Control
	r := a.Root
	if r == nil {
		why := a.Error
		if why == "" {
			why = "account is " + a.State
		}
		for _, info := range Controls {
			if !info.OrgLevel && info.ID != CtlSCPRootSessions {
				o := Unknown
				if a.Error == "" {
					o = NotApplicable // suspended or closing: nothing to read
				}
				cs = append(cs, control(info.ID, o, "root user not read: %s", why))
			}
		}
		return append(cs, scpControl(a))
	}
	noCreds := !r.HasCredentials()

	// IAM.4: no access keys, active or not.
	switch active := countActive(r.AccessKeys); {
	case len(r.AccessKeys) == 0:
		cs = append(cs, control(CtlNoAccessKeys, Pass, "no root access keys"))
	case active == 0 && countStatus(r.AccessKeys, "Inactive") == len(r.AccessKeys):
		cs = append(cs, control(CtlNoAccessKeys, Fail, "%d inactive root access key(s): inactive keys can be re-activated; delete them", len(r.AccessKeys)))
	case active == 0:
		cs = append(cs, control(CtlNoAccessKeys, Fail, "root has %d access key(s) (status not readable without a root session)", len(r.AccessKeys)))
	default:
		cs = append(cs, control(CtlNoAccessKeys, Fail, "%d active root access key(s)", active))
	}

	// IAM.9: MFA matters only while root can sign in or call APIs.
	switch {
	case noCreds:
		cs = append(cs, control(CtlRootMFA, NotApplicable, "root has no password, access key or certificate: nothing to protect with MFA"))
	case len(r.MFADevices) == 0:
		cs = append(cs, control(CtlRootMFA, Fail, "root has credentials and no MFA device"))
	default:
		cs = append(cs, control(CtlRootMFA, Pass, "%d MFA device(s): %s", len(r.MFADevices), kinds(r.MFADevices)))
	}
	cs = append(cs, hardwareMFAControl(r, noCreds))

	// RG.ROOT.1: the strict-mode target.
	switch {
	case a.Management:
		cs = append(cs, control(CtlCredentialsGone, NotApplicable, "the management account's root user cannot be managed centrally: keep its password with MFA"))
	case noCreds && len(r.MFADevices) == 0:
		cs = append(cs, control(CtlCredentialsGone, Pass, "no root password, access key, signing certificate or MFA device"))
	case noCreds:
		cs = append(cs, control(CtlCredentialsGone, Fail, "no root credentials, but %d MFA device(s) left behind", len(r.MFADevices)))
	default:
		cs = append(cs, control(CtlCredentialsGone, Fail, "root has %s", credentialList(r)))
	}

	// RG.ROOT.2: recent use.
	switch {
	case r.LastUsed.IsZero():
		cs = append(cs, control(CtlNotUsedRecently, Pass, "no recorded use"))
	case now.Sub(r.LastUsed) < UnusedWindow:
		cs = append(cs, control(CtlNotUsedRecently, Fail, "root last used %s (%d days ago)", r.LastUsed.UTC().Format(time.RFC3339), int(now.Sub(r.LastUsed).Hours()/24)))
	default:
		cs = append(cs, control(CtlNotUsedRecently, Pass, "root last used %s", r.LastUsed.UTC().Format(time.RFC3339)))
	}

	return append(cs, scpControl(a))
}

// hardwareMFAControl is IAM.6, one rule for every account, as AWS Config's
// root-account-hardware-mfa-enabled defines it: NOT_APPLICABLE when the
// root user has no credentials; NON_COMPLIANT when any virtual MFA device
// is permitted for the root user's sign-in; compliant with at least one
// hardware device (TOTP token, or FIDO security key / passkey, which
// Security Hub counts as hardware too) and no virtual one.
func hardwareMFAControl(r *Root, noCreds bool) Control {
	virtual := countKind(r.MFADevices, MFAVirtual)
	hardware := countKind(r.MFADevices, MFAHardware) + countKind(r.MFADevices, MFAPasskey) + countKind(r.MFADevices, MFANotVirtual)
	unknown := len(r.MFADevices) - virtual - hardware
	switch {
	case noCreds:
		return control(CtlHardwareMFA, NotApplicable, "root has no password, access key or certificate: no root credentials are present")
	case len(r.MFADevices) == 0:
		return control(CtlHardwareMFA, Fail, "no MFA device")
	case virtual > 0 && hardware > 0:
		return control(CtlHardwareMFA, Fail, "a virtual MFA device is permitted for root sign-in beside %d hardware or FIDO device(s): remove the virtual device", hardware)
	case virtual > 0:
		return control(CtlHardwareMFA, Fail, "only virtual MFA: register a hardware TOTP token or a FIDO security key / passkey, then remove the virtual device")
	case unknown > 0:
		return control(CtlHardwareMFA, Unknown, "MFA is enabled but whether a device is virtual could not be read")
	case countKind(r.MFADevices, MFANotVirtual) > 0:
		return control(CtlHardwareMFA, Pass, "no virtual MFA device is assigned to root: its MFA is a hardware TOTP token or a FIDO security key / passkey (which one cannot be read without a root session)")
	}
	return control(CtlHardwareMFA, Pass, "%d hardware or FIDO device(s) (%s) and no virtual device", hardware, kinds(r.MFADevices))
}

// scpControl is RG.SCP.1, judged by effect: the account's SCP chain
// (root, each OU, the account; an Allow needed at every level, any Deny
// winning) evaluated against every call of the five root-session tasks
// with a root session's request context. It fails when a task is refused,
// naming the task, the call and the policy statement (or the level with
// no Allow).
func scpControl(a *Account) Control {
	var refused, unsure []SessionBlock
	for _, b := range a.SessionBlocks {
		if b.Decision == "undetermined" {
			unsure = append(unsure, b)
		} else {
			refused = append(refused, b)
		}
	}
	switch {
	case a.Management:
		// "SCPs don't affect users or roles in the management account.
		// They affect only the member accounts in your organization."
		// (AWS Organizations User Guide, Service control policies)
		return control(CtlSCPRootSessions, NotApplicable, "management account: SCPs do not restrict users or roles in the management account")
	case a.State != "" && a.State != "ACTIVE":
		return control(CtlSCPRootSessions, NotApplicable, "account is %s: no root session can be opened", a.State)
	case a.SCPError != "":
		return control(CtlSCPRootSessions, Unknown, "SCPs not read: %s", a.SCPError)
	case !a.SCPsChecked:
		return control(CtlSCPRootSessions, NotApplicable, "SCPs not evaluated: they apply only in an organization with all features enabled")
	case len(refused) > 0:
		return control(CtlSCPRootSessions, Fail, "%d of 5 root-session tasks refused by SCPs: %s", len(refused), blockList(refused))
	case len(unsure) > 0:
		return control(CtlSCPRootSessions, Unknown, "cannot tell whether SCPs refuse %s", blockList(unsure))
	}
	return control(CtlSCPRootSessions, Pass, "the account's SCPs allow every call of the 5 root-session tasks")
}

// BlockingSCPs names the root-deny SCPs on an account that do not exempt
// centralized root sessions.
func BlockingSCPs(a *Account) []string {
	var out []string
	for _, p := range a.RootDenySCPs {
		if !p.ExemptsRootSessions {
			out = append(out, fmt.Sprintf("%s (%s, on %s)", p.ID, p.Name, p.Target))
		}
	}
	return out
}

// EvaluateOrg computes the organization-wide controls.
func EvaluateOrg(o OrgInfo) []Control {
	if o.Error != "" {
		return []Control{control(CtlOrgRootAccess, Unknown, "%s", o.Error), control(CtlOrgTrustedAccess, Unknown, "%s", o.Error)}
	}
	var cs []Control
	var missing []string
	for _, f := range []string{"RootCredentialsManagement", "RootSessions"} {
		if !slices.Contains(o.EnabledFeatures, f) {
			missing = append(missing, f)
		}
	}
	if len(missing) == 0 {
		cs = append(cs, control(CtlOrgRootAccess, Pass, "RootCredentialsManagement and RootSessions enabled"))
	} else {
		cs = append(cs, control(CtlOrgRootAccess, Fail, "not enabled: %s", strings.Join(missing, ", ")))
	}
	if o.IAMTrustedAccess {
		cs = append(cs, control(CtlOrgTrustedAccess, Pass, "trusted access for iam.amazonaws.com enabled"))
	} else {
		cs = append(cs, control(CtlOrgTrustedAccess, Fail, "trusted access for iam.amazonaws.com not enabled"))
	}
	return cs
}

func countActive(keys []AccessKey) int { return countStatus(keys, "Active") }

func countStatus(keys []AccessKey, status string) int {
	n := 0
	for _, k := range keys {
		if k.Status == status {
			n++
		}
	}
	return n
}

func countKind(ds []MFADevice, k MFAKind) int {
	n := 0
	for _, d := range ds {
		if d.Kind == k {
			n++
		}
	}
	return n
}

func kinds(ds []MFADevice) string {
	var ks []string
	for _, d := range ds {
		ks = append(ks, string(d.Kind))
	}
	return strings.Join(ks, ", ")
}

func credentialList(r *Root) string {
	var parts []string
	if r.Password {
		parts = append(parts, "a password")
	}
	if n := len(r.AccessKeys); n > 0 {
		parts = append(parts, fmt.Sprintf("%d access key(s)", n))
	}
	if n := len(r.SigningCertificates); n > 0 {
		parts = append(parts, fmt.Sprintf("%d signing certificate(s)", n))
	}
	if n := len(r.MFADevices); n > 0 {
		parts = append(parts, fmt.Sprintf("%d MFA device(s)", n))
	}
	return strings.Join(parts, ", ")
}

// MFAKindOf tells an MFA device's kind from its serial number: virtual
// devices are ...:mfa/..., passkeys and security keys ...:u2f/..., and a
// bare vendor serial is a hardware token.
func MFAKindOf(serial string) MFAKind {
	switch {
	case strings.Contains(serial, ":mfa/"):
		return MFAVirtual
	case strings.Contains(serial, ":u2f/"):
		return MFAPasskey
	case strings.HasPrefix(serial, "arn:"):
		return MFAVirtual
	}
	return MFAHardware
}
