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

	"github.com/rootguard/rootguard/internal/alert"
	"github.com/rootguard/rootguard/internal/awssim"
	"github.com/rootguard/rootguard/internal/newaccount"
	"github.com/rootguard/rootguard/internal/testenv"
)

// TestNewAccountsUnderRIE runs the built function's new-account handler
// under the Lambda RIE, configured as the deployment configures the
// account function (ACCOUNT_EVENTS, TABLE_NAME, MODE_CONFIG), against
// awssim (Organizations, STS, IAM), dynalite (the journal), goaws (the
// alert topic and a queue on it) and gofakes3 (rootguard.yaml):
//
//   - the CreateAccountResult event awssim recorded (in the shape the
//     Organizations User Guide documents) for an account since moved into
//     Root/Workloads/Prod, strict with enforce: true, whose root user has
//     a password: the password is deleted (awssim no longer has it), one
//     message goes out;
//   - the same event again: no second deletion, no second message;
//   - the MoveAccount event awssim recorded for an account moved into a
//     flexible OU: reported, its password kept, one message that does
//     not page;
//   - an alert event is refused by this function.
func TestNewAccountsUnderRIE(t *testing.T) {
	org := testenv.StartOrganizations(t, nil, awssim.Options{ReportDelay: 10 * time.Millisecond})
	org.Server.SetCreateAccountTiming(awssim.CreateAccountTiming{})
	db := testenv.StartDynamoDB(t)
	if err := alert.CreateTable(t.Context(), db.Client, "rootguard"); err != nil {
		t.Fatal(err)
	}
	fake := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(fake.Close)
	s3c := s3.New(s3.Options{BaseEndpoint: aws.String(fake.URL), UsePathStyle: true, Region: testenv.Region,
		Credentials: credentials.NewStaticCredentialsProvider(org.AccessKeyID, org.SecretAccessKey, "")})
	if _, err := s3c.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String("ccoe")}); err != nil {
		t.Fatal(err)
	}
	config := "default: flexible\nous:\n  - {ou: Root/Workloads/Prod, mode: strict, enforce: true}\n"
	if _, err := s3c.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String("ccoe"), Key: aws.String("rootguard.yaml"),
		Body: strings.NewReader(config)}); err != nil {
		t.Fatal(err)
	}
	sn := testenv.StartSNS(t)
	topic := sn.CreateTopic(t, "alerts")
	q := sn.Subscribe(t, topic)
	fn := testenv.Build(t, "-tags", "lambda.norpc", "github.com/rootguard/rootguard/cmd/rootguard-lambda")
	rie := testenv.StartRIE(t, testenv.BuildRIE(t), fn, []string{
		"ACCOUNT_EVENTS=true", "TABLE_NAME=rootguard", "TOPIC_ARN=" + topic, "LANGUAGE=both", "MODE_CONFIG=s3://ccoe/rootguard.yaml",
		"AWS_REGION=" + testenv.Region, "AWS_ACCESS_KEY_ID=" + org.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + org.SecretAccessKey,
		"AWS_ENDPOINT_URL=" + org.URL, "AWS_ENDPOINT_URL_S3=" + fake.URL, "S3_USE_PATH_STYLE=true", "AWS_ENDPOINT_URL_SNS=" + sn.URL,
		"AWS_ENDPOINT_URL_DYNAMODB=" + db.URL, "AWS_LAMBDA_FUNCTION_TIMEOUT=60", "AWS_LAMBDA_LOG_FORMAT=JSON",
	})
	invoke := func(payload []byte) newaccount.Result {
		t.Helper()
		inv, err := rie.Invoke(t.Context(), payload)
		if err != nil || inv.FunctionError {
			t.Fatalf("invoke: %v %s\n%s", err, inv.Body, rie.Logs())
		}
		var res newaccount.Result
		if err := json.Unmarshal(inv.Body, &res); err != nil {
			t.Fatal(err)
		}
		return res
	}

	prod := org.VendAccount(t, "vended-prod", "ou-ex12-prod0001")
	ev := trailEvent(t, org, "CreateAccountResult", prod)
	res := invoke(ev)
	if res.Outcome != newaccount.OutcomeEnforced || res.Deletion == nil || !res.Deletion.Verified() {
		t.Fatalf("enforced: %+v", res)
	}
	if org.HasRootPassword(t, prod) || org.LoginProfileDeletions(prod) != 1 {
		t.Fatalf("after the event: password %v, %d DeleteLoginProfile", org.HasRootPassword(t, prod), org.LoginProfileDeletions(prod))
	}
	msgs := q.Receive(t, time.Second)
	if len(msgs) != 1 || msgs[0].Attributes["outcome"] != newaccount.OutcomeEnforced || !strings.Contains(msgs[0].Subject, prod) {
		t.Fatalf("messages: %+v", msgs)
	}

	if again := invoke(ev); again.Outcome != newaccount.OutcomeDuplicate || org.LoginProfileDeletions(prod) != 1 {
		t.Errorf("redelivery: %+v, %d DeleteLoginProfile", again, org.LoginProfileDeletions(prod))
	}
	if msgs := q.Receive(t, 500*time.Millisecond); len(msgs) != 0 {
		t.Errorf("redelivery sent %d messages", len(msgs))
	}

	flex := org.VendAccount(t, "vended-security", "ou-ex12-security")
	res = invoke(trailEvent(t, org, "MoveAccount", flex))
	if res.Outcome != newaccount.OutcomeReported || res.Mode == nil || res.Mode.Mode != "flexible" || !org.HasRootPassword(t, flex) || org.LoginProfileDeletions(flex) != 0 {
		t.Errorf("flexible: %+v", res)
	}
	if msgs := q.Receive(t, time.Second); len(msgs) != 1 || msgs[0].Attributes["page"] != "false" {
		t.Errorf("flexible: messages %+v", msgs)
	}

	inv, err := rie.Invoke(t.Context(), []byte(`{"rootguard":"flush"}`))
	if err != nil || !inv.FunctionError {
		t.Errorf("an alert event to the account function: %v %s", err, inv.Body)
	}
}

// trailEvent is the one EventBridge event awssim delivered for eventName
// about account.
func trailEvent(t *testing.T, org *testenv.Organizations, eventName, account string) []byte {
	t.Helper()
	var found [][]byte
	for _, ev := range org.Server.TrailEvents() {
		e, err := newaccount.Parse(ev)
		if err == nil && e.Name == eventName && e.Account == account {
			found = append(found, ev)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d %s events for %s, want 1", len(found), eventName, account)
	}
	return found[0]
}
