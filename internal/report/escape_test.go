package report

import (
	"bytes"
	"testing"
	"time"

	"github.com/rootguard/rootguard/internal/detect"
	"github.com/rootguard/rootguard/internal/scan"
)

// hostileFinding carries text an attacker controls: a spreadsheet formula
// in the account and source IP, control characters in the file name.
func hostileFinding() []detect.Finding {
	return []detect.Finding{{
		EventID: "e1", EventTime: time.Date(2026, 10, 8, 1, 0, 0, 0, time.UTC),
		Account: `=HYPERLINK("http://evil.example/","click")`, Region: "@us-east-1",
		Category: detect.AccessKeyChange, Severity: detect.Critical, EventSource: "iam.amazonaws.com", EventName: "+CreateAccessKey",
		Approval: detect.Approval{Status: detect.Unapproved}, SourceIP: "-1+1",
		Source: detect.Source{File: "logs/a\n2026-10-08T01:00:00Z\tforged\x1b[2K.json", Record: 0},
	}}
}

// TestEscapeGolden renders a hostile finding in every text format: CSV
// cells that open a formula are quoted with ', and control characters in
// tables become escapes, so no row can be forged.
func TestEscapeGolden(t *testing.T) {
	for _, tt := range []struct {
		name string
		o    Options
	}{
		{"escape.csv", Options{Format: CSV}},
		{"escape.tsv", Options{Format: Table}},
		{"escape.table", Options{Format: Table, Pretty: true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := Findings(&b, hostileFinding(), tt.o); err != nil {
				t.Fatal(err)
			}
			if n := bytes.Count(b.Bytes(), []byte("\n")); n != 2 {
				t.Errorf("%d lines, want a header and one row:\n%s", n, b.String())
			}
			if bytes.ContainsAny(b.Bytes(), "\x1b\r") {
				t.Errorf("control character in output:\n%q", b.String())
			}
			golden(t, tt.name, b.Bytes())
		})
	}
}

// TestEscapeGoldenIncidents renders the hostile finding as an incident
// (its pretty form has its own header line) and a hostile problem in the
// summary on stderr: one line each, nothing a terminal would act on.
func TestEscapeGoldenIncidents(t *testing.T) {
	ins := scan.Group(hostileFinding())
	for _, tt := range []struct {
		name  string
		o     Options
		lines int
	}{
		{"escape-incidents.csv", Options{Format: CSV}, 2},
		{"escape-incidents.table", Options{Format: Table, Pretty: true}, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := Incidents(&b, ins, tt.o); err != nil {
				t.Fatal(err)
			}
			if n := bytes.Count(b.Bytes(), []byte("\n")); n != tt.lines {
				t.Errorf("%d lines, want %d:\n%s", n, tt.lines, b.String())
			}
			if bytes.ContainsAny(b.Bytes(), "\x1b\r") {
				t.Errorf("control character in output:\n%q", b.String())
			}
			golden(t, tt.name, b.Bytes())
		})
	}
	t.Run("escape-summary.txt", func(t *testing.T) {
		res := &scan.Result{Problems: []scan.Problem{
			{Input: "logs/x.json\n  rootguard: 0 problems\x1b[2K.json", Record: 2, Error: `invalid JSON: "\u202e"`},
			{Input: "s3://bucket/key\r\x1b]0;title\x07", Record: -1, Error: "read: unexpected EOF"},
		}}
		res.Stats.InputsFailed, res.Stats.RecordsFailed = 1, 1
		var b bytes.Buffer
		Summary(&b, res)
		if n := bytes.Count(b.Bytes(), []byte("\n")); n != 5 {
			t.Errorf("%d lines, want 5:\n%s", n, b.String())
		}
		if bytes.ContainsAny(b.Bytes(), "\x1b\r\x07") || bytes.Contains(b.Bytes(), []byte("\u202e")) {
			t.Errorf("control character in output:\n%q", b.String())
		}
		golden(t, "escape-summary.txt", b.Bytes())
	})
}
