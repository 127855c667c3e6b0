package notify

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/rootguard/rootguard/internal/detect"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var t0 = time.Date(2026, 10, 8, 1, 23, 45, 0, time.UTC)

// A case is one finding (or one session summary) as the pipeline would
// render it.
type renderCase struct {
	name    string
	f       detect.Finding
	summary []detect.Finding
	e       Enrichment
	a       Approval
}

var approvedCHG1234 = Approval{Approved: true, ID: "CHG-1234", Requester: "sato", Approver: "ccoe-lead", Reason: "unlock the archive bucket policy"}

func rootSession() *detect.Session {
	return &detect.Session{
		IssuedBy: "arn:aws:sts::111111111111:assumed-role/Admin/alice", IssuerAccount: "111111111111",
		TargetAccount: "222222222222", TaskPolicy: "S3UnlockBucketPolicy", IssuedAt: t0,
		IssueEventID: "a5e1d0c4-8f3b-4e6a-9b2c-1d7e3f9a0b11", AccessKeyID: "ASIAISSUEDKEY0000001", Attributed: true,
	}
}

func sessionAction(offset time.Duration, id, source, name string, sev detect.Severity, readOnly, denied bool) detect.Finding {
	f := detect.Finding{
		EventID: id, EventTime: t0.Add(offset), Account: "222222222222", Region: "us-west-2",
		EventSource: source, EventName: name, Category: detect.RootSessionActivity, Severity: sev,
		Rule: "root-session-activity", Approval: detect.Approval{Status: detect.Approved, ID: "CHG-1234"},
		ReadOnly: readOnly, Denied: denied, SourceIP: "192.0.2.10", UserAgent: "aws-cli/2.17.0 Python/3.12.4 Linux/6.1",
		Principal: "arn:aws:iam::222222222222:root", AccessKeyID: "ASIAISSUEDKEY0000001", Session: rootSession(),
	}
	if denied {
		f.ErrorCode = "AccessDenied"
		f.Session.OutsideTaskPolicy = true
	}
	return f
}

func cases() []renderCase {
	return []renderCase{
		{
			name: "console-login-nomfa-unapproved",
			f: detect.Finding{
				EventID: "3f1c2b7e-5d4a-4c1b-9e8f-0a1b2c3d4e5f", EventTime: t0, Account: "333333333333", Region: "us-east-1",
				EventSource: "signin.amazonaws.com", EventName: "ConsoleLogin", Category: detect.ConsoleLogin,
				Severity: detect.Critical, Rule: "root-console-login", Approval: detect.Approval{Status: detect.Unapproved},
				SourceIP: "203.0.113.7", UserAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:131.0) Gecko/20100101 Firefox/131.0",
				Principal: "arn:aws:iam::333333333333:root",
			},
			e: Enrichment{AccountName: "prod", AccountEmail: "aws-prod-root@example.com", OUPath: "Root/Workloads/Prod"},
		},
		{
			name: "root-session-activity-approved",
			f:    sessionAction(5*time.Minute, "b2e4c6d8-0f1a-4b3c-8d5e-6f7a8b9c0d1e", "s3.amazonaws.com", "DeleteBucketPolicy", detect.Medium, false, false),
			e:    Enrichment{AccountName: "archive", AccountEmail: "aws-archive-root@example.com", OUPath: "Root/Security/Log Archive"},
			a:    approvedCHG1234,
		},
		{
			name: "guardduty",
			f: detect.Finding{
				EventID: "60bebb31f802c270ce9157b51e3d5e5a", EventTime: t0.Add(-time.Hour), Account: "000011112222", Region: "us-east-1",
				EventSource: "guardduty.amazonaws.com", EventName: "ListFindings", Category: detect.GuardDutyRootCredentialUsage,
				Severity: detect.Medium, Rule: "guardduty-root-credential-usage", Approval: detect.Approval{Status: detect.Unapproved},
				SourceIP: "103.127.36.50", UserAgent: "Boto3/1.20.5 Python/3.9.9 Darwin/21.1.0 Botocore/1.23.5",
				Principal: "arn:aws:iam::000011112222:root", AccessKeyID: "ASIAGDROOTKEY0000001",
				GuardDuty: &detect.GuardDuty{
					Type: "Policy:IAMUser/RootCredentialUsage", Title: "API ListFindings was invoked using root credentials.",
					Severity: 2, Count: 3, FirstSeen: t0.Add(-time.Hour), LastSeen: t0, UpdatedAt: t0.Add(5 * time.Minute),
				},
			},
			e: Enrichment{AccountName: "sandbox-7", OUPath: "Root/Sandbox"},
		},
		{
			name: "enrichment-failure",
			f: detect.Finding{
				EventID: "c9d8e7f6-a5b4-4c3d-9e2f-1a0b9c8d7e6f", EventTime: t0.Add(2 * time.Minute), Account: "444444444444", Region: "us-east-1",
				EventSource: "iam.amazonaws.com", EventName: "CreateAccessKey", Category: detect.AccessKeyChange,
				Severity: detect.Critical, Rule: "root-access-key-change", Approval: detect.Approval{Status: detect.Unapproved},
				MFA: true, SourceIP: "198.51.100.23", UserAgent: "AWS Internal",
				Principal: "arn:aws:iam::444444444444:root", AccessKeyID: "ASIACONSOLEKEY000001",
			},
			e: Enrichment{EnrichmentError: "organizations: DescribeAccount 444444444444: AccessDeniedException: not authorized"},
		},
		{
			name: "session-summary",
			summary: []detect.Finding{
				sessionAction(9*time.Minute, "e4", "s3.amazonaws.com", "PutBucketPolicy", detect.Medium, false, false),
				sessionAction(1*time.Minute, "e1", "s3.amazonaws.com", "ListBuckets", detect.Medium, true, false),
				sessionAction(3*time.Minute, "e2", "s3.amazonaws.com", "GetBucketPolicy", detect.Medium, true, false),
				sessionAction(6*time.Minute, "e3", "s3.amazonaws.com", "DeleteBucketPolicy", detect.Medium, false, false),
			},
			e: Enrichment{AccountName: "archive", OUPath: "Root/Security/Log Archive"},
			a: approvedCHG1234,
		},
	}
}

func (rc renderCase) render(lang Lang) Alert {
	if rc.summary != nil {
		return SessionSummary(rc.summary, rc.e, rc.a, lang)
	}
	return Render(rc.f, rc.e, rc.a, lang)
}

// TestGolden keeps every rendering in testdata/: NAME.LANG.txt holds the
// subject, attributes and body, NAME.LANG.chatbot.json the chat
// notification. go test -update rewrites them.
func TestGolden(t *testing.T) {
	for _, rc := range cases() {
		for _, lang := range []Lang{English, Japanese, Both} {
			t.Run(rc.name+"."+string(lang), func(t *testing.T) {
				al := rc.render(lang)
				var b strings.Builder
				fmt.Fprintf(&b, "Subject: %s\n", al.Subject)
				var attrs []string
				for k, v := range al.Attributes {
					attrs = append(attrs, k+"="+v)
				}
				slices.Sort(attrs)
				fmt.Fprintf(&b, "Attributes: %s\n", strings.Join(attrs, ", "))
				if rc.summary == nil {
					d := Decide(rc.f, rc.a)
					fmt.Fprintf(&b, "Decide: alert=%v (%s)\n", d.Alert, d.Reason)
				}
				b.WriteString("\n" + al.Body)
				golden(t, rc.name+"."+string(lang)+".txt", []byte(b.String()))

				var pretty bytes.Buffer
				if err := json.Indent(&pretty, al.Chatbot, "", "  "); err != nil {
					t.Fatalf("Chatbot is not JSON: %v\n%s", err, al.Chatbot)
				}
				pretty.WriteByte('\n')
				golden(t, rc.name+"."+string(lang)+".chatbot.json", pretty.Bytes())
			})
		}
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it)\n got:\n%s\nwant:\n%s", name, got, want)
	}
}

func TestDecide(t *testing.T) {
	base := func(cat detect.Category, name string, sev detect.Severity) detect.Finding {
		return detect.Finding{Category: cat, EventName: name, Severity: sev, Approval: detect.Approval{Status: detect.Unapproved}}
	}
	withMFA := func(f detect.Finding) detect.Finding { f.MFA = true; return f }
	withSession := func(f detect.Finding, outside bool) detect.Finding {
		f.Session = &detect.Session{Attributed: true, OutsideTaskPolicy: outside}
		return f
	}
	approvedFinding := func(f detect.Finding) detect.Finding {
		f.Approval = detect.Approval{Status: detect.Approved, ID: "CHG-1"}
		return f
	}
	tests := []struct {
		name   string
		f      detect.Finding
		a      Approval
		alert  bool
		reason string
	}{
		{"unapproved console sign-in without MFA", base(detect.ConsoleLogin, "ConsoleLogin", detect.Critical), Approval{}, true, "without MFA"},
		{"approved console sign-in without MFA starts a session", base(detect.ConsoleLogin, "ConsoleLogin", detect.Critical), Approval{Approved: true}, true, "session started"},
		{"approval on the finding counts too", approvedFinding(base(detect.ConsoleLogin, "ConsoleLogin", detect.Critical)), Approval{}, true, "session started"},
		{"console sign-in with MFA starts a session", withMFA(base(detect.ConsoleLogin, "ConsoleLogin", detect.High)), Approval{}, true, "session started"},
		{"root session issued", base(detect.RootSessionIssued, "AssumeRoot", detect.High), approvedCHG1234, true, "AssumeRoot"},
		{"root access key created", base(detect.AccessKeyChange, "CreateAccessKey", detect.Critical), Approval{}, true, "access key"},
		{"root access key created, approved", base(detect.AccessKeyChange, "CreateAccessKey", detect.Critical), approvedCHG1234, true, "access key"},
		{"root access key updated is critical", base(detect.AccessKeyChange, "UpdateAccessKey", detect.Critical), Approval{}, true, "critical"},
		{"root access key deleted", base(detect.AccessKeyChange, "DeleteAccessKey", detect.High), Approval{}, false, "summarised"},
		{"MFA deactivated", base(detect.MFAChange, "DeactivateMFADevice", detect.Critical), Approval{}, true, "MFA"},
		{"MFA device deleted", base(detect.MFAChange, "DeleteVirtualMFADevice", detect.Critical), Approval{}, true, "MFA"},
		{"MFA enabled", base(detect.MFAChange, "EnableMFADevice", detect.High), Approval{}, false, "summarised"},
		{"password recovery", base(detect.PasswordRecovery, "PasswordRecoveryRequested", detect.Critical), Approval{}, true, "recovery"},
		{"password change", base(detect.PasswordChange, "PasswordUpdated", detect.High), Approval{}, false, "summarised"},
		{"email change", base(detect.EmailChange, "EmailUpdated", detect.Critical), Approval{}, true, "email"},
		{"governance change, enable", base(detect.GovernanceChange, "EnableOrganizationsRootSessions", detect.Medium), Approval{}, true, "centralized root access"},
		{"session action outside task policy", withSession(base(detect.RootSessionActivity, "DeleteBucket", detect.Critical), true), approvedCHG1234, true, "outside its task policy"},
		{"session action within task policy", withSession(base(detect.RootSessionActivity, "DeleteBucketPolicy", detect.Medium), false), approvedCHG1234, false, "summarised"},
		{"unattributed session action", base(detect.RootSessionActivity, "ListBuckets", detect.High), Approval{}, false, "summarised"},
		{"GuardDuty", base(detect.GuardDutyRootCredentialUsage, "ListFindings", detect.Medium), Approval{}, true, "GuardDuty"},
		{"API call", base(detect.APICall, "CreateUser", detect.High), Approval{}, false, "summarised"},
		{"read-only API call", base(detect.APICall, "ListBuckets", detect.Medium), Approval{}, false, "summarised"},
		{"failed sign-in", base(detect.ConsoleLoginFailure, "ConsoleLogin", detect.Medium), Approval{}, false, "summarised"},
		{"signing certificate", base(detect.SigningCertificateChange, "UploadSigningCertificate", detect.High), Approval{}, false, "summarised"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Decide(tt.f, tt.a)
			if got.Alert != tt.alert || !strings.Contains(got.Reason, tt.reason) {
				t.Errorf("Decide = %+v, want alert=%v with a reason mentioning %q", got, tt.alert, tt.reason)
			}
		})
	}
}

// TestSubjectLimit feeds every category long and hostile input and holds
// the subject to SNS's rule: under 100 characters, one line; the account
// id always survives.
func TestSubjectLimit(t *testing.T) {
	names := []string{
		"",
		strings.Repeat("very-long-account-name-", 10),
		strings.Repeat("本番環境アカウント", 20),
		"line\nbreak\tand\x00control",
	}
	for _, cat := range detect.Categories {
		for _, name := range names {
			for _, lang := range []Lang{English, Japanese, Both} {
				f := detect.Finding{
					EventID: "e", EventTime: t0, Account: "123456789012", Region: "ap-northeast-1",
					EventSource: strings.Repeat("x", 60) + ".amazonaws.com", EventName: strings.Repeat("Y", 120) + "\nZ",
					Category: cat, Severity: detect.Critical, Denied: true,
					Session: &detect.Session{TargetAccount: "123456789012", TaskPolicy: strings.Repeat("P", 80), Attributed: true},
				}
				if cat == detect.GuardDutyRootCredentialUsage {
					f.GuardDuty = &detect.GuardDuty{Type: "Policy:IAMUser/RootCredentialUsage"}
				}
				for _, al := range []Alert{
					Render(f, Enrichment{AccountName: name}, Approval{}, lang),
					SessionSummary([]detect.Finding{f, f}, Enrichment{AccountName: name}, approvedCHG1234, lang),
				} {
					s := al.Subject
					if n := utf8.RuneCountInString(s); n > MaxSubject {
						t.Errorf("%s/%q/%s: subject is %d characters: %q", cat, name, lang, n, s)
					}
					if strings.ContainsFunc(s, unicode.IsControl) {
						t.Errorf("%s/%q/%s: subject holds a control character: %q", cat, name, lang, s)
					}
					if !strings.Contains(s, "123456789012") {
						t.Errorf("%s/%q/%s: subject lost the account id: %q", cat, name, lang, s)
					}
					if !utf8.ValidString(s) {
						t.Errorf("%s/%q/%s: subject is not UTF-8: %q", cat, name, lang, s)
					}
				}
			}
		}
	}
	// The example from the design, which fits, is left whole.
	f := cases()[0].f
	if got, want := Render(f, cases()[0].e, Approval{}, English).Subject, "[CRITICAL][UNAPPROVED] Root console sign-in without MFA — prod (333333333333)"; got != want {
		t.Errorf("subject = %q, want %q", got, want)
	}
	if got, want := Render(f, cases()[0].e, Approval{}, Japanese).Subject, "[重大][未承認] MFAなしのルートコンソールサインイン — prod (333333333333)"; got != want {
		t.Errorf("subject = %q, want %q", got, want)
	}
	if got := Render(f, cases()[0].e, Approval{}, Both).Subject; !strings.HasPrefix(got, "[CRITICAL]") {
		t.Errorf("both: subject = %q, want the English one", got)
	}
}

var threadRE = regexp.MustCompile(`^[A-Za-z0-9.-]+$`)

// checkChatbot holds a notification to the custom-notification schema.
func checkChatbot(t *testing.T, label string, b []byte, wantID string) {
	t.Helper()
	var n struct {
		Version  string                     `json:"version"`
		Source   string                     `json:"source"`
		ID       string                     `json:"id"`
		Content  map[string]json.RawMessage `json:"content"`
		Metadata map[string]json.RawMessage `json:"metadata"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&n); err != nil {
		t.Fatalf("%s: Chatbot is not a custom notification: %v\n%s", label, err, b)
	}
	if n.Version != "1.0" || n.Source != "custom" {
		t.Errorf("%s: version=%q source=%q, want 1.0 and custom", label, n.Version, n.Source)
	}
	if wantID != "" && n.ID != wantID {
		t.Errorf("%s: id = %q, want %q", label, n.ID, wantID)
	}
	allowed := func(m map[string]json.RawMessage, keys ...string) {
		for k := range m {
			if !slices.Contains(keys, k) {
				t.Errorf("%s: unknown field %q", label, k)
			}
		}
	}
	allowed(n.Content, "textType", "title", "description", "nextSteps", "keywords")
	allowed(n.Metadata, "threadId", "summary", "eventType", "relatedResources", "additionalContext")
	var content struct {
		TextType, Title, Description string
		NextSteps, Keywords          []string
	}
	var meta struct {
		ThreadID, Summary, EventType string
		RelatedResources             []string
		AdditionalContext            map[string]string
	}
	rawContent, _ := json.Marshal(n.Content)
	rawMeta, _ := json.Marshal(n.Metadata)
	if err := json.Unmarshal(rawContent, &content); err != nil {
		t.Fatalf("%s: content: %v", label, err)
	}
	if err := json.Unmarshal(rawMeta, &meta); err != nil {
		t.Fatalf("%s: metadata (additionalContext must hold strings): %v", label, err)
	}
	if content.TextType != "client-markdown" || content.Title == "" || content.Description == "" {
		t.Errorf("%s: content = %+v", label, content)
	}
	if len(content.NextSteps) == 0 || len(content.Keywords) == 0 {
		t.Errorf("%s: no next steps or keywords", label)
	}
	if !threadRE.MatchString(meta.ThreadID) || meta.EventType == "" || meta.Summary == "" {
		t.Errorf("%s: metadata = %+v", label, meta)
	}
	for k, v := range meta.AdditionalContext {
		if v == "" {
			t.Errorf("%s: additionalContext.%s is empty", label, k)
		}
	}
}

func TestChatbotSchema(t *testing.T) {
	for _, rc := range cases() {
		for _, lang := range []Lang{English, Japanese, Both} {
			id := rc.f.EventID
			if rc.summary != nil {
				id = "summary-e4"
			}
			checkChatbot(t, rc.name+"."+string(lang), rc.render(lang).Chatbot, id)
		}
	}
	// One session's alerts and its summary share a chat thread.
	thread := func(b []byte) string {
		var n struct{ Metadata struct{ ThreadID string } }
		_ = json.Unmarshal(b, &n)
		return n.Metadata.ThreadID
	}
	cs := cases()
	single, summary := thread(cs[1].render(English).Chatbot), thread(cs[4].render(English).Chatbot)
	if single != summary || single != "222222222222-ASIAISSUEDKEY0000001" {
		t.Errorf("thread ids %q and %q, want both 222222222222-ASIAISSUEDKEY0000001", single, summary)
	}
	issued := cs[1].f
	issued.Category, issued.Account, issued.EventSource, issued.EventName = detect.RootSessionIssued, "111111111111", "sts.amazonaws.com", "AssumeRoot"
	if got := thread(Render(issued, Enrichment{}, Approval{}, English).Chatbot); got != single {
		t.Errorf("the AssumeRoot alert is in thread %q, its session's actions in %q", got, single)
	}
}

// TestEventDataIsInert feeds markup and line breaks through the fields an
// attacker controls (the user agent of their own request) and a careless
// account name: neither may start a line in the email nor escape a code
// span in chat.
func TestEventDataIsInert(t *testing.T) {
	f := cases()[0].f
	f.UserAgent = "curl/8\n*URGENT* click <https://evil.example|here> <!channel> `rm`"
	e := Enrichment{AccountName: "prod\n[CRITICAL] all clear", OUPath: "Root/<!here>"}
	for _, lang := range []Lang{English, Japanese, Both} {
		al := Render(f, e, Approval{}, lang)
		for _, line := range strings.Split(al.Body, "\n") {
			if strings.HasPrefix(line, "*URGENT*") || strings.HasPrefix(line, "[CRITICAL] all clear") {
				t.Errorf("%s: event data starts a line of the body: %q", lang, line)
			}
		}
		if strings.Contains(al.Subject, "\n") {
			t.Errorf("%s: subject holds a line break", lang)
		}
		var n chatbotNotification
		if err := json.Unmarshal(al.Chatbot, &n); err != nil {
			t.Fatal(err)
		}
		for _, s := range append([]string{n.Content.Title, n.Content.Description}, n.Content.NextSteps...) {
			outside := regexp.MustCompile("`[^`\n]*`").ReplaceAllString(s, "")
			for _, bad := range []string{"<!channel>", "<!here>", "<https://evil", "*URGENT*"} {
				if strings.Contains(outside, bad) {
					t.Errorf("%s: %q reaches chat markdown outside a code span:\n%s", lang, bad, s)
				}
			}
			if strings.Contains(s, "<!") {
				t.Errorf("%s: a chat mention survives: %s", lang, s)
			}
		}
	}
}

func TestLinksAndEnrichment(t *testing.T) {
	cs := cases()
	tests := []struct {
		rc   renderCase
		want []string
	}{
		{cs[0], []string{"https://us-east-1.console.aws.amazon.com/cloudtrailv2/home?region=us-east-1#/events/3f1c2b7e-5d4a-4c1b-9e8f-0a1b2c3d4e5f",
			"2026-10-08 01:23:45 UTC (2026-10-08 10:23:45 JST)", "MFA:       ", "NOT used", "UNAPPROVED", "prod (333333333333)", "Root/Workloads/Prod"}},
		{cs[1], []string{"APPROVED CHG-1234 by ccoe-lead for sato — unlock the archive bucket policy",
			"arn:aws:sts::111111111111:assumed-role/Admin/alice", "task policy S3UnlockBucketPolicy", "within the task policy"}},
		{cs[2], []string{"https://us-east-1.console.aws.amazon.com/guardduty/home?region=us-east-1#/findings?fId=60bebb31f802c270ce9157b51e3d5e5a",
			"Policy:IAMUser/RootCredentialUsage"}},
		{cs[3], []string{"Account:    444444444444", "account details unavailable (Organizations lookup failed: organizations: DescribeAccount 444444444444: AccessDeniedException: not authorized); showing the raw account id"}},
	}
	for _, tt := range tests {
		body := tt.rc.render(English).Body
		for _, w := range tt.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: body lacks %q:\n%s", tt.rc.name, w, body)
			}
		}
	}
	if body := cs[3].render(Japanese).Body; !strings.Contains(body, "アカウント情報を取得できませんでした") {
		t.Errorf("ja body does not say enrichment failed:\n%s", body)
	}
	// Without a real region there is no link, and no made-up one.
	f := cs[0].f
	f.Region = "../evil"
	if body := Render(f, Enrichment{}, Approval{}, English).Body; strings.Contains(body, "https://") {
		t.Errorf("a link was built from region %q:\n%s", f.Region, body)
	}
}

func TestAttributes(t *testing.T) {
	al := Render(detect.Finding{}, Enrichment{}, Approval{}, English)
	want := map[string]string{"severity": "unknown", "category": "unknown", "account": "unknown", "approval": "unapproved"}
	if fmt.Sprint(al.Attributes) != fmt.Sprint(want) {
		t.Errorf("attributes of an empty finding = %v, want %v (SNS rejects empty values)", al.Attributes, want)
	}
	al = Render(cases()[1].f, Enrichment{}, approvedCHG1234, English)
	want = map[string]string{"severity": "medium", "category": "root-session-activity", "account": "222222222222", "approval": "approved"}
	if fmt.Sprint(al.Attributes) != fmt.Sprint(want) {
		t.Errorf("attributes = %v, want %v", al.Attributes, want)
	}
	if s := SessionSummary(nil, Enrichment{}, Approval{}, Both); s.Attributes["approval"] != "unapproved" || s.Subject == "" {
		t.Errorf("empty summary = %+v", s)
	}
}

// TestRendersRealFindings renders every rule and GuardDuty fixture of
// package detect, through detect's own decoders, in every language.
func TestRendersRealFindings(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "detect", "testdata", "rules", "*", "hit-*.json"))
	gd, _ := filepath.Glob(filepath.Join("..", "detect", "testdata", "guardduty", "hit-*.json"))
	if len(files) == 0 || len(gd) == 0 {
		t.Fatal("no detect fixtures found")
	}
	for _, p := range append(files, gd...) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var f detect.Finding
		var ok bool
		if strings.Contains(p, "guardduty") {
			var env struct{ Detail json.RawMessage }
			if json.Unmarshal(b, &env) == nil && len(env.Detail) > 0 {
				b = env.Detail
			}
			f, ok, err = detect.FromGuardDuty(b)
		} else {
			f, ok, err = detect.FromCloudTrail(b)
		}
		if !ok || err != nil {
			t.Fatalf("%s: ok=%v err=%v", p, ok, err)
		}
		for _, lang := range []Lang{English, Japanese, Both} {
			al := Render(f, Enrichment{}, Approval{}, lang)
			label := filepath.Base(filepath.Dir(p)) + "/" + filepath.Base(p) + "." + string(lang)
			if utf8.RuneCountInString(al.Subject) > MaxSubject || al.Body == "" {
				t.Errorf("%s: subject %q", label, al.Subject)
			}
			for k, v := range al.Attributes {
				if v == "" {
					t.Errorf("%s: attribute %s is empty", label, k)
				}
			}
			checkChatbot(t, label, al.Chatbot, f.EventID)
		}
	}
}
