package alert_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/organizations"

	"github.com/rootguard/rootguard/internal/alert"
	"github.com/rootguard/rootguard/internal/notify"
)

// TestApprovedAndUnapproved: an approval in the table makes the alert say
// APPROVED with its id, approver, requester and reason; without one, or
// once it is revoked, the alert says UNAPPROVED. The message attributes
// say the same for filter policies.
func TestApprovedAndUnapproved(t *testing.T) {
	e := newEnv(t, nil)
	e.grant("CHG-1234", "333333333333", t0, t0.Add(time.Hour))
	e.grant("CHG-OTHER", "444444444444", t0, t0.Add(time.Hour)) // another account: covers nothing here

	res := e.handle(event(t, "console_login_nomfa"))
	if res.Outcome != alert.Alerted || res.Approval != "approved" || res.Account != "333333333333" {
		t.Errorf("result %+v", res)
	}
	main, chat := e.messages()
	m := one(t, "main topic", main)
	if m.Subject != "[CRITICAL][APPROVED] Root console sign-in without MFA — prod (333333333333)" {
		t.Errorf("subject %q", m.Subject)
	}
	wantContains(t, "body", m.Message, "Approval:   APPROVED CHG-1234 by ccoe-lead for sato — unlock the archive bucket policy",
		"Account:    prod (333333333333)", "OU:         Root/Workloads/Prod", "Email:      aws-prod@example.com")
	want := map[string]string{"severity": "critical", "category": "console-login", "account": "333333333333", "approval": "approved"}
	for k, v := range want {
		if m.Attributes[k] != v {
			t.Errorf("attribute %s = %q, want %q (all: %v)", k, m.Attributes[k], v, m.Attributes)
		}
	}
	c := one(t, "chatbot topic", chat)
	wantContains(t, "chatbot message", c.Message, `"version":"1.0"`, `"source":"custom"`, "CHG-1234")

	if _, err := e.table.RevokeApproval(t.Context(), "CHG-1234", "ccoe-lead", e.clock.now()); err != nil {
		t.Fatal(err)
	}
	res = e.handle(withIDs(t, event(t, "console_login_nomfa"), "eb-second-login", "d4c1e0a2-1111-4a5b-8c6d-100000000004"))
	if res.Outcome != alert.Alerted || res.Approval != "unapproved" {
		t.Errorf("after revoke: result %+v", res)
	}
	main, _ = e.messages()
	m = one(t, "main topic after revoke", main)
	if !strings.HasPrefix(m.Subject, "[CRITICAL][UNAPPROVED] ") || m.Attributes["approval"] != "unapproved" {
		t.Errorf("after revoke: subject %q, attributes %v", m.Subject, m.Attributes)
	}
	wantContains(t, "body after revoke", m.Message, "Approval:   UNAPPROVED — no approval covers this account at this time")
}

// TestRedeliveryProducesNothing: the same event delivered again — by
// EventBridge's at-least-once delivery, a retry, or a second rule that
// forwards it under another EventBridge id — produces no second alert.
func TestRedeliveryProducesNothing(t *testing.T) {
	e := newEnv(t, nil)
	raw := event(t, "console_login_nomfa")
	if res := e.handle(raw); res.Outcome != alert.Alerted {
		t.Fatalf("first delivery: %+v", res)
	}
	for _, again := range [][]byte{raw, withIDs(t, raw, "another-envelope-id", "")} {
		if res := e.handle(again); res.Outcome != alert.Duplicate {
			t.Errorf("redelivery: %+v", res)
		}
	}
	main, chat := e.messages()
	one(t, "main topic", main)
	one(t, "chatbot topic", chat)
	if c := e.h.Counts(); c.Events != 3 || c.Alerted != 1 || c.Duplicates != 2 {
		t.Errorf("counts %+v", c)
	}
}

// TestRootSessionJoin: an AssumeRoot call is remembered, and the member
// account's actions with the key it issued are joined to it: an action
// outside the task policy alerts at once (critical), one within it is
// summarised; the summary goes out when the session has been quiet for
// the policy's time. No session token reaches a log or a message.
func TestRootSessionJoin(t *testing.T) {
	e := newEnv(t, nil)
	res := e.handle(event(t, "assumeroot"))
	if res.Outcome != alert.Alerted || res.Category != "root-session-issued" || res.Account != "333333333333" {
		t.Fatalf("AssumeRoot: %+v", res)
	}
	main, _ := e.messages()
	m := one(t, "AssumeRoot alert", main)
	if m.Attributes["category"] != "root-session-issued" || m.Attributes["account"] != "333333333333" {
		t.Errorf("AssumeRoot attributes %v", m.Attributes)
	}
	wantContains(t, "AssumeRoot body", m.Message, "task policy S3UnlockBucketPolicy", "ASIAROOTSESSION00001")

	res = e.handle(event(t, "session_createuser"))
	if res.Outcome != alert.Alerted || res.Category != "root-session-activity" || res.Severity != "critical" {
		t.Fatalf("CreateUser in the session: %+v", res)
	}
	main, _ = e.messages()
	m = one(t, "outside-task-policy alert", main)
	wantContains(t, "outside-task-policy body", m.Message,
		"issued by arn:aws:sts::111111111111:assumed-role/Admin/alice (account 111111111111)",
		"this action is OUTSIDE the task policy")
	if m.Attributes["category"] != "root-session-activity" || m.Attributes["severity"] != "critical" {
		t.Errorf("outside-task-policy attributes %v", m.Attributes)
	}

	res = e.handle(event(t, "session_deletebucketpolicy"))
	if res.Outcome != alert.Summarised || res.Category != "root-session-activity" || res.Severity != "medium" {
		t.Fatalf("DeleteBucketPolicy in the session: %+v", res)
	}
	flush := []byte(`{"rootguard":"flush"}`)
	if res := e.handle(flush); res.Outcome != alert.Flushed || res.Summaries != 0 {
		t.Errorf("flush before the session went quiet: %+v", res)
	}
	if main, _ := e.messages(); len(main) != 0 {
		t.Fatalf("%d messages before the summary was due", len(main))
	}
	e.clock.advance(alert.DefaultSummaryQuiet)
	if res := e.handle(flush); res.Summaries != 1 {
		t.Errorf("flush after the quiet time: %+v", res)
	}
	main, chat := e.messages()
	m = one(t, "summary", main)
	one(t, "summary on the chatbot topic", chat)
	if !strings.Contains(m.Subject, "Root session summary: 1 actions") || m.Attributes["category"] != "session-summary" {
		t.Errorf("summary subject %q attributes %v", m.Subject, m.Attributes)
	}
	wantContains(t, "summary body", m.Message, "DeleteBucketPolicy", "prod (333333333333)")
	if res := e.handle(flush); res.Summaries != 0 {
		t.Errorf("second flush sent %d summaries", res.Summaries)
	}
	if main, _ := e.messages(); len(main) != 0 {
		t.Errorf("second flush: %d messages", len(main))
	}
	if strings.Contains(e.logs.String(), "SESSION-TOKEN") {
		t.Error("the AssumeRoot session token reached the logs")
	}
	if !strings.Contains(e.logs.String(), `"event_id":"d4c1e0a2-1111-4a5b-8c6d-000000000003"`) {
		t.Errorf("logs lack the event id:\n%s", e.logs)
	}
}

// TestSessionSummaryCap: a session's summary is sent without waiting for
// the flush once MaxActions actions have accumulated.
func TestSessionSummaryCap(t *testing.T) {
	e := newEnv(t, func(e *env, _ *alert.Deps) { e.cfg.Summary.MaxActions = 2 })
	raw := event(t, "root_listbuckets")
	if res := e.handle(raw); res.Outcome != alert.Summarised || res.Summaries != 0 {
		t.Fatalf("first read: %+v", res)
	}
	res := e.handle(withIDs(t, raw, "eb-listbuckets-2", "d4c1e0a2-1111-4a5b-8c6d-100000000005"))
	if res.Outcome != alert.Summarised || res.Summaries != 1 {
		t.Fatalf("second read: %+v", res)
	}
	main, _ := e.messages()
	m := one(t, "summary", main)
	if !strings.Contains(m.Subject, "Root session summary: 2 actions") || m.Attributes["approval"] != "unapproved" {
		t.Errorf("summary %q %v", m.Subject, m.Attributes)
	}
	if res := e.handle([]byte(`{"rootguard":"flush"}`)); res.Summaries != 0 {
		t.Errorf("flush after the cap: %+v", res)
	}
}

// TestEnrichment: account name, email and OU path come from Organizations
// and are reused within the TTL.
func TestEnrichment(t *testing.T) {
	e := newEnv(t, nil)
	e.handle(event(t, "guardduty_root"))
	e.handle(withIDs(t, event(t, "console_login_nomfa"), "eb-a", "d4c1e0a2-1111-4a5b-8c6d-200000000001"))
	e.handle(withIDs(t, event(t, "console_login_nomfa"), "eb-b", "d4c1e0a2-1111-4a5b-8c6d-200000000002"))
	main, _ := e.messages()
	if len(main) != 3 {
		t.Fatalf("%d messages, want 3", len(main))
	}
	wantContains(t, "GuardDuty alert", main[0].Message, "prod-eu (444444444444)", "Root/Workloads/Prod/EU")
	if main[0].Attributes["category"] != "guardduty-root-credential-usage" {
		t.Errorf("GuardDuty attributes %v", main[0].Attributes)
	}
	counts := e.org.Server.Counts()
	if n := counts["organizations:DescribeAccount"]; n != 2 {
		t.Errorf("DescribeAccount called %d times for 2 accounts within the TTL", n)
	}
	if n := counts["organizations:DescribeOrganizationalUnit"]; n != 3 {
		t.Errorf("DescribeOrganizationalUnit called %d times for 3 OUs", n)
	}
	e.clock.advance(2 * time.Hour)
	e.handle(withIDs(t, event(t, "console_login_nomfa"), "eb-c", "d4c1e0a2-1111-4a5b-8c6d-200000000003"))
	if n := e.org.Server.Counts()["organizations:DescribeAccount"]; n != 3 {
		t.Errorf("DescribeAccount called %d times after the TTL, want 3", n)
	}
}

// TestEnrichmentFailure: when Organizations cannot be read the alert
// still goes out, with the raw account id and the cause.
func TestEnrichmentFailure(t *testing.T) {
	e := newEnv(t, func(e *env, d *alert.Deps) {
		// A caller Organizations does not know.
		cfg := e.org.Config.Copy()
		cfg.Credentials = credentials.NewStaticCredentialsProvider("AKIAUNKNOWNCALLER001", "not-a-secret", "")
		d.Organizations = organizations.NewFromConfig(cfg)
	})
	res := e.handle(event(t, "console_login_nomfa"))
	if res.Outcome != alert.Alerted {
		t.Fatalf("result %+v", res)
	}
	main, _ := e.messages()
	m := one(t, "main topic", main)
	if m.Subject != "[CRITICAL][UNAPPROVED] Root console sign-in without MFA — 333333333333" {
		t.Errorf("subject %q", m.Subject)
	}
	wantContains(t, "body", m.Message,
		"account details unavailable (Organizations lookup failed: DescribeAccount: UnrecognizedClientException); showing the raw account id")
	wantContains(t, "logs", e.logs.String(), "enrichment failed")
}

// TestSNSFailureRetriedExactlyOnce: when SNS fails the invocation fails
// (EventBridge or Lambda retries it); the retry then delivers the alert,
// once per topic: only to the topic that failed; a further redelivery
// produces nothing.
func TestSNSFailureRetriedExactlyOnce(t *testing.T) {
	e := newEnv(t, nil)
	raw := event(t, "console_login_nomfa")
	e.sns.FailPublish(e.cfg.TopicARN, true)
	if _, err := e.h.Handle(t.Context(), raw); err == nil {
		t.Fatal("Handle succeeded while SNS failed")
	}
	// The Chatbot topic, published at the same time, took its message.
	main, chat := e.messages()
	if len(main) != 0 {
		t.Fatalf("%d messages on the failing topic", len(main))
	}
	one(t, "chatbot topic while the main topic failed", chat)
	e.sns.FailPublish(e.cfg.TopicARN, false)
	if res := e.handle(raw); res.Outcome != alert.Alerted || len(res.Published) != 1 || res.Published[0].TopicARN != e.cfg.TopicARN {
		t.Fatalf("retry: %+v", res)
	}
	if res := e.handle(raw); res.Outcome != alert.Duplicate {
		t.Errorf("redelivery after the retry: %+v", res)
	}
	main, chat = e.messages()
	one(t, "main topic", main)
	if len(chat) != 0 {
		t.Errorf("the retry published to the Chatbot topic again: %d", len(chat))
	}

	// The Chatbot topic fails after the main topic took the alert.
	raw = withIDs(t, raw, "eb-chatbot-fails", "d4c1e0a2-1111-4a5b-8c6d-300000000004")
	e.sns.FailPublish(e.cfg.ChatbotTopicARN, true)
	res, err := e.h.Handle(t.Context(), raw)
	if err == nil || len(res.Published) != 1 || res.Published[0].TopicARN != e.cfg.TopicARN {
		t.Fatalf("Chatbot failure: err %v, result %+v", err, res)
	}
	e.sns.FailPublish(e.cfg.ChatbotTopicARN, false)
	res = e.handle(raw)
	if res.Outcome != alert.Alerted || len(res.Published) != 1 || res.Published[0].TopicARN != e.cfg.ChatbotTopicARN {
		t.Fatalf("retry after the Chatbot failure: %+v", res)
	}
	main, chat = e.messages()
	one(t, "main topic", main)
	one(t, "chatbot topic", chat)
	if c := e.h.Counts(); c.Failed != 2 || c.Alerted != 2 {
		t.Errorf("counts %+v", c)
	}
}

// TestDynamoDBFailure: when the table cannot be written, the invocation
// fails and nothing is published (the retry will).
func TestDynamoDBFailure(t *testing.T) {
	e := newEnv(t, func(e *env, _ *alert.Deps) { e.cfg.Table = "no-such-table" })
	if _, err := e.h.Handle(t.Context(), event(t, "console_login_nomfa")); err == nil || !strings.Contains(err.Error(), "ResourceNotFoundException") {
		t.Errorf("err = %v, want the table's ResourceNotFoundException", err)
	}
	if main, chat := e.messages(); len(main)+len(chat) != 0 {
		t.Errorf("published %d, %d messages without a delivery record", len(main), len(chat))
	}
}

// TestDropped: events that were read and are not root activity are
// dropped and counted, without error (a retry would not change them).
func TestDropped(t *testing.T) {
	e := newEnv(t, nil)
	for _, raw := range [][]byte{
		event(t, "iamuser_runinstances"),
		[]byte(`{"version":"0","id":"x","detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","detail":{"state":"running"}}`),
	} {
		res, err := e.h.Handle(t.Context(), raw)
		if err != nil || res.Outcome != alert.Dropped || res.Reason == "" {
			t.Errorf("%.40s: %+v, %v", raw, res, err)
		}
	}
	if c := e.h.Counts(); c.Dropped != 2 || c.Events != 2 || c.Failed != 0 {
		t.Errorf("counts %+v", c)
	}
	if main, _ := e.messages(); len(main) != 0 {
		t.Errorf("%d messages", len(main))
	}
	wantContains(t, "logs", e.logs.String(), `"reason":"not root activity"`, `"dropped":2`)
}

// TestUnreadable: a payload the function cannot read may be root activity
// no one would otherwise see, so it fails the invocation (ErrUnreadable):
// Lambda retries it, then dead-letters it, and the queue's alarm fires.
// Before, each of these was dropped as a success.
func TestUnreadable(t *testing.T) {
	for _, tt := range []struct {
		name, raw, want string
	}{
		{"not JSON", `not json`, "not an EventBridge event"},
		{"cut short", `{"version":"0","id":"x","source":"aws.signin","detail":{"userIdentity":{"type":"Root"`, "not an EventBridge event"},
		{"unknown command", `{"rootguard":"reboot"}`, `unknown rootguard command "reboot"`},
		{"detail not an object", `{"version":"0","id":"x","source":"aws.signin","detail":"{\"userIdentity\":{\"type\":\"Root\"}}"}`, "detail is not an object"},
		{"no detail", `{"version":"0","id":"x","source":"aws.signin"}`, "detail is not an object"},
		{"identity of the wrong type", `{"version":"0","id":"x","source":"aws.signin","detail":{"eventID":"e-1","userIdentity":"Root","eventName":"ConsoleLogin"}}`, "event x: decode record"},
		{"GuardDuty finding of the wrong type", `{"version":"0","id":"g","source":"aws.guardduty","detail-type":"GuardDuty Finding","detail":{"type":["Policy:IAMUser/RootCredentialUsage"]}}`, "decode finding"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			_, err := e.h.Handle(t.Context(), []byte(tt.raw))
			if !errors.Is(err, alert.ErrUnreadable) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrUnreadable saying %q", err, tt.want)
			}
			if c := e.h.Counts(); c.Failed != 1 || c.Dropped != 0 {
				t.Errorf("counts %+v, want one failed, none dropped", c)
			}
			if main, _ := e.messages(); len(main) != 0 {
				t.Errorf("%d messages", len(main))
			}
			wantContains(t, "logs", e.logs.String(), "it will be retried")
		})
	}
}

// TestLanguage: LANGUAGE=ja writes the alert in Japanese.
func TestLanguage(t *testing.T) {
	e := newEnv(t, func(e *env, _ *alert.Deps) { e.cfg.Lang = notify.Japanese })
	e.handle(event(t, "console_login_nomfa"))
	main, _ := e.messages()
	m := one(t, "main topic", main)
	wantContains(t, "subject", m.Subject, "[重大][未承認]")
	wantContains(t, "body", m.Message, "アカウント:")
}

func TestConfigFromEnv(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	c, err := alert.ConfigFromEnv(env("TOPIC_ARN", "arn:t", "TABLE_NAME", "tbl", "LANGUAGE", "both", "ENRICH_TTL", "10m",
		"SUMMARY_QUIET", "5m", "SUMMARY_MAX_AGE", "2h", "SUMMARY_MAX_ACTIONS", "20", "CHATBOT_TOPIC_ARN", "arn:c",
		"APPROVERS", "arn:aws:sts::*:assumed-role/AWSReservedSSO_SecurityApprover_*/*, arn:aws:iam::111111111111:user/lead",
		"STANDING_AUDIT_PRINCIPALS", "arn:aws:sts::111111111111:assumed-role/rootguard-audit/*"))
	if err != nil || c.Lang != notify.Both || c.EnrichTTL != 10*time.Minute || c.Summary.Quiet != 5*time.Minute ||
		c.Summary.MaxAge != 2*time.Hour || c.Summary.MaxActions != 20 || c.ChatbotTopicARN != "arn:c" ||
		len(c.Approvers) != 2 || len(c.StandingAudit) != 1 {
		t.Errorf("config %+v, %v", c, err)
	}
	c, err = alert.ConfigFromEnv(env("TOPIC_ARN", "arn:t", "TABLE_NAME", "tbl"))
	if err != nil || c.Lang != notify.English || c.EnrichTTL != time.Hour || c.Summary.MaxActions != 50 {
		t.Errorf("defaults %+v, %v", c, err)
	}
	_, err = alert.ConfigFromEnv(env("LANGUAGE", "fr", "ENRICH_TTL", "soon", "SUMMARY_MAX_ACTIONS", "0", "APPROVERS", "bob",
		"STANDING_AUDIT_PRINCIPALS", "arn:aws:sts::*:*"))
	for _, want := range []string{"TOPIC_ARN", "TABLE_NAME", "LANGUAGE", "ENRICH_TTL", "SUMMARY_MAX_ACTIONS", "APPROVERS", "STANDING_AUDIT_PRINCIPALS"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
}

// failingDynamoDB fails the UpdateItem calls for which fail says so.
type failingDynamoDB struct {
	alert.DynamoDB
	fail func(*dynamodb.UpdateItemInput) bool
}

func (f failingDynamoDB) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	if f.fail(in) {
		return nil, errors.New("injected: DynamoDB unavailable")
	}
	return f.DynamoDB.UpdateItem(ctx, in, o...)
}

// TestDynamoDBFailureAfterPublish: when the delivery cannot be marked sent
// after SNS took the alert, the invocation fails and the topics published
// are recorded with the released lease, so the retry completes the
// delivery without publishing again.
func TestDynamoDBFailureAfterPublish(t *testing.T) {
	var failing atomic.Bool
	e := newEnv(t, func(e *env, d *alert.Deps) {
		d.DynamoDB = failingDynamoDB{DynamoDB: d.DynamoDB, fail: func(in *dynamodb.UpdateItemInput) bool {
			return failing.Load() && strings.HasPrefix(aws.ToString(in.UpdateExpression), "SET #state = :sent")
		}}
	})
	raw := event(t, "console_login_nomfa")
	failing.Store(true)
	if _, err := e.h.Handle(t.Context(), raw); err == nil || !strings.Contains(err.Error(), "mark delivered") {
		t.Fatalf("err = %v, want the failed mark", err)
	}
	failing.Store(false)
	res := e.handle(raw)
	if res.Outcome != alert.Alerted || len(res.Published) != 0 {
		t.Fatalf("retry: %+v, want alerted with nothing published again", res)
	}
	main, chat := e.messages()
	one(t, "main topic", main)
	one(t, "chatbot topic", chat)
	if res := e.handle(raw); res.Outcome != alert.Duplicate {
		t.Errorf("redelivery: %+v", res)
	}
}

// TestGuardDutyRepeatOccurrenceAlertsAgain: GuardDuty reports a finding
// that occurs again under the same id, with service.count raised and a
// later updatedAt ("for every finding with a unique finding ID, GuardDuty
// aggregates all subsequent occurrences of a particular finding that take
// place in 6-hour intervals into a single event", GuardDuty User Guide).
// That update is a new occurrence and alerts, once; a redelivery of either
// occurrence, under any EventBridge id, alerts nothing.
func TestGuardDutyRepeatOccurrenceAlertsAgain(t *testing.T) {
	e := newEnv(t, nil)
	first := event(t, "guardduty_root")
	repeat := guardDutyUpdate(t, first, "eb-gd-update", 5, "2026-10-08T07:19:30.000Z")
	steps := []struct {
		name  string
		raw   []byte
		want  alert.Outcome
		count int
	}{
		{"first occurrence", first, alert.Alerted, 3},
		{"first occurrence redelivered", withIDs(t, first, "eb-gd-copy", ""), alert.Duplicate, 3},
		{"repeat occurrence", repeat, alert.Alerted, 5},
		{"repeat occurrence redelivered", repeat, alert.Duplicate, 5},
		{"repeat occurrence under another envelope", withIDs(t, repeat, "eb-gd-update-copy", ""), alert.Duplicate, 5},
		{"first occurrence redelivered late", first, alert.Duplicate, 3},
	}
	for _, s := range steps {
		res := e.handle(s.raw)
		if res.Outcome != s.want {
			t.Errorf("%s: outcome %q, want %q (%+v)", s.name, res.Outcome, s.want, res)
		}
		main, _ := e.messages()
		if s.want != alert.Alerted {
			if len(main) != 0 {
				t.Errorf("%s: %d messages, want none", s.name, len(main))
			}
			continue
		}
		m := one(t, s.name, main)
		if m.Attributes["category"] != "guardduty-root-credential-usage" {
			t.Errorf("%s: attributes %v", s.name, m.Attributes)
		}
	}
	if c := e.h.Counts(); c.Alerted != 2 || c.Duplicates != 4 {
		t.Errorf("counts %+v, want 2 alerted and 4 duplicates", c)
	}
}

// guardDutyUpdate returns a GuardDuty event for the same finding (same
// id) with service.count and updatedAt raised, under a new EventBridge id.
func guardDutyUpdate(t *testing.T, raw []byte, envelopeID string, count int, updatedAt string) []byte {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	ev["id"] = envelopeID
	d := ev["detail"].(map[string]any)
	d["updatedAt"] = updatedAt
	svc := d["service"].(map[string]any)
	svc["count"] = count
	svc["eventLastSeen"] = updatedAt
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
