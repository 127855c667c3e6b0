package export

import (
	"fmt"
	"maps"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/rootguard/rootguard/internal/audit"
	"github.com/rootguard/rootguard/internal/awssim"
)

const mgmt = "111111111111"

func newHub(t *testing.T) *securityhub.Client {
	t.Helper()
	sc, err := awssim.LoadScenario(filepath.Join("..", "awssim", "testdata", "scenario.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	srv := awssim.New(sc, awssim.Options{})
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	akid, secret := srv.ManagementCredentials()
	return securityhub.New(securityhub.Options{Region: "us-east-1", BaseEndpoint: aws.String(hs.URL),
		Credentials: credentials.NewStaticCredentialsProvider(akid, secret, ""), RetryMaxAttempts: 1})
}

// report builds an audit of accounts with IAM.4's outcome for each.
func report(outcomes map[string]audit.Outcome) *audit.Report {
	rep := &audit.Report{Organization: audit.OrgInfo{ID: "o-exampleorg1", ManagementAccountID: mgmt}}
	for _, id := range slices.Sorted(maps.Keys(outcomes)) {
		rep.Accounts = append(rep.Accounts, &audit.Account{ID: id, Controls: []audit.Control{
			{ID: audit.CtlNoAccessKeys, Outcome: outcomes[id], Detail: "root access keys: " + string(outcomes[id])},
			{ID: audit.CtlRootMFA, Outcome: audit.Pass},
		}})
	}
	return rep
}

// findings reads every rootguard finding Security Hub holds, by id.
func findings(t *testing.T, sh *securityhub.Client) map[string]shtypes.AwsSecurityFinding {
	t.Helper()
	out := map[string]shtypes.AwsSecurityFinding{}
	p := securityhub.NewGetFindingsPaginator(sh, &securityhub.GetFindingsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range page.Findings {
			out[aws.ToString(f.Id)] = f
		}
	}
	return out
}

// TestSyncLifecycle follows one finding through the ASFF lifecycle, as
// Security Hub's finding-provider guide defines it
// (internal/awssim/testdata/securityhub-findings.md): "A finding whose Id
// is new is created; one whose Id exists is updated only when the
// update's UpdatedAt is later" — so a control keeps one finding
// (account x control) across runs; a fixed control is updated to
// Compliance PASSED with RecordState ARCHIVED; the findings of an account
// that left the organization are archived; a passing control that never
// failed creates nothing.
func TestSyncLifecycle(t *testing.T) {
	sh := newHub(t)
	clock := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	sync := func(rep *audit.Report) Result {
		t.Helper()
		clock = clock.Add(24 * time.Hour)
		res, err := Sync(t.Context(), sh, rep, Options{Region: "us-east-1", Account: mgmt, Now: func() time.Time { return clock }})
		if err != nil || len(res.Failed) > 0 {
			t.Fatalf("sync: %v %v", err, res.Failed)
		}
		return res
	}
	a, b := FindingID("222222222222", audit.CtlNoAccessKeys), FindingID("333333333333", audit.CtlNoAccessKeys)

	res := sync(report(map[string]audit.Outcome{"222222222222": audit.Fail, "333333333333": audit.Fail, "444444444444": audit.Pass}))
	fs := findings(t, sh)
	if res.Failing != 2 || res.Imported != 2 || len(fs) != 2 {
		t.Fatalf("first run: %+v, %d findings; want the 2 failing controls only", res, len(fs))
	}
	f := fs[a]
	if f.Compliance.Status != shtypes.ComplianceStatusFailed || f.RecordState != shtypes.RecordStateActive ||
		f.Severity == nil || f.Severity.Label != shtypes.SeverityLabelCritical || aws.ToString(f.AwsAccountId) != mgmt ||
		aws.ToString(f.Resources[0].Id) != "AWS::::Account:222222222222" {
		t.Errorf("first finding = %+v", f)
	}
	created := aws.ToString(f.CreatedAt)

	// Still failing: the same finding is updated, not a second one.
	res = sync(report(map[string]audit.Outcome{"222222222222": audit.Fail, "333333333333": audit.Fail, "444444444444": audit.Pass}))
	fs = findings(t, sh)
	if res.Failing != 2 || len(fs) != 2 || aws.ToString(fs[a].CreatedAt) != created || aws.ToString(fs[a].UpdatedAt) == created {
		t.Errorf("second run: %+v, %d findings, created %s updated %s", res, len(fs), aws.ToString(fs[a].CreatedAt), aws.ToString(fs[a].UpdatedAt))
	}

	// 222222222222 fixed; 333333333333 left the organization; an unread
	// control (unknown) leaves its finding alone.
	res = sync(report(map[string]audit.Outcome{"222222222222": audit.Pass, "444444444444": audit.Pass}))
	fs = findings(t, sh)
	if res.Resolved != 1 || res.Left != 1 || res.Failing != 0 {
		t.Errorf("third run: %+v", res)
	}
	if f := fs[a]; f.Compliance.Status != shtypes.ComplianceStatusPassed || f.RecordState != shtypes.RecordStateArchived || aws.ToString(f.CreatedAt) != created {
		t.Errorf("fixed control: %s %s created %s", f.Compliance.Status, f.RecordState, aws.ToString(f.CreatedAt))
	}
	if f := fs[b]; f.RecordState != shtypes.RecordStateArchived || f.ProductFields["rootguard/outcome"] != "left-organization" {
		t.Errorf("account that left: %s %v", f.RecordState, f.ProductFields)
	}

	// Nothing active: a run with everything passing imports nothing.
	res = sync(report(map[string]audit.Outcome{"222222222222": audit.Pass, "444444444444": audit.Pass}))
	if res.Calls != 0 || res.Imported != 0 {
		t.Errorf("quiet run: %+v", res)
	}

	// It fails again: the archived finding comes back active.
	sync(report(map[string]audit.Outcome{"222222222222": audit.Fail}))
	if f := findings(t, sh)[a]; f.RecordState != shtypes.RecordStateActive || f.Compliance.Status != shtypes.ComplianceStatusFailed {
		t.Errorf("regressed: %s %s", f.RecordState, f.Compliance.Status)
	}

	// Unknown leaves an active finding as it is.
	rep := report(map[string]audit.Outcome{"222222222222": audit.Unknown})
	res = sync(rep)
	if f := findings(t, sh)[a]; res.Calls != 0 || f.RecordState != shtypes.RecordStateActive {
		t.Errorf("unknown: %+v, %s", res, f.RecordState)
	}
}

// TestSyncBatches: 250 failing controls go in three calls of at most 100
// (BatchImportFindings' limit), at the given rate.
func TestSyncBatches(t *testing.T) {
	sh := newHub(t)
	out := map[string]audit.Outcome{}
	for i := range 250 {
		out[fmt.Sprintf("%012d", 100000000000+i)] = audit.Fail
	}
	res, err := Sync(t.Context(), sh, report(out), Options{Region: "us-east-1", Account: mgmt, Rate: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if res.Calls != 3 || res.Imported != 250 || len(findings(t, sh)) != 250 {
		t.Errorf("%+v", res)
	}
	if _, err := Sync(t.Context(), sh, report(out), Options{Region: "us-east-1"}); err == nil {
		t.Error("no calling account: want an error")
	}
}
