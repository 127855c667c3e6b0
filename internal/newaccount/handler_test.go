package newaccount_test

import (
	"bytes"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/rootguard/rootguard/internal/alert"
	"github.com/rootguard/rootguard/internal/awssim"
	"github.com/rootguard/rootguard/internal/newaccount"
	"github.com/rootguard/rootguard/internal/testenv"
)

// ModeConfig is the rootguard.yaml the tests deploy: Prod strict and
// enforced, Security strict without enforcement, the rest flexible.
const ModeConfig = `default: flexible
ous:
  - ou: Root/Workloads/Prod
    mode: strict
    enforce: true
  - ou: ou-ex12-security
    mode: strict
`

// World is an organization (awssim), the function's table (dynalite),
// SNS with a queue on the alert topic (goaws) and the configuration
// bucket (gofakes3), each on 127.0.0.1, reached through the real SDK.
type World struct {
	Org    *testenv.Organizations
	Queue  *testenv.Queue
	SNS    *testenv.SNS
	Topic  string
	DB     *testenv.DynamoDB
	S3     *s3.Client
	S3URL  string
	Cfg    newaccount.Config
	Deps   newaccount.Deps
	Logger *slog.Logger
}

func newWorld(t *testing.T) *World {
	t.Helper()
	w := &World{}
	w.Org = testenv.StartOrganizations(t, nil, awssim.Options{ReportDelay: 10 * time.Millisecond})
	w.Org.Server.SetCreateAccountTiming(awssim.CreateAccountTiming{})
	w.DB = testenv.StartDynamoDB(t)
	if err := alert.CreateTable(t.Context(), w.DB.Client, "rootguard"); err != nil {
		t.Fatal(err)
	}
	sn := testenv.StartSNS(t)
	w.SNS = sn
	w.Topic = sn.CreateTopic(t, "alerts")
	w.Queue = sn.Subscribe(t, w.Topic)
	fake := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(fake.Close)
	w.S3URL = fake.URL
	w.S3 = s3.New(s3.Options{BaseEndpoint: aws.String(fake.URL), UsePathStyle: true, Region: testenv.Region,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")})
	for _, in := range []any{&s3.CreateBucketInput{Bucket: aws.String("ccoe-config")}} {
		if _, err := w.S3.CreateBucket(t.Context(), in.(*s3.CreateBucketInput)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.S3.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String("ccoe-config"), Key: aws.String("rootguard.yaml"),
		Body: strings.NewReader(ModeConfig)}); err != nil {
		t.Fatal(err)
	}
	cfg, err := newaccount.ConfigFromEnv(func(k string) string {
		return map[string]string{"TABLE_NAME": "rootguard", "TOPIC_ARN": w.Topic, "LANGUAGE": "both",
			"MODE_CONFIG": "s3://ccoe-config/rootguard.yaml", "ASSUME_ROOT_RATE": "100"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	w.Cfg = cfg
	w.Logger = slog.New(slog.DiscardHandler)
	w.Deps = newaccount.Deps{AWS: w.Org.Config, DB: w.DB.Client, S3: w.S3, SNS: sn.Client, Logger: w.Logger}
	return w
}

// Event is a documented event of testdata/events with the account and
// event id replaced.
func Event(t *testing.T, file, account, eventID string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.ModuleRoot(t), "internal", "newaccount", "testdata", "events", file))
	if err != nil {
		t.Fatal(err)
	}
	for _, old := range []string{"444455556666", "333333333333", "624281831893"} {
		b = bytes.ReplaceAll(b, []byte(old), []byte(account))
	}
	return bytes.ReplaceAll(b, []byte("EXAMPLE8-90ab-cdef-fedc-ba987EXAMPLE"), []byte(eventID))
}

func (w *World) handle(t *testing.T, payload []byte) *newaccount.Result {
	t.Helper()
	res, err := newaccount.Handle(t.Context(), w.Cfg, w.Deps, payload)
	if err != nil {
		t.Fatalf("handle: %v", err)
	}
	return res
}

// TestCreateAccountResultEnforced: a CreateAccountResult for an account
// in a strict OU with enforce: true ends with its root password deleted
// (as awssim sees it) and one message; the same event delivered again
// deletes nothing and says nothing.
func TestCreateAccountResultEnforced(t *testing.T) {
	w := newWorld(t)
	id := w.Org.VendAccount(t, "vended-prod", "ou-ex12-prod0001")
	if !w.Org.HasRootPassword(t, id) {
		t.Fatal("no password before the event")
	}
	ev := Event(t, "createaccountresult-succeeded.json", id, "0c1d2e3f-0000-4000-8000-000000000001")
	res := w.handle(t, ev)
	if res.Outcome != newaccount.OutcomeEnforced || res.Mode == nil || !res.Mode.Enforce || res.Deletion == nil || !res.Deletion.Verified() {
		t.Fatalf("result: %+v %+v", res, res.Deletion)
	}
	if w.Org.HasRootPassword(t, id) || w.Org.LoginProfileDeletions(id) != 1 {
		t.Fatalf("after the event: password %v, %d deletions", w.Org.HasRootPassword(t, id), w.Org.LoginProfileDeletions(id))
	}
	if res.Account == nil || res.Account.Root == nil || res.Account.Root.HasCredentials() {
		t.Errorf("audit after the deletion: %+v", res.Account)
	}
	msgs := w.Queue.Receive(t, time.Second)
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.Attributes["category"] != "new-account" || m.Attributes["outcome"] != newaccount.OutcomeEnforced || m.Attributes["page"] != "false" ||
		!strings.Contains(m.Subject, id) || !strings.Contains(m.Message, "DeleteLoginProfile ok") || !strings.Contains(m.Message, "Root/Workloads/Prod") ||
		!strings.Contains(m.Message, "ルート認証情報") {
		t.Errorf("message:\n%s\n%v\n%s", m.Subject, m.Attributes, m.Message)
	}

	// Redelivered: nothing twice.
	again := w.handle(t, ev)
	if again.Outcome != newaccount.OutcomeDuplicate || w.Org.LoginProfileDeletions(id) != 1 {
		t.Errorf("redelivery: %+v, %d deletions", again, w.Org.LoginProfileDeletions(id))
	}
	if msgs := w.Queue.Receive(t, 500*time.Millisecond); len(msgs) != 0 {
		t.Errorf("redelivery sent %d messages", len(msgs))
	}
}

// TestFlexibleOnlyReports: an account in a flexible OU, and one in a
// strict OU without enforce, keep their root credentials; each event
// gives one message, and only the strict one pages.
func TestFlexibleOnlyReports(t *testing.T) {
	w := newWorld(t)
	root, err := organizations.NewFromConfig(w.Org.Config).ListRoots(t.Context(), &organizations.ListRootsInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, ou, mode, page string
	}{
		{"vended-root", aws.ToString(root.Roots[0].Id), "flexible", "false"},
		{"vended-security", "ou-ex12-security", "strict", "true"},
	} {
		id := w.Org.VendAccount(t, tc.name, tc.ou)
		res := w.handle(t, Event(t, "moveaccount.json", id, "move-"+tc.name))
		if res.Outcome != newaccount.OutcomeReported || string(res.Mode.Mode) != tc.mode || res.Deletion != nil {
			t.Errorf("%s: %+v", tc.name, res)
		}
		if !w.Org.HasRootPassword(t, id) || w.Org.LoginProfileDeletions(id) != 0 {
			t.Errorf("%s: the password was deleted", tc.name)
		}
		msgs := w.Queue.Receive(t, time.Second)
		if len(msgs) != 1 || msgs[0].Attributes["page"] != tc.page || msgs[0].Attributes["mode"] != tc.mode {
			t.Errorf("%s: messages %+v", tc.name, msgs)
		}
	}
	// An invitation, a failed creation: nothing to audit, nothing sent.
	for _, f := range []string{"inviteaccounttoorganization.json", "createaccountresult-failed.json"} {
		if res := w.handle(t, Event(t, f, "000000000000", "x-"+f)); res.Outcome != newaccount.OutcomeIgnored {
			t.Errorf("%s: %+v", f, res)
		}
	}
	if msgs := w.Queue.Receive(t, 300*time.Millisecond); len(msgs) != 0 {
		t.Errorf("ignored events sent %d messages", len(msgs))
	}
}

// TestRetryAfterFailedAlert: the alert fails after the deletion; the
// retry alerts once, from the journal, without deleting again.
func TestRetryAfterFailedAlert(t *testing.T) {
	w := newWorld(t)
	id := w.Org.VendAccount(t, "vended-busy", "ou-ex12-prod0001")
	ev := Event(t, "createaccountresult-succeeded.json", id, "busy-1")
	// A first invocation that claimed the event and died: its lease holds.
	w.Cfg.Lease = time.Hour
	w.SNS.FailPublish(w.Topic, true)
	if _, err := newaccount.Handle(t.Context(), w.Cfg, w.Deps, ev); err == nil {
		t.Fatal("publish failure: no error")
	}
	w.SNS.FailPublish(w.Topic, false)
	// It released the lease: the retry completes, without a second deletion.
	res := w.handle(t, ev)
	if res.Outcome != newaccount.OutcomeEnforced || w.Org.LoginProfileDeletions(id) != 1 {
		t.Errorf("retry: %+v, %d deletions", res, w.Org.LoginProfileDeletions(id))
	}
	if msgs := w.Queue.Receive(t, time.Second); len(msgs) != 1 {
		t.Errorf("%d messages", len(msgs))
	}
}

// TestControlTowerAndJoin: Control Tower's CreateManagedAccount and
// Organizations' AccountJoinedOrganization for accounts in the strict,
// enforced OU end with their root passwords deleted, one message each.
func TestControlTowerAndJoin(t *testing.T) {
	w := newWorld(t)
	for _, tc := range []struct{ name, file string }{
		{"vended-ct", "createmanagedaccount.json"},
		{"joined", "accountjoinedorganization.json"},
	} {
		id := w.Org.VendAccount(t, tc.name, "ou-ex12-prod0001")
		b := Event(t, tc.file, id, "ev-"+tc.name)
		b = bytes.ReplaceAll(b, []byte("222222222222"), []byte(id)) // the joined account of accountjoinedorganization.json
		res := w.handle(t, b)
		if res.Outcome != newaccount.OutcomeEnforced || w.Org.HasRootPassword(t, id) || w.Org.LoginProfileDeletions(id) != 1 {
			t.Errorf("%s: %+v", tc.name, res)
		}
		if msgs := w.Queue.Receive(t, time.Second); len(msgs) != 1 {
			t.Errorf("%s: %d messages", tc.name, len(msgs))
		}
	}
}
