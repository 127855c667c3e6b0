package awssim

import (
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/account"
	accttypes "github.com/aws/aws-sdk-go-v2/service/account/types"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
)

func (e *env) account(c *ststypes.Credentials) *account.Client {
	akid, secret := e.srv.ManagementCredentials()
	token := ""
	if c != nil {
		akid, secret, token = aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken)
	}
	return account.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(e.url),
		Credentials: credentials.NewStaticCredentialsProvider(akid, secret, token),
		Retryer:     func() aws.Retryer { return aws.NopRetryer{} }})
}

// TestListRegions: account:ListRegions through the SDK's client lists every
// Region with its opt status (the scenario's opt-in Regions ENABLED, the
// rest of the opt-in ones DISABLED), filters by status, pages with
// MaxResults and NextToken, and answers for a member account only from the
// management account with trusted access for account.amazonaws.com.
func TestListRegions(t *testing.T) {
	ctx := t.Context()
	sc := exampleScenario(t)
	sc.Regions = []string{"ap-east-1"}
	e := newEnv(t, sc, Options{})
	c := e.account(nil)

	var enabled []string
	pages := 0
	p := account.NewListRegionsPaginator(c, &account.ListRegionsInput{MaxResults: aws.Int32(5),
		RegionOptStatusContains: []accttypes.RegionOptStatus{accttypes.RegionOptStatusEnabled, accttypes.RegionOptStatusEnabledByDefault}})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(out.Regions) > 5 {
			t.Fatalf("page of %d regions, MaxResults 5", len(out.Regions))
		}
		for _, r := range out.Regions {
			enabled = append(enabled, aws.ToString(r.RegionName))
			if r.RegionOptStatus == accttypes.RegionOptStatusEnabled && aws.ToString(r.RegionName) != "ap-east-1" {
				t.Errorf("%s ENABLED, only ap-east-1 was opted in", aws.ToString(r.RegionName))
			}
		}
	}
	if len(enabled) != len(defaultRegions)+1 || pages != (len(enabled)+4)/5 || !slices.IsSorted(enabled) {
		t.Fatalf("%d pages, enabled %v", pages, enabled)
	}
	for _, r := range []string{"us-east-1", "eu-west-1", "ap-east-1"} {
		if !slices.Contains(enabled, r) {
			t.Errorf("%s not enabled: %v", r, enabled)
		}
	}
	if slices.Contains(enabled, "me-south-1") {
		t.Errorf("opt-in me-south-1 listed as enabled")
	}

	all, err := c.ListRegions(ctx, &account.ListRegionsInput{MaxResults: aws.Int32(50)})
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Regions) != len(defaultRegions)+len(optInRegions) || all.NextToken != nil {
		t.Fatalf("%d regions, next %v", len(all.Regions), all.NextToken)
	}
	for _, r := range all.Regions {
		if !slices.Contains(accttypes.RegionOptStatus("").Values(), r.RegionOptStatus) {
			t.Errorf("%s: status %q is not in the SDK's enum", aws.ToString(r.RegionName), r.RegionOptStatus)
		}
	}

	_, err = c.ListRegions(ctx, &account.ListRegionsInput{MaxResults: aws.Int32(51)})
	wantCode(t, err, "ValidationException")
	_, err = c.ListRegions(ctx, &account.ListRegionsInput{AccountId: aws.String(exMgmt)})
	wantCode(t, err, "ValidationException")
	// A member account's Regions need trusted access for the service,
	// which the example scenario does not give.
	_, err = c.ListRegions(ctx, &account.ListRegionsInput{AccountId: aws.String(exProd)})
	wantCode(t, err, "AccessDeniedException")
	// A member account reads its own Regions, not another's.
	member := e.account(e.session(exProd, ""))
	if _, err := member.ListRegions(ctx, &account.ListRegionsInput{}); err != nil {
		t.Fatal(err)
	}
	_, err = member.ListRegions(ctx, &account.ListRegionsInput{AccountId: aws.String(exMgmt)})
	wantCode(t, err, "AccessDeniedException")
}
