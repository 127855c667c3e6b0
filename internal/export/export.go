// Package export sends rootguard's findings to other systems: Security
// Hub's BatchImportFindings for audit results in ASFF.
package export

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/rootguard/rootguard/internal/report"
)

// batchSize is BatchImportFindings' limit per call.
const batchSize = 100

// ImportResult counts what Security Hub took.
type ImportResult struct {
	Imported int
	Failed   []string // "id: code: message" for each finding refused
}

// ToSecurityHub imports findings in batches of 100. A refused finding is
// listed and the rest still go; an error from a call stops the import and
// is returned with what was imported so far.
func ToSecurityHub(ctx context.Context, c *securityhub.Client, fs []report.ASFFFinding) (ImportResult, error) {
	var res ImportResult
	for start := 0; start < len(fs); start += batchSize {
		end := min(start+batchSize, len(fs))
		batch := make([]shtypes.AwsSecurityFinding, 0, end-start)
		for _, f := range fs[start:end] {
			batch = append(batch, sdkFinding(f))
		}
		out, err := c.BatchImportFindings(ctx, &securityhub.BatchImportFindingsInput{Findings: batch})
		if err != nil {
			return res, fmt.Errorf("export: security hub: import findings %d-%d of %d: %w", start+1, end, len(fs), err)
		}
		res.Imported += int(aws.ToInt32(out.SuccessCount))
		for _, ff := range out.FailedFindings {
			res.Failed = append(res.Failed, fmt.Sprintf("%s: %s: %s", aws.ToString(ff.Id), aws.ToString(ff.ErrorCode), aws.ToString(ff.ErrorMessage)))
		}
	}
	return res, nil
}

func sdkFinding(f report.ASFFFinding) shtypes.AwsSecurityFinding {
	out := shtypes.AwsSecurityFinding{
		SchemaVersion: aws.String(f.SchemaVersion), Id: aws.String(f.ID), ProductArn: aws.String(f.ProductArn),
		GeneratorId: aws.String(f.GeneratorID), AwsAccountId: aws.String(f.AwsAccountID), Types: f.Types,
		CreatedAt: aws.String(f.CreatedAt), UpdatedAt: aws.String(f.UpdatedAt),
		Severity:      &shtypes.Severity{Label: shtypes.SeverityLabel(f.Severity.Label)},
		Title:         aws.String(f.Title),
		Description:   aws.String(f.Description),
		Remediation:   &shtypes.Remediation{Recommendation: &shtypes.Recommendation{Text: aws.String(f.Remediation.Recommendation.Text)}},
		Compliance:    &shtypes.Compliance{Status: shtypes.ComplianceStatus(f.Compliance.Status)},
		Workflow:      &shtypes.Workflow{Status: shtypes.WorkflowStatus(f.Workflow.Status)},
		RecordState:   shtypes.RecordState(f.RecordState),
		ProductFields: f.ProductFields,
	}
	for _, r := range f.Resources {
		out.Resources = append(out.Resources, shtypes.Resource{Type: aws.String(r.Type), Id: aws.String(r.ID),
			Partition: shtypes.Partition(r.Partition), Region: aws.String(r.Region)})
	}
	return out
}
