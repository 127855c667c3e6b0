package main_test

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/rootguard/rootguard/internal/awssim"
	"github.com/rootguard/rootguard/internal/history"
	"github.com/rootguard/rootguard/internal/monitor"
	"github.com/rootguard/rootguard/internal/testenv"
)

// TestScheduledAuditUnderRIE runs the built function's second handler
// under the Lambda RIE, configured as the deployment configures the audit
// function (HISTORY, no TABLE_NAME): the schedule's {"rootguard":"audit"}
// audits the organization (awssim), keeps the run in the history bucket
// (gofakes3) and imports the failing controls into Security Hub; an alert
// event is refused by this function. The drift and Security Hub lifecycle
// are tested in process in internal/monitor.
func TestScheduledAuditUnderRIE(t *testing.T) {
	org := testenv.StartOrganizations(t, nil, awssim.Options{ReportDelay: 10 * time.Millisecond})
	fake := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(fake.Close)
	s3c := s3.New(s3.Options{BaseEndpoint: aws.String(fake.URL), UsePathStyle: true, Region: testenv.Region,
		Credentials: credentials.NewStaticCredentialsProvider(org.AccessKeyID, org.SecretAccessKey, "")})
	if _, err := s3c.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String("audits")}); err != nil {
		t.Fatal(err)
	}
	sn := testenv.StartSNS(t)
	topic := sn.CreateTopic(t, "alerts")
	fn := testenv.Build(t, "-tags", "lambda.norpc", "github.com/rootguard/rootguard/cmd/rootguard-lambda")
	rie := testenv.StartRIE(t, testenv.BuildRIE(t), fn, []string{
		"HISTORY=s3://audits/o-exampleorg1", "TOPIC_ARN=" + topic, "LANGUAGE=both",
		"AWS_REGION=" + testenv.Region, "AWS_ACCESS_KEY_ID=" + org.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + org.SecretAccessKey,
		"AWS_ENDPOINT_URL=" + org.URL, "AWS_ENDPOINT_URL_S3=" + fake.URL, "S3_USE_PATH_STYLE=true", "AWS_ENDPOINT_URL_SNS=" + sn.URL,
		"AWS_LAMBDA_FUNCTION_TIMEOUT=60", "AWS_LAMBDA_LOG_FORMAT=JSON",
	})
	inv, err := rie.Invoke(t.Context(), []byte(`{"rootguard":"audit"}`))
	if err != nil || inv.FunctionError {
		t.Fatalf("audit: %v %s\n%s", err, inv.Body, rie.Logs())
	}
	var res monitor.Result
	if err := json.Unmarshal(inv.Body, &res); err != nil {
		t.Fatal(err)
	}
	if res.Accounts != 8 || res.Key == "" || res.SecurityHub == nil || res.SecurityHub.Failing == 0 {
		t.Fatalf("result %s", inv.Body)
	}
	reps, keys, err := history.Latest(t.Context(), s3c, history.Location{Bucket: "audits", Prefix: "o-exampleorg1"}, 0)
	if err != nil || len(reps) != 1 || keys[0] != res.Key || len(reps[0].Accounts) != 8 {
		t.Errorf("history: %v %v", keys, err)
	}
	if len(org.Server.Findings()) != res.SecurityHub.Failing {
		t.Errorf("%d findings in Security Hub, want %d", len(org.Server.Findings()), res.SecurityHub.Failing)
	}
	inv, err = rie.Invoke(t.Context(), []byte(`{"rootguard":"flush"}`))
	if err != nil || !inv.FunctionError {
		t.Errorf("an alert event to the audit function: %v %s", err, inv.Body)
	}
}
