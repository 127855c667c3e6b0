package report

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/rootguard/rootguard/internal/audit"
)

// ASFFFinding is one finding in the AWS Security Finding Format, as
// Security Hub's BatchImportFindings takes it.
type ASFFFinding struct {
	SchemaVersion string            `json:"SchemaVersion"`
	ID            string            `json:"Id"`
	ProductArn    string            `json:"ProductArn"`
	GeneratorID   string            `json:"GeneratorId"`
	AwsAccountID  string            `json:"AwsAccountId"`
	Types         []string          `json:"Types"`
	CreatedAt     string            `json:"CreatedAt"`
	UpdatedAt     string            `json:"UpdatedAt"`
	Severity      ASFFSeverity      `json:"Severity"`
	Title         string            `json:"Title"`
	Description   string            `json:"Description"`
	Remediation   ASFFRemedy        `json:"Remediation"`
	Resources     []ASFFResource    `json:"Resources"`
	Compliance    ASFFStatus        `json:"Compliance"`
	Workflow      ASFFStatus        `json:"Workflow"`
	RecordState   string            `json:"RecordState"`
	ProductFields map[string]string `json:"ProductFields,omitempty"`
}

// ASFFSeverity is a finding's severity label.
type ASFFSeverity struct {
	Label string `json:"Label"`
}

// ASFFRemedy is a finding's remediation text.
type ASFFRemedy struct {
	Recommendation struct {
		Text string `json:"Text"`
	} `json:"Recommendation"`
}

// ASFFResource names the resource a finding is about.
type ASFFResource struct {
	Type      string `json:"Type"`
	ID        string `json:"Id"`
	Partition string `json:"Partition"`
	Region    string `json:"Region"`
}

// ASFFStatus is a status field.
type ASFFStatus struct {
	Status string `json:"Status"`
}

var controlSeverity = map[string]string{
	audit.CtlNoAccessKeys: "CRITICAL", audit.CtlRootMFA: "CRITICAL", audit.CtlHardwareMFA: "MEDIUM",
	audit.CtlCredentialsGone: "MEDIUM", audit.CtlNotUsedRecently: "HIGH", audit.CtlSCPRootSessions: "HIGH",
	audit.CtlOrgRootAccess: "HIGH", audit.CtlOrgTrustedAccess: "MEDIUM",
}

// ASFF turns every control outcome into a finding for Security Hub in the
// given home region: failures as FAILED, passes as PASSED (so resolved
// findings close), not-applicable and unknown as NOT_AVAILABLE.
func ASFF(rep *audit.Report, region string) []ASFFFinding {
	mgmt := rep.Organization.ManagementAccountID
	at := rep.FinishedAt.UTC().Format(time.RFC3339)
	var out []ASFFFinding
	add := func(account string, c audit.Control) {
		info, _ := audit.ControlByID(c.ID)
		status, label := "PASSED", "INFORMATIONAL"
		switch c.Outcome {
		case audit.Fail:
			status, label = "FAILED", controlSeverity[c.ID]
		case audit.NotApplicable, audit.Unknown:
			status = "NOT_AVAILABLE"
		}
		f := ASFFFinding{
			SchemaVersion: "2018-10-08",
			ID:            fmt.Sprintf("rootguard/%s/%s", account, c.ID),
			ProductArn:    fmt.Sprintf("arn:aws:securityhub:%s:%s:product/%s/default", region, mgmt, mgmt),
			GeneratorID:   "rootguard/" + c.ID,
			AwsAccountID:  account,
			Types:         []string{"Software and Configuration Checks/AWS Security Best Practices"},
			CreatedAt:     at, UpdatedAt: at,
			Severity:      ASFFSeverity{Label: label},
			Title:         c.ID + " " + c.Title,
			Description:   truncate(c.Detail, 1024),
			Resources:     []ASFFResource{{Type: "AwsAccount", ID: "AWS::::Account:" + account, Partition: "aws", Region: region}},
			Compliance:    ASFFStatus{Status: status},
			Workflow:      ASFFStatus{Status: "NEW"},
			RecordState:   "ACTIVE",
			ProductFields: map[string]string{"rootguard/control": c.ID, "rootguard/outcome": string(c.Outcome)},
		}
		f.Remediation.Recommendation.Text = info.Remediation
		if c.Outcome != audit.Fail {
			f.Workflow.Status = "RESOLVED"
		}
		out = append(out, f)
	}
	for _, c := range rep.OrgControls {
		add(mgmt, c)
	}
	for _, a := range rep.Accounts {
		for _, c := range a.Controls {
			add(a.ID, c)
		}
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}

// WriteASFF writes the findings as one JSON array, as BatchImportFindings
// and `aws securityhub batch-import-findings --findings file://` take it.
func WriteASFF(w io.Writer, fs []ASFFFinding) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(fs)
}
