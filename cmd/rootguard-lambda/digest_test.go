package main_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/rootguard/rootguard/internal/audit"
	"github.com/rootguard/rootguard/internal/history"
	"github.com/rootguard/rootguard/internal/monitor"
	"github.com/rootguard/rootguard/internal/testenv"
)

// digestRun is one scheduled run of a six-account organization on day
// d of a two-week history:
//   - 200000000001 (Root/Workloads/Prod) is clean throughout;
//   - 200000000002 (Root/Workloads/Prod) gets a root access key on day 9;
//   - 200000000003 (Root/Sandbox) has a password and a key until day 10;
//   - 200000000004 (Root/Sandbox) keeps a password without MFA;
//   - 200000000005 (Root/Sandbox) had a password until day 3 (fixed before
//     the week the digest reports);
//   - 200000000006 (Root/Sandbox) has a password until day 12.
func digestRun(at time.Time, d int) *audit.Report {
	rep := &audit.Report{StartedAt: at, FinishedAt: at.Add(time.Minute), Organization: audit.OrgInfo{ID: "o-exampleorg1",
		ManagementAccountID: "100000000000", FeatureSet: "ALL", EnabledFeatures: []string{"RootCredentialsManagement", "RootSessions"}, IAMTrustedAccess: true}}
	add := func(id, ou string, password bool, key string) {
		a := &audit.Account{ID: id, Name: "acct-" + id[len(id)-1:], OUPath: ou, State: "ACTIVE", Method: audit.MethodAssumeRoot,
			Root: &audit.Root{Password: password}, SCPsChecked: true}
		if key != "" {
			a.Root.AccessKeys = []audit.AccessKey{{ID: key, Status: "Active"}}
		}
		a.Controls = audit.Evaluate(a, at)
		rep.Accounts = append(rep.Accounts, a)
	}
	add("200000000001", "Root/Workloads/Prod", false, "")
	add("200000000002", "Root/Workloads/Prod", false, map[bool]string{true: "AKIAEXAMPLE2"}[d >= 9])
	add("200000000003", "Root/Sandbox", d <= 10, map[bool]string{true: "AKIAEXAMPLE3"}[d <= 10])
	add("200000000004", "Root/Sandbox", true, "")
	add("200000000005", "Root/Sandbox", d <= 3, "")
	add("200000000006", "Root/Sandbox", d <= 12, "")
	return rep
}

// TestWeeklyDigestUnderRIE runs the built function under the Lambda RIE,
// configured as the deployment configures the audit function, and sends
// it the digest schedule's {"rootguard":"digest"}: on an empty history it
// publishes one message saying so; on two weeks of daily runs (gofakes3)
// it publishes exactly one message, in English and Japanese, comparing
// the newest run with the run seven days earlier and listing the week's
// regression and fixes and the accounts still needing action.
func TestWeeklyDigestUnderRIE(t *testing.T) {
	fake := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(fake.Close)
	s3c := s3.New(s3.Options{BaseEndpoint: aws.String(fake.URL), UsePathStyle: true, Region: testenv.Region,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")})
	if _, err := s3c.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String("audits")}); err != nil {
		t.Fatal(err)
	}
	sn := testenv.StartSNS(t)
	topic := sn.CreateTopic(t, "alerts")
	queue := sn.Subscribe(t, topic)
	fn := testenv.Build(t, "-tags", "lambda.norpc", "github.com/rootguard/rootguard/cmd/rootguard-lambda")
	rie := testenv.StartRIE(t, testenv.BuildRIE(t), fn, []string{
		"HISTORY=s3://audits/o-exampleorg1", "TOPIC_ARN=" + topic, "LANGUAGE=both", "STRICT_OUS=Root/Workloads/Prod",
		"AWS_REGION=" + testenv.Region, "AWS_ACCESS_KEY_ID=AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY=secret",
		"AWS_ENDPOINT_URL_S3=" + fake.URL, "S3_USE_PATH_STYLE=true", "AWS_ENDPOINT_URL_SNS=" + sn.URL,
		"AWS_LAMBDA_FUNCTION_TIMEOUT=60", "AWS_LAMBDA_LOG_FORMAT=JSON",
	})
	digest := func() monitor.DigestResult {
		t.Helper()
		inv, err := rie.Invoke(t.Context(), []byte(`{"rootguard":"digest"}`))
		if err != nil || inv.FunctionError {
			t.Fatalf("digest: %v %s\n%s", err, inv.Body, rie.Logs())
		}
		var res monitor.DigestResult
		if err := json.Unmarshal(inv.Body, &res); err != nil {
			t.Fatal(err)
		}
		return res
	}

	// An empty history: one message that says so.
	res := digest()
	msgs := queue.Receive(t, time.Second)
	if len(msgs) != 1 || len(res.Published) != 1 || !res.Newest.IsZero() {
		t.Fatalf("empty history: %d messages, result %+v", len(msgs), res)
	}
	if m := msgs[0]; !strings.Contains(m.Subject, "no scheduled audit in the history") ||
		!strings.Contains(m.Message, "holds no run of the scheduled audit yet") || !strings.Contains(m.Message, "定期監査の実行結果がまだありません") ||
		m.Attributes["category"] != "weekly-digest" || m.Attributes["page"] != "false" {
		t.Errorf("empty digest:\n%s\n%v\n%s", m.Subject, m.Attributes, m.Message)
	}

	// Two weeks of daily runs, the newest an hour ago.
	loc := history.Location{Bucket: "audits", Prefix: "o-exampleorg1"}
	newest := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	for d := 0; d <= 14; d++ {
		at := newest.Add(time.Duration(d-14)*24*time.Hour + time.Duration(d)*time.Second) // a schedule drifts by seconds
		if _, err := history.Put(t.Context(), s3c, loc, digestRun(at, d)); err != nil {
			t.Fatal(err)
		}
	}
	res = digest()
	msgs = queue.Receive(t, time.Second)
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want one digest", len(msgs))
	}
	baseline := newest.Add(-7*24*time.Hour + 7*time.Second)
	if res.Runs != 7 || !res.Baseline.Equal(baseline) || res.Regressions != 1 || res.Fixes != 2 || res.NeedingAction != 2 {
		t.Errorf("result %+v, want 7 runs since %s, 1 regression, 2 fixes, 2 accounts needing action", res, baseline)
	}
	m := msgs[0]
	// Now 200000000002 and 200000000004 have root credentials; a week
	// ago 200000000003, 200000000004 and 200000000006 had.
	if m.Subject != "rootguard weekly digest o-exampleorg1: 2 of 6 accounts with root credentials (-1)" {
		t.Errorf("subject %q", m.Subject)
	}
	for _, want := range []string{
		"With root credentials:    2 (-1)",
		"With root access keys:    1 (±0)",
		"IAM.4:     5 / 1 (±0)",
		"Got worse this week (1):",
		"200000000002 (acct-2): root credential appeared: AKIAEXAMPLE2 (Active)",
		"Fixed this week (2):",
		"200000000003 (acct-3): fixed: IAM.4, IAM.6, IAM.9, RG.ROOT.1",
		"200000000006 (acct-6): fixed: IAM.6, IAM.9, RG.ROOT.1",
		"Accounts still needing action (2):",
		"strict: 1 OUs, 2 accounts, 1 with root credentials (+1)",
		"ルート認証情報あり: 2 (-1)",
		"今週悪化した項目（1 件）:",
	} {
		if !strings.Contains(m.Message, want) {
			t.Errorf("digest lacks %q:\n%s", want, m.Message)
		}
	}
	if strings.Contains(m.Message, "200000000005") {
		t.Errorf("a fix from before the week is in the digest:\n%s", m.Message)
	}
}
