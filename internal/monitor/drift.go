package monitor

import (
	"cmp"
	"slices"
	"strings"

	"github.com/rootguard/rootguard/internal/audit"
)

// The kinds of regression a scheduled run pages for. They are part of the
// function's JSON result and of the alert's category attribute.
const (
	CredentialAppeared = "credential-appeared"   // a root password, access key or signing certificate appears or turns Active
	MFARemoved         = "mfa-removed"           // a root MFA device is gone while root still has credentials
	FeatureDisabled    = "feature-disabled"      // RootCredentialsManagement, RootSessions or IAM trusted access turned off
	NewAccountWithRoot = "new-account-with-root" // an account joined the organization with root credentials
	SCPBlocksSessions  = "scp-blocks-sessions"   // RG.SCP.1 went from pass to fail: an SCP now refuses root sessions
	LeftStrictOU       = "left-strict-ou"        // an account moved out of a strict OU
)

// Regression is one change for the worse between two runs.
type Regression struct {
	Account string `json:"account"` // empty for the organization
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	Detail  string `json:"detail"`
}

// Regressions lists what got worse from prev to cur: the changes
// audit.Diff reports that the CCoE must act on. strictOUs are OU paths
// (as the audit writes them, e.g. /Workloads/Prod) whose accounts, and
// those of the OUs below them, keep no root credentials. A nil prev (the
// first run) has no regressions: its failures are in Security Hub.
func Regressions(prev, cur *audit.Report, strictOUs []string) []Regression {
	return RegressionsFunc(prev, cur, func(path string) bool { return underAny(path, strictOUs) })
}

// RegressionsFunc is Regressions with strict(path) saying whether an OU
// path is strict: the deployment's rootguard.yaml (mode.Policy.Strict).
func RegressionsFunc(prev, cur *audit.Report, strict func(path string) bool) []Regression {
	if prev == nil || cur == nil {
		return nil
	}
	byID := map[string]*audit.Account{}
	for _, a := range cur.Accounts {
		byID[a.ID] = a
	}
	var out []Regression
	add := func(c audit.Change, kind string) {
		out = append(out, Regression{Account: c.Account, Name: c.Name, Kind: kind, Detail: c.Detail})
	}
	for _, c := range audit.Diff(prev, cur) {
		switch c.Kind {
		case audit.ChangePasswordAdded, audit.ChangeAccessKeyAdded, audit.ChangeCertificateAdded:
			add(c, CredentialAppeared)
		case audit.ChangeAccessKeyStatus, audit.ChangeCertificateStatus:
			if strings.HasSuffix(c.Detail, "-> Active") {
				add(c, CredentialAppeared)
			}
		case audit.ChangeMFARemoved:
			// IAM.9: MFA matters only while root can sign in or call APIs.
			// Deleting the root credentials centrally removes the MFA
			// devices too: that is the strict-mode target, not a regression.
			if a := byID[c.Account]; a != nil && a.Root != nil && a.Root.HasCredentials() {
				add(c, MFARemoved)
			}
		case audit.ChangeOrgFeatureDisabled:
			add(c, FeatureDisabled)
		case audit.ChangeAccountAdded:
			if a := byID[c.Account]; a != nil && a.Root != nil && a.Root.HasCredentials() {
				c.Detail += ": " + credentials(a.Root)
				add(c, NewAccountWithRoot)
			}
		case audit.ChangeControlChanged:
			if strings.HasPrefix(c.Detail, audit.CtlSCPRootSessions+" pass -> fail") {
				add(c, SCPBlocksSessions)
			}
		case audit.ChangeOUChanged:
			from, to, _ := strings.Cut(c.Detail, " -> ")
			if strict(from) && !strict(to) {
				add(c, LeftStrictOU)
			}
		}
	}
	slices.SortStableFunc(out, func(x, y Regression) int { return cmp.Compare(x.Account, y.Account) })
	return out
}

func credentials(r *audit.Root) string {
	var parts []string
	if r.Password {
		parts = append(parts, "password")
	}
	for _, k := range r.AccessKeys {
		parts = append(parts, "access key "+k.ID+" ("+k.Status+")")
	}
	for _, c := range r.SigningCertificates {
		parts = append(parts, "certificate "+c.ID+" ("+c.Status+")")
	}
	return strings.Join(parts, ", ")
}

// underAny says whether path is one of the OUs or below one of them.
func underAny(path string, ous []string) bool {
	for _, ou := range ous {
		ou = strings.TrimSuffix(ou, "/")
		if ou != "" && (path == ou || strings.HasPrefix(path, ou+"/")) {
			return true
		}
	}
	return false
}
