package alert_test

import (
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/rootguard/rootguard/internal/alert"
	"github.com/rootguard/rootguard/internal/approval"
	"github.com/rootguard/rootguard/internal/awssim"
	"github.com/rootguard/rootguard/internal/testenv"
)

// env is a handler wired to dynalite, goaws and awssim on 127.0.0.1, with
// a queue subscribed to each of its topics.
type env struct {
	t       testing.TB
	db      *testenv.DynamoDB
	sns     *testenv.SNS
	org     *testenv.Organizations
	table   *alert.Table
	cfg     alert.Config
	main    *testenv.Queue
	chatbot *testenv.Queue
	clock   *clock
	logs    *testenv.SyncBuffer
	h       *alert.Handler
}

// t0 is when the test events happen (testdata/events).
var t0 = time.Date(2026, 10, 8, 1, 0, 0, 0, time.UTC)

func newEnv(t testing.TB, configure func(e *env, d *alert.Deps)) *env {
	t.Helper()
	e := &env{t: t, db: testenv.StartDynamoDB(t), sns: testenv.StartSNS(t), org: testenv.StartOrganizations(t, nil, awssim.Options{}),
		clock: &clock{t: t0.Add(30 * time.Minute)}, logs: &testenv.SyncBuffer{}}
	name := "rootguard-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	if err := alert.CreateTable(t.Context(), e.db.Client, name); err != nil {
		t.Fatal(err)
	}
	topic, chat := e.sns.CreateTopic(t, "alerts"), e.sns.CreateTopic(t, "chatbot")
	e.main, e.chatbot = e.sns.Subscribe(t, topic), e.sns.Subscribe(t, chat)
	e.cfg = alert.Config{TopicARN: topic, ChatbotTopicARN: chat, Table: name, EnrichTTL: time.Hour}
	d := alert.Deps{
		DynamoDB: dynamodb.NewFromConfig(e.db.Config),
		// One attempt: an injected SNS fault fails the invocation at once.
		SNS:           sns.NewFromConfig(e.sns.Config, func(o *sns.Options) { o.RetryMaxAttempts = 1 }),
		Organizations: organizations.NewFromConfig(e.org.Config),
		Logger:        slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:           e.clock.now,
	}
	if configure != nil {
		configure(e, &d)
	}
	e.table = alert.NewTable(dynamodb.NewFromConfig(e.db.Config), name)
	e.h = alert.New(e.cfg, d)
	return e
}

// handle runs the handler on an event and fails the test on an error.
func (e *env) handle(event []byte) *alert.Result {
	e.t.Helper()
	res, err := e.h.Handle(e.t.Context(), event)
	if err != nil {
		e.t.Fatalf("Handle: %v", err)
	}
	return res
}

// messages reads what each topic's queue received.
func (e *env) messages() (main, chatbot []testenv.Message) {
	e.t.Helper()
	return e.main.Receive(e.t, 0), e.chatbot.Receive(e.t, 0)
}

// grant stores an approval for account in [from, until].
func (e *env) grant(id, account string, from, until time.Time) {
	e.t.Helper()
	_, err := e.table.PutApproval(e.t.Context(), approval.Approval{
		ID: id, Account: account, From: from, Until: until, Requester: "sato", Approver: "ccoe-lead",
		Reason: "unlock the archive bucket policy",
	}, e.clock.now())
	if err != nil {
		e.t.Fatal(err)
	}
}

// event reads testdata/events/NAME.json.
func event(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "events", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// withIDs returns an event with a new EventBridge id and, if eventID is
// not empty, a new CloudTrail eventID: another event, or (eventID empty)
// another copy of the same one.
func withIDs(t testing.TB, raw []byte, envelopeID, eventID string) []byte {
	t.Helper()
	var ev map[string]json.RawMessage
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	ev["id"], _ = json.Marshal(envelopeID)
	if eventID != "" {
		var d map[string]json.RawMessage
		if err := json.Unmarshal(ev["detail"], &d); err != nil {
			t.Fatal(err)
		}
		d["eventID"], _ = json.Marshal(eventID)
		ev["detail"], _ = json.Marshal(d)
	}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wantContains fails unless s holds every one of want.
func wantContains(t *testing.T, what, s string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(s, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, s)
		}
	}
}

// one returns the only message, failing unless there is exactly one.
func one(t *testing.T, what string, msgs []testenv.Message) testenv.Message {
	t.Helper()
	if len(msgs) != 1 {
		var subjects []string
		for _, m := range msgs {
			subjects = append(subjects, m.Subject)
		}
		t.Fatalf("%s: %d messages, want 1: %q", what, len(msgs), subjects)
	}
	return msgs[0]
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
