package alert_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rootguard/rootguard/internal/alert"
	"github.com/rootguard/rootguard/internal/approval"
	"github.com/rootguard/rootguard/internal/testenv"
)

const (
	alice       = "arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_Operator_0123/alice@example.com"
	bob         = "arn:aws:sts::222222222222:assumed-role/AWSReservedSSO_SecurityApprover_4567/bob@example.com"
	auditRole   = "arn:aws:sts::111111111111:assumed-role/rootguard-audit/rootguard-scheduled"
	approverPat = "arn:aws:sts::*:assumed-role/AWSReservedSSO_SecurityApprover_*/*"
)

// joinEnv is a handler that knows the approvers and the scheduled
// audit's principal, as a deployment declares them.
func joinEnv(t *testing.T) *env {
	t.Helper()
	return newEnv(t, func(e *env, _ *alert.Deps) {
		var err error
		if e.cfg.Approvers, err = approval.ParseApprovers([]string{approverPat}); err != nil {
			t.Fatal(err)
		}
		if e.cfg.StandingAudit, err = approval.ParseApprovers([]string{"arn:aws:sts::111111111111:assumed-role/rootguard-audit/*"}); err != nil {
			t.Fatal(err)
		}
		e.cfg.Summary.Quiet = time.Minute
	})
}

// approve stores request id for account and task, approved by bob, with
// the window [from, from+d].
func (e *env) approve(id, account string, task approval.Task, from time.Time, d time.Duration) {
	e.t.Helper()
	ctx := e.t.Context()
	a := approval.Approval{ID: id, Account: account, Task: task, From: from, Until: from.Add(d), Requester: alice, Reason: "INC-4711"}
	if _, err := e.table.Request(ctx, a, from); err != nil {
		e.t.Fatal(err)
	}
	as, _ := approval.ParseApprovers([]string{approverPat})
	if _, err := e.table.Decide(ctx, id, bob, as, true, "", from); err != nil {
		e.t.Fatal(err)
	}
}

// TestApprovedSession: a session opened under an approval (its key
// recorded by root session) gets one start message that does not page and
// names approver and request; its actions and GuardDuty's finding about
// its key go to one summary.
func TestApprovedSession(t *testing.T) {
	e := joinEnv(t)
	e.approve("R-1", "333333333333", approval.TaskS3Unlock, t0.Add(-5*time.Minute), time.Hour)
	s := testenv.RootSession{Caller: alice, Target: "333333333333", TaskPolicy: "S3UnlockBucketPolicy", AccessKeyID: "ASIAAPPROVEDSESS0001"}
	if err := e.table.RecordUse(t.Context(), "R-1", s.AccessKeyID, alice, t0); err != nil {
		t.Fatal(err)
	}
	res := e.handle(testenv.AssumeRootEvent(s, "ev-start", t0))
	if res.Outcome != alert.Alerted || res.Approval != "approved" {
		t.Fatalf("AssumeRoot: %+v", res)
	}
	m := one(t, "start", e.main.Receive(t, 0))
	if m.Attributes["page"] != "false" || m.Attributes["approval"] != "approved" {
		t.Errorf("start attributes %v", m.Attributes)
	}
	wantContains(t, "start", m.Message, "APPROVED R-1 by "+bob+" for "+alice+" — INC-4711")
	for i, name := range []string{"GetBucketPolicy", "DeleteBucketPolicy"} {
		if res := e.handle(testenv.RootActionEvent(s, "s3.amazonaws.com", name, fmt.Sprintf("ev-act-%d", i), t0.Add(time.Minute))); res.Outcome != alert.Summarised {
			t.Errorf("%s: %+v", name, res)
		}
	}
	if res := e.handle(testenv.GuardDutyShortTermRootEvent(s, "gd-1", t0.Add(2*time.Minute))); res.Outcome != alert.Summarised {
		t.Errorf("GuardDuty about the session's key: %+v", res)
	}
	if msgs := e.main.Receive(t, 0); len(msgs) != 0 {
		t.Errorf("messages before the summary: %d", len(msgs))
	}
	e.clock.advance(time.Hour)
	if n, err := e.h.Flush(t.Context()); err != nil || n != 1 {
		t.Fatalf("flush: %d, %v", n, err)
	}
	sum := one(t, "summary", e.main.Receive(t, 0))
	if sum.Attributes["page"] != "false" || sum.Attributes["approval"] != "approved" {
		t.Errorf("summary attributes %v", sum.Attributes)
	}
	wantContains(t, "summary", sum.Subject, "Root session summary: 3 actions")
	wantContains(t, "summary", sum.Message, "s3:DeleteBucketPolicy", "R-1")
}

// TestUnapprovedAndMisused: a session nobody approved pages at once; so
// does a session opened by the requester after the window, an action
// outside the task policy, and a session under an approval for another
// task. A session the approval covers by principal, account, task and
// time (its key not recorded) is approved.
func TestUnapprovedAndMisused(t *testing.T) {
	e := joinEnv(t)
	e.approve("R-2", "333333333333", approval.TaskS3Unlock, t0, 30*time.Minute)
	tests := []struct {
		name     string
		s        testenv.RootSession
		at       time.Duration
		approval string
		page     bool
		want     string
	}{
		{"no approval", testenv.RootSession{Caller: alice, Target: "444444444444", TaskPolicy: "S3UnlockBucketPolicy", AccessKeyID: "ASIAUNAPPROVED000001"},
			time.Minute, "unapproved", true, "UNAPPROVED — no approval covers"},
		{"by principal and time", testenv.RootSession{Caller: alice, Target: "333333333333", TaskPolicy: "S3UnlockBucketPolicy", AccessKeyID: "ASIAPRINCIPAL0000001"},
			time.Minute, "approved", false, "APPROVED R-2 by " + bob},
		{"another principal", testenv.RootSession{Caller: bob, Target: "333333333333", TaskPolicy: "S3UnlockBucketPolicy", AccessKeyID: "ASIAOTHERPRINCIPAL01"},
			time.Minute, "unapproved", true, "no approval covers"},
		{"after the window", testenv.RootSession{Caller: alice, Target: "333333333333", TaskPolicy: "S3UnlockBucketPolicy", AccessKeyID: "ASIALATESESSION00001"},
			40 * time.Minute, "unapproved", true, "approval R-2 was used OUTSIDE its window"},
		{"another task", testenv.RootSession{Caller: alice, Target: "333333333333", TaskPolicy: "IAMDeleteRootUserCredentials", AccessKeyID: "ASIAOTHERTASK0000001"},
			time.Minute, "unapproved", true, "no approval covers"},
	}
	for i, tt := range tests {
		res := e.handle(testenv.AssumeRootEvent(tt.s, fmt.Sprintf("ev-%d", i), t0.Add(tt.at)))
		m := one(t, tt.name, e.main.Receive(t, 0))
		if res.Approval != tt.approval || (m.Attributes["page"] == "true") != tt.page {
			t.Errorf("%s: approval %s, attributes %v; want %s, page %v", tt.name, res.Approval, m.Attributes, tt.approval, tt.page)
		}
		wantContains(t, tt.name, m.Message, tt.want)
	}
	// The approved session's action outside its task policy pages.
	s := tests[1].s
	res := e.handle(testenv.RootActionEvent(s, "iam.amazonaws.com", "CreateUser", "ev-outside", t0.Add(2*time.Minute)))
	m := one(t, "outside the task policy", e.main.Receive(t, 0))
	if res.Outcome != alert.Alerted || m.Attributes["page"] != "true" {
		t.Errorf("outside the task policy: %+v, %v", res, m.Attributes)
	}
	// Its action after the window ended pages too.
	res = e.handle(testenv.RootActionEvent(s, "s3.amazonaws.com", "DeleteBucketPolicy", "ev-late", t0.Add(31*time.Minute)))
	m = one(t, "action after the window", e.main.Receive(t, 0))
	if res.Outcome != alert.Alerted || m.Attributes["page"] != "true" || !strings.Contains(m.Message, "OUTSIDE its window") {
		t.Errorf("action after the window: %+v\n%s", res, m.Message)
	}
	// An emergency session (root session --emergency) pages, naming who
	// declared it and why.
	em, err := e.table.Declare(t.Context(), approval.Approval{ID: "E-1", Account: "333333333333", Task: approval.TaskDeleteCredentials,
		From: t0, Until: t0.Add(15 * time.Minute), Requester: alice, Reason: "leaked root key"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	es := testenv.RootSession{Caller: alice, Target: "333333333333", TaskPolicy: "IAMDeleteRootUserCredentials", AccessKeyID: "ASIAEMERGENCY0000001"}
	if err := e.table.RecordUse(t.Context(), em.ID, es.AccessKeyID, alice, t0); err != nil {
		t.Fatal(err)
	}
	e.handle(testenv.AssumeRootEvent(es, "ev-emergency", t0.Add(time.Minute)))
	if m := one(t, "emergency", e.main.Receive(t, 0)); m.Attributes["page"] != "true" ||
		!strings.Contains(m.Message, "EMERGENCY session declared by "+alice+" without approval: leaked root key") {
		t.Errorf("emergency: %v\n%s", m.Attributes, m.Message)
	}
	// A session whose AssumeRoot call was never seen and that no approval
	// covers pages.
	ghost := testenv.RootSession{Target: "555555555555", AccessKeyID: "ASIAGHOSTSESSION0001"}
	res = e.handle(testenv.RootActionEvent(ghost, "iam.amazonaws.com", "ListAccessKeys", "ev-ghost", t0))
	if m := one(t, "unknown session", e.main.Receive(t, 0)); res.Outcome != alert.Alerted || m.Attributes["page"] != "true" {
		t.Errorf("unknown session: %+v %v", res, m.Attributes)
	}
}

// TestScheduledAuditDigest: 50 accounts audited by rootguard's scheduled
// audit (its deployed principal, IAMAuditRootUserCredentials) produce one
// digest and no page; GuardDuty's findings about its keys fold into it.
func TestScheduledAuditDigest(t *testing.T) {
	e := joinEnv(t)
	const n = 50
	for i := range n {
		s := testenv.RootSession{Caller: auditRole, Target: fmt.Sprintf("7000000%05d", i), TaskPolicy: "IAMAuditRootUserCredentials",
			AccessKeyID: fmt.Sprintf("ASIAAUDIT%011d", i)}
		at := t0.Add(time.Duration(i) * time.Second)
		for _, ev := range [][]byte{
			testenv.AssumeRootEvent(s, fmt.Sprintf("ev-ar-%d", i), at),
			testenv.RootActionEvent(s, "iam.amazonaws.com", "GetAccountSummary", fmt.Sprintf("ev-gas-%d", i), at),
			testenv.RootActionEvent(s, "iam.amazonaws.com", "ListAccessKeys", fmt.Sprintf("ev-lak-%d", i), at),
		} {
			if res := e.handle(ev); res.Outcome != alert.Summarised || res.Approval != "approved" {
				t.Fatalf("account %d: %+v", i, res)
			}
		}
		if i%10 == 0 {
			if res := e.handle(testenv.GuardDutyShortTermRootEvent(s, fmt.Sprintf("gd-%d", i), at)); res.Outcome != alert.Summarised {
				t.Fatalf("GuardDuty %d: %+v", i, res)
			}
		}
	}
	if msgs := e.main.Receive(t, 0); len(msgs) != 0 {
		t.Fatalf("%d messages during the audit, want none", len(msgs))
	}
	if sent, err := e.h.Flush(t.Context()); err != nil || sent != 0 {
		t.Errorf("flush while the run is not quiet: %d, %v", sent, err)
	}
	e.clock.advance(2 * time.Minute)
	if sent, err := e.h.Flush(t.Context()); err != nil || sent != 1 {
		t.Fatalf("flush: %d, %v", sent, err)
	}
	m := one(t, "digest", e.main.Receive(t, 0))
	if m.Subject != "[LOW][APPROVED] Scheduled root audit: 50 accounts, 50 sessions" || m.Attributes["page"] != "false" {
		t.Errorf("digest %q %v", m.Subject, m.Attributes)
	}
	wantContains(t, "digest", m.Message, auditRole, alert.StandingAuditApproval, "700000000001: 2 actions", "700000000010: 3 actions", "… and 25 more")
	if sent, _ := e.h.Flush(t.Context()); sent != 0 {
		t.Error("the digest was sent twice")
	}
	// The audit principal's action outside the audit policy pages.
	s := testenv.RootSession{Caller: auditRole, Target: "700000000001", TaskPolicy: "IAMAuditRootUserCredentials", AccessKeyID: "ASIAAUDIT00000000001"}
	res := e.handle(testenv.RootActionEvent(s, "iam.amazonaws.com", "DeleteAccessKey", "ev-audit-delete", t0.Add(time.Hour)))
	if m := one(t, "audit outside policy", e.main.Receive(t, 0)); res.Outcome != alert.Alerted || m.Attributes["page"] != "true" {
		t.Errorf("audit principal outside its policy: %+v %v", res, m.Attributes)
	}
}

// TestConsoleApproval: a console approval for the account and window
// makes a root sign-in approved (no page); another task's approval does
// not; without one it pages.
func TestConsoleApproval(t *testing.T) {
	e := joinEnv(t)
	e.approve("R-C", "333333333333", approval.TaskConsole, t0, time.Hour)
	e.approve("R-S3", "444444444444", approval.TaskS3Unlock, t0, time.Hour)
	// A grant (free-text names) approves nothing once the deployment names
	// its approvers.
	e.grant("CHG-GRANT", "666666666666", t0, t0.Add(time.Hour))
	for _, tt := range []struct {
		account, approval string
		page              bool
	}{{"333333333333", "approved", false}, {"444444444444", "unapproved", true}, {"555555555555", "unapproved", true}, {"666666666666", "unapproved", true}} {
		res := e.handle(testenv.ConsoleLoginEvent(tt.account, true, "ev-login-"+tt.account, t0.Add(10*time.Minute)))
		m := one(t, tt.account, e.main.Receive(t, 0))
		if res.Approval != tt.approval || (m.Attributes["page"] == "true") != tt.page {
			t.Errorf("%s: %s, %v; want %s, page %v", tt.account, res.Approval, m.Attributes, tt.approval, tt.page)
		}
	}
}
