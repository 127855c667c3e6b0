// Package export sends rootguard's findings to other systems: Security
// Hub, kept showing the present state of every account's root user.
//
// Security Hub's rules for a finding provider (BatchImportFindings) decide
// the shape: one finding per account and control with a stable Id
// (rootguard/ACCOUNT/CONTROL), re-imported with a later UpdatedAt to
// update it; a control that passes again is imported as Compliance PASSED
// with RecordState ARCHIVED; the findings of an account that left the
// organization are archived. With the default product ARN the calling
// account must be each finding's AwsAccountId, so findings belong to the
// account that runs the audit and name the member account as their
// resource. See internal/awssim/testdata/securityhub-findings.md for the
// rules and their sources.
package export

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"
	"golang.org/x/time/rate"

	"github.com/rootguard/rootguard/internal/audit"
)

// batchSize is BatchImportFindings' limit per call.
const batchSize = 100

// DefaultRate is BatchImportFindings' documented throttle rate: 10
// calls per second per account and Region.
const DefaultRate = 10

// generatorPrefix starts every rootguard finding's GeneratorId.
const generatorPrefix = "rootguard/"

// Options says where findings go.
type Options struct {
	// Region is Security Hub's home region (the product ARN's region).
	Region string
	// Account is the calling account: the product ARN's account and every
	// finding's AwsAccountId.
	Account string
	// Rate caps BatchImportFindings calls per second; DefaultRate when 0.
	Rate float64
	// Now stamps UpdatedAt; time.Now when nil.
	Now func() time.Time
	// Scope lists the accounts the report audited when it covers only part
	// of the organization (one shard); nil means every account of the
	// report. Findings of other accounts still in Members are left alone.
	Scope []string
	// Members lists every account in the organization, when Scope is set.
	// An active finding of an account not in Members is archived.
	Members []string
}

// Result counts what one sync did.
type Result struct {
	Failing  int      `json:"failing"`  // failed controls imported (new or still failing)
	Resolved int      `json:"resolved"` // findings archived because the control passes or no longer applies
	Left     int      `json:"left"`     // findings archived because the account left the organization
	Imported int      `json:"imported"` // findings Security Hub took
	Calls    int      `json:"calls"`    // BatchImportFindings calls
	Failed   []string `json:"failed,omitempty"`
}

// ProductArn is the default product of an account in a region.
func ProductArn(region, account string) string {
	return fmt.Sprintf("arn:aws:securityhub:%s:%s:product/%s/default", region, account, account)
}

// FindingID is the stable id of a control's finding for an account.
func FindingID(account, control string) string {
	return generatorPrefix + account + "/" + control
}

// Sync makes Security Hub show the report: every failed control is
// imported (created, or updated with a later UpdatedAt), every active
// rootguard finding whose control now passes or no longer applies is
// archived with Compliance PASSED or NOT_AVAILABLE, and every active
// finding of an account no longer in the organization is archived. A
// control that could not be read (unknown) leaves its finding as it is.
// Imports go in batches of 100 at opts.Rate calls a second; a refused
// finding is listed and the rest still go.
func Sync(ctx context.Context, c *securityhub.Client, rep *audit.Report, opts Options) (Result, error) {
	var res Result
	if opts.Region == "" || opts.Account == "" {
		return res, fmt.Errorf("export: security hub: region and calling account are required")
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	at := now().UTC().Format(time.RFC3339Nano)
	product := ProductArn(opts.Region, opts.Account)
	active, err := activeFindings(ctx, c, product)
	if err != nil {
		return res, err
	}
	fs := Plan(rep, active, product, opts, at, &res)
	lim := rate.NewLimiter(rate.Limit(cmpOr(opts.Rate, DefaultRate)), 1)
	for start := 0; start < len(fs); start += batchSize {
		end := min(start+batchSize, len(fs))
		if err := lim.Wait(ctx); err != nil {
			return res, fmt.Errorf("export: security hub: %w", err)
		}
		out, err := c.BatchImportFindings(ctx, &securityhub.BatchImportFindingsInput{Findings: fs[start:end]})
		res.Calls++
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

func cmpOr(v, def float64) float64 {
	if v > 0 {
		return v
	}
	return def
}

// Active is what Sync needs of an active finding Security Hub holds.
type Active struct {
	ID, Account, Control, CreatedAt string
}

// activeFindings lists the product's active rootguard findings.
func activeFindings(ctx context.Context, c *securityhub.Client, product string) (map[string]Active, error) {
	eq := func(v string) []shtypes.StringFilter {
		return []shtypes.StringFilter{{Value: aws.String(v), Comparison: shtypes.StringFilterComparisonEquals}}
	}
	p := securityhub.NewGetFindingsPaginator(c, &securityhub.GetFindingsInput{
		Filters: &shtypes.AwsSecurityFindingFilters{
			ProductArn:  eq(product),
			RecordState: eq(string(shtypes.RecordStateActive)),
			GeneratorId: []shtypes.StringFilter{{Value: aws.String(generatorPrefix), Comparison: shtypes.StringFilterComparisonPrefix}},
		},
		MaxResults: aws.Int32(100),
	})
	out := map[string]Active{}
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("export: security hub: get active findings: %w", err)
		}
		for _, f := range page.Findings {
			id := aws.ToString(f.Id)
			a := Active{ID: id, Account: f.ProductFields["rootguard/account"], Control: f.ProductFields["rootguard/control"], CreatedAt: aws.ToString(f.CreatedAt)}
			if a.Account == "" || a.Control == "" { // an older finding: read them from its id
				rest, _ := strings.CutPrefix(id, generatorPrefix)
				a.Account, a.Control, _ = strings.Cut(rest, "/")
			}
			out[id] = a
		}
	}
	return out, nil
}

var controlSeverity = map[string]shtypes.SeverityLabel{
	audit.CtlNoAccessKeys: shtypes.SeverityLabelCritical, audit.CtlRootMFA: shtypes.SeverityLabelCritical,
	audit.CtlHardwareMFA: shtypes.SeverityLabelMedium, audit.CtlCredentialsGone: shtypes.SeverityLabelMedium,
	audit.CtlNotUsedRecently: shtypes.SeverityLabelHigh, audit.CtlSCPRootSessions: shtypes.SeverityLabelHigh,
	audit.CtlOrgRootAccess: shtypes.SeverityLabelHigh, audit.CtlOrgTrustedAccess: shtypes.SeverityLabelMedium,
}

// Plan decides the findings one sync imports, given the active findings
// Security Hub holds, and counts them in res. It is Sync without AWS.
func Plan(rep *audit.Report, active map[string]Active, product string, opts Options, at string, res *Result) []shtypes.AwsSecurityFinding {
	var out []shtypes.AwsSecurityFinding
	seen := map[string]bool{}
	add := func(account string, c audit.Control) {
		id := FindingID(account, c.ID)
		seen[id] = true
		prev, wasActive := active[id]
		var compliance shtypes.ComplianceStatus
		record := shtypes.RecordStateActive
		switch c.Outcome {
		case audit.Fail:
			compliance = shtypes.ComplianceStatusFailed
			res.Failing++
		case audit.Pass, audit.NotApplicable:
			if !wasActive {
				return // nothing to resolve: no pile of passing findings
			}
			compliance, record = shtypes.ComplianceStatusPassed, shtypes.RecordStateArchived
			if c.Outcome == audit.NotApplicable {
				compliance = shtypes.ComplianceStatusNotAvailable
			}
			res.Resolved++
		default:
			return // not read this run: the finding stays as it is
		}
		created := at
		if wasActive && prev.CreatedAt != "" {
			created = prev.CreatedAt
		}
		out = append(out, finding(product, opts, account, c.ID, c.Detail, string(c.Outcome), compliance, record, created, at))
	}
	for _, c := range rep.OrgControls {
		add(rep.Organization.ManagementAccountID, c)
	}
	inScope := map[string]bool{}
	for _, a := range rep.Accounts {
		inScope[a.ID] = true
		for _, c := range a.Controls {
			add(a.ID, c)
		}
	}
	members := inScope
	if opts.Scope != nil {
		inScope = map[string]bool{}
		for _, id := range opts.Scope {
			inScope[id] = true
		}
		members = map[string]bool{}
		for _, id := range opts.Members {
			members[id] = true
		}
	}
	members[rep.Organization.ManagementAccountID] = true
	ids := make([]string, 0, len(active))
	for id := range active {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		a := active[id]
		switch {
		case seen[id]:
		case !members[a.Account]:
			res.Left++
			out = append(out, finding(product, opts, a.Account, a.Control, "account "+a.Account+" is no longer in the organization",
				"left-organization", shtypes.ComplianceStatusNotAvailable, shtypes.RecordStateArchived, a.CreatedAt, at))
		case inScope[a.Account] && rep.Organization.Error == "":
			// The account was audited and the control was not reported
			// (the control no longer applies to it, e.g. it is suspended).
			res.Resolved++
			out = append(out, finding(product, opts, a.Account, a.Control, "control no longer evaluated for account "+a.Account,
				"not-evaluated", shtypes.ComplianceStatusNotAvailable, shtypes.RecordStateArchived, a.CreatedAt, at))
		}
	}
	return out
}

func finding(product string, opts Options, account, control, detail, outcome string, compliance shtypes.ComplianceStatus,
	record shtypes.RecordState, created, updated string) shtypes.AwsSecurityFinding {
	info, _ := audit.ControlByID(control)
	label := shtypes.SeverityLabelInformational
	if compliance == shtypes.ComplianceStatusFailed {
		label = controlSeverity[control]
		if label == "" {
			label = shtypes.SeverityLabelMedium
		}
	}
	if detail == "" {
		detail = info.Title
	}
	title := strings.TrimSpace(control + " " + info.Title)
	f := shtypes.AwsSecurityFinding{
		SchemaVersion: aws.String("2018-10-08"),
		Id:            aws.String(FindingID(account, control)),
		ProductArn:    aws.String(product),
		GeneratorId:   aws.String(generatorPrefix + control),
		AwsAccountId:  aws.String(opts.Account),
		CreatedAt:     aws.String(created),
		UpdatedAt:     aws.String(updated),
		Title:         aws.String(title),
		Description:   aws.String(truncate(detail, 1024)),
		FindingProviderFields: &shtypes.FindingProviderFields{
			Severity: &shtypes.FindingProviderSeverity{Label: label, Original: aws.String(string(label))},
			Types:    []string{"Software and Configuration Checks/AWS Security Best Practices"},
		},
		Resources: []shtypes.Resource{{Type: aws.String("AwsAccount"), Id: aws.String("AWS::::Account:" + account),
			Partition: shtypes.PartitionAws, Region: aws.String(opts.Region)}},
		Compliance:    &shtypes.Compliance{Status: compliance},
		RecordState:   record,
		ProductFields: map[string]string{"rootguard/account": account, "rootguard/control": control, "rootguard/outcome": outcome},
	}
	if info.Remediation != "" {
		f.Remediation = &shtypes.Remediation{Recommendation: &shtypes.Recommendation{Text: aws.String(info.Remediation)}}
	}
	return f
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}
