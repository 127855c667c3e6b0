package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/rootguard/rootguard/internal/alert"
	"github.com/rootguard/rootguard/internal/awssim"
	"github.com/rootguard/rootguard/internal/cli"
	"github.com/rootguard/rootguard/internal/testenv"
)

const (
	operatorRole = "AWSReservedSSO_Operator_0123456789abcdef"
	approverRole = "AWSReservedSSO_SecurityApprover_fedcba9876543210"
	approverPat  = "arn:aws:sts::*:assumed-role/AWSReservedSSO_SecurityApprover_*/*"
	auditCaller  = "arn:aws:sts::111111111111:assumed-role/rootguard-audit/scheduled"
)

// flowEnv is the function under the Lambda RIE and the rootguard command
// line in this process, sharing dynalite, goaws and awssim; the security
// account (222222222222, the IAM delegated administrator) has the
// Identity Center roles of operators and approvers.
type flowEnv struct {
	*lambdaEnv
	config string
}

func startFlow(t *testing.T) *flowEnv {
	t.Helper()
	sc, err := awssim.LoadScenario(filepath.Join(testenv.ModuleRoot(t), "internal", "awssim", "testdata", "scenario.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range sc.Accounts {
		if sc.Accounts[i].ID == "222222222222" {
			sc.Accounts[i].Roles = append(sc.Accounts[i].Roles, operatorRole, approverRole)
		}
	}
	e := &flowEnv{lambdaEnv: startLambdaWith(t, sc, "SUMMARY_QUIET=1ms", "APPROVERS="+approverPat,
		"STANDING_AUDIT_PRINCIPALS=arn:aws:sts::111111111111:assumed-role/rootguard-audit/*")}
	dir := t.TempDir()
	e.config = filepath.Join(dir, "rootguard.yaml")
	if err := os.WriteFile(e.config, []byte("default: flexible\napprovers:\n  - "+approverPat+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_DYNAMODB": e.db.URL, "AWS_ENDPOINT_URL_STS": e.org.URL, "AWS_ENDPOINT_URL_SNS": e.sns.URL,
		"AWS_ENDPOINT_URL": "", "AWS_REGION": testenv.Region, "AWS_PROFILE": "",
		"AWS_CONFIG_FILE": filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "none"),
		"ROOTGUARD_TABLE": "rootguard", "TOPIC_ARN": e.topic, "CHATBOT_TOPIC_ARN": "", "LANGUAGE": "both",
	} {
		t.Setenv(k, v)
	}
	return e
}

// as signs what follows as an Identity Center user in a permission-set
// role of the security account, and returns the principal ARN.
func (e *flowEnv) as(t *testing.T, role, user string) (string, aws.Config) {
	t.Helper()
	out, err := sts.NewFromConfig(e.org.Config).AssumeRole(t.Context(), &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::222222222222:role/" + role), RoleSessionName: aws.String(user)})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	t.Setenv("AWS_ACCESS_KEY_ID", aws.ToString(c.AccessKeyId))
	t.Setenv("AWS_SECRET_ACCESS_KEY", aws.ToString(c.SecretAccessKey))
	t.Setenv("AWS_SESSION_TOKEN", aws.ToString(c.SessionToken))
	cfg := e.org.Config.Copy()
	cfg.Credentials = aws.NewCredentialsCache(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: aws.ToString(c.AccessKeyId), SecretAccessKey: aws.ToString(c.SecretAccessKey), SessionToken: aws.ToString(c.SessionToken)}, nil
	}))
	return aws.ToString(out.AssumedRoleUser.Arn), cfg
}

func rootguard(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Main(t.Context(), args, cli.IO{In: strings.NewReader(""), Out: &out, Err: &errb})
	return out.String(), errb.String(), code
}

// byCategory splits what the alert topic received.
func byCategory(msgs []testenv.Message) map[string][]testenv.Message {
	m := map[string][]testenv.Message{}
	for _, msg := range msgs {
		m[msg.Attributes["category"]] = append(m[msg.Attributes["category"]], msg)
	}
	return m
}

func pages(msgs []testenv.Message) []testenv.Message {
	var p []testenv.Message
	for _, m := range msgs {
		if m.Attributes["page"] == "true" {
			p = append(p, m)
		}
	}
	return p
}

// TestApprovedBreakGlass is the governed flow end to end: alice requests
// root use, the approvers are told; alice cannot approve it herself; bob,
// an approver, does; alice opens the root session with rootguard; the
// session's CloudTrail events (and GuardDuty's finding about its key) go
// through the alert function under the Lambda RIE; SNS shows one
// "approved" start message and one summary, and nothing pages. A second
// session, opened without approval, shows one page.
//
// The CloudTrail records are built from AWS's documented record shapes
// (internal/testenv/trail.go) with the access keys awssim issued;
// TestClosedLoop feeds awssim's own trail instead.
func TestApprovedBreakGlass(t *testing.T) {
	e := startFlow(t)
	db := filepath.Join(t.TempDir(), "rootguard.db")
	alice, _ := e.as(t, operatorRole, "alice@example.com")
	out, errOut, code := rootguard(t, "approval", "request", "--account", "333333333333", "--task", "s3-unlock", "--for", "1h",
		"--reason", "archive bucket policy denies everyone (INC-4711)", "-o", "json")
	if code != 0 {
		t.Fatalf("request: %s", errOut)
	}
	var req struct{ ID string }
	if err := json.Unmarshal([]byte(out), &req); err != nil {
		t.Fatal(err)
	}
	e.as(t, approverRole, "alice@example.com") // the requester in the approvers' permission set
	if _, errOut, code := rootguard(t, "approval", "approve", req.ID, "--config", e.config); code != 1 || !strings.Contains(errOut, "same identity") {
		t.Fatalf("self-approval: exit %d\n%s", code, errOut)
	}
	bob, _ := e.as(t, approverRole, "bob@example.com")
	if _, errOut, code := rootguard(t, "approval", "approve", req.ID, "--config", e.config); code != 0 {
		t.Fatalf("approve: %s", errOut)
	}
	got := byCategory(e.main.Receive(t, time.Second))
	if len(got["approval-requested"]) != 1 || len(got["approval-approved"]) != 1 || len(pages(got["approval-requested"])) != 0 {
		t.Fatalf("approval messages: %v", got)
	}
	if !strings.Contains(got["approval-requested"][0].Message, "ルートユーザー使用の承認申請") {
		t.Error("the request is not in Japanese too (LANGUAGE=both)")
	}

	e.as(t, operatorRole, "alice@example.com")
	out, errOut, code = rootguard(t, "root", "session", "--account", "333333333333", "--task", "s3-unlock", "--db", db,
		"--config", e.config, "--export-credentials", "process")
	if code != 0 {
		t.Fatalf("root session: %s", errOut)
	}
	var creds struct{ AccessKeyId string }
	if err := json.Unmarshal([]byte(out), &creds); err != nil {
		t.Fatal(err)
	}
	s := testenv.RootSession{Caller: alice, Target: "333333333333", TaskPolicy: "S3UnlockBucketPolicy", AccessKeyID: creds.AccessKeyId}
	now := time.Now().UTC().Truncate(time.Second)
	for _, ev := range [][]byte{
		testenv.AssumeRootEvent(s, "ev-approved-assumeroot", now),
		testenv.RootActionEvent(s, "s3.amazonaws.com", "GetBucketPolicy", "ev-approved-get", now.Add(time.Second)),
		testenv.RootActionEvent(s, "s3.amazonaws.com", "DeleteBucketPolicy", "ev-approved-delete", now.Add(2*time.Second)),
		testenv.GuardDutyShortTermRootEvent(s, "gd-approved-1", now.Add(3*time.Second)),
	} {
		if res, inv := e.invoke(t, ev); inv.FunctionError || res.Approval != "approved" {
			t.Fatalf("invoke: %+v %s\n%s", res, inv.Body, e.rie.Logs())
		}
	}
	if res, _ := e.invoke(t, []byte(`{"rootguard":"flush"}`)); res.Summaries != 1 {
		t.Fatalf("flush: %+v", res)
	}
	got = byCategory(e.main.Receive(t, time.Second))
	start, summary := got["root-session-issued"], got["session-summary"]
	if len(start) != 1 || len(summary) != 1 || len(got) != 2 {
		t.Fatalf("want one start and one summary, got %v", got)
	}
	wantContains(t, start[0].Message, "APPROVED "+req.ID+" by "+bob+" for "+alice)
	wantAttrs(t, start[0], map[string]string{"approval": "approved", "page": "false", "account": "333333333333"})
	wantAttrs(t, summary[0], map[string]string{"approval": "approved", "page": "false"})
	wantContains(t, summary[0].Subject, "Root session summary: 3 actions")
	wantContains(t, summary[0].Message, "s3:DeleteBucketPolicy", req.ID)

	// A second session, opened without approval (AssumeRoot called
	// directly, not through rootguard): one page.
	carol, carolCfg := e.as(t, operatorRole, "carol@example.com")
	ar, err := sts.NewFromConfig(carolCfg).AssumeRoot(t.Context(), &sts.AssumeRootInput{
		TargetPrincipal: aws.String("333333333333"), TaskPolicyArn: &ststypes.PolicyDescriptorType{Arn: aws.String(awssim.TaskPolicyARN("S3UnlockBucketPolicy"))}})
	if err != nil {
		t.Fatal(err)
	}
	s2 := testenv.RootSession{Caller: carol, Target: "333333333333", TaskPolicy: "S3UnlockBucketPolicy", AccessKeyID: aws.ToString(ar.Credentials.AccessKeyId)}
	for _, ev := range [][]byte{
		testenv.AssumeRootEvent(s2, "ev-unapproved-assumeroot", now.Add(time.Minute)),
		testenv.RootActionEvent(s2, "s3.amazonaws.com", "DeleteBucketPolicy", "ev-unapproved-delete", now.Add(time.Minute+time.Second)),
	} {
		if res, inv := e.invoke(t, ev); inv.FunctionError || res.Approval != "unapproved" {
			t.Fatalf("invoke: %+v %s", res, inv.Body)
		}
	}
	e.invoke(t, []byte(`{"rootguard":"flush"}`))
	msgs := e.main.Receive(t, time.Second)
	p := pages(msgs)
	if len(p) != 1 {
		t.Fatalf("%d pages for the unapproved session, want 1: %v", len(p), byCategory(msgs))
	}
	wantContains(t, p[0].Subject, "[HIGH][UNAPPROVED] Root session issued (S3UnlockBucketPolicy)")
	wantContains(t, p[0].Message, carol, "no approval covers")
	if logs := e.rie.Logs(); strings.Contains(logs, "PLACEHOLDER-SESSION-TOKEN") {
		t.Error("a session token reached the function's logs")
	}
}

// TestScheduledAuditOneDigest: rootguard's scheduled audit of 50 accounts
// (its deployed principal, IAMAuditRootUserCredentials sessions, each with
// its reads and some with GuardDuty's finding) shows one digest, no page.
func TestScheduledAuditOneDigest(t *testing.T) {
	e := startLambda(t, "SUMMARY_QUIET=1ms", "STANDING_AUDIT_PRINCIPALS=arn:aws:sts::111111111111:assumed-role/rootguard-audit/*")
	now := time.Now().UTC().Truncate(time.Second)
	for i := range 50 {
		s := testenv.RootSession{Caller: auditCaller, Target: fmt.Sprintf("8000000%05d", i), TaskPolicy: "IAMAuditRootUserCredentials",
			AccessKeyID: fmt.Sprintf("ASIASCHEDULED%07d", i)}
		evs := [][]byte{
			testenv.AssumeRootEvent(s, fmt.Sprintf("ev-audit-ar-%d", i), now),
			testenv.RootActionEvent(s, "iam.amazonaws.com", "GetAccountSummary", fmt.Sprintf("ev-audit-gas-%d", i), now),
		}
		if i%10 == 0 {
			evs = append(evs, testenv.GuardDutyShortTermRootEvent(s, fmt.Sprintf("gd-audit-%d", i), now))
		}
		for _, ev := range evs {
			if res, inv := e.invoke(t, ev); inv.FunctionError || res.Outcome != alert.Summarised {
				t.Fatalf("account %d: %+v %s", i, res, inv.Body)
			}
		}
	}
	if res, _ := e.invoke(t, []byte(`{"rootguard":"flush"}`)); res.Summaries != 1 {
		t.Fatalf("flush: %+v", res)
	}
	msgs := e.main.Receive(t, time.Second)
	m := one(t, "digest", msgs)
	wantAttrs(t, m, map[string]string{"category": "audit-digest", "page": "false", "approval": "approved"})
	if m.Subject != "[LOW][APPROVED] Scheduled root audit: 50 accounts, 50 sessions" {
		t.Errorf("subject %q", m.Subject)
	}
}
