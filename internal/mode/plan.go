package mode

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rootguard/rootguard/internal/audit"
)

// Status is where an account stands against its mode.
type Status string

// The statuses.
const (
	StatusOK         Status = "ok"
	StatusDrift      Status = "drift"
	StatusNotAudited Status = "not-audited" // active, but its root user could not be read
	StatusInactive   Status = "inactive"    // suspended or closing: nothing to read or change
)

// Drift is one way an account violates its mode.
type Drift struct {
	Control string `json:"control"`
	Problem string `json:"problem"`
}

// Who does an action.
const (
	ByRootguard  = "rootguard"        // a rootguard command, from the management account
	ByCCoE       = "ccoe"             // the CCoE, with AWS's own tools
	ByEmailOwner = "root-email-owner" // a person who holds the account's root email address
)

// Action is one step that closes drift.
type Action struct {
	By      string `json:"by"`
	Step    string `json:"step"`
	Command string `json:"command,omitempty"`
}

// AccountPlan is what one account needs to meet its mode.
type AccountPlan struct {
	Account    string   `json:"account"`
	Name       string   `json:"name"`
	OUPath     string   `json:"ouPath"`
	State      string   `json:"state"`
	Management bool     `json:"management"`
	Mode       Decision `json:"mode"`
	Status     Status   `json:"status"`
	Drift      []Drift  `json:"drift"`
	Actions    []Action `json:"actions"`
	Notes      []string `json:"notes,omitempty"`
}

// deleteSessionTask is the task policy that lets a root session delete
// root credentials.
const deleteSessionTask = "arn:aws:iam::aws:policy/root-task/IAMDeleteRootUserCredentials"

// Plan compares every account of an audit with the mode the policy gives
// it. Controls are those the audit evaluated; for an account without them
// they are evaluated as of the audit's start.
func Plan(rep *audit.Report, p *Policy) []AccountPlan {
	out := make([]AccountPlan, 0, len(rep.Accounts))
	for _, a := range rep.Accounts {
		out = append(out, PlanAccount(a, p.For(a), rep.StartedAt))
	}
	return out
}

// PlanAccount is one account's plan under decision d, asOf the audit.
func PlanAccount(a *audit.Account, d Decision, asOf time.Time) AccountPlan {
	ap := AccountPlan{Account: a.ID, Name: a.Name, OUPath: a.OUPath, State: a.State, Management: a.Management,
		Mode: d, Drift: []Drift{}, Actions: []Action{}}
	switch {
	case a.Root == nil && a.Error == "" && a.State != "" && a.State != "ACTIVE":
		ap.Status = StatusInactive
		ap.Notes = append(ap.Notes, "account is "+a.State+": not read, nothing to change")
		return ap
	case a.Root == nil:
		ap.Status = StatusNotAudited
		why := a.Error
		if why == "" {
			why = "root user not read"
		}
		ap.Notes = append(ap.Notes, "not audited: "+why)
		if b := audit.BlockingSCPs(a); len(b) > 0 {
			ap.Actions = append(ap.Actions, Action{By: ByCCoE,
				Step: "exempt centralized root sessions (a condition on aws:AssumedRoot) in the root-deny SCP(s) " + strings.Join(b, ", ") + ", then audit again"})
		} else {
			ap.Actions = append(ap.Actions, Action{By: ByRootguard, Step: "audit again once the cause is fixed", Command: "rootguard audit"})
		}
		return ap
	}
	controls := a.Controls
	if len(controls) == 0 {
		controls = audit.Evaluate(a, asOf)
	}
	if d.Mode == Strict {
		planStrict(&ap, a, controls, asOf)
	} else {
		planFlexible(&ap, a, controls, asOf)
	}
	ap.Notes = append(ap.Notes, a.Root.Notes...) // what the audit could not read exactly
	ap.Status = StatusOK
	if len(ap.Drift) > 0 {
		ap.Status = StatusDrift
	}
	return ap
}

func outcome(cs []audit.Control, id string) (audit.Control, bool) {
	i := slices.IndexFunc(cs, func(c audit.Control) bool { return c.ID == id })
	if i < 0 {
		return audit.Control{}, false
	}
	return cs[i], true
}

// planStrict: no member root credential may exist.
func planStrict(ap *AccountPlan, a *audit.Account, cs []audit.Control, asOf time.Time) {
	r := a.Root
	var goes []string
	if r.Password {
		ap.Drift = append(ap.Drift, Drift{audit.CtlCredentialsGone, "root password"})
		goes = append(goes, "the password")
	}
	if n := len(r.AccessKeys); n > 0 {
		ap.Drift = append(ap.Drift, Drift{audit.CtlCredentialsGone, fmt.Sprintf("%d access key(s): %s", n, keyList(r.AccessKeys))})
		goes = append(goes, fmt.Sprintf("access key(s) %s", keyIDs(r.AccessKeys)))
	}
	if n := len(r.SigningCertificates); n > 0 {
		var ids []string
		for _, c := range r.SigningCertificates {
			ids = append(ids, c.ID+" ("+c.Status+")")
		}
		ap.Drift = append(ap.Drift, Drift{audit.CtlCredentialsGone, fmt.Sprintf("%d signing certificate(s): %s", n, strings.Join(ids, ", "))})
		goes = append(goes, fmt.Sprintf("%d signing certificate(s)", n))
	}
	if n := len(r.MFADevices); n > 0 {
		var ds []string
		for _, d := range r.MFADevices {
			ds = append(ds, string(d.Kind))
		}
		ap.Drift = append(ap.Drift, Drift{audit.CtlCredentialsGone, fmt.Sprintf("%d MFA device(s): %s", n, strings.Join(ds, ", "))})
		goes = append(goes, fmt.Sprintf("%d MFA device(s)", n))
	}
	if len(goes) == 0 {
		return
	}
	if b := audit.BlockingSCPs(a); len(b) > 0 {
		ap.Actions = append(ap.Actions, Action{By: ByCCoE,
			Step: "first exempt root sessions (aws:AssumedRoot) in " + strings.Join(b, ", ") + ": they deny the session delete-credentials needs"})
	}
	if k, recent := recentKey(r.AccessKeys, asOf); recent {
		ap.Actions = append(ap.Actions, Action{By: ByCCoE,
			Step:    fmt.Sprintf("access key %s was used %s (%s): find what uses it and move it to a role; delete-credentials refuses the account (check access-key-in-use) until then, or --force access-key-in-use", k.ID, day(k.LastUsed), orNone(k.LastUsedService)),
			Command: "rootguard scan --account " + a.ID + " --since 90d TRAIL"})
	}
	ap.Actions = append(ap.Actions, Action{By: ByRootguard,
		Step:    "delete " + joinAnd(goes) + " in one IAMDeleteRootUserCredentials root session",
		Command: "rootguard root delete-credentials --account " + a.ID})
	if activeCerts(r) > 0 {
		ap.Notes = append(ap.Notes, "an active root signing certificate goes: anything that signs requests with it stops working")
	}
	if c, ok := outcome(cs, audit.CtlNotUsedRecently); ok && c.Outcome == audit.Fail {
		ap.Notes = append(ap.Notes, "root was used recently ("+c.Detail+"): whoever used it loses it")
	}
}

// planFlexible: IAM.4, IAM.9, IAM.6 and RG.ROOT.2 must pass.
func planFlexible(ap *AccountPlan, a *audit.Account, cs []audit.Control, asOf time.Time) {
	r := a.Root
	for _, id := range []string{audit.CtlNoAccessKeys, audit.CtlRootMFA, audit.CtlHardwareMFA, audit.CtlNotUsedRecently} {
		c, ok := outcome(cs, id)
		switch {
		case !ok:
			continue
		case c.Outcome == audit.Unknown:
			ap.Notes = append(ap.Notes, id+" unknown: "+c.Detail)
			continue
		case c.Outcome != audit.Fail:
			continue
		}
		ap.Drift = append(ap.Drift, Drift{id, c.Detail})
		switch id {
		case audit.CtlNoAccessKeys:
			ap.Actions = append(ap.Actions, keyActions(a, asOf)...)
		case audit.CtlRootMFA:
			if !r.Password && !a.Management {
				ap.Actions = append(ap.Actions, Action{By: ByRootguard,
					Step:    "root has no password to sign in with: let the root email owner recover one (or delete the root's remaining credentials and MFA is not needed)",
					Command: "rootguard root allow-recovery --account " + a.ID})
			}
			ap.Actions = append(ap.Actions, Action{By: ByEmailOwner,
				Step: "sign in as root and register a passkey or hardware TOTP token (phishing-resistant, for IAM.6)"})
		case audit.CtlHardwareMFA:
			// IAM.6 fails while any virtual device is permitted for root
			// sign-in, even beside a hardware one.
			hasHardware := slices.ContainsFunc(r.MFADevices, func(d audit.MFADevice) bool {
				return d.Kind == audit.MFAHardware || d.Kind == audit.MFAPasskey || d.Kind == audit.MFANotVirtual
			})
			switch {
			case len(r.MFADevices) == 0: // IAM.9's step covers it
			case hasHardware:
				ap.Actions = append(ap.Actions, Action{By: ByEmailOwner,
					Step: "sign in as root and remove the virtual MFA device (a hardware or FIDO device is already registered)"})
			default:
				ap.Actions = append(ap.Actions, Action{By: ByEmailOwner,
					Step: "sign in as root, register a passkey or hardware TOTP token, then remove the virtual MFA device"})
			}
		case audit.CtlNotUsedRecently:
			ap.Actions = append(ap.Actions, Action{By: ByCCoE,
				Step:    "find who used root and why; if it was not approved, treat it as an incident (rotate the password, delete keys)",
				Command: "rootguard scan --account " + a.ID + " --since 90d TRAIL"})
		}
	}
	if !r.HasCredentials() && len(r.MFADevices) == 0 {
		ap.Notes = append(ap.Notes, "no root credentials: already meets strict")
	}
}

// keyActions are the ways to delete root access keys while keeping the
// rest of the root user's credentials, which flexible mode allows.
func keyActions(a *audit.Account, asOf time.Time) []Action {
	keys := keyIDs(a.Root.AccessKeys)
	if a.Management {
		return []Action{{By: ByEmailOwner,
			Step: "sign in as the management account's root user and delete access key(s) " + keys + " under Security credentials (no root session can enter the management account)"}}
	}
	var out []Action
	if k, recent := recentKey(a.Root.AccessKeys, asOf); recent {
		out = append(out, Action{By: ByCCoE,
			Step:    fmt.Sprintf("access key %s was used %s (%s): move what uses it to a role first", k.ID, day(k.LastUsed), orNone(k.LastUsedService)),
			Command: "rootguard scan --account " + a.ID + " --since 90d TRAIL"})
	}
	out = append(out,
		Action{By: ByEmailOwner, Step: "sign in as root and delete access key(s) " + keys + " under Security credentials"},
		Action{By: ByCCoE,
			Step: "or delete only the key(s) in a root session: rootguard root delete-credentials cannot, it deletes the password and MFA too, which flexible mode keeps",
			Command: "aws sts assume-root --target-principal " + a.ID + " --task-policy-arn arn=" + deleteSessionTask +
				"; then, with the session's credentials: " + deleteKeyCommands(a.Root.AccessKeys)})
	if b := audit.BlockingSCPs(a); len(b) > 0 {
		out = append(out, Action{By: ByCCoE, Step: "the root session is denied until " + strings.Join(b, ", ") + " exempt aws:AssumedRoot"})
	}
	return out
}

func deleteKeyCommands(keys []audit.AccessKey) string {
	var cmds []string
	for _, k := range keys {
		cmds = append(cmds, "aws iam delete-access-key --access-key-id "+k.ID)
	}
	return strings.Join(cmds, "; ")
}

func recentKey(keys []audit.AccessKey, asOf time.Time) (audit.AccessKey, bool) {
	for _, k := range keys {
		if !k.LastUsed.IsZero() && asOf.Sub(k.LastUsed) < audit.UnusedWindow {
			return k, true
		}
	}
	return audit.AccessKey{}, false
}

func keyIDs(keys []audit.AccessKey) string {
	var ids []string
	for _, k := range keys {
		ids = append(ids, k.ID)
	}
	return strings.Join(ids, ", ")
}

func keyList(keys []audit.AccessKey) string {
	var parts []string
	for _, k := range keys {
		s := k.ID + " (" + k.Status
		if !k.LastUsed.IsZero() {
			s += ", last used " + day(k.LastUsed)
		}
		parts = append(parts, s+")")
	}
	return strings.Join(parts, ", ")
}

func activeCerts(r *audit.Root) int {
	n := 0
	for _, c := range r.SigningCertificates {
		if c.Status == "Active" {
			n++
		}
	}
	return n
}

func day(t time.Time) string { return t.UTC().Format("2006-01-02") }

func orNone(s string) string {
	if s == "" {
		return "service unknown"
	}
	return "via " + s
}

// joinAnd joins "a", "b" and "c" as "a, b and c".
func joinAnd(parts []string) string {
	if len(parts) <= 1 {
		return strings.Join(parts, "")
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

// NeedsAttention reports whether any account drifts from its mode or is
// active and could not be read.
func NeedsAttention(plans []AccountPlan) bool {
	return slices.ContainsFunc(plans, func(p AccountPlan) bool {
		return p.Status == StatusDrift || p.Status == StatusNotAudited
	})
}
