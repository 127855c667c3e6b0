package monitor_test

import (
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/rootguard/rootguard/internal/audit"
	"github.com/rootguard/rootguard/internal/awssim"
	"github.com/rootguard/rootguard/internal/export"
	"github.com/rootguard/rootguard/internal/history"
	"github.com/rootguard/rootguard/internal/monitor"
	"github.com/rootguard/rootguard/internal/newaccount"
	"github.com/rootguard/rootguard/internal/testenv"
)

// world is an organization (awssim: Organizations, STS, IAM, Security
// Hub), SNS with a queue on the alert topic (goaws) and the history
// bucket (gofakes3), each on 127.0.0.1, reached through the real SDK.
type world struct {
	org   *testenv.Organizations
	queue *testenv.Queue
	s3    *s3.Client
	cfg   monitor.Config
	deps  monitor.Deps
}

func newWorld(t *testing.T, sc *awssim.Scenario) *world {
	t.Helper()
	org := testenv.StartOrganizations(t, sc, awssim.Options{ReportDelay: 10 * time.Millisecond})
	sn := testenv.StartSNS(t)
	topic := sn.CreateTopic(t, "alerts")
	q := sn.Subscribe(t, topic)
	fake := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(fake.Close)
	s3c := s3.New(s3.Options{BaseEndpoint: aws.String(fake.URL), UsePathStyle: true, Region: testenv.Region,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")})
	if _, err := s3c.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String("rootguard-audits")}); err != nil {
		t.Fatal(err)
	}
	cfg, err := monitor.ConfigFromEnv(func(k string) string {
		return map[string]string{"HISTORY": "s3://rootguard-audits/o-exampleorg1", "TOPIC_ARN": topic, "LANGUAGE": "both",
			"STRICT_OUS": "Root/Workloads/Prod", "ASSUME_ROOT_RATE": "200"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	return &world{org: org, queue: q, s3: s3c, cfg: cfg, deps: monitor.Deps{
		AWS: org.Config, S3: s3c, SNS: sn.Client, SecurityHub: securityhub.NewFromConfig(org.Config), Logger: slog.New(slog.DiscardHandler),
	}}
}

func (w *world) tick(t *testing.T) *monitor.Result {
	t.Helper()
	res, err := monitor.Run(t.Context(), w.cfg, w.deps)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return res
}

// rootIAM opens a root session in account with one of AWS's task policies.
func (w *world) rootIAM(t *testing.T, account, task string) *iam.Client {
	t.Helper()
	out, err := sts.NewFromConfig(w.org.Config).AssumeRoot(t.Context(), &sts.AssumeRootInput{
		TargetPrincipal: aws.String(account),
		TaskPolicyArn:   &ststypes.PolicyDescriptorType{Arn: aws.String(awssim.TaskPolicyARN(task))},
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := w.org.Config.Copy()
	c := out.Credentials
	cfg.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
	return iam.NewFromConfig(cfg)
}

func findings(t *testing.T, w *world) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, raw := range w.org.Server.Findings() {
		var f map[string]any
		if err := json.Unmarshal(raw, &f); err != nil {
			t.Fatal(err)
		}
		out[f["Id"].(string)] = f
	}
	return out
}

// TestScheduledRuns is the scheduled audit end to end, driven in process
// through monitor.Run (the handler the Lambda binary dispatches
// {"rootguard":"audit"} to): a first tick audits the organization, keeps
// its run in S3 and imports the failing controls into Security Hub, and
// pages nothing; a root password appears in 222222222222 and the next
// tick pages exactly once, in English and Japanese, and adds the finding;
// an unchanged tick pages nothing; the fix archives the finding.
func TestScheduledRuns(t *testing.T) {
	w := newWorld(t, nil)
	first := w.tick(t)
	if first.Accounts != 8 || first.Previous != "" || len(first.Regressions) != 0 || len(first.Published) != 0 ||
		first.SecurityHub == nil || first.SecurityHub.Failing == 0 || first.SecurityHub.Failing != first.SecurityHub.Imported {
		t.Fatalf("first tick: %+v %+v", first, first.SecurityHub)
	}
	if msgs := w.queue.Receive(t, 0); len(msgs) != 0 {
		t.Errorf("first tick paged: %+v", msgs)
	}
	pw := export.FindingID("222222222222", audit.CtlCredentialsGone)
	if _, ok := findings(t, w)[pw]; ok {
		t.Fatalf("%s before the password exists", pw)
	}

	if _, err := w.rootIAM(t, "222222222222", "IAMCreateRootUserPassword").CreateLoginProfile(t.Context(), &iam.CreateLoginProfileInput{}); err != nil {
		t.Fatal(err)
	}
	second := w.tick(t)
	if second.Previous != first.Key || len(second.Regressions) != 1 || second.Regressions[0].Kind != monitor.CredentialAppeared ||
		second.Regressions[0].Account != "222222222222" {
		t.Fatalf("second tick: %+v", second)
	}
	msgs := w.queue.Receive(t, time.Second)
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want one page", len(msgs))
	}
	m := msgs[0]
	if m.Attributes["page"] != "true" || m.Attributes["category"] != "audit-drift" || m.Attributes["drift"] != monitor.CredentialAppeared ||
		!strings.Contains(m.Subject, "1 root regression") || !strings.Contains(m.Message, "222222222222") ||
		!strings.Contains(m.Message, "root has a password") || !strings.Contains(m.Message, "ルート認証情報の出現") {
		t.Errorf("page:\n%s\n%v\n%s", m.Subject, m.Attributes, m.Message)
	}
	f := findings(t, w)[pw]
	if f == nil || f["RecordState"] != "ACTIVE" || f["Compliance"].(map[string]any)["Status"] != "FAILED" {
		t.Fatalf("finding after the password appeared: %v", f)
	}

	// Unchanged: no page, the finding is updated in place.
	third := w.tick(t)
	if len(third.Regressions) != 0 || len(w.queue.Receive(t, 0)) != 0 {
		t.Errorf("third tick: %+v", third)
	}

	if _, err := w.rootIAM(t, "222222222222", "IAMDeleteRootUserCredentials").DeleteLoginProfile(t.Context(), &iam.DeleteLoginProfileInput{}); err != nil {
		t.Fatal(err)
	}
	fourth := w.tick(t)
	if len(fourth.Regressions) != 0 || fourth.SecurityHub.Resolved == 0 || len(w.queue.Receive(t, 0)) != 0 {
		t.Errorf("fix tick: %+v %+v", fourth, fourth.SecurityHub)
	}
	f = findings(t, w)[pw]
	if f["RecordState"] != "ARCHIVED" || f["Compliance"].(map[string]any)["Status"] != "PASSED" {
		t.Errorf("finding after the fix: %v %v", f["RecordState"], f["Compliance"])
	}

	// The history holds the four runs, readable as the CLI reads it.
	reps, keys, err := history.Latest(t.Context(), w.s3, w.cfg.History, 0)
	if err != nil || len(reps) != 4 || keys[0] != fourth.Key {
		t.Errorf("history: %d runs, %v, %v", len(reps), keys, err)
	}
}

// TestScheduledRun200 audits a generated organization of 200 accounts
// in one tick and keeps it in S3.
func TestScheduledRun200(t *testing.T) {
	w := newWorld(t, awssim.GenerateScenario(200, 13))
	w.cfg.History.Prefix = "org"
	res := w.tick(t)
	if res.Accounts != 200 || res.Key == "" {
		t.Fatalf("%+v", res)
	}
	reps, _, err := history.Latest(t.Context(), w.s3, w.cfg.History, 1)
	if err != nil || len(reps) != 1 || len(reps[0].Accounts) != 200 {
		t.Fatalf("history: %v", err)
	}
}

func TestConfigFromEnv(t *testing.T) {
	_, err := monitor.ConfigFromEnv(func(k string) string {
		return map[string]string{"HISTORY": "bucket", "LANGUAGE": "fr", "SECURITY_HUB": "yes", "ASSUME_ROOT_RATE": "-1",
			"STRICT_OUS": "Root/Security, /Workloads/Prod"}[k]
	})
	// A strict OU written otherwise than audit writes it would match no
	// account: refused, with the path to write instead.
	for _, want := range []string{"HISTORY", "TOPIC_ARN", "LANGUAGE", "SECURITY_HUB", "ASSUME_ROOT_RATE", `STRICT_OUS: "/Workloads/Prod": an OU path starts at Root (Root/Workloads/Prod)`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %s: %v", want, err)
		}
	}
	if !monitor.IsAuditEvent([]byte(`{"rootguard":"audit"}`)) || monitor.IsAuditEvent([]byte(`{"rootguard":"flush"}`)) {
		t.Error("IsAuditEvent")
	}
}

// TestStrictOUsFromModeConfig: the strict OUs an account must not leave
// come from the deployment's rootguard.yaml (MODE_CONFIG), not from
// STRICT_OUS: 333333333333 leaves Root/Workloads/Prod, strict in the
// file, and the next tick pages; with the file making it flexible, the
// same move pages nothing.
func TestStrictOUsFromModeConfig(t *testing.T) {
	for _, tc := range []struct {
		name, config string
		want         int
	}{
		{"strict in the file", "default: flexible\nous:\n  - {ou: Root/Workloads/Prod, mode: strict}\n", 1},
		{"flexible in the file", "default: flexible\n", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, nil)
			if _, err := w.s3.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String("rootguard-audits"), Key: aws.String("rootguard.yaml"),
				Body: strings.NewReader(tc.config)}); err != nil {
				t.Fatal(err)
			}
			w.cfg.ModeConfig = newaccount.Location{Bucket: "rootguard-audits", Key: "rootguard.yaml"}
			w.cfg.StrictOUs = []string{"Root/Security"} // ignored: the file decides
			w.tick(t)
			if _, err := organizations.NewFromConfig(w.org.Config).MoveAccount(t.Context(), &organizations.MoveAccountInput{
				AccountId: aws.String("333333333333"), SourceParentId: aws.String("ou-ex12-prod0001"), DestinationParentId: aws.String("ou-ex12-security")}); err != nil {
				t.Fatal(err)
			}
			res := w.tick(t)
			n := 0
			for _, r := range res.Regressions {
				if r.Kind == monitor.LeftStrictOU && r.Account == "333333333333" {
					n++
				}
			}
			if n != tc.want {
				t.Errorf("%d left-strict-ou regressions, want %d: %+v", n, tc.want, res.Regressions)
			}
			// The weekly digest reads the same file: the week's regression,
			// and the strict and flexible OUs it makes.
			w.queue.Receive(t, time.Second)
			dg, err := monitor.Digest(t.Context(), w.cfg, w.deps, time.Now())
			msgs := w.queue.Receive(t, time.Second)
			if err != nil || len(msgs) != 1 || dg.Runs != 1 || dg.Regressions != n {
				t.Fatalf("digest: %v, %d messages, %+v", err, len(msgs), dg)
			}
			if body := msgs[0].Message; strings.Contains(body, "left a strict OU") != (tc.want == 1) ||
				(tc.want == 0 && !strings.Contains(body, "strict: 0 OUs, 0 accounts, 0 with root credentials")) {
				t.Errorf("digest:\n%s", body)
			}
		})
	}
	if _, err := monitor.ConfigFromEnv(func(k string) string {
		return map[string]string{"HISTORY": "s3://b/p", "TOPIC_ARN": "arn:aws:sns:us-east-1:111111111111:t", "MODE_CONFIG": "b/rootguard.yaml"}[k]
	}); err == nil || !strings.Contains(err.Error(), "MODE_CONFIG") {
		t.Errorf("bad MODE_CONFIG: %v", err)
	}
}
