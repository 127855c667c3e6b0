package awssim

import (
	"net/http/httptest"
	"strings"
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
			GeneratorId: aws.String("rootguard/IAM.4"), AwsAccountId: aws.String("111111111111"),
			CreatedAt: aws.String("2026-11-29T00:00:00Z"), UpdatedAt: aws.String("2026-11-29T00:00:00Z"),
			Title: aws.String("IAM.4"), Description: aws.String("root has access keys"), Types: []string{"Software and Configuration Checks"},
			Severity:  &shtypes.Severity{Label: shtypes.SeverityLabelCritical},
			Resources: []shtypes.Resource{{Type: aws.String("AwsAccount"), Id: aws.String("AWS::::Account:333333333333")}},
		}
	}
	own := "arn:aws:securityhub:ap-northeast-1:111111111111:product/111111111111/default"
	bad := finding("f3", own)
	bad.SchemaVersion = aws.String("2020-01-01")
	other := finding("f4", own)
	other.AwsAccountId = aws.String("333333333333") // the default product imports only the caller's own findings
	out, err := sh.BatchImportFindings(t.Context(), &securityhub.BatchImportFindingsInput{Findings: []shtypes.AwsSecurityFinding{
		finding("f1", own), finding("f2", "arn:aws:securityhub:ap-northeast-1:999999999999:product/999999999999/default"), bad, other,
	}})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt32(out.SuccessCount) != 1 || aws.ToInt32(out.FailedCount) != 3 || len(out.FailedFindings) != 3 ||
		aws.ToString(out.FailedFindings[0].Id) != "f2" || aws.ToString(out.FailedFindings[1].ErrorMessage) != "SchemaVersion must be 2018-10-08" ||
		aws.ToString(out.FailedFindings[2].Id) != "f4" {
		t.Errorf("out = %+v %+v", out, out.FailedFindings)
	}
	if _, ok := srv.Findings()[own+"/f1"]; !ok || len(srv.Findings()) != 1 {
		t.Errorf("stored = %v", srv.Findings())
	}
	_, err = sh.BatchImportFindings(t.Context(), &securityhub.BatchImportFindingsInput{Findings: []shtypes.AwsSecurityFinding{}})
	wantCode(t, err, "InvalidInputException")
}

// TestSecurityHubFindingLifecycle follows the documented update rules: a
// later UpdatedAt updates, an equal or earlier one is ignored; Workflow is
// never changed by an import and goes back to NEW when an archived
// finding becomes active again; FindingProviderFields fill Severity.
func TestSecurityHubFindingLifecycle(t *testing.T) {
	srv := New(exampleScenario(t), Options{})
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	akid, secret := srv.ManagementCredentials()
	sh := securityhub.New(securityhub.Options{Region: "us-east-1", BaseEndpoint: aws.String(hs.URL),
		Credentials: credentials.NewStaticCredentialsProvider(akid, secret, ""), RetryMaxAttempts: 1})
	own := "arn:aws:securityhub:us-east-1:111111111111:product/111111111111/default"
	imp := func(id, updated, compliance, record, workflow string) {
		t.Helper()
		f := shtypes.AwsSecurityFinding{
			SchemaVersion: aws.String("2018-10-08"), Id: aws.String(id), ProductArn: aws.String(own),
			GeneratorId: aws.String("rootguard/IAM.4"), AwsAccountId: aws.String("111111111111"),
			CreatedAt: aws.String("2026-11-01T00:00:00Z"), UpdatedAt: aws.String(updated),
			Title: aws.String("IAM.4"), Description: aws.String(compliance),
			FindingProviderFields: &shtypes.FindingProviderFields{Severity: &shtypes.FindingProviderSeverity{Label: shtypes.SeverityLabelCritical},
				Types: []string{"Software and Configuration Checks/AWS Security Best Practices"}},
			Resources:   []shtypes.Resource{{Type: aws.String("AwsAccount"), Id: aws.String("AWS::::Account:333333333333")}},
			Compliance:  &shtypes.Compliance{Status: shtypes.ComplianceStatus(compliance)},
			RecordState: shtypes.RecordState(record),
		}
		if workflow != "" {
			f.Workflow = &shtypes.Workflow{Status: shtypes.WorkflowStatus(workflow)}
		}
		out, err := sh.BatchImportFindings(t.Context(), &securityhub.BatchImportFindingsInput{Findings: []shtypes.AwsSecurityFinding{f}})
		if err != nil || aws.ToInt32(out.FailedCount) != 0 {
			t.Fatalf("import %s: %v %+v", id, err, out)
		}
	}
	get := func(filters *shtypes.AwsSecurityFindingFilters) []shtypes.AwsSecurityFinding {
		t.Helper()
		var all []shtypes.AwsSecurityFinding
		p := securityhub.NewGetFindingsPaginator(sh, &securityhub.GetFindingsInput{Filters: filters, MaxResults: aws.Int32(2)})
		for p.HasMorePages() {
			page, err := p.NextPage(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, page.Findings...)
		}
		return all
	}
	eq := func(v string) []shtypes.StringFilter {
		return []shtypes.StringFilter{{Value: aws.String(v), Comparison: shtypes.StringFilterComparisonEquals}}
	}

	imp("a", "2026-11-01T00:00:00Z", "FAILED", "ACTIVE", "NOTIFIED")
	imp("a", "2026-11-02T00:00:00Z", "PASSED", "ARCHIVED", "RESOLVED") // Workflow in an update is ignored
	imp("a", "2026-11-02T00:00:00Z", "FAILED", "ACTIVE", "")           // same UpdatedAt: ignored
	fs := get(&shtypes.AwsSecurityFindingFilters{Id: eq("a")})
	if len(fs) != 1 || fs[0].RecordState != "ARCHIVED" || fs[0].Compliance.Status != "PASSED" ||
		fs[0].Workflow.Status != "NOTIFIED" || fs[0].Severity == nil || fs[0].Severity.Label != "CRITICAL" {
		t.Fatalf("after archive: %+v", fs)
	}
	imp("a", "2026-11-03T00:00:00Z", "FAILED", "ACTIVE", "")
	fs = get(&shtypes.AwsSecurityFindingFilters{Id: eq("a")})
	if fs[0].RecordState != "ACTIVE" || fs[0].Workflow.Status != "NEW" {
		t.Errorf("reopened: %s, workflow %s, want ACTIVE and NEW (NOTIFIED goes back to NEW)", fs[0].RecordState, fs[0].Workflow.Status)
	}

	for _, id := range []string{"b", "c", "d"} {
		imp(id, "2026-11-01T00:00:00Z", "FAILED", "ACTIVE", "")
	}
	imp("d", "2026-11-02T00:00:00Z", "PASSED", "ARCHIVED", "")
	active := get(&shtypes.AwsSecurityFindingFilters{ProductArn: eq(own), RecordState: eq("ACTIVE"),
		GeneratorId: []shtypes.StringFilter{{Value: aws.String("rootguard/"), Comparison: shtypes.StringFilterComparisonPrefix}}})
	var ids []string
	for _, f := range active {
		ids = append(ids, aws.ToString(f.Id))
	}
	if strings.Join(ids, ",") != "a,b,c" {
		t.Errorf("active = %v, want a,b,c (three pages of at most 2)", ids)
	}
	_, err := sh.GetFindings(t.Context(), &securityhub.GetFindingsInput{Filters: &shtypes.AwsSecurityFindingFilters{
		Title: eq("x")}})
	wantCode(t, err, "InvalidInputException")
}
