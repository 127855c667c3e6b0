package main_test

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rootguard/rootguard/internal/alert"
	"github.com/rootguard/rootguard/internal/awssim"
	"github.com/rootguard/rootguard/internal/testenv"
)

// lambdaEnv is the function built for this platform, running under
// aws-lambda-rie, wired to dynalite, goaws and awssim through
// AWS_ENDPOINT_URL_<SERVICE>, with a queue on each topic.
type lambdaEnv struct {
	rie           *testenv.RIE
	sns           *testenv.SNS
	main, chatbot *testenv.Queue
	topic         string
	org           *testenv.Organizations
	db            *testenv.DynamoDB
}

func startLambda(t *testing.T, extra ...string) *lambdaEnv {
	t.Helper()
	return startLambdaWith(t, nil, extra...)
}

// startLambdaWith serves the scenario sc (nil: awssim's default).
func startLambdaWith(t *testing.T, sc *awssim.Scenario, extra ...string) *lambdaEnv {
	t.Helper()
	db := testenv.StartDynamoDB(t)
	if err := alert.CreateTable(t.Context(), db.Client, "rootguard"); err != nil {
		t.Fatal(err)
	}
	s := testenv.StartSNS(t)
	org := testenv.StartOrganizations(t, sc, awssim.Options{})
	topic, chat := s.CreateTopic(t, "alerts"), s.CreateTopic(t, "chatbot")
	e := &lambdaEnv{sns: s, main: s.Subscribe(t, topic), chatbot: s.Subscribe(t, chat), topic: topic, org: org, db: db}
	fn := testenv.Build(t, "-tags", "lambda.norpc", "github.com/rootguard/rootguard/cmd/rootguard-lambda")
	env := append([]string{
		"TOPIC_ARN=" + topic, "CHATBOT_TOPIC_ARN=" + chat, "TABLE_NAME=rootguard", "LANGUAGE=en",
		"AWS_REGION=" + testenv.Region, "AWS_ACCESS_KEY_ID=" + org.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + org.SecretAccessKey,
		"AWS_ENDPOINT_URL_DYNAMODB=" + db.URL, "AWS_ENDPOINT_URL_SNS=" + s.URL, "AWS_ENDPOINT_URL_ORGANIZATIONS=" + org.URL,
		"AWS_LAMBDA_FUNCTION_TIMEOUT=30", "AWS_LAMBDA_LOG_FORMAT=JSON",
	}, extra...)
	e.rie = testenv.StartRIE(t, testenv.BuildRIE(t), fn, env)
	return e
}

// invoke sends one event and decodes the function's result.
func (e *lambdaEnv) invoke(t *testing.T, event []byte) (alert.Result, testenv.Invocation) {
	t.Helper()
	inv, err := e.rie.Invoke(t.Context(), event)
	if err != nil {
		t.Fatalf("invoke: %v\n%s", err, e.rie.Logs())
	}
	var res alert.Result
	if !inv.FunctionError {
		if err := json.Unmarshal(inv.Body, &res); err != nil {
			t.Fatalf("result %s: %v", inv.Body, err)
		}
	}
	return res, inv
}

// corpusDir is ../shared/corpus beside the repository: skipped when
// absent, a failure in CI.
func corpusDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(testenv.ModuleRoot(t), "..", "shared", "corpus")
	if _, err := os.Stat(filepath.Join(dir, "LABELS.tsv")); err != nil {
		testenv.Missing(t, "the public sample events are not at %s", dir)
	}
	return dir
}

// eventBridge returns a corpus file as EventBridge would deliver it: an
// EventBridge event as it is; a CloudTrail record or a GuardDuty finding
// wrapped in the envelope EventBridge gives it.
func eventBridge(t *testing.T, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(b, &probe); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if _, ok := probe["detail-type"]; ok {
		return b
	}
	env := map[string]any{"version": "0", "id": "corpus-" + name, "time": "2026-10-08T01:00:00Z",
		"region": "us-east-1", "resources": []string{}, "detail": json.RawMessage(b)}
	switch {
	case probe["Type"] != nil || probe["type"] != nil:
		env["detail-type"], env["source"] = "GuardDuty Finding", "aws.guardduty"
	default:
		var r struct{ EventSource, EventType string }
		_ = json.Unmarshal(b, &r)
		env["source"] = "aws." + strings.TrimSuffix(r.EventSource, ".amazonaws.com")
		switch r.EventType {
		case "AwsConsoleSignIn":
			env["detail-type"] = "AWS Console Sign In via CloudTrail"
		case "AwsServiceEvent":
			env["detail-type"] = "AWS Service Event via CloudTrail"
		default:
			env["detail-type"] = "AWS API Call via CloudTrail"
		}
	}
	out, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestEndToEnd runs the built function under the Lambda Runtime Interface
// Emulator on real public events: a root session issued by AssumeRoot and
// its action in the member account, a root console sign-in, a GuardDuty
// finding; it reads the alerts off the queue subscribed to the topic,
// checks their content and attributes, that a redelivery produces
// nothing, that an SNS failure fails the invocation and its retry
// delivers once, and that the session's summary goes out on the scheduled
// flush.
func TestEndToEnd(t *testing.T) {
	dir := corpusDir(t)
	e := startLambda(t, "SUMMARY_QUIET=1ms")

	// AssumeRoot in the management account: alerted, about the member.
	res, _ := e.invoke(t, eventBridge(t, dir, "awsdocs__assumeroot_management_account.json"))
	if res.Outcome != alert.Alerted || res.Category != "root-session-issued" || res.Account != "222222222222" {
		t.Fatalf("AssumeRoot: %+v\n%s", res, e.rie.Logs())
	}
	m := one(t, "AssumeRoot", e.main.Receive(t, time.Second))
	wantAttrs(t, m, map[string]string{"severity": "high", "category": "root-session-issued", "account": "222222222222", "approval": "unapproved"})
	if m.Subject != "[HIGH][UNAPPROVED] Root session issued (S3UnlockBucketPolicy) — security (222222222222)" {
		t.Errorf("subject %q", m.Subject)
	}
	wantContains(t, m.Message, "OU:         Root/Security", "task policy S3UnlockBucketPolicy, key ASIAIOSFODNN7EXAMPLE")
	one(t, "AssumeRoot on the Chatbot topic", e.chatbot.Receive(t, 0))

	// The member account's DeleteBucketPolicy with the issued key: joined,
	// within the task policy, so kept for the session summary.
	res, _ = e.invoke(t, eventBridge(t, dir, "awsdocs__assumeroot_member_deletebucketpolicy.json"))
	if res.Outcome != alert.Summarised || res.Category != "root-session-activity" || res.Severity != "medium" {
		t.Fatalf("member action: %+v", res)
	}

	// A root console sign-in without MFA, in an account Organizations
	// does not know: alerted with the raw account id.
	signin := eventBridge(t, dir, "awsdocs__eventbridge_signin_root_consolelogin.json")
	res, _ = e.invoke(t, signin)
	if res.Outcome != alert.Alerted || res.Severity != "critical" {
		t.Fatalf("console sign-in: %+v", res)
	}
	m = one(t, "console sign-in", e.main.Receive(t, time.Second))
	wantAttrs(t, m, map[string]string{"severity": "critical", "category": "console-login", "account": "123456789012", "approval": "unapproved"})
	wantContains(t, m.Message, "Organizations lookup failed: DescribeAccount: AccountNotFoundException",
		"Event ID:   324731c0-64b3-4421-b552-dfc3c27df4f6 (rule root-console-login)")
	e.chatbot.Receive(t, 0)

	// Redelivered: nothing.
	res, _ = e.invoke(t, signin)
	if res.Outcome != alert.Duplicate {
		t.Errorf("redelivery: %+v", res)
	}

	// SNS fails: the invocation fails; the retry delivers, once.
	gd := eventBridge(t, dir, "public__guardduty_rootcredentialusage_describealarms.json")
	e.sns.FailPublish(e.topic, true)
	if _, inv := e.invoke(t, gd); !inv.FunctionError {
		t.Fatalf("invocation succeeded while SNS failed: %d %s", inv.Status, inv.Body)
	}
	e.sns.FailPublish(e.topic, false)
	if res, _ = e.invoke(t, gd); res.Outcome != alert.Alerted || res.Category != "guardduty-root-credential-usage" {
		t.Fatalf("GuardDuty retry: %+v", res)
	}
	if res, _ = e.invoke(t, gd); res.Outcome != alert.Duplicate {
		t.Errorf("GuardDuty redelivery: %+v", res)
	}
	m = one(t, "GuardDuty", e.main.Receive(t, time.Second))
	wantAttrs(t, m, map[string]string{"category": "guardduty-root-credential-usage", "approval": "unapproved"})

	// The scheduled flush sends the session's summary.
	res, _ = e.invoke(t, []byte(`{"rootguard":"flush"}`))
	if res.Outcome != alert.Flushed || res.Summaries != 1 {
		t.Fatalf("flush: %+v", res)
	}
	for _, m := range e.main.Receive(t, time.Second) {
		if m.Attributes["category"] != "session-summary" {
			continue
		}
		wantContains(t, m.Subject, "Root session summary: 1 actions — security (222222222222)")
		wantContains(t, m.Message, "s3:DeleteBucketPolicy", "issued by arn:aws:sts::111111111111:assumed-role/JohnDoe/JohnRole1")
	}
	if res.Counts.Alerted != 3 || res.Counts.Summarised != 1 || res.Counts.Duplicates != 2 || res.Counts.Failed != 1 {
		t.Errorf("counts after a warm run: %+v", res.Counts)
	}

	logs := e.rie.Logs()
	if strings.Contains(logs, "wJalrXUtnFEMI") || strings.Contains(logs, e.org.SecretAccessKey) {
		t.Error("a credential reached the function's logs")
	}
	if !strings.Contains(logs, `"requestId":"`) || !strings.Contains(logs, `"event_id":"324731c0-64b3-4421-b552-dfc3c27df4f6"`) {
		t.Errorf("logs lack the request id or the event id:\n%s", logs)
	}
}

// TestCorpus sends every public sample event through the function: root
// activity (and the AssumeRoot call, which is not root activity but issues
// a root session) is alerted or summarised, the rest dropped; an event
// whose eventID an earlier sample already used is a duplicate.
func TestCorpus(t *testing.T) {
	dir := corpusDir(t)
	e := startLambda(t)
	f, err := os.Open(filepath.Join(dir, "LABELS.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) < 4 || cols[0] == "file" {
			continue
		}
		name, root, category := cols[0], cols[2] == "yes", cols[3]
		ev := eventBridge(t, dir, name)
		res, inv := e.invoke(t, ev)
		if inv.FunctionError {
			t.Errorf("%s: invocation failed: %s", name, inv.Body)
			continue
		}
		n++
		var want []alert.Outcome
		switch {
		case root || category == "assume-root-session":
			want = []alert.Outcome{alert.Alerted, alert.Summarised}
			if seen[res.EventID] {
				want = []alert.Outcome{alert.Duplicate}
			}
			seen[res.EventID] = true
		default:
			want = []alert.Outcome{alert.Dropped}
		}
		ok := false
		for _, w := range want {
			ok = ok || res.Outcome == w
		}
		if !ok {
			t.Errorf("%s (%s, root=%v): %s (%s), want %v", name, category, root, res.Outcome, res.Reason, want)
		}
	}
	if n < 50 {
		t.Errorf("%d samples sent, want the whole corpus", n)
	}
	msgs := e.main.Receive(t, time.Second)
	alerted := 0
	for _, m := range msgs {
		alerted++
		for _, k := range []string{"severity", "category", "account", "approval"} {
			if m.Attributes[k] == "" {
				t.Errorf("%q: attribute %s empty", m.Subject, k)
			}
		}
	}
	t.Logf("%d samples, %d alerts", n, alerted)
	if alerted == 0 {
		t.Error("no alert published")
	}

	// A payload the function cannot read fails the invocation, so Lambda
	// retries it and dead-letters it (the queue alarms) instead of taking
	// it as handled: a detail of the wrong type, a detail that is not an
	// object, an unknown command; and JSON cut short, which the runtime
	// itself refuses before the handler.
	for _, tt := range []struct{ raw, want string }{
		{`{"version":"0","id":"typed","source":"aws.signin","detail":{"eventID":"e-1","userIdentity":"Root","eventName":"ConsoleLogin"}}`, "unreadable payload: event typed: decode record"},
		{`{"version":"0","id":"str","source":"aws.signin","detail":"{}"}`, "unreadable payload: event str: alert: not a CloudTrail or GuardDuty event"},
		{`{"rootguard":"reboot"}`, `unreadable payload: unknown rootguard command \"reboot\"`},
		{`{"version":"0","id":"cut","source":"aws.signin","detail":{"userIdentity":{"type":"Root"`, "unexpected EOF"},
	} {
		_, inv := e.invoke(t, []byte(tt.raw))
		if !inv.FunctionError || !strings.Contains(string(inv.Body), tt.want) {
			t.Errorf("%.40s: %d %s, want a function error saying %s", tt.raw, inv.Status, inv.Body, tt.want)
		}
	}
}

func one(t *testing.T, what string, msgs []testenv.Message) testenv.Message {
	t.Helper()
	if len(msgs) != 1 {
		var s []string
		for _, m := range msgs {
			s = append(s, m.Subject)
		}
		t.Fatalf("%s: %d messages, want 1: %q", what, len(msgs), s)
	}
	return msgs[0]
}

func wantAttrs(t *testing.T, m testenv.Message, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if m.Attributes[k] != v {
			t.Errorf("%q: attribute %s = %q, want %q", m.Subject, k, m.Attributes[k], v)
		}
	}
}

func wantContains(t *testing.T, s string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(s, w) {
			t.Errorf("lacks %q:\n%s", w, s)
		}
	}
}
