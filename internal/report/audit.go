package report

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/rootguard/rootguard/internal/audit"
	"github.com/rootguard/rootguard/internal/escape"
	"github.com/rootguard/rootguard/internal/store"
)

var auditColumns = []string{"RECORD", "ACCOUNT", "NAME", "OU", "STATE", "METHOD", "PASSWORD", "MFA", "ACCESS KEYS", "CERTS", "LAST USED", "FAILED CONTROLS", "ERROR"}

// The record kinds of an audit's data output.
const (
	RecordOrganization = "organization"
	RecordAccount      = "account"
)

func auditRow(a *audit.Account) []string {
	row := []string{RecordAccount, a.ID, a.Name, a.OUPath, a.State, string(a.Method), "", "", "", "", "", strings.Join(failedControls(a.Controls), ","), a.Error}
	if r := a.Root; r != nil {
		row[6] = strconv.FormatBool(r.Password)
		var kinds []string
		for _, d := range r.MFADevices {
			kinds = append(kinds, string(d.Kind))
		}
		row[7] = strings.Join(kinds, "+")
		if row[7] == "" {
			row[7] = "none"
		}
		active := 0
		for _, k := range r.AccessKeys {
			if k.Status == "Active" {
				active++
			}
		}
		row[8] = fmt.Sprintf("%d (%d active)", len(r.AccessKeys), active)
		row[9] = strconv.Itoa(len(r.SigningCertificates))
		row[10] = timeString(r.LastUsed)
	}
	return row
}

// orgRow is the organization's row: its id in ACCOUNT, its feature set in
// STATE, its failed organization-wide controls (RG.ORG.1, RG.ORG.2).
func orgRow(rep *audit.Report) []string {
	o := rep.Organization
	return []string{RecordOrganization, o.ID, "", "Root", o.FeatureSet, "", "", "", "", "", "", strings.Join(failedControls(rep.OrgControls), ","), o.Error}
}

func failedControls(cs []audit.Control) []string {
	var ids []string
	for _, c := range cs {
		if c.Outcome == audit.Fail {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

// OrgRecord is the first line of an audit's JSON output: the organization,
// its organization-wide controls and the tally, so that a pipeline reads
// every verdict from stdout.
type OrgRecord struct {
	Record       string          `json:"record"` // "organization"
	Organization audit.OrgInfo   `json:"organization"`
	Controls     []audit.Control `json:"controls"`
	Summary      audit.Summary   `json:"summary"`
	StartedAt    string          `json:"startedAt"`
	FinishedAt   string          `json:"finishedAt"`
}

// AccountRecord is one account's line of an audit's JSON output.
type AccountRecord struct {
	Record string `json:"record"` // "account"
	*audit.Account
}

// Audit writes the organization's record, then one row (or JSON object)
// per account. Every record says which it is (record: organization or
// account).
func Audit(w io.Writer, rep *audit.Report, o Options) error {
	accts := rep.Accounts
	row := func(i int) []string {
		if i == 0 {
			return orgRow(rep)
		}
		return auditRow(accts[i-1])
	}
	switch o.Format {
	case JSON:
		lines := []any{OrgRecord{Record: RecordOrganization, Organization: rep.Organization, Controls: rep.OrgControls,
			Summary: rep.Summary, StartedAt: timeString(rep.StartedAt), FinishedAt: timeString(rep.FinishedAt)}}
		for _, a := range accts {
			lines = append(lines, AccountRecord{Record: RecordAccount, Account: a})
		}
		return writeJSONLines(w, lines)
	case CSV:
		return writeCSV(w, auditColumns, len(accts)+1, row)
	}
	return writeTable(w, o.Pretty, auditColumns, len(accts)+1, row)
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
		fmt.Fprintf(w, "rootguard: %-10s %-15s %s: %s\n", c.ID, c.Outcome, c.Title, escape.Control(c.Detail))
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
			fmt.Fprintf(w, "  %s\n", escape.Control(a.Error))
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
