package detect

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestRuleFixtures holds every rule to a hit and a miss: each rule has a
// folder under testdata/rules with at least one hit-*.json, which must be
// classified by that rule, and one miss-*.json, which must not.
func TestRuleFixtures(t *testing.T) {
	for _, r := range Rules {
		t.Run(r.ID, func(t *testing.T) {
			dir := filepath.Join("testdata", "rules", r.ID)
			hits, _ := filepath.Glob(filepath.Join(dir, "hit-*.json"))
			misses, _ := filepath.Glob(filepath.Join(dir, "miss-*.json"))
			if len(hits) == 0 || len(misses) == 0 {
				t.Fatalf("rule %s needs at least one hit-*.json and one miss-*.json in %s (have %d and %d)", r.ID, dir, len(hits), len(misses))
			}
			for _, p := range hits {
				if got := classifyFile(t, p); got != r {
					t.Errorf("%s: classified by %s, want %s", p, ruleID(got), r.ID)
				}
			}
			for _, p := range misses {
				if got := classifyFile(t, p); got == r {
					t.Errorf("%s: classified by %s, want any other rule or none", p, r.ID)
				}
			}
		})
	}
	// Every fixture folder belongs to a rule: a renamed rule leaves none behind.
	dirs, _ := os.ReadDir(filepath.Join("testdata", "rules"))
	for _, d := range dirs {
		if RuleByID(d.Name()) == nil {
			t.Errorf("testdata/rules/%s matches no rule", d.Name())
		}
	}
}

func classifyFile(t *testing.T, p string) *Rule {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var e Event
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	return Classify(&e)
}

func ruleID(r *Rule) string {
	if r == nil {
		return "no rule"
	}
	return r.ID
}

func TestRulesAreWellFormed(t *testing.T) {
	seen := map[string]bool{}
	cats := map[Category]bool{}
	for _, c := range Categories {
		cats[c] = true
	}
	for i, r := range Rules {
		if r.ID == "" || seen[r.ID] {
			t.Errorf("rule %d: empty or duplicate id %q", i, r.ID)
		}
		seen[r.ID] = true
		if !cats[r.Category] {
			t.Errorf("rule %s: category %q is not in the vocabulary", r.ID, r.Category)
		}
		if r.Severity == nil || r.Description == "" {
			t.Errorf("rule %s: needs a severity and a description", r.ID)
		}
	}
	last := Rules[len(Rules)-1]
	if last.Category != APICall || len(last.Sources) != 0 || len(last.Names) != 0 {
		t.Errorf("the last rule must be the catch-all api-call rule, got %s", last.ID)
	}
}

func TestFromCloudTrail(t *testing.T) {
	tests := []struct {
		file       string
		category   Category
		mfa        bool
		denied     bool
		severity   Severity
		wantErr    string
		checkExtra func(t *testing.T, f Finding)
	}{
		{file: "root-console-login/hit-mfa-upper-yes.json", category: ConsoleLogin, mfa: true, severity: High},
		{file: "root-console-login/hit-no-mfa.json", category: ConsoleLogin, mfa: false, severity: Critical},
		{file: "root-api-call/hit-denied-by-scp.json", category: APICall, mfa: true, denied: true, severity: High},
		{file: "root-api-call/hit-listbuckets-readonly.json", category: APICall, mfa: true, severity: Medium},
		{file: "root-access-key-change/hit-create-own.json", category: AccessKeyChange, mfa: true, severity: Critical},
		{file: "root-session-issued/hit-assumeroot.json", category: RootSessionIssued, severity: High,
			checkExtra: func(t *testing.T, f Finding) {
				s := f.Session
				if s == nil || s.TargetAccount != "222222222222" || s.TaskPolicy != "IAMAuditRootUserCredentials" ||
					s.AccessKeyID != "ASIAISSUEDKEY0000001" || s.IssuedBy != "arn:aws:sts::111111111111:assumed-role/Admin/alice" {
					t.Errorf("session = %+v", s)
				}
				if f.Account != "111111111111" {
					t.Errorf("account = %s, want the issuing account", f.Account)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", "rules", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			f, ok, err := FromCloudTrail(b)
			if err != nil || !ok {
				t.Fatalf("FromCloudTrail: ok=%v err=%v", ok, err)
			}
			if f.Category != tt.category || f.MFA != tt.mfa || f.Denied != tt.denied || f.Severity != tt.severity {
				t.Errorf("got category=%s mfa=%v denied=%v severity=%s, want %s %v %v %s",
					f.Category, f.MFA, f.Denied, f.Severity, tt.category, tt.mfa, tt.denied, tt.severity)
			}
			if f.EventTime.IsZero() || f.EventID == "" || f.Account == "" {
				t.Errorf("missing identity of the event: %+v", f)
			}
			if tt.checkExtra != nil {
				tt.checkExtra(t, f)
			}
		})
	}
}

func TestFromCloudTrailOddRecords(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		ok      bool
		wantErr string
	}{
		{"not json", `{"userIdentity":`, false, "decode record"},
		{"userIdentity is a string, still root elsewhere", `{"eventID":"e1","eventTime":"2026-10-08T00:00:00Z","userIdentity":"Root","eventName":"X"}`, false, "decode record"},
		{"readOnly as a string", `{"eventID":"e2","eventTime":"2026-10-08T00:00:00Z","userIdentity":{"type":"Root","accountId":"123456789012"},"eventSource":"s3.amazonaws.com","eventName":"ListBuckets","readOnly":"true"}`, true, ""},
		{"missing eventTime", `{"eventID":"e3","userIdentity":{"type":"Root","accountId":"123456789012"},"eventSource":"s3.amazonaws.com","eventName":"ListBuckets"}`, true, "eventTime"},
		{"missing eventID", `{"eventTime":"2026-10-08T00:00:00Z","userIdentity":{"type":"Root","accountId":"123456789012"},"eventSource":"s3.amazonaws.com","eventName":"ListBuckets"}`, true, "no eventID"},
		{"oddly typed field on a root record", `{"eventID":"e4","eventTime":"2026-10-08T00:00:00Z","userIdentity":{"type":"Root","accountId":"123456789012"},"eventSource":"s3.amazonaws.com","eventName":"ListBuckets","awsRegion":7}`, true, "decode record"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, ok, err := FromCloudTrail([]byte(tt.raw))
			if ok != tt.ok {
				t.Errorf("ok = %v, want %v (finding %+v)", ok, tt.ok, f)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("unexpected error %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("error = %v, want one containing %q", err, tt.wantErr)
			}
			if tt.name == "readOnly as a string" && !f.ReadOnly {
				t.Errorf("readOnly \"true\" not read as true")
			}
		})
	}
}

func TestTaskPolicies(t *testing.T) {
	tests := []struct {
		policy, source, name string
		want                 bool
	}{
		{"IAMAuditRootUserCredentials", "iam.amazonaws.com", "ListAccessKeys", true},
		{"IAMAuditRootUserCredentials", "iam.amazonaws.com", "DeleteAccessKey", false},
		{"IAMDeleteRootUserCredentials", "iam.amazonaws.com", "DeleteLoginProfile", true},
		{"S3UnlockBucketPolicy", "s3.amazonaws.com", "DeleteBucketPolicy", true},
		{"S3UnlockBucketPolicy", "s3.amazonaws.com", "ListBuckets", true},
		{"S3UnlockBucketPolicy", "s3.amazonaws.com", "DeleteBucket", false},
		{"SQSUnlockQueuePolicy", "sqs.amazonaws.com", "SetQueueAttributes", true},
		// The three places the tables written from memory got wrong.
		{"SQSUnlockQueuePolicy", "sqs.amazonaws.com", "GetQueueUrl", true},
		{"IAMCreateRootUserPassword", "iam.amazonaws.com", "GetUser", false},
		{"IAMDeleteRootUserCredentials", "iam.amazonaws.com", "GetAccountSummary", false},
		{"IAMAuditRootUserCredentials", "iam.amazonaws.com", "GetAccountSummary", true},
		{"SQSUnlockQueuePolicy", "sqs.amazonaws.com", "SendMessage", false},
		{"NoSuchPolicy", "iam.amazonaws.com", "GetUser", false},
	}
	for _, tt := range tests {
		if got := AllowedByTaskPolicy(tt.policy, tt.source, tt.name); got != tt.want {
			t.Errorf("AllowedByTaskPolicy(%s, %s:%s) = %v, want %v", tt.policy, tt.source, tt.name, got, tt.want)
		}
	}
	for _, p := range TaskPolicies() {
		if len(taskPolicies()[p]) == 0 {
			t.Errorf("task policy %s has no actions", p)
		}
	}
	if got := TaskPolicyName("arn:aws:iam::aws:policy/root-task/SQSUnlockQueuePolicy"); got != "SQSUnlockQueuePolicy" {
		t.Errorf("TaskPolicyName = %q", got)
	}
}

// TestTaskPoliciesMatchTheUserGuide: the actions read from AWS's policy
// documents are exactly those the IAM User Guide lists for each root-task
// policy ("Perform a privileged task on an AWS Organizations member
// account").
func TestTaskPoliciesMatchTheUserGuide(t *testing.T) {
	guide := map[string][]string{
		"IAMAuditRootUserCredentials": {"iam:GetAccessKeyLastUsed", "iam:GetAccountSummary", "iam:GetLoginProfile",
			"iam:GetUser", "iam:ListAccessKeys", "iam:ListMFADevices", "iam:ListSigningCertificates"},
		"IAMCreateRootUserPassword": {"iam:CreateLoginProfile", "iam:GetLoginProfile"},
		"IAMDeleteRootUserCredentials": {"iam:DeactivateMFADevice", "iam:DeleteAccessKey", "iam:DeleteLoginProfile",
			"iam:DeleteSigningCertificate", "iam:DeleteVirtualMFADevice", "iam:GetAccessKeyLastUsed", "iam:GetLoginProfile",
			"iam:GetUser", "iam:ListAccessKeys", "iam:ListMFADevices", "iam:ListSigningCertificates"},
		"S3UnlockBucketPolicy": {"s3:DeleteBucketPolicy", "s3:GetBucketPolicy", "s3:ListAllMyBuckets", "s3:PutBucketPolicy"},
		"SQSUnlockQueuePolicy": {"sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ListQueues", "sqs:SetQueueAttributes"},
	}
	if got := TaskPolicies(); len(got) != len(guide) {
		t.Fatalf("task policies = %v", got)
	}
	for name, want := range guide {
		got := slices.Sorted(slices.Values(taskPolicies()[name]))
		if !slices.Equal(got, want) {
			t.Errorf("%s allows %v, the User Guide lists %v", name, got, want)
		}
	}
}
