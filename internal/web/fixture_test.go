package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/rootguard/rootguard/internal/approval"
	"github.com/rootguard/rootguard/internal/audit"
	"github.com/rootguard/rootguard/internal/awssim"
	"github.com/rootguard/rootguard/internal/detect"
	"github.com/rootguard/rootguard/internal/store"
)

// fixtureNow is the time of the newest audit in the fixtures.
var fixtureNow = time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)

// auditSim audits a simulated organization through the real SDK client.
func auditSim(t testing.TB, sc *awssim.Scenario, now time.Time) *audit.Report {
	t.Helper()
	srv := awssim.New(sc, awssim.Options{ReportDelay: time.Millisecond})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	akid, secret := srv.ManagementCredentials()
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(hs.URL),
		Credentials: credentials.NewStaticCredentialsProvider(akid, secret, "")}
	rep, err := audit.Run(context.WithoutCancel(t.Context()), cfg, audit.Options{Workers: 16, AssumeRootRate: 5000, MaxAssumeRootRate: 10000, Now: func() time.Time { return now }, ReportPoll: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// exampleReport audits awssim's example organization.
func exampleReport(t testing.TB) *audit.Report {
	t.Helper()
	sc, err := awssim.LoadScenario(filepath.Join("..", "awssim", "testdata", "scenario.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return auditSim(t, sc, time.Date(2025, 11, 29, 0, 0, 0, 0, time.UTC))
}

// sandbox is a dashboard's worth of data: a history of audits, a journal,
// findings and approvals, in a store in a temporary directory.
type sandbox struct {
	Store     *store.Store
	Latest    *audit.Report // the newest audit, as stored (JSON round trip)
	Runs      int
	Findings  []detect.Finding
	FindFile  string
	Approvals *approval.Set
}

// history derives the audits before rep: going back in time, more of the
// accounts whose root credentials are gone still had a password (with
// virtual MFA, or none), as an organization looks while it moves to
// strict mode. Controls and summaries are evaluated by audit's own code.
func history(rep *audit.Report, runs int) []*audit.Report {
	out := make([]*audit.Report, runs)
	out[runs-1] = rep
	for k := range runs - 1 {
		at := rep.StartedAt.Add(-time.Duration(runs-1-k) * 24 * time.Hour)
		r := *rep
		r.StartedAt, r.FinishedAt = at, at.Add(rep.FinishedAt.Sub(rep.StartedAt))
		r.Accounts = make([]*audit.Account, len(rep.Accounts))
		for i, a := range rep.Accounts {
			r.Accounts[i] = a
			// Account i was cleaned up at run i*7 mod 41 (scaled): those
			// later than k still hold credentials in run k.
			if a.Root == nil || a.Root.HasCredentials() || (i*7)%41*runs/41 <= k {
				continue
			}
			c := *a
			root := *a.Root
			root.Password = true
			root.PasswordLastUsed = at.Add(-time.Duration(i%200) * 24 * time.Hour)
			root.LastUsed = root.PasswordLastUsed
			if i%3 != 0 {
				root.MFADevices = []audit.MFADevice{{Serial: fmt.Sprintf("arn:aws:iam::%s:mfa/root-account-mfa-device", a.ID), Kind: audit.MFAVirtual, EnableDate: at.Add(-400 * 24 * time.Hour)}}
			}
			c.Root = &root
			c.Controls = audit.Evaluate(&c, at)
			r.Accounts[i] = &c
		}
		r.Summary = summarize(&r)
		out[k] = &r
	}
	return out
}

// summarize counts as audit.Run does (its summary is not exported).
func summarize(rep *audit.Report) audit.Summary {
	s := audit.Summary{Accounts: len(rep.Accounts), ByControl: map[string]audit.Tally{}}
	add := func(c audit.Control, orgLevel bool) {
		t := s.ByControl[c.ID]
		switch {
		case c.Outcome == audit.Pass:
			t.Pass++
		case c.Outcome == audit.Fail:
			t.Fail++
		case c.Outcome == audit.NotApplicable && !orgLevel:
			t.NotApplicable++
		default:
			t.Unknown++
		}
		s.ByControl[c.ID] = t
	}
	for _, a := range rep.Accounts {
		switch {
		case a.Error != "":
			s.Failed++
		case a.Root != nil:
			s.Audited++
			if !a.Root.HasCredentials() && len(a.Root.MFADevices) == 0 {
				s.RootCredentialsGone++
			}
		}
		for _, c := range a.Controls {
			add(c, false)
		}
	}
	for _, c := range rep.OrgControls {
		add(c, true)
	}
	return s
}

// newSandbox stores runs audits of rep's organization in a new store,
// with a journal, findings and approvals about its accounts.
func newSandbox(t testing.TB, rep *audit.Report, runs int) *sandbox {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(t.Context(), filepath.Join(dir, "rootguard.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var lastID int64
	for _, r := range history(rep, runs) {
		if lastID, err = st.SaveAudit(t.Context(), r); err != nil {
			t.Fatal(err)
		}
	}
	latest, err := st.LoadAudit(t.Context(), lastID)
	if err != nil {
		t.Fatal(err)
	}
	sb := &sandbox{Store: st, Latest: latest, Runs: runs}

	// Members with credentials: the subjects of findings, approvals and
	// operations.
	var members []*audit.Account
	for _, a := range latest.Accounts {
		if !a.Management && a.Root != nil && a.Root.HasCredentials() {
			members = append(members, a)
		}
	}
	if len(members) < 2 {
		t.Fatalf("fixture: %d member accounts with root credentials, want at least 2", len(members))
	}
	for len(members) < 4 {
		members = append(members, members...)
	}
	mgmt := latest.Organization.ManagementAccountID
	at := fixtureNow.Add(-26 * time.Hour)
	key := "ASIAEXAMPLEROOTKEY01"
	sess := &detect.Session{IssuedBy: "arn:aws:sts::" + mgmt + ":assumed-role/CCoEAdmin/sato", IssuerAccount: mgmt,
		TargetAccount: members[0].ID, TaskPolicy: "arn:aws:iam::aws:policy/root-task/S3UnlockBucketPolicy",
		IssuedAt: at, IssueEventID: "11111111-1111-1111-1111-111111111111", AccessKeyID: key, Attributed: true}
	within, outside := *sess, *sess
	outside.OutsideTaskPolicy = true
	sb.Findings = []detect.Finding{
		{EventID: sess.IssueEventID, EventTime: at, Account: mgmt, Region: "us-east-1", EventSource: "sts.amazonaws.com",
			EventName: "AssumeRoot", Category: detect.RootSessionIssued, Severity: detect.High, Rule: "root-session-issued",
			Approval: detect.Approval{Status: detect.Approved, ID: "CHG-2001"}, SourceIP: "203.0.113.10", Principal: sess.IssuedBy, Session: sess},
		{EventID: "22222222-2222-2222-2222-222222222222", EventTime: at.Add(2 * time.Minute), Account: members[0].ID, Region: "us-east-1",
			EventSource: "s3.amazonaws.com", EventName: "DeleteBucketPolicy", Category: detect.RootSessionActivity, Severity: detect.High,
			Rule: "root-session-activity", Approval: detect.Approval{Status: detect.Approved, ID: "CHG-2001"}, SourceIP: "203.0.113.10",
			AccessKeyID: key, Session: &within},
		{EventID: "33333333-3333-3333-3333-333333333333", EventTime: at.Add(4 * time.Minute), Account: members[0].ID, Region: "us-east-1",
			EventSource: "iam.amazonaws.com", EventName: "CreateUser", Category: detect.RootSessionActivity, Severity: detect.Critical,
			Rule: "root-session-activity", Approval: detect.Approval{Status: detect.Approved, ID: "CHG-2001"}, SourceIP: "203.0.113.10",
			AccessKeyID: key, Denied: true, ErrorCode: "AccessDenied", Session: &outside},
		{EventID: "44444444-4444-4444-4444-444444444444", EventTime: fixtureNow.Add(-3 * time.Hour), Account: members[1].ID, Region: "us-east-1",
			EventSource: "signin.amazonaws.com", EventName: "ConsoleLogin", Category: detect.ConsoleLogin, Severity: detect.Critical,
			Rule: "console-login", Approval: detect.Approval{Status: detect.Unapproved}, SourceIP: "198.51.100.7", MFA: false},
		{EventID: "55555555-5555-5555-5555-555555555555", EventTime: fixtureNow.Add(-10 * 24 * time.Hour), Account: members[2].ID, Region: "eu-west-1",
			EventSource: "signin.amazonaws.com", EventName: "ConsoleLogin", Category: detect.ConsoleLogin, Severity: detect.High,
			Rule: "console-login", Approval: detect.Approval{Status: detect.Unapproved}, SourceIP: "192.0.2.44", MFA: true},
	}
	sb.FindFile = filepath.Join(dir, "findings.jsonl")
	f, err := os.Create(sb.FindFile)
	if err != nil {
		t.Fatal(err)
	}
	enc := json.NewEncoder(f)
	for _, fd := range sb.Findings {
		if err := enc.Encode(fd); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()

	day := func(d int) string { return fixtureNow.Add(time.Duration(d) * 24 * time.Hour).Format(time.RFC3339) }
	set, err := approval.Parse([]byte(fmt.Sprintf(`approvals:
  - {id: CHG-2001, account: "%s", from: %q, until: %q, requester: sato, approver: ccoe-lead, reason: unlock the bucket policy}
  - {id: CHG-2002, account: "%s", from: %q, until: %q, requester: tanaka, approver: ccoe-lead, reason: enable MFA Delete on the archive bucket}
  - {id: CHG-2003, account: "%s", from: %q, until: %q, requester: suzuki, approver: ccoe-lead, reason: close the account}
`, members[0].ID, day(-2), day(-1), members[1].ID, day(-1)[:11]+"00:00:00Z", day(1), members[3].ID, day(2), day(3))))
	if err != nil {
		t.Fatal(err)
	}
	sb.Approvals = set

	run := store.JournalRun{ID: "20261129T101500Z-3f9a", Kind: "delete-credentials", OrgID: latest.Organization.ID,
		CallerARN: "arn:aws:sts::" + mgmt + ":assumed-role/CCoEAdmin/sato", PlanDigest: "sha256:fixture", Plan: []byte("{}"),
		StartedAt: fixtureNow.Add(-20 * time.Hour)}
	if err := st.CreateRun(t.Context(), run); err != nil {
		t.Fatal(err)
	}
	for i, a := range members[2:4] {
		for j, step := range []struct{ step, action, target, result string }{
			{"snapshot", "sts:AssumeRoot", a.ID, "ok"},
			{"delete-login-profile", "iam:DeleteLoginProfile", a.ID, "ok"},
			{"verify", "iam:GetLoginProfile", a.ID, map[bool]string{true: "ok", false: "failed"}[i == 0]},
		} {
			if _, err := st.AddStep(t.Context(), store.JournalStep{RunID: run.ID, Account: a.ID, Step: step.step, Action: step.action,
				Target: step.target, Result: step.result, RequestID: fmt.Sprintf("req-%d-%d", i, j), Detail: "{}", Attempts: 1,
				At: run.StartedAt.Add(time.Duration(i*3+j) * time.Second)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := st.FinishRun(t.Context(), run.ID, store.RunIncomplete, run.StartedAt.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	return sb
}

// scaleReport makes an organization of n accounts from rep by copying its
// member accounts under new ids (each copy keeps its OU, root user and
// verdicts), and counts the summary again. It stands in for a large
// sandbox audit: auditing 1,000 simulated accounts takes tens of seconds,
// rendering them is what the dashboard tests measure.
func scaleReport(rep *audit.Report, n int) *audit.Report {
	out := *rep
	out.Accounts = append([]*audit.Account(nil), rep.Accounts...)
	var members []*audit.Account
	for _, a := range rep.Accounts {
		if !a.Management {
			members = append(members, a)
		}
	}
	for i := 0; len(out.Accounts) < n && len(members) > 0; i++ {
		a := *members[i%len(members)]
		a.ID = fmt.Sprintf("9%011d", i)
		a.Name = fmt.Sprintf("%s-%d", a.Name, i/len(members)+1)
		out.Accounts = append(out.Accounts, &a)
	}
	out.Summary = summarize(&out)
	return &out
}

var (
	largeOnce sync.Once
	largeRep  *audit.Report
)

// largeReport is a 1,000-account organization: a 100-account generated
// organization audited through the SDK against awssim, scaled up.
func largeReport(t testing.TB) *audit.Report {
	t.Helper()
	largeOnce.Do(func() {
		largeRep = scaleReport(auditSim(t, awssim.GenerateScenario(100, 14), fixtureNow.Add(-time.Hour)), 1000)
	})
	if largeRep == nil {
		t.Fatal("the large fixture failed to build")
	}
	return largeRep
}
