package mode

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rootguard/rootguard/internal/audit"
	"github.com/rootguard/rootguard/internal/detect"
)

// Activity is the root use a trail shows, per account.
type Activity struct {
	Since time.Time `json:"since,omitzero"`
	// Sessions counts the centralized root sessions (sts:AssumeRoot)
	// issued for each target account: root tasks the CCoE already does
	// without credentials.
	Sessions map[string]int `json:"sessions"`
	// SignIns counts root console sign-ins (and failed attempts).
	SignIns map[string]int `json:"signIns"`
	// Actions counts other actions of the root user itself (not of root
	// sessions): API calls, password and key changes, GuardDuty's root
	// credential usage findings.
	Actions map[string]int `json:"actions"`
}

// NewActivity counts root use in a scan's findings.
func NewActivity(fs []detect.Finding, since time.Time) *Activity {
	act := &Activity{Since: since, Sessions: map[string]int{}, SignIns: map[string]int{}, Actions: map[string]int{}}
	for _, f := range fs {
		switch f.Category {
		case detect.RootSessionIssued:
			if f.Session != nil && f.Session.TargetAccount != "" {
				act.Sessions[f.Session.TargetAccount]++
			}
		case detect.RootSessionActivity, detect.GovernanceChange:
			// Inside a root session (counted by its issue) or not root use.
		case detect.ConsoleLogin, detect.ConsoleLoginFailure:
			act.SignIns[f.Account]++
		default:
			act.Actions[f.Account]++
		}
	}
	return act
}

// Need is why an account would lose something in strict mode.
type Need struct {
	Account string   `json:"account"`
	Name    string   `json:"name"`
	Reasons []string `json:"reasons"`
}

// Exposure is what flexible mode leaves open in an OU: counts of member
// accounts (and the management account) whose root user has credentials.
type Exposure struct {
	WithCredentials int `json:"withCredentials"`
	WithoutMFA      int `json:"withoutMfa"`
	VirtualMFAOnly  int `json:"virtualMfaOnly"`
	WithAccessKeys  int `json:"withAccessKeys"`
	UsedRecently    int `json:"usedRecently"`
	// Accounts lists each exposed account's problems.
	Accounts []Need `json:"accounts"`
}

// OUActivity sums an OU's trail activity.
type OUActivity struct {
	Sessions int `json:"sessions"`
	SignIns  int `json:"signIns"`
	Actions  int `json:"actions"`
}

// OUAdvice is the advice for the accounts directly in one OU.
type OUAdvice struct {
	OU         string   `json:"ou"`
	Mode       Decision `json:"mode"`
	Accounts   int      `json:"accounts"` // active accounts
	Audited    int      `json:"audited"`
	NotAudited []string `json:"notAudited"`
	Management string   `json:"management,omitempty"` // the management account, when it is here
	// NeedRoot lists the member accounts where strict mode would take
	// something away, and why: what strict costs.
	NeedRoot []Need `json:"needRoot"`
	// ToDelete lists the member accounts whose root credentials (or
	// leftover MFA devices) strict mode would delete.
	ToDelete       []string    `json:"toDelete"`
	Exposure       Exposure    `json:"exposure"`
	Activity       *OUActivity `json:"activity,omitempty"`
	Recommendation string      `json:"recommendation"`
}

// Advise gives, per OU with accounts, what strict mode would cost (the
// accounts whose root is evidently in use), what flexible mode leaves
// exposed, and a recommendation. act may be nil (no trail read).
func Advise(rep *audit.Report, p *Policy, act *Activity) []OUAdvice {
	byOU := map[string][]*audit.Account{}
	var ous []string
	for _, a := range rep.Accounts {
		if _, ok := byOU[a.OUPath]; !ok {
			ous = append(ous, a.OUPath)
		}
		byOU[a.OUPath] = append(byOU[a.OUPath], a)
	}
	slices.Sort(ous)
	out := make([]OUAdvice, 0, len(ous))
	for _, ou := range ous {
		out = append(out, adviseOU(ou, byOU[ou], rep.StartedAt, p, act))
	}
	return out
}

func adviseOU(ou string, accts []*audit.Account, asOf time.Time, p *Policy, act *Activity) OUAdvice {
	adv := OUAdvice{OU: ou, Mode: p.ForOU(ou), NotAudited: []string{}, NeedRoot: []Need{}, ToDelete: []string{}, Exposure: Exposure{Accounts: []Need{}}}
	if act != nil {
		adv.Activity = &OUActivity{}
	}
	members := 0 // audited member accounts
	for _, a := range accts {
		if a.Root == nil && a.Error == "" && a.State != "" && a.State != "ACTIVE" {
			continue // suspended or closing
		}
		adv.Accounts++
		switch {
		case a.Management:
			adv.Management = a.ID
		case a.Root != nil:
			members++
		}
		if act != nil {
			adv.Activity.Sessions += act.Sessions[a.ID]
			adv.Activity.SignIns += act.SignIns[a.ID]
			adv.Activity.Actions += act.Actions[a.ID]
		}
		if a.Root == nil {
			adv.NotAudited = append(adv.NotAudited, a.ID)
		} else {
			adv.Audited++
			exposure(&adv.Exposure, a, asOf)
		}
		if a.Management {
			continue
		}
		if a.Root != nil && (a.Root.HasCredentials() || len(a.Root.MFADevices) > 0) {
			adv.ToDelete = append(adv.ToDelete, a.ID)
		}
		if reasons := needs(a, p, act, asOf); len(reasons) > 0 {
			adv.NeedRoot = append(adv.NeedRoot, Need{Account: a.ID, Name: a.Name, Reasons: reasons})
		}
	}
	adv.Recommendation = recommend(&adv, members)
	return adv
}

// needs lists the evidence that an account's root user is in use: what
// strict mode would take away.
func needs(a *audit.Account, p *Policy, act *Activity, asOf time.Time) []string {
	var out []string
	if x, ok := p.exceptions[a.ID]; ok {
		out = append(out, fmt.Sprintf("exception (exceptions[%d], %s): %s", x.entry, x.Mode, x.Reason))
	}
	if r := a.Root; r != nil {
		if n := activeCerts(r); n > 0 {
			out = append(out, fmt.Sprintf("%d active root signing certificate(s): something may sign requests with them", n))
		}
		if k, recent := recentKey(r.AccessKeys, asOf); recent {
			out = append(out, fmt.Sprintf("root access key %s used %s (%s): an automation runs as root", k.ID, day(k.LastUsed), orNone(k.LastUsedService)))
		}
		if !r.PasswordLastUsed.IsZero() && asOf.Sub(r.PasswordLastUsed) < audit.UnusedWindow {
			out = append(out, "root signed in "+day(r.PasswordLastUsed)+": someone does a task as root")
		}
	}
	if act != nil {
		if n, m := act.SignIns[a.ID], act.Actions[a.ID]; n+m > 0 {
			out = append(out, fmt.Sprintf("trail: %d root sign-in(s) and %d other root action(s)", n, m))
		}
	}
	return out
}

// exposure adds an account's open root credentials to e.
func exposure(e *Exposure, a *audit.Account, asOf time.Time) {
	r := a.Root
	if !r.HasCredentials() {
		return
	}
	e.WithCredentials++
	var issues []string
	switch {
	case len(r.MFADevices) == 0:
		e.WithoutMFA++
		issues = append(issues, "no MFA")
	case !slices.ContainsFunc(r.MFADevices, func(d audit.MFADevice) bool { return d.Kind != audit.MFAVirtual }):
		e.VirtualMFAOnly++
		issues = append(issues, "virtual MFA only")
	}
	if n := len(r.AccessKeys); n > 0 {
		e.WithAccessKeys++
		issues = append(issues, fmt.Sprintf("%d access key(s)", n))
	}
	if !r.LastUsed.IsZero() && asOf.Sub(r.LastUsed) < audit.UnusedWindow {
		e.UsedRecently++
		issues = append(issues, "used "+day(r.LastUsed))
	}
	if len(issues) == 0 {
		issues = append(issues, "credentials with phishing-resistant MFA")
	}
	e.Accounts = append(e.Accounts, Need{Account: a.ID, Name: a.Name, Reasons: issues})
}

// recommend says in one line what to do with the OU. members counts its
// audited member accounts.
func recommend(adv *OUAdvice, members int) string {
	var parts []string
	switch need := len(adv.NeedRoot); {
	case adv.Accounts == 0:
		parts = append(parts, "no active account here")
	case members == 0 && adv.Management == "":
		parts = append(parts, "no member account could be read: audit again once they can be")
	case members == 0:
	case need == 0 && len(adv.ToDelete) == 0:
		parts = append(parts, "strict: no member root credentials are left and none shows a use; strict costs nothing here")
	case need == 0:
		var flags []string
		for _, id := range adv.ToDelete {
			flags = append(flags, "--account "+id)
		}
		parts = append(parts, fmt.Sprintf("strict: no member account shows a use for root; deleting %d root credential set(s) removes the exposure (rootguard root delete-credentials %s)",
			len(adv.ToDelete), strings.Join(flags, " ")))
	case need < members:
		var ids []string
		for _, n := range adv.NeedRoot {
			ids = append(ids, n.Account)
		}
		parts = append(parts, fmt.Sprintf("strict, with exceptions for %s (list them under exceptions: with their reason)", strings.Join(ids, ", ")))
	default:
		e := adv.Exposure
		var fix []string
		if e.WithoutMFA > 0 {
			fix = append(fix, fmt.Sprintf("%d without MFA", e.WithoutMFA))
		}
		if e.VirtualMFAOnly > 0 {
			fix = append(fix, fmt.Sprintf("%d with virtual MFA only", e.VirtualMFAOnly))
		}
		if e.WithAccessKeys > 0 {
			fix = append(fix, fmt.Sprintf("%d with access keys", e.WithAccessKeys))
		}
		s := "flexible for now: every member account shows a use for root (strict once those uses move to roles or root sessions)"
		if len(fix) > 0 {
			s += "; close the exposure: " + strings.Join(fix, ", ")
		}
		parts = append(parts, s)
	}
	if adv.Management != "" {
		parts = append(parts, "management account "+adv.Management+" stays flexible: password with a passkey or hardware MFA, no access keys")
	}
	if n := len(adv.NotAudited); n > 0 && (members > 0 || adv.Management != "") {
		parts = append(parts, fmt.Sprintf("%d account(s) not audited: advice is partial", n))
	}
	return strings.Join(parts, "; ")
}
