package awssim

import (
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"
)

func TestBatchImportFindings(t *testing.T) {
	srv := New(exampleScenario(t), Options{})
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	akid, secret := srv.ManagementCredentials()
	sh := securityhub.New(securityhub.Options{Region: "ap-northeast-1", BaseEndpoint: aws.String(hs.URL),
		Credentials: credentials.NewStaticCredentialsProvider(akid, secret, ""), RetryMaxAttempts: 1})
	finding := func(id, product string) shtypes.AwsSecurityFinding {
		return shtypes.AwsSecurityFinding{
			SchemaVersion: aws.String("2018-10-08"), Id: aws.String(id), ProductArn: aws.String(product),
			GeneratorId: aws.String("rootguard/IAM.4"), AwsAccountId: aws.String("333333333333"),
			CreatedAt: aws.String("2026-11-29T00:00:00Z"), UpdatedAt: aws.String("2026-11-29T00:00:00Z"),
			Title: aws.String("IAM.4"), Description: aws.String("root has access keys"),
			Severity:  &shtypes.Severity{Label: shtypes.SeverityLabelCritical},
			Resources: []shtypes.Resource{{Type: aws.String("AwsAccount"), Id: aws.String("AWS::::Account:333333333333")}},
		}
	}
	own := "arn:aws:securityhub:ap-northeast-1:111111111111:product/111111111111/default"
	bad := finding("f3", own)
	bad.SchemaVersion = aws.String("2020-01-01")
	out, err := sh.BatchImportFindings(t.Context(), &securityhub.BatchImportFindingsInput{Findings: []shtypes.AwsSecurityFinding{
		finding("f1", own), finding("f2", "arn:aws:securityhub:ap-northeast-1:999999999999:product/999999999999/default"), bad,
	}})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt32(out.SuccessCount) != 1 || aws.ToInt32(out.FailedCount) != 2 || len(out.FailedFindings) != 2 ||
		aws.ToString(out.FailedFindings[0].Id) != "f2" || aws.ToString(out.FailedFindings[1].ErrorMessage) != "SchemaVersion must be 2018-10-08" {
		t.Errorf("out = %+v %+v", out, out.FailedFindings)
	}
	if _, ok := srv.Findings()[own+"/f1"]; !ok || len(srv.Findings()) != 1 {
		t.Errorf("stored = %v", srv.Findings())
	}
	_, err = sh.BatchImportFindings(t.Context(), &securityhub.BatchImportFindingsInput{Findings: []shtypes.AwsSecurityFinding{}})
	wantCode(t, err, "InvalidInputException")
}
