package awssim

import (
	"bytes"
	"encoding/base64"
	"encoding/csv"
	"net/http"
	"time"
)

// credentialReport is one account's credential report.
type credentialReport struct {
	started time.Time
	ready   time.Time
	content []byte
}

// reportLifetime is how long a report is served before it expires and
// GenerateCredentialReport starts a new one.
const reportLifetime = 4 * time.Hour

// reportHeader is the header line of IAM's credential report.
var reportHeader = []string{
	"user", "arn", "user_creation_time", "password_enabled", "password_last_used",
	"password_last_changed", "password_next_rotation", "mfa_active",
	"access_key_1_active", "access_key_1_last_rotated", "access_key_1_last_used_date",
	"access_key_1_last_used_region", "access_key_1_last_used_service",
	"access_key_2_active", "access_key_2_last_rotated", "access_key_2_last_used_date",
	"access_key_2_last_used_region", "access_key_2_last_used_service",
	"cert_1_active", "cert_1_last_rotated", "cert_2_active", "cert_2_last_rotated",
}

type generateCredentialReportResult struct {
	State       string
	Description string
}

// generateCredentialReport starts a report (STARTED), reports one being
// generated (INPROGRESS) or one ready (COMPLETE). The report is a snapshot
// of the account when generation started.
func generateCredentialReport(c *call) (any, *apiError) {
	s := c.s
	r := s.reports[c.p.account]
	switch {
	case r == nil || !c.now.Before(r.started.Add(reportLifetime)):
		s.reports[c.p.account] = &credentialReport{
			started: c.now,
			ready:   c.now.Add(s.opts.ReportDelay),
			content: s.credentialReportCSV(c.p.account),
		}
		return generateCredentialReportResult{State: "STARTED", Description: "No report exists. Starting a new report generation task"}, nil
	case c.now.Before(r.ready):
		return generateCredentialReportResult{State: "INPROGRESS", Description: "Report generation in progress"}, nil
	}
	return generateCredentialReportResult{State: "COMPLETE"}, nil
}

type getCredentialReportResult struct {
	Content       string // base64, as the blob type is written in XML
	ReportFormat  string
	GeneratedTime xmlTime
}

func getCredentialReport(c *call) (any, *apiError) {
	r := c.s.reports[c.p.account]
	switch {
	case r == nil:
		return nil, errf(http.StatusGone, "ReportNotPresent", "Unable to find a credential report for this account. Use GenerateCredentialReport to generate one.")
	case c.now.Before(r.ready):
		return nil, errf(http.StatusNotFound, "ReportInProgress", "Report generation in progress.")
	case !c.now.Before(r.started.Add(reportLifetime)):
		return nil, errf(http.StatusGone, "ReportExpired", "The credential report has expired. Use GenerateCredentialReport to generate a new one.")
	}
	return getCredentialReportResult{
		Content:       base64.StdEncoding.EncodeToString(r.content),
		ReportFormat:  "text/csv",
		GeneratedTime: xmlTime(r.started),
	}, nil
}

// credentialReportCSV writes the report of an account: the root user's
// row (<root_account>) and one row per IAM user.
func (s *Server) credentialReportCSV(account string) []byte {
	a := s.accounts[account]
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write(reportHeader)
	_ = w.Write(reportRow("<root_account>", "arn:aws:iam::"+a.ID+":root", a.Created, &a.Root, true))
	if account == s.admin.account {
		u := s.admin
		_ = w.Write(reportRow(u.name, u.arn(), u.created, &u.creds, false))
	}
	w.Flush()
	return buf.Bytes()
}

func reportTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05+00:00") }

func reportBool(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// reportRow follows IAM's documented values: for the root user
// password_enabled, password_last_changed and password_next_rotation are
// not_supported; absent keys and certificates are false and N/A; a
// password never used is no_information.
func reportRow(user, arn string, created time.Time, r *Root, root bool) []string {
	row := []string{user, arn, reportTime(created)}
	pw := r.Password
	lastUsed := "N/A"
	switch {
	case !pw.LastUsed.IsZero():
		lastUsed = reportTime(pw.LastUsed)
	case pw.Present:
		lastUsed = "no_information"
	}
	if root {
		row = append(row, "not_supported", lastUsed, "not_supported", "not_supported")
	} else {
		changed := "N/A"
		if pw.Present {
			changed = reportTime(pw.Created)
		}
		row = append(row, reportBool(pw.Present), lastUsed, changed, "N/A")
	}
	row = append(row, reportBool(len(r.MFA) > 0))
	for i := range 2 {
		if i >= len(r.AccessKeys) {
			row = append(row, "false", "N/A", "N/A", "N/A", "N/A")
			continue
		}
		k := r.AccessKeys[i]
		used, region, service := "N/A", "N/A", "N/A"
		if !k.LastUsed.IsZero() {
			used, region, service = reportTime(k.LastUsed), k.LastUsedRegion, k.LastUsedService
		}
		row = append(row, reportBool(k.Status == "Active"), reportTime(k.Created), used, region, service)
	}
	for i := range 2 {
		if i >= len(r.SigningCertificates) {
			row = append(row, "false", "N/A")
			continue
		}
		cert := r.SigningCertificates[i]
		rotated := "N/A"
		if !cert.Uploaded.IsZero() {
			rotated = reportTime(cert.Uploaded)
		}
		row = append(row, reportBool(cert.Status == "Active"), rotated)
	}
	return row
}
