package report

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/rootguard/rootguard/internal/audit"
	"github.com/rootguard/rootguard/internal/store"
)

var auditColumns = []string{"ACCOUNT", "NAME", "OU", "STATE", "METHOD", "PASSWORD", "MFA", "ACCESS KEYS", "CERTS", "LAST USED", "FAILED CONTROLS", "ERROR"}

func auditRow(a *audit.Account) []string {
	row := []string{a.ID, a.Name, a.OUPath, a.State, string(a.Method), "", "", "", "", "", strings.Join(failedControls(a), ","), a.Error}
	if r := a.Root; r != nil {
		row[5] = strconv.FormatBool(r.Password)
		var kinds []string
		for _, d := range r.MFADevices {
			kinds = append(kinds, string(d.Kind))
		}
		row[6] = strings.Join(kinds, "+")
		if row[6] == "" {
			row[6] = "none"
		}
		active := 0
		for _, k := range r.AccessKeys {
			if k.Status == "Active" {
				active++
			}
		}
		row[7] = fmt.Sprintf("%d (%d active)", len(r.AccessKeys), active)
		row[8] = strconv.Itoa(len(r.SigningCertificates))
		row[9] = timeString(r.LastUsed)
	}
	return row
}

func failedControls(a *audit.Account) []string {
	var ids []string
	for _, c := range a.Controls {
		if c.Outcome == audit.Fail {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

// Audit writes one row (or JSON object) per account.
func Audit(w io.Writer, rep *audit.Report, o Options) error {
	accts := rep.Accounts
	switch o.Format {
	case JSON:
		return writeJSONLines(w, accts)
	case CSV:
		return writeCSV(w, auditColumns, len(accts), func(i int) []string { return auditRow(accts[i]) })
	}
	return writeTable(w, o.Pretty, auditColumns, len(accts), func(i int) []string { return auditRow(accts[i]) })
}

// AuditSummary writes the organization's summary: its setup, the org-wide
// controls, and each control's tally.
func AuditSummary(w io.Writer, rep *audit.Report) {
	o := rep.Organization
	s := rep.Summary
	fmt.Fprintf(w, "rootguard: organization %s, management account %s, feature set %s\n", o.ID, o.ManagementAccountID, o.FeatureSet)
	features := "none"
	if len(o.EnabledFeatures) > 0 {
		features = strings.Join(o.EnabledFeatures, ", ")
	}
	admins := "none"
	if len(o.IAMDelegatedAdmins) > 0 {
		admins = strings.Join(o.IAMDelegatedAdmins, ", ")
	}
	fmt.Fprintf(w, "rootguard: root access features: %s; IAM trusted access: %v; IAM delegated administrator: %s\n", features, o.IAMTrustedAccess, admins)
	fmt.Fprintf(w, "rootguard: %d accounts, %d audited, %d not audited, %d with no root credentials at all, in %s\n",
		s.Accounts, s.Audited, s.Failed, s.RootCredentialsGone, rep.FinishedAt.Sub(rep.StartedAt).Round(1e6))
	for _, c := range rep.OrgControls {
		fmt.Fprintf(w, "rootguard: %-10s %-15s %s: %s\n", c.ID, c.Outcome, c.Title, c.Detail)
	}
	for _, info := range audit.Controls {
		if info.OrgLevel {
			continue
		}
		t := s.ByControl[info.ID]
		fmt.Fprintf(w, "rootguard: %-10s pass %4d  fail %4d  n/a %4d  unknown %4d  %s\n", info.ID, t.Pass, t.Fail, t.NotApplicable, t.Unknown, info.Title)
	}
	var failed []*audit.Account
	for _, a := range rep.Accounts {
		if a.Error != "" {
			failed = append(failed, a)
		}
	}
	slices.SortFunc(failed, func(a, b *audit.Account) int { return strings.Compare(a.ID, b.ID) })
	if len(failed) > 0 {
		fmt.Fprintf(w, "rootguard: %d accounts could not be audited:\n", len(failed))
		for _, a := range failed {
			fmt.Fprintf(w, "  %s\n", a.Error)
		}
	}
}

var changeColumns = []string{"ACCOUNT", "NAME", "CHANGE", "DETAIL"}

// Changes writes what changed between two audits.
func Changes(w io.Writer, cs []audit.Change, o Options) error {
	row := func(i int) []string { return []string{cs[i].Account, cs[i].Name, cs[i].Kind, cs[i].Detail} }
	switch o.Format {
	case JSON:
		return writeJSONLines(w, cs)
	case CSV:
		return writeCSV(w, changeColumns, len(cs), row)
	}
	return writeTable(w, o.Pretty, changeColumns, len(cs), row)
}

var historyColumns = []string{"AUDIT", "ORGANIZATION", "STARTED", "FINISHED", "ACCOUNTS", "NOT AUDITED", "WITH FAILED CONTROLS"}

// AuditHistory lists stored audits.
func AuditHistory(w io.Writer, infos []store.AuditInfo, o Options) error {
	row := func(i int) []string {
		a := infos[i]
		return []string{strconv.FormatInt(a.ID, 10), a.OrgID, timeString(a.StartedAt), timeString(a.FinishedAt),
			strconv.Itoa(a.Accounts), strconv.Itoa(a.Failed), strconv.Itoa(a.WithFindings)}
	}
	switch o.Format {
	case JSON:
		return writeJSONLines(w, infos)
	case CSV:
		return writeCSV(w, historyColumns, len(infos), row)
	}
	return writeTable(w, o.Pretty, historyColumns, len(infos), row)
}
