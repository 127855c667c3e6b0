package mode

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rootguard/rootguard/internal/detect"
	"github.com/rootguard/rootguard/internal/report"
	"github.com/rootguard/rootguard/internal/scan"
	"github.com/rootguard/rootguard/internal/trail"
)

// exampleActivity scans the repository's example organization trail.
func exampleActivity(t *testing.T) *Activity {
	t.Helper()
	since := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	res, err := scan.Run(t.Context(), []string{filepath.Join("..", "..", "examples", "org-trail")}, scan.Options{Filter: trail.Filter{Since: since}, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Problems) > 0 {
		t.Fatalf("problems reading the example trail: %v", res.Problems)
	}
	return NewActivity(res.Findings, since)
}

// TestActivityFromTrail: the example trail's AssumeRoot targets
// 222222222222 (one CCoE root session); 333333333333's root signed in at
// the console and created an access key.
func TestActivityFromTrail(t *testing.T) {
	act := exampleActivity(t)
	if act.Sessions["222222222222"] != 1 || len(act.Sessions) != 1 {
		t.Errorf("sessions %v, want one for 222222222222", act.Sessions)
	}
	if act.SignIns["333333333333"] != 1 {
		t.Errorf("sign-ins %v", act.SignIns)
	}
	if act.Actions["333333333333"] < 1 || act.Actions["222222222222"] != 0 {
		t.Errorf("actions %v: root-session activity is not the root user's own", act.Actions)
	}
}

func TestNewActivity(t *testing.T) {
	fs := []detect.Finding{
		{Account: "111111111111", Category: detect.RootSessionIssued, Session: &detect.Session{TargetAccount: "222222222222"}},
		{Account: "111111111111", Category: detect.RootSessionIssued, Session: &detect.Session{TargetAccount: "222222222222"}},
		{Account: "111111111111", Category: detect.RootSessionIssued}, // target unknown: not counted
		{Account: "222222222222", Category: detect.RootSessionActivity},
		{Account: "333333333333", Category: detect.ConsoleLogin},
		{Account: "333333333333", Category: detect.ConsoleLoginFailure},
		{Account: "333333333333", Category: detect.AccessKeyChange},
		{Account: "111111111111", Category: detect.GovernanceChange},
		{Account: "444444444444", Category: detect.GuardDutyRootCredentialUsage},
	}
	act := NewActivity(fs, time.Time{})
	if act.Sessions["222222222222"] != 2 || act.SignIns["333333333333"] != 2 || act.Actions["333333333333"] != 1 ||
		act.Actions["444444444444"] != 1 || act.Actions["111111111111"] != 0 || act.Actions["222222222222"] != 0 {
		t.Errorf("activity %+v", act)
	}
}

func byOU(adv []OUAdvice) map[string]OUAdvice {
	m := map[string]OUAdvice{}
	for _, a := range adv {
		m[a.OU] = a
	}
	return m
}

func needIDs(ns []Need) []string {
	var ids []string
	for _, n := range ns {
		ids = append(ids, n.Account)
	}
	return ids
}

func TestAdvise(t *testing.T) {
	p := mustPolicy(t, exampleConfig, examplePaths)
	adv := byOU(Advise(exampleReport(), p, exampleActivity(t)))
	if len(adv) != 6 {
		t.Fatalf("%d OUs, want 6: %v", len(adv), adv)
	}
	for _, tc := range []struct {
		ou         string
		mode       Mode
		accounts   int
		needRoot   []string
		creds      int
		exposed    []string
		noMFA      int
		keys       int
		recent     int
		sessions   int
		recommends string
	}{
		{ou: "Root", mode: Flexible, accounts: 2, creds: 1, exposed: []string{"111111111111", "888888888888"}, noMFA: 1, recent: 1,
			recommends: "strict: no member account shows a use for root; deleting 1 root credential set(s) removes the exposure (rootguard root delete-credentials --account 888888888888); management account 111111111111 stays flexible: password with a passkey or hardware MFA, no access keys"},
		{ou: "Root/Security", mode: Flexible, accounts: 1, sessions: 1,
			recommends: "strict: no member root credentials are left and none shows a use; strict costs nothing here"},
		{ou: "Root/Workloads/Prod", mode: Strict, accounts: 1, needRoot: []string{"333333333333"}, creds: 1, exposed: []string{"333333333333"}, noMFA: 1, keys: 1, recent: 1,
			recommends: "flexible for now: every member account shows a use for root (strict once those uses move to roles or root sessions); close the exposure: 1 without MFA, 1 with access keys"},
		{ou: "Root/Workloads/Prod/EU", mode: Strict, accounts: 1, needRoot: []string{"444444444444"}, creds: 1, exposed: []string{"444444444444"},
			recommends: "flexible for now: every member account shows a use for root (strict once those uses move to roles or root sessions)"},
		{ou: "Root/Sandbox", mode: Flexible, accounts: 1, recommends: "no member account could be read: audit again once they can be"},
		{ou: "Root/Suspended", mode: Flexible, accounts: 0, recommends: "no active account here"},
	} {
		t.Run(tc.ou, func(t *testing.T) {
			a, ok := adv[tc.ou]
			if !ok {
				t.Fatal("no advice")
			}
			e := a.Exposure
			if a.Mode.Mode != tc.mode || a.Accounts != tc.accounts || !slices.Equal(needIDs(a.NeedRoot), tc.needRoot) || len(a.ToDelete) != tc.creds ||
				!slices.Equal(needIDs(e.Accounts), tc.exposed) || e.WithoutMFA != tc.noMFA || e.WithAccessKeys != tc.keys || e.UsedRecently != tc.recent ||
				a.Activity == nil || a.Activity.Sessions != tc.sessions {
				t.Errorf("advice %+v", a)
			}
			if a.Recommendation != tc.recommends {
				t.Errorf("recommendation\n  %q\nwant\n  %q", a.Recommendation, tc.recommends)
			}
		})
	}
	// The evidence names the exception, the certificate, the key and the trail.
	for ou, want := range map[string][]string{
		"Root/Workloads/Prod":    {"root access key AKIAEXAMPLEROOT00001 used 2026-09-01 (via s3)", "trail: 1 root sign-in(s) and 2 other root action(s)"},
		"Root/Workloads/Prod/EU": {"exception (exceptions[0], flexible): S3 MFA Delete on the archive bucket needs root", "1 active root signing certificate(s)"},
	} {
		got := strings.Join(adv[ou].NeedRoot[0].Reasons, "\n")
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: reasons lack %q:\n%s", ou, w, got)
			}
		}
	}
}

// TestAdviseMixed: some members need root, others not: strict with
// exceptions.
func TestAdviseMixed(t *testing.T) {
	rep := exampleReport()
	for _, a := range rep.Accounts {
		if a.ID == "444444444444" {
			a.OUPath = "Root/Workloads/Prod" // beside 333333333333
		}
	}
	rep.Accounts = append(rep.Accounts, exampleReport().Accounts[1]) // security, no credentials...
	rep.Accounts[len(rep.Accounts)-1].OUPath = "Root/Workloads/Prod"
	adv := byOU(Advise(rep, mustPolicy(t, "default: flexible\n", nil), nil))["Root/Workloads/Prod"]
	want := "strict, with exceptions for 333333333333, 444444444444 (list them under exceptions: with their reason)"
	if adv.Recommendation != want || adv.Activity != nil {
		t.Errorf("advice %+v, want %q", adv, want)
	}
}

func TestWriteAdviceGolden(t *testing.T) {
	adv := Advise(exampleReport(), mustPolicy(t, exampleConfig, examplePaths), exampleActivity(t))
	for _, tc := range []struct {
		name string
		o    report.Options
	}{
		{"advise.table.golden", report.Options{Format: report.Table, Pretty: true}},
		{"advise.tsv.golden", report.Options{Format: report.Table}},
		{"advise.json.golden", report.Options{Format: report.JSON}},
	} {
		var buf bytes.Buffer
		if err := WriteAdvice(&buf, adv, tc.o); err != nil {
			t.Fatal(err)
		}
		golden(t, tc.name, buf.Bytes())
	}
}

func TestWritePlanGolden(t *testing.T) {
	plans := Plan(exampleReport(), mustPolicy(t, exampleConfig, examplePaths))
	for _, tc := range []struct {
		name string
		o    report.Options
	}{
		{"plan.table.golden", report.Options{Format: report.Table, Pretty: true}},
		{"plan.tsv.golden", report.Options{Format: report.Table}},
		{"plan.json.golden", report.Options{Format: report.JSON}},
		{"plan.csv.golden", report.Options{Format: report.CSV}},
	} {
		var buf bytes.Buffer
		if err := WritePlan(&buf, plans, tc.o); err != nil {
			t.Fatal(err)
		}
		golden(t, tc.name, buf.Bytes())
	}
	// The JSON is one valid object per account.
	var buf bytes.Buffer
	_ = WritePlan(&buf, plans, report.Options{Format: report.JSON})
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != len(plans) {
		t.Fatalf("%d lines for %d accounts", len(lines), len(plans))
	}
	for _, l := range lines {
		var p AccountPlan
		if err := json.Unmarshal([]byte(l), &p); err != nil || p.Account == "" || p.Drift == nil || p.Actions == nil {
			t.Errorf("line %s: %+v, %v", l, p, err)
		}
	}
}
