package audit

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Change is one difference between two audits of an organization.
type Change struct {
	// Account is the account's id; it is empty for organization-wide
	// changes, whose Name is the organization's id.
	Account string `json:"account"`
	Name    string `json:"name"`
	Kind    string `json:"kind"` // one of the Change* kinds
	Detail  string `json:"detail"`
}

// The kinds of change, with what each one's Detail says. They are part
// of rootguard's JSON output: add kinds, never rename them.
const (
	ChangeAccountAdded      = "account-added"      // joined the organization: "added in /Workloads/Prod"
	ChangeAccountRemoved    = "account-removed"    // left the organization: "removed from /Workloads/Prod"
	ChangeStateChanged      = "state-changed"      // "ACTIVE -> SUSPENDED"
	ChangeOUChanged         = "ou-changed"         // moved to another OU: "/Sandbox -> /Workloads/Prod"
	ChangeAccountUnreadable = "account-unreadable" // read before, not now: the error
	ChangeAccountReadable   = "account-readable"   // not read before, read now: "previously: " and the old error

	ChangePasswordAdded      = "password-added"             // "root has a password"
	ChangePasswordRemoved    = "password-removed"           // "root has no password"
	ChangeAccessKeyAdded     = "access-key-added"           // "AKIA... (Active)"
	ChangeAccessKeyRemoved   = "access-key-removed"         // "AKIA..."
	ChangeAccessKeyStatus    = "access-key-status-changed"  // "AKIA...: Active -> Inactive"
	ChangeMFAAdded           = "mfa-added"                  // kind and serial: "passkey arn:aws:iam::...:u2f/..."
	ChangeMFARemoved         = "mfa-removed"                // kind and serial: "virtual arn:aws:iam::...:mfa/..."
	ChangeCertificateAdded   = "certificate-added"          // "ID (Active)"
	ChangeCertificateRemoved = "certificate-removed"        // "ID"
	ChangeCertificateStatus  = "certificate-status-changed" // "ID: Inactive -> Active"
	ChangeRootUsed           = "root-used"                  // used since the previous audit: when, and with what
	ChangeControlChanged     = "control-changed"            // "IAM.9 pass -> fail: " and the control's detail

	// Organization-wide: a feature such as RootSessions, or "trusted
	// access for iam.amazonaws.com".
	ChangeOrgFeatureEnabled  = "org-feature-enabled"
	ChangeOrgFeatureDisabled = "org-feature-disabled"
)

// trustedAccessFeature is how an org-feature change names IAM trusted
// access.
const trustedAccessFeature = "trusted access for iam.amazonaws.com"

// Diff lists what changed from prev to cur, ordered by account id (the
// organization-wide changes first), then kind, then detail. A nil prev
// means there is no previous audit to compare with, and Diff returns nil.
//
// What could not be read is not taken for a change: the root user's
// credentials and the controls are compared only for accounts read in
// both audits (an account read in one of them gets account-unreadable or
// account-readable instead), and the organization's features only when
// both audits read them.
func Diff(prev, cur *Report) []Change {
	if prev == nil || cur == nil {
		return nil
	}
	var out []Change
	out = append(out, diffOrg(prev, cur)...)

	before := accountsByID(prev.Accounts)
	after := accountsByID(cur.Accounts)
	for id, a := range after {
		if p, ok := before[id]; ok {
			out = append(out, diffAccount(prev, p, a)...)
		} else {
			out = append(out, Change{id, a.Name, ChangeAccountAdded, inOU("added", "in", a.OUPath)})
		}
	}
	for id, p := range before {
		if _, ok := after[id]; !ok {
			out = append(out, Change{id, p.Name, ChangeAccountRemoved, inOU("removed", "from", p.OUPath)})
		}
	}
	slices.SortFunc(out, func(x, y Change) int {
		return cmp.Or(cmp.Compare(x.Account, y.Account), cmp.Compare(x.Kind, y.Kind), cmp.Compare(x.Detail, y.Detail))
	})
	return out
}

// inOU says where an account was added or removed: "added in /Prod".
func inOU(verb, prep, ou string) string {
	if ou == "" {
		return verb
	}
	return verb + " " + prep + " " + ou
}

func accountsByID(as []*Account) map[string]*Account {
	m := make(map[string]*Account, len(as))
	for _, a := range as {
		if a != nil {
			m[a.ID] = a
		}
	}
	return m
}

func diffOrg(prev, cur *Report) []Change {
	po, co := prev.Organization, cur.Organization
	if po.Error != "" || co.Error != "" {
		return nil
	}
	org := func(kind, detail string, args ...any) Change {
		return Change{Name: co.ID, Kind: kind, Detail: fmt.Sprintf(detail, args...)}
	}
	var out []Change
	for _, f := range co.EnabledFeatures {
		if !slices.Contains(po.EnabledFeatures, f) {
			out = append(out, org(ChangeOrgFeatureEnabled, "%s", f))
		}
	}
	for _, f := range po.EnabledFeatures {
		if !slices.Contains(co.EnabledFeatures, f) {
			out = append(out, org(ChangeOrgFeatureDisabled, "%s", f))
		}
	}
	switch {
	case co.IAMTrustedAccess && !po.IAMTrustedAccess:
		out = append(out, org(ChangeOrgFeatureEnabled, "%s", trustedAccessFeature))
	case po.IAMTrustedAccess && !co.IAMTrustedAccess:
		out = append(out, org(ChangeOrgFeatureDisabled, "%s", trustedAccessFeature))
	}
	for _, d := range diffControls(prev.OrgControls, cur.OrgControls) {
		out = append(out, org(ChangeControlChanged, "%s", d))
	}
	return out
}

func diffAccount(prevRep *Report, p, a *Account) []Change {
	var out []Change
	add := func(kind, detail string, args ...any) {
		out = append(out, Change{a.ID, a.Name, kind, fmt.Sprintf(detail, args...)})
	}
	if p.State != a.State {
		add(ChangeStateChanged, "%s -> %s", orNone(p.State), orNone(a.State))
	}
	if p.OUPath != a.OUPath {
		add(ChangeOUChanged, "%s -> %s", orNone(p.OUPath), orNone(a.OUPath))
	}
	switch {
	case p.Error == "" && a.Error != "":
		add(ChangeAccountUnreadable, "%s", a.Error)
	case p.Error != "" && a.Error == "":
		add(ChangeAccountReadable, "previously: %s", p.Error)
	}

	pr, r := p.Root, a.Root
	if r == nil {
		return out
	}
	if pr == nil {
		// Not read last time: a use after the previous audit began is
		// still a use since then.
		if !prevRep.StartedAt.IsZero() && r.LastUsed.After(prevRep.StartedAt) {
			add(ChangeRootUsed, "last used %s%s, after the previous audit", stamp(r.LastUsed), usedBy(r))
		}
		return out
	}

	switch {
	case r.Password && !pr.Password:
		add(ChangePasswordAdded, "root has a password")
	case pr.Password && !r.Password:
		add(ChangePasswordRemoved, "root has no password")
	}

	for _, k := range r.AccessKeys {
		i := slices.IndexFunc(pr.AccessKeys, func(o AccessKey) bool { return o.ID == k.ID })
		switch {
		case i < 0:
			add(ChangeAccessKeyAdded, "%s (%s)", k.ID, k.Status)
		case pr.AccessKeys[i].Status != k.Status:
			add(ChangeAccessKeyStatus, "%s: %s -> %s", k.ID, orNone(pr.AccessKeys[i].Status), orNone(k.Status))
		}
	}
	for _, k := range pr.AccessKeys {
		if !slices.ContainsFunc(r.AccessKeys, func(o AccessKey) bool { return o.ID == k.ID }) {
			add(ChangeAccessKeyRemoved, "%s", k.ID)
		}
	}

	for _, d := range r.MFADevices {
		if !slices.ContainsFunc(pr.MFADevices, func(o MFADevice) bool { return o.Serial == d.Serial }) {
			add(ChangeMFAAdded, "%s %s", orNone(string(d.Kind)), d.Serial)
		}
	}
	for _, d := range pr.MFADevices {
		if !slices.ContainsFunc(r.MFADevices, func(o MFADevice) bool { return o.Serial == d.Serial }) {
			add(ChangeMFARemoved, "%s %s", orNone(string(d.Kind)), d.Serial)
		}
	}

	for _, c := range r.SigningCertificates {
		i := slices.IndexFunc(pr.SigningCertificates, func(o Certificate) bool { return o.ID == c.ID })
		switch {
		case i < 0:
			add(ChangeCertificateAdded, "%s (%s)", c.ID, c.Status)
		case pr.SigningCertificates[i].Status != c.Status:
			add(ChangeCertificateStatus, "%s: %s -> %s", c.ID, orNone(pr.SigningCertificates[i].Status), orNone(c.Status))
		}
	}
	for _, c := range pr.SigningCertificates {
		if !slices.ContainsFunc(r.SigningCertificates, func(o Certificate) bool { return o.ID == c.ID }) {
			add(ChangeCertificateRemoved, "%s", c.ID)
		}
	}

	if r.LastUsed.After(pr.LastUsed) {
		add(ChangeRootUsed, "last used %s%s, previously %s", stamp(r.LastUsed), usedBy(r), stamp(pr.LastUsed))
	}

	for _, d := range diffControls(p.Controls, a.Controls) {
		add(ChangeControlChanged, "%s", d)
	}
	return out
}

// diffControls describes the controls, present in both lists, whose
// outcome changed: "IAM.9 pass -> fail: root has credentials and no MFA
// device".
func diffControls(prev, cur []Control) []string {
	var out []string
	for _, c := range cur {
		i := slices.IndexFunc(prev, func(o Control) bool { return o.ID == c.ID })
		if i < 0 || prev[i].Outcome == c.Outcome {
			continue
		}
		d := fmt.Sprintf("%s %s -> %s", c.ID, orNone(string(prev[i].Outcome)), orNone(string(c.Outcome)))
		if c.Detail != "" {
			d += ": " + c.Detail
		}
		out = append(out, d)
	}
	return out
}

// usedBy names the credentials whose last use is the root user's last
// use: " (password)", " (access key AKIA..., s3 in us-east-1)".
func usedBy(r *Root) string {
	var by []string
	if !r.PasswordLastUsed.IsZero() && r.PasswordLastUsed.Equal(r.LastUsed) {
		by = append(by, "password")
	}
	for _, k := range r.AccessKeys {
		if k.LastUsed.IsZero() || !k.LastUsed.Equal(r.LastUsed) {
			continue
		}
		s := "access key " + k.ID
		switch {
		case k.LastUsedService != "" && k.LastUsedRegion != "":
			s += ", " + k.LastUsedService + " in " + k.LastUsedRegion
		case k.LastUsedService != "":
			s += ", " + k.LastUsedService
		}
		by = append(by, s)
	}
	if len(by) == 0 {
		return ""
	}
	return " (" + strings.Join(by, "; ") + ")"
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
