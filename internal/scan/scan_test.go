package scan

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rootguard/rootguard/internal/approval"
	"github.com/rootguard/rootguard/internal/detect"
	"github.com/rootguard/rootguard/internal/trail"
)

// sharedDir finds the shared workloads beside the repository. CI always
// has them; elsewhere the tests that need them are skipped.
func sharedDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "..", "shared"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "corpus", "LABELS.tsv")); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("shared workloads not found at %s: %v", dir, err)
		}
		t.Skipf("shared workloads not found at %s", dir)
	}
	return dir
}

func readTSV(t *testing.T, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var head []string
	var rows []map[string]string
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if head == nil {
			head = cols
			continue
		}
		row := map[string]string{}
		for i, h := range head {
			if i < len(cols) {
				row[h] = cols[i]
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// ctgenCategory maps the generator's category names to rootguard's.
var ctgenCategory = map[string]detect.Category{
	"root-console-login-mfa":     detect.ConsoleLogin,
	"root-console-login-no-mfa":  detect.ConsoleLogin,
	"root-console-login-failure": detect.ConsoleLoginFailure,
	"root-api-call":              detect.APICall,
	"root-access-key-created":    detect.AccessKeyChange,
	"root-password-recovery":     detect.PasswordRecovery,
	"root-mfa-change":            detect.MFAChange,
	"assume-root-issued":         detect.RootSessionIssued,
	"root-session-activity":      detect.RootSessionActivity,
}

// TestGroundTruth scans a generated organization-trail archive with damaged
// files and checks the findings against the generator's ground truth: every
// root event found with its category, nothing else reported, every damaged
// file named.
func TestGroundTruth(t *testing.T) {
	shared := sharedDir(t)
	out := t.TempDir()
	cmd := exec.Command("go", "run", ".", "-out", out, "-events", "30000", "-root-rate", "0.01", "-seed", "7", "-corrupt")
	cmd.Dir = filepath.Join(shared, "bench", "ctgen")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ctgen: %v\n%s", err, b)
	}
	res, err := Run(t.Context(), []string{out}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]detect.Category{}
	for _, row := range readTSV(t, filepath.Join(out, "truth.tsv")) {
		if row["root"] == "yes" {
			c, ok := ctgenCategory[row["category"]]
			if !ok {
				t.Fatalf("truth.tsv category %q has no mapping", row["category"])
			}
			want[row["eventID"]] = c
		}
	}
	if len(want) < 100 {
		t.Fatalf("only %d root events planted; the test needs more", len(want))
	}
	got := map[string]detect.Finding{}
	for _, f := range res.Findings {
		if strings.HasPrefix(f.EventID, "damaged-") {
			continue // read from the readable part of a damaged file
		}
		if _, dup := got[f.EventID]; dup {
			t.Errorf("event %s reported twice", f.EventID)
		}
		got[f.EventID] = f
		if _, ok := want[f.EventID]; !ok {
			t.Errorf("false positive: %s %s %s:%s", f.EventID, f.Category, f.EventSource, f.EventName)
		}
	}
	for id, c := range want {
		f, ok := got[id]
		switch {
		case !ok:
			t.Errorf("missed root event %s (%s)", id, c)
		case f.Category != c:
			t.Errorf("event %s: category %s, want %s", id, f.Category, c)
		case c == detect.RootSessionActivity && (f.Session == nil || !f.Session.Attributed || f.Session.IssuedBy == "" || f.Session.OutsideTaskPolicy):
			t.Errorf("event %s: root session not attributed to its AssumeRoot call: %+v", id, f.Session)
		}
	}
	named := map[string]bool{}
	for _, p := range res.Problems {
		rel, _ := filepath.Rel(out, p.Input)
		named[rel] = true
	}
	for _, row := range readTSV(t, filepath.Join(out, "corrupt.tsv")) {
		if !named[row["file"]] {
			t.Errorf("damaged file not named: %s (%s)", row["file"], row["damage"])
		}
	}
	if len(res.Problems) != len(readTSV(t, filepath.Join(out, "corrupt.tsv"))) {
		t.Errorf("problems = %v", res.Problems)
	}
	if res.Stats.InputsFailed == 0 || res.Stats.Unapproved != len(res.Findings) {
		t.Errorf("stats = %+v", res.Stats)
	}
}

// corpusCategory maps LABELS.tsv categories to rootguard's.
var corpusCategory = map[string]detect.Category{
	"console-login":         detect.ConsoleLogin,
	"console-login-failure": detect.ConsoleLoginFailure,
	"api-call":              detect.APICall,
	"access-key-created":    detect.AccessKeyChange,
	"password-change":       detect.PasswordChange,
	"mfa-change":            detect.MFAChange,
	"guardduty-finding":     detect.GuardDutyRootCredentialUsage,
	// A member account's action in a root session, scanned alone (without
	// its AssumeRoot call), is plain root activity.
	"assume-root-session": detect.APICall,
}

// TestCorpus checks the detectors against public sample events, one file at
// a time (several reuse event ids): every labelled root use is reported
// with its category and nothing else is, except the management account's
// AssumeRoot call, reported as the issuance of a root session.
func TestCorpus(t *testing.T) {
	dir := filepath.Join(sharedDir(t), "corpus")
	rows := readTSV(t, filepath.Join(dir, "LABELS.tsv"))
	if len(rows) < 40 {
		t.Fatalf("only %d labelled files", len(rows))
	}
	for _, row := range rows {
		t.Run(row["file"], func(t *testing.T) {
			res, err := Run(t.Context(), []string{filepath.Join(dir, row["file"])}, Options{})
			if err != nil || res.Stats.InputsFailed > 0 {
				t.Fatalf("err=%v problems=%v", err, res.Problems)
			}
			// Abridged documentation samples lack an eventID or carry
			// placeholder times: those are named, record by record.
			for _, p := range res.Problems {
				if p.Record < 0 {
					t.Errorf("input-level problem: %v", p)
				}
			}
			switch {
			case row["file"] == "awsdocs__assumeroot_management_account.json":
				if len(res.Findings) != 1 || res.Findings[0].Category != detect.RootSessionIssued {
					t.Fatalf("want one root-session-issued, got %+v", res.Findings)
				}
			case row["expected_root_activity"] == "yes":
				want := corpusCategory[row["category"]]
				if row["file"] == "panther__root_createaccesskey_for_iamuser.json" {
					want = detect.APICall // root made a key for an IAM user, not for itself
				}
				if len(res.Findings) != 1 {
					t.Fatalf("want one finding, got %d", len(res.Findings))
				}
				if f := res.Findings[0]; f.Category != want {
					t.Errorf("category %s, want %s (%s)", f.Category, want, row["notes"])
				}
			default:
				if len(res.Findings) != 0 {
					t.Errorf("non-root event reported: %+v", res.Findings[0])
				}
			}
		})
	}
	// The AssumeRoot call and the member's action, scanned together, join.
	t.Run("root session joined", func(t *testing.T) {
		res, err := Run(t.Context(), []string{
			filepath.Join(dir, "awsdocs__assumeroot_management_account.json"),
			filepath.Join(dir, "awsdocs__assumeroot_member_deletebucketpolicy.json"),
		}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		var act *detect.Finding
		for i := range res.Findings {
			if res.Findings[i].Category == detect.RootSessionActivity {
				act = &res.Findings[i]
			}
		}
		if act == nil {
			t.Fatalf("no root-session-activity in %+v", res.Findings)
		}
		s := act.Session
		if s.TaskPolicy != "S3UnlockBucketPolicy" || s.IssuedBy != "arn:aws:sts::111111111111:assumed-role/JohnDoe/JohnRole1" ||
			s.OutsideTaskPolicy || !s.Attributed || act.Account != "222222222222" {
			t.Errorf("session = %+v account=%s", s, act.Account)
		}
	})
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const (
	issue = `{"eventVersion":"1.10","eventID":"issue-1","eventTime":"2026-10-08T01:00:00Z","eventSource":"sts.amazonaws.com","eventName":"AssumeRoot","awsRegion":"us-east-1","recipientAccountId":"111111111111","sourceIPAddress":"192.0.2.1",
"userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111111111111:assumed-role/Admin/alice","accountId":"111111111111"},
"requestParameters":{"targetPrincipal":"222222222222","taskPolicyArn":{"arn":"arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials"}},
"responseElements":{"credentials":{"accessKeyId":"ASIAISSUED1","sessionToken":"secret-token","expiration":"x"}}}`
	inPolicy = `{"eventVersion":"1.10","eventID":"act-1","eventTime":"2026-10-08T01:01:00Z","eventSource":"iam.amazonaws.com","eventName":"ListAccessKeys","awsRegion":"us-east-1","recipientAccountId":"222222222222","sourceIPAddress":"192.0.2.1",
"userIdentity":{"type":"Root","arn":"arn:aws:iam::222222222222:root","accountId":"222222222222","accessKeyId":"ASIAISSUED1"}}`
	outPolicy = `{"eventVersion":"1.10","eventID":"act-2","eventTime":"2026-10-08T01:02:00Z","eventSource":"iam.amazonaws.com","eventName":"DeleteAccessKey","awsRegion":"us-east-1","recipientAccountId":"222222222222","sourceIPAddress":"192.0.2.1","errorCode":"AccessDenied",
"userIdentity":{"type":"Root","arn":"arn:aws:iam::222222222222:root","accountId":"222222222222","accessKeyId":"ASIAISSUED1"},"requestParameters":{"accessKeyId":"AKIAX"}}`
	assumedRootOnly = `{"eventVersion":"1.10","eventID":"act-3","eventTime":"2026-10-09T01:02:00Z","eventSource":"s3.amazonaws.com","eventName":"DeleteBucketPolicy","awsRegion":"eu-west-1","recipientAccountId":"333333333333",
"userIdentity":{"type":"Root","arn":"arn:aws:iam::333333333333:root","accountId":"333333333333","accessKeyId":"ASIAOTHER","sessionContext":{"assumedRoot":"true"}}}`
	login = `{"eventVersion":"1.10","eventID":"login-1","eventTime":"2026-10-08T01:00:00Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","eventType":"AwsConsoleSignIn","awsRegion":"us-east-1","recipientAccountId":"444444444444","sourceIPAddress":"198.51.100.1",
"userIdentity":{"type":"Root","arn":"arn:aws:iam::444444444444:root","accountId":"444444444444","accessKeyId":""},"responseElements":{"ConsoleLogin":"Success"},"additionalEventData":{"MFAUsed":"Yes"}}`
	consoleCall = `{"eventVersion":"1.10","eventID":"call-1","eventTime":"2026-10-08T01:20:00Z","eventSource":"s3.amazonaws.com","eventName":"PutBucketVersioning","awsRegion":"us-east-1","recipientAccountId":"444444444444","sourceIPAddress":"198.51.100.1",
"userIdentity":{"type":"Root","arn":"arn:aws:iam::444444444444:root","accountId":"444444444444","accessKeyId":"ASIACONSOLE1"}}`
	lateCall = `{"eventVersion":"1.10","eventID":"call-2","eventTime":"2026-10-08T03:00:00Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","awsRegion":"us-east-1","recipientAccountId":"444444444444","sourceIPAddress":"198.51.100.1",
"userIdentity":{"type":"Root","arn":"arn:aws:iam::444444444444:root","accountId":"444444444444","accessKeyId":"ASIACONSOLE2"}}`
)

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", "") }

func TestSessionsDedupeApprovals(t *testing.T) {
	dir := t.TempDir()
	// The member's actions come first: the join must not depend on order.
	writeFile(t, dir, "a-member.jsonl", oneLine(outPolicy)+"\n"+oneLine(inPolicy)+"\n"+oneLine(assumedRootOnly)+"\n")
	writeFile(t, dir, "b-mgmt.json", `{"Records":[`+issue+`]}`)
	// The same events again, as an account trail delivers them.
	writeFile(t, dir, "c-account-trail.json", `{"Records":[`+inPolicy+`,`+outPolicy+`]}`)
	appr, err := approval.Parse([]byte(`approvals:
  - id: CHG-1
    account: "222222222222"
    from: 2026-10-08T00:30:00Z
    until: 2026-10-08T01:01:30Z
    requester: sato
    approver: ccoe-lead
    reason: audit root credentials
`))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(t.Context(), []string{dir}, Options{Approvals: appr})
	if err != nil {
		t.Fatal(err)
	}
	if res.Stats.Duplicates != 2 || len(res.Findings) != 4 {
		t.Fatalf("duplicates=%d findings=%d: %+v", res.Stats.Duplicates, len(res.Findings), res.Findings)
	}
	byID := map[string]detect.Finding{}
	for _, f := range res.Findings {
		byID[f.EventID] = f
	}
	tests := []struct {
		id       string
		category detect.Category
		approval string
		outside  bool
		attrib   bool
		denied   bool
	}{
		{"issue-1", detect.RootSessionIssued, "approved", false, true, false},
		{"act-1", detect.RootSessionActivity, "approved", false, true, false},
		{"act-2", detect.RootSessionActivity, "unapproved", true, true, true},
		{"act-3", detect.RootSessionActivity, "unapproved", false, false, false},
	}
	for _, tt := range tests {
		f := byID[tt.id]
		if f.Category != tt.category || f.Approval.Status != tt.approval || f.Session == nil ||
			f.Session.OutsideTaskPolicy != tt.outside || f.Session.Attributed != tt.attrib || f.Denied != tt.denied {
			t.Errorf("%s: category=%s approval=%+v denied=%v session=%+v", tt.id, f.Category, f.Approval, f.Denied, f.Session)
		}
	}
	if byID["act-1"].Session.IssuedBy != "arn:aws:sts::111111111111:assumed-role/Admin/alice" || byID["act-1"].Approval.ID != "CHG-1" {
		t.Errorf("act-1 = %+v", byID["act-1"])
	}
	if byID["act-2"].Severity != detect.Critical {
		t.Errorf("an action outside the task policy is critical, got %s", byID["act-2"].Severity)
	}
	if res.Findings[0].EventID != "issue-1" {
		t.Errorf("findings not in time order: first is %s", res.Findings[0].EventID)
	}
	if res.Stats.Unapproved != 2 {
		t.Errorf("unapproved = %d", res.Stats.Unapproved)
	}
}

func TestFilter(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "all.jsonl", strings.Join([]string{oneLine(issue), oneLine(inPolicy), oneLine(assumedRootOnly), oneLine(login)}, "\n"))
	day := func(s string) time.Time { tm, _ := time.Parse(time.RFC3339, s); return tm }
	tests := []struct {
		name   string
		filter trail.Filter
		want   []string
	}{
		{"none", trail.Filter{}, []string{"issue-1", "login-1", "act-1", "act-3"}},
		{"account: a root session's issuance counts for its target", trail.Filter{Accounts: []string{"222222222222"}}, []string{"issue-1", "act-1"}},
		{"region", trail.Filter{Regions: []string{"eu-west-1"}}, []string{"act-3"}},
		{"since", trail.Filter{Since: day("2026-10-09T00:00:00Z")}, []string{"act-3"}},
		{"until", trail.Filter{Until: day("2026-10-08T01:00:30Z")}, []string{"issue-1", "login-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Run(t.Context(), []string{dir}, Options{Filter: tt.filter})
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, f := range res.Findings {
				ids = append(ids, f.EventID)
			}
			if strings.Join(ids, ",") != strings.Join(tt.want, ",") {
				t.Errorf("got %v, want %v", ids, tt.want)
			}
		})
	}
}

func TestGroup(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "all.jsonl", strings.Join([]string{oneLine(login), oneLine(consoleCall), oneLine(lateCall), oneLine(issue), oneLine(inPolicy), oneLine(outPolicy)}, "\n"))
	res, err := Run(t.Context(), []string{dir}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ins := Group(res.Findings)
	var got []string
	for _, in := range ins {
		var ids []string
		for _, f := range in.Timeline {
			ids = append(ids, f.EventID)
		}
		got = append(got, in.Account+":"+strings.Join(ids, ","))
	}
	want := []string{
		"222222222222:issue-1,act-1,act-2", // AssumeRoot opens the member's incident
		"444444444444:login-1,call-1",      // sign-in and the console session from the same address
		"444444444444:call-2",              // more than an hour later: a new incident
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("incidents:\n got %v\nwant %v", got, want)
	}
	if ins[1].Severity != detect.High || !ins[1].MFA || ins[0].Severity != detect.Critical {
		t.Errorf("incident summary: %+v / %+v", ins[0], ins[1])
	}
}

func TestBadInputsKeepGoing(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "good.json", `{"Records":[`+login+`]}`)
	writeFile(t, dir, "bad.json", `{"Records":[`+consoleCall+`,{"eventID":`)
	writeFile(t, dir, "empty.json", ``)
	writeFile(t, dir, "ignored.txt", `not an event file`)
	writeFile(t, dir, "AWSLogs/111111111111/CloudTrail-Digest/us-east-1/2026/10/08/d.json", `{"digest":true}`)
	res, err := Run(t.Context(), []string{dir, filepath.Join(dir, "missing.json")}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, f := range res.Findings {
		ids = append(ids, f.EventID)
	}
	if strings.Join(ids, ",") != "login-1,call-1" {
		t.Errorf("findings = %v (the readable part of bad.json must be kept)", ids)
	}
	var probs []string
	for _, p := range res.Problems {
		probs = append(probs, filepath.Base(p.Input))
	}
	if strings.Join(probs, ",") != "bad.json,empty.json,missing.json" {
		t.Errorf("problems = %v", res.Problems)
	}
	if res.Stats.InputsFailed != 3 || res.Stats.Inputs != 3 {
		t.Errorf("stats = %+v", res.Stats)
	}
}
